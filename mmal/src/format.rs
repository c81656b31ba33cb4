//! Port formats and FourCC encodings.

use std::fmt;

use mmal_sys as sys;

/// A FourCC encoding (`MMAL_ENCODING_*`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Encoding(u32);

impl Encoding {
    /// Planar YUV 4:2:0: a Y plane, then U and V at half size.
    pub const I420: Encoding = Encoding(sys::MMAL_ENCODING_I420);
    /// Packed 8-bit R, G, B.
    pub const RGB24: Encoding = Encoding(sys::MMAL_ENCODING_RGB24);
    /// Packed 8-bit B, G, R.
    pub const BGR24: Encoding = Encoding(sys::MMAL_ENCODING_BGR24);
    /// Packed 8-bit R, G, B, A.
    pub const RGBA: Encoding = Encoding(sys::MMAL_ENCODING_RGBA);
    /// Packed 8-bit B, G, R, A.
    pub const BGRA: Encoding = Encoding(sys::MMAL_ENCODING_BGRA);
    /// An image that stays on the VideoCore (for tunnels to encoders).
    pub const OPAQUE: Encoding = Encoding(sys::MMAL_ENCODING_OPAQUE);
    /// JPEG.
    pub const JPEG: Encoding = Encoding(sys::MMAL_ENCODING_JPEG);
    /// H.264.
    pub const H264: Encoding = Encoding(sys::MMAL_ENCODING_H264);
    /// Motion JPEG.
    pub const MJPEG: Encoding = Encoding(sys::MMAL_ENCODING_MJPEG);
    /// Semi-planar YUV 4:2:0.
    pub const NV12: Encoding = Encoding(sys::MMAL_ENCODING_NV12);
    /// 8-bit greyscale.
    pub const GREY: Encoding = Encoding(sys::MMAL_ENCODING_GREY);
    /// PNG, from the image encoder.
    pub const PNG: Encoding = Encoding(sys::MMAL_ENCODING_PNG);
    /// GIF, from the image encoder.
    pub const GIF: Encoding = Encoding(sys::MMAL_ENCODING_GIF);
    /// BMP, from the image encoder.
    pub const BMP: Encoding = Encoding(sys::MMAL_ENCODING_BMP);
    /// PPM (binary `P6`), from the image encoder.
    pub const PPM: Encoding = Encoding(sys::MMAL_ENCODING_PPM);
    /// TGA, from the image encoder.
    pub const TGA: Encoding = Encoding(sys::MMAL_ENCODING_TGA);

    /// The encoding with this FourCC, e.g. `Encoding::from_fourcc(b"I420")`.
    pub const fn from_fourcc(code: &[u8; 4]) -> Encoding {
        Encoding(sys::fourcc(code))
    }

    /// The encoding for a raw `MMAL_ENCODING_*` value.
    pub const fn from_raw(raw: u32) -> Encoding {
        Encoding(raw)
    }

    /// The raw value.
    pub const fn to_raw(self) -> u32 {
        self.0
    }

    /// The four characters.
    pub fn fourcc(self) -> [u8; 4] {
        self.0.to_le_bytes()
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("(none)");
        }
        for b in self.fourcc() {
            let c = if b.is_ascii_graphic() || b == b' ' { b as char } else { '?' };
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Encoding({self})")
    }
}

/// A rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rect {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width.
    pub width: i32,
    /// Height.
    pub height: i32,
}

/// A fraction, as MMAL passes frame rates and gains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rational {
    /// Numerator.
    pub num: i32,
    /// Denominator.
    pub den: i32,
}

impl Rational {
    /// `num / den`.
    pub const fn new(num: i32, den: i32) -> Rational {
        Rational { num, den }
    }

    /// The value as a float (0 if the denominator is 0).
    pub fn to_f64(self) -> f64 {
        if self.den == 0 {
            0.0
        } else {
            f64::from(self.num) / f64::from(self.den)
        }
    }

    /// `value` as `num / 65536`, as raspistill passes gains.
    pub fn from_f64(value: f64) -> Rational {
        Rational { num: (value * 65536.0).round() as i32, den: 65536 }
    }
}

/// A port's video format: what [`Port::format`](crate::Port::format) reads
/// and [`Port::set_format`](crate::Port::set_format) commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Format {
    /// The encoding.
    pub encoding: Encoding,
    /// Buffer width in pixels: the picture's width rounded up to 32.
    pub width: u32,
    /// Buffer height in pixels: the picture's height rounded up to 16.
    pub height: u32,
    /// The visible picture within the buffer.
    pub crop: Rect,
    /// Frames per second; 0/1 lets the component choose.
    pub frame_rate: Rational,
    /// Bits per second, for compressed formats (0 otherwise).
    pub bitrate: u32,
}

impl Format {
    /// A `width`×`height` picture in `encoding`, laid out as the VideoCore
    /// wants it: the buffer is `width` rounded up to 32 by `height` rounded
    /// up to 16, and `crop` is the picture.
    ///
    /// ```
    /// use mmal::{Encoding, Format};
    /// let f = Format::video(Encoding::I420, 1920, 1080);
    /// assert_eq!((f.width, f.height), (1920, 1088));
    /// assert_eq!((f.crop.width, f.crop.height), (1920, 1080));
    /// ```
    pub fn video(encoding: Encoding, width: u32, height: u32) -> Format {
        Format {
            encoding,
            width: width.div_ceil(32) * 32,
            height: height.div_ceil(16) * 16,
            crop: Rect { x: 0, y: 0, width: width as i32, height: height as i32 },
            frame_rate: Rational::new(0, 1),
            bitrate: 0,
        }
    }

    /// The same format in `encoding`.
    pub fn with_encoding(mut self, encoding: Encoding) -> Format {
        self.encoding = encoding;
        self
    }

    /// The same format at `fps` frames per second.
    pub fn with_frame_rate(mut self, fps: u32) -> Format {
        self.frame_rate = Rational::new(fps as i32, 1);
        self
    }

    /// The same format at `bps` bits per second (an encoder's output: the
    /// rate it aims for).
    pub fn with_bitrate(mut self, bps: u32) -> Format {
        self.bitrate = bps;
        self
    }

    /// Bytes between rows of the first plane (packed formats: all of it).
    pub fn stride(&self) -> usize {
        // Saturating: a width no port accepts must not wrap on 32 bits.
        let w = (self.width.div_ceil(32) as usize).saturating_mul(32);
        match self.encoding {
            Encoding::RGB24 | Encoding::BGR24 => w.saturating_mul(3),
            Encoding::RGBA | Encoding::BGRA => w.saturating_mul(4),
            _ => w,
        }
    }

    /// The visible size, `(width, height)`: the crop, or the buffer if the
    /// crop is empty.
    pub fn visible(&self) -> (u32, u32) {
        if self.crop.width > 0 && self.crop.height > 0 {
            (self.crop.width as u32, self.crop.height as u32)
        } else {
            (self.width, self.height)
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (w, h) = self.visible();
        write!(f, "{} {w}x{h}", self.encoding)?;
        if self.frame_rate.num > 0 {
            write!(f, " @ {:.3} fps", self.frame_rate.to_f64())?;
        }
        Ok(())
    }
}
