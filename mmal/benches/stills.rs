//! Stills on the software VideoCore and raw unpacking: the CPU time of a
//! full-resolution IMX219 JPEG+raw still and of a 1080p JPEG (the whole
//! process's, the VideoCore's threads included), and how fast `mmal::raw`
//! unpacks a full-resolution RAW10 block.
//!
//! `taskset -c 0 cargo bench -p mmal --bench stills` (one core). Prints
//! figures measured in one run; nothing is asserted.

use std::time::{Duration, Instant};

use mmal::params::{Capture, RawCapture};
use mmal::raw::{self, BayerOrder, RawImage};
use mmal::vcsm::ndarray::Array2;
use mmal::{Component, Connection, ConnectionFlags, Encoding, Format};

/// User plus system CPU seconds of this process (`/proc/self/stat`, in
/// ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// CPU seconds per still of `size`, with raw or not, over `n` stills.
fn still_cpu(size: (u32, u32), raw: bool, n: u32) -> mmal::Result<(f64, usize)> {
    let camera = Component::new("vc.ril.camera")?;
    let encoder = Component::new("vc.ril.image_encode")?;
    let port = camera.output(2)?;
    port.set_format(&Format::video(Encoding::OPAQUE, size.0, size.1))?;
    port.set(&RawCapture(raw))?;
    let _link = Connection::new(&port, &encoder.input(0)?, ConnectionFlags::default())?;
    let output = encoder.output(0)?;
    output.set_format(&Format::video(Encoding::JPEG, size.0, size.1))?;
    let buffers = output.enable_stream(3)?;
    camera.enable()?;
    let take = || -> mmal::Result<usize> {
        port.set(&Capture(true))?;
        let mut len = 0;
        loop {
            let b = buffers.next_timeout(Duration::from_secs(30))?;
            len += b.len();
            if b.is_frame_end() {
                return Ok(len);
            }
        }
    };
    // The first still prepares the picture: not counted.
    take()?;
    let start = cpu_seconds();
    let mut len = 0;
    for _ in 0..n {
        len = take()?;
    }
    Ok(((cpu_seconds() - start) / f64::from(n), len))
}

fn main() -> mmal::Result<()> {
    if std::env::var_os("VIDEOCORE").is_none() {
        std::env::set_var("VIDEOCORE", "emulated");
    }
    let (raw_cpu, raw_len) = still_cpu((3280, 2464), true, 3)?;
    println!("IMX219 3280x2464 JPEG+raw still: {:.0} ms of CPU ({raw_len} bytes)", raw_cpu * 1000.0);
    let (jpeg_cpu, jpeg_len) = still_cpu((1920, 1080), false, 5)?;
    println!("1920x1080 JPEG still: {:.0} ms of CPU ({jpeg_len} bytes)", jpeg_cpu * 1000.0);

    let header = raw::header_for(3280, 2464, BayerOrder::Rggb, 10, "imx219");
    let pixels = Array2::from_shape_fn((2464, 3280), |(y, x)| ((y * 7 + x * 13) % 1024) as u16);
    let block = raw::pack(&header, &pixels)?;
    let start = Instant::now();
    let n = 10;
    for _ in 0..n {
        let image = RawImage::parse(&block)?;
        assert_eq!(image.pixels().dim(), (2464, 3280));
    }
    let seconds = start.elapsed().as_secs_f64() / f64::from(n);
    println!(
        "mmal::raw: a full-resolution RAW10 block ({:.1} MB) parsed and unpacked in {:.1} ms: {:.0} MB/s",
        block.len() as f64 / 1e6,
        seconds * 1000.0,
        block.len() as f64 / 1e6 / seconds
    );
    Ok(())
}
