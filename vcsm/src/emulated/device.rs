//! The device side of the emulated memory: what the software VideoCore's
//! components do with a VideoCore handle (`mem_handle_table`, zero-copy
//! buffers). Compiled with the `device-access` feature, for `mmal-emu`.
//!
//! ```
//! # fn main() -> vcsm::Result<()> {
//! # if vcsm::ServiceManager::get()?.driver() != vcsm::DriverKind::Emulated { return Ok(()); }
//! let mut table = vcsm::SharedMemory::new(16, "lens shading")?;
//! table.copy_from_slice(&[32; 16])?;
//! // What an emulated MMAL component does with the handle it was given:
//! let info = vcsm::emulated::lookup(table.vc_handle().get())?;
//! assert_eq!(info.size, table.size());
//! let mut gains = [0u8; 16];
//! vcsm::emulated::read(table.vc_handle().get(), 0, &mut gains)?;
//! assert_eq!(gains, [32; 16]);
//! // While the CPU holds a lock, the device side keeps off the block.
//! let handle = table.vc_handle().get();
//! let lock = table.lock()?;
//! assert!(matches!(vcsm::emulated::read(handle, 0, &mut gains), Err(vcsm::Error::CpuLocked { .. })));
//! drop(lock);
//! vcsm::emulated::read(handle, 0, &mut gains)?;
//! # Ok(()) }
//! ```

use super::{BlockInfo, Entry, VIDEOCORE};
use crate::{Error, Result};

fn check_range(offset: usize, len: usize, size: usize) -> Result<()> {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(Error::OutOfBounds { offset: offset as u64, len: len as u64, size: size as u64 }),
    }
}

fn with_videocore<R>(handle: u32, f: impl FnOnce(&Entry) -> Result<R>) -> Result<R> {
    match VIDEOCORE.get() {
        Some(vc) => vc.with_entry(handle, f),
        None => Err(Error::UnknownHandle { handle }),
    }
}

/// Runs `f` on the block's entry if no CPU access is in progress.
fn with_idle_block<R>(handle: u32, f: impl FnOnce(&Entry) -> Result<R>) -> Result<R> {
    with_videocore(handle, |e| if e.cpu_accesses > 0 { Err(Error::CpuLocked { handle }) } else { f(e) })
}

/// Resolves a VideoCore handle (as found in an MMAL struct) to the block
/// behind it.
///
/// # Errors
///
/// [`Error::UnknownHandle`] if no live emulated block has that handle.
pub fn lookup(handle: u32) -> Result<BlockInfo> {
    with_videocore(handle, |e| Ok(e.info.clone()))
}

/// Copies `out.len()` bytes from `offset` of the block behind `handle`: what
/// the VideoCore reads.
///
/// # Errors
///
/// [`Error::UnknownHandle`]; [`Error::OutOfBounds`] if the range does not
/// lie inside the block; [`Error::CpuLocked`] while the CPU is using the
/// block.
pub fn read(handle: u32, offset: usize, out: &mut [u8]) -> Result<()> {
    with_idle_block(handle, |e| {
        check_range(offset, out.len(), e.info.size)?;
        e.region.read(offset, out);
        Ok(())
    })
}

/// Copies `data` to `offset` of the block behind `handle`: what the VideoCore
/// writes (a zero-copy frame, say).
///
/// # Errors
///
/// As for [`read`].
pub fn write(handle: u32, offset: usize, data: &[u8]) -> Result<()> {
    with_idle_block(handle, |e| {
        check_range(offset, data.len(), e.info.size)?;
        e.region.write(offset, data);
        Ok(())
    })
}

/// The CPU begins using the block behind `handle` (for a client of this
/// memory that maps it itself: the table a software VideoCore library
/// exports); the device side keeps off it until [`end_cpu`].
///
/// # Errors
///
/// [`Error::UnknownHandle`].
pub fn begin_cpu(handle: u32) -> Result<()> {
    let vc = VIDEOCORE.get().ok_or(Error::UnknownHandle { handle })?;
    let mut registry = crate::lock(&vc.registry);
    let entry = registry.get_mut(&handle).ok_or(Error::UnknownHandle { handle })?;
    entry.cpu_accesses += 1;
    Ok(())
}

/// Ends one [`begin_cpu`].
///
/// # Errors
///
/// [`Error::UnknownHandle`].
pub fn end_cpu(handle: u32) -> Result<()> {
    let vc = VIDEOCORE.get().ok_or(Error::UnknownHandle { handle })?;
    let mut registry = crate::lock(&vc.registry);
    let entry = registry.get_mut(&handle).ok_or(Error::UnknownHandle { handle })?;
    entry.cpu_accesses = entry.cpu_accesses.saturating_sub(1);
    Ok(())
}
