//! 1920x1080 I420 from the emulated camera to a Rust stream, with a lens
//! shading table set: frames per second, heap allocations per frame in the
//! steady state, and capture-to-reader latency.
//!
//! `cargo bench -p mmal --bench stream` (prefix `taskset -c 0` to hold it to
//! one core). Prints figures measured in one run; nothing is asserted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mmal::emulator::{self, Pacing};
use mmal::params::{CameraConfig, Capture};
use mmal::{Component, Encoding, Format, LensShadingTable};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's layout is passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() -> mmal::Result<()> {
    if std::env::var_os("VIDEOCORE").is_none() {
        std::env::set_var("VIDEOCORE", "emulated");
    }
    emulator::set_pacing(Pacing::Unlimited);
    let (width, height) = (1920, 1080);
    let camera = Component::new("vc.ril.camera")?;
    camera.control().set(&CameraConfig::for_size(width, height))?;
    let (gw, gh) = LensShadingTable::grid_for(3280, 2464);
    let gains: Vec<u8> = (0..gw * gh * 4).map(|i| 32 + (i % 40) as u8).collect();
    let table = LensShadingTable::from_planes(gw, gh, gains)?;
    let uploaded = table.upload()?;
    camera.control().set(&uploaded.parameter())?;
    let video = camera.output(1)?;
    video.set_format(&Format::video(Encoding::I420, width, height).with_frame_rate(30))?;
    let frames = video.enable_stream(4)?;
    camera.enable()?;
    let enabled = Instant::now();
    video.set(&Capture(true))?;

    let mut checksum = 0u64;
    // Warm up: the first frame prepares the picture.
    for _ in 0..20 {
        let f = frames.next_timeout(Duration::from_secs(10))?;
        checksum = checksum.wrapping_add(u64::from(f[f.len() / 2]));
    }
    let n = 600;
    let allocations = ALLOCATIONS.load(Ordering::Relaxed);
    let received = frames.received();
    let start = Instant::now();
    let mut latencies = Vec::with_capacity(n);
    for _ in 0..n {
        let f = frames.next_timeout(Duration::from_secs(10))?;
        let now = enabled.elapsed().as_micros() as i64;
        latencies.push(now - f.pts().unwrap_or(now));
        checksum = checksum.wrapping_add(u64::from(f[f.len() / 2]));
    }
    let elapsed = start.elapsed();
    let allocs = ALLOCATIONS.load(Ordering::Relaxed) - allocations - 1; // the latency Vec was allocated before
    let delivered = frames.received() - received;
    latencies.sort_unstable();
    println!("1920x1080 I420 with lens shading, emulated camera -> FrameStream, {n} frames:");
    println!(
        "  {:.1} frames/s read ({} delivered, {} dropped)",
        n as f64 / elapsed.as_secs_f64(),
        delivered,
        frames.dropped()
    );
    println!("  {:.3} heap allocations per frame ({allocs} in {n} frames)", allocs as f64 / n as f64);
    println!(
        "  capture-to-reader latency: median {} us, p99 {} us (includes rendering the frame)",
        latencies[n / 2],
        latencies[n * 99 / 100]
    );
    println!("  (checksum {checksum})");
    Ok(())
}
