//! Enabled ports: frame streams and callbacks.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mmal_sys as sys;
use parking_lot::{Condvar, Mutex};

use crate::component::Port;
use crate::error::{check, Error, Result};
use crate::event::Event;
use crate::ffi::{self, RawBuffer, RawPool};
use crate::format::{Encoding, Format};

type UserCallback = Box<dyn FnMut(&Buffer<'_>) + Send>;

/// What a frame stream's queue holds: frames, and the events that came on
/// the port between them, in order.
pub(crate) enum Queued {
    Frame(RawBuffer),
    Event(Event),
}

pub(crate) enum SinkKind {
    /// `capacity` frames at most (events are never dropped).
    Frames {
        queue: Mutex<VecDeque<Queued>>,
        ready: Condvar,
        capacity: usize,
    },
    Callback(Mutex<UserCallback>),
    Events {
        queue: Mutex<VecDeque<Event>>,
        ready: Condvar,
    },
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
/// each [`Frame`] taken from it. While the port is enabled the crate's
/// registry of sinks owns one more, under the port's address (the callback
/// finds the sink there, never through the port's `userdata`, which C
/// writes), registered by `RawPort::give_sink` in [`enable`](Self::enable)
/// and reclaimed by `take_sink` in [`disable`](Self::disable) only once the
/// port is disabled (or in `enable` if it never was). If disabling fails,
/// the port may still call back, so that reference is leaked, and with it
/// the sink, its pool and its component: the pool is destroyed when the
/// last reference goes, never while a port may use it. A callback holds one
/// more while it runs; should that be the last (a provider that reported
/// the port disabled while the callback still ran), another thread drops
/// it, never MMAL's.
///
/// A format change that needs new buffers gives the port a new pool; the
/// old one is kept until all its buffers are back (frames the user still
/// holds), then destroyed at the next change or with the sink.
pub(crate) struct Sink {
    pub(crate) port: Port,
    pub(crate) port_name: String,
    /// Buffers asked for (0 for none: the control port).
    buffers: u32,
    pools: Mutex<Pools>,
    state: Mutex<SinkState>,
    panic: Mutex<Option<String>>,
    /// Why applying a format change failed (the port is then disabled).
    failure: Mutex<Option<String>>,
    /// A callback port's format changes waiting to be applied, and whether
    /// a thread is applying them.
    changes: crate::InOrder<Event>,
    pub(crate) ended: AtomicBool,
    pub(crate) received: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) kind: SinkKind,
}

/// Most buffers a [`FrameStream`] takes (ports work with a handful).
const MAX_STREAM_BUFFERS: u32 = 256;

/// Buffers in the pool of a port enabled with `buffers`: at least the
/// port's minimum, and at least one.
fn pool_size(port: &Port, buffers: u32) -> u32 {
    buffers.max(port.buffer_requirements().num_min).max(1)
}

/// A sink's pools: the one the port takes its buffers from, and those a
/// format change replaced whose buffers are not all back yet.
#[derive(Default)]
struct Pools {
    current: Option<RawPool>,
    retired: Vec<RawPool>,
}

/// Sets the port's buffers for a pool of `buffers` (at least its minimum)
/// of the size it recommends, and makes that pool; `None` for 0 buffers.
fn make_pool(port: &Port, buffers: u32) -> Result<Option<RawPool>> {
    if buffers == 0 {
        return Ok(None);
    }
    let num = pool_size(port, buffers);
    let size = {
        let _fields = port.component.fields.lock();
        let req = port.raw.buffers();
        // The stream chooses its buffers: those the format needs, not a
        // size left from an earlier (larger) format.
        let size = req.size_recommended.max(req.size_min);
        port.raw.set_buffers(num, size);
        size
    };
    port.raw.pool_create(port.api(), num, size).map(Some).ok_or_else(|| Error::Mmal {
        call: "mmal_port_pool_create",
        object: port.name(),
        status: crate::Status::NoMemory,
    })
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
    /// counted; a compressed stream (JPEG, H.264, MJPEG) is never cut, and
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

/// The sink of every port the crate enabled (see [`Sink`]'s ownership).
static SINKS: ffi::Registry<Sink> = ffi::Registry::new();

impl ffi::PortHandler for Sink {
    fn registry() -> &'static ffi::Registry<Sink> {
        &SINKS
    }

    fn on_buffer(self: &Arc<Sink>, buffer: RawBuffer) {
        Sink::on_buffer(self, buffer);
    }

    fn note_panic(&self, message: String) {
        *self.panic.lock() = Some(message);
    }
}

impl Sink {
    /// Enables `port` with a new sink: a pool of `buffers` (0 for none),
    /// then every buffer sent to the port.
    pub(crate) fn enable(port: Port, buffers: u32, kind: SinkKind) -> Result<Arc<Sink>> {
        let name = port.name();
        // An input port's buffers come from the client, not back from the
        // component: a sink would send its empty buffers to be consumed and
        // get them straight back, round and round on a core.
        if port.kind() == crate::PortKind::Input {
            return Err(Error::InvalidParameter(format!(
                "{name} is an input port: streams and callbacks are for output and control ports; send buffers \
                 to an input through a Connection from an output port"
            )));
        }
        let _config = port.component.configure(|| port.name())?;
        if port.is_enabled() {
            return Err(Error::State(format!("{name} is already enabled")));
        }
        // Its userdata belongs to the connection.
        if crate::connection::is_connected(&port) {
            return Err(Error::State(format!("{name} is connected: read its frames through the connection")));
        }
        let pool = make_pool(&port, buffers)?;
        let sink = Arc::new(Sink {
            port: port.clone(),
            port_name: name,
            buffers,
            pools: Mutex::new(Pools { current: pool, retired: Vec::new() }),
            state: Mutex::new(SinkState::Enabled),
            panic: Mutex::new(None),
            failure: Mutex::new(None),
            changes: Mutex::new((VecDeque::new(), false)),
            ended: AtomicBool::new(false),
            received: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            kind,
        });
        sink.start()?;
        Ok(sink)
    }

    /// Enables the port (disabled, with its pool made) with this sink and
    /// sends it every buffer of the pool. On failure the port is left
    /// disabled, the stream ended.
    fn start(self: &Arc<Sink>) -> Result<()> {
        let (api, port) = (self.port.api(), &self.port);
        if !port.raw.give_sink(self) {
            // A sink whose disable failed is still registered: the port may
            // still call it back, so it stays.
            self.ended.store(true, Ordering::Release);
            *self.state.lock() = SinkState::Disabled;
            return Err(Error::State(format!(
                "{}: an earlier stream or callback on this port could not be disabled",
                self.port_name
            )));
        }
        let status = port.raw.enable(api, ffi::port_callback::<Sink>);
        if status != sys::MMAL_SUCCESS {
            // Never enabled: no callback can come.
            drop(port.raw.take_sink::<Sink>());
            self.ended.store(true, Ordering::Release);
            *self.state.lock() = SinkState::Disabled;
            return check(status, "mmal_port_enable", || self.port_name.clone());
        }
        // Under the pools' lock, as `recycle` sends: a buffer the port fills
        // and gives back at once is sent again by whichever comes first.
        let refused = {
            let pools = self.pools.lock();
            let mut refused = false;
            if let Some(pool) = pools.current {
                while let Some(b) = pool.get(api) {
                    if let Err(b) = port.raw.send(api, b) {
                        b.release(api);
                        refused = true;
                        break;
                    }
                }
            }
            refused
        };
        if refused {
            self.ended.store(true, Ordering::Release);
            let status = port.raw.disable(api);
            self.disabled(status);
            self.drain();
            check(status, "mmal_port_disable", || self.port_name.clone())?;
            return Err(Error::State(format!("{} refused its buffers", self.port_name)));
        }
        Ok(())
    }

    /// Applies a FORMAT_CHANGED event from the port as libmmal's connection
    /// code applies one: if the port's buffers still fit, it commits the
    /// new format while enabled; otherwise it is disabled, commits the
    /// format, and is enabled again with a new pool of the size now
    /// needed. Takes the configuration mutex, so never on MMAL's threads.
    /// If it fails, the port is left disabled and the stream ended.
    pub(crate) fn apply_format_change(self: &Arc<Sink>, event: &Event) -> Result<()> {
        let Event::FormatChanged { format, buffer_num_min, buffer_size_min, .. } = event else { return Ok(()) };
        let _config = self.port.component.configure(|| self.port_name.clone())?;
        if *self.state.lock() != SinkState::Enabled || self.ended.load(Ordering::Acquire) {
            return Ok(());
        }
        let (api, port) = (self.port.api(), &self.port);
        let commit = || {
            let _fields = port.component.fields.lock();
            port.raw.write_format(format);
            check(port.raw.commit(api), "mmal_port_format_commit", || format!("{} ({format})", self.port_name))
        };
        let now = {
            let _fields = port.component.fields.lock();
            port.raw.buffers()
        };
        if *buffer_size_min <= now.size && *buffer_num_min <= now.num {
            log::debug!("{}: format changed to {format}; the buffers fit", self.port_name);
            return commit();
        }
        log::debug!("{}: format changed to {format}; new buffers of {buffer_size_min} bytes", self.port_name);
        let status = port.raw.disable(api);
        if status != sys::MMAL_SUCCESS {
            self.ended.store(true, Ordering::Release);
            self.disabled(status);
            self.drain();
            return check(status, "mmal_port_disable", || self.port_name.clone());
        }
        // Disabled: no callback can come until `start` hands it back.
        drop(port.raw.take_sink::<Sink>());
        let pool = commit().and_then(|()| make_pool(port, self.buffers));
        let pool = match pool {
            Ok(pool) => pool,
            Err(e) => {
                self.ended.store(true, Ordering::Release);
                *self.state.lock() = SinkState::Disabled;
                self.drain();
                return Err(e);
            }
        };
        {
            let mut pools = self.pools.lock();
            let old = std::mem::replace(&mut pools.current, pool);
            pools.retired.extend(old);
            // Pools whose buffers are all back are no longer needed.
            pools.retired.retain(|p| {
                let done = p.is_full(api);
                if done {
                    p.destroy(api, port.raw);
                }
                !done
            });
        }
        self.start()
    }

    /// Called on MMAL's thread for each buffer.
    pub(crate) fn on_buffer(self: &Arc<Sink>, buffer: RawBuffer) {
        let api = self.port.api();
        if buffer.cmd() != 0 {
            self.on_event(buffer);
            return;
        }
        match &self.kind {
            SinkKind::Frames { queue, ready, capacity } => {
                // Buffers given back empty (by a flush), and anything after
                // the end, go straight back.
                if buffer.is_given_back() || !self.port.raw.is_enabled() || self.ended.load(Ordering::Acquire) {
                    self.recycle(buffer);
                    return;
                }
                self.received.fetch_add(1, Ordering::Relaxed);
                let evicted = {
                    let mut q = queue.lock();
                    let frames = q.iter().filter(|q| matches!(q, Queued::Frame(_))).count();
                    let evicted = if frames >= *capacity {
                        q.iter().position(|q| matches!(q, Queued::Frame(_))).and_then(|i| q.remove(i))
                    } else {
                        None
                    };
                    q.push_back(Queued::Frame(buffer));
                    evicted
                };
                ready.notify_one();
                if let Some(Queued::Frame(old)) = evicted {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    self.recycle(old);
                }
            }
            SinkKind::Callback(callback) => {
                if !buffer.is_given_back() && self.port.raw.is_enabled() {
                    self.received.fetch_add(1, Ordering::Relaxed);
                    self.call(callback, &Buffer { raw: &buffer, event: None });
                }
                self.recycle(buffer);
            }
            SinkKind::Events { .. } => buffer.release(api),
        }
    }

    /// Runs the user's callback unless it panicked before.
    fn call(&self, callback: &Mutex<UserCallback>, view: &Buffer<'_>) {
        if self.panic.lock().is_some() {
            return;
        }
        let result = catch_unwind(AssertUnwindSafe(|| (callback.lock())(view)));
        if let Err(payload) = result {
            let message = crate::panic_message(payload.as_ref());
            log::error!("a callback on {} panicked: {message}", self.port_name);
            *self.panic.lock() = Some(message);
        }
    }

    /// An event buffer (from the component's event pool): decoded and
    /// released at once. A control port's go to its queue; a stream's go
    /// into its queue between the frames, where the reader applies a
    /// format change; a callback sees it, and a format change is then
    /// applied on another thread (it cannot be on MMAL's).
    fn on_event(self: &Arc<Sink>, mut buffer: RawBuffer) {
        let api = self.port.api();
        let event = Event::from_buffer(api, &mut buffer);
        if let (SinkKind::Callback(callback), Some(event)) = (&self.kind, &event) {
            if self.port.raw.is_enabled() {
                self.call(callback, &Buffer { raw: &buffer, event: Some(event) });
            }
        }
        buffer.release(api);
        let Some(event) = event else { return };
        match &self.kind {
            SinkKind::Events { queue, ready } => {
                queue.lock().push_back(event);
                ready.notify_all();
            }
            SinkKind::Frames { queue, ready, .. } => {
                if !self.ended.load(Ordering::Acquire) {
                    queue.lock().push_back(Queued::Event(event));
                    ready.notify_one();
                }
            }
            SinkKind::Callback(_) => {
                if matches!(event, Event::FormatChanged { .. }) && self.port.raw.is_enabled() {
                    // One applier at a time, in the order the events came.
                    crate::apply_in_order(
                        self,
                        |s| &s.changes,
                        event,
                        |sink, event| {
                            if let Err(e) = sink.apply_format_change(&event) {
                                log::error!("{}: the new format could not be applied: {e}", sink.port_name);
                                *sink.failure.lock() = Some(e.to_string());
                            }
                        },
                    );
                }
            }
        }
    }

    /// Gives a buffer back to its pool and refills the port from the
    /// current pool (under the pools' lock, so that no buffer of a pool a
    /// format change replaced reaches the port again).
    pub(crate) fn recycle(&self, buffer: RawBuffer) {
        let api = self.port.api();
        // Released under the lock too, so that a retired pool is never seen
        // full (and destroyed) while a release into it is under way.
        let pools = self.pools.lock();
        buffer.release(api);
        if let Some(pool) = pools.current {
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
            *self.state.lock() = SinkState::Disabled;
            // Not the last reference: the caller holds one.
            drop(self.port.raw.take_sink::<Sink>());
        } else {
            *self.state.lock() = SinkState::Failed(status);
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
            let state = *self.state.lock();
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
                let queued: Vec<Queued> = queue.lock().drain(..).collect();
                let _pools = self.pools.lock();
                for q in queued {
                    if let Queued::Frame(b) = q {
                        b.release(self.port.api());
                    }
                }
                ready.notify_all();
            }
            SinkKind::Events { ready, .. } => {
                ready.notify_all();
            }
            SinkKind::Callback(_) => {}
        }
    }

    /// Disables on drop of the owner. From one of the component's own
    /// callbacks that would deadlock, so a short-lived thread does it once
    /// the callback has returned.
    pub(crate) fn disable_on_drop(self: &Arc<Sink>) {
        if ffi::in_callback_of(self.port.component.raw) {
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
        if let Some(message) = &*self.panic.lock() {
            return Err(Error::CallbackPanicked { port: self.port_name.clone(), message: message.clone() });
        }
        match &*self.failure.lock() {
            Some(reason) => Err(Error::State(format!(
                "{}: the component changed the port's format and applying it failed ({reason}); the port is disabled",
                self.port_name
            ))),
            None => Ok(()),
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let pools = std::mem::take(&mut *self.pools.lock());
        for pool in pools.current.into_iter().chain(pools.retired) {
            pool.destroy(self.port.api(), self.port.raw);
        }
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

    /// `MMAL_BUFFER_HEADER_FLAG_*` bits.
    pub fn flags(&self) -> u32 {
        self.raw.flags()
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
        // falls behind. A compressed stream (JPEG, H.264, MJPEG) is never
        // cut: the port waits for the reader to give buffers back.
        let compressed = matches!(format.encoding, Encoding::JPEG | Encoding::H264 | Encoding::MJPEG);
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
            Queued::Frame(buffer) => Ok(StreamItem::Frame(Frame { sink: self.sink.clone(), buffer: Some(buffer) })),
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
                    Queued::Frame(buffer) => frames.push(buffer),
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
