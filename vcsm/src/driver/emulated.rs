//! The emulated driver: the software VideoCore's memory (see
//! [`crate::emulated`]).
//!
//! System calls per operation (the same shape as on vc-sm-cma, so descriptor
//! and mapping use match a Pi's):
//!
//! | operation | calls |
//! | --- | --- |
//! | open | none |
//! | allocate | `memfd_create`, `ftruncate`, `mmap(fd)` |
//! | lock / copy in / read back | none (there is no cache to maintain) |
//! | free | `munmap`, `close(fd)` |
//! | import | `dup(fd)`, `lseek(SEEK_END)` for the size, `mmap` |
//! | export | `dup(fd)` |
//!
//! The cache mode is recorded (it keys `BufferPool` layouts) and otherwise
//! ignored, as on vc-sm-cma.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use super::{AllocRequest, Backing as BlockBacking, Block};
use crate::emulated::{next_fault, Fault, VideoCore, BUS_BASE};
use crate::lock;
use crate::sys::{fd_size, memfd, Mapping};
use crate::{DriverKind, Error, Result, Stats, VcHandle};

pub(crate) struct Emulated {
    vc: &'static VideoCore,
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

impl Emulated {
    pub(crate) fn new(vc: &'static VideoCore) -> Emulated {
        Emulated { vc }
    }

    fn reserve(&self, len: u64, fault: Option<Fault>) -> Result<Extent> {
        let offset = match fault {
            Some(Fault::Pool) => None,
            _ => lock(&self.vc.pool).allocate(len),
        };
        match offset {
            Some(offset) => Ok(Extent { vc: self.vc, offset, len }),
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
        let registration = self.vc.register(map.raw(), len, bus_address, name);
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

    pub(crate) fn alloc(&self, req: AllocRequest<'_>) -> Result<Block> {
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
        let fd = source.try_clone_to_owned().map_err(|e| Error::syscall("dup of the imported descriptor", e))?;
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
        let pool = lock(&self.vc.pool);
        stats.pool_total = Some(pool.total());
        stats.pool_free = Some(pool.free_bytes());
        stats.largest_free_block = Some(pool.largest_free());
    }
}
