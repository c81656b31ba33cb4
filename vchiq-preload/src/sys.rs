//! The C boundary's unsafe primitives, and the only `unsafe` blocks of the
//! crate (the crate root denies unsafe code; each block here says why it
//! is sound): libc's own functions, looked up once with
//! `dlsym(RTLD_NEXT)` and called; the caller's memory an ioctl names;
//! `errno`; the fork handlers' registration.
//!
//! # ABI of the interposed functions
//!
//! `open`, `open64`, `openat`, `openat64` and `ioctl` are C-variadic
//! (`int open(const char *, int, ...)`, `int ioctl(int, unsigned long,
//! ...)`). Stable Rust can call a variadic function but not define one, so
//! `exports` defines each with its one optional argument as a fixed
//! trailing parameter: a `mode_t` (`c_uint`) for the opens, a pointer-sized
//! word for `ioctl`; libc's own are called here as variadic functions. For
//! integer and pointer arguments a variadic caller and a fixed callee agree
//! on the three targets the library is built for: x86_64 System V passes
//! variadic integer arguments in the same registers as fixed ones (`%al`,
//! the caller's count of vector registers, is ignored by a non-variadic
//! callee); AArch64 Linux (AAPCS64, unlike Apple's) passes anonymous
//! arguments exactly as named ones; 32-bit ARM AAPCS (hard-float too, whose
//! variadic calls use the base standard) passes both in r0–r3, then the
//! stack; none of these functions takes more than four integer arguments,
//! so every one travels in a register on all three. A caller that passes
//! no optional argument (an `open` without `O_CREAT`, an `_IO` request)
//! leaves a stale value in that register: it is read as a plain integer,
//! never dereferenced, and forwarded unchanged (the real function ignores
//! it as the kernel does), or, for the emulated device, used only where the
//! request takes an argument.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_uint, c_ulong, CStr};
use std::mem::size_of;
use std::sync::atomic::{AtomicUsize, Ordering};

/// An errno value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Errno(pub(crate) c_int);

// ---------------------------------------------------------------------------
// The real functions, resolved once with dlsym(RTLD_NEXT).

/// A libc function's address, looked up when the library is loaded
/// ([`AT_LOAD`]), or else on first use. A race between two first uses
/// resolves it twice to the same address.
struct Real {
    name: &'static CStr,
    addr: AtomicUsize,
}

impl Real {
    const fn new(name: &'static CStr) -> Real {
        Real { name, addr: AtomicUsize::new(0) }
    }

    /// The next definition after this library's (libc's), or `None` if
    /// there is none (`ENOSYS` for the caller). That there is none is kept
    /// too (as [`NOT_FOUND`], an address no function has), so that `dlsym`
    /// runs once for each.
    fn addr(&self) -> Option<usize> {
        let found = match self.addr.load(Ordering::Acquire) {
            0 => {
                // SAFETY: `name` is a NUL-terminated static string;
                // RTLD_NEXT is a valid pseudo-handle for a shared object
                // looking past itself.
                let found = unsafe { libc::dlsym(libc::RTLD_NEXT, self.name.as_ptr()) } as usize;
                let found = if found == 0 { NOT_FOUND } else { found };
                self.addr.store(found, Ordering::Release);
                found
            }
            cached => cached,
        };
        (found != NOT_FOUND).then_some(found)
    }
}

static REAL_OPEN: Real = Real::new(c"open");
static REAL_OPEN64: Real = Real::new(c"open64");
static REAL_OPENAT: Real = Real::new(c"openat");
static REAL_OPENAT64: Real = Real::new(c"openat64");
static REAL_OPEN_2: Real = Real::new(c"__open_2");
static REAL_OPEN64_2: Real = Real::new(c"__open64_2");
static REAL_OPENAT_2: Real = Real::new(c"__openat_2");
static REAL_OPENAT64_2: Real = Real::new(c"__openat64_2");
static REAL_IOCTL: Real = Real::new(c"ioctl");
/// glibc's `ioctl` for programs built with 64-bit `time_t` on a 32-bit
/// target (`_TIME_BITS=64`; glibc 2.34 on).
#[cfg(target_pointer_width = "32")]
static REAL_IOCTL_TIME64: Real = Real::new(c"__ioctl_time64");
static REAL_CLOSE: Real = Real::new(c"close");
static REAL_DUP2: Real = Real::new(c"dup2");
static REAL_DUP3: Real = Real::new(c"dup3");
static REAL_CLOSE_RANGE: Real = Real::new(c"close_range");

/// [`Real::addr`]'s mark of a function libc does not have.
const NOT_FOUND: usize = 1;

/// Run by the dynamic loader when the library is loaded (an ELF
/// constructor): looks libc's functions up at once, so that no call made
/// later runs `dlsym`, which is not async-signal-safe (a program's first
/// `close` may be made in a signal handler, or in a `vfork` child). A
/// constructor that runs before this one and calls an export looks its
/// function up then, as before. The function reads and writes only the
/// atomics of the statics, and cannot panic.
#[used]
#[link_section = ".init_array"]
static AT_LOAD: extern "C" fn() = look_up_all;

extern "C" fn look_up_all() {
    let all = [
        &REAL_OPEN,
        &REAL_OPEN64,
        &REAL_OPENAT,
        &REAL_OPENAT64,
        &REAL_OPEN_2,
        &REAL_OPEN64_2,
        &REAL_OPENAT_2,
        &REAL_OPENAT64_2,
        &REAL_IOCTL,
        #[cfg(target_pointer_width = "32")]
        &REAL_IOCTL_TIME64,
        &REAL_CLOSE,
        &REAL_DUP2,
        &REAL_DUP3,
        &REAL_CLOSE_RANGE,
    ];
    for real in all {
        let _ = real.addr();
    }
}

// libc's variadic functions are called as what they are (so that the
// x86_64 caller's `%al` is set as a variadic callee expects). "C-unwind":
// `open` and `close` are cancellation points, and a thread cancelled in
// one unwinds (glibc's forced unwind) through the library's frames, which
// hold nothing to drop there (see `exports`).
type OpenFn = unsafe extern "C-unwind" fn(*const c_char, c_int, ...) -> c_int;
type OpenatFn = unsafe extern "C-unwind" fn(c_int, *const c_char, c_int, ...) -> c_int;
type Open2Fn = unsafe extern "C-unwind" fn(*const c_char, c_int) -> c_int;
type Openat2Fn = unsafe extern "C-unwind" fn(c_int, *const c_char, c_int) -> c_int;
type IoctlFn = unsafe extern "C-unwind" fn(c_int, c_ulong, ...) -> c_int;
type CloseFn = unsafe extern "C-unwind" fn(c_int) -> c_int;
type Dup2Fn = unsafe extern "C-unwind" fn(c_int, c_int) -> c_int;
type Dup3Fn = unsafe extern "C-unwind" fn(c_int, c_int, c_int) -> c_int;
type CloseRangeFn = unsafe extern "C-unwind" fn(c_uint, c_uint, c_int) -> c_int;

/// Sets `errno` and returns -1.
pub(crate) fn fail(e: Errno) -> c_int {
    // SAFETY: `__errno_location` returns the calling thread's errno slot,
    // valid for writes for the thread's life.
    unsafe { *libc::__errno_location() = e.0 };
    -1
}

/// The bytes of a path handed to an open (`None` for null).
pub(crate) fn path_bytes<'a>(path: *const c_char) -> Option<&'a [u8]> {
    if path.is_null() {
        return None;
    }
    // SAFETY: a non-null path handed to open() is a NUL-terminated string
    // the caller keeps alive for the call (the function's contract); the
    // bytes are used during the call only.
    Some(unsafe { CStr::from_ptr(path) }.to_bytes())
}

/// The descriptor an emulated device's open returns: a real descriptor of
/// an object of its own, which `close`, `dup`, `fcntl` and fork treat as
/// any other, and whose identity ([`identity`]) no other open file shares,
/// so that a descriptor closed behind the library's back and its number
/// reused is told apart. A sealed, empty memfd named `name` (the device's
/// path: `/proc/self/fd` shows `/memfd:/dev/vchiq (deleted)`), with the
/// close-on-exec flag the caller asked for: reads give end of file, writes
/// `EPERM`. Where the kernel has no memfd, `/dev/null` (with the caller's
/// access mode), whose identity every open of it shares.
pub(crate) fn open_placeholder(name: &CStr, flags: c_int) -> Result<c_int, Errno> {
    let cloexec = flags & libc::O_CLOEXEC != 0;
    let memfd_flags = libc::MFD_ALLOW_SEALING | if cloexec { libc::MFD_CLOEXEC } else { 0 };
    // SAFETY: `name` is a NUL-terminated string; the flags are memfd's.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), memfd_flags) };
    if fd >= 0 {
        let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
        // SAFETY: F_ADD_SEALS on the memfd just made; it takes an int.
        unsafe { libc::fcntl(fd, libc::F_ADD_SEALS, seals) };
        return Ok(fd);
    }
    let Some(addr) = REAL_OPEN.addr() else { return Err(Errno(libc::ENOSYS)) };
    let flags = (flags & (libc::O_ACCMODE | libc::O_CLOEXEC)) | libc::O_NOCTTY;
    // SAFETY: `addr` is libc's `open`, whose (variadic) signature `OpenFn`
    // is; the path is a static NUL-terminated string and the flags take no
    // mode.
    let fd = unsafe {
        let real: OpenFn = std::mem::transmute::<usize, OpenFn>(addr);
        real(c"/dev/null".as_ptr(), flags)
    };
    if fd < 0 {
        // SAFETY: reading the calling thread's errno slot.
        Err(Errno(unsafe { *libc::__errno_location() }))
    } else {
        Ok(fd)
    }
}

/// What open file `fd` is: its device and inode numbers (`None` if it is
/// not open). A system call, async-signal-safe; `errno` is kept.
pub(crate) fn identity(fd: c_int) -> Option<(u64, u64)> {
    // SAFETY: reading the calling thread's errno slot.
    let saved = unsafe { *libc::__errno_location() };
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a `struct stat` into `st`, valid for it.
    let rc = unsafe { libc::fstat(fd, st.as_mut_ptr()) };
    // SAFETY: restoring the errno read above.
    unsafe { *libc::__errno_location() = saved };
    if rc != 0 {
        return None;
    }
    // SAFETY: fstat succeeded, so it filled `st`.
    let st = unsafe { st.assume_init() };
    #[allow(clippy::unnecessary_cast)] // 32 bits on some targets.
    Some((st.st_dev as u64, st.st_ino as u64))
}

// glibc's, which the `libc` crate does not declare; the states are
// glibc's enum (the same on every architecture). "C-unwind": putting an
// asynchronous thread's cancellation back on acts on a pending cancel at
// once, by a forced unwind.
extern "C-unwind" {
    fn pthread_setcancelstate(state: c_int, oldstate: *mut c_int) -> c_int;
}
const PTHREAD_CANCEL_ENABLE: c_int = 0;
const PTHREAD_CANCEL_DISABLE: c_int = 1;

/// Thread cancellation turned off until dropped, then put back as it was.
/// Two limits: a signal handler that `siglongjmp`s out of the library's
/// part leaves it off; and a thread whose cancellation is asynchronous (a
/// mode POSIX allows only around async-cancel-safe calls, which these are
/// not) may be cancelled as it is put back, unwinding through the guard's
/// caller.
pub(crate) struct CancelOff(c_int);

impl CancelOff {
    pub(crate) fn new() -> CancelOff {
        let mut old = PTHREAD_CANCEL_ENABLE;
        // SAFETY: sets the calling thread's cancel state; `old` is a
        // valid place for the previous one. (Not formally async-signal-
        // safe; glibc's is a few atomic operations on the thread's own
        // descriptor.)
        unsafe { pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &mut old) };
        CancelOff(old)
    }
}

impl Drop for CancelOff {
    fn drop(&mut self) {
        let mut previous = 0;
        // SAFETY: as in `new`.
        unsafe { pthread_setcancelstate(self.0, &mut previous) };
    }
}

/// The real `close`.
pub(crate) fn close_real(fd: c_int) -> c_int {
    let Some(addr) = REAL_CLOSE.addr() else { return fail(Errno(libc::ENOSYS)) };
    // SAFETY: `addr` is libc's `close`, of this signature.
    unsafe { std::mem::transmute::<usize, CloseFn>(addr)(fd) }
}

macro_rules! forward {
    ($real:expr, $ty:ty, $($arg:expr),*) => {{
        match $real.addr() {
            // SAFETY: `addr` is the libc function of that name, whose C
            // signature `$ty` matches (see the module's ABI note); the
            // arguments are the caller's, passed on unchanged, and the
            // caller of this function vouches for them as its own caller
            // did (each is the C function's contract).
            Some(addr) => unsafe { std::mem::transmute::<usize, $ty>(addr)($($arg),*) },
            None => fail(Errno(libc::ENOSYS)),
        }
    }};
}

/// libc's `open`.
pub(crate) fn real_open(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    forward!(REAL_OPEN, OpenFn, path, flags, mode)
}

/// libc's `open64`.
pub(crate) fn real_open64(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    forward!(REAL_OPEN64, OpenFn, path, flags, mode)
}

/// libc's `__open_2`.
pub(crate) fn real_open_2(path: *const c_char, flags: c_int) -> c_int {
    forward!(REAL_OPEN_2, Open2Fn, path, flags)
}

/// libc's `__open64_2`.
pub(crate) fn real_open64_2(path: *const c_char, flags: c_int) -> c_int {
    forward!(REAL_OPEN64_2, Open2Fn, path, flags)
}

/// libc's `openat`.
pub(crate) fn real_openat(dirfd: c_int, path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    forward!(REAL_OPENAT, OpenatFn, dirfd, path, flags, mode)
}

/// libc's `openat64`.
pub(crate) fn real_openat64(dirfd: c_int, path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    forward!(REAL_OPENAT64, OpenatFn, dirfd, path, flags, mode)
}

/// libc's `__openat_2`.
pub(crate) fn real_openat_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    forward!(REAL_OPENAT_2, Openat2Fn, dirfd, path, flags)
}

/// libc's `__openat64_2`.
pub(crate) fn real_openat64_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    forward!(REAL_OPENAT64_2, Openat2Fn, dirfd, path, flags)
}

/// libc's `ioctl`.
pub(crate) fn real_ioctl(fd: c_int, request: c_ulong, arg: usize) -> c_int {
    forward!(REAL_IOCTL, IoctlFn, fd, request, arg)
}

/// libc's `__ioctl_time64` (its `ioctl` if it has none: a C library
/// without 64-bit time support has no time64 requests to convert).
#[cfg(target_pointer_width = "32")]
pub(crate) fn real_ioctl_time64(fd: c_int, request: c_ulong, arg: usize) -> c_int {
    if REAL_IOCTL_TIME64.addr().is_none() {
        return real_ioctl(fd, request, arg);
    }
    forward!(REAL_IOCTL_TIME64, IoctlFn, fd, request, arg)
}

/// libc's `dup2`.
pub(crate) fn real_dup2(old: c_int, new: c_int) -> c_int {
    forward!(REAL_DUP2, Dup2Fn, old, new)
}

/// libc's `dup3`.
pub(crate) fn real_dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    forward!(REAL_DUP3, Dup3Fn, old, new, flags)
}

/// libc's `close_range`.
pub(crate) fn real_close_range(first: c_uint, last: c_uint, flags: c_int) -> c_int {
    forward!(REAL_CLOSE_RANGE, CloseRangeFn, first, last, flags)
}

// ---------------------------------------------------------------------------
// The caller's memory, as an ioctl names it.

/// An address in the calling program, taken from an ioctl's argument (or
/// from a struct it points to).
///
/// The kernel reads and writes such addresses with `copy_from_user` and
/// `copy_to_user`, which fail with `EFAULT` on an unmapped address and are
/// defined whatever other threads do to the memory meanwhile. This library
/// does the same through `process_vm_readv` and `process_vm_writev` on its
/// own process: one system call per copy, `EFAULT` for an address that is
/// not mapped (or not writable), and no Rust reference to memory the
/// program's other threads may be writing. Where those calls are not to be
/// had (`ENOSYS` under qemu-user, `EPERM` under a seccomp filter) it falls
/// back, for the rest of the process, to plain unaligned accesses, relying
/// on what `ioctl(2)`'s contract promises (every pointer a request takes is
/// valid for the access the driver makes): then only null is refused with
/// `EFAULT`, and a wild pointer faults as it would in any library call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct User(pub(crate) usize);

/// Whether `process_vm_readv`/`writev` were found wanting (set once, for
/// good).
static NO_VM_COPY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Copies `len` bytes between this library's `local` memory and the
/// program's `remote` address, as the kernel's user copies do: `Ok(true)`
/// when done, `Ok(false)` when the system calls are not to be had (the
/// caller copies directly), `Err(EFAULT)` when the program's memory is not
/// there for the whole length.
fn vm_copy(local: *mut u8, remote: usize, len: usize, to_program: bool) -> Result<bool, Errno> {
    if len == 0 {
        return Ok(true);
    }
    if NO_VM_COPY.load(Ordering::Relaxed) {
        return Ok(false);
    }
    let local_iov = libc::iovec { iov_base: local.cast(), iov_len: len };
    let remote_iov = libc::iovec { iov_base: remote as *mut libc::c_void, iov_len: len };
    // SAFETY: `local` is this library's own memory, valid for `len` bytes
    // of the access (read for a write to the program, written for a read
    // from it); the program's address is checked by the kernel, which
    // reports what it cannot reach instead of faulting.
    let n = unsafe {
        if to_program {
            libc::process_vm_writev(libc::getpid(), &local_iov, 1, &remote_iov, 1, 0)
        } else {
            libc::process_vm_readv(libc::getpid(), &local_iov, 1, &remote_iov, 1, 0)
        }
    };
    if n == len as isize {
        return Ok(true);
    }
    if n < 0 {
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::ENOSYS | libc::EPERM) => {
                NO_VM_COPY.store(true, Ordering::Relaxed);
                return Ok(false);
            }
            Some(libc::ENOMEM) => return Err(Errno(libc::ENOMEM)),
            _ => {}
        }
    }
    // A short copy, or the address refused: the program's memory is not
    // all there.
    Err(Errno(libc::EFAULT))
}

impl User {
    fn checked(self) -> Result<usize, Errno> {
        if self.0 == 0 {
            Err(Errno(libc::EFAULT))
        } else {
            Ok(self.0)
        }
    }

    /// The address `bytes` further on.
    pub(crate) fn offset(self, bytes: usize) -> User {
        User(self.0.wrapping_add(bytes))
    }

    /// Reads a `T` (a plain-data `vchiq-sys` struct, a pointer, an
    /// integer: `Copy`, no invariants beyond its bits).
    pub(crate) fn read<T: Copy>(self) -> Result<T, Errno> {
        let addr = self.checked()?;
        let mut value = std::mem::MaybeUninit::<T>::uninit();
        if vm_copy(value.as_mut_ptr().cast(), addr, size_of::<T>(), false)? {
            // SAFETY: all `size_of::<T>()` bytes were copied in, and the
            // `T`s read are C structs of integers and pointers, valid for
            // any bits.
            return Ok(unsafe { value.assume_init() });
        }
        // SAFETY: the ioctl contract (see the type's docs) makes `addr`
        // readable for a `T`; `read_unaligned` needs no alignment, and the
        // `T`s read are valid for any bits.
        Ok(unsafe { std::ptr::read_unaligned(addr as *const T) })
    }

    /// Reads the `index`th `T` of an array at this address.
    pub(crate) fn read_at<T: Copy>(self, index: usize) -> Result<T, Errno> {
        self.offset(index.wrapping_mul(size_of::<T>())).read()
    }

    /// Writes a `T`.
    pub(crate) fn write<T: Copy>(self, value: T) -> Result<(), Errno> {
        let addr = self.checked()?;
        // `value`'s bytes are copied as they are: the `T`s written are
        // scalars and C structs without padding (vc-sm-cma's), so every
        // byte is initialised. A struct with padding is written field by
        // field instead (`vchiq::write_completion`), never its padding from
        // this stack.
        if vm_copy((&value as *const T).cast_mut().cast(), addr, size_of::<T>(), true)? {
            return Ok(());
        }
        // SAFETY: the ioctl contract makes `addr` writable for a `T` the
        // driver returns there; no alignment is needed.
        unsafe { std::ptr::write_unaligned(addr as *mut T, value) };
        Ok(())
    }

    /// Copies `len` bytes out (`ENOMEM` if they cannot be allocated).
    pub(crate) fn read_bytes(self, len: usize) -> Result<Vec<u8>, Errno> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let addr = self.checked()?;
        let mut copy = Vec::new();
        copy.try_reserve_exact(len).map_err(|_| Errno(libc::ENOMEM))?;
        if vm_copy(copy.as_mut_ptr(), addr, len, false)? {
            // SAFETY: the capacity is `len`, and all `len` bytes were
            // copied in.
            unsafe { copy.set_len(len) };
            return Ok(copy);
        }
        // SAFETY: the ioctl contract makes `len` bytes at `addr` readable
        // (a message element or a bulk transmit's buffer) for the call.
        copy.extend_from_slice(unsafe { std::slice::from_raw_parts(addr as *const u8, len) });
        Ok(copy)
    }

    /// Copies `data` in.
    pub(crate) fn write_bytes(self, data: &[u8]) -> Result<(), Errno> {
        if data.is_empty() {
            return Ok(());
        }
        let addr = self.checked()?;
        if vm_copy(data.as_ptr().cast_mut(), addr, data.len(), true)? {
            return Ok(());
        }
        // SAFETY: the ioctl contract makes `data.len()` bytes at `addr`
        // writable (a message buffer of `msgbufsize` bytes, a bulk
        // receive's buffer of its `size`, both checked by the caller), and
        // they cannot overlap `data`, which this library owns.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), addr as *mut u8, data.len()) };
        Ok(())
    }

    /// Writes the first `len` bytes of a `T` (GET_CONFIG copies as many
    /// bytes of its struct as the caller asks for).
    pub(crate) fn write_prefix<T: Copy>(self, value: &T, len: usize) -> Result<(), Errno> {
        let len = len.min(size_of::<T>());
        // SAFETY: `value` is a live `T` of `size_of::<T>()` bytes and `len`
        // is no more; the `T`s passed are padding-free C structs of
        // integers (vchiq_config), so every byte is initialised.
        let bytes = unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), len) };
        self.write_bytes(bytes)
    }
}

/// `len` zeroed bytes, or `ENOMEM` (where `vec![0; len]` would abort the
/// process): allocated zeroed, as `vec!` does, so that pages never written
/// are never touched.
pub(crate) fn zeroed_bytes(len: usize) -> Result<Vec<u8>, Errno> {
    if len == 0 {
        return Ok(Vec::new());
    }
    let layout = std::alloc::Layout::array::<u8>(len).map_err(|_| Errno(libc::ENOMEM))?;
    // SAFETY: `layout` has a non-zero size (`len > 0`).
    let p = unsafe { std::alloc::alloc_zeroed(layout) };
    if p.is_null() {
        return Err(Errno(libc::ENOMEM));
    }
    // SAFETY: `p` was allocated by the global allocator with the layout of
    // `len` bytes (alignment 1), which is what a `Vec<u8>` of capacity
    // `len` frees; its `len` bytes are initialised (zeroed); the vector is
    // its only owner.
    Ok(unsafe { Vec::from_raw_parts(p, len, len) })
}

// ---------------------------------------------------------------------------
// fork.

/// Registers fork handlers (`pthread_atfork`).
pub(crate) fn register_fork_handlers(
    prepare: extern "C" fn(),
    parent: extern "C" fn(),
    child: extern "C" fn(),
) -> Result<(), Errno> {
    // SAFETY: the handlers are `extern "C"` functions of this library,
    // which (preloaded) is never unloaded; none unwinds (each only takes or
    // releases a lock and bumps a counter).
    let rc = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno(rc))
    }
}

/// A descriptor the caller names in an ioctl's struct (IMPORT_DMABUF's
/// `dmabuf_fd`), if it is open (`EBADF` if not).
pub(crate) fn borrow_fd(fd: c_int) -> Result<std::os::fd::BorrowedFd<'static>, Errno> {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(Errno(libc::EBADF));
    }
    // SAFETY: `fd` is open; the caller lends it for the ioctl, during which
    // it stays open unless the program closes it from another thread, a
    // race the kernel's own fdget would lose in the same way (the import
    // then fails on a closed or reused descriptor, as it would there).
    Ok(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) })
}

/// Writes `message` to the standard error (one `write`, no allocation, no
/// lock: it may run in a forked child), for what an errno cannot say.
pub(crate) fn note(message: &[u8]) {
    // SAFETY: `message` is a live slice of `message.len()` bytes; a
    // failed or short write is ignored (the errno still tells the caller).
    let _ = unsafe { libc::write(libc::STDERR_FILENO, message.as_ptr().cast(), message.len()) };
}

/// This process's id (a system call, async-signal-safe: in a `vfork`
/// child it is the child's, though the memory is the parent's).
pub(crate) fn pid() -> c_int {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::getpid() }
}

/// The argument of an `_IO` request, passed by value: the kernel takes it
/// as an `unsigned int` (a service handle, a version).
pub(crate) fn value_arg(arg: usize) -> u32 {
    arg as u32
}

/// `c_void` pointers of the ABI as addresses.
pub(crate) fn addr<T>(p: *mut T) -> User {
    User(p as usize)
}

/// An address as one of the ABI's pointers (it comes back to the caller
/// verbatim, never dereferenced here).
pub(crate) fn ptr<T>(addr: usize) -> *mut T {
    addr as *mut T
}
