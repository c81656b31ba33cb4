//! Captures a still JPEG from the camera's still port through
//! `vc.ril.image_encode`, as `raspistill` does, and writes it to a file.
//! With `--raw`, the raw Bayer data follows the JPEG in the same file, as
//! `raspistill -r` writes it; the example then reads it back with
//! `mmal::raw` and prints its header.
//!
//! `cargo run --example capture_still -- [--raw] [--quality N] [file.jpg]`

use std::time::Duration;

use mmal::params::{Capture, JpegQuality, RawCapture};
use mmal::raw::RawImage;
use mmal::{Component, Connection, ConnectionFlags, Encoding, Format};

struct Options {
    raw: bool,
    quality: u32,
    path: String,
}

fn options() -> Result<Options, String> {
    let mut o = Options { raw: false, quality: 85, path: "still.jpg".to_owned() };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--raw" => o.raw = true,
            "--quality" => {
                let q = args.next().and_then(|q| q.parse().ok()).filter(|q| (1..=100).contains(q));
                o.quality = q.ok_or("--quality takes a number from 1 to 100")?;
            }
            path if !path.starts_with('-') => o.path = path.to_owned(),
            other => return Err(format!("unknown option {other}: use [--raw] [--quality N] [file.jpg]")),
        }
    }
    Ok(o)
}

fn run(o: &Options) -> mmal::Result<()> {
    let camera = Component::new("vc.ril.camera")?;
    let encoder = Component::new("vc.ril.image_encode")?;
    let still = camera.output(2)?;
    let (width, height) = (1640, 1232);
    still.set_format(&Format::video(Encoding::OPAQUE, width, height))?;
    still.set(&RawCapture(o.raw))?;
    let _link = Connection::new(&still, &encoder.input(0)?, ConnectionFlags::default())?;
    let output = encoder.output(0)?;
    output.set_format(&Format::video(Encoding::JPEG, width, height))?;
    output.set(&JpegQuality(o.quality))?;
    let buffers = output.enable_stream(3)?;
    camera.enable()?;
    still.set(&Capture(true))?;
    let mut file = Vec::new();
    loop {
        let buffer = buffers.next_timeout(Duration::from_secs(10))?;
        file.extend_from_slice(&buffer);
        if buffer.is_frame_end() {
            break;
        }
    }
    std::fs::write(&o.path, &file)
        .map_err(|e| mmal::Error::InvalidParameter(format!("cannot write {}: {e}", o.path)))?;
    println!("{}: a {width}x{height} JPEG at quality {}, {} bytes in all", o.path, o.quality, file.len());
    if o.raw {
        let raw = RawImage::parse(&file)?;
        let h = raw.header();
        println!(
            "raw: {}x{} {:?} {}-bit, stride {} bytes, {} rows, transform {}, mode {:?}",
            h.width, h.height, h.bayer_order, h.bit_depth, h.stride, h.rows, h.transform, h.mode_name
        );
    }
    Ok(())
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("capture_still: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&o) {
        eprintln!("capture_still: {e}");
        std::process::exit(1);
    }
}
