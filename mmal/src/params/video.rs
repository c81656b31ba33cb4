//! The H.264 video encoder: rate, quantisers, headers, I-frames, profile and level.

use super::prelude::*;

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
