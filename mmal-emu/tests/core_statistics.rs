//! `MMAL_PARAMETER_CORE_STATISTICS`, which libmmal's core answers on every
//! port (`mmal_port_get_core_stats` in userland's `core/mmal_port.c`):
//! each buffer `mmal_port_send_buffer` takes is counted in the port's
//! received (`MMAL_CORE_STATS_RX`) statistics, with the first and last
//! times in microseconds and the longest gap; the sent statistics are
//! collected only in builds with `MMAL_COLLECT_PORT_STATS`, which
//! Raspberry Pi's are not, so they read zero; a read with `reset` starts the
//! direction's counts again; a set is `MMAL_ENOSYS` (the core has no
//! parameter to set).

use std::mem::size_of;
use std::ptr;
use std::time::{Duration, Instant};

use mmal_sys as sys;
use sys::param::ParameterStruct;

type Param = sys::MMAL_PARAMETER_CORE_STATISTICS_T;

fn api() -> &'static sys::Api {
    std::env::set_var("VIDEOCORE", "emulated");
    mmal_emu::api()
}

fn create(name: &std::ffi::CStr) -> *mut sys::MMAL_COMPONENT_T {
    let mut c = ptr::null_mut();
    // SAFETY: a valid name and out pointer.
    assert_eq!(unsafe { (api().component_create)(name.as_ptr(), &mut c) }, sys::MMAL_SUCCESS);
    c
}

/// Reads the statistics of `dir` on `port`, resetting them if `reset`.
///
/// # Safety
///
/// `port` is a live port.
unsafe fn read(port: *mut sys::MMAL_PORT_T, dir: u32, reset: bool) -> (u32, sys::MMAL_CORE_STATISTICS_T) {
    let mut param = Param::with_id(sys::MMAL_PARAMETER_CORE_STATISTICS);
    param.dir = dir;
    param.reset = reset.into();
    // SAFETY: the caller's live port; the whole parameter.
    let status = unsafe { (api().port_parameter_get)(port, &mut param.hdr) };
    (status, param.stats)
}

unsafe extern "C" fn keep(_: *mut sys::MMAL_PORT_T, _: *mut sys::MMAL_BUFFER_HEADER_T) {}

#[test]
fn buffers_the_client_sends_are_counted_as_received_and_a_reset_starts_again() {
    let api = api();
    let sink = create(c"vc.null_sink");
    // SAFETY: pointers from the live component, used as a C client would.
    unsafe {
        let input = *(*sink).input;
        // Before any buffer: all zero, in both directions.
        let (status, rx) = read(input, sys::MMAL_CORE_STATS_RX, false);
        assert_eq!(status, sys::MMAL_SUCCESS);
        assert_eq!((rx.buffer_count, rx.first_buffer_time, rx.last_buffer_time, rx.max_delay), (0, 0, 0, 0));

        (*input).buffer_num = 3;
        let pool = (api.port_pool_create)(input, 3, (*input).buffer_size_min.max(64));
        assert!(!pool.is_null());
        assert_eq!((api.port_enable)(input, Some(keep)), sys::MMAL_SUCCESS);
        let start = Instant::now();
        for i in 0..3 {
            if i == 2 {
                std::thread::sleep(Duration::from_millis(20));
            }
            let b = (api.queue_get)((*pool).queue);
            assert!(!b.is_null());
            (*b).length = 0;
            assert_eq!((api.port_send_buffer)(input, b), sys::MMAL_SUCCESS);
        }
        let elapsed = start.elapsed();
        // A buffer the port refuses (a null header) is not counted.
        assert_eq!((api.port_send_buffer)(input, ptr::null_mut()), sys::MMAL_EINVAL);

        let (status, rx) = read(input, sys::MMAL_CORE_STATS_RX, false);
        assert_eq!(status, sys::MMAL_SUCCESS);
        assert_eq!(rx.buffer_count, 3);
        assert_ne!(rx.first_buffer_time, 0);
        let span = rx.last_buffer_time.wrapping_sub(rx.first_buffer_time);
        assert!(span >= 20_000, "the third buffer came 20 ms after the second: {span} us");
        assert!(u128::from(span) <= elapsed.as_micros(), "{span} us in {elapsed:?}");
        assert!(rx.max_delay >= 20_000 && rx.max_delay <= span, "max_delay {} of {span}", rx.max_delay);
        // What the port gave back is not collected, as in libmmal's builds.
        let (_, tx) = read(input, sys::MMAL_CORE_STATS_TX, false);
        assert_eq!(tx.buffer_count, 0);

        // Read with a reset: the answer is the counts, then they start again.
        let (_, before) = read(input, sys::MMAL_CORE_STATS_RX, true);
        assert_eq!(before.buffer_count, 3);
        let (_, after) = read(input, sys::MMAL_CORE_STATS_RX, false);
        assert_eq!((after.buffer_count, after.first_buffer_time), (0, 0));

        assert_eq!((api.port_disable)(input), sys::MMAL_SUCCESS);
        (api.port_pool_destroy)(input, pool);
        assert_eq!((api.component_release)(sink), sys::MMAL_SUCCESS);
    }
}

#[test]
fn every_port_answers_a_short_read_gets_enospc_and_a_set_is_enosys() {
    let api = api();
    let camera = create(c"vc.ril.camera");
    // SAFETY: pointers from the live component, used as a C client would.
    unsafe {
        let ports = [(*camera).control, *(*camera).output, *(*camera).output.add(1), *(*camera).output.add(2)];
        for port in ports {
            let (status, stats) = read(port, sys::MMAL_CORE_STATS_RX, false);
            assert_eq!(status, sys::MMAL_SUCCESS);
            assert_eq!(stats.buffer_count, 0);
        }
        let port = (*camera).control;
        // A header one word short of the struct: ENOSPC and the full size.
        let mut param = Param::with_id(sys::MMAL_PARAMETER_CORE_STATISTICS);
        param.hdr.size -= 4;
        assert_eq!((api.port_parameter_get)(port, &mut param.hdr), sys::MMAL_ENOSPC);
        assert_eq!(param.hdr.size as usize, size_of::<Param>());
        let mut param = Param::with_id(sys::MMAL_PARAMETER_CORE_STATISTICS);
        assert_eq!((api.port_parameter_set)(port, &mut param.hdr), sys::MMAL_ENOSYS);
        assert_eq!((api.component_release)(camera), sys::MMAL_SUCCESS);
    }
}
