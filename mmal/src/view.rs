//! A frame's bytes seen as a picture: its planes, with their strides, and
//! `ndarray` views over the buffer itself (no copy, no allocation).

use vcsm::ndarray::{ArrayView2, ArrayView3, ShapeBuilder};

use crate::error::{Error, Result};
use crate::format::{Encoding, Format};
use crate::stream::Frame;

/// One plane of a picture: `height` rows of `width` samples, `stride`
/// bytes apart, in the frame's own buffer.
#[derive(Debug, Clone, Copy)]
pub struct Plane<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
    stride: usize,
}

impl<'a> Plane<'a> {
    /// Samples per row (the visible picture, not the padding).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Rows.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Bytes from the start of one row to the next (rows are padded).
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// The plane's bytes, from its first row to the end of its last
    /// visible sample (padding between rows included).
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Row `y`'s visible samples.
    ///
    /// # Panics
    ///
    /// If `y` is not below [`height`](Self::height).
    pub fn row(&self, y: usize) -> &'a [u8] {
        assert!(y < self.height, "row {y} of a plane of {} rows", self.height);
        &self.data[y * self.stride..y * self.stride + self.width]
    }

    /// The plane as a `height`×`width` array over the buffer (rows
    /// `stride` apart): no copy.
    pub fn as_array(&self) -> ArrayView2<'a, u8> {
        ArrayView2::from_shape((self.height, self.width).strides((self.stride, 1)), self.data)
            .expect("a plane's bytes cover its rows (checked when it was made)")
    }
}

/// A frame's planes: Y, U and V for I420; one plane of packed pixels for
/// RGB, BGR, RGBA, BGRA and grey (`u` and `v` are then `None`).
#[derive(Debug, Clone, Copy)]
pub struct Planes<'a> {
    /// Luma (I420), or the packed pixels (`width` is then in bytes: 3 or
    /// 4 per pixel).
    pub y: Plane<'a>,
    /// Blue difference, at half size (I420).
    pub u: Option<Plane<'a>>,
    /// Red difference, at half size (I420).
    pub v: Option<Plane<'a>>,
}

/// Bytes per pixel of a packed encoding.
pub(crate) fn packed_channels(encoding: Encoding) -> Option<usize> {
    match encoding {
        Encoding::RGB24 | Encoding::BGR24 => Some(3),
        Encoding::RGBA | Encoding::BGRA => Some(4),
        Encoding::GREY => Some(1),
        _ => None,
    }
}

/// The part of `data` from `offset` holding `rows` rows of `width` bytes
/// `stride` apart, or why not.
fn plane<'a>(data: &'a [u8], offset: usize, width: usize, rows: usize, stride: usize, f: &Format) -> Result<Plane<'a>> {
    let needed = if rows == 0 { 0 } else { (rows - 1) * stride + width };
    let bytes = data.get(offset..).and_then(|d| d.get(..needed)).ok_or_else(|| {
        Error::State(format!(
            "a {f} frame of {} bytes is too short for its planes ({} needed from byte {offset})",
            data.len(),
            needed
        ))
    })?;
    Ok(Plane { data: bytes, width, height: rows, stride })
}

impl Frame {
    /// The frame's planes, with their strides, over the buffer itself.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mmal::{Camera, CameraOptions, Encoding};
    ///
    /// let camera = Camera::open(0, &CameraOptions::new().resolution(320, 240))?;
    /// let frames = camera.frames(Encoding::I420, 320, 240)?;
    /// let frame = frames.next_timeout(Duration::from_secs(10))?;
    /// let planes = frame.planes()?;
    /// assert_eq!((planes.y.width(), planes.y.height(), planes.y.stride()), (320, 240, 320));
    /// let u = planes.u.unwrap();
    /// assert_eq!((u.width(), u.height(), u.stride()), (160, 120, 160));
    /// # Ok::<(), mmal::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] for an encoded frame (JPEG, H.264…);
    /// [`Error::State`] if the buffer is shorter than its format says.
    pub fn planes(&self) -> Result<Planes<'_>> {
        let f = self.format();
        let data = self.data();
        let (w, h) = f.visible();
        let (w, h) = (w as usize, h as usize);
        let stride = f.stride();
        if let Some(channels) = packed_channels(f.encoding) {
            return Ok(Planes { y: plane(data, 0, w * channels, h, stride, &f)?, u: None, v: None });
        }
        if f.encoding != Encoding::I420 {
            return Err(Error::Unsupported(
                "planes and arrays are for I420, RGB24, BGR24, RGBA, BGRA and GREY frames; this one is encoded",
            ));
        }
        // I420: a Y plane `height` (rounded up to 16) rows of `stride`, then
        // U and V at half of each.
        let rows = f.height as usize;
        let (cw, ch, cstride) = (w.div_ceil(2), h.div_ceil(2), stride / 2);
        let u_at = stride * rows;
        let v_at = u_at + cstride * (rows / 2);
        Ok(Planes {
            y: plane(data, 0, w, h, stride, &f)?,
            u: Some(plane(data, u_at, cw, ch, cstride, &f)?),
            v: Some(plane(data, v_at, cw, ch, cstride, &f)?),
        })
    }

    /// The picture as a `height`×`width`×`channels` array over the buffer
    /// itself (rows `stride` apart, padding skipped): 3 channels for RGB24
    /// and BGR24 (in that order), 4 for RGBA and BGRA, 1 for grey, and
    /// for I420 the luma plane as one channel (see [`planes`](Self::planes)
    /// for U and V). No byte is copied and nothing is allocated.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mmal::{Camera, CameraOptions, Encoding};
    ///
    /// let camera = Camera::open(0, &CameraOptions::default())?;
    /// let frame = camera.frames(Encoding::RGB24, 100, 75)?.next_timeout(Duration::from_secs(10))?;
    /// let rgb = frame.as_array()?;
    /// assert_eq!(rgb.shape(), &[75, 100, 3]);
    /// assert_eq!(rgb.as_ptr(), frame.data().as_ptr()); // the buffer itself
    /// # Ok::<(), mmal::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`planes`](Self::planes).
    pub fn as_array(&self) -> Result<ArrayView3<'_, u8>> {
        let planes = self.planes()?;
        let channels = packed_channels(self.format().encoding).unwrap_or(1);
        let y = planes.y;
        let shape = (y.height, y.width / channels, channels).strides((y.stride, channels, 1));
        Ok(ArrayView3::from_shape(shape, y.data).expect("a plane's bytes cover its rows (checked when it was made)"))
    }
}
