//! FORMAT_CHANGED on output ports: the component sets a port's format
//! itself (decoders, encoders and the ISP do) and says so with an event on
//! that port. The client applies it as libmmal's connection code does: in
//! band when the port's buffers fit (commit while enabled), else by
//! disabling the port, committing, and enabling it with new buffers.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{emu, serial, video_stream, WAIT};
use mmal::emulator::TestEvent;
use mmal::params::Capture;
use mmal::{Component, Connection, ConnectionFlags, Encoding, Error, Event, Format, FrameStream, StreamItem};

fn i420(width: u32, height: u32) -> Format {
    Format::video(Encoding::I420, width, height).with_frame_rate(30)
}

fn change(component: &Component, output: u32, width: u32, height: u32) {
    let event = TestEvent::OutputFormatChanged { output, encoding: Encoding::I420.to_raw(), width, height };
    assert!(emu::post_event(component.id(), event), "the emulator took the change");
}

/// Reads the stream until the format change; returns the new format and
/// the smallest buffer it needs.
fn until_format_change(stream: &FrameStream) -> (Format, u32) {
    loop {
        match stream.next_item_timeout(WAIT).expect("frames, then the event") {
            StreamItem::Frame(_) => {}
            StreamItem::Event(Event::FormatChanged { format, buffer_size_min, .. }) => {
                return (format, buffer_size_min)
            }
            StreamItem::Event(other) => panic!("unexpected event {other:?}"),
            other => panic!("unexpected item {other:?}"),
        }
    }
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_smaller_format_is_applied_in_band_and_frames_follow_it() {
    let _s = serial();
    let (camera, stream) = video_stream(&i420(640, 480), 3);
    let video = camera.output(1).unwrap();
    let first = stream.next_timeout(WAIT).unwrap();
    assert_eq!(first.len(), 640 * 480 * 3 / 2);
    let size_before = video.buffer_requirements().size;
    change(&camera, 1, 320, 240);
    let (format, size_min) = until_format_change(&stream);
    assert_eq!(format.visible(), (320, 240));
    assert_eq!(size_min, 320 * 240 * 3 / 2);
    // Applied before the event was handed over, in band: the port kept its
    // buffers and stayed enabled.
    assert_eq!(stream.format(), format);
    assert_eq!(video.format().visible(), (320, 240));
    assert!(video.is_enabled());
    assert_eq!(video.buffer_requirements().size, size_before, "the same buffers");
    for _ in 0..3 {
        assert_eq!(stream.next_timeout(WAIT).unwrap().len(), 320 * 240 * 3 / 2);
    }
    // The frame taken before the change is intact.
    assert_eq!(first.len(), 640 * 480 * 3 / 2);
}

#[test]
fn a_larger_format_gets_new_buffers_and_old_frames_stay_valid() {
    let _s = serial();
    let pools_before = emu::usage().pools;
    {
        let (camera, stream) = video_stream(&i420(320, 240), 3);
        let video = camera.output(1).unwrap();
        let events = camera.events().unwrap();
        let held = stream.next_timeout(WAIT).unwrap();
        assert_eq!(video.buffer_requirements().size, 320 * 240 * 3 / 2, "the stream's buffers fit its format");
        change(&camera, 1, 640, 480);
        let (format, size_min) = until_format_change(&stream);
        assert_eq!(format.visible(), (640, 480));
        assert_eq!(size_min, 640 * 480 * 3 / 2);
        assert!(video.is_enabled(), "enabled again after the new buffers");
        assert!(video.buffer_requirements().size >= size_min);
        for _ in 0..3 {
            assert_eq!(stream.next_timeout(WAIT).unwrap().len(), 640 * 480 * 3 / 2);
        }
        // A frame of the old pool, held across the change, is still whole,
        // and going back to its retired pool does not disturb the stream.
        assert_eq!(held.len(), 320 * 240 * 3 / 2);
        drop(held);
        assert_eq!(stream.next_timeout(WAIT).unwrap().len(), 640 * 480 * 3 / 2);
        // The port filled no buffer too small for the new format while it
        // waited for new ones: no error came on the control port.
        assert_eq!(events.try_next(), None);
    }
    wait_until("the pools to be destroyed", || emu::usage().pools == pools_before);
}

#[test]
fn next_timeout_applies_changes_without_showing_them() {
    let _s = serial();
    let (camera, stream) = video_stream(&i420(320, 240), 2);
    stream.next_timeout(WAIT).unwrap();
    change(&camera, 1, 480, 360);
    let deadline = Instant::now() + WAIT;
    loop {
        let frame = stream.next_timeout(WAIT).unwrap();
        if frame.len() == 480 * 368 * 3 / 2 {
            break;
        }
        assert_eq!(frame.len(), 320 * 240 * 3 / 2, "only old or new frames");
        assert!(Instant::now() < deadline);
    }
    assert_eq!(stream.format().visible(), (480, 360));
}

#[test]
fn a_failed_reconfiguration_ends_the_stream_with_the_reason() {
    let _s = serial();
    let (camera, stream) = video_stream(&i420(160, 120), 2);
    stream.next_timeout(WAIT).unwrap();
    change(&camera, 1, 640, 480);
    emu::fail_next_port_disable();
    let e = loop {
        match stream.next_item_timeout(WAIT) {
            Ok(StreamItem::Frame(_)) => continue,
            Ok(other) => panic!("the change cannot be applied, yet {other:?}"),
            Err(e) => break e,
        }
    };
    assert!(matches!(&e, Error::Mmal { call: "mmal_port_disable", .. }), "{e}");
    // Sticky: the stream has ended, and disabling reports the same failure.
    assert!(matches!(stream.next_timeout(WAIT), Err(Error::StreamEnded(_))));
    assert!(matches!(stream.disable(), Err(Error::Mmal { call: "mmal_port_disable", .. })));
    // The port and its buffers are leaked on purpose; the component is not
    // released while its port may still call back.
    std::mem::forget(stream);
    std::mem::forget(camera);
}

#[test]
fn a_callback_sees_the_event_and_then_frames_in_the_new_format() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let video = camera.output(1).unwrap();
    video.set_format(&i420(320, 240)).unwrap();
    let seen: Arc<Mutex<Vec<Result<usize, Format>>>> = Arc::default();
    let log = seen.clone();
    let port = video
        .enable_callback(move |buffer| {
            let entry = match buffer.event() {
                Some(Event::FormatChanged { format, .. }) => Err(*format),
                Some(other) => panic!("unexpected event {other:?}"),
                None => Ok(buffer.data().len()),
            };
            log.lock().unwrap().push(entry);
        })
        .unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    wait_until("a frame", || !seen.lock().unwrap().is_empty());
    change(&camera, 1, 640, 480);
    wait_until("frames in the new format", || {
        seen.lock().unwrap().iter().filter(|e| **e == Ok(640 * 480 * 3 / 2)).count() >= 2
    });
    port.check().unwrap();
    let seen = seen.lock().unwrap();
    let event = seen.iter().position(Result::is_err).expect("the event reached the callback");
    assert_eq!(seen[event].unwrap_err().visible(), (640, 480));
    assert!(seen[..event].iter().all(|e| *e == Ok(320 * 240 * 3 / 2)), "old frames before the event");
    assert!(seen[event + 1..].iter().all(|e| *e == Ok(640 * 480 * 3 / 2)), "new frames after it");
    assert_eq!(video.format().visible(), (640, 480));
}

#[test]
fn a_tunnel_carries_the_change_to_the_input() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let resize = Component::new("vc.ril.resize").unwrap();
    let video = camera.output(1).unwrap();
    video.set_format(&i420(320, 240)).unwrap();
    let input = resize.input(0).unwrap();
    let out = resize.output(0).unwrap();
    let link = Connection::new(&video, &input, ConnectionFlags::default()).unwrap();
    out.set_format(&i420(160, 120)).unwrap();
    let stream = out.enable_stream(2).unwrap();
    resize.enable().unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    stream.next_timeout(WAIT).unwrap();
    // Smaller: the tunnel's buffers fit, the input takes the format.
    change(&camera, 1, 256, 192);
    // Over VCHIQ the tunnel is the VideoCore's own: the change is applied
    // there, and the host's copies of the two ports are not told (as with
    // libmmal's VC client); the frames below show it was applied.
    if mmal::provider().unwrap() != mmal::Provider::Vchiq {
        wait_until("the input to take the new format", || input.format().visible() == (256, 192));
        assert_eq!(video.format().visible(), (256, 192), "libmmal's core commits it on the output too");
    }
    // The resizer goes on scaling the new input to its output.
    for _ in 0..3 {
        assert_eq!(stream.next_timeout(WAIT).unwrap().len(), 160 * 128 * 3 / 2);
    }
    drop(stream);
    drop(link);
}

#[test]
fn a_connection_through_the_client_reconfigures_itself() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let sink = Component::new("vc.null_sink").unwrap();
    let video = camera.output(1).unwrap();
    video.set_format(&i420(160, 120)).unwrap();
    let last = Arc::new(AtomicU64::new(0));
    let seen = last.clone();
    let link = Connection::through_client(&video, &sink.input(0).unwrap(), move |buffer| {
        seen.store(buffer.data().len() as u64, Ordering::Relaxed);
    })
    .unwrap();
    sink.enable().unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    wait_until("frames through the client", || link.passed() >= 2);
    // Larger than the connection's buffers: disabled, committed on both
    // ends, enabled with a new pool.
    change(&camera, 1, 640, 480);
    wait_until("the reconfiguration", || link.format_changes() == 1);
    link.check().unwrap();
    assert!(link.is_enabled());
    assert_eq!(sink.input(0).unwrap().format().visible(), (640, 480));
    assert!(video.buffer_requirements().size >= 640 * 480 * 3 / 2);
    wait_until("frames in the new format", || last.load(Ordering::Relaxed) == 640 * 480 * 3 / 2);
    let passed = link.passed();
    wait_until("the flow to go on", || link.passed() > passed + 2);
}
