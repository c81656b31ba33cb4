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
use crate::format::Rational;

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

/// What every parameter file uses: the traits, the C structs, the helpers
/// the macros above expand to.
mod prelude {
    pub(super) use std::mem::size_of;

    pub(super) use mmal_sys as sys;
    pub(super) use sys::param::{as_bytes, from_bytes, ParameterStruct};

    pub(super) use super::{c_rational, gain, rational, GetParameter, Parameter, SetParameter, Tap};
    pub(super) use crate::error::{Error, Result};
    pub(super) use crate::format::{Encoding, Rational};
}

// One file per subject; every type is re-exported here, so each keeps its
// path `mmal::params::Name`. The macros above are in scope in each file.
mod annotate;
mod camera;
mod display;
pub(crate) mod lens;
mod picture;
mod port;
mod still;
mod video;

pub use annotate::*;
pub use camera::*;
pub use display::*;
pub use lens::LensShading;
pub use picture::*;
pub use port::*;
pub use still::*;
pub use video::*;

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
