//! Enabled ports: frame streams and callbacks (the public types, and the
//! `Port` methods that make them); what the port hands its buffers to is
//! `sink`.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::{Condvar, Mutex};

use crate::component::Port;
use crate::error::{check, Error, Result};
use crate::event::Event;
use crate::ffi::RawBuffer;
use crate::flags::BufferFlags;
use crate::format::{Encoding, Format};
use crate::params::CameraSettings;

type UserCallback = Box<dyn FnMut(&Buffer<'_>) + Send>;

mod sink;

pub(crate) use sink::{Queued, Sink, SinkKind};

/// Whether `encoding` is a stream of encoded data, whose buffers are parts
/// of one file or stream (none may be dropped), rather than pictures.
fn is_encoded(encoding: Encoding) -> bool {
    matches!(
        encoding,
        Encoding::JPEG
            | Encoding::H264
            | Encoding::MJPEG
            | Encoding::PNG
            | Encoding::GIF
            | Encoding::BMP
            | Encoding::PPM
            | Encoding::TGA
    )
}

/// Most buffers a [`FrameStream`] takes (ports work with a handful).
const MAX_STREAM_BUFFERS: u32 = 256;

/// Buffers in the pool of a port enabled with `buffers`: at least the
/// port's minimum, and at least one.
fn pool_size(port: &Port, buffers: u32) -> u32 {
    buffers.max(port.buffer_requirements().num_min).max(1)
}

/// Streams and callbacks of a port; here rather than in `component`, which
/// the stream's types build on.
impl Port {
    /// Enables the port as a stream of frames: the stream owns a pool of
    /// `buffers` buffers (at least the port's minimum) of the recommended
    /// size, hands each filled buffer to [`FrameStream::next_timeout`], and
    /// gives it back to the port when the [`Frame`](crate::Frame) is
    /// dropped. MMAL's thread never waits for the reader: for pictures,
    /// when all queued frames are unread, the oldest is dropped and
    /// counted; an encoded stream (JPEG, H.264, MJPEG, and the image
    /// encoder's PNG, GIF, BMP, PPM and TGA files) is never cut, and
    /// the component waits for buffers to come back instead.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for an input port (streams are for
    /// output ports: an input's buffers come from a [`Connection`](crate::Connection))
    /// or for more than 256 buffers;
    /// [`Error::State`] if the port is enabled or connected;
    /// [`Error::WouldDeadlock`] from one of the component's callbacks;
    /// [`Error::Mmal`] if the pool cannot be made or the port refuses.
    pub fn enable_stream(&self, buffers: u32) -> Result<FrameStream> {
        FrameStream::new(self.clone(), buffers)
    }

    /// Enables the port with a callback, run on MMAL's thread for every
    /// buffer (output ports get a pool that is recycled after each call;
    /// the control port's events come without one). Not for input ports.
    /// The callback must be quick and must not block; a panic in it is
    /// caught, reported by [`CallbackPort::check`], and stops further calls.
    ///
    /// # Errors
    ///
    /// As for [`enable_stream`](Self::enable_stream).
    pub fn enable_callback<F>(&self, callback: F) -> Result<CallbackPort>
    where
        F: FnMut(&Buffer<'_>) + Send + 'static,
    {
        CallbackPort::new(self.clone(), Box::new(callback))
    }
}

/// A borrowed buffer, inside a callback: a frame (or part of one), or an
/// event the component sent on the port (see [`event`](Self::event)).
pub struct Buffer<'a> {
    raw: &'a RawBuffer,
    event: Option<&'a Event>,
}

impl Buffer<'_> {
    /// The valid bytes of a frame; empty for an event.
    pub fn data(&self) -> &[u8] {
        if self.event.is_some() {
            return &[];
        }
        self.raw.data()
    }

    /// The event this buffer carries, if it is one rather than data. An
    /// output port gets [`Event::FormatChanged`] when the component sets
    /// its format itself (decoders, encoders and the ISP do); the crate
    /// then applies the new format to the port, as libmmal's connections
    /// do, on another thread once the callback has returned: frames after
    /// the event are in the new format, and
    /// [`Port::format`](crate::Port::format) reports it once applied. If
    /// applying it fails, the port is disabled and
    /// [`CallbackPort::check`] says why.
    pub fn event(&self) -> Option<&Event> {
        self.event
    }

    /// Presentation time in microseconds, if known.
    pub fn pts(&self) -> Option<i64> {
        self.raw.pts()
    }

    /// The buffer's flags.
    pub fn flags(&self) -> BufferFlags {
        BufferFlags::from_bits(self.raw.flags())
    }
}

impl fmt::Debug for Buffer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buffer")
            .field("len", &self.data().len())
            .field("pts", &self.pts())
            .field("event", &self.event)
            .finish()
    }
}

/// Frames from an output port; see [`Port::enable_stream`].
///
/// Dropping the stream disables the port. Frames still held keep the pool
/// (and the component) alive until they are dropped.
pub struct FrameStream {
    sink: Arc<Sink>,
    /// The port's format as of the last format change applied.
    format: Mutex<Format>,
}

/// What a [`FrameStream`] delivers: a frame, or an event the component sent
/// on the port between frames.
#[derive(Debug)]
#[non_exhaustive]
pub enum StreamItem {
    /// A filled buffer.
    Frame(Frame),
    /// An event on the port, already acted on: for
    /// [`Event::FormatChanged`], the stream has applied the new format to
    /// the port (frames after it are in that format; see
    /// [`FrameStream::format`]).
    Event(Event),
}

impl fmt::Debug for FrameStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameStream")
            .field("port", &self.sink.port_name)
            .field("received", &self.received())
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl FrameStream {
    pub(crate) fn new(port: Port, buffers: u32) -> Result<FrameStream> {
        if buffers > MAX_STREAM_BUFFERS {
            return Err(Error::InvalidParameter(format!(
                "{}: {buffers} buffers asked for; a stream takes at most {MAX_STREAM_BUFFERS}",
                port.name()
            )));
        }
        let format = port.format();
        // Pictures: the latest are kept, older ones dropped if the reader
        // falls behind. An encoded stream (JPEG, H.264, MJPEG, the image
        // encoder's files) is never
        // cut: the port waits for the reader to give buffers back.
        let compressed = is_encoded(format.encoding);
        let capacity =
            if compressed { usize::MAX } else { (pool_size(&port, buffers) as usize).saturating_sub(1).max(1) };
        let kind = SinkKind::Frames {
            queue: Mutex::new(VecDeque::with_capacity(capacity.min(MAX_STREAM_BUFFERS as usize) + 1)),
            ready: Condvar::new(),
            capacity,
        };
        let sink = Sink::enable(port, buffers.max(1), kind)?;
        Ok(FrameStream { sink, format: Mutex::new(format) })
    }

    /// The next frame, waiting up to `timeout`. Events on the port between
    /// frames are acted on and skipped (a format change is applied: see
    /// [`next_item_timeout`](Self::next_item_timeout) to see them).
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] if none came; [`Error::StreamEnded`] after
    /// [`disable`](Self::disable); as for
    /// [`next_item_timeout`](Self::next_item_timeout) if a format change
    /// cannot be applied.
    pub fn next_timeout(&self, timeout: Duration) -> Result<Frame> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_item_timeout(left) {
                Ok(StreamItem::Frame(frame)) => return Ok(frame),
                Ok(StreamItem::Event(event)) => log::debug!("{}: {event:?}", self.sink.port_name),
                Err(Error::Timeout { port, .. }) => return Err(Error::Timeout { port, waited: timeout }),
                Err(e) => return Err(e),
            }
        }
    }

    /// The next frame or event on the port, in the order they came,
    /// waiting up to `timeout`. An [`Event::FormatChanged`] (the component
    /// set the port's format, as decoders, encoders and the ISP do) is
    /// applied before it is returned, as libmmal's connections apply one:
    /// if the port's buffers fit the new format, the port commits it while
    /// enabled; otherwise the port is disabled, commits it, and is enabled
    /// again with new buffers. Frames taken before stay valid.
    ///
    /// ```
    /// # fn main() -> mmal::Result<()> {
    /// use std::time::Duration;
    /// use mmal::{params::Capture, Component, Encoding, Event, Format, StreamItem};
    ///
    /// let camera = Component::new("vc.ril.camera")?;
    /// let video = camera.output(1)?;
    /// video.set_format(&Format::video(Encoding::I420, 320, 240).with_frame_rate(30))?;
    /// let stream = video.enable_stream(3)?;
    /// camera.enable()?;
    /// video.set(&Capture(true))?;
    /// match stream.next_item_timeout(Duration::from_secs(5))? {
    ///     StreamItem::Frame(frame) => assert_eq!(frame.len(), 320 * 240 * 3 / 2),
    ///     StreamItem::Event(Event::FormatChanged { format, .. }) => assert_eq!(stream.format(), format),
    ///     StreamItem::Event(other) => println!("{other:?}"),
    ///     _ => {}
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] if nothing came; [`Error::StreamEnded`] after
    /// [`disable`](Self::disable); [`Error::CallbackPanicked`] if a
    /// callback on the port panicked; for a format change that cannot be
    /// applied, [`Error::Mmal`] (the port refuses it, or no memory for the
    /// new buffers: the stream has then ended) or [`Error::WouldDeadlock`]
    /// from one of the component's callbacks.
    pub fn next_item_timeout(&self, timeout: Duration) -> Result<StreamItem> {
        let SinkKind::Frames { queue, ready, .. } = &self.sink.kind else { unreachable!("a frame sink") };
        let deadline = Instant::now() + timeout;
        self.sink.panicked()?;
        let mut q = queue.lock();
        loop {
            if let Some(item) = q.pop_front() {
                drop(q);
                return self.deliver(item).map_err(|failed| {
                    // Not applied (called from one of the component's own
                    // callbacks): it stays first in line.
                    let (e, item) = *failed;
                    if let Some(item) = item {
                        queue.lock().push_front(item);
                    }
                    e
                });
            }
            if self.sink.ended.load(Ordering::Acquire) {
                return Err(Error::StreamEnded(self.sink.port_name.clone()));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Timeout { port: self.sink.port_name.clone(), waited: timeout });
            }
            ready.wait_until(&mut q, deadline);
        }
    }

    /// Hands a queued item to the reader, applying a format change first;
    /// one that could not be applied for now comes back with the error.
    fn deliver(&self, item: Queued) -> std::result::Result<StreamItem, Box<(Error, Option<Queued>)>> {
        match item {
            Queued::Frame(buffer, index, arrived) => Ok(StreamItem::Frame(Frame {
                sink: self.sink.clone(),
                buffer: Some(buffer),
                format: *self.format.lock(),
                index,
                arrived,
                clock: None,
                settings: None,
            })),
            Queued::Event(event) => {
                if let Event::FormatChanged { format, .. } = &event {
                    match self.sink.apply_format_change(&event) {
                        Ok(()) => *self.format.lock() = *format,
                        Err(e @ Error::WouldDeadlock(_)) => return Err(Box::new((e, Some(Queued::Event(event))))),
                        Err(e) => return Err(Box::new((e, None))),
                    }
                }
                Ok(StreamItem::Event(event))
            }
        }
    }

    /// The frames as an iterator, each waited for up to `timeout`; it
    /// ends when the stream does (after [`disable`](Self::disable)), and
    /// yields the error of a wait that fails ([`Error::Timeout`]…).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use mmal::{params::Capture, components::CameraComponent, Encoding, Format};
    /// let camera = CameraComponent::new()?;
    /// camera.video().set_format(&Format::video(Encoding::I420, 320, 240).with_frame_rate(30))?;
    /// let stream = camera.video().enable_stream(3)?;
    /// camera.enable()?;
    /// camera.video().set(&Capture(true))?;
    /// for frame in stream.iter(Duration::from_secs(5)).take(3) {
    ///     assert_eq!(frame?.len(), 320 * 240 * 3 / 2);
    /// }
    /// # Ok::<(), mmal::Error>(())
    /// ```
    pub fn iter(&self, timeout: Duration) -> impl Iterator<Item = Result<Frame>> + '_ {
        std::iter::from_fn(move || match self.next_timeout(timeout) {
            Err(Error::StreamEnded(_)) => None,
            other => Some(other),
        })
    }

    /// A frame if one is waiting (events before it are acted on and
    /// skipped, as in [`next_timeout`](Self::next_timeout); one whose
    /// format change cannot be applied ends the stream and is logged).
    pub fn try_next(&self) -> Option<Frame> {
        let SinkKind::Frames { queue, .. } = &self.sink.kind else { unreachable!("a frame sink") };
        loop {
            let item = queue.lock().pop_front()?;
            match self.deliver(item) {
                Ok(StreamItem::Frame(frame)) => return Some(frame),
                Ok(StreamItem::Event(_)) => {}
                Err(failed) => {
                    let (e, item) = *failed;
                    if let Some(item) = item {
                        queue.lock().push_front(item);
                    }
                    log::error!("{e}");
                    return None;
                }
            }
        }
    }

    /// Frames the port delivered.
    pub fn received(&self) -> u64 {
        self.sink.received.load(Ordering::Relaxed)
    }

    /// Frames dropped unread because the reader fell behind.
    pub fn dropped(&self) -> u64 {
        self.sink.dropped.load(Ordering::Relaxed)
    }

    /// The port's format: the one it had when the stream started, or the
    /// last one a format change on the port set.
    pub fn format(&self) -> Format {
        *self.format.lock()
    }

    /// The port this stream reads.
    pub fn port(&self) -> &Port {
        &self.sink.port
    }

    /// Drops the frames waiting to be read, and has the port give back the
    /// buffers it holds (`mmal_port_flush`), which go back to it empty: the
    /// next frame is one made after the call (after new settings, say).
    ///
    /// # Errors
    ///
    /// [`Error::StreamEnded`] after [`disable`](Self::disable);
    /// [`Error::WouldDeadlock`] from one of the component's callbacks;
    /// [`Error::Mmal`] if the port refuses.
    pub fn flush(&self) -> Result<()> {
        let SinkKind::Frames { queue, .. } = &self.sink.kind else { unreachable!("a frame sink") };
        let _config = self.sink.port.component.configure(|| self.sink.port_name.clone())?;
        if self.sink.ended.load(Ordering::Acquire) {
            return Err(Error::StreamEnded(self.sink.port_name.clone()));
        }
        check(self.sink.port.raw.flush(self.sink.port.api()), "mmal_port_flush", || self.sink.port_name.clone())?;
        // Frames go back; events stay, in order, for the reader.
        let waiting: Vec<RawBuffer> = {
            let mut q = queue.lock();
            let mut frames = Vec::with_capacity(q.len());
            for item in std::mem::take(&mut *q) {
                match item {
                    Queued::Frame(buffer, ..) => frames.push(buffer),
                    Queued::Event(event) => q.push_back(Queued::Event(event)),
                }
            }
            frames
        };
        for buffer in waiting {
            self.sink.recycle(buffer);
        }
        Ok(())
    }

    /// Disables the port now, reporting failure (drop does the same but can
    /// only log).
    ///
    /// # Errors
    ///
    /// [`Error::WouldDeadlock`] from one of the component's callbacks;
    /// [`Error::Mmal`] if the port refuses.
    pub fn disable(&self) -> Result<()> {
        self.sink.disable()
    }
}

impl Drop for FrameStream {
    fn drop(&mut self) {
        self.sink.disable_on_drop();
    }
}

/// A buffer you hold: a frame (or an encoded piece of one) from a
/// [`FrameStream`], a [`Camera`](crate::Camera)'s frames or a
/// [`Recorder`](crate::Recorder). Its bytes are the port's buffer itself,
/// never copied by the crate (on a Pi, VideoCore memory mapped into the
/// process); [`planes`](Self::planes) and [`as_array`](Self::as_array)
/// view them as pictures. Dropping it sends the buffer back to the port.
///
/// (Inside callbacks, a [`Buffer`] and a
/// [`PassingBuffer`](crate::PassingBuffer) are borrowed views of a buffer
/// the port lends for the call; a `Frame` is the one buffer you keep.)
pub struct Frame {
    sink: Arc<Sink>,
    /// Always `Some` until the frame is dropped.
    buffer: Option<RawBuffer>,
    /// The stream's format when it was delivered.
    format: Format,
    /// Its index among the buffers the port delivered.
    index: u64,
    /// When the port delivered it (`CLOCK_MONOTONIC`).
    arrived: Duration,
    /// How the camera's timestamps map to the host's clocks, when known.
    clock: Option<crate::clock::Clock>,
    /// What the camera reported it used, when known.
    settings: Option<CameraSettings>,
}

impl Frame {
    fn buffer(&self) -> &RawBuffer {
        self.buffer.as_ref().expect("a frame holds its buffer until dropped")
    }

    /// The frame's bytes.
    pub fn data(&self) -> &[u8] {
        self.buffer().data()
    }

    /// Presentation time in microseconds, if known.
    pub fn pts(&self) -> Option<i64> {
        self.buffer().pts()
    }

    /// Decode time in microseconds, if known.
    pub fn dts(&self) -> Option<i64> {
        self.buffer().dts()
    }

    /// The buffer's flags.
    pub fn flags(&self) -> BufferFlags {
        BufferFlags::from_bits(self.buffer().flags())
    }

    /// Whether this buffer ends a frame.
    pub fn is_frame_end(&self) -> bool {
        self.flags().contains(BufferFlags::FRAME_END)
    }

    /// The format the frame is in (the stream's when it was delivered).
    pub fn format(&self) -> Format {
        self.format
    }

    /// The frame's index among those its port delivered, from 0: a gap
    /// between two frames you read is frames dropped in between.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// When the port handed the frame to this process, on
    /// `CLOCK_MONOTONIC`: with [`monotonic_time`](Self::monotonic_time),
    /// how long it took from the sensor.
    pub fn arrival_time(&self) -> Duration {
        self.arrived
    }

    /// The camera's timestamp: time since the camera started, if known.
    pub fn timestamp(&self) -> Option<Duration> {
        self.pts().and_then(|us| u64::try_from(us).ok()).map(Duration::from_micros)
    }

    /// When the frame was taken, on `CLOCK_MONOTONIC` (the clock of
    /// [`Instant`], of `clock_gettime(CLOCK_MONOTONIC)` and of the
    /// kernel's frame timestamps): for frames from a
    /// [`Camera`](crate::Camera), with a timestamp.
    pub fn monotonic_time(&self) -> Option<Duration> {
        Some(self.clock?.monotonic(self.timestamp()?))
    }

    /// When the frame was taken, by the wall clock (as `monotonic_time`,
    /// moved by the wall clock's offset when the camera started).
    pub fn wall_time(&self) -> Option<SystemTime> {
        Some(self.clock?.wall(self.timestamp()?))
    }

    /// What the camera reported it used for this frame (exposure time,
    /// gains, white balance), for frames from a [`Camera`](crate::Camera):
    /// the last `CAMERA_SETTINGS` report that arrived before the frame
    /// (the camera reports when the values change, before the first frame
    /// made with them).
    pub fn settings(&self) -> Option<&CameraSettings> {
        self.settings.as_ref()
    }

    pub(crate) fn set_camera_info(&mut self, clock: crate::clock::Clock, settings: Option<CameraSettings>) {
        self.clock = Some(clock);
        self.settings = settings;
    }
}

impl std::ops::Deref for Frame {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.data()
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Frame")
            .field("len", &self.buffer().length())
            .field("pts", &self.pts())
            .field("index", &self.index)
            .field("format", &self.format)
            .finish()
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        if let Some(buffer) = self.buffer.take() {
            self.sink.recycle(buffer);
        }
    }
}

/// A port enabled with a callback; see [`Port::enable_callback`]. Dropping
/// it disables the port.
pub struct CallbackPort {
    sink: Arc<Sink>,
}

impl fmt::Debug for CallbackPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackPort").field("port", &self.sink.port_name).field("calls", &self.calls()).finish()
    }
}

impl CallbackPort {
    pub(crate) fn new(port: Port, callback: UserCallback) -> Result<CallbackPort> {
        let buffers =
            if port.kind() == crate::PortKind::Control { 0 } else { port.buffer_requirements().num_recommended.max(1) };
        let sink = Sink::enable(port, buffers, SinkKind::Callback(Mutex::new(callback)))?;
        Ok(CallbackPort { sink })
    }

    /// Buffers passed to the callback.
    pub fn calls(&self) -> u64 {
        self.sink.received.load(Ordering::Relaxed)
    }

    /// `Err` if the callback panicked (it is not called again).
    ///
    /// # Errors
    ///
    /// [`Error::CallbackPanicked`] with the panic message.
    pub fn check(&self) -> Result<()> {
        self.sink.panicked()
    }

    /// Disables the port now.
    ///
    /// # Errors
    ///
    /// [`Error::WouldDeadlock`] from one of the component's callbacks;
    /// [`Error::Mmal`] if the port refuses.
    pub fn disable(&self) -> Result<()> {
        self.sink.disable()
    }
}

impl Drop for CallbackPort {
    fn drop(&mut self) {
        self.sink.disable_on_drop();
    }
}
