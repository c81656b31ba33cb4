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
