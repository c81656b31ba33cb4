//! The emulated driver: the software VideoCore's memory (see
//! [`crate::emulated`]): this crate's own, or the one of the software
//! VideoCore library the process loaded (see
//! [`crate::emulated::library`]), allocated through its table and mapped
//! here.
#![allow(unsafe_code)]
//!
//! System calls per operation (the same shape as on vc-sm-cma, so descriptor
//! and mapping use match a Pi's):
//!
//! | operation | calls |
//! | --- | --- |
//! | open | none |
//! | allocate | `memfd_create(MFD_ALLOW_SEALING)`, `ftruncate`, `fcntl(F_ADD_SEALS)` (the size is sealed, as a dma-buf's is fixed), `mmap(fd)`; `fstatfs`, `fstat` (the block's identity) |
//! | lock / copy in / read back | none (there is no cache to maintain) |
//! | free | `munmap`, `close(fd)` |
//! | import | `fstatfs`, `fstat` (is it mapped already?), `dup(fd)`, `fcntl(F_GET_SEALS)` (+ `F_ADD_SEALS`, or `fstatfs` for a dma-buf), `lseek(SEEK_END)` for the size, `mmap` |
//! | export | `dup(fd)` |
//!
//! The cache mode is recorded (it keys `BufferPool` layouts) and otherwise
//! ignored, as on vc-sm-cma.

use std::ffi::{c_int, CString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::{AllocRequest, Backing as BlockBacking, Block};
use crate::emulated::library::{LibraryBlock, LibraryTable};
use crate::emulated::{next_fault, Fault, VideoCore, BUS_BASE};
use crate::lock;
use crate::sys::{fd_size, is_dma_buf, memfd, seal_against_shrinking, Mapping};
use crate::{DriverKind, Error, Result, Stats, VcHandle};

pub(crate) struct Emulated {
    source: Source,
}

/// Whose emulated memory: this copy of the crate's, or that of the software
/// VideoCore library the process loaded (see [`crate::emulated::library`]).
enum Source {
    Local(&'static VideoCore),
    Library(&'static LibraryTable),
}

/// A block of the library's memory: freed through its table on drop, after
/// the mapping goes and before the descriptor closes.
pub(crate) struct LibraryBacking {
    pub(crate) fd: OwnedFd,
    handle: u32,
    table: &'static LibraryTable,
}

impl std::fmt::Debug for LibraryBacking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibraryBacking").field("fd", &self.fd).field("handle", &self.handle).finish()
    }
}

impl Drop for LibraryBacking {
    fn drop(&mut self) {
        // SAFETY: the library's own function, given a handle it handed out
        // and that is freed once, here.
        unsafe { (self.table.free)(self.handle) };
    }
}

/// An extent of the emulated pool, given back on drop.
#[derive(Debug)]
struct Extent {
    vc: &'static VideoCore,
    offset: u64,
    len: u64,
}

impl Drop for Extent {
    fn drop(&mut self) {
        lock(&self.vc.pool).release(self.offset, self.len);
    }
}

/// What an emulated block holds besides its mapping.
#[derive(Debug)]
pub(crate) struct Backing {
    pub(crate) fd: OwnedFd,
    // Dropped after `fd`: the pool space is free once the memory is gone.
    _extent: Extent,
}

/// Refuses memory whose size can change under the mapping: a truncated file
/// turns the next access through a `Lock` into SIGBUS. A dma-buf never
/// changes size; a memfd is sealed against shrinking (as this driver's own
/// blocks are), or refused if it cannot be; anything else (a plain file) is
/// refused, as a Pi's vc-sm-cma refuses what is not a dma-buf.
fn fixed_size(fd: BorrowedFd<'_>) -> Result<()> {
    let unsupported = |operation, advice| Error::Unsupported { driver: DriverKind::Emulated, operation, advice };
    match seal_against_shrinking(fd) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => Err(unsupported(
            "import of a memfd that can shrink (the mapping would fault once it is truncated)",
            "create it with MFD_ALLOW_SEALING (the import then seals it against shrinking) or seal it with \
             F_SEAL_SHRINK before importing",
        )),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            match is_dma_buf(fd).map_err(|e| Error::syscall("fstatfs on the imported descriptor", e))? {
                true => Ok(()),
                false => Err(unsupported(
                    "import of a file that is neither a dma-buf nor a memfd (it could be truncated under the mapping)",
                    "put the data in a memfd or a dma-buf",
                )),
            }
        }
        Err(e) => Err(Error::syscall("sealing the imported memfd", e)),
    }
}

impl Emulated {
    pub(crate) fn new(vc: &'static VideoCore) -> Emulated {
        Emulated { source: Source::Local(vc) }
    }

    /// The memory of a software VideoCore library.
    pub(crate) fn library(table: &'static LibraryTable) -> Emulated {
        Emulated { source: Source::Library(table) }
    }

    /// The library's table, if the memory is a library's.
    pub(crate) fn table(&self) -> Option<&'static LibraryTable> {
        match self.source {
            Source::Library(t) => Some(t),
            Source::Local(_) => None,
        }
    }

    fn local(&self) -> &'static VideoCore {
        match self.source {
            Source::Local(vc) => vc,
            Source::Library(_) => unreachable!("only called for local memory"),
        }
    }

    fn reserve(&self, len: u64, fault: Option<Fault>) -> Result<Extent> {
        let vc = self.local();
        let offset = match fault {
            Some(Fault::Pool) => None,
            _ => lock(&vc.pool).allocate(len),
        };
        match offset {
            Some(offset) => Ok(Extent { vc, offset, len }),
            None => Err(Error::OutOfMemory {
                requested: len,
                stats: Box::new(Stats::new(DriverKind::Emulated)),
                source: None,
            }),
        }
    }

    fn finish(&self, extent: Extent, fd: OwnedFd, len: usize, name: &str, fault: Option<Fault>) -> Result<Block> {
        let map = match fault {
            Some(Fault::Mapping) => Err(io::Error::from_raw_os_error(libc::ENOMEM)),
            _ => Mapping::new(fd.as_fd(), len, 0),
        }
        .map_err(|e| Error::syscall("mmap of the emulated dma-buf", e))?;
        // The pool is at most 1 GiB, so the alias address fits 32 bits.
        let bus_address = BUS_BASE + extent.offset as u32;
        let registration = self.local().register(map.raw(), fd.as_fd(), len, bus_address, name);
        let vc_handle = VcHandle::new(registration.handle())
            .ok_or_else(|| Error::BadReply { operation: "emulated allocation", detail: "VideoCore handle 0".into() })?;
        Ok(Block {
            registration: Some(registration),
            map,
            backing: BlockBacking::Emulated(Backing { fd, _extent: extent }),
            vc_handle,
            bus_address,
        })
    }

    /// Maps a block the library handed over.
    fn adopt(&self, table: &'static LibraryTable, status: c_int, out: LibraryBlock, what: &str) -> Result<Block> {
        if status != 0 {
            let e = io::Error::from_raw_os_error(status);
            if status == libc::ENOMEM {
                return Err(Error::OutOfMemory {
                    requested: out.size,
                    stats: Box::new(Stats::new(DriverKind::Emulated)),
                    source: Some(e),
                });
            }
            return Err(Error::syscall("the software VideoCore library's allocation", e));
        }
        if out.fd < 0 {
            // SAFETY: as in `LibraryBacking::drop`: a handle it handed out.
            unsafe { (table.free)(out.handle) };
            return Err(Error::BadReply { operation: "emulated allocation", detail: format!("descriptor {}", out.fd) });
        }
        // SAFETY: the library hands over a new descriptor (checked valid),
        // which we own.
        let fd = unsafe { OwnedFd::from_raw_fd(out.fd) };
        let backing = LibraryBacking { fd, handle: out.handle, table };
        let len = usize::try_from(out.size)
            .map_err(|_| Error::BadReply { operation: "emulated allocation", detail: format!("size {}", out.size) })?;
        let map =
            Mapping::new(backing.fd.as_fd(), len, 0).map_err(|e| Error::syscall("mmap of the library's block", e))?;
        let vc_handle = VcHandle::new(out.handle)
            .ok_or_else(|| Error::BadReply { operation: "emulated allocation", detail: "VideoCore handle 0".into() })?;
        log::trace!("{what}: block {:#x} of the software VideoCore library", out.handle);
        Ok(Block {
            registration: None,
            map,
            backing: BlockBacking::Library(backing),
            vc_handle,
            bus_address: out.bus_address,
        })
    }

    pub(crate) fn alloc(&self, req: AllocRequest<'_>) -> Result<Block> {
        if let Some(table) = self.table() {
            let name = CString::new(req.name).unwrap_or_default();
            let mut out = LibraryBlock { size: req.size as u64, ..Default::default() };
            // SAFETY: the library's function, given a NUL-terminated name
            // and a block to fill, both live for the call.
            let status = unsafe { (table.alloc)(req.size as u64, name.as_ptr(), req.cache as u32, &mut out) };
            return self.adopt(table, status, out, "allocate");
        }
        let fault = next_fault();
        if let Some(fault) = fault {
            log::debug!("emulated VideoCore: injecting a {fault:?} failure");
        }
        let extent = self.reserve(req.size as u64, fault)?;
        let fd = match fault {
            Some(Fault::Descriptor) => Err(io::Error::from_raw_os_error(libc::EMFILE)),
            _ => memfd(&format!("vcsm:{}", req.name), req.size as u64),
        }
        .map_err(|e| Error::syscall("memfd_create for an emulated block", e))?;
        self.finish(extent, fd, req.size, req.name, fault)
    }

    /// Imports a descriptor of any shareable memory (a memfd, a dma-buf).
    /// Like a dma-buf imported on a Pi, which must be physically contiguous
    /// memory, the block is accounted in the pool.
    pub(crate) fn import(&self, source: BorrowedFd<'_>, name: &str) -> Result<Block> {
        if let Some(table) = self.table() {
            let c_name = CString::new(name).unwrap_or_default();
            let mut out = LibraryBlock::default();
            // SAFETY: the library's function, given a descriptor open for
            // the call (it duplicates what it keeps), a NUL-terminated name
            // and a block to fill.
            let status = unsafe { (table.import)(source.as_raw_fd(), c_name.as_ptr(), &mut out) };
            return self.adopt(table, status, out, "import");
        }
        let fd = source.try_clone_to_owned().map_err(|e| Error::syscall("dup of the imported descriptor", e))?;
        fixed_size(fd.as_fd())?;
        let size = fd_size(fd.as_fd()).map_err(|e| Error::syscall("lseek on the imported descriptor", e))?;
        let len = usize::try_from(size)
            .ok()
            .filter(|&s| s > 0 && u32::try_from(s).is_ok())
            .ok_or(Error::BadReply { operation: "dma-buf import", detail: format!("unusable size {size}") })?;
        let rounded = len.next_multiple_of(crate::sys::page_size());
        let extent = self.reserve(rounded as u64, None)?;
        self.finish(extent, fd, len, name, None)
    }

    pub(crate) fn pool_stats(&self, stats: &mut Stats) {
        match self.source {
            Source::Local(vc) => {
                let pool = lock(&vc.pool);
                stats.pool_total = Some(pool.total());
                stats.pool_free = Some(pool.free_bytes());
                stats.largest_free_block = Some(pool.largest_free());
            }
            Source::Library(table) => {
                let mut out = [0u64; 3];
                // SAFETY: the library's function, given room for three values.
                unsafe { (table.pool)(out.as_mut_ptr()) };
                (stats.pool_total, stats.pool_free, stats.largest_free_block) =
                    (Some(out[0]), Some(out[1]), Some(out[2]));
            }
        }
    }

    /// Brackets CPU access to a block of the library's memory.
    pub(crate) fn library_access(block: &Block, begin: bool) {
        if let BlockBacking::Library(b) = &block.backing {
            // SAFETY: the library's functions, given a live block's handle.
            unsafe {
                if begin {
                    (b.table.begin_cpu)(b.handle);
                } else {
                    (b.table.end_cpu)(b.handle);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::{AsFd, FromRawFd, OwnedFd};

    use super::*;
    use crate::driver::Driver;
    use crate::ServiceManager;

    fn manager() -> &'static ServiceManager {
        let vc = crate::emulated::videocore().unwrap();
        ServiceManager::leak_with_driver(Driver::Emulated(Emulated::new(vc)))
    }

    /// A memfd of one page, made with `flags`.
    fn raw_memfd(flags: libc::c_uint) -> std::fs::File {
        // SAFETY: a NUL-terminated name; the result is checked.
        let fd = unsafe { libc::memfd_create(c"foreign".as_ptr(), libc::MFD_CLOEXEC | flags) };
        assert!(fd >= 0, "{}", io::Error::last_os_error());
        // SAFETY: a new descriptor nothing else owns.
        let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        file.set_len(4096).unwrap();
        file
    }

    #[test]
    fn an_imported_memfd_is_sealed_against_shrinking() {
        let file = raw_memfd(0x0002); // MFD_ALLOW_SEALING
        let mem = manager().import_dmabuf(file.as_fd(), "sealable").unwrap();
        assert_eq!(mem.size(), 4096);
        // The exporter can no longer pull the pages from under the mapping.
        assert_eq!(file.set_len(0).unwrap_err().raw_os_error(), Some(libc::EPERM));
        assert_eq!(mem.to_vec().unwrap().len(), 4096);
    }

    #[test]
    fn a_memfd_that_cannot_be_sealed_is_refused() {
        let file = raw_memfd(0);
        let mgr = manager();
        let err = mgr.import_dmabuf(file.as_fd(), "unsealable").unwrap_err();
        assert!(matches!(err, Error::Unsupported { driver: DriverKind::Emulated, .. }), "{err}");
        assert!(err.to_string().contains("MFD_ALLOW_SEALING"), "{err}");
        assert_eq!(mgr.stats().live_allocations, 0);
        // The refusal left nothing behind: a sealable memfd imports.
        let ok = raw_memfd(0x0002);
        assert!(mgr.import_dmabuf(ok.as_fd(), "ok").is_ok());
    }
}
