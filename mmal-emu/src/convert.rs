//! Pictures converted between the uncompressed encodings the components
//! take (I420, RGB24, BGR24, RGBA, BGRA) and scaled: what the resizer and
//! the splitter do, with nearest-neighbour sampling and the full-range
//! BT.601 matrix the camera uses.

use mmal_sys as sys;

use crate::format::VideoFormat;
use crate::yuv::{self, rgb_to_yuv, yuv_to_rgb, I420};

/// A picture in memory, read pixel by pixel.
pub(crate) struct Picture<'a> {
    data: &'a [u8],
    encoding: u32,
    /// Bytes per row of the first plane, and rows (aligned).
    stride: usize,
    rows: usize,
    visible: (u32, u32),
}

impl<'a> Picture<'a> {
    pub(crate) fn new(format: &VideoFormat, data: &'a [u8]) -> Picture<'a> {
        let (stride, rows) = format.geometry();
        Picture { data, encoding: format.encoding, stride, rows, visible: format.visible() }
    }

    /// `(Y, U, V)` or `(R, G, B)` at `(x, y)`, whichever the encoding holds,
    /// and whether it is YUV.
    fn sample(&self, x: usize, y: usize) -> ([u8; 3], bool) {
        match self.encoding {
            sys::MMAL_ENCODING_I420 => {
                let (luma, chroma) = yuv::plane_sizes(self.stride, self.rows);
                let i = (y / 2) * (self.stride / 2) + x / 2;
                ([self.data[y * self.stride + x], self.data[luma + i], self.data[luma + chroma + i]], true)
            }
            encoding => {
                let bpp = if matches!(encoding, sys::MMAL_ENCODING_RGB24 | sys::MMAL_ENCODING_BGR24) { 3 } else { 4 };
                let p = &self.data[y * self.stride + x * bpp..][..3];
                let bgr = matches!(encoding, sys::MMAL_ENCODING_BGR24 | sys::MMAL_ENCODING_BGRA);
                (if bgr { [p[2], p[1], p[0]] } else { [p[0], p[1], p[2]] }, false)
            }
        }
    }
}

/// Writes `src` scaled to `format`'s visible size into `dst`.
pub(crate) fn convert(src: &Picture<'_>, format: &VideoFormat, dst: &mut [u8]) {
    let (ow, oh) = format.visible();
    let (iw, ih) = src.visible;
    if ow == 0 || oh == 0 || iw == 0 || ih == 0 {
        return;
    }
    let (stride, rows) = format.geometry();
    let at = |x: u32, y: u32| {
        let sx = (u64::from(x) * u64::from(iw) / u64::from(ow)) as usize;
        let sy = (u64::from(y) * u64::from(ih) / u64::from(oh)) as usize;
        src.sample(sx, sy)
    };
    match format.encoding {
        sys::MMAL_ENCODING_I420 => {
            let (y_plane, u_plane, v_plane) = yuv::planes_mut(dst, stride, rows);
            for y in 0..oh {
                for x in 0..ow {
                    let (p, yuv) = at(x, y);
                    let [l, u, v] = if yuv { p } else { rgb_to_yuv(p) };
                    y_plane[y as usize * stride + x as usize] = l;
                    if x % 2 == 0 && y % 2 == 0 {
                        let i = (y as usize / 2) * (stride / 2) + x as usize / 2;
                        u_plane[i] = u;
                        v_plane[i] = v;
                    }
                }
            }
        }
        encoding => {
            let bpp = if matches!(encoding, sys::MMAL_ENCODING_RGB24 | sys::MMAL_ENCODING_BGR24) { 3 } else { 4 };
            let bgr = matches!(encoding, sys::MMAL_ENCODING_BGR24 | sys::MMAL_ENCODING_BGRA);
            for y in 0..oh {
                let row = &mut dst[y as usize * stride..];
                for x in 0..ow {
                    let (p, yuv) = at(x, y);
                    let [r, g, b] = if yuv { yuv_to_rgb(p) } else { p };
                    let px = &mut row[x as usize * bpp..][..bpp];
                    px[..3].copy_from_slice(&if bgr { [b, g, r] } else { [r, g, b] });
                    if bpp == 4 {
                        px[3] = 255;
                    }
                }
            }
        }
    }
}

/// Fills `out` (a buffer of a port in `out_format`) from `input` (of a port
/// in `in_format`): copied when the formats match, else converted and
/// scaled; an OPAQUE input is rendered from the image it refers to first.
/// Returns the length written, or `None` if the input does not hold its
/// picture or `out` is too small.
pub(crate) fn transfer(
    input: crate::objects::BufPtr,
    in_format: &VideoFormat,
    out: crate::objects::BufPtr,
    out_format: &VideoFormat,
) -> Option<usize> {
    use std::cell::RefCell;

    thread_local! {
        /// Pixels of an OPAQUE image on their way to another format (one
        /// per worker thread, reused frame after frame).
        static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    let need = out_format.frame_size();
    if out.alloc_size() < need {
        return None;
    }
    // OPAQUE out only from OPAQUE in (an output left OPAQUE while enabled
    // when the input changed).
    let opaque = |f: &VideoFormat| f.encoding == sys::MMAL_ENCODING_OPAQUE;
    if opaque(out_format) && !opaque(in_format) {
        return None;
    }
    if in_format.encoding != sys::MMAL_ENCODING_OPAQUE {
        if in_format == out_format {
            return out.copy_from(input).then(|| input.length());
        }
        return input.with_data(|src| {
            if src.len() < in_format.frame_size() {
                return None;
            }
            out.with_payload(|dst| convert(&Picture::new(in_format, src), out_format, &mut dst[..need]));
            Some(need)
        });
    }
    let image = input.with_data(crate::opaque::read)?;
    if out_format.encoding == sys::MMAL_ENCODING_OPAQUE {
        return out.copy_from(input).then(|| input.length());
    }
    // The image drawn in the output's format and size (see `sensor::draw`).
    if out.with_payload(|dst| image.render_as(out_format, &mut dst[..need])) {
        return Some(need);
    }
    let pixels = image.format();
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        scratch.resize(pixels.frame_size(), 0);
        image.render(&mut scratch);
        out.with_payload(|dst| convert(&Picture::new(&pixels, &scratch), out_format, &mut dst[..need]));
    });
    Some(need)
}

/// The pixels `input` holds and their format: an OPAQUE buffer's image
/// drawn, any other buffer's bytes if there are enough of them.
fn picture_of(input: crate::objects::BufPtr, in_format: &VideoFormat) -> Option<(Vec<u8>, VideoFormat)> {
    if in_format.encoding == sys::MMAL_ENCODING_OPAQUE {
        let image = input.with_data(crate::opaque::read)?;
        let format = image.format();
        let mut pixels = vec![0u8; format.frame_size()];
        image.render(&mut pixels);
        Some((pixels, format))
    } else {
        let pixels = input.with_data(|d| (d.len() >= in_format.frame_size()).then(|| d.to_vec()))?;
        Some((pixels, *in_format))
    }
}

/// The picture in `input` (a buffer of a port in `in_format`, OPAQUE
/// included) as I420 at its visible size, rows padded as a port pads them.
/// `None` if the buffer does not hold its picture.
pub(crate) fn to_i420(input: crate::objects::BufPtr, in_format: &VideoFormat) -> Option<I420> {
    let (pixels, format) = picture_of(input, in_format)?;
    let (w, h) = format.visible();
    let i420 = VideoFormat { encoding: sys::MMAL_ENCODING_I420, ..format };
    let pixels = if format.encoding == sys::MMAL_ENCODING_I420 {
        pixels
    } else {
        let mut out = vec![0u8; i420.frame_size()];
        convert(&Picture::new(&format, &pixels), &i420, &mut out);
        out
    };
    let (stride, rows) = i420.geometry();
    let (y, u, v) = yuv::planes(&pixels, stride, rows);
    Some(I420 { width: w as usize, height: h as usize, stride, y: y.to_vec(), u: u.to_vec(), v: v.to_vec() })
}

/// The picture in `input` (a buffer of a port in `in_format`, OPAQUE
/// included) as packed RGB24 at its visible size: the bytes, width and
/// height. `None` if the buffer does not hold its picture.
pub(crate) fn to_rgb(input: crate::objects::BufPtr, in_format: &VideoFormat) -> Option<(Vec<u8>, u32, u32)> {
    let (pixels, format) = picture_of(input, in_format)?;
    let (w, h) = format.visible();
    // Packed: the output format's stride is exactly 3 bytes per pixel.
    let packed = VideoFormat { encoding: sys::MMAL_ENCODING_RGB24, width: w, height: h, crop: (0, 0, w, h), ..format };
    let mut rgb = vec![0u8; packed.frame_size()];
    convert(&Picture::new(&format, &pixels), &packed, &mut rgb);
    // Rows of `w` pixels, not padded.
    let (stride, _) = packed.geometry();
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for row in rgb.chunks(stride).take(h as usize) {
        out.extend_from_slice(&row[..w as usize * 3]);
    }
    Some((out, w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_conversion_round_trips() {
        for rgb in [[0, 0, 0], [255, 255, 255], [200, 30, 90], [10, 220, 40], [128, 128, 128]] {
            let back = yuv_to_rgb(rgb_to_yuv(rgb));
            for c in 0..3 {
                assert!((i32::from(back[c]) - i32::from(rgb[c])).abs() <= 3, "{rgb:?} -> {back:?}");
            }
        }
        assert_eq!(rgb_to_yuv([255, 255, 255]), [255, 128, 128]);
        assert_eq!(rgb_to_yuv([0, 0, 0]), [0, 128, 128]);
    }
}
