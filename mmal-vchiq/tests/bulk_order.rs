//! The bulk data stays in step with the buffer messages, or the client
//! closes: a transfer VCHIQ cannot withdraw never shifts later buffers'
//! data onto each other. The emulated VideoCore's bulk transfers are held
//! (`EmulatedVchiq::hold_bulks`) to stand for a stalled VideoCore.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use mmal_sys as sys;
use mmal_vchiq::{BufferToSend, Client, Error, Memory, PortType, Status};
use vchiq::Connection;
use vchiq_emu::EmulatedVchiq;

/// A frame whose data does not come within the bulk timeout: its receive
/// stays queued in the driver and would take the next frame's data. The
/// client closes instead, with `Error::DataOrderLost`, and every buffer
/// comes back through the handler, none of them with data.
#[test]
fn a_bulk_receive_that_times_out_closes_the_client() {
    let _s = serial();
    let emu = Arc::new(EmulatedVchiq::new());
    let connection = Connection::with_device(Arc::clone(&emu), vchiq_options()).unwrap();
    let recorder = Recorder::new();
    let mut options = client_options();
    options.bulk_timeout = Duration::from_millis(100);
    let client = Client::open_with(&connection, options, recorder.clone()).unwrap();
    let (_, video) = capturing_video(&client, 2);
    let size = video.buffer_size_min;

    // The VideoCore's data stalls: the first frame's receive times out.
    emu.hold_bulks(true);
    let sent: BTreeSet<_> =
        (0..2).map(|_| client.send_buffer(&video.port, BufferToSend::output(Vec::new(), size)).unwrap()).collect();
    recorder.wait("the client to close", |s| s.closed);
    emu.hold_bulks(false);

    let seen = recorder.lock();
    let back: BTreeSet<_> = seen.buffers.iter().map(|b| b.cookie).collect();
    assert_eq!(back, sent, "every buffer back through the handler");
    for b in &seen.buffers {
        let failed = b.flags & sys::MMAL_BUFFER_HEADER_FLAG_TRANSMISSION_FAILED != 0;
        assert!(b.released || (failed && b.length == 0), "no data delivered: {b:?}");
    }
    drop(seen);
    let err = client.send_buffer(&video.port, BufferToSend::output(Vec::new(), size)).unwrap_err();
    assert!(matches!(err, Error::DataOrderLost { .. }), "{err:?}");
    assert!(err.to_string().contains("open a new client"), "{err}");
    let err = client.parameter_get_u32(&video.port, sys::MMAL_PARAMETER_CAPTURE).unwrap_err();
    assert!(matches!(err, Error::DataOrderLost { .. }), "{err:?}");
    assert_eq!(client.stats().buffers_in_flight, 0);
    client.close().unwrap();
}

/// Four inputs' transmits fill the bulk slots and the VideoCore takes none:
/// the fifth input is refused with nothing sent (its message would promise
/// data that cannot follow, and the VideoCore would pair it with the next
/// input's data). Once the transmits move, the next input is processed with
/// its own data, and no buffer comes back stale.
#[test]
fn an_input_without_a_bulk_slot_is_not_sent() {
    let _s = serial();
    let emu = Arc::new(EmulatedVchiq::new());
    let mut vchiq_options = vchiq_options();
    // How long a transmit waits for a slot.
    vchiq_options.bulk_timeout = Duration::from_millis(300);
    let connection = Connection::with_device(Arc::clone(&emu), vchiq_options).unwrap();
    let recorder = Recorder::new();
    let client = Client::open_with(&connection, client_options(), recorder.clone()).unwrap();
    let sink = client.component_create("null_sink").unwrap();
    client.component_enable(sink.handle).unwrap();
    let mut input = client.port_info_get(sink.handle, PortType::Input, 0).unwrap();
    input.buffer_num = 8;
    input.buffer_size = input.buffer_size_recommended.max(4096);
    let input = client.port_info_set(&input).unwrap();
    let size = input.buffer_size;
    client.port_enable(&input.port, 8, size).unwrap();
    let send = |tag: u64| {
        client.send_buffer(&input.port, BufferToSend { tag, ..BufferToSend::input(vec![tag as u8; 4096], size) })
    };

    emu.hold_bulks(true);
    for tag in 0..4 {
        send(tag).unwrap();
    }
    let err = send(4).unwrap_err();
    assert!(matches!(err, Error::Vchiq(vchiq::Error::Timeout { .. })), "{err:?}");
    assert_eq!(client.stats().buffers_in_flight, 4, "no cookie used");
    emu.hold_bulks(false);
    recorder.wait("four inputs back", |s| s.buffers.len() == 4);

    send(5).unwrap();
    recorder.wait("the next input back", |s| s.buffers.len() == 5);
    let seen = recorder.lock();
    let tags: Vec<_> = seen.buffers.iter().map(|b| b.tag).collect();
    assert_eq!(tags, [0, 1, 2, 3, 5]);
    for b in &seen.buffers {
        assert_eq!(b.status, Status::Success, "{b:?}");
    }
    drop(seen);
    assert_eq!(client.stats().stale_buffers, 0, "the VideoCore never had the refused input");
    client.port_disable(&input.port).unwrap();
    client.close().unwrap();
}

/// The disable's result, and every buffer seen (length, released).
type DisableSeen = (Option<mmal_vchiq::Result<()>>, Vec<(u32, bool)>);

/// Disables its port from the handler, on the first frame, once the
/// VideoCore has sent the next two frames (their data still to be
/// received).
struct DisableOnFirstFrame {
    emu: Arc<EmulatedVchiq>,
    disabling: std::sync::atomic::AtomicBool,
    seen: parking_lot::Mutex<DisableSeen>,
    cond: parking_lot::Condvar,
}

impl mmal_vchiq::Handler for DisableOnFirstFrame {
    fn buffer(&self, client: &Client, b: mmal_vchiq::Returned) {
        self.seen.lock().1.push((b.length, b.released));
        if b.length > 0 && !self.disabling.swap(true, std::sync::atomic::Ordering::SeqCst) {
            // The camera fills the other two buffers meanwhile.
            wait_until("the next two frames sent", || self.emu.data_to_host() >= 2);
            let result = client.port_disable(&b.port);
            self.seen.lock().0 = Some(result);
        }
        self.cond.notify_all();
    }
}

/// A port disabled from the handler while the VideoCore answers DISABLE
/// only once the data it sent before has been received (as the firmware
/// does: `EmulatedVchiq::disable_after_bulks`): the delivery thread, waiting
/// for the reply, goes on receiving that data (and hands those buffers to
/// the handler after), so the disable succeeds and every buffer comes back.
#[test]
fn a_disable_from_the_handler_receives_the_data_sent_before_it() {
    let _s = serial();
    let emu = Arc::new(EmulatedVchiq::new());
    emu.disable_after_bulks(true);
    let connection = Connection::with_device(Arc::clone(&emu), vchiq_options()).unwrap();
    let handler = Arc::new(DisableOnFirstFrame {
        emu: Arc::clone(&emu),
        disabling: Default::default(),
        seen: Default::default(),
        cond: Default::default(),
    });
    let mut options = client_options();
    // Shorter than the VideoCore's own wait for the data (5 s).
    options.reply_timeout = Duration::from_secs(2);
    let client = Client::open_with(&connection, options, Arc::clone(&handler)).unwrap();
    let (camera, video) = capturing_video(&client, 3);
    let size = video.buffer_size_min;
    for _ in 0..3 {
        client.send_buffer(&video.port, BufferToSend::output(Vec::new(), size)).unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut seen = handler.seen.lock();
    while seen.0.is_none() || seen.1.len() < 3 {
        assert!(!handler.cond.wait_until(&mut seen, deadline).timed_out(), "the disable and all 3 buffers");
    }
    assert!(matches!(seen.0, Some(Ok(()))), "the disable from the handler: {:?}", seen.0);
    assert_eq!(seen.1.len(), 3, "each buffer once");
    assert!(seen.1.iter().all(|&(_, released)| !released), "none released: {:?}", seen.1);
    assert_eq!(seen.1.iter().filter(|&&(length, _)| length > 0).count(), 3, "three frames: {:?}", seen.1);
    drop(seen);
    assert_eq!(client.stats().buffers_in_flight, 0);
    client.component_destroy(camera).unwrap();
    client.close().unwrap();
}

/// A frame received into lent memory whose transfer never completes: the
/// memory stays with the driver, which may still write it. The buffer
/// comes back without it (empty host memory, TRANSMISSION_FAILED), the
/// client closes for the data order, and the lease ends only when the
/// driver lets go of the transfer.
#[test]
fn lent_memory_stays_with_the_driver_until_it_lets_go() {
    let _s = serial();
    let mut options = client_options();
    options.bulk_timeout = Duration::from_millis(100);
    let (device, connection, recorder, client) = recorded_over_faulty(options);
    let (_, video) = capturing_video(&client, 1);
    let size = video.buffer_size_min;

    device.keep_receives.store(true, std::sync::atomic::Ordering::SeqCst);
    let (memory, held) = lent(size as usize);
    let sent = BufferToSend { memory: Memory::Lent(memory), ..BufferToSend::output(Vec::new(), size) };
    client.send_buffer(&video.port, sent).unwrap();
    recorder.wait("the buffer back and the client closed", |s| s.closed && !s.buffers.is_empty());

    let seen = recorder.lock();
    let b = &seen.buffers[0];
    assert_eq!(b.memory, Memory::Host(Vec::new()), "not the lent memory: {b:?}");
    assert_ne!(b.flags & sys::MMAL_BUFFER_HEADER_FLAG_TRANSMISSION_FAILED, 0, "{b:?}");
    assert_eq!(b.length, 0);
    drop(seen);
    assert_eq!(device.kept.lock().len(), 1, "the receive the driver kept");
    assert!(held.load(std::sync::atomic::Ordering::SeqCst), "lent while the driver has it");
    client.close().unwrap();
    drop(connection);
    assert!(held.load(std::sync::atomic::Ordering::SeqCst), "the client's close does not end the loan");
    device.kept.lock().clear();
    assert!(!held.load(std::sync::atomic::Ordering::SeqCst), "ended when the driver lets go");
}
