//! Stills and the image encoder: raw capture, JPEG quality and restart markers, statistics pass, thumbnails, EXIF tags.

use super::prelude::*;

scalar!(
    /// `MMAL_PARAMETER_ENABLE_RAW_CAPTURE`, on the camera's still port: the
    /// raw Bayer data is appended to each JPEG the image encoder makes of
    /// it, as a `BRCM` block ([`crate::raw`] reads it).
    RawCapture(bool), sys::MMAL_PARAMETER_ENABLE_RAW_CAPTURE, "ENABLE_RAW_CAPTURE", sys::MMAL_PARAMETER_BOOLEAN_T,
    enable, |v| v != 0, |v: bool| v as i32
);
scalar!(
    /// `MMAL_PARAMETER_JPEG_RESTART_INTERVAL`, on an image encoder's output:
    /// a restart marker every this many MCUs (0: none).
    JpegRestartInterval(u32), sys::MMAL_PARAMETER_JPEG_RESTART_INTERVAL, "JPEG_RESTART_INTERVAL",
    sys::MMAL_PARAMETER_UINT32_T, value, |v| v, |v| v
);
scalar!(
    /// `MMAL_PARAMETER_EXIF_DISABLE`, on an image encoder's output: no EXIF
    /// block at all.
    ExifDisable(bool), sys::MMAL_PARAMETER_EXIF_DISABLE, "EXIF_DISABLE", sys::MMAL_PARAMETER_BOOLEAN_T, enable,
    |v| v != 0, |v: bool| v as i32
);

scalar!(
    /// `MMAL_PARAMETER_CAPTURE_STATS_PASS`: a statistics pass before each
    /// still, for exposure and white balance closer to the picture.
    StatsPass(bool), sys::MMAL_PARAMETER_CAPTURE_STATS_PASS, "CAPTURE_STATS_PASS", sys::MMAL_PARAMETER_BOOLEAN_T,
    enable, |v| v != 0, |v: bool| v as i32
);

scalar!(
    /// `MMAL_PARAMETER_JPEG_Q_FACTOR` (1–100), on an image encoder's output.
    JpegQuality(u32), sys::MMAL_PARAMETER_JPEG_Q_FACTOR, "JPEG_Q_FACTOR", sys::MMAL_PARAMETER_UINT32_T, value,
    |v| v, |v| v
);

/// `MMAL_PARAMETER_THUMBNAIL_CONFIGURATION`, on an image encoder's control
/// port: a small JPEG of each picture in its EXIF block (IFD1), where
/// viewers look for a preview. Off by default; raspistill and picamera ask
/// for `Thumbnail::new(64, 48, 35)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Thumbnail {
    /// Whether to embed one.
    pub enable: bool,
    /// Its width in pixels.
    pub width: u32,
    /// Its height in pixels.
    pub height: u32,
    /// Its JPEG quality, 1 to 100.
    pub quality: u32,
}

impl Thumbnail {
    /// No thumbnail.
    pub const OFF: Thumbnail = Thumbnail { enable: false, width: 0, height: 0, quality: 0 };

    /// A `width` x `height` thumbnail at JPEG `quality`.
    pub fn new(width: u32, height: u32, quality: u32) -> Thumbnail {
        Thumbnail { enable: true, width, height, quality }
    }
}

impl Parameter for Thumbnail {
    const ID: u32 = sys::MMAL_PARAMETER_THUMBNAIL_CONFIGURATION;
    const NAME: &'static str = "THUMBNAIL_CONFIGURATION";
}

impl GetParameter for Thumbnail {
    type C = sys::MMAL_PARAMETER_THUMBNAIL_CONFIG_T;
    fn from_c(c: &Self::C, _size: usize) -> Result<Self> {
        Ok(Thumbnail { enable: c.enable != 0, width: c.width, height: c.height, quality: c.quality })
    }
}

impl SetParameter for Thumbnail {
    type C = sys::MMAL_PARAMETER_THUMBNAIL_CONFIG_T;
    fn to_c(&self) -> Result<Self::C> {
        if self.enable && (self.width == 0 || self.height == 0 || !(1..=100).contains(&self.quality)) {
            return Err(Error::InvalidParameter(format!(
                "thumbnail {}x{} at quality {}: the size must not be 0 and the quality must be 1 to 100",
                self.width, self.height, self.quality
            )));
        }
        Ok(Self::C::with_id(Self::ID).tap(|c| {
            (c.enable, c.width, c.height, c.quality) = (u32::from(self.enable), self.width, self.height, self.quality);
        }))
    }
}

/// `MMAL_PARAMETER_EXIF`, on an image encoder's output: one EXIF tag for
/// the JPEGs it makes, by its firmware name (`IFD0.Model`, `IFD0.Artist`,
/// `EXIF.DateTimeOriginal`...). Set-only; set each tag in turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exif {
    /// The tag, as `IFD0.Artist`.
    pub key: String,
    /// Its value.
    pub value: String,
}

impl Exif {
    /// The tag `key` with `value`.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Exif {
        Exif { key: key.into(), value: value.into() }
    }
}

impl Parameter for Exif {
    const ID: u32 = sys::MMAL_PARAMETER_EXIF;
    const NAME: &'static str = "EXIF";
}

/// The word of [`MaxParameter`](sys::param::MaxParameter)`::words` where
/// the text of an `MMAL_PARAMETER_EXIF_T` starts, after its `keylen`,
/// `value_offset` and `valuelen`.
const EXIF_TEXT_WORD: usize =
    (std::mem::offset_of!(sys::MMAL_PARAMETER_EXIF_T, data) - size_of::<sys::MMAL_PARAMETER_HEADER_T>()) / 4;

impl SetParameter for Exif {
    type C = sys::param::MaxParameter;
    fn to_c(&self) -> Result<Self::C> {
        // keylen, value_offset and valuelen 0: the firmware splits
        // "key=value" itself. Then the NUL-terminated text.
        let text = format!("{}={}", self.key, self.value);
        let mut c = Self::C::with_id(Self::ID);
        let room = (c.words.len() - EXIF_TEXT_WORD) * 4 - 1;
        if text.len() > room || text.contains('\0') || self.key.contains('=') {
            return Err(Error::InvalidParameter(format!(
                "EXIF tag {:?}: at most {room} bytes of key=value, no NUL, no '=' in the key",
                self.key
            )));
        }
        let mut bytes = [0u8; 4];
        for (i, chunk) in text.as_bytes().chunks(4).enumerate() {
            bytes.fill(0);
            bytes[..chunk.len()].copy_from_slice(chunk);
            c.words[EXIF_TEXT_WORD + i] = u32::from_ne_bytes(bytes);
        }
        Ok(c)
    }
}
