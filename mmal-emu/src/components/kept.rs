//! Parameters a component keeps as given and answers back, as the firmware
//! does: the value set is read back; until one is set, the firmware's
//! default is answered. A component acts on those it emulates (the
//! camera's picture controls, through [`Kept::words`]); the others only
//! read back.

use mmal_sys as sys;

use crate::objects::Status;

/// A parameter kept as given: its ID, the sizes of payload (after the
/// header) it takes, and its default payload (also the size answered
/// before one is set).
pub(crate) struct Spec {
    pub(crate) id: u32,
    /// Smallest and largest payload accepted (a parameter with several
    /// revisions, such as ANNOTATE, takes each revision's size).
    pub(crate) sizes: (usize, usize),
    pub(crate) default: &'static [u8],
    /// For a value the component acts on: what it accepts, given the
    /// payload's first words; the error says what is wrong.
    pub(crate) valid: Option<Check>,
}

/// Checks a value's first words; the error says what is wrong.
pub(crate) type Check = fn([u32; 4]) -> Result<(), &'static str>;

/// A rational's value, or an error for a zero denominator.
fn rational(num: u32, den: u32) -> Result<f64, &'static str> {
    if den as i32 == 0 {
        return Err("a rational with denominator 0");
    }
    Ok(f64::from(num as i32) / f64::from(den as i32))
}

fn brightness(w: [u32; 4]) -> Result<(), &'static str> {
    let v = rational(w[0], w[1])?;
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err("brightness takes 0 to 100 (as n/100)")
    }
}

fn level(w: [u32; 4]) -> Result<(), &'static str> {
    let v = rational(w[0], w[1])?;
    if (-1.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err("contrast, saturation and sharpness take -100 to 100 (as n/100)")
    }
}

fn exposure_comp(w: [u32; 4]) -> Result<(), &'static str> {
    if (-25..=25).contains(&(w[0] as i32)) {
        Ok(())
    } else {
        Err("exposure compensation takes -25 to 25 (sixths of a stop)")
    }
}

fn image_effect(w: [u32; 4]) -> Result<(), &'static str> {
    if w[0] <= sys::MMAL_PARAM_IMAGEFX_CARTOON {
        Ok(())
    } else {
        Err("not an image effect of the camera (MMAL_PARAM_IMAGEFX_T 0 to 22)")
    }
}

fn colour_effect(w: [u32; 4]) -> Result<(), &'static str> {
    if w[1] <= 255 && w[2] <= 255 {
        Ok(())
    } else {
        Err("the colour effect's U and V take 0 to 255")
    }
}

fn mirror(w: [u32; 4]) -> Result<(), &'static str> {
    if w[0] <= sys::MMAL_PARAM_MIRROR_BOTH {
        Ok(())
    } else {
        Err("takes 0 to 3 (MIRROR: none, vertical, horizontal, both)")
    }
}

fn drc(w: [u32; 4]) -> Result<(), &'static str> {
    if w[0] <= sys::MMAL_PARAMETER_DRC_STRENGTH_HIGH {
        Ok(())
    } else {
        Err("takes 0 to 3 (DRC: off, low, medium, high)")
    }
}

fn flash(w: [u32; 4]) -> Result<(), &'static str> {
    if w[0] <= sys::MMAL_PARAM_FLASH_TORCH {
        Ok(())
    } else {
        Err("takes 0 to 5 (FLASH: off, auto, on, redeye, fill-in, torch)")
    }
}

/// `MMAL_PARAMETER_IMAGEFX_PARAMETERS_T`: an effect of the camera and at
/// most six parameters.
fn effect_parameters(w: [u32; 4]) -> Result<(), &'static str> {
    image_effect(w)?;
    if w[1] <= sys::MMAL_MAX_IMAGEFX_PARAMETERS {
        Ok(())
    } else {
        Err("num_effect_params takes 0 to 6 (MMAL_MAX_IMAGEFX_PARAMETERS)")
    }
}

/// `MMAL_PARAMETER_THUMBNAIL_CONFIG_T`: enable, width, height, quality.
pub(crate) fn thumbnail(w: [u32; 4]) -> Result<(), &'static str> {
    let [enable, width, height, quality] = w;
    if enable == 0 || (width > 0 && height > 0 && (1..=100).contains(&quality)) {
        Ok(())
    } else {
        Err("an enabled thumbnail needs a width and height above 0 and a quality of 1 to 100")
    }
}

/// 32-bit little-endian words, as the parameter structs lay them out.
macro_rules! words {
    ($($w:expr),* $(,)?) => {{
        const fn bytes() -> [u8; { [$($w as u32),*].len() * 4 }] {
            let words = [$($w as u32),*];
            let mut out = [0u8; { [$($w as u32),*].len() * 4 }];
            let mut i = 0;
            while i < words.len() {
                let b = words[i].to_le_bytes();
                out[i * 4] = b[0];
                out[i * 4 + 1] = b[1];
                out[i * 4 + 2] = b[2];
                out[i * 4 + 3] = b[3];
                i += 1;
            }
            out
        }
        const BYTES: &[u8] = &bytes();
        BYTES
    }};
}
pub(crate) use words;

/// Bytes of a parameter `T` after its header.
const fn payload<T>() -> usize {
    size_of::<T>() - size_of::<sys::MMAL_PARAMETER_HEADER_T>()
}

/// The payload of a parameter `T`, as the smallest and largest accepted.
pub(crate) const fn exactly<T>() -> (usize, usize) {
    (payload::<T>(), payload::<T>())
}

/// Payload of the largest ANNOTATE revision (V4: V3's 304 bytes and three
/// words of placement); V1 (enable, 32 bytes of text, five flags) is the
/// smallest.
const ANNOTATE_V4: usize = payload::<sys::MMAL_PARAMETER_CAMERA_ANNOTATE_V4_T>();
const ANNOTATE_V1: usize = payload::<sys::MMAL_PARAMETER_CAMERA_ANNOTATE_T>();
const ANNOTATE_V3: usize = payload::<sys::MMAL_PARAMETER_CAMERA_ANNOTATE_V3_T>();
static ANNOTATE_DEFAULT: [u8; ANNOTATE_V3] = [0; ANNOTATE_V3];

/// The camera's control-port parameters kept as given.
pub(crate) static CAMERA_CONTROL: &[Spec] = &[
    // Rationals: sharpness, contrast and saturation 0/100, brightness 50/100.
    Spec {
        id: sys::MMAL_PARAMETER_SHARPNESS,
        sizes: exactly::<sys::MMAL_PARAMETER_RATIONAL_T>(),
        default: words!(0, 100),
        valid: Some(level),
    },
    Spec {
        id: sys::MMAL_PARAMETER_CONTRAST,
        sizes: exactly::<sys::MMAL_PARAMETER_RATIONAL_T>(),
        default: words!(0, 100),
        valid: Some(level),
    },
    Spec {
        id: sys::MMAL_PARAMETER_BRIGHTNESS,
        sizes: exactly::<sys::MMAL_PARAMETER_RATIONAL_T>(),
        default: words!(50, 100),
        valid: Some(brightness),
    },
    Spec {
        id: sys::MMAL_PARAMETER_SATURATION,
        sizes: exactly::<sys::MMAL_PARAMETER_RATIONAL_T>(),
        default: words!(0, 100),
        valid: Some(level),
    },
    Spec {
        id: sys::MMAL_PARAMETER_EXPOSURE_COMP,
        sizes: exactly::<sys::MMAL_PARAMETER_INT32_T>(),
        default: words!(0),
        valid: Some(exposure_comp),
    },
    Spec {
        id: sys::MMAL_PARAMETER_EXP_METERING_MODE,
        sizes: exactly::<sys::MMAL_PARAMETER_UINT32_T>(),
        default: words!(sys::MMAL_PARAM_EXPOSUREMETERINGMODE_AVERAGE),
        valid: None,
    },
    Spec {
        id: sys::MMAL_PARAMETER_IMAGE_EFFECT,
        sizes: exactly::<sys::MMAL_PARAMETER_UINT32_T>(),
        default: words!(sys::MMAL_PARAM_IMAGEFX_NONE),
        valid: Some(image_effect),
    },
    // Off, with U and V at 128.
    Spec {
        id: sys::MMAL_PARAMETER_COLOUR_EFFECT,
        sizes: exactly::<sys::MMAL_PARAMETER_COLOURFX_T>(),
        default: words!(0, 128, 128),
        valid: Some(colour_effect),
    },
    Spec {
        id: sys::MMAL_PARAMETER_FLICKER_AVOID,
        sizes: exactly::<sys::MMAL_PARAMETER_UINT32_T>(),
        default: words!(sys::MMAL_PARAM_FLICKERAVOID_OFF),
        valid: None,
    },
    Spec {
        id: sys::MMAL_PARAMETER_VIDEO_STABILISATION,
        sizes: exactly::<sys::MMAL_PARAMETER_BOOLEAN_T>(),
        default: words!(0),
        valid: None,
    },
    // The whole sensor: 0, 0, 65536, 65536 (fractions of 65536).
    Spec {
        id: sys::MMAL_PARAMETER_INPUT_CROP,
        sizes: exactly::<sys::MMAL_PARAMETER_INPUT_CROP_T>(),
        default: words!(0, 0, 65536, 65536),
        valid: None,
    },
    Spec {
        id: sys::MMAL_PARAMETER_DYNAMIC_RANGE_COMPRESSION,
        sizes: exactly::<sys::MMAL_PARAMETER_UINT32_T>(),
        default: words!(sys::MMAL_PARAMETER_DRC_STRENGTH_OFF),
        valid: Some(drc),
    },
    Spec {
        id: sys::MMAL_PARAMETER_CAPTURE_STATS_PASS,
        sizes: exactly::<sys::MMAL_PARAMETER_BOOLEAN_T>(),
        default: words!(0),
        valid: None,
    },
    Spec {
        id: sys::MMAL_PARAMETER_ZERO_SHUTTER_LAG,
        sizes: exactly::<sys::MMAL_PARAMETER_ZEROSHUTTERLAG_T>(),
        default: words!(0, 0),
        valid: None,
    },
    Spec {
        id: sys::MMAL_PARAMETER_VIDEO_DENOISE,
        sizes: exactly::<sys::MMAL_PARAMETER_BOOLEAN_T>(),
        default: words!(1),
        valid: None,
    },
    Spec {
        id: sys::MMAL_PARAMETER_STILLS_DENOISE,
        sizes: exactly::<sys::MMAL_PARAMETER_BOOLEAN_T>(),
        default: words!(1),
        valid: None,
    },
    Spec {
        id: sys::MMAL_PARAMETER_ANNOTATE,
        sizes: (ANNOTATE_V1, ANNOTATE_V4),
        default: &ANNOTATE_DEFAULT,
        valid: None,
    },
    // Off: the camera modules have no flash; kept and read back.
    Spec {
        id: sys::MMAL_PARAMETER_FLASH,
        sizes: exactly::<sys::MMAL_PARAMETER_FLASH_T>(),
        default: words!(sys::MMAL_PARAM_FLASH_OFF),
        valid: Some(flash),
    },
    // raspistill's burst mode sets it on the control port.
    Spec {
        id: sys::MMAL_PARAMETER_CAMERA_BURST_CAPTURE,
        sizes: exactly::<sys::MMAL_PARAMETER_BOOLEAN_T>(),
        default: words!(0),
        valid: None,
    },
    // No effect's parameters: the ISP's own for each effect.
    Spec {
        id: sys::MMAL_PARAMETER_IMAGE_EFFECT_PARAMETERS,
        sizes: exactly::<sys::MMAL_PARAMETER_IMAGEFX_PARAMETERS_T>(),
        default: words!(sys::MMAL_PARAM_IMAGEFX_NONE, 0, 0, 0, 0, 0, 0, 0),
        valid: Some(effect_parameters),
    },
    // A mask of ISP blocks to bypass: none.
    Spec {
        id: sys::MMAL_PARAMETER_CAMERA_ISP_BLOCK_OVERRIDE,
        sizes: exactly::<sys::MMAL_PARAMETER_UINT32_T>(),
        default: words!(0),
        valid: None,
    },
    // No decimation, no swap.
    Spec {
        id: sys::MMAL_PARAMETER_STEREOSCOPIC_MODE,
        sizes: exactly::<sys::MMAL_PARAMETER_STEREOSCOPIC_MODE_T>(),
        default: words!(sys::MMAL_STEREOSCOPIC_MODE_NONE, 0, 0),
        valid: None,
    },
];

/// The camera's output-port parameters kept as given.
pub(crate) static CAMERA_OUTPUT: &[Spec] = &[
    Spec {
        id: sys::MMAL_PARAMETER_ROTATION,
        sizes: exactly::<sys::MMAL_PARAMETER_INT32_T>(),
        default: words!(0),
        valid: None,
    },
    Spec {
        id: sys::MMAL_PARAMETER_MIRROR,
        sizes: exactly::<sys::MMAL_PARAMETER_UINT32_T>(),
        default: words!(sys::MMAL_PARAM_MIRROR_NONE),
        valid: Some(mirror),
    },
    Spec {
        id: sys::MMAL_PARAMETER_VIDEO_STABILISATION,
        sizes: exactly::<sys::MMAL_PARAMETER_BOOLEAN_T>(),
        default: words!(0),
        valid: None,
    },
    // picamera's `capture_sequence(burst=True)` sets it on the still port.
    Spec {
        id: sys::MMAL_PARAMETER_CAMERA_BURST_CAPTURE,
        sizes: exactly::<sys::MMAL_PARAMETER_BOOLEAN_T>(),
        default: words!(0),
        valid: None,
    },
];

/// The values set on one port: the payloads, by parameter ID.
#[derive(Default)]
pub(crate) struct Kept {
    values: Vec<(u32, Vec<u8>)>,
}

impl Kept {
    /// Keeps a parameter of `specs` (`data` is the whole parameter, header
    /// included); `None` if `id` is not among them. EINVAL for a payload
    /// of a size the parameter does not take.
    pub(crate) fn set(&mut self, specs: &[Spec], id: u32, data: &[u8]) -> Option<Result<(), Status>> {
        let spec = specs.iter().find(|s| s.id == id)?;
        let payload = data.get(size_of::<sys::MMAL_PARAMETER_HEADER_T>()..).unwrap_or(&[]);
        let (min, max) = spec.sizes;
        if payload.len() < min {
            log::error!("parameter {id:#x}: {} bytes of payload, it takes {min} to {max}", payload.len());
            return Some(Err(sys::MMAL_EINVAL));
        }
        if let Some(valid) = spec.valid {
            let mut words = [0u32; 4];
            for (w, b) in words.iter_mut().zip(payload.chunks_exact(4)) {
                *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
            if let Err(why) = valid(words) {
                log::error!("parameter {id:#x}: {why}");
                return Some(Err(sys::MMAL_EINVAL));
            }
        }
        let payload = payload[..payload.len().min(max)].to_vec();
        match self.values.iter_mut().find(|(i, _)| *i == id) {
            Some((_, v)) => *v = payload,
            None => self.values.push((id, payload)),
        }
        Some(Ok(()))
    }

    /// The first words of a parameter of `specs` (the value set, or the
    /// default), for the component to act on; zeros past its end.
    pub(crate) fn words(&self, specs: &[Spec], id: u32) -> [u32; 4] {
        self.words_n(specs, id)
    }

    /// The first `N` words of a parameter of `specs`, as [`Kept::words`].
    pub(crate) fn words_n<const N: usize>(&self, specs: &[Spec], id: u32) -> [u32; N] {
        let default = specs.iter().find(|s| s.id == id).map_or(&[][..], |s| s.default);
        let value = self.values.iter().find(|(i, _)| *i == id).map_or(default, |(_, v)| v.as_slice());
        let mut out = [0u32; N];
        for (w, bytes) in out.iter_mut().zip(value.chunks_exact(4)) {
            *w = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        out
    }

    /// Answers a parameter of `specs` into `out` (a reply's payload): the
    /// value set, or the default; `None` if `id` is not among them.
    pub(crate) fn get(&self, specs: &[Spec], id: u32, out: &mut [u8]) -> Option<usize> {
        let spec = specs.iter().find(|s| s.id == id)?;
        let value = self.values.iter().find(|(i, _)| *i == id).map_or(spec.default, |(_, v)| v.as_slice());
        let n = value.len().min(out.len());
        out[..n].copy_from_slice(&value[..n]);
        // ANNOTATE's fourth revision starts with the third: a V4 value
        // answers a V3 request with its start.
        if id == sys::MMAL_PARAMETER_ANNOTATE && value.len() == ANNOTATE_V4 && out.len() >= ANNOTATE_V3 {
            return Some(n);
        }
        Some(value.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_kept_and_defaults_answered() {
        let mut kept = Kept::default();
        let mut out = [0u8; 400];
        assert_eq!(kept.get(CAMERA_CONTROL, sys::MMAL_PARAMETER_BRIGHTNESS, &mut out), Some(8));
        assert_eq!(&out[..8], words!(50, 100));
        let mut data = vec![0u8; 8];
        data.extend_from_slice(words!(70, 100));
        assert_eq!(kept.set(CAMERA_CONTROL, sys::MMAL_PARAMETER_BRIGHTNESS, &data), Some(Ok(())));
        assert_eq!(kept.get(CAMERA_CONTROL, sys::MMAL_PARAMETER_BRIGHTNESS, &mut out), Some(8));
        assert_eq!(&out[..8], words!(70, 100));
        // Too short: refused, the value stays.
        assert_eq!(kept.set(CAMERA_CONTROL, sys::MMAL_PARAMETER_BRIGHTNESS, &data[..12]), Some(Err(sys::MMAL_EINVAL)));
        out.fill(0);
        kept.get(CAMERA_CONTROL, sys::MMAL_PARAMETER_BRIGHTNESS, &mut out);
        assert_eq!(&out[..8], words!(70, 100));
        // Not one of these.
        assert_eq!(kept.set(CAMERA_CONTROL, sys::MMAL_PARAMETER_CAPTURE, &data), None);
        // ANNOTATE answers V3 until another revision is set.
        assert_eq!(kept.get(CAMERA_CONTROL, sys::MMAL_PARAMETER_ANNOTATE, &mut out), Some(ANNOTATE_V3));
    }
}
