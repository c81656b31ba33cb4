//! Calibrates a lens shading table from a JPEG+raw file, with no camera:
//! the file can come from `raspistill -r`, picamera's
//! `capture(..., bayer=True)`, or `capture_still --raw`. It reads the raw
//! Bayer block with `mmal::raw`, computes the table from it
//! (`LensShadingTable::from_raw`), and writes the table as a NumPy `.npy`
//! file (`uint8`, shape `(4, rows, columns)`, planes R, Gr, Gb, B), which
//! picamerax takes as it is:
//!
//! ```python
//! camera.lens_shading_table = numpy.load("table.npy")
//! ```
//!
//! picamerax sends no orientation of its own with the table: it always
//! says `ref_transform` 0 for the OV5647 and 3 (both flips) for the others,
//! while the raw header says how the calibration picture was read out. So
//! for the IMX219 and IMX477, take the flat field with `hflip` and `vflip`
//! both set (as OpenFlexure users found), and for the OV5647 with neither;
//! the example warns when the raw's transform differs. Through `mmal`
//! (`LensShadingTable::upload`), the header's transform travels with the
//! table and any orientation works.
//!
//! `--bayer FILE` also writes the unpacked pixels (`uint16`, `(height,
//! width)`), and `--planes FILE` the four colour planes (`uint16`, `(4,
//! height / 2, width / 2)`, R, Gr, Gb, B by the header's Bayer order), for
//! looking at in NumPy. `--brightest` normalises to the brightest cell
//! (OpenFlexure's way) instead of the centre (6by9's).
//!
//! `cargo run --example calibrate_raw -- flat.jpg table.npy [--bayer F] [--planes F] [--brightest]`

use std::io::Write;
use std::path::PathBuf;

use examples::lexopt::prelude::*;
use examples::{Error, Result};

use mmal::raw::RawImage;
use mmal::{LensShadingTable, Normalise};

struct Options {
    input: PathBuf,
    table: PathBuf,
    bayer: Option<PathBuf>,
    planes: Option<PathBuf>,
    normalise: Normalise,
}

const HELP: &str = "\
calibrate_raw: computes a lens shading table from a JPEG+raw file of a
flat field (from raspistill -r, picamera's capture(..., bayer=True) or
capture_still --raw), with no camera, and writes it as a NumPy .npy file
(uint8, shape (4, rows, columns), planes R, Gr, Gb, B) that picamerax takes
as it is: camera.lens_shading_table = numpy.load(\"table.npy\").

usage: calibrate_raw [--bayer F.npy] [--planes F.npy] [--brightest] FILE.jpg TABLE.npy

arguments:
  FILE.jpg        the JPEG with the raw Bayer data appended
  TABLE.npy       where to write the table

options:
  --bayer F.npy   also write the unpacked pixels (uint16, (height, width))
  --planes F.npy  also write the four colour planes (uint16,
                  (4, height / 2, width / 2), R, Gr, Gb, B)
  --brightest     normalise to the brightest cell (OpenFlexure's way)
                  instead of the centre (default, 6by9's)
  -h, --help      print this help

For picamerax, take the flat field with hflip and vflip both set for the
IMX219 and IMX477, and with neither for the OV5647 (it warns otherwise).
";

fn options() -> Result<Options> {
    let mut paths = Vec::new();
    let (mut bayer, mut planes, mut normalise) = (None, None, Normalise::Centre);
    let mut args = lexopt::Parser::from_env();
    while let Some(arg) = args.next()? {
        match arg {
            Short('h') | Long("help") => examples::print_help(HELP),
            Long("bayer") => bayer = Some(examples::path(args.value()?)),
            Long("planes") => planes = Some(examples::path(args.value()?)),
            Long("brightest") => normalise = Normalise::Brightest,
            Value(path) => paths.push(examples::path(path)),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let count = paths.len();
    let [input, table] = <[PathBuf; 2]>::try_from(paths)
        .map_err(|_| Error::usage(format!("give two files, the JPEG+raw and the table to write ({count} given)")))?;
    Ok(Options { input, table, bayer, planes, normalise })
}

/// Writes a little-endian `.npy` (format 1.0) holding `data`, of NumPy type
/// `descr` and `shape`, in C order.
fn write_npy(path: &std::path::Path, descr: &str, shape: &[usize], data: &[u8]) -> std::io::Result<()> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Magic, version, length, header and its newline: a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    file.write_all(b"\x93NUMPY\x01\x00")?;
    file.write_all(&(header.len() as u16).to_le_bytes())?;
    file.write_all(header.as_bytes())?;
    file.write_all(data)?;
    file.flush()
}

fn u16_bytes<'a>(values: impl IntoIterator<Item = &'a u16>) -> Vec<u8> {
    values.into_iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Warns where picamerax would use the table in another orientation than
/// it was measured in, or reject its shape.
fn check_for_picamerax(h: &mmal::raw::RawHeader) {
    let name = h.mode_name.to_ascii_lowercase();
    let (full, picamerax_transform) = if name.contains("ov5647") {
        ((2592, 1944), 0)
    } else if name.contains("imx219") {
        ((3280, 2464), 3)
    } else if name.contains("imx477") {
        ((4056, 3040), 3)
    } else {
        return;
    };
    if h.transform != picamerax_transform {
        let flips = if picamerax_transform == 3 { "both set" } else { "both off" };
        eprintln!(
            "note: picamerax sends this sensor's tables with ref_transform {picamerax_transform}, and this raw was \
             read out with transform {}: for picamerax, capture the flat field with hflip and vflip {flips}",
            h.transform
        );
    }
    if (u32::from(h.width), u32::from(h.height)) != full {
        eprintln!(
            "note: a {}x{} raw is not the sensor's full {}x{}: picamerax takes tables sized for the full sensor",
            h.width, h.height, full.0, full.1
        );
    }
}

fn main() -> Result<()> {
    let o = options()?;
    let (input, table_path) = (o.input.display(), o.table.display());
    let file = std::fs::read(&o.input).map_err(|e| Error::new(format!("{input}: {e}")))?;
    let raw = RawImage::parse(&file).map_err(|e| Error::new(format!("{input}: {e}")))?;
    let h = raw.header();
    examples::outln!(
        "{input}: {}x{} {}-bit raw, Bayer order {:?}, transform {} (mode {:?})",
        h.width,
        h.height,
        h.bit_depth,
        h.bayer_order,
        h.transform,
        h.mode_name
    );
    check_for_picamerax(h);
    let table = LensShadingTable::from_raw(&raw, o.normalise, None)?;
    let (w, hh) = (table.width() as usize, table.height() as usize);
    write_npy(&o.table, "|u1", &[4, hh, w], table.gains()).map_err(|e| Error::new(format!("{table_path}: {e}")))?;
    let (min, max) = table.gains().iter().fold((u8::MAX, 0), |(lo, hi), &g| (lo.min(g), hi.max(g)));
    examples::outln!("wrote {table_path}: {w}x{hh} cells, gains {min}..{max} (32 is x1.0)");
    if let Some(path) = &o.bayer {
        let pixels = raw.pixels();
        let (rows, cols) = pixels.dim();
        write_npy(path, "<u2", &[rows, cols], &u16_bytes(pixels.iter()))
            .map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
        examples::outln!("wrote {}: the pixels, {rows}x{cols}", path.display());
    }
    if let Some(path) = &o.planes {
        let p = raw.planes();
        let (rows, cols) = p.r.dim();
        let data = u16_bytes(p.r.iter().chain(&p.gr).chain(&p.gb).chain(&p.b));
        write_npy(path, "<u2", &[4, rows, cols], &data).map_err(|e| Error::new(format!("{}: {e}", path.display())))?;
        examples::outln!("wrote {}: R, Gr, Gb, B, each {rows}x{cols}", path.display());
    }
    Ok(())
}
