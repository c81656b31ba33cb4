//! Zero copy: frames of a port with `ZeroCopy` on are filled in VCSM
//! blocks this process maps, and over VCHIQ the client copies none of
//! their bytes (the VideoCore works in the block the buffer names), where
//! a port without it receives every frame by bulk transfer, straight into
//! the buffers' payloads (the client copies nothing there either).
//!
//! Alone in its binary, so that the client's byte counters see only these
//! streams.

use std::time::Duration;

mod common;

use common::emu;
use mmal::params::{Capture, ZeroCopy};
use mmal::{Component, Encoding, Format, Provider};

const WAIT: Duration = Duration::from_secs(10);
const FRAMES: u64 = 20;
const SIZE: (u32, u32) = (320, 240);

/// `FRAMES` frames of the emulated camera's video port, with or without
/// zero copy: the bytes the VCHIQ client received until the last of them
/// and those it copied into the buffers' payloads (`None` under another
/// provider), and the last frame's bytes.
fn stream(zero_copy: bool) -> (Option<(u64, u64)>, Vec<u8>) {
    let camera = Component::new("vc.ril.camera").unwrap();
    let video = camera.output(1).unwrap();
    video.set_format(&Format::video(Encoding::I420, SIZE.0, SIZE.1).with_frame_rate(30)).unwrap();
    if zero_copy {
        video.set(&ZeroCopy(true)).unwrap();
    }
    let blocks = emu::vcsm_usage().0;
    let frames = video.enable_stream(4).unwrap();
    // One block per buffer, and no more: over VCHIQ the VideoCore works in
    // the client's blocks, with no VCSM payloads of its own.
    let in_vcsm = emu::vcsm_usage().0 - blocks;
    assert_eq!(in_vcsm, if zero_copy { 4 } else { 0 }, "buffers in VCSM blocks, zero copy {zero_copy}");
    // Counted from before the first frame: a frame is counted when its
    // bulk transfer ends, before it is delivered, so the bytes counted by
    // the time the last frame is taken cover every frame taken (and may
    // include frames still queued behind it).
    let received = || mmal_emu::vchiq_stats().map(|s| (s.bytes_received, mmal_emu::vchiq_payload_copies()));
    let before = received();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    let mut last = Vec::new();
    for _ in 0..FRAMES {
        let frame = frames.next_timeout(WAIT).unwrap();
        assert_eq!(frame.len(), (SIZE.0 * SIZE.1 * 3 / 2) as usize);
        last = frame.to_vec();
    }
    let moved = received().zip(before).map(|(after, before)| (after.0 - before.0, after.1 - before.1));
    video.set(&Capture(false)).unwrap();
    (moved, last)
}

#[test]
fn zero_copy_frames_are_not_copied_by_the_client() {
    common::emulated();
    emu::set_pacing(mmal::emulator::Pacing::Unlimited);
    let (copied, plain) = stream(false);
    let (not_copied, shared) = stream(true);
    assert!(plain.iter().any(|&b| b != 0) && shared.iter().any(|&b| b != 0));
    assert_eq!(plain.len(), shared.len());
    if mmal::provider().unwrap() != Provider::Vchiq {
        assert_eq!((copied, not_copied), (None, None));
        return;
    }
    let frame = u64::from(SIZE.0 * SIZE.1 * 3 / 2);
    let (received, copied) = copied.unwrap();
    assert!(received >= FRAMES * frame, "{received} bytes received by bulk for {FRAMES} frames of {frame} bytes");
    assert_eq!(copied, 0, "bytes copied into the payloads the frames were received into");
    assert_eq!(not_copied, Some((0, 0)), "bytes received by bulk, and copied, for {FRAMES} zero-copy frames");
}
