//! Allocate VideoCore memory, copy an IMX219-sized lens shading table into
//! it, and show what MMAL would be given.
//!
//! ```text
//! cargo run --example vcsm_basic -- --help
//! ```
//!
//! Runs on the emulated VideoCore anywhere, and on a Pi's `/dev/vcsm-cma`
//! or `/dev/vcsm` (`VIDEOCORE=hardware` to insist on the real one).

use examples::lexopt::prelude::*;
use examples::Result;
use vcsm::ndarray::Array3;
use vcsm::{ServiceManager, SharedMemory};

/// Lens shading grid of an IMX219 (3280 x 2464, 64-pixel cells): 52 x 39
/// cells, one plane per Bayer channel (R, Gr, Gb, B).
const CHANNELS: usize = 4;
const ROWS: usize = 39;
const COLUMNS: usize = 52;

const HELP: &str = "\
vcsm_basic: allocates VideoCore shared memory (VCSM), copies an
IMX219-sized lens shading table (4 x 39 x 52 gains) into it, and prints
what MMAL would be given: the VideoCore handle, the bus address, the sizes,
and the pool's statistics before and after the block is freed.

usage: vcsm_basic

options:
  -h, --help  print this help

environment: VIDEOCORE=emulated|hardware chooses the driver (by default
/dev/vcsm-cma or /dev/vcsm on a Pi, the emulated VideoCore elsewhere).
";

fn main() -> Result<()> {
    let mut args = lexopt::Parser::from_env();
    if let Some(arg) = args.next()? {
        match arg {
            Short('h') | Long("help") => examples::print_help(HELP),
            _ => return Err(arg.unexpected().into()),
        }
    }
    let manager = ServiceManager::get()?;
    examples::outln!("VideoCore shared memory driver: {}", manager.driver());

    // Gains are unsigned 3.5 fixed point: 32 is 1.0. A gentle radial boost
    // towards the corners, as a vignetting correction would have.
    let table = Array3::<u8>::from_shape_fn((CHANNELS, ROWS, COLUMNS), |(_, y, x)| {
        let dy = (y as f32 - (ROWS - 1) as f32 / 2.0) / (ROWS as f32 / 2.0);
        let dx = (x as f32 - (COLUMNS - 1) as f32 / 2.0) / (COLUMNS as f32 / 2.0);
        (32.0 * (1.0 + 0.5 * (dx * dx + dy * dy))).round() as u8
    });

    let mut memory = SharedMemory::new(table.len(), "lens shading")?;
    memory.copy_from_array(&table)?;

    examples::outln!("lens shading table {:?}, {} bytes", table.dim(), table.len());
    examples::outln!("  VideoCore handle  {}", memory.vc_handle());
    examples::outln!("  bus address       {:#010x}", memory.bus_address());
    examples::outln!("  requested size    {} bytes", memory.requested_size());
    examples::outln!("  allocated size    {} bytes (page-rounded)", memory.size());

    // Read back what the VideoCore will see: the centre and a corner cell.
    let bytes = memory.to_vec()?;
    let centre = bytes[(ROWS / 2) * COLUMNS + COLUMNS / 2];
    examples::outln!(
        "  gain at centre    {:.2}, at corner {:.2}",
        f32::from(centre) / 32.0,
        f32::from(bytes[0]) / 32.0
    );

    examples::outln!();
    examples::outln!("{}", manager.stats());
    drop(memory);
    examples::outln!("after free: {}", manager.stats());
    Ok(())
}
