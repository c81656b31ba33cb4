//! The emulated driver's side, ioctl by ioctl through `vchiq::Device`, as
//! the kernel answers.

use std::io;
use std::mem::size_of;
use std::sync::Arc;
use std::time::Duration;

use vchiq::{Bulk, BulkDirection, Completion, Device, Fourcc, MessageBuffers, ServiceHandle, ServiceParams};
use vchiq_emu::EmulatedVchiq;

fn errno<T: std::fmt::Debug>(r: io::Result<T>) -> i32 {
    r.unwrap_err().raw_os_error().unwrap()
}

fn mmal(userdata: u32) -> ServiceParams {
    ServiceParams { fourcc: Fourcc::MMAL, userdata, version: 15, version_min: 10 }
}

fn connected() -> EmulatedVchiq {
    let d = EmulatedVchiq::new();
    let config = d.get_config().unwrap();
    assert_eq!(config, vchiq::Config::default());
    d.lib_version(8).unwrap();
    d.connect().unwrap();
    d
}

fn await_one(d: &EmulatedVchiq) -> Completion {
    let mut bufs = MessageBuffers::new(1, 4096);
    let mut c = d.await_completion(1, &mut bufs).unwrap();
    assert_eq!(c.len(), 1);
    c.pop().unwrap()
}

#[test]
fn versions_and_connect_come_first() {
    let d = EmulatedVchiq::new();
    assert_eq!(errno(d.lib_version(2)), 22);
    d.lib_version(9).unwrap();
    assert_eq!(errno(d.create_service(&mmal(1))), 107, "ENOTCONN before CONNECT");
    d.connect().unwrap();
    let h = d.create_service(&mmal(1)).unwrap();
    assert_eq!(await_one(&d), Completion::ServiceOpened { service: 1 });
    d.close_delivered(h).unwrap_err();
    // No CLOSE_DELIVERED yet: CLOSE_SERVICE waits for one; deliver it from
    // another thread.
    let d = Arc::new(d);
    let d2 = Arc::clone(&d);
    let closer = std::thread::spawn(move || d2.close_service(h));
    assert_eq!(await_one(&d), Completion::ServiceClosed { service: 1 });
    d.close_delivered(h).unwrap();
    closer.join().unwrap().unwrap();
}

#[test]
fn an_old_client_closes_without_close_delivered() {
    let d = EmulatedVchiq::new();
    d.lib_version(6).unwrap();
    d.connect().unwrap();
    let h = d.create_service(&mmal(3)).unwrap();
    d.close_service(h).unwrap();
    // Freed by the close.
    assert_eq!(d.services(), 0);
    assert_eq!(errno(d.remove_service(h)), 22);
    assert_eq!(errno(d.close_service(h)), 22);
}

#[test]
fn messages_uses_and_bulks_are_bounded_as_the_kernels() {
    let d = connected();
    let h = d.create_service(&mmal(7)).unwrap();
    assert_eq!(await_one(&d), Completion::ServiceOpened { service: 7 });
    // Opened with one use held; releasing below zero is refused.
    d.release_service(h).unwrap();
    assert_eq!(errno(d.release_service(h)), 22);
    d.use_service(h).unwrap();
    d.release_service(h).unwrap();
    // At most 8 elements and max_msg_size bytes.
    let e: &[u8] = &[0u8; 4];
    assert_eq!(errno(d.queue_message(h, &[e; 9])), 22);
    assert_eq!(errno(d.queue_message(h, &[&[0; 4089]])), 22);
    assert_eq!(errno(d.queue_message(ServiceHandle(0xBAD), &[e])), 22);
    // Four bulks per direction (a fifth waits: see below); empty ones
    // refused.
    for _ in 0..4 {
        d.queue_bulk(h, Bulk { direction: BulkDirection::Receive, buffer: vec![0; 8].into(), size: 8, userdata: 1 })
            .unwrap();
    }
    let (err, _) = d
        .queue_bulk(h, Bulk { direction: BulkDirection::Transmit, buffer: Vec::new().into(), size: 0, userdata: 6 })
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(22));
    // A message that does not fit the caller's buffers: EMSGSIZE, and it
    // stays queued for a call with room.
    let mut m = vec![0u8; 24];
    m[..4].copy_from_slice(&vchiq_sys::MMAL_MAGIC.to_le_bytes());
    m[4..8].copy_from_slice(&vchiq_sys::MMAL_MSG_TYPE_GET_VERSION.to_le_bytes());
    d.queue_message(h, &[&m]).unwrap();
    let mut small = MessageBuffers::new(1, 16);
    assert_eq!(errno(d.await_completion(8, &mut small)), 90);
    match await_one(&d) {
        Completion::Message { service: 7, data } => assert_eq!(data.len(), 24 + 16),
        other => panic!("{other:?}"),
    }
    // Closing aborts the queued receives, in order, then SERVICE_CLOSED.
    let d = Arc::new(d);
    let d2 = Arc::clone(&d);
    let closer = std::thread::spawn(move || d2.close_service(h));
    for _ in 0..4 {
        assert!(matches!(await_one(&d), Completion::BulkAborted { service: 7, .. }));
    }
    assert_eq!(await_one(&d), Completion::ServiceClosed { service: 7 });
    d.close_delivered(h).unwrap();
    closer.join().unwrap().unwrap();
    // A closed service takes nothing more, and is freed.
    assert_eq!(d.services(), 0);
    assert_eq!(errno(d.close_delivered(h)), 22);
    assert_eq!(errno(d.use_service(h)), 22);
    assert_eq!(errno(d.queue_message(h, &[&m])), 22);
}

#[test]
fn shutdown_wakes_the_completion_waiter() {
    let d = Arc::new(connected());
    let d2 = Arc::clone(&d);
    let waiter = std::thread::spawn(move || {
        let mut bufs = MessageBuffers::new(1, 64);
        d2.await_completion(1, &mut bufs)
    });
    d.shutdown().unwrap();
    let got = waiter.join().unwrap().unwrap();
    assert!(got.is_empty());
}

#[test]
fn a_fifth_bulk_waits_for_room_as_in_the_kernel() {
    let d = Arc::new(connected());
    let h = d.create_service(&mmal(3)).unwrap();
    assert_eq!(await_one(&d), Completion::ServiceOpened { service: 3 });
    let transmit = |userdata| Bulk { direction: BulkDirection::Transmit, buffer: vec![0; 8].into(), size: 8, userdata };
    let queue_on_a_thread = |userdata| {
        let d = Arc::clone(&d);
        std::thread::spawn(move || d.queue_bulk(h, transmit(userdata)).map_err(|(e, b)| (e.raw_os_error(), b.userdata)))
    };
    for userdata in 1..=4 {
        d.queue_bulk(h, transmit(userdata)).unwrap();
    }
    let fifth = queue_on_a_thread(5);
    std::thread::sleep(Duration::from_millis(100));
    assert!(!fifth.is_finished(), "the fifth transmit waits while four are queued");
    // A PORT_FLUSH has an 8-byte transfer behind it, which the VideoCore
    // takes whatever it answers: the first transmit completes, and the
    // fifth is queued.
    let mut flush =
        vec![0u8; size_of::<vchiq_sys::mmal_msg_header>() + size_of::<vchiq_sys::mmal_msg_buffer_from_host>()];
    flush[..4].copy_from_slice(&vchiq_sys::MMAL_MAGIC.to_le_bytes());
    flush[4..8].copy_from_slice(&vchiq_sys::MMAL_MSG_TYPE_PORT_FLUSH.to_le_bytes());
    d.queue_message(h, &[&flush]).unwrap();
    assert_eq!(fifth.join().unwrap(), Ok(()));
    let (mut replied, mut done) = (false, None);
    while !(replied && done.is_some()) {
        match await_one(&d) {
            Completion::BulkDone { service: 3, bulk } => done = Some(bulk.userdata),
            Completion::Message { service: 3, .. } => replied = true,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(done, Some(1));
    // Four queued again: a sixth waits, and is refused when the service
    // closes; the four are aborted in the order they were queued.
    let sixth = queue_on_a_thread(6);
    std::thread::sleep(Duration::from_millis(100));
    assert!(!sixth.is_finished(), "the sixth transmit waits while four are queued");
    let d2 = Arc::clone(&d);
    let closer = std::thread::spawn(move || d2.close_service(h));
    assert_eq!(sixth.join().unwrap(), Err((Some(22), 6)));
    let mut aborted = Vec::new();
    loop {
        match await_one(&d) {
            Completion::BulkAborted { service: 3, bulk } => aborted.push(bulk.userdata),
            Completion::ServiceClosed { service: 3 } => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(aborted, [2, 3, 4, 5]);
    d.close_delivered(h).unwrap();
    closer.join().unwrap().unwrap();
}

#[test]
fn an_await_for_no_completion_waits_for_one_and_takes_nothing() {
    let d = Arc::new(connected());
    let d2 = Arc::clone(&d);
    let waiter = std::thread::spawn(move || d2.await_completion(0, &mut MessageBuffers::new(0, 0)));
    std::thread::sleep(Duration::from_millis(100));
    assert!(!waiter.is_finished(), "nothing there yet: it waits");
    let h = d.create_service(&mmal(4)).unwrap();
    assert_eq!(waiter.join().unwrap().unwrap(), Vec::new(), "woken, nothing taken");
    // Still there for the next call.
    assert_eq!(await_one(&d), Completion::ServiceOpened { service: 4 });
    let d2 = Arc::clone(&d);
    let closer = std::thread::spawn(move || d2.close_service(h));
    assert_eq!(await_one(&d), Completion::ServiceClosed { service: 4 });
    d.close_delivered(h).unwrap();
    closer.join().unwrap().unwrap();
}
