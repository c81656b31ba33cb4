//! Recording started and stopped over and over leaves nothing behind:
//! threads, file descriptors, emulated VCSM, the emulator's objects, this
//! program's heap, or the C heap (glibc's `mallinfo2`, where OpenH264's
//! memory is). Alone in its binary so that nothing else runs meanwhile.
//!
//! Each cycle makes a [`Recorder`] (camera, encoder, tunnel), records,
//! stops, records again and drops it all, as picamera's
//! `start_recording`/`stop_recording` make and destroy an encoder each
//! time. CI runs 200 cycles; `MMAL_SOAK_CYCLES=10000` runs the soak.

use std::time::{Duration, Instant};

mod common;

use common::{count, emu};
use mmal::emulator::Pacing;
use mmal::{EncodedKind, Recorder, RecorderConfig};

#[global_allocator]
static ALLOCATOR: common::Counting = common::Counting;

/// Bytes glibc's malloc has handed out and not had back: every allocation
/// in the process, C++ ones included.
fn c_heap() -> i64 {
    // SAFETY: mallinfo2 only reads the allocator's counters.
    let info = unsafe { libc::mallinfo2() };
    (info.uordblks + info.hblkhd) as i64
}

fn cycle(i: usize) {
    let config = RecorderConfig::h264(128, 96).bitrate(500_000).intra_period(5).motion_vectors(i % 2 == 0);
    let mut recorder = Recorder::new(&config).unwrap();
    for (part, pictures) in [3, 1].into_iter().enumerate() {
        recorder.start().unwrap();
        // Buffers of the last recording that were on their way come first;
        // this one opens with its headers and a keyframe.
        let mut kinds: Option<Vec<EncodedKind>> = None;
        while kinds.as_ref().is_none_or(|k| {
            k.iter().filter(|k| matches!(k, EncodedKind::Keyframe | EncodedKind::Frame)).count() < pictures
        }) {
            let b = recorder.next_timeout(Duration::from_secs(10)).unwrap();
            assert!(!b.is_empty(), "an empty {:?} buffer", b.kind());
            match (&mut kinds, b.kind()) {
                (None, EncodedKind::Headers) => kinds = Some(vec![EncodedKind::Headers]),
                (None, _) => assert!(part > 0, "cycle {i}: a {:?} before the first headers", b.kind()),
                (Some(k), kind) => k.push(kind),
            }
        }
        recorder.stop().unwrap();
        let kinds = kinds.expect("headers");
        assert_eq!(kinds[..2], [EncodedKind::Headers, EncodedKind::Keyframe], "cycle {i}, part {part}");
    }
}

#[test]
fn recording_started_and_stopped_over_and_over_leaks_nothing() {
    common::emulated();
    let cycles: usize = std::env::var("MMAL_SOAK_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    emu::set_pacing(Pacing::Unlimited);
    // Warm up: first-use allocations (the provider, the VCSM pool, logging,
    // the codec's tables).
    for i in 0..3 {
        cycle(i);
    }
    let threads = common::settled_threads();
    let fds = count("/proc/self/fd");
    let vcsm_before = emu::vcsm_usage();
    let (heap, c_heap_before) = (common::live_bytes(), c_heap());
    let start = Instant::now();
    for i in 0..cycles {
        cycle(i);
    }
    let seconds = start.elapsed().as_secs_f64();
    let usage = emu::usage();
    let growth = common::live_bytes() - heap;
    let c_growth = c_heap() - c_heap_before;
    eprintln!(
        "{cycles} recording cycles in {seconds:.1} s: threads {threads} -> {}, fds {fds} -> {}, heap {growth:+} B, \
         C heap {c_growth:+} B, {usage:?}",
        count("/proc/self/task"),
        count("/proc/self/fd"),
    );
    assert_eq!((usage.components, usage.threads, usage.pools, usage.connections), (0, 0, 0, 0), "{usage:?}");
    assert_eq!(common::threads_back_to(threads), threads, "threads");
    assert_eq!(count("/proc/self/fd"), fds, "file descriptors");
    assert_eq!(emu::vcsm_usage(), vcsm_before, "VCSM blocks and bytes");
    assert!(growth.abs() < 4096, "heap grew by {growth} bytes over {cycles} cycles");
    // glibc's own counters drift upwards by tens of kilobytes over the
    // first thousands of cycles and then stay (78 KB after 3 000; valgrind
    // finds nothing lost), while a recorder that is running holds about
    // 7 MB of C heap (camera pictures, the codec's frames): one left behind
    // in any cycle would be far over this bound.
    assert!(c_growth < 256 << 10, "the C heap grew by {c_growth} bytes over {cycles} cycles");
    emu::set_pacing(Pacing::FrameRate);
}
