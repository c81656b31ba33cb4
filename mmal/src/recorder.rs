//! Recording: the camera's video port tunnelled to `vc.ril.video_encode`,
//! the encoded buffers read as a stream.

use std::time::Duration;

use crate::component::{Component, Port};
use crate::connection::{Connection, ConnectionFlags};
use crate::error::{Error, Result};
use crate::format::{Encoding, Format};
use crate::params::{
    CameraConfig, Capture, ImmutableInput, InitialQuant, InlineHeader, InlineVectors, IntraPeriod, MaxQuant, MinQuant,
    RequestIFrame, SetParameter, SpsTiming, VideoProfile,
};
use crate::stream::{Frame, FrameStream};

/// What a [`Recorder`] encodes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Codec {
    /// H.264 (Annex B byte stream, as `.h264` files hold it).
    H264,
    /// Motion JPEG: one JPEG per frame.
    Mjpeg,
}

/// How to record: size, rate and the encoder's settings. Start from
/// [`RecorderConfig::h264`] or [`RecorderConfig::mjpeg`]; the defaults are
/// picamera's: 30 fps, 17 Mbit/s, inline headers on, and the encoder's own
/// intra period (60 on a Pi) and profile (High, level 4). The settings
/// after [`bitrate`](Self::bitrate) are H.264's: an MJPEG recording refuses
/// them.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct RecorderConfig {
    codec: Codec,
    width: u32,
    height: u32,
    frame_rate: u32,
    bitrate: u32,
    intra_period: Option<u32>,
    profile: Option<VideoProfile>,
    inline_headers: bool,
    sps_timing: bool,
    motion_vectors: bool,
    quantiser: Option<u32>,
    buffers: u32,
}

impl RecorderConfig {
    fn new(codec: Codec, width: u32, height: u32) -> RecorderConfig {
        RecorderConfig {
            codec,
            width,
            height,
            frame_rate: 30,
            bitrate: 17_000_000,
            intra_period: None,
            profile: None,
            inline_headers: true,
            sps_timing: false,
            motion_vectors: false,
            quantiser: None,
            buffers: 3,
        }
    }

    /// H.264 at `width`×`height` (a Pi's encoder takes up to 1920 wide).
    pub fn h264(width: u32, height: u32) -> RecorderConfig {
        RecorderConfig::new(Codec::H264, width, height)
    }

    /// Motion JPEG at `width`×`height`.
    pub fn mjpeg(width: u32, height: u32) -> RecorderConfig {
        RecorderConfig::new(Codec::Mjpeg, width, height)
    }

    /// Frames per second (default 30).
    pub fn frame_rate(mut self, fps: u32) -> Self {
        self.frame_rate = fps;
        self
    }

    /// Bits per second the rate control aims for (default 17 000 000; 0
    /// for a constant quantiser, see [`quantiser`](Self::quantiser)).
    pub fn bitrate(mut self, bps: u32) -> Self {
        self.bitrate = bps;
        self
    }

    /// Frames from one IDR to the next (H.264).
    pub fn intra_period(mut self, frames: u32) -> Self {
        self.intra_period = Some(frames);
        self
    }

    /// The H.264 profile and level signalled in the stream.
    pub fn profile(mut self, profile: VideoProfile) -> Self {
        self.profile = Some(profile);
        self
    }

    /// SPS and PPS before every IDR (default on), so that the stream can
    /// be split, or joined, at any keyframe.
    pub fn inline_headers(mut self, on: bool) -> Self {
        self.inline_headers = on;
        self
    }

    /// The frame rate written into the SPS (default off).
    pub fn sps_timing(mut self, on: bool) -> Self {
        self.sps_timing = on;
        self
    }

    /// Motion vectors after each frame, in buffers of their own (see
    /// [`EncodedKind::MotionVectors`]).
    pub fn motion_vectors(mut self, on: bool) -> Self {
        self.motion_vectors = on;
        self
    }

    /// A fixed quantiser (0 to 51, lower is finer), as picamera's
    /// `quality`: with [`bitrate`](Self::bitrate) 0 the stream's size then
    /// follows the picture. With a bitrate too, the rate control may use
    /// this quantiser only, so the bitrate is no longer met.
    pub fn quantiser(mut self, q: u32) -> Self {
        self.quantiser = Some(q);
        self
    }

    /// Output buffers the stream holds (default 3; at most 256).
    pub fn buffers(mut self, n: u32) -> Self {
        self.buffers = n;
        self
    }

    /// The size asked for.
    pub(crate) fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    pub(crate) fn check(&self) -> Result<()> {
        let bad = |why: String| Err(Error::InvalidParameter(why));
        if self.width == 0 || self.height == 0 || self.width % 2 != 0 || self.height % 2 != 0 {
            return bad(format!("recording size {}x{}: give an even width and height", self.width, self.height));
        }
        if self.frame_rate == 0 {
            return bad("recording frame rate 0: give frames per second, 1 or more".into());
        }
        if let Some(q) = self.quantiser.filter(|&q| q > 51) {
            return bad(format!("quantiser {q}: H.264 takes 0 to 51"));
        }
        if self.codec == Codec::Mjpeg {
            let h264_only = [
                ("profile", self.profile.is_some()),
                ("intra_period", self.intra_period.is_some()),
                ("quantiser", self.quantiser.is_some()),
                ("sps_timing", self.sps_timing),
                ("motion_vectors", self.motion_vectors),
            ];
            let set: Vec<&str> = h264_only.iter().filter(|(_, on)| *on).map(|(name, _)| *name).collect();
            if !set.is_empty() {
                return bad(format!("{} for an MJPEG recording: H.264 settings; leave them unset", set.join(", ")));
            }
            return Ok(());
        }
        if self.width > H264_MAX_WIDTH {
            return bad(format!(
                "H.264 of {}x{}: a Pi's encoder takes widths up to {H264_MAX_WIDTH}; record MJPEG, or less wide",
                self.width, self.height
            ));
        }
        // The level is checked before anything is made.
        self.profile.map_or(Ok(()), |p| p.to_c().map(drop))
    }
}

/// A Pi's H.264 encoder's widest picture.
const H264_MAX_WIDTH: u32 = 1920;

/// What an encoded buffer holds, from its flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EncodedKind {
    /// The stream's headers (SPS and PPS, flagged `CONFIG`): a split point
    /// when they come before a keyframe.
    Headers,
    /// A keyframe (an IDR; every MJPEG frame), or the end of one.
    Keyframe,
    /// Another frame, or the end of one.
    Frame,
    /// The motion vectors of the frame before (`CODECSIDEINFO`): not part
    /// of the stream, one `(x: i8, y: i8, sad: u16)` per macroblock, with
    /// one extra column per row.
    MotionVectors,
    /// Part of a frame: more buffers follow before its end (those of a
    /// keyframe still have `KEYFRAME` in [`Frame::flags`]).
    Partial,
}

/// One macroblock's motion, as the H.264 encoder reports it (see
/// [`RecorderConfig::motion_vectors`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MotionVector {
    /// Horizontal motion, in pixels.
    pub x: i8,
    /// Vertical motion, in pixels.
    pub y: i8,
    /// Sum of absolute differences: how poorly the block matched.
    pub sad: u16,
}

impl Frame {
    /// What this encoded buffer holds, from its flags.
    pub fn kind(&self) -> EncodedKind {
        use mmal_sys as sys;
        let flags = self.flags().bits();
        if flags & sys::MMAL_BUFFER_HEADER_FLAG_CODECSIDEINFO != 0 {
            EncodedKind::MotionVectors
        } else if flags & sys::MMAL_BUFFER_HEADER_FLAG_CONFIG != 0 {
            EncodedKind::Headers
        } else if flags & sys::MMAL_BUFFER_HEADER_FLAG_FRAME_END == 0 {
            EncodedKind::Partial
        } else if flags & sys::MMAL_BUFFER_HEADER_FLAG_KEYFRAME != 0 {
            EncodedKind::Keyframe
        } else {
            EncodedKind::Frame
        }
    }

    /// The motion vectors this buffer holds (for
    /// [`EncodedKind::MotionVectors`]; `None` for another kind): one per
    /// 16×16 macroblock, row by row, each row with one extra column.
    /// Read in place, nothing copied.
    pub fn motion_vectors(&self) -> Option<impl ExactSizeIterator<Item = MotionVector> + '_> {
        if self.kind() != EncodedKind::MotionVectors {
            return None;
        }
        Some(self.data().chunks_exact(4).map(|v| MotionVector {
            x: v[0] as i8,
            y: v[1] as i8,
            sad: u16::from_le_bytes([v[2], v[3]]),
        }))
    }

    /// Whether this buffer ends a picture of the stream: a keyframe or
    /// frame, not headers or motion vectors (which end with `FRAME_END`
    /// too).
    pub fn ends_picture(&self) -> bool {
        matches!(self.kind(), EncodedKind::Keyframe | EncodedKind::Frame)
    }
}

/// The camera's video port tunnelled to the video encoder, its output read
/// as a stream of encoded buffers: recording in a few lines.
///
/// [`start`](Self::start) and [`stop`](Self::stop) may alternate as often
/// as you like; each start after the first begins with a keyframe, and
/// with inline headers (the default) the headers before it, so every
/// recording decodes on its own. Buffers come from the stream in order,
/// those of a recording before those of the next. Dropping the recorder
/// stops it and releases the camera, encoder and connection in order.
///
/// ```
/// use std::time::Duration;
/// use mmal::{EncodedKind, Recorder, RecorderConfig};
///
/// let mut recorder = Recorder::new(&RecorderConfig::h264(640, 480).bitrate(2_000_000))?;
/// recorder.start()?;
/// let mut h264 = Vec::new();
/// let mut frames = 0;
/// while frames < 10 {
///     let buffer = recorder.next_timeout(Duration::from_secs(10))?;
///     frames += usize::from(buffer.ends_picture());
///     if buffer.kind() != EncodedKind::MotionVectors {
///         h264.extend_from_slice(&buffer);
///     }
/// }
/// recorder.stop()?;
/// assert_eq!(&h264[..4], &[0, 0, 0, 1]);
/// # Ok::<(), mmal::Error>(())
/// ```
pub struct Recorder {
    // Dropped in this order: the output stream, the tunnel, then the
    // components.
    stream: FrameStream,
    link: Connection,
    encoder: Component,
    camera: Component,
    /// The camera's video port, whose `CAPTURE` starts and stops the
    /// frames; `None` when the source's owner does that
    /// ([`from_port`](Self::from_port)).
    capture: Option<Port>,
    recording: bool,
    started: bool,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("format", &self.stream.format()).field("recording", &self.recording).finish()
    }
}

impl Recorder {
    /// Creates the camera and encoder, sets them up as `config` says and
    /// connects them. Recording starts with [`start`](Self::start).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for a size, rate or setting no encoder
    /// takes, saying which; whatever creating, setting up or connecting the
    /// components returns (on a Pi: the camera missing or in use).
    pub fn new(config: &RecorderConfig) -> Result<Recorder> {
        config.check()?;
        let (w, h) = (config.width, config.height);
        let camera = crate::components::CameraComponent::new()?;
        camera.control().set(&CameraConfig::for_size(w, h))?;
        let video = camera.video().clone();
        video.set_format(&Format::video(Encoding::OPAQUE, w, h).with_frame_rate(config.frame_rate))?;
        let mut recorder = Recorder::attach(&video, config)?;
        recorder.capture = Some(video);
        camera.enable()?;
        Ok(recorder)
    }

    /// A recorder of the frames of `source`, an output whose format is set
    /// (OPAQUE from the camera or a splitter, or I420): the encoder is
    /// made, set up as `config` says, and tunnelled from it. Frames flow
    /// when the source's component does (for the camera's video port, when
    /// its `CAPTURE` is on); [`start`](Self::start) and [`stop`](Self::stop)
    /// enable and disable the tunnel.
    ///
    /// # Errors
    ///
    /// As for [`new`](Self::new).
    pub fn from_port(source: &Port, config: &RecorderConfig) -> Result<Recorder> {
        let mut recorder = Recorder::attach(source, config)?;
        // Not recording until started.
        recorder.link.disable()?;
        recorder.started = true;
        Ok(recorder)
    }

    fn attach(source: &Port, config: &RecorderConfig) -> Result<Recorder> {
        config.check()?;
        let (w, h) = (config.width, config.height);
        let encoder = crate::components::VideoEncoder::new()?;
        let input = encoder.input().clone();
        let link = Connection::new(source, &input, ConnectionFlags::default())?;
        input.set(&ImmutableInput(true))?;
        let out = encoder.output().clone();
        let encoding = match config.codec {
            Codec::H264 => Encoding::H264,
            Codec::Mjpeg => Encoding::MJPEG,
        };
        out.set_format(&Format::video(encoding, w, h).with_frame_rate(config.frame_rate).with_bitrate(config.bitrate))?;
        if config.codec == Codec::H264 {
            configure_h264(&out, config)?;
        }
        let stream = out.enable_stream(config.buffers)?;
        Ok(Recorder {
            stream,
            link,
            encoder: encoder.into(),
            camera: source.component(),
            capture: None,
            recording: false,
            started: false,
        })
    }

    /// Starts recording (the camera's `CAPTURE`). After a [`stop`](Self::stop)
    /// the camera and encoder are connected again and the encoder is asked
    /// for a keyframe, which is then the first frame it takes.
    ///
    /// # Errors
    ///
    /// As [`Port::set`] and [`Connection::enable`].
    pub fn start(&mut self) -> Result<()> {
        if self.recording {
            return Ok(());
        }
        if self.started {
            self.link.enable()?;
            self.request_keyframe()?;
        }
        if let Some(video) = &self.capture {
            video.set(&Capture(true))?;
        }
        (self.recording, self.started) = (true, true);
        Ok(())
    }

    /// Stops recording: the camera stops capturing, and the connection to
    /// the encoder is disabled once the frame it is encoding is done
    /// (frames still waiting for it are dropped). What it encoded can
    /// still be read.
    ///
    /// # Errors
    ///
    /// As [`Port::set`] and [`Connection::disable`].
    pub fn stop(&mut self) -> Result<()> {
        if self.recording {
            if let Some(video) = &self.capture {
                video.set(&Capture(false))?;
            }
            self.link.disable()?;
            self.recording = false;
        }
        Ok(())
    }

    /// Whether it is recording.
    pub fn is_recording(&self) -> bool {
        self.recording
    }

    /// The next encoded buffer, waiting up to `timeout`.
    ///
    /// # Errors
    ///
    /// As [`FrameStream::next_timeout`]: [`Error::Timeout`] if none came.
    pub fn next_timeout(&self, timeout: Duration) -> Result<Frame> {
        self.stream.next_timeout(timeout)
    }

    /// The encoded buffers as an iterator, each waited for up to
    /// `timeout` (see [`FrameStream::iter`]).
    pub fn iter(&self, timeout: Duration) -> impl Iterator<Item = Result<Frame>> + '_ {
        self.stream.iter(timeout)
    }

    /// Asks the encoder to make the next frame a keyframe (with inline
    /// headers, the headers come before it): to split the recording there.
    ///
    /// # Errors
    ///
    /// As [`Port::set`].
    pub fn request_keyframe(&self) -> Result<()> {
        self.encoder.output(0)?.set(&RequestIFrame(true))
    }

    /// The encoded stream, for its counters and format.
    pub fn stream(&self) -> &FrameStream {
        &self.stream
    }

    /// The component whose output it records: the camera, for its picture
    /// settings (for [`from_port`](Self::from_port), the source's).
    pub fn camera(&self) -> &Component {
        &self.camera
    }

    /// The encoder, for settings that change while it runs (the bitrate,
    /// [`VideoBitRate`](crate::params::VideoBitRate)).
    pub fn encoder(&self) -> &Component {
        &self.encoder
    }
}

fn configure_h264(out: &Port, config: &RecorderConfig) -> Result<()> {
    if let Some(p) = config.profile {
        out.set(&p)?;
    }
    if let Some(frames) = config.intra_period {
        out.set(&IntraPeriod(frames))?;
    }
    if let Some(q) = config.quantiser {
        out.set(&MinQuant(q))?;
        out.set(&MaxQuant(q))?;
    }
    if let Some(q) = config.quantiser {
        out.set(&InitialQuant(q))?;
    }
    out.set(&InlineHeader(config.inline_headers))?;
    out.set(&SpsTiming(config.sps_timing))?;
    out.set(&InlineVectors(config.motion_vectors))?;
    Ok(())
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            log::warn!("recorder: stopping the camera: {e}");
        }
    }
}
