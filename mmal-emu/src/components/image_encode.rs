//! `vc.ril.image_encode`: a picture in (I420, RGB24, BGR24, RGBA, BGRA, or
//! the camera's OPAQUE images) to a JPEG out, with the quality
//! (`JPEG_Q_FACTOR`), restart interval (`JPEG_RESTART_INTERVAL`) and EXIF
//! block (`EXIF` tags, `EXIF_DISABLE`) the firmware honours. The JPEG goes
//! out across as many output buffers as it needs; the last carries
//! `FRAME_END` and `EOS`, as a Pi's still does. A still the camera took
//! with raw capture (`ENABLE_RAW_CAPTURE` on its still port, OPAQUE
//! input) gets its raw Bayer block appended, as `raspistill -r` files
//! have it. Thumbnails are accepted (`THUMBNAIL_CONFIGURATION` is kept)
//! but not embedded.

use std::sync::{Arc, Mutex};

use mmal_sys as sys;
use sys::param::ParameterStruct;

use super::kept::{self, Kept, Spec};
use super::{Component, Encode, Encoded, PortId, Requirements};
use crate::core::params::read;
use crate::format::{VideoFormat, VIDEO_ENCODINGS};
use crate::objects::{lock, BufPtr, Status};

/// What the output gives.
const OUTPUT_ENCODINGS: [u32; 1] = [sys::MMAL_ENCODING_JPEG];

/// Output buffers: the firmware recommends three of 80 KiB.
const OUTPUT_REQUIREMENTS: Requirements = [1, 16 << 10, 3, 80 << 10];

/// The firmware's default JPEG quality.
const DEFAULT_QUALITY: u32 = 85;

/// The control port's parameters kept as given.
static CONTROL: &[Spec] = &[
    // Enabled, 64x48 at quality 35 when enabled by a client.
    Spec { id: sys::MMAL_PARAMETER_THUMBNAIL_CONFIGURATION, sizes: (16, 16), default: kept::words!(0, 0, 0, 0) },
];

/// How the encoder is set up, shared with its encoding work.
#[derive(Debug, Clone)]
struct Settings {
    input: VideoFormat,
    quality: u32,
    restart_interval: u32,
    exif_disabled: bool,
    /// EXIF tags set by the client, `IFD0.Model`-style keys, in order.
    exif: Vec<(String, String)>,
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
                quality: DEFAULT_QUALITY,
                restart_interval: 0,
                exif_disabled: false,
                exif: Vec::new(),
            })),
            control: Kept::default(),
        }
    }
}

/// The `key=value` string of an `MMAL_PARAMETER_EXIF_T` (header, three
/// words, then the string).
fn exif_tag(data: &[u8]) -> Result<(String, String), Status> {
    let text = data.get(20..).ok_or(sys::MMAL_EINVAL)?;
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
            return Ok(OUTPUT_REQUIREMENTS);
        }
        lock(&self.settings).input = *format;
        let size = format.frame_size() as u32;
        Ok([1, size, 1, size])
    }

    fn set_parameter(&mut self, port: PortId, id: u32, data: &[u8], _enabled: bool) -> Result<(), Status> {
        if port.is_control() {
            return self.control.set(CONTROL, id, data).unwrap_or(Err(sys::MMAL_ENOSYS));
        }
        let mut s = lock(&self.settings);
        let uint = || read::<sys::MMAL_PARAMETER_UINT32_T>(data).map(|p| p.value);
        match id {
            sys::MMAL_PARAMETER_JPEG_Q_FACTOR => {
                let q = uint()?;
                if !(1..=100).contains(&q) {
                    return Err(sys::MMAL_EINVAL);
                }
                s.quality = q;
            }
            sys::MMAL_PARAMETER_JPEG_RESTART_INTERVAL => s.restart_interval = uint()?.min(u32::from(u16::MAX)),
            sys::MMAL_PARAMETER_EXIF_DISABLE => {
                s.exif_disabled = read::<sys::MMAL_PARAMETER_BOOLEAN_T>(data)?.enable != 0;
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
        let s = lock(&self.settings);
        let uint = |out: &mut [u8], value: u32| {
            let mut p = sys::MMAL_PARAMETER_UINT32_T::with_id(id);
            p.value = value;
            Ok(crate::core::params::reply(out, &p))
        };
        match id {
            sys::MMAL_PARAMETER_JPEG_Q_FACTOR => uint(out, s.quality),
            sys::MMAL_PARAMETER_JPEG_RESTART_INTERVAL => uint(out, s.restart_interval),
            sys::MMAL_PARAMETER_EXIF_DISABLE => {
                let mut p = sys::MMAL_PARAMETER_BOOLEAN_T::with_id(id);
                p.enable = i32::from(s.exif_disabled);
                Ok(crate::core::params::reply(out, &p))
            }
            _ => Err(sys::MMAL_ENOSYS),
        }
    }

    fn encoder(&self) -> Option<Arc<dyn Encode>> {
        Some(Arc::new(Jpeg { settings: lock(&self.settings).clone() }))
    }
}

/// Encodes one picture with the settings at the time its buffer came.
struct Jpeg {
    settings: Settings,
}

impl Encode for Jpeg {
    fn encode(&self, input: BufPtr) -> Option<Encoded> {
        let s = &self.settings;
        let (rgb, width, height) = crate::convert::to_rgb(input, &s.input)?;
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
            if let Err(e) = encoder.add_app_segment(1, exif_block(&s.exif)) {
                log::error!("vc.ril.image_encode: EXIF: {e}");
            }
        }
        if let Err(e) = encoder.encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb) {
            log::error!("vc.ril.image_encode: {e}");
            return None;
        }
        // A still captured with raw: its Bayer data follows the JPEG.
        if s.input.encoding == sys::MMAL_ENCODING_OPAQUE {
            if let Some(raw) = input.with_data(crate::opaque::read).and_then(|image| image.raw_block()) {
                data.extend_from_slice(&raw);
            }
        }
        let flags = sys::MMAL_BUFFER_HEADER_FLAG_FRAME_END | sys::MMAL_BUFFER_HEADER_FLAG_EOS;
        Some(Encoded { data, flags, pts: input.pts() })
    }
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

/// An APP1 `Exif` block: a little-endian TIFF with IFD0 holding the
/// client's tags over the defaults a Pi writes (`Make` `RaspberryPi`,
/// `Model` `RP_` and the sensor's name). Tags the encoder does not know
/// are logged and left out.
fn exif_block(tags: &[(String, String)]) -> Vec<u8> {
    let model = format!("RP_{}", crate::sensor().name());
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
            let offset = 8 + ifd_len + strings.len();
            b.extend_from_slice(&(offset as u32).to_le_bytes());
            strings.extend_from_slice(&text);
        }
    }
    b.extend_from_slice(&0u32.to_le_bytes());
    debug_assert_eq!(b.len() - tiff_start, 8 + ifd_len);
    b.extend_from_slice(&strings);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exif_block_is_a_tiff_with_the_pi_defaults() {
        let b = exif_block(&[("IFD0.Artist".to_owned(), "me".to_owned()), ("GPS.Nothing".to_owned(), "x".to_owned())]);
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
        assert_eq!(string(1), format!("RP_{}", crate::sensor().name()));
        assert_eq!(string(2), "me");
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
