//! The device side of the emulated memory: what the software VideoCore's
//! components do with a VideoCore handle (`mem_handle_table`, zero-copy
//! buffers). Compiled with the `device-access` feature, for `mmal-emu`.
//!
//! Cargo unifies features, so any program that also links `mmal-emu` has
//! these functions too. Those that only look ([`lookup`], [`read`]) are
//! safe: the CPU side holds no `&mut` to a block's bytes without counting a
//! CPU access, and [`read`] refuses a block while one is counted. Those that
//! change bytes or the count ([`write()`], [`begin_cpu`], [`end_cpu`]) are
//! `unsafe`: a handle names memory that safe code may be reading through a
//! shared slice the count does not cover (an MMAL buffer's payload, an
//! `mmal::Frame`), or an unbalanced [`end_cpu`] would let the device write
//! behind a live [`Lock`](crate::Lock). The software VideoCore (`mmal-emu`)
//! calls none of them; the only caller is `videocore-c`'s library table,
//! whose `begin_cpu`/`end_cpu` entries count the accesses of a C program
//! that maps a block (each call matched, as the table's contract says).
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
// `unsafe fn` declarations only (the contracts of `write`, `begin_cpu`,
// `end_cpu`); the raw copies themselves are in `sys::RawRegion`.
#![allow(unsafe_code)]

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

/// Runs `f` on the block's entry if no CPU access is in progress, and the
/// device side is not working in the block in place (a [`DeviceHold`],
/// whose writes copies here would race).
fn with_idle_block<R>(handle: u32, f: impl FnOnce(&Entry) -> Result<R>) -> Result<R> {
    with_videocore(handle, |e| {
        if e.cpu_accesses > 0 {
            Err(Error::CpuLocked { handle })
        } else if e.device_holds > 0 {
            Err(Error::DeviceBusy { handle })
        } else {
            f(e)
        }
    })
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
///
/// # Safety
///
/// While the call runs, no Rust reference to the bytes written may be live
/// anywhere in the process: no slice of an MMAL buffer payload or frame in
/// this memory, no `&[u8]` from `SharedMemory::as_mut_ptr` or from the
/// library table's mapping. A [`Lock`](crate::Lock) and `SharedMemory`'s own
/// copies are covered by the CPU-access count (the call then fails with
/// [`Error::CpuLocked`]) as long as every [`end_cpu`] matched a
/// [`begin_cpu`]. A device-side caller meets this by writing only buffers
/// it owns at that moment (between receiving a buffer and sending it back).
pub unsafe fn write(handle: u32, offset: usize, data: &[u8]) -> Result<()> {
    with_idle_block(handle, |e| {
        check_range(offset, data.len(), e.info.size)?;
        e.region.write(offset, data);
        Ok(())
    })
}

/// The device side's own mapping of a block: what the VideoCore renders
/// into or reads from in place (a zero-copy buffer), instead of copying
/// through [`read`] and [`write()`]. It maps the block's descriptor anew,
/// so it stays valid after the block is freed (the memory then lives on
/// until this is dropped, as a dma-buf a device imported does); reading or
/// writing through [`as_ptr`](Self::as_ptr) is the caller's to do safely
/// (see [`write()`]).
///
/// ```
/// # fn main() -> vcsm::Result<()> {
/// # if vcsm::ServiceManager::get()?.driver() != vcsm::DriverKind::Emulated { return Ok(()); }
/// let mut frame = vcsm::SharedMemory::new(4096, "frame")?;
/// let mapping = vcsm::emulated::map(frame.vc_handle().get())?;
/// assert_eq!(mapping.len(), frame.size());
/// drop(frame);
/// // The block is freed; the device's mapping is still there.
/// assert_eq!(mapping.len(), 4096);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DeviceMapping {
    map: crate::sys::Mapping,
    handle: u32,
}

impl DeviceMapping {
    /// The first byte. Valid for [`len`](Self::len) bytes while `self`
    /// lives.
    pub fn as_ptr(&self) -> *mut u8 {
        self.map.addr() as *mut u8
    }

    /// The size in bytes (the block's, page-rounded).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Never: blocks are at least a page.
    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }

    /// The VideoCore handle the block had when it was mapped.
    pub fn handle(&self) -> u32 {
        self.handle
    }
}

/// The device side working in a block itself (a zero-copy buffer it
/// holds): while this lives the CPU side's locks, copies and
/// [`begin_cpu`], and the device side's own [`read`] and [`write()`], are
/// refused ([`Error::DeviceBusy`]), and no other hold is given, so the device's writes and the CPU's references never meet.
/// Dropping it gives the block back to the CPU side.
#[derive(Debug)]
pub struct DeviceHold {
    handle: u32,
}

impl Drop for DeviceHold {
    fn drop(&mut self) {
        let Some(vc) = VIDEOCORE.get() else { return };
        // A block freed meanwhile has no entry left: nothing to give back.
        if let Some(entry) = crate::lock(&vc.registry).get_mut(&self.handle) {
            entry.device_holds = entry.device_holds.saturating_sub(1);
        }
    }
}

/// Takes the first `len` bytes of the block behind `handle` for the device
/// side; see [`DeviceHold`].
///
/// ```
/// # fn main() -> vcsm::Result<()> {
/// # if vcsm::ServiceManager::get()?.driver() != vcsm::DriverKind::Emulated { return Ok(()); }
/// let mut frame = vcsm::SharedMemory::new(4096, "frame")?;
/// let held = vcsm::emulated::hold(frame.vc_handle().get(), 4096)?;
/// assert!(matches!(frame.lock(), Err(vcsm::Error::DeviceBusy { .. })));
/// assert!(vcsm::emulated::hold(frame.vc_handle().get(), 4096).is_err(), "one hold at a time");
/// // The device side's own copies keep off it too.
/// let mut bytes = [0u8; 4];
/// let read = vcsm::emulated::read(frame.vc_handle().get(), 0, &mut bytes);
/// assert!(matches!(read, Err(vcsm::Error::DeviceBusy { .. })));
/// drop(held);
/// frame.lock()?;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// [`Error::UnknownHandle`], [`Error::OutOfBounds`], [`Error::CpuLocked`]
/// while the CPU uses the block, [`Error::DeviceBusy`] while another hold
/// lives.
pub fn hold(handle: u32, len: usize) -> Result<DeviceHold> {
    let vc = VIDEOCORE.get().ok_or(Error::UnknownHandle { handle })?;
    let mut registry = crate::lock(&vc.registry);
    let entry = registry.get_mut(&handle).ok_or(Error::UnknownHandle { handle })?;
    check_range(0, len, entry.info.size)?;
    if entry.cpu_accesses > 0 {
        return Err(Error::CpuLocked { handle });
    }
    if entry.device_holds > 0 {
        return Err(Error::DeviceBusy { handle });
    }
    entry.device_holds = 1;
    Ok(DeviceHold { handle })
}

/// Maps the block behind `handle` for the device side; see
/// [`DeviceMapping`].
///
/// # Errors
///
/// [`Error::UnknownHandle`]; [`Error::Syscall`] if `mmap` fails.
pub fn map(handle: u32) -> Result<DeviceMapping> {
    // Mapping touches no byte: whoever uses the bytes takes a hold.
    with_videocore(handle, |e| {
        // SAFETY: the entry's descriptor is open while the entry is listed,
        // and the registry's lock is held (see `Entry::fd`); the mapping
        // made from it does not keep the borrow.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(e.fd) };
        let map = crate::sys::Mapping::new(fd, e.info.size, 0)
            .map_err(|err| Error::syscall("mmap of a block for the VideoCore side", err))?;
        Ok(DeviceMapping { map, handle })
    })
}

/// The CPU begins using the block behind `handle` (for a client of this
/// memory that maps it itself: the table a software VideoCore library
/// exports); the device side keeps off it until [`end_cpu`].
///
/// # Errors
///
/// [`Error::UnknownHandle`].
///
/// # Safety
///
/// Each call must be matched by exactly one later [`end_cpu`] of the same
/// handle, by the same client: the count is shared with this process's own
/// [`Lock`](crate::Lock)s, and a caller that begins for one client and ends
/// for another can end someone else's access early (see [`end_cpu`]).
pub unsafe fn begin_cpu(handle: u32) -> Result<()> {
    let vc = VIDEOCORE.get().ok_or(Error::UnknownHandle { handle })?;
    let mut registry = crate::lock(&vc.registry);
    let entry = registry.get_mut(&handle).ok_or(Error::UnknownHandle { handle })?;
    if entry.device_holds > 0 {
        return Err(Error::DeviceBusy { handle });
    }
    entry.cpu_accesses += 1;
    Ok(())
}

/// Ends one [`begin_cpu`].
///
/// # Errors
///
/// [`Error::UnknownHandle`].
///
/// # Safety
///
/// The caller must end an access it began with [`begin_cpu`] and has not
/// ended yet, and must hold no reference to the block's bytes afterwards.
/// An unmatched call lowers the count that a live [`Lock`](crate::Lock) of
/// this process raised, after which [`write()`] would change bytes the lock
/// hands out as `&mut [u8]`.
pub unsafe fn end_cpu(handle: u32) -> Result<()> {
    let vc = VIDEOCORE.get().ok_or(Error::UnknownHandle { handle })?;
    let mut registry = crate::lock(&vc.registry);
    let entry = registry.get_mut(&handle).ok_or(Error::UnknownHandle { handle })?;
    entry.cpu_accesses = entry.cpu_accesses.saturating_sub(1);
    Ok(())
}
