//! Enabled ports: frame streams and callbacks.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use mmal_sys as sys;

use crate::component::Port;
use crate::error::{check, Error, Result};
use crate::events::Event;
use crate::format::Format;
use crate::raw::{self, RawBuffer, RawPool};

type UserCallback = Box<dyn FnMut(&Buffer<'_>) + Send>;

pub(crate) enum SinkKind {
    Frames { queue: Mutex<VecDeque<RawBuffer>>, ready: Condvar, capacity: usize },
    Callback(Mutex<UserCallback>),
    Events { queue: Mutex<VecDeque<Event>>, ready: Condvar },
}

/// How far disabling a sink's port got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SinkState {
    Enabled,
    Disabled,
    /// `mmal_port_disable` failed with this status: the port may still call
    /// back, so the sink stays alive for good.
    Failed(u32),
}

/// What a port the crate enabled hands its buffers to.
///
/// Ownership: the handle the user holds (a [`FrameStream`],
/// [`CallbackPort`] or [`Events`](crate::Events)) has one `Arc`, and so does
/// each [`Frame`] taken from it. While the port is enabled its `userdata`
/// owns one more, handed over by [`RawPort::give_sink`](crate::raw) in
/// [`enable`](Self::enable) and reclaimed by `take_sink` in
/// [`disable`](Self::disable) only once the port is disabled (or in `enable`
/// if it never was). If disabling fails, the port may still call back, so
/// that reference is leaked, and with it the sink and its pool: the pool is
/// destroyed when the last reference goes, never while a port may use it.
pub(crate) struct Sink {
    pub(crate) port: Port,
    pub(crate) port_name: String,
    pool: Option<RawPool>,
    state: Mutex<SinkState>,
    pub(crate) panic: Mutex<Option<String>>,
    pub(crate) ended: AtomicBool,
    pub(crate) received: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) kind: SinkKind,
}

pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("(non-string panic payload)")
    }
}

/// Most buffers a [`FrameStream`] takes (ports work with a handful).
const MAX_STREAM_BUFFERS: u32 = 256;

/// Buffers in the pool of a port enabled with `buffers`: at least the
/// port's minimum, and at least one.
fn pool_size(port: &Port, buffers: u32) -> u32 {
    buffers.max(port.buffer_requirements().num_min).max(1)
}

impl Sink {
    /// Enables `port` with a new sink: a pool of `buffers` (0 for none),
    /// then every buffer sent to the port.
    pub(crate) fn enable(port: Port, buffers: u32, kind: SinkKind) -> Result<Arc<Sink>> {
        let _config = port.component.configure(|| port.name())?;
        let name = port.name();
        if port.is_enabled() {
            return Err(Error::State(format!("{name} is already enabled")));
        }
        // Its userdata belongs to the connection.
        if crate::connection::is_connected(&port) {
            return Err(Error::State(format!("{name} is connected: read its frames through the connection")));
        }
        let api = port.api();
        let pool = if buffers > 0 {
            let num = pool_size(&port, buffers);
            let size = {
                let _fields = crate::lock(&port.component.fields);
                let req = port.raw.buffers();
                let size = req.size_recommended.max(req.size_min).max(req.size);
                port.raw.set_buffers(num, size);
                size
            };
            let pool = port.raw.pool_create(api, num, size).ok_or_else(|| Error::Mmal {
                call: "mmal_port_pool_create",
                object: name.clone(),
                status: crate::Status::NoMemory,
            })?;
            Some(pool)
        } else {
            None
        };
        let sink = Arc::new(Sink {
            port: port.clone(),
            port_name: name.clone(),
            pool,
            state: Mutex::new(SinkState::Enabled),
            panic: Mutex::new(None),
            ended: AtomicBool::new(false),
            received: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            kind,
        });
        port.raw.give_sink(&sink);
        let status = port.raw.enable(api, raw::port_callback);
        if status != sys::MMAL_SUCCESS {
            // Never enabled: no callback can come.
            drop(port.raw.take_sink());
            check(status, "mmal_port_enable", || name.clone())?;
        }
        if let Some(pool) = sink.pool {
            let mut sent = 0;
            while let Some(b) = pool.get(api) {
                if let Err(b) = port.raw.send(api, b) {
                    b.release(api);
                    break;
                }
                sent += 1;
            }
            if sent < pool.size() {
                sink.ended.store(true, Ordering::Release);
                let status = port.raw.disable(api);
                sink.disabled(status);
                sink.drain();
                check(status, "mmal_port_disable", || name.clone())?;
                return Err(Error::State(format!("{name} refused its buffers")));
            }
        }
        Ok(sink)
    }

    /// Called on MMAL's thread for each buffer.
    pub(crate) fn on_buffer(&self, buffer: RawBuffer) {
        let api = self.port.api();
        match &self.kind {
            SinkKind::Frames { queue, ready, capacity } => {
                // Events, buffers given back empty (by a flush), and
                // anything after the end go straight back.
                if buffer.cmd() != 0
                    || buffer.is_given_back()
                    || !self.port.raw.is_enabled()
                    || self.ended.load(Ordering::Acquire)
                {
                    self.recycle(buffer);
                    return;
                }
                self.received.fetch_add(1, Ordering::Relaxed);
                let evicted = {
                    let mut q = crate::lock(queue);
                    let evicted = if q.len() >= *capacity { q.pop_front() } else { None };
                    q.push_back(buffer);
                    evicted
                };
                ready.notify_one();
                if let Some(old) = evicted {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    self.recycle(old);
                }
            }
            SinkKind::Callback(callback) => {
                if buffer.cmd() == 0
                    && !buffer.is_given_back()
                    && self.port.raw.is_enabled()
                    && crate::lock(&self.panic).is_none()
                {
                    self.received.fetch_add(1, Ordering::Relaxed);
                    let view = Buffer { raw: &buffer };
                    let result = catch_unwind(AssertUnwindSafe(|| (crate::lock(callback))(&view)));
                    if let Err(payload) = result {
                        let message = panic_message(payload.as_ref());
                        log::error!("a callback on {} panicked: {message}", self.port_name);
                        *crate::lock(&self.panic) = Some(message);
                    }
                }
                self.recycle(buffer);
            }
            SinkKind::Events { queue, ready } => {
                let event = Event::from_buffer(api, &buffer);
                buffer.release(api);
                if let Some(event) = event {
                    crate::lock(queue).push_back(event);
                    ready.notify_all();
                }
            }
        }
    }

    /// Gives a buffer back to the pool and refills the port from it.
    pub(crate) fn recycle(&self, buffer: RawBuffer) {
        let api = self.port.api();
        buffer.release(api);
        if let Some(pool) = self.pool {
            if self.port.raw.is_enabled() && !self.ended.load(Ordering::Acquire) {
                while let Some(b) = pool.get(api) {
                    if let Err(b) = self.port.raw.send(api, b) {
                        b.release(api);
                        break;
                    }
                }
            }
        }
    }

    /// Records how disabling the port went: on success the port's
    /// reference is reclaimed; on failure it is leaked (see [`Sink`]).
    /// Called with the configuration mutex held.
    fn disabled(&self, status: u32) {
        if status == sys::MMAL_SUCCESS {
            *crate::lock(&self.state) = SinkState::Disabled;
            // Not the last reference: the caller holds one.
            drop(self.port.raw.take_sink());
        } else {
            *crate::lock(&self.state) = SinkState::Failed(status);
            log::error!(
                "{}: mmal_port_disable failed with status {status}; the port keeps its buffers and callback state, \
                 which are never freed, so that no callback can reach freed memory",
                self.port_name
            );
        }
    }

    /// Disables the port; queued frames go back to the pool. Once disabling
    /// failed, every later call reports the same failure.
    pub(crate) fn disable(&self) -> Result<()> {
        let status = {
            let _config = self.port.component.configure(|| self.port_name.clone())?;
            let state = *crate::lock(&self.state);
            match state {
                SinkState::Disabled => return Ok(()),
                SinkState::Failed(status) => status,
                SinkState::Enabled => {
                    self.ended.store(true, Ordering::Release);
                    // A port the provider disabled by itself calls back no more.
                    let status = if self.port.raw.is_enabled() {
                        self.port.raw.disable(self.port.api())
                    } else {
                        sys::MMAL_SUCCESS
                    };
                    self.disabled(status);
                    status
                }
            }
        };
        self.drain();
        check(status, "mmal_port_disable", || self.port_name.clone())
    }

    /// Gives queued frames back to the pool and wakes waiting readers, once
    /// the port is disabled.
    fn drain(&self) {
        match &self.kind {
            SinkKind::Frames { queue, ready, .. } => {
                let queued: Vec<RawBuffer> = crate::lock(queue).drain(..).collect();
                for b in queued {
                    b.release(self.port.api());
                }
                ready.notify_all();
            }
            SinkKind::Events { ready, .. } => ready.notify_all(),
            SinkKind::Callback(_) => {}
        }
    }

    /// Disables on drop of the owner. From one of the component's own
    /// callbacks that would deadlock, so a short-lived thread does it once
    /// the callback has returned.
    pub(crate) fn disable_on_drop(self: &Arc<Sink>) {
        if raw::in_callback_of(self.port.component.raw) {
            let sink = self.clone();
            crate::release_later(&self.port_name, move || {
                if let Err(e) = sink.disable() {
                    log::warn!("{e}");
                }
            });
            return;
        }
        if let Err(e) = self.disable() {
            log::warn!("{e}");
        }
    }

    pub(crate) fn panicked(&self) -> Result<()> {
        match &*crate::lock(&self.panic) {
            Some(message) => Err(Error::CallbackPanicked { port: self.port_name.clone(), message: message.clone() }),
            None => Ok(()),
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.destroy(self.port.api(), self.port.raw);
        }
    }
}

/// A borrowed buffer, inside a callback.
pub struct Buffer<'a> {
    raw: &'a RawBuffer,
}

impl Buffer<'_> {
    /// The valid bytes.
    pub fn data(&self) -> &[u8] {
        self.raw.data()
    }

    /// Presentation time in microseconds, if known.
    pub fn pts(&self) -> Option<i64> {
        self.raw.pts()
    }

    /// `MMAL_BUFFER_HEADER_FLAG_*` bits.
    pub fn flags(&self) -> u32 {
        self.raw.flags()
    }
}

impl fmt::Debug for Buffer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Buffer").field("len", &self.raw.length()).field("pts", &self.pts()).finish()
    }
}

/// Frames from an output port; see [`Port::enable_stream`].
///
/// Dropping the stream disables the port. Frames still held keep the pool
/// (and the component) alive until they are dropped.
pub struct FrameStream {
    sink: Arc<Sink>,
    format: Format,
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
        let capacity = (pool_size(&port, buffers) as usize).saturating_sub(1).max(1);
        let kind = SinkKind::Frames {
            queue: Mutex::new(VecDeque::with_capacity(capacity + 1)),
            ready: Condvar::new(),
            capacity,
        };
        let sink = Sink::enable(port, buffers.max(1), kind)?;
        Ok(FrameStream { sink, format })
    }

    /// The next frame, waiting up to `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] if none came; [`Error::StreamEnded`] after
    /// [`disable`](Self::disable).
    pub fn next_timeout(&self, timeout: Duration) -> Result<Frame> {
        let SinkKind::Frames { queue, ready, .. } = &self.sink.kind else { unreachable!("a frame sink") };
        let deadline = Instant::now() + timeout;
        self.sink.panicked()?;
        let mut q = crate::lock(queue);
        loop {
            if let Some(buffer) = q.pop_front() {
                return Ok(Frame { sink: self.sink.clone(), buffer: Some(buffer) });
            }
            if self.sink.ended.load(Ordering::Acquire) {
                return Err(Error::StreamEnded(self.sink.port_name.clone()));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Timeout { port: self.sink.port_name.clone(), waited: timeout });
            }
            q = ready.wait_timeout(q, deadline - now).unwrap_or_else(std::sync::PoisonError::into_inner).0;
        }
    }

    /// A frame if one is waiting.
    pub fn try_next(&self) -> Option<Frame> {
        let SinkKind::Frames { queue, .. } = &self.sink.kind else { unreachable!("a frame sink") };
        crate::lock(queue).pop_front().map(|buffer| Frame { sink: self.sink.clone(), buffer: Some(buffer) })
    }

    /// Frames the port delivered.
    pub fn received(&self) -> u64 {
        self.sink.received.load(Ordering::Relaxed)
    }

    /// Frames dropped unread because the reader fell behind.
    pub fn dropped(&self) -> u64 {
        self.sink.dropped.load(Ordering::Relaxed)
    }

    /// The port's format when the stream started.
    pub fn format(&self) -> &Format {
        &self.format
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
        let waiting: Vec<RawBuffer> = crate::lock(queue).drain(..).collect();
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

/// A filled buffer from a [`FrameStream`]; dropping it sends the buffer
/// back to the port.
pub struct Frame {
    sink: Arc<Sink>,
    /// Always `Some` until the frame is dropped.
    buffer: Option<RawBuffer>,
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

    /// `MMAL_BUFFER_HEADER_FLAG_*` bits.
    pub fn flags(&self) -> u32 {
        self.buffer().flags()
    }

    /// Whether this buffer ends a frame.
    pub fn is_frame_end(&self) -> bool {
        self.flags() & sys::MMAL_BUFFER_HEADER_FLAG_FRAME_END != 0
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
        f.debug_struct("Frame").field("len", &self.buffer().length()).field("pts", &self.pts()).finish()
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
