//! What an enabled port hands its buffers to: the [`Sink`] (its pools,
//! the queue or callback its buffers go to, its events and format
//! changes, and how far disabling its port got) and the registry of
//! sinks by port that the port callback finds it in.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use mmal_sys as sys;
use parking_lot::{Condvar, Mutex};

use crate::component::Port;
use crate::error::{check, Error, Result};
use crate::event::Event;
use crate::ffi::{self, RawBuffer, RawPool};

use super::{pool_size, Buffer, UserCallback};

/// What a frame stream's queue holds: frames, and the events that came on
/// the port between them, in order.
pub(crate) enum Queued {
    /// A filled buffer, its index among those the port delivered, and
    /// when it arrived (`CLOCK_MONOTONIC`).
    Frame(RawBuffer, u64, std::time::Duration),
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
/// Ownership: the handle the user holds (a
/// [`FrameStream`](super::FrameStream), [`CallbackPort`](super::CallbackPort)
/// or [`Events`](crate::Events)) has one `Arc`, and so does each
/// [`Frame`](super::Frame) taken from it. While the port is enabled the
/// crate's registry of sinks owns one more, under the port's address (the
/// callback finds the sink there, never through the port's `userdata`,
/// which C writes), registered by `RawPort::give_sink` in [`enable`](Self::enable)
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
                let index = self.received.fetch_add(1, Ordering::Relaxed);
                let arrived = ffi::monotonic_now();
                let evicted = {
                    let mut q = queue.lock();
                    let frames = q.iter().filter(|q| matches!(q, Queued::Frame(..))).count();
                    let evicted = if frames >= *capacity {
                        q.iter().position(|q| matches!(q, Queued::Frame(..))).and_then(|i| q.remove(i))
                    } else {
                        None
                    };
                    q.push_back(Queued::Frame(buffer, index, arrived));
                    evicted
                };
                ready.notify_one();
                if let Some(Queued::Frame(old, ..)) = evicted {
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
                    // A port found disabled was disabled behind the stream's
                    // back (through the raw table, as C may): that disable
                    // owns the port's drain, as in libmmal, which clears
                    // `is_enabled` before giving the buffers back.
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
                    if let Queued::Frame(b, ..) = q {
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
