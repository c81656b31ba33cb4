//! The crate's system calls and raw-memory operations. `unsafe` is denied
//! crate-wide and allowed only here and in three other private modules, each
//! block with the reason it is sound: `driver::cma` (adopting the descriptor
//! in a kernel reply), `driver::emulated` and `emulated::library` (the C
//! table of a software VideoCore library); `emulated::device` declares the
//! `unsafe fn`s of the device side and has no `unsafe` block.
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

/// `MFD_ALLOW_SEALING` (not in every libc target's bindings).
const MFD_ALLOW_SEALING: libc::c_uint = 0x0002;

/// An anonymous shared-memory file of `len` bytes (the emulated dma-buf),
/// sealed at that size: like a dma-buf it can neither shrink (which would
/// turn the next access through a mapping into SIGBUS) nor grow, and its
/// seals cannot change, whoever holds a descriptor of it.
pub(crate) fn memfd(name: &str, len: u64) -> io::Result<OwnedFd> {
    let c = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is NUL-terminated and outlives the call.
    let fd = cvt(unsafe { libc::memfd_create(c.as_ptr(), libc::MFD_CLOEXEC | MFD_ALLOW_SEALING) })?;
    // SAFETY: `memfd_create` returned a new descriptor that nothing else owns.
    let fd = unsafe { owned_fd(fd) };
    let len = libc::off64_t::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
    // SAFETY: `fd` is a valid memfd.
    cvt(unsafe { libc::ftruncate64(fd.as_raw_fd(), len) })?;
    let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
    // SAFETY: fcntl on a valid descriptor, with an integer argument.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) })?;
    Ok(fd)
}

/// Makes sure the memfd (or other shmem file) behind `fd` cannot shrink
/// under a mapping: returns at once if it is sealed against shrinking, else
/// adds `F_SEAL_SHRINK | F_SEAL_GROW`.
///
/// # Errors
///
/// `EINVAL` if the file takes no seals (it is not shmem: a dma-buf, a plain
/// file); `EPERM` if it may not be sealed (made without
/// `MFD_ALLOW_SEALING`, or `F_SEAL_SEAL`).
pub(crate) fn seal_against_shrinking(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fcntl on a valid descriptor, no argument.
    let seals = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) })?;
    if seals & libc::F_SEAL_SHRINK != 0 {
        return Ok(());
    }
    // SAFETY: fcntl on a valid descriptor, with an integer argument.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, libc::F_SEAL_SHRINK | libc::F_SEAL_GROW) })?;
    Ok(())
}

/// `DMA_BUF_MAGIC`: the file system of dma-buf files (Linux 5.3 and later).
const DMA_BUF_MAGIC: u32 = 0x444d_4142;
/// `ANON_INODE_FS_MAGIC`: where dma-bufs lived before Linux 5.3, all on one
/// shared inode.
const ANON_INODE_FS_MAGIC: u32 = 0x0904_1934;

/// The magic number of the file system holding the file behind `fd`.
fn fs_magic(fd: BorrowedFd<'_>) -> io::Result<Option<u32>> {
    // SAFETY: `statfs64` is plain data, valid zeroed.
    let mut st: libc::statfs64 = unsafe { std::mem::zeroed() };
    // SAFETY: a valid descriptor and a buffer of the type the call fills.
    cvt(unsafe { libc::fstatfs64(fd.as_raw_fd(), &mut st) })?;
    Ok(u32::try_from(st.f_type).ok())
}

/// Whether `fd` is a dma-buf (known by its file system, Linux 5.3 and later).
pub(crate) fn is_dma_buf(fd: BorrowedFd<'_>) -> io::Result<bool> {
    Ok(fs_magic(fd)? == Some(DMA_BUF_MAGIC))
}

/// What identifies the object behind a descriptor: the same for every `dup`
/// of it, different for another object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
}

/// The identity of the file behind `fd` (`fstat`'s device and inode), or
/// `None` where the inode is shared by unrelated objects (dma-bufs on
/// kernels before 5.3 all sit on the one anonymous inode).
pub(crate) fn file_id(fd: BorrowedFd<'_>) -> io::Result<Option<FileId>> {
    if fs_magic(fd)? == Some(ANON_INODE_FS_MAGIC) {
        return Ok(None);
    }
    // SAFETY: `stat64` is plain data, valid zeroed.
    let mut st: libc::stat64 = unsafe { std::mem::zeroed() };
    // SAFETY: a valid descriptor and a buffer of the type the call fills.
    cvt(unsafe { libc::fstat64(fd.as_raw_fd(), &mut st) })?;
    #[allow(clippy::useless_conversion)] // the field types differ between targets
    Ok(Some(FileId { dev: u64::from(st.st_dev), ino: u64::from(st.st_ino) }))
}

/// Size of the file behind `fd` (`lseek(SEEK_END)`, which dma-bufs support).
/// The offset is put back where it was: `fd` may share it with the caller's
/// descriptor.
pub(crate) fn fd_size(fd: BorrowedFd<'_>) -> io::Result<u64> {
    // SAFETY: plain syscalls on a valid descriptor.
    let here = unsafe { libc::lseek64(fd.as_raw_fd(), 0, libc::SEEK_CUR) };
    if here < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    let end = unsafe { libc::lseek64(fd.as_raw_fd(), 0, libc::SEEK_END) };
    let error = io::Error::last_os_error();
    // SAFETY: as above; restores the offset read first.
    unsafe { libc::lseek64(fd.as_raw_fd(), here, libc::SEEK_SET) };
    if end < 0 {
        return Err(error);
    }
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
#[cfg_attr(not(feature = "device-access"), allow(dead_code))]
pub(crate) struct RawRegion {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the region is plain memory. The registry uses it only under its
// mutex and never while the CPU side has the block (`Entry::cpu_accesses`),
// and removes it before the mapping behind it is unmapped.
unsafe impl Send for RawRegion {}

#[cfg_attr(not(feature = "device-access"), allow(dead_code))]
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

/// The inode behind descriptor `fd`, if it is open: tests compare it before
/// and after a close, since another thread may reuse the number at once.
#[cfg(test)]
pub(crate) fn fd_inode(fd: RawFd) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/self/fd/{fd}")).ok().map(|m| m.ino())
}

/// Copies a 2-D view of any strides into `dst` in row-major (logical) order,
/// tile by tile through a small buffer: each tile is gathered in whichever
/// order walks the source along its smaller stride, then written out as
/// whole destination rows. Every source and destination cache line is thus
/// touched once per tile, even at power-of-two strides where a direct
/// element-by-element copy thrashes the cache.
///
/// Single-byte elements over a contiguous source axis (a transposed `u8`
/// array) take a faster path that transposes 8 x 8 blocks in registers.
///
/// `side` is the tile's side in elements.
pub(crate) fn copy_view_2d<T: Copy>(src: ndarray::ArrayView2<'_, T>, dst: &mut [T], side: usize) {
    let (rows, cols) = src.dim();
    assert_eq!(dst.len(), rows * cols, "destination holds the view exactly");
    if rows == 0 || cols == 0 {
        return;
    }
    let (rs, cs) = (src.strides()[0], src.strides()[1]);
    if std::mem::size_of::<T>() == 1 && rs == 1 && cfg!(target_endian = "little") {
        // SAFETY: `T` is one byte and `Copy` (plain data), so the view's
        // elements and `dst`'s are bytes; the view's element (r, c) is at
        // `base + r + c * cs`, and `dst` holds rows * cols bytes.
        unsafe { transpose_bytes(src.as_ptr().cast::<u8>(), cs, rows, cols, dst.as_mut_ptr().cast::<u8>()) };
        return;
    }
    let side = side.max(1);
    let base = src.as_ptr();
    let column_major = rs.unsigned_abs() < cs.unsigned_abs();
    let mut buf: Vec<T> = vec![src[[0, 0]]; side * side];
    let tile = buf.as_mut_ptr();
    for r0 in (0..rows).step_by(side) {
        let h = side.min(rows - r0);
        for c0 in (0..cols).step_by(side) {
            let w = side.min(cols - c0);
            // SAFETY: for i < h and j < w, (r0 + i, c0 + j) is inside the view,
            // whose element (r, c) is at `base + r * rs + c * cs` (ndarray's
            // guarantee for a live view); the buffer holds side * side >= h * w
            // elements and index i * w + j < h * w.
            unsafe {
                if column_major {
                    for j in 0..w {
                        let column = base.offset(r0 as isize * rs + (c0 + j) as isize * cs);
                        for i in 0..h {
                            *tile.add(i * w + j) = *column.offset(i as isize * rs);
                        }
                    }
                } else {
                    for i in 0..h {
                        let row = base.offset((r0 + i) as isize * rs + c0 as isize * cs);
                        for j in 0..w {
                            *tile.add(i * w + j) = *row.offset(j as isize * cs);
                        }
                    }
                }
            }
            for (i, line) in buf[..h * w].chunks_exact(w).enumerate() {
                let start = (r0 + i) * cols + c0;
                dst[start..start + w].copy_from_slice(line);
            }
        }
    }
}

/// Transposes 8 x 8 bytes held as eight little-endian words: afterwards
/// byte `i` of word `k` is what byte `k` of word `i` was. Three rounds swap
/// the off-diagonal 4 x 4, then 2 x 2, then 1 x 1 blocks.
#[inline(always)]
fn transpose_8x8(x: &mut [u64; 8]) {
    for i in 0..4 {
        let t = ((x[i] >> 32) ^ x[i + 4]) & 0x0000_0000_FFFF_FFFF;
        x[i] ^= t << 32;
        x[i + 4] ^= t;
    }
    for i in [0, 1, 4, 5] {
        let t = ((x[i] >> 16) ^ x[i + 2]) & 0x0000_FFFF_0000_FFFF;
        x[i] ^= t << 16;
        x[i + 2] ^= t;
    }
    for i in [0, 2, 4, 6] {
        let t = ((x[i] >> 8) ^ x[i + 1]) & 0x00FF_00FF_00FF_00FF;
        x[i] ^= t << 8;
        x[i + 1] ^= t;
    }
}

/// Copies a byte view whose columns are contiguous (element (r, c) at
/// `src + r + c * cs`, e.g. a transposed array) into `dst` in row-major
/// order, 8 x 8 blocks at a time, in 256 x 256 tiles (measured best on
/// 16 MiB transposes: each tile's lines stay in L1/L2).
///
/// # Safety
///
/// `src + r + c * cs` must be readable for r < rows, c < cols; `dst` must be
/// writable for rows * cols bytes; the two must not overlap.
unsafe fn transpose_bytes(src: *const u8, cs: isize, rows: usize, cols: usize, dst: *mut u8) {
    const TILE: usize = 256;
    let (rows8, cols8) = (rows / 8 * 8, cols / 8 * 8);
    let at = |r: usize, c: usize| r as isize + c as isize * cs;
    for r0 in (0..rows8).step_by(TILE) {
        for c0 in (0..cols8).step_by(TILE) {
            for rb in (r0..rows8.min(r0 + TILE)).step_by(8) {
                for cb in (c0..cols8.min(c0 + TILE)).step_by(8) {
                    let mut x = [0u64; 8];
                    for (i, word) in x.iter_mut().enumerate() {
                        // SAFETY: rows rb..rb + 8 of column cb + i are inside
                        // the view and contiguous (row stride 1).
                        *word = unsafe { src.offset(at(rb, cb + i)).cast::<u64>().read_unaligned() };
                    }
                    transpose_8x8(&mut x);
                    for (k, word) in x.iter().enumerate() {
                        // SAFETY: columns cb..cb + 8 of row rb + k are inside
                        // the destination's rows * cols bytes.
                        unsafe { dst.add((rb + k) * cols + cb).cast::<u64>().write_unaligned(*word) };
                    }
                }
            }
        }
    }
    // The ragged right and bottom edges, element by element.
    for r in 0..rows {
        let from = if r < rows8 { cols8 } else { 0 };
        for c in from..cols {
            // SAFETY: (r, c) is inside the view and the destination.
            unsafe { *dst.add(r * cols + c) = *src.offset(at(r, c)) };
        }
    }
}
