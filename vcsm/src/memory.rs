//! Blocks of VideoCore shared memory and CPU access to them.

use std::fmt;
use std::num::NonZeroU32;
use std::ops::{Deref, DerefMut};
use std::os::fd::{BorrowedFd, OwnedFd};

use crate::driver::{Access, Block};
use crate::live::Claim;
use crate::{DriverKind, Error, Result, ServiceManager};

/// A VideoCore memory handle (`MEM_HANDLE_T`): what MMAL is given to find a
/// block, for example in the lens shading parameter. Never zero.
///
/// It can only be obtained from a live [`SharedMemory`], so it cannot be
/// confused with a file descriptor or a user handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct VcHandle(NonZeroU32);

impl VcHandle {
    pub(crate) fn new(raw: u32) -> Option<VcHandle> {
        NonZeroU32::new(raw).map(VcHandle)
    }

    /// The handle's value, as MMAL structs carry it.
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for VcHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.get())
    }
}

/// How the ARM and the VideoCore cache a block.
///
/// Only the legacy driver acts on it: with [`Host`](Self::Host) or
/// [`Both`](Self::Both) the ARM mapping is cached, locks invalidate it and
/// unlocks flush it. vc-sm-cma always allocates uncached (write-combined)
/// memory, and the emulated VideoCore has no caches; both record the mode
/// (it is part of a [`BufferPool`](crate::BufferPool) layout) and otherwise
/// ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum CacheMode {
    /// Uncached on both sides: what MMAL zero-copy and lens shading tables use.
    #[default]
    None = 0,
    /// Cached on the ARM.
    Host = 1,
    /// Cached on the VideoCore.
    VideoCore = 2,
    /// Cached on both.
    Both = 3,
}

/// A block of memory that the VideoCore GPU can use, freed on drop.
///
/// ```
/// # fn main() -> vcsm::Result<()> {
/// use vcsm::SharedMemory;
///
/// let mut table = SharedMemory::new(4 * 39 * 52, "lens shading")?;
/// table.copy_from_slice(&[32u8; 4 * 39 * 52])?;
/// println!("pass VideoCore handle {} to MMAL", table.vc_handle());
/// # Ok(()) }
/// ```
///
/// `SharedMemory` is `Send` and `Sync`: the mapping and the descriptor or
/// kernel handle behind it belong to the process, not to a thread (the legacy
/// driver checks the process id, never the thread), `&SharedMemory` gives only
/// read access, and writes need `&mut`.
pub struct SharedMemory {
    block: Block,
    /// This block's place among the memory the process maps (see
    /// [`ServiceManager::import_dmabuf`]); given up after the block is gone.
    _claim: Claim,
    manager: &'static ServiceManager,
    requested_size: usize,
    name: String,
    cache: CacheMode,
}

impl fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedMemory")
            .field("name", &self.name)
            .field("vc_handle", &self.vc_handle())
            .field("size", &self.size())
            .field("requested_size", &self.requested_size)
            .field("bus_address", &format_args!("{:#010x}", self.bus_address()))
            .field("cache", &self.cache)
            .field("driver", &self.driver())
            .finish()
    }
}

impl SharedMemory {
    pub(crate) fn from_block(
        manager: &'static ServiceManager,
        block: Block,
        claim: Claim,
        requested_size: usize,
        name: &str,
        cache: CacheMode,
    ) -> SharedMemory {
        SharedMemory { block, _claim: claim, manager, requested_size, name: name.to_owned(), cache }
    }

    /// Allocates at least `size` bytes, uncached, named `name` (shown in the
    /// kernel's debugfs; at most 31 bytes, may be empty).
    ///
    /// # Errors
    ///
    /// As for [`with_cache`](Self::with_cache).
    pub fn new(size: usize, name: &str) -> Result<SharedMemory> {
        SharedMemory::with_cache(size, name, CacheMode::None)
    }

    /// Allocates at least `size` bytes with the given cache mode. The size is
    /// rounded up to whole pages; new memory from the driver is zeroed.
    ///
    /// # Errors
    ///
    /// * [`Error::ZeroSize`] for `size == 0`;
    /// * [`Error::SizeTooLarge`] when the rounded size does not fit the
    ///   driver's 32-bit size field;
    /// * [`Error::InvalidName`] for a name over 31 bytes or with a NUL byte;
    /// * [`Error::OutOfMemory`], with a [`Stats`](crate::Stats) snapshot,
    ///   when the pool cannot supply the block;
    /// * any error of [`ServiceManager::get`].
    pub fn with_cache(size: usize, name: &str, cache: CacheMode) -> Result<SharedMemory> {
        ServiceManager::get()?.allocate(size, name, cache)
    }

    /// Imports a dma-buf made elsewhere; see [`ServiceManager::import_dmabuf`]
    /// (a dma-buf this process already maps is refused).
    ///
    /// # Errors
    ///
    /// As for [`ServiceManager::import_dmabuf`].
    pub fn import_dmabuf(fd: BorrowedFd<'_>, name: &str) -> Result<SharedMemory> {
        ServiceManager::get()?.import_dmabuf(fd, name)
    }

    /// A new dma-buf descriptor for this block, to share it with another
    /// device or process (vc-sm-cma and emulated only). The block stays
    /// allocated while the descriptor is open. Whoever you give it to can
    /// write the bytes: keep them off while you hold a [`Lock`]. This process
    /// cannot import it while the block lives
    /// ([`Error::AlreadyMapped`]); on the emulated VideoCore it is a memfd
    /// sealed at its size, so it cannot be truncated under the mapping.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] on the legacy driver; [`Error::Syscall`] if
    /// `dup` fails.
    pub fn export_dmabuf(&self) -> Result<OwnedFd> {
        self.manager.drv().export(&self.block)
    }

    /// The VideoCore handle to give MMAL.
    pub fn vc_handle(&self) -> VcHandle {
        self.block.vc_handle
    }

    /// The block's size: the requested size rounded up to whole pages.
    pub fn size(&self) -> usize {
        self.block.map.len()
    }

    /// The size that was asked for.
    pub fn requested_size(&self) -> usize {
        self.requested_size
    }

    /// The name given at allocation.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cache mode given at allocation.
    pub fn cache_mode(&self) -> CacheMode {
        self.cache
    }

    /// The VideoCore bus address of the first byte. On the legacy driver the
    /// firmware may move an unlocked block; give MMAL the
    /// [`vc_handle`](Self::vc_handle).
    pub fn bus_address(&self) -> u32 {
        self.block.bus_address
    }

    /// The CPU address of the block's mapping, for code that hands the
    /// memory to C (an MMAL buffer payload, say).
    ///
    /// The pointer is valid for [`size`](Self::size) bytes while the block
    /// lives. Reading or writing through it is `unsafe`, skips the cache
    /// maintenance that [`lock`](Self::lock) does, and must not overlap a
    /// [`Lock`] on the same block: the caller keeps the two apart.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.block.map.as_mut_slice().as_mut_ptr()
    }

    /// The driver the block came from.
    pub fn driver(&self) -> DriverKind {
        self.manager.driver()
    }

    pub(crate) fn set_requested_size(&mut self, size: usize) {
        self.requested_size = size;
    }

    pub(crate) fn lock_for(&mut self, access: Access) -> Result<Lock<'_>> {
        self.manager.drv().begin_access(&self.block, access)?;
        Ok(Lock { mem: self, access, open: true })
    }

    /// Begins CPU access to the whole block ([`size`](Self::size) bytes). The
    /// [`Lock`] derefs to the bytes; access ends when it is dropped (or
    /// [`finish`](Lock::finish)ed, to see any error).
    ///
    /// ```
    /// # fn main() -> vcsm::Result<()> {
    /// let mut mem = vcsm::SharedMemory::new(4096, "frame")?;
    /// let mut bytes = mem.lock()?;
    /// bytes[..4].copy_from_slice(b"RIFF");
    /// bytes.finish()?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] if the driver refuses to begin access.
    pub fn lock(&mut self) -> Result<Lock<'_>> {
        self.lock_for(Access::ReadWrite)
    }

    /// Copies `data` to the start of the block, bracketing the copy for
    /// write-only access.
    ///
    /// # Errors
    ///
    /// [`Error::CopyTooLarge`] if `data` is longer than [`size`](Self::size)
    /// (nothing is copied); driver errors as for [`lock`](Self::lock).
    pub fn copy_from_slice(&mut self, data: &[u8]) -> Result<()> {
        if data.len() > self.size() {
            return Err(Error::CopyTooLarge { len: data.len() as u64, capacity: self.size() as u64 });
        }
        let mut lock = self.lock_for(Access::Write)?;
        lock[..data.len()].copy_from_slice(data);
        lock.finish()
    }

    /// Copies `out.len()` bytes from `offset` of the block into `out`.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfBounds`] if the range is not inside the block; driver
    /// errors as for [`lock`](Self::lock).
    pub fn read_into(&self, offset: usize, out: &mut [u8]) -> Result<()> {
        let size = self.size();
        let end = offset.checked_add(out.len()).filter(|&end| end <= size).ok_or(Error::OutOfBounds {
            offset: offset as u64,
            len: out.len() as u64,
            size: size as u64,
        })?;
        let driver = self.manager.drv();
        driver.begin_access(&self.block, Access::Read)?;
        out.copy_from_slice(&self.block.map.as_slice()[offset..end]);
        driver.end_access(&self.block, Access::Read)
    }

    /// The whole block ([`size`](Self::size) bytes) copied into a `Vec`.
    ///
    /// On vc-sm-cma the ARM mapping is uncached, so reading back is much
    /// slower than writing.
    ///
    /// # Errors
    ///
    /// Driver errors as for [`lock`](Self::lock).
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        let mut out = vec![0; self.size()];
        self.read_into(0, &mut out)?;
        Ok(out)
    }

    #[cfg(test)]
    pub(crate) fn block_fd_for_test(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.block.fd().map_or(-1, |fd| fd.as_raw_fd())
    }
}

impl Drop for SharedMemory {
    fn drop(&mut self) {
        // The block's fields release themselves (registry entry, mapping,
        // descriptor or kernel handle, pool extent) without panicking.
        self.manager.note_free(self.size());
    }
}

/// CPU access to a [`SharedMemory`] block, as a byte slice. Ends on drop.
///
/// A lock borrows its block mutably, so the block cannot be freed, locked
/// again or copied into while the lock lives, and no other `SharedMemory` of
/// this process maps the same bytes (see
/// [`ServiceManager::import_dmabuf`]).
///
/// A lock does not keep the VideoCore, or another holder of the block's
/// dma-buf, off the bytes: lock a block only while MMAL does not have it
/// (not between sending a buffer to a port and getting it back). The
/// emulated VideoCore refuses to touch a locked block
/// ([`Error::CpuLocked`]); the hardware does not check. See
/// [the crate documentation](crate#who-may-touch-the-bytes).
#[must_use = "the lock ends CPU access as soon as it is dropped"]
pub struct Lock<'a> {
    mem: &'a mut SharedMemory,
    access: Access,
    open: bool,
}

impl fmt::Debug for Lock<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock").field("block", &self.mem.name).field("len", &self.mem.size()).finish()
    }
}

impl Lock<'_> {
    /// Ends CPU access now and reports whether the driver accepted it (drop
    /// does the same but can only log a failure).
    ///
    /// # Errors
    ///
    /// [`Error::Syscall`] if the driver refuses to end access.
    pub fn finish(mut self) -> Result<()> {
        self.open = false;
        self.mem.manager.drv().end_access(&self.mem.block, self.access)
    }
}

impl Deref for Lock<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.mem.block.map.as_slice()
    }
}

impl DerefMut for Lock<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.mem.block.map.as_mut_slice()
    }
}

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        if self.open {
            if let Err(e) = self.mem.manager.drv().end_access(&self.mem.block, self.access) {
                log::warn!("ending CPU access to VideoCore block {:?} failed: {e}", self.mem.name);
            }
        }
    }
}
