//! The functions the library exports, in place of libc's: `open`,
//! `open64`, `openat`, `openat64`, glibc's fortified `__open_2`,
//! `__open64_2`, `__openat_2`, `__openat64_2`, `ioctl` (and, on 32-bit
//! targets, `__ioctl_time64`, which glibc's headers call `ioctl` in a
//! program built with 64-bit `time_t`), `close`, and the calls that close
//! a descriptor without `close`: `dup2`, `dup3` and `close_range`.
//!
//! Unsafe code is allowed here for the `#[no_mangle]` definitions and
//! their `unsafe extern "C"` signatures only (the C functions' contracts);
//! there is no `unsafe` block: what needs one is in `sys`. The variadic
//! functions are defined with a fixed trailing argument (see `sys` for why
//! that is the same ABI on every target built). No panic crosses the C
//! boundary: the emulated devices' work runs under `catch_unwind`, and a
//! panic becomes `-1` with `errno` `EIO`. libc's own function is called
//! after that, outside it, with nothing left to drop: `open` and `close`
//! are cancellation points, and a thread cancelled in one (glibc unwinds
//! it by force) passes through these frames, which are `"C-unwind"` for
//! that, as it would through libc's; under `catch_unwind` it would abort
//! the process. Cancellation is off while the library's own part runs, so
//! that no cancellation point it reaches unwinds into the guard.
#![allow(unsafe_code)]
// Exported by their symbol names, not by path.
#![allow(unreachable_pub)]

use std::ffi::{c_char, c_int, c_uint, c_ulong};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::dispatch::{on_close, on_close_range, on_ioctl, on_open, on_replaced, Target};
use crate::sys::{self, fail, Errno};

/// Runs the library's own part of a call, `f`: its result, or a panic as
/// -1/`EIO` (`Err`, `errno` set). Thread cancellation is off meanwhile:
/// a cancellation point the library's part reaches (a `write` of a note,
/// a `close` of a descriptor it takes back) does not act there, where
/// glibc's forced unwind would meet the `catch_unwind` and abort the
/// process; a cancel that came meanwhile acts at the caller's next
/// cancellation point. (The kernel's answers to these calls are not
/// cancellation points either.)
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, c_int> {
    let _off = sys::CancelOff::new();
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| fail(Errno(libc::EIO)))
}

/// A call's answer: the library's own (`ours`, run under [`guarded`]),
/// or where it gives none libc's (`real`, called after it, outside it).
fn ours_or_real(ours: impl FnOnce() -> Option<c_int>, real: impl FnOnce() -> c_int) -> c_int {
    match guarded(ours) {
        Ok(Some(result)) | Err(result) => result,
        Ok(None) => real(),
    }
}

/// An open of a path: the emulated device's, or the real one.
fn open_with(path: *const c_char, flags: c_int, real: impl FnOnce() -> c_int) -> c_int {
    ours_or_real(
        || {
            let target = sys::path_bytes(path).and_then(Target::of)?;
            Some(on_open(target, flags).unwrap_or_else(fail))
        },
        real,
    )
}

/// `open(2)`: `/dev/vchiq` and `/dev/vcsm-cma` emulated, anything else
/// forwarded.
///
/// # Safety
///
/// As `open(2)`: `path` is null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C-unwind" fn open(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    open_with(path, flags, || sys::real_open(path, flags, mode))
}

/// `open64(2)`, as [`open`].
///
/// # Safety
///
/// As `open(2)`.
#[no_mangle]
pub unsafe extern "C-unwind" fn open64(path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    open_with(path, flags, || sys::real_open64(path, flags, mode))
}

/// glibc's fortified `open` (`_FORTIFY_SOURCE` routes a two-argument
/// `open` here).
///
/// # Safety
///
/// As `open(2)`.
#[no_mangle]
pub unsafe extern "C-unwind" fn __open_2(path: *const c_char, flags: c_int) -> c_int {
    open_with(path, flags, || sys::real_open_2(path, flags))
}

/// glibc's fortified `open64`.
///
/// # Safety
///
/// As `open(2)`.
#[no_mangle]
pub unsafe extern "C-unwind" fn __open64_2(path: *const c_char, flags: c_int) -> c_int {
    open_with(path, flags, || sys::real_open64_2(path, flags))
}

/// `openat(2)`: an absolute device path is emulated whatever `dirfd`.
///
/// # Safety
///
/// As `openat(2)`.
#[no_mangle]
pub unsafe extern "C-unwind" fn openat(dirfd: c_int, path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    open_with(path, flags, || sys::real_openat(dirfd, path, flags, mode))
}

/// `openat64(2)`, as [`openat`].
///
/// # Safety
///
/// As `openat(2)`.
#[no_mangle]
pub unsafe extern "C-unwind" fn openat64(dirfd: c_int, path: *const c_char, flags: c_int, mode: c_uint) -> c_int {
    open_with(path, flags, || sys::real_openat64(dirfd, path, flags, mode))
}

/// glibc's fortified `openat`.
///
/// # Safety
///
/// As `openat(2)`.
#[no_mangle]
pub unsafe extern "C-unwind" fn __openat_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    open_with(path, flags, || sys::real_openat_2(dirfd, path, flags))
}

/// glibc's fortified `openat64`.
///
/// # Safety
///
/// As `openat(2)`.
#[no_mangle]
pub unsafe extern "C-unwind" fn __openat64_2(dirfd: c_int, path: *const c_char, flags: c_int) -> c_int {
    open_with(path, flags, || sys::real_openat64_2(dirfd, path, flags))
}

/// An ioctl: the emulated device's answer, or the real call's.
fn ioctl_with(fd: c_int, request: c_ulong, arg: usize, real: impl FnOnce() -> c_int) -> c_int {
    ours_or_real(
        || {
            // The kernel's `cmd` is an `unsigned int`: the upper bits of a
            // 64-bit `unsigned long` are dropped, as the system call does.
            #[allow(clippy::unnecessary_cast)] // `c_ulong` is `u32` on 32-bit ARM.
            let cmd = request as u32;
            Some(on_ioctl(fd, cmd, arg)?.unwrap_or_else(fail))
        },
        real,
    )
}

/// `ioctl(2)`: on a descriptor of an emulated device, the device's answer;
/// on any other, the real call.
///
/// # Safety
///
/// As `ioctl(2)`: `arg` is what `request` takes (for the emulated device,
/// every pointer in it valid for what the kernel would read and write).
#[no_mangle]
pub unsafe extern "C-unwind" fn ioctl(fd: c_int, request: c_ulong, arg: usize) -> c_int {
    ioctl_with(fd, request, arg, || sys::real_ioctl(fd, request, arg))
}

/// glibc's `ioctl` for a program built with 64-bit `time_t` on a 32-bit
/// target (`<sys/ioctl.h>` redirects `ioctl` here under `_TIME_BITS=64`,
/// as Debian's and Raspberry Pi OS's armhf builds are since the 64-bit
/// time transition): as [`ioctl`], other descriptors going to libc's
/// `__ioctl_time64` (which converts the requests that carry a time).
///
/// # Safety
///
/// As `ioctl(2)`.
#[cfg(target_pointer_width = "32")]
#[no_mangle]
pub unsafe extern "C-unwind" fn __ioctl_time64(fd: c_int, request: c_ulong, arg: usize) -> c_int {
    ioctl_with(fd, request, arg, || sys::real_ioctl_time64(fd, request, arg))
}

/// `close(2)`: an emulated device's instance ends with its descriptor.
#[no_mangle]
pub extern "C-unwind" fn close(fd: c_int) -> c_int {
    ours_or_real(
        || {
            on_close(fd);
            None
        },
        || sys::close_real(fd),
    )
}

/// `dup2(2)`: a descriptor of an emulated device that `new` was is closed
/// by it, and its instance ends.
#[no_mangle]
pub extern "C-unwind" fn dup2(old: c_int, new: c_int) -> c_int {
    let fd = sys::real_dup2(old, new);
    if fd >= 0 && old != new {
        if let Err(failed) = guarded(|| on_replaced(new)) {
            return failed;
        }
    }
    fd
}

/// `dup3(2)`, as [`dup2`].
#[no_mangle]
pub extern "C-unwind" fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    let fd = sys::real_dup3(old, new, flags);
    if fd >= 0 {
        if let Err(failed) = guarded(|| on_replaced(new)) {
            return failed;
        }
    }
    fd
}

/// `close_range(2)`: the emulated devices' descriptors in the range end
/// first, as with [`close`] (unless the call only marks them
/// close-on-exec, or has flags the kernel refuses).
#[no_mangle]
pub extern "C-unwind" fn close_range(first: c_uint, last: c_uint, flags: c_int) -> c_int {
    ours_or_real(
        || {
            on_close_range(first, last, flags);
            None
        },
        || sys::real_close_range(first, last, flags),
    )
}
