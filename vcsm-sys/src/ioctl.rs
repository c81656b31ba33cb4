//! Request numbers, computed exactly as the kernel's `_IOC` macros do
//! (`include/uapi/asm-generic/ioctl.h`, which ARM and arm64 both use).

use core::mem::size_of;

use crate::bindings::*;

/// `_IOC_NONE`: no data transfer.
pub const IOC_NONE: u32 = 0;
/// `_IOC_WRITE`: user space writes the argument, the kernel reads it.
pub const IOC_WRITE: u32 = 1;
/// `_IOC_READ`: the kernel writes the argument back.
pub const IOC_READ: u32 = 2;

const IOC_NRSHIFT: u32 = 0;
const IOC_TYPESHIFT: u32 = 8;
const IOC_SIZESHIFT: u32 = 16;
const IOC_DIRSHIFT: u32 = 30;
const IOC_SIZEMASK: usize = (1 << 14) - 1;

/// The kernel's `_IOC(dir, type, nr, size)`.
///
/// Fails to compile (when used in a `const`) if `size` does not fit the
/// 14-bit size field, like the kernel's `_IOC_TYPECHECK`.
pub const fn ioc(dir: u32, ty: u8, nr: u32, size: usize) -> u32 {
    assert!(size <= IOC_SIZEMASK, "ioctl argument too large for _IOC");
    assert!(nr <= 0xFF, "ioctl number out of range");
    (dir << IOC_DIRSHIFT) | ((size as u32) << IOC_SIZESHIFT) | ((ty as u32) << IOC_TYPESHIFT) | (nr << IOC_NRSHIFT)
}

/// The kernel's `_IO(type, nr)`.
pub const fn io(ty: u8, nr: u32) -> u32 {
    ioc(IOC_NONE, ty, nr, 0)
}

/// The kernel's `_IOR(type, nr, T)`.
pub const fn ior<T>(ty: u8, nr: u32) -> u32 {
    ioc(IOC_READ, ty, nr, size_of::<T>())
}

/// The kernel's `_IOW(type, nr, T)`.
pub const fn iow<T>(ty: u8, nr: u32) -> u32 {
    ioc(IOC_WRITE, ty, nr, size_of::<T>())
}

// --- vc-sm-cma (/dev/vcsm-cma) ---------------------------------------------

/// Allocate a block: [`vc_sm_cma_ioctl_alloc`]. Returns a dma-buf fd.
pub const VC_SM_CMA_IOCTL_MEM_ALLOC: u32 = ior::<vc_sm_cma_ioctl_alloc>(VC_SM_CMA_IOCTL_MAGIC, VC_SM_CMA_CMD_ALLOC);
/// Import a dma-buf: [`vc_sm_cma_ioctl_import_dmabuf`].
pub const VC_SM_CMA_IOCTL_MEM_IMPORT_DMABUF: u32 =
    ior::<vc_sm_cma_ioctl_import_dmabuf>(VC_SM_CMA_IOCTL_MAGIC, VC_SM_CMA_CMD_IMPORT_DMABUF);
/// 2-D cache operations: [`vc_sm_cma_ioctl_clean_invalid2`] (32-bit ARM
/// kernels only; `EINVAL` elsewhere). The size field covers the header only.
pub const VC_SM_CMA_IOCTL_MEM_CLEAN_INVALID2: u32 =
    ior::<vc_sm_cma_ioctl_clean_invalid2>(VC_SM_CMA_IOCTL_MAGIC, VC_SM_CMA_CMD_CLEAN_INVALID2);

// --- legacy vc-sm (/dev/vcsm) -------------------------------------------------

macro_rules! legacy_ior {
    ($($(#[$doc:meta])* $name:ident = $cmd:ident, $arg:ty;)*) => {$(
        $(#[$doc])*
        pub const $name: u32 = ior::<$arg>(VMCS_SM_IOCTL_MAGIC, $cmd);
    )*};
}

legacy_ior! {
    /// Allocate a block: [`vmcs_sm_ioctl_alloc`].
    VMCS_SM_IOCTL_MEM_ALLOC = VMCS_SM_CMD_ALLOC, vmcs_sm_ioctl_alloc;
    /// Second handle on an existing block: [`vmcs_sm_ioctl_alloc_share`].
    VMCS_SM_IOCTL_MEM_ALLOC_SHARE = VMCS_SM_CMD_ALLOC_SHARE, vmcs_sm_ioctl_alloc_share;
    /// Lock a block for CPU access: [`vmcs_sm_ioctl_lock_unlock`].
    VMCS_SM_IOCTL_MEM_LOCK = VMCS_SM_CMD_LOCK, vmcs_sm_ioctl_lock_unlock;
    /// Lock and change the cache mode: [`vmcs_sm_ioctl_lock_cache`].
    VMCS_SM_IOCTL_MEM_LOCK_CACHE = VMCS_SM_CMD_LOCK_CACHE, vmcs_sm_ioctl_lock_cache;
    /// Unlock a block: [`vmcs_sm_ioctl_lock_unlock`].
    VMCS_SM_IOCTL_MEM_UNLOCK = VMCS_SM_CMD_UNLOCK, vmcs_sm_ioctl_lock_unlock;
    /// Resize an unlocked, unmapped block: [`vmcs_sm_ioctl_resize`].
    VMCS_SM_IOCTL_MEM_RESIZE = VMCS_SM_CMD_RESIZE, vmcs_sm_ioctl_resize;
    /// Free a block: [`vmcs_sm_ioctl_free`].
    VMCS_SM_IOCTL_MEM_FREE = VMCS_SM_CMD_FREE, vmcs_sm_ioctl_free;
    /// Clean and invalidate a range: [`vmcs_sm_ioctl_cache`].
    VMCS_SM_IOCTL_MEM_FLUSH = VMCS_SM_CMD_FLUSH, vmcs_sm_ioctl_cache;
    /// Invalidate a range: [`vmcs_sm_ioctl_cache`].
    VMCS_SM_IOCTL_MEM_INVALID = VMCS_SM_CMD_INVALID, vmcs_sm_ioctl_cache;
    /// Size of a block: [`vmcs_sm_ioctl_size`].
    VMCS_SM_IOCTL_SIZE_USR_HDL = VMCS_SM_CMD_SIZE_USR_HANDLE, vmcs_sm_ioctl_size;
    /// Check a handle: [`vmcs_sm_ioctl_chk`].
    VMCS_SM_IOCTL_CHK_USR_HDL = VMCS_SM_CMD_CHK_USR_HANDLE, vmcs_sm_ioctl_chk;
    /// Address to user handle: [`vmcs_sm_ioctl_map`].
    VMCS_SM_IOCTL_MAP_USR_HDL = VMCS_SM_CMD_MAPPED_USR_HANDLE, vmcs_sm_ioctl_map;
    /// User handle to address: [`vmcs_sm_ioctl_map`].
    VMCS_SM_IOCTL_MAP_USR_ADDRESS = VMCS_SM_CMD_MAPPED_USR_ADDRESS, vmcs_sm_ioctl_map;
    /// Address to VideoCore handle: [`vmcs_sm_ioctl_map`].
    VMCS_SM_IOCTL_MAP_VC_HDL_FR_ADDR = VMCS_SM_CMD_MAPPED_VC_HDL_FROM_ADDR, vmcs_sm_ioctl_map;
    /// User handle to VideoCore handle: [`vmcs_sm_ioctl_map`].
    VMCS_SM_IOCTL_MAP_VC_HDL_FR_HDL = VMCS_SM_CMD_MAPPED_VC_HDL_FROM_HDL, vmcs_sm_ioctl_map;
    /// User handle to VideoCore bus address: [`vmcs_sm_ioctl_map`].
    VMCS_SM_IOCTL_MAP_VC_ADDR_FR_HDL = VMCS_SM_CMD_MAPPED_VC_ADDR_FROM_HDL, vmcs_sm_ioctl_map;
    /// Debug walk of a process's allocations: [`vmcs_sm_ioctl_walk`].
    VMCS_SM_IOCTL_HOST_WALK_PID_ALLOC = VMCS_SM_CMD_HOST_WALK_PID_ALLOC, vmcs_sm_ioctl_walk;
    /// Debug walk of a process's mappings: [`vmcs_sm_ioctl_walk`].
    VMCS_SM_IOCTL_HOST_WALK_PID_MAP = VMCS_SM_CMD_HOST_WALK_PID_MAP, vmcs_sm_ioctl_walk;
    /// Up to eight cache operations: [`vmcs_sm_ioctl_clean_invalid`].
    VMCS_SM_IOCTL_MEM_CLEAN_INVALID = VMCS_SM_CMD_CLEAN_INVALID, vmcs_sm_ioctl_clean_invalid;
    /// 2-D cache operations: [`vmcs_sm_ioctl_clean_invalid2`] (size field
    /// covers the header only: 4 bytes on 32-bit ARM, 8 on 64-bit).
    VMCS_SM_IOCTL_MEM_CLEAN_INVALID2 = VMCS_SM_CMD_CLEAN_INVALID2, vmcs_sm_ioctl_clean_invalid2;
    /// Import a dma-buf: [`vmcs_sm_ioctl_import_dmabuf`].
    VMCS_SM_IOCTL_MEM_IMPORT_DMABUF = VMCS_SM_CMD_IMPORT_DMABUF, vmcs_sm_ioctl_import_dmabuf;
}

/// Debug dump of VideoCore allocations to the VideoCore log.
pub const VMCS_SM_IOCTL_VC_WALK_ALLOC: u32 = io(VMCS_SM_IOCTL_MAGIC, VMCS_SM_CMD_VC_WALK_ALLOC);
/// Debug dump of host mappings to the kernel log.
pub const VMCS_SM_IOCTL_HOST_WALK_MAP: u32 = io(VMCS_SM_IOCTL_MAGIC, VMCS_SM_CMD_HOST_WALK_MAP);

// --- dma-buf --------------------------------------------------------------------

/// Begin or end CPU access to a dma-buf: [`dma_buf_sync`]. The flags must name
/// a direction (`DMA_BUF_SYNC_READ`, `_WRITE` or `_RW`); `END` alone is
/// rejected with `EINVAL`.
pub const DMA_BUF_IOCTL_SYNC: u32 = iow::<dma_buf_sync>(DMA_BUF_BASE, DMA_BUF_CMD_SYNC);
