//! Recording from a [`Camera`]: into any [`Write`], split at keyframes, or
//! into a [`CircularBuffer`] that keeps the last seconds.

use std::collections::VecDeque;
use std::io::Write;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::{Camera, Claim};
use crate::components::Resizer;
use crate::connection::{Connection, ConnectionFlags};
use crate::error::{Error, Result};
use crate::flags::BufferFlags;
use crate::format::Format;
use crate::recorder::{EncodedKind, Recorder, RecorderConfig};
use crate::stream::Frame;

/// The largest picture the resizer makes, either way.
const MAX_SIDE: u32 = 4096;

/// How long a recording waits for one encoded buffer.
const BUFFER_WAIT: Duration = Duration::from_secs(10);

/// Where a [`Recording`] writes: every encoded buffer in order, with its
/// [`kind`](Frame::kind) (headers, keyframes, frames, motion vectors).
/// Every [`Write`] is one (motion vectors left out); a
/// [`CircularBuffer`] is one.
pub trait VideoOutput {
    /// Takes one encoded buffer.
    ///
    /// # Errors
    ///
    /// The output's; the recording stops with [`Error::Io`].
    fn write_buffer(&mut self, buffer: &Frame) -> std::io::Result<()>;
}

impl<W: Write> VideoOutput for W {
    fn write_buffer(&mut self, buffer: &Frame) -> std::io::Result<()> {
        if buffer.kind() == EncodedKind::MotionVectors {
            return Ok(());
        }
        self.write_all(buffer)
    }
}

/// A [`VideoOutput`] that writes the stream to `video` and the motion
/// vectors (recorded with [`RecorderConfig::motion_vectors`]) to `motion`,
/// as picamera's `motion_output`.
#[derive(Debug, Default)]
pub struct WithMotion<V, M> {
    /// Where the stream goes.
    pub video: V,
    /// Where the motion vectors go: for each picture, one `(x: i8, y: i8,
    /// sad: u16)` per macroblock (see [`Frame::motion_vectors`]).
    pub motion: M,
}

impl<V: VideoOutput, M: Write> VideoOutput for WithMotion<V, M> {
    fn write_buffer(&mut self, buffer: &Frame) -> std::io::Result<()> {
        if buffer.kind() == EncodedKind::MotionVectors {
            return self.motion.write_all(buffer);
        }
        self.video.write_buffer(buffer)
    }
}

/// Whether an encoded buffer starts a piece that decodes on its own: the
/// headers, or a keyframe's first buffer when no headers came before it.
fn starts_keyframe(flags: BufferFlags, after_headers: bool) -> bool {
    flags.contains(BufferFlags::CONFIG) || (flags.contains(BufferFlags::KEYFRAME) && !after_headers)
}

/// A recording from a [`Camera`]; see [`Camera::start_recording`]. It
/// writes as it reads: call [`wait`](Self::wait) to let it record.
pub struct Recording<'a, O: VideoOutput> {
    // Dropped in this order: the encoder and its tunnel, the resizer's,
    // the resizer, the video output, then the output.
    recorder: Recorder,
    _link: Option<Connection>,
    _resizer: Option<Resizer>,
    claim: Claim,
    output: O,
    /// Whether the last buffer written was the stream's headers.
    after_headers: bool,
    pictures: u64,
    _camera: PhantomData<&'a Camera>,
}

impl<O: VideoOutput> std::fmt::Debug for Recording<'_, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recording").field("recorder", &self.recorder).field("pictures", &self.pictures).finish()
    }
}

impl<'a, O: VideoOutput> Recording<'a, O> {
    pub(super) fn new(camera: &'a Camera, output: O, config: &RecorderConfig) -> Result<Recording<'a, O>> {
        let shared = camera.shared()?;
        // The config's own checks first, before a video output is taken.
        config.check()?;
        let (w, h) = config.size();
        if w > MAX_SIDE || h > MAX_SIDE {
            return Err(Error::InvalidParameter(format!(
                "recording at {w}x{h}: the resizer makes pictures up to {MAX_SIDE} either way"
            )));
        }
        let claim = shared.claim()?;
        let (cw, ch) = shared.size;
        let fps = shared.frame_rate;
        claim.port().set_format(&Format::video(super::VIDEO_ENCODING, cw, ch).with_frame_rate(fps))?;
        // Another size than the camera's: scaled on the VideoCore first.
        let (resizer, link) = if (w, h) == (cw, ch) {
            (None, None)
        } else {
            let resizer = Resizer::new()?;
            let link = Connection::new(claim.port(), resizer.input(), ConnectionFlags::default())?;
            resizer.output().set_format(&Format::video(super::VIDEO_ENCODING, w, h).with_frame_rate(fps))?;
            (Some(resizer), Some(link))
        };
        let source = resizer.as_ref().map_or(claim.port(), |r| r.output());
        let mut recorder = Recorder::from_port(source, config)?;
        recorder.start()?;
        Ok(Recording {
            recorder,
            _link: link,
            _resizer: resizer,
            claim,
            output,
            after_headers: false,
            pictures: 0,
            _camera: PhantomData,
        })
    }

    fn write(&mut self, buffer: &Frame) -> Result<()> {
        self.output.write_buffer(buffer).map_err(|e| Error::io("cannot write the recording", e))?;
        self.after_headers = buffer.flags().contains(BufferFlags::CONFIG);
        self.pictures += u64::from(buffer.ends_picture());
        Ok(())
    }

    /// Records for `duration` by the camera's clock (from the first
    /// picture it reads): the pictures are written as they come.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] if the encoder gives nothing for 10 s;
    /// [`Error::Io`] if the output refuses.
    pub fn wait(&mut self, duration: Duration) -> Result<()> {
        let mut first: Option<i64> = None;
        loop {
            let buffer = self.recorder.next_timeout(BUFFER_WAIT)?;
            self.write(&buffer)?;
            if buffer.ends_picture() {
                if let Some(pts) = buffer.pts() {
                    let start = *first.get_or_insert(pts);
                    if pts - start >= duration.as_micros() as i64 {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Continues into `output` from the next keyframe (with inline
    /// headers, the headers before it), which the encoder is asked for
    /// now: each part decodes on its own. Returns the output before.
    ///
    /// # Errors
    ///
    /// As for [`wait`](Self::wait).
    pub fn split(&mut self, output: O) -> Result<O> {
        self.recorder.request_keyframe()?;
        loop {
            let buffer = self.recorder.next_timeout(BUFFER_WAIT)?;
            if starts_keyframe(buffer.flags(), self.after_headers) {
                let old = std::mem::replace(&mut self.output, output);
                self.write(&buffer)?;
                return Ok(old);
            }
            self.write(&buffer)?;
        }
    }

    /// The output, to look at while recording.
    pub fn output(&self) -> &O {
        &self.output
    }

    /// Pictures written so far.
    pub fn pictures(&self) -> u64 {
        self.pictures
    }

    /// Asks the encoder for a keyframe (see [`split`](Self::split)).
    ///
    /// # Errors
    ///
    /// As [`Recorder::request_keyframe`].
    pub fn request_keyframe(&self) -> Result<()> {
        self.recorder.request_keyframe()
    }

    /// Stops: what the encoder still holds is written, and the output
    /// given back.
    ///
    /// # Errors
    ///
    /// As for [`wait`](Self::wait).
    pub fn stop(mut self) -> Result<O> {
        self.recorder.stop()?;
        loop {
            match self.recorder.next_timeout(Duration::from_millis(200)) {
                Ok(buffer) => self.write(&buffer)?,
                Err(Error::Timeout { .. } | Error::StreamEnded(_)) => break,
                Err(e) => return Err(e),
            }
        }
        let Recording { recorder, _link, _resizer, claim, output, .. } = self;
        drop(recorder);
        drop(_link);
        drop(_resizer);
        drop(claim);
        Ok(output)
    }
}

/// One encoded buffer kept by a [`CircularBuffer`].
#[derive(Debug)]
struct Chunk {
    data: Vec<u8>,
    pts: Option<i64>,
    starts: bool,
}

#[derive(Debug)]
struct Circular {
    span: Duration,
    chunks: VecDeque<Chunk>,
    /// Emptied chunks' memory, used again.
    spare: Vec<Vec<u8>>,
    after_headers: bool,
}

impl Circular {
    fn newest_pts(&self) -> Option<i64> {
        self.chunks.iter().rev().find_map(|c| c.pts)
    }

    /// Drops the oldest pieces while what follows them, from a keyframe,
    /// still covers the span.
    fn trim(&mut self) {
        let Some(newest) = self.newest_pts() else { return };
        let span = self.span.as_micros() as i64;
        loop {
            let next_start = self.chunks.iter().enumerate().skip(1).find(|(_, c)| c.starts).map(|(i, _)| i);
            let Some(i) = next_start else { return };
            let Some(pts) = self.chunks.iter().skip(i).find_map(|c| c.pts) else { return };
            if newest - pts < span {
                return;
            }
            for mut old in self.chunks.drain(..i) {
                old.data.clear();
                self.spare.push(old.data);
            }
        }
    }
}

/// The last seconds of a recording, from a keyframe: picamera's
/// `PiCameraCircularIO`. Record into it (it is a [`VideoOutput`]; clones
/// share the same buffer), and [`save`](Self::save) what it holds when
/// something happens.
///
/// ```
/// use std::time::Duration;
/// use mmal::{Camera, CameraOptions, CircularBuffer, RecorderConfig};
/// # mmal::emulator::set_pacing(mmal::emulator::Pacing::Unlimited);
///
/// let camera = Camera::open(0, &CameraOptions::new().resolution(320, 240))?;
/// let last = CircularBuffer::new(Duration::from_secs(2));
/// let config = RecorderConfig::h264(320, 240).intra_period(15);
/// let mut recording = camera.start_recording(last.clone(), &config)?;
/// recording.wait(Duration::from_secs(4))?;
/// let mut h264 = Vec::new();
/// last.save(&mut h264)?;
/// assert_eq!((&h264[..4], h264[4] & 0x1f), (&[0, 0, 0, 1][..], 7)); // from the headers (SPS) of a keyframe
/// println!("{:?} of video, from a keyframe", last.duration()); // 2 s or a little more
/// # Ok::<(), mmal::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CircularBuffer {
    inner: Arc<Mutex<Circular>>,
}

impl CircularBuffer {
    /// A buffer that keeps at least the last `span` of video (by the
    /// camera's clock), from a keyframe.
    pub fn new(span: Duration) -> CircularBuffer {
        CircularBuffer {
            inner: Arc::new(Mutex::new(Circular {
                span,
                chunks: VecDeque::new(),
                spare: Vec::new(),
                after_headers: false,
            })),
        }
    }

    /// Writes what it holds, from its first keyframe (and the headers
    /// before it), to `output`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if `output` refuses.
    pub fn save(&self, output: &mut impl Write) -> Result<()> {
        let inner = self.inner.lock();
        let from = inner.chunks.iter().position(|c| c.starts).unwrap_or(inner.chunks.len());
        for chunk in inner.chunks.iter().skip(from) {
            output.write_all(&chunk.data).map_err(|e| Error::io("cannot save the circular buffer", e))?;
        }
        Ok(())
    }

    /// The video it holds, from its first to its last picture.
    pub fn duration(&self) -> Duration {
        let inner = self.inner.lock();
        let first = inner.chunks.iter().find_map(|c| c.pts);
        match (first, inner.newest_pts()) {
            (Some(a), Some(b)) if b > a => Duration::from_micros((b - a) as u64),
            _ => Duration::ZERO,
        }
    }

    /// Bytes it holds.
    pub fn len(&self) -> usize {
        self.inner.lock().chunks.iter().map(|c| c.data.len()).sum()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.inner.lock().chunks.is_empty()
    }

    /// Forgets what it holds.
    pub fn clear(&self) {
        let mut inner = self.inner.lock();
        let chunks = std::mem::take(&mut inner.chunks);
        for mut c in chunks {
            c.data.clear();
            inner.spare.push(c.data);
        }
    }
}

impl VideoOutput for CircularBuffer {
    fn write_buffer(&mut self, buffer: &Frame) -> std::io::Result<()> {
        if buffer.kind() == EncodedKind::MotionVectors {
            return Ok(());
        }
        let mut inner = self.inner.lock();
        let flags = buffer.flags();
        let starts = starts_keyframe(flags, inner.after_headers);
        inner.after_headers = flags.contains(BufferFlags::CONFIG);
        let mut data = inner.spare.pop().unwrap_or_default();
        data.extend_from_slice(buffer);
        // A picture's time; headers take the keyframe's after them.
        let pts = if buffer.ends_picture() { buffer.pts() } else { None };
        inner.chunks.push_back(Chunk { data, pts, starts });
        inner.trim();
        Ok(())
    }
}
