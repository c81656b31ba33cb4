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
    /// `IMAGE_EFFECT_PARAMETERS` set for that effect: how many (0 for the
    /// effect's defaults), and their values.
    pub(crate) effect_params: (u32, [u32; 6]),
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
            effect_params: (0, [0; 6]),
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
        let (n, p) = self.effect_params;
        c = match self.effect {
            sys::MMAL_PARAM_IMAGEFX_NEGATIVE => c.map(|v| 1.0 - v),
            sys::MMAL_PARAM_IMAGEFX_SOLARIZE => {
                let s = Solarize::from_params(n, p);
                if s.yuv {
                    let y = yuv::luma(c);
                    let shift = s.map(y) - y;
                    c.map(|v| v + shift)
                } else {
                    c.map(|v| s.map(v))
                }
            }
            sys::MMAL_PARAM_IMAGEFX_POSTERIZE | sys::MMAL_PARAM_IMAGEFX_POSTERISE => {
                // Steps 2 to 32, 4 by default.
                let steps = if n >= 1 { p[0].clamp(2, 32) as f32 } else { 4.0 };
                c.map(|v| (v.clamp(0.0, 1.0) * (steps - 0.001)).floor() / (steps - 1.0))
            }
            // Direction 0: RGB to BGR; 1: RGB to BRG.
            sys::MMAL_PARAM_IMAGEFX_COLOURSWAP if n >= 1 && p[0] != 0 => [c[2], c[0], c[1]],
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

    /// How many times the unsharp mask runs: the blur effect's kernel
    /// size (1 or 2, a 3x3 or 5x5 blur), else once.
    pub(super) fn sharpen_passes(&self) -> usize {
        let (n, p) = self.effect_params;
        if self.effect == sys::MMAL_PARAM_IMAGEFX_BLUR && n >= 1 {
            p[0].clamp(1, 2) as usize
        } else {
            1
        }
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

/// The solarize effect's curve (picamera's `image_effect_params`): levels
/// below `x0` rise linearly from 0 to `y0`, those from `x0` up go linearly
/// from `y1` to `y2`; on RGB, or on luma alone with `yuv`.
struct Solarize {
    yuv: bool,
    x0: f32,
    y0: f32,
    y1: f32,
    y2: f32,
}

impl Solarize {
    /// From the effect's parameters: (yuv, x0, y0, y1, y2), (x0, y0, y1,
    /// y2) or (yuv); by default 128, 128, 128, 0 on RGB.
    fn from_params(n: u32, p: [u32; 6]) -> Solarize {
        let byte = |v: u32| v.min(255) as f32;
        let (yuv, [x0, y0, y1, y2]) = match n {
            5 => (p[0] != 0, [p[1], p[2], p[3], p[4]]),
            4 => (false, [p[0], p[1], p[2], p[3]]),
            1 => (p[0] != 0, [128, 128, 128, 0]),
            _ => (false, [128, 128, 128, 0]),
        };
        Solarize { yuv, x0: byte(x0), y0: byte(y0), y1: byte(y1), y2: byte(y2) }
    }

    #[inline]
    fn map(&self, v: f32) -> f32 {
        let v = v.clamp(0.0, 1.0) * 255.0;
        let out = if v < self.x0 {
            v * self.y0 / self.x0
        } else {
            self.y1 + (v - self.x0) * (self.y2 - self.y1) / (255.0 - self.x0).max(1.0)
        };
        out / 255.0
    }
}

/// The ISP's colour matrix: the sensor's colours to the output's (rows
/// sum to 1, so grey stays grey).
pub(super) const COLOUR_MATRIX: [[f32; 3]; 3] = [[1.6, -0.4, -0.2], [-0.3, 1.5, -0.2], [-0.1, -0.5, 1.6]];

/// The ISP's gamma: output levels are linear light to the power 1/2.2.
pub(super) const GAMMA: f32 = 2.2;

/// Intervals of [`Gamma`]'s table.
const GAMMA_STEPS: usize = 1024;

/// The gamma curve `x^(1/GAMMA)` on [0, 1], from a table over `sqrt(x)`,
/// on which the curve (`t^(2/GAMMA)`) is nearly straight, interpolated:
/// within 1e-4 of `powf` (a tenth of an output level), and cheap enough
/// for every pixel of a full-resolution frame.
#[derive(Clone, Copy)]
pub(super) struct Gamma(&'static [f32; GAMMA_STEPS + 1]);

impl Gamma {
    pub(super) fn new() -> Gamma {
        static TABLE: std::sync::OnceLock<[f32; GAMMA_STEPS + 1]> = std::sync::OnceLock::new();
        Gamma(TABLE.get_or_init(|| {
            std::array::from_fn(|i| (i as f64 / GAMMA_STEPS as f64).powf(2.0 / f64::from(GAMMA)) as f32)
        }))
    }

    /// `x^(1/GAMMA)`, `x` clamped to [0, 1].
    #[inline]
    pub(super) fn apply(self, x: f32) -> f32 {
        let t = x.clamp(0.0, 1.0).sqrt() * GAMMA_STEPS as f32;
        let i = (t as usize).min(GAMMA_STEPS - 1);
        let (a, b) = (self.0[i], self.0[i + 1]);
        a + (b - a) * (t - i as f32)
    }
}

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

    #[test]
    fn the_gamma_table_is_the_curve() {
        let gamma = Gamma::new();
        let worst = (0..=1_000_000)
            .map(|i| i as f32 / 1_000_000.0)
            .map(|x| (gamma.apply(x) - x.powf(1.0 / GAMMA)).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "{worst}");
        assert_eq!((gamma.apply(0.0), gamma.apply(1.0)), (0.0, 1.0));
        // Out of range: clamped.
        assert_eq!((gamma.apply(-0.5), gamma.apply(2.0)), (0.0, 1.0));
    }

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

    #[test]
    fn effect_parameters_shape_the_effects() {
        let plain = setup(sys::MMAL_ENCODING_RGB24, 160, 120, Scene::Chart);
        let with = |effect, params: &[u32]| {
            let mut s = plain.clone();
            s.look.effect = effect;
            let mut p = [0; 6];
            p[..params.len()].copy_from_slice(params);
            s.look.effect_params = (params.len() as u32, p);
            rgb(&s)
        };
        // Posterise in 2 steps: black or white; in 8, more levels than in 4.
        let two = with(sys::MMAL_PARAM_IMAGEFX_POSTERISE, &[2]);
        assert!(two.iter().flatten().flatten().all(|&v| v == 0 || v == 255));
        let levels = |img: &[Vec<[u8; 3]>]| {
            let mut seen = [false; 256];
            img.iter().flatten().flatten().for_each(|&v| seen[v as usize] = true);
            seen.iter().filter(|&&s| s).count()
        };
        let four = with(sys::MMAL_PARAM_IMAGEFX_POSTERISE, &[]);
        assert_eq!(levels(&four), 4);
        assert_eq!(levels(&with(sys::MMAL_PARAM_IMAGEFX_POSTERISE, &[8])), 8);
        // Colour swap: direction 0 RGB to BGR, 1 RGB to BRG.
        let bgr = with(sys::MMAL_PARAM_IMAGEFX_COLOURSWAP, &[0]);
        let brg = with(sys::MMAL_PARAM_IMAGEFX_COLOURSWAP, &[1]);
        assert_eq!(bgr, with(sys::MMAL_PARAM_IMAGEFX_COLOURSWAP, &[]));
        assert!(bgr.iter().flatten().zip(brg.iter().flatten()).all(|(a, b)| b == &[a[0], a[2], a[1]]));
        // Solarize: the default folds the upper half down; with every
        // threshold at 255 the curve is the identity.
        let none = with(sys::MMAL_PARAM_IMAGEFX_NONE, &[]);
        let folded = with(sys::MMAL_PARAM_IMAGEFX_SOLARIZE, &[]);
        assert!(folded.iter().flatten().flatten().all(|&v| v <= 129));
        let straight = with(sys::MMAL_PARAM_IMAGEFX_SOLARIZE, &[255, 255, 255, 255]);
        assert!(none
            .iter()
            .flatten()
            .flatten()
            .zip(straight.iter().flatten().flatten())
            .all(|(a, b)| a.abs_diff(*b) <= 1));
        // (yuv) alone: the luma folds, the colour stays.
        let on_luma = with(sys::MMAL_PARAM_IMAGEFX_SOLARIZE, &[1]);
        assert_ne!(on_luma, folded);
        // Blur of size 2 blurs more than of size 1: the steps between
        // neighbours spread wider, so their squares sum lower.
        let energy = |img: &[Vec<[u8; 3]>]| -> f64 {
            img.iter().flat_map(|row| row.windows(2).map(|w| f64::from(w[0][1].abs_diff(w[1][1])).powi(2))).sum()
        };
        let blur = |size| energy(&with(sys::MMAL_PARAM_IMAGEFX_BLUR, &[size]));
        assert!(blur(2) < 0.8 * blur(1), "{} {}", blur(2), blur(1));
    }
}
