//! The functions the library exports, in place of libc's: `open`,
//! `open64`, `openat`, `openat64`, glibc's fortified `__open_2`,
//! `__open64_2`, `__openat_2`, `__openat64_2`, `ioctl` and `close`.
//!
//! Unsafe code is allowed here for the `#[no_mangle]` definitions and
//! their `unsafe extern "C"` signatures only (the C functions' contracts);
//! there is no `unsafe` block: what needs one is in `sys`. The variadic
//! functions are defined with a fixed trailing argument (see `sys` for why
//! that is the same ABI on every target built). No panic crosses the C
//! boundary: each body runs under `catch_unwind`, and a panic becomes `-1`
//! with `errno` `EIO`.
#![allow(unsafe_code)]
// Exported by their symbol names, not by path.
#![allow(unreachable_pub)]

use std::ffi::{c_char, c_int, c_uint, c_ulong};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::dispatch::{on_close, on_ioctl, on_open, Target};
use crate::sys::{self, fail, Errno};

/// Runs `f`; a panic becomes -1/`EIO`.
fn guarded(f: impl FnOnce() -> c_int) -> c_int {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| fail(Errno(libc::EIO)))
}

/// An open of a path: the emulated device's, or the real one.
fn open_with(path: *const c_char, flags: c_int, real: impl FnOnce() -> c_int) -> c_int {
    guarded(|| match sys::path_bytes(path).and_then(Target::of) {
        Some(t) => on_open(t, flags).unwrap_or_else(fail),
        None => real(),
    })
}

/// `open(2)`: `/dev/vchiq` and `/dev/vcsm-cma` emulated, anything else
/// forwarded.
///
/// # Safety
///
/// As `open(2)`: `path` is null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn open(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    open_with(path, flags, || sys::real_open(path, flags, mode))
}

/// `open64(2)`, as [`open`].
///
/// # Safety
///
/// As `open(2)`.
#[no_mangle]
pub unsafe extern "C" fn open64(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    open_with(path, flags, || sys::real_open64(path, flags, mode))
}

/// glibc's fortified `open` (`_FORTIFY_SOURCE` routes a two-argument
/// `open` here).
///
/// # Safety
///
/// As `open(2)`.
#[no_mangle]
pub unsafe extern "C" fn __open_2(path: *const c_char, flags: c_int) -> c_int {
    open_with(path, flags, || sys::real_open_2(path, flags))
}

/// glibc's fortified `open64`.
///
/// # Safety
///
/// As `open(2)`.
#[no_mangle]
pub unsafe extern "C" fn __open64_2(path: *const c_char, flags: c_int) -> c_int {
    open_with(path, flags, || sys::real_open64_2(path, flags))
}

/// `openat(2)`: an absolute device path is emulated whatever `dirfd`.
///
/// # Safety
///
/// As `openat(2)`.
#[no_mangle]
pub unsafe extern "C" fn openat(dirfd: c_int, path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    open_with(path, flags, || sys::real_openat(dirfd, path, flags, mode))
}

/// `openat64(2)`, as [`openat`].
///
/// # Safety
///
/// As `openat(2)`.
#[no_mangle]
pub unsafe extern "C" fn openat64(dirfd: c_int, path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    open_with(path, flags, || sys::real_openat64(dirfd, path, flags, mode))
}

/// glibc's fortified `openat`.
///
/// # Safety
///
/// As `openat(2)`.
#[no_mangle]
pub unsafe extern "C" fn __openat_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    open_with(path, flags, || sys::real_openat_2(dirfd, path, flags))
}

/// glibc's fortified `openat64`.
///
/// # Safety
///
/// As `openat(2)`.
#[no_mangle]
pub unsafe extern "C" fn __openat64_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    open_with(path, flags, || sys::real_openat64_2(dirfd, path, flags))
}

/// `ioctl(2)`: on a descriptor of an emulated device, the device's answer;
/// on any other, the real call.
///
/// # Safety
///
/// As `ioctl(2)`: `arg` is what `request` takes (for the emulated device,
/// every pointer in it valid for what the kernel would read and write).
#[no_mangle]
pub unsafe extern "C" fn ioctl(fd: c_int, request: c_ulong, arg: usize) -> c_int {
    guarded(|| {
        // The kernel's `cmd` is an `unsigned int`: the upper bits of a
        // 64-bit `unsigned long` are dropped, as the system call does.
        #[allow(clippy::unnecessary_cast)] // `c_ulong` is `u32` on 32-bit ARM.
        let cmd = request as u32;
        match on_ioctl(fd, cmd, arg) {
            Some(result) => result.unwrap_or_else(fail),
            None => sys::real_ioctl(fd, request, arg),
        }
    })
}

/// `close(2)`: an emulated device's instance ends with its descriptor.
#[no_mangle]
pub extern "C" fn close(fd: c_int) -> c_int {
    guarded(|| {
        on_close(fd);
        sys::close_real(fd)
    })
}
