//! Typed parameters: `mmal_port_parameter_set_uint32` and the rest of the
//! family, `mmal_port_parameter_alloc_get`/`_free`, and the `mmal_util_*`
//! port helpers (URI, display region, STC timestamps, core statistics,
//! ports by type, the firmware's RGB order).

use std::alloc::{self, Layout};
use std::collections::BTreeMap;
use std::ffi::{c_char, c_uint, CStr};
use std::mem;
use std::ptr;

use mmal_sys as sys;
use mmal_sys::{
    MMAL_PARAMETER_BOOLEAN_T, MMAL_PARAMETER_INT32_T, MMAL_PARAMETER_INT64_T, MMAL_PARAMETER_RATIONAL_T,
    MMAL_PARAMETER_UINT32_T, MMAL_PARAMETER_UINT64_T,
};
use parking_lot::Mutex;

/// Size of a parameter header.
const HEADER: usize = mem::size_of::<sys::MMAL_PARAMETER_HEADER_T>();
/// `sizeof(MMAL_PARAMETER_STRING_T)`: a header and a one-`char` array,
/// padded to 4 bytes. A string parameter is this plus the string and its
/// NUL.
const STRING_PARAMETER_SIZE: usize = 12;
/// Alignment of the parameters [`mmal_port_parameter_alloc_get`] allocates:
/// enough for the 64-bit ones.
const PARAMETER_ALIGN: usize = 8;

// ---------------------------------------------------------------------------
// C structs of the helpers

/// `MMAL_DISPLAYREGION_T`, the `MMAL_PARAMETER_DISPLAYREGION` parameter:
/// where and how a renderer shows its frames.
pub type DisplayRegion = sys::MMAL_DISPLAYREGION_T;

/// `MMAL_CORE_STATISTICS_T`: what the core counted on one direction of a
/// port.
pub type CoreStatistics = sys::MMAL_CORE_STATISTICS_T;

/// Parameters made by [`mmal_port_parameter_alloc_get`], by address, with
/// their layouts.
static PARAMETERS: Mutex<BTreeMap<usize, Layout>> = Mutex::new(BTreeMap::new());

// ---------------------------------------------------------------------------
// Parameters

/// A header for the parameter struct `T`: `id`, and `T`'s size.
fn header<T>(id: u32) -> sys::MMAL_PARAMETER_HEADER_T {
    sys::MMAL_PARAMETER_HEADER_T { id, size: mem::size_of::<T>() as u32 }
}

/// Sets the parameter struct `param` on `port`; `MMAL_EINVAL` for a NULL
/// port.
///
/// # Safety
///
/// `port` is NULL or a live port of this library; `T` is a `#[repr(C)]`
/// parameter struct that starts with its header, whose `size` is at most
/// `size_of::<T>()`.
unsafe fn set_parameter<T>(port: *mut sys::MMAL_PORT_T, param: &T) -> sys::MMAL_STATUS_T {
    if port.is_null() {
        return sys::MMAL_EINVAL;
    }
    // SAFETY: as the caller promises: `param` starts with a header giving
    // a size it holds.
    unsafe { (crate::provider::api().port_parameter_set)(port, ptr::from_ref(param).cast()) }
}

/// Reads the parameter struct `param` (header filled in) from `port`;
/// `MMAL_EINVAL` for a NULL port.
///
/// # Safety
///
/// As for [`set_parameter`].
unsafe fn get_parameter<T>(port: *mut sys::MMAL_PORT_T, param: &mut T) -> sys::MMAL_STATUS_T {
    if port.is_null() {
        return sys::MMAL_EINVAL;
    }
    // SAFETY: as the caller promises: `param` starts with a header giving
    // a size it holds, which the port fills at most.
    unsafe { (crate::provider::api().port_parameter_get)(port, ptr::from_mut(param).cast()) }
}

/// Sets a parameter of `size` bytes, header included, whose data begins
/// with `data` and is zero beyond. `MMAL_EINVAL` for a NULL port or a size
/// that cannot hold `data`, `MMAL_ENOSPC` for a size past `u32`,
/// `MMAL_ENOMEM` if memory runs out.
///
/// # Safety
///
/// `port` is NULL or a live port of this library.
unsafe fn set_variable_parameter(port: *mut sys::MMAL_PORT_T, id: u32, data: &[u8], size: usize) -> sys::MMAL_STATUS_T {
    if port.is_null() {
        return sys::MMAL_EINVAL;
    }
    match HEADER.checked_add(data.len()) {
        Some(needed) if needed <= size => {}
        _ => return sys::MMAL_EINVAL,
    }
    // Larger parameters never cross to the VideoCore (ENOSPC there): no
    // need to allocate them first.
    if size > sys::MMAL_PARAMETER_MAX_SIZE as usize {
        return sys::MMAL_ENOSPC;
    }
    let Ok(size32) = u32::try_from(size) else { return sys::MMAL_ENOSPC };
    // Whole u64s: the parameter is aligned for any field.
    let words = size.div_ceil(mem::size_of::<u64>());
    let mut buffer: Vec<u64> = Vec::new();
    if buffer.try_reserve_exact(words).is_err() {
        return sys::MMAL_ENOMEM;
    }
    buffer.resize(words, 0);
    let base = buffer.as_mut_ptr().cast::<u8>();
    // SAFETY: the buffer holds `words * 8 >= size >= HEADER + data.len()`
    // bytes, aligned for a header; `data` is a distinct slice.
    unsafe {
        base.cast::<sys::MMAL_PARAMETER_HEADER_T>().write(sys::MMAL_PARAMETER_HEADER_T { id, size: size32 });
        ptr::copy_nonoverlapping(data.as_ptr(), base.add(HEADER), data.len());
    }
    // SAFETY: `base` is a parameter of `size` bytes, its header first;
    // `port` is as the caller promises. The buffer outlives the call.
    unsafe { (crate::provider::api().port_parameter_set)(port, base.cast_const().cast()) }
}

/// Exports `mmal_port_parameter_set_<kind>` and `_get_<kind>` for a
/// parameter struct of a header and one value.
macro_rules! value_parameters {
    ($($what:literal: $set:ident, $get:ident, $param:ident, $field:ident: $value:ty;)*) => {$(
        #[doc = concat!("`", stringify!($set), "`: sets the ", $what, " parameter `id` of `port` to `value`.")]
        ///
        /// # Safety
        ///
        /// `port` is NULL (`MMAL_EINVAL`) or a live port of this library.
        #[no_mangle]
        pub unsafe extern "C" fn $set(port: *mut sys::MMAL_PORT_T, id: u32, value: $value) -> sys::MMAL_STATUS_T {
            let param = $param { hdr: header::<$param>(id), $field: value };
            // SAFETY: as the caller promises; `param` is the whole
            // parameter, its header first.
            unsafe { set_parameter(port, &param) }
        }

        #[doc = concat!("`", stringify!($get), "`: reads the ", $what, " parameter `id` of `port` into `*value`, ")]
        /// which is written only on success.
        ///
        /// # Safety
        ///
        /// `port` is NULL (`MMAL_EINVAL`) or a live port of this library;
        /// `value` is NULL (`MMAL_EINVAL`) or writable.
        #[no_mangle]
        pub unsafe extern "C" fn $get(port: *mut sys::MMAL_PORT_T, id: u32, value: *mut $value) -> sys::MMAL_STATUS_T {
            if value.is_null() {
                return sys::MMAL_EINVAL;
            }
            let mut param = $param { hdr: header::<$param>(id), $field: Default::default() };
            // SAFETY: as the caller promises; `param` is the whole
            // parameter, its header first.
            let status = unsafe { get_parameter(port, &mut param) };
            if status == sys::MMAL_SUCCESS {
                // SAFETY: `value` is writable (the caller's promise; checked
                // non-null).
                unsafe { value.write(param.$field) };
            }
            status
        }
    )*};
}

value_parameters! {
    "boolean": mmal_port_parameter_set_boolean, mmal_port_parameter_get_boolean,
        MMAL_PARAMETER_BOOLEAN_T, enable: sys::MMAL_BOOL_T;
    "64-bit unsigned": mmal_port_parameter_set_uint64, mmal_port_parameter_get_uint64,
        MMAL_PARAMETER_UINT64_T, value: u64;
    "64-bit signed": mmal_port_parameter_set_int64, mmal_port_parameter_get_int64,
        MMAL_PARAMETER_INT64_T, value: i64;
    "32-bit unsigned": mmal_port_parameter_set_uint32, mmal_port_parameter_get_uint32,
        MMAL_PARAMETER_UINT32_T, value: u32;
    "32-bit signed": mmal_port_parameter_set_int32, mmal_port_parameter_get_int32,
        MMAL_PARAMETER_INT32_T, value: i32;
    "rational": mmal_port_parameter_set_rational, mmal_port_parameter_get_rational,
        MMAL_PARAMETER_RATIONAL_T, value: sys::MMAL_RATIONAL_T;
}

/// `mmal_port_parameter_set_string`: sets the string parameter `id` of
/// `port`: `12 + strlen(value) + 1` bytes, a header then the string and its
/// NUL. NULL `port` or `value` is `MMAL_EINVAL`.
///
/// # Safety
///
/// `port` is NULL or a live port of this library; `value` is NULL or a
/// NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn mmal_port_parameter_set_string(
    port: *mut sys::MMAL_PORT_T,
    id: u32,
    value: *const c_char,
) -> sys::MMAL_STATUS_T {
    if port.is_null() || value.is_null() {
        return sys::MMAL_EINVAL;
    }
    // SAFETY: `value` is a NUL-terminated string (the caller's promise;
    // checked non-null).
    let text = unsafe { CStr::from_ptr(value) }.to_bytes_with_nul();
    let Some(size) = STRING_PARAMETER_SIZE.checked_add(text.len()) else { return sys::MMAL_ENOSPC };
    // SAFETY: `port` is as the caller promises.
    unsafe { set_variable_parameter(port, id, text, size) }
}

/// `mmal_port_parameter_set_bytes`: sets the parameter `id` of `port` to a
/// header and the `size` bytes at `data`. NULL `port`, or NULL `data` with
/// a non-zero `size`, is `MMAL_EINVAL`.
///
/// # Safety
///
/// `port` is NULL or a live port of this library; `data` is NULL or holds
/// `size` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn mmal_port_parameter_set_bytes(
    port: *mut sys::MMAL_PORT_T,
    id: u32,
    data: *const u8,
    size: c_uint,
) -> sys::MMAL_STATUS_T {
    let bytes: &[u8] = if size == 0 {
        &[]
    } else if data.is_null() {
        return sys::MMAL_EINVAL;
    } else {
        // SAFETY: `data` holds `size` bytes (the caller's promise; checked
        // non-null).
        unsafe { std::slice::from_raw_parts(data, size as usize) }
    };
    let Some(total) = HEADER.checked_add(bytes.len()) else { return sys::MMAL_ENOSPC };
    // SAFETY: `port` is as the caller promises.
    unsafe { set_variable_parameter(port, id, bytes, total) }
}

/// A zeroed parameter of `size` bytes (at least a header), its header set,
/// with its layout; `None` if memory runs out.
fn alloc_parameter(id: u32, size: u32) -> Option<(*mut sys::MMAL_PARAMETER_HEADER_T, Layout)> {
    let size = size.max(HEADER as u32);
    let layout = Layout::from_size_align(size as usize, PARAMETER_ALIGN).ok()?;
    // SAFETY: the layout is at least a header long, not zero-sized.
    let param = unsafe { alloc::alloc_zeroed(layout) }.cast::<sys::MMAL_PARAMETER_HEADER_T>();
    if param.is_null() {
        return None;
    }
    // SAFETY: `param` is a fresh allocation holding at least a header,
    // aligned for one.
    unsafe { param.write(sys::MMAL_PARAMETER_HEADER_T { id, size }) };
    Some((param, layout))
}

/// The work of [`mmal_port_parameter_alloc_get`]: the parameter and the
/// status.
///
/// # Safety
///
/// `port` is NULL or a live port of this library.
unsafe fn alloc_get(
    port: *mut sys::MMAL_PORT_T,
    id: u32,
    size: u32,
) -> (*mut sys::MMAL_PARAMETER_HEADER_T, sys::MMAL_STATUS_T) {
    if port.is_null() {
        return (ptr::null_mut(), sys::MMAL_EINVAL);
    }
    let mut size = size;
    let mut retried = false;
    loop {
        let Some((param, layout)) = alloc_parameter(id, size) else { return (ptr::null_mut(), sys::MMAL_ENOMEM) };
        // SAFETY: `param` holds the `layout.size()` bytes its header gives;
        // `port` is as the caller promises.
        let status = unsafe { (crate::provider::api().port_parameter_get)(port, param) };
        if status == sys::MMAL_SUCCESS {
            PARAMETERS.lock().insert(param as usize, layout);
            return (param, status);
        }
        // SAFETY: `param` is live: allocated above and not handed out.
        let reported = unsafe { (*param).size };
        // SAFETY: as above, allocated with `layout`; freed once, here.
        unsafe { alloc::dealloc(param.cast::<u8>(), layout) };
        if status != sys::MMAL_ENOSPC || retried {
            return (ptr::null_mut(), status);
        }
        // Too small: once more, at the size the port asked for.
        retried = true;
        size = reported;
    }
}

/// `mmal_port_parameter_alloc_get`: reads the parameter `id` of `port` into
/// a zeroed allocation of `size` bytes (at least a header); if the port
/// answers `MMAL_ENOSPC`, once more at the size it reported. Returns the
/// parameter, to free with [`mmal_port_parameter_free`], or NULL on
/// failure; the status goes to `*status` unless that is NULL.
///
/// # Safety
///
/// `port` is NULL (`MMAL_EINVAL`) or a live port of this library; `status`
/// is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mmal_port_parameter_alloc_get(
    port: *mut sys::MMAL_PORT_T,
    id: u32,
    size: u32,
    status: *mut sys::MMAL_STATUS_T,
) -> *mut sys::MMAL_PARAMETER_HEADER_T {
    // SAFETY: `port` is as the caller promises.
    let (param, result) = unsafe { alloc_get(port, id, size) };
    if !status.is_null() {
        // SAFETY: `status` is writable (the caller's promise; checked
        // non-null).
        unsafe { status.write(result) };
    }
    param
}

/// `mmal_port_parameter_free`: frees a parameter from
/// [`mmal_port_parameter_alloc_get`]. NULL, and any pointer this library
/// did not allocate as a parameter (or already freed), are ignored.
///
/// # Safety
///
/// Nothing uses the parameter afterwards.
#[no_mangle]
pub unsafe extern "C" fn mmal_port_parameter_free(param: *mut sys::MMAL_PARAMETER_HEADER_T) {
    if param.is_null() {
        return;
    }
    let layout = PARAMETERS.lock().remove(&(param as usize));
    if let Some(layout) = layout {
        // SAFETY: the address was registered, so `alloc_parameter` made it
        // with this layout; it is no longer registered, so it is freed once.
        unsafe { alloc::dealloc(param.cast::<u8>(), layout) };
    }
}

// ---------------------------------------------------------------------------
// Port helpers

/// `mmal_util_port_set_uri`: sets `MMAL_PARAMETER_URI` on `port` as a
/// string parameter (see [`mmal_port_parameter_set_string`]).
///
/// # Safety
///
/// As for [`mmal_port_parameter_set_string`].
#[no_mangle]
pub unsafe extern "C" fn mmal_util_port_set_uri(port: *mut sys::MMAL_PORT_T, uri: *const c_char) -> sys::MMAL_STATUS_T {
    // SAFETY: as the caller promises.
    unsafe { mmal_port_parameter_set_string(port, sys::MMAL_PARAMETER_URI, uri) }
}

/// `mmal_util_set_display_region`: fills `region`'s header
/// (`MMAL_PARAMETER_DISPLAYREGION`, 84 bytes) and sets it on `port`. NULL
/// `port` or `region` is `MMAL_EINVAL`.
///
/// # Safety
///
/// `port` is NULL or a live port of this library; `region` is NULL or a
/// live, writable [`DisplayRegion`].
#[no_mangle]
pub unsafe extern "C" fn mmal_util_set_display_region(
    port: *mut sys::MMAL_PORT_T,
    region: *mut DisplayRegion,
) -> sys::MMAL_STATUS_T {
    if port.is_null() || region.is_null() {
        return sys::MMAL_EINVAL;
    }
    // SAFETY: `region` is live and writable (the caller's promise; checked
    // non-null).
    unsafe { (*region).hdr = header::<DisplayRegion>(sys::MMAL_PARAMETER_DISPLAYREGION) };
    // SAFETY: `region` is the whole parameter, its header first; `port` is
    // as the caller promises.
    unsafe { set_parameter(port, &*region) }
}

/// `mmal_util_camera_use_stc_timestamp`: sets `MMAL_PARAMETER_USE_STC` on
/// `port` to `mode` (`MMAL_CAMERA_STC_MODE_T`: off, raw, cooked).
///
/// # Safety
///
/// `port` is NULL (`MMAL_EINVAL`) or a live port of this library.
#[no_mangle]
pub unsafe extern "C" fn mmal_util_camera_use_stc_timestamp(
    port: *mut sys::MMAL_PORT_T,
    mode: sys::MMAL_CAMERA_STC_MODE_T,
) -> sys::MMAL_STATUS_T {
    let param =
        MMAL_PARAMETER_UINT32_T { hdr: header::<MMAL_PARAMETER_UINT32_T>(sys::MMAL_PARAMETER_USE_STC), value: mode };
    // SAFETY: as the caller promises; `param` is the whole parameter.
    unsafe { set_parameter(port, &param) }
}

/// `mmal_util_get_core_port_stats`: reads the core's statistics for
/// direction `dir` of `port` (0 received, 1 sent), resetting them if
/// `reset` is nonzero, into `*stats` (written only on success). NULL `port`
/// or `stats` is `MMAL_EINVAL`.
///
/// # Safety
///
/// `port` is NULL or a live port of this library; `stats` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn mmal_util_get_core_port_stats(
    port: *mut sys::MMAL_PORT_T,
    dir: u32,
    reset: sys::MMAL_BOOL_T,
    stats: *mut CoreStatistics,
) -> sys::MMAL_STATUS_T {
    if stats.is_null() {
        return sys::MMAL_EINVAL;
    }
    let mut param = sys::MMAL_PARAMETER_CORE_STATISTICS_T {
        hdr: header::<sys::MMAL_PARAMETER_CORE_STATISTICS_T>(sys::MMAL_PARAMETER_CORE_STATISTICS),
        dir,
        reset,
        stats: CoreStatistics { buffer_count: 0, first_buffer_time: 0, last_buffer_time: 0, max_delay: 0 },
    };
    // SAFETY: as the caller promises; `param` is the whole parameter.
    let status = unsafe { get_parameter(port, &mut param) };
    if status == sys::MMAL_SUCCESS {
        // SAFETY: `stats` is writable (the caller's promise; checked
        // non-null).
        unsafe { stats.write(param.stats) };
    }
    status
}

/// `mmal_util_get_port`: the port of `component` of type `port_type` at
/// `index`: the control port (index 0), or an input, output or clock port.
/// NULL for a NULL component, another type or an index out of range.
///
/// # Safety
///
/// None beyond libmmal's: a component that is not a live one of this
/// library (destroyed, say) is NULL, and logged.
#[no_mangle]
pub unsafe extern "C" fn mmal_util_get_port(
    component: *mut sys::MMAL_COMPONENT_T,
    port_type: sys::MMAL_PORT_TYPE_T,
    index: c_uint,
) -> *mut sys::MMAL_PORT_T {
    if component.is_null() {
        return ptr::null_mut();
    }
    let found = mmal_emu::c_api::with_live_component(component, "mmal_util_get_port", || {
        // SAFETY: `component` is a live component of this library (looked
        // up, and kept live until this returns); its fields are read by
        // value, one at a time.
        let (count, list, control) = unsafe {
            match port_type {
                sys::MMAL_PORT_TYPE_INPUT => ((*component).input_num, (*component).input, ptr::null_mut()),
                sys::MMAL_PORT_TYPE_OUTPUT => ((*component).output_num, (*component).output, ptr::null_mut()),
                sys::MMAL_PORT_TYPE_CLOCK => ((*component).clock_num, (*component).clock, ptr::null_mut()),
                sys::MMAL_PORT_TYPE_CONTROL => (0, ptr::null_mut(), (*component).control),
                _ => return ptr::null_mut(),
            }
        };
        if port_type == sys::MMAL_PORT_TYPE_CONTROL {
            return if index == 0 { control } else { ptr::null_mut() };
        }
        if index >= count || list.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: the list holds `count` port pointers (this library made
        // it so) and `index < count`.
        unsafe { list.add(index as usize).read() }
    });
    found.unwrap_or(ptr::null_mut())
}

/// The encodings [`mmal_util_rgb_order_fixed`] reads: libmmal's
/// `MAX_ENCODINGS_NUM`.
const RGB_ORDER_ENCODINGS: usize = 25;

/// `MMAL_PARAMETER_SUPPORTED_ENCODINGS` with room for
/// [`RGB_ORDER_ENCODINGS`] FourCCs, as `mmal_util_rgb_order_fixed` asks.
#[repr(C)]
struct SupportedEncodings {
    hdr: sys::MMAL_PARAMETER_HEADER_T,
    encodings: [u32; RGB_ORDER_ENCODINGS],
}

/// `mmal_util_rgb_order_fixed`: whether the firmware behind `port` (a
/// camera's or a splitter's) has RGB24 and BGR24 the right way round, as
/// firmware since June 2016 does: 1 if `MMAL_PARAMETER_SUPPORTED_ENCODINGS`
/// (read with room for 25, a reply too long for that also counting) lists
/// RGB24 before any BGR24, else 0 (0 too for a NULL port or a port that
/// does not answer).
///
/// # Safety
///
/// `port` is NULL or a live port of this library.
#[no_mangle]
pub unsafe extern "C" fn mmal_util_rgb_order_fixed(port: *mut sys::MMAL_PORT_T) -> std::ffi::c_int {
    let mut param = SupportedEncodings {
        hdr: header::<SupportedEncodings>(sys::MMAL_PARAMETER_SUPPORTED_ENCODINGS),
        encodings: [0; RGB_ORDER_ENCODINGS],
    };
    // SAFETY: as the caller promises; `param` is the whole parameter.
    let status = unsafe { get_parameter(port, &mut param) };
    if status != sys::MMAL_SUCCESS && status != sys::MMAL_ENOSPC {
        return 0;
    }
    let listed = (param.hdr.size as usize).saturating_sub(HEADER) / mem::size_of::<u32>();
    for &encoding in param.encodings.iter().take(listed) {
        if encoding == sys::MMAL_ENCODING_BGR24 {
            return 0;
        }
        if encoding == sys::MMAL_ENCODING_RGB24 {
            return 1;
        }
    }
    0
}
