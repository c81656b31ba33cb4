//! Recording on the software VideoCore: how many H.264 frames a second the
//! camera and encoder make together (the camera's picture and OpenH264's
//! encoding, the whole pipeline), with the camera unpaced so it is the work
//! that sets the rate. Real time is 30.
//!
//! ```text
//! taskset -c 0 cargo bench -p mmal --bench video -- 720p     # one core
//! cargo bench -p mmal --bench video -- 1080p                 # two cores
//! taskset -c 0 cargo bench -p mmal --bench video -- 720p-vectors
//! ```
//!
//! With no argument, both on the cores it is given. Prints figures measured
//! in one run; nothing is asserted.

use std::time::{Duration, Instant};

use mmal::emulator::Pacing;
use mmal::{Recorder, RecorderConfig};

/// User plus system CPU seconds of this process (`/proc/self/stat`, in
/// ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// Encoded frames per second and CPU milliseconds per frame over `n`
/// frames at `width`×`height`, after a warm-up.
fn rate(width: u32, height: u32, bitrate: u32, vectors: bool, n: u32) -> mmal::Result<(f64, f64, f64)> {
    let config = RecorderConfig::h264(width, height).bitrate(bitrate).motion_vectors(vectors);
    let mut recorder = Recorder::new(&config)?;
    recorder.start()?;
    let pictures = |count: u32| -> mmal::Result<u64> {
        let (mut done, mut bytes) = (0, 0);
        while done < count {
            let b = recorder.next_timeout(Duration::from_secs(30))?;
            done += u32::from(b.ends_picture());
            if b.kind() != mmal::EncodedKind::MotionVectors {
                bytes += b.len() as u64;
            }
        }
        Ok(bytes)
    };
    pictures(15)?;
    let (wall, cpu) = (Instant::now(), cpu_seconds());
    let bytes = pictures(n)?;
    let (wall, cpu) = (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    recorder.stop()?;
    let bitrate = bytes as f64 * 8.0 / (f64::from(n) / 30.0);
    Ok((f64::from(n) / wall, cpu * 1000.0 / f64::from(n), bitrate))
}

fn main() -> mmal::Result<()> {
    if std::env::var_os("VIDEOCORE").is_none() {
        std::env::set_var("VIDEOCORE", "emulated");
    }
    mmal::emulator::set_pacing(Pacing::Unlimited);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let cases = [
        ("720p", 1280, 720, 4_000_000, false),
        ("1080p", 1920, 1080, 17_000_000, false),
        ("720p-vectors", 1280, 720, 4_000_000, true),
    ];
    for (name, w, h, bitrate, vectors) in cases {
        if !which.is_empty() && !which.iter().any(|a| a == name) {
            continue;
        }
        let (fps, cpu_ms, bits) = rate(w, h, bitrate, vectors, 150)?;
        println!(
            "{w}x{h} H.264{} on {cores} core{}: {fps:.1} frames/s ({:.2}x real time at 30 fps), {cpu_ms:.1} ms of CPU \
             per frame, {:.1} Mbit/s at 30 fps (target {:.0})",
            if vectors { " with motion vectors" } else { "" },
            if cores == 1 { "" } else { "s" },
            fps / 30.0,
            bits / 1e6,
            f64::from(bitrate) / 1e6,
        );
    }
    Ok(())
}
