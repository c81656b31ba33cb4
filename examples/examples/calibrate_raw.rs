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

use mmal::raw::RawImage;
use mmal::{LensShadingTable, Normalise};

struct Options {
    input: String,
    table: String,
    bayer: Option<String>,
    planes: Option<String>,
    normalise: Normalise,
}

const USAGE: &str = "use: calibrate_raw FILE.jpg TABLE.npy [--bayer F.npy] [--planes F.npy] [--brightest]";

fn options() -> Result<Options, String> {
    let mut paths = Vec::new();
    let (mut bayer, mut planes, mut normalise) = (None, None, Normalise::Centre);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bayer" => bayer = Some(args.next().ok_or("--bayer takes a file name")?),
            "--planes" => planes = Some(args.next().ok_or("--planes takes a file name")?),
            "--brightest" => normalise = Normalise::Brightest,
            path if !path.starts_with('-') => paths.push(path.to_owned()),
            other => return Err(format!("unknown option {other}: {USAGE}")),
        }
    }
    let [input, table] = <[String; 2]>::try_from(paths).map_err(|_| USAGE.to_owned())?;
    Ok(Options { input, table, bayer, planes, normalise })
}

/// Writes a little-endian `.npy` (format 1.0) holding `data`, of NumPy type
/// `descr` and `shape`, in C order.
fn write_npy(path: &str, descr: &str, shape: &[usize], data: &[u8]) -> std::io::Result<()> {
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

fn run(o: &Options) -> Result<(), String> {
    let file = std::fs::read(&o.input).map_err(|e| format!("{}: {e}", o.input))?;
    let raw = RawImage::parse(&file).map_err(|e| format!("{}: {e}", o.input))?;
    let h = raw.header();
    println!(
        "{}: {}x{} {}-bit raw, Bayer order {:?}, transform {} (mode {:?})",
        o.input, h.width, h.height, h.bit_depth, h.bayer_order, h.transform, h.mode_name
    );
    check_for_picamerax(h);
    let table = LensShadingTable::from_raw(&raw, o.normalise, None).map_err(|e| e.to_string())?;
    let (w, hh) = (table.width() as usize, table.height() as usize);
    write_npy(&o.table, "|u1", &[4, hh, w], table.gains()).map_err(|e| format!("{}: {e}", o.table))?;
    let (min, max) = table.gains().iter().fold((u8::MAX, 0), |(lo, hi), &g| (lo.min(g), hi.max(g)));
    println!("wrote {}: {w}x{hh} cells, gains {min}..{max} (32 is x1.0)", o.table);
    if let Some(path) = &o.bayer {
        let pixels = raw.pixels();
        let (rows, cols) = pixels.dim();
        write_npy(path, "<u2", &[rows, cols], &u16_bytes(pixels.iter())).map_err(|e| format!("{path}: {e}"))?;
        println!("wrote {path}: the pixels, {rows}x{cols}");
    }
    if let Some(path) = &o.planes {
        let p = raw.planes();
        let (rows, cols) = p.r.dim();
        let data = u16_bytes(p.r.iter().chain(&p.gr).chain(&p.gb).chain(&p.b));
        write_npy(path, "<u2", &[4, rows, cols], &data).map_err(|e| format!("{path}: {e}"))?;
        println!("wrote {path}: R, Gr, Gb, B, each {rows}x{cols}");
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    match options().and_then(|o| run(&o)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("calibrate_raw: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
