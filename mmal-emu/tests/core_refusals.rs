//! A component whose port cannot be disabled is not destroyed: its last
//! release fails with the port's status and frees nothing, so a callback
//! still running, or a buffer the port holds, never meets freed memory.
//!
//! On its own (one test in this binary) because the fault it injects is
//! the whole process's next `mmal_port_disable`.

use std::sync::atomic::{AtomicU32, Ordering};

use mmal_sys as sys;

static RETURNED: AtomicU32 = AtomicU32::new(0);

unsafe extern "C" fn returned_cb(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    RETURNED.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the header is handed to the callback.
    unsafe { (mmal_emu::api().buffer_header_release)(b) };
}

#[test]
fn a_port_that_cannot_be_disabled_keeps_its_component_alive() {
    if std::env::var_os("VIDEOCORE").is_none() {
        std::env::set_var("VIDEOCORE", "emulated");
    }
    let api = mmal_emu::api();
    let before = mmal_emu::usage();
    let mut c = std::ptr::null_mut();
    // SAFETY: pointers from the live component, used as a C client would.
    unsafe {
        assert_eq!((api.component_create)(c"vc.null_sink".as_ptr(), &mut c), sys::MMAL_SUCCESS);
        let input = *(*c).input;
        let pool = (api.port_pool_create)(input, 1, (*input).buffer_size_min);
        assert_eq!((api.port_enable)(input, Some(returned_cb)), sys::MMAL_SUCCESS);
        // A buffer the port holds: a disabled component's inputs wait.
        assert_eq!((api.component_enable)(c), sys::MMAL_SUCCESS);
        assert_eq!((api.component_disable)(c), sys::MMAL_SUCCESS);
        assert_eq!((api.port_send_buffer)(input, (api.queue_get)((*pool).queue)), sys::MMAL_SUCCESS);

        mmal_emu::fail_next_port_disable();
        assert_eq!((api.component_release)(c), sys::MMAL_EIO, "the last release with a port that stays enabled");
        // Nothing was freed: the port is still enabled, its buffer still
        // held, the component still counted.
        assert_ne!((*input).is_enabled, 0);
        assert_eq!(RETURNED.load(Ordering::SeqCst), 0);
        assert_eq!(mmal_emu::usage().components, before.components + 1);

        // The port disables now; then the component goes.
        assert_eq!((api.port_disable)(input), sys::MMAL_SUCCESS);
        assert_eq!(RETURNED.load(Ordering::SeqCst), 1, "the held buffer came back through the callback");
        assert_eq!((api.queue_length)((*pool).queue), 1);
        (api.port_pool_destroy)(input, pool);
        assert_eq!((api.component_release)(c), sys::MMAL_SUCCESS);
    }
    assert_eq!(mmal_emu::usage().components, before.components);
}
