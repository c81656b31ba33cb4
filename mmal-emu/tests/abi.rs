//! libmmal's semantics at the C ABI, called the way a C client would.

use std::ffi::CString;
use std::ptr;

use mmal_sys as sys;

fn create(name: &str) -> Result<*mut sys::MMAL_COMPONENT_T, u32> {
    if std::env::var_os("VIDEOCORE").is_none() {
        std::env::set_var("VIDEOCORE", "emulated");
    }
    let api = mmal_emu::api();
    let name = CString::new(name).unwrap();
    let mut c = ptr::null_mut();
    // SAFETY: a NUL-terminated name and a valid out-pointer.
    let status = unsafe { (api.component_create)(name.as_ptr(), &mut c) };
    if status == sys::MMAL_SUCCESS {
        Ok(c)
    } else {
        Err(status)
    }
}

#[test]
fn unknown_components_are_enosys() {
    assert_eq!(create("vc.ril.teapot").unwrap_err(), sys::MMAL_ENOSYS);
}

#[test]
fn short_parameter_reads_get_enospc_and_the_full_size() {
    let api = mmal_emu::api();
    let info = create("vc.camera_info").unwrap();
    let mut param = sys::MMAL_PARAMETER_CAMERA_INFO_T::default();
    let full = std::mem::size_of::<sys::MMAL_PARAMETER_CAMERA_INFO_T>() as u32;
    param.hdr = sys::MMAL_PARAMETER_HEADER_T { id: sys::MMAL_PARAMETER_CAMERA_INFO, size: full - 4 };
    // SAFETY: a live component's control port and a parameter of at least
    // `hdr.size` bytes.
    let status = unsafe { (api.port_parameter_get)((*info).control, &mut param.hdr) };
    assert_eq!(status, sys::MMAL_ENOSPC);
    assert_eq!(param.hdr.size, full);
    assert_eq!(param.num_cameras, 1, "the part that fits is filled");
    param.hdr.size = full;
    // SAFETY: as above.
    assert_eq!(unsafe { (api.port_parameter_get)((*info).control, &mut param.hdr) }, sys::MMAL_SUCCESS);
    assert_eq!(&param.cameras[0].camera_name[..6], b"imx219".map(|b| b as core::ffi::c_char).as_slice());
    // SAFETY: the component is live and released once.
    assert_eq!(unsafe { (api.component_release)(info) }, sys::MMAL_SUCCESS);
}

#[test]
fn formats_are_edited_in_place_and_enable_checks_buffers() {
    let api = mmal_emu::api();
    let camera = create("vc.ril.camera").unwrap();
    // SAFETY: every pointer below comes from the live component, used as a
    // C client would, and is released at the end.
    unsafe {
        let port = *(*camera).output.add(1);
        let format = (*port).format;
        (*format).encoding = sys::MMAL_ENCODING_I420;
        (*(*format).es).video.width = 1920;
        (*(*format).es).video.height = 1088;
        (*(*format).es).video.crop = sys::MMAL_RECT_T { x: 0, y: 0, width: 1920, height: 1080 };
        assert_eq!((api.port_format_commit)(port), sys::MMAL_SUCCESS);
        assert_eq!((*port).buffer_size_min, 1920 * 1088 * 3 / 2);
        assert!((*port).buffer_num_min >= 1);

        // Too few buffers: EINVAL.
        (*port).buffer_num = 0;
        unsafe extern "C" fn cb(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
            // SAFETY: the header is handed to the callback.
            unsafe { (mmal_emu::api().buffer_header_release)(b) };
        }
        assert_eq!((api.port_enable)(port, Some(cb)), sys::MMAL_EINVAL);
        // No callback on an unconnected port: libmmal allows it.
        (*port).buffer_num = 3;
        assert_eq!((api.port_enable)(port, None), sys::MMAL_SUCCESS);
        assert_eq!((*port).is_enabled, 1);
        assert_eq!((api.port_disable)(port), sys::MMAL_SUCCESS);

        // Replacing the format pointer instead of editing it: EFAULT, and
        // the port's own pointer comes back.
        let mut other = *format;
        (*port).format = &mut other;
        assert_eq!((api.port_format_commit)(port), sys::MMAL_EFAULT);
        assert_eq!((*port).format, format);

        // Parameters larger than the VideoCore takes: ENOSPC.
        let mut big = [0u32; 128];
        big[0] = sys::MMAL_PARAMETER_SHUTTER_SPEED;
        big[1] = 512;
        assert_eq!((api.port_parameter_set)((*camera).control, big.as_ptr().cast()), sys::MMAL_ENOSPC);

        // A pool, enabled and disabled: every buffer comes back.
        let pool = (api.port_pool_create)(port, 3, (*port).buffer_size_min);
        assert!(!pool.is_null());
        assert_eq!((api.port_enable)(port, Some(cb)), sys::MMAL_SUCCESS);
        for _ in 0..3 {
            let b = (api.queue_get)((*pool).queue);
            assert_eq!((api.port_send_buffer)(port, b), sys::MMAL_SUCCESS);
        }
        assert_eq!((api.queue_length)((*pool).queue), 0);
        assert_eq!((api.port_disable)(port), sys::MMAL_SUCCESS);
        assert_eq!((api.queue_length)((*pool).queue), 3);
        assert_eq!((api.port_disable)(port), sys::MMAL_EINVAL, "already disabled");
        (api.port_pool_destroy)(port, pool);
        assert_eq!((api.component_release)(camera), sys::MMAL_SUCCESS);
    }
}

/// Collects what the control port reports: `(cmd, first payload word)`.
static EVENTS: std::sync::Mutex<Vec<(u32, u32)>> = std::sync::Mutex::new(Vec::new());

unsafe extern "C" fn record_event(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    // SAFETY: the header and its payload are handed to the callback.
    unsafe {
        let word =
            if (*b).length >= 4 { (*b).data.add((*b).offset as usize).cast::<u32>().read_unaligned() } else { 0 };
        EVENTS.lock().unwrap().push(((*b).cmd, word));
        (mmal_emu::api().buffer_header_release)(b);
    }
}

/// Counts buffers returned to a client's output callback.
static RETURNED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

unsafe extern "C" fn count_returned(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    RETURNED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    // SAFETY: the header is handed to the callback.
    unsafe { (mmal_emu::api().buffer_header_release)(b) };
}

#[test]
fn a_buffer_shorter_than_the_frame_is_an_error_event_and_comes_back_on_disable() {
    let api = mmal_emu::api();
    let camera = create("vc.ril.camera").unwrap();
    // SAFETY: pointers from the live component, used as a C client would.
    unsafe {
        let control = (*camera).control;
        assert_eq!((api.port_enable)(control, Some(record_event)), sys::MMAL_SUCCESS);
        let port = *(*camera).output.add(1);
        let format = (*port).format;
        (*format).encoding = sys::MMAL_ENCODING_I420;
        (*(*format).es).video.width = 320;
        (*(*format).es).video.height = 240;
        (*(*format).es).video.crop = sys::MMAL_RECT_T { x: 0, y: 0, width: 320, height: 240 };
        assert_eq!((api.port_format_commit)(port), sys::MMAL_SUCCESS);
        (*port).buffer_num = 1;
        (*port).buffer_size = (*port).buffer_size_min;
        assert_eq!((api.port_enable)(port, Some(count_returned)), sys::MMAL_SUCCESS);
        // A pool of buffers a quarter of the frame: libmmal does not check
        // what is sent against the port's size, the component does.
        let pool = (api.port_pool_create)(port, 1, (*port).buffer_size_min / 4);
        let b = (api.queue_get)((*pool).queue);
        assert_eq!((api.port_send_buffer)(port, b), sys::MMAL_SUCCESS);
        assert_eq!((api.component_enable)(camera), sys::MMAL_SUCCESS);
        let mut capture = sys::MMAL_PARAMETER_BOOLEAN_T {
            hdr: sys::MMAL_PARAMETER_HEADER_T {
                id: sys::MMAL_PARAMETER_CAPTURE,
                size: std::mem::size_of::<sys::MMAL_PARAMETER_BOOLEAN_T>() as u32,
            },
            enable: 1,
        };
        assert_eq!((api.port_parameter_set)(port, &mut capture.hdr), sys::MMAL_SUCCESS);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !EVENTS.lock().unwrap().contains(&(sys::MMAL_EVENT_ERROR, sys::MMAL_EINVAL)) {
            assert!(std::time::Instant::now() < deadline, "no EINVAL error event: {:?}", EVENTS.lock().unwrap());
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(RETURNED.load(std::sync::atomic::Ordering::SeqCst), 0, "the camera keeps the buffer");
        // Disabling returns: on a worker that panicked it waited forever.
        let port_addr = port as usize;
        let disabled = std::thread::spawn(move || {
            // SAFETY: the port is live until the component is released below.
            (mmal_emu::api().port_disable)(port_addr as *mut sys::MMAL_PORT_T)
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !disabled.is_finished() {
            assert!(std::time::Instant::now() < deadline, "mmal_port_disable hangs");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(disabled.join().unwrap(), sys::MMAL_SUCCESS);
        assert_eq!(RETURNED.load(std::sync::atomic::Ordering::SeqCst), 1, "the buffer came back on disable");
        (api.port_pool_destroy)(port, pool);
        assert_eq!((api.port_disable)(control), sys::MMAL_SUCCESS);
        assert_eq!((api.component_release)(camera), sys::MMAL_SUCCESS);
    }
}

/// Sets a lens shading override of the given grid on `camera`.
///
/// # Safety
///
/// `camera` is a live camera.
unsafe fn set_lens_shading(
    camera: *mut sys::MMAL_COMPONENT_T,
    width: u32,
    stride: u32,
    height: u32,
    handle: u32,
) -> u32 {
    let mut p = sys::MMAL_PARAMETER_LENS_SHADING_T {
        hdr: sys::MMAL_PARAMETER_HEADER_T {
            id: sys::MMAL_PARAMETER_LENS_SHADING_OVERRIDE,
            size: std::mem::size_of::<sys::MMAL_PARAMETER_LENS_SHADING_T>() as u32,
        },
        enabled: 1,
        grid_cell_size: 64,
        grid_width: width,
        grid_stride: stride,
        grid_height: height,
        mem_handle_table: handle,
        ref_transform: 0,
    };
    // SAFETY: a live camera (the caller's promise) and a whole parameter.
    unsafe { (mmal_emu::api().port_parameter_set)((*camera).control, &mut p.hdr) }
}

#[test]
fn lens_shading_values_from_the_client_are_checked_without_overflow() {
    let camera = create("vc.ril.camera").unwrap();
    let mut table = vcsm::SharedMemory::new(52 * 39 * 4, "ls_grid").unwrap();
    table.copy_from_slice(&[32; 52 * 39 * 4]).unwrap();
    let handle = table.vc_handle().get();
    // SAFETY: a live camera, released at the end.
    unsafe {
        assert_eq!(set_lens_shading(camera, 52, 52, 39, handle), sys::MMAL_SUCCESS);
        // Sizes whose products wrap in 32 bits: EINVAL, not a panic.
        assert_eq!(set_lens_shading(camera, 0x0400_0001, 0x0400_0001, 39, handle), sys::MMAL_EINVAL);
        assert_eq!(set_lens_shading(camera, 52, 0x4000_0000, 0x4000_0000, handle), sys::MMAL_EINVAL);
        assert_eq!(set_lens_shading(camera, 52, u32::MAX, 39, handle), sys::MMAL_EINVAL);
        // A handle that names no block, or a block too small.
        assert_eq!(set_lens_shading(camera, 52, 52, 39, 0x7fff_fff0), sys::MMAL_EINVAL);
        assert_eq!(set_lens_shading(camera, 52, 64, 39, handle), sys::MMAL_EINVAL);
        // The CPU holds the block locked: the VideoCore side keeps off it.
        let lock = table.lock().unwrap();
        assert_eq!(set_lens_shading(camera, 52, 52, 39, handle), sys::MMAL_EINVAL);
        drop(lock);
        assert_eq!(set_lens_shading(camera, 52, 52, 39, handle), sys::MMAL_SUCCESS);
        // A freed block no longer resolves.
        drop(table);
        assert_eq!(set_lens_shading(camera, 52, 52, 39, handle), sys::MMAL_EINVAL);
        assert_eq!((mmal_emu::api().component_release)(camera), sys::MMAL_SUCCESS);
    }
}

#[test]
fn pools_too_large_to_allocate_are_null_not_an_abort() {
    let api = mmal_emu::api();
    let sink = create("vc.null_sink").unwrap();
    // SAFETY: a live component's input port; pools made are destroyed.
    unsafe {
        let port = *(*sink).input;
        assert!((api.port_pool_create)(port, u32::MAX, 1 << 20).is_null());
        assert!((api.port_pool_create)(port, 1 << 20, u32::MAX).is_null());
        let pool = (api.port_pool_create)(port, 2, 64);
        assert!(!pool.is_null());
        (api.port_pool_destroy)(port, pool);
        assert_eq!((api.component_release)(sink), sys::MMAL_SUCCESS);
    }
}

/// A header of a new pool of one buffer with `payload` bytes, and the pool.
fn one_header(payload: u32) -> (*mut sys::MMAL_POOL_T, *mut sys::MMAL_BUFFER_HEADER_T) {
    let pool = mmal_emu::c_api::mmal_pool_create(1, payload);
    assert!(!pool.is_null());
    // SAFETY: a live pool's queue.
    let b = unsafe { (mmal_emu::api().queue_get)((*pool).queue) };
    assert!(!b.is_null());
    (pool, b)
}

#[test]
fn format_changed_events_are_read_within_their_payload_as_libmmal_lays_them_out() {
    let api = mmal_emu::api();
    let sink = create("vc.null_sink").unwrap();
    // SAFETY: every pointer comes from the live component or pools, used as
    // a C client would, and is released at the end.
    unsafe {
        // An event of the component's: libmmal's layout and pointers.
        let mut ev = ptr::null_mut();
        let control = (*sink).control;
        let status = mmal_emu::c_api::mmal_port_event_get(control, &mut ev, sys::MMAL_EVENT_FORMAT_CHANGED);
        assert_eq!(status, sys::MMAL_SUCCESS);
        let e = (api.event_format_changed_get)(ev);
        assert_eq!(e.cast::<u8>(), (*ev).data);
        let head = std::mem::size_of::<sys::MMAL_EVENT_FORMAT_CHANGED_T>();
        assert_eq!((*e).format.cast::<u8>(), (*ev).data.add(head));
        assert_eq!((*(*e).format).es.cast::<sys::MMAL_ES_FORMAT_T>(), (*e).format.add(1));
        (api.buffer_header_release)(ev);

        // A length past the payload, or no payload at all: NULL, as no
        // event could be read there (libmmal would read past the payload;
        // this emulator answered the payload, or 0x1 for none).
        let (small, b) = one_header(8);
        (*b).cmd = sys::MMAL_EVENT_FORMAT_CHANGED;
        (*b).length = 4096;
        assert!((api.event_format_changed_get)(b).is_null());
        let (empty, b0) = one_header(0);
        (*b0).cmd = sys::MMAL_EVENT_FORMAT_CHANGED;
        (*b0).length = 256;
        assert!((api.event_format_changed_get)(b0).is_null());
        (api.buffer_header_release)(b0);

        // Sent to an input, it is not taken as a format (nor read past its
        // 8 bytes) and goes back to its pool.
        let input = *(*sink).input;
        unsafe extern "C" fn keep(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
            // SAFETY: the header is handed to the callback.
            unsafe { (mmal_emu::api().buffer_header_release)(b) };
        }
        assert_eq!((api.port_enable)(input, Some(keep)), sys::MMAL_SUCCESS);
        assert_eq!((api.port_send_buffer)(input, b), sys::MMAL_SUCCESS);
        assert_eq!((api.port_disable)(input), sys::MMAL_SUCCESS);
        assert_eq!((api.queue_length)((*small).queue), 1);
        mmal_emu::c_api::mmal_pool_destroy(small);
        mmal_emu::c_api::mmal_pool_destroy(empty);
        assert_eq!((api.component_release)(sink), sys::MMAL_SUCCESS);
    }
}

unsafe extern "C" fn release_it(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    // SAFETY: the header is handed to the callback.
    unsafe { (mmal_emu::api().buffer_header_release)(b) };
}

#[test]
fn destroyed_objects_are_refused_not_used() {
    let api = mmal_emu::api();
    let sink = create("vc.null_sink").unwrap();
    // SAFETY: pointers from live objects, kept after their destroy: the
    // emulator looks each up before it touches it.
    unsafe {
        let (input, control) = (*(*sink).input, (*sink).control);
        assert_eq!((api.component_release)(sink), sys::MMAL_SUCCESS);
        assert_eq!((api.component_release)(sink), sys::MMAL_EINVAL);
        assert_eq!((api.component_enable)(sink), sys::MMAL_EINVAL);
        assert_eq!((api.port_enable)(input, Some(release_it)), sys::MMAL_EINVAL);
        assert_eq!((api.port_format_commit)(input), sys::MMAL_EINVAL);
        assert!((api.port_pool_create)(input, 1, 64).is_null());
        let mut flag = sys::MMAL_PARAMETER_BOOLEAN_T {
            hdr: sys::MMAL_PARAMETER_HEADER_T {
                id: sys::MMAL_PARAMETER_ZERO_COPY,
                size: std::mem::size_of::<sys::MMAL_PARAMETER_BOOLEAN_T>() as u32,
            },
            enable: 1,
        };
        assert_eq!((api.port_parameter_set)(input, &flag.hdr), sys::MMAL_EINVAL);
        assert_eq!((api.port_parameter_get)(control, &mut flag.hdr), sys::MMAL_EINVAL);
        mmal_emu::c_api::mmal_component_acquire(sink);

        let (pool, b) = one_header(64);
        let queue = (*pool).queue;
        (api.buffer_header_release)(b);
        mmal_emu::c_api::mmal_pool_destroy(pool);
        mmal_emu::c_api::mmal_pool_destroy(pool);
        assert!((api.queue_get)(queue).is_null());
        assert_eq!((api.queue_length)(queue), 0);
        assert_eq!(mmal_emu::c_api::mmal_pool_resize(pool, 2, 64), sys::MMAL_EINVAL);

        let q = mmal_emu::c_api::mmal_queue_create();
        mmal_emu::c_api::mmal_queue_destroy(q);
        mmal_emu::c_api::mmal_queue_destroy(q);
        assert!(mmal_emu::c_api::mmal_queue_timedwait(q, 1).is_null());
    }
}

#[test]
fn connections_destroyed_twice_are_refused() {
    let api = mmal_emu::api();
    let camera = create("vc.ril.camera").unwrap();
    let sink = create("vc.null_sink").unwrap();
    // SAFETY: pointers from live objects; the connection's is kept after
    // its destroy, and looked up by the emulator.
    unsafe {
        let mut c = ptr::null_mut();
        let out = *(*camera).output;
        let status = (api.connection_create)(&mut c, out, *(*sink).input, sys::MMAL_CONNECTION_FLAG_TUNNELLING);
        assert_eq!(status, sys::MMAL_SUCCESS);
        assert_eq!((api.connection_enable)(c), sys::MMAL_SUCCESS);
        mmal_emu::c_api::mmal_connection_acquire(c);
        assert_eq!((api.connection_destroy)(c), sys::MMAL_SUCCESS);
        assert_eq!((*c).is_enabled, 1, "one reference left");
        assert_eq!(mmal_emu::c_api::mmal_connection_release(c), sys::MMAL_SUCCESS);
        assert_eq!((api.connection_destroy)(c), sys::MMAL_EINVAL);
        assert_eq!((api.connection_enable)(c), sys::MMAL_EINVAL);
        assert_eq!((api.connection_disable)(c), sys::MMAL_EINVAL);
        assert_eq!((api.component_release)(sink), sys::MMAL_SUCCESS);
        assert_eq!((api.component_release)(camera), sys::MMAL_SUCCESS);
    }
}

#[test]
fn pools_past_the_videocores_memory_are_null_at_once() {
    // 8 GiB: more than the emulated memory (256 MiB by default), refused
    // before anything is allocated (it was zero-filled, page by page).
    assert!(mmal_emu::c_api::mmal_pool_create(4, 0x8000_0000).is_null());
    let sink = create("vc.null_sink").unwrap();
    // SAFETY: a live component's input.
    unsafe {
        assert!((mmal_emu::api().port_pool_create)(*(*sink).input, 2, 0xF000_0000).is_null());
        assert_eq!((mmal_emu::api().component_release)(sink), sys::MMAL_SUCCESS);
    }
}

#[test]
fn a_parameter_read_writes_no_more_than_the_answer() {
    let sink = create("vc.null_sink").unwrap();
    // The header says the largest parameter; the answer is a boolean:
    // nothing past it is written.
    let mut bytes = [0xAAu8; 64];
    let param = bytes.as_mut_ptr().cast::<sys::MMAL_PARAMETER_HEADER_T>();
    // SAFETY: `bytes` holds a header (written unaligned) and more; the
    // emulator writes no more than the answer, which fits.
    unsafe {
        param.write_unaligned(sys::MMAL_PARAMETER_HEADER_T {
            id: sys::MMAL_PARAMETER_ZERO_COPY,
            size: sys::MMAL_PARAMETER_MAX_SIZE,
        });
        assert_eq!((mmal_emu::api().port_parameter_get)(*(*sink).input, param), sys::MMAL_SUCCESS);
        assert_eq!(param.read_unaligned().size as usize, std::mem::size_of::<sys::MMAL_PARAMETER_BOOLEAN_T>());
        assert!(bytes[std::mem::size_of::<sys::MMAL_PARAMETER_BOOLEAN_T>()..].iter().all(|&b| b == 0xAA));
        assert_eq!((mmal_emu::api().component_release)(sink), sys::MMAL_SUCCESS);
    }
}

/// The pool whose allocator `free_and_look` belongs to.
static LOOKED_AT: std::sync::atomic::AtomicPtr<sys::MMAL_POOL_T> = std::sync::atomic::AtomicPtr::new(ptr::null_mut());
/// How many payloads `free_and_look` gave back.
static FREED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

unsafe extern "C" fn alloc_payload(_: *mut std::ffi::c_void, size: u32) -> *mut std::ffi::c_void {
    Box::into_raw(vec![0u8; size as usize].into_boxed_slice()).cast()
}

/// A client's free function that calls back into the library, as a C one
/// may: it reads the pool's queue (whose lock must not be held).
unsafe extern "C" fn free_and_look(_: *mut std::ffi::c_void, payload: *mut std::ffi::c_void) {
    let pool = LOOKED_AT.load(std::sync::atomic::Ordering::SeqCst);
    // SAFETY: the pool is live while its payloads are given back on resize.
    let _ = unsafe { (mmal_emu::api().queue_length)((*pool).queue) };
    // SAFETY: each payload came from `alloc_payload` with 64 bytes (the
    // only size this test allocates with).
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(payload.cast::<u8>(), 64)) });
    FREED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

#[test]
fn a_clients_free_function_runs_outside_the_pools_lock() {
    // SAFETY: the allocator's functions have libmmal's signatures.
    let pool = unsafe {
        mmal_emu::c_api::mmal_pool_create_with_allocator(
            2,
            64,
            ptr::null_mut(),
            Some(alloc_payload),
            Some(free_and_look),
        )
    };
    assert!(!pool.is_null());
    LOOKED_AT.store(pool, std::sync::atomic::Ordering::SeqCst);
    // The resize gives the two old payloads back; were the queue's lock
    // held, the free function's call would never return: the resize runs
    // on a thread, and a minute without an answer is that hang.
    let (done, finished) = std::sync::mpsc::channel();
    let raw = pool as usize;
    std::thread::spawn(move || {
        // SAFETY: a live pool with every header home; it keeps the client's
        // allocator, which is asked for 64-byte blocks again.
        let status = unsafe { mmal_emu::c_api::mmal_pool_resize(raw as *mut sys::MMAL_POOL_T, 3, 64) };
        let _ = done.send(status);
    });
    let status = finished.recv_timeout(std::time::Duration::from_secs(60));
    assert_eq!(status, Ok(sys::MMAL_SUCCESS), "the resize did not return");
    assert_eq!(FREED.load(std::sync::atomic::Ordering::SeqCst), 2);
    // SAFETY: the pool is live, destroyed once; its three payloads go back
    // through the free function.
    unsafe { mmal_emu::c_api::mmal_pool_destroy(pool) };
    assert_eq!(FREED.load(std::sync::atomic::Ordering::SeqCst), 5);
}
