//! The ISP's stages after the sensor, as numbers it uses: the lens
//! shading table and its gains, the colour matrix and gamma, the picture
//! controls and image effects, and sharpening.

use mmal_sys as sys;

use crate::yuv;

/// A lens shading table as the firmware keeps it after the parameter set:
/// copied out of the VCSM block.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ShadingTable {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) stride: usize,
    /// Four planes, R, Gr, Gb, B, each `stride * height` u3.5 gains.
    pub(crate) gains: Vec<u8>,
    /// The orientation the table was measured in (`ref_transform`: the
    /// raw header's `transform` of the calibration capture, bit 0 a
    /// horizontal flip, bit 1 a vertical one). The ISP maps the table to
    /// the orientation in use, so a table stays right when flips change.
    pub(crate) ref_transform: u8,
}

/// The ISP's picture controls (the camera's image parameters) and an
/// output's orientation, as numbers the ISP uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Look {
    /// `BRIGHTNESS`, 0 to 1 (0.5 changes nothing): an offset of the levels.
    pub(crate) brightness: f32,
    /// `CONTRAST`, -1 to 1: levels stretched about mid-grey (-1 flat grey).
    pub(crate) contrast: f32,
    /// `SATURATION`, -1 to 1: colour scaled about grey (-1 grey).
    pub(crate) saturation: f32,
    /// `SHARPNESS`, -1 to 1: an unsharp mask (negative blurs).
    pub(crate) sharpness: f32,
    /// `EXPOSURE_COMP` in sixths of a stop: the automatic exposure's target.
    pub(crate) exposure_comp: i32,
    /// `IMAGE_EFFECT` (`MMAL_PARAM_IMAGEFX_T`).
    pub(crate) effect: u32,
    /// `COLOUR_EFFECT` when enabled: the fixed U and V of every pixel.
    pub(crate) colour: Option<(u8, u8)>,
    /// `DYNAMIC_RANGE_COMPRESSION` strength, 0 (off) to 3 (high).
    pub(crate) drc: u32,
    /// The output's `MIRROR` and `ROTATION` 180 as a transform: bit 0 a
    /// horizontal flip, bit 1 a vertical one, as the raw header counts them.
    pub(crate) transform: u8,
}

impl Default for Look {
    fn default() -> Look {
        Look {
            brightness: 0.5,
            contrast: 0.0,
            saturation: 0.0,
            sharpness: 0.0,
            exposure_comp: 0,
            effect: sys::MMAL_PARAM_IMAGEFX_NONE,
            colour: None,
            drc: sys::MMAL_PARAMETER_DRC_STRENGTH_OFF,
            transform: 0,
        }
    }
}

/// The effects [`draw`](super::draw) shows on the picture (`MMAL_PARAM_IMAGEFX_T`);
/// the others are kept and read back but leave the picture as it is.
pub(crate) fn effect_is_drawn(effect: u32) -> bool {
    matches!(
        effect,
        sys::MMAL_PARAM_IMAGEFX_NONE
            | sys::MMAL_PARAM_IMAGEFX_NEGATIVE
            | sys::MMAL_PARAM_IMAGEFX_SOLARIZE
            | sys::MMAL_PARAM_IMAGEFX_POSTERIZE
            | sys::MMAL_PARAM_IMAGEFX_BLUR
            | sys::MMAL_PARAM_IMAGEFX_SATURATION
            | sys::MMAL_PARAM_IMAGEFX_COLOURSWAP
            | sys::MMAL_PARAM_IMAGEFX_WASHEDOUT
            | sys::MMAL_PARAM_IMAGEFX_POSTERISE
    )
}

impl Look {
    /// The picture controls applied to one pixel (gamma-encoded RGB), in
    /// the ISP's order: contrast and brightness, saturation, the image
    /// effect, then the colour effect.
    #[inline]
    pub(super) fn apply(&self, rgb: [f32; 3]) -> [f32; 3] {
        let mut c = rgb.map(|v| (v - 0.5) * (1.0 + self.contrast) + 0.5 + (self.brightness - 0.5));
        let mut saturation = 1.0 + self.saturation;
        match self.effect {
            sys::MMAL_PARAM_IMAGEFX_SATURATION => saturation *= 1.6,
            sys::MMAL_PARAM_IMAGEFX_WASHEDOUT => saturation *= 0.4,
            _ => {}
        }
        let y = yuv::luma(c);
        c = c.map(|v| y + (v - y) * saturation);
        c = match self.effect {
            sys::MMAL_PARAM_IMAGEFX_NEGATIVE => c.map(|v| 1.0 - v),
            sys::MMAL_PARAM_IMAGEFX_SOLARIZE => c.map(|v| if v > 0.5 { 1.0 - v } else { v }),
            sys::MMAL_PARAM_IMAGEFX_POSTERIZE | sys::MMAL_PARAM_IMAGEFX_POSTERISE => {
                c.map(|v| (v.clamp(0.0, 1.0) * 3.999).floor() / 3.0)
            }
            sys::MMAL_PARAM_IMAGEFX_COLOURSWAP => [c[2], c[1], c[0]],
            sys::MMAL_PARAM_IMAGEFX_WASHEDOUT => c.map(|v| 0.15 + 0.85 * v),
            _ => c,
        };
        if let Some((u, v)) = self.colour {
            let y = yuv::luma(c);
            let (u, v) = ((f32::from(u) - 128.0) / 255.0, (f32::from(v) - 128.0) / 255.0);
            c = [y + 1.402 * v, y - 0.344_136 * u - 0.714_136 * v, y + 1.772 * u];
        }
        c.map(|v| v.clamp(0.0, 1.0))
    }

    /// The unsharp mask's amount: the sharpness, and a blur for the effect.
    pub(super) fn sharpen_amount(&self) -> f32 {
        if self.effect == sys::MMAL_PARAM_IMAGEFX_BLUR {
            -1.0
        } else {
            self.sharpness.clamp(-1.0, 1.0)
        }
    }
}

/// The ISP's colour matrix: the sensor's colours to the output's (rows
/// sum to 1, so grey stays grey).
pub(super) const COLOUR_MATRIX: [[f32; 3]; 3] = [[1.6, -0.4, -0.2], [-0.3, 1.5, -0.2], [-0.1, -0.5, 1.6]];

/// The ISP's gamma: output levels are linear light to the power 1/2.2.
pub(super) const GAMMA: f32 = 2.2;

/// Per-channel gain planes (R, G, B) from a lens shading table, as `f32`.
pub(super) struct Shading {
    width: usize,
    height: usize,
    planes: [Vec<f32>; 3],
}

impl Shading {
    pub(super) fn new(table: &ShadingTable) -> Shading {
        let plane = |p: usize, x: usize, y: usize| {
            f32::from(table.gains[p * table.stride * table.height + y * table.stride + x]) / 32.0
        };
        let mut planes = [Vec::new(), Vec::new(), Vec::new()];
        for y in 0..table.height {
            for x in 0..table.width {
                planes[0].push(plane(0, x, y));
                planes[1].push((plane(1, x, y) + plane(2, x, y)) / 2.0);
                planes[2].push(plane(3, x, y));
            }
        }
        Shading { width: table.width, height: table.height, planes }
    }

    /// Gains at sensor position (`sx`, `sy`), interpolated between the
    /// centres of the 64-pixel cells.
    #[inline]
    pub(super) fn at(&self, sx: f32, sy: f32) -> [f32; 3] {
        let gx = ((sx - 32.0) / 64.0).clamp(0.0, (self.width - 1) as f32);
        let gy = ((sy - 32.0) / 64.0).clamp(0.0, (self.height - 1) as f32);
        let (x0, y0) = (gx as usize, gy as usize);
        let (x1, y1) = ((x0 + 1).min(self.width - 1), (y0 + 1).min(self.height - 1));
        let (fx, fy) = (gx - x0 as f32, gy - y0 as f32);
        let w = self.width;
        std::array::from_fn(|c| {
            let p = &self.planes[c];
            let top = p[y0 * w + x0] * (1.0 - fx) + p[y0 * w + x1] * fx;
            let bottom = p[y1 * w + x0] * (1.0 - fx) + p[y1 * w + x1] * fx;
            top * (1.0 - fy) + bottom * fy
        })
    }
}

/// An unsharp mask over one channel (bytes `first`, `first + step`, ...
/// of each row of `stride` bytes, `size` pixels): each pixel moves away
/// from its 3x3 neighbourhood's mean by `amount` of the difference, so
/// 1 sharpens and -1 gives the mean (a blur).
pub(super) fn unsharp(out: &mut [u8], first: usize, step: usize, stride: usize, size: (usize, usize), amount: f32) {
    let (w, h) = size;
    if w < 3 || h < 3 {
        return;
    }
    let at = |x: usize, y: usize| y * stride + first + x * step;
    let mut previous = vec![0u8; w];
    let mut current: Vec<u8> = (0..w).map(|x| out[at(x, 0)]).collect();
    for y in 0..h {
        let next: Vec<u8> = (0..w).map(|x| out[at(x, (y + 1).min(h - 1))]).collect();
        let above = if y == 0 { &current } else { &previous };
        for x in 0..w {
            let (l, r) = (x.saturating_sub(1), (x + 1).min(w - 1));
            let sum: u32 = [above, &current, &next]
                .iter()
                .map(|row| u32::from(row[l]) + u32::from(row[x]) + u32::from(row[r]))
                .sum();
            let mean = sum as f32 / 9.0;
            let v = f32::from(current[x]);
            out[at(x, y)] = (v + amount * (v - mean)).round().clamp(0.0, 255.0) as u8;
        }
        previous = std::mem::replace(&mut current, next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::Scene;
    use crate::sensor::tests::{rgb, setup};

    fn mean(img: &[Vec<[u8; 3]>]) -> f64 {
        let n = img.len() * img[0].len() * 3;
        img.iter().flatten().flatten().map(|&v| f64::from(v)).sum::<f64>() / n as f64
    }

    /// Sum of absolute differences between horizontal neighbours: detail.
    fn detail(img: &[Vec<[u8; 3]>]) -> f64 {
        img.iter().flat_map(|row| row.windows(2).map(|w| f64::from(w[0][1].abs_diff(w[1][1])))).sum()
    }

    #[test]
    fn picture_controls_change_the_picture_as_named() {
        let plain = setup(sys::MMAL_ENCODING_RGB24, 160, 120, Scene::Chart);
        let base = rgb(&plain);
        let with = |f: &dyn Fn(&mut Look)| {
            let mut s = plain.clone();
            f(&mut s.look);
            rgb(&s)
        };
        assert!(mean(&with(&|l| l.brightness = 0.7)) > mean(&base) + 30.0);
        assert!(mean(&with(&|l| l.brightness = 0.3)) < mean(&base) - 30.0);
        // Contrast -100: flat mid-grey.
        assert!(with(&|l| l.contrast = -1.0).iter().flatten().flatten().all(|&v| v.abs_diff(128) <= 1));
        // Saturation -100: grey, every pixel.
        let grey = with(&|l| l.saturation = -1.0);
        assert!(grey.iter().flatten().all(|p| p[0].abs_diff(p[1]) <= 1 && p[1].abs_diff(p[2]) <= 1));
        assert!(base.iter().flatten().any(|p| p[0].abs_diff(p[2]) > 20), "the chart has colour");
        // Negative: each level inverted.
        let negative = with(&|l| l.effect = sys::MMAL_PARAM_IMAGEFX_NEGATIVE);
        for (a, b) in base.iter().flatten().zip(negative.iter().flatten()) {
            for c in 0..3 {
                assert!((255 - a[c]).abs_diff(b[c]) <= 1, "{a:?} {b:?}");
            }
        }
        // Colour swap: red and blue trade places.
        let swapped = with(&|l| l.effect = sys::MMAL_PARAM_IMAGEFX_COLOURSWAP);
        assert!(base.iter().flatten().zip(swapped.iter().flatten()).all(|(a, b)| a[0] == b[2] && a[2] == b[0]));
        // A colour effect with U = V = 128: grey.
        let mono = with(&|l| l.colour = Some((128, 128)));
        assert!(mono.iter().flatten().all(|p| p[0].abs_diff(p[1]) <= 1 && p[1].abs_diff(p[2]) <= 1));
        // Sharpness: more detail, or less.
        assert!(detail(&with(&|l| l.sharpness = 1.0)) > 1.2 * detail(&base));
        assert!(detail(&with(&|l| l.sharpness = -1.0)) < 0.9 * detail(&base));
        assert!(detail(&with(&|l| l.effect = sys::MMAL_PARAM_IMAGEFX_BLUR)) < 0.9 * detail(&base));
        // Dynamic range compression lifts the shadows.
        let darkest = |img: &[Vec<[u8; 3]>]| img.iter().flatten().map(|p| p[1]).min().unwrap();
        let mut dark = plain.clone();
        dark.params.shutter_us = 2000;
        let lifted = {
            let mut s = dark.clone();
            s.look.drc = 3;
            rgb(&s)
        };
        assert!(darkest(&lifted) > darkest(&rgb(&dark)));
        // A black level set below the sensor's lifts the blacks too.
        let mut low_black = dark.clone();
        low_black.params.black_level = Some(0);
        assert!(darkest(&rgb(&low_black)) > darkest(&rgb(&dark)) + 10);
        // Kept, not drawn: an effect the ISP does not draw leaves the picture.
        assert!(!effect_is_drawn(22));
        assert_eq!(with(&|l| l.effect = 22), base);
    }
}
