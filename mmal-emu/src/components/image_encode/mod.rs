//! `vc.ril.image_encode`: a picture in (I420, RGB24, BGR24, RGBA, BGRA, or
//! the camera's OPAQUE images) to an image file out, in any format the
//! firmware's encoder offers: JPEG, GIF, PNG, BMP, PPM or TGA (the output
//! port's encoding). Every format gets the same RGB picture; the lossless
//! ones keep it exactly, GIF in a palette of 256 colours. A JPEG has the
//! quality
//! (`JPEG_Q_FACTOR`), restart interval (`JPEG_RESTART_INTERVAL`) and EXIF
//! block (`EXIF` tags, `EXIF_DISABLE`) the firmware honours. The JPEG goes
//! out across as many output buffers as it needs; the last carries
//! `FRAME_END` and `EOS`, as a Pi's still does. A still the camera took
//! with raw capture (`ENABLE_RAW_CAPTURE` on its still port, OPAQUE
//! input) gets its raw Bayer block appended, as `raspistill -r` files
//! have it. A thumbnail (`THUMBNAIL_CONFIGURATION` on the control port)
//! goes into the EXIF block's IFD1 as a small JPEG, where readers of EXIF
//! look for it. The other formats have no EXIF, thumbnail or raw block.

mod bmp;
mod gif;
pub(crate) mod png;
mod ppm;
mod tga;

use std::sync::Arc;

use parking_lot::Mutex;

use mmal_sys as sys;

use super::kept::{self, Kept, Spec};
use super::{Component, Encode, Encoded, PortId, Processor, Requirements};
use crate::core::params::{read_bool, read_u32, reply_bool, reply_u32};
use crate::format::{VideoFormat, VIDEO_ENCODINGS};
use crate::objects::{BufPtr, Status};

/// What the output gives, in the order the firmware lists them
/// (picamera's `MMALPort._supported_formats_patch`, from newer firmware).
const OUTPUT_ENCODINGS: [u32; 6] = [
    sys::MMAL_ENCODING_JPEG,
    sys::MMAL_ENCODING_GIF,
    sys::MMAL_ENCODING_PNG,
    sys::MMAL_ENCODING_BMP,
    sys::MMAL_ENCODING_PPM,
    sys::MMAL_ENCODING_TGA,
];

/// Output buffers: the firmware recommends three of 80 KiB.
const OUTPUT_REQUIREMENTS: Requirements = [1, 16 << 10, 3, 80 << 10];

/// The firmware's default JPEG quality.
const DEFAULT_QUALITY: u32 = 85;

/// The control port's parameters kept as given.
static CONTROL: &[Spec] = &[
    // enable, width, height, quality: off until a client asks (raspistill
    // and picamera ask for 64x48 at quality 35).
    Spec {
        id: sys::MMAL_PARAMETER_THUMBNAIL_CONFIGURATION,
        sizes: kept::exactly::<sys::MMAL_PARAMETER_THUMBNAIL_CONFIG_T>(),
        default: kept::words!(0, 0, 0, 0),
        valid: Some(kept::thumbnail),
    },
];

/// How the encoder is set up, shared with its encoding work.
#[derive(Debug, Clone)]
struct Settings {
    input: VideoFormat,
    /// The output's encoding: one of [`OUTPUT_ENCODINGS`].
    output: u32,
    quality: u32,
    restart_interval: u32,
    exif_disabled: bool,
    /// EXIF tags set by the client, `IFD0.Model`-style keys, in order.
    exif: Vec<(String, String)>,
    /// The thumbnail's width, height and quality, when enabled.
    thumbnail: Option<(u32, u32, u8)>,
}

pub(crate) struct ImageEncode {
    settings: Arc<Mutex<Settings>>,
    control: Kept,
}

impl ImageEncode {
    pub(crate) fn new() -> ImageEncode {
        ImageEncode {
            settings: Arc::new(Mutex::new(Settings {
                input: VideoFormat::default(),
                output: sys::MMAL_ENCODING_JPEG,
                quality: DEFAULT_QUALITY,
                restart_interval: 0,
                exif_disabled: false,
                exif: Vec::new(),
                thumbnail: None,
            })),
            control: Kept::default(),
        }
    }
}

/// The `key=value` string of an `MMAL_PARAMETER_EXIF_T` (header, three
/// words, then the string).
fn exif_tag(data: &[u8]) -> Result<(String, String), Status> {
    let text = data.get(std::mem::offset_of!(sys::MMAL_PARAMETER_EXIF_T, data)..).ok_or(sys::MMAL_EINVAL)?;
    let text = &text[..text.iter().position(|&b| b == 0).unwrap_or(text.len())];
    let text = std::str::from_utf8(text).map_err(|_| sys::MMAL_EINVAL)?;
    let (key, value) = text.split_once('=').ok_or(sys::MMAL_EINVAL)?;
    Ok((key.trim().to_owned(), value.to_owned()))
}

impl Component for ImageEncode {
    fn ports(&self) -> (usize, usize) {
        (1, 1)
    }

    fn encodings(&self, port: PortId) -> &'static [u32] {
        if port.is_output() {
            &OUTPUT_ENCODINGS
        } else {
            &VIDEO_ENCODINGS
        }
    }

    fn commit(&mut self, port: PortId, format: &VideoFormat) -> Result<Requirements, Status> {
        if port.is_output() {
            // The core has checked it is one of OUTPUT_ENCODINGS.
            self.settings.lock().output = format.encoding;
            return Ok(OUTPUT_REQUIREMENTS);
        }
        self.settings.lock().input = *format;
        let size = format.frame_size() as u32;
        Ok([1, size, 1, size])
    }

    fn set_parameter(&mut self, port: PortId, id: u32, data: &[u8], _enabled: bool) -> Result<(), Status> {
        if port.is_control() {
            return self.control.set(CONTROL, id, data).unwrap_or(Err(sys::MMAL_ENOSYS));
        }
        let mut s = self.settings.lock();
        match id {
            sys::MMAL_PARAMETER_JPEG_Q_FACTOR => {
                let q = read_u32(data)?;
                if !(1..=100).contains(&q) {
                    return Err(sys::MMAL_EINVAL);
                }
                s.quality = q;
            }
            sys::MMAL_PARAMETER_JPEG_RESTART_INTERVAL => s.restart_interval = read_u32(data)?.min(u32::from(u16::MAX)),
            sys::MMAL_PARAMETER_EXIF_DISABLE => {
                s.exif_disabled = read_bool(data)?;
            }
            sys::MMAL_PARAMETER_EXIF => {
                let (key, value) = exif_tag(data)?;
                s.exif.retain(|(k, _)| *k != key);
                s.exif.push((key, value));
            }
            _ => return Err(sys::MMAL_ENOSYS),
        }
        Ok(())
    }

    fn get_parameter(&self, port: PortId, id: u32, out: &mut [u8]) -> Result<usize, Status> {
        if port.is_control() {
            return self.control.get(CONTROL, id, out).ok_or(sys::MMAL_ENOSYS);
        }
        let s = self.settings.lock();
        match id {
            sys::MMAL_PARAMETER_JPEG_Q_FACTOR => Ok(reply_u32(out, id, s.quality)),
            sys::MMAL_PARAMETER_JPEG_RESTART_INTERVAL => Ok(reply_u32(out, id, s.restart_interval)),
            sys::MMAL_PARAMETER_EXIF_DISABLE => Ok(reply_bool(out, id, s.exif_disabled)),
            _ => Err(sys::MMAL_ENOSYS),
        }
    }

    fn processor(&self) -> Option<Processor> {
        let mut settings = self.settings.lock().clone();
        let [enable, width, height, quality] = self.control.words(CONTROL, sys::MMAL_PARAMETER_THUMBNAIL_CONFIGURATION);
        settings.thumbnail = (enable != 0 && width > 0 && height > 0)
            .then(|| (width.min(u32::from(u16::MAX)), height.min(u32::from(u16::MAX)), quality.clamp(1, 100) as u8));
        Some(Processor::Encoder(Arc::new(Still { settings })))
    }
}

/// Encodes one picture with the settings at the time its buffer came.
struct Still {
    settings: Settings,
}

impl Encode for Still {
    fn encode(&self, input: BufPtr) -> Option<Encoded> {
        let s = &self.settings;
        let (rgb, width, height) = crate::convert::to_rgb(input, &s.input)?;
        let data = match s.output {
            sys::MMAL_ENCODING_JPEG => jpeg(s, input, &rgb, width, height),
            sys::MMAL_ENCODING_GIF => gif::encode(&rgb, width, height),
            sys::MMAL_ENCODING_PNG => png::encode(&rgb, width, height),
            sys::MMAL_ENCODING_BMP => bmp::encode(&rgb, width, height),
            sys::MMAL_ENCODING_PPM => Some(ppm::encode(&rgb, width, height)),
            sys::MMAL_ENCODING_TGA => tga::encode(&rgb, width, height),
            other => {
                log::error!("vc.ril.image_encode: no encoder for {other:#x}");
                None
            }
        };
        let Some(data) = data else {
            log::error!("vc.ril.image_encode: a {width}x{height} picture cannot be written in {:#x}", s.output);
            return None;
        };
        let flags = sys::MMAL_BUFFER_HEADER_FLAG_FRAME_END | sys::MMAL_BUFFER_HEADER_FLAG_EOS;
        Some(Encoded { parts: vec![(data, flags)], pts: input.pts() })
    }
}

/// The JPEG of the packed RGB24 picture `rgb`, with the EXIF block,
/// thumbnail and raw block `s` asks for; `None`, logged, if it cannot be
/// made.
fn jpeg(s: &Settings, input: BufPtr, rgb: &[u8], width: u32, height: u32) -> Option<Vec<u8>> {
    let (Ok(w), Ok(h)) = (u16::try_from(width), u16::try_from(height)) else {
        log::error!("vc.ril.image_encode: a {width}x{height} picture is too large for JPEG");
        return None;
    };
    let mut data = Vec::with_capacity(rgb.len() / 8);
    let mut encoder = jpeg_encoder::Encoder::new(&mut data, s.quality.clamp(1, 100) as u8);
    if s.restart_interval > 0 {
        encoder.set_restart_interval(s.restart_interval as u16);
    }
    if !s.exif_disabled {
        let thumbnail = s.thumbnail.and_then(|(tw, th, quality)| thumbnail(rgb, (width, height), (tw, th), quality));
        if let Err(e) = encoder.add_app_segment(1, exif_block(&s.exif, thumbnail.as_deref())) {
            log::error!("vc.ril.image_encode: EXIF: {e}");
        }
    }
    if let Err(e) = encoder.encode(rgb, w, h, jpeg_encoder::ColorType::Rgb) {
        log::error!("vc.ril.image_encode: {e}");
        return None;
    }
    // A still captured with raw: its Bayer data follows the JPEG.
    if s.input.encoding == sys::MMAL_ENCODING_OPAQUE {
        if let Some(raw) = input.with_data(crate::opaque::read).and_then(|image| image.raw_block()) {
            data.extend_from_slice(&raw);
        }
    }
    Some(data)
}

/// IFD0 tags the encoder writes, by the key a client names them with.
const IFD0_TAGS: [(&str, u16); 7] = [
    ("IFD0.ImageDescription", 0x010e),
    ("IFD0.Make", 0x010f),
    ("IFD0.Model", 0x0110),
    ("IFD0.Software", 0x0131),
    ("IFD0.DateTime", 0x0132),
    ("IFD0.Artist", 0x013b),
    ("IFD0.Copyright", 0x8298),
];

/// The largest EXIF block an APP1 segment holds (its length field counts
/// itself).
const APP1_MAX: usize = 65533;

/// The largest thumbnail made: more would not fit the EXIF block (64 KiB)
/// at any useful quality.
const THUMBNAIL_MAX_PIXELS: usize = 256 * 256;

/// A `tw` x `th` JPEG at `quality` of the packed RGB24 picture `rgb`
/// (`size`), each pixel the mean of the area it covers. `None`, logged,
/// when it cannot be made.
fn thumbnail(rgb: &[u8], size: (u32, u32), thumb: (u32, u32), quality: u8) -> Option<Vec<u8>> {
    let ((w, h), (tw, th)) = ((size.0 as usize, size.1 as usize), (thumb.0 as usize, thumb.1 as usize));
    if tw == 0 || th == 0 || tw > w || th > h || tw * th > THUMBNAIL_MAX_PIXELS {
        log::warn!(
            "vc.ril.image_encode: a {tw}x{th} thumbnail of a {w}x{h} picture is not made (at most {} pixels, and \
             no larger than the picture)",
            THUMBNAIL_MAX_PIXELS
        );
        return None;
    }
    let mut small = Vec::with_capacity(tw * th * 3);
    for ty in 0..th {
        let (y0, y1) = (ty * h / th, ((ty + 1) * h / th).max(ty * h / th + 1));
        for tx in 0..tw {
            let (x0, x1) = (tx * w / tw, ((tx + 1) * w / tw).max(tx * w / tw + 1));
            let mut sum = [0u64; 3];
            for y in y0..y1 {
                for px in rgb[(y * w + x0) * 3..(y * w + x1) * 3].chunks_exact(3) {
                    for c in 0..3 {
                        sum[c] += u64::from(px[c]);
                    }
                }
            }
            let n = ((y1 - y0) * (x1 - x0)) as u64;
            small.extend(sum.map(|v| ((v + n / 2) / n) as u8));
        }
    }
    let mut data = Vec::new();
    let encoder = jpeg_encoder::Encoder::new(&mut data, quality);
    match encoder.encode(&small, tw as u16, th as u16, jpeg_encoder::ColorType::Rgb) {
        Ok(()) => Some(data),
        Err(e) => {
            log::error!("vc.ril.image_encode: thumbnail: {e}");
            None
        }
    }
}

/// An APP1 `Exif` block: a little-endian TIFF with IFD0 holding the
/// client's tags over the defaults a Pi writes (`Make` `RaspberryPi`,
/// `Model` `RP_` and the sensor's name), and IFD1 with the thumbnail, if
/// any, after it. Tags the encoder does not know are logged and left out;
/// a thumbnail too large for the segment is logged and left out.
fn exif_block(tags: &[(String, String)], thumbnail: Option<&[u8]>) -> Vec<u8> {
    let model = format!("RP_{}", crate::settings::sensor().name());
    let mut entries: Vec<(u16, String)> = vec![(0x010f, "RaspberryPi".to_owned()), (0x0110, model)];
    for (key, value) in tags {
        match IFD0_TAGS.iter().find(|(k, _)| k == key) {
            Some(&(_, tag)) => match entries.iter_mut().find(|(t, _)| *t == tag) {
                Some(entry) => entry.1 = value.clone(),
                None => entries.push((tag, value.clone())),
            },
            None => log::debug!("vc.ril.image_encode: EXIF tag {key} is not written"),
        }
    }
    entries.sort_by_key(|(tag, _)| *tag);
    // "Exif\0\0", then the TIFF: header, IFD0 (count, 12-byte entries, next
    // IFD 0), then the strings.
    let mut b = b"Exif\0\0II\x2a\x00\x08\x00\x00\x00".to_vec();
    let tiff_start = 6;
    let ifd_len = 2 + 12 * entries.len() + 4;
    let mut strings = Vec::new();
    b.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, value) in &entries {
        let mut text = value.as_bytes().to_vec();
        text.push(0);
        b.extend_from_slice(&tag.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes()); // ASCII
        b.extend_from_slice(&(text.len() as u32).to_le_bytes());
        if text.len() <= 4 {
            let mut inline = [0u8; 4];
            inline[..text.len()].copy_from_slice(&text);
            b.extend_from_slice(&inline);
        } else {
            // Offsets are even (TIFF words): each string is padded.
            let offset = 8 + ifd_len + strings.len();
            b.extend_from_slice(&(offset as u32).to_le_bytes());
            strings.extend_from_slice(&text);
            if strings.len() % 2 == 1 {
                strings.push(0);
            }
        }
    }
    let next_ifd_at = b.len();
    b.extend_from_slice(&0u32.to_le_bytes());
    debug_assert_eq!(b.len() - tiff_start, 8 + ifd_len);
    b.extend_from_slice(&strings);
    // IFD1: Compression 6 (JPEG), the resolution tags Exif asks for with
    // it (72 dpi), JPEGInterchangeFormat and its length; then the two
    // rationals and the thumbnail.
    const IFD1_LEN: usize = 2 + 12 * 6 + 4;
    match thumbnail {
        Some(jpeg) if b.len() + IFD1_LEN + 16 + jpeg.len() <= APP1_MAX => {
            let ifd1 = b.len() - tiff_start;
            b[next_ifd_at..next_ifd_at + 4].copy_from_slice(&(ifd1 as u32).to_le_bytes());
            let (resolution, data) = (ifd1 + IFD1_LEN, ifd1 + IFD1_LEN + 16);
            let entry = |b: &mut Vec<u8>, tag: u16, kind: u16, value: u32| {
                b.extend_from_slice(&tag.to_le_bytes());
                b.extend_from_slice(&kind.to_le_bytes());
                b.extend_from_slice(&1u32.to_le_bytes());
                b.extend_from_slice(&value.to_le_bytes());
            };
            b.extend_from_slice(&6u16.to_le_bytes());
            entry(&mut b, 0x0103, 3, 6); // SHORT, left-justified in the word
            entry(&mut b, 0x011a, 5, resolution as u32); // XResolution, RATIONAL
            entry(&mut b, 0x011b, 5, resolution as u32 + 8); // YResolution
            entry(&mut b, 0x0128, 3, 2); // ResolutionUnit: inches
            entry(&mut b, 0x0201, 4, data as u32);
            entry(&mut b, 0x0202, 4, jpeg.len() as u32);
            b.extend_from_slice(&0u32.to_le_bytes());
            for _ in 0..2 {
                b.extend_from_slice(&72u32.to_le_bytes());
                b.extend_from_slice(&1u32.to_le_bytes());
            }
            debug_assert_eq!(b.len() - tiff_start, data);
            b.extend_from_slice(jpeg);
        }
        Some(jpeg) => {
            log::warn!("vc.ril.image_encode: a {}-byte thumbnail does not fit the EXIF block; left out", jpeg.len())
        }
        None => {}
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exif_block_is_a_tiff_with_the_pi_defaults() {
        let b = exif_block(
            &[("IFD0.Artist".to_owned(), "me".to_owned()), ("GPS.Nothing".to_owned(), "x".to_owned())],
            None,
        );
        assert_eq!(&b[..6], b"Exif\0\0");
        let tiff = &b[6..];
        assert_eq!(&tiff[..4], b"II\x2a\x00");
        let count = u16::from_le_bytes([tiff[8], tiff[9]]);
        assert_eq!(count, 3, "Make, Model, Artist");
        let entry = |i: usize| &tiff[10 + 12 * i..22 + 12 * i];
        let string = |i: usize| {
            let e = entry(i);
            let len = u32::from_le_bytes([e[4], e[5], e[6], e[7]]) as usize;
            let text = if len <= 4 {
                &e[8..8 + len]
            } else {
                let at = u32::from_le_bytes([e[8], e[9], e[10], e[11]]) as usize;
                &tiff[at..at + len]
            };
            String::from_utf8(text[..len - 1].to_vec()).unwrap()
        };
        assert_eq!(u16::from_le_bytes([entry(0)[0], entry(0)[1]]), 0x010f);
        assert_eq!(string(0), "RaspberryPi");
        assert_eq!(string(1), format!("RP_{}", crate::settings::sensor().name()));
        assert_eq!(string(2), "me");
        // No thumbnail: no IFD1.
        let next = 10 + 12 * 3;
        assert_eq!(&tiff[next..next + 4], &[0; 4]);
    }

    #[test]
    fn a_thumbnail_goes_into_ifd1_as_a_jpeg_of_the_asked_size() {
        // A left-to-right ramp, 320x240.
        let rgb: Vec<u8> = (0..240).flat_map(|_| (0..320u32).flat_map(|x| [(x * 255 / 319) as u8; 3])).collect();
        let jpeg = thumbnail(&rgb, (320, 240), (64, 48), 35).unwrap();
        let b = exif_block(&[], Some(&jpeg));
        let tiff = &b[6..];
        let u16_at = |at: usize| u16::from_le_bytes([tiff[at], tiff[at + 1]]);
        let u32_at = |at: usize| u32::from_le_bytes([tiff[at], tiff[at + 1], tiff[at + 2], tiff[at + 3]]) as usize;
        let count = usize::from(u16_at(8));
        let ifd1 = u32_at(10 + 12 * count);
        assert!(ifd1 > 0);
        assert_eq!(ifd1 % 2, 0, "IFDs start on a word boundary");
        assert_eq!(u16_at(ifd1), 6);
        let tag = |i: usize| (u16_at(ifd1 + 2 + 12 * i), u32_at(ifd1 + 10 + 12 * i));
        assert_eq!(tag(0), (0x0103, 6));
        assert_eq!(tag(3), (0x0128, 2));
        let x_resolution = tag(1).1;
        assert_eq!((u32_at(x_resolution), u32_at(x_resolution + 4)), (72, 1));
        let (offset, len) = (tag(4), tag(5));
        assert_eq!((offset.0, len.0), (0x0201, 0x0202));
        let embedded = &tiff[offset.1..offset.1 + len.1];
        assert_eq!(embedded, &jpeg[..]);
        let mut decoder = jpeg_decoder::Decoder::new(embedded);
        let pixels = decoder.decode().unwrap();
        let info = decoder.info().unwrap();
        assert_eq!((info.width, info.height), (64, 48));
        // Still the ramp: dark on the left, light on the right.
        assert!(pixels[3 * (24 * 64 + 2)] < 40 && pixels[3 * (24 * 64 + 61)] > 215);
        // Larger than the picture, empty or too large for EXIF: none.
        assert!(thumbnail(&rgb, (320, 240), (640, 48), 35).is_none());
        assert!(thumbnail(&rgb, (320, 240), (0, 48), 35).is_none());
        // An odd-length string before IFD1 keeps it on a word boundary.
        let b = exif_block(&[("IFD0.Artist".to_owned(), "abcd".to_owned())], Some(&jpeg));
        let tiff = &b[6..];
        let next = 10 + 12 * usize::from(u16::from_le_bytes([tiff[8], tiff[9]]));
        assert_eq!(u32::from_le_bytes(tiff[next..next + 4].try_into().unwrap()) % 2, 0);
        // Too large for the segment: left out, IFD0 still there.
        let huge = vec![0u8; APP1_MAX];
        let b = exif_block(&[], Some(&huge));
        assert!(b.len() < 1024);
    }

    #[test]
    fn exif_tags_come_as_key_equals_value() {
        let mut data = vec![0u8; 20];
        data.extend_from_slice(b"IFD0.Model=RP_test\0");
        assert_eq!(exif_tag(&data).unwrap(), ("IFD0.Model".to_owned(), "RP_test".to_owned()));
        let mut bad = vec![0u8; 20];
        bad.extend_from_slice(b"no equals\0");
        assert_eq!(exif_tag(&bad), Err(sys::MMAL_EINVAL));
    }
}
