//! What the camera is set to, and what the sensor and ISP settle on for
//! one configuration: the sensor mode in use, exposure time, gains and
//! white balance.

use std::sync::Arc;

use mmal_sys as sys;

use super::isp::{Look, ShadingTable};
use super::modes::{Sensor, SensorMode};
use crate::format::VideoFormat;
use crate::scene::Scene;

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

/// Everything [`prepare`](super::prepare) needs, copied out of the component's state.
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

/// AWB modes, `MMAL_PARAM_AWBMODE_T`.
fn awb_tint(mode: u32) -> [f32; 3] {
    match mode {
        sys::MMAL_PARAM_AWBMODE_SUNLIGHT => [1.05, 1.0, 0.95],
        sys::MMAL_PARAM_AWBMODE_CLOUDY | sys::MMAL_PARAM_AWBMODE_SHADE => [1.1, 1.0, 0.9],
        sys::MMAL_PARAM_AWBMODE_TUNGSTEN | sys::MMAL_PARAM_AWBMODE_INCANDESCENT => [0.8, 1.0, 1.25],
        sys::MMAL_PARAM_AWBMODE_FLUORESCENT => [0.9, 1.0, 1.1],
        sys::MMAL_PARAM_AWBMODE_HORIZON => [0.85, 1.0, 1.2],
        sys::MMAL_PARAM_AWBMODE_FLASH => [1.02, 1.0, 0.98],
        _ => [1.0; 3],
    }
}

/// What the sensor and ISP settle on for one configuration: reported by
/// `MMAL_PARAMETER_CAMERA_SETTINGS`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Settings {
    pub(crate) exposure_us: u32,
    pub(crate) analog_gain: f32,
    pub(crate) digital_gain: f32,
    pub(crate) awb_gains: (f32, f32),
}

impl Setup {
    /// The mode in use (index into `sensor.modes()`).
    pub(crate) fn mode(&self) -> SensorMode {
        let modes = self.sensor.modes();
        let (w, h) = self.format.visible();
        let index = match self.params.sensor_mode as usize {
            0 => self.sensor.auto_mode(w, h, self.fps),
            n => (n - 1).min(modes.len() - 1),
        };
        modes[index]
    }

    pub(crate) fn settings(&self) -> Settings {
        let p = &self.params;
        let auto_exposure = 0.5 / self.scene.mean_luma();
        let analog = if p.analog_gain > 0.0 {
            p.analog_gain
        } else if p.iso > 0 {
            p.iso as f32 / 100.0
        } else {
            1.0
        };
        let digital = if p.digital_gain > 0.0 { p.digital_gain } else { 1.0 };
        let frame_us = 1e6 / self.fps.max(0.1);
        let exposure_us = if p.shutter_us > 0 {
            p.shutter_us as f32
        } else {
            let compensation = 2f32.powf(self.look.exposure_comp.clamp(-25, 25) as f32 / 6.0);
            REFERENCE_SHUTTER_US * auto_exposure * compensation / (analog * digital)
        }
        .clamp(1.0, frame_us);
        let sens = self.sensor.sensitivity();
        let awb_gains = if p.awb_mode == sys::MMAL_PARAM_AWBMODE_OFF {
            let (r, b) = p.awb_gains;
            (if r > 0.0 { r } else { 1.0 }, if b > 0.0 { b } else { 1.0 })
        } else {
            let tint = awb_tint(p.awb_mode);
            (tint[0] / sens[0], tint[2] / sens[2])
        };
        Settings { exposure_us: exposure_us.round() as u32, analog_gain: analog, digital_gain: digital, awb_gains }
    }
}

/// Shutter time at which unity gain gives the scene's own level.
pub(super) const REFERENCE_SHUTTER_US: f32 = 10_000.0;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sensor::tests::setup;

    #[test]
    fn exposure_compensation_moves_the_automatic_exposure_in_sixths_of_a_stop() {
        let mut s = setup(sys::MMAL_ENCODING_I420, 64, 48, Scene::flat());
        let plain = s.settings().exposure_us;
        s.look.exposure_comp = 6;
        assert!(s.settings().exposure_us.abs_diff(plain * 2) <= 1);
        s.look.exposure_comp = -6;
        assert!(s.settings().exposure_us.abs_diff(plain / 2) <= 1);
        // A fixed shutter is not compensated.
        s.params.shutter_us = 5000;
        assert_eq!(s.settings().exposure_us, 5000);
    }
}
