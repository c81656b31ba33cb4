//! The three drivers behind a `ServiceManager`, and the blocks they hand out.
//!
//! A [`Block`] owns everything one allocation holds (mapping, descriptor or
//! kernel handle, pool extent, registry entry) in fields that release
//! themselves on drop, in declaration order. A half-built allocation is
//! therefore unwound by the same code as a finished one, and no error path
//! can leak.

pub(crate) mod cma;
pub(crate) mod emulated;
#[cfg(test)]
pub(crate) mod fake;
pub(crate) mod legacy;

use std::os::fd::{BorrowedFd, OwnedFd};

use crate::sys::Mapping;
use crate::{CacheMode, DriverKind, Error, Result, VcHandle};

/// Which way CPU access goes, for the begin/end brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
    ReadWrite,
}

impl Access {
    pub(crate) fn dma_buf_flags(self) -> u64 {
        u64::from(match self {
            Access::Read => vcsm_sys::DMA_BUF_SYNC_READ,
            Access::Write => vcsm_sys::DMA_BUF_SYNC_WRITE,
            Access::ReadWrite => vcsm_sys::DMA_BUF_SYNC_RW,
        })
    }
}

/// What to allocate, validated and page-rounded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AllocRequest<'a> {
    pub(crate) size: usize,
    pub(crate) name: &'a str,
    pub(crate) cache: CacheMode,
}

/// One live allocation.
#[derive(Debug)]
pub(crate) struct Block {
    /// Emulated only: dropped first, so the VideoCore side stops reaching the
    /// bytes before they are unmapped.
    pub(crate) registration: Option<crate::emulated::Registration>,
    pub(crate) map: Mapping,
    /// Dropped after the mapping: closes the dma-buf / memfd, or sends FREE.
    pub(crate) backing: Backing,
    pub(crate) vc_handle: VcHandle,
    pub(crate) bus_address: u32,
}

#[derive(Debug)]
pub(crate) enum Backing {
    /// The dma-buf descriptor is the allocation.
    Cma(OwnedFd),
    /// The kernel's user handle, freed with MEM_FREE.
    Legacy(legacy::UserHandle),
    Emulated(emulated::Backing),
    /// A block of a software VideoCore library's memory.
    Library(emulated::LibraryBacking),
}

impl Block {
    pub(crate) fn fd(&self) -> Option<BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        match &self.backing {
            Backing::Cma(fd) => Some(fd.as_fd()),
            Backing::Emulated(b) => Some(b.fd.as_fd()),
            Backing::Library(b) => Some(b.fd.as_fd()),
            Backing::Legacy(_) => None,
        }
    }
}

/// The driver a `ServiceManager` talks to.
pub(crate) enum Driver {
    Cma(cma::Cma),
    Legacy(legacy::Legacy),
    Emulated(emulated::Emulated),
}

impl Driver {
    pub(crate) fn kind(&self) -> DriverKind {
        match self {
            Driver::Cma(_) => DriverKind::Cma,
            Driver::Legacy(_) => DriverKind::Legacy,
            Driver::Emulated(_) => DriverKind::Emulated,
        }
    }

    /// The allocation granule: sizes are rounded up to a multiple of it.
    fn granule(&self) -> usize {
        match self {
            // The legacy driver aligns to 4096 whatever the page size.
            Driver::Legacy(_) => 4096,
            Driver::Cma(_) | Driver::Emulated(_) => crate::sys::page_size(),
        }
    }

    /// Rounds a size up to what the driver will allocate.
    pub(crate) fn round(&self, size: usize) -> Option<usize> {
        let rounded = size.checked_next_multiple_of(self.granule())?;
        // Both drivers carry sizes in 32-bit fields.
        u32::try_from(rounded).ok()?;
        Some(rounded)
    }

    /// The largest size [`round`](Self::round) accepts.
    pub(crate) fn max_size(&self) -> u64 {
        let granule = self.granule() as u64;
        u64::from(u32::MAX) / granule * granule
    }

    pub(crate) fn alloc(&'static self, req: AllocRequest<'_>) -> Result<Block> {
        match self {
            Driver::Cma(d) => d.alloc(req),
            Driver::Legacy(d) => d.alloc(req),
            Driver::Emulated(d) => d.alloc(req),
        }
    }

    pub(crate) fn begin_access(&self, block: &Block, access: Access) -> Result<()> {
        match self {
            Driver::Cma(d) => d.sync(block, access, false),
            Driver::Legacy(d) => d.lock(block),
            Driver::Emulated(_) => {
                if let Some(r) = &block.registration {
                    r.begin_cpu()?;
                }
                emulated::Emulated::library_access(block, true);
                Ok(())
            }
        }
    }

    pub(crate) fn end_access(&self, block: &Block, access: Access) -> Result<()> {
        match self {
            Driver::Cma(d) => d.sync(block, access, true),
            Driver::Legacy(d) => d.unlock(block),
            Driver::Emulated(_) => {
                if let Some(r) = &block.registration {
                    r.end_cpu();
                }
                emulated::Emulated::library_access(block, false);
                Ok(())
            }
        }
    }

    pub(crate) fn import(&'static self, fd: BorrowedFd<'_>, name: &str) -> Result<Block> {
        match self {
            Driver::Cma(d) => d.import(fd, name),
            Driver::Emulated(d) => d.import(fd, name),
            Driver::Legacy(_) => Err(Error::Unsupported {
                driver: DriverKind::Legacy,
                operation: "dma-buf import",
                advice: "use a kernel with /dev/vcsm-cma (5.4 or later)",
            }),
        }
    }

    pub(crate) fn export(&self, block: &Block) -> Result<OwnedFd> {
        match (self, block.fd()) {
            (Driver::Cma(_) | Driver::Emulated(_), Some(fd)) => {
                fd.try_clone_to_owned().map_err(|e| Error::syscall("dup of the dma-buf descriptor", e))
            }
            _ => Err(Error::Unsupported {
                driver: self.kind(),
                operation: "dma-buf export",
                advice: "use a kernel with /dev/vcsm-cma (5.4 or later)",
            }),
        }
    }

    /// Fills in the pool figures of a stats snapshot.
    pub(crate) fn pool_stats(&self, stats: &mut crate::Stats) {
        match self {
            Driver::Cma(_) => {
                if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
                    (stats.pool_total, stats.pool_free) = crate::stats::parse_meminfo_cma(&text);
                }
            }
            Driver::Legacy(_) => {}
            Driver::Emulated(d) => d.pool_stats(stats),
        }
    }
}

/// The error for a failed ALLOC/IMPORT request: `ENOMEM` means the pool is
/// exhausted or fragmented (the manager fills in the stats snapshot).
pub(crate) fn request_error(driver: DriverKind, operation: &'static str, requested: u64, e: std::io::Error) -> Error {
    if e.raw_os_error() == Some(libc::ENOMEM) {
        Error::OutOfMemory { requested, stats: Box::new(crate::Stats::new(driver)), source: Some(e) }
    } else {
        Error::syscall(operation, e)
    }
}

/// Copies a name into a fixed kernel field: at most 31 bytes, NUL-terminated
/// (never reading past the name, unlike libvcsm).
pub(crate) fn name_field(name: &str) -> [std::ffi::c_char; 32] {
    let mut field = [0 as std::ffi::c_char; 32];
    for (dst, &src) in field.iter_mut().zip(name.as_bytes().iter().take(31)) {
        *dst = src as std::ffi::c_char;
    }
    field
}
