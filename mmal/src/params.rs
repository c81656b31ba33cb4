//! Typed parameters for [`Port::get`](crate::Port::get) and
//! [`Port::set`](crate::Port::set).
//!
//! Each type knows its `MMAL_PARAMETER_*` ID and its C layout; payloads
//! are built in a stack buffer, so getting and setting never allocate
//! (except for the list in [`SupportedEncodings`] and [`CameraInfo`]).
//!
//! ```no_run
//! use mmal::params::{AwbMode, CameraNum, ShutterSpeed};
//! let camera = mmal::Component::new("vc.ril.camera")?;
//! camera.control().set(&CameraNum(0))?;
//! camera.control().set(&ShutterSpeed(20_000))?;
//! camera.control().set(&AwbMode::Sunlight)?;
//! # Ok::<(), mmal::Error>(())
//! ```

use mmal_sys as sys;

use crate::error::{Error, Result};
use crate::format::{Encoding, Rational};
pub use crate::lens_shading::LensShading;

/// A parameter's identity.
pub trait Parameter {
    /// `MMAL_PARAMETER_*`.
    const ID: u32;
    /// The parameter's name, for errors.
    const NAME: &'static str;
}

/// A parameter that can be read.
pub trait GetParameter: Parameter + Sized {
    /// Payload bytes (after the 8-byte header) to ask for.
    const SIZE: usize;
    /// Reads the value from the payload the port returned.
    ///
    /// # Errors
    ///
    /// [`Error::ShortParameter`] and the like for a malformed payload.
    fn decode(payload: &[u8]) -> Result<Self>;
}

/// A parameter that can be written.
pub trait SetParameter: Parameter {
    /// Writes the payload (after the header) into `out`; returns its length.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for a value that cannot be sent.
    fn encode(&self, out: &mut [u8]) -> Result<usize>;

    /// Checks the value against the provider before it is sent (lens
    /// shading memory must come from the same VideoCore).
    #[doc(hidden)]
    fn check(&self, _provider: crate::Provider) -> Result<()> {
        Ok(())
    }
}

pub(crate) fn u32_at(p: &[u8], offset: usize, name: &'static str) -> Result<u32> {
    p.get(offset..offset + 4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]])).ok_or(Error::ShortParameter {
        name,
        got: p.len(),
        want: offset + 4,
    })
}

pub(crate) fn put_u32(out: &mut [u8], offset: usize, v: u32) {
    out[offset..offset + 4].copy_from_slice(&v.to_ne_bytes());
}

fn rational_at(p: &[u8], offset: usize, name: &'static str) -> Result<Rational> {
    Ok(Rational::new(u32_at(p, offset, name)? as i32, u32_at(p, offset + 4, name)? as i32))
}

fn put_rational(out: &mut [u8], offset: usize, r: Rational) {
    put_u32(out, offset, r.num as u32);
    put_u32(out, offset + 4, r.den as u32);
}

fn gain(value: f64, name: &str) -> Result<Rational> {
    if !(0.0..=32768.0).contains(&value) || value.is_nan() {
        return Err(Error::InvalidParameter(format!("{name} {value} is not a gain (0 for automatic, or 1.0 and up)")));
    }
    Ok(Rational::from_f64(value))
}

macro_rules! scalar {
    ($(#[$doc:meta])* $name:ident($ty:ty), $id:expr, $label:literal, $from:expr, $to:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub $ty);

        impl Parameter for $name {
            const ID: u32 = $id;
            const NAME: &'static str = $label;
        }

        impl GetParameter for $name {
            const SIZE: usize = 4;
            fn decode(payload: &[u8]) -> Result<Self> {
                let raw = u32_at(payload, 0, $label)?;
                Ok($name(($from)(raw)))
            }
        }

        impl SetParameter for $name {
            fn encode(&self, out: &mut [u8]) -> Result<usize> {
                put_u32(out, 0, ($to)(self.0));
                Ok(4)
            }
        }
    };
}

scalar!(
    /// `MMAL_PARAMETER_CAMERA_NUM`: which camera (0 or 1 on a Compute
    /// Module), set on the camera's control port before anything else.
    CameraNum(i32), sys::MMAL_PARAMETER_CAMERA_NUM, "CAMERA_NUM", |v: u32| v as i32, |v: i32| v as u32
);
scalar!(
    /// `MMAL_PARAMETER_CAMERA_CUSTOM_SENSOR_CONFIG`: the sensor mode (1–7;
    /// 0 lets the firmware choose from the output size and frame rate).
    SensorMode(u32), sys::MMAL_PARAMETER_CAMERA_CUSTOM_SENSOR_CONFIG, "CAMERA_CUSTOM_SENSOR_CONFIG", |v| v, |v| v
);
scalar!(
    /// `MMAL_PARAMETER_CAPTURE`, on the video or still port: the video port
    /// streams while it is set; the still port takes one picture each time
    /// it is set.
    Capture(bool), sys::MMAL_PARAMETER_CAPTURE, "CAPTURE", |v| v != 0, |v: bool| v as u32
);
scalar!(
    /// `MMAL_PARAMETER_ZERO_COPY`: payloads in VCSM memory shared with the
    /// VideoCore instead of copied. Set it before enabling the port.
    ZeroCopy(bool), sys::MMAL_PARAMETER_ZERO_COPY, "ZERO_COPY", |v| v != 0, |v: bool| v as u32
);
scalar!(
    /// `MMAL_PARAMETER_SHUTTER_SPEED` in microseconds; 0 is automatic.
    ShutterSpeed(u32), sys::MMAL_PARAMETER_SHUTTER_SPEED, "SHUTTER_SPEED", |v| v, |v| v
);
scalar!(
    /// `MMAL_PARAMETER_ISO` (100–800); 0 is automatic.
    Iso(u32), sys::MMAL_PARAMETER_ISO, "ISO", |v| v, |v| v
);
scalar!(
    /// `MMAL_PARAMETER_JPEG_Q_FACTOR` (1–100), on an image encoder's output.
    JpegQuality(u32), sys::MMAL_PARAMETER_JPEG_Q_FACTOR, "JPEG_Q_FACTOR", |v| v, |v| v
);

macro_rules! mode_enum {
    ($(#[$doc:meta])* $name:ident, $id:expr, $label:literal, { $($(#[$vdoc:meta])* $variant:ident = $value:expr),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// A value this crate does not name.
            Other(u32),
        }

        impl $name {
            /// The raw value.
            pub fn to_raw(self) -> u32 {
                match self {
                    $($name::$variant => $value,)*
                    $name::Other(v) => v,
                }
            }

            /// The mode for a raw value.
            pub fn from_raw(v: u32) -> $name {
                match v {
                    $(x if x == $value => $name::$variant,)*
                    other => $name::Other(other),
                }
            }
        }

        impl Parameter for $name {
            const ID: u32 = $id;
            const NAME: &'static str = $label;
        }

        impl GetParameter for $name {
            const SIZE: usize = 4;
            fn decode(payload: &[u8]) -> Result<Self> {
                Ok($name::from_raw(u32_at(payload, 0, $label)?))
            }
        }

        impl SetParameter for $name {
            fn encode(&self, out: &mut [u8]) -> Result<usize> {
                put_u32(out, 0, self.to_raw());
                Ok(4)
            }
        }
    };
}

mode_enum!(
    /// `MMAL_PARAMETER_EXPOSURE_MODE`.
    ExposureMode, sys::MMAL_PARAMETER_EXPOSURE_MODE, "EXPOSURE_MODE", {
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
    AwbMode, sys::MMAL_PARAMETER_AWB_MODE, "AWB_MODE", {
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

macro_rules! gain_param {
    ($(#[$doc:meta])* $name:ident, $id:expr, $label:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq)]
        pub struct $name(pub f64);

        impl Parameter for $name {
            const ID: u32 = $id;
            const NAME: &'static str = $label;
        }

        impl GetParameter for $name {
            const SIZE: usize = 8;
            fn decode(payload: &[u8]) -> Result<Self> {
                Ok($name(rational_at(payload, 0, $label)?.to_f64()))
            }
        }

        impl SetParameter for $name {
            fn encode(&self, out: &mut [u8]) -> Result<usize> {
                put_rational(out, 0, gain(self.0, $label)?);
                Ok(8)
            }
        }
    };
}

gain_param!(
    /// `MMAL_PARAMETER_ANALOG_GAIN` (1.0–8.0 on the OV5647, 1.0–12.0 on the
    /// IMX219 and IMX477; 0 is automatic).
    AnalogGain, sys::MMAL_PARAMETER_ANALOG_GAIN, "ANALOG_GAIN"
);
gain_param!(
    /// `MMAL_PARAMETER_DIGITAL_GAIN` (1.0 and up; 0 is automatic).
    DigitalGain, sys::MMAL_PARAMETER_DIGITAL_GAIN, "DIGITAL_GAIN"
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
    const SIZE: usize = 16;
    fn decode(p: &[u8]) -> Result<Self> {
        Ok(AwbGains { red: rational_at(p, 0, Self::NAME)?.to_f64(), blue: rational_at(p, 8, Self::NAME)?.to_f64() })
    }
}

impl SetParameter for AwbGains {
    fn encode(&self, out: &mut [u8]) -> Result<usize> {
        put_rational(out, 0, gain(self.red, "red gain")?);
        put_rational(out, 8, gain(self.blue, "blue gain")?);
        Ok(16)
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
    const SIZE: usize = 16;
    fn decode(p: &[u8]) -> Result<Self> {
        Ok(FpsRange { low: rational_at(p, 0, Self::NAME)?, high: rational_at(p, 8, Self::NAME)? })
    }
}

impl SetParameter for FpsRange {
    fn encode(&self, out: &mut [u8]) -> Result<usize> {
        if self.low.den == 0 || self.high.den == 0 || self.low.to_f64() > self.high.to_f64() {
            return Err(Error::InvalidParameter(format!("FPS range {self:?} is empty")));
        }
        put_rational(out, 0, self.low);
        put_rational(out, 8, self.high);
        Ok(16)
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

impl GetParameter for CameraConfig {
    const SIZE: usize = 40;
    fn decode(p: &[u8]) -> Result<Self> {
        let f = |i: usize| u32_at(p, 4 * i, Self::NAME);
        Ok(CameraConfig {
            max_stills_w: f(0)?,
            max_stills_h: f(1)?,
            stills_yuv422: f(2)? != 0,
            one_shot_stills: f(3)? != 0,
            max_preview_video_w: f(4)?,
            max_preview_video_h: f(5)?,
            num_preview_video_frames: f(6)?,
            stills_capture_circular_buffer_height: f(7)?,
            fast_preview_resume: f(8)? != 0,
            timestamp_mode: match f(9)? {
                sys::MMAL_PARAM_TIMESTAMP_MODE_ZERO => TimestampMode::Zero,
                sys::MMAL_PARAM_TIMESTAMP_MODE_RAW_STC => TimestampMode::RawStc,
                _ => TimestampMode::ResetStc,
            },
        })
    }
}

impl SetParameter for CameraConfig {
    fn encode(&self, out: &mut [u8]) -> Result<usize> {
        let fields = [
            self.max_stills_w,
            self.max_stills_h,
            self.stills_yuv422 as u32,
            self.one_shot_stills as u32,
            self.max_preview_video_w,
            self.max_preview_video_h,
            self.num_preview_video_frames,
            self.stills_capture_circular_buffer_height,
            self.fast_preview_resume as u32,
            match self.timestamp_mode {
                TimestampMode::Zero => sys::MMAL_PARAM_TIMESTAMP_MODE_ZERO,
                TimestampMode::RawStc => sys::MMAL_PARAM_TIMESTAMP_MODE_RAW_STC,
                TimestampMode::ResetStc => sys::MMAL_PARAM_TIMESTAMP_MODE_RESET_STC,
            },
        ];
        for (i, v) in fields.into_iter().enumerate() {
            put_u32(out, 4 * i, v);
        }
        Ok(40)
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
    const SIZE: usize = std::mem::size_of::<sys::MMAL_PARAMETER_CAMERA_INFO_T>() - 8;
    fn decode(p: &[u8]) -> Result<Self> {
        let n = u32_at(p, 0, Self::NAME)?.min(sys::MMAL_PARAMETER_CAMERA_INFO_MAX_CAMERAS) as usize;
        let mut cameras = Vec::with_capacity(n);
        for i in 0..n {
            let at = 8 + 32 * i;
            let name_bytes = p.get(at + 16..at + 32).ok_or(Error::ShortParameter {
                name: Self::NAME,
                got: p.len(),
                want: at + 32,
            })?;
            let end = name_bytes.iter().position(|&b| b == 0).unwrap_or(16);
            cameras.push(CameraEntry {
                port_id: u32_at(p, at, Self::NAME)?,
                max_width: u32_at(p, at + 4, Self::NAME)?,
                max_height: u32_at(p, at + 8, Self::NAME)?,
                lens_present: u32_at(p, at + 12, Self::NAME)? != 0,
                name: String::from_utf8_lossy(&name_bytes[..end]).into_owned(),
            });
        }
        Ok(CameraInfo { cameras, num_flashes: u32_at(p, 4, Self::NAME)? })
    }
}

/// `MMAL_PARAMETER_CAMERA_SETTINGS`: what the camera's exposure and white
/// balance settled on. Read it, or ask for change events with
/// [`ChangeEventRequest`].
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
    const SIZE: usize = 40;
    fn decode(p: &[u8]) -> Result<Self> {
        Ok(CameraSettings {
            exposure_us: u32_at(p, 0, Self::NAME)?,
            analog_gain: rational_at(p, 4, Self::NAME)?.to_f64(),
            digital_gain: rational_at(p, 12, Self::NAME)?.to_f64(),
            awb_red_gain: rational_at(p, 20, Self::NAME)?.to_f64(),
            awb_blue_gain: rational_at(p, 28, Self::NAME)?.to_f64(),
            focus_position: u32_at(p, 36, Self::NAME)?,
        })
    }
}

/// `MMAL_PARAMETER_CHANGE_EVENT_REQUEST`: ask for (or stop) an
/// [`Event::ParameterChanged`](crate::Event::ParameterChanged) each time
/// parameter `id` changes. raspistill asks for
/// [`CameraSettings`] this way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeEventRequest {
    /// The parameter to watch.
    pub id: u32,
    /// Start (`true`) or stop.
    pub enable: bool,
}

impl ChangeEventRequest {
    /// Watch parameter `P`.
    pub fn of<P: Parameter>() -> ChangeEventRequest {
        ChangeEventRequest { id: P::ID, enable: true }
    }
}

impl Parameter for ChangeEventRequest {
    const ID: u32 = sys::MMAL_PARAMETER_CHANGE_EVENT_REQUEST;
    const NAME: &'static str = "CHANGE_EVENT_REQUEST";
}

impl SetParameter for ChangeEventRequest {
    fn encode(&self, out: &mut [u8]) -> Result<usize> {
        put_u32(out, 0, self.id);
        put_u32(out, 4, self.enable as u32);
        Ok(8)
    }
}

/// `MMAL_PARAMETER_SUPPORTED_ENCODINGS`: what a port accepts, in the
/// firmware's order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportedEncodings(pub Vec<Encoding>);

impl Parameter for SupportedEncodings {
    const ID: u32 = sys::MMAL_PARAMETER_SUPPORTED_ENCODINGS;
    const NAME: &'static str = "SUPPORTED_ENCODINGS";
}

impl GetParameter for SupportedEncodings {
    const SIZE: usize = sys::MMAL_PARAMETER_MAX_SIZE as usize - 8;
    fn decode(p: &[u8]) -> Result<Self> {
        Ok(SupportedEncodings(
            p.chunks_exact(4).map(|c| Encoding::from_raw(u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))).collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<P: GetParameter + SetParameter + PartialEq + std::fmt::Debug>(p: P) {
        let mut buf = [0u8; 384];
        let n = p.encode(&mut buf).unwrap();
        assert_eq!(P::decode(&buf[..n]).unwrap(), p);
    }

    #[test]
    fn payloads_round_trip() {
        round_trip(CameraNum(1));
        round_trip(SensorMode(4));
        round_trip(Capture(true));
        round_trip(ShutterSpeed(33_000));
        round_trip(AwbMode::Tungsten);
        round_trip(AwbMode::Other(77));
        round_trip(ExposureMode::Sports);
        round_trip(AnalogGain(2.5));
        round_trip(AwbGains { red: 1.5, blue: 2.25 });
        round_trip(FpsRange::new(1.0, 30.0));
        round_trip(CameraConfig::for_size(1920, 1080));
    }

    #[test]
    fn bad_values_are_refused() {
        let mut buf = [0u8; 64];
        assert!(matches!(AnalogGain(-1.0).encode(&mut buf), Err(Error::InvalidParameter(_))));
        assert!(matches!(FpsRange::new(30.0, 1.0).encode(&mut buf), Err(Error::InvalidParameter(_))));
        assert!(matches!(CameraSettings::decode(&[0; 8]), Err(Error::ShortParameter { .. })));
    }

    #[test]
    fn gains_travel_as_raspistill_sends_them() {
        let mut buf = [0u8; 8];
        AnalogGain(2.0).encode(&mut buf).unwrap();
        assert_eq!(u32_at(&buf, 0, "x").unwrap(), 131072);
        assert_eq!(u32_at(&buf, 4, "x").unwrap(), 65536);
    }
}
