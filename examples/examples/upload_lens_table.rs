//! Lens shading calibration as it works on a Pi: captures a JPEG with the
//! raw Bayer data of a flat field (the override set to unity, so nothing
//! is corrected), computes the table from the raw, uploads it through
//! VCSM, and captures JPEGs before and after. It prints the corner-to-
//! centre levels of the decoded JPEGs and writes, into the folder it
//! names, the flat field's JPEG+raw, the before and after JPEGs, and the
//! table's four gain planes as heatmap PNGs.
//!
//! `cargo run --example upload_lens_table -- --help`
//!
//! On a Pi, point the camera at a uniformly lit target (a diffuser, an
//! empty microscope slide). Without a Pi the software VideoCore shows a
//! flat field (`VIDEOCORE_EMU_SCENE=flat` is the default here) through
//! optics that vignette harder than the stock lens.

use std::path::{Path, PathBuf};
use std::time::Duration;

use examples::lexopt::prelude::*;
use examples::{Error, Result};

use mmal::params::{CameraInfo, Capture, RawCapture};
use mmal::raw::RawImage;
use mmal::{Component, Connection, ConnectionFlags, Encoding, Format, LensShadingTable, Normalise};

const HELP: &str = "\
upload_lens_table: lens shading calibration as it works on a Pi. Captures a
JPEG with the raw Bayer data of a flat field (the lens shading override set
to unity), computes the table from the raw, uploads it through VCSM, and
captures JPEGs before and after. Prints the corner-to-centre levels of the
decoded JPEGs, and writes into FOLDER the flat field's JPEG+raw, the before
and after JPEGs, and the table's four gain planes as heatmap PNGs (blue at
x1.0, red at the plane's largest gain, which it prints).

usage: upload_lens_table [FOLDER]

arguments:
  FOLDER      where to write (default: lens-shading in the folder
              videocore-examples of the system's temporary folder)

options:
  -h, --help  print this help

On a Pi, point the camera at a uniformly lit target (a diffuser, an empty
microscope slide). The software VideoCore shows a flat field (unless
VIDEOCORE_EMU_SCENE says otherwise) through optics that vignette harder
than the stock lens.
";

fn folder() -> Result<PathBuf> {
    let mut folder = None;
    let mut args = lexopt::Parser::from_env();
    while let Some(arg) = args.next()? {
        match arg {
            Short('h') | Long("help") => examples::print_help(HELP),
            Value(path) if folder.is_none() => folder = Some(examples::path(path)),
            Value(path) => {
                return Err(Error::usage(format!("{}: one FOLDER only", path.to_string_lossy())));
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    match folder {
        Some(folder) => Ok(folder),
        None => Ok(examples::output_dir()?.join("lens-shading")),
    }
}

/// Captures one JPEG (with its raw appended if `raw`) with `table` as the
/// lens shading override, if given.
fn still(size: (u32, u32), table: Option<&LensShadingTable>, raw: bool) -> mmal::Result<Vec<u8>> {
    let camera = Component::new("vc.ril.camera")?;
    if let Some(table) = table {
        // Set while the camera is disabled; the firmware copies the table,
        // so the VCSM block is freed when `uploaded` goes.
        let uploaded = table.upload()?;
        camera.control().set(&uploaded.parameter())?;
    }
    let encoder = Component::new("vc.ril.image_encode")?;
    let port = camera.output(2)?;
    port.set_format(&Format::video(Encoding::OPAQUE, size.0, size.1))?;
    port.set(&RawCapture(raw))?;
    let _link = Connection::new(&port, &encoder.input(0)?, ConnectionFlags::default())?;
    let output = encoder.output(0)?;
    output.set_format(&Format::video(Encoding::JPEG, size.0, size.1))?;
    let buffers = output.enable_stream(3)?;
    camera.enable()?;
    port.set(&Capture(true))?;
    let mut jpeg = Vec::new();
    loop {
        let buffer = buffers.next_timeout(Duration::from_secs(10))?;
        jpeg.extend_from_slice(&buffer);
        if buffer.is_frame_end() {
            return Ok(jpeg);
        }
    }
}

/// Corner-to-centre level of each channel (R, G, B) of a decoded JPEG.
fn corner_ratios(jpeg: &[u8]) -> [f64; 3] {
    let mut decoder = jpeg_decoder::Decoder::new(jpeg);
    let rgb = decoder.decode().unwrap_or_default();
    let info = decoder.info();
    let (w, h) = info.map_or((0, 0), |i| (usize::from(i.width), usize::from(i.height)));
    if rgb.len() < w * h * 3 || w < 80 || h < 80 {
        return [f64::NAN; 3];
    }
    let s = w / 40;
    let mean = |cx: usize, cy: usize, c: usize| {
        let mut sum = 0.0;
        for y in cy - s / 2..cy + s / 2 {
            for x in cx - s / 2..cx + s / 2 {
                sum += f64::from(rgb[(y * w + x) * 3 + c]);
            }
        }
        sum / (s * s) as f64
    };
    [0, 1, 2].map(|c| {
        let corners = [(s, s), (w - s, s), (s, h - s), (w - s, h - s)];
        corners.iter().map(|&(x, y)| mean(x, y, c)).sum::<f64>() / 4.0 / mean(w / 2, h / 2, c)
    })
}

/// Pixels a heatmap gives each cell of the table, either way.
const GRID: u32 = 8;

/// The heatmap's colour for `t` from 0 (blue) through green to 1 (red).
fn colour(t: f32) -> [u8; 3] {
    [(255.0 * t) as u8, (255.0 * (1.0 - (2.0 * t - 1.0).abs())) as u8, (255.0 * (1.0 - t)) as u8]
}

/// A gain plane (u3.5, 32 = x1.0) as a heatmap: blue at x1, red at the
/// plane's largest gain, each cell [`GRID`] pixels square; below it, a
/// colour bar of that scale (x1 at the left, the largest gain at the
/// right) between two black lines. Returns the pixels, their size, and
/// the largest gain.
fn heatmap(table: &LensShadingTable, plane: usize) -> (Vec<u8>, u32, u32, u8) {
    let (gw, gh) = (table.width(), table.height());
    let max = (0..gh).flat_map(|y| (0..gw).map(move |x| (x, y))).filter_map(|(x, y)| table.gain(plane, x, y)).max();
    let max = max.unwrap_or(33).max(33);
    let span = f32::from(max) - 32.0;
    let (w, map_h) = (gw * GRID, gh * GRID);
    let bar = 2 * GRID;
    let h = map_h + bar + 2;
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..map_h {
        for x in 0..w {
            let g = table.gain(plane, x / GRID, y / GRID).unwrap_or(32);
            rgb.extend_from_slice(&colour(((f32::from(g) - 32.0) / span).clamp(0.0, 1.0)));
        }
    }
    let line = vec![0; (w * 3) as usize];
    rgb.extend_from_slice(&line);
    for _ in 0..bar {
        for x in 0..w {
            rgb.extend_from_slice(&colour(x as f32 / (w - 1).max(1) as f32));
        }
    }
    rgb.extend_from_slice(&line);
    (rgb, w, h, max)
}

/// A PNG of 8-bit RGB, stored without compression (deflate "stored"
/// blocks): a few lines, and any viewer opens it.
fn png(rgb: &[u8], width: u32, height: u32) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 { 0xEDB8_8320 ^ (crc >> 1) } else { crc >> 1 };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    // Each row: filter type 0, then the pixels.
    let mut raw = Vec::with_capacity(rgb.len() + height as usize);
    for row in rgb.chunks(width as usize * 3) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    // zlib: header, stored blocks of at most 65535 bytes, Adler-32.
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65535).collect();
    for (i, block) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn write(folder: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    std::fs::write(folder.join(name), bytes)
        .map_err(|e| Error::new(format!("cannot write {}: {e}", folder.join(name).display())))
}

fn main() -> Result<()> {
    let folder = folder()?;
    examples::check_environment()?;
    if std::env::var_os(mmal::emulator::SCENE_VAR).is_none() {
        mmal::emulator::set_scene(Some(mmal::emulator::Scene::flat()));
    }
    let info = Component::new("vc.camera_info")?.control().get::<CameraInfo>()?;
    let camera = info
        .cameras
        .first()
        .ok_or_else(|| Error::new("no camera detected: check the cable, and that the camera is enabled"))?;
    let (full_w, full_h) = (camera.max_width, camera.max_height);
    examples::outln!("camera {} ({full_w}x{full_h}) through {}", camera.name, mmal::provider()?);
    std::fs::create_dir_all(&folder).map_err(|e| Error::new(format!("cannot make {}: {e}", folder.display())))?;
    let size = (full_w / 2, full_h / 2);

    // The flat field, nothing corrected (a unity override), with its raw.
    let (gw, gh) = LensShadingTable::grid_for(full_w, full_h);
    let flat = still(size, Some(&LensShadingTable::unity(gw, gh)?), true)?;
    let raw = RawImage::parse(&flat)?;
    let header = raw.header();
    examples::outln!(
        "raw: {}x{} {:?}, {}-bit, transform {}",
        header.width,
        header.height,
        header.bayer_order,
        header.bit_depth,
        header.transform
    );
    let table = LensShadingTable::from_raw(&raw, Normalise::Centre, None)?;
    let before = still(size, None, false)?;
    let after = still(size, Some(&table), false)?;

    let (b, a) = (corner_ratios(&before), corner_ratios(&after));
    examples::outln!("corner-to-centre level of the JPEGs   before   after");
    for (c, name) in ["red", "green", "blue"].iter().enumerate() {
        examples::outln!("  {name:<34} {:6.3}  {:6.3}", b[c], a[c]);
    }
    let corner_gain = |plane: usize| table.gain(plane, 0, 0).map_or(0.0, |g| f64::from(g) / 32.0);
    examples::outln!(
        "a {gw}x{gh} table; gains at the top-left corner: R x{:.2}, Gr x{:.2}, Gb x{:.2}, B x{:.2}",
        corner_gain(0),
        corner_gain(1),
        corner_gain(2),
        corner_gain(3)
    );
    write(&folder, "flat-field-with-raw.jpg", &flat)?;
    write(&folder, "before.jpg", &before)?;
    write(&folder, "after.jpg", &after)?;
    let mut scales = Vec::new();
    for (plane, (name, label)) in [("r", "R"), ("gr", "Gr"), ("gb", "Gb"), ("b", "B")].into_iter().enumerate() {
        let (rgb, w, h, max) = heatmap(&table, plane);
        write(&folder, &format!("gains-{name}.png"), &png(&rgb, w, h))?;
        scales.push(format!("{label} x{:.2}", f64::from(max) / 32.0));
    }
    examples::outln!(
        "wrote {}/: flat-field-with-raw.jpg before.jpg after.jpg gains-{{r,gr,gb,b}}.png",
        folder.display()
    );
    examples::outln!(
        "heatmaps: {GRID}x{GRID} pixels a cell, blue at x1.00 to red at the plane's largest gain ({}), a colour bar of that scale below",
        scales.join(", ")
    );
    Ok(())
}
