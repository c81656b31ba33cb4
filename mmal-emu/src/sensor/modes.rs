//! The emulated camera modules: their resolutions, the sensor modes the
//! firmware offers and the one it picks, how each sensor's channels
//! respond to white light, and the layout of its raw data.

use mmal_sys as sys;
use sys::raw as brcm;

/// An emulated camera module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Sensor {
    /// Camera Module v1, OmniVision OV5647, 2592×1944.
    Ov5647,
    /// Camera Module v2, Sony IMX219, 3280×2464.
    Imx219,
    /// HQ Camera, Sony IMX477, 4056×3040.
    Imx477,
}

/// One sensor mode (`MMAL_PARAMETER_CAMERA_CUSTOM_SENSOR_CONFIG` 1–7).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct SensorMode {
    /// Output width of the sensor in this mode.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Lowest frame rate.
    pub min_fps: f32,
    /// Highest frame rate.
    pub max_fps: f32,
    /// The part of the full sensor it reads, `(x, y, width, height)` in
    /// full-resolution pixels: the whole sensor unless the mode crops.
    pub field_of_view: (u32, u32, u32, u32),
}

const fn centred(full: (u32, u32), w: u32, h: u32) -> (u32, u32, u32, u32) {
    ((full.0 - w) / 2, (full.1 - h) / 2, w, h)
}

const fn mode(full: (u32, u32), w: u32, h: u32, min_fps: f32, max_fps: f32, fov: (u32, u32)) -> SensorMode {
    SensorMode { width: w, height: h, min_fps, max_fps, field_of_view: centred(full, fov.0, fov.1) }
}

const OV5647: (u32, u32) = (2592, 1944);
const IMX219: (u32, u32) = (3280, 2464);
const IMX477: (u32, u32) = (4056, 3040);

static OV5647_MODES: [SensorMode; 7] = [
    mode(OV5647, 1920, 1080, 1.0, 30.0, (1920, 1080)),
    mode(OV5647, 2592, 1944, 1.0, 15.0, OV5647),
    mode(OV5647, 2592, 1944, 0.1666, 1.0, OV5647),
    mode(OV5647, 1296, 972, 1.0, 42.0, OV5647),
    mode(OV5647, 1296, 730, 1.0, 49.0, (2592, 1460)),
    mode(OV5647, 640, 480, 42.1, 60.0, (2560, 1920)),
    mode(OV5647, 640, 480, 60.1, 90.0, (2560, 1920)),
];

static IMX219_MODES: [SensorMode; 7] = [
    mode(IMX219, 1920, 1080, 0.1, 30.0, (1920, 1080)),
    mode(IMX219, 3280, 2464, 0.1, 15.0, IMX219),
    mode(IMX219, 3280, 2464, 0.1, 15.0, IMX219),
    mode(IMX219, 1640, 1232, 0.1, 40.0, IMX219),
    mode(IMX219, 1640, 922, 0.1, 40.0, (3280, 1844)),
    mode(IMX219, 1280, 720, 40.0, 90.0, (2560, 1440)),
    mode(IMX219, 640, 480, 40.0, 200.0, (1280, 960)),
];

static IMX477_MODES: [SensorMode; 4] = [
    mode(IMX477, 2028, 1080, 0.1, 50.0, (4056, 2160)),
    mode(IMX477, 2028, 1520, 0.1, 50.0, IMX477),
    mode(IMX477, 4056, 3040, 0.005, 10.0, IMX477),
    mode(IMX477, 1012, 760, 50.1, 120.0, (4048, 3040)),
];

impl Sensor {
    /// The name the firmware reports in `MMAL_PARAMETER_CAMERA_INFO`.
    pub fn name(self) -> &'static str {
        match self {
            Sensor::Ov5647 => "ov5647",
            Sensor::Imx219 => "imx219",
            Sensor::Imx477 => "imx477",
        }
    }

    /// The sensor called `name` (`imx219`, `ov5647`, `imx477`, any case).
    pub fn from_name(name: &str) -> Option<Sensor> {
        match name.to_ascii_lowercase().as_str() {
            "ov5647" => Some(Sensor::Ov5647),
            "imx219" => Some(Sensor::Imx219),
            "imx477" => Some(Sensor::Imx477),
            _ => None,
        }
    }

    /// Full resolution, `(width, height)`.
    pub fn resolution(self) -> (u32, u32) {
        match self {
            Sensor::Ov5647 => OV5647,
            Sensor::Imx219 => IMX219,
            Sensor::Imx477 => IMX477,
        }
    }

    /// Sensor modes 1.. (index 0 here is mode 1).
    pub fn modes(self) -> &'static [SensorMode] {
        match self {
            Sensor::Ov5647 => &OV5647_MODES,
            Sensor::Imx219 => &IMX219_MODES,
            Sensor::Imx477 => &IMX477_MODES,
        }
    }

    /// The raw data's layout: Bayer order (0 RGGB, 1 GBRG, 2 BGGR, 3 GRBG),
    /// bits per pixel, and the black level at that bit depth (research
    /// §7: OV5647 GBRG unflipped, IMX219 RGGB, 64 at 10 bits, 256 for the
    /// 12-bit IMX477; the IMX477's order, BGGR, is assumed).
    pub(crate) fn raw_layout(self) -> (u8, u8, u16) {
        match self {
            Sensor::Ov5647 => (brcm::BAYER_ORDER_GBRG, 10, 64),
            Sensor::Imx219 => (brcm::BAYER_ORDER_RGGB, 10, 64),
            Sensor::Imx477 => (brcm::BAYER_ORDER_BGGR, 12, 256),
        }
    }

    /// Raw channel sensitivities to white light; AWB divides them out.
    pub(super) fn sensitivity(self) -> [f32; 3] {
        match self {
            Sensor::Ov5647 => [0.62, 1.0, 0.74],
            Sensor::Imx219 => [0.55, 1.0, 0.68],
            Sensor::Imx477 => [0.6, 1.0, 0.7],
        }
    }

    /// The mode the firmware would pick for an output of this size and
    /// frame rate when the client leaves the choice to it (mode 0): the
    /// smallest mode at least as large with the same shape, else the
    /// largest that can run at that rate.
    pub(crate) fn auto_mode(self, width: u32, height: u32, fps: f32) -> usize {
        let modes = self.modes();
        let aspect = width as f32 / height.max(1) as f32;
        let fits = |m: &SensorMode| fps <= m.max_fps + 0.01 && fps >= m.min_fps - 0.01;
        let same_shape = |m: &SensorMode| {
            let a = m.field_of_view.2 as f32 / m.field_of_view.3 as f32;
            (a - aspect).abs() / aspect < 0.06
        };
        let mut best: Option<usize> = None;
        for (i, m) in modes.iter().enumerate() {
            if fits(m) && same_shape(m) && m.width >= width && m.height >= height {
                let better = match best {
                    Some(b) => (m.width * m.height) < (modes[b].width * modes[b].height),
                    None => true,
                };
                if better {
                    best = Some(i);
                }
            }
        }
        best.or_else(|| {
            (0..modes.len())
                .filter(|&i| fits(&modes[i]))
                .max_by_key(|&i| (modes[i].field_of_view.2 * modes[i].field_of_view.3, modes[i].width))
        })
        .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_mode_picks_matching_shapes() {
        let s = Sensor::Imx219;
        assert_eq!(s.modes()[s.auto_mode(1920, 1080, 30.0)].width, 1920);
        assert_eq!(s.modes()[s.auto_mode(1640, 1232, 30.0)].width, 1640);
        assert_eq!(s.modes()[s.auto_mode(640, 480, 30.0)].width, 1640);
        assert_eq!(s.modes()[s.auto_mode(640, 480, 120.0)].width, 640);
    }
}
