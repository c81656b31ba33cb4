//! The connection against the test double: what it sends the driver, and
//! what it makes of what comes back.

mod common;

use std::time::Duration;

use common::*;
use vchiq::{Config, Error, Fourcc, ServiceEvent, ServiceOptions};

#[test]
fn open_checks_versions_then_connects() {
    let vc = FakeVc::new();
    let _c = connect(&vc);
    assert_eq!(vc.calls()[..3], ["GET_CONFIG", "LIB_VERSION 8", "CONNECT"]);
}

#[test]
fn old_driver_gets_no_lib_version() {
    // LIB_VERSION arrived with driver version 7.
    let vc = FakeVc::new();
    *vc.config.lock() = Config { version: 6, version_min: 3, ..Config::default() };
    let _c = connect(&vc);
    assert_eq!(vc.calls()[..2], ["GET_CONFIG", "CONNECT"]);
}

#[test]
fn incompatible_driver_is_refused_before_connect() {
    for (version, version_min) in [(2, 1), (12, 9)] {
        let vc = FakeVc::new();
        *vc.config.lock() = Config { version, version_min, ..Config::default() };
        let err = vchiq::Connection::with_device(vc.device(), options()).unwrap_err();
        assert!(
            matches!(err, Error::IncompatibleDriver { driver, driver_min, client: 8, client_min: 3 }
                if driver == version && driver_min == version_min),
            "{err:?}"
        );
        assert!(err.to_string().contains("update the kernel"), "{err}");
        assert_eq!(vc.count("CONNECT"), 0);
    }
}

#[test]
fn open_service_sends_its_4cc_and_versions_and_gives_back_the_opening_use() {
    let vc = FakeVc::new();
    let c = connect(&vc);
    let s = c.open_service(ServiceOptions::new(Fourcc::MMAL, 15, 10)).unwrap();
    assert!(vc.calls().contains(&"CREATE_SERVICE mmal v15/10".to_owned()), "{:?}", vc.calls());
    assert_eq!(vc.service(s.handle()).fourcc, Fourcc::MMAL);
    // Opened with a use held; the client gives it back until it has traffic.
    assert_eq!(vc.uses(s.handle()), 0);
    assert_eq!(s.fourcc(), Fourcc::MMAL);
}

#[test]
fn a_service_the_videocore_does_not_offer_is_a_clear_error() {
    let vc = FakeVc::new();
    let c = connect(&vc);
    let err = c.open_service(ServiceOptions::new(Fourcc::new(*b"nope"), 1, 1)).unwrap_err();
    assert!(matches!(err, Error::ServiceUnavailable { fourcc, .. } if fourcc == Fourcc::new(*b"nope")), "{err:?}");
    assert!(err.to_string().contains("'nope'"), "{err}");
}

#[test]
fn request_gets_the_reply_with_its_context() {
    let vc = FakeVc::new();
    vc.set_firmware(echo_firmware);
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    let reply = s.request(&[&message(REQUEST, 41, b"abcd")], 41).unwrap();
    assert_eq!(reply, message(REPLY, 41, b"abcd"));
    // Elements are concatenated into one message.
    let reply = s.request(&[&message(REQUEST, 42, b""), b"ef", b"gh"], 42).unwrap();
    assert_eq!(reply, message(REPLY, 42, b"efgh"));
}

#[test]
fn replies_out_of_order_reach_their_own_requests() {
    let vc = FakeVc::new();
    // Hold requests until two are in, then answer the second first.
    let held = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let h = std::sync::Arc::clone(&held);
    vc.set_firmware(move |vc, handle, m| {
        let mut held = h.lock();
        held.push(m.to_vec());
        if held.len() == 2 {
            for m in held.drain(..).rev() {
                vc.push_message(handle, message(REPLY, word(&m, 1).unwrap(), &m[8..]));
            }
        }
    });
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    std::thread::scope(|scope| {
        let a = scope.spawn(|| s.request(&[&message(REQUEST, 1, b"one")], 1));
        // Make sure the first is queued before the second.
        wait_until("the request to be sent", || vc.count("QUEUE_MESSAGE") >= 1);
        let b = scope.spawn(|| s.request(&[&message(REQUEST, 2, b"two")], 2));
        assert_eq!(a.join().unwrap().unwrap(), message(REPLY, 1, b"one"));
        assert_eq!(b.join().unwrap().unwrap(), message(REPLY, 2, b"two"));
    });
}

#[test]
fn other_messages_queue_as_events_in_order() {
    let vc = FakeVc::new();
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    vc.push_message(s.handle(), message(NOTE, 0, b"first"));
    vc.push_message(s.handle(), message(NOTE, 0, b"second"));
    let t = Duration::from_secs(2);
    assert_eq!(s.next_event(t).unwrap(), ServiceEvent::Message(message(NOTE, 0, b"first")));
    assert_eq!(s.next_event(t).unwrap(), ServiceEvent::Message(message(NOTE, 0, b"second")));
    let err = s.next_event(Duration::from_millis(20)).unwrap_err();
    assert!(matches!(err, Error::Timeout { what: "the next event", .. }), "{err:?}");
}

#[test]
fn events_go_to_the_callback_on_the_completion_thread() {
    let vc = FakeVc::new();
    let c = connect(&vc);
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = parking_lot::Mutex::new(tx);
    let s = c
        .open_service(echo_options().on_event(move |e| {
            let name = std::thread::current().name().map(str::to_owned);
            tx.lock().send((e, name)).unwrap();
        }))
        .unwrap();
    vc.push_message(s.handle(), message(NOTE, 0, b"x"));
    let (event, thread) = rx.recv_timeout(Duration::from_secs(2)).unwrap();
    assert_eq!(event, ServiceEvent::Message(message(NOTE, 0, b"x")));
    assert_eq!(thread.as_deref(), Some("vchiq-completion"));
    assert!(matches!(s.next_event(Duration::ZERO), Err(Error::InvalidArgument(_))));
}

#[test]
fn the_use_count_is_held_from_request_to_reply() {
    let vc = FakeVc::new();
    let seen = std::sync::Arc::new(parking_lot::Mutex::new(None));
    let s2 = std::sync::Arc::clone(&seen);
    vc.set_firmware(move |vc, handle, m| {
        // What the VideoCore's use count is while it works on the request.
        *s2.lock() = Some(vc.uses(handle));
        echo_firmware(vc, handle, m);
    });
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    s.request(&[&message(REQUEST, 5, b"")], 5).unwrap();
    assert_eq!(*seen.lock(), Some(1));
    assert_eq!(vc.uses(s.handle()), 0);
    {
        let _guard = s.hold_use().unwrap();
        assert_eq!(vc.uses(s.handle()), 1);
        // Nested holders share the one use.
        s.request(&[&message(REQUEST, 6, b"")], 6).unwrap();
        assert_eq!(vc.uses(s.handle()), 1);
    }
    assert_eq!(vc.uses(s.handle()), 0);
}

#[test]
fn bulk_transmit_and_receive_move_the_data() {
    let vc = FakeVc::new();
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    let back = s.bulk_transmit((0..=255).collect::<Vec<u8>>()).unwrap().wait().unwrap();
    assert_eq!(back, (0..=255).collect::<Vec<u8>>());
    assert_eq!(vc.received(), vec![(0..=255).collect::<Vec<u8>>()]);

    vc.queue_bulk_data(vec![7; 100]);
    let got = s.bulk_receive(vec![0; 128], 100).unwrap().wait().unwrap();
    assert_eq!(got.len(), 128);
    assert_eq!(&got[..100], &[7; 100][..]);
    assert_eq!(&got[100..], &[0; 28][..], "only size bytes are received");
    assert_eq!(vc.uses(s.handle()), 0, "the use is given back at completion");
}

#[test]
fn bulk_transfers_complete_in_order_and_at_most_four_are_queued() {
    let vc = FakeVc::new();
    *vc.auto_complete_bulks.lock() = false;
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    let transfers: Vec<_> = (0..4u8).map(|i| s.bulk_transmit(vec![i; 16]).unwrap()).collect();
    assert_eq!(vc.held(), 4);
    assert_eq!(vc.uses(s.handle()), 1, "one use held while transfers are out");
    // A fifth waits for a slot, and gets none within the timeout.
    let err = s.bulk_transmit(vec![9; 16]).unwrap_err();
    assert!(matches!(err, Error::Timeout { what: "a free bulk transfer slot", .. }), "{err:?}");
    assert_eq!(vc.count("QUEUE_BULK_TRANSMIT"), 4, "the fifth never reached the driver");
    // Receives have their own four.
    let rx = s.bulk_receive(vec![0; 8], 8).unwrap();

    std::thread::scope(|scope| {
        // A fifth transmit waiting for a slot gets the first one freed.
        let fifth = scope.spawn(|| s.bulk_transmit(vec![4; 16]).and_then(|t| t.wait_timeout(Duration::from_secs(5))));
        vc.complete_held(&[0]);
        wait_until("the fifth transfer to be queued", || vc.count("QUEUE_BULK_TRANSMIT") >= 5);
        vc.complete_held(&[0, 1, 2, 3, 4]);
        assert_eq!(fifth.join().unwrap().unwrap(), vec![4; 16]);
    });
    for (i, t) in transfers.into_iter().enumerate() {
        assert_eq!(t.wait().unwrap(), vec![i as u8; 16]);
    }
    rx.wait().unwrap();
    assert_eq!(vc.max_outstanding_seen(), 4);
    let order: Vec<u8> = vc.received().iter().map(|d| d[0]).collect();
    assert_eq!(order, [0, 1, 2, 3, 4]);
    assert_eq!(vc.uses(s.handle()), 0);
}

#[test]
fn close_waits_for_the_completion_thread_to_acknowledge_it() {
    let vc = FakeVc::new();
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    let handle = s.handle();
    s.close().unwrap();
    assert!(vc.service(handle).closed);
    assert!(vc.delivered(handle), "the completion thread acknowledged the close");
    assert_eq!(vc.count("CLOSE_SERVICE"), 1);
}

#[test]
fn drop_closes_the_service_and_stops_the_thread() {
    let vc = FakeVc::new();
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    let handle = s.handle();
    drop(s);
    assert!(vc.service(handle).closed);
    assert_eq!(vc.count("CLOSE_SERVICE"), 1);
    drop(c);
    assert_eq!(vc.count("SHUTDOWN"), 1);
    // The thread is gone: nothing holds the device any more.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::sync::Arc::strong_count(&vc) > 1 {
        assert!(std::time::Instant::now() < deadline, "the device is still held");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn message_limits_are_checked_before_the_driver() {
    let vc = FakeVc::new();
    *vc.config.lock() = Config { max_msg_size: 512, ..Config::default() };
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    let err = s.send(&[&[0u8; 513]]).unwrap_err();
    assert!(matches!(err, Error::MessageTooLarge { size: 513, max: 512 }), "{err:?}");
    let nine: Vec<&[u8]> = vec![b"x"; 9];
    assert!(matches!(s.send(&nine), Err(Error::InvalidArgument(_))));
    assert!(matches!(s.bulk_receive(vec![0; 4], 5), Err(Error::InvalidArgument(_))));
    assert!(matches!(s.bulk_transmit(Vec::new()), Err(Error::InvalidArgument(_))));
    assert_eq!(vc.count("QUEUE_"), 0);
    s.send(&[&[0u8; 512]]).unwrap();
}

#[test]
fn a_context_already_waiting_is_refused() {
    let vc = FakeVc::new(); // no firmware: requests are never answered
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    std::thread::scope(|scope| {
        let first = scope.spawn(|| s.request(&[&message(REQUEST, 3, b"")], 3));
        wait_until("the request to be sent", || vc.count("QUEUE_MESSAGE") >= 1);
        assert!(matches!(s.request(&[&message(REQUEST, 3, b"")], 3), Err(Error::ContextInUse(3))));
        assert!(matches!(first.join().unwrap(), Err(Error::Timeout { .. })));
    });
}

#[test]
fn a_shared_device_serves_a_connection() {
    let vc = FakeVc::new();
    vc.set_firmware(echo_firmware);
    let device: std::sync::Arc<dyn vchiq::Device> = std::sync::Arc::new(vc.device());
    let c = vchiq::Connection::with_device(std::sync::Arc::clone(&device), options()).unwrap();
    let s = c.open_service(echo_options()).unwrap();
    assert_eq!(s.request(&[&message(REQUEST, 8, b"ok")], 8).unwrap(), message(REPLY, 8, b"ok"));
    drop((s, c));
    assert_eq!(std::sync::Arc::strong_count(&device), 1, "the connection let go of its handle");
}
