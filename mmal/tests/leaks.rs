//! 1 000 cycles of create → configure → stream 10 frames → destroy leave
//! nothing behind: threads, file descriptors, mappings, emulated VCSM, the
//! emulator's objects, or heap (this program's: the software VideoCore's C
//! library, when the loader runs it, has an allocator of its own). Alone in
//! its binary so that nothing else runs meanwhile.

use std::time::Duration;

mod common;

use common::{count, emu, vcsm_mappings as mappings};
use mmal::emulator::Pacing;
use mmal::params::{AnalogGain, CameraConfig, Capture, ShutterSpeed, ZeroCopy};
use mmal::{Component, Connection, ConnectionFlags, Encoding, Format};

#[global_allocator]
static ALLOCATOR: common::Counting = common::Counting;

fn cycle(i: usize) {
    let camera = Component::new("vc.ril.camera").unwrap();
    let sink = Component::new("vc.null_sink").unwrap();
    let events = camera.events().unwrap();
    let control = camera.control();
    control.set(&CameraConfig::for_size(640, 480)).unwrap();
    control.set(&ShutterSpeed(10_000 + i as u32)).unwrap();
    control.set(&AnalogGain(1.0 + (i % 4) as f64)).unwrap();
    let preview = camera.output(0).unwrap();
    preview.set_format(&Format::video(Encoding::OPAQUE, 320, 240)).unwrap();
    // Tunnelled, or through this process, in turn.
    let link = if i % 2 == 0 {
        Connection::new(&preview, &sink.input(0).unwrap(), ConnectionFlags::default()).unwrap()
    } else {
        Connection::through_client(&preview, &sink.input(0).unwrap(), |b| assert!(!b.data().is_empty())).unwrap()
    };
    sink.enable().unwrap();
    let video = camera.output(1).unwrap();
    // Zero copy: payloads from the components' VCSM memory, one per process.
    video.set(&ZeroCopy(i % 2 == 0)).unwrap();
    video.set_format(&Format::video(Encoding::I420, 64, 48).with_frame_rate(30)).unwrap();
    let frames = video.enable_stream(3).unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    for _ in 0..10 {
        let frame = frames.next_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(frame.len(), 64 * 48 * 3 / 2);
    }
    drop(frames);
    drop(link);
    drop(events);
}

#[test]
fn a_thousand_camera_cycles_leak_nothing() {
    if std::env::var_os("VIDEOCORE").is_none() {
        std::env::set_var("VIDEOCORE", "emulated");
    }
    emu::set_pacing(Pacing::Unlimited);
    // Warm up: first-use allocations (the provider, the VCSM pool, logging).
    for i in 0..3 {
        cycle(i);
    }
    let threads = common::settled_threads();
    let fds = count("/proc/self/fd");
    let maps = mappings();
    let vcsm_before = emu::vcsm_usage();
    let mut heap = common::live_bytes();
    if mmal::provider().unwrap() == mmal::Provider::Vchiq {
        // Over VCHIQ the client's queues and cookie slab grow to the most
        // buffers ever out at once, which a loaded machine reaches late:
        // measured over a second thousand cycles, growth is a leak.
        for i in 0..1000 {
            cycle(i);
        }
        heap = common::live_bytes();
    }
    for i in 0..1000 {
        cycle(i);
    }
    let usage = emu::usage();
    assert_eq!((usage.components, usage.threads, usage.pools, usage.connections), (0, 0, 0, 0), "{usage:?}");
    assert_eq!(common::threads_back_to(threads), threads, "threads");
    assert_eq!(count("/proc/self/fd"), fds, "file descriptors");
    assert_eq!(mappings(), maps, "VCSM mappings");
    assert_eq!(emu::vcsm_usage(), vcsm_before, "VCSM blocks and bytes");
    let growth = common::live_bytes() - heap;
    assert!(growth.abs() < 4096, "heap grew by {growth} bytes over 1000 cycles");
}
