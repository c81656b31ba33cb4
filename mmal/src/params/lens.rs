//! `MMAL_PARAMETER_LENS_SHADING_OVERRIDE`: the parameter naming a lens
//! shading table in VCSM memory (the tables themselves are computed in
//! [`crate::LensShadingTable`]).

use std::marker::PhantomData;

use vcsm::{DriverKind, SharedMemory, VcHandle};

use super::prelude::*;
use crate::backend::Provider;

/// Sensor pixels per grid cell, each way.
pub const CELL_SIZE: u32 = 64;

/// `MMAL_PARAMETER_LENS_SHADING_OVERRIDE`, set on the camera's control port
/// while the camera is disabled.
///
/// It can only be built from a [`SharedMemory`] block (or as
/// [`off`](Self::off)), so the handle it carries is a VideoCore handle and
/// the block is large enough for the grid. It borrows the block, so the
/// block cannot be freed while the parameter exists:
///
/// ```compile_fail,E0597
/// # fn main() -> mmal::Result<()> {
/// let parameter = {
///     let memory = mmal::vcsm::SharedMemory::new(4096, "ls_grid")?;
///     mmal::params::LensShading::new(&memory, 52, 39)?
/// }; // `memory` is freed here while `parameter` still names it
/// # let _ = parameter;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LensShading<'a> {
    table: Option<(VcHandle, DriverKind)>,
    grid_width: u32,
    grid_stride: u32,
    grid_height: u32,
    ref_transform: u32,
    memory: PhantomData<&'a SharedMemory>,
}

/// Bytes of a `width`×`height` table (four planes), checked: grids are at
/// most 256 cells each way (a 16384-pixel sensor).
pub(crate) fn table_bytes(width: u32, height: u32) -> Result<usize> {
    if width == 0 || height == 0 || width > MAX_GRID || height > MAX_GRID {
        return Err(Error::LensShading(format!(
            "a {width}x{height} grid: each side must be 1 to {MAX_GRID} cells (LensShadingTable::grid_for sizes it)"
        )));
    }
    Ok(width as usize * height as usize * 4)
}

/// Most cells a grid has each way.
const MAX_GRID: u32 = 256;

impl<'a> LensShading<'a> {
    /// The override for a `grid_width`×`grid_height` table in `memory`
    /// (planes R, Gr, Gb, B, rows `grid_width` bytes apart).
    ///
    /// The firmware copies the table when the parameter is set, so the block
    /// may be freed afterwards.
    ///
    /// # Errors
    ///
    /// [`Error::LensShading`] if the grid is empty or larger than 256 cells
    /// either way, or the block holds fewer than
    /// `grid_width * grid_height * 4` bytes.
    pub fn new(memory: &'a SharedMemory, grid_width: u32, grid_height: u32) -> Result<LensShading<'a>> {
        let need = table_bytes(grid_width, grid_height)?;
        if memory.size() < need {
            return Err(Error::LensShading(format!(
                "block {:?} holds {} bytes; a {grid_width}x{grid_height} table needs {need}",
                memory.name(),
                memory.size()
            )));
        }
        Ok(LensShading {
            table: Some((memory.vc_handle(), memory.driver())),
            grid_width,
            grid_stride: grid_width,
            grid_height,
            ref_transform: 0,
            memory: PhantomData,
        })
    }

    /// The override naming a table already checked to fit `memory` (an
    /// uploaded [`LensShadingTable`](crate::LensShadingTable)).
    pub(crate) fn of_table(memory: &'a SharedMemory, width: u32, height: u32, ref_transform: u32) -> LensShading<'a> {
        LensShading {
            table: Some((memory.vc_handle(), memory.driver())),
            grid_width: width,
            grid_stride: width,
            grid_height: height,
            ref_transform,
            memory: PhantomData,
        }
    }

    /// Turns the override off (the firmware's own table comes back when
    /// the camera is next configured).
    pub fn off() -> LensShading<'static> {
        LensShading {
            table: None,
            grid_width: 0,
            grid_stride: 0,
            grid_height: 0,
            ref_transform: 0,
            memory: PhantomData,
        }
    }

    /// Sets `ref_transform`: the flips (bit 0 horizontal, bit 1 vertical,
    /// bit 2 transpose) the table was measured with.
    pub fn with_ref_transform(mut self, transform: u32) -> LensShading<'a> {
        self.ref_transform = transform;
        self
    }

    /// The VideoCore handle of the table, if on.
    pub fn vc_handle(&self) -> Option<VcHandle> {
        self.table.map(|(h, _)| h)
    }

    /// `(width, height)` of the grid.
    pub fn grid(&self) -> (u32, u32) {
        (self.grid_width, self.grid_height)
    }
}

impl Parameter for LensShading<'_> {
    const ID: u32 = sys::MMAL_PARAMETER_LENS_SHADING_OVERRIDE;
    const NAME: &'static str = "LENS_SHADING_OVERRIDE";
}

impl SetParameter for LensShading<'_> {
    type C = sys::MMAL_PARAMETER_LENS_SHADING_T;
    fn to_c(&self) -> Result<Self::C> {
        // The firmware wants a valid cell size even to switch off.
        let (enabled, handle, cell) = match self.table {
            Some((h, _)) => (1, h.get(), CELL_SIZE),
            None => (0, 0, 16),
        };
        Ok(sys::MMAL_PARAMETER_LENS_SHADING_T {
            hdr: <Self::C as ParameterStruct>::with_id(Self::ID).hdr,
            enabled,
            grid_cell_size: cell,
            grid_width: self.grid_width,
            grid_stride: self.grid_stride,
            grid_height: self.grid_height,
            mem_handle_table: handle,
            ref_transform: self.ref_transform,
        })
    }

    fn check(&self, provider: Provider) -> Result<()> {
        match (self.table, provider) {
            (Some((_, DriverKind::Emulated)), Provider::Hardware) => Err(Error::MixedVideoCore {
                memory: "emulated".to_owned(),
                mmal: "libmmal (hardware)",
                hint: "the table was allocated from the software VideoCore",
            }),
            (Some((_, driver)), Provider::Emulated) if driver != DriverKind::Emulated => Err(Error::MixedVideoCore {
                memory: driver.to_string(),
                mmal: "emulated",
                hint: "the table was allocated from a real VCSM driver",
            }),
            _ => Ok(()),
        }
    }
}
