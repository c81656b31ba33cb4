//! Tests of the unsafe layer's trampolines with the layers above it,
//! against the emulated provider: a port with no sink, a callback holding
//! the last reference to its sink, unaligned event payloads, and
//! `userdata` written by C. (A crate-level module: the unsafe layer below
//! imports nothing above it, its tests included.)
#![allow(unsafe_code)]

use std::cell::Cell;
use std::ptr::{addr_of, addr_of_mut};
use std::sync::Arc;

use mmal_sys as sys;
use parking_lot::Mutex;

use crate::ffi::*;
use crate::format::{Encoding, Format};
use sys::param::ParameterStruct;

#[test]
fn a_buffer_for_a_port_without_a_registered_sink_goes_back_to_its_pool() {
    std::env::set_var("VIDEOCORE", "emulated");
    let backend = crate::backend::backend().unwrap();
    let api = &backend.api;
    let camera = component_create(api, c"vc.ril.camera").unwrap();
    let port = camera.output(1).unwrap();
    port.set_buffers(1, port.buffers().size_min);
    let pool = port.pool_create(api, 1, port.buffers().size_min).unwrap();
    // SAFETY: the pool just made.
    let queue = unsafe { addr_of!((*pool.as_ptr()).queue).read() };
    // Enabled with the crate's callback but no sink, as a port whose
    // sink is gone.
    assert_eq!(port.enable(api, port_callback::<crate::stream::Sink>), sys::MMAL_SUCCESS);
    let b = pool.get(api).unwrap();
    assert!(port.send(api, b).is_ok());
    assert_eq!(camera.enable(api), sys::MMAL_SUCCESS);
    let mut capture = sys::MMAL_PARAMETER_BOOLEAN_T::with_id(sys::MMAL_PARAMETER_CAPTURE);
    capture.enable = 1;
    assert_eq!(port.parameter_set(api, &capture), sys::MMAL_SUCCESS);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // SAFETY: a live pool's queue.
    while unsafe { (api.queue_length)(queue) } == 0 {
        assert!(std::time::Instant::now() < deadline, "the buffer did not come back");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert_eq!(port.disable(api), sys::MMAL_SUCCESS);
    pool.destroy(api, port);
    assert_eq!(camera.release(api), sys::MMAL_SUCCESS);
}

thread_local! {
    /// Whether this thread stands for one of MMAL's threads.
    static PLAYING_MMAL: Cell<bool> = const { Cell::new(false) };
}

/// Each `mmal_component_release` through [`recording_release`]: whether
/// it ran on a thread standing for MMAL's, and its status.
static RELEASES: Mutex<Vec<(bool, sys::MMAL_STATUS_T)>> = Mutex::new(Vec::new());

unsafe extern "C" fn recording_release(component: *mut sys::MMAL_COMPONENT_T) -> sys::MMAL_STATUS_T {
    // SAFETY: forwarded as the crate called it.
    let status = unsafe { (mmal_emu::api().component_release)(component) };
    RELEASES.lock().push((PLAYING_MMAL.with(Cell::get), status));
    status
}

/// A provider that reports a port disabled while one of its callbacks
/// still runs (the software VideoCore's disable did, for a moment; C
/// that disables the crate's port behind its back does) lets the
/// registry's and the user's references to the stream's sink go first:
/// the callback's own is the last. Before, the callback dropped it on
/// MMAL's thread, outside its mark: the sink's drop released the
/// component synchronously from MMAL's thread (which the provider
/// refuses from a component's own worker, leaking it, or waits for
/// forever). Now another thread drops it. This test's callback thread
/// stands for MMAL's (the provider does not count it as a callback in
/// flight, so the port's disable does not wait for it).
#[test]
fn a_callback_holding_the_last_reference_to_its_sink_lets_another_thread_release_it() {
    use crate::component::{ComponentInner, Port};
    use crate::stream::{Sink, SinkKind};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    let backend = crate::backend::emulated_with(|api| api.component_release = recording_release);
    let api = &backend.api;
    let raw = component_create(api, c"vc.ril.camera").unwrap();
    let inner = Arc::new(ComponentInner {
        backend,
        raw,
        name: String::from("vc.ril.camera"),
        config: Mutex::new(()),
        fields: Mutex::new(()),
    });
    let video = Port { component: inner.clone(), raw: raw.output(1).unwrap() };
    video.set_format(&Format::video(Encoding::I420, 64, 48).with_frame_rate(30)).unwrap();
    let (entered_tx, entered_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let callback = move |_: &crate::Buffer<'_>| {
        let _ = entered_tx.send(());
        // Bounded: the test answers at once.
        let _ = go_rx.recv_timeout(Duration::from_secs(20));
    };
    let kind = SinkKind::Callback(Mutex::new(Box::new(callback)));
    let sink = Sink::enable(video.clone(), 1, kind).unwrap();
    // A filled buffer for the callback, from a pool of another
    // component's, which outlives this one.
    std::env::set_var("VIDEOCORE", "emulated");
    let other = crate::Component::new("vc.null_sink").unwrap();
    let other_port = other.input(0).unwrap().raw;
    let extra = other_port.pool_create(api, 1, 4096).unwrap();
    let buffer = extra.get(api).unwrap();
    // SAFETY: a header the test owns, written before it is handed over.
    unsafe { addr_of_mut!((*buffer.as_ptr()).flags).write(sys::MMAL_BUFFER_HEADER_FLAG_FRAME_END) };
    let port = video.raw.ptr() as usize;
    let mmal = std::thread::spawn(move || {
        // The whole header, owned (not its pointer field alone).
        let buffer = buffer;
        PLAYING_MMAL.with(|p| p.set(true));
        // SAFETY: a live port the crate enabled and a header handed
        // over, as the provider calls back.
        unsafe { port_callback::<Sink>(port as *mut sys::MMAL_PORT_T, buffer.as_ptr()) };
    });
    entered_rx.recv_timeout(Duration::from_secs(20)).expect("the callback ran");
    // The provider disables the port without waiting for the callback.
    assert_eq!(video.raw.disable(api), sys::MMAL_SUCCESS);
    // The user's handle goes: the port says it is disabled, so the
    // registry's reference goes too.
    sink.disable().unwrap();
    drop((sink, video, inner));
    go_tx.send(()).unwrap();
    mmal.join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let release = loop {
        if let Some(&release) = RELEASES.lock().first() {
            break release;
        }
        assert!(Instant::now() < deadline, "the component was never released");
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(extra.is_full(api), "the callback's buffer did not come back");
    extra.destroy(api, other_port);
    drop(other);
    assert_eq!(release, (false, sys::MMAL_SUCCESS), "released on MMAL's thread (true) or refused");
}

/// C need not align a FORMAT_CHANGED payload (the software VideoCore
/// writes its pointers unaligned, as a client's payload may be
/// anywhere): the crate reads it unaligned. Before, it read the structs
/// with aligned reads, undefined behaviour here; a debug build's
/// precondition check aborted the test process at the first read.
#[test]
fn a_format_changed_event_at_an_unaligned_address_is_read_unaligned() {
    use std::mem::size_of;

    std::env::set_var("VIDEOCORE", "emulated");
    let backend = crate::backend::backend().unwrap();
    let api = &backend.api;
    let sink = crate::Component::new("vc.null_sink").unwrap();
    let port = sink.input(0).unwrap().raw;
    let pool = port.pool_create(api, 1, 4096).unwrap();
    let mut buffer = pool.get(api).unwrap();
    let h = buffer.as_ptr();
    let fmt_at = size_of::<sys::MMAL_EVENT_FORMAT_CHANGED_T>();
    let es_at = fmt_at + size_of::<sys::MMAL_ES_FORMAT_T>();
    let min = es_at + size_of::<sys::MMAL_ES_SPECIFIC_FORMAT_T>();
    // SAFETY: a header the test owns.
    let (data, alloc) = unsafe { (addr_of!((*h).data).read(), addr_of!((*h).alloc_size).read()) };
    // One byte past an 8-byte boundary: no struct of the payload is
    // aligned there.
    let skip = (9 - data as usize % 8) % 8;
    assert!(alloc as usize >= skip + min);
    // SAFETY: the test owns the header and its `alloc` bytes of payload,
    // and writes the event inside them (checked above), unaligned.
    let base = unsafe {
        let base = data.add(skip);
        addr_of_mut!((*h).data).write(base);
        addr_of_mut!((*h).alloc_size).write(alloc - skip as u32);
        addr_of_mut!((*h).offset).write(0);
        addr_of_mut!((*h).length).write(min as u32);
        addr_of_mut!((*h).cmd).write(sys::MMAL_EVENT_FORMAT_CHANGED);
        let ev = base.cast::<sys::MMAL_EVENT_FORMAT_CHANGED_T>();
        addr_of_mut!((*ev).buffer_num_min).write_unaligned(3);
        addr_of_mut!((*ev).buffer_size_min).write_unaligned(1000);
        addr_of_mut!((*ev).buffer_num_recommended).write_unaligned(4);
        addr_of_mut!((*ev).buffer_size_recommended).write_unaligned(2000);
        let f = base.add(fmt_at).cast::<sys::MMAL_ES_FORMAT_T>();
        addr_of_mut!((*f).encoding).write_unaligned(Encoding::I420.to_raw());
        addr_of_mut!((*f).encoding_variant).write_unaligned(0);
        addr_of_mut!((*f).bitrate).write_unaligned(0);
        let v = addr_of_mut!((*base.add(es_at).cast::<sys::MMAL_ES_SPECIFIC_FORMAT_T>()).video);
        addr_of_mut!((*v).width).write_unaligned(64);
        addr_of_mut!((*v).height).write_unaligned(48);
        base
    };
    assert_ne!(base as usize % std::mem::align_of::<sys::MMAL_EVENT_FORMAT_CHANGED_T>(), 0);
    let (requirements, format, _) = buffer.format_changed(api).expect("a FORMAT_CHANGED event");
    assert_eq!(requirements, [3, 1000, 4, 2000]);
    assert_eq!((format.encoding, format.width, format.height), (Encoding::I420, 64, 48));
    // SAFETY: as above: the header goes back to its pool as it came.
    unsafe {
        addr_of_mut!((*h).data).write(data);
        addr_of_mut!((*h).alloc_size).write(alloc);
        addr_of_mut!((*h).length).write(0);
        addr_of_mut!((*h).cmd).write(0);
    }
    buffer.release(api);
    pool.destroy(api, port);
}

/// C may write a port's `userdata` (libmmal's connections point it at
/// themselves): a stream's callback must not read it. Before, the
/// callback took `userdata` for the stream's `Sink`, and this test died
/// of a segfault at the first frame after the write.
#[test]
fn a_stream_ignores_userdata_that_c_writes_while_it_runs() {
    use crate::params::Capture;
    use std::time::Duration;

    std::env::set_var("VIDEOCORE", "emulated");
    let camera = crate::Component::new("vc.ril.camera").unwrap();
    let video = camera.output(1).unwrap();
    video.set_format(&Format::video(Encoding::I420, 64, 48).with_frame_rate(30)).unwrap();
    let frames = video.enable_stream(3).unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    frames.next_timeout(Duration::from_secs(10)).unwrap();
    // Not a sink: memory that cannot be read.
    let bogus = 0x40usize as *mut std::ffi::c_void;
    // SAFETY: a live port's field, written as C would (the test stands
    // for a C caller).
    let userdata = unsafe { addr_of_mut!((*video.raw.ptr()).userdata) };
    // SAFETY: as above.
    let previous = unsafe { std::ptr::replace(userdata, bogus) };
    let received = frames.received();
    for _ in 0..5 {
        frames.next_timeout(Duration::from_secs(10)).unwrap();
    }
    assert!(frames.received() >= received + 5);
    drop(frames);
    // Disabling did not touch it either.
    // SAFETY: as above.
    assert_eq!(unsafe { std::ptr::replace(userdata, previous) }, bogus);
    assert!(video.raw.sink::<crate::stream::Sink>().is_none(), "the sink was not reclaimed");
}
