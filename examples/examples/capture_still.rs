//! Captures a still through `mmal::Camera`, as `raspistill` does, and
//! writes it to a file whose format follows its extension (JPEG, PNG, BMP,
//! GIF, PPM, TGA, or raw I420/RGB). With `--raw`, the raw Bayer data
//! follows the JPEG in the same file, as `raspistill -r` writes it; the
//! example then reads it back with `mmal::raw` and prints its header.
//!
//! `cargo run --example capture_still -- --help`

use std::path::PathBuf;

use examples::lexopt::prelude::*;
use examples::{Error, Result};
use mmal::params::RawCapture;
use mmal::raw::RawImage;
use mmal::{Camera, CameraOptions, Encoding, StillOptions};

const HELP: &str = "\
capture_still: captures one still from the camera's still port and writes
it to FILE, in the format FILE's extension names: jpg, png, bmp, gif, ppm,
tga (through the image encoder), or yuv (I420), rgb, bgr, rgba, bgra (raw).

usage: capture_still [--size WxH] [--quality N] [--raw] [FILE]

arguments:
  FILE            where to write (default: still.jpg in the folder
                  videocore-examples of the system's temporary folder)

options:
  --size WxH      the picture's size (default 1640x1232; up to the
                  sensor's full resolution)
  --quality N     JPEG quality, 1 to 100 (default 85)
  --raw           append the sensor's raw Bayer data to the JPEG (FILE
                  must be a .jpg) and print its header
  --camera N      which camera (default 0)
  -h, --help      print this help
";

struct Options {
    size: (u32, u32),
    quality: u32,
    raw: bool,
    camera: u32,
    path: Option<PathBuf>,
}

fn options() -> Result<Options> {
    let mut o = Options { size: (1640, 1232), quality: 85, raw: false, camera: 0, path: None };
    let mut args = lexopt::Parser::from_env();
    while let Some(arg) = args.next()? {
        match arg {
            Short('h') | Long("help") => examples::print_help(HELP),
            Long("size") => o.size = examples::size("--size", args.value()?)?,
            Long("quality") => o.quality = examples::number("--quality", args.value()?, 1..=100, "a JPEG quality")?,
            Long("camera") => o.camera = examples::number("--camera", args.value()?, 0..=3, "a camera number")?,
            Long("raw") => o.raw = true,
            Value(path) if o.path.is_none() => o.path = Some(examples::path(path)),
            Value(path) => {
                return Err(Error::usage(format!(
                    "{}: one output file only (already {})",
                    path.to_string_lossy(),
                    o.path.as_ref().map_or(String::new(), |p| p.display().to_string())
                )))
            }
            _ => return Err(arg.unexpected().into()),
        }
    }
    Ok(o)
}

fn main() -> Result<()> {
    let o = options()?;
    let path = match o.path {
        Some(path) => path,
        None => examples::output_dir()?.join("still.jpg"),
    };
    let jpeg = path.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "jpg" | "jpeg" | "JPG" | "JPEG"));
    if o.raw && !jpeg {
        return Err(Error::usage(format!(
            "--raw: the raw data follows a JPEG; give a .jpg file, not {}",
            path.display()
        )));
    }
    examples::check_environment()?;
    let (width, height) = o.size;
    let camera = Camera::open(o.camera, &CameraOptions::new().resolution(width, height))?;
    let still = StillOptions::new().quality(o.quality);
    if o.raw {
        camera.component()?.still().set(&RawCapture(true))?;
        let file = camera.capture_as(Encoding::JPEG, &still)?;
        let raw = RawImage::parse(&file)?;
        std::fs::write(&path, &file).map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))?;
        examples::outln!(
            "{}: a {width}x{height} JPEG at quality {} with raw data, {} bytes",
            path.display(),
            o.quality,
            file.len()
        );
        let h = raw.header();
        examples::outln!(
            "raw: {}x{} {:?} {}-bit, stride {} bytes, {} rows, transform {}, mode {:?}",
            h.width,
            h.height,
            h.bayer_order,
            h.bit_depth,
            h.stride,
            h.rows,
            h.transform,
            h.mode_name
        );
    } else {
        camera.capture_with(&path, &still)?;
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        examples::outln!(
            "{}: a {width}x{height} still from the {} sensor, {bytes} bytes",
            path.display(),
            camera.sensor()
        );
    }
    Ok(())
}
