//! The emulated sensor, lens and ISP behind `vc.ril.camera`.
//!
//! Rendering has two stages. [`prepare`] runs when anything that changes
//! the picture changes (format, mode, exposure, gains, AWB, lens shading
//! table, scene): it computes the noise-free frame for the port's format.
//! [`render`] runs per frame: the prepared frame plus fresh noise, which is
//! a copy-speed loop, so a 1080p stream costs little more than a memcpy.

use std::sync::Arc;

use mmal_sys as sys;
use sys::raw as brcm;

use crate::format::{VideoFormat, OPAQUE_SIZE};
use crate::scene::Scene;
use crate::yuv;

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

    /// Vignetting strength per channel (R, G, B): the relative illumination
    /// at normalised radius `r` is `1 / (1 + k r²)²`. The red channel falls
    /// off fastest, as with the wide-angle lenses of these modules.
    fn vignetting(self) -> [f32; 3] {
        match self {
            Sensor::Ov5647 => [0.62, 0.55, 0.52],
            Sensor::Imx219 => [0.78, 0.62, 0.56],
            Sensor::Imx477 => [0.58, 0.5, 0.46],
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
    fn sensitivity(self) -> [f32; 3] {
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

/// AWB modes, `MMAL_PARAM_AWBMODE_T`.
fn awb_tint(mode: u32) -> [f32; 3] {
    match mode {
        sys::MMAL_PARAM_AWBMODE_SUNLIGHT => [1.05, 1.0, 0.95],
        sys::MMAL_PARAM_AWBMODE_CLOUDY | sys::MMAL_PARAM_AWBMODE_SHADE => [1.1, 1.0, 0.9],
        sys::MMAL_PARAM_AWBMODE_TUNGSTEN | sys::MMAL_PARAM_AWBMODE_INCANDESCENT => [0.8, 1.0, 1.25],
        sys::MMAL_PARAM_AWBMODE_FLUORESCENT => [0.9, 1.0, 1.1],
        sys::MMAL_PARAM_AWBMODE_HORIZON => [0.85, 1.0, 1.2],
        sys::MMAL_PARAM_AWBMODE_FLASH => [1.02, 1.0, 0.98],
        _ => [1.0; 3],
    }
}

/// A lens shading table as the firmware keeps it after the parameter set:
/// copied out of the VCSM block.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ShadingTable {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) stride: usize,
    /// Four planes, R, Gr, Gb, B, each `stride * height` u3.5 gains.
    pub(crate) gains: Vec<u8>,
    /// The orientation the table was measured in (`ref_transform`: the
    /// raw header's `transform` of the calibration capture, bit 0 a
    /// horizontal flip, bit 1 a vertical one). The ISP maps the table to
    /// the orientation in use, so a table stays right when flips change.
    pub(crate) ref_transform: u8,
}

/// Everything set on the camera's control port.
#[derive(Debug, Clone)]
pub(crate) struct CameraParams {
    pub(crate) camera_num: i32,
    pub(crate) sensor_mode: u32,
    pub(crate) config: sys::MMAL_PARAMETER_CAMERA_CONFIG_T,
    pub(crate) shutter_us: u32,
    pub(crate) iso: u32,
    pub(crate) exposure_mode: u32,
    pub(crate) awb_mode: u32,
    pub(crate) awb_gains: (f32, f32),
    pub(crate) analog_gain: f32,
    pub(crate) digital_gain: f32,
    pub(crate) lens_shading: Option<Arc<ShadingTable>>,
    /// `BLACK_LEVEL` as set: what the ISP subtracts, at the sensor's bit
    /// depth; `None` for the sensor's own.
    pub(crate) black_level: Option<u32>,
}

impl CameraParams {
    pub(crate) fn new(sensor: Sensor) -> CameraParams {
        let (w, h) = sensor.resolution();
        CameraParams {
            camera_num: 0,
            sensor_mode: 0,
            config: sys::MMAL_PARAMETER_CAMERA_CONFIG_T {
                hdr: sys::MMAL_PARAMETER_HEADER_T {
                    id: sys::MMAL_PARAMETER_CAMERA_CONFIG,
                    size: std::mem::size_of::<sys::MMAL_PARAMETER_CAMERA_CONFIG_T>() as u32,
                },
                max_stills_w: w,
                max_stills_h: h,
                stills_yuv422: 0,
                one_shot_stills: 1,
                max_preview_video_w: w,
                max_preview_video_h: h,
                num_preview_video_frames: 3,
                stills_capture_circular_buffer_height: 0,
                fast_preview_resume: 0,
                use_stc_timestamp: sys::MMAL_PARAM_TIMESTAMP_MODE_RESET_STC,
            },
            shutter_us: 0,
            iso: 0,
            exposure_mode: sys::MMAL_PARAM_EXPOSUREMODE_AUTO,
            awb_mode: sys::MMAL_PARAM_AWBMODE_AUTO,
            awb_gains: (0.0, 0.0),
            analog_gain: 0.0,
            digital_gain: 0.0,
            lens_shading: None,
            black_level: None,
        }
    }
}

/// What the sensor and ISP settle on for one configuration: reported by
/// `MMAL_PARAMETER_CAMERA_SETTINGS`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Settings {
    pub(crate) exposure_us: u32,
    pub(crate) analog_gain: f32,
    pub(crate) digital_gain: f32,
    pub(crate) awb_gains: (f32, f32),
}

/// Everything [`prepare`] needs, copied out of the component's state.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    /// The camera whose OPAQUE images these frames are (`crate::opaque`).
    pub(crate) images: u64,
    /// The still port's raw capture: each image carries its raw Bayer data.
    pub(crate) raw: bool,
    pub(crate) sensor: Sensor,
    pub(crate) params: CameraParams,
    /// The picture controls and the output's orientation.
    pub(crate) look: Look,
    pub(crate) format: VideoFormat,
    pub(crate) fps: f32,
    pub(crate) scene: Arc<Scene>,
}

/// The ISP's picture controls (the camera's image parameters) and an
/// output's orientation, as numbers the ISP uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Look {
    /// `BRIGHTNESS`, 0 to 1 (0.5 changes nothing): an offset of the levels.
    pub(crate) brightness: f32,
    /// `CONTRAST`, -1 to 1: levels stretched about mid-grey (-1 flat grey).
    pub(crate) contrast: f32,
    /// `SATURATION`, -1 to 1: colour scaled about grey (-1 grey).
    pub(crate) saturation: f32,
    /// `SHARPNESS`, -1 to 1: an unsharp mask (negative blurs).
    pub(crate) sharpness: f32,
    /// `EXPOSURE_COMP` in sixths of a stop: the automatic exposure's target.
    pub(crate) exposure_comp: i32,
    /// `IMAGE_EFFECT` (`MMAL_PARAM_IMAGEFX_T`).
    pub(crate) effect: u32,
    /// `COLOUR_EFFECT` when enabled: the fixed U and V of every pixel.
    pub(crate) colour: Option<(u8, u8)>,
    /// `DYNAMIC_RANGE_COMPRESSION` strength, 0 (off) to 3 (high).
    pub(crate) drc: u32,
    /// The output's `MIRROR` and `ROTATION` 180 as a transform: bit 0 a
    /// horizontal flip, bit 1 a vertical one, as the raw header counts them.
    pub(crate) transform: u8,
}

impl Default for Look {
    fn default() -> Look {
        Look {
            brightness: 0.5,
            contrast: 0.0,
            saturation: 0.0,
            sharpness: 0.0,
            exposure_comp: 0,
            effect: sys::MMAL_PARAM_IMAGEFX_NONE,
            colour: None,
            drc: sys::MMAL_PARAMETER_DRC_STRENGTH_OFF,
            transform: 0,
        }
    }
}

/// The effects [`draw`] shows on the picture (`MMAL_PARAM_IMAGEFX_T`);
/// the others are kept and read back but leave the picture as it is.
pub(crate) fn effect_is_drawn(effect: u32) -> bool {
    matches!(
        effect,
        sys::MMAL_PARAM_IMAGEFX_NONE
            | sys::MMAL_PARAM_IMAGEFX_NEGATIVE
            | sys::MMAL_PARAM_IMAGEFX_SOLARIZE
            | sys::MMAL_PARAM_IMAGEFX_POSTERIZE
            | sys::MMAL_PARAM_IMAGEFX_BLUR
            | sys::MMAL_PARAM_IMAGEFX_SATURATION
            | sys::MMAL_PARAM_IMAGEFX_COLOURSWAP
            | sys::MMAL_PARAM_IMAGEFX_WASHEDOUT
            | sys::MMAL_PARAM_IMAGEFX_POSTERISE
    )
}

impl Look {
    /// The picture controls applied to one pixel (gamma-encoded RGB), in
    /// the ISP's order: contrast and brightness, saturation, the image
    /// effect, then the colour effect.
    fn apply(&self, rgb: [f32; 3]) -> [f32; 3] {
        let mut c = rgb.map(|v| (v - 0.5) * (1.0 + self.contrast) + 0.5 + (self.brightness - 0.5));
        let mut saturation = 1.0 + self.saturation;
        match self.effect {
            sys::MMAL_PARAM_IMAGEFX_SATURATION => saturation *= 1.6,
            sys::MMAL_PARAM_IMAGEFX_WASHEDOUT => saturation *= 0.4,
            _ => {}
        }
        let y = yuv::luma(c);
        c = c.map(|v| y + (v - y) * saturation);
        c = match self.effect {
            sys::MMAL_PARAM_IMAGEFX_NEGATIVE => c.map(|v| 1.0 - v),
            sys::MMAL_PARAM_IMAGEFX_SOLARIZE => c.map(|v| if v > 0.5 { 1.0 - v } else { v }),
            sys::MMAL_PARAM_IMAGEFX_POSTERIZE | sys::MMAL_PARAM_IMAGEFX_POSTERISE => {
                c.map(|v| (v.clamp(0.0, 1.0) * 3.999).floor() / 3.0)
            }
            sys::MMAL_PARAM_IMAGEFX_COLOURSWAP => [c[2], c[1], c[0]],
            sys::MMAL_PARAM_IMAGEFX_WASHEDOUT => c.map(|v| 0.15 + 0.85 * v),
            _ => c,
        };
        if let Some((u, v)) = self.colour {
            let y = yuv::luma(c);
            let (u, v) = ((f32::from(u) - 128.0) / 255.0, (f32::from(v) - 128.0) / 255.0);
            c = [y + 1.402 * v, y - 0.344_136 * u - 0.714_136 * v, y + 1.772 * u];
        }
        c.map(|v| v.clamp(0.0, 1.0))
    }

    /// The unsharp mask's amount: the sharpness, and a blur for the effect.
    fn sharpen_amount(&self) -> f32 {
        if self.effect == sys::MMAL_PARAM_IMAGEFX_BLUR {
            -1.0
        } else {
            self.sharpness.clamp(-1.0, 1.0)
        }
    }
}

/// The Bayer order a sensor of order `order` (0 RGGB, 1 GBRG, 2 BGGR,
/// 3 GRBG) reads out with `transform` (bit 0 a horizontal flip, bit 1 a
/// vertical one): a flip swaps the columns, or the rows, of the 2x2 cell.
pub(crate) fn flipped_order(order: u8, transform: u8) -> u8 {
    use brcm::{
        BAYER_ORDER_BGGR as BGGR, BAYER_ORDER_GBRG as GBRG, BAYER_ORDER_GRBG as GRBG, BAYER_ORDER_RGGB as RGGB,
    };
    let mut o = order & 3;
    // By order: RGGB, GBRG, BGGR, GRBG.
    if transform & 1 != 0 {
        o = [GRBG, BGGR, GBRG, RGGB][usize::from(o)];
    }
    if transform & 2 != 0 {
        o = [GBRG, RGGB, GRBG, BGGR][usize::from(o)];
    }
    o
}

impl Setup {
    /// The mode in use (index into `sensor.modes()`).
    pub(crate) fn mode(&self) -> SensorMode {
        let modes = self.sensor.modes();
        let (w, h) = self.format.visible();
        let index = match self.params.sensor_mode as usize {
            0 => self.sensor.auto_mode(w, h, self.fps),
            n => (n - 1).min(modes.len() - 1),
        };
        modes[index]
    }

    pub(crate) fn settings(&self) -> Settings {
        let p = &self.params;
        let auto_exposure = 0.5 / self.scene.mean_luma();
        let analog = if p.analog_gain > 0.0 {
            p.analog_gain
        } else if p.iso > 0 {
            p.iso as f32 / 100.0
        } else {
            1.0
        };
        let digital = if p.digital_gain > 0.0 { p.digital_gain } else { 1.0 };
        let frame_us = 1e6 / self.fps.max(0.1);
        let exposure_us = if p.shutter_us > 0 {
            p.shutter_us as f32
        } else {
            let compensation = 2f32.powf(self.look.exposure_comp.clamp(-25, 25) as f32 / 6.0);
            REFERENCE_SHUTTER_US * auto_exposure * compensation / (analog * digital)
        }
        .clamp(1.0, frame_us);
        let sens = self.sensor.sensitivity();
        let awb_gains = if p.awb_mode == sys::MMAL_PARAM_AWBMODE_OFF {
            let (r, b) = p.awb_gains;
            (if r > 0.0 { r } else { 1.0 }, if b > 0.0 { b } else { 1.0 })
        } else {
            let tint = awb_tint(p.awb_mode);
            (tint[0] / sens[0], tint[2] / sens[2])
        };
        Settings { exposure_us: exposure_us.round() as u32, analog_gain: analog, digital_gain: digital, awb_gains }
    }
}

/// Shutter time at which unity gain gives the scene's own level.
const REFERENCE_SHUTTER_US: f32 = 10_000.0;

/// A noise-free frame and what to add to it.
pub(crate) struct Prepared {
    /// For an OPAQUE port: the picture is drawn in I420 (see `format`),
    /// and frames go out as handles to images (`crate::opaque`).
    pub(crate) opaque: bool,
    /// What `base` holds: the port's format, or I420 at its size for an
    /// OPAQUE port.
    pub(crate) format: VideoFormat,
    /// This picture, for the images OPAQUE frames refer to.
    pub(crate) me: std::sync::Weak<Prepared>,
    /// The camera whose images these are.
    pub(crate) images: u64,
    /// What it was prepared from, for the raw Bayer data of a frame (when
    /// the still port captures raw).
    pub(crate) setup: Option<Setup>,
    /// RGBA or BGRA: every fourth byte is alpha, which stays opaque.
    alpha: bool,
    base: Vec<u8>,
    noise: Vec<i8>,
    pub(crate) settings: Settings,
    pub(crate) length: usize,
}

/// Noise table length; per frame each block of this many bytes takes noise
/// from a random offset in a table twice as long.
const NOISE_BLOCK: usize = 1 << 16;

/// Computes the noise-free frame for `setup`.
pub(crate) fn prepare(setup: &Setup) -> std::sync::Arc<Prepared> {
    let settings = setup.settings();
    let opaque = setup.format.encoding == sys::MMAL_ENCODING_OPAQUE;
    // An OPAQUE port's images are I420 on the VideoCore.
    let mut drawn = setup.clone();
    if opaque {
        drawn.format.encoding = sys::MMAL_ENCODING_I420;
    }
    let fmt = drawn.format;
    let length = fmt.frame_size();
    let mut base = vec![0u8; length];
    draw(&drawn, &settings, &mut base);
    let sigma = 0.6 + 0.8 * settings.analog_gain * settings.digital_gain;
    let mut noise = vec![0i8; 2 * NOISE_BLOCK];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for n in &mut noise {
        // Sum of four uniforms: close enough to a Gaussian.
        let s: f32 = (0..4).map(|_| rng.unit()).sum::<f32>() - 2.0;
        *n = (s * sigma * 1.73).round().clamp(-127.0, 127.0) as i8;
    }
    let alpha = matches!(fmt.encoding, sys::MMAL_ENCODING_RGBA | sys::MMAL_ENCODING_BGRA);
    std::sync::Arc::new_cyclic(|me| Prepared {
        opaque,
        format: fmt,
        me: me.clone(),
        images: setup.images,
        setup: setup.raw.then(|| setup.clone()),
        alpha,
        base,
        noise,
        settings,
        length,
    })
}

impl Prepared {
    /// The bytes a buffer needs for one frame: the pixels, or for an
    /// OPAQUE port the handle.
    pub(crate) fn buffer_len(&self) -> usize {
        if self.opaque {
            OPAQUE_SIZE
        } else {
            self.length
        }
    }
}

/// Writes frame `frame`'s pixels, in `prepared.format`, into `out` (at
/// least `prepared.length` bytes).
pub(crate) fn render(prepared: &Prepared, frame: u64, out: &mut [u8]) {
    let out = &mut out[..prepared.length];
    let mut rng = Rng(frame.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1);
    for (dst, src) in out.chunks_mut(NOISE_BLOCK).zip(prepared.base.chunks(NOISE_BLOCK)) {
        let offset = (rng.next() as usize) % NOISE_BLOCK;
        let noise = &prepared.noise[offset..offset + src.len()];
        for ((d, &s), &n) in dst.iter_mut().zip(src).zip(noise) {
            *d = (i16::from(s) + i16::from(n)).clamp(0, 255) as u8;
        }
    }
    if prepared.alpha {
        for px in out.chunks_exact_mut(4) {
            px[3] = 255;
        }
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Per-channel gain planes (R, G, B) from a lens shading table, as `f32`.
struct Shading {
    width: usize,
    height: usize,
    planes: [Vec<f32>; 3],
}

impl Shading {
    fn new(table: &ShadingTable) -> Shading {
        let plane = |p: usize, x: usize, y: usize| {
            f32::from(table.gains[p * table.stride * table.height + y * table.stride + x]) / 32.0
        };
        let mut planes = [Vec::new(), Vec::new(), Vec::new()];
        for y in 0..table.height {
            for x in 0..table.width {
                planes[0].push(plane(0, x, y));
                planes[1].push((plane(1, x, y) + plane(2, x, y)) / 2.0);
                planes[2].push(plane(3, x, y));
            }
        }
        Shading { width: table.width, height: table.height, planes }
    }

    /// Gains at sensor position (`sx`, `sy`), interpolated between the
    /// centres of the 64-pixel cells.
    fn at(&self, sx: f32, sy: f32) -> [f32; 3] {
        let gx = ((sx - 32.0) / 64.0).clamp(0.0, (self.width - 1) as f32);
        let gy = ((sy - 32.0) / 64.0).clamp(0.0, (self.height - 1) as f32);
        let (x0, y0) = (gx as usize, gy as usize);
        let (x1, y1) = ((x0 + 1).min(self.width - 1), (y0 + 1).min(self.height - 1));
        let (fx, fy) = (gx - x0 as f32, gy - y0 as f32);
        let w = self.width;
        std::array::from_fn(|c| {
            let p = &self.planes[c];
            let top = p[y0 * w + x0] * (1.0 - fx) + p[y0 * w + x1] * fx;
            let bottom = p[y1 * w + x0] * (1.0 - fx) + p[y1 * w + x1] * fx;
            top * (1.0 - fy) + bottom * fy
        })
    }
}

/// The raw Bayer block (`BRCM`) of frame `frame`, as the camera appends it
/// to a JPEG with raw capture: the sensor mode's full picture, before the
/// ISP (no lens shading, no white balance, no gamma), at the sensor's bit
/// depth over its black level, with noise.
pub(crate) fn raw_block(prepared: &Prepared, frame: u64) -> Option<Vec<u8>> {
    let setup = prepared.setup.as_ref()?;
    let settings = &prepared.settings;
    // Stills read the whole sensor unless a sensor mode is chosen.
    let (full_w, full_h) = setup.sensor.resolution();
    let mode = match setup.params.sensor_mode {
        0 => SensorMode {
            width: full_w,
            height: full_h,
            min_fps: 0.0,
            max_fps: 15.0,
            field_of_view: (0, 0, full_w, full_h),
        },
        _ => setup.mode(),
    };
    let (order, bits, black) = setup.sensor.raw_layout();
    // Flips are the sensor's: it reads out mirrored, so the Bayer order
    // the raw shows changes with them.
    let transform = setup.look.transform & 3;
    let (w, h) = (mode.width as usize, mode.height as usize);
    let (fx0, fy0, fw, fh) = mode.field_of_view;
    let optics = Optics::new(full_w, full_h);
    let k = setup.sensor.vignetting();
    let sens = setup.sensor.sensitivity();
    let exposure = settings.exposure_us as f32 / REFERENCE_SHUTTER_US * settings.analog_gain * settings.digital_gain;
    let max = ((1u32 << bits) - 1) as f32;
    let range = max - f32::from(black);
    // Colour of each site of the sensor's own 2x2 cell (0 R, 1 G, 2 B).
    let cell: [[usize; 2]; 2] = match order {
        brcm::BAYER_ORDER_RGGB => [[0, 1], [1, 2]],
        brcm::BAYER_ORDER_GBRG => [[1, 2], [0, 1]],
        brcm::BAYER_ORDER_BGGR => [[2, 1], [1, 0]],
        _ => [[1, 0], [2, 1]],
    };
    // The header's order is that of the top-left cell as read out, which
    // a flip takes from the other end of an even row or column.
    debug_assert!(w % 2 == 0 && h % 2 == 0, "sensor modes have even sizes");
    let mut rng = Rng(frame.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut pixels = vec![0u16; w * h];
    for y in 0..h {
        let py = if transform & 2 != 0 { h - 1 - y } else { y };
        let sy = fy0 as f32 + (py as f32 + 0.5) * fh as f32 / h as f32;
        for x in 0..w {
            let px = if transform & 1 != 0 { w - 1 - x } else { x };
            let sx = fx0 as f32 + (px as f32 + 0.5) * fw as f32 / w as f32;
            let c = cell[py % 2][px % 2];
            let light = setup.scene.sample(sx / full_w as f32, sy / full_h as f32)[c];
            let v = 1.0 / (1.0 + k[c] * optics.r2(sx, sy));
            let signal = (light * v * v * exposure * sens[c]).clamp(0.0, 1.0) * range;
            let noise = (rng.unit() - 0.5) * 4.0;
            pixels[y * w + x] = (f32::from(black) + signal + noise).round().clamp(0.0, max) as u16;
        }
    }
    let layout = RawLayout { order: flipped_order(order, transform), transform, bits };
    Some(pack_raw(&pixels, w, h, layout, setup.sensor.name()))
}

/// How a raw block's pixels are laid out, as its header says.
#[derive(Debug, Clone, Copy)]
struct RawLayout {
    /// Bayer order as read out (0 RGGB, 1 GBRG, 2 BGGR, 3 GRBG).
    order: u8,
    /// Bit 0 a horizontal flip, bit 1 a vertical one.
    transform: u8,
    /// 10 or 12.
    bits: u8,
}

/// Packs `pixels` (`w × h`) into a `BRCM` block as the Pi's camera lays
/// one out (research §7, `mmal_sys::raw`): a 32768-byte header, then rows
/// of RAW10 or RAW12, each row padded to 32 bytes, and at least one
/// padding row, to a multiple of 16.
fn pack_raw(pixels: &[u16], w: usize, h: usize, layout: RawLayout, name: &str) -> Vec<u8> {
    let RawLayout { order, transform, bits } = layout;
    // Sensor modes are at most 4056x3040.
    let (width, height) = (w as u16, h as u16);
    let stride = brcm::stride(width, 0, bits);
    let rows = brcm::camera_rows(height);
    let mut block = vec![0u8; brcm::HEADER_SIZE + stride * rows];
    let fields = brcm::Fields {
        version: 1,
        data_offset: brcm::HEADER_SIZE as u32,
        name: brcm::Fields::name_field(name.as_bytes()),
        width,
        height,
        padding_right: 0,
        padding_down: (rows - h) as u16,
        transform: u16::from(transform),
        format: brcm::FORMAT_BAYER,
        bayer_order: order,
        bayer_format: brcm::bayer_format(bits),
    };
    fields.write(&mut block).expect("a block longer than its header");
    let data = &mut block[brcm::HEADER_SIZE..];
    for (row_px, row) in pixels.chunks(w).zip(data.chunks_exact_mut(stride)) {
        brcm::pack_row(bits, row_px, row);
    }
    block
}

/// The ISP's colour matrix: the sensor's colours to the output's (rows
/// sum to 1, so grey stays grey).
const COLOUR_MATRIX: [[f32; 3]; 3] = [[1.6, -0.4, -0.2], [-0.3, 1.5, -0.2], [-0.1, -0.5, 1.6]];

/// The ISP's gamma: output levels are linear light to the power 1/2.2.
const GAMMA: f32 = 2.2;

/// How much of the optics' vignetting the firmware's built-in lens shading
/// table corrects: it is made for the stock lens, and these optics (a
/// microscope's, say) vignette harder.
const STOCK_LENS_SHARE: f32 = 0.3;

/// Where the optics' axis meets the sensor, as a fraction of its width
/// and height: off the centre, as in a microscope whose optics are not
/// quite aligned. So a table only fits the orientation it was measured in
/// (its `ref_transform` says which), and the stock lens's built-in table,
/// centred, fits even less.
const OPTICAL_AXIS: (f32, f32) = (0.53, 0.47);

/// Distances on the sensor from the optics' axis and from its centre.
struct Optics {
    axis: (f32, f32),
    centre: (f32, f32),
    /// The squared half-diagonal: radii are normalised by it.
    half_diag2: f32,
}

impl Optics {
    fn new(full_w: u32, full_h: u32) -> Optics {
        let (w, h) = (full_w as f32, full_h as f32);
        let centre = (w / 2.0, h / 2.0);
        Optics {
            axis: (w * OPTICAL_AXIS.0, h * OPTICAL_AXIS.1),
            centre,
            half_diag2: centre.0 * centre.0 + centre.1 * centre.1,
        }
    }

    /// Normalised radius² of sensor position (`sx`, `sy`) from the axis.
    fn r2(&self, sx: f32, sy: f32) -> f32 {
        let (dx, dy) = (sx - self.axis.0, sy - self.axis.1);
        (dx * dx + dy * dy) / self.half_diag2
    }

    /// The same from the sensor's centre, where the stock lens is centred.
    fn r2_stock(&self, sx: f32, sy: f32) -> f32 {
        let (dx, dy) = (sx - self.centre.0, sy - self.centre.1);
        (dx * dx + dy * dy) / self.half_diag2
    }
}

/// The built-in table's gain at normalised radius² `r2`, for a channel
/// whose optics vignette with strength `k`.
fn stock_lens_gain(k: f32, r2: f32) -> f32 {
    let stock = 1.0 + STOCK_LENS_SHARE * k * r2;
    stock * stock
}

/// Renders the noise-free picture into `out` in the port's format.
fn draw(setup: &Setup, settings: &Settings, out: &mut [u8]) {
    let fmt = setup.format;
    let (vw, vh) = fmt.visible();
    let (stride, rows) = fmt.geometry();
    let mode = setup.mode();
    let (fx0, fy0, fw, fh) = mode.field_of_view;
    let (full_w, full_h) = setup.sensor.resolution();
    let optics = Optics::new(full_w, full_h);
    let k = setup.sensor.vignetting();
    let sens = setup.sensor.sensitivity();
    let exposure = settings.exposure_us as f32 / REFERENCE_SHUTTER_US * settings.analog_gain * settings.digital_gain;
    let awb = [settings.awb_gains.0, 1.0, settings.awb_gains.1];
    let table = setup.params.lens_shading.as_deref();
    let shading = table.map(Shading::new);
    let ref_transform = table.map_or(0, |t| t.ref_transform);
    let look = setup.look;
    let drc = 1.0 - 0.1 * look.drc.min(sys::MMAL_PARAMETER_DRC_STRENGTH_HIGH) as f32;
    // Per-pixel work skipped where it would change nothing.
    let compress = look.drc > sys::MMAL_PARAMETER_DRC_STRENGTH_OFF;
    let neutral = Look { transform: 0, exposure_comp: 0, sharpness: 0.0, ..look } == Look::default();
    // The ISP's black level subtraction: exact with the sensor's own level;
    // a lower one set by the client lifts the blacks, a higher one crushes.
    let (_, bits, black) = setup.sensor.raw_layout();
    let (max, black) = (((1u32 << bits) - 1) as f32, f32::from(black));
    let assumed = setup.params.black_level.map_or(black, |b| b as f32);
    let (black_scale, black_offset) = ((max - black) / (max - assumed), (black - assumed) / (max - assumed));

    let pixel = |x: u32, y: u32| -> [f32; 3] {
        // The output's flips: which part of the sensor this pixel shows.
        let x = if look.transform & 1 != 0 { vw - 1 - x } else { x };
        let y = if look.transform & 2 != 0 { vh - 1 - y } else { y };
        let sx = fx0 as f32 + (x as f32 + 0.5) * fw as f32 / vw as f32;
        let sy = fy0 as f32 + (y as f32 + 0.5) * fh as f32 / vh as f32;
        let light = setup.scene.sample(sx / full_w as f32, sy / full_h as f32);
        let (r2, r2_stock) = (optics.r2(sx, sy), optics.r2_stock(sx, sy));
        // The table is laid out as the calibration raw was read out.
        let gains = shading.as_ref().map(|s| {
            let tx = if ref_transform & 1 != 0 { full_w as f32 - sx } else { sx };
            let ty = if ref_transform & 2 != 0 { full_h as f32 - sy } else { sy };
            s.at(tx, ty)
        });
        // The ISP, in the Pi's order, on what the sensor saw (the raw): lens
        // shading (the override, else the stock lens's own table), white
        // balance, (demosaic), dynamic range compression, colour matrix,
        // gamma, then the picture controls.
        let linear: [f32; 3] = std::array::from_fn(|c| {
            let v = 1.0 / (1.0 + k[c] * r2);
            let raw = (light[c] * v * v * exposure * sens[c]).min(1.0) * black_scale + black_offset;
            let shading = gains.map_or_else(|| stock_lens_gain(k[c], r2_stock), |g| g[c]);
            let v = (raw * shading * awb[c]).clamp(0.0, 1.0);
            if compress {
                v.powf(drc)
            } else {
                v
            }
        });
        let rgb = std::array::from_fn(|c| {
            let m = &COLOUR_MATRIX[c];
            let mixed = (m[0] * linear[0] + m[1] * linear[1] + m[2] * linear[2]).clamp(0.0, 1.0);
            mixed.powf(1.0 / GAMMA)
        });
        if neutral {
            rgb
        } else {
            look.apply(rgb)
        }
    };

    match fmt.encoding {
        sys::MMAL_ENCODING_I420 => {
            let (y_plane, u_plane, v_plane) = yuv::planes_mut(out, stride, rows);
            let [ky, ku, kv] = yuv::RGB_TO_YUV;
            for y in (0..vh).step_by(2) {
                for x in (0..vw).step_by(2) {
                    let mut sum = [0.0f32; 3];
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        let (px, py) = ((x + dx).min(vw - 1), (y + dy).min(vh - 1));
                        let [r, g, b] = pixel(px, py);
                        if x + dx < vw && y + dy < vh {
                            y_plane[(py as usize) * stride + px as usize] = to_u8(ky[0] * r + ky[1] * g + ky[2] * b);
                        }
                        sum = [sum[0] + r, sum[1] + g, sum[2] + b];
                    }
                    let [r, g, b] = sum.map(|s| s / 4.0);
                    let i = (y as usize / 2) * (stride / 2) + x as usize / 2;
                    u_plane[i] = to_u8(0.5 + ku[0] * r + ku[1] * g + ku[2] * b);
                    v_plane[i] = to_u8(0.5 + kv[0] * r + kv[1] * g + kv[2] * b);
                }
            }
        }
        encoding => {
            let (bpp, order): (usize, [usize; 3]) = match encoding {
                sys::MMAL_ENCODING_RGB24 => (3, [0, 1, 2]),
                sys::MMAL_ENCODING_BGR24 => (3, [2, 1, 0]),
                sys::MMAL_ENCODING_RGBA => (4, [0, 1, 2]),
                _ => (4, [2, 1, 0]),
            };
            for y in 0..vh {
                let row = &mut out[y as usize * stride..];
                for x in 0..vw {
                    let rgb = pixel(x, y);
                    let p = &mut row[x as usize * bpp..];
                    for c in 0..3 {
                        p[order[c]] = to_u8(rgb[c]);
                    }
                    if bpp == 4 {
                        p[3] = 255;
                    }
                }
            }
        }
    }
    let amount = look.sharpen_amount();
    if amount != 0.0 {
        match fmt.encoding {
            // Luma only, as the ISP sharpens.
            sys::MMAL_ENCODING_I420 => unsharp(out, 0, 1, stride, (vw as usize, vh as usize), amount),
            sys::MMAL_ENCODING_RGB24 | sys::MMAL_ENCODING_BGR24 => {
                for c in 0..3 {
                    unsharp(out, c, 3, stride, (vw as usize, vh as usize), amount);
                }
            }
            _ => {
                for c in 0..3 {
                    unsharp(out, c, 4, stride, (vw as usize, vh as usize), amount);
                }
            }
        }
    }
}

/// An unsharp mask over one channel (bytes `first`, `first + step`, ...
/// of each row of `stride` bytes, `size` pixels): each pixel moves away
/// from its 3x3 neighbourhood's mean by `amount` of the difference, so
/// 1 sharpens and -1 gives the mean (a blur).
fn unsharp(out: &mut [u8], first: usize, step: usize, stride: usize, size: (usize, usize), amount: f32) {
    let (w, h) = size;
    if w < 3 || h < 3 {
        return;
    }
    let at = |x: usize, y: usize| y * stride + first + x * step;
    let mut previous = vec![0u8; w];
    let mut current: Vec<u8> = (0..w).map(|x| out[at(x, 0)]).collect();
    for y in 0..h {
        let next: Vec<u8> = (0..w).map(|x| out[at(x, (y + 1).min(h - 1))]).collect();
        let above = if y == 0 { &current } else { &previous };
        for x in 0..w {
            let (l, r) = (x.saturating_sub(1), (x + 1).min(w - 1));
            let sum: u32 = [above, &current, &next]
                .iter()
                .map(|row| u32::from(row[l]) + u32::from(row[x]) + u32::from(row[r]))
                .sum();
            let mean = sum as f32 / 9.0;
            let v = f32::from(current[x]);
            out[at(x, y)] = (v + amount * (v - mean)).round().clamp(0.0, 255.0) as u8;
        }
        previous = std::mem::replace(&mut current, next);
    }
}

fn to_u8(v: f32) -> u8 {
    (v * 255.0 + 0.5).clamp(0.0, 255.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::align;

    fn setup(encoding: u32, w: u32, h: u32, scene: Scene) -> Setup {
        Setup {
            images: 0,
            raw: false,
            sensor: Sensor::Imx219,
            params: CameraParams::new(Sensor::Imx219),
            look: Look::default(),
            format: VideoFormat {
                encoding,
                width: align(w, 32),
                height: align(h, 16),
                crop: (0, 0, w, h),
                frame_rate: (30, 1),
                bitrate: 0,
            },
            fps: 30.0,
            scene: Arc::new(scene),
        }
    }

    #[test]
    fn sizes_follow_the_format() {
        let f = VideoFormat { encoding: sys::MMAL_ENCODING_I420, width: 1920, height: 1080, ..Default::default() };
        assert_eq!(f.frame_size(), 1920 * 1088 * 3 / 2);
        let f = VideoFormat { encoding: sys::MMAL_ENCODING_RGB24, width: 100, height: 50, ..Default::default() };
        assert_eq!(f.frame_size(), 128 * 3 * 64);
        let f = VideoFormat { encoding: sys::MMAL_ENCODING_OPAQUE, width: 100, height: 50, ..Default::default() };
        assert_eq!(f.frame_size(), OPAQUE_SIZE);
    }

    #[test]
    fn auto_mode_picks_matching_shapes() {
        let s = Sensor::Imx219;
        assert_eq!(s.modes()[s.auto_mode(1920, 1080, 30.0)].width, 1920);
        assert_eq!(s.modes()[s.auto_mode(1640, 1232, 30.0)].width, 1640);
        assert_eq!(s.modes()[s.auto_mode(640, 480, 30.0)].width, 1640);
        assert_eq!(s.modes()[s.auto_mode(640, 480, 120.0)].width, 640);
    }

    #[test]
    fn flat_field_vignettes_and_a_unity_override_drops_the_built_in_table() {
        let s = setup(sys::MMAL_ENCODING_RGB24, 328, 246, Scene::flat());
        let p = prepare(&s);
        let stride = 352 * 3;
        let at = |img: &[u8], x: usize, y: usize, c: usize| img[y * stride + x * 3 + c];
        let centre = at(&p.base, 164, 123, 1);
        let corner = at(&p.base, 1, 1, 1);
        assert!(centre > 80, "centre level {centre}");
        // Visibly dark through the built-in table (made for a milder lens)
        // and the gamma.
        assert!((corner as f32) < 0.85 * centre as f32, "corner {corner} centre {centre}");
        let mut s2 = s.clone();
        let (gw, gh) = (3280 / 64 + 1, 2464 / 64 + 1);
        s2.params.lens_shading = Some(Arc::new(ShadingTable {
            width: gw,
            height: gh,
            stride: gw,
            gains: vec![32; gw * gh * 4],
            ref_transform: 0,
        }));
        // A unity override replaces the built-in table: darker corners, the
        // same centre.
        let unity = prepare(&s2);
        assert!(at(&unity.base, 1, 1, 1) < corner, "unity {} built-in {corner}", at(&unity.base, 1, 1, 1));
        assert!(at(&unity.base, 164, 123, 1).abs_diff(centre) <= 2);
    }

    /// The noise-free RGB24 picture of `s` as rows of pixels.
    fn rgb(s: &Setup) -> Vec<Vec<[u8; 3]>> {
        let p = prepare(s);
        let (w, h) = s.format.visible();
        let stride = s.format.geometry().0;
        (0..h as usize)
            .map(|y| (0..w as usize).map(|x| std::array::from_fn(|c| p.base[y * stride + x * 3 + c])).collect())
            .collect()
    }

    fn mean(img: &[Vec<[u8; 3]>]) -> f64 {
        let n = img.len() * img[0].len() * 3;
        img.iter().flatten().flatten().map(|&v| f64::from(v)).sum::<f64>() / n as f64
    }

    /// Sum of absolute differences between horizontal neighbours: detail.
    fn detail(img: &[Vec<[u8; 3]>]) -> f64 {
        img.iter().flat_map(|row| row.windows(2).map(|w| f64::from(w[0][1].abs_diff(w[1][1])))).sum()
    }

    #[test]
    fn picture_controls_change_the_picture_as_named() {
        let plain = setup(sys::MMAL_ENCODING_RGB24, 160, 120, Scene::Chart);
        let base = rgb(&plain);
        let with = |f: &dyn Fn(&mut Look)| {
            let mut s = plain.clone();
            f(&mut s.look);
            rgb(&s)
        };
        assert!(mean(&with(&|l| l.brightness = 0.7)) > mean(&base) + 30.0);
        assert!(mean(&with(&|l| l.brightness = 0.3)) < mean(&base) - 30.0);
        // Contrast -100: flat mid-grey.
        assert!(with(&|l| l.contrast = -1.0).iter().flatten().flatten().all(|&v| v.abs_diff(128) <= 1));
        // Saturation -100: grey, every pixel.
        let grey = with(&|l| l.saturation = -1.0);
        assert!(grey.iter().flatten().all(|p| p[0].abs_diff(p[1]) <= 1 && p[1].abs_diff(p[2]) <= 1));
        assert!(base.iter().flatten().any(|p| p[0].abs_diff(p[2]) > 20), "the chart has colour");
        // Negative: each level inverted.
        let negative = with(&|l| l.effect = sys::MMAL_PARAM_IMAGEFX_NEGATIVE);
        for (a, b) in base.iter().flatten().zip(negative.iter().flatten()) {
            for c in 0..3 {
                assert!((255 - a[c]).abs_diff(b[c]) <= 1, "{a:?} {b:?}");
            }
        }
        // Colour swap: red and blue trade places.
        let swapped = with(&|l| l.effect = sys::MMAL_PARAM_IMAGEFX_COLOURSWAP);
        assert!(base.iter().flatten().zip(swapped.iter().flatten()).all(|(a, b)| a[0] == b[2] && a[2] == b[0]));
        // A colour effect with U = V = 128: grey.
        let mono = with(&|l| l.colour = Some((128, 128)));
        assert!(mono.iter().flatten().all(|p| p[0].abs_diff(p[1]) <= 1 && p[1].abs_diff(p[2]) <= 1));
        // Sharpness: more detail, or less.
        assert!(detail(&with(&|l| l.sharpness = 1.0)) > 1.2 * detail(&base));
        assert!(detail(&with(&|l| l.sharpness = -1.0)) < 0.9 * detail(&base));
        assert!(detail(&with(&|l| l.effect = sys::MMAL_PARAM_IMAGEFX_BLUR)) < 0.9 * detail(&base));
        // Dynamic range compression lifts the shadows.
        let darkest = |img: &[Vec<[u8; 3]>]| img.iter().flatten().map(|p| p[1]).min().unwrap();
        let mut dark = plain.clone();
        dark.params.shutter_us = 2000;
        let lifted = {
            let mut s = dark.clone();
            s.look.drc = 3;
            rgb(&s)
        };
        assert!(darkest(&lifted) > darkest(&rgb(&dark)));
        // A black level set below the sensor's lifts the blacks too.
        let mut low_black = dark.clone();
        low_black.params.black_level = Some(0);
        assert!(darkest(&rgb(&low_black)) > darkest(&rgb(&dark)) + 10);
        // Kept, not drawn: an effect the ISP does not draw leaves the picture.
        assert!(!effect_is_drawn(22));
        assert_eq!(with(&|l| l.effect = 22), base);
    }

    #[test]
    fn exposure_compensation_moves_the_automatic_exposure_in_sixths_of_a_stop() {
        let mut s = setup(sys::MMAL_ENCODING_I420, 64, 48, Scene::flat());
        let plain = s.settings().exposure_us;
        s.look.exposure_comp = 6;
        assert!(s.settings().exposure_us.abs_diff(plain * 2) <= 1);
        s.look.exposure_comp = -6;
        assert!(s.settings().exposure_us.abs_diff(plain / 2) <= 1);
        // A fixed shutter is not compensated.
        s.params.shutter_us = 5000;
        assert_eq!(s.settings().exposure_us, 5000);
    }

    #[test]
    fn flips_mirror_the_picture() {
        let plain = setup(sys::MMAL_ENCODING_RGB24, 160, 120, Scene::Chart);
        let base = rgb(&plain);
        for transform in 1..4u8 {
            let mut s = plain.clone();
            s.look.transform = transform;
            let flipped = rgb(&s);
            let (w, h) = (base[0].len(), base.len());
            for (y, row) in flipped.iter().enumerate() {
                for (x, px) in row.iter().enumerate() {
                    let sx = if transform & 1 != 0 { w - 1 - x } else { x };
                    let sy = if transform & 2 != 0 { h - 1 - y } else { y };
                    assert_eq!(*px, base[sy][sx], "transform {transform} at {x},{y}");
                }
            }
        }
    }

    #[test]
    fn flips_change_the_bayer_order_as_the_ov5647_shows() {
        // Research §7 and cpixip's observations on the OV5647 (GBRG): vflip
        // gives RGGB, hflip BGGR, both GRBG.
        assert_eq!([0, 2, 1, 3].map(|t| flipped_order(1, t)), [1, 0, 2, 3]);
        for order in 0..4 {
            assert_eq!(flipped_order(flipped_order(order, 3), 3), order);
            assert_eq!(flipped_order(flipped_order(order, 1), 2), flipped_order(order, 3));
        }
    }

    #[test]
    fn the_raw_reads_out_flipped_with_the_order_and_transform_in_its_header() {
        let mut s = setup(sys::MMAL_ENCODING_I420, 64, 48, Scene::flat());
        s.raw = true;
        s.params.sensor_mode = 7; // 640x480: a small raw
        for transform in 0..4u8 {
            s.look.transform = transform;
            let block = raw_block(&prepare(&s), 1).unwrap();
            assert_eq!(u16::from_le_bytes([block[240], block[241]]), u16::from(transform));
            let order = block[244];
            assert_eq!(order, flipped_order(0, transform));
            // Mean high byte of each site of the 2x2 cell near the centre;
            // the IMX219 sees white light as G > B > R.
            let stride = (640 * 5 / 4usize).next_multiple_of(32);
            let site = |dx: usize, dy: usize| -> f64 {
                (0..40)
                    .map(|i| {
                        let (x, y) = (300 + 2 * (i % 10) + dx, 220 + 2 * (i / 10) + dy);
                        f64::from(block[32768 + y * stride + x / 4 * 5 + x % 4])
                    })
                    .sum::<f64>()
                    / 40.0
            };
            // Where this order puts R, G and B.
            let (r, b) = match order {
                0 => ((0, 0), (1, 1)),
                1 => ((0, 1), (1, 0)),
                2 => ((1, 1), (0, 0)),
                _ => ((1, 0), (0, 1)),
            };
            let g = (1 - r.0, r.1);
            let (r, g, b) = (site(r.0, r.1), site(g.0, g.1), site(b.0, b.1));
            assert!(r < b && b < g, "transform {transform}, order {order}: R {r} G {g} B {b}");
        }
    }

    #[test]
    fn noise_varies_per_frame_and_stays_small() {
        let s = setup(sys::MMAL_ENCODING_I420, 64, 48, Scene::flat());
        let p = prepare(&s);
        let mut a = vec![0; p.length];
        let mut b = vec![0; p.length];
        render(&p, 1, &mut a);
        render(&p, 2, &mut b);
        assert_ne!(a, b);
        let mean_diff: f64 =
            a.iter().zip(&p.base).map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs()).sum::<f64>() / a.len() as f64;
        assert!(mean_diff > 0.2 && mean_diff < 4.0, "mean noise {mean_diff}");
    }
}
