//! Records H.264 through `mmal::Camera`, as `raspivid` does: N seconds to
//! a `.h264` file (an Annex B stream with its frame rate in the SPS, which
//! ffmpeg, VLC and `ffprobe` read), printing frames, keyframes and the
//! bitrate. With `--split S`, a new file starts every S seconds, each at a
//! keyframe with the stream's headers before it, so each plays on its own:
//! `video-000.h264`, `video-001.h264`...
//!
//! `cargo run --example record_h264 -- --help`

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use examples::lexopt::prelude::*;
use examples::{plural, Error, Result};
use mmal::{Camera, CameraOptions, EncodedKind, Frame, RecorderConfig, VideoOutput};

const HELP: &str = "\
record_h264: records H.264 from the camera's video port into FILE, an
Annex B stream with the frame rate in its SPS (ffplay, VLC and ffprobe read
it at the right speed), and prints frames, keyframes and the bitrate.

usage: record_h264 [--seconds N] [--size WxH] [--fps F] [--bitrate BPS]
                   [--intra N] [--split S] [FILE]

arguments:
  FILE             where to write (default: video.h264 in the folder
                   videocore-examples of the system's temporary folder);
                   with --split, FILE-000.h264, FILE-001.h264...

options:
  --seconds N      how long to record, above 0 and at most 3600 (default 5)
  --size WxH       the video's size, up to 1920 wide (default 1280x720)
  --fps F          frames per second, 1 to 200 (default 30; the sensor's
                   modes may allow less)
  --bitrate BPS    bits per second, 100000 to 25000000 (default 4000000)
  --intra N        frames from one keyframe to the next, 1 to 1000
                   (default: the encoder's, 60)
  --split S        start a new file every S seconds, above 0 and at most
                   3600, each from a keyframe (default: one file)
  --camera N       which camera (default 0)
  -h, --help       print this help
";

/// Longest recording, and longest part, in seconds.
const MAX_SECONDS: f64 = 3600.0;

struct Options {
    seconds: Duration,
    size: (u32, u32),
    fps: u32,
    bitrate: u32,
    intra: Option<u32>,
    split: Option<Duration>,
    camera: u32,
    path: Option<PathBuf>,
}

fn options() -> Result<Options> {
    let mut o = Options {
        seconds: Duration::from_secs(5),
        size: (1280, 720),
        fps: 30,
        bitrate: 4_000_000,
        intra: None,
        split: None,
        camera: 0,
        path: None,
    };
    let mut args = lexopt::Parser::from_env();
    while let Some(arg) = args.next()? {
        match arg {
            Short('h') | Long("help") => examples::print_help(HELP),
            Long("seconds") => o.seconds = examples::seconds("--seconds", args.value()?, MAX_SECONDS)?,
            Long("split") => o.split = Some(examples::seconds("--split", args.value()?, MAX_SECONDS)?),
            Long("size") => o.size = examples::size("--size", args.value()?)?,
            Long("fps") => o.fps = examples::number("--fps", args.value()?, 1..=200, "frames per second")?,
            Long("bitrate") => {
                o.bitrate = examples::number("--bitrate", args.value()?, 100_000..=25_000_000, "bits per second")?
            }
            Long("intra") => o.intra = Some(examples::number("--intra", args.value()?, 1..=1000, "a frame count")?),
            Long("camera") => o.camera = examples::number("--camera", args.value()?, 0..=3, "a camera number")?,
            Value(path) if o.path.is_none() => o.path = Some(examples::path(path)),
            Value(path) => {
                return Err(Error::usage(format!("{}: one output file only", path.to_string_lossy())));
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    if o.size.0 > 1920 {
        return Err(Error::usage(format!(
            "--size {}x{}: a Pi's H.264 encoder takes widths up to 1920",
            o.size.0, o.size.1
        )));
    }
    Ok(o)
}

/// One output file, counting what goes into it.
struct Part {
    path: PathBuf,
    file: BufWriter<File>,
    bytes: u64,
    frames: u64,
    keyframes: u64,
}

impl Part {
    fn create(path: PathBuf) -> Result<Part> {
        let file = File::create(&path).map_err(|e| Error::new(format!("cannot create {}: {e}", path.display())))?;
        Ok(Part { path, file: BufWriter::new(file), bytes: 0, frames: 0, keyframes: 0 })
    }

    /// Flushes the file and says what it holds.
    fn finish(mut self) -> Result<Part> {
        self.file.flush().map_err(|e| Error::new(format!("cannot write {}: {e}", self.path.display())))?;
        Ok(self)
    }
}

impl VideoOutput for Part {
    fn write_buffer(&mut self, buffer: &Frame) -> std::io::Result<()> {
        match buffer.kind() {
            EncodedKind::MotionVectors => return Ok(()),
            EncodedKind::Keyframe => self.keyframes += 1,
            _ => {}
        }
        self.frames += u64::from(buffer.ends_picture());
        self.bytes += buffer.len() as u64;
        self.file.write_all(buffer)
    }
}

/// The name of part `n`: `video.h264` gives `video-000.h264`.
fn part_path(path: &Path, n: usize) -> PathBuf {
    let stem = path.file_stem().map_or_else(|| "video".into(), |s| s.to_string_lossy().into_owned());
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{n:03}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{n:03}"),
    };
    path.with_file_name(name)
}

fn main() -> Result<()> {
    let o = options()?;
    let path = match &o.path {
        Some(path) => path.clone(),
        None => examples::output_dir()?.join("video.h264"),
    };
    examples::check_environment()?;
    let (w, h) = o.size;
    let camera = Camera::open(o.camera, &CameraOptions::new().resolution(w, h).frame_rate(o.fps))?;
    // SPS timing: the frame rate in the stream, so that players do not
    // assume 25 fps.
    let mut config = RecorderConfig::h264(w, h).frame_rate(o.fps).bitrate(o.bitrate).sps_timing(true);
    if let Some(frames) = o.intra {
        config = config.intra_period(frames);
    }
    let first = if o.split.is_some() { part_path(&path, 0) } else { path.clone() };
    let mut recording = camera.start_recording(Part::create(first)?, &config)?;
    let mut done = Vec::new();
    match o.split {
        None => recording.wait(o.seconds)?,
        Some(split) => {
            let mut recorded = Duration::ZERO;
            loop {
                let part = split.min(o.seconds - recorded);
                recording.wait(part)?;
                recorded += part;
                if recorded >= o.seconds {
                    break;
                }
                let next = Part::create(part_path(&path, done.len() + 1))?;
                let old = recording.split(next)?.finish()?;
                examples::outln!("{}: {}", old.path.display(), plural(old.frames, "frame"));
                done.push(old);
            }
        }
    }
    let last = recording.stop()?.finish()?;
    let frames_total: u64 = done.iter().map(|p| p.frames).sum::<u64>() + last.frames;
    // The video's length by its frame rate, as a player shows it.
    let seconds = frames_total as f64 / f64::from(o.fps);
    if o.split.is_some() {
        examples::outln!("{}: {}", last.path.display(), plural(last.frames, "frame"));
    }
    done.push(last);
    let (frames, keyframes, bytes) =
        done.iter().fold((0, 0, 0), |(f, k, b), p| (f + p.frames, k + p.keyframes, b + p.bytes));
    examples::outln!(
        "{}: {w}x{h} at {} fps, {} ({}), {seconds:.1} s of video: {:.2} Mbit/s (asked for {:.2}){}",
        if o.split.is_some() {
            format!("{} to {}", part_path(&path, 0).display(), part_path(&path, done.len() - 1).display())
        } else {
            path.display().to_string()
        },
        o.fps,
        plural(frames, "frame"),
        plural(keyframes, "keyframe"),
        bytes as f64 * 8.0 / seconds / 1e6,
        f64::from(o.bitrate) / 1e6,
        if o.split.is_some() { format!(", {}", plural(done.len() as u64, "file")) } else { String::new() },
    );
    Ok(())
}
