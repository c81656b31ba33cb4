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
        // No callback on an unconnected port: EINVAL.
        (*port).buffer_num = 3;
        assert_eq!((api.port_enable)(port, None), sys::MMAL_EINVAL);
        assert_eq!((*port).is_enabled, 0);

        // Replacing the format pointer instead of editing it: EFAULT.
        let mut other = *format;
        (*port).format = &mut other;
        assert_eq!((api.port_format_commit)(port), sys::MMAL_EFAULT);
        (*port).format = format;

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
