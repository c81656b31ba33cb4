//! Port calls on the VideoCore's ports over VCHIQ follow libmmal (its core,
//! and its VideoCore client): an unconnected port may be enabled without a
//! callback (what it returns is released), a connected port takes none,
//! either end of a tunnel enables (and disables) all of it, and an event
//! sent to a port is taken by the client (a format change committed) and
//! handed straight back (as it is by the emulator in process).
#![cfg(feature = "vchiq")]
#![allow(unsafe_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use mmal_sys as sys;

fn api() -> &'static sys::Api {
    static API: std::sync::OnceLock<&'static sys::Api> = std::sync::OnceLock::new();
    API.get_or_init(|| {
        let device = Arc::new(vchiq_emu::EmulatedVchiq::new());
        let connection = vchiq::Connection::with_device(device, vchiq::Options::default()).expect("a connection");
        let api = mmal_emu::vchiq_api(&connection).expect("the MMAL service");
        // The client keeps what it needs of the connection.
        std::mem::forget(connection);
        api
    })
}

/// Held by the tests that use the camera, one at a time, as a Pi has one:
/// while the sent-twice test has it enabled and capturing, another test's
/// enable of a camera port is refused (`MMAL_ENOSPC`). Every test that
/// disables a port holds it too: one injects a failure of the next
/// disable (a process-wide fault), which no other test may take.
fn one_camera() -> std::sync::MutexGuard<'static, ()> {
    static CAMERA: std::sync::Mutex<()> = std::sync::Mutex::new(());
    CAMERA.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn create(name: &std::ffi::CStr) -> *mut sys::MMAL_COMPONENT_T {
    create_in(api(), name)
}

/// A component made through `api` (over VCHIQ, or by the emulator in
/// process).
fn create_in(api: &sys::Api, name: &std::ffi::CStr) -> *mut sys::MMAL_COMPONENT_T {
    let mut c = std::ptr::null_mut();
    // SAFETY: a NUL-terminated name and a place for the answer.
    assert_eq!(unsafe { (api.component_create)(name.as_ptr(), &mut c) }, sys::MMAL_SUCCESS);
    c
}

unsafe extern "C" fn release_cb(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    // SAFETY: the header is handed to the callback.
    unsafe { (api().buffer_header_release)(b) };
}

/// Sizes a null sink's input (its least number of buffers, of 64 bytes at
/// least) and makes a pool of `headers` for it.
///
/// # Safety
///
/// `input` is a live null sink's input, not enabled.
unsafe fn sink_pool(api: &sys::Api, input: *mut sys::MMAL_PORT_T, headers: u32) -> *mut sys::MMAL_POOL_T {
    // SAFETY: as the caller promises.
    unsafe {
        (*input).buffer_num = (*input).buffer_num_min.max(1);
        (*input).buffer_size = (*input).buffer_size_recommended.max(64);
        (api.port_pool_create)(input, headers, (*input).buffer_size)
    }
}

/// Waits (10 s at most) until `pool` holds `n` headers; how many it holds.
///
/// # Safety
///
/// `pool` is live.
unsafe fn wait_for_pool(api: &sys::Api, pool: *mut sys::MMAL_POOL_T, n: u32) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    // SAFETY: as the caller promises.
    unsafe {
        while (api.queue_length)((*pool).queue) < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        (api.queue_length)((*pool).queue)
    }
}

#[test]
fn an_unconnected_port_enables_without_a_callback_and_a_connected_one_takes_none() {
    let _camera = one_camera();
    let api = api();
    let camera = create(c"vc.ril.camera");
    let sink = create(c"vc.null_sink");
    // SAFETY: pointers from the live components, used as a C client would;
    // released at the end.
    unsafe {
        let video = *(*camera).output.add(1);
        let pool = (api.port_pool_create)(video, 2, (*video).buffer_size_recommended);
        (*video).buffer_num = 2;
        (*video).buffer_size = (*video).buffer_size_recommended;
        assert_eq!((api.port_enable)(video, None), sys::MMAL_SUCCESS);
        assert_eq!((*video).is_enabled, 1);
        for _ in 0..2 {
            assert_eq!((api.port_send_buffer)(video, (api.queue_get)((*pool).queue)), sys::MMAL_SUCCESS);
        }
        // With no callback, what the port gives back goes to its pool.
        assert_eq!((api.port_disable)(video), sys::MMAL_SUCCESS);
        assert_eq!(wait_for_pool(api, pool, 2), 2, "the buffers went back to their pool");
        (api.port_pool_destroy)(video, pool);

        // A tunnel's output takes no callback, and nothing changes.
        let (out, input) = (*(*camera).output, *(*sink).input);
        let mut connection = std::ptr::null_mut();
        let flags = sys::MMAL_CONNECTION_FLAG_TUNNELLING;
        assert_eq!((api.connection_create)(&mut connection, out, input, flags), sys::MMAL_SUCCESS);
        assert_eq!((api.port_enable)(out, Some(release_cb)), sys::MMAL_EINVAL);
        assert_eq!((*out).is_enabled, 0);
        assert_eq!((api.connection_enable)(connection), sys::MMAL_SUCCESS);
        assert_eq!((*out).is_enabled, 1);
        assert_eq!((api.connection_destroy)(connection), sys::MMAL_SUCCESS);

        assert_eq!((api.component_release)(sink), sys::MMAL_SUCCESS);
        assert_eq!((api.component_release)(camera), sys::MMAL_SUCCESS);
    }
}

#[test]
fn either_end_of_a_tunnel_enables_and_disables_all_of_it() {
    let _camera = one_camera();
    let api = api();
    let camera = create(c"vc.ril.camera");
    let sink = create(c"vc.null_sink");
    // SAFETY: pointers from the live components, used as a C client would;
    // released at the end.
    unsafe {
        let (out, input) = (*(*camera).output, *(*sink).input);
        let mut connection = std::ptr::null_mut();
        let flags = sys::MMAL_CONNECTION_FLAG_TUNNELLING;
        assert_eq!((api.connection_create)(&mut connection, out, input, flags), sys::MMAL_SUCCESS);
        for _ in 0..2 {
            assert_eq!(
                (api.port_enable)(input, Some(release_cb)),
                sys::MMAL_EINVAL,
                "a connected port takes no callback"
            );
            assert_eq!((api.port_enable)(input, None), sys::MMAL_SUCCESS, "enabled from its input");
            assert_eq!(((*out).is_enabled, (*input).is_enabled), (1, 1));
            assert_eq!((api.port_enable)(input, None), sys::MMAL_EINVAL, "enabled already");
            assert_eq!((api.port_enable)(out, None), sys::MMAL_EINVAL, "enabled already");
            assert_eq!((api.port_disable)(input), sys::MMAL_SUCCESS, "disabled from its input");
            assert_eq!(((*out).is_enabled, (*input).is_enabled), (0, 0));
        }
        assert_eq!((api.port_enable)(out, None), sys::MMAL_SUCCESS, "enabled from its output");
        assert_eq!(((*out).is_enabled, (*input).is_enabled), (1, 1));
        assert_eq!((api.port_disable)(out), sys::MMAL_SUCCESS);
        assert_eq!(((*out).is_enabled, (*input).is_enabled), (0, 0));
        assert_eq!((api.connection_destroy)(connection), sys::MMAL_SUCCESS);
        assert_eq!((api.component_release)(sink), sys::MMAL_SUCCESS);
        assert_eq!((api.component_release)(camera), sys::MMAL_SUCCESS);
    }
}

/// A buffer that came back through [`record_cb`].
struct Back {
    port: usize,
    header: usize,
    cmd: u32,
    length: u32,
    /// Some byte of its data is not zero.
    lit: bool,
}

/// What came back through [`record_cb`].
static RETURNED: std::sync::Mutex<Vec<Back>> = std::sync::Mutex::new(Vec::new());

unsafe extern "C" fn record_cb(port: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    // SAFETY: the header is handed to the callback, its data inside its
    // payload (the providers clamp offset and length to it), and it is
    // released here (both providers release through the same function).
    unsafe {
        let data = std::slice::from_raw_parts((*b).data.add((*b).offset as usize), (*b).length as usize);
        let lit = data.iter().any(|&x| x != 0);
        RETURNED.lock().unwrap().push(Back {
            port: port as usize,
            header: b as usize,
            cmd: (*b).cmd,
            length: (*b).length,
            lit,
        });
        (api().buffer_header_release)(b);
    }
}

/// What came back through [`record_cb`] from `port`: command, length.
fn returned(port: *mut sys::MMAL_PORT_T) -> Vec<(u32, u32)> {
    RETURNED.lock().unwrap().iter().filter(|r| r.port == port as usize).map(|r| (r.cmd, r.length)).collect()
}

/// Makes `b` a FORMAT_CHANGED event carrying `port`'s format at `width`x`height`.
///
/// # Safety
///
/// `b` is a free header with room for the event; `port` is live.
unsafe fn format_changed(
    api: &sys::Api,
    b: *mut sys::MMAL_BUFFER_HEADER_T,
    port: *mut sys::MMAL_PORT_T,
    width: u32,
    height: u32,
) {
    use std::mem::size_of;
    // SAFETY: as the caller promises; the payload is laid out by
    // `mmal_event_format_changed_get`, which points its pointers into it.
    unsafe {
        (*b).cmd = sys::MMAL_EVENT_FORMAT_CHANGED;
        (*b).length = (size_of::<sys::MMAL_EVENT_FORMAT_CHANGED_T>()
            + size_of::<sys::MMAL_ES_FORMAT_T>()
            + size_of::<sys::MMAL_ES_SPECIFIC_FORMAT_T>()) as u32;
        let event = (api.event_format_changed_get)(b);
        assert!(!event.is_null(), "the buffer holds a FORMAT_CHANGED event");
        let (to, from) = ((*event).format, (*port).format);
        (*to).type_ = (*from).type_;
        (*to).encoding = (*from).encoding;
        (*to).flags = (*from).flags;
        (*(*to).es).video = (*(*from).es).video;
        (*(*to).es).video.width = width;
        (*(*to).es).video.height = height;
        (*(*to).es).video.crop = sys::MMAL_RECT_T { x: 0, y: 0, width: width as i32, height: height as i32 };
    }
}

#[test]
fn an_event_sent_to_a_port_is_taken_by_the_client_and_handed_straight_back() {
    event_round_trip(api());
}

#[test]
fn an_event_sent_to_a_port_comes_back_the_same_way_from_the_emulator_in_process() {
    event_round_trip(mmal_emu::api());
}

fn event_round_trip(api: &'static sys::Api) {
    // Its port disables must not meet the fault another test injects.
    let _turn = one_camera();
    let splitter = create_in(api, c"vc.ril.video_splitter");
    // SAFETY: pointers from the live component, used as a C client would;
    // released at the end.
    unsafe {
        let input = *(*splitter).input;
        // What an earlier test's port at the same address got.
        RETURNED.lock().unwrap().retain(|r| r.port != input as usize);
        (*(*input).format).encoding = sys::MMAL_ENCODING_I420;
        let video = &mut (*(*(*input).format).es).video;
        (video.width, video.height) = (320, 240);
        video.crop = sys::MMAL_RECT_T { x: 0, y: 0, width: 320, height: 240 };
        assert_eq!((api.port_format_commit)(input), sys::MMAL_SUCCESS);
        assert_eq!((*input).buffer_size_min, 320 * 240 * 3 / 2);
        let size = (*input).buffer_size_min;
        let pool = (api.port_pool_create)(input, 2, size);
        (*input).buffer_num = (*input).buffer_num_min.max(1);
        (*input).buffer_size = size;
        assert_eq!((api.port_enable)(input, Some(record_cb)), sys::MMAL_SUCCESS);

        // A format change: committed with the VideoCore, which gives the
        // port its new needs; the buffer comes back empty, still an event.
        let b = (api.queue_get)((*pool).queue);
        format_changed(api, b, input, 640, 480);
        assert_eq!((api.port_send_buffer)(input, b), sys::MMAL_SUCCESS);
        assert_eq!((*(*(*input).format).es).video.width, 640);
        assert_eq!((*input).buffer_size_min, 640 * 480 * 3 / 2, "the VideoCore took the new format");
        // Any other event: dropped, and back the same way.
        let b = (api.queue_get)((*pool).queue);
        (*b).cmd = sys::MMAL_EVENT_EOS;
        (*b).length = 4;
        assert_eq!((api.port_send_buffer)(input, b), sys::MMAL_SUCCESS);
        assert_eq!((*(*(*input).format).es).video.width, 640, "no format change");
        assert_eq!(
            returned(input),
            [(sys::MMAL_EVENT_FORMAT_CHANGED, 0), (sys::MMAL_EVENT_EOS, 0)],
            "each came back at once, empty, through the callback"
        );
        assert_eq!((api.queue_length)((*pool).queue), 2);
        assert_eq!((api.port_disable)(input), sys::MMAL_SUCCESS);

        // A port enabled without a callback: the event goes back to its pool.
        assert_eq!((api.port_enable)(input, None), sys::MMAL_SUCCESS);
        let b = (api.queue_get)((*pool).queue);
        format_changed(api, b, input, 320, 240);
        assert_eq!((api.port_send_buffer)(input, b), sys::MMAL_SUCCESS);
        assert_eq!((*input).buffer_size_min, 320 * 240 * 3 / 2);
        assert_eq!((api.queue_length)((*pool).queue), 2, "back in its pool");
        assert_eq!(returned(input).len(), 2, "no callback");
        assert_eq!((api.port_disable)(input), sys::MMAL_SUCCESS);

        (api.port_pool_destroy)(input, pool);
        assert_eq!((api.component_release)(splitter), sys::MMAL_SUCCESS);
    }
}

#[test]
fn a_program_thread_named_like_the_delivery_thread_may_destroy_a_component() {
    // Only the client's own delivery thread is refused a destroy (from a
    // callback); a thread's name proves nothing.
    std::thread::Builder::new()
        .name("mmal-delivery".into())
        .spawn(|| {
            let sink = create(c"vc.null_sink");
            // SAFETY: a live component, released once.
            assert_eq!(unsafe { (api().component_release)(sink) }, sys::MMAL_SUCCESS);
        })
        .unwrap()
        .join()
        .unwrap();
}

/// MMAL forbids sending a buffer the port still holds. Over VCHIQ an
/// output's frame is received straight into its header's payload, so a
/// second send of that header, or a send of another header naming the same
/// payload (to an output, or to an input, which would read it), is refused
/// with EINVAL and touches nothing; the first send comes back once, with
/// its frame in that payload. A header carrying the client's own memory is
/// refused a second send too.
#[test]
fn a_buffer_sent_twice_is_refused_and_comes_back_once() {
    let _camera = one_camera();
    let api = api();
    let camera = create(c"vc.ril.camera");
    let sink = create(c"vc.null_sink");
    let (width, height) = (96u32, 64u32);
    let frame = width * height * 3 / 2;
    // SAFETY: pointers from the live components and their pool, used as a
    // C client would; released at the end.
    unsafe {
        let video = *(*camera).output.add(1);
        (*(*video).format).encoding = sys::MMAL_ENCODING_I420;
        let es = &mut (*(*(*video).format).es).video;
        (es.width, es.height) = (width, height);
        es.crop = sys::MMAL_RECT_T { x: 0, y: 0, width: width as i32, height: height as i32 };
        assert_eq!((api.port_format_commit)(video), sys::MMAL_SUCCESS);
        let size = (*video).buffer_size_recommended.max(frame);
        let pool = (api.port_pool_create)(video, 4, size);
        assert!(!pool.is_null());
        ((*video).buffer_num, (*video).buffer_size) = (3, size);
        assert_eq!((api.port_enable)(video, Some(record_cb)), sys::MMAL_SUCCESS);
        let input = *(*sink).input;
        assert_eq!((api.port_enable)(input, Some(record_cb)), sys::MMAL_SUCCESS);
        let [a, b, c, d] = [(); 4].map(|()| (api.queue_get)((*pool).queue));
        assert!(!a.is_null() && !b.is_null() && !c.is_null() && !d.is_null());
        // What an earlier test's headers at the same addresses got.
        RETURNED.lock().unwrap().retain(|r| ![a, b, c, d].iter().any(|&h| r.header == h as usize));
        // Without capture the camera holds what it is sent.
        assert_eq!((api.port_send_buffer)(video, a), sys::MMAL_SUCCESS);
        assert_eq!((api.port_send_buffer)(video, a), sys::MMAL_EINVAL, "the same header again");
        let own = (*b).data;
        (*b).data = (*a).data;
        assert_eq!((api.port_send_buffer)(video, b), sys::MMAL_EINVAL, "another header naming its payload");
        (*b).length = 16;
        assert_eq!((api.port_send_buffer)(input, b), sys::MMAL_EINVAL, "its payload as an input's data");
        ((*b).data, (*b).length) = (own, 0);
        // The refusals were the busy payload's: headers of their own go.
        (*c).length = 16;
        assert_eq!((api.port_send_buffer)(input, c), sys::MMAL_SUCCESS, "an input's data of its own");
        assert_eq!((api.port_send_buffer)(video, b), sys::MMAL_SUCCESS, "an output's payload of its own");
        // The client's own memory (received by copy): sent once only.
        let mut mine = vec![0u8; size as usize];
        let pool_payload = (*d).data;
        (*d).data = mine.as_mut_ptr();
        assert_eq!((api.port_send_buffer)(video, d), sys::MMAL_SUCCESS);
        assert_eq!((api.port_send_buffer)(video, d), sys::MMAL_EINVAL, "the same header again, whatever its memory");

        assert_eq!((api.component_enable)(camera), sys::MMAL_SUCCESS);
        let mut capture =
            <sys::MMAL_PARAMETER_BOOLEAN_T as mmal_sys::param::ParameterStruct>::with_id(sys::MMAL_PARAMETER_CAPTURE);
        capture.enable = 1;
        assert_eq!((api.port_parameter_set)(video, &mut capture.hdr), sys::MMAL_SUCCESS);
        let deadline = Instant::now() + Duration::from_secs(10);
        let back = |h: *mut sys::MMAL_BUFFER_HEADER_T| {
            RETURNED
                .lock()
                .unwrap()
                .iter()
                .filter(|r| r.header == h as usize)
                .map(|r| (r.length, r.lit))
                .collect::<Vec<_>>()
        };
        while [a, b, c, d].iter().any(|&h| back(h).is_empty()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        capture.enable = 0;
        assert_eq!((api.port_parameter_set)(video, &mut capture.hdr), sys::MMAL_SUCCESS);
        assert_eq!((api.port_disable)(video), sys::MMAL_SUCCESS);
        assert_eq!((api.port_disable)(input), sys::MMAL_SUCCESS);
        assert_eq!((back(a), back(b)), (vec![(frame, true)], vec![(frame, true)]), "each came back once, with a frame");
        assert_eq!(back(c), [(0, false)], "the input's buffer came back once, consumed");
        assert_eq!(back(d), [(frame, true)], "the client's memory came back once, with a frame");
        assert!(mine[..frame as usize].iter().any(|&x| x != 0));
        (*d).data = pool_payload;
        assert_eq!((api.queue_length)((*pool).queue), 4, "all back in their pool");
        (api.port_pool_destroy)(video, pool);
        assert_eq!((api.component_release)(sink), sys::MMAL_SUCCESS);
        assert_eq!((api.component_release)(camera), sys::MMAL_SUCCESS);
    }
}

/// As libmmal's destroy, a port whose disable fails does not keep its
/// component alive on the VideoCore: the destroy goes on (and succeeds),
/// where a C program that seldom checks the status would otherwise leak
/// the component there (its memory here is kept, as a callback of that
/// port could still run).
#[test]
fn a_port_that_fails_to_disable_does_not_keep_its_component() {
    let _camera = one_camera();
    let api = api();
    let sink = create(c"vc.null_sink");
    // SAFETY: a live component's input, enabled, then the component
    // released once.
    unsafe {
        let input = *(*sink).input;
        assert_eq!((api.port_enable)(input, Some(release_cb)), sys::MMAL_SUCCESS);
        // The VideoCore's next port disable fails (the emulated firmware
        // is in this process).
        mmal_emu::fail_next_port_disable();
        assert_eq!((api.component_release)(sink), sys::MMAL_SUCCESS);
    }
}

/// The component the callback below destroys, and the status it got.
static OTHER: std::sync::atomic::AtomicPtr<sys::MMAL_COMPONENT_T> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());
static OTHER_STATUS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(u32::MAX);

unsafe extern "C" fn destroy_other_cb(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    use std::sync::atomic::Ordering::SeqCst;
    // SAFETY: the header is handed to the callback; the other component is
    // live and released once (its pointer taken).
    unsafe {
        (api().buffer_header_release)(b);
        let other = OTHER.swap(std::ptr::null_mut(), SeqCst);
        if !other.is_null() {
            OTHER_STATUS.store((api().component_release)(other), SeqCst);
        }
    }
}

/// As in libmmal, whose components each have a thread, one component's
/// callback may destroy another component (only its own is refused).
#[test]
fn a_callback_may_destroy_another_component() {
    use std::sync::atomic::Ordering::SeqCst;
    let _turn = one_camera();
    let api = api();
    let (a, b) = (create(c"vc.null_sink"), create(c"vc.null_sink"));
    // SAFETY: live components' ports, as a C client uses them; `a`
    // released at the end, `b` by the callback.
    unsafe {
        let input = *(*a).input;
        let pool = sink_pool(api, input, 1);
        assert_eq!((api.port_enable)(input, Some(destroy_other_cb)), sys::MMAL_SUCCESS);
        OTHER.store(b, SeqCst);
        let header = (api.queue_get)((*pool).queue);
        (*header).length = 8;
        assert_eq!((api.port_send_buffer)(input, header), sys::MMAL_SUCCESS);
        let deadline = Instant::now() + Duration::from_secs(10);
        while OTHER_STATUS.load(SeqCst) == u32::MAX && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(OTHER_STATUS.load(SeqCst), sys::MMAL_SUCCESS, "the other component destroyed from a callback");
        assert_eq!((api.port_disable)(input), sys::MMAL_SUCCESS);
        (api.port_pool_destroy)(input, pool);
        assert_eq!((api.component_release)(a), sys::MMAL_SUCCESS);
    }
}

/// What reached [`log_cb`], in order: a command (0 for a data buffer), the
/// first word of its data, and whether it was flagged TRANSMISSION_FAILED.
static LOG: std::sync::Mutex<Vec<(u32, u32, bool)>> = std::sync::Mutex::new(Vec::new());

/// The type-specific part of the last header that reached [`log_cb`].
static PLANES: std::sync::Mutex<Option<sys::MMAL_BUFFER_HEADER_VIDEO_SPECIFIC_T>> = std::sync::Mutex::new(None);

unsafe extern "C" fn log_cb(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    // SAFETY: the header is handed to the callback, its data inside its
    // payload; released here.
    unsafe {
        let data = std::slice::from_raw_parts((*b).data.add((*b).offset as usize), (*b).length as usize);
        let word = data.get(..4).map_or(0, |w| u32::from_le_bytes(w.try_into().unwrap()));
        let failed = (*b).flags & sys::MMAL_BUFFER_HEADER_FLAG_TRANSMISSION_FAILED != 0;
        LOG.lock().unwrap().push(((*b).cmd, word, failed));
        // Its `type` points at its own type-specific part, as the pool
        // made it.
        *PLANES.lock().unwrap() = Some((*(*b).type_).video);
        (api().buffer_header_release)(b);
    }
}

/// As libmmal's VideoCore client: a buffer that comes back flagged
/// TRANSMISSION_FAILED raises an error event (`MMAL_EIO`) on its
/// component's control port before the buffer is handed back. (The
/// emulated null sink returns an input with the flags it was sent with.)
/// A buffer the VideoCore refuses (smaller than the port's buffers) comes
/// back flagged, but raises none: its data was not lost on the way.
#[test]
fn a_buffer_whose_transmission_failed_raises_an_error_event_first() {
    // Its port disables must not meet the fault another test injects.
    let _turn = one_camera();
    let api = api();
    let sink = create(c"vc.null_sink");
    // SAFETY: pointers from the live component and its pool, used as a C
    // client would; released at the end.
    unsafe {
        let (control, input) = ((*sink).control, *(*sink).input);
        LOG.lock().unwrap().clear();
        assert_eq!((api.port_enable)(control, Some(log_cb)), sys::MMAL_SUCCESS);
        let pool = sink_pool(api, input, 2);
        assert_eq!((api.port_enable)(input, Some(log_cb)), sys::MMAL_SUCCESS);
        let wait_for = |n: usize| {
            let deadline = Instant::now() + Duration::from_secs(10);
            while LOG.lock().unwrap().len() < n && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
        };
        let failed = sys::MMAL_BUFFER_HEADER_FLAG_TRANSMISSION_FAILED;
        for (flags, too_small, expected) in [
            (0, false, vec![(0, 0, false)]),
            (failed, false, vec![(sys::MMAL_EVENT_ERROR, sys::MMAL_EIO, false), (0, 0, true)]),
            (0, true, vec![(0, 0, true)]),
        ] {
            LOG.lock().unwrap().clear();
            let b = (api.queue_get)((*pool).queue);
            let alloc_size = (*b).alloc_size;
            if too_small {
                (*b).alloc_size = 4;
            }
            (*b).length = 4;
            (*b).flags = flags;
            std::ptr::write_bytes((*b).data, 0, 4);
            assert_eq!((api.port_send_buffer)(input, b), sys::MMAL_SUCCESS);
            wait_for(expected.len());
            // A moment for anything more to arrive.
            std::thread::sleep(Duration::from_millis(50));
            assert_eq!(*LOG.lock().unwrap(), expected, "flags {flags:#x}, too small: {too_small}");
            // Back in its pool.
            (*b).alloc_size = alloc_size;
        }
        assert_eq!((api.port_disable)(input), sys::MMAL_SUCCESS);
        assert_eq!((api.port_disable)(control), sys::MMAL_SUCCESS);
        (api.port_pool_destroy)(input, pool);
        assert_eq!((api.component_release)(sink), sys::MMAL_SUCCESS);
    }
}

#[test]
fn a_header_without_a_payload_is_refused_over_vchiq() {
    a_header_without_a_payload_is_refused(api());
}

#[test]
fn a_header_without_a_payload_is_refused_by_the_emulator_in_process() {
    a_header_without_a_payload_is_refused(mmal_emu::api());
}

/// As libmmal's core: `mmal_port_send_buffer` refuses a header whose
/// `data` is NULL (`EINVAL`) on a port that does not pass headers through,
/// and the header stays the caller's.
fn a_header_without_a_payload_is_refused(api: &'static sys::Api) {
    let _turn = one_camera();
    let sink = create_in(api, c"vc.null_sink");
    // SAFETY: pointers from the live component and its pool, used as a C
    // client would; released at the end.
    unsafe {
        let input = *(*sink).input;
        assert_eq!((*input).capabilities & sys::MMAL_PORT_CAPABILITY_PASSTHROUGH, 0);
        let pool = sink_pool(api, input, 1);
        assert_eq!((api.port_enable)(input, Some(release_cb)), sys::MMAL_SUCCESS);
        let b = (api.queue_get)((*pool).queue);
        let (data, alloc_size) = ((*b).data, (*b).alloc_size);
        (*b).data = std::ptr::null_mut();
        (*b).length = 4;
        assert_eq!((api.port_send_buffer)(input, b), sys::MMAL_EINVAL);
        // With no size either, it is taken (libmmal's check is of a header
        // with a size), and comes back.
        (*b).alloc_size = 0;
        (*b).length = 0;
        assert_eq!((api.port_send_buffer)(input, b), sys::MMAL_SUCCESS);
        assert_eq!(wait_for_pool(api, pool, 1), 1, "back in its pool");
        let b = (api.queue_get)((*pool).queue);
        // Still the caller's: with its payload back, it goes.
        (*b).data = data;
        (*b).alloc_size = alloc_size;
        (*b).length = 4;
        assert_eq!((api.port_send_buffer)(input, b), sys::MMAL_SUCCESS);
        assert_eq!((api.port_disable)(input), sys::MMAL_SUCCESS);
        assert_eq!((api.queue_length)((*pool).queue), 1, "back in its pool");
        (api.port_pool_destroy)(input, pool);
        assert_eq!((api.component_release)(sink), sys::MMAL_SUCCESS);
    }
}

/// The input [`disabling_cb`] disables when an error event reaches it.
static TO_DISABLE: std::sync::atomic::AtomicPtr<sys::MMAL_PORT_T> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

/// Whether [`disabling_cb`] enables the input again (with [`log_cb`]).
static REENABLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

unsafe extern "C" fn disabling_cb(port: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    use std::sync::atomic::Ordering::SeqCst;
    // SAFETY: the header is handed to the callback; the port to disable is
    // live (the test disables it no other way while this can run).
    unsafe {
        let input = TO_DISABLE.load(SeqCst);
        if (*b).cmd == sys::MMAL_EVENT_ERROR && !input.is_null() {
            assert_eq!((api().port_disable)(input), sys::MMAL_SUCCESS);
            if REENABLE.load(SeqCst) {
                assert_eq!((api().port_enable)(input, Some(log_cb)), sys::MMAL_SUCCESS);
            }
        }
        log_cb(port, b);
    }
}

/// A control callback that disables a data port on an error event raised
/// for that port's buffer (and enables it again): once its disable has
/// returned, the buffer no longer goes to the port's callback; it goes
/// back to its pool.
#[test]
fn a_port_disabled_by_the_error_event_of_its_buffer_does_not_get_the_buffer() {
    use std::sync::atomic::Ordering::SeqCst;
    let _turn = one_camera();
    let api = api();
    for reenable in [false, true] {
        let sink = create(c"vc.null_sink");
        // SAFETY: pointers from the live component and its pool, used as
        // a C client would; released at the end.
        unsafe {
            let (control, input) = ((*sink).control, *(*sink).input);
            LOG.lock().unwrap().clear();
            TO_DISABLE.store(input, SeqCst);
            REENABLE.store(reenable, SeqCst);
            assert_eq!((api.port_enable)(control, Some(disabling_cb)), sys::MMAL_SUCCESS);
            let pool = sink_pool(api, input, 1);
            assert_eq!((api.port_enable)(input, Some(log_cb)), sys::MMAL_SUCCESS);
            let b = (api.queue_get)((*pool).queue);
            (*b).length = 4;
            (*b).flags = sys::MMAL_BUFFER_HEADER_FLAG_TRANSMISSION_FAILED;
            assert_eq!((api.port_send_buffer)(input, b), sys::MMAL_SUCCESS);
            let back = wait_for_pool(api, pool, 1);
            std::thread::sleep(Duration::from_millis(50));
            TO_DISABLE.store(std::ptr::null_mut(), SeqCst);
            assert_eq!(back, 1, "back in its pool (enabled again: {reenable})");
            let log = LOG.lock().unwrap().clone();
            assert_eq!(
                log,
                [(sys::MMAL_EVENT_ERROR, sys::MMAL_EIO, false)],
                "the event alone (enabled again: {reenable})"
            );
            assert_eq!((*input).is_enabled, u32::from(reenable));
            if reenable {
                assert_eq!((api.port_disable)(input), sys::MMAL_SUCCESS);
            }
            assert_eq!((api.port_disable)(control), sys::MMAL_SUCCESS);
            (api.port_pool_destroy)(input, pool);
            assert_eq!((api.component_release)(sink), sys::MMAL_SUCCESS);
        }
    }
}

/// As libmmal's VideoCore client: a header's type-specific part (a
/// frame's planes, offsets and pitches) goes to the VideoCore with the
/// header, and what the VideoCore returns is written into the header that
/// comes back. The emulated firmware returns what it was given (no
/// emulated component writes planes), so a header cleared while the
/// VideoCore has it comes back with what it was sent with.
#[test]
fn a_headers_planes_go_to_the_videocore_and_come_back_from_it() {
    let _turn = one_camera();
    let api = api();
    let splitter = create(c"vc.ril.video_splitter");
    let sent = sys::MMAL_BUFFER_HEADER_VIDEO_SPECIFIC_T {
        planes: 3,
        offset: [0, 76_800, 96_000, 0],
        pitch: [320, 160, 160, 0],
        flags: sys::MMAL_BUFFER_HEADER_VIDEO_FLAG_INTERLACED,
    };
    // SAFETY: pointers from the live component and its pool, used as a C
    // client would; released at the end.
    unsafe {
        let (input, out) = (*(*splitter).input, *(*splitter).output);
        (*(*input).format).encoding = sys::MMAL_ENCODING_I420;
        let video = &mut (*(*(*input).format).es).video;
        (video.width, video.height) = (320, 240);
        video.crop = sys::MMAL_RECT_T { x: 0, y: 0, width: 320, height: 240 };
        assert_eq!((api.port_format_commit)(input), sys::MMAL_SUCCESS);
        let size = (*out).buffer_size_recommended.max((*out).buffer_size_min);
        let pool = (api.port_pool_create)(out, 1, size);
        (*out).buffer_num = (*out).buffer_num_min.max(1);
        (*out).buffer_size = size;
        assert_eq!((api.port_enable)(out, Some(log_cb)), sys::MMAL_SUCCESS);
        let b = (api.queue_get)((*pool).queue);
        (*(*b).type_).video = sent;
        *PLANES.lock().unwrap() = None;
        assert_eq!((api.port_send_buffer)(out, b), sys::MMAL_SUCCESS);
        // No input comes: the VideoCore holds the buffer until the disable
        // hands it back.
        (*(*b).type_).video = sys::MMAL_BUFFER_HEADER_VIDEO_SPECIFIC_T::default();
        assert_eq!((api.port_disable)(out), sys::MMAL_SUCCESS);
        assert_eq!(*PLANES.lock().unwrap(), Some(sent), "the VideoCore's type-specific part, written back");
        (api.port_pool_destroy)(out, pool);
        assert_eq!((api.component_release)(splitter), sys::MMAL_SUCCESS);
    }
}
