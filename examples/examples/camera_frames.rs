//! Streams 1920x1080 I420 from the camera's video port for a few seconds and
//! prints the frame rate, the mean level and the frames dropped.
//!
//! `cargo run --release --example camera_frames [seconds]`

use std::time::{Duration, Instant};

use mmal::params::{CameraConfig, Capture};
use mmal::{Component, Encoding, Format};

fn run() -> mmal::Result<()> {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let (width, height) = (1920, 1080);
    let camera = Component::new("vc.ril.camera")?;
    camera.control().set(&CameraConfig::for_size(width, height))?;
    let video = camera.output(1)?;
    video.set_format(&Format::video(Encoding::I420, width, height).with_frame_rate(30))?;
    let frames = video.enable_stream(3)?;
    camera.enable()?;
    video.set(&Capture(true))?;
    println!("streaming {} from {} ({}) for {seconds} s", video.format(), camera.name(), mmal::provider()?);

    let start = Instant::now();
    let mut count = 0u64;
    let mut last_report = start;
    while start.elapsed() < Duration::from_secs(seconds) {
        let frame = frames.next_timeout(Duration::from_secs(2))?;
        count += 1;
        if last_report.elapsed() >= Duration::from_secs(1) {
            // Mean of the Y plane, sampled.
            let y = &frame[..(width * height) as usize];
            let mean = y.iter().step_by(97).map(|&v| f64::from(v)).sum::<f64>() / (y.len() / 97) as f64;
            println!(
                "{:5.1} fps, mean level {mean:5.1}, pts {:>9} us, dropped {}",
                count as f64 / start.elapsed().as_secs_f64(),
                frame.pts().unwrap_or(0),
                frames.dropped()
            );
            last_report = Instant::now();
        }
    }
    println!("{count} frames in {:.2} s, {} dropped", start.elapsed().as_secs_f64(), frames.dropped());
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
