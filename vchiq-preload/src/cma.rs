//! `/dev/vcsm-cma` and the dma-bufs it hands out, backed by the emulated
//! VideoCore memory (`vcsm`'s, in this library: the memory the emulated
//! VideoCore behind `/dev/vchiq` reads and writes for zero-copy buffers, by
//! VideoCore handle).
//!
//! ALLOC and IMPORT_DMABUF answer as vc-sm-cma does: a new dma-buf
//! descriptor (close-on-exec) in `handle`, the block's VideoCore handle,
//! its bus address in `dma_addr` (and its size, for an import); the whole
//! struct is written back. The descriptor is the emulated block's memfd
//! (duplicated), so the caller's `mmap` of it maps the block's own pages,
//! with no `mmap` to take over: what the VideoCore writes there the caller
//! sees, and the other way round. `DMA_BUF_IOCTL_SYNC` on it checks its
//! flags as the kernel does and succeeds (the emulated memory has no caches
//! to maintain); so does CLEAN_INVALID2. Closing the descriptor frees the
//! block (its VideoCore handle is refused from then on), whatever mappings
//! remain, which keep their pages. Unlike a kernel's, the emulated memory
//! lives in the process: a live block holds one more descriptor (its own
//! memfd) beside the caller's dma-buf, and the memory's pool one from the
//! first allocation on.

use std::ffi::c_int;
use std::mem::offset_of;
use std::os::fd::IntoRawFd;

use vcsm::{CacheMode, ServiceManager, SharedMemory};
use vcsm_sys as sys;

use crate::sys::{borrow_fd, Errno, User};

fn errno(e: &vcsm::Error) -> Errno {
    Errno(match e {
        vcsm::Error::SizeTooLarge { .. } | vcsm::Error::InvalidName { .. } => libc::EINVAL,
        e => e.raw_os_error().unwrap_or(libc::EIO),
    })
}

/// A NUL-terminated (or full) name field.
fn name(field: &[std::ffi::c_char]) -> String {
    #[allow(clippy::unnecessary_cast)] // `c_char` is `i8` on x86_64, `u8` on ARM.
    let bytes: Vec<u8> = field.iter().map(|&c| c as u8).take_while(|&b| b != 0).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The emulated memory's manager.
pub(crate) fn manager() -> Result<&'static ServiceManager, Errno> {
    ServiceManager::emulated().map_err(|e| errno(&e))
}

/// Where the dma-bufs handed out go: the descriptor table.
pub(crate) struct DmaBufs<'a> {
    /// Registers a new descriptor, so that its ioctls and its close reach
    /// the block.
    pub(crate) register: &'a dyn Fn(c_int, DmaBuf),
    /// Takes back a descriptor whose reply could not be written: the block
    /// is freed, the descriptor closed.
    pub(crate) take_back: &'a dyn Fn(c_int),
}

/// A block's new dma-buf descriptor, registered.
fn hand_out(memory: SharedMemory, bufs: &DmaBufs<'_>) -> Result<(c_int, u32, u64, usize), Errno> {
    let fd = memory.export_dmabuf().map_err(|e| errno(&e))?.into_raw_fd();
    let (vc_handle, bus, size) = (memory.vc_handle().get(), u64::from(memory.bus_address()), memory.size());
    (bufs.register)(fd, DmaBuf { _memory: memory });
    Ok((fd, vc_handle, bus, size))
}

/// One open of `/dev/vcsm-cma`.
pub(crate) struct Cma;

impl Cma {
    pub(crate) fn ioctl(&self, request: u32, arg: usize, bufs: &DmaBufs<'_>) -> Result<c_int, Errno> {
        let arg = User(arg);
        let take_back = |fd| (bufs.take_back)(fd);
        match request {
            sys::VC_SM_CMA_IOCTL_MEM_ALLOC => {
                let mut a: sys::vc_sm_cma_ioctl_alloc = arg.read()?;
                let cache = if a.cached == 0 { CacheMode::None } else { CacheMode::Host };
                let memory = manager()?.allocate(a.size as usize, &name(&a.name), cache).map_err(|e| errno(&e))?;
                let (fd, vc_handle, bus, _) = hand_out(memory, bufs)?;
                (a.handle, a.vc_handle, a.dma_addr) = (fd, vc_handle, bus);
                arg.write(a).inspect_err(|_| take_back(fd))?;
                Ok(0)
            }
            sys::VC_SM_CMA_IOCTL_MEM_IMPORT_DMABUF => {
                let mut a: sys::vc_sm_cma_ioctl_import_dmabuf = arg.read()?;
                let source = borrow_fd(a.dmabuf_fd)?;
                let memory = manager()?.import_dmabuf(source, &name(&a.name)).map_err(|e| errno(&e))?;
                let (fd, vc_handle, bus, size) = hand_out(memory, bufs)?;
                let size = u32::try_from(size).map_err(|_| Errno(libc::EINVAL));
                let size = size.inspect_err(|_| take_back(fd))?;
                (a.handle, a.vc_handle, a.size, a.dma_addr) = (fd, vc_handle, size, bus);
                arg.write(a).inspect_err(|_| take_back(fd))?;
                Ok(0)
            }
            sys::VC_SM_CMA_IOCTL_MEM_CLEAN_INVALID2 => {
                // The header must be readable; the emulated memory has no
                // caches, so there is nothing to clean or invalidate.
                let _count: u32 = arg.offset(offset_of!(sys::vc_sm_cma_ioctl_clean_invalid2, op_count)).read()?;
                Ok(0)
            }
            _ => Err(Errno(libc::ENOTTY)),
        }
    }
}

/// A dma-buf handed out by ALLOC or IMPORT_DMABUF: the block lives as long
/// as its descriptor.
pub(crate) struct DmaBuf {
    _memory: SharedMemory,
}

impl DmaBuf {
    pub(crate) fn ioctl(&self, request: u32, arg: usize) -> Result<c_int, Errno> {
        match request {
            sys::DMA_BUF_IOCTL_SYNC => {
                let sync: sys::dma_buf_sync = User(arg).read()?;
                // As dma-buf.c: only the valid flags, and a direction.
                let flags = sync.flags;
                if flags & !u64::from(sys::DMA_BUF_SYNC_VALID_FLAGS_MASK) != 0
                    || flags & u64::from(sys::DMA_BUF_SYNC_RW) == 0
                {
                    return Err(Errno(libc::EINVAL));
                }
                Ok(0)
            }
            _ => Err(Errno(libc::ENOTTY)),
        }
    }
}
