//! An event the component posted before a port's disable reaches the
//! port's callback before the disable returns, as libmmal's disable runs
//! the callbacks queued for the component first (`mmal_vc_port_disable`).
//! picamera relies on it: a camera whose enable fails with ENOSPC has also
//! sent an error event, and picamera reports "No data received from
//! sensor" only if that event's callback ran before the camera was closed.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use mmal_sys as sys;
use parking_lot::{Condvar, Mutex};

/// Whether the input's callback holds the component's thread; whether it
/// may return.
static HOLD: Mutex<(bool, bool)> = Mutex::new((false, false));
static HOLD_CHANGED: Condvar = Condvar::new();
static ERRORS: AtomicU32 = AtomicU32::new(0);
static DISABLED: AtomicBool = AtomicBool::new(false);
static LATE: AtomicU32 = AtomicU32::new(0);

/// Holds the component's thread until let go, then gives the buffer back.
unsafe extern "C" fn held_cb(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    let mut hold = HOLD.lock();
    hold.0 = true;
    HOLD_CHANGED.notify_all();
    while !hold.1 {
        HOLD_CHANGED.wait(&mut hold);
    }
    drop(hold);
    // SAFETY: the header is handed to the callback.
    unsafe { (mmal_emu::api().buffer_header_release)(b) };
}

/// Counts error events: those before the disable returned, and any after.
unsafe extern "C" fn control_cb(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    // SAFETY: the header is handed to the callback.
    unsafe {
        if (*b).cmd == sys::MMAL_EVENT_ERROR {
            let counter = if DISABLED.load(Ordering::SeqCst) { &LATE } else { &ERRORS };
            counter.fetch_add(1, Ordering::SeqCst);
        }
        (mmal_emu::api().buffer_header_release)(b);
    }
}

#[test]
fn an_event_queued_before_a_disable_reaches_the_callback_before_it_returns() {
    if std::env::var_os("VIDEOCORE").is_none() {
        std::env::set_var("VIDEOCORE", "emulated");
    }
    let api = mmal_emu::api();
    let mut c = std::ptr::null_mut();
    // SAFETY: pointers from the live component, used as a C client would.
    unsafe {
        assert_eq!((api.component_create)(c"vc.null_sink".as_ptr(), &mut c), sys::MMAL_SUCCESS);
        let (control, input) = ((*c).control, *(*c).input);
        assert_eq!((api.port_enable)(control, Some(control_cb)), sys::MMAL_SUCCESS);
        let pool = (api.port_pool_create)(input, 1, (*input).buffer_size_min);
        assert_eq!((api.port_enable)(input, Some(held_cb)), sys::MMAL_SUCCESS);
        assert_eq!((api.component_enable)(c), sys::MMAL_SUCCESS);
        // The component's thread is held in the input's callback: the event
        // posted now waits in its queue.
        assert_eq!((api.port_send_buffer)(input, (api.queue_get)((*pool).queue)), sys::MMAL_SUCCESS);
        {
            let mut hold = HOLD.lock();
            while !hold.0 {
                HOLD_CHANGED.wait(&mut hold);
            }
        }
        assert!(mmal_emu::post_event((*c).id, mmal_emu::TestEvent::Error(sys::MMAL_ENOSPC)));
        let (done, done_rx) = mpsc::channel();
        let control_addr = control as usize;
        let disable = std::thread::spawn(move || {
            let status = (mmal_emu::api().port_disable)(control_addr as *mut sys::MMAL_PORT_T);
            DISABLED.store(true, Ordering::SeqCst);
            done.send(()).unwrap();
            status
        });
        // The disable waits for the event, which waits for the held thread:
        // this only gives a disable that does not wait the time to return.
        let _ = done_rx.recv_timeout(Duration::from_millis(500));
        HOLD.lock().1 = true;
        HOLD_CHANGED.notify_all();
        assert_eq!(disable.join().unwrap(), sys::MMAL_SUCCESS);
        assert_eq!(ERRORS.load(Ordering::SeqCst), 1, "the error event reached the control port's callback");
        assert_eq!(LATE.load(Ordering::SeqCst), 0, "no event after its port's disable returned");

        assert_eq!((api.port_disable)(input), sys::MMAL_SUCCESS);
        (api.port_pool_destroy)(input, pool);
        assert_eq!((api.component_release)(c), sys::MMAL_SUCCESS);
    }
}
