//! Event payloads that hold C structs: FORMAT_CHANGED, written and read in
//! libmmal's layout.

use std::ptr;

use mmal_sys as sys;

use crate::format::VideoFormat;

use super::buffers::BufPtr;

/// Where libmmal lays out a FORMAT_CHANGED payload (`mmal_events.c`): the
/// event struct, the format right after it, its ES-specific part right
/// after that, then any extradata. Returns the offsets of the format and
/// the ES part, and the smallest length of such a payload.
fn format_changed_layout() -> (usize, usize, usize) {
    use std::mem::size_of;
    let fmt_at = size_of::<sys::MMAL_EVENT_FORMAT_CHANGED_T>();
    let es_at = fmt_at + size_of::<sys::MMAL_ES_FORMAT_T>();
    (fmt_at, es_at, es_at + size_of::<sys::MMAL_ES_SPECIFIC_FORMAT_T>())
}

/// Fills `buffer` with an `MMAL_EVENT_FORMAT_CHANGED` payload laid out as
/// libmmal lays it out: the requirements, then a format and its video part,
/// which the payload's pointers point at. Returns the payload length, or
/// `None` if the buffer is too small.
pub(crate) fn write_format_changed(buffer: BufPtr, requirements: [u32; 4], format: &VideoFormat) -> Option<usize> {
    let (fmt_at, es_at, len) = format_changed_layout();
    if buffer.alloc_size() < len {
        return None;
    }
    buffer.with_payload(|bytes| {
        debug_assert!(bytes.len() >= len);
        let base = bytes.as_mut_ptr();
        // SAFETY: the payload holds `len` bytes (checked above), so the
        // three structs, at the offsets of `format_changed_layout`, lie
        // inside it and do not overlap; they are written unaligned, as a
        // payload may come from a client's allocator.
        unsafe {
            let es = base.add(es_at).cast::<sys::MMAL_ES_SPECIFIC_FORMAT_T>();
            let fmt = base.add(fmt_at).cast::<sys::MMAL_ES_FORMAT_T>();
            let head = base.cast::<sys::MMAL_EVENT_FORMAT_CHANGED_T>();
            es.write_unaligned(sys::MMAL_ES_SPECIFIC_FORMAT_T {
                video: sys::MMAL_VIDEO_FORMAT_T {
                    width: format.width,
                    height: format.height,
                    crop: sys::MMAL_RECT_T {
                        x: format.crop.0 as i32,
                        y: format.crop.1 as i32,
                        width: format.crop.2 as i32,
                        height: format.crop.3 as i32,
                    },
                    frame_rate: sys::MMAL_RATIONAL_T { num: format.frame_rate.0, den: format.frame_rate.1 },
                    par: sys::MMAL_RATIONAL_T { num: 1, den: 1 },
                    color_space: 0,
                },
            });
            fmt.write_unaligned(sys::MMAL_ES_FORMAT_T {
                type_: sys::MMAL_ES_TYPE_VIDEO,
                encoding: format.encoding,
                es,
                flags: sys::MMAL_ES_FORMAT_FLAG_FRAMED,
                extradata: base.add(len),
                ..Default::default()
            });
            head.write_unaligned(sys::MMAL_EVENT_FORMAT_CHANGED_T {
                buffer_size_min: requirements[0],
                buffer_num_min: requirements[1],
                buffer_size_recommended: requirements[2],
                buffer_num_recommended: requirements[3],
                format: fmt,
            });
        }
    });
    Some(len)
}

/// The format and requirements (`buffer_num_min`, `buffer_size_min`,
/// `buffer_num_recommended`, `buffer_size_recommended`) a FORMAT_CHANGED
/// event carries. As libmmal's `mmal_event_format_changed_get` does, the
/// format is taken where libmmal lays it out (right after the event
/// struct), whatever pointers the payload holds; the whole of it must lie
/// within the payload (see [`format_changed_payload`]).
pub(crate) fn read_format_changed(buffer: BufPtr) -> Option<(VideoFormat, [u32; 4])> {
    let (event, fmt, v) = read_raw(buffer)?;
    let format = VideoFormat::from_c(fmt.encoding, &v);
    Some((
        format,
        [event.buffer_num_min, event.buffer_size_min, event.buffer_num_recommended, event.buffer_size_recommended],
    ))
}

#[cfg(feature = "vchiq")]
/// The whole format a FORMAT_CHANGED event carries (extradata excepted),
/// as `mmal_format_copy` takes it out of the event (see
/// [`read_format_changed`] for where it is read).
pub(crate) fn read_format_changed_es(buffer: BufPtr) -> Option<super::EsFormat> {
    let (_, fmt, video) = read_raw(buffer)?;
    Some(super::EsFormat {
        es_type: fmt.type_,
        encoding: fmt.encoding,
        encoding_variant: fmt.encoding_variant,
        bitrate: fmt.bitrate,
        flags: fmt.flags,
        video,
    })
}

/// The event struct, the format and its video part of a FORMAT_CHANGED
/// event, at the layout's offsets.
fn read_raw(
    buffer: BufPtr,
) -> Option<(sys::MMAL_EVENT_FORMAT_CHANGED_T, sys::MMAL_ES_FORMAT_T, sys::MMAL_VIDEO_FORMAT_T)> {
    let (fmt_at, es_at, _) = format_changed_layout();
    let head = format_changed_payload(buffer);
    if head.is_null() {
        return None;
    }
    // SAFETY: `format_changed_payload` checked that the payload holds the
    // event struct, the format and its ES part at the layout's offsets (and
    // pointed the payload's pointers at them); each is read unaligned, as
    // plain integers and pointers that are not followed.
    Some(unsafe {
        let base = head.cast::<u8>();
        (
            head.read_unaligned(),
            base.add(fmt_at).cast::<sys::MMAL_ES_FORMAT_T>().read_unaligned(),
            base.add(es_at).cast::<sys::MMAL_VIDEO_FORMAT_T>().read_unaligned(),
        )
    })
}

/// `mmal_event_format_changed_get`: the payload of a FORMAT_CHANGED event,
/// or null. As libmmal: the command must be FORMAT_CHANGED and `length` at
/// least the event struct, a format and its ES part; the format pointer is
/// then pointed at the format after the struct, the format's `es` at the
/// ES part after it, and its extradata at the rest of `length`. Beyond
/// libmmal (which trusts `length`): the payload must exist and hold
/// `length` bytes, so that nothing is read or written past it.
pub(crate) fn format_changed_payload(buffer: BufPtr) -> *mut sys::MMAL_EVENT_FORMAT_CHANGED_T {
    let (fmt_at, es_at, min) = format_changed_layout();
    let (length, alloc) = (buffer.length(), buffer.alloc_size());
    if buffer.cmd() != sys::MMAL_EVENT_FORMAT_CHANGED || length < min {
        return ptr::null_mut();
    }
    if buffer.raw().data.is_null() || length > alloc {
        log::error!(
            "mmal_event_format_changed_get: the event's length ({length}) is more than its payload ({alloc} bytes)"
        );
        return ptr::null_mut();
    }
    buffer.with_payload(|bytes| {
        if bytes.len() < length {
            return ptr::null_mut();
        }
        let base = bytes.as_mut_ptr();
        // SAFETY: the payload holds `length >= min` bytes (checked above),
        // so the pointer fields written here, at the layout's offsets, lie
        // inside it; the holder of the header owns the payload. Written
        // unaligned: a client's payload may be anywhere.
        unsafe {
            let fmt = base.add(fmt_at).cast::<sys::MMAL_ES_FORMAT_T>();
            let es = base.add(es_at);
            ptr::addr_of_mut!((*base.cast::<sys::MMAL_EVENT_FORMAT_CHANGED_T>()).format).write_unaligned(fmt);
            ptr::addr_of_mut!((*fmt).es).write_unaligned(es.cast());
            ptr::addr_of_mut!((*fmt).extradata).write_unaligned(base.add(min));
            ptr::addr_of_mut!((*fmt).extradata_size).write_unaligned((length - min) as u32);
        }
        base.cast()
    })
}
