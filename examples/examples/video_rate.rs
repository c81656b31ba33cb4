//! Reads `WxH` I420 frames from the camera's video port as fast as the
//! VideoCore gives them and prints one line of figures: frames, seconds,
//! and CPU seconds of the whole process (every thread, the VideoCore's
//! included). `benches/side_by_side.py` runs it beside picamerax.
//!
//! `cargo run --release --example video_rate -- [frames] [width] [height]`

use std::time::{Duration, Instant};

use mmal::params::{CameraConfig, Capture};
use mmal::{Component, Encoding, Format};

/// User plus system CPU time of this process, from `/proc/self/stat`
/// (in clock ticks of 1/100 s, as Linux reports them to user space).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
    (ticks(11) + ticks(12)) as f64 / 100.0
}

fn run() -> mmal::Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u32>().ok());
    let frames_wanted = args.next().flatten().unwrap_or(300);
    let width = args.next().flatten().unwrap_or(1920);
    let height = args.next().flatten().unwrap_or(1080);
    let camera = Component::new("vc.ril.camera")?;
    camera.control().set(&CameraConfig::for_size(width, height))?;
    let video = camera.output(1)?;
    video.set_format(&Format::video(Encoding::I420, width, height).with_frame_rate(30))?;
    let frames = video.enable_stream(3)?;
    camera.enable()?;
    video.set(&Capture(true))?;
    // The first frames carry the picture's preparation: not counted.
    for _ in 0..10 {
        frames.next_timeout(Duration::from_secs(10))?;
    }
    let (start, cpu_start) = (Instant::now(), cpu_seconds());
    let mut checksum = 0u64;
    for _ in 0..frames_wanted {
        let frame = frames.next_timeout(Duration::from_secs(10))?;
        // Touch the frame as a reader would.
        checksum = checksum.wrapping_add(u64::from(frame[frame.len() / 2]));
    }
    let (seconds, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu_start);
    println!("frames={frames_wanted} seconds={seconds:.4} cpu_seconds={cpu:.4} checksum={checksum}");
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("video_rate: {e}");
        std::process::exit(1);
    }
}
