//! Reads `WxH` I420 frames from the camera's video port as fast as the
//! VideoCore gives them and prints one line of figures: frames, seconds,
//! and CPU seconds of the whole process (every thread, the VideoCore's
//! included). `benches/side_by_side.py` runs it beside picamerax.
//!
//! `cargo run --release --example video_rate -- [frames] [width] [height]`
//!
//! It stays on the object layer (a camera component, its video port, a
//! frame stream), which is what the benchmark measures.

use std::time::{Duration, Instant};

use examples::lexopt::prelude::*;
use examples::{Error, Result};
use mmal::params::{CameraConfig, Capture};
use mmal::{Component, Encoding, Format};

const HELP: &str = "\
video_rate: reads I420 frames from the camera's video port as fast as the
VideoCore gives them (through the object layer: the camera component, its
video port and a frame stream) and prints one line: frames, seconds, CPU
seconds of the whole process (the VideoCore's threads included) and a
checksum. benches/side_by_side.py runs it beside picamerax.

usage: video_rate [FRAMES [WIDTH [HEIGHT]]]

arguments:
  FRAMES      frames to time, 1 to 1000000 (default 300), after 10 not timed
  WIDTH       the frames' width, even, 16 to 4096 (default 1920)
  HEIGHT      the frames' height, even, 16 to 4096 (default 1080)

options:
  -h, --help  print this help

VIDEOCORE_EMU_PACING=unlimited lets the software VideoCore's camera run
as fast as frames are read, instead of at 30 fps.
";

fn options() -> Result<(u32, u32, u32)> {
    let mut values = Vec::new();
    let mut args = lexopt::Parser::from_env();
    while let Some(arg) = args.next()? {
        match arg {
            Short('h') | Long("help") => examples::print_help(HELP),
            Value(v) => {
                let (name, range, what) = match values.len() {
                    0 => ("FRAMES", 1..=1_000_000, "a frame count"),
                    1 => ("WIDTH", examples::MIN_SIDE..=examples::MAX_SIDE, "a width"),
                    2 => ("HEIGHT", examples::MIN_SIDE..=examples::MAX_SIDE, "a height"),
                    _ => return Err(Error::usage(format!("{}: at most FRAMES WIDTH HEIGHT", v.to_string_lossy()))),
                };
                let n = examples::number(name, v, range, what)?;
                if !values.is_empty() && n % 2 != 0 {
                    return Err(Error::usage(format!("{name} {n}: give an even number (I420 halves it)")));
                }
                values.push(n);
            }
            Short(c) if c.is_ascii_digit() => {
                return Err(Error::usage("FRAMES, WIDTH and HEIGHT: give positive numbers"));
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    let get = |i: usize, default| values.get(i).copied().unwrap_or(default);
    Ok((get(0, 300), get(1, 1920), get(2, 1080)))
}

fn main() -> Result<()> {
    let (frames_wanted, width, height) = options()?;
    examples::check_environment()?;
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
    let (start, cpu_start) = (Instant::now(), examples::process_cpu_seconds());
    let mut checksum = 0u64;
    for _ in 0..frames_wanted {
        let frame = frames.next_timeout(Duration::from_secs(10))?;
        // Touch the frame as a reader would.
        checksum = checksum.wrapping_add(u64::from(frame[frame.len() / 2]));
    }
    let (seconds, cpu) = (start.elapsed().as_secs_f64(), examples::process_cpu_seconds() - cpu_start);
    examples::outln!("frames={frames_wanted} seconds={seconds:.4} cpu_seconds={cpu:.4} checksum={checksum}");
    Ok(())
}
