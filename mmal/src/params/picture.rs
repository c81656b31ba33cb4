//! How the picture looks: image controls, effects, mirroring and rotation, dynamic range compression.

use super::prelude::*;

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
    /// `MMAL_PARAMETER_ROTATION` of an output, in degrees (0, 90, 180, 270).
    Rotation(i32), sys::MMAL_PARAMETER_ROTATION, "ROTATION", sys::MMAL_PARAMETER_INT32_T, value, |v| v, |v| v
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
