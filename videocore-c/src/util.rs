//! libmmal's helpers that work on plain structs and on the parameter calls,
//! rather than on the emulator's objects:
//!
//! * formats: `mmal_format_alloc`/`_free`/`_extradata_alloc`/`_copy`/
//!   `_full_copy`/`_compare`;
//! * names: `mmal_status_to_string`, `mmal_port_type_to_string`,
//!   `mmal_4cc_to_string`;
//! * the pixel sizes of the raw encodings: `mmal_encoding_width_to_stride`
//!   and `mmal_encoding_stride_to_width`;
//! * typed parameters: `mmal_port_parameter_set_uint32` and the rest of the
//!   family, `mmal_port_parameter_alloc_get`/`_free`, and the
//!   `mmal_util_*` helpers (URI, display region, STC timestamps, core
//!   statistics, ports by type). They build the parameter struct and call
//!   `mmal_port_parameter_set`/`_get` of [`mmal_emu::api()`], which checks
//!   the port and answers for it;
//! * `mmal_log_dump_port`/`_format`, which describe a port or a format in
//!   the debug log (the `log` crate, level debug).
//!
//! Every function answers NULL pointers as libmmal answers bad arguments
//! (`MMAL_EINVAL`, NULL, or nothing) instead of dereferencing them, and none
//! lets a panic reach C: nothing here unwraps, indexes or overflows, and
//! the logger is called under `catch_unwind`.
//!
//! Memory this module hands out is recorded by address, so that freeing
//! (`mmal_format_free`, `mmal_port_parameter_free`) only ever releases its
//! own blocks, with the layout they were made with, and ignores any other
//! pointer. A format keeps the extradata it owns (32 bytes built in, a heap
//! buffer beyond) until it is freed. A format this module did not make,
//! such as a port's, cannot be given a new buffer: extradata that does not
//! fit the one it has is refused with `MMAL_ENOSPC`.

use std::alloc::{self, Layout};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{c_char, c_uint, CStr};
use std::mem;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use mmal_sys as sys;
use mmal_sys::{
    MMAL_PARAMETER_BOOLEAN_T, MMAL_PARAMETER_INT32_T, MMAL_PARAMETER_INT64_T, MMAL_PARAMETER_RATIONAL_T,
    MMAL_PARAMETER_UINT32_T, MMAL_PARAMETER_UINT64_T,
};

// ---------------------------------------------------------------------------
// Constants

// The `MMAL_ES_FORMAT_COMPARE_FLAG_*` bits, by shorter names: `TYPE`
// alone says the types differ (and nothing else is compared); `ES_OTHER`,
// another ES-specific field.
use sys::{
    MMAL_ES_FORMAT_COMPARE_FLAG_BITRATE as COMPARE_BITRATE, MMAL_ES_FORMAT_COMPARE_FLAG_ENCODING as COMPARE_ENCODING,
    MMAL_ES_FORMAT_COMPARE_FLAG_ES_OTHER as COMPARE_ES_OTHER,
    MMAL_ES_FORMAT_COMPARE_FLAG_EXTRADATA as COMPARE_EXTRADATA, MMAL_ES_FORMAT_COMPARE_FLAG_FLAGS as COMPARE_FLAGS,
    MMAL_ES_FORMAT_COMPARE_FLAG_TYPE as COMPARE_TYPE,
    MMAL_ES_FORMAT_COMPARE_FLAG_VIDEO_ASPECT_RATIO as COMPARE_VIDEO_ASPECT_RATIO,
    MMAL_ES_FORMAT_COMPARE_FLAG_VIDEO_COLOR_SPACE as COMPARE_VIDEO_COLOR_SPACE,
    MMAL_ES_FORMAT_COMPARE_FLAG_VIDEO_CROPPING as COMPARE_VIDEO_CROPPING,
    MMAL_ES_FORMAT_COMPARE_FLAG_VIDEO_FRAME_RATE as COMPARE_VIDEO_FRAME_RATE,
    MMAL_ES_FORMAT_COMPARE_FLAG_VIDEO_RESOLUTION as COMPARE_VIDEO_RESOLUTION,
};

// A video format ends with its colour space: no other video field exists
// for `COMPARE_ES_OTHER` to report.
const _: () = assert!(
    mem::offset_of!(sys::MMAL_VIDEO_FORMAT_T, color_space) + mem::size_of::<u32>()
        == mem::size_of::<sys::MMAL_VIDEO_FORMAT_T>()
);

/// Extradata built into every format from [`mmal_format_alloc`].
const INLINE_EXTRADATA: usize = 32;
/// The largest extradata [`mmal_format_extradata_alloc`] accepts.
const MAX_EXTRADATA: u32 = 10 * 1024;

/// Size of a parameter header.
const HEADER: usize = mem::size_of::<sys::MMAL_PARAMETER_HEADER_T>();
/// `sizeof(MMAL_PARAMETER_STRING_T)`: a header and a one-`char` array,
/// padded to 4 bytes. A string parameter is this plus the string and its
/// NUL.
const STRING_PARAMETER_SIZE: usize = 12;
/// Alignment of the parameters [`mmal_port_parameter_alloc_get`] allocates:
/// enough for the 64-bit ones.
const PARAMETER_ALIGN: usize = 8;

/// Bytes per pixel of the first plane for the encodings whose stride
/// follows from their width (planar YUV: the luma plane).
const PIXEL_PITCH: [(u32, u32); 19] = [
    (sys::MMAL_ENCODING_I420, 1),
    (sys::MMAL_ENCODING_YV12, 1),
    (sys::MMAL_ENCODING_I422, 1),
    (sys::MMAL_ENCODING_NV21, 1),
    (sys::MMAL_ENCODING_NV12, 1),
    (sys::fourcc(b"ARGB"), 4),
    (sys::MMAL_ENCODING_RGBA, 4),
    (sys::fourcc(b"RGB4"), 4),
    (sys::fourcc(b"ABGR"), 4),
    (sys::MMAL_ENCODING_BGRA, 4),
    (sys::fourcc(b"BGR4"), 4),
    (sys::MMAL_ENCODING_RGB16, 2),
    (sys::MMAL_ENCODING_RGB24, 3),
    (sys::fourcc(b"BGR2"), 2),
    (sys::MMAL_ENCODING_BGR24, 3),
    (sys::MMAL_ENCODING_YUYV, 2),
    (sys::fourcc(b"YVYU"), 2),
    (sys::fourcc(b"UYVY"), 2),
    (sys::fourcc(b"VYUY"), 2),
];

// ---------------------------------------------------------------------------
// C structs of the helpers

/// `MMAL_DISPLAYREGION_T`, the `MMAL_PARAMETER_DISPLAYREGION` parameter:
/// where and how a renderer shows its frames.
pub type DisplayRegion = sys::MMAL_DISPLAYREGION_T;

/// `MMAL_CORE_STATISTICS_T`: what the core counted on one direction of a
/// port.
pub type CoreStatistics = sys::MMAL_CORE_STATISTICS_T;

// ---------------------------------------------------------------------------
// Names

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

// ---------------------------------------------------------------------------
// Encodings

/// Bytes per pixel of `encoding`'s first plane, if its stride follows from
/// its width.
fn pixel_pitch(encoding: u32) -> Option<u32> {
    PIXEL_PITCH.iter().find(|&&(e, _)| e == encoding).map(|&(_, pitch)| pitch)
}

/// `mmal_encoding_width_to_stride`: the bytes a row of `width` pixels takes
/// in `encoding` (its luma plane for planar YUV), or 0 for an encoding
/// without a fixed pixel size (compressed, Bayer, opaque, unknown).
#[no_mangle]
pub extern "C" fn mmal_encoding_width_to_stride(encoding: u32, width: u32) -> u32 {
    pixel_pitch(encoding).map_or(0, |pitch| pitch.wrapping_mul(width))
}

/// `mmal_encoding_stride_to_width`: the pixels a row of `stride` bytes holds
/// in `encoding`, or 0 for an encoding without a fixed pixel size.
#[no_mangle]
pub extern "C" fn mmal_encoding_stride_to_width(encoding: u32, stride: u32) -> u32 {
    pixel_pitch(encoding).map_or(0, |pitch| stride / pitch)
}

// ---------------------------------------------------------------------------
// Formats

/// A format made by [`mmal_format_alloc`]: the format first (its address is
/// the block's), its ES-specific part, and the extradata it owns.
#[repr(C)]
struct FormatBlock {
    format: sys::MMAL_ES_FORMAT_T,
    es: sys::MMAL_ES_SPECIFIC_FORMAT_T,
    /// A heap buffer of `heap_capacity` bytes once extradata outgrew
    /// `inline`, else NULL.
    heap: *mut u8,
    heap_capacity: usize,
    inline: [u8; INLINE_EXTRADATA],
}

/// Addresses of the live [`FormatBlock`]s.
static FORMATS: Mutex<BTreeSet<usize>> = Mutex::new(BTreeSet::new());

/// Parameters made by [`mmal_port_parameter_alloc_get`], by address, with
/// their layouts.
static PARAMETERS: Mutex<BTreeMap<usize, Layout>> = Mutex::new(BTreeMap::new());

/// The registry of formats. Its data stays consistent whatever a panic
/// elsewhere interrupted, so a poisoned lock is simply taken.
fn formats() -> MutexGuard<'static, BTreeSet<usize>> {
    FORMATS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The registry of parameters, as [`formats`].
fn parameters() -> MutexGuard<'static, BTreeMap<usize, Layout>> {
    PARAMETERS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A heap extradata buffer a format no longer uses, freed when dropped.
struct Retired {
    ptr: *mut u8,
    capacity: usize,
}

impl Drop for Retired {
    fn drop(&mut self) {
        if let Ok(layout) = Layout::array::<u8>(self.capacity) {
            // SAFETY: `ptr` was allocated by `attach_extradata` with this
            // layout (`capacity` bytes), and its format no longer points at
            // it.
            unsafe { alloc::dealloc(self.ptr, layout) };
        }
    }
}

/// Points the extradata of a format from [`mmal_format_alloc`] at a buffer
/// of at least `size` bytes: the built-in one, or a heap buffer, replaced
/// by a zeroed one of `size` bytes when too small (contents are not kept).
/// Returns the buffer it replaced, for the caller to drop once it no longer
/// reads it.
///
/// # Safety
///
/// `block` is a live [`FormatBlock`], and the caller holds [`formats`] so
/// that nothing frees it meanwhile.
unsafe fn attach_extradata(block: *mut FormatBlock, size: usize) -> Result<Option<Retired>, sys::MMAL_STATUS_T> {
    // SAFETY: `block` is live (the caller's promise); its fields are read
    // and written in place through the raw pointer. A new buffer has
    // `size` > 32 bytes, a non-zero layout.
    unsafe {
        let heap = (*block).heap;
        let capacity = if heap.is_null() { INLINE_EXTRADATA } else { (*block).heap_capacity };
        let mut retired = None;
        if size > capacity {
            let layout = Layout::array::<u8>(size).map_err(|_| sys::MMAL_ENOMEM)?;
            let fresh = alloc::alloc_zeroed(layout);
            if fresh.is_null() {
                return Err(sys::MMAL_ENOMEM);
            }
            if !heap.is_null() {
                retired = Some(Retired { ptr: heap, capacity });
            }
            (*block).heap = fresh;
            (*block).heap_capacity = size;
        }
        (*block).format.extradata =
            if (*block).heap.is_null() { ptr::addr_of_mut!((*block).inline).cast::<u8>() } else { (*block).heap };
        Ok(retired)
    }
}

/// Gives `format` an extradata buffer of at least `size` bytes and returns
/// it, with the buffer it replaced (to drop after use). A format from
/// [`mmal_format_alloc`] grows its own. Any other has only `known`, a
/// buffer it had and the bytes that buffer is known to hold: it serves if
/// large enough, else `MMAL_ENOSPC`.
///
/// # Safety
///
/// `format` is a live format.
unsafe fn extradata_buffer(
    format: *mut sys::MMAL_ES_FORMAT_T,
    size: u32,
    known: (*mut u8, u32),
) -> Result<(*mut u8, Option<Retired>), sys::MMAL_STATUS_T> {
    if size > MAX_EXTRADATA {
        return Err(sys::MMAL_EINVAL);
    }
    let owned = formats();
    if owned.contains(&(format as usize)) {
        // SAFETY: a registered address is a live `FormatBlock`, whose format
        // is its first field; the registry stays locked meanwhile.
        let retired = unsafe { attach_extradata(format.cast::<FormatBlock>(), size as usize) }?;
        // SAFETY: `format` is live (the caller's promise).
        let buffer = unsafe { (*format).extradata };
        Ok((buffer, retired))
    } else if size == 0 || (!known.0.is_null() && size <= known.1) {
        Ok((known.0, None))
    } else {
        Err(sys::MMAL_ENOSPC)
    }
}

/// `mmal_format_alloc`: a zeroed format whose `es` points at its own zeroed
/// ES-specific part, allocated with it; NULL if memory runs out. Free it
/// with [`mmal_format_free`].
#[no_mangle]
pub extern "C" fn mmal_format_alloc() -> *mut sys::MMAL_ES_FORMAT_T {
    let layout = Layout::new::<FormatBlock>();
    // SAFETY: `FormatBlock` is not zero-sized.
    let block = unsafe { alloc::alloc(layout) }.cast::<FormatBlock>();
    if block.is_null() {
        return ptr::null_mut();
    }
    let value = FormatBlock {
        format: sys::MMAL_ES_FORMAT_T::default(),
        es: sys::MMAL_ES_SPECIFIC_FORMAT_T::default(),
        heap: ptr::null_mut(),
        heap_capacity: 0,
        inline: [0; INLINE_EXTRADATA],
    };
    // SAFETY: `block` is a fresh allocation with `FormatBlock`'s layout;
    // once written, its `es` field is pointed at its own ES-specific part.
    unsafe {
        block.write(value);
        (*block).format.es = ptr::addr_of_mut!((*block).es);
    }
    formats().insert(block as usize);
    block.cast::<sys::MMAL_ES_FORMAT_T>()
}

/// `mmal_format_free`: frees a format from [`mmal_format_alloc`] and the
/// extradata it owns. NULL, and any pointer this library did not allocate
/// as a format (or already freed), are ignored.
///
/// # Safety
///
/// Nothing uses the format, or extradata it owns, afterwards.
#[no_mangle]
pub unsafe extern "C" fn mmal_format_free(format: *mut sys::MMAL_ES_FORMAT_T) {
    if format.is_null() || !formats().remove(&(format as usize)) {
        return;
    }
    let block = format.cast::<FormatBlock>();
    // SAFETY: the address was registered, so it is a live `FormatBlock`
    // made with this layout; it is no longer registered, so it is freed
    // once. Its heap buffer, if any, is the block's own.
    unsafe {
        let heap = (*block).heap;
        if !heap.is_null() {
            drop(Retired { ptr: heap, capacity: (*block).heap_capacity });
        }
        alloc::dealloc(block.cast::<u8>(), Layout::new::<FormatBlock>());
    }
}

/// `mmal_format_extradata_alloc`: points `format->extradata` at a buffer of
/// at least `size` bytes (at most 10 KiB, else `MMAL_EINVAL`); setting
/// `extradata_size` is left to the caller. A format from
/// [`mmal_format_alloc`] owns its buffer: 32 bytes built in, a heap buffer
/// beyond, freed with the format (growing does not keep the contents). Any
/// other format (a port's) keeps the buffer it has: success if `size` is 0
/// or at most its `extradata_size`, else `MMAL_ENOSPC`. NULL is
/// `MMAL_EINVAL`.
///
/// # Safety
///
/// `format` is NULL or a live format; a format this library did not make
/// has an `extradata` buffer of at least `extradata_size` bytes, or NULL.
#[no_mangle]
pub unsafe extern "C" fn mmal_format_extradata_alloc(
    format: *mut sys::MMAL_ES_FORMAT_T,
    size: c_uint,
) -> sys::MMAL_STATUS_T {
    if format.is_null() {
        return sys::MMAL_EINVAL;
    }
    // SAFETY: `format` is live (the caller's promise; checked non-null).
    let known = unsafe { ((*format).extradata, (*format).extradata_size) };
    // SAFETY: as above.
    match unsafe { extradata_buffer(format, size, known) } {
        Ok(_) => sys::MMAL_SUCCESS,
        Err(status) => status,
    }
}

/// `mmal_format_copy`: copies `src` into `dst` but for two fields: `dst`
/// keeps its `es` pointer, into which `src`'s ES-specific part is copied,
/// and its extradata is cleared (NULL, size 0). Does nothing if either is
/// NULL.
///
/// # Safety
///
/// `dst` and `src` are NULL or live formats whose `es` are NULL or live.
#[no_mangle]
pub unsafe extern "C" fn mmal_format_copy(dst: *mut sys::MMAL_ES_FORMAT_T, src: *mut sys::MMAL_ES_FORMAT_T) {
    if dst.is_null() || src.is_null() {
        return;
    }
    // SAFETY: both are live formats (the caller's promise; checked
    // non-null). `src` is read whole before `dst` changes, so they may be
    // the same format.
    let (source, dst_es) = unsafe { (src.read(), (*dst).es) };
    if !dst_es.is_null() && !source.es.is_null() && dst_es != source.es {
        // SAFETY: both ES-specific parts are live (the caller's promise;
        // checked non-null), and distinct.
        unsafe { dst_es.write(source.es.read()) };
    }
    let copy = sys::MMAL_ES_FORMAT_T { es: dst_es, extradata: ptr::null_mut(), extradata_size: 0, ..source };
    // SAFETY: `dst` is a live, writable format.
    unsafe { dst.write(copy) };
}

/// `mmal_format_full_copy`: [`mmal_format_copy`], then `src`'s extradata
/// copied into a buffer of `dst` as [`mmal_format_extradata_alloc`] gives
/// one. A format this library did not make (a port's) reuses the buffer it
/// had, if that held at least as many bytes; else the copy stops with
/// `MMAL_ENOSPC`, leaving `dst` without extradata. NULL formats, and
/// extradata of non-zero size at NULL, are `MMAL_EINVAL`.
///
/// # Safety
///
/// As for [`mmal_format_copy`]; `src`'s extradata holds `extradata_size`
/// bytes, and `dst`'s holds `extradata_size` bytes or is NULL.
#[no_mangle]
pub unsafe extern "C" fn mmal_format_full_copy(
    dst: *mut sys::MMAL_ES_FORMAT_T,
    src: *mut sys::MMAL_ES_FORMAT_T,
) -> sys::MMAL_STATUS_T {
    if dst.is_null() || src.is_null() {
        return sys::MMAL_EINVAL;
    }
    // SAFETY: both are live formats (the caller's promise; checked
    // non-null), read before `dst` changes.
    let (source, known) = unsafe { (src.read(), ((*dst).extradata, (*dst).extradata_size)) };
    // SAFETY: as the caller promises.
    unsafe { mmal_format_copy(dst, src) };
    let size = source.extradata_size;
    if size == 0 {
        return sys::MMAL_SUCCESS;
    }
    if source.extradata.is_null() {
        return sys::MMAL_EINVAL;
    }
    // SAFETY: `dst` is live.
    match unsafe { extradata_buffer(dst, size, known) } {
        Err(status) => status,
        Ok((buffer, retired)) => {
            // SAFETY: `buffer` holds at least `size` bytes (given for that
            // purpose) and `src`'s extradata holds `size` bytes (the
            // caller's promise); `ptr::copy` allows them to overlap. A
            // replaced buffer is only freed afterwards.
            unsafe {
                ptr::copy(source.extradata, buffer, size as usize);
                (*dst).extradata = buffer;
                (*dst).extradata_size = size;
            }
            drop(retired);
            sys::MMAL_SUCCESS
        }
    }
}

/// Whether two rationals are the same number, compared by cross
/// multiplication; a zero numerator equals only another zero numerator.
fn rational_equal(a: sys::MMAL_RATIONAL_T, b: sys::MMAL_RATIONAL_T) -> bool {
    let (an, ad, bn, bd) = (i64::from(a.num), i64::from(a.den), i64::from(b.num), i64::from(b.den));
    if an != bn && an * bn == 0 {
        return false;
    }
    an * bd == bn * ad
}

/// The `MMAL_ES_FORMAT_COMPARE_FLAG_*` bits for how two ES-specific parts
/// of type `es_type` differ.
///
/// # Safety
///
/// `a` and `b` are live ES-specific parts.
unsafe fn compare_es(
    es_type: u32,
    a: *const sys::MMAL_ES_SPECIFIC_FORMAT_T,
    b: *const sys::MMAL_ES_SPECIFIC_FORMAT_T,
) -> u32 {
    // SAFETY: both are live (the caller's promise); every member of the
    // union is plain integers, so any bytes are a valid one.
    let (a, b) = unsafe { (a.read(), b.read()) };
    let mut result = 0;
    match es_type {
        sys::MMAL_ES_TYPE_VIDEO => {
            // SAFETY: as above.
            let (v1, v2) = unsafe { (a.video, b.video) };
            if v1.width != v2.width || v1.height != v2.height {
                result |= COMPARE_VIDEO_RESOLUTION;
            }
            if v1.crop != v2.crop {
                result |= COMPARE_VIDEO_CROPPING;
            }
            if !rational_equal(v1.par, v2.par) {
                result |= COMPARE_VIDEO_ASPECT_RATIO;
            }
            if !rational_equal(v1.frame_rate, v2.frame_rate) {
                result |= COMPARE_VIDEO_FRAME_RATE;
            }
            if v1.color_space != v2.color_space {
                result |= COMPARE_VIDEO_COLOR_SPACE;
            }
        }
        // SAFETY: as above.
        sys::MMAL_ES_TYPE_AUDIO if unsafe { a.audio != b.audio } => result |= COMPARE_ES_OTHER,
        // SAFETY: as above.
        sys::MMAL_ES_TYPE_SUBPICTURE if unsafe { a.subpicture != b.subpicture } => result |= COMPARE_ES_OTHER,
        _ => {}
    }
    result
}

/// `mmal_format_compare`: 0 if the formats are the same, else
/// `MMAL_ES_FORMAT_COMPARE_FLAG_*` bits for what differs: `TYPE` alone if
/// the types differ, else `ENCODING`, `BITRATE`, `FLAGS`, `EXTRADATA` (size
/// or bytes), and for video `VIDEO_RESOLUTION`, `VIDEO_CROPPING`,
/// `VIDEO_FRAME_RATE` and `VIDEO_ASPECT_RATIO` (rationals compared by
/// value), `VIDEO_COLOR_SPACE`; for audio and subpictures `ES_OTHER`. Two
/// NULLs are the same; one NULL differs in `TYPE`.
///
/// # Safety
///
/// `a` and `b` are NULL or live formats whose `es` are NULL or live and
/// whose extradata holds `extradata_size` bytes or is NULL.
#[no_mangle]
pub unsafe extern "C" fn mmal_format_compare(a: *mut sys::MMAL_ES_FORMAT_T, b: *mut sys::MMAL_ES_FORMAT_T) -> u32 {
    match (a.is_null(), b.is_null()) {
        (true, true) => return 0,
        (true, false) | (false, true) => return COMPARE_TYPE,
        (false, false) => {}
    }
    // SAFETY: both are live formats (the caller's promise; checked
    // non-null).
    let (f1, f2) = unsafe { (a.read(), b.read()) };
    if f1.type_ != f2.type_ {
        return COMPARE_TYPE;
    }
    let mut result = 0;
    if f1.encoding != f2.encoding {
        result |= COMPARE_ENCODING;
    }
    if f1.bitrate != f2.bitrate {
        result |= COMPARE_BITRATE;
    }
    if f1.flags != f2.flags {
        result |= COMPARE_FLAGS;
    }
    let size = f1.extradata_size as usize;
    if f1.extradata_size != f2.extradata_size {
        result |= COMPARE_EXTRADATA;
    } else if size > 0 {
        if f1.extradata.is_null() || f2.extradata.is_null() {
            result |= COMPARE_EXTRADATA;
        } else {
            // SAFETY: both buffers hold `size` bytes (the caller's promise;
            // checked non-null).
            let (x1, x2) = unsafe {
                (std::slice::from_raw_parts(f1.extradata, size), std::slice::from_raw_parts(f2.extradata, size))
            };
            if x1 != x2 {
                result |= COMPARE_EXTRADATA;
            }
        }
    }
    let has_es = matches!(f1.type_, sys::MMAL_ES_TYPE_VIDEO | sys::MMAL_ES_TYPE_AUDIO | sys::MMAL_ES_TYPE_SUBPICTURE);
    if has_es {
        if f1.es.is_null() || f2.es.is_null() {
            if f1.es != f2.es {
                result |= COMPARE_ES_OTHER;
            }
        } else {
            // SAFETY: both ES-specific parts are live (the caller's promise;
            // checked non-null).
            result |= unsafe { compare_es(f1.type_, f1.es, f2.es) };
        }
    }
    result
}

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
    unsafe { (mmal_emu::api().port_parameter_set)(port, ptr::from_ref(param).cast()) }
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
    unsafe { (mmal_emu::api().port_parameter_get)(port, ptr::from_mut(param).cast()) }
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
    unsafe { (mmal_emu::api().port_parameter_set)(port, base.cast_const().cast()) }
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
        let status = unsafe { (mmal_emu::api().port_parameter_get)(port, param) };
        if status == sys::MMAL_SUCCESS {
            parameters().insert(param as usize, layout);
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
    let layout = parameters().remove(&(param as usize));
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

// ---------------------------------------------------------------------------
// Logging

/// Runs `f`, which only writes to the log, so that a panicking logger
/// cannot unwind into C.
fn quietly(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

/// A FourCC's characters up to the first NUL, as the log shows them.
fn fourcc_text(fourcc: u32) -> String {
    let bytes = fourcc.to_le_bytes();
    let text = bytes.split(|&b| b == 0).next().unwrap_or(&[]);
    String::from_utf8_lossy(text).into_owned()
}

/// Describes `format` in the debug log: type, encoding, bitrate, framing,
/// extradata, and the audio or video fields.
///
/// # Safety
///
/// `format` is a live format whose `es` is NULL or live.
unsafe fn log_format(format: *const sys::MMAL_ES_FORMAT_T) {
    // SAFETY: `format` is live (the caller's promise).
    let f = unsafe { format.read() };
    let kind = match f.type_ {
        sys::MMAL_ES_TYPE_AUDIO => "audio",
        sys::MMAL_ES_TYPE_VIDEO => "video",
        sys::MMAL_ES_TYPE_SUBPICTURE => "subpicture",
        _ => "unknown",
    };
    log::debug!("type: {kind}, fourcc: {}", fourcc_text(f.encoding));
    log::debug!(" bitrate: {}, framed: {}", f.bitrate, u32::from(f.flags & sys::MMAL_ES_FORMAT_FLAG_FRAMED != 0));
    log::debug!(" extra data: {}, {:p}", f.extradata_size, f.extradata);
    if f.es.is_null() {
        return;
    }
    // SAFETY: `es` is live (the caller's promise; checked non-null); every
    // member of the union is plain integers, so any bytes are a valid one.
    let es = unsafe { f.es.read() };
    match f.type_ {
        sys::MMAL_ES_TYPE_AUDIO => {
            // SAFETY: as above.
            let a = unsafe { es.audio };
            log::debug!(
                " samplerate: {}, channels: {}, bps: {}, block align: {}",
                a.sample_rate,
                a.channels,
                a.bits_per_sample,
                a.block_align
            );
        }
        sys::MMAL_ES_TYPE_VIDEO => {
            // SAFETY: as above.
            let v = unsafe { es.video };
            log::debug!(
                " width: {}, height: {}, ({},{},{},{})",
                v.width,
                v.height,
                v.crop.x,
                v.crop.y,
                v.crop.width,
                v.crop.height
            );
            log::debug!(
                " pixel aspect ratio: {}/{}, frame rate: {}/{}",
                v.par.num,
                v.par.den,
                v.frame_rate.num,
                v.frame_rate.den
            );
        }
        _ => {}
    }
}

/// `mmal_log_dump_port`: describes `port` in the debug log (`log` crate,
/// level debug): its name and address, its format as
/// [`mmal_log_dump_format`] does, and its buffer numbers, sizes and
/// alignment. Does nothing for NULL, or when debug logging is off.
///
/// # Safety
///
/// `port` is NULL or a live port whose name is NULL or a NUL-terminated
/// string, and whose format is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn mmal_log_dump_port(port: *mut sys::MMAL_PORT_T) {
    if port.is_null() || !log::log_enabled!(log::Level::Debug) {
        return;
    }
    quietly(|| {
        let _ = mmal_emu::c_api::with_live_port(port, "mmal_log_dump_port", || {
            // SAFETY: a live port of this library (looked up, and kept live
            // until this returns).
            unsafe { dump_port(port) }
        });
    });
}

/// The work of [`mmal_log_dump_port`].
///
/// # Safety
///
/// `port` is a live port of this library.
unsafe fn dump_port(port: *mut sys::MMAL_PORT_T) {
    {
        // Field by field, never a copy of the whole struct: the emulator
        // stores `is_enabled` atomically from other threads meanwhile.
        macro_rules! field {
            ($f:ident) => {
                // SAFETY: `port` is live (the caller's promise); one plain
                // field, which only the client writes, read by raw pointer.
                unsafe { std::ptr::addr_of!((*port).$f).read() }
            };
        }
        let (name_ptr, format) = (field!(name), field!(format));
        let name = if name_ptr.is_null() {
            Cow::Borrowed("(null)")
        } else {
            // SAFETY: the name is a NUL-terminated string (the caller's
            // promise; checked non-null).
            unsafe { CStr::from_ptr(name_ptr) }.to_string_lossy()
        };
        log::debug!("{name}({port:p})");
        if !format.is_null() {
            // SAFETY: the format is live (the caller's promise; checked
            // non-null).
            unsafe { log_format(format) };
        }
        log::debug!(
            " buffers num: {}(opt {}, min {}), size: {}(opt {}, min: {}), align: {}",
            field!(buffer_num),
            field!(buffer_num_recommended),
            field!(buffer_num_min),
            field!(buffer_size),
            field!(buffer_size_recommended),
            field!(buffer_size_min),
            field!(buffer_alignment_min)
        );
    }
}

/// `mmal_log_dump_format`: describes `format` in the debug log (`log`
/// crate, level debug): type, FourCC, bitrate, framing, extradata size and
/// address, and the sample rate, channels, bits per sample and block
/// alignment of audio or the size, crop, pixel aspect ratio and frame rate
/// of video. Does nothing for NULL, or when debug logging is off.
///
/// # Safety
///
/// `format` is NULL or a live format whose `es` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn mmal_log_dump_format(format: *mut sys::MMAL_ES_FORMAT_T) {
    if format.is_null() || !log::log_enabled!(log::Level::Debug) {
        return;
    }
    // SAFETY: as the caller promises; checked non-null.
    quietly(|| unsafe { log_format(format) });
}
