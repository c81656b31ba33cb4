//! `vc.ril.video_encode`: pictures in (I420, RGB or BGR, or the camera's
//! OPAQUE images), H.264 or MJPEG out, one frame per input buffer.
//!
//! H.264 comes from OpenH264 (constrained baseline; the SPS is rewritten to
//! signal the profile and level set, which such a stream conforms to, see
//! [`crate::h264`]). What goes out is what a Pi's encoder sends:
//!
//! * the SPS and PPS in a buffer of their own flagged `CONFIG` (at the
//!   start, before every IDR with `VIDEO_ENCODE_INLINE_HEADER`, and after a
//!   change of picture size), then each frame with `FRAME_END` and
//!   `NAL_END` (`KEYFRAME` on IDRs), and with `VIDEO_ENCODE_INLINE_VECTORS`
//!   a buffer of motion vectors after each frame, flagged `CODECSIDEINFO`;
//! * header and vector buffers end with `FRAME_END` too: picamera counts
//!   each as a frame of its own (its `PiVideoFrame.index` documents this)
//!   and its circular stream keeps only frames so ended, the headers among
//!   them as split points;
//! * a part larger than a buffer goes out over several, each with the
//!   part's kind (`CONFIG`, `KEYFRAME`, `CODECSIDEINFO`), the last with
//!   `FRAME_END`; an input flagged `EOS` ends the output with an empty
//!   buffer flagged `EOS`.
//!
//! The input's timestamps are carried through. The rate follows
//! `format->bitrate` or `VIDEO_BIT_RATE`, also while running (0: a
//! constant quantiser, `VIDEO_ENCODE_INITIAL_QUANT` or `MIN_QUANT` within
//! `MAX_QUANT`); `INTRAPERIOD` sets the distance between IDRs and
//! `VIDEO_REQUEST_I_FRAME` makes the next frame one. The output takes the
//! input's size: a new one while it runs brings `FORMAT_CHANGED`. One
//! picture is encoded at a time, the next only once the last went out, so
//! a reader that does not give buffers back holds the encoder (and the
//! camera, which then drops frames) back, as on a Pi. H.264 is refused
//! (EINVAL, at enable) beyond a Pi encoder's 1920 pixels of width.
//!
//! MJPEG is one baseline JPEG per frame (`jpeg-encoder`), each a keyframe,
//! at the quality set (`VIDEO_ENCODE_INITIAL_QUANT` or `MIN_QUANT`, 1 to
//! 100: picamera's `quality`), else with its quality moved frame by frame
//! towards the bitrate.

use std::sync::Arc;

use parking_lot::Mutex;

use mmal_sys as sys;
use sys::param::ParameterStruct;

use super::{Component, Encode, Encoded, PortId, Processor, Requirements};
use crate::core::params::{read, read_bool, read_u32, reply, reply_bool, reply_u32};
use crate::format::{VideoFormat, VIDEO_ENCODINGS};
use crate::objects::{BufPtr, Status};
use crate::yuv::I420;

const OUTPUT_ENCODINGS: [u32; 2] = [sys::MMAL_ENCODING_H264, sys::MMAL_ENCODING_MJPEG];

/// Output buffers: as the firmware recommends for a 1080p stream.
const OUTPUT_REQUIREMENTS: Requirements = [1, 64 << 10, 3, 256 << 10];

/// The firmware's defaults: High profile, level 4, an IDR every 60 frames.
const DEFAULT_PROFILE: (u32, u32) = (sys::MMAL_VIDEO_PROFILE_H264_HIGH, sys::MMAL_VIDEO_LEVEL_H264_4);
const DEFAULT_INTRA_PERIOD: u32 = 60;

/// The largest H.264 pictures: a Pi's encoder is 1920 pixels wide at most
/// (picamera's documentation), and its highest level, 4.2, allows 8704
/// macroblocks a frame.
pub(crate) const H264_MAX_WIDTH: u32 = 1920;
pub(crate) const H264_MAX_MACROBLOCKS: u32 = 8704;

fn fits_h264(w: u32, h: u32) -> bool {
    w <= H264_MAX_WIDTH && w.div_ceil(16) * h.div_ceil(16) <= H264_MAX_MACROBLOCKS
}

/// Quantiser when there is no bitrate to aim for and none is set.
const DEFAULT_QUANT: u32 = 26;

/// How the encoder is set up: what the client set, copied to the encoding
/// work as it changes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub(crate) input: VideoFormat,
    pub(crate) output: VideoFormat,
    /// Bits per second; 0 for a constant quantiser.
    pub(crate) bitrate: u32,
    pub(crate) profile: (u32, u32),
    pub(crate) intra_period: u32,
    pub(crate) inline_headers: bool,
    pub(crate) sps_timing: bool,
    pub(crate) inline_vectors: bool,
    /// `VIDEO_ENCODE_MIN_QUANT`, `MAX_QUANT`, `INITIAL_QUANT` (0: unset).
    pub(crate) quant: (u32, u32, u32),
    pub(crate) immutable_input: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            input: VideoFormat::default(),
            output: VideoFormat { encoding: sys::MMAL_ENCODING_H264, ..VideoFormat::default() },
            bitrate: 0,
            profile: DEFAULT_PROFILE,
            intra_period: DEFAULT_INTRA_PERIOD,
            inline_headers: false,
            sps_timing: false,
            inline_vectors: false,
            quant: (0, 0, 0),
            immutable_input: false,
        }
    }
}

impl Settings {
    /// Frames per second the formats name (0: neither does).
    fn fps(&self) -> f32 {
        self.input.fps().max(self.output.fps())
    }

    /// The rate to encode for: the formats', else 30.
    fn rate(&self) -> f32 {
        let fps = self.fps();
        if fps > 0.0 {
            fps
        } else {
            30.0
        }
    }

    /// The quantiser set (for MJPEG, the JPEG quality): `INITIAL_QUANT`,
    /// else `MIN_QUANT`.
    fn quant_set(&self) -> Option<u32> {
        [self.quant.2, self.quant.0].into_iter().find(|&q| q > 0)
    }
}

pub(crate) struct VideoEncode {
    settings: Settings,
    /// Kept and read back, not acted on: `VIDEO_ENCODE_SEI_ENABLE` (the
    /// stream carries no SEI) and `VIDEO_INTRA_REFRESH` (refreshes come
    /// as whole IDR frames).
    sei: bool,
    intra_refresh: sys::MMAL_PARAMETER_VIDEO_INTRA_REFRESH_T,
    /// Streams begun (output enables): what a picture was encoded for.
    streams: u64,
    /// The stream being encoded: its state lives as long as the output
    /// stays enabled, and starts over (headers, an IDR) when it is enabled
    /// again.
    stream: Arc<Stream>,
}

impl VideoEncode {
    pub(crate) fn new() -> VideoEncode {
        let mut intra_refresh =
            sys::MMAL_PARAMETER_VIDEO_INTRA_REFRESH_T::with_id(sys::MMAL_PARAMETER_VIDEO_INTRA_REFRESH);
        intra_refresh.refresh_mode = sys::MMAL_VIDEO_INTRA_REFRESH_CYCLIC;
        VideoEncode {
            settings: Settings::default(),
            sei: false,
            intra_refresh,
            streams: 0,
            stream: Arc::new(Stream::default()),
        }
    }

    /// Hands the current settings to the encoding work.
    fn publish(&self) {
        self.stream.state.lock().settings = self.settings.clone();
    }
}

impl Component for VideoEncode {
    fn ports(&self) -> (usize, usize) {
        (1, 1)
    }

    fn encodings(&self, port: PortId) -> &'static [u32] {
        if port.is_output() {
            &OUTPUT_ENCODINGS
        } else {
            &VIDEO_ENCODINGS
        }
    }

    fn commit(&mut self, port: PortId, format: &VideoFormat) -> Result<Requirements, Status> {
        if port.is_output() {
            if !OUTPUT_ENCODINGS.contains(&format.encoding) {
                log::error!("vc.ril.video_encode: the output takes H264 or MJPG");
                return Err(sys::MMAL_EINVAL);
            }
            self.settings.output = *format;
            self.settings.bitrate = format.bitrate;
            self.publish();
            return Ok(OUTPUT_REQUIREMENTS);
        }
        let (w, h) = format.visible();
        if w % 2 != 0 || h % 2 != 0 || w < 16 || h < 16 {
            log::error!("vc.ril.video_encode: a {w}x{h} picture: the encoder takes even sizes of 16 and up");
            return Err(sys::MMAL_EINVAL);
        }
        self.settings.input = *format;
        self.publish();
        let size = format.frame_size() as u32;
        Ok([1, size, 1, size])
    }

    fn output_for_input(&self, _output: PortId, input: &VideoFormat, current: &VideoFormat) -> Option<VideoFormat> {
        // The stream is the input's size, at its rate: the output follows
        // (a tunnelled camera changing mode changes the stream).
        let mut f = *current;
        (f.width, f.height, f.crop) = (input.width, input.height, input.crop);
        // The rate the encoder runs at, `VIDEO_BIT_RATE` included.
        f.bitrate = self.settings.bitrate;
        if input.fps() > 0.0 {
            f.frame_rate = input.frame_rate;
        }
        Some(f)
    }

    fn port_enabling(&mut self, port: PortId, _format: &VideoFormat) -> Result<(), Status> {
        let (w, h) = self.settings.input.visible();
        if port.is_output() && self.settings.output.encoding == sys::MMAL_ENCODING_H264 && !fits_h264(w, h) {
            log::error!(
                "mmal_vc_port_enable: vc.ril.video_encode: H.264 of {w}x{h}: the encoder takes widths up to \
                 {H264_MAX_WIDTH} and {H264_MAX_MACROBLOCKS} macroblocks (1920x1080 fits); EINVAL"
            );
            return Err(sys::MMAL_EINVAL);
        }
        if port.is_output() {
            // A new recording: headers first, then an IDR.
            self.stream = Arc::new(Stream::default());
            self.streams += 1;
            self.publish();
        }
        Ok(())
    }

    fn set_parameter(&mut self, port: PortId, id: u32, data: &[u8], _enabled: bool) -> Result<(), Status> {
        let s = &mut self.settings;
        match id {
            // Asked for on the control port (picamera) or the output
            // (raspivid): the next frame the encoder takes is an IDR.
            sys::MMAL_PARAMETER_VIDEO_REQUEST_I_FRAME if port.is_control() || port.is_output() => {
                if read_bool(data)? {
                    self.stream.state.lock().request_idr = true;
                }
                return Ok(());
            }
            _ if port.is_control() => return Err(sys::MMAL_ENOSYS),
            sys::MMAL_PARAMETER_VIDEO_IMMUTABLE_INPUT if !port.is_output() => s.immutable_input = read_bool(data)?,
            _ if !port.is_output() => return Err(sys::MMAL_ENOSYS),
            sys::MMAL_PARAMETER_PROFILE => {
                let p = read::<sys::MMAL_PARAMETER_VIDEO_PROFILE_T>(data)?.profile[0];
                if crate::h264::profile_idc(p.profile).is_none() || crate::h264::level_idc(p.level).is_none() {
                    log::error!("vc.ril.video_encode: profile {} level {} is not an H.264 one", p.profile, p.level);
                    return Err(sys::MMAL_EINVAL);
                }
                s.profile = (p.profile, p.level);
            }
            sys::MMAL_PARAMETER_INTRAPERIOD => s.intra_period = read_u32(data)?,
            sys::MMAL_PARAMETER_VIDEO_ENCODE_INLINE_HEADER => s.inline_headers = read_bool(data)?,
            sys::MMAL_PARAMETER_VIDEO_ENCODE_SPS_TIMING => s.sps_timing = read_bool(data)?,
            sys::MMAL_PARAMETER_VIDEO_ENCODE_INLINE_VECTORS => s.inline_vectors = read_bool(data)?,
            sys::MMAL_PARAMETER_VIDEO_BIT_RATE => s.bitrate = read_u32(data)?,
            sys::MMAL_PARAMETER_VIDEO_ENCODE_MIN_QUANT
            | sys::MMAL_PARAMETER_VIDEO_ENCODE_MAX_QUANT
            | sys::MMAL_PARAMETER_VIDEO_ENCODE_INITIAL_QUANT => {
                let q = read_u32(data)?;
                // MJPEG takes a JPEG quality here (picamera's `quality`).
                let (limit, what) = if s.output.encoding == sys::MMAL_ENCODING_MJPEG {
                    (100, "an MJPEG quality: MJPEG takes 1 to 100")
                } else {
                    (51, "a quantiser: H.264 takes 0 to 51")
                };
                if q > limit {
                    log::error!("vc.ril.video_encode: {q} as {what}");
                    return Err(sys::MMAL_EINVAL);
                }
                match id {
                    sys::MMAL_PARAMETER_VIDEO_ENCODE_MIN_QUANT => s.quant.0 = q,
                    sys::MMAL_PARAMETER_VIDEO_ENCODE_MAX_QUANT => s.quant.1 = q,
                    _ => s.quant.2 = q,
                }
            }
            sys::MMAL_PARAMETER_VIDEO_ENCODE_SEI_ENABLE => {
                self.sei = read_bool(data)?;
                return Ok(());
            }
            sys::MMAL_PARAMETER_VIDEO_INTRA_REFRESH => {
                let p = read::<sys::MMAL_PARAMETER_VIDEO_INTRA_REFRESH_T>(data)?;
                self.intra_refresh = sys::MMAL_PARAMETER_VIDEO_INTRA_REFRESH_T { hdr: self.intra_refresh.hdr, ..p };
                return Ok(());
            }
            _ => return Err(sys::MMAL_ENOSYS),
        }
        self.publish();
        Ok(())
    }

    fn get_parameter(&self, port: PortId, id: u32, out: &mut [u8]) -> Result<usize, Status> {
        let s = &self.settings;
        if !port.is_output() {
            return match id {
                sys::MMAL_PARAMETER_VIDEO_IMMUTABLE_INPUT if !port.is_control() => {
                    Ok(reply_bool(out, id, s.immutable_input))
                }
                _ => Err(sys::MMAL_ENOSYS),
            };
        }
        let n = match id {
            sys::MMAL_PARAMETER_PROFILE => {
                let mut p = sys::MMAL_PARAMETER_VIDEO_PROFILE_T::with_id(id);
                p.profile[0] = sys::MMAL_PARAMETER_VIDEO_PROFILE_ENTRY_T { profile: s.profile.0, level: s.profile.1 };
                reply(out, &p)
            }
            sys::MMAL_PARAMETER_INTRAPERIOD => reply_u32(out, id, s.intra_period),
            sys::MMAL_PARAMETER_VIDEO_ENCODE_INLINE_HEADER => reply_bool(out, id, s.inline_headers),
            sys::MMAL_PARAMETER_VIDEO_ENCODE_SPS_TIMING => reply_bool(out, id, s.sps_timing),
            sys::MMAL_PARAMETER_VIDEO_ENCODE_INLINE_VECTORS => reply_bool(out, id, s.inline_vectors),
            sys::MMAL_PARAMETER_VIDEO_BIT_RATE => reply_u32(out, id, s.bitrate),
            sys::MMAL_PARAMETER_VIDEO_ENCODE_MIN_QUANT => reply_u32(out, id, s.quant.0),
            sys::MMAL_PARAMETER_VIDEO_ENCODE_MAX_QUANT => reply_u32(out, id, s.quant.1),
            sys::MMAL_PARAMETER_VIDEO_ENCODE_INITIAL_QUANT => reply_u32(out, id, s.quant.2),
            sys::MMAL_PARAMETER_VIDEO_ENCODE_SEI_ENABLE => reply_bool(out, id, self.sei),
            sys::MMAL_PARAMETER_VIDEO_INTRA_REFRESH => reply(out, &self.intra_refresh),
            _ => return Err(sys::MMAL_ENOSYS),
        };
        Ok(n)
    }

    fn processor(&self) -> Option<Processor> {
        Some(Processor::Encoder(self.stream.clone()))
    }

    fn output_stream(&self) -> u64 {
        self.streams
    }
}

/// One recording: the encoder and where it is in the stream.
#[derive(Default)]
struct Stream {
    state: Mutex<StreamState>,
}

#[derive(Default)]
struct StreamState {
    settings: Settings,
    /// The H.264 encoder and the settings it was made with.
    h264: Option<(openh264::encoder::Encoder, Settings)>,
    /// Frames since the last IDR (the intra period counts from it).
    since_idr: u32,
    /// Whether the stream's headers went out.
    headers_sent: bool,
    /// The picture size the headers sent describe.
    headers_size: (usize, usize),
    /// The last SPS and PPS, for IDRs the codec sends without them.
    headers: Vec<u8>,
    request_idr: bool,
    /// MJPEG's rate-controlled quality, once a bitrate applies.
    mjpeg_quality: Option<u8>,
    /// The previous frame's luma, for motion vectors.
    previous: Vec<u8>,
}

impl Encode for Stream {
    fn encode(&self, input: BufPtr) -> Option<Encoded> {
        let mut st = self.state.lock();
        let pts = input.pts();
        let settings = st.settings.clone();
        let mut parts = Vec::new();
        if input.length() > 0 {
            match crate::convert::to_i420(input, &settings.input) {
                Some(picture) => {
                    let encoded = match settings.output.encoding {
                        sys::MMAL_ENCODING_MJPEG => {
                            let quality = st.mjpeg_quality(&settings);
                            let jpeg = mjpeg(&picture, quality);
                            if let Some(jpeg) = &jpeg {
                                st.mjpeg_sent(&settings, jpeg.len());
                            }
                            jpeg.map(|jpeg| vec![(jpeg, FRAME | sys::MMAL_BUFFER_HEADER_FLAG_KEYFRAME)])
                        }
                        _ => st.h264(&settings, &picture),
                    };
                    parts = encoded.unwrap_or_default();
                }
                None => {
                    let (w, h) = settings.input.visible();
                    log::error!(
                        "vc.ril.video_encode: an input buffer of {} bytes does not hold a {w}x{h} picture \
                         ({} bytes): dropped",
                        input.length(),
                        settings.input.frame_size()
                    );
                }
            }
        }
        // The end of the stream goes on, after the last frame.
        if input.flags() & sys::MMAL_BUFFER_HEADER_FLAG_EOS != 0 {
            parts.push((Vec::new(), sys::MMAL_BUFFER_HEADER_FLAG_EOS));
        }
        (!parts.is_empty()).then_some(Encoded { parts, pts })
    }
}

/// Flags of a whole frame in one buffer.
const FRAME: u32 = sys::MMAL_BUFFER_HEADER_FLAG_FRAME_END | sys::MMAL_BUFFER_HEADER_FLAG_NAL_END;

fn mjpeg(p: &I420, quality: u8) -> Option<Vec<u8>> {
    // jpeg-encoder takes packed pixels: YCbCr rows without padding.
    let mut ycbcr = Vec::with_capacity(p.width * p.height * 3);
    for y in 0..p.height {
        for x in 0..p.width {
            let c = (y / 2) * (p.stride / 2) + x / 2;
            ycbcr.extend_from_slice(&[p.y[y * p.stride + x], p.u[c], p.v[c]]);
        }
    }
    let mut data = Vec::with_capacity(ycbcr.len() / 10);
    let encoder = jpeg_encoder::Encoder::new(&mut data, quality);
    match encoder.encode(&ycbcr, p.width as u16, p.height as u16, jpeg_encoder::ColorType::Ycbcr) {
        Ok(()) => Some(data),
        Err(e) => {
            log::error!("vc.ril.video_encode: MJPEG: {e}");
            None
        }
    }
}

/// What the codec is made with: frame rate, quantisers, and whether it
/// aims for a bitrate. Other settings (profile, intra period, headers,
/// vectors, the bitrate's value) apply to a running codec.
fn codec_key(s: &Settings) -> (u32, (u32, u32, u32), bool) {
    (s.fps().to_bits(), s.quant, s.bitrate > 0)
}

/// MJPEG's quality when neither a quality nor a bitrate says otherwise, and
/// where its rate control starts.
const MJPEG_QUALITY: u8 = 85;

impl StreamState {
    /// The JPEG quality of the next MJPEG frame: the one set (`INITIAL_QUANT`
    /// or `MIN_QUANT`, 1 to 100), else the rate control's.
    fn mjpeg_quality(&mut self, settings: &Settings) -> u8 {
        match settings.quant_set() {
            Some(q) => q.clamp(1, 100) as u8,
            None if settings.bitrate > 0 => *self.mjpeg_quality.get_or_insert(MJPEG_QUALITY),
            None => MJPEG_QUALITY,
        }
    }

    /// Rate control for MJPEG: each frame's size against the bitrate's
    /// share of it moves the quality a step (10 to 95).
    fn mjpeg_sent(&mut self, settings: &Settings, bytes: usize) {
        let Some(q) = self.mjpeg_quality.as_mut() else { return };
        let target = f64::from(settings.bitrate) / 8.0 / f64::from(settings.rate());
        let ratio = bytes as f64 / target;
        if ratio > 1.1 {
            *q = q.saturating_sub(if ratio > 1.5 { 5 } else { 1 }).max(10);
        } else if ratio < 0.9 {
            *q = (*q + if ratio < 0.5 { 5 } else { 1 }).min(95);
        }
    }

    /// The buffers one picture makes: headers when due, the frame, and
    /// motion vectors when asked for.
    fn h264(&mut self, settings: &Settings, picture: &I420) -> Option<Vec<(Vec<u8>, u32)>> {
        use openh264::encoder::{BitRate, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, QpRange};
        use openh264::encoder::{RateControlMode, UsageType};
        use openh264::formats::YUVSlices;
        use openh264::OpenH264API;

        // Made anew when what it was made with changes (the next frame is
        // then an IDR, as the firmware's after a reconfiguration); a new
        // bitrate is taken as it runs, as the firmware takes it.
        if let Some((encoder, made)) = self.h264.as_mut() {
            if codec_key(made) == codec_key(settings) && made.bitrate != settings.bitrate {
                codec::set_bitrate(encoder, settings.bitrate);
                made.bitrate = settings.bitrate;
            }
        }
        if self.h264.as_ref().is_none_or(|(_, made)| codec_key(made) != codec_key(settings)) {
            let (min_q, max_q, _) = settings.quant;
            let mut config = EncoderConfig::new()
                .usage_type(UsageType::CameraVideoRealTime)
                .max_frame_rate(FrameRate::from_hz(settings.rate()))
                .skip_frames(false)
                .num_threads(1)
                .intra_frame_period(IntraFramePeriod::from_num_frames(0))
                .scene_change_detect(false)
                .background_detection(false);
            if settings.bitrate > 0 {
                let (lo, hi) = (min_q.min(51) as u8, if max_q > 0 { max_q.min(51) as u8 } else { 51 });
                config = config
                    .rate_control_mode(RateControlMode::Bitrate)
                    .bitrate(BitRate::from_bps(settings.bitrate))
                    .qp(QpRange::new(lo.min(hi), hi));
            } else {
                // The initial quantiser (else the minimum, else 26), within
                // the limits set.
                let q = settings.quant_set().unwrap_or(DEFAULT_QUANT);
                let q = q.max(min_q).min(if max_q > 0 { max_q } else { 51 }).min(51) as u8;
                config = config.rate_control_mode(RateControlMode::Off).qp(QpRange::new(q, q));
            }
            let mut encoder = match Encoder::with_api_config(OpenH264API::from_source(), config) {
                Ok(e) => e,
                Err(e) => {
                    log::error!("vc.ril.video_encode: H.264 encoder: {e}");
                    return None;
                }
            };
            codec::quiet(&mut encoder);
            self.h264 = Some((encoder, settings.clone()));
            self.request_idr = true;
        }
        if self.headers_sent && self.headers_size != (picture.width, picture.height) {
            // A new picture size (the camera changed mode): the codec starts
            // over with an IDR, whose new SPS goes out whether inline or not.
            self.headers_sent = false;
        }
        let (encoder, _) = self.h264.as_mut().expect("made above");
        let period = settings.intra_period;
        let idr = self.request_idr || !self.headers_sent || (period > 0 && self.since_idr >= period);
        if idr {
            encoder.force_intra_frame();
        }
        let (w, h, s) = (picture.width, picture.height, picture.stride);
        let yuv = YUVSlices::new(
            (&picture.y[..h * s], &picture.u[..h / 2 * (s / 2)], &picture.v[..h / 2 * (s / 2)]),
            (w, h),
            (s, s / 2, s / 2),
        );
        let bits = match encoder.encode(&yuv) {
            Ok(bits) => bits,
            Err(e) => {
                log::error!("vc.ril.video_encode: H.264: {e}");
                return None;
            }
        };
        let keyframe = matches!(bits.frame_type(), FrameType::IDR);
        let (mut headers, mut frame) = (Vec::new(), Vec::new());
        for l in 0..bits.num_layers() {
            let Some(layer) = bits.layer(l) else { continue };
            for n in 0..layer.nal_count() {
                let Some(nal) = layer.nal_unit(n) else { continue };
                match crate::h264::nal_type(nal) {
                    Some(crate::h264::NAL_SPS) => {
                        let target = crate::h264::SpsTarget {
                            profile: settings.profile,
                            timing: (settings.sps_timing && settings.fps() > 0.0).then_some(settings.fps()),
                            size: (w, h),
                            fps: settings.rate(),
                            bitrate: settings.bitrate,
                        };
                        headers.extend_from_slice(&crate::h264::rewrite_sps(nal, &target));
                    }
                    Some(crate::h264::NAL_PPS) => headers.extend_from_slice(nal),
                    _ => frame.extend_from_slice(nal),
                }
            }
        }
        self.request_idr = false;
        self.since_idr = if keyframe { 1 } else { self.since_idr + 1 };
        if headers.is_empty() {
            if keyframe {
                headers = self.headers.clone();
            }
        } else {
            self.headers = headers.clone();
        }
        let mut parts = Vec::with_capacity(3);
        // The headers open the stream, and precede each IDR when inline.
        if keyframe && !headers.is_empty() && (!self.headers_sent || settings.inline_headers) {
            parts.push((headers, sys::MMAL_BUFFER_HEADER_FLAG_CONFIG | FRAME));
            self.headers_sent = true;
            self.headers_size = (picture.width, picture.height);
        }
        if frame.is_empty() {
            return Some(parts);
        }
        let flags = if keyframe { FRAME | sys::MMAL_BUFFER_HEADER_FLAG_KEYFRAME } else { FRAME };
        parts.push((frame, flags));
        if settings.inline_vectors {
            let vectors = crate::h264::motion_vectors(picture, &self.previous);
            parts.push((vectors, sys::MMAL_BUFFER_HEADER_FLAG_CODECSIDEINFO | FRAME));
            self.previous.clear();
            for row in picture.y.chunks(s).take(h) {
                self.previous.extend_from_slice(&row[..w]);
            }
        }
        Some(parts)
    }
}

/// What the `openh264` crate does not wrap: its logging and live bitrate.
mod codec {
    #![allow(unsafe_code)]

    use openh264::encoder::Encoder;
    use openh264_sys2::{
        SBitrateInfo, ENCODER_OPTION_BITRATE, ENCODER_OPTION_TRACE_LEVEL, SPATIAL_LAYER_ALL, WELS_LOG_QUIET,
    };

    /// A new target bitrate for a running encoder (as `VIDEO_BIT_RATE`
    /// changes it on a Pi), without starting over.
    pub(super) fn set_bitrate(encoder: &mut Encoder, bps: u32) {
        let mut info = SBitrateInfo { iLayer: SPATIAL_LAYER_ALL, iBitrate: bps.min(i32::MAX as u32) as i32 };
        // SAFETY: `raw_api` is the encoder's own instance; BITRATE takes a
        // pointer to an `SBitrateInfo`, read during the call only, and
        // `info` outlives it.
        let status = unsafe { encoder.raw_api().set_option(ENCODER_OPTION_BITRATE, (&raw mut info).cast()) };
        if status != 0 {
            log::warn!("vc.ril.video_encode: the codec kept its bitrate ({bps} bit/s refused: {status})");
        }
    }

    /// OpenH264 writes its warnings to stderr (one at every start, as frame
    /// skipping is off on purpose: a camera encoder answers every frame);
    /// the emulator reports through `log` instead. Turns the codec's own
    /// logging off, before its first frame.
    pub(super) fn quiet(encoder: &mut Encoder) {
        let mut level = WELS_LOG_QUIET as std::os::raw::c_int;
        // SAFETY: `raw_api` is the encoder's own instance, made and not yet
        // initialised; TRACE_LEVEL takes a pointer to an int, read during
        // the call only, and `level` outlives it. A failure leaves logging
        // as it was, so its status is not needed.
        unsafe {
            encoder.raw_api().set_option(ENCODER_OPTION_TRACE_LEVEL, (&raw mut level).cast());
        }
    }
}
