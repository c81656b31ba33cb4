//! Copying `ndarray`s into VideoCore memory in logical (C) order.

use bytemuck::Pod;
use ndarray::{ArrayBase, ArrayView2, ArrayViewD, ArrayViewMut2, ArrayViewMutD, Data, Dimension, Ix2};

use crate::driver::Access;
use crate::{Error, Result, SharedMemory};

impl SharedMemory {
    /// Copies an array of any dimension and memory layout to the start of the
    /// block, element by element in logical C order: `len * size_of::<T>()`
    /// bytes, exactly as `array.iter()` lists the elements.
    ///
    /// An array in standard (C-contiguous) layout is copied with one
    /// `memcpy`; any other layout (transposed, sliced with steps, reversed,
    /// axes permuted) is copied row by row or in cache-sized tiles.
    ///
    /// ```
    /// # fn main() -> vcsm::Result<()> {
    /// use vcsm::ndarray::Array3;
    ///
    /// // An IMX219 lens shading table: 4 Bayer channels of 39 x 52 cells.
    /// let table = Array3::<u8>::from_elem((4, 39, 52), 32);
    /// let mut mem = vcsm::SharedMemory::new(table.len(), "lens shading")?;
    /// mem.copy_from_array(&table)?;
    /// // Transposed views are copied in logical order too.
    /// let grid = vcsm::ndarray::Array2::<u16>::from_shape_fn((3, 2), |(r, c)| (10 * r + c) as u16);
    /// mem.copy_from_array(&grid.t())?;
    /// assert_eq!(&mem.to_vec()?[..12], vcsm::bytemuck::cast_slice::<u16, u8>(&[0, 10, 20, 1, 11, 21]));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::CopyTooLarge`] if the array's bytes exceed
    /// [`size`](Self::size) (nothing is copied); driver errors as for
    /// [`lock`](Self::lock).
    pub fn copy_from_array<T, S, D>(&mut self, array: &ArrayBase<S, D>) -> Result<()>
    where
        T: Pod,
        S: Data<Elem = T>,
        D: Dimension,
    {
        let elem = std::mem::size_of::<T>();
        let too_large = || Error::CopyTooLarge {
            len: (array.len() as u64).saturating_mul(elem as u64),
            capacity: self.size() as u64,
        };
        let len = array.len().checked_mul(elem).ok_or_else(too_large)?;
        if len > self.size() {
            return Err(too_large());
        }
        if let Some(slice) = array.as_slice() {
            return self.copy_from_slice(bytemuck::cast_slice(slice));
        }
        let mut lock = self.lock_for(Access::Write)?;
        let dst: &mut [T] = bytemuck::try_cast_slice_mut(&mut lock[..len])
            .map_err(|_| Error::Alignment { align: std::mem::align_of::<T>() })?;
        let shape = array.raw_dim().into_dyn();
        let Ok(dst) = ArrayViewMutD::from_shape(shape, dst) else {
            unreachable!("the destination holds exactly array.len() elements");
        };
        copy_logical(array.view().into_dyn(), dst);
        lock.finish()
    }
}

fn copy_logical<T: Copy>(src: ArrayViewD<'_, T>, mut dst: ArrayViewMutD<'_, T>) {
    match src.ndim() {
        0 | 1 => dst.assign(&src),
        2 => {
            let (Ok(src), Ok(dst)) = (src.into_dimensionality::<Ix2>(), dst.into_dimensionality::<Ix2>()) else {
                unreachable!("ndim is 2");
            };
            copy_2d(src, dst);
        }
        _ => {
            for (s, d) in src.outer_iter().zip(dst.outer_iter_mut()) {
                copy_logical(s, d);
            }
        }
    }
}

fn copy_2d<T: Copy>(src: ArrayView2<'_, T>, mut dst: ArrayViewMut2<'_, T>) {
    if src.strides()[1] == 1 {
        // Rows are contiguous: one memcpy each.
        for (s, mut d) in src.outer_iter().zip(dst.outer_iter_mut()) {
            if let (Some(s), Some(d)) = (s.as_slice(), d.as_slice_mut()) {
                d.copy_from_slice(s);
            } else {
                d.assign(&s);
            }
        }
        return;
    }
    // Strided rows (a transposed or stepped view): tiled, see `copy_view_2d`.
    let Some(dst) = dst.as_slice_mut() else {
        unreachable!("the destination is a standard-layout view");
    };
    crate::sys::copy_view_2d(src, dst, tile_side(std::mem::size_of::<T>()));
}

/// Side of a square tile of `elem`-byte elements for strided 2-D copies: at
/// most 4 KiB, small enough for L1 with room to spare, large enough that each
/// source line is used whole.
fn tile_side(elem: usize) -> usize {
    match elem {
        0 | 1 => 64,
        2..=4 => 32,
        5..=16 => 16,
        17..=64 => 8,
        _ => 4,
    }
}
