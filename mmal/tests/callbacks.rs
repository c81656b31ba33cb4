//! Callbacks on MMAL's threads: panics, disabling from inside, slow readers.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{serial, WAIT};
use mmal::params::Capture;
use mmal::{Component, Encoding, Error, Format};

fn camera_with_video(width: u32, height: u32, fps: u32) -> (Component, mmal::Port) {
    let camera = Component::new("vc.ril.camera").unwrap();
    let video = camera.output(1).unwrap();
    video.set_format(&Format::video(Encoding::I420, width, height).with_frame_rate(fps)).unwrap();
    (camera, video)
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_panicking_callback_is_caught_and_reported() {
    let _s = serial();
    let (camera, video) = camera_with_video(64, 48, 60);
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let port = video
        .enable_callback(move |buffer| {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            assert!(!buffer.data().is_empty());
            if n == 2 {
                panic!("third frame refused");
            }
        })
        .unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    wait_until("the panic", || port.check().is_err());
    match port.check() {
        Err(Error::CallbackPanicked { message, .. }) => assert_eq!(message, "third frame refused"),
        other => panic!("{other:?}"),
    }
    // The callback is not called again, and the port still disables cleanly.
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    port.disable().unwrap();
    assert!(!video.is_enabled());
}

#[test]
fn disabling_from_the_components_own_callback_is_an_error_not_a_deadlock() {
    let _s = serial();
    let (camera, video) = camera_with_video(64, 48, 60);
    let results: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = results.clone();
    let inner = camera.clone();
    let port = video
        .enable_callback(move |_| {
            let mut r = sink.lock().unwrap();
            if r.is_empty() {
                let message = |result: Result<(), Error>| match result {
                    Err(e @ Error::WouldDeadlock(_)) => e.to_string(),
                    other => format!("unexpected: {other:?}"),
                };
                // Everything that takes the component's configuration lock,
                // which a disabling thread holds while it waits for us.
                let preview = inner.output(0).unwrap();
                r.push(message(inner.disable()));
                r.push(message(inner.enable()));
                r.push(message(preview.set_format(&Format::video(Encoding::I420, 32, 32))));
                r.push(message(preview.set_buffers(2, 4096)));
                r.push(message(preview.enable_stream(2).map(drop)));
            }
        })
        .unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    wait_until("a callback", || !results.lock().unwrap().is_empty());
    let messages = results.lock().unwrap().clone();
    assert_eq!(messages.len(), 5);
    for message in &messages {
        assert!(message.contains("own callback"), "{message}");
    }
    // From another thread it works.
    port.disable().unwrap();
    camera.disable().unwrap();
}

#[test]
fn a_slow_reader_drops_frames_without_stalling_the_camera() {
    let _s = serial();
    let (camera, video) = camera_with_video(64, 48, 200);
    let frames = video.enable_stream(3).unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    // Read nothing for a while: the camera keeps delivering and the stream
    // keeps only the newest frames.
    std::thread::sleep(Duration::from_millis(300));
    assert!(frames.dropped() > 5, "dropped {}", frames.dropped());
    let received = frames.received();
    let mut last = 0;
    for _ in 0..5 {
        let frame = frames.next_timeout(WAIT).unwrap();
        let pts = frame.pts().unwrap();
        assert!(pts > last);
        last = pts;
    }
    assert!(frames.received() > received);
    frames.disable().unwrap();
    assert!(matches!(frames.next_timeout(Duration::from_millis(10)), Err(Error::StreamEnded(_))));
}

#[test]
fn frames_outlive_their_stream_and_component_handles() {
    let _s = serial();
    let (camera, video) = camera_with_video(64, 48, 60);
    let frames = video.enable_stream(2).unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    let frame = frames.next_timeout(WAIT).unwrap();
    let copy = frame.to_vec();
    drop(frames);
    drop(video);
    drop(camera);
    // The frame still holds its pool and component.
    assert_eq!(&frame[..], &copy[..]);
    let before = common::emu::usage();
    drop(frame);
    let after = common::emu::usage();
    // Over VCHIQ with the emulated device in this process, a component is
    // two of the emulator's: the client's and the firmware's.
    let per = if mmal::provider().unwrap() == mmal::Provider::Vchiq { 2 } else { 1 };
    assert_eq!(after.components + per, before.components);
}

#[test]
fn a_failed_disable_keeps_the_stream_and_its_buffers_alive() {
    let _s = serial();
    let (camera, video) = camera_with_video(64, 48, 60);
    let frames = video.enable_stream(2).unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    frames.next_timeout(WAIT).unwrap();
    let before = common::emu::usage();

    // The VideoCore stops answering: the port stays enabled and may still
    // call back, so the stream's state and pool must stay where they are.
    common::emu::fail_next_port_disable();
    let e = frames.disable().unwrap_err();
    assert_eq!(e.status(), Some(mmal::Status::Io), "{e}");
    assert!(video.is_enabled());
    // Failure is not forgotten.
    assert_eq!(frames.disable().unwrap_err().status(), Some(mmal::Status::Io));
    // Buffers keep coming back to the kept state, and dropping every handle
    // frees nothing the port may use: the component and its pool live on.
    std::thread::sleep(Duration::from_millis(50));
    drop(frames);
    std::thread::sleep(Duration::from_millis(50));
    video.set(&Capture(false)).unwrap();
    camera.disable().unwrap();
    drop(video);
    drop(camera);
    let after = common::emu::usage();
    assert_eq!((after.components, after.pools), (before.components, before.pools), "{before:?} -> {after:?}");
}

#[test]
fn dropping_a_stream_inside_its_components_callback_releases_it_afterwards() {
    let _s = serial();
    let (camera, video) = camera_with_video(64, 48, 60);
    let preview = camera.output(0).unwrap();
    preview.set_format(&Format::video(Encoding::I420, 64, 48).with_frame_rate(60)).unwrap();
    let slot = Arc::new(Mutex::new(Some(preview.enable_stream(2).unwrap())));
    let taken = slot.clone();
    let calls = video
        .enable_callback(move |_| {
            // The preview stream's last handle goes on the camera's thread.
            drop(taken.lock().unwrap().take());
        })
        .unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    wait_until("the callback", || slot.lock().unwrap().is_none());
    // Released by another thread once the callback returned: no deadlock,
    // and nothing left enabled.
    wait_until("the preview port to be disabled", || !preview.is_enabled());
    wait_until("more frames", || calls.calls() > 3);
    calls.check().unwrap();
    drop(calls);
    assert!(!video.is_enabled());
}

#[test]
fn callbacks_may_read_their_port_while_another_thread_disables_it() {
    let _s = serial();
    let (camera, video) = camera_with_video(64, 48, 60);
    let port = video.clone();
    let reads = Arc::new(AtomicUsize::new(0));
    let seen = reads.clone();
    let callback = video
        .enable_callback(move |_| {
            assert_eq!(port.format().visible(), (64, 48));
            assert!(port.buffer_requirements().size_min > 0);
            std::thread::sleep(Duration::from_millis(2));
            seen.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    wait_until("a few callbacks", || reads.load(Ordering::SeqCst) > 2);
    // Disabling waits for the callback in progress, which reads the port's
    // fields: neither may wait for the other.
    let disable = std::thread::spawn(move || callback.disable());
    wait_until("the disable", || disable.is_finished());
    disable.join().unwrap().unwrap();
    assert!(!video.is_enabled());
}
