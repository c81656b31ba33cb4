//! Records H.264 from the camera, as `raspivid` does: N seconds to a
//! `.h264` file (an Annex B stream that ffmpeg, VLC and `ffprobe` read),
//! printing frames, keyframes and the bitrate. With `--split S`, a new file
//! starts every S seconds, each at a keyframe with the stream's headers
//! before it, so each plays on its own: `video-000.h264`, `video-001.h264`...
//!
//! `cargo run --example record_h264 -- [--seconds N] [--size WxH] [--fps F]
//! [--bitrate BPS] [--intra N] [--split S] [file.h264]`

use std::fs::File;
use std::io::Write;
use std::time::{Duration, Instant};

use mmal::{EncodedKind, Recorder, RecorderConfig};

struct Options {
    seconds: f64,
    size: (u32, u32),
    fps: u32,
    bitrate: u32,
    intra: Option<u32>,
    split: Option<f64>,
    path: String,
}

const USAGE: &str = "use [--seconds N] [--size WxH] [--fps F] [--bitrate BPS] [--intra N] [--split S] [file.h264]";

fn options() -> Result<Options, String> {
    let mut o = Options {
        seconds: 5.0,
        size: (1280, 720),
        fps: 30,
        bitrate: 4_000_000,
        intra: None,
        split: None,
        path: "video.h264".to_owned(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |what: &str| args.next().ok_or(format!("{arg} takes {what}"));
        match arg.as_str() {
            "--seconds" => o.seconds = number(&value("seconds")?).filter(|s| *s > 0.0).ok_or("--seconds: above 0")?,
            "--split" => o.split = Some(number(&value("seconds")?).filter(|s| *s > 0.0).ok_or("--split: above 0")?),
            "--fps" => o.fps = value("a frame rate")?.parse().map_err(|_| "--fps takes a whole number")?,
            "--bitrate" => o.bitrate = value("bits per second")?.parse().map_err(|_| "--bitrate takes bits/s")?,
            "--intra" => o.intra = Some(value("frames")?.parse().map_err(|_| "--intra takes a frame count")?),
            "--size" => {
                let v = value("WxH")?;
                let (w, h) = v.split_once('x').ok_or("--size takes WxH, as 1280x720")?;
                o.size = (w.parse().map_err(|_| "--size: width")?, h.parse().map_err(|_| "--size: height")?);
            }
            path if !path.starts_with('-') => o.path = path.to_owned(),
            other => return Err(format!("unknown option {other}: {USAGE}")),
        }
    }
    Ok(o)
}

fn number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Where the recording goes: one file, or a numbered file per part.
struct Output {
    path: String,
    split: bool,
    part: usize,
    file: Option<File>,
    written: u64,
}

impl Output {
    /// The name of part `n`: `video.h264` gives `video-000.h264`.
    fn part_path(&self, n: usize) -> String {
        if !self.split {
            return self.path.clone();
        }
        match self.path.rsplit_once('.') {
            Some((stem, ext)) => format!("{stem}-{n:03}.{ext}"),
            None => format!("{}-{n:03}", self.path),
        }
    }

    /// Starts the next file (the first, or the next part).
    fn next_file(&mut self) -> mmal::Result<()> {
        let path = self.part_path(self.part);
        let file =
            File::create(&path).map_err(|e| mmal::Error::InvalidParameter(format!("cannot create {path}: {e}")))?;
        if let Some(done) = self.file.replace(file) {
            drop(done);
            println!("{}: done", self.part_path(self.part - 1));
        }
        self.part += 1;
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> mmal::Result<()> {
        let path = self.part_path(self.part.saturating_sub(1));
        let Some(file) = self.file.as_mut() else { return Ok(()) };
        file.write_all(data).map_err(|e| mmal::Error::InvalidParameter(format!("cannot write {path}: {e}")))?;
        self.written += data.len() as u64;
        Ok(())
    }
}

fn run(o: &Options) -> mmal::Result<()> {
    let (w, h) = o.size;
    let mut config = RecorderConfig::h264(w, h).frame_rate(o.fps).bitrate(o.bitrate);
    if let Some(frames) = o.intra {
        config = config.intra_period(frames);
    }
    let mut recorder = Recorder::new(&config)?;
    let mut out = Output { path: o.path.clone(), split: o.split.is_some(), part: 0, file: None, written: 0 };
    let (mut frames, mut keyframes) = (0u64, 0u64);
    let started = Instant::now();
    let mut next_split = o.split.map(Duration::from_secs_f64);
    let mut split_asked = false;
    recorder.start()?;
    while started.elapsed().as_secs_f64() < o.seconds {
        if let Some(at) = next_split.filter(|at| started.elapsed() >= *at) {
            // The split comes at the next keyframe: ask for one now.
            recorder.request_keyframe()?;
            split_asked = true;
            next_split = Some(at + Duration::from_secs_f64(o.split.unwrap_or_default()));
        }
        let buffer = recorder.next_timeout(Duration::from_secs(10))?;
        // Headers precede each keyframe: where a part starts.
        if out.file.is_none() || (split_asked && buffer.kind() == EncodedKind::Headers) {
            out.next_file()?;
            split_asked = false;
        }
        keyframes += u64::from(buffer.kind() == EncodedKind::Keyframe);
        frames += u64::from(buffer.ends_picture());
        out.write(&buffer)?;
    }
    recorder.stop()?;
    let seconds = started.elapsed().as_secs_f64();
    let last = out.part_path(out.part.saturating_sub(1));
    println!(
        "{last}: {w}x{h} at {} fps, {frames} frames ({keyframes} keyframes) in {seconds:.1} s: {:.2} Mbit/s \
         (asked for {:.2}){}",
        o.fps,
        out.written as f64 * 8.0 / seconds / 1e6,
        f64::from(o.bitrate) / 1e6,
        if out.split { format!(", {} files", out.part) } else { String::new() },
    );
    Ok(())
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("record_h264: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&o) {
        eprintln!("record_h264: {e}");
        std::process::exit(1);
    }
}
