//! Names: `mmal_status_to_string`, `mmal_port_type_to_string`,
//! `mmal_4cc_to_string`.

use std::ffi::{c_char, CStr};
use std::ptr;

use mmal_sys as sys;

/// `mmal_status_to_string`: the status's name without its `MMAL_` prefix
/// (`"ENOSPC"`), or `"UNKNOWN"` for codes past `MMAL_ECONFIG`. The string is
/// static.
#[no_mangle]
pub extern "C" fn mmal_status_to_string(status: sys::MMAL_STATUS_T) -> *const c_char {
    let name: &'static CStr = match status {
        sys::MMAL_SUCCESS => c"SUCCESS",
        sys::MMAL_ENOMEM => c"ENOMEM",
        sys::MMAL_ENOSPC => c"ENOSPC",
        sys::MMAL_EINVAL => c"EINVAL",
        sys::MMAL_ENOSYS => c"ENOSYS",
        sys::MMAL_ENOENT => c"ENOENT",
        sys::MMAL_ENXIO => c"ENXIO",
        sys::MMAL_EIO => c"EIO",
        sys::MMAL_ESPIPE => c"ESPIPE",
        sys::MMAL_ECORRUPT => c"ECORRUPT",
        sys::MMAL_ENOTREADY => c"ENOTREADY",
        sys::MMAL_ECONFIG => c"ECONFIG",
        _ => c"UNKNOWN",
    };
    name.as_ptr()
}

/// `mmal_port_type_to_string`: `"in"`, `"out"`, `"clk"`, `"ctr"`, or
/// `"invalid"` for any other type. The string is static.
#[no_mangle]
pub extern "C" fn mmal_port_type_to_string(port_type: sys::MMAL_PORT_TYPE_T) -> *const c_char {
    let name: &'static CStr = match port_type {
        sys::MMAL_PORT_TYPE_INPUT => c"in",
        sys::MMAL_PORT_TYPE_OUTPUT => c"out",
        sys::MMAL_PORT_TYPE_CLOCK => c"clk",
        sys::MMAL_PORT_TYPE_CONTROL => c"ctr",
        _ => c"invalid",
    };
    name.as_ptr()
}

/// `mmal_4cc_to_string`: writes the FourCC's four characters and a NUL to
/// `buf` (`"<0>"` for 0) and returns `buf`. A buffer shorter than 5 bytes
/// gets an empty string; a NULL or empty one is left alone.
///
/// # Safety
///
/// `buf` is NULL or points at `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn mmal_4cc_to_string(buf: *mut c_char, len: usize, fourcc: u32) -> *mut c_char {
    if buf.is_null() || len == 0 {
        return buf;
    }
    let (text, n): ([u8; 5], usize) = if len < 5 {
        ([0; 5], 1)
    } else if fourcc == 0 {
        (*b"<0>\0\0", 4)
    } else {
        let [a, b, c, d] = fourcc.to_le_bytes();
        ([a, b, c, d, 0], 5)
    };
    // SAFETY: `buf` holds `len` bytes (the caller's promise) and `n` is at
    // most `len`: 1 for any non-empty buffer, 4 or 5 when `len` is 5 or
    // more. `text` is a local array, distinct from `buf`.
    unsafe { ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n) };
    buf
}
