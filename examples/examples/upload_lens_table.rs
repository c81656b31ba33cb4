//! Flat-field correction: captures a flat field, computes a lens shading
//! table from it, uploads the table through VCSM, captures again, and
//! prints the corner-to-centre level per channel before and after.
//!
//! `cargo run --example upload_lens_table`
//!
//! On a Pi, point the camera at a uniformly lit target (a diffuser, an
//! empty microscope slide). Without a Pi the software VideoCore shows a flat
//! field (`VIDEOCORE_EMU_SCENE=flat` is the default here) through a
//! vignetting lens.

use std::time::Duration;

use mmal::params::{CameraInfo, Capture, SensorMode};
use mmal::{Component, Encoding, Format, LensShadingTable};

/// Full-field-of-view sensor mode per sensor (2x2 binned), so that the
/// capture covers every cell of the table.
fn full_fov_mode(sensor: &str) -> (u32, u32, u32) {
    match sensor {
        "ov5647" => (4, 1296, 972),
        "imx477" => (2, 2028, 1520),
        _ => (4, 1640, 1232),
    }
}

fn capture(mode: u32, format: &Format, table: Option<&LensShadingTable>) -> mmal::Result<Vec<u8>> {
    let camera = Component::new("vc.ril.camera")?;
    camera.control().set(&SensorMode(mode))?;
    if let Some(table) = table {
        // Set while the camera is disabled; the firmware copies the table,
        // so the VCSM block is freed when `uploaded` goes.
        let uploaded = table.upload()?;
        println!(
            "uploaded a {}x{} table: {} bytes of VCSM, VideoCore handle {:#x}",
            table.width(),
            table.height(),
            uploaded.memory().size(),
            uploaded.memory().vc_handle().get()
        );
        camera.control().set(&uploaded.parameter())?;
    }
    let video = camera.output(1)?;
    video.set_format(format)?;
    let frames = video.enable_stream(3)?;
    camera.enable()?;
    video.set(&Capture(true))?;
    // Let exposure settle for a few frames, then keep one.
    for _ in 0..3 {
        frames.next_timeout(Duration::from_secs(5))?;
    }
    Ok(frames.next_timeout(Duration::from_secs(5))?.to_vec())
}

/// Corner-to-centre level of each channel (R, G, B).
fn corner_ratios(image: &[u8], format: &Format) -> [f64; 3] {
    let (w, h) = format.visible();
    let (w, h, stride) = (w as usize, h as usize, format.stride());
    let s = w / 40;
    let mean = |cx: usize, cy: usize, c: usize| {
        let mut sum = 0.0;
        for y in cy - s / 2..cy + s / 2 {
            for x in cx - s / 2..cx + s / 2 {
                sum += f64::from(image[y * stride + x * 3 + c]);
            }
        }
        sum / (s * s) as f64
    };
    [0, 1, 2].map(|c| {
        let corners = [(s, s), (w - s, s), (s, h - s), (w - s, h - s)];
        corners.iter().map(|&(x, y)| mean(x, y, c)).sum::<f64>() / 4.0 / mean(w / 2, h / 2, c)
    })
}

fn run() -> mmal::Result<()> {
    if std::env::var_os(mmal::emulator::SCENE_VAR).is_none() {
        mmal::emulator::set_scene(Some(mmal::emulator::Scene::flat()));
    }
    let info = Component::new("vc.camera_info")?.control().get::<CameraInfo>()?;
    let camera = info.cameras.first().ok_or(mmal::Error::Unsupported("no camera detected"))?;
    let (mode, width, height) = full_fov_mode(&camera.name);
    println!(
        "{} camera {} ({}x{}), sensor mode {mode}: {width}x{height}",
        mmal::provider()?,
        camera.name,
        camera.max_width,
        camera.max_height
    );
    let format = Format::video(Encoding::RGB24, width, height).with_frame_rate(30);

    let before = capture(mode, &format, None)?;
    let table = LensShadingTable::from_flat_field(&before, &format, (camera.max_width, camera.max_height))?;
    let after = capture(mode, &format, Some(&table))?;

    let (b, a) = (corner_ratios(&before, &format), corner_ratios(&after, &format));
    println!("corner-to-centre level   before   after");
    for (c, name) in ["red", "green", "blue"].iter().enumerate() {
        println!("  {name:<22} {:6.3}  {:6.3}", b[c], a[c]);
    }
    let corner_gain = |ch: usize| table.gain(ch, 0, 0).map_or(0.0, |g| f64::from(g) / 32.0);
    println!(
        "table gains at the top-left corner: R x{:.2}, G x{:.2}, B x{:.2}",
        corner_gain(0),
        corner_gain(1),
        corner_gain(3)
    );
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
