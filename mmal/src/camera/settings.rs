//! [`Settings`]: the camera's picture settings, checked, applied together
//! and read back.

use crate::component::Port;
use crate::error::{Error, Result};
use crate::params::{
    self, AwbGains, AwbMode, Brightness, Contrast, Drc, ExposureCompensation, ExposureMode, ImageEffect, Iso,
    MeteringMode, Saturation, Sharpness, ShutterSpeed, VideoStabilisation,
};

/// The camera's picture settings, applied together with
/// [`Camera::set_settings`](super::Camera::set_settings) and read back with [`Camera::settings`](super::Camera::settings). The
/// defaults are the firmware's (and picamera's).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Settings {
    /// How exposure is chosen.
    pub exposure_mode: ExposureMode,
    /// Exposure time in microseconds; 0 lets exposure choose.
    pub shutter_speed_us: u32,
    /// ISO (100 to 800); 0 is automatic.
    pub iso: u32,
    /// Exposure compensation in steps of 1/6 EV (-25 to 25).
    pub exposure_compensation: i32,
    /// How exposure is measured.
    pub metering: MeteringMode,
    /// How white balance is chosen.
    pub awb_mode: AwbMode,
    /// Red and blue gains, used while `awb_mode` is [`AwbMode::Off`].
    pub awb_gains: Option<(f64, f64)>,
    /// 0 to 100 (50 is neutral).
    pub brightness: i32,
    /// -100 to 100 (0 is neutral).
    pub contrast: i32,
    /// -100 to 100 (0 is neutral).
    pub saturation: i32,
    /// -100 to 100 (0 is neutral).
    pub sharpness: i32,
    /// An effect on the picture.
    pub image_effect: ImageEffect,
    /// Dynamic range compression.
    pub drc: Drc,
    /// Video stabilisation.
    pub video_stabilisation: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            exposure_mode: ExposureMode::Auto,
            shutter_speed_us: 0,
            iso: 0,
            exposure_compensation: 0,
            metering: MeteringMode::Average,
            awb_mode: AwbMode::Auto,
            awb_gains: None,
            brightness: 50,
            contrast: 0,
            saturation: 0,
            sharpness: 0,
            image_effect: ImageEffect::None,
            drc: Drc::Off,
            video_stabilisation: false,
        }
    }
}

impl Settings {
    /// Each value checked before anything is sent.
    pub(super) fn check(&self) -> Result<()> {
        params::encoded(&Brightness(self.brightness))?;
        params::encoded(&Contrast(self.contrast))?;
        params::encoded(&Saturation(self.saturation))?;
        params::encoded(&Sharpness(self.sharpness))?;
        if !(-25..=25).contains(&self.exposure_compensation) {
            return Err(Error::InvalidParameter(format!(
                "exposure compensation {}: give -25 to 25 (steps of 1/6 EV)",
                self.exposure_compensation
            )));
        }
        if self.iso != 0 && !(100..=1600).contains(&self.iso) {
            return Err(Error::InvalidParameter(format!("ISO {}: give 100 to 800, or 0 for automatic", self.iso)));
        }
        if let Some((r, b)) = self.awb_gains {
            params::encoded(&AwbGains { red: r, blue: b })?;
        }
        Ok(())
    }

    pub(super) fn apply(&self, control: &Port) -> Result<()> {
        control.set(&self.exposure_mode)?;
        control.set(&ShutterSpeed(self.shutter_speed_us))?;
        control.set(&Iso(self.iso))?;
        control.set(&ExposureCompensation(self.exposure_compensation))?;
        control.set(&self.metering)?;
        control.set(&self.awb_mode)?;
        if let Some((red, blue)) = self.awb_gains {
            control.set(&AwbGains { red, blue })?;
        }
        control.set(&Brightness(self.brightness))?;
        control.set(&Contrast(self.contrast))?;
        control.set(&Saturation(self.saturation))?;
        control.set(&Sharpness(self.sharpness))?;
        control.set(&self.image_effect)?;
        control.set(&self.drc)?;
        control.set(&VideoStabilisation(self.video_stabilisation))?;
        Ok(())
    }

    pub(super) fn read(control: &Port) -> Result<Settings> {
        let awb_mode: AwbMode = control.get()?;
        let awb_gains =
            if awb_mode == AwbMode::Off { control.get::<AwbGains>().ok().map(|g| (g.red, g.blue)) } else { None };
        Ok(Settings {
            exposure_mode: control.get()?,
            shutter_speed_us: control.get::<ShutterSpeed>()?.0,
            iso: control.get::<Iso>()?.0,
            exposure_compensation: control.get::<ExposureCompensation>()?.0,
            metering: control.get()?,
            awb_mode,
            awb_gains,
            brightness: control.get::<Brightness>()?.0,
            contrast: control.get::<Contrast>()?.0,
            saturation: control.get::<Saturation>()?.0,
            sharpness: control.get::<Sharpness>()?.0,
            image_effect: control.get()?,
            drc: control.get()?,
            video_stabilisation: control.get::<VideoStabilisation>()?.0,
        })
    }
}
