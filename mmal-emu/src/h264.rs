//! H.264 bitstream details the video encoder needs beyond what its codec
//! does: NAL types, the SPS rewritten to signal the profile, level and
//! timing the client set, and the motion vectors a Pi's encoder emits.
//!
//! The codec (OpenH264) writes constrained baseline: CAVLC, no B slices,
//! no interlace, one slice group. Such a stream conforms to the Main and
//! High profiles as well (both are supersets for it), so signalling them
//! is true; the High profile's SPS carries four more fields, written here
//! with their 4:2:0, 8-bit, no-scaling-matrix values. A level is signalled
//! as set when the stream fits its limits (frame size, macroblock rate,
//! bitrate), else the lowest level that fits it.

use mmal_sys as sys;

use crate::yuv::I420;

pub(crate) const NAL_SPS: u8 = 7;
pub(crate) const NAL_PPS: u8 = 8;

/// Where a NAL unit's header byte is, after its Annex B start code.
fn header_at(nal: &[u8]) -> Option<usize> {
    let zeros = nal.iter().take_while(|&&b| b == 0).count();
    (zeros >= 2 && nal.get(zeros) == Some(&1)).then_some(zeros + 1).filter(|&at| at < nal.len())
}

/// The type of a NAL unit (with its start code).
pub(crate) fn nal_type(nal: &[u8]) -> Option<u8> {
    header_at(nal).map(|at| nal[at] & 0x1f)
}

/// `profile_idc` for an `MMAL_VIDEO_PROFILE_T`, if it is an H.264 one.
pub(crate) fn profile_idc(profile: u32) -> Option<u8> {
    match profile {
        sys::MMAL_VIDEO_PROFILE_H264_BASELINE | sys::MMAL_VIDEO_PROFILE_H264_CONSTRAINED_BASELINE => Some(66),
        sys::MMAL_VIDEO_PROFILE_H264_MAIN => Some(77),
        sys::MMAL_VIDEO_PROFILE_H264_EXTENDED => Some(88),
        sys::MMAL_VIDEO_PROFILE_H264_HIGH => Some(100),
        _ => None,
    }
}

/// `level_idc` for an `MMAL_VIDEO_LEVEL_T`, if it is an H.264 one (1b is
/// signalled as 1.1, which every 1b stream fits).
pub(crate) fn level_idc(level: u32) -> Option<u8> {
    const IDC: [u8; 16] = [10, 11, 11, 12, 13, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51];
    let i = level.checked_sub(sys::MMAL_VIDEO_LEVEL_H264_1)?;
    IDC.get(i as usize).copied()
}

/// Table A-1: level_idc, MaxFS (macroblocks), MaxMBPS, MaxBR (1000 bit/s
/// for Baseline and Main; High allows 1.25 times).
const LEVELS: [(u8, u32, u32, u32); 15] = [
    (10, 99, 1_485, 64),
    (11, 396, 3_000, 192),
    (12, 396, 6_000, 384),
    (13, 396, 11_880, 768),
    (20, 396, 11_880, 2_000),
    (21, 792, 19_800, 4_000),
    (22, 1_620, 20_250, 4_000),
    (30, 1_620, 40_500, 10_000),
    (31, 3_600, 108_000, 14_000),
    (32, 5_120, 216_000, 20_000),
    (40, 8_192, 245_760, 20_000),
    (41, 8_192, 245_760, 50_000),
    (42, 8_704, 522_240, 50_000),
    (50, 22_080, 589_824, 135_000),
    (51, 36_864, 983_040, 240_000),
];

/// What the SPS should say.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpsTarget {
    /// `MMAL_VIDEO_PROFILE_T` and `MMAL_VIDEO_LEVEL_T`.
    pub(crate) profile: (u32, u32),
    /// Frames per second, for VUI timing (`SPS_TIMING`).
    pub(crate) timing: Option<f32>,
    /// Picture size in pixels.
    pub(crate) size: (usize, usize),
    pub(crate) fps: f32,
    /// Bits per second (0: unknown).
    pub(crate) bitrate: u32,
}

/// The level to signal: the one asked for if the stream fits it, else the
/// lowest that fits.
fn level_for(target: &SpsTarget, high: bool) -> u8 {
    let asked = level_idc(target.profile.1).unwrap_or(40);
    let mbs = (target.size.0.div_ceil(16) * target.size.1.div_ceil(16)) as u32;
    let mbps = (mbs as f32 * target.fps.max(1.0)).ceil() as u32;
    let factor = if high { 1250 } else { 1000 };
    let fits = |&(_, fs, rate, br): &(u8, u32, u32, u32)| {
        mbs <= fs && mbps <= rate && u64::from(target.bitrate) <= u64::from(br) * factor
    };
    match LEVELS.iter().find(|l| l.0 == asked) {
        Some(l) if fits(l) => asked,
        _ => LEVELS
            .iter()
            .find(|l| l.0 >= asked && fits(l))
            .or_else(|| LEVELS.iter().find(|l| fits(l)))
            .map_or(51, |l| l.0),
    }
}

/// Bits of an RBSP, read from the front.
struct Reader<'a> {
    data: &'a [u8],
    bit: usize,
}

impl Reader<'_> {
    fn u(&mut self, n: usize) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            let byte = *self.data.get(self.bit / 8)?;
            v = (v << 1) | u32::from((byte >> (7 - self.bit % 8)) & 1);
            self.bit += 1;
        }
        Some(v)
    }

    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.u(1)? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        Some((1u32 << zeros) - 1 + self.u(zeros)?)
    }
}

/// Bits of an RBSP, written from the front.
#[derive(Default)]
struct Writer {
    data: Vec<u8>,
    bit: usize,
}

impl Writer {
    fn u(&mut self, n: usize, v: u32) {
        for i in (0..n).rev() {
            if self.bit % 8 == 0 {
                self.data.push(0);
            }
            let last = self.data.len() - 1;
            self.data[last] |= (((v >> i) & 1) as u8) << (7 - self.bit % 8);
            self.bit += 1;
        }
    }

    fn ue(&mut self, v: u32) {
        let code = u64::from(v) + 1;
        let len = 64 - code.leading_zeros() as usize;
        self.u(len - 1, 0);
        for i in (0..len).rev() {
            self.u(1, ((code >> i) & 1) as u32);
        }
    }

    /// `rbsp_trailing_bits`.
    fn finish(mut self) -> Vec<u8> {
        self.u(1, 1);
        while self.bit % 8 != 0 {
            self.u(1, 0);
        }
        self.data
    }
}

/// The RBSP of a NAL unit's payload: emulation prevention bytes removed.
fn unescape(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len());
    let mut zeros = 0;
    for &b in payload {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// A NAL unit's payload from its RBSP: emulation prevention bytes added.
fn escape(rbsp: &[u8], out: &mut Vec<u8>) {
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
}

/// The fields of a baseline SPS between `seq_parameter_set_id` and the VUI.
struct Sps {
    id: u32,
    log2_max_frame_num_minus4: u32,
    poc_type: u32,
    log2_max_poc_lsb_minus4: u32,
    max_num_ref_frames: u32,
    gaps_allowed: u32,
    width_in_mbs_minus1: u32,
    height_in_map_units_minus1: u32,
    cropping: Option<[u32; 4]>,
}

fn parse(rbsp: &[u8]) -> Option<Sps> {
    let mut r = Reader { data: rbsp, bit: 0 };
    let profile = r.u(8)?;
    r.u(16)?; // constraint flags, level
    let id = r.ue()?;
    if profile != 66 && profile != 77 && profile != 88 {
        return None; // the codec writes baseline
    }
    let log2_max_frame_num_minus4 = r.ue()?;
    let poc_type = r.ue()?;
    let log2_max_poc_lsb_minus4 = match poc_type {
        0 => r.ue()?,
        2 => 0,
        _ => return None,
    };
    let max_num_ref_frames = r.ue()?;
    let gaps_allowed = r.u(1)?;
    let width_in_mbs_minus1 = r.ue()?;
    let height_in_map_units_minus1 = r.ue()?;
    if r.u(1)? != 1 {
        return None; // frame_mbs_only_flag: progressive only
    }
    r.u(1)?; // direct_8x8_inference_flag
    let cropping = if r.u(1)? == 1 { Some([r.ue()?, r.ue()?, r.ue()?, r.ue()?]) } else { None };
    let _vui = r.u(1)?;
    Some(Sps {
        id,
        log2_max_frame_num_minus4,
        poc_type,
        log2_max_poc_lsb_minus4,
        max_num_ref_frames,
        gaps_allowed,
        width_in_mbs_minus1,
        height_in_map_units_minus1,
        cropping,
    })
}

/// `nal` (an SPS with its start code) rewritten for `target`; unchanged
/// (and logged) if it is not one this module reads.
pub(crate) fn rewrite_sps(nal: &[u8], target: &SpsTarget) -> Vec<u8> {
    let Some(at) = header_at(nal) else { return nal.to_vec() };
    let Some(sps) = parse(&unescape(&nal[at + 1..])) else {
        log::warn!("vc.ril.video_encode: an SPS this encoder does not read; sent as the codec wrote it");
        return nal.to_vec();
    };
    let profile = profile_idc(target.profile.0).unwrap_or(100);
    let high = profile == 100;
    let mut w = Writer::default();
    w.u(8, u32::from(profile));
    // constraint_set0..2: the stream also conforms to Baseline, Main and
    // Extended where those are signalled; set1 alone for Main.
    let constraints = match profile {
        66 => 0b1100_0000,
        77 => 0b0100_0000,
        88 => 0b1110_0000,
        _ => 0,
    };
    w.u(8, constraints);
    w.u(8, u32::from(level_for(target, high)));
    w.ue(sps.id);
    if high {
        w.ue(1); // chroma_format_idc: 4:2:0
        w.ue(0); // bit_depth_luma_minus8
        w.ue(0); // bit_depth_chroma_minus8
        w.u(1, 0); // qpprime_y_zero_transform_bypass_flag
        w.u(1, 0); // seq_scaling_matrix_present_flag
    }
    w.ue(sps.log2_max_frame_num_minus4);
    w.ue(sps.poc_type);
    if sps.poc_type == 0 {
        w.ue(sps.log2_max_poc_lsb_minus4);
    }
    w.ue(sps.max_num_ref_frames);
    w.u(1, sps.gaps_allowed);
    w.ue(sps.width_in_mbs_minus1);
    w.ue(sps.height_in_map_units_minus1);
    w.u(1, 1); // frame_mbs_only_flag
               // 1 whatever the codec wrote: Main and High from level 3, and Extended,
               // require it, and with no B slices it changes nothing.
    w.u(1, 1); // direct_8x8_inference_flag
    match sps.cropping {
        Some(c) => {
            w.u(1, 1);
            c.iter().for_each(|&v| w.ue(v));
        }
        None => w.u(1, 0),
    }
    w.u(1, 1); // vui_parameters_present_flag
    w.u(4, 0); // aspect ratio, overscan, video signal type, chroma location: absent
    match target.timing {
        Some(fps) => {
            w.u(1, 1); // timing_info_present_flag
                       // A frame is two ticks (a field each).
            let (units, scale) = (1000u32, (fps * 2000.0).round() as u32);
            w.u(32, units);
            w.u(32, scale);
            w.u(1, 1); // fixed_frame_rate_flag
        }
        None => w.u(1, 0),
    }
    w.u(1, 0); // nal_hrd_parameters_present_flag
    w.u(1, 0); // vcl_hrd_parameters_present_flag
    w.u(1, 0); // pic_struct_present_flag
               // Frames come out in the order they go in: a decoder need not wait.
    w.u(1, 1); // bitstream_restriction_flag
    w.u(1, 1); // motion_vectors_over_pic_boundaries_flag
    w.ue(2); // max_bytes_per_pic_denom (the default)
    w.ue(1); // max_bits_per_mb_denom (the default)
    w.ue(15); // log2_max_mv_length_horizontal (the default)
    w.ue(15); // log2_max_mv_length_vertical
    w.ue(0); // max_num_reorder_frames
    w.ue(sps.max_num_ref_frames.max(1)); // max_dec_frame_buffering
    let mut out = nal[..=at].to_vec();
    escape(&w.finish(), &mut out);
    out
}

/// Motion vectors as a Pi's encoder sends them after each frame: for each
/// macroblock row, one record per macroblock and one more, each `x` and
/// `y` (i8, pixels) and `sad` (u16, the match's sum of absolute
/// differences). Found by a small search against the previous frame's
/// luma (`previous`, rows of the picture's width; empty for the first).
pub(crate) fn motion_vectors(picture: &I420, previous: &[u8]) -> Vec<u8> {
    const LARGE_DIAMOND: [(i32, i32); 8] = [(0, -2), (1, -1), (2, 0), (1, 1), (0, 2), (-1, 1), (-2, 0), (-1, -1)];
    const SMALL_DIAMOND: [(i32, i32); 4] = [(0, -1), (1, 0), (0, 1), (-1, 0)];
    const RANGE: i32 = 8;
    const STEP: usize = 2;
    let (w, h, s) = (picture.width, picture.height, picture.stride);
    let (cols, rows) = (w.div_ceil(16), h.div_ceil(16));
    let mut out = Vec::with_capacity(rows * (cols + 1) * 4);
    let luma = |x: usize, y: usize| i32::from(picture.y[y.min(h - 1) * s + x.min(w - 1)]);
    let before = |x: i32, y: i32| {
        let (x, y) = (x.clamp(0, w as i32 - 1) as usize, y.clamp(0, h as i32 - 1) as usize);
        i32::from(previous[y * w + x])
    };
    for my in 0..rows {
        for mx in 0..=cols {
            if mx == cols || previous.len() != w * h {
                out.extend_from_slice(&[0, 0, 0, 0]);
                continue;
            }
            let (x0, y0) = (mx * 16, my * 16);
            let sad = |dx: i32, dy: i32| -> u32 {
                let mut sum = 0u32;
                for y in (0..16).step_by(STEP) {
                    for x in (0..16).step_by(STEP) {
                        let now = luma(x0 + x, y0 + y);
                        let then = before((x0 + x) as i32 + dx, (y0 + y) as i32 + dy);
                        sum += now.abs_diff(then);
                    }
                }
                sum * (STEP * STEP) as u32
            };
            // A diamond search: the large diamond moves while a neighbour
            // matches better, then the small one settles it; a few dozen
            // candidates where a full search of the range takes hundreds.
            let mut best = (0, 0, sad(0, 0));
            for pattern in [&LARGE_DIAMOND[..], &SMALL_DIAMOND[..]] {
                for _ in 0..RANGE {
                    let centre = best;
                    for &(px, py) in pattern {
                        let (dx, dy) = (centre.0 + px, centre.1 + py);
                        if dx.abs() > RANGE || dy.abs() > RANGE {
                            continue;
                        }
                        let cost = sad(dx, dy);
                        if cost < best.2 {
                            best = (dx, dy, cost);
                        }
                    }
                    if best == centre || pattern.len() == SMALL_DIAMOND.len() {
                        break;
                    }
                }
            }
            out.extend_from_slice(&[best.0 as i8 as u8, best.1 as i8 as u8]);
            out.extend_from_slice(&(best.2.min(u32::from(u16::MAX)) as u16).to_le_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_codes_round_trip() {
        let mut w = Writer::default();
        for v in [0, 1, 2, 3, 7, 8, 254, 255, 65_535] {
            w.ue(v);
        }
        let data = w.finish();
        let mut r = Reader { data: &data, bit: 0 };
        for v in [0, 1, 2, 3, 7, 8, 254, 255, 65_535] {
            assert_eq!(r.ue(), Some(v));
        }
        // Known codes: 0 is "1", 1 is "010", 2 is "011".
        let mut w = Writer::default();
        w.ue(0);
        w.ue(1);
        w.ue(2);
        assert_eq!(w.finish(), vec![0b1010_0111], "1, 010, 011, then the stop bit");
    }

    #[test]
    fn emulation_prevention_round_trips() {
        let rbsp = [0, 0, 0, 1, 0, 0, 3, 5, 0, 0, 2];
        let mut nal = Vec::new();
        escape(&rbsp, &mut nal);
        assert_eq!(nal, [0, 0, 3, 0, 1, 0, 0, 3, 3, 5, 0, 0, 3, 2]);
        assert_eq!(unescape(&nal), rbsp);
    }

    /// Reads a rewritten High-profile SPS to its end: every field where
    /// the syntax puts it, then exactly the stop bit.
    #[test]
    fn a_rewritten_sps_reads_back_to_its_stop_bit() {
        // A baseline SPS as the codec writes one: 640x480 (40x30 macroblocks).
        let mut w = Writer::default();
        w.u(8, 66);
        w.u(8, 0xc0);
        w.u(8, 30);
        w.ue(0); // id
        w.ue(0); // log2_max_frame_num_minus4
        w.ue(2); // poc type 2
        w.ue(1); // max_num_ref_frames
        w.u(1, 0);
        w.ue(39);
        w.ue(29);
        w.u(1, 1); // frame_mbs_only_flag
        w.u(1, 0); // direct_8x8_inference_flag
        w.u(1, 0); // no cropping
        w.u(1, 0); // no VUI
        let mut nal = vec![0, 0, 0, 1, 0x67];
        escape(&w.finish(), &mut nal);
        for timing in [None, Some(25.0)] {
            let target = SpsTarget {
                profile: (sys::MMAL_VIDEO_PROFILE_H264_HIGH, sys::MMAL_VIDEO_LEVEL_H264_31),
                timing,
                size: (640, 480),
                fps: 25.0,
                bitrate: 2_000_000,
            };
            let out = rewrite_sps(&nal, &target);
            assert_eq!(out[..5], nal[..5]);
            let rbsp = unescape(&out[5..]);
            let mut r = Reader { data: &rbsp, bit: 0 };
            assert_eq!((r.u(8), r.u(8), r.u(8)), (Some(100), Some(0), Some(31)), "High, level 3.1");
            assert_eq!(r.ue(), Some(0));
            assert_eq!((r.ue(), r.ue(), r.ue(), r.u(1)), (Some(1), Some(0), Some(0), Some(0)), "4:2:0, 8 bits");
            assert_eq!(r.u(1), Some(0), "no scaling matrix");
            assert_eq!((r.ue(), r.ue(), r.ue(), r.u(1)), (Some(0), Some(2), Some(1), Some(0)));
            assert_eq!((r.ue(), r.ue()), (Some(39), Some(29)));
            assert_eq!((r.u(1), r.u(1), r.u(1)), (Some(1), Some(1), Some(0)), "frame MBs, direct 8x8, no crop");
            assert_eq!(r.u(1), Some(1), "VUI");
            assert_eq!(r.u(4), Some(0));
            if timing.is_some() {
                assert_eq!((r.u(1), r.u(32), r.u(32), r.u(1)), (Some(1), Some(1000), Some(50_000), Some(1)));
            } else {
                assert_eq!(r.u(1), Some(0));
            }
            assert_eq!((r.u(1), r.u(1), r.u(1)), (Some(0), Some(0), Some(0)), "no HRD, no pic_struct");
            assert_eq!((r.u(1), r.u(1)), (Some(1), Some(1)), "bitstream restriction");
            let restriction: Vec<_> = (0..6).map(|_| r.ue()).collect();
            assert_eq!(restriction, [Some(2), Some(1), Some(15), Some(15), Some(0), Some(1)]);
            // rbsp_trailing_bits: a 1, then zeros to the end of the byte,
            // and nothing after.
            assert_eq!(r.u(1), Some(1), "the stop bit");
            while r.bit % 8 != 0 {
                assert_eq!(r.u(1), Some(0));
            }
            assert_eq!(r.bit, rbsp.len() * 8, "nothing after the trailing bits");
        }
    }

    #[test]
    fn motion_vectors_find_a_picture_moved_by_a_few_pixels() {
        let (w, h) = (128usize, 96usize);
        // Smooth texture: the search's cost falls towards the true motion.
        let texture = |x: i32, y: i32| {
            let (x, y) = (f64::from(x), f64::from(y));
            (128.0 + 60.0 * (x / 9.0).sin() + 50.0 * (y / 7.0).cos()) as u8
        };
        let previous: Vec<u8> = (0..h * w).map(|i| texture((i % w) as i32, (i / w) as i32)).collect();
        // The content moved 4 right and 2 up: what is at (x, y) now was at
        // (x - 4, y + 2).
        let y: Vec<u8> = (0..h * w).map(|i| texture((i % w) as i32 - 4, (i / w) as i32 + 2)).collect();
        let picture = I420 { width: w, height: h, stride: w, y, u: vec![128; w * h / 4], v: vec![128; w * h / 4] };
        let out = motion_vectors(&picture, &previous);
        let (cols, rows) = (w / 16 + 1, h / 16);
        assert_eq!(out.len(), cols * rows * 4);
        // Interior macroblocks (away from the clamped edges).
        for my in 1..rows - 1 {
            for mx in 1..cols - 2 {
                let at = (my * cols + mx) * 4;
                assert_eq!((out[at] as i8, out[at + 1] as i8), (-4, 2), "macroblock ({mx}, {my})");
                assert_eq!(u16::from_le_bytes([out[at + 2], out[at + 3]]), 0, "an exact match");
            }
        }
        // The extra column is zero; with no previous picture, all are.
        assert_eq!(&out[(cols - 1) * 4..cols * 4], &[0, 0, 0, 0]);
        assert!(motion_vectors(&picture, &[]).iter().all(|&b| b == 0));
    }

    #[test]
    fn levels_are_kept_when_the_stream_fits_and_raised_when_not() {
        let t = |size, fps, bitrate| SpsTarget {
            profile: (sys::MMAL_VIDEO_PROFILE_H264_HIGH, sys::MMAL_VIDEO_LEVEL_H264_4),
            timing: None,
            size,
            fps,
            bitrate,
        };
        assert_eq!(level_for(&t((1920, 1080), 30.0, 17_000_000), true), 40);
        // 25 Mbit/s is past level 4's 20 (x1.25 for High): 4.1.
        assert_eq!(level_for(&t((1920, 1080), 30.0, 30_000_000), true), 41);
        // 1080p at 60 is past level 4's macroblock rate: 4.2.
        assert_eq!(level_for(&t((1920, 1080), 60.0, 17_000_000), true), 42);
        assert_eq!(level_idc(sys::MMAL_VIDEO_LEVEL_H264_31), Some(31));
        assert_eq!(level_idc(sys::MMAL_VIDEO_LEVEL_H264_51), Some(51));
        assert_eq!(level_idc(3), None);
    }
}
