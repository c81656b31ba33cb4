//! The emulated sensor, lens and ISP behind `vc.ril.camera`.
//!
//! Rendering has two stages. [`prepare`] runs when anything that changes
//! the picture changes (format, mode, exposure, gains, AWB, lens shading
//! table, scene): it computes the noise-free frame for the port's format.
//! [`render`] runs per frame: the prepared frame plus fresh noise, which is
//! a copy-speed loop, so a 1080p stream costs little more than a memcpy.
//!
//! One file per stage, each using only those above it in this table:
//!
//! | module | what it is |
//! | --- | --- |
//! | `modes` | the camera modules, their sensor modes and the mode the firmware picks |
//! | `optics` | the lens: vignetting about an axis off the centre, the stock lens's table |
//! | `isp` | the ISP's stages: lens shading gains, colour matrix, gamma, picture controls, sharpening |
//! | `exposure` | what the camera is set to, and the exposure, gains and white balance it settles on |
//! | `draw` | the two stages: the noise-free picture through optics, sensor and ISP, and each frame's noise |
//! | `raw` | the raw Bayer data (`BRCM` block) a still carries with raw capture |

mod draw;
mod exposure;
mod isp;
mod modes;
mod optics;
mod raw;

pub(crate) use draw::{prepare, render, render_as, Prepared};
pub(crate) use exposure::{CameraParams, Settings, Setup};
pub(crate) use isp::{effect_is_drawn, Look, ShadingTable};
pub use modes::{Sensor, SensorMode};
pub(crate) use raw::raw_block;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use mmal_sys as sys;

    use super::*;
    use crate::format::{align, VideoFormat, OPAQUE_SIZE};
    use crate::scene::Scene;

    pub(super) fn setup(encoding: u32, w: u32, h: u32, scene: Scene) -> Setup {
        Setup {
            images: 0,
            raw: false,
            sensor: Sensor::Imx219,
            params: CameraParams::new(Sensor::Imx219),
            look: Look::default(),
            format: VideoFormat {
                encoding,
                width: align(w, 32),
                height: align(h, 16),
                crop: (0, 0, w, h),
                frame_rate: (30, 1),
                bitrate: 0,
            },
            fps: 30.0,
            scene: Arc::new(scene),
        }
    }

    /// The noise-free RGB24 picture of `s` as rows of pixels.
    pub(super) fn rgb(s: &Setup) -> Vec<Vec<[u8; 3]>> {
        let p = prepare(s);
        let (w, h) = s.format.visible();
        let stride = s.format.geometry().0;
        (0..h as usize)
            .map(|y| (0..w as usize).map(|x| std::array::from_fn(|c| p.base()[y * stride + x * 3 + c])).collect())
            .collect()
    }

    #[test]
    fn sizes_follow_the_format() {
        let f = VideoFormat { encoding: sys::MMAL_ENCODING_I420, width: 1920, height: 1080, ..Default::default() };
        assert_eq!(f.frame_size(), 1920 * 1088 * 3 / 2);
        let f = VideoFormat { encoding: sys::MMAL_ENCODING_RGB24, width: 100, height: 50, ..Default::default() };
        assert_eq!(f.frame_size(), 128 * 3 * 64);
        let f = VideoFormat { encoding: sys::MMAL_ENCODING_OPAQUE, width: 100, height: 50, ..Default::default() };
        assert_eq!(f.frame_size(), OPAQUE_SIZE);
    }
}
