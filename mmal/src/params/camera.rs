//! Camera control: which sensor and mode, exposure, gains, white balance, frame rates, the camera's configuration and what it reports.

use super::prelude::*;

scalar!(
    /// `MMAL_PARAMETER_CAMERA_NUM`: which camera (0 or 1 on a Compute
    /// Module), set on the camera's control port before anything else.
    CameraNum(i32), sys::MMAL_PARAMETER_CAMERA_NUM, "CAMERA_NUM", sys::MMAL_PARAMETER_INT32_T, value, |v| v, |v| v
);
scalar!(
    /// `MMAL_PARAMETER_CAMERA_CUSTOM_SENSOR_CONFIG`: the sensor mode (1–7;
    /// 0 lets the firmware choose from the output size and frame rate).
    SensorMode(u32), sys::MMAL_PARAMETER_CAMERA_CUSTOM_SENSOR_CONFIG, "CAMERA_CUSTOM_SENSOR_CONFIG",
    sys::MMAL_PARAMETER_UINT32_T, value, |v| v, |v| v
);

scalar!(
    /// `MMAL_PARAMETER_SHUTTER_SPEED` in microseconds; 0 is automatic.
    ShutterSpeed(u32), sys::MMAL_PARAMETER_SHUTTER_SPEED, "SHUTTER_SPEED", sys::MMAL_PARAMETER_UINT32_T, value,
    |v| v, |v| v
);
scalar!(
    /// `MMAL_PARAMETER_ISO` (100–800); 0 is automatic.
    Iso(u32), sys::MMAL_PARAMETER_ISO, "ISO", sys::MMAL_PARAMETER_UINT32_T, value, |v| v, |v| v
);

scalar!(
    /// `MMAL_PARAMETER_EXPOSURE_COMP` in steps of 1/6 EV (-25 to 25).
    ExposureCompensation(i32), sys::MMAL_PARAMETER_EXPOSURE_COMP, "EXPOSURE_COMP", sys::MMAL_PARAMETER_INT32_T,
    value, |v| v, |v| v
);

scalar!(
    /// `MMAL_PARAMETER_VIDEO_STABILISATION` on the camera's control port.
    VideoStabilisation(bool), sys::MMAL_PARAMETER_VIDEO_STABILISATION, "VIDEO_STABILISATION",
    sys::MMAL_PARAMETER_BOOLEAN_T, enable, |v| v != 0, |v: bool| v as i32
);

mode_enum!(
    /// `MMAL_PARAMETER_EXPOSURE_MODE`.
    ExposureMode, sys::MMAL_PARAMETER_EXPOSURE_MODE, "EXPOSURE_MODE", sys::MMAL_PARAMETER_EXPOSUREMODE_T, {
        /// Fixed: shutter and gains as set.
        Off = sys::MMAL_PARAM_EXPOSUREMODE_OFF,
        /// Automatic.
        Auto = sys::MMAL_PARAM_EXPOSUREMODE_AUTO,
        /// Night.
        Night = sys::MMAL_PARAM_EXPOSUREMODE_NIGHT,
        /// Backlight.
        Backlight = sys::MMAL_PARAM_EXPOSUREMODE_BACKLIGHT,
        /// Spotlight.
        Spotlight = sys::MMAL_PARAM_EXPOSUREMODE_SPOTLIGHT,
        /// Sports (short exposures).
        Sports = sys::MMAL_PARAM_EXPOSUREMODE_SPORTS,
        /// Very long exposures.
        VeryLong = sys::MMAL_PARAM_EXPOSUREMODE_VERYLONG,
        /// Fixed frame rate.
        FixedFps = sys::MMAL_PARAM_EXPOSUREMODE_FIXEDFPS,
    }
);

mode_enum!(
    /// `MMAL_PARAMETER_AWB_MODE`. [`AwbMode::Off`] applies [`AwbGains`].
    AwbMode, sys::MMAL_PARAMETER_AWB_MODE, "AWB_MODE", sys::MMAL_PARAMETER_AWBMODE_T, {
        /// Off: the gains set with [`AwbGains`].
        Off = sys::MMAL_PARAM_AWBMODE_OFF,
        /// Automatic.
        Auto = sys::MMAL_PARAM_AWBMODE_AUTO,
        /// Sunlight.
        Sunlight = sys::MMAL_PARAM_AWBMODE_SUNLIGHT,
        /// Cloudy.
        Cloudy = sys::MMAL_PARAM_AWBMODE_CLOUDY,
        /// Shade.
        Shade = sys::MMAL_PARAM_AWBMODE_SHADE,
        /// Tungsten.
        Tungsten = sys::MMAL_PARAM_AWBMODE_TUNGSTEN,
        /// Fluorescent.
        Fluorescent = sys::MMAL_PARAM_AWBMODE_FLUORESCENT,
        /// Incandescent.
        Incandescent = sys::MMAL_PARAM_AWBMODE_INCANDESCENT,
        /// Flash.
        Flash = sys::MMAL_PARAM_AWBMODE_FLASH,
        /// Horizon.
        Horizon = sys::MMAL_PARAM_AWBMODE_HORIZON,
        /// Grey world.
        GreyWorld = sys::MMAL_PARAM_AWBMODE_GREYWORLD,
    }
);

gain_param!(
    /// `MMAL_PARAMETER_ANALOG_GAIN` (1.0–8.0 on the OV5647, 1.0–12.0 on the
    /// IMX219 and IMX477; 0 is automatic).
    AnalogGain, sys::MMAL_PARAMETER_ANALOG_GAIN, "ANALOG_GAIN"
);
gain_param!(
    /// `MMAL_PARAMETER_DIGITAL_GAIN` (1.0 and up; 0 is automatic).
    DigitalGain, sys::MMAL_PARAMETER_DIGITAL_GAIN, "DIGITAL_GAIN"
);

mode_enum!(
    /// `MMAL_PARAMETER_EXP_METERING_MODE`: how exposure is measured.
    MeteringMode, sys::MMAL_PARAMETER_EXP_METERING_MODE, "EXP_METERING_MODE", sys::MMAL_PARAMETER_UINT32_T, {
        /// The whole picture, averaged (the default).
        Average = sys::MMAL_PARAM_EXPOSUREMETERINGMODE_AVERAGE,
        /// The centre.
        Spot = sys::MMAL_PARAM_EXPOSUREMETERINGMODE_SPOT,
        /// Weighted for a bright background.
        Backlit = sys::MMAL_PARAM_EXPOSUREMETERINGMODE_BACKLIT,
        /// Zones.
        Matrix = sys::MMAL_PARAM_EXPOSUREMETERINGMODE_MATRIX,
    }
);

mode_enum!(
    /// `MMAL_PARAMETER_FLICKER_AVOID`: exposure times that avoid the
    /// flicker of mains lighting.
    FlickerAvoid, sys::MMAL_PARAMETER_FLICKER_AVOID, "FLICKER_AVOID", sys::MMAL_PARAMETER_UINT32_T, {
        /// Off (the default).
        Off = sys::MMAL_PARAM_FLICKERAVOID_OFF,
        /// Detected.
        Auto = sys::MMAL_PARAM_FLICKERAVOID_AUTO,
        /// 50 Hz mains.
        Hz50 = sys::MMAL_PARAM_FLICKERAVOID_50HZ,
        /// 60 Hz mains.
        Hz60 = sys::MMAL_PARAM_FLICKERAVOID_60HZ,
    }
);

scalar!(
    /// `MMAL_PARAMETER_BLACK_LEVEL`: the level the ISP takes as black, at
    /// the sensor's bit depth (64 of 1023 on the OV5647 and IMX219, 256 of
    /// 4095 on the IMX477). On an ISP input it tells the ISP what the raw
    /// data holds. The software VideoCore's camera answers its sensor's on
    /// the control port, and a value set there changes what its ISP
    /// subtracts (blacks lift or crush), not the raw data: calibrate from
    /// the raw with the sensor's own level.
    BlackLevel(u32), sys::MMAL_PARAMETER_BLACK_LEVEL, "BLACK_LEVEL", sys::MMAL_PARAMETER_UINT32_T, value,
    |v| v, |v| v
);

/// `MMAL_PARAMETER_CUSTOM_AWB_GAINS`: red and blue gains, used while
/// [`AwbMode::Off`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AwbGains {
    /// Red gain.
    pub red: f64,
    /// Blue gain.
    pub blue: f64,
}

impl Parameter for AwbGains {
    const ID: u32 = sys::MMAL_PARAMETER_CUSTOM_AWB_GAINS;
    const NAME: &'static str = "CUSTOM_AWB_GAINS";
}

impl GetParameter for AwbGains {
    type C = sys::MMAL_PARAMETER_AWB_GAINS_T;
    fn from_c(c: &Self::C, _size: usize) -> Result<Self> {
        Ok(AwbGains { red: rational(c.r_gain).to_f64(), blue: rational(c.b_gain).to_f64() })
    }
}

impl SetParameter for AwbGains {
    type C = sys::MMAL_PARAMETER_AWB_GAINS_T;
    fn to_c(&self) -> Result<Self::C> {
        let (r_gain, b_gain) = (gain(self.red, "red gain")?, gain(self.blue, "blue gain")?);
        Ok(Self::C::with_id(Self::ID).tap(|c| (c.r_gain, c.b_gain) = (r_gain, b_gain)))
    }
}

/// `MMAL_PARAMETER_FPS_RANGE` on a camera output: the frame rates the
/// sensor may use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FpsRange {
    /// Lowest frame rate.
    pub low: Rational,
    /// Highest frame rate.
    pub high: Rational,
}

impl FpsRange {
    /// `low..=high` frames per second.
    pub fn new(low: f64, high: f64) -> FpsRange {
        FpsRange { low: Rational::from_f64(low), high: Rational::from_f64(high) }
    }
}

impl Parameter for FpsRange {
    const ID: u32 = sys::MMAL_PARAMETER_FPS_RANGE;
    const NAME: &'static str = "FPS_RANGE";
}

impl GetParameter for FpsRange {
    type C = sys::MMAL_PARAMETER_FPS_RANGE_T;
    fn from_c(c: &Self::C, _size: usize) -> Result<Self> {
        Ok(FpsRange { low: rational(c.fps_low), high: rational(c.fps_high) })
    }
}

impl SetParameter for FpsRange {
    type C = sys::MMAL_PARAMETER_FPS_RANGE_T;
    fn to_c(&self) -> Result<Self::C> {
        if self.low.den == 0 || self.high.den == 0 || self.low.to_f64() > self.high.to_f64() {
            return Err(Error::InvalidParameter(format!("FPS range {self:?} is empty")));
        }
        Ok(Self::C::with_id(Self::ID).tap(|c| (c.fps_low, c.fps_high) = (c_rational(self.low), c_rational(self.high))))
    }
}

/// `MMAL_PARAMETER_FRAME_RATE` on a camera output: the rate it runs at,
/// which may change while it runs (picamera's `framerate_delta` nudges it
/// by 1/256ths to follow another clock). Reads back the rate in use; 0
/// hands the rate back to the port's format and [`FpsRange`].
///
/// ```no_run
/// # fn main() -> mmal::Result<()> {
/// use mmal::params::FrameRate;
/// let camera = mmal::Component::new("vc.ril.camera")?;
/// let video = camera.output(1)?;
/// video.set(&FrameRate(mmal::Rational::new(30 * 256 + 1, 256)))?;
/// assert_eq!(video.get::<FrameRate>()?.0.to_f64(), 30.0 + 1.0 / 256.0);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameRate(pub Rational);

impl Parameter for FrameRate {
    const ID: u32 = sys::MMAL_PARAMETER_FRAME_RATE;
    const NAME: &'static str = "FRAME_RATE";
}

impl GetParameter for FrameRate {
    type C = sys::MMAL_PARAMETER_FRAME_RATE_T;
    fn from_c(c: &Self::C, _size: usize) -> Result<Self> {
        Ok(FrameRate(rational(c.frame_rate)))
    }
}

impl SetParameter for FrameRate {
    type C = sys::MMAL_PARAMETER_FRAME_RATE_T;
    fn to_c(&self) -> Result<Self::C> {
        if self.0.den <= 0 || self.0.num < 0 {
            return Err(Error::InvalidParameter(format!(
                "frame rate {}/{}: give a positive rate, or 0 for the format's",
                self.0.num, self.0.den
            )));
        }
        Ok(Self::C::with_id(Self::ID).tap(|c| c.frame_rate = c_rational(self.0)))
    }
}

/// How camera timestamps count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimestampMode {
    /// Always zero.
    Zero,
    /// The VideoCore's free-running clock.
    RawStc,
    /// Microseconds since the camera was enabled (raspistill's choice).
    ResetStc,
}

/// `MMAL_PARAMETER_CAMERA_CONFIG`: limits the camera allocates for; set on
/// the control port while the camera is disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CameraConfig {
    /// Largest still width.
    pub max_stills_w: u32,
    /// Largest still height.
    pub max_stills_h: u32,
    /// Stills in YUV 4:2:2 instead of 4:2:0.
    pub stills_yuv422: bool,
    /// Stop streaming to take stills one at a time.
    pub one_shot_stills: bool,
    /// Largest preview and video width.
    pub max_preview_video_w: u32,
    /// Largest preview and video height.
    pub max_preview_video_h: u32,
    /// Frames the camera keeps for preview and video (3 is usual).
    pub num_preview_video_frames: u32,
    /// Rows of the still capture circular buffer (0: none).
    pub stills_capture_circular_buffer_height: u32,
    /// Resume preview quickly after a still.
    pub fast_preview_resume: bool,
    /// Timestamps.
    pub timestamp_mode: TimestampMode,
}

impl CameraConfig {
    /// raspistill's configuration for a `width`×`height` still and preview.
    pub fn for_size(width: u32, height: u32) -> CameraConfig {
        CameraConfig {
            max_stills_w: width,
            max_stills_h: height,
            stills_yuv422: false,
            one_shot_stills: true,
            max_preview_video_w: width,
            max_preview_video_h: height,
            num_preview_video_frames: 3,
            stills_capture_circular_buffer_height: 0,
            fast_preview_resume: false,
            timestamp_mode: TimestampMode::ResetStc,
        }
    }
}

impl Parameter for CameraConfig {
    const ID: u32 = sys::MMAL_PARAMETER_CAMERA_CONFIG;
    const NAME: &'static str = "CAMERA_CONFIG";
}

impl TimestampMode {
    fn to_raw(self) -> u32 {
        match self {
            TimestampMode::Zero => sys::MMAL_PARAM_TIMESTAMP_MODE_ZERO,
            TimestampMode::RawStc => sys::MMAL_PARAM_TIMESTAMP_MODE_RAW_STC,
            TimestampMode::ResetStc => sys::MMAL_PARAM_TIMESTAMP_MODE_RESET_STC,
        }
    }

    fn from_raw(raw: u32) -> TimestampMode {
        match raw {
            sys::MMAL_PARAM_TIMESTAMP_MODE_ZERO => TimestampMode::Zero,
            sys::MMAL_PARAM_TIMESTAMP_MODE_RAW_STC => TimestampMode::RawStc,
            _ => TimestampMode::ResetStc,
        }
    }
}

impl GetParameter for CameraConfig {
    type C = sys::MMAL_PARAMETER_CAMERA_CONFIG_T;
    fn from_c(c: &Self::C, _size: usize) -> Result<Self> {
        Ok(CameraConfig {
            max_stills_w: c.max_stills_w,
            max_stills_h: c.max_stills_h,
            stills_yuv422: c.stills_yuv422 != 0,
            one_shot_stills: c.one_shot_stills != 0,
            max_preview_video_w: c.max_preview_video_w,
            max_preview_video_h: c.max_preview_video_h,
            num_preview_video_frames: c.num_preview_video_frames,
            stills_capture_circular_buffer_height: c.stills_capture_circular_buffer_height,
            fast_preview_resume: c.fast_preview_resume != 0,
            timestamp_mode: TimestampMode::from_raw(c.use_stc_timestamp),
        })
    }
}

impl SetParameter for CameraConfig {
    type C = sys::MMAL_PARAMETER_CAMERA_CONFIG_T;
    fn to_c(&self) -> Result<Self::C> {
        Ok(sys::MMAL_PARAMETER_CAMERA_CONFIG_T {
            hdr: Self::C::with_id(Self::ID).hdr,
            max_stills_w: self.max_stills_w,
            max_stills_h: self.max_stills_h,
            stills_yuv422: self.stills_yuv422 as u32,
            one_shot_stills: self.one_shot_stills as u32,
            max_preview_video_w: self.max_preview_video_w,
            max_preview_video_h: self.max_preview_video_h,
            num_preview_video_frames: self.num_preview_video_frames,
            stills_capture_circular_buffer_height: self.stills_capture_circular_buffer_height,
            fast_preview_resume: self.fast_preview_resume as u32,
            use_stc_timestamp: self.timestamp_mode.to_raw(),
        })
    }
}

/// One camera in [`CameraInfo`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraEntry {
    /// The camera's port ID.
    pub port_id: u32,
    /// Full resolution width.
    pub max_width: u32,
    /// Full resolution height.
    pub max_height: u32,
    /// Whether a lens (focus) controller is present.
    pub lens_present: bool,
    /// The sensor name (`ov5647`, `imx219`, `imx477`).
    pub name: String,
}

/// `MMAL_PARAMETER_CAMERA_INFO`, read from `vc.camera_info`'s control port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraInfo {
    /// The cameras attached.
    pub cameras: Vec<CameraEntry>,
    /// How many flashes.
    pub num_flashes: u32,
}

impl Parameter for CameraInfo {
    const ID: u32 = sys::MMAL_PARAMETER_CAMERA_INFO;
    const NAME: &'static str = "CAMERA_INFO";
}

impl GetParameter for CameraInfo {
    type C = sys::MMAL_PARAMETER_CAMERA_INFO_T;
    fn from_c(c: &Self::C, _size: usize) -> Result<Self> {
        let n = (c.num_cameras as usize).min(c.cameras.len());
        let cameras = c.cameras[..n]
            .iter()
            .map(|cam| {
                let name: Vec<u8> = cam.camera_name.iter().map(|&b| b as u8).take_while(|&b| b != 0).collect();
                CameraEntry {
                    port_id: cam.port_id,
                    max_width: cam.max_width,
                    max_height: cam.max_height,
                    lens_present: cam.lens_present != 0,
                    name: String::from_utf8_lossy(&name).into_owned(),
                }
            })
            .collect();
        Ok(CameraInfo { cameras, num_flashes: c.num_flashes })
    }
}

/// `MMAL_PARAMETER_CAMERA_SETTINGS`: what the camera's exposure and white
/// balance settled on. Read it, or ask for change events with
/// [`ChangeEventRequest`](super::ChangeEventRequest).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraSettings {
    /// Exposure time in microseconds.
    pub exposure_us: u32,
    /// Analogue gain.
    pub analog_gain: f64,
    /// Digital gain.
    pub digital_gain: f64,
    /// Red white-balance gain.
    pub awb_red_gain: f64,
    /// Blue white-balance gain.
    pub awb_blue_gain: f64,
    /// Focus position.
    pub focus_position: u32,
}

impl Parameter for CameraSettings {
    const ID: u32 = sys::MMAL_PARAMETER_CAMERA_SETTINGS;
    const NAME: &'static str = "CAMERA_SETTINGS";
}

impl GetParameter for CameraSettings {
    type C = sys::MMAL_PARAMETER_CAMERA_SETTINGS_T;
    fn from_c(c: &Self::C, _size: usize) -> Result<Self> {
        Ok(CameraSettings {
            exposure_us: c.exposure,
            analog_gain: rational(c.analog_gain).to_f64(),
            digital_gain: rational(c.digital_gain).to_f64(),
            awb_red_gain: rational(c.awb_red_gain).to_f64(),
            awb_blue_gain: rational(c.awb_blue_gain).to_f64(),
            focus_position: c.focus_position,
        })
    }
}
