//! `mmal_port_enable` of the VideoCore's ports over VCHIQ follows libmmal's
//! core: an unconnected port may be enabled without a callback (what it
//! returns is released), and a connected port takes none.
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

fn create(name: &std::ffi::CStr) -> *mut sys::MMAL_COMPONENT_T {
    let mut c = std::ptr::null_mut();
    // SAFETY: a NUL-terminated name and a place for the answer.
    assert_eq!(unsafe { (api().component_create)(name.as_ptr(), &mut c) }, sys::MMAL_SUCCESS);
    c
}

unsafe extern "C" fn release_cb(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    // SAFETY: the header is handed to the callback.
    unsafe { (api().buffer_header_release)(b) };
}

#[test]
fn an_unconnected_port_enables_without_a_callback_and_a_connected_one_takes_none() {
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
        let deadline = Instant::now() + Duration::from_secs(10);
        while (api.queue_length)((*pool).queue) < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!((api.queue_length)((*pool).queue), 2, "the buffers went back to their pool");
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
