//! Races between the core's calls, laid out step by step with pause points
//! (see `pause`), each the way a C caller on two threads can meet it.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::Duration;

use mmal_sys as sys;
use parking_lot::{Condvar, Mutex};

use crate::core::pause;

/// Long enough for any step here; the tests wait this long only on failure.
const PATIENCE: Duration = Duration::from_secs(20);

fn api() -> &'static sys::Api {
    std::env::set_var("VIDEOCORE", "emulated");
    crate::api()
}

fn create(name: &std::ffi::CStr) -> *mut sys::MMAL_COMPONENT_T {
    let mut c = std::ptr::null_mut();
    // SAFETY: a valid name and out pointer.
    assert_eq!(unsafe { (api().component_create)(name.as_ptr(), &mut c) }, sys::MMAL_SUCCESS);
    c
}

/// A resizer tunnelled to a null sink (`mmal_port_connect`, as picamera's
/// older connections do) with the tunnel enabled: the two components, the
/// output and the input.
fn enabled_tunnel(
) -> (*mut sys::MMAL_COMPONENT_T, *mut sys::MMAL_COMPONENT_T, *mut sys::MMAL_PORT_T, *mut sys::MMAL_PORT_T) {
    let api = api();
    let resize = create(c"vc.ril.resize");
    let sink = create(c"vc.null_sink");
    // SAFETY: pointers from the live components, used as a C client would.
    unsafe {
        let (out, input) = (*(*resize).output, *(*sink).input);
        assert_eq!(crate::c_api::mmal_port_connect(out, input), sys::MMAL_SUCCESS);
        (*out).buffer_num = 2;
        assert_eq!((api.port_enable)(out, None), sys::MMAL_SUCCESS);
        (resize, sink, out, input)
    }
}

/// `is_enabled` as another thread sees it (the core stores it atomically).
///
/// # Safety
/// `port` is a live port.
unsafe fn is_enabled(port: *mut sys::MMAL_PORT_T) -> u32 {
    // SAFETY: a live port's aligned u32, written atomically by the core.
    unsafe { AtomicU32::from_ptr(std::ptr::addr_of_mut!((*port).is_enabled)).load(Ordering::SeqCst) }
}

/// A channel a pause point (a `Fn`, on another thread) can send on.
fn channel() -> (Mutex<SyncSender<&'static str>>, Receiver<&'static str>) {
    let (tx, rx) = sync_channel(8);
    (Mutex::new(tx), rx)
}

// --- a disable waits for callbacks with `is_enabled` still 1 ----------------

/// The first callback blocks until `GO`; every callback notes whether it
/// ran on a port whose `is_enabled` read 0.
static GO: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());
static IN_CALLBACK: (Mutex<u32>, Condvar) = (Mutex::new(0), Condvar::new());
static CALLED_WHILE_DISABLED: AtomicU32 = AtomicU32::new(0);

unsafe extern "C" fn blocking_cb(port: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    // SAFETY: the port is live while its callback runs.
    if unsafe { is_enabled(port) } == 0 {
        CALLED_WHILE_DISABLED.fetch_add(1, Ordering::SeqCst);
    }
    *IN_CALLBACK.0.lock() += 1;
    IN_CALLBACK.1.notify_all();
    let mut go = GO.0.lock();
    let timeout = GO.1.wait_while_for(&mut go, |go| !*go, PATIENCE);
    assert!(!timeout.timed_out(), "the test never let the callback go");
    // SAFETY: the header is handed to the callback.
    unsafe { (api().buffer_header_release)(b) };
}

unsafe extern "C" fn other_cb(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    // SAFETY: the header is handed to the callback.
    unsafe { (api().buffer_header_release)(b) };
}

#[test]
fn a_port_being_disabled_reads_disabled_and_refuses_enable_and_connect_until_its_callbacks_are_done() {
    let api = api();
    let sink = create(c"vc.null_sink");
    let resize = create(c"vc.ril.resize");
    // SAFETY: pointers from the live components, used as a C client would.
    unsafe {
        let input = *(*sink).input;
        let pool = (api.port_pool_create)(input, 2, (*input).buffer_size_min);
        (*input).buffer_num = 2;
        assert_eq!((api.port_enable)(input, Some(blocking_cb)), sys::MMAL_SUCCESS);
        // The first buffer's callback blocks on the worker (the buffer in
        // flight); the second waits in the port's queue.
        for _ in 0..2 {
            assert_eq!((api.port_send_buffer)(input, (api.queue_get)((*pool).queue)), sys::MMAL_SUCCESS);
        }
        let mut calls = IN_CALLBACK.0.lock();
        let timeout = IN_CALLBACK.1.wait_while_for(&mut calls, |n| *n == 0, PATIENCE);
        assert!(!timeout.timed_out(), "no callback");
        drop(calls);

        let key = input as usize;
        let (tx, draining) = channel();
        pause::set("disable: draining", key, move || {
            let _ = tx.lock().send("draining");
        });
        let disabling = std::thread::spawn(move || (crate::api().port_disable)(key as *mut sys::MMAL_PORT_T));
        assert_eq!(draining.recv_timeout(PATIENCE), Ok("draining"));
        pause::clear(key);

        // The disable waits for the callback: the port reads disabled, as
        // in libmmal (picamera's callbacks rely on it), and takes no enable
        // (which would install a callback the disable then takes) and no
        // connection.
        let enabled = is_enabled(input);
        let enable = (api.port_enable)(input, Some(other_cb));
        let mut connection = std::ptr::null_mut();
        let connect = (api.connection_create)(&mut connection, *(*resize).output, input, 0);

        *GO.0.lock() = true;
        GO.1.notify_all();
        assert_eq!(disabling.join().unwrap(), sys::MMAL_SUCCESS);
        assert_eq!(enabled, 0, "is_enabled read 1 while the port was being disabled (libmmal clears it first)");
        assert_eq!(enable, sys::MMAL_EINVAL, "a port being disabled took an enable");
        assert_eq!(connect, sys::MMAL_EINVAL, "a port being disabled took a connection");
        assert!(connection.is_null());
        // Both buffers came back through the callback: the queued one from
        // the disable's drain, on a port reading disabled, as libmmal flushes.
        assert_eq!(*IN_CALLBACK.0.lock(), 2);
        assert_eq!(CALLED_WHILE_DISABLED.load(Ordering::SeqCst), 1);
        assert_eq!(is_enabled(input), 0);
        assert_eq!((api.queue_length)((*pool).queue), 2);
        (api.port_pool_destroy)(input, pool);
        assert_eq!((api.component_release)(sink), sys::MMAL_SUCCESS);
        assert_eq!((api.component_release)(resize), sys::MMAL_SUCCESS);
    }
}

// --- a tunnel's output disable against its input component's destroy -------

#[test]
fn destroying_a_tunnels_input_component_waits_for_a_disable_of_its_output() {
    let api = api();
    let (resize, sink, out, input) = enabled_tunnel();
    // SAFETY: pointers from the live components, used as a C client would.
    unsafe {
        assert_eq!(is_enabled(input), 1);

        // Thread A disables the output and, before it reaches the input,
        // thread B destroys the input's component.
        let (tx, events) = channel();
        let tx = std::sync::Arc::new(tx);
        let order = std::sync::Arc::new(Mutex::new(Vec::new()));
        let (sink_addr, tx_b) = (sink as usize, tx.clone());
        let (events, seen) = (Mutex::new(events), order.clone());
        let destroyer = Mutex::new(None);
        let destroyer = std::sync::Arc::new(destroyer);
        let spawned = destroyer.clone();
        pause::set("disable: tunnel output reaches its input", out as usize, move || {
            let tx = tx_b.clone();
            let b = std::thread::spawn(move || {
                let status = (crate::api().component_release)(sink_addr as *mut sys::MMAL_COMPONENT_T);
                let _ = tx.lock().send("destroyed");
                status
            });
            *spawned.lock() = Some(b);
            // B either waits for this disable (as it must) or gets through.
            let event = events.lock().recv_timeout(PATIENCE).unwrap_or("nothing");
            seen.lock().push(event);
        });
        let tx_wait = tx.clone();
        pause::set("disable: input waits for its output", input as usize, move || {
            let _ = tx_wait.lock().send("destroy waits for the output's disable");
        });
        let status = (api.port_disable)(out);
        pause::clear(out as usize);
        pause::clear(input as usize);
        let b = destroyer.lock().take().expect("the destroy started");
        assert_eq!(b.join().unwrap(), sys::MMAL_SUCCESS, "the input's component is destroyed");
        assert_eq!(status, sys::MMAL_SUCCESS);
        assert_eq!(
            *order.lock(),
            ["destroy waits for the output's disable"],
            "the input's component was destroyed while its tunnel's output was reaching it"
        );
        assert_eq!(is_enabled(out), 0);
        assert_eq!((api.component_release)(resize), sys::MMAL_SUCCESS);
    }
}

#[test]
fn destroying_a_tunnels_input_component_disables_the_tunnel_first() {
    let api = api();
    let (resize, sink, out, _) = enabled_tunnel();
    // SAFETY: pointers from the live components, used as a C client would.
    unsafe {
        assert_eq!((api.component_release)(sink), sys::MMAL_SUCCESS);
        // The output was disabled with it, and is no longer connected.
        assert_eq!(is_enabled(out), 0);
        assert_eq!(crate::c_api::mmal_port_disconnect(out), sys::MMAL_ENOTCONN);
        assert_eq!((api.component_release)(resize), sys::MMAL_SUCCESS);
    }
}

// --- connect's reservation covers the userdata writes -----------------------

#[test]
fn a_connection_being_made_takes_no_enable_and_its_userdata_is_not_overwritten() {
    let api = api();
    let (first, second) = (create(c"vc.ril.resize"), create(c"vc.ril.resize"));
    let sink = create(c"vc.null_sink");
    // SAFETY: pointers from the live components, used as a C client would.
    unsafe {
        let (out, out2, input) = (*(*first).output, *(*second).output, *(*sink).input);
        let seen = std::sync::Arc::new(Mutex::new(None));
        let seen_in_hook = seen.clone();
        let (out_addr, out2_addr, in_addr) = (out as usize, out2 as usize, input as usize);
        // Between the connecting and the userdata writes of the first
        // connection: an enable of its output, and a second connection to
        // its input (EISCONN, with a connection object of its own).
        pause::set("connect: made", out_addr, move || {
            let api = crate::api();
            let enable = (api.port_enable)(out_addr as *mut sys::MMAL_PORT_T, None);
            let mut other = std::ptr::null_mut();
            let status = (api.connection_create)(
                &mut other,
                out2_addr as *mut sys::MMAL_PORT_T,
                in_addr as *mut sys::MMAL_PORT_T,
                sys::MMAL_CONNECTION_FLAG_TUNNELLING,
            );
            let input_userdata = (*(in_addr as *mut sys::MMAL_PORT_T)).userdata as usize;
            *seen_in_hook.lock() = Some((enable, status, other as usize, input_userdata));
        });
        let mut connection = std::ptr::null_mut();
        let status = (api.connection_create)(&mut connection, out, input, sys::MMAL_CONNECTION_FLAG_TUNNELLING);
        pause::clear(out_addr);
        assert_eq!(status, sys::MMAL_SUCCESS);
        let (enable, other_status, other, input_userdata) = seen.lock().take().unwrap();
        assert_eq!(enable, sys::MMAL_EINVAL, "a port being connected took an enable");
        assert_eq!(other_status, sys::MMAL_EISCONN);
        assert_ne!(other, 0, "EISCONN comes with a connection object");
        assert_ne!(input_userdata, other, "EISCONN wrote the userdata of a port another call was connecting");
        assert_eq!((*out2).userdata as usize, other, "the port it reserved takes its connection");
        assert_eq!((*out).userdata, connection.cast());
        assert_eq!((*input).userdata, connection.cast());
        assert_eq!(is_enabled(out), 0);
        assert_eq!((api.connection_destroy)(other as *mut sys::MMAL_CONNECTION_T), sys::MMAL_SUCCESS);
        // The first connection works as usual.
        assert_eq!((api.connection_enable)(connection), sys::MMAL_SUCCESS);
        assert_eq!(is_enabled(input), 1);
        assert_eq!((api.connection_destroy)(connection), sys::MMAL_SUCCESS);
        for c in [first, second, sink] {
            assert_eq!((api.component_release)(c), sys::MMAL_SUCCESS);
        }
    }
}

// --- releasing a tunnel's input component from its output's worker -------

static PEER_TO_RELEASE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static RELEASE_STATUS: (Mutex<Option<u32>>, Condvar) = (Mutex::new(None), Condvar::new());

unsafe extern "C" fn release_peer_cb(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    let peer = PEER_TO_RELEASE.swap(0, Ordering::SeqCst);
    if peer != 0 {
        // SAFETY: the test's live component, released by this callback alone.
        let status = unsafe { (api().component_release)(peer as *mut sys::MMAL_COMPONENT_T) };
        *RELEASE_STATUS.0.lock() = Some(status);
        RELEASE_STATUS.1.notify_all();
    }
    // SAFETY: the header is handed to the callback.
    unsafe { (api().buffer_header_release)(b) };
}

#[test]
fn releasing_a_tunnels_input_component_from_a_callback_of_its_output_component_is_refused() {
    let api = api();
    let (resize, sink, out, input) = enabled_tunnel();
    // SAFETY: pointers from the live components, used as a C client would.
    unsafe {
        assert_eq!((api.port_enable)((*resize).control, Some(release_peer_cb)), sys::MMAL_SUCCESS);
        PEER_TO_RELEASE.store(sink as usize, Ordering::SeqCst);
        assert!(crate::post_event((*resize).id, crate::TestEvent::Error(sys::MMAL_EIO)));
        let mut status = RELEASE_STATUS.0.lock();
        let timeout = RELEASE_STATUS.1.wait_while_for(&mut status, |s| s.is_none(), PATIENCE);
        assert!(!timeout.timed_out(), "no event");
        assert_eq!(*status, Some(sys::MMAL_EINVAL), "the input's component was destroyed on its output's worker");
        drop(status);
        // Nothing changed: the tunnel is enabled, the reference still ours.
        assert_eq!(is_enabled(out), 1);
        assert_eq!(is_enabled(input), 1);
        assert_eq!((api.component_release)(sink), sys::MMAL_SUCCESS);
        assert_eq!(is_enabled(out), 0);
        assert_eq!((api.port_disable)((*resize).control), sys::MMAL_SUCCESS);
        assert_eq!((api.component_release)(resize), sys::MMAL_SUCCESS);
    }
}

// --- an encoder's output disabled between a picture's headers and frame ----

/// What the encoder's output callback saw: (length, flags) of each buffer.
static ENCODED: Mutex<Vec<(u32, u32)>> = Mutex::new(Vec::new());
/// The headers' callback sent its buffer back and blocks until `HEADERS_GO`.
static HEADERS_BACK: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());
static HEADERS_GO: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());

unsafe extern "C" fn encoded_cb(port: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    // SAFETY: the header is handed to the callback; the port is live while
    // its callback runs.
    unsafe {
        let (length, flags) = ((*b).length, (*b).flags);
        ENCODED.lock().push((length, flags));
        if flags & sys::MMAL_BUFFER_HEADER_FLAG_CONFIG == 0 {
            (api().buffer_header_release)(b);
            return;
        }
        // The headers: the buffer goes back to the port (the picture
        // waits for it), and this callback holds the worker until the
        // disable has begun.
        assert_eq!((api().port_send_buffer)(port, b), sys::MMAL_SUCCESS);
    }
    *HEADERS_BACK.0.lock() = true;
    HEADERS_BACK.1.notify_all();
    let mut go = HEADERS_GO.0.lock();
    let timeout = HEADERS_GO.1.wait_while_for(&mut go, |go| !*go, PATIENCE);
    assert!(!timeout.timed_out(), "the test never let the callback go");
}

#[test]
fn a_disable_after_a_buffer_came_back_still_fills_it_with_the_picture_waiting_for_it() {
    let api = api();
    let encoder = create(c"vc.ril.video_encode");
    // SAFETY: pointers from the live component, used as a C client would;
    // released at the end.
    unsafe {
        let (input, output) = (*(*encoder).input, *(*encoder).output);
        let video = &mut (*(*(*input).format).es).video;
        (video.width, video.height) = (64, 48);
        video.crop = sys::MMAL_RECT_T { x: 0, y: 0, width: 64, height: 48 };
        video.frame_rate = sys::MMAL_RATIONAL_T { num: 30, den: 1 };
        (*(*input).format).encoding = sys::MMAL_ENCODING_I420;
        assert_eq!((api.port_format_commit)(input), sys::MMAL_SUCCESS);
        (*(*output).format).encoding = sys::MMAL_ENCODING_H264;
        (*(*output).format).bitrate = 1_000_000;
        assert_eq!((api.port_format_commit)(output), sys::MMAL_SUCCESS);

        // One output buffer: the headers take it, and the picture waits
        // for it to come back.
        (*output).buffer_num = 1;
        let out_pool = (api.port_pool_create)(output, 1, (*output).buffer_size_recommended);
        assert_eq!((api.port_enable)(output, Some(encoded_cb)), sys::MMAL_SUCCESS);
        assert_eq!((api.port_send_buffer)(output, (api.queue_get)((*out_pool).queue)), sys::MMAL_SUCCESS);
        (*input).buffer_num = 1;
        let in_pool = (api.port_pool_create)(input, 1, (*input).buffer_size_min);
        assert_eq!((api.port_enable)(input, Some(other_cb)), sys::MMAL_SUCCESS);
        let picture = (api.queue_get)((*in_pool).queue);
        (*picture).length = (*input).buffer_size_min;
        assert_eq!((api.port_send_buffer)(input, picture), sys::MMAL_SUCCESS);

        let mut back = HEADERS_BACK.0.lock();
        let timeout = HEADERS_BACK.1.wait_while_for(&mut back, |back| !*back, PATIENCE);
        assert!(!timeout.timed_out(), "no headers");
        drop(back);
        // The worker is in the headers' callback, so only the disable can
        // fill the buffer that came back.
        let key = output as usize;
        pause::set("disable: draining", key, || {
            *HEADERS_GO.0.lock() = true;
            HEADERS_GO.1.notify_all();
        });
        assert_eq!((api.port_disable)(output), sys::MMAL_SUCCESS);
        pause::clear(key);

        let seen = ENCODED.lock().clone();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[0].0 > 0 && seen[0].1 & sys::MMAL_BUFFER_HEADER_FLAG_CONFIG != 0, "{seen:?}");
        let (length, flags) = seen[1];
        assert!(length > 0, "the picture after the headers was dropped: {seen:?}");
        let keyframe = sys::MMAL_BUFFER_HEADER_FLAG_KEYFRAME | sys::MMAL_BUFFER_HEADER_FLAG_FRAME_END;
        assert_eq!(flags & keyframe, keyframe, "{seen:?}");
        assert_eq!((api.queue_length)((*out_pool).queue), 1);

        assert_eq!((api.port_disable)(input), sys::MMAL_SUCCESS);
        (api.port_pool_destroy)(output, out_pool);
        (api.port_pool_destroy)(input, in_pool);
        assert_eq!((api.component_release)(encoder), sys::MMAL_SUCCESS);
    }
}

// --- a disable waits for the callback of an event the client sent --------

static EVENT_GO: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());
static EVENT_IN_CALLBACK: (Mutex<bool>, Condvar) = (Mutex::new(false), Condvar::new());

unsafe extern "C" fn event_blocking_cb(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    *EVENT_IN_CALLBACK.0.lock() = true;
    EVENT_IN_CALLBACK.1.notify_all();
    let mut go = EVENT_GO.0.lock();
    let timeout = EVENT_GO.1.wait_while_for(&mut go, |go| !*go, PATIENCE);
    assert!(!timeout.timed_out(), "the test never let the callback go");
    // SAFETY: the header is handed to the callback.
    unsafe { (api().buffer_header_release)(b) };
}

/// A null sink whose input is enabled with `cb` and a pool of one header,
/// and that header made an EOS event for the client to send: the sink, its
/// input, the pool and the event.
fn sink_and_event(
    cb: unsafe extern "C" fn(*mut sys::MMAL_PORT_T, *mut sys::MMAL_BUFFER_HEADER_T),
) -> (*mut sys::MMAL_COMPONENT_T, *mut sys::MMAL_PORT_T, *mut sys::MMAL_POOL_T, *mut sys::MMAL_BUFFER_HEADER_T) {
    let api = api();
    let sink = create(c"vc.null_sink");
    // SAFETY: pointers from the live component, used as a C client would.
    unsafe {
        let input = *(*sink).input;
        let pool = (api.port_pool_create)(input, 1, (*input).buffer_size_min);
        (*input).buffer_num = 1;
        assert_eq!((api.port_enable)(input, Some(cb)), sys::MMAL_SUCCESS);
        let b = (api.queue_get)((*pool).queue);
        (*b).cmd = sys::MMAL_EVENT_EOS;
        (sink, input, pool, b)
    }
}

#[test]
fn a_disable_waits_for_the_callback_of_an_event_the_client_sent() {
    let api = api();
    let (sink, input, pool, b) = sink_and_event(event_blocking_cb);
    // SAFETY: pointers from the live component, used as a C client would
    // (the port and header handed to other threads as addresses).
    unsafe {
        let (port_at, buffer_at) = (input as usize, b as usize);
        // The event comes back through the callback on the sender's thread,
        // which blocks there.
        // SAFETY (this closure and the disabler's, inside the block above):
        // the live port and a header of its pool.
        let sender = std::thread::spawn(move || (api.port_send_buffer)(port_at as *mut _, buffer_at as *mut _));
        let mut entered = EVENT_IN_CALLBACK.0.lock();
        let timeout = EVENT_IN_CALLBACK.1.wait_while_for(&mut entered, |e| !*e, PATIENCE);
        assert!(!timeout.timed_out(), "the event came back through the callback");
        drop(entered);
        let (tx, rx) = sync_channel(1);
        let (reached, draining) = channel();
        pause::set("disable: draining", port_at, move || {
            let _ = reached.lock().send("draining");
        });
        let disabler = std::thread::spawn(move || {
            let _ = tx.send((api.port_disable)(port_at as *mut _));
        });
        // The disable is at its wait for the port's callbacks.
        assert_eq!(draining.recv_timeout(PATIENCE), Ok("draining"));
        pause::clear(port_at);
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "the disable returned while the event's callback still ran"
        );
        *EVENT_GO.0.lock() = true;
        EVENT_GO.1.notify_all();
        assert_eq!(rx.recv_timeout(PATIENCE), Ok(sys::MMAL_SUCCESS), "the disable, once the callback is done");
        disabler.join().unwrap();
        assert_eq!(sender.join().unwrap(), sys::MMAL_SUCCESS);
        assert_eq!((api.queue_length)((*pool).queue), 1, "the event is back in its pool");
        (api.port_pool_destroy)(input, pool);
        assert_eq!((api.component_release)(sink), sys::MMAL_SUCCESS);
    }
}

// --- a disable from inside an event's callback is refused ----------------

static SELF_DISABLE: Mutex<Option<sys::MMAL_STATUS_T>> = Mutex::new(None);

unsafe extern "C" fn self_disabling_cb(port: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    // SAFETY: the live port whose callback this is; the header is handed
    // to the callback.
    unsafe {
        *SELF_DISABLE.lock() = Some((api().port_disable)(port));
        (api().buffer_header_release)(b);
    }
}

#[test]
fn a_disable_from_the_callback_of_an_event_the_client_sent_is_refused_not_hung() {
    let api = api();
    let (sink, input, pool, b) = sink_and_event(self_disabling_cb);
    // SAFETY: pointers from the live component, used as a C client would.
    unsafe {
        // Its callback runs on this thread, inside the send: a disable
        // there would wait for itself.
        assert_eq!((api.port_send_buffer)(input, b), sys::MMAL_SUCCESS);
        assert_eq!(*SELF_DISABLE.lock(), Some(sys::MMAL_EINVAL));
        assert_eq!((*input).is_enabled, 1);
        assert_eq!((api.port_disable)(input), sys::MMAL_SUCCESS, "from outside the callback");
        (api.port_pool_destroy)(input, pool);
        assert_eq!((api.component_release)(sink), sys::MMAL_SUCCESS);
    }
}
