//! The VCHIQ provider's soak: 10 000 cycles (`MMAL_SOAK_CYCLES` sets
//! another number) of components and streams over `/dev/vchiq`, with stills
//! and recordings through `Camera` every 100th cycle, frames held and
//! released in a shuffled order, ports disabled mid-stream (a stream
//! dropped while frames flow, with frames of it still held), and half the
//! streams zero copy (frames in VCSM blocks the VideoCore writes in place),
//! leave nothing behind: no buffer out under a cookie, no component on the
//! VideoCore, thread, file descriptor, emulator object, VCSM block or
//! mapping of one.
//!
//! Only through the VCHIQ provider (`VIDEOCORE=vchiq
//! VIDEOCORE_VCHIQ_DEVICE=emulated`, as CI runs the suite); with another
//! provider it has nothing to soak and says so. Alone in its binary so
//! that nothing else runs meanwhile.

use std::time::Duration;

mod common;

use common::{count, emu, vcsm_mappings, Rng};
use mmal::emulator::Pacing;
use mmal::params::{Capture, ZeroCopy};
use mmal::{Camera, CameraOptions, Component, Encoding, Format, Provider, RecorderConfig};

fn stream_cycle(i: usize, rng: &mut Rng) {
    let camera = Component::new("vc.ril.camera").unwrap();
    let video = camera.output(1).unwrap();
    video.set_format(&Format::video(Encoding::I420, 64, 48).with_frame_rate(30)).unwrap();
    // Two cycles of four bulk, two zero copy: each kind is disabled both
    // ways below.
    let zero_copy = i % 4 >= 2;
    if zero_copy {
        video.set(&ZeroCopy(true)).unwrap();
    }
    let received = || mmal_emu::vchiq_stats().map(|s| s.bytes_received);
    let before = received();
    let frames = video.enable_stream(4).unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    let mut held = Vec::new();
    for _ in 0..(1 + rng.next() % 3) {
        let frame = frames.next_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(frame.len(), 64 * 48 * 3 / 2);
        held.push(frame);
    }
    if zero_copy {
        // The frames were written in place: nothing came by bulk.
        assert_eq!(received(), before, "cycle {i}: a zero-copy stream's frames came by bulk");
    } else {
        assert!(received() > before, "cycle {i}: the frames came by bulk");
    }
    rng.shuffle(&mut held);
    // Some frames go back before the port is disabled, in a shuffled
    // order; the rest outlive their stream and component.
    let keep = held.split_off(held.len() / 2);
    drop(held);
    if i % 2 == 0 {
        // Disabled mid-stream: the capture still running.
        drop(frames);
        drop(camera);
    } else {
        video.set(&Capture(false)).unwrap();
        drop(frames);
    }
    drop(keep);
}

fn camera_cycle() {
    let camera = Camera::open(0, &CameraOptions::new().resolution(160, 120)).unwrap();
    assert_eq!(&camera.capture_jpeg().unwrap()[..2], &[0xff, 0xd8]);
    let mut recording = camera.start_recording(Vec::new(), &RecorderConfig::h264(160, 120)).unwrap();
    recording.wait(Duration::from_millis(50)).unwrap();
    assert!(!recording.stop().unwrap().is_empty());
}

fn cookies_out() -> (usize, usize) {
    let stats = mmal_emu::vchiq_stats().expect("the VCHIQ client is installed");
    (stats.buffers_in_flight, stats.components)
}

#[test]
fn ten_thousand_cycles_over_vchiq_leave_nothing() {
    common::emulated();
    if mmal::provider().unwrap() != Provider::Vchiq {
        eprintln!("the VCHIQ provider's soak: not the VCHIQ provider here, nothing to soak");
        return;
    }
    let cycles: usize = std::env::var("MMAL_SOAK_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    emu::set_pacing(Pacing::Unlimited);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Warm up: first-use allocations and threads.
    stream_cycle(0, &mut rng);
    stream_cycle(2, &mut rng);
    emu::set_pacing(Pacing::FrameRate);
    camera_cycle();
    emu::set_pacing(Pacing::Unlimited);
    let threads = common::settled_threads();
    let fds = count("/proc/self/fd");
    let vcsm = emu::vcsm_usage();
    let mappings = vcsm_mappings();
    for i in 0..cycles {
        stream_cycle(i, &mut rng);
        if i % 100 == 99 {
            // At the frame rate: the still port needs it (see camera_leaks).
            emu::set_pacing(Pacing::FrameRate);
            camera_cycle();
            emu::set_pacing(Pacing::Unlimited);
        }
    }
    assert_eq!(cookies_out(), (0, 0), "buffers out under a cookie, components on the VideoCore");
    let usage = emu::usage();
    assert_eq!((usage.components, usage.pools, usage.connections), (0, 0, 0), "{usage:?}");
    assert_eq!(common::threads_back_to(threads), threads, "threads");
    assert_eq!(count("/proc/self/fd"), fds, "file descriptors");
    assert_eq!(emu::vcsm_usage(), vcsm, "VCSM blocks and bytes");
    assert_eq!(vcsm_mappings(), mappings, "mappings of VCSM blocks");
    assert_eq!(mmal_emu::vchiq_stats().map(|s| s.stale_buffers), Some(0), "stale cookies");
}
