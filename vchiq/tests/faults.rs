//! Faults injected through the test double: every one ends in a clear
//! error (or a transparent retry), never a hang, a panic or a leak of the
//! VideoCore's use count.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use vchiq::{Config, Error, ServiceEvent, ServiceOptions};

#[test]
fn eintr_is_retried_everywhere() {
    let vc = FakeVc::new();
    vc.set_firmware(echo_firmware);
    for op in ["GET_CONFIG", "LIB_VERSION", "CONNECT", "CREATE_SERVICE", "RELEASE_SERVICE"] {
        vc.fail(op, libc::EINTR, 2);
    }
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    assert_eq!(vc.count("GET_CONFIG"), 3);
    assert_eq!(vc.count("CONNECT"), 3);
    assert_eq!(vc.count("CREATE_SERVICE"), 3);
    assert_eq!(vc.uses(s.handle()), 0, "the opening use was given back despite EINTR");
    for op in ["QUEUE_MESSAGE", "USE_SERVICE", "AWAIT_COMPLETION", "QUEUE_BULK_TRANSMIT", "QUEUE_BULK_RECEIVE"] {
        vc.fail(op, libc::EINTR, 2);
    }
    assert_eq!(s.request(&[&message(REQUEST, 1, b"hi")], 1).unwrap(), message(REPLY, 1, b"hi"));
    assert_eq!(vc.count("QUEUE_MESSAGE"), 3);
    assert_eq!(vc.count("USE_SERVICE"), 3);
    assert_eq!(s.bulk_transmit(vec![1; 8]).unwrap().wait().unwrap(), vec![1; 8]);
    assert_eq!(vc.received(), vec![vec![1; 8]], "the retried transfer was sent once");
    s.bulk_receive(vec![0; 8], 8).unwrap().wait().unwrap();
    assert_eq!(vc.count("QUEUE_BULK_TRANSMIT"), 3);
    assert_eq!(vc.count("QUEUE_BULK_RECEIVE"), 3);
}

#[test]
fn enomem_is_out_of_memory_and_leaves_nothing_behind() {
    let vc = FakeVc::new();
    vc.set_firmware(echo_firmware);
    let c = connect(&vc);
    vc.fail("CREATE_SERVICE", libc::ENOMEM, 1);
    let err = c.open_service(echo_options()).unwrap_err();
    assert!(matches!(err, Error::OutOfMemory { call: "CREATE_SERVICE", .. }), "{err:?}");
    assert!(err.to_string().contains("gpu_mem"), "{err}");
    assert_eq!(err.raw_os_error(), Some(libc::ENOMEM));

    let s = c.open_service(echo_options()).unwrap();
    vc.fail("QUEUE_MESSAGE", libc::ENOMEM, 1);
    let err = s.request(&[&message(REQUEST, 9, b"")], 9).unwrap_err();
    assert!(matches!(err, Error::OutOfMemory { call: "QUEUE_MESSAGE", .. }), "{err:?}");
    assert_eq!(vc.uses(s.handle()), 0, "the use taken for the request was given back");
    // The context is free again.
    s.request(&[&message(REQUEST, 9, b"")], 9).unwrap();

    *vc.auto_complete_bulks.lock() = false;
    vc.fail("QUEUE_BULK_RECEIVE", libc::ENOMEM, 1);
    let err = s.bulk_receive(vec![0; 8], 8).unwrap_err();
    assert!(matches!(err, Error::OutOfMemory { call: "QUEUE_BULK_RECEIVE", .. }), "{err:?}");
    assert_eq!(vc.uses(s.handle()), 0);
    // The refused transfer took no slot: four more fit.
    let t: Vec<_> = (0..4).map(|_| s.bulk_receive(vec![0; 8], 8).unwrap()).collect();
    vc.complete_held(&[0, 1, 2, 3]);
    for t in t {
        t.wait().unwrap();
    }
}

#[test]
fn other_errnos_keep_their_errno_and_name_the_call() {
    let vc = FakeVc::new();
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    vc.fail("QUEUE_MESSAGE", libc::EIO, 1);
    let err = s.send(&[b"x"]).unwrap_err();
    assert!(matches!(err, Error::Io { call: "QUEUE_MESSAGE", .. }), "{err:?}");
    assert_eq!(err.raw_os_error(), Some(libc::EIO));
    assert!(err.to_string().starts_with("QUEUE_MESSAGE failed"), "{err}");
    vc.fail("USE_SERVICE", libc::EIO, 1);
    let err = s.send(&[b"x"]).unwrap_err();
    assert!(matches!(err, Error::Io { call: "USE_SERVICE", .. }), "{err:?}");
    assert_eq!(vc.count("QUEUE_MESSAGE"), 1, "nothing is sent without the use");
}

#[test]
fn a_reply_that_never_comes_times_out_and_comes_back_late() {
    let vc = FakeVc::new(); // no firmware: nothing answers
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    let err = s.request(&[&message(REQUEST, 77, b"")], 77).unwrap_err();
    assert!(
        matches!(err, Error::Timeout { what: "the reply to a request", after } if after == options().reply_timeout)
    );
    assert!(err.to_string().contains("reopen the service"), "{err}");
    assert_eq!(vc.uses(s.handle()), 0, "no use is kept for an abandoned request");
    // The reply turns up after all: handed over, not lost, context free.
    vc.push_message(s.handle(), message(REPLY, 77, b"late"));
    let event = s.next_event(Duration::from_secs(2)).unwrap();
    assert_eq!(event, ServiceEvent::LateReply { context: 77, message: message(REPLY, 77, b"late") });
    vc.set_firmware(echo_firmware);
    assert_eq!(s.request(&[&message(REQUEST, 77, b"")], 77).unwrap(), message(REPLY, 77, b""));
}

#[test]
fn a_service_the_videocore_closes_fails_its_waiters_at_once() {
    let vc = FakeVc::new();
    *vc.auto_complete_bulks.lock() = false;
    let c = vchiq::Connection::with_device(vc.device(), {
        let mut o = options();
        // Far longer than the test may take: the close must end the waits.
        o.reply_timeout = Duration::from_secs(60);
        o.bulk_timeout = Duration::from_secs(60);
        o
    })
    .unwrap();
    let s = c.open_service(echo_options()).unwrap();
    let handle = s.handle();
    let transfer = s.bulk_receive(vec![0; 8], 8).unwrap();
    vc.push_message(handle, message(NOTE, 0, b"before"));
    std::thread::scope(|scope| {
        let waiting = scope.spawn(|| s.request(&[&message(REQUEST, 1, b"")], 1));
        wait_until("the request to be sent", || vc.count("QUEUE_MESSAGE") >= 1);
        vc.vc_close(handle);
        let err = waiting.join().unwrap().unwrap_err();
        assert!(matches!(err, Error::ServiceClosed(f) if f == ECHO), "{err:?}");
        assert!(err.to_string().contains("open it again"), "{err}");
    });
    // The held transfer was aborted by the driver.
    let err = transfer.wait().unwrap_err();
    assert!(matches!(err, Error::BulkAborted | Error::ServiceClosed(_)), "{err:?}");
    // Events that came first, then the close, then errors.
    let t = Duration::from_secs(2);
    assert_eq!(s.next_event(t).unwrap(), ServiceEvent::Message(message(NOTE, 0, b"before")));
    assert_eq!(s.next_event(t).unwrap(), ServiceEvent::Closed);
    assert!(matches!(s.next_event(t), Err(Error::ServiceClosed(_))));
    assert!(s.is_closed());
    assert!(matches!(s.send(&[b"x"]), Err(Error::ServiceClosed(_))));
    assert!(matches!(s.bulk_transmit(vec![1]), Err(Error::ServiceClosed(_))));
    assert!(matches!(s.hold_use(), Err(Error::ServiceClosed(_))));
    assert!(vc.delivered(handle), "the close was acknowledged with CLOSE_DELIVERED");
    // Closing it again is harmless and asks the driver nothing.
    s.close().unwrap();
    assert_eq!(vc.count("CLOSE_SERVICE"), 0);
}

#[test]
fn a_failed_completion_thread_fails_everything_without_hanging() {
    let vc = FakeVc::new();
    let c = vchiq::Connection::with_device(vc.device(), {
        let mut o = options();
        o.reply_timeout = Duration::from_secs(60);
        o
    })
    .unwrap();
    let s = c.open_service(echo_options()).unwrap();
    std::thread::scope(|scope| {
        let waiting = scope.spawn(|| s.request(&[&message(REQUEST, 1, b"")], 1));
        wait_until("the request to be sent", || vc.count("QUEUE_MESSAGE") >= 1);
        // Wake the thread into an injected failure while the request waits.
        vc.fail("AWAIT_COMPLETION", libc::EIO, 1);
        vc.push_message(s.handle(), message(NOTE, 0, b""));
        let err = waiting.join().unwrap().unwrap_err();
        assert!(matches!(err, Error::ConnectionFailed(ref why) if why.contains("AWAIT_COMPLETION")), "{err:?}");
        assert!(err.to_string().contains("open a new connection"), "{err}");
    });
    assert!(matches!(c.open_service(echo_options()), Err(Error::ConnectionFailed(_))));
    assert!(matches!(s.send(&[b"x"]), Err(Error::ConnectionFailed(_))));
    drop(s); // no CLOSE_SERVICE: nobody could acknowledge it
    assert_eq!(vc.count("CLOSE_SERVICE"), 0);
    drop(c);
}

#[test]
fn calls_that_wait_are_refused_in_callbacks() {
    let vc = FakeVc::new();
    vc.set_firmware(echo_firmware);
    let c = connect(&vc);
    type Slot = Arc<Mutex<Option<Arc<vchiq::Service>>>>;
    let me: Slot = Arc::new(Mutex::new(None));
    let results = Arc::new(Mutex::new(Vec::new()));
    let (me2, results2) = (Arc::clone(&me), Arc::clone(&results));
    let s = Arc::new(
        c.open_service(echo_options().on_event(move |e| {
            if e == ServiceEvent::Closed {
                return;
            }
            let s = me2.lock().unwrap().clone().unwrap();
            let mut r = results2.lock().unwrap();
            r.push(s.request(&[&message(REQUEST, 2, b"")], 2).map(drop));
            r.push(s.bulk_transmit(vec![1]).map(drop));
            r.push(s.send(&[&message(NOTE, 0, b"fine")]));
        }))
        .unwrap(),
    );
    *me.lock().unwrap() = Some(Arc::clone(&s));
    vc.push_message(s.handle(), message(NOTE, 0, b""));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while results.lock().unwrap().len() < 3 {
        assert!(std::time::Instant::now() < deadline, "the callback did not run");
        std::thread::sleep(Duration::from_millis(2));
    }
    let r = std::mem::take(&mut *results.lock().unwrap());
    assert!(matches!(r[0], Err(Error::OnCompletionThread("Service::request"))), "{:?}", r[0]);
    assert!(matches!(r[1], Err(Error::OnCompletionThread(_))), "{:?}", r[1]);
    assert!(r[2].is_ok(), "a plain send does not wait: {:?}", r[2]);
    // The callback still works from any other thread.
    s.request(&[&message(REQUEST, 3, b"")], 3).unwrap();
    me.lock().unwrap().take();
}

#[test]
fn a_bulk_transfer_completed_out_of_order_is_an_error() {
    let vc = FakeVc::new();
    *vc.auto_complete_bulks.lock() = false;
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    let first = s.bulk_transmit(vec![1; 4]).unwrap();
    let second = s.bulk_transmit(vec![2; 4]).unwrap();
    vc.complete_held(&[1, 0]);
    assert!(matches!(second.wait(), Err(Error::BulkOutOfOrder)));
    assert_eq!(first.wait().unwrap(), vec![1; 4]);
    assert_eq!(vc.uses(s.handle()), 0);
}

#[test]
fn a_bulk_transfer_that_never_completes_times_out_and_keeps_its_slot() {
    let vc = FakeVc::new();
    *vc.auto_complete_bulks.lock() = false;
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    let t = s.bulk_receive(vec![0; 4], 4).unwrap();
    let err = t.wait().unwrap_err();
    assert!(matches!(err, Error::Timeout { what: "a bulk transfer", .. }), "{err:?}");
    // The driver still has the buffer: its slot stays taken...
    let more: Vec<_> = (0..3).map(|_| s.bulk_receive(vec![0; 4], 4).unwrap()).collect();
    assert!(matches!(s.bulk_receive(vec![0; 4], 4), Err(Error::Timeout { .. })));
    // ...until it comes back, and is dropped.
    vc.complete_held(&[0, 1, 2, 3]);
    for t in more {
        t.wait().unwrap();
    }
    s.bulk_receive(vec![0; 4], 4).map(drop).unwrap();
    assert_eq!(vc.uses(s.handle()), 1, "one transfer still out");
    vc.complete_held(&[0]);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while vc.uses(s.handle()) != 0 {
        assert!(std::time::Instant::now() < deadline, "the use was not given back");
        std::thread::yield_now();
    }
}

#[test]
fn a_panicking_callback_does_not_stop_the_connection() {
    let vc = FakeVc::new();
    vc.set_firmware(echo_firmware);
    // The panic's report (a backtrace, slow under qemu) comes before the
    // reply on the same thread: a reply timeout that allows for it.
    let mut o = options();
    o.reply_timeout = Duration::from_secs(30);
    let c = vchiq::Connection::with_device(vc.device(), o).expect("connect to the fake");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let s = c
        .open_service(echo_options().on_event(move |e| {
            if let ServiceEvent::Message(m) = e {
                if m.ends_with(b"boom") {
                    panic!("callback panics on purpose");
                }
                seen2.lock().unwrap().push(m);
            }
        }))
        .unwrap();
    vc.push_message(s.handle(), message(NOTE, 0, b"boom"));
    vc.push_message(s.handle(), message(NOTE, 0, b"after"));
    // Requests are answered by the same thread: it is still running.
    s.request(&[&message(REQUEST, 4, b"")], 4).unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![message(NOTE, 0, b"after")]);
}

#[test]
fn a_device_that_ignores_shutdown_does_not_hang_the_drop() {
    let vc = FakeVc::new();
    let c = vchiq::Connection::with_device(vc.device(), {
        let mut o = options();
        o.close_timeout = Duration::from_millis(50);
        o
    })
    .unwrap();
    vc.fail("SHUTDOWN", libc::EIO, 1);
    drop(c); // returns after close_timeout; the thread is left blocked
    assert_eq!(vc.count("SHUTDOWN"), 1);
}

#[test]
fn bad_options_are_refused() {
    let vc = FakeVc::new();
    let mut o = options();
    o.message_buffers = 0;
    assert!(matches!(vchiq::Connection::with_device(vc.device(), o), Err(Error::InvalidArgument(_))));
    let vc = FakeVc::new();
    *vc.config.lock() = Config { max_msg_size: 0, ..Config::default() };
    assert!(matches!(
        vchiq::Connection::with_device(vc.device(), options()),
        Err(Error::Io { call: "GET_CONFIG", .. })
    ));
    let _ = ServiceOptions::new(ECHO, 1, 1);
}

#[test]
fn after_a_connection_failure_even_a_closed_service_says_to_reconnect() {
    let vc = FakeVc::new();
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    vc.vc_close(s.handle());
    assert_eq!(s.next_event(Duration::from_secs(2)).unwrap(), ServiceEvent::Closed);
    vc.fail("AWAIT_COMPLETION", libc::EIO, 1);
    vc.push_message(s.handle(), message(NOTE, 0, b"")); // wakes the thread into the fault
                                                        // Reopening the service cannot help: the error must say to reconnect.
    wait_until("the send to report the failed connection", || {
        matches!(s.send(&[b"x"]), Err(Error::ConnectionFailed(_)))
    });
    assert!(matches!(c.open_service(echo_options()), Err(Error::ConnectionFailed(_))));
}

#[test]
fn the_last_handle_dropped_in_a_callback_stops_the_thread_at_once() {
    let vc = FakeVc::new();
    let c = vchiq::Connection::with_device(vc.device(), {
        let mut o = options();
        // Waiting for itself would take this long: far beyond the test's
        // deadline below.
        o.close_timeout = Duration::from_secs(60);
        o
    })
    .unwrap();
    let clone = c.clone();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let go_rx = Mutex::new(go_rx);
    let s = c
        .open_service(echo_options().on_event(move |e| {
            // The callback owns a connection handle (`clone`), dropped with it.
            let _keep = &clone;
            if e == ServiceEvent::Closed {
                let _ = go_rx.lock().unwrap().recv_timeout(Duration::from_secs(10));
            }
        }))
        .unwrap();
    drop(c);
    vc.vc_close(s.handle());
    // The callback is now waiting on the completion thread; the service is
    // closed, so dropping it asks the driver nothing.
    wait_until("the close", || s.is_closed());
    drop(s);
    // The callback returns; the completion thread drops the service state,
    // and with it the callback and the last connection handle.
    go_tx.send(()).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while Arc::strong_count(&vc) > 1 {
        assert!(std::time::Instant::now() < deadline, "the completion thread still holds the device");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(vc.count("SHUTDOWN"), 1);
}

#[test]
fn a_videocore_that_never_opens_the_service_times_out_and_it_is_closed_later() {
    let vc = FakeVc::new();
    let c = connect(&vc);
    vc.hang_create(true);
    let err = c.open_service(echo_options()).unwrap_err();
    assert!(matches!(err, Error::Timeout { what: "the VideoCore to open the service", .. }), "{err:?}");
    assert_eq!(vc.count("CLOSE_SERVICE"), 0);
    // The VideoCore answers after all: the service it opened is closed
    // again, and the close acknowledged.
    vc.hang_create(false);
    wait_until("the late service to be closed", || vc.count("CLOSE_DELIVERED") == 1);
    assert_eq!(vc.count("CLOSE_SERVICE"), 1);
    // The connection is fine.
    vc.set_firmware(echo_firmware);
    let s = c.open_service(echo_options()).unwrap();
    assert_eq!(s.request(&[&message(REQUEST, 1, b"")], 1).unwrap(), message(REPLY, 1, b""));
}

/// A message that promises bulk data goes out only once its transmit has a
/// slot: with four transmits queued, `send_with_bulk` times out having sent
/// nothing, and when a slot frees, the message and its transmit go to the
/// driver back to back.
#[test]
fn send_with_bulk_reserves_the_slot_before_the_message() {
    let vc = FakeVc::new();
    *vc.auto_complete_bulks.lock() = false;
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    let held: Vec<_> = (0..4u8).map(|i| s.bulk_transmit(vec![i; 8]).unwrap()).collect();
    let err = s.send_with_bulk(&[b"promise"], vec![9; 8]).unwrap_err();
    assert!(matches!(err, Error::Timeout { what: "a free bulk transfer slot", .. }), "{err:?}");
    assert_eq!(vc.count("QUEUE_MESSAGE"), 0, "nothing sent without a slot");
    assert_eq!(vc.uses(s.handle()), 1, "only the held transfers' use");

    vc.complete_held(&[0, 1, 2, 3]);
    for t in held {
        t.wait().unwrap();
    }
    let t = s.send_with_bulk(&[b"promise"], vec![4; 8]).unwrap();
    let calls = vc.calls();
    let at = calls.iter().position(|c| c.starts_with("QUEUE_MESSAGE")).expect("sent");
    assert!(calls[at + 1].starts_with("QUEUE_BULK_TRANSMIT"), "{calls:?}");
    vc.complete_held(&[0]);
    assert_eq!(t.wait().unwrap(), vec![4; 8]);
    assert_eq!(vc.received().last().unwrap(), &vec![4; 8]);

    // Refused arguments send nothing either.
    assert!(matches!(s.send_with_bulk(&[b"x"], Vec::new()), Err(Error::InvalidArgument(_))));
    assert_eq!(vc.count("QUEUE_MESSAGE"), 1);
}

/// The message went out, the transmit was refused: a distinct error (the
/// stream is out of step), with the slot and the use given back.
#[test]
fn a_transmit_refused_after_its_message_is_bulk_not_queued() {
    let vc = FakeVc::new();
    *vc.auto_complete_bulks.lock() = false;
    let c = connect(&vc);
    let s = c.open_service(echo_options()).unwrap();
    vc.fail("QUEUE_BULK_TRANSMIT", libc::EIO, 1);
    let err = s.send_with_bulk(&[b"promise"], vec![1; 8]).unwrap_err();
    let Error::BulkNotQueued(inner) = &err else { panic!("{err:?}") };
    assert!(matches!(**inner, Error::Io { call: "QUEUE_BULK_TRANSMIT", .. }), "{inner:?}");
    assert!(err.to_string().contains("out of step"), "{err}");
    assert_eq!(vc.count("QUEUE_MESSAGE"), 1);
    assert_eq!(vc.uses(s.handle()), 0, "the use is given back");
    // A message refused sends no transmit.
    vc.fail("QUEUE_MESSAGE", libc::EIO, 1);
    let err = s.send_with_bulk(&[b"promise"], vec![1; 8]).unwrap_err();
    assert!(matches!(err, Error::Io { call: "QUEUE_MESSAGE", .. }), "{err:?}");
    assert_eq!(vc.count("QUEUE_BULK_TRANSMIT"), 1);
    assert_eq!(vc.uses(s.handle()), 0);
    // All four slots are free again.
    let t: Vec<_> = (0..4).map(|_| s.bulk_transmit(vec![0; 8]).unwrap()).collect();
    vc.complete_held(&[0, 1, 2, 3]);
    for t in t {
        t.wait().unwrap();
    }
}
