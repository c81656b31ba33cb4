//! Formats: `mmal_format_alloc`/`_free`/`_extradata_alloc`/`_copy`/
//! `_full_copy`/`_compare`, and the pixel sizes of the raw encodings
//! (`mmal_encoding_width_to_stride`, `mmal_encoding_stride_to_width`).

use std::alloc::{self, Layout};
use std::collections::BTreeSet;
use std::ffi::c_uint;
use std::mem;
use std::ptr;

use mmal_sys as sys;
use parking_lot::Mutex;

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
    let owned = FORMATS.lock();
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
    FORMATS.lock().insert(block as usize);
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
    if format.is_null() || !FORMATS.lock().remove(&(format as usize)) {
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
