//! YUV as the VideoCore lays it out and computes it: an I420 picture, the
//! I420 planes of a port's buffer, and the full-range BT.601 matrix
//! (JFIF's) of the camera's ISP. The ISP draws in floating point;
//! conversions between 8-bit pictures use the same matrix in fixed point
//! (1/1024ths), derived from it at compile time, so the two cannot drift
//! apart. A leaf: it uses nothing else of the crate.

/// The planes of an I420 picture whose luma rows are `stride` bytes and
/// `rows` rows (aligned): bytes of the luma plane, and of each chroma plane
/// (half as many rows of half the stride).
pub(crate) const fn plane_sizes(stride: usize, rows: usize) -> (usize, usize) {
    (stride * rows, stride / 2 * rows / 2)
}

/// `data`, an I420 picture (see [`plane_sizes`]), as its Y, U and V
/// planes; V is cut to its size, or is what is left of a short buffer.
///
/// # Panics
///
/// If `data` is shorter than the Y and U planes.
pub(crate) fn planes(data: &[u8], stride: usize, rows: usize) -> (&[u8], &[u8], &[u8]) {
    let (luma, chroma) = plane_sizes(stride, rows);
    let (y, rest) = data.split_at(luma);
    let (u, v) = rest.split_at(chroma);
    (y, u, &v[..chroma.min(v.len())])
}

/// [`planes`], writable.
///
/// # Panics
///
/// If `data` is shorter than the Y and U planes.
pub(crate) fn planes_mut(data: &mut [u8], stride: usize, rows: usize) -> (&mut [u8], &mut [u8], &mut [u8]) {
    let (luma, chroma) = plane_sizes(stride, rows);
    let (y, rest) = data.split_at_mut(luma);
    let (u, v) = rest.split_at_mut(chroma);
    let n = chroma.min(v.len());
    (y, u, &mut v[..n])
}

/// A picture in I420 at its visible size: the planes, with rows of `stride`
/// bytes (luma) and `stride / 2` (chroma).
pub(crate) struct I420 {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) stride: usize,
    pub(crate) y: Vec<u8>,
    pub(crate) u: Vec<u8>,
    pub(crate) v: Vec<u8>,
}

/// Full-range BT.601: Y, and U and V about 0 (add one half, or 128), from
/// R, G and B, each row a weighted sum.
pub(crate) const RGB_TO_YUV: [[f32; 3]; 3] =
    [[0.299, 0.587, 0.114], [-0.168_736, -0.331_264, 0.5], [0.5, -0.418_688, -0.081_312]];

/// Luma (0 to 1) of a pixel's RGB (0 to 1): [`RGB_TO_YUV`]'s first row.
pub(crate) fn luma([r, g, b]: [f32; 3]) -> f32 {
    let [ky, _, _] = RGB_TO_YUV;
    ky[0] * r + ky[1] * g + ky[2] * b
}

/// `v` in 1/1024ths, rounded to the nearest.
const fn fixed(v: f64) -> i32 {
    let scaled = v * 1024.0;
    (if scaled < 0.0 { scaled - 0.5 } else { scaled + 0.5 }) as i32
}

/// [`RGB_TO_YUV`] in 1/1024ths.
const RGB_TO_YUV_FIXED: [[i32; 3]; 3] = {
    let mut out = [[0; 3]; 3];
    let mut r = 0;
    while r < 3 {
        let mut c = 0;
        while c < 3 {
            out[r][c] = fixed(RGB_TO_YUV[r][c] as f64);
            c += 1;
        }
        r += 1;
    }
    out
};

/// The inverse, in 1/1024ths, from the luma weights: R = Y + 2(1 - Kr) V,
/// B = Y + 2(1 - Kb) U, and G what keeps Y: `[V→R, U→G, V→G, U→B]` (the
/// U→G and V→G terms subtracted).
const YUV_TO_RGB_FIXED: [i32; 4] = {
    let [kr, kg, kb] = [RGB_TO_YUV[0][0] as f64, RGB_TO_YUV[0][1] as f64, RGB_TO_YUV[0][2] as f64];
    [
        fixed(2.0 * (1.0 - kr)),
        fixed(2.0 * kb * (1.0 - kb) / kg),
        fixed(2.0 * kr * (1.0 - kr) / kg),
        fixed(2.0 * (1.0 - kb)),
    ]
};

fn clamp(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// An 8-bit pixel's YUV (U and V about 128) from its RGB.
pub(crate) fn rgb_to_yuv([r, g, b]: [u8; 3]) -> [u8; 3] {
    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
    let [y, u, v] = RGB_TO_YUV_FIXED;
    [
        clamp((y[0] * r + y[1] * g + y[2] * b + 512) / 1024),
        clamp(128 + (u[0] * r + u[1] * g + u[2] * b + 512).div_euclid(1024)),
        clamp(128 + (v[0] * r + v[1] * g + v[2] * b + 512).div_euclid(1024)),
    ]
}

/// An 8-bit pixel's RGB from its YUV (U and V about 128).
pub(crate) fn yuv_to_rgb([y, u, v]: [u8; 3]) -> [u8; 3] {
    let (y, u, v) = (i32::from(y), i32::from(u) - 128, i32::from(v) - 128);
    let [vr, ug, vg, ub] = YUV_TO_RGB_FIXED;
    [clamp(y + (vr * v) / 1024), clamp(y - (ug * u + vg * v) / 1024), clamp(y + (ub * u) / 1024)]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed-point figures the conversions have always used, now
    /// derived from the one matrix.
    #[test]
    fn the_fixed_point_matrix_is_the_float_one_rounded() {
        assert_eq!(RGB_TO_YUV_FIXED, [[306, 601, 117], [-173, -339, 512], [512, -429, -83]]);
        assert_eq!(YUV_TO_RGB_FIXED, [1436, 352, 731, 1815]);
    }

    /// The scene's automatic exposure summed these literal weights before
    /// it used [`luma`]: the same figures, in the same order.
    #[test]
    fn luma_is_the_literal_weighted_sum() {
        for i in 0..=64u8 {
            let c = [f32::from(i) / 64.0, f32::from(64 - i) / 64.0, f32::from(i % 7) / 6.0];
            assert_eq!(luma(c).to_bits(), (0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]).to_bits());
        }
    }

    #[test]
    fn planes_split_at_the_aligned_sizes() {
        let mut data: Vec<u8> = (0..=255).cycle().take(64 * 32 * 3 / 2 + 7).collect();
        let (y, u, v) = planes(&data, 64, 32);
        assert_eq!((y.len(), u.len(), v.len()), (2048, 512, 512));
        assert_eq!((u[0], v[0]), (0, 0));
        let (y, u, v) = planes_mut(&mut data[..2048 + 512 + 100], 64, 32);
        assert_eq!((y.len(), u.len(), v.len()), (2048, 512, 100));
    }
}
