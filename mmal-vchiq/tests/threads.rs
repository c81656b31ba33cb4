//! Threads and handles: no thread outlives the client, dropping the last
//! handle on the delivery thread detaches it, every call works from any
//! thread.

mod common;

use std::sync::Arc;

use common::*;
use mmal_sys as sys;
use mmal_vchiq::{BufferToSend, Client};
use parking_lot::Mutex;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn the_client_is_send_and_sync() {
    assert_send_sync::<Client>();
}

/// Opens, streams a little, closes, many times: the thread count comes back
/// to where it was (the connection's completion thread, the client's
/// delivery thread, the emulated VideoCore's threads all end).
#[test]
fn open_stream_close_cycles_leave_no_thread() {
    let _s = serial();
    let before = threads();
    for round in 0..3 {
        let connection = connect();
        let recorder = Recorder::resending();
        let client = Client::open_with(&connection, client_options(), recorder.clone()).unwrap();
        let (camera, video) = capturing_video(&client, 2);
        let size = video.buffer_size_min;
        for _ in 0..2 {
            client.send_buffer(&video.port, BufferToSend::output(Vec::new(), size)).unwrap();
        }
        recorder.wait("frames", |s| s.buffers.len() >= 4);
        if round == 1 {
            // Closed with the port streaming and the component alive: the
            // buffers still out are released through the handler.
            drop(client);
        } else {
            client.port_disable(&video.port).unwrap();
            client.component_destroy(camera).unwrap();
            client.close().unwrap();
        }
        recorder.wait("the close", |s| s.closed);
        drop(connection);
    }
    wait_until("the threads to end", || threads() == before);
    assert_eq!(vchiq_emu::threads(), 0);
    assert_eq!(mmal_emu::usage().components, 0);
}

/// The handler holds the last handle and drops it: the client closes from
/// its own delivery thread, which then ends by itself.
#[test]
fn the_last_handle_dropped_in_the_handler_detaches_the_delivery_thread() {
    let _s = serial();
    let before = threads();
    let connection = connect();
    let slot: Arc<Mutex<Option<Client>>> = Arc::new(Mutex::new(None));
    let in_handler = Arc::clone(&slot);
    let recorder = Recorder::on_buffer(move |_, _, seen| {
        if let Some(client) = in_handler.lock().take() {
            drop(client);
            seen.notes.push("dropped".into());
        }
    });
    let client = Client::open_with(&connection, client_options(), recorder.clone()).unwrap();
    let input = sink_input(&client, 64);
    client.port_enable(&input.port, 0, 0).unwrap();
    client.send_buffer(&input.port, BufferToSend::input(vec![1; 8], input.buffer_size)).unwrap();
    *slot.lock() = Some(client);
    // The buffer's return runs the handler, which drops the last handle.
    recorder.wait("the close", |s| s.closed && s.notes.iter().any(|n| n == "dropped"));
    drop(connection);
    wait_until("the threads to end", || threads() == before);
}

/// Calls from several threads at once, while frames stream.
#[test]
fn calls_from_many_threads_at_once() {
    let _s = serial();
    let connection = connect();
    let client = Client::open_with(&connection, client_options(), Recorder::new()).unwrap();
    let camera = client.component_create("ril.camera").unwrap();
    let control = client.port_info_get(camera.handle, mmal_vchiq::PortType::Control, 0).unwrap().port;
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    assert_eq!(client.parameter_get_u32(&control, sys::MMAL_PARAMETER_CAMERA_NUM).unwrap(), 0);
                    client.port_info_get(camera.handle, mmal_vchiq::PortType::Output, 2).unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    client.close().unwrap();
}

/// A call made on the connection's completion thread (from the callback of
/// another service on the same connection) fails at once: its reply could
/// only come through that very thread.
#[test]
fn a_call_from_the_completion_thread_fails_at_once() {
    let _s = serial();
    let connection = connect();
    let client = Client::open_with(&connection, client_options(), Recorder::new()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let in_callback = client.clone();
    let tx = Mutex::new(tx);
    let other = connection
        .open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10).on_event(move |_| {
            let _ = tx.lock().send(in_callback.component_create("ril.camera").map(|c| c.handle));
        }))
        .unwrap();
    // Any message: the VideoCore answers it on the other service.
    let mut get_version = vec![0u8; 24 + 16];
    get_version[..4].copy_from_slice(&vchiq_sys::MMAL_MAGIC.to_le_bytes());
    get_version[4..8].copy_from_slice(&vchiq_sys::MMAL_MSG_TYPE_GET_VERSION.to_le_bytes());
    other.send(&[&get_version]).unwrap();
    let r = rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap();
    assert!(matches!(r, Err(mmal_vchiq::Error::Vchiq(vchiq::Error::OnCompletionThread(_)))), "{r:?}");
    drop(rx);
    other.close().unwrap();
    client.close().unwrap();
}

/// Counts what the handler is given; remembers the count when the client
/// closed.
#[derive(Default)]
struct Count {
    buffers: std::sync::atomic::AtomicUsize,
    at_close: Mutex<Option<usize>>,
}

impl mmal_vchiq::Handler for Count {
    fn buffer(&self, _: &Client, _: mmal_vchiq::Returned) {
        self.buffers.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    fn closed(&self) {
        *self.at_close.lock() = Some(self.buffers.load(std::sync::atomic::Ordering::SeqCst));
    }
}

/// Threads sending small inputs to `port` until `stop` says so; returns how
/// many sends succeeded.
fn send_until(
    client: &Client,
    port: &mmal_vchiq::PortRef,
    size: u32,
    stop: impl Fn(&mmal_vchiq::Error) -> bool,
) -> usize {
    let mut ok = 0;
    loop {
        match client.send_buffer(port, BufferToSend::input(vec![3; 8], size)) {
            Ok(_) => ok += 1,
            Err(e) if stop(&e) => return ok,
            Err(mmal_vchiq::Error::NoCookies { .. }) => std::thread::yield_now(),
            Err(e) => panic!("{e:?}"),
        }
    }
}

/// Buffers sent while the port is being disabled: each send either fails
/// (`PortNotEnabled`) or its buffer has been through the handler by the
/// time the disable returns.
#[test]
fn a_buffer_sent_during_a_disable_is_back_before_it_returns() {
    let _s = serial();
    let connection = connect();
    let count = Arc::new(Count::default());
    let mut options = client_options();
    options.drain_timeout = std::time::Duration::from_millis(50);
    let client = Client::open_with(&connection, options, Arc::clone(&count)).unwrap();
    let input = sink_input(&client, 64);
    let size = input.buffer_size;
    for round in 0..300 {
        client.port_enable(&input.port, 0, 0).unwrap();
        let before = count.buffers.load(std::sync::atomic::Ordering::SeqCst);
        let (sent, at_return, in_flight) = std::thread::scope(|scope| {
            let senders: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| {
                        send_until(&client, &input.port, size, |e| {
                            matches!(e, mmal_vchiq::Error::PortNotEnabled { .. })
                        })
                    })
                })
                .collect();
            wait_until("sends", || {
                client.stats().buffers_in_flight > 0 || count.buffers.load(std::sync::atomic::Ordering::SeqCst) > before
            });
            client.port_disable(&input.port).unwrap();
            let at_return = count.buffers.load(std::sync::atomic::Ordering::SeqCst);
            let in_flight = client.stats().buffers_in_flight;
            (senders.into_iter().map(|s| s.join().unwrap()).sum::<usize>(), at_return, in_flight)
        });
        assert_eq!(in_flight, 0, "round {round}: a buffer still out after the disable");
        assert_eq!(at_return - before, sent, "round {round}: every buffer sent is back when the disable returns");
    }
    client.close().unwrap();
}

/// Buffers sent while the client closes: each send either fails (`Closed`)
/// or its buffer has been through the handler when it hears of the close.
#[test]
fn a_buffer_sent_during_a_close_is_back_before_closed() {
    let _s = serial();
    let connection = connect();
    for round in 0..200 {
        let count = Arc::new(Count::default());
        let client = Client::open_with(&connection, client_options(), Arc::clone(&count)).unwrap();
        let input = sink_input(&client, 64);
        let size = input.buffer_size;
        client.port_enable(&input.port, 0, 0).unwrap();
        let sent = std::thread::scope(|scope| {
            let senders: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| send_until(&client, &input.port, size, |e| matches!(e, mmal_vchiq::Error::Closed)))
                })
                .collect();
            wait_until("sends", || count.buffers.load(std::sync::atomic::Ordering::SeqCst) > 0);
            client.close().unwrap();
            senders.into_iter().map(|s| s.join().unwrap()).sum::<usize>()
        });
        let at_close = count.at_close.lock().expect("closed() was called");
        assert_eq!(at_close, sent, "round {round}: every buffer sent is back before closed()");
    }
}

/// Holds the delivery thread in its first call for `hold`, and records
/// each buffer's port and whether it came back released.
struct Slow {
    hold: std::time::Duration,
    first: std::sync::atomic::AtomicBool,
    inside: std::sync::atomic::AtomicBool,
    seen: Mutex<Vec<(u32, bool)>>,
}

impl mmal_vchiq::Handler for Slow {
    fn buffer(&self, _: &Client, b: mmal_vchiq::Returned) {
        use std::sync::atomic::Ordering::SeqCst;
        if self.first.swap(false, SeqCst) {
            self.inside.store(true, SeqCst);
            std::thread::sleep(self.hold);
        }
        self.seen.lock().push((b.port.handle, b.released));
    }
}

/// A disable whose drain times out (the delivery thread is held by a slow
/// handler of another port) does not release a buffer the VideoCore has
/// returned already: its message is queued behind the handler, and it
/// comes back as returned, with its data and flags, not as released.
#[test]
fn a_buffer_returned_behind_a_slow_handler_is_not_released_by_a_disable() {
    use std::sync::atomic::Ordering::SeqCst;
    let _s = serial();
    let connection = connect();
    let slow = Arc::new(Slow {
        hold: std::time::Duration::from_millis(800),
        first: true.into(),
        inside: false.into(),
        seen: Mutex::new(Vec::new()),
    });
    let mut options = client_options();
    options.drain_timeout = std::time::Duration::from_millis(100);
    let client = Client::open_with(&connection, options, Arc::clone(&slow)).unwrap();
    let (a, b) = (sink_input(&client, 64), sink_input(&client, 64));
    client.port_enable(&a.port, 0, 0).unwrap();
    client.port_enable(&b.port, 0, 0).unwrap();
    client.send_buffer(&a.port, BufferToSend::input(vec![1; 8], a.buffer_size)).unwrap();
    wait_until("the handler holding the delivery thread", || slow.inside.load(SeqCst));
    // The sink takes it at once; its return waits behind the handler.
    client.send_buffer(&b.port, BufferToSend::input(vec![2; 8], b.buffer_size)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    // The handler still holds the thread: the drain times out (the disable
    // may answer that the handler is busy).
    let _ = client.port_disable(&b.port);
    wait_until("both buffers back", || slow.seen.lock().len() == 2);
    let seen = slow.seen.lock().clone();
    assert_eq!(seen, [(a.port.handle, false), (b.port.handle, false)], "returned, not released");
    client.close().unwrap();
}

/// A send that found its port enabled reaches the VideoCore before a
/// disable that began meanwhile, as libmmal's send lock orders them: the
/// disable waits for its message, and the buffer comes back from the
/// VideoCore as any other (where the VideoCore, told of the disable first,
/// refused it).
#[test]
fn a_send_that_found_its_port_enabled_reaches_the_videocore_before_a_disable() {
    send_then(vchiq_sys::MMAL_MSG_TYPE_PORT_ACTION, |client, video| client.port_disable(&video.port));
}

/// As a disable, a component's destroy waits for the sends that found one
/// of its ports enabled.
#[test]
fn a_send_that_found_its_port_enabled_reaches_the_videocore_before_a_destroy() {
    send_then(vchiq_sys::MMAL_MSG_TYPE_COMPONENT_DESTROY, |client, video| {
        client.component_destroy(video.port.component)
    });
}

/// Holds a send to an idle camera's video port between its check and its
/// message, makes `then` (whose message is of type `then_type`) on another
/// thread meanwhile, and checks that the buffer's message went first.
fn send_then(then_type: u32, then: impl Fn(&Client, &mmal_vchiq::PortInfo) -> mmal_vchiq::Result<()> + Sync) {
    let _s = serial();
    let (device, _connection, recorder, client) = recorded_over_faulty(client_options());
    let (_, video) = idle_video(&client, 1);
    let size = video.buffer_size_min;
    device.arm(vchiq_sys::MMAL_MSG_TYPE_BUFFER_FROM_HOST, Fault::Hold);
    std::thread::scope(|scope| {
        let sender = scope.spawn(|| client.send_buffer(&video.port, BufferToSend::output(Vec::new(), size)));
        // The send has checked the port and is about to queue its message.
        device.wait_held();
        let then = scope.spawn(|| then(&client, &video));
        std::thread::sleep(std::time::Duration::from_millis(200));
        device.let_go();
        sender.join().unwrap().expect("sent");
        then.join().unwrap().expect("done");
    });
    let seen = recorder.lock();
    assert_eq!(seen.buffers.len(), 1);
    let b = &seen.buffers[0];
    assert!(b.status.is_success() && !b.released, "back from the VideoCore, not refused: {b:?}");
    drop(seen);
    let sent = device.sent.lock();
    let position =
        |ty: u32| sent.iter().rposition(|m| u32::from_le_bytes(m[4..8].try_into().unwrap()) == ty).expect("sent");
    assert!(
        position(vchiq_sys::MMAL_MSG_TYPE_BUFFER_FROM_HOST) < position(then_type),
        "the buffer's message went to the device first"
    );
    drop(sent);
    client.close().unwrap();
}

/// Holds the delivery thread on the buffer tagged 1 until let go, sends a
/// buffer tagged 2 straight back to its port until stopped, and records
/// each buffer's tag and whether the client released it, and each event.
#[derive(Default)]
struct Gate {
    /// Whether the handler holds the buffer tagged 1; whether it may go.
    hold: (Mutex<(bool, bool)>, parking_lot::Condvar),
    stop: std::sync::atomic::AtomicBool,
    seen: Mutex<Vec<(u64, bool)>>,
    /// The events' commands.
    events: Mutex<Vec<u32>>,
}

impl Gate {
    fn holding(&self) -> bool {
        self.hold.0.lock().0
    }

    fn let_go(&self) {
        self.hold.0.lock().1 = true;
        self.hold.1.notify_all();
    }
}

impl mmal_vchiq::Handler for Gate {
    fn event(&self, _: &Client, event: mmal_vchiq::Event) {
        self.events.lock().push(event.cmd);
    }

    fn buffer(&self, client: &Client, b: mmal_vchiq::Returned) {
        self.seen.lock().push((b.tag, b.released));
        if b.tag == 1 {
            let mut st = self.hold.0.lock();
            st.0 = true;
            while !st.1 {
                self.hold.1.wait(&mut st);
            }
        } else if let (2, false, mmal_vchiq::Memory::Host(data)) = (b.tag, b.released, b.memory) {
            if !self.stop.load(std::sync::atomic::Ordering::SeqCst) {
                let _ = client.send_buffer(&b.port, BufferToSend { tag: 2, ..BufferToSend::input(data, b.alloc_size) });
            }
        }
    }
}

/// The VideoCore gives a destroyed component's handle to the next one at
/// once, while the client may still be draining the destroyed one's
/// buffers (one is held in the handler here). A create on another thread
/// waits for that drain: else the new component's buffers, under the same
/// handle, would be drained as the old one's, and released when the drain
/// times out, while the VideoCore still has them.
#[test]
fn a_create_waits_for_the_drain_of_a_destroy_whose_handle_it_gets() {
    let _s = serial();
    let connection = connect();
    let gate = Arc::new(Gate::default());
    let mut options = client_options();
    // Past the handler's hold below: the destroy's own drain ends in time.
    options.drain_timeout = std::time::Duration::from_secs(3);
    let client = Client::open_with(&connection, options, Arc::clone(&gate)).unwrap();
    let old = sink_input(&client, 64);
    client.port_enable(&old.port, 0, 0).unwrap();
    let held = BufferToSend { tag: 1, ..BufferToSend::input(vec![1; 8], old.buffer_size) };
    client.send_buffer(&old.port, held).unwrap();
    wait_until("the handler holding the old sink's buffer", || gate.holding());
    let new = std::thread::scope(|s| {
        let destroy = s.spawn(|| client.component_destroy(old.port.component));
        wait_until("the old sink destroyed by the VideoCore", || vchiq_emu::component_id(old.port.component).is_none());
        let (sent, sent_rx) = std::sync::mpsc::channel();
        let client = &client;
        let create = s.spawn(move || {
            let new = sink_input(client, 64);
            client.port_enable(&new.port, 0, 0).unwrap();
            let ping = BufferToSend { tag: 2, ..BufferToSend::input(vec![2; 8], new.buffer_size) };
            client.send_buffer(&new.port, ping).unwrap();
            sent.send(()).unwrap();
            new
        });
        // The create waits for the destroy (which waits for the handler):
        // this only gives a create that does not wait the time to send.
        let _ = sent_rx.recv_timeout(std::time::Duration::from_secs(1));
        gate.let_go();
        destroy.join().unwrap().expect("the old sink destroyed and drained");
        create.join().unwrap()
    });
    assert_eq!(new.port.component, old.port.component, "the handle given again (else this proves nothing)");
    wait_until("the new sink's buffer back 20 times", || gate.seen.lock().iter().filter(|s| s.0 == 2).count() >= 20);
    gate.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    client.component_destroy(new.port.component).unwrap();
    let seen = gate.seen.lock().clone();
    assert_eq!(seen[0], (1, false));
    assert!(seen[1..].iter().all(|s| s.0 == 2));
    let released = seen.iter().filter(|s| s.1).count();
    assert_eq!(released, 0, "the new sink's buffer released by the old one's drain (of {} returns)", seen.len());
    client.close().unwrap();
}

/// An event the VideoCore sent before it answered a port's disable (the
/// firmware sends a port's queued events before it disables it) reaches
/// the handler before the disable returns, even behind a handler that
/// holds the delivery thread, as libmmal's disable runs the callbacks
/// queued for the component first. picamera reads a camera's error event
/// that way when it closes a camera whose enable failed.
#[test]
fn an_event_sent_before_a_disable_answered_is_delivered_before_it_returns() {
    let _s = serial();
    let connection = connect();
    let gate = Arc::new(Gate::default());
    let client = Client::open_with(&connection, client_options(), Arc::clone(&gate)).unwrap();
    let held = sink_input(&client, 64);
    client.port_enable(&held.port, 0, 0).unwrap();
    client
        .send_buffer(&held.port, BufferToSend { tag: 1, ..BufferToSend::input(vec![1; 8], held.buffer_size) })
        .unwrap();
    wait_until("the handler holding the delivery thread", || gate.holding());
    let other = client.component_create("null_sink").unwrap();
    let control = client.port_info_get(other.handle, mmal_vchiq::PortType::Control, 0).unwrap().port;
    client.port_enable(&control, 0, 0).unwrap();
    let id = vchiq_emu::component_id(other.handle).expect("live");
    assert!(mmal_emu::post_event(id, mmal_emu::TestEvent::Error(sys::MMAL_ENOSPC)));
    let events_when_disabled = std::thread::scope(|s| {
        let (done, done_rx) = std::sync::mpsc::channel();
        let (client, gate, control) = (&client, &gate, &control);
        let disable = s.spawn(move || {
            client.port_disable(control).unwrap();
            let events = gate.events.lock().clone();
            done.send(()).unwrap();
            events
        });
        // The disable waits for the event, which waits behind the handler:
        // this only gives a disable that does not wait the time to return.
        let _ = done_rx.recv_timeout(std::time::Duration::from_millis(500));
        gate.let_go();
        disable.join().unwrap()
    });
    assert_eq!(events_when_disabled, [sys::MMAL_EVENT_ERROR], "the event was delivered before the disable returned");
    client.component_destroy(other.handle).unwrap();
    client.close().unwrap();
}

/// Disables its component's control port from the handler, on the first
/// event, and says how that went.
struct DisableOnEvent {
    control: Mutex<Option<mmal_vchiq::PortRef>>,
    done: Mutex<Option<std::sync::mpsc::Sender<mmal_vchiq::Result<()>>>>,
}

impl mmal_vchiq::Handler for DisableOnEvent {
    fn buffer(&self, _: &Client, _: mmal_vchiq::Returned) {}

    fn event(&self, client: &Client, _: mmal_vchiq::Event) {
        if let (Some(control), Some(done)) = (self.control.lock().take(), self.done.lock().take()) {
            let _ = done.send(client.port_disable(&control));
        }
    }
}

/// A disable from the handler, of the port whose event it is handling,
/// does not wait for that event (the handler has it): it returns at once,
/// where it would wait out the drain timeout.
#[test]
fn a_disable_from_the_event_handler_does_not_wait_for_its_own_event() {
    let _s = serial();
    let connection = connect();
    let (done, done_rx) = std::sync::mpsc::channel();
    let handler = Arc::new(DisableOnEvent { control: Mutex::new(None), done: Mutex::new(Some(done)) });
    let mut options = client_options();
    options.drain_timeout = std::time::Duration::from_secs(60);
    let client = Client::open_with(&connection, options, Arc::clone(&handler)).unwrap();
    let sink = client.component_create("null_sink").unwrap();
    let control = client.port_info_get(sink.handle, mmal_vchiq::PortType::Control, 0).unwrap().port;
    client.port_enable(&control, 0, 0).unwrap();
    *handler.control.lock() = Some(control);
    let id = vchiq_emu::component_id(sink.handle).expect("live");
    assert!(mmal_emu::post_event(id, mmal_emu::TestEvent::Error(sys::MMAL_EIO)));
    // A tenth of the drain timeout: a disable waiting for its own event
    // would still be waiting.
    let disabled = done_rx.recv_timeout(std::time::Duration::from_secs(6)).expect("the disable returned");
    disabled.unwrap();
    client.component_destroy(sink.handle).unwrap();
    client.close().unwrap();
}
