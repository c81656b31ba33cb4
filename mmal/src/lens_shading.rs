//! Lens shading: the override parameter, and tables computed from a flat
//! field.
//!
//! The camera's ISP multiplies each Bayer channel by a gain that varies
//! across the sensor, to undo the lens's vignetting. The built-in table
//! suits the stock lens only; microscopes and other custom optics need
//! their own. A table is four planes (R, Gr, Gb, B) of `width × height`
//! cells of 64×64 sensor pixels, one byte per cell in unsigned 3.5 fixed
//! point (32 = ×1.0, 255 = ×7.97). The firmware reads it from VCSM memory
//! named by its VideoCore handle, while the camera is disabled.

use vcsm::SharedMemory;

use crate::error::{Error, Result};
use crate::params::lens::{table_bytes, CELL_SIZE};
use crate::params::LensShading;
use crate::raw::RawImage;

/// The cell a table made from a capture makes x1.0 (see
/// [`LensShadingTable::from_raw`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Normalise {
    /// The centre cell, as 6by9's `lens_shading_analyse` does.
    #[default]
    Centre,
    /// The brightest cell, as OpenFlexure's recalibration does.
    Brightest,
}

/// A lens shading table in memory: four planes (R, Gr, Gb, B) of
/// `width × height` u3.5 gains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LensShadingTable {
    width: u32,
    height: u32,
    gains: Vec<u8>,
    ref_transform: u32,
}

/// A table copied into VCSM memory, and the parameter naming it.
#[derive(Debug)]
pub struct UploadedTable {
    memory: SharedMemory,
    width: u32,
    height: u32,
    ref_transform: u32,
}

impl UploadedTable {
    /// The parameter to set on the camera's control port. It borrows the
    /// table's memory.
    pub fn parameter(&self) -> LensShading<'_> {
        LensShading::of_table(&self.memory, self.width, self.height, self.ref_transform)
    }

    /// The VCSM block holding the table.
    pub fn memory(&self) -> &SharedMemory {
        &self.memory
    }
}

impl LensShadingTable {
    /// The grid for a sensor of full resolution `width`×`height`:
    /// `(width / 64 + 1, height / 64 + 1)`, as the firmware's own tools size
    /// it.
    pub fn grid_for(width: u32, height: u32) -> (u32, u32) {
        (width / CELL_SIZE + 1, height / CELL_SIZE + 1)
    }

    /// A table of unity gains (32): no correction.
    ///
    /// # Errors
    ///
    /// [`Error::LensShading`] if the grid is empty or larger than 256 cells
    /// either way.
    pub fn unity(width: u32, height: u32) -> Result<LensShadingTable> {
        Ok(LensShadingTable { width, height, gains: vec![32; table_bytes(width, height)?], ref_transform: 0 })
    }

    /// A table from its four planes, back to back.
    ///
    /// # Errors
    ///
    /// [`Error::LensShading`] if `gains` is not `width * height * 4` bytes
    /// or holds gains below 32 (×1.0), which the ISP does not handle.
    pub fn from_planes(width: u32, height: u32, gains: Vec<u8>) -> Result<LensShadingTable> {
        let need = table_bytes(width, height)?;
        if gains.len() != need {
            return Err(Error::LensShading(format!(
                "{} bytes for a {width}x{height} grid; it needs {need} (4 planes R, Gr, Gb, B)",
                gains.len()
            )));
        }
        if let Some(i) = gains.iter().position(|&g| g < 32) {
            return Err(Error::LensShading(format!(
                "gain {} at byte {i} is below 32 (x1.0); the ISP's behaviour is undefined there",
                gains[i]
            )));
        }
        Ok(LensShadingTable { width, height, gains, ref_transform: 0 })
    }

    /// Computes the table that flattens a raw Bayer capture of a uniformly
    /// lit target (a JPEG with raw, taken with the override set to unity,
    /// parsed by [`RawImage::parse`](crate::raw::RawImage::parse)): the
    /// method that works on a Pi, where processed pictures already carry
    /// the firmware's own lens shading, white balance, colour matrix and
    /// gamma.
    ///
    /// Per 64x64-pixel cell of the sensor (32x32 per Bayer plane), the mean
    /// of each plane over the black level (`black_level`, or 64 at 10 bits
    /// and 256 at 12 as the Pi's sensors have it) is compared with the
    /// reference cell's ([`Normalise`]); the gain, in u3.5 (32 = x1.0), is
    /// clipped to 32–255. Planes come out in R, Gr, Gb, B order, by the
    /// header's Bayer order, and the table's `ref_transform` is the
    /// header's transform. The grid covers the raw picture (`ceil(w/64)` by
    /// `ceil(h/64)`): capture at the sensor's full resolution.
    ///
    /// ```
    /// # let file = mmal::raw::test_block(256, 128);
    /// use mmal::raw::RawImage;
    /// use mmal::{LensShadingTable, Normalise};
    ///
    /// let raw = RawImage::parse(&file)?;
    /// let table = LensShadingTable::from_raw(&raw, Normalise::Centre, None)?;
    /// assert_eq!((table.width(), table.height()), LensShadingTable::grid_for(256, 128));
    /// # Ok::<(), mmal::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::LensShading`] if a cell of a plane is at or below the black
    /// level (the target is not lit there).
    pub fn from_raw(raw: &RawImage, normalise: Normalise, black_level: Option<u16>) -> Result<LensShadingTable> {
        let header = raw.header();
        let black = f64::from(black_level.unwrap_or(if header.bit_depth == 12 { 256 } else { 64 }));
        let (gw, gh) = LensShadingTable::grid_for(u32::from(header.width), u32::from(header.height));
        let planes = raw.planes();
        let mut gains = Vec::with_capacity((gw * gh * 4) as usize);
        for (name, plane) in [("R", &planes.r), ("Gr", &planes.gr), ("Gb", &planes.gb), ("B", &planes.b)] {
            let (ph, pw) = plane.dim();
            // Each cell's mean over the black level.
            let mut levels = Vec::with_capacity((gw * gh) as usize);
            for cy in 0..gh as usize {
                for cx in 0..gw as usize {
                    // A cell past the picture's edge (the grid rounds up)
                    // takes the edge's pixels, as the edge is replicated.
                    let (y0, x0) = ((cy * 32).min(ph.saturating_sub(32)), (cx * 32).min(pw.saturating_sub(32)));
                    let (y1, x1) = ((y0 + 32).min(ph), (x0 + 32).min(pw));
                    let cell = plane.slice(vcsm::ndarray::s![y0..y1, x0..x1]);
                    let mean = cell.iter().map(|&v| f64::from(v)).sum::<f64>() / cell.len().max(1) as f64;
                    let level = mean - black;
                    if level <= 0.0 {
                        return Err(Error::LensShading(format!(
                            "{name} at cell ({cx}, {cy}) is at the black level: light the target evenly and expose it"
                        )));
                    }
                    levels.push(level);
                }
            }
            let reference = match normalise {
                Normalise::Centre => levels[(gh as usize / 2) * gw as usize + gw as usize / 2],
                Normalise::Brightest => levels.iter().copied().fold(0.0, f64::max),
            };
            gains.extend(levels.iter().map(|&l| (reference / l * 32.0).round().clamp(32.0, 255.0) as u8));
        }
        Ok(LensShadingTable::from_planes(gw, gh, gains)?.with_ref_transform(u32::from(header.transform)))
    }

    /// Grid width in cells.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Grid height in cells.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The four planes, back to back.
    pub fn gains(&self) -> &[u8] {
        &self.gains
    }

    /// The gain of `channel` (0 R, 1 Gr, 2 Gb, 3 B) at cell (`x`, `y`).
    pub fn gain(&self, channel: usize, x: u32, y: u32) -> Option<u8> {
        if channel >= 4 || x >= self.width || y >= self.height {
            return None;
        }
        let plane = (self.width * self.height) as usize;
        self.gains.get(channel * plane + (y * self.width + x) as usize).copied()
    }

    /// Sets `ref_transform` (see [`LensShading::with_ref_transform`]).
    pub fn with_ref_transform(mut self, transform: u32) -> LensShadingTable {
        self.ref_transform = transform;
        self
    }

    /// Copies the table into new VCSM memory (named `ls_grid`) and returns it
    /// with the parameter to set.
    ///
    /// # Errors
    ///
    /// [`Error::Vcsm`] if the memory cannot be allocated or written.
    pub fn upload(&self) -> Result<UploadedTable> {
        let mut memory = SharedMemory::new(self.gains.len(), "ls_grid")?;
        memory.copy_from_slice(&self.gains)?;
        // Checks the grid against the block.
        LensShading::new(&memory, self.width, self.height)?;
        Ok(UploadedTable { memory, width: self.width, height: self.height, ref_transform: self.ref_transform })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_match_the_published_sizes() {
        assert_eq!(LensShadingTable::grid_for(2592, 1944), (41, 31));
        assert_eq!(LensShadingTable::grid_for(3280, 2464), (52, 39));
        assert_eq!(LensShadingTable::grid_for(4056, 3040), (64, 48));
    }

    #[test]
    fn planes_are_checked() {
        assert!(LensShadingTable::from_planes(2, 2, vec![32; 16]).is_ok());
        assert!(matches!(LensShadingTable::from_planes(2, 2, vec![32; 15]), Err(Error::LensShading(_))));
        assert!(matches!(LensShadingTable::from_planes(2, 2, vec![31; 16]), Err(Error::LensShading(_))));
    }
}
