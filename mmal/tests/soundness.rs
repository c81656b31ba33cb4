//! Interleavings that once reached freed memory or hung: a connection and a
//! stream racing for one port, a connection's closure configuring the
//! input while the connection is dropped, streams on input ports, and a
//! leaked connection's ports seen in a new component.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{emu, serial, WAIT};
use mmal::emulator::Pacing;
use mmal::params::Capture;
use mmal::{Component, Connection, ConnectionFlags, Encoding, Error, Format};

/// Runs `scenario` on a thread of its own and waits for it at most
/// `limit`: a hang fails the test instead of stalling the run.
fn bounded(limit: Duration, scenario: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        scenario();
        let _ = done.send(());
    });
    match finished.recv_timeout(limit) {
        Ok(()) => thread.join().unwrap(),
        // The scenario panicked: report its panic.
        Err(mpsc::RecvTimeoutError::Disconnected) => std::panic::resume_unwind(thread.join().unwrap_err()),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the scenario did not finish within {limit:?}: a deadlock"),
    }
}

fn small() -> Format {
    Format::video(Encoding::I420, 64, 48).with_frame_rate(30)
}

/// `enable_stream` and `Connection::new` on one output from two threads:
/// exactly one wins, and the stream (if it won) keeps working. Before, the
/// connection checked that the port was disabled before taking the
/// configuration locks, connected the stream's port, overwrote its
/// `userdata` (the stream's sink) and freed itself: the next callback, or
/// the stream's drop, read freed memory.
#[test]
fn a_stream_and_a_connection_racing_for_one_output_one_wins() {
    let _s = serial();
    emu::set_pacing(Pacing::Unlimited);
    let (mut streams, mut connections) = (0, 0);
    for _ in 0..200 {
        let camera = Component::new("vc.ril.camera").unwrap();
        let sink = Component::new("vc.null_sink").unwrap();
        let video = camera.output(1).unwrap();
        video.set_format(&small()).unwrap();
        let start = Arc::new(Barrier::new(2));
        let (port, go) = (video.clone(), start.clone());
        let stream = std::thread::spawn(move || {
            go.wait();
            port.enable_stream(2)
        });
        start.wait();
        let link = Connection::new(&video, &sink.input(0).unwrap(), ConnectionFlags::default());
        let stream = stream.join().unwrap();
        match (&stream, &link) {
            (Ok(stream), Err(e)) => {
                assert!(matches!(e, Error::State(_)), "{e}");
                streams += 1;
                camera.enable().unwrap();
                video.set(&Capture(true)).unwrap();
                assert_eq!(stream.next_timeout(WAIT).unwrap().len(), 64 * 48 * 3 / 2);
            }
            (Err(e), Ok(_)) => {
                assert!(matches!(e, Error::State(_)), "{e}");
                connections += 1;
            }
            (stream, link) => panic!("one of the two must win: stream {stream:?}, connection {link:?}"),
        }
        drop(stream);
        drop(link);
    }
    emu::set_pacing(Pacing::FrameRate);
    println!("streams won {streams} times, connections {connections}");
}

/// Connecting an output a stream reads is refused with a clear error, and
/// the stream goes on.
#[test]
fn connecting_a_port_a_stream_reads_is_refused() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let sink = Component::new("vc.null_sink").unwrap();
    let video = camera.output(1).unwrap();
    video.set_format(&small()).unwrap();
    let frames = video.enable_stream(2).unwrap();
    for flags in [ConnectionFlags::default(), ConnectionFlags::ALLOCATION_ON_INPUT] {
        let e = Connection::new(&video, &sink.input(0).unwrap(), flags).unwrap_err();
        assert!(matches!(&e, Error::State(m) if m.contains("is enabled")), "{e}");
    }
    let e = Connection::through_client(&video, &sink.input(0).unwrap(), |_| {}).unwrap_err();
    assert!(matches!(e, Error::State(_)), "{e}");
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    for _ in 0..3 {
        frames.next_timeout(WAIT).unwrap();
    }
    // and the input stays free to connect.
    drop(frames);
    let _link = Connection::new(&video, &sink.input(0).unwrap(), ConnectionFlags::default()).unwrap();
}

/// A connection's closure that configures the input component while
/// another thread drops the connection gets `WouldDeadlock`. Before, the
/// closure was marked as a callback of the output component only: it
/// waited for the input's configuration lock, which the dropping thread
/// held while it waited for the closure, and both hung.
#[test]
fn a_connection_closure_configuring_the_input_while_dropped_does_not_hang() {
    let _s = serial();
    bounded(Duration::from_secs(60), || {
        for _ in 0..5 {
            let camera = Component::new("vc.ril.camera").unwrap();
            let sink = Component::new("vc.null_sink").unwrap();
            let video = camera.output(1).unwrap();
            video.set_format(&small()).unwrap();
            let input = sink.input(0).unwrap();
            let (deadlocks, others) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
            let (d, o, port, component) = (deadlocks.clone(), others.clone(), input.clone(), sink.clone());
            let link = Connection::through_client(&video, &input, move |_| {
                // Long enough for the dropping thread to take both locks.
                std::thread::sleep(Duration::from_millis(20));
                for result in [port.set_buffers(3, 1 << 16), component.disable(), port.set_format(&small())] {
                    match result {
                        Err(Error::WouldDeadlock(_)) => d.fetch_add(1, Ordering::SeqCst),
                        _ => o.fetch_add(1, Ordering::SeqCst),
                    };
                }
            })
            .unwrap();
            sink.enable().unwrap();
            camera.enable().unwrap();
            video.set(&Capture(true)).unwrap();
            while link.passed() < 2 {
                std::thread::sleep(Duration::from_millis(1));
            }
            // Dropped from another thread while the closure sleeps.
            std::thread::spawn(move || drop(link)).join().unwrap();
            assert!(deadlocks.load(Ordering::SeqCst) >= 6);
            assert_eq!(others.load(Ordering::SeqCst), 0, "configured the input from inside the closure");
            assert!(sink.is_enabled(), "the closure disabled the input component");
        }
    });
}

/// Streams and callbacks are for output (and control) ports: on an input
/// port they are refused. Before, the stream sent its empty buffers to the
/// input, which consumed them and gave them straight back, forever.
#[test]
fn streams_and_callbacks_on_an_input_port_are_refused() {
    let _s = serial();
    bounded(Duration::from_secs(30), || {
        for name in ["vc.null_sink", "vc.ril.video_encode", "vc.ril.resize"] {
            let component = Component::new(name).unwrap();
            let input = component.input(0).unwrap();
            let e = input.enable_stream(2).unwrap_err();
            assert!(matches!(&e, Error::InvalidParameter(m) if m.contains("input port")), "{e}");
            let e = input.enable_callback(|_| {}).unwrap_err();
            assert!(matches!(&e, Error::InvalidParameter(m) if m.contains("input port")), "{e}");
            assert!(!input.is_enabled());
        }
        // Output and control ports still work.
        let camera = Component::new("vc.ril.camera").unwrap();
        let _events = camera.events().unwrap();
        let _calls = camera.output(0).unwrap().enable_callback(|_| {}).unwrap();
    });
}

/// A connection whose destroy fails is leaked, and its ports stay listed as
/// connected; a new component must never find its ports among them. Before,
/// the list held port addresses while the components were released: the
/// next component made at the same address looked connected.
#[test]
fn a_leaked_connection_does_not_make_new_ports_look_connected() {
    let _s = serial();
    {
        let camera = Component::new("vc.ril.camera").unwrap();
        let sink = Component::new("vc.null_sink").unwrap();
        let video = camera.output(1).unwrap();
        video.set_format(&small()).unwrap();
        let link = Connection::new(&video, &sink.input(0).unwrap(), ConnectionFlags::default()).unwrap();
        // Destroying disables the tunnel's output, which now fails: the
        // connection is leaked, with both components.
        emu::fail_next_port_disable();
        drop(link);
    }
    for _ in 0..20 {
        let camera = Component::new("vc.ril.camera").unwrap();
        let sink = Component::new("vc.null_sink").unwrap();
        let video = camera.output(1).unwrap();
        video.set_format(&small()).unwrap();
        let link = Connection::new(&video, &sink.input(0).unwrap(), ConnectionFlags::default());
        assert!(link.is_ok(), "a new port looks connected: {:?}", link.unwrap_err());
        // A stream on the input's peer output too.
        drop(link);
        let frames = video.enable_stream(2);
        assert!(frames.is_ok(), "{:?}", frames.unwrap_err());
    }
}
