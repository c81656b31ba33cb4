//! Video formats as the emulated components see them.

use mmal_sys as sys;

/// What a port's picture looks like: the committed format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct VideoFormat {
    pub(crate) encoding: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) crop: (u32, u32, u32, u32),
    pub(crate) frame_rate: (i32, i32),
    /// The format's `bitrate` (an encoder's output: what to aim for).
    pub(crate) bitrate: u32,
}

/// `v` rounded up to a multiple of `a`; `None` if that does not fit in a
/// `u32` (or `a` is 0). For sizes from outside (a client, a test hook).
pub(crate) const fn checked_align(v: u32, a: u32) -> Option<u32> {
    if a == 0 {
        return None;
    }
    v.div_ceil(a).checked_mul(a)
}

/// `v` rounded up to a multiple of `a`, or the largest multiple of `a` a
/// `u32` holds if that is smaller: never panics. For sizes already
/// checked (a committed format's are at most 8192).
pub(crate) const fn align(v: u32, a: u32) -> u32 {
    match checked_align(v, a) {
        Some(aligned) => aligned,
        None if a == 0 => v,
        None => u32::MAX - u32::MAX % a,
    }
}

impl VideoFormat {
    /// From a C format's encoding and video part.
    pub(crate) fn from_c(encoding: u32, v: &mmal_sys::MMAL_VIDEO_FORMAT_T) -> VideoFormat {
        let c = &v.crop;
        VideoFormat {
            encoding,
            width: v.width,
            height: v.height,
            crop: (c.x.max(0) as u32, c.y.max(0) as u32, c.width.max(0) as u32, c.height.max(0) as u32),
            frame_rate: (v.frame_rate.num, v.frame_rate.den),
            bitrate: 0,
        }
    }

    /// Visible size: the crop rectangle, or the whole buffer if unset.
    pub(crate) fn visible(&self) -> (u32, u32) {
        if self.crop.2 > 0 && self.crop.3 > 0 {
            (self.crop.2.min(self.width), self.crop.3.min(self.height))
        } else {
            (self.width, self.height)
        }
    }

    /// Bytes per row of the first plane, and rows. (Saturating, so an
    /// unchecked format's absurd size gives an absurd answer, not a
    /// panic; the core commits no format over 8192 pixels a side.)
    pub(crate) fn geometry(&self) -> (usize, usize) {
        let stride = align(self.width, 32) as usize;
        let rows = align(self.height, 16) as usize;
        let bpp = match self.encoding {
            sys::MMAL_ENCODING_RGB24 | sys::MMAL_ENCODING_BGR24 => 3,
            sys::MMAL_ENCODING_RGBA | sys::MMAL_ENCODING_BGRA => 4,
            _ => 1,
        };
        (stride.saturating_mul(bpp), rows)
    }

    /// The buffer size one frame needs (`buffer_size_min`).
    pub(crate) fn frame_size(&self) -> usize {
        let (stride, rows) = self.geometry();
        let plane = stride.saturating_mul(rows);
        match self.encoding {
            sys::MMAL_ENCODING_I420 => plane.saturating_mul(3) / 2,
            sys::MMAL_ENCODING_OPAQUE => OPAQUE_SIZE,
            _ => plane,
        }
    }

    /// Frames per second the format asks for (0 if unset).
    pub(crate) fn fps(&self) -> f32 {
        if self.frame_rate.1 > 0 && self.frame_rate.0 > 0 {
            self.frame_rate.0 as f32 / self.frame_rate.1 as f32
        } else {
            0.0
        }
    }
}

/// Payload of an OPAQUE buffer: a handle to an image that stays on the
/// VideoCore.
pub(crate) const OPAQUE_SIZE: usize = 128;

/// The uncompressed video encodings the emulated components take, in the
/// firmware's order.
pub(crate) const VIDEO_ENCODINGS: [u32; 6] = [
    sys::MMAL_ENCODING_OPAQUE,
    sys::MMAL_ENCODING_I420,
    sys::MMAL_ENCODING_RGB24,
    sys::MMAL_ENCODING_BGR24,
    sys::MMAL_ENCODING_RGBA,
    sys::MMAL_ENCODING_BGRA,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligning_a_huge_size_never_panics() {
        assert_eq!(checked_align(100, 32), Some(128));
        assert_eq!(checked_align(u32::MAX, 32), None);
        assert_eq!(checked_align(u32::MAX - 15, 16), Some(u32::MAX - 15));
        assert_eq!(checked_align(u32::MAX - 14, 16), None);
        assert_eq!(checked_align(7, 0), None);
        assert_eq!(align(100, 16), 112);
        assert_eq!(align(u32::MAX, 32), u32::MAX - 31);
        let huge =
            VideoFormat { encoding: sys::MMAL_ENCODING_RGBA, width: u32::MAX, height: u32::MAX, ..Default::default() };
        assert!(huge.frame_size() > 0);
        let i420 = VideoFormat { encoding: sys::MMAL_ENCODING_I420, width: 100, height: 100, ..Default::default() };
        assert_eq!(i420.frame_size(), 21504);
    }
}
