//! [`CameraOptions`]: the size of a camera's pictures, its frame rate,
//! sensor mode and orientation, checked against the sensor before anything
//! is made.

use crate::error::{Error, Result};

use super::SensorModeInfo;

/// How to open a [`Camera`](super::Camera): the size of its pictures, its frame rate,
/// the sensor mode, and the picture's orientation. The defaults: 1280×720
/// at 30 fps, the firmware's choice of mode, no flip or rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct CameraOptions {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) frame_rate: u32,
    pub(super) sensor_mode: u32,
    pub(super) hflip: bool,
    pub(super) vflip: bool,
    pub(super) rotation: u32,
}

impl Default for CameraOptions {
    fn default() -> CameraOptions {
        CameraOptions {
            width: 1280,
            height: 720,
            frame_rate: 30,
            sensor_mode: 0,
            hflip: false,
            vflip: false,
            rotation: 0,
        }
    }
}

impl CameraOptions {
    /// The defaults (see [`CameraOptions`]).
    pub fn new() -> CameraOptions {
        CameraOptions::default()
    }

    /// The size of stills and of the video the camera makes (frames may be
    /// asked for at any other size).
    pub fn resolution(mut self, width: u32, height: u32) -> Self {
        (self.width, self.height) = (width, height);
        self
    }

    /// Frames per second.
    pub fn frame_rate(mut self, fps: u32) -> Self {
        self.frame_rate = fps;
        self
    }

    /// The sensor mode (1 and up, see [`Camera::sensor_modes`](super::Camera::sensor_modes)); 0 lets
    /// the firmware choose from the size and frame rate.
    pub fn sensor_mode(mut self, mode: u32) -> Self {
        self.sensor_mode = mode;
        self
    }

    /// Mirror left to right.
    pub fn hflip(mut self, on: bool) -> Self {
        self.hflip = on;
        self
    }

    /// Mirror top to bottom.
    pub fn vflip(mut self, on: bool) -> Self {
        self.vflip = on;
        self
    }

    /// Rotate by 0, 90, 180 or 270 degrees.
    pub fn rotation(mut self, degrees: u32) -> Self {
        self.rotation = degrees;
        self
    }

    /// The size asked for.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The frame rate asked for.
    pub fn fps(&self) -> u32 {
        self.frame_rate
    }

    pub(super) fn check(&self, full: (u32, u32), modes: &[SensorModeInfo]) -> Result<()> {
        let bad = |why: String| Err(Error::InvalidParameter(why));
        let (w, h) = (self.width, self.height);
        if w < 16 || h < 16 || w % 2 != 0 || h % 2 != 0 {
            return bad(format!("camera resolution {w}x{h}: give an even width and height of 16 or more"));
        }
        if w > full.0 || h > full.1 {
            return bad(format!("camera resolution {w}x{h}: the sensor's full resolution is {}x{}", full.0, full.1));
        }
        let top = modes.iter().map(|m| m.fps.1).fold(0.0, f64::max);
        if self.frame_rate == 0 || (top > 0.0 && f64::from(self.frame_rate) > top) {
            return bad(format!("frame rate {}: give 1 to {top} frames per second", self.frame_rate));
        }
        if self.sensor_mode as usize > modes.len() {
            return bad(format!(
                "sensor mode {}: this sensor has modes 1 to {} (0 to let it choose)",
                self.sensor_mode,
                modes.len()
            ));
        }
        if let Some(mode) = modes.get((self.sensor_mode as usize).wrapping_sub(1)) {
            let fps = f64::from(self.frame_rate);
            if fps < mode.fps.0.floor() || fps > mode.fps.1 {
                return bad(format!(
                    "frame rate {} in sensor mode {}: that mode runs at {} to {} frames per second",
                    self.frame_rate, self.sensor_mode, mode.fps.0, mode.fps.1
                ));
            }
        }
        if self.rotation % 90 != 0 || self.rotation >= 360 {
            return bad(format!("rotation {}: give 0, 90, 180 or 270", self.rotation));
        }
        Ok(())
    }
}
