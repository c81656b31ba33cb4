//! Times one benchmark case through [`mmal::Camera`], or the software
//! VideoCore alone on the same component graph, and prints one line of
//! `key=value` figures. `benches/side_by_side.py` runs it beside picamerax.
//!
//! `cargo run --release --example camera_rate -- CASE [COUNT] [--fps N] [--baseline GRAPH]`
//!
//! The client's figures: a counting global allocator counts the heap
//! allocations this program (the `mmal` crate and this loop) makes while
//! the measured frames pass, and each frame's array view is checked to lie
//! inside the buffer the port delivered (its bytes the VideoCore's own,
//! not a copy); the buffers' distinct addresses are counted too (at most
//! the pool's few: no frame lives in fresh memory).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use examples::lexopt::prelude::*;
use examples::{Error, Result};
use mmal::components::{CameraComponent, ImageEncoder, NullSink, Splitter, SplitterOutput};
use mmal::params::{CameraConfig, Capture, JpegQuality, Thumbnail};
use mmal::{Camera, CameraOptions, Connection, ConnectionFlags, Encoding, Format};

/// The system allocator, counting allocations while [`COUNTING`] is set.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed to `System` unchanged; counting touches
// only atomics (no allocation inside the allocator).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as the caller promises for `GlobalAlloc::alloc`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with `layout`, as the caller promises.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as the caller promises for `GlobalAlloc::alloc_zeroed`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: as the caller promises for `GlobalAlloc::realloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// CPU time of this process in seconds: the sum of its threads' time on a
/// CPU from `/proc/self/task/*/schedstat` (nanoseconds; the kernel's
/// 10 ms ticks of `/proc/self/stat` are too coarse for a few microseconds
/// per frame), and the main thread's share: the client's own loop (the
/// buffers' callbacks run on the VideoCore's threads, and are not in it).
/// A thread that ends takes its time out of the sum: see
/// [`examples::process_cpu_seconds`].
fn cpu_seconds() -> (f64, f64) {
    let main = std::process::id().to_string();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return (0.0, 0.0) };
    let (mut all, mut main_thread) = (0u64, 0u64);
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        let ns = stat.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        all += ns;
        if task.file_name() == main.as_str() {
            main_thread = ns;
        }
    }
    (all as f64 / 1e9, main_thread as f64 / 1e9)
}

const HELP: &str = "\
camera_rate: times one benchmark case through mmal::Camera, or the software
VideoCore alone on the same component graph, and prints one line of
key=value figures (frames, seconds, CPU seconds of the whole process,
heap allocations by this program, frames whose bytes were not the port's
buffer, the buffers' distinct addresses). benches/side_by_side.py runs it
beside picamerax.

usage: camera_rate CASE [COUNT] [--fps N] [--baseline GRAPH]

arguments:
  CASE        rgb (640x480 RGB24 frames as arrays), i420 (1920x1080 I420
              frames as arrays) or jpeg (1920x1080 JPEG stills)
  COUNT       frames or stills to time, 1 to 1000000 (default 300), after
              10 frames or 2 stills not timed

options:
  --fps N           the camera's frame rate, 1 to 200 (default 90 for rgb,
                    30 for i420 and jpeg)
  --baseline GRAPH  no client: the VideoCore alone, the final output
                    tunnelled to vc.null_sink (for jpeg, the encoder's
                    output read and dropped: a null sink does not say
                    when a file is whole). GRAPH is the graph measured:
                    camera (the one mmal::Camera builds: preview to a null
                    sink, the video port in I420 to a splitter, the still
                    port in OPAQUE to an image encoder), picamerax (its
                    graph: the video port in OPAQUE to the splitter, and
                    for each still the still port's format committed
                    again and a new image encoder on it), or bare (the camera's video
                    port in the case's encoding straight to the null sink)
  -h, --help        print this help

Frame cases time COUNT frames; a baseline runs for COUNT frames' worth of
time at the camera's rate and counts that many frames.
";

/// A benchmark case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Rgb,
    I420,
    Jpeg,
}

impl Case {
    fn size(self) -> (u32, u32) {
        match self {
            Case::Rgb => (640, 480),
            Case::I420 | Case::Jpeg => (1920, 1080),
        }
    }

    fn encoding(self) -> Encoding {
        match self {
            Case::Rgb => Encoding::RGB24,
            Case::I420 | Case::Jpeg => Encoding::I420,
        }
    }
}

/// A component graph measured without a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Graph {
    Camera,
    Picamerax,
    Bare,
}

struct Options {
    case: Case,
    count: u32,
    fps: u32,
    baseline: Option<Graph>,
}

fn options() -> Result<Options> {
    let mut case = None;
    let mut count = None;
    let mut fps = None;
    let mut baseline = None;
    let mut args = lexopt::Parser::from_env();
    while let Some(arg) = args.next()? {
        match arg {
            Short('h') | Long("help") => examples::print_help(HELP),
            Long("fps") => fps = Some(examples::number("--fps", args.value()?, 1..=200, "frames per second")?),
            Long("baseline") => {
                let value = args.value()?;
                baseline = Some(match value.to_str() {
                    Some("camera") => Graph::Camera,
                    Some("picamerax") => Graph::Picamerax,
                    Some("bare") => Graph::Bare,
                    _ => {
                        return Err(Error::usage(format!(
                            "--baseline {}: give camera, picamerax or bare",
                            value.to_string_lossy()
                        )))
                    }
                });
            }
            Value(v) if case.is_none() => {
                case = Some(match v.to_str() {
                    Some("rgb") => Case::Rgb,
                    Some("i420") => Case::I420,
                    Some("jpeg") => Case::Jpeg,
                    _ => return Err(Error::usage(format!("CASE {}: give rgb, i420 or jpeg", v.to_string_lossy()))),
                });
            }
            Value(v) if count.is_none() => count = Some(examples::number("COUNT", v, 1..=1_000_000, "a count")?),
            Value(v) => return Err(Error::usage(format!("{}: at most CASE COUNT", v.to_string_lossy()))),
            Short(c) if c.is_ascii_digit() => return Err(Error::usage("COUNT: give a positive number")),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let case = case.ok_or_else(|| Error::usage("give a CASE: rgb, i420 or jpeg"))?;
    let fps = fps.unwrap_or(if case == Case::Rgb { 90 } else { 30 });
    Ok(Options { case, count: count.unwrap_or(300), fps, baseline })
}

/// What one run measured.
#[derive(Default)]
struct Figures {
    frames: u64,
    seconds: f64,
    cpu_seconds: f64,
    /// The main thread's CPU time.
    main_thread_seconds: f64,
    allocations: u64,
    /// Frames whose array view was not inside the port's buffer.
    copied_frames: u64,
    /// Bytes of each frame's picture (the array's elements), or of each file.
    bytes: u64,
    /// Distinct buffer addresses the frames came in.
    buffers: usize,
    checksum: u64,
}

fn print(f: &Figures) {
    examples::outln!(
        "frames={} seconds={:.4} cpu_seconds={:.6} main_thread_cpu_seconds={:.6} allocations={} copied_frames={} bytes_per_frame={} \
         distinct_buffers={} checksum={}",
        f.frames,
        f.seconds,
        f.cpu_seconds,
        f.main_thread_seconds,
        f.allocations,
        f.copied_frames,
        f.bytes / f.frames.max(1),
        f.buffers,
        f.checksum
    );
}

/// Starts counting: the moment, the CPU time, and the allocator's count.
/// (Reading the CPU time allocates: it is read outside the count.)
fn start() -> (Instant, (f64, f64), f64) {
    let cpu = cpu_seconds();
    let ticks = examples::process_cpu_seconds();
    ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    (Instant::now(), cpu, ticks)
}

/// Stops counting. With `threads_end` (components made and dropped while
/// counting), the process's CPU time is read from its ticks.
fn stop((at, (cpu, main), ticks_then): (Instant, (f64, f64), f64), figures: &mut Figures, threads_end: bool) {
    COUNTING.store(false, Ordering::Relaxed);
    figures.allocations = ALLOCATIONS.load(Ordering::Relaxed);
    figures.seconds = at.elapsed().as_secs_f64();
    let (cpu_now, main_now) = cpu_seconds();
    figures.cpu_seconds = if threads_end { examples::process_cpu_seconds() - ticks_then } else { cpu_now - cpu };
    figures.main_thread_seconds = main_now - main;
}

/// Frames through `Camera::frames`, each viewed with `as_array`.
fn frames(case: Case, count: u32, fps: u32) -> Result<Figures> {
    let (w, h) = case.size();
    let camera = Camera::open(0, &CameraOptions::new().resolution(w, h).frame_rate(fps))?;
    let mut frames = camera.frames(case.encoding(), w, h)?.timeout(Duration::from_secs(20));
    // The first frames carry the pipeline's start: not counted.
    for frame in frames.by_ref().take(10) {
        frame?;
    }
    let mut f = Figures::default();
    // The buffers' addresses, in a fixed array: nothing allocated here.
    let mut seen = [0usize; 32];
    let started = start();
    for frame in frames.by_ref().take(count as usize) {
        let frame = frame?;
        let array = frame.as_array()?;
        let buffer = frame.data().as_ptr_range();
        let first = array.as_ptr();
        let last = &array[[array.dim().0 - 1, array.dim().1 - 1, array.dim().2 - 1]] as *const u8;
        if !(buffer.contains(&first) && buffer.contains(&last)) {
            f.copied_frames += 1;
        }
        let address = buffer.start as usize;
        if let Some(slot) = seen.iter_mut().find(|s| **s == address || **s == 0) {
            *slot = address;
        }
        // Read the picture as a user would: one pixel in the middle.
        f.checksum = f.checksum.wrapping_add(u64::from(array[[h as usize / 2, w as usize / 2, 0]]));
        f.bytes += array.len() as u64;
        f.frames += 1;
    }
    stop(started, &mut f, false);
    f.buffers = seen.iter().filter(|s| **s != 0).count();
    Ok(f)
}

/// JPEG stills through `Camera::capture_jpeg`.
fn stills(count: u32, fps: u32) -> Result<Figures> {
    let (w, h) = Case::Jpeg.size();
    let camera = Camera::open(0, &CameraOptions::new().resolution(w, h).frame_rate(fps))?;
    for _ in 0..2 {
        camera.capture_jpeg()?;
    }
    let mut f = Figures::default();
    let started = start();
    for _ in 0..count {
        let jpeg = camera.capture_jpeg()?;
        f.bytes += jpeg.len() as u64;
        f.checksum = f.checksum.wrapping_add(u64::from(jpeg[jpeg.len() / 2]));
        f.frames += 1;
    }
    stop(started, &mut f, false);
    // A JPEG is gathered from the encoder's buffers into one Vec: copied.
    f.copied_frames = f.frames;
    Ok(f)
}

/// The camera's still port through an image encoder to JPEG, read as a
/// stream only to know when a file is whole (its FRAME_END: a null sink
/// says nothing). Dropped in order: the stream, the link, the encoder.
struct StillPath {
    stream: mmal::FrameStream,
    _link: Connection,
    _encoder: ImageEncoder,
}

impl StillPath {
    /// With `commit`, the still port's format is committed again first, as
    /// picamerax does for each still (the software VideoCore then prepares
    /// its picture again).
    fn new(camera: &CameraComponent, (w, h): (u32, u32), commit: bool) -> Result<StillPath> {
        if commit {
            camera.still().set_format(&Format::video(Encoding::OPAQUE, w, h))?;
        }
        let encoder = ImageEncoder::new()?;
        let link = Connection::new(camera.still(), encoder.input(), ConnectionFlags::default())?;
        encoder.output().set_format(&Format::video(Encoding::JPEG, w, h))?;
        encoder.output().set(&JpegQuality(85))?;
        encoder.control().set(&Thumbnail::new(64, 48, 35))?;
        let stream = encoder.output().enable_stream(3)?;
        Ok(StillPath { stream, _link: link, _encoder: encoder })
    }
}

/// The VideoCore alone on `graph`: the case's final output goes to a null
/// sink, no client reads a frame.
fn baseline(case: Case, count: u32, fps: u32, graph: Graph) -> Result<Figures> {
    let (w, h) = case.size();
    let camera = CameraComponent::new()?;
    camera.control().set(&CameraConfig::for_size(w, h))?;
    let video = Format::video(Encoding::OPAQUE, w, h).with_frame_rate(fps);
    // Held until the end, dropped in reverse order of making.
    let mut links: Vec<Connection> = Vec::new();
    let preview_sink = NullSink::new()?;
    let splitter = Splitter::new()?;
    let sink = NullSink::new()?;
    let mut still_path = None;
    if graph == Graph::Bare {
        // The video port straight to the null sink, nothing else.
        let format = if case == Case::Jpeg { Encoding::I420 } else { case.encoding() };
        camera.video().set_format(&video.with_encoding(format))?;
        links.push(Connection::new(camera.video(), sink.input(), ConnectionFlags::default())?);
    } else {
        camera.preview().set_format(&video)?;
        let into_splitter = if graph == Graph::Camera { Encoding::I420 } else { Encoding::OPAQUE };
        camera.video().set_format(&video.with_encoding(into_splitter))?;
        camera.still().set_format(&Format::video(Encoding::OPAQUE, w, h))?;
        links.push(Connection::new(camera.preview(), preview_sink.input(), ConnectionFlags::default())?);
        links.push(Connection::new(camera.video(), splitter.input(), ConnectionFlags::default())?);
        if case == Case::Jpeg {
            // mmal::Camera keeps its encoder; picamerax makes one per still.
            if graph == Graph::Camera {
                still_path = Some(StillPath::new(&camera, (w, h), false)?);
            }
        } else {
            let out = splitter.output(SplitterOutput::First);
            out.set_format(&Format::video(case.encoding(), w, h).with_frame_rate(fps))?;
            links.push(Connection::new(out, sink.input(), ConnectionFlags::default())?);
        }
    }
    camera.enable()?;
    let mut f = Figures::default();
    if case == Case::Jpeg {
        let still = || -> Result<()> {
            let fresh = match &still_path {
                Some(_) => None,
                None => Some(StillPath::new(&camera, (w, h), true)?),
            };
            let stream = &still_path.as_ref().or(fresh.as_ref()).expect("one of them").stream;
            camera.still().set(&Capture(true))?;
            loop {
                let buffer = stream.next_timeout(Duration::from_secs(20))?;
                if buffer.is_frame_end() {
                    return Ok(());
                }
            }
        };
        for _ in 0..2 {
            still()?;
        }
        let started = start();
        for _ in 0..count {
            still()?;
        }
        stop(started, &mut f, still_path.is_none());
        f.frames = u64::from(count);
    } else {
        camera.video().set(&Capture(true))?;
        // As the clients: the first frames carry the pipeline's start.
        std::thread::sleep(Duration::from_secs_f64(10.0 / f64::from(fps)));
        let started = start();
        std::thread::sleep(Duration::from_secs_f64(f64::from(count) / f64::from(fps)));
        stop(started, &mut f, false);
        // The camera is paced: frames at its rate through the time measured.
        f.frames = (f.seconds * f64::from(fps)).round() as u64;
        camera.video().set(&Capture(false))?;
    }
    drop(links);
    Ok(f)
}

fn main() -> Result<()> {
    let o = options()?;
    examples::check_environment()?;
    let figures = match (o.baseline, o.case) {
        (Some(graph), case) => baseline(case, o.count, o.fps, graph)?,
        (None, Case::Jpeg) => stills(o.count, o.fps)?,
        (None, case) => frames(case, o.count, o.fps)?,
    };
    print(&figures);
    Ok(())
}
