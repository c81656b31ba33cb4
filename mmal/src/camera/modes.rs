//! The sensors' modes, as the firmware offers them
//! (`MMAL_PARAMETER_CAMERA_CUSTOM_SENSOR_CONFIG` 1 to 7): picamera's
//! documented tables for the three camera modules.

/// One sensor mode: what the sensor reads out, how fast, and which part
/// of it.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct SensorModeInfo {
    /// The mode's number (1 and up; 0 lets the firmware choose).
    pub mode: u32,
    /// The size the sensor reads out, `(width, height)`.
    pub size: (u32, u32),
    /// The frame rates the mode runs at, `(lowest, highest)`.
    pub fps: (f64, f64),
    /// The part of the sensor it reads, `(x, y, width, height)` in
    /// full-resolution pixels (the field of view: the whole sensor unless
    /// the mode crops).
    pub field_of_view: (u32, u32, u32, u32),
    /// Sensor pixels per output pixel, `(across, down)`: 1 for a full or
    /// cropped readout, 2 for 2×2 binning, more when rows and columns are
    /// skipped as well.
    pub binning: (u32, u32),
}

impl SensorModeInfo {
    /// Whether the mode sees the sensor's whole width and height.
    pub fn is_full_field_of_view(&self, full: (u32, u32)) -> bool {
        self.field_of_view.2 * 100 >= full.0 * 98 && self.field_of_view.3 * 100 >= full.1 * 98
    }
}

type Row = (u32, u32, f64, f64, u32, u32);

// (width, height, lowest fps, highest fps, field of view width, height)
const OV5647: [Row; 7] = [
    (1920, 1080, 1.0, 30.0, 1920, 1080),
    (2592, 1944, 1.0, 15.0, 2592, 1944),
    (2592, 1944, 0.1666, 1.0, 2592, 1944),
    (1296, 972, 1.0, 42.0, 2592, 1944),
    (1296, 730, 1.0, 49.0, 2592, 1460),
    (640, 480, 42.1, 60.0, 2560, 1920),
    (640, 480, 60.1, 90.0, 2560, 1920),
];
const IMX219: [Row; 7] = [
    (1920, 1080, 0.1, 30.0, 1920, 1080),
    (3280, 2464, 0.1, 15.0, 3280, 2464),
    (3280, 2464, 0.1, 15.0, 3280, 2464),
    (1640, 1232, 0.1, 40.0, 3280, 2464),
    (1640, 922, 0.1, 40.0, 3280, 1844),
    (1280, 720, 40.0, 90.0, 2560, 1440),
    (640, 480, 40.0, 200.0, 1280, 960),
];
const IMX477: [Row; 4] = [
    (2028, 1080, 0.1, 50.0, 4056, 2160),
    (2028, 1520, 0.1, 50.0, 4056, 3040),
    (4056, 3040, 0.005, 10.0, 4056, 3040),
    (1012, 760, 50.1, 120.0, 4048, 3040),
];

/// The modes of the sensor called `name` (`ov5647`, `imx219`, `imx477`),
/// and its full resolution; `None` for a sensor this crate does not know.
pub(crate) fn modes_of(name: &str) -> Option<((u32, u32), Vec<SensorModeInfo>)> {
    let (full, rows): ((u32, u32), &[Row]) = match name.to_ascii_lowercase().as_str() {
        "ov5647" => ((2592, 1944), &OV5647),
        "imx219" => ((3280, 2464), &IMX219),
        "imx477" => ((4056, 3040), &IMX477),
        _ => return None,
    };
    let modes = rows
        .iter()
        .zip(1..)
        .map(|(&(w, h, lo, hi, fw, fh), mode)| SensorModeInfo {
            mode,
            size: (w, h),
            fps: (lo, hi),
            field_of_view: ((full.0 - fw) / 2, (full.1 - fh) / 2, fw, fh),
            binning: ((fw / w).max(1), (fh / h).max(1)),
        })
        .collect();
    Some((full, modes))
}
