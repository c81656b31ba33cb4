//! Streams frames from the camera through `mmal::Camera` for a few seconds
//! and prints, once a second, the frame rate over that second, the mean
//! level, the exposure and gains the camera used, and the frames dropped.
//!
//! `cargo run --release --example camera_frames -- --help`

use std::time::{Duration, Instant};

use examples::lexopt::prelude::*;
use examples::{Error, Result};
use mmal::{Camera, CameraOptions, Encoding};

const HELP: &str = "\
camera_frames: streams I420 frames from the camera's video port for a few
seconds, read as ndarray views over the VideoCore's buffers (no copy), and
prints once a second the frame rate over that second, the mean level of
the Y plane, the exposure and gains the camera reported, and the frames
dropped (read too late).

usage: camera_frames [--size WxH] [--fps F] [SECONDS]

arguments:
  SECONDS        how long to stream, 1 to 3600 (default 3)

options:
  --size WxH     the frames' size (default 1920x1080)
  --fps F        frames per second, 1 to 200 (default 30; the sensor's
                 modes may allow less)
  --camera N     which camera (default 0)
  -h, --help     print this help
";

struct Options {
    seconds: u64,
    size: (u32, u32),
    fps: u32,
    camera: u32,
}

fn options() -> Result<Options> {
    let mut o = Options { seconds: 3, size: (1920, 1080), fps: 30, camera: 0 };
    let mut seconds = None;
    let mut args = lexopt::Parser::from_env();
    while let Some(arg) = args.next()? {
        match arg {
            Short('h') | Long("help") => examples::print_help(HELP),
            Long("size") => o.size = examples::size("--size", args.value()?)?,
            Long("fps") => o.fps = examples::number("--fps", args.value()?, 1..=200, "frames per second")?,
            Long("camera") => o.camera = examples::number("--camera", args.value()?, 0..=3, "a camera number")?,
            Value(v) if seconds.is_none() => seconds = Some(examples::number("SECONDS", v, 1..=3600, "seconds")?),
            Value(v) => {
                return Err(Error::usage(format!("{}: one SECONDS argument only", v.to_string_lossy())));
            }
            Short(c) if c.is_ascii_digit() => {
                return Err(Error::usage("SECONDS: give a whole number of seconds from 1 to 3600, not a negative one"));
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    o.seconds = seconds.unwrap_or(o.seconds);
    Ok(o)
}

fn main() -> Result<()> {
    let o = options()?;
    examples::check_environment()?;
    let (width, height) = o.size;
    let camera = Camera::open(o.camera, &CameraOptions::new().resolution(width, height).frame_rate(o.fps))?;
    let frames = camera.frames(Encoding::I420, width, height)?;
    examples::outln!(
        "streaming {} from the {} camera through {} for {} s",
        frames.format(),
        camera.sensor(),
        mmal::provider()?,
        o.seconds
    );
    // Timed from the first frame: the camera's start is not counted.
    frames.next_timeout(Duration::from_secs(10))?;
    let start = Instant::now();
    let (mut count, mut last_count, mut last_dropped, mut last_report) = (0u64, 0u64, 0u64, start);
    while start.elapsed() < Duration::from_secs(o.seconds) {
        let frame = frames.next_timeout(Duration::from_secs(5))?;
        count += 1;
        let since = last_report.elapsed();
        if since >= Duration::from_secs(1) {
            // The Y plane's mean, sampled every 97th pixel, read in place.
            let planes = frame.planes()?;
            let y = planes.y.as_array();
            let mean = y.iter().step_by(97).map(|&v| f64::from(v)).sum::<f64>() / (y.len() / 97).max(1) as f64;
            let used = frame
                .settings()
                .map(|s| {
                    format!(
                        ", exposure {:.1} ms, gains {:.2} analogue {:.2} digital",
                        f64::from(s.exposure_us) / 1000.0,
                        s.analog_gain,
                        s.digital_gain
                    )
                })
                .unwrap_or_default();
            let dropped = frames.dropped();
            examples::outln!(
                "{:5.1} fps over the last second, frame {}, mean level {mean:5.1}{used}, dropped {}",
                (count - last_count) as f64 / since.as_secs_f64(),
                frame.index(),
                dropped - last_dropped
            );
            (last_count, last_dropped, last_report) = (count, dropped, Instant::now());
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    examples::outln!(
        "{} in {seconds:.2} s ({:.1} fps), {} dropped",
        examples::plural(count, "frame"),
        count as f64 / seconds,
        frames.dropped()
    );
    Ok(())
}
