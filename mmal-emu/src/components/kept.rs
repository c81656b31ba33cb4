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

/// Payload of the largest ANNOTATE revision (V4: V3's 304 bytes and three
/// words of placement); V1 is the smallest.
const ANNOTATE_V4: usize = 316;
const ANNOTATE_V1: usize = 4 * 4 + 32;
const ANNOTATE_V3: usize = 304;
static ANNOTATE_DEFAULT: [u8; ANNOTATE_V3] = [0; ANNOTATE_V3];

/// The camera's control-port parameters kept as given.
pub(crate) static CAMERA_CONTROL: &[Spec] = &[
    // Rationals: sharpness, contrast and saturation 0/100, brightness 50/100.
    Spec { id: sys::MMAL_PARAMETER_SHARPNESS, sizes: (8, 8), default: words!(0, 100) },
    Spec { id: sys::MMAL_PARAMETER_CONTRAST, sizes: (8, 8), default: words!(0, 100) },
    Spec { id: sys::MMAL_PARAMETER_BRIGHTNESS, sizes: (8, 8), default: words!(50, 100) },
    Spec { id: sys::MMAL_PARAMETER_SATURATION, sizes: (8, 8), default: words!(0, 100) },
    Spec { id: sys::MMAL_PARAMETER_EXPOSURE_COMP, sizes: (4, 4), default: words!(0) },
    // MMAL_PARAM_EXPOSUREMETERINGMODE_AVERAGE.
    Spec { id: sys::MMAL_PARAMETER_EXP_METERING_MODE, sizes: (4, 4), default: words!(0) },
    // MMAL_PARAM_IMAGEFX_NONE.
    Spec { id: sys::MMAL_PARAMETER_IMAGE_EFFECT, sizes: (4, 4), default: words!(0) },
    // Off, with U and V at 128.
    Spec { id: sys::MMAL_PARAMETER_COLOUR_EFFECT, sizes: (12, 12), default: words!(0, 128, 128) },
    // MMAL_PARAM_FLICKERAVOID_OFF.
    Spec { id: sys::MMAL_PARAMETER_FLICKER_AVOID, sizes: (4, 4), default: words!(0) },
    Spec { id: sys::MMAL_PARAMETER_VIDEO_STABILISATION, sizes: (4, 4), default: words!(0) },
    // The whole sensor: 0, 0, 65536, 65536 (fractions of 65536).
    Spec { id: sys::MMAL_PARAMETER_INPUT_CROP, sizes: (16, 16), default: words!(0, 0, 65536, 65536) },
    // MMAL_PARAMETER_DRC_STRENGTH_OFF.
    Spec { id: sys::MMAL_PARAMETER_DYNAMIC_RANGE_COMPRESSION, sizes: (4, 4), default: words!(0) },
    Spec { id: sys::MMAL_PARAMETER_CAPTURE_STATS_PASS, sizes: (4, 4), default: words!(0) },
    Spec { id: sys::MMAL_PARAMETER_ZERO_SHUTTER_LAG, sizes: (8, 8), default: words!(0, 0) },
    Spec { id: sys::MMAL_PARAMETER_VIDEO_DENOISE, sizes: (4, 4), default: words!(1) },
    Spec { id: sys::MMAL_PARAMETER_STILLS_DENOISE, sizes: (4, 4), default: words!(1) },
    Spec { id: sys::MMAL_PARAMETER_ANNOTATE, sizes: (ANNOTATE_V1, ANNOTATE_V4), default: &ANNOTATE_DEFAULT },
    // A mask of ISP blocks to bypass: none.
    Spec { id: sys::MMAL_PARAMETER_CAMERA_ISP_BLOCK_OVERRIDE, sizes: (4, 4), default: words!(0) },
    // MMAL_STEREOSCOPIC_MODE_NONE, no decimation, no swap.
    Spec { id: sys::MMAL_PARAMETER_STEREOSCOPIC_MODE, sizes: (12, 12), default: words!(0, 0, 0) },
];

/// The camera's output-port parameters kept as given.
pub(crate) static CAMERA_OUTPUT: &[Spec] = &[
    Spec { id: sys::MMAL_PARAMETER_ROTATION, sizes: (4, 4), default: words!(0) },
    // MMAL_PARAM_MIRROR_NONE.
    Spec { id: sys::MMAL_PARAMETER_MIRROR, sizes: (4, 4), default: words!(0) },
    Spec { id: sys::MMAL_PARAMETER_VIDEO_STABILISATION, sizes: (4, 4), default: words!(0) },
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
        let default = specs.iter().find(|s| s.id == id).map_or(&[][..], |s| s.default);
        let value = self.values.iter().find(|(i, _)| *i == id).map_or(default, |(_, v)| v.as_slice());
        let mut out = [0u32; 4];
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
