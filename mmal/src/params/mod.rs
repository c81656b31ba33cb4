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

use std::mem::size_of;

use mmal_sys as sys;
use sys::param::{as_bytes, from_bytes, ParameterStruct};

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

/// A parameter that can be read. It travels as the C struct `C` (from
/// `mmal_sys`, whose layout is pinned per ABI), which the port fills in.
pub trait GetParameter: Parameter + Sized {
    /// The C struct the port fills in.
    type C: ParameterStruct;
    /// Bytes (header included) a reply must hold: the whole struct unless
    /// the parameter's length varies.
    const MIN_SIZE: usize = size_of::<Self::C>();
    /// The value from the struct the port filled; `size` is the reply's
    /// size, header included (at least [`MIN_SIZE`](Self::MIN_SIZE)).
    ///
    /// # Errors
    ///
    /// [`Error::ShortParameter`] and the like for a malformed reply.
    fn from_c(c: &Self::C, size: usize) -> Result<Self>;
}

/// A parameter that can be written, as the C struct `C`.
pub trait SetParameter: Parameter {
    /// The C struct sent to the port.
    type C: ParameterStruct;
    /// The struct to send; its header is filled in by
    /// [`Port::set`](crate::Port::set).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for a value that cannot be sent.
    fn to_c(&self) -> Result<Self::C>;

    /// Checks the value against the provider before it is sent (lens
    /// shading memory must come from the same VideoCore).
    #[doc(hidden)]
    fn check(&self, _provider: crate::Provider) -> Result<()> {
        Ok(())
    }
}

/// `P` from the payload of a parameter (the bytes after its header), as a
/// `PARAMETER_CHANGED` event carries it.
pub(crate) fn from_payload<P: GetParameter>(payload: &[u8]) -> Result<P> {
    let size = 8 + payload.len();
    if size < P::MIN_SIZE {
        return Err(Error::ShortParameter { name: P::NAME, got: payload.len(), want: P::MIN_SIZE - 8 });
    }
    let mut bytes = [0u8; sys::MMAL_PARAMETER_MAX_SIZE as usize];
    let n = payload.len().min(bytes.len() - 8);
    bytes[8..8 + n].copy_from_slice(&payload[..n]);
    P::from_c(&from_bytes(&bytes), size.min(size_of::<P::C>()))
}

/// The bytes `value` sends, header included (for tests and logs).
pub fn encoded<P: SetParameter>(value: &P) -> Result<Vec<u8>> {
    let mut c = value.to_c()?;
    *c.header_mut() = sys::MMAL_PARAMETER_HEADER_T { id: P::ID, size: size_of::<P::C>() as u32 };
    Ok(as_bytes(&c).to_vec())
}

fn rational(r: sys::MMAL_RATIONAL_T) -> Rational {
    Rational::new(r.num, r.den)
}

fn c_rational(r: Rational) -> sys::MMAL_RATIONAL_T {
    sys::MMAL_RATIONAL_T { num: r.num, den: r.den }
}

fn gain(value: f64, name: &str) -> Result<sys::MMAL_RATIONAL_T> {
    if !(0.0..=32768.0).contains(&value) || value.is_nan() {
        return Err(Error::InvalidParameter(format!("{name} {value} is not a gain (0 for automatic, or 1.0 and up)")));
    }
    Ok(c_rational(Rational::from_f64(value)))
}

macro_rules! scalar {
    ($(#[$doc:meta])* $name:ident($ty:ty), $id:expr, $label:literal, $c:ty, $field:ident, $from:expr, $to:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub $ty);

        impl Parameter for $name {
            const ID: u32 = $id;
            const NAME: &'static str = $label;
        }

        impl GetParameter for $name {
            type C = $c;
            fn from_c(c: &$c, _size: usize) -> Result<Self> {
                Ok($name(($from)(c.$field)))
            }
        }

        impl SetParameter for $name {
            type C = $c;
            fn to_c(&self) -> Result<$c> {
                Ok(<$c>::with_id($id).tap(|c: &mut $c| c.$field = ($to)(self.0)))
            }
        }
    };
}

/// Sets fields of a freshly made struct in an expression.
trait Tap: Sized {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}

impl<T: ParameterStruct> Tap for T {}

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
    /// `MMAL_PARAMETER_CAPTURE`, on the video or still port: the video port
    /// streams while it is set; the still port takes one picture each time
    /// it is set.
    Capture(bool), sys::MMAL_PARAMETER_CAPTURE, "CAPTURE", sys::MMAL_PARAMETER_BOOLEAN_T, enable,
    |v| v != 0, |v: bool| v as i32
);
scalar!(
    /// `MMAL_PARAMETER_ZERO_COPY`: payloads in VCSM memory shared with the
    /// VideoCore instead of copied. Set it before enabling the port.
    ZeroCopy(bool), sys::MMAL_PARAMETER_ZERO_COPY, "ZERO_COPY", sys::MMAL_PARAMETER_BOOLEAN_T, enable,
    |v| v != 0, |v: bool| v as i32
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
/// An image control as the firmware takes it: a rational `value/100`.
macro_rules! level_param {
    ($(#[$doc:meta])* $name:ident, $id:expr, $label:literal, $range:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub i32);

        impl Parameter for $name {
            const ID: u32 = $id;
            const NAME: &'static str = $label;
        }

        impl GetParameter for $name {
            type C = sys::MMAL_PARAMETER_RATIONAL_T;
            fn from_c(c: &Self::C, _size: usize) -> Result<Self> {
                let r = rational(c.value);
                Ok($name((r.to_f64() * 100.0).round() as i32))
            }
        }

        impl SetParameter for $name {
            type C = sys::MMAL_PARAMETER_RATIONAL_T;
            fn to_c(&self) -> Result<Self::C> {
                if !($range).contains(&self.0) {
                    return Err(Error::InvalidParameter(format!(
                        "{} {} is outside {:?}",
                        $label, self.0, $range
                    )));
                }
                Ok(Self::C::with_id($id).tap(|c| c.value = sys::MMAL_RATIONAL_T { num: self.0, den: 100 }))
            }
        }
    };
}

level_param!(
    /// `MMAL_PARAMETER_BRIGHTNESS`, 0 to 100 (50 is neutral).
    Brightness, sys::MMAL_PARAMETER_BRIGHTNESS, "BRIGHTNESS", 0..=100
);
level_param!(
    /// `MMAL_PARAMETER_CONTRAST`, -100 to 100 (0 is neutral).
    Contrast, sys::MMAL_PARAMETER_CONTRAST, "CONTRAST", -100..=100
);
level_param!(
    /// `MMAL_PARAMETER_SATURATION`, -100 to 100 (0 is neutral).
    Saturation, sys::MMAL_PARAMETER_SATURATION, "SATURATION", -100..=100
);
level_param!(
    /// `MMAL_PARAMETER_SHARPNESS`, -100 to 100 (0 is neutral).
    Sharpness, sys::MMAL_PARAMETER_SHARPNESS, "SHARPNESS", -100..=100
);

scalar!(
    /// `MMAL_PARAMETER_ENABLE_RAW_CAPTURE`, on the camera's still port: the
    /// raw Bayer data is appended to each JPEG the image encoder makes of
    /// it, as a `BRCM` block ([`crate::raw`] reads it).
    RawCapture(bool), sys::MMAL_PARAMETER_ENABLE_RAW_CAPTURE, "ENABLE_RAW_CAPTURE", sys::MMAL_PARAMETER_BOOLEAN_T,
    enable, |v| v != 0, |v: bool| v as i32
);
scalar!(
    /// `MMAL_PARAMETER_JPEG_RESTART_INTERVAL`, on an image encoder's output:
    /// a restart marker every this many MCUs (0: none).
    JpegRestartInterval(u32), sys::MMAL_PARAMETER_JPEG_RESTART_INTERVAL, "JPEG_RESTART_INTERVAL",
    sys::MMAL_PARAMETER_UINT32_T, value, |v| v, |v| v
);
scalar!(
    /// `MMAL_PARAMETER_EXIF_DISABLE`, on an image encoder's output: no EXIF
    /// block at all.
    ExifDisable(bool), sys::MMAL_PARAMETER_EXIF_DISABLE, "EXIF_DISABLE", sys::MMAL_PARAMETER_BOOLEAN_T, enable,
    |v| v != 0, |v: bool| v as i32
);
scalar!(
    /// `MMAL_PARAMETER_EXPOSURE_COMP` in steps of 1/6 EV (-25 to 25).
    ExposureCompensation(i32), sys::MMAL_PARAMETER_EXPOSURE_COMP, "EXPOSURE_COMP", sys::MMAL_PARAMETER_INT32_T,
    value, |v| v, |v| v
);
scalar!(
    /// `MMAL_PARAMETER_ROTATION` of an output, in degrees (0, 90, 180, 270).
    Rotation(i32), sys::MMAL_PARAMETER_ROTATION, "ROTATION", sys::MMAL_PARAMETER_INT32_T, value, |v| v, |v| v
);
scalar!(
    /// `MMAL_PARAMETER_VIDEO_STABILISATION` on the camera's control port.
    VideoStabilisation(bool), sys::MMAL_PARAMETER_VIDEO_STABILISATION, "VIDEO_STABILISATION",
    sys::MMAL_PARAMETER_BOOLEAN_T, enable, |v| v != 0, |v: bool| v as i32
);
scalar!(
    /// `MMAL_PARAMETER_CAPTURE_STATS_PASS`: a statistics pass before each
    /// still, for exposure and white balance closer to the picture.
    StatsPass(bool), sys::MMAL_PARAMETER_CAPTURE_STATS_PASS, "CAPTURE_STATS_PASS", sys::MMAL_PARAMETER_BOOLEAN_T,
    enable, |v| v != 0, |v: bool| v as i32
);

scalar!(
    /// `MMAL_PARAMETER_JPEG_Q_FACTOR` (1–100), on an image encoder's output.
    JpegQuality(u32), sys::MMAL_PARAMETER_JPEG_Q_FACTOR, "JPEG_Q_FACTOR", sys::MMAL_PARAMETER_UINT32_T, value,
    |v| v, |v| v
);

macro_rules! mode_enum {
    ($(#[$doc:meta])* $name:ident, $id:expr, $label:literal, $c:ty, { $($(#[$vdoc:meta])* $variant:ident = $value:expr),* $(,)? }) => {
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
            type C = $c;
            fn from_c(c: &$c, _size: usize) -> Result<Self> {
                Ok($name::from_raw(c.value))
            }
        }

        impl SetParameter for $name {
            type C = $c;
            fn to_c(&self) -> Result<$c> {
                Ok(<$c>::with_id($id).tap(|c: &mut $c| c.value = self.to_raw()))
            }
        }
    };
}

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
            type C = sys::MMAL_PARAMETER_RATIONAL_T;
            fn from_c(c: &sys::MMAL_PARAMETER_RATIONAL_T, _size: usize) -> Result<Self> {
                Ok($name(rational(c.value).to_f64()))
            }
        }

        impl SetParameter for $name {
            type C = sys::MMAL_PARAMETER_RATIONAL_T;
            fn to_c(&self) -> Result<sys::MMAL_PARAMETER_RATIONAL_T> {
                let value = gain(self.0, $label)?;
                Ok(sys::MMAL_PARAMETER_RATIONAL_T::with_id($id).tap(|c| c.value = value))
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
    /// `MMAL_PARAMETER_IMAGE_EFFECT`.
    ImageEffect, sys::MMAL_PARAMETER_IMAGE_EFFECT, "IMAGE_EFFECT", sys::MMAL_PARAMETER_UINT32_T, {
        /// None (the default).
        None = sys::MMAL_PARAM_IMAGEFX_NONE,
        /// Negative.
        Negative = sys::MMAL_PARAM_IMAGEFX_NEGATIVE,
        /// Solarise.
        Solarize = sys::MMAL_PARAM_IMAGEFX_SOLARIZE,
        /// Posterise (the first of two).
        Posterize = sys::MMAL_PARAM_IMAGEFX_POSTERIZE,
        /// Whiteboard.
        Whiteboard = sys::MMAL_PARAM_IMAGEFX_WHITEBOARD,
        /// Blackboard.
        Blackboard = sys::MMAL_PARAM_IMAGEFX_BLACKBOARD,
        /// Sketch.
        Sketch = sys::MMAL_PARAM_IMAGEFX_SKETCH,
        /// Denoise.
        Denoise = sys::MMAL_PARAM_IMAGEFX_DENOISE,
        /// Emboss.
        Emboss = sys::MMAL_PARAM_IMAGEFX_EMBOSS,
        /// Oil paint.
        OilPaint = sys::MMAL_PARAM_IMAGEFX_OILPAINT,
        /// Hatch.
        Hatch = sys::MMAL_PARAM_IMAGEFX_HATCH,
        /// Graphite pen.
        GPen = sys::MMAL_PARAM_IMAGEFX_GPEN,
        /// Pastel.
        Pastel = sys::MMAL_PARAM_IMAGEFX_PASTEL,
        /// Watercolour.
        Watercolour = sys::MMAL_PARAM_IMAGEFX_WATERCOLOUR,
        /// Film grain.
        Film = sys::MMAL_PARAM_IMAGEFX_FILM,
        /// Blur.
        Blur = sys::MMAL_PARAM_IMAGEFX_BLUR,
        /// Saturation.
        Saturation = sys::MMAL_PARAM_IMAGEFX_SATURATION,
        /// Swapped colours.
        ColourSwap = sys::MMAL_PARAM_IMAGEFX_COLOURSWAP,
        /// Washed out.
        WashedOut = sys::MMAL_PARAM_IMAGEFX_WASHEDOUT,
        /// Posterise.
        Posterise = sys::MMAL_PARAM_IMAGEFX_POSTERISE,
        /// Colour point.
        ColourPoint = sys::MMAL_PARAM_IMAGEFX_COLOURPOINT,
        /// Colour balance.
        ColourBalance = sys::MMAL_PARAM_IMAGEFX_COLOURBALANCE,
        /// Cartoon.
        Cartoon = sys::MMAL_PARAM_IMAGEFX_CARTOON,
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
mode_enum!(
    /// `MMAL_PARAMETER_MIRROR` of an output.
    Mirror, sys::MMAL_PARAMETER_MIRROR, "MIRROR", sys::MMAL_PARAMETER_UINT32_T, {
        /// None (the default).
        None = sys::MMAL_PARAM_MIRROR_NONE,
        /// Flipped top to bottom.
        Vertical = sys::MMAL_PARAM_MIRROR_VERTICAL,
        /// Flipped left to right.
        Horizontal = sys::MMAL_PARAM_MIRROR_HORIZONTAL,
        /// Both (rotated 180 degrees).
        Both = sys::MMAL_PARAM_MIRROR_BOTH,
    }
);
mode_enum!(
    /// `MMAL_PARAMETER_DYNAMIC_RANGE_COMPRESSION` strength.
    Drc, sys::MMAL_PARAMETER_DYNAMIC_RANGE_COMPRESSION, "DYNAMIC_RANGE_COMPRESSION", sys::MMAL_PARAMETER_UINT32_T, {
        /// Off (the default).
        Off = sys::MMAL_PARAMETER_DRC_STRENGTH_OFF,
        /// Low.
        Low = sys::MMAL_PARAMETER_DRC_STRENGTH_LOW,
        /// Medium.
        Medium = sys::MMAL_PARAMETER_DRC_STRENGTH_MEDIUM,
        /// High.
        High = sys::MMAL_PARAMETER_DRC_STRENGTH_HIGH,
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

/// `MMAL_PARAMETER_COLOUR_EFFECT`: every pixel gets the same chroma (U
/// and V, 0 to 255), keeping its luma; U = V = 128 gives a grey picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColourEffect {
    /// Off (the default): the picture's own colours.
    Off,
    /// Fixed chroma.
    Fixed {
        /// U, 128 is neutral.
        u: u8,
        /// V, 128 is neutral.
        v: u8,
    },
}

impl Parameter for ColourEffect {
    const ID: u32 = sys::MMAL_PARAMETER_COLOUR_EFFECT;
    const NAME: &'static str = "COLOUR_EFFECT";
}

impl GetParameter for ColourEffect {
    type C = sys::MMAL_PARAMETER_COLOURFX_T;
    fn from_c(c: &Self::C, _size: usize) -> Result<Self> {
        Ok(if c.enable == 0 {
            ColourEffect::Off
        } else {
            ColourEffect::Fixed { u: c.u.min(255) as u8, v: c.v.min(255) as u8 }
        })
    }
}

impl SetParameter for ColourEffect {
    type C = sys::MMAL_PARAMETER_COLOURFX_T;
    fn to_c(&self) -> Result<Self::C> {
        let (enable, u, v) = match *self {
            ColourEffect::Off => (0, 128, 128),
            ColourEffect::Fixed { u, v } => (1, u32::from(u), u32::from(v)),
        };
        Ok(Self::C::with_id(Self::ID).tap(|c| (c.enable, c.u, c.v) = (enable, u, v)))
    }
}

/// `MMAL_PARAMETER_THUMBNAIL_CONFIGURATION`, on an image encoder's control
/// port: a small JPEG of each picture in its EXIF block (IFD1), where
/// viewers look for a preview. Off by default; raspistill and picamera ask
/// for `Thumbnail::new(64, 48, 35)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Thumbnail {
    /// Whether to embed one.
    pub enable: bool,
    /// Its width in pixels.
    pub width: u32,
    /// Its height in pixels.
    pub height: u32,
    /// Its JPEG quality, 1 to 100.
    pub quality: u32,
}

impl Thumbnail {
    /// No thumbnail.
    pub const OFF: Thumbnail = Thumbnail { enable: false, width: 0, height: 0, quality: 0 };

    /// A `width` x `height` thumbnail at JPEG `quality`.
    pub fn new(width: u32, height: u32, quality: u32) -> Thumbnail {
        Thumbnail { enable: true, width, height, quality }
    }
}

impl Parameter for Thumbnail {
    const ID: u32 = sys::MMAL_PARAMETER_THUMBNAIL_CONFIGURATION;
    const NAME: &'static str = "THUMBNAIL_CONFIGURATION";
}

impl GetParameter for Thumbnail {
    type C = sys::MMAL_PARAMETER_THUMBNAIL_CONFIG_T;
    fn from_c(c: &Self::C, _size: usize) -> Result<Self> {
        Ok(Thumbnail { enable: c.enable != 0, width: c.width, height: c.height, quality: c.quality })
    }
}

impl SetParameter for Thumbnail {
    type C = sys::MMAL_PARAMETER_THUMBNAIL_CONFIG_T;
    fn to_c(&self) -> Result<Self::C> {
        if self.enable && (self.width == 0 || self.height == 0 || !(1..=100).contains(&self.quality)) {
            return Err(Error::InvalidParameter(format!(
                "thumbnail {}x{} at quality {}: the size must not be 0 and the quality must be 1 to 100",
                self.width, self.height, self.quality
            )));
        }
        Ok(Self::C::with_id(Self::ID).tap(|c| {
            (c.enable, c.width, c.height, c.quality) = (u32::from(self.enable), self.width, self.height, self.quality);
        }))
    }
}

/// The longest annotation text, in bytes (the firmware's buffer holds 256
/// with the terminating NUL).
pub const ANNOTATE_MAX_TEXT: usize = 255;

/// `MMAL_PARAMETER_ANNOTATE`, its third revision (the one picamera sends;
/// raspistill sends the fourth, [`AnnotateV4`], which adds where the text
/// goes): text and figures the camera writes over its frames.
///
/// ```
/// use mmal::params::Annotate;
/// let note = Annotate { show_frame_num: true, ..Annotate::text("bench 3") };
/// assert!(note.enable);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Annotate {
    /// Whether anything is written.
    pub enable: bool,
    /// The text, at most [`ANNOTATE_MAX_TEXT`] bytes, no NUL.
    pub text: String,
    /// The shutter speed.
    pub show_shutter: bool,
    /// The analogue gain.
    pub show_analog_gain: bool,
    /// The lens position.
    pub show_lens: bool,
    /// The autofocus state.
    pub show_caf: bool,
    /// Motion figures.
    pub show_motion: bool,
    /// The frame number.
    pub show_frame_num: bool,
    /// A background behind the text (black unless `background` is set).
    pub text_background: bool,
    /// The background's colour as Y, U, V.
    pub background: Option<[u8; 3]>,
    /// The text's colour as Y, U, V (white by default).
    pub text_colour: Option<[u8; 3]>,
    /// Text height in pixels, 6 to 160; 0 leaves the firmware's default.
    pub text_size: u8,
}

impl Annotate {
    /// `text`, enabled, the rest as the firmware defaults them.
    pub fn text(text: impl Into<String>) -> Annotate {
        Annotate { enable: true, text: text.into(), ..Annotate::default() }
    }
}

impl Parameter for Annotate {
    const ID: u32 = sys::MMAL_PARAMETER_ANNOTATE;
    const NAME: &'static str = "ANNOTATE";
}

impl GetParameter for Annotate {
    type C = sys::MMAL_PARAMETER_CAMERA_ANNOTATE_V3_T;
    fn from_c(c: &Self::C, _size: usize) -> Result<Self> {
        let text: Vec<u8> = c.text.iter().map(|&b| b as u8).take_while(|&b| b != 0).collect();
        let colour = |on: i32, yuv: [u8; 3]| (on != 0).then_some(yuv);
        Ok(Annotate {
            enable: c.enable != 0,
            text: String::from_utf8_lossy(&text).into_owned(),
            show_shutter: c.show_shutter != 0,
            show_analog_gain: c.show_analog_gain != 0,
            show_lens: c.show_lens != 0,
            show_caf: c.show_caf != 0,
            show_motion: c.show_motion != 0,
            show_frame_num: c.show_frame_num != 0,
            text_background: c.enable_text_background != 0,
            background: colour(
                c.custom_background_colour,
                [c.custom_background_Y, c.custom_background_U, c.custom_background_V],
            ),
            text_colour: colour(c.custom_text_colour, [c.custom_text_Y, c.custom_text_U, c.custom_text_V]),
            text_size: c.text_size,
        })
    }
}

impl SetParameter for Annotate {
    type C = sys::MMAL_PARAMETER_CAMERA_ANNOTATE_V3_T;
    fn to_c(&self) -> Result<Self::C> {
        if self.text.len() > ANNOTATE_MAX_TEXT || self.text.contains('\0') {
            return Err(Error::InvalidParameter(format!(
                "annotation text of {} bytes: at most {ANNOTATE_MAX_TEXT}, with no NUL",
                self.text.len()
            )));
        }
        if self.text_size != 0 && !(6..=160).contains(&self.text_size) {
            return Err(Error::InvalidParameter(format!(
                "annotation text size {}: 6 to 160 pixels, or 0 for the default",
                self.text_size
            )));
        }
        let mut c = Self::C::with_id(Self::ID);
        for (dst, &b) in c.text.iter_mut().zip(self.text.as_bytes()) {
            *dst = b as core::ffi::c_char;
        }
        let flag = |b: bool| i32::from(b);
        c.enable = flag(self.enable);
        c.show_shutter = flag(self.show_shutter);
        c.show_analog_gain = flag(self.show_analog_gain);
        c.show_lens = flag(self.show_lens);
        c.show_caf = flag(self.show_caf);
        c.show_motion = flag(self.show_motion);
        c.show_frame_num = flag(self.show_frame_num);
        c.enable_text_background = flag(self.text_background);
        if let Some([y, u, v]) = self.background {
            c.custom_background_colour = 1;
            (c.custom_background_Y, c.custom_background_U, c.custom_background_V) = (y, u, v);
        }
        if let Some([y, u, v]) = self.text_colour {
            c.custom_text_colour = 1;
            (c.custom_text_Y, c.custom_text_U, c.custom_text_V) = (y, u, v);
        }
        c.text_size = self.text_size;
        Ok(c)
    }
}

/// Where [`AnnotateV4`] puts the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Justify {
    /// Centred (the default).
    #[default]
    Centre,
    /// From the left edge.
    Left,
    /// From the right edge.
    Right,
}

/// `MMAL_PARAMETER_ANNOTATE`, fourth revision: [`Annotate`] and where the
/// text goes. Older firmware takes only the third revision.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AnnotateV4 {
    /// What is written.
    pub annotate: Annotate,
    /// Which edge the text is placed from.
    pub justify: Justify,
    /// Pixels from that edge.
    pub x_offset: u32,
    /// Pixels from the top.
    pub y_offset: u32,
}

impl Parameter for AnnotateV4 {
    const ID: u32 = sys::MMAL_PARAMETER_ANNOTATE;
    const NAME: &'static str = "ANNOTATE";
}

impl GetParameter for AnnotateV4 {
    type C = sys::MMAL_PARAMETER_CAMERA_ANNOTATE_V4_T;
    /// A component holding the third revision answers with it: the
    /// placement is then the default.
    const MIN_SIZE: usize = size_of::<sys::MMAL_PARAMETER_CAMERA_ANNOTATE_V3_T>();
    fn from_c(c: &Self::C, size: usize) -> Result<Self> {
        // The fourth revision starts with the third's fields.
        let v3 = from_bytes::<sys::MMAL_PARAMETER_CAMERA_ANNOTATE_V3_T>(as_bytes(c));
        let justify = match c.justify {
            1 => Justify::Left,
            2 => Justify::Right,
            _ => Justify::Centre,
        };
        Ok(AnnotateV4 {
            annotate: Annotate::from_c(&v3, size.min(size_of::<sys::MMAL_PARAMETER_CAMERA_ANNOTATE_V3_T>()))?,
            justify,
            x_offset: c.x_offset,
            y_offset: c.y_offset,
        })
    }
}

impl SetParameter for AnnotateV4 {
    type C = sys::MMAL_PARAMETER_CAMERA_ANNOTATE_V4_T;
    fn to_c(&self) -> Result<Self::C> {
        let v3 = self.annotate.to_c()?;
        let mut c = from_bytes::<Self::C>(as_bytes(&v3));
        c.hdr = sys::MMAL_PARAMETER_HEADER_T { id: Self::ID, size: size_of::<Self::C>() as u32 };
        c.justify = match self.justify {
            Justify::Centre => 0,
            Justify::Left => 1,
            Justify::Right => 2,
        };
        (c.x_offset, c.y_offset) = (self.x_offset, self.y_offset);
        Ok(c)
    }
}

scalar!(
    /// `MMAL_PARAMETER_INTRAPERIOD`, on a video encoder's output: frames from
    /// one IDR to the next (0: only the first).
    IntraPeriod(u32), sys::MMAL_PARAMETER_INTRAPERIOD, "INTRAPERIOD", sys::MMAL_PARAMETER_UINT32_T, value, |v| v, |v| v
);
scalar!(
    /// `MMAL_PARAMETER_VIDEO_BIT_RATE`, on a video encoder's output: bits per
    /// second, also while it runs (0: a constant quantiser).
    VideoBitRate(u32), sys::MMAL_PARAMETER_VIDEO_BIT_RATE, "VIDEO_BIT_RATE", sys::MMAL_PARAMETER_UINT32_T, value,
    |v| v, |v| v
);
scalar!(
    /// `MMAL_PARAMETER_VIDEO_ENCODE_INLINE_HEADER`, on a video encoder's
    /// output: the SPS and PPS before every IDR, not only at the start, so
    /// a stream can be joined or split at any IDR.
    InlineHeader(bool), sys::MMAL_PARAMETER_VIDEO_ENCODE_INLINE_HEADER, "VIDEO_ENCODE_INLINE_HEADER",
    sys::MMAL_PARAMETER_BOOLEAN_T, enable, |v| v != 0, |v: bool| v as i32
);
scalar!(
    /// `MMAL_PARAMETER_VIDEO_ENCODE_SPS_TIMING`, on a video encoder's output:
    /// the frame rate in the SPS (VUI timing).
    SpsTiming(bool), sys::MMAL_PARAMETER_VIDEO_ENCODE_SPS_TIMING, "VIDEO_ENCODE_SPS_TIMING",
    sys::MMAL_PARAMETER_BOOLEAN_T, enable, |v| v != 0, |v: bool| v as i32
);
scalar!(
    /// `MMAL_PARAMETER_VIDEO_ENCODE_INLINE_VECTORS`, on a video encoder's
    /// output: after each frame, a buffer flagged `CODECSIDEINFO` of motion
    /// vectors (per macroblock row, one more than the macroblocks: `x` and
    /// `y` as `i8`, `sad` as `u16`).
    InlineVectors(bool), sys::MMAL_PARAMETER_VIDEO_ENCODE_INLINE_VECTORS, "VIDEO_ENCODE_INLINE_VECTORS",
    sys::MMAL_PARAMETER_BOOLEAN_T, enable, |v| v != 0, |v: bool| v as i32
);
scalar!(
    /// `MMAL_PARAMETER_VIDEO_ENCODE_SEI_ENABLE`, on a video encoder's output:
    /// SEI messages (buffering period, picture timing) in the stream. The
    /// software VideoCore keeps and reads back the setting but sends no SEI.
    SeiEnable(bool), sys::MMAL_PARAMETER_VIDEO_ENCODE_SEI_ENABLE, "VIDEO_ENCODE_SEI_ENABLE",
    sys::MMAL_PARAMETER_BOOLEAN_T, enable, |v| v != 0, |v: bool| v as i32
);
scalar!(
    /// `MMAL_PARAMETER_VIDEO_REQUEST_I_FRAME`, on a video encoder's output
    /// or control port (picamera uses the latter): the next frame is an IDR.
    RequestIFrame(bool), sys::MMAL_PARAMETER_VIDEO_REQUEST_I_FRAME, "VIDEO_REQUEST_I_FRAME",
    sys::MMAL_PARAMETER_BOOLEAN_T, enable, |v| v != 0, |v: bool| v as i32
);
scalar!(
    /// `MMAL_PARAMETER_VIDEO_IMMUTABLE_INPUT`, on a video encoder's input:
    /// the encoder does not write into the input buffers.
    ImmutableInput(bool), sys::MMAL_PARAMETER_VIDEO_IMMUTABLE_INPUT, "VIDEO_IMMUTABLE_INPUT",
    sys::MMAL_PARAMETER_BOOLEAN_T, enable, |v| v != 0, |v: bool| v as i32
);
scalar!(
    /// `MMAL_PARAMETER_VIDEO_ENCODE_MIN_QUANT` (0 to 51): the finest
    /// quantiser the rate control may use; with no bitrate, the quantiser.
    MinQuant(u32), sys::MMAL_PARAMETER_VIDEO_ENCODE_MIN_QUANT, "VIDEO_ENCODE_MIN_QUANT", sys::MMAL_PARAMETER_UINT32_T,
    value, |v| v, |v| v
);
scalar!(
    /// `MMAL_PARAMETER_VIDEO_ENCODE_MAX_QUANT` (0 to 51): the coarsest.
    MaxQuant(u32), sys::MMAL_PARAMETER_VIDEO_ENCODE_MAX_QUANT, "VIDEO_ENCODE_MAX_QUANT", sys::MMAL_PARAMETER_UINT32_T,
    value, |v| v, |v| v
);
scalar!(
    /// `MMAL_PARAMETER_VIDEO_ENCODE_INITIAL_QUANT` (0 to 51): where the rate
    /// control starts.
    InitialQuant(u32), sys::MMAL_PARAMETER_VIDEO_ENCODE_INITIAL_QUANT, "VIDEO_ENCODE_INITIAL_QUANT",
    sys::MMAL_PARAMETER_UINT32_T, value, |v| v, |v| v
);

/// An H.264 profile (`MMAL_VIDEO_PROFILE_T`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum H264Profile {
    /// Baseline.
    Baseline,
    /// Constrained baseline.
    ConstrainedBaseline,
    /// Main.
    Main,
    /// Extended.
    Extended,
    /// High (the firmware's default).
    High,
    /// A value this crate does not name.
    Other(u32),
}

impl H264Profile {
    fn to_raw(self) -> u32 {
        match self {
            H264Profile::Baseline => sys::MMAL_VIDEO_PROFILE_H264_BASELINE,
            H264Profile::ConstrainedBaseline => sys::MMAL_VIDEO_PROFILE_H264_CONSTRAINED_BASELINE,
            H264Profile::Main => sys::MMAL_VIDEO_PROFILE_H264_MAIN,
            H264Profile::Extended => sys::MMAL_VIDEO_PROFILE_H264_EXTENDED,
            H264Profile::High => sys::MMAL_VIDEO_PROFILE_H264_HIGH,
            H264Profile::Other(v) => v,
        }
    }

    fn from_raw(v: u32) -> H264Profile {
        match v {
            sys::MMAL_VIDEO_PROFILE_H264_BASELINE => H264Profile::Baseline,
            sys::MMAL_VIDEO_PROFILE_H264_CONSTRAINED_BASELINE => H264Profile::ConstrainedBaseline,
            sys::MMAL_VIDEO_PROFILE_H264_MAIN => H264Profile::Main,
            sys::MMAL_VIDEO_PROFILE_H264_EXTENDED => H264Profile::Extended,
            sys::MMAL_VIDEO_PROFILE_H264_HIGH => H264Profile::High,
            other => H264Profile::Other(other),
        }
    }
}

/// The H.264 levels, as `level_idc` counts them (`Level31` is 3.1).
const H264_LEVELS: [(u32, u8); 16] = [
    (sys::MMAL_VIDEO_LEVEL_H264_1, 10),
    (sys::MMAL_VIDEO_LEVEL_H264_1b, 9),
    (sys::MMAL_VIDEO_LEVEL_H264_11, 11),
    (sys::MMAL_VIDEO_LEVEL_H264_12, 12),
    (sys::MMAL_VIDEO_LEVEL_H264_13, 13),
    (sys::MMAL_VIDEO_LEVEL_H264_2, 20),
    (sys::MMAL_VIDEO_LEVEL_H264_21, 21),
    (sys::MMAL_VIDEO_LEVEL_H264_22, 22),
    (sys::MMAL_VIDEO_LEVEL_H264_3, 30),
    (sys::MMAL_VIDEO_LEVEL_H264_31, 31),
    (sys::MMAL_VIDEO_LEVEL_H264_32, 32),
    (sys::MMAL_VIDEO_LEVEL_H264_4, 40),
    (sys::MMAL_VIDEO_LEVEL_H264_41, 41),
    (sys::MMAL_VIDEO_LEVEL_H264_42, 42),
    (sys::MMAL_VIDEO_LEVEL_H264_5, 50),
    (sys::MMAL_VIDEO_LEVEL_H264_51, 51),
];

/// `MMAL_PARAMETER_PROFILE`, on a video encoder's output: the H.264
/// profile and level. `level` is ten times the level's number (40 for
/// 4.0, 9 for 1b), as the SPS's `level_idc` counts it.
///
/// ```
/// use mmal::params::{H264Profile, VideoProfile};
/// let p = VideoProfile { profile: H264Profile::High, level: 41 };
/// # let _ = p;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VideoProfile {
    /// The profile.
    pub profile: H264Profile,
    /// The level, as `level_idc` (10 to 51).
    pub level: u8,
}

impl Parameter for VideoProfile {
    const ID: u32 = sys::MMAL_PARAMETER_PROFILE;
    const NAME: &'static str = "PROFILE";
}

impl GetParameter for VideoProfile {
    type C = sys::MMAL_PARAMETER_VIDEO_PROFILE_T;
    fn from_c(c: &Self::C, _size: usize) -> Result<Self> {
        let entry = c.profile[0];
        let level = H264_LEVELS.iter().find(|(raw, _)| *raw == entry.level).map_or(0, |(_, idc)| *idc);
        Ok(VideoProfile { profile: H264Profile::from_raw(entry.profile), level })
    }
}

impl SetParameter for VideoProfile {
    type C = sys::MMAL_PARAMETER_VIDEO_PROFILE_T;
    fn to_c(&self) -> Result<Self::C> {
        let Some(&(level, _)) = H264_LEVELS.iter().find(|(_, idc)| *idc == self.level) else {
            return Err(Error::InvalidParameter(format!(
                "H.264 level {}: one of 9 (1b), 10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51",
                self.level
            )));
        };
        let profile = self.profile.to_raw();
        Ok(Self::C::with_id(Self::ID)
            .tap(|c| c.profile[0] = sys::MMAL_PARAMETER_VIDEO_PROFILE_ENTRY_T { profile, level }))
    }
}

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
    type C = sys::MMAL_PARAMETER_CHANGE_EVENT_REQUEST_T;
    fn to_c(&self) -> Result<Self::C> {
        Ok(Self::C::with_id(Self::ID).tap(|c| (c.change_id, c.enable) = (self.id, self.enable as i32)))
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
    type C = sys::param::MaxParameter;
    const MIN_SIZE: usize = 8;
    fn from_c(c: &Self::C, size: usize) -> Result<Self> {
        let n = ((size - 8) / 4).min(c.words.len());
        Ok(SupportedEncodings(c.words[..n].iter().map(|&e| Encoding::from_raw(e)).collect()))
    }
}

/// `MMAL_PARAMETER_EXIF`, on an image encoder's output: one EXIF tag for
/// the JPEGs it makes, by its firmware name (`IFD0.Model`, `IFD0.Artist`,
/// `EXIF.DateTimeOriginal`...). Set-only; set each tag in turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exif {
    /// The tag, as `IFD0.Artist`.
    pub key: String,
    /// Its value.
    pub value: String,
}

impl Exif {
    /// The tag `key` with `value`.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Exif {
        Exif { key: key.into(), value: value.into() }
    }
}

impl Parameter for Exif {
    const ID: u32 = sys::MMAL_PARAMETER_EXIF;
    const NAME: &'static str = "EXIF";
}

/// The word of [`MaxParameter`](sys::param::MaxParameter)`::words` where
/// the text of an `MMAL_PARAMETER_EXIF_T` starts, after its `keylen`,
/// `value_offset` and `valuelen`.
const EXIF_TEXT_WORD: usize =
    (std::mem::offset_of!(sys::MMAL_PARAMETER_EXIF_T, data) - size_of::<sys::MMAL_PARAMETER_HEADER_T>()) / 4;

impl SetParameter for Exif {
    type C = sys::param::MaxParameter;
    fn to_c(&self) -> Result<Self::C> {
        // keylen, value_offset and valuelen 0: the firmware splits
        // "key=value" itself. Then the NUL-terminated text.
        let text = format!("{}={}", self.key, self.value);
        let mut c = Self::C::with_id(Self::ID);
        let room = (c.words.len() - EXIF_TEXT_WORD) * 4 - 1;
        if text.len() > room || text.contains('\0') || self.key.contains('=') {
            return Err(Error::InvalidParameter(format!(
                "EXIF tag {:?}: at most {room} bytes of key=value, no NUL, no '=' in the key",
                self.key
            )));
        }
        let mut bytes = [0u8; 4];
        for (i, chunk) in text.as_bytes().chunks(4).enumerate() {
            bytes.fill(0);
            bytes[..chunk.len()].copy_from_slice(chunk);
            c.words[EXIF_TEXT_WORD + i] = u32::from_ne_bytes(bytes);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use std::mem::offset_of;

    use super::*;

    fn round_trip<P: GetParameter + SetParameter + PartialEq + std::fmt::Debug>(p: P) {
        let bytes = encoded(&p).unwrap();
        assert_eq!(bytes.len(), size_of::<<P as SetParameter>::C>());
        let back = from_bytes::<<P as GetParameter>::C>(&bytes);
        assert_eq!(P::from_c(&back, bytes.len()).unwrap(), p);
    }

    fn u32_at(bytes: &[u8], offset: usize) -> u32 {
        u32::from_ne_bytes(bytes[offset..offset + 4].try_into().unwrap())
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
        round_trip(Brightness(70));
        round_trip(Contrast(-20));
        round_trip(Saturation(15));
        round_trip(Sharpness(100));
        round_trip(RawCapture(true));
        round_trip(JpegRestartInterval(8));
        round_trip(ExifDisable(true));
        round_trip(ExposureCompensation(-6));
        round_trip(Rotation(180));
        round_trip(VideoStabilisation(true));
        round_trip(StatsPass(true));
        round_trip(MeteringMode::Spot);
        round_trip(ImageEffect::Negative);
        round_trip(FlickerAvoid::Hz50);
        round_trip(Mirror::Both);
        round_trip(Drc::High);
        round_trip(BlackLevel(64));
        round_trip(IntraPeriod(30));
        round_trip(VideoBitRate(17_000_000));
        round_trip(InlineHeader(true));
        round_trip(SeiEnable(true));
        round_trip(SpsTiming(true));
        round_trip(InlineVectors(true));
        round_trip(MinQuant(20));
        round_trip(VideoProfile { profile: H264Profile::High, level: 41 });
        round_trip(VideoProfile { profile: H264Profile::Main, level: 9 });
        round_trip(ColourEffect::Fixed { u: 90, v: 200 });
        round_trip(ColourEffect::Off);
        round_trip(Thumbnail::new(64, 48, 35));
        round_trip(Thumbnail::OFF);
        let note = Annotate {
            show_frame_num: true,
            background: Some([16, 128, 128]),
            text_colour: Some([235, 100, 150]),
            text_size: 32,
            ..Annotate::text("bench 3")
        };
        round_trip(note.clone());
        round_trip(AnnotateV4 { annotate: note, justify: Justify::Right, x_offset: 10, y_offset: 20 });
        let exif = encoded(&Exif::new("IFD0.Artist", "me")).unwrap();
        assert_eq!(&exif[20..35], b"IFD0.Artist=me\0");
        assert!(matches!(Exif::new("a=b", "c").to_c(), Err(Error::InvalidParameter(_))));
        round_trip(AwbGains { red: 1.5, blue: 2.25 });
        round_trip(FpsRange::new(1.0, 30.0));
        round_trip(FrameRate(Rational::new(7681, 256)));
        round_trip(CameraConfig::for_size(1920, 1080));
    }

    #[test]
    fn fields_land_where_the_abi_puts_them() {
        let b = encoded(&ShutterSpeed(33_000)).unwrap();
        assert_eq!(u32_at(&b, 0), sys::MMAL_PARAMETER_SHUTTER_SPEED);
        assert_eq!(u32_at(&b, 4) as usize, size_of::<sys::MMAL_PARAMETER_UINT32_T>());
        assert_eq!(u32_at(&b, offset_of!(sys::MMAL_PARAMETER_UINT32_T, value)), 33_000);
        let b = encoded(&CameraConfig::for_size(1920, 1080)).unwrap();
        type Config = sys::MMAL_PARAMETER_CAMERA_CONFIG_T;
        assert_eq!(u32_at(&b, offset_of!(Config, max_stills_w)), 1920);
        assert_eq!(u32_at(&b, offset_of!(Config, max_preview_video_h)), 1080);
        assert_eq!(u32_at(&b, offset_of!(Config, num_preview_video_frames)), 3);
        assert_eq!(u32_at(&b, offset_of!(Config, use_stc_timestamp)), sys::MMAL_PARAM_TIMESTAMP_MODE_RESET_STC);
        let b = encoded(&AwbGains { red: 1.5, blue: 2.0 }).unwrap();
        type Gains = sys::MMAL_PARAMETER_AWB_GAINS_T;
        assert_eq!(u32_at(&b, offset_of!(Gains, r_gain)), 98_304);
        assert_eq!(u32_at(&b, offset_of!(Gains, b_gain)), 131_072);
        assert_eq!(u32_at(&b, offset_of!(Gains, b_gain) + 4), 65_536);
        let b = encoded(&ChangeEventRequest::of::<CameraSettings>()).unwrap();
        type Request = sys::MMAL_PARAMETER_CHANGE_EVENT_REQUEST_T;
        assert_eq!(u32_at(&b, offset_of!(Request, change_id)), sys::MMAL_PARAMETER_CAMERA_SETTINGS);
        assert_eq!(u32_at(&b, offset_of!(Request, enable)), 1);
        assert_eq!(b.len(), 16);
        // Annotation: the text and colours at their offsets, 304 bytes of
        // payload (V3) and 316 (V4).
        let note = Annotate { text_colour: Some([235, 100, 150]), text_size: 32, ..Annotate::text("hi") };
        let b = encoded(&note).unwrap();
        type V3 = sys::MMAL_PARAMETER_CAMERA_ANNOTATE_V3_T;
        assert_eq!(b.len() - 8, 304);
        assert_eq!(u32_at(&b, offset_of!(V3, enable)), 1);
        assert_eq!(u32_at(&b, offset_of!(V3, custom_text_colour)), 1);
        assert_eq!(b[offset_of!(V3, custom_text_Y)..offset_of!(V3, custom_text_Y) + 3], [235, 100, 150]);
        assert_eq!(b[offset_of!(V3, text_size)], 32);
        assert_eq!(&b[offset_of!(V3, text)..offset_of!(V3, text) + 3], b"hi\0");
        let b = encoded(&AnnotateV4 { annotate: note, justify: Justify::Left, x_offset: 7, y_offset: 9 }).unwrap();
        type V4 = sys::MMAL_PARAMETER_CAMERA_ANNOTATE_V4_T;
        assert_eq!(b.len() - 8, 316);
        assert_eq!(u32_at(&b, 4) as usize, b.len());
        assert_eq!(&b[offset_of!(V4, text)..offset_of!(V4, text) + 3], b"hi\0");
        assert_eq!(u32_at(&b, offset_of!(V4, justify)), 1);
        assert_eq!(u32_at(&b, offset_of!(V4, y_offset)), 9);
        let b = encoded(&Thumbnail::new(64, 48, 35)).unwrap();
        type Thumb = sys::MMAL_PARAMETER_THUMBNAIL_CONFIG_T;
        assert_eq!(
            [offset_of!(Thumb, enable), offset_of!(Thumb, width), offset_of!(Thumb, quality)].map(|at| u32_at(&b, at)),
            [1, 64, 35]
        );
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(matches!(AnalogGain(-1.0).to_c(), Err(Error::InvalidParameter(_))));
        assert!(matches!(Brightness(101).to_c(), Err(Error::InvalidParameter(_))));
        assert!(matches!(Contrast(-101).to_c(), Err(Error::InvalidParameter(_))));
        assert!(matches!(FpsRange::new(30.0, 1.0).to_c(), Err(Error::InvalidParameter(_))));
        assert!(matches!(FrameRate(Rational::new(30, 0)).to_c(), Err(Error::InvalidParameter(_))));
        assert!(matches!(Thumbnail::new(64, 48, 0).to_c(), Err(Error::InvalidParameter(_))));
        assert!(matches!(
            VideoProfile { profile: H264Profile::High, level: 43 }.to_c(),
            Err(Error::InvalidParameter(_))
        ));
        assert!(matches!(Thumbnail::new(0, 48, 35).to_c(), Err(Error::InvalidParameter(_))));
        assert!(Thumbnail::OFF.to_c().is_ok());
        assert!(matches!(Annotate::text("x".repeat(256)).to_c(), Err(Error::InvalidParameter(_))));
        assert!(Annotate::text("x".repeat(255)).to_c().is_ok());
        assert!(matches!(Annotate::text("a\0b").to_c(), Err(Error::InvalidParameter(_))));
        assert!(matches!(Annotate { text_size: 5, ..Annotate::text("a") }.to_c(), Err(Error::InvalidParameter(_))));
        assert!(matches!(from_payload::<CameraSettings>(&[0; 8]), Err(Error::ShortParameter { .. })));
    }

    #[test]
    fn gains_travel_as_raspistill_sends_them() {
        let b = encoded(&AnalogGain(2.0)).unwrap();
        let at = offset_of!(sys::MMAL_PARAMETER_RATIONAL_T, value);
        assert_eq!(u32_at(&b, at), 131072);
        assert_eq!(u32_at(&b, at + 4), 65536);
    }
}
