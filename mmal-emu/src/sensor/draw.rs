//! The two stages of a frame: the noise-free picture (the scene through
//! the optics and the sensor, then the ISP in the Pi's order, in the
//! port's format), prepared once, and each frame's noise on top of it.
//!
//! An OPAQUE port's picture is drawn only when a component reads one of
//! its images, and in the format that component asks for: a resizer
//! taking the full sensor down to 640x480 has the ISP draw 640x480, as
//! the firmware's ISP writes its output at the size asked for, not the
//! sensor's whole picture first.

use std::sync::{Arc, OnceLock};

use mmal_sys as sys;
use parking_lot::Mutex;

use super::exposure::{Settings, Setup, REFERENCE_SHUTTER_US};
use super::isp::{unsharp, Gamma, Look, Shading, COLOUR_MATRIX};
use super::optics::{stock_lens_gain, Optics};
use crate::format::{VideoFormat, OPAQUE_SIZE};
use crate::yuv;

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
    /// What it was prepared from: to draw it in another format, and for
    /// the raw Bayer data of a frame (when the still port captures raw).
    setup: Setup,
    /// The noise-free picture in `format`: drawn at once for a port that
    /// takes pixels, on first use for an OPAQUE port's images.
    base: OnceLock<Vec<u8>>,
    /// The picture drawn in other formats components asked for (the most
    /// recent few), each drawn once.
    others: Mutex<Vec<(VideoFormat, Drawn)>>,
    noise: Vec<i8>,
    pub(crate) settings: Settings,
    pub(crate) length: usize,
}

/// Noise table length; per frame each block of this many bytes takes noise
/// from a random offset in a table twice as long.
const NOISE_BLOCK: usize = 1 << 16;

/// A picture drawn in one format, once, by the first to need it.
type Drawn = Arc<OnceLock<Vec<u8>>>;

/// Formats other than its own a picture keeps drawn.
const OTHER_FORMATS: usize = 4;

/// Computes the noise-free frame for `setup` (for an OPAQUE port, what it
/// takes to draw it when asked).
pub(crate) fn prepare(setup: &Setup) -> Arc<Prepared> {
    let settings = setup.settings();
    let opaque = setup.format.encoding == sys::MMAL_ENCODING_OPAQUE;
    // An OPAQUE port's images are I420 on the VideoCore.
    let mut fmt = setup.format;
    if opaque {
        fmt.encoding = sys::MMAL_ENCODING_I420;
    }
    let length = fmt.frame_size();
    let base = OnceLock::new();
    if !opaque {
        let _ = base.set(drawn(setup, &settings, &fmt));
    }
    let sigma = 0.6 + 0.8 * settings.analog_gain * settings.digital_gain;
    let mut noise = vec![0i8; 2 * NOISE_BLOCK];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for n in &mut noise {
        // Sum of four uniforms: close enough to a Gaussian.
        let s: f32 = (0..4).map(|_| rng.unit()).sum::<f32>() - 2.0;
        *n = (s * sigma * 1.73).round().clamp(-127.0, 127.0) as i8;
    }
    Arc::new_cyclic(|me| Prepared {
        opaque,
        format: fmt,
        me: me.clone(),
        images: setup.images,
        setup: setup.clone(),
        base,
        others: Mutex::new(Vec::new()),
        noise,
        settings,
        length,
    })
}

/// The noise-free picture of `setup` with `settings`, drawn in `format`
/// over the field of view of `setup`'s own format.
fn drawn(setup: &Setup, settings: &Settings, format: &VideoFormat) -> Vec<u8> {
    let mut setup = setup.clone();
    // The port's own sensor mode, and so its field of view, whatever the
    // size drawn: a resizer scales what the camera delivered (the mode a
    // size would choose by itself may see more of the sensor).
    let mode = setup.mode();
    if let Some(i) = setup.sensor.modes().iter().position(|m| *m == mode) {
        setup.params.sensor_mode = i as u32 + 1;
    }
    setup.format = *format;
    let mut base = vec![0u8; format.frame_size()];
    draw(&setup, settings, &mut base);
    base
}

/// Whether [`draw`] writes `encoding`.
fn drawable(encoding: u32) -> bool {
    matches!(
        encoding,
        sys::MMAL_ENCODING_I420
            | sys::MMAL_ENCODING_RGB24
            | sys::MMAL_ENCODING_BGR24
            | sys::MMAL_ENCODING_RGBA
            | sys::MMAL_ENCODING_BGRA
    )
}

impl Prepared {
    /// The noise-free picture in its own format, drawn now if it was not.
    pub(super) fn base(&self) -> &[u8] {
        self.base.get_or_init(|| drawn(&self.setup, &self.settings, &self.format))
    }

    /// What it was prepared from, if the still port captures raw.
    pub(super) fn raw_setup(&self) -> Option<&Setup> {
        self.setup.raw.then_some(&self.setup)
    }

    /// The noise-free picture in `format` (a [`drawable`] one), drawn on
    /// first use; a few formats are kept.
    fn base_in(&self, format: &VideoFormat) -> Drawn {
        let cell = {
            let mut others = self.others.lock();
            match others.iter().position(|(f, _)| f == format) {
                Some(i) => others[i].1.clone(),
                None => {
                    if others.len() == OTHER_FORMATS {
                        others.remove(0);
                    }
                    let cell = Arc::new(OnceLock::new());
                    others.push((*format, cell.clone()));
                    cell
                }
            }
        };
        // Drawn outside the list's lock: another format's reader need not
        // wait; one of this format waits for this drawing.
        cell.get_or_init(|| drawn(&self.setup, &self.settings, format));
        cell
    }

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
    with_noise(prepared.base(), &prepared.noise, frame, prepared.format.encoding, out);
}

/// Writes frame `frame`'s pixels in `format` into `out` (at least
/// `format.frame_size()` bytes), drawn in that format (at its size) rather
/// than converted from the picture's own; `false` (nothing written) if
/// `format` is not one the ISP writes.
pub(crate) fn render_as(prepared: &Prepared, frame: u64, format: &VideoFormat, out: &mut [u8]) -> bool {
    if *format == prepared.format {
        render(prepared, frame, out);
        return true;
    }
    if !drawable(format.encoding) {
        return false;
    }
    let base = prepared.base_in(format);
    let base = base.get().map_or(&[][..], Vec::as_slice);
    with_noise(base, &prepared.noise, frame, format.encoding, out);
    true
}

/// `base` with frame `frame`'s noise, into `out`; alpha stays opaque.
fn with_noise(base: &[u8], noise: &[i8], frame: u64, encoding: u32, out: &mut [u8]) {
    let out = &mut out[..base.len()];
    let mut rng = Rng(frame.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1);
    for (dst, src) in out.chunks_mut(NOISE_BLOCK).zip(base.chunks(NOISE_BLOCK)) {
        let offset = (rng.next() as usize) % NOISE_BLOCK;
        let noise = &noise[offset..offset + src.len()];
        for ((d, &s), &n) in dst.iter_mut().zip(src).zip(noise) {
            *d = (i16::from(s) + i16::from(n)).clamp(0, 255) as u8;
        }
    }
    if matches!(encoding, sys::MMAL_ENCODING_RGBA | sys::MMAL_ENCODING_BGRA) {
        for px in out.chunks_exact_mut(4) {
            px[3] = 255;
        }
    }
}

pub(super) struct Rng(pub(super) u64);

impl Rng {
    #[inline]
    pub(super) fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    #[inline]
    pub(super) fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
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

    let gamma = Gamma::new();
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
            gamma.apply(mixed)
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
    for _ in 0..if amount != 0.0 { look.sharpen_passes() } else { 0 } {
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

fn to_u8(v: f32) -> u8 {
    (v * 255.0 + 0.5).clamp(0.0, 255.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::Scene;
    use crate::sensor::tests::{rgb, setup};

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
    fn noise_varies_per_frame_and_stays_small() {
        let s = setup(sys::MMAL_ENCODING_I420, 64, 48, Scene::flat());
        let p = prepare(&s);
        let mut a = vec![0; p.length];
        let mut b = vec![0; p.length];
        render(&p, 1, &mut a);
        render(&p, 2, &mut b);
        assert_ne!(a, b);
        let mean_diff: f64 =
            a.iter().zip(p.base()).map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs()).sum::<f64>() / a.len() as f64;
        assert!(mean_diff > 0.2 && mean_diff < 4.0, "mean noise {mean_diff}");
    }
}
