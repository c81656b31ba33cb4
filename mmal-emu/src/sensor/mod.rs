//! The emulated sensor, lens and ISP behind `vc.ril.camera`.
//!
//! Rendering has two stages. [`prepare`] runs when anything that changes
//! the picture changes (format, mode, exposure, gains, AWB, lens shading
//! table, scene): it computes the noise-free frame for the port's format.
//! [`render`] runs per frame: the prepared frame plus fresh noise, which is
//! a copy-speed loop, so a 1080p stream costs little more than a memcpy.
//!
//! | module | what it is |
//! | --- | --- |
//! | `modes` | the camera modules, their sensor modes and the mode the firmware picks |
//! | `exposure` | exposure time, gains and white balance a configuration settles on |
//! | `optics` | the lens: vignetting about an axis off the centre, the stock lens's table |
//! | `isp` | the ISP's stages after the sensor: lens shading, colour matrix, gamma, picture controls, sharpening |
//! | `draw` | the noise-free picture, through optics, sensor and ISP, in the port's format |
//! | `raw` | the raw Bayer data (`BRCM` block) a still carries with raw capture |

mod draw;
mod exposure;
mod isp;
mod modes;
mod optics;
mod raw;

use std::sync::Arc;

use mmal_sys as sys;

use crate::format::{VideoFormat, OPAQUE_SIZE};
use crate::scene::Scene;

pub(crate) use exposure::Settings;
pub(crate) use isp::{effect_is_drawn, Look};
pub use modes::{Sensor, SensorMode};
pub(crate) use raw::raw_block;

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

/// Everything set on the camera's control port.
#[derive(Debug, Clone)]
pub(crate) struct CameraParams {
    pub(crate) camera_num: i32,
    pub(crate) sensor_mode: u32,
    pub(crate) config: sys::MMAL_PARAMETER_CAMERA_CONFIG_T,
    pub(crate) shutter_us: u32,
    pub(crate) iso: u32,
    pub(crate) exposure_mode: u32,
    pub(crate) awb_mode: u32,
    pub(crate) awb_gains: (f32, f32),
    pub(crate) analog_gain: f32,
    pub(crate) digital_gain: f32,
    pub(crate) lens_shading: Option<Arc<ShadingTable>>,
    /// `BLACK_LEVEL` as set: what the ISP subtracts, at the sensor's bit
    /// depth; `None` for the sensor's own.
    pub(crate) black_level: Option<u32>,
}

impl CameraParams {
    pub(crate) fn new(sensor: Sensor) -> CameraParams {
        let (w, h) = sensor.resolution();
        CameraParams {
            camera_num: 0,
            sensor_mode: 0,
            config: sys::MMAL_PARAMETER_CAMERA_CONFIG_T {
                hdr: sys::MMAL_PARAMETER_HEADER_T {
                    id: sys::MMAL_PARAMETER_CAMERA_CONFIG,
                    size: std::mem::size_of::<sys::MMAL_PARAMETER_CAMERA_CONFIG_T>() as u32,
                },
                max_stills_w: w,
                max_stills_h: h,
                stills_yuv422: 0,
                one_shot_stills: 1,
                max_preview_video_w: w,
                max_preview_video_h: h,
                num_preview_video_frames: 3,
                stills_capture_circular_buffer_height: 0,
                fast_preview_resume: 0,
                use_stc_timestamp: sys::MMAL_PARAM_TIMESTAMP_MODE_RESET_STC,
            },
            shutter_us: 0,
            iso: 0,
            exposure_mode: sys::MMAL_PARAM_EXPOSUREMODE_AUTO,
            awb_mode: sys::MMAL_PARAM_AWBMODE_AUTO,
            awb_gains: (0.0, 0.0),
            analog_gain: 0.0,
            digital_gain: 0.0,
            lens_shading: None,
            black_level: None,
        }
    }
}

/// Everything [`prepare`] needs, copied out of the component's state.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    /// The camera whose OPAQUE images these frames are (`crate::opaque`).
    pub(crate) images: u64,
    /// The still port's raw capture: each image carries its raw Bayer data.
    pub(crate) raw: bool,
    pub(crate) sensor: Sensor,
    pub(crate) params: CameraParams,
    /// The picture controls and the output's orientation.
    pub(crate) look: Look,
    pub(crate) format: VideoFormat,
    pub(crate) fps: f32,
    pub(crate) scene: Arc<Scene>,
}

/// A noise-free frame and what to add to it.
pub(crate) struct Prepared {
    /// For an OPAQUE port: the picture is drawn in I420 (see `format`),
    /// and frames go out as handles to images (`crate::opaque`).
    pub(crate) opaque: bool,
    /// What `base` holds: the port's format, or I420 at its size for an
    /// OPAQUE port.
    pub(crate) format: VideoFormat,
    /// This picture, for the images OPAQUE frames refer to.
    pub(crate) me: std::sync::Weak<Prepared>,
    /// The camera whose images these are.
    pub(crate) images: u64,
    /// What it was prepared from, for the raw Bayer data of a frame (when
    /// the still port captures raw).
    pub(crate) setup: Option<Setup>,
    /// RGBA or BGRA: every fourth byte is alpha, which stays opaque.
    alpha: bool,
    base: Vec<u8>,
    noise: Vec<i8>,
    pub(crate) settings: Settings,
    pub(crate) length: usize,
}

/// Noise table length; per frame each block of this many bytes takes noise
/// from a random offset in a table twice as long.
const NOISE_BLOCK: usize = 1 << 16;

/// Computes the noise-free frame for `setup`.
pub(crate) fn prepare(setup: &Setup) -> std::sync::Arc<Prepared> {
    let settings = setup.settings();
    let opaque = setup.format.encoding == sys::MMAL_ENCODING_OPAQUE;
    // An OPAQUE port's images are I420 on the VideoCore.
    let mut drawn = setup.clone();
    if opaque {
        drawn.format.encoding = sys::MMAL_ENCODING_I420;
    }
    let fmt = drawn.format;
    let length = fmt.frame_size();
    let mut base = vec![0u8; length];
    draw::draw(&drawn, &settings, &mut base);
    let sigma = 0.6 + 0.8 * settings.analog_gain * settings.digital_gain;
    let mut noise = vec![0i8; 2 * NOISE_BLOCK];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for n in &mut noise {
        // Sum of four uniforms: close enough to a Gaussian.
        let s: f32 = (0..4).map(|_| rng.unit()).sum::<f32>() - 2.0;
        *n = (s * sigma * 1.73).round().clamp(-127.0, 127.0) as i8;
    }
    let alpha = matches!(fmt.encoding, sys::MMAL_ENCODING_RGBA | sys::MMAL_ENCODING_BGRA);
    std::sync::Arc::new_cyclic(|me| Prepared {
        opaque,
        format: fmt,
        me: me.clone(),
        images: setup.images,
        setup: setup.raw.then(|| setup.clone()),
        alpha,
        base,
        noise,
        settings,
        length,
    })
}

impl Prepared {
    /// The bytes a buffer needs for one frame: the pixels, or for an
    /// OPAQUE port the handle.
    pub(crate) fn buffer_len(&self) -> usize {
        if self.opaque {
            OPAQUE_SIZE
        } else {
            self.length
        }
    }
}

/// Writes frame `frame`'s pixels, in `prepared.format`, into `out` (at
/// least `prepared.length` bytes).
pub(crate) fn render(prepared: &Prepared, frame: u64, out: &mut [u8]) {
    let out = &mut out[..prepared.length];
    let mut rng = Rng(frame.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1);
    for (dst, src) in out.chunks_mut(NOISE_BLOCK).zip(prepared.base.chunks(NOISE_BLOCK)) {
        let offset = (rng.next() as usize) % NOISE_BLOCK;
        let noise = &prepared.noise[offset..offset + src.len()];
        for ((d, &s), &n) in dst.iter_mut().zip(src).zip(noise) {
            *d = (i16::from(s) + i16::from(n)).clamp(0, 255) as u8;
        }
    }
    if prepared.alpha {
        for px in out.chunks_exact_mut(4) {
            px[3] = 255;
        }
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::align;

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
            .map(|y| (0..w as usize).map(|x| std::array::from_fn(|c| p.base[y * stride + x * 3 + c])).collect())
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

    #[test]
    fn noise_varies_per_frame_and_stays_small() {
        let s = setup(sys::MMAL_ENCODING_I420, 64, 48, Scene::flat());
        let p = prepare(&s);
        let mut a = vec![0; p.length];
        let mut b = vec![0; p.length];
        render(&p, 1, &mut a);
        render(&p, 2, &mut b);
        assert_ne!(a, b);
        let mean_diff: f64 =
            a.iter().zip(&p.base).map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs()).sum::<f64>() / a.len() as f64;
        assert!(mean_diff > 0.2 && mean_diff < 4.0, "mean noise {mean_diff}");
    }
}
