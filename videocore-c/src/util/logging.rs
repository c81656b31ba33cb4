//! `mmal_log_dump_port`/`_format`, which describe a port or a format in
//! the debug log (the `log` crate, level debug).

use std::borrow::Cow;
use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};

use mmal_sys as sys;

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
