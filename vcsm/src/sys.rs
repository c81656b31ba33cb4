//! Every system call and raw-memory operation of the crate. This is the only
//! module where `unsafe` is allowed; each block says why it is sound.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;

/// Issues ioctls. The kernel is the real implementation; tests substitute a
/// fake device that checks every byte the kernel would read and writes the
/// reply the kernel would write.
pub(crate) trait Ioctl: Send + Sync + 'static {
    /// Sends `request` on `fd` with `arg` as the in/out argument buffer.
    fn ioctl(&self, fd: BorrowedFd<'_>, request: u32, arg: &mut [u8]) -> io::Result<()>;
}

/// The running kernel.
pub(crate) struct Kernel;

impl Ioctl for Kernel {
    fn ioctl(&self, fd: BorrowedFd<'_>, request: u32, arg: &mut [u8]) -> io::Result<()> {
        loop {
            // SAFETY: `arg` is the whole argument struct of `request` (callers
            // pass `bytes_of_mut` of the struct the request number encodes, whose
            // size is pinned by vcsm-sys's tests), so the kernel reads and writes
            // only inside it; `fd` is a valid open descriptor for the call.
            let rc = unsafe { libc::ioctl(fd.as_raw_fd(), request as _, arg.as_mut_ptr()) };
            if rc >= 0 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}

/// Kernel ABI structs that may be viewed as bytes: `#[repr(C)]`, no padding
/// bytes, every bit pattern valid.
///
/// # Safety
///
/// Implement only for types with those three properties.
pub(crate) unsafe trait AbiStruct: Copy + Default {}

// SAFETY: plain integer fields with explicit pads; sizes pinned by vcsm-sys
// tests (64, 64, 48, 8, 4, 8, 16, 12, 8 bytes: no implicit padding).
unsafe impl AbiStruct for vcsm_sys::vc_sm_cma_ioctl_alloc {}
// SAFETY: as above.
unsafe impl AbiStruct for vcsm_sys::vc_sm_cma_ioctl_import_dmabuf {}
// SAFETY: as above.
unsafe impl AbiStruct for vcsm_sys::vmcs_sm_ioctl_alloc {}
// SAFETY: as above.
unsafe impl AbiStruct for vcsm_sys::vmcs_sm_ioctl_lock_unlock {}
// SAFETY: as above.
unsafe impl AbiStruct for vcsm_sys::vmcs_sm_ioctl_free {}
// SAFETY: as above.
unsafe impl AbiStruct for vcsm_sys::vmcs_sm_ioctl_map {}
// SAFETY: as above.
unsafe impl AbiStruct for vcsm_sys::vmcs_sm_ioctl_cache {}
// SAFETY: as above.
unsafe impl AbiStruct for vcsm_sys::dma_buf_sync {}

/// The bytes of an ABI struct, for [`Ioctl::ioctl`].
pub(crate) fn bytes_of_mut<T: AbiStruct>(value: &mut T) -> &mut [u8] {
    // SAFETY: `AbiStruct` guarantees no padding and that any bytes written
    // form a valid `T`; the slice covers exactly the value and borrows it.
    unsafe { std::slice::from_raw_parts_mut((value as *mut T).cast::<u8>(), std::mem::size_of::<T>()) }
}

/// Reads an ABI struct back from bytes (used by fake devices in tests).
#[cfg(test)]
pub(crate) fn from_bytes<T: AbiStruct>(bytes: &[u8]) -> T {
    let mut value = T::default();
    bytes_of_mut(&mut value).copy_from_slice(&bytes[..std::mem::size_of::<T>()]);
    value
}

fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// Takes ownership of a descriptor the kernel just handed to this process.
///
/// # Safety
///
/// `fd` must be open and owned by nobody else.
pub(crate) unsafe fn owned_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: guaranteed by the caller.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Opens a device node read-write, close-on-exec.
pub(crate) fn open_device(path: &str) -> io::Result<OwnedFd> {
    let c = CString::new(path).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    let fd = cvt(unsafe { libc::open(c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) })?;
    // SAFETY: `open` returned a new descriptor that nothing else owns.
    Ok(unsafe { owned_fd(fd) })
}

/// An anonymous shared-memory file of `len` bytes (the emulated dma-buf).
pub(crate) fn memfd(name: &str, len: u64) -> io::Result<OwnedFd> {
    let c = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is NUL-terminated and outlives the call.
    let fd = cvt(unsafe { libc::memfd_create(c.as_ptr(), libc::MFD_CLOEXEC) })?;
    // SAFETY: `memfd_create` returned a new descriptor that nothing else owns.
    let fd = unsafe { owned_fd(fd) };
    let len = libc::off64_t::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
    // SAFETY: `fd` is a valid memfd.
    cvt(unsafe { libc::ftruncate64(fd.as_raw_fd(), len) })?;
    Ok(fd)
}

/// Size of the file behind `fd` (`lseek(SEEK_END)`, which dma-bufs support).
pub(crate) fn fd_size(fd: BorrowedFd<'_>) -> io::Result<u64> {
    // SAFETY: plain syscall on a valid descriptor.
    let end = unsafe { libc::lseek64(fd.as_raw_fd(), 0, libc::SEEK_END) };
    if end < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above; restore the offset so the descriptor is left as found.
    unsafe { libc::lseek64(fd.as_raw_fd(), 0, libc::SEEK_SET) };
    Ok(end as u64)
}

/// The process id, for the legacy driver's `pid` fields.
pub(crate) fn pid() -> u32 {
    std::process::id()
}

/// The system page size.
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as usize
    } else {
        4096
    }
}

/// A shared read-write mapping, unmapped on drop.
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a mapping is process-wide memory, not tied to the thread that made
// it; access to its bytes goes through `&self`/`&mut self` methods, so Rust's
// borrow rules order it like any owned buffer.
unsafe impl Send for Mapping {}
// SAFETY: `&Mapping` only gives shared (read) access to the bytes.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `fd` from `offset`, shared, read-write.
    pub(crate) fn new(fd: BorrowedFd<'_>, len: usize, offset: u64) -> io::Result<Mapping> {
        if len == 0 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let offset = libc::off64_t::try_from(offset).map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))?;
        // SAFETY: a fresh mapping at an address the kernel picks; no existing
        // memory is affected. The result is checked against MAP_FAILED.
        let ptr = unsafe {
            libc::mmap64(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::from_raw_os_error(libc::EFAULT))?;
        Ok(Mapping { ptr, len })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: the mapping is `len` readable bytes, alive as long as `self`;
        // `&self` rules out a `&mut` slice of it meanwhile.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as above, and `&mut self` makes this the only slice.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// A raw view for the emulated VideoCore's registry, which copies through
    /// it while holding its lock (see `emulated::registry`).
    pub(crate) fn raw(&self) -> RawRegion {
        RawRegion { ptr: self.ptr, len: self.len }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` describe a mapping this value owns, and no slice
        // of it can outlive `self`.
        let rc = unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
        // munmap of a mapping we own can only fail on kernel resource
        // exhaustion; nothing can be done from drop, so it is logged.
        if rc != 0 {
            log::error!("munmap of {} bytes failed: {}", self.len, io::Error::last_os_error());
        }
    }
}

/// Where an emulated block's bytes live, as the emulated VideoCore sees them:
/// the device side of the memory, which (like DMA) is outside Rust's borrows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawRegion {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the region is plain memory; the registry serialises its own use and
// removes the region before the mapping behind it is unmapped.
unsafe impl Send for RawRegion {}

impl RawRegion {
    /// Copies `out.len()` bytes from `offset`. The caller checked the bounds.
    ///
    /// The device side and a CPU `Lock` may touch the same bytes, exactly as
    /// the VideoCore and the ARM can; copies are done with raw pointers so no
    /// Rust reference to the shared bytes is formed here.
    pub(crate) fn read(&self, offset: usize, out: &mut [u8]) {
        assert!(offset.checked_add(out.len()).is_some_and(|end| end <= self.len));
        // SAFETY: bounds checked above; `out` is a distinct Rust buffer, so the
        // ranges do not overlap; the region is mapped while the registry holds it.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.as_ptr().add(offset), out.as_mut_ptr(), out.len()) }
    }

    /// Copies `data` to `offset`. The caller checked the bounds.
    pub(crate) fn write(&self, offset: usize, data: &[u8]) {
        assert!(offset.checked_add(data.len()).is_some_and(|end| end <= self.len));
        // SAFETY: as in `read`, with the roles of the buffers swapped.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.as_ptr().add(offset), data.len()) }
    }
}

/// Whether `fd` is open in this process.
#[cfg(test)]
pub(crate) fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only queries the descriptor table.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
}
