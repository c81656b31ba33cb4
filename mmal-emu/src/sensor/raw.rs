//! The raw Bayer data (`BRCM` block) the camera appends to a still with
//! raw capture: the sensor's picture before the ISP, read out in the
//! orientation the flips set, packed as `mmal_sys::raw` lays it out.

use mmal_sys as sys;
use sys::raw as brcm;

use super::draw::{Prepared, Rng};
use super::exposure::REFERENCE_SHUTTER_US;
use super::modes::SensorMode;
use super::optics::Optics;

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

/// The raw Bayer block (`BRCM`) of frame `frame`, as the camera appends it
/// to a JPEG with raw capture: the sensor mode's full picture, before the
/// ISP (no lens shading, no white balance, no gamma), at the sensor's bit
/// depth over its black level, with noise.
pub(crate) fn raw_block(prepared: &Prepared, frame: u64) -> Option<Vec<u8>> {
    let setup = prepared.raw_setup()?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::Scene;
    use crate::sensor::prepare;
    use crate::sensor::tests::setup;

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
}
