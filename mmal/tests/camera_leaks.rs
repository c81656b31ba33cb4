//! Cycles of open → frames (resized, and through a callback) → stills →
//! a short recording → errors → close leave nothing behind: components,
//! pools, connections, threads, file descriptors, VCSM, heap. Alone in its
//! binary so that nothing else runs meanwhile.

use std::time::Duration;

mod common;

use common::{count, emu};
use mmal::emulator::Pacing;
use mmal::{Camera, CameraOptions, Encoding, RecorderConfig, StillOptions};

#[global_allocator]
static ALLOCATOR: common::Counting = common::Counting;

fn cycle(i: usize) {
    let camera = Camera::open(0, &CameraOptions::new().resolution(160, 120)).unwrap();
    {
        let frames = camera.frames(Encoding::RGB24, 64, 48).unwrap();
        for frame in frames.take(3) {
            assert_eq!(frame.unwrap().as_array().unwrap().dim(), (48, 64, 3));
        }
    }
    let callback = camera.on_frames(Encoding::I420, 160, 120, |_| {}).unwrap();
    assert_eq!(&camera.capture_jpeg().unwrap()[..2], &[0xff, 0xd8]);
    if i % 2 == 0 {
        camera.capture_as(Encoding::PNG, &StillOptions::new().use_video_port(true)).unwrap();
    }
    let mut recording = camera.start_recording(Vec::new(), &RecorderConfig::h264(160, 120)).unwrap();
    recording.wait(Duration::from_millis(100)).unwrap();
    assert!(!recording.stop().unwrap().is_empty());
    callback.stop().unwrap();
    // Errors on the way leave nothing either.
    assert!(camera.frames(Encoding::JPEG, 64, 48).is_err());
    assert!(camera.capture("nowhere/x.jpg").is_err());
    assert!(camera.start_recording(Vec::new(), &RecorderConfig::h264(3000, 240)).is_err());
    if i % 3 == 0 {
        let mut scaled = camera.start_recording(Vec::new(), &RecorderConfig::h264(96, 64)).unwrap();
        scaled.wait(Duration::from_millis(50)).unwrap();
        drop(scaled);
    }
}

#[test]
fn camera_cycles_leak_nothing() {
    common::emulated();
    // At the frame rate: with frames as fast as they are taken, the
    // software VideoCore's still port can stall for good after the video
    // port's capture stops (left to the emulator).
    emu::set_pacing(Pacing::FrameRate);
    for i in 0..3 {
        cycle(i);
    }
    let threads = common::settled_threads();
    let fds = count("/proc/self/fd");
    let vcsm = emu::vcsm_usage();
    let heap = common::live_bytes();
    for i in 0..20 {
        cycle(i);
    }
    let usage = emu::usage();
    assert_eq!((usage.components, usage.threads, usage.pools, usage.connections), (0, 0, 0, 0), "{usage:?}");
    assert_eq!(common::threads_back_to(threads), threads, "threads");
    assert_eq!(count("/proc/self/fd"), fds, "file descriptors");
    assert_eq!(emu::vcsm_usage(), vcsm, "VCSM blocks and bytes");
    let growth = common::live_bytes() - heap;
    assert!(growth.abs() < 4096, "heap grew by {growth} bytes over 20 cycles");
}
