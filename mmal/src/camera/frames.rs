//! Continuous frames from a [`Camera`]: an iterator, and a callback form.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Camera, Claim, Shared};
use crate::components::Resizer;
use crate::connection::{Connection, ConnectionFlags};
use crate::error::{Error, Result};
use crate::flags::BufferFlags;
use crate::format::{Encoding, Format};
use crate::params::ZeroCopy;
use crate::stream::{Frame, FrameStream};

/// How long a [`Frames`] iterator waits for a frame unless told otherwise:
/// long enough for the first, which waits for the pipeline to start (a
/// second on a Pi, longer on a slow emulated machine).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Buffers a frame stream holds: one being filled, one waiting, and one
/// or two with the reader.
const FRAME_BUFFERS: u32 = 4;

/// The largest picture the resizer makes, either way.
const MAX_SIDE: u32 = 4096;

/// Asks `port` for buffers in memory shared with the VideoCore (VCSM), so
/// that frames are filled where this process reads them, with no copy on
/// the way (picamera does the same for the ports it reads). A provider
/// without it (ENOSYS) fills ordinary buffers instead.
fn zero_copy(port: &crate::Port) -> Result<()> {
    match port.set(&ZeroCopy(true)) {
        Err(e) if e.status() == Some(crate::Status::NotImplemented) => Ok(()),
        other => other,
    }
}

/// Frames from a [`Camera`]'s video port, in one encoding and size; see
/// [`Camera::frames`]. Each [`Frame`] is the VideoCore's buffer itself
/// (view it with [`Frame::as_array`] or [`Frame::planes`], no copy), with
/// its [`index`](Frame::index), its timestamp on `CLOCK_MONOTONIC` and the
/// wall clock, and the [`settings`](Frame::settings) it was taken with.
///
/// It is an [`Iterator`] of `Result<Frame>` whose `next` waits up to
/// [`timeout`](Self::timeout) (30 s unless set); [`next_timeout`](Self::next_timeout)
/// waits as long as you say. A reader that falls behind loses the oldest
/// frames, never stalls the camera: a gap in [`Frame::index`] says how
/// many. Dropping it frees its video output.
pub struct Frames<'a> {
    // Dropped in this order: the stream, the resizer's link, the resizer,
    // then the splitter output.
    stream: FrameStream,
    _link: Option<Connection>,
    _resizer: Option<Resizer>,
    claim: Claim,
    timeout: Duration,
    corrupted: AtomicU64,
    _camera: PhantomData<&'a Camera>,
}

impl std::fmt::Debug for Frames<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frames").field("stream", &self.stream).finish()
    }
}

impl<'a> Frames<'a> {
    pub(super) fn new(camera: &'a Camera, encoding: Encoding, width: u32, height: u32) -> Result<Frames<'a>> {
        if !matches!(encoding, Encoding::I420 | Encoding::RGB24 | Encoding::BGR24 | Encoding::RGBA | Encoding::BGRA) {
            return Err(Error::InvalidParameter(format!(
                "frames in {encoding}: give I420, RGB24, BGR24, RGBA or BGRA"
            )));
        }
        if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
            return Err(Error::InvalidParameter(format!(
                "frames of {width}x{height}: give a width and height from 1 to {MAX_SIDE}"
            )));
        }
        if encoding == Encoding::I420 && (width % 2 != 0 || height % 2 != 0) {
            return Err(Error::InvalidParameter(format!(
                "I420 frames of {width}x{height}: give an even width and height (U and V are at half size)"
            )));
        }
        let shared = camera.shared()?;
        let claim = shared.claim()?;
        let out = claim.port().clone();
        let (cw, ch) = shared.size;
        let fps = shared.frame_rate;
        let (stream, link, resizer) = if (width, height) == (cw, ch) {
            out.set_format(&Format::video(encoding, width, height).with_frame_rate(fps))?;
            zero_copy(&out)?;
            (out.enable_stream(FRAME_BUFFERS)?, None, None)
        } else {
            out.set_format(&Format::video(super::VIDEO_ENCODING, cw, ch).with_frame_rate(fps))?;
            let resizer = Resizer::new()?;
            let link = Connection::new(&out, resizer.input(), ConnectionFlags::default())?;
            resizer.output().set_format(&Format::video(encoding, width, height).with_frame_rate(fps))?;
            zero_copy(resizer.output())?;
            let stream = resizer.output().enable_stream(FRAME_BUFFERS)?;
            (stream, Some(link), Some(resizer))
        };
        Ok(Frames {
            stream,
            _link: link,
            _resizer: resizer,
            claim,
            timeout: DEFAULT_TIMEOUT,
            corrupted: AtomicU64::new(0),
            _camera: PhantomData,
        })
    }

    /// How long the iterator's `next` waits for a frame (30 s unless set:
    /// long enough for the first, which waits for the pipeline to start).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The next frame, waiting up to `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] if none came; as
    /// [`FrameStream::next_timeout`].
    pub fn next_timeout(&self, timeout: Duration) -> Result<Frame> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = match self.stream.next_timeout(left) {
                Err(Error::Timeout { port, .. }) => return Err(Error::Timeout { port, waited: timeout }),
                other => other?,
            };
            if let Some(frame) = self.accept(frame) {
                return Ok(frame);
            }
        }
    }

    /// The frame with the camera's clock and settings, or `None` for one
    /// the VideoCore could not fill (flagged `CORRUPTED`, empty), which is
    /// counted and given back.
    fn accept(&self, mut frame: Frame) -> Option<Frame> {
        if frame.flags().contains(BufferFlags::CORRUPTED) || frame.is_empty() {
            self.corrupted.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let shared: &Arc<Shared> = self.claim.shared();
        let settings = shared.settings_before(frame.arrival_time());
        frame.set_camera_info(shared.clock(), settings);
        Some(frame)
    }

    /// Frames the VideoCore could not fill (flagged `CORRUPTED`), skipped.
    pub fn corrupted(&self) -> u64 {
        self.corrupted.load(Ordering::Relaxed)
    }

    /// A frame if one is waiting.
    pub fn try_next(&self) -> Option<Frame> {
        loop {
            if let Some(frame) = self.accept(self.stream.try_next()?) {
                return Some(frame);
            }
        }
    }

    /// The frames' format.
    pub fn format(&self) -> Format {
        self.stream.format()
    }

    /// Frames delivered so far.
    pub fn received(&self) -> u64 {
        self.stream.received()
    }

    /// Frames dropped unread because the reader fell behind.
    pub fn dropped(&self) -> u64 {
        self.stream.dropped()
    }
}

impl Iterator for Frames<'_> {
    type Item = Result<Frame>;

    /// The next frame, waiting up to [`Frames::timeout`]; `None` once the
    /// stream has ended.
    fn next(&mut self) -> Option<Result<Frame>> {
        match self.next_timeout(self.timeout) {
            Err(Error::StreamEnded(_)) => None,
            other => Some(other),
        }
    }
}

/// Frames handed to a callback on a thread of their own; see
/// [`Camera::on_frames`]. Dropping it (or [`stop`](Self::stop)) stops the
/// thread and frees the video output.
pub struct FrameCallback<'a> {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
    /// The frames' pipeline, kept until the thread has stopped.
    frames: Arc<Frames<'static>>,
    _camera: PhantomData<&'a Camera>,
}

impl std::fmt::Debug for FrameCallback<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameCallback").field("received", &self.frames.received()).finish()
    }
}

impl<'a> FrameCallback<'a> {
    pub(super) fn new<F>(frames: Frames<'a>, mut callback: F) -> Result<FrameCallback<'a>>
    where
        F: FnMut(Frame) + Send + 'static,
    {
        // The thread is joined before the camera can go (this handle borrows
        // it for 'a), so the frames' pipeline may travel as 'static.
        let Frames { stream, _link, _resizer, claim, timeout, corrupted, .. } = frames;
        let frames = Arc::new(Frames { stream, _link, _resizer, claim, timeout, corrupted, _camera: PhantomData });
        let stop = Arc::new(AtomicBool::new(false));
        let (reader, stopping) = (frames.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("mmal-frames".into())
            .spawn(move || {
                while !stopping.load(Ordering::Acquire) {
                    match reader.next_timeout(Duration::from_millis(100)) {
                        Ok(frame) => callback(frame),
                        Err(Error::Timeout { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            })
            .map_err(|e| Error::io("cannot start the frame callback's thread", e))?;
        Ok(FrameCallback { stop, thread: Some(thread), frames, _camera: PhantomData })
    }

    /// Frames delivered so far.
    pub fn received(&self) -> u64 {
        self.frames.received()
    }

    /// Stops the thread, and says why it had stopped if it did on its own.
    ///
    /// # Errors
    ///
    /// What ended the frames ([`Error::StreamEnded`]…);
    /// [`Error::CallbackPanicked`] if the callback panicked.
    pub fn stop(mut self) -> Result<()> {
        self.finish()
    }

    fn finish(&mut self) -> Result<()> {
        self.stop.store(true, Ordering::Release);
        match self.thread.take().map(|t| t.join()) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(payload)) => Err(Error::CallbackPanicked {
                port: self.frames.stream.port().name(),
                message: crate::panic_message(payload.as_ref()),
            }),
        }
    }
}

impl Drop for FrameCallback<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.finish() {
            log::warn!("frame callback: {e}");
        }
    }
}
