//! The worker's failure containment: a component that panics on the
//! worker (asked what to do next, filling a frame, preparing a picture) is
//! an error event, and never blocks a disable. Failures are injected
//! through `core::pause`.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use mmal_sys as sys;

use crate::core::pause::{PANIC_NEXT_FRAME, PANIC_NEXT_PREPARE};

static ERRORS: AtomicU32 = AtomicU32::new(0);
static FRAMES: AtomicU32 = AtomicU32::new(0);

unsafe extern "C" fn on_event(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    // SAFETY: the header and its payload are handed to the callback.
    unsafe {
        if (*b).cmd == sys::MMAL_EVENT_ERROR && (*b).data.cast::<u32>().read_unaligned() == sys::MMAL_EFAULT {
            ERRORS.fetch_add(1, Ordering::SeqCst);
        }
        (crate::api().buffer_header_release)(b);
    }
}

unsafe extern "C" fn on_frame(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    FRAMES.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the header is handed to the callback.
    unsafe { (crate::api().buffer_header_release)(b) };
}

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

static STALL_ERRORS: AtomicU32 = AtomicU32::new(0);
static STALL_RETURNED: AtomicU32 = AtomicU32::new(0);

unsafe extern "C" fn on_stall_event(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    // SAFETY: the header and its payload are handed to the callback.
    unsafe {
        if (*b).cmd == sys::MMAL_EVENT_ERROR && (*b).data.cast::<u32>().read_unaligned() == sys::MMAL_EFAULT {
            STALL_ERRORS.fetch_add(1, Ordering::SeqCst);
        }
        (crate::api().buffer_header_release)(b);
    }
}

unsafe extern "C" fn on_stall_buffer(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    STALL_RETURNED.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the header is handed to the callback.
    unsafe { (crate::api().buffer_header_release)(b) };
}

#[test]
fn a_panic_while_the_worker_asks_what_to_do_next_is_an_error_event_and_never_blocks_disable() {
    std::env::set_var("VIDEOCORE", "emulated");
    let api = crate::api();
    let mut c = std::ptr::null_mut();
    // SAFETY: pointers from the live component, used as a C client
    // would; released at the end.
    unsafe {
        assert_eq!((api.component_create)(c"vc.test.panics_producing".as_ptr(), &mut c), sys::MMAL_SUCCESS);
        assert_eq!((api.port_enable)((*c).control, Some(on_stall_event)), sys::MMAL_SUCCESS);
        let port = *(*c).output;
        let pool = (api.port_pool_create)(port, 2, (*port).buffer_size_min);
        assert_eq!((api.port_enable)(port, Some(on_stall_buffer)), sys::MMAL_SUCCESS);
        for _ in 0..2 {
            assert_eq!((api.port_send_buffer)(port, (api.queue_get)((*pool).queue)), sys::MMAL_SUCCESS);
        }
        // The component takes a buffer and panics in `produce`, which
        // the worker calls while choosing its next unit of work.
        assert_eq!((api.component_enable)(c), sys::MMAL_SUCCESS);
        wait_for("the error event", || STALL_ERRORS.load(Ordering::SeqCst) == 1);
        // Stalled, not failing in a loop (it would panic again at once).
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(STALL_ERRORS.load(Ordering::SeqCst), 1, "the failing component was asked again");
        // The buffer it took went back to the port: disable returns
        // both, and does not wait for the one the panic held.
        let port_addr = port as usize;
        let disable = std::thread::spawn(move || {
            // SAFETY: the port is live until the component is released.
            (crate::api().port_disable)(port_addr as *mut sys::MMAL_PORT_T)
        });
        wait_for("mmal_port_disable", || disable.is_finished());
        assert_eq!(disable.join().unwrap(), sys::MMAL_SUCCESS);
        assert_eq!(STALL_RETURNED.load(Ordering::SeqCst), 2);
        assert_eq!((api.queue_length)((*pool).queue), 2);
        (api.port_pool_destroy)(port, pool);
        assert_eq!((api.component_release)(c), sys::MMAL_SUCCESS);
    }
}

#[test]
fn a_panic_in_the_worker_is_an_error_event_and_never_blocks_disable() {
    std::env::set_var("VIDEOCORE", "emulated");
    let api = crate::api();
    let mut camera = std::ptr::null_mut();
    // SAFETY: pointers from the live component, used as a C client
    // would; released at the end.
    unsafe {
        assert_eq!((api.component_create)(c"vc.ril.camera".as_ptr(), &mut camera), sys::MMAL_SUCCESS);
        assert_eq!((api.port_enable)((*camera).control, Some(on_event)), sys::MMAL_SUCCESS);
        let port = *(*camera).output.add(1);
        (*(*(*port).format).es).video.width = 64;
        (*(*(*port).format).es).video.height = 48;
        (*(*(*port).format).es).video.crop = sys::MMAL_RECT_T { x: 0, y: 0, width: 64, height: 48 };
        assert_eq!((api.port_format_commit)(port), sys::MMAL_SUCCESS);
        (*port).buffer_num = 2;
        let pool = (api.port_pool_create)(port, 2, (*port).buffer_size_min);
        assert_eq!((api.port_enable)(port, Some(on_frame)), sys::MMAL_SUCCESS);
        for _ in 0..2 {
            assert_eq!((api.port_send_buffer)(port, (api.queue_get)((*pool).queue)), sys::MMAL_SUCCESS);
        }
        assert_eq!((api.component_enable)(camera), sys::MMAL_SUCCESS);
        PANIC_NEXT_FRAME.store(true, Ordering::SeqCst);
        let mut capture = sys::MMAL_PARAMETER_BOOLEAN_T {
            hdr: sys::MMAL_PARAMETER_HEADER_T {
                id: sys::MMAL_PARAMETER_CAPTURE,
                size: std::mem::size_of::<sys::MMAL_PARAMETER_BOOLEAN_T>() as u32,
            },
            enable: 1,
        };
        assert_eq!((api.port_parameter_set)(port, &mut capture.hdr), sys::MMAL_SUCCESS);
        wait_for("the error event", || ERRORS.load(Ordering::SeqCst) == 1);
        // The worker lives on: the other buffer still gets a frame, and
        // the one the failed frame held went back to its pool.
        wait_for("a frame after the failure", || FRAMES.load(Ordering::SeqCst) >= 1);
        wait_for("both buffers back in the pool", || (api.queue_length)((*pool).queue) == 2);

        // Preparing the picture fails: one error, and no retry until the
        // configuration changes.
        let shutter = |us: u32| {
            let mut p = sys::MMAL_PARAMETER_UINT32_T {
                hdr: sys::MMAL_PARAMETER_HEADER_T {
                    id: sys::MMAL_PARAMETER_SHUTTER_SPEED,
                    size: std::mem::size_of::<sys::MMAL_PARAMETER_UINT32_T>() as u32,
                },
                value: us,
            };
            assert_eq!((api.port_parameter_set)((*camera).control, &mut p.hdr), sys::MMAL_SUCCESS);
        };
        PANIC_NEXT_PREPARE.store(true, Ordering::SeqCst);
        shutter(5_000);
        for _ in 0..2 {
            assert_eq!((api.port_send_buffer)(port, (api.queue_get)((*pool).queue)), sys::MMAL_SUCCESS);
        }
        wait_for("the second error event", || ERRORS.load(Ordering::SeqCst) == 2);
        let frames = FRAMES.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(ERRORS.load(Ordering::SeqCst), 2, "the failed preparation was retried");
        assert_eq!(FRAMES.load(Ordering::SeqCst), frames);
        shutter(6_000);
        wait_for("frames after the change", || FRAMES.load(Ordering::SeqCst) > frames);
        let port_addr = port as usize;
        let disable = std::thread::spawn(move || {
            // SAFETY: the port is live until the component is released.
            (crate::api().port_disable)(port_addr as *mut sys::MMAL_PORT_T)
        });
        wait_for("mmal_port_disable", || disable.is_finished());
        assert_eq!(disable.join().unwrap(), sys::MMAL_SUCCESS);
        (api.port_pool_destroy)(port, pool);
        assert_eq!((api.component_release)(camera), sys::MMAL_SUCCESS);
    }
}
