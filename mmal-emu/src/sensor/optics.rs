//! The optics in front of the sensor: per-channel vignetting about an axis
//! a little off the sensor's centre, and the part of it the firmware's
//! built-in lens shading table (made for the stock lens) corrects.

use super::modes::Sensor;

impl Sensor {
    /// Vignetting strength per channel (R, G, B): the relative illumination
    /// at normalised radius `r` is `1 / (1 + k r²)²`. The red channel falls
    /// off fastest, as with the wide-angle lenses of these modules.
    pub(super) fn vignetting(self) -> [f32; 3] {
        match self {
            Sensor::Ov5647 => [0.62, 0.55, 0.52],
            Sensor::Imx219 => [0.78, 0.62, 0.56],
            Sensor::Imx477 => [0.58, 0.5, 0.46],
        }
    }
}

/// How much of the optics' vignetting the firmware's built-in lens shading
/// table corrects: it is made for the stock lens, and these optics (a
/// microscope's, say) vignette harder.
const STOCK_LENS_SHARE: f32 = 0.3;

/// Where the optics' axis meets the sensor, as a fraction of its width
/// and height: off the centre, as in a microscope whose optics are not
/// quite aligned. So a table only fits the orientation it was measured in
/// (its `ref_transform` says which), and the stock lens's built-in table,
/// centred, fits even less.
const OPTICAL_AXIS: (f32, f32) = (0.53, 0.47);

/// Distances on the sensor from the optics' axis and from its centre.
pub(super) struct Optics {
    axis: (f32, f32),
    centre: (f32, f32),
    /// The squared half-diagonal: radii are normalised by it.
    half_diag2: f32,
}

impl Optics {
    pub(super) fn new(full_w: u32, full_h: u32) -> Optics {
        let (w, h) = (full_w as f32, full_h as f32);
        let centre = (w / 2.0, h / 2.0);
        Optics {
            axis: (w * OPTICAL_AXIS.0, h * OPTICAL_AXIS.1),
            centre,
            half_diag2: centre.0 * centre.0 + centre.1 * centre.1,
        }
    }

    /// Normalised radius² of sensor position (`sx`, `sy`) from the axis.
    #[inline]
    pub(super) fn r2(&self, sx: f32, sy: f32) -> f32 {
        let (dx, dy) = (sx - self.axis.0, sy - self.axis.1);
        (dx * dx + dy * dy) / self.half_diag2
    }

    /// The same from the sensor's centre, where the stock lens is centred.
    #[inline]
    pub(super) fn r2_stock(&self, sx: f32, sy: f32) -> f32 {
        let (dx, dy) = (sx - self.centre.0, sy - self.centre.1);
        (dx * dx + dy * dy) / self.half_diag2
    }
}

/// The built-in table's gain at normalised radius² `r2`, for a channel
/// whose optics vignette with strength `k`.
#[inline]
pub(super) fn stock_lens_gain(k: f32, r2: f32) -> f32 {
    let stock = 1.0 + STOCK_LENS_SHARE * k * r2;
    stock * stock
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use mmal_sys as sys;

    use crate::scene::Scene;
    use crate::sensor::tests::setup;
    use crate::sensor::{prepare, ShadingTable};

    #[test]
    fn flat_field_vignettes_and_a_unity_override_drops_the_built_in_table() {
        let s = setup(sys::MMAL_ENCODING_RGB24, 328, 246, Scene::flat());
        let p = prepare(&s);
        let stride = 352 * 3;
        let at = |img: &[u8], x: usize, y: usize, c: usize| img[y * stride + x * 3 + c];
        let centre = at(p.base(), 164, 123, 1);
        let corner = at(p.base(), 1, 1, 1);
        assert!(centre > 80, "centre level {centre}");
        // Visibly dark through the built-in table (made for a milder lens)
        // and the gamma.
        assert!((corner as f32) < 0.85 * centre as f32, "corner {corner} centre {centre}");
        let mut s2 = s.clone();
        let (gw, gh) = (3280 / 64 + 1, 2464 / 64 + 1);
        s2.params.lens_shading = Some(Arc::new(ShadingTable {
            width: gw,
            height: gh,
            stride: gw,
            gains: vec![32; gw * gh * 4],
            ref_transform: 0,
        }));
        // A unity override replaces the built-in table: darker corners, the
        // same centre.
        let unity = prepare(&s2);
        assert!(at(unity.base(), 1, 1, 1) < corner, "unity {} built-in {corner}", at(unity.base(), 1, 1, 1));
        assert!(at(unity.base(), 164, 123, 1).abs_diff(centre) <= 2);
    }
}
