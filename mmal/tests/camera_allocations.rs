//! Frames from a `Camera` into arrays: no heap allocation per frame by the
//! client in the steady state. The software VideoCore, linked in, shares
//! the allocator (and may allocate as it produces frames), so each
//! allocation made while frames are read is attributed by its backtrace to
//! the innermost crate on the stack: this crate (`mmal::`), on whichever
//! thread (the reader's, or MMAL's in the port callbacks), or the software
//! VideoCore (`mmal_emu::`, and over VCHIQ `vchiq_emu::`), whose own
//! allocations are not the client's. Over VCHIQ the client also includes
//! the provider's remote components (`mmal_emu::remote::`) and the MMAL
//! client (`mmal_vchiq::`).
//! Alone in its binary so that nothing else allocates meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use mmal::emulator::{self, Pacing};
use mmal::{Camera, CameraOptions, Encoding};

struct CountingCalls;

/// Allocations by this crate while [`WATCHING`].
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
/// Allocations by the software VideoCore while [`WATCHING`].
static VIDEOCORE: AtomicU64 = AtomicU64::new(0);
static WATCHING: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Set while this thread captures a backtrace (which allocates).
    static TRACING: Cell<bool> = const { Cell::new(false) };
}

/// Which crate made the allocation under way on this thread.
fn attribute() {
    if !WATCHING.load(Ordering::Relaxed) || TRACING.with(|t| t.replace(true)) {
        return;
    }
    let trace = std::backtrace::Backtrace::force_capture().to_string();
    for line in trace.lines() {
        // A frame's function: `  12: <crate::path as ...>::f` or
        // `  12: crate::path::f`; its first path segment names the crate.
        let Some((_, path)) = line.split_once(": ") else { continue };
        let path = path.trim_start_matches('<');
        let mut segments = path.split("::");
        let (first, second) = (segments.next().unwrap_or(""), segments.next().unwrap_or(""));
        let client = match first {
            // The test itself (its allocator and helpers) decides nothing.
            "camera_allocations" => continue,
            "mmal" | "mmal_vchiq" => true,
            // Over VCHIQ the remote components are the client's side.
            "mmal_emu" => second == "remote",
            "vchiq_emu" => false,
            _ => continue,
        };
        if client {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            eprintln!("an allocation by the client:\n{trace}");
        } else {
            VIDEOCORE.fetch_add(1, Ordering::Relaxed);
        }
        break;
    }
    TRACING.with(|t| t.set(false));
}

// SAFETY: forwards to the system allocator; `attribute` only reads a
// backtrace (its own allocations are not traced: `TRACING`).
unsafe impl GlobalAlloc for CountingCalls {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        attribute();
        // SAFETY: the caller's layout is passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        attribute();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingCalls = CountingCalls;

/// Allocations per frame over `n` frames read as arrays, after a warm-up.
fn allocations_per_frame(encoding: Encoding, width: u32, height: u32, n: u64) -> (u64, u64) {
    let camera = Camera::open(0, &CameraOptions::new().resolution(640, 480)).unwrap();
    let frames = camera.frames(encoding, width, height).unwrap();
    let mut sum = 0u64;
    for _ in 0..30 {
        let frame = frames.next_timeout(Duration::from_secs(10)).unwrap();
        sum += u64::from(frame.as_array().unwrap()[[0, 0, 0]]);
    }
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    WATCHING.store(true, Ordering::SeqCst);
    for _ in 0..n {
        let frame = frames.next_timeout(Duration::from_secs(10)).unwrap();
        let array = frame.as_array().unwrap();
        sum += u64::from(array[[array.dim().0 / 2, array.dim().1 / 2, 0]]);
        if let Some(u) = frame.planes().unwrap().u {
            sum += u64::from(u.as_array()[[0, 0]]);
        }
    }
    WATCHING.store(false, Ordering::SeqCst);
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    std::hint::black_box(sum);
    (after - before, n)
}

#[test]
fn frames_into_arrays_allocate_nothing_per_frame() {
    if std::env::var_os("VIDEOCORE").is_none() {
        std::env::set_var("VIDEOCORE", "emulated");
    }
    emulator::set_pacing(Pacing::Unlimited);
    for (encoding, w, h) in [(Encoding::I420, 640, 480), (Encoding::RGB24, 640, 480), (Encoding::RGB24, 320, 240)] {
        let (allocations, n) = allocations_per_frame(encoding, w, h, 50);
        assert_eq!(allocations, 0, "{allocations} heap allocations by the client in {n} frames of {encoding} {w}x{h}");
    }
    // The attribution works: an allocation the software VideoCore makes
    // (a scene of one pixel) is seen as its own, not the client's.
    let (client, videocore) = (ALLOCATIONS.load(Ordering::SeqCst), VIDEOCORE.load(Ordering::SeqCst));
    WATCHING.store(true, Ordering::SeqCst);
    let scene = emulator::Scene::from_rgb8(1, 1, &[1, 2, 3]);
    WATCHING.store(false, Ordering::SeqCst);
    assert!(scene.is_ok());
    assert!(VIDEOCORE.load(Ordering::SeqCst) > videocore, "no allocation attributed to the software VideoCore");
    assert_eq!(
        ALLOCATIONS.load(Ordering::SeqCst),
        client,
        "the software VideoCore's allocation taken for the client's"
    );
}
