//! Connections between ports.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use mmal_sys as sys;
use parking_lot::{Mutex, MutexGuard};

use crate::component::{Port, PortKind};
use crate::error::{check, Error, Result, Status};
use crate::ffi::{self, RawBuffer, RawConnection, RawPort};

/// The ports that live connections connect. Each entry holds its port, and
/// so its component: a port stays here until its connection is destroyed,
/// for good if destroying it fails (the connection is then leaked, and
/// still refers to both ports), and a port here is never freed, so its
/// address cannot be reused by another component's port meanwhile.
static CONNECTED: Mutex<Vec<Port>> = Mutex::new(Vec::new());

/// Whether `port` is in `connected`.
fn listed(connected: &[Port], port: &Port) -> bool {
    connected.iter().any(|p| p.raw == port.raw)
}

/// `MMAL_CONNECTION_FLAG_*` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnectionFlags(u32);

impl ConnectionFlags {
    /// Buffers move between the components on the VideoCore, with no
    /// client callback.
    pub const TUNNELLING: ConnectionFlags = ConnectionFlags(sys::MMAL_CONNECTION_FLAG_TUNNELLING);
    /// The pool is made on the input port.
    pub const ALLOCATION_ON_INPUT: ConnectionFlags = ConnectionFlags(sys::MMAL_CONNECTION_FLAG_ALLOCATION_ON_INPUT);
    /// The pool is made on the output port.
    pub const ALLOCATION_ON_OUTPUT: ConnectionFlags = ConnectionFlags(sys::MMAL_CONNECTION_FLAG_ALLOCATION_ON_OUTPUT);
    /// Leave the ports' buffer numbers and sizes as they are.
    pub const KEEP_BUFFER_REQUIREMENTS: ConnectionFlags =
        ConnectionFlags(sys::MMAL_CONNECTION_FLAG_KEEP_BUFFER_REQUIREMENTS);
    /// Do not copy the output's format to the input.
    pub const KEEP_PORT_FORMATS: ConnectionFlags = ConnectionFlags(sys::MMAL_CONNECTION_FLAG_KEEP_PORT_FORMATS);

    /// The raw bits.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Whether all of `other`'s bits are set.
    pub fn contains(self, other: ConnectionFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl Default for ConnectionFlags {
    /// Tunnelled, allocating on the input (as picamera connects).
    fn default() -> ConnectionFlags {
        ConnectionFlags::TUNNELLING | ConnectionFlags::ALLOCATION_ON_INPUT
    }
}

impl std::ops::BitOr for ConnectionFlags {
    type Output = ConnectionFlags;
    fn bitor(self, rhs: ConnectionFlags) -> ConnectionFlags {
        ConnectionFlags(self.0 | rhs.0)
    }
}

/// A connection from an output port to an input port, enabled while it
/// lives: tunnelled (buffers move between the components), or through this
/// process (buffers pass through a closure of yours on the way; see
/// [`through_client`](Self::through_client)). It keeps both components
/// alive; dropping it disables and destroys it (first, in raspistill's
/// order). If the provider refuses to disable or destroy it, it is leaked,
/// with both components and an error logged, and its ports stay connected.
///
/// A connection through the client runs its closure inside both
/// components: configuring either of them from it (a format, buffers,
/// enabling or disabling) is [`Error::WouldDeadlock`].
pub struct Connection {
    raw: RawConnection,
    output: Port,
    input: Port,
    relay: Option<Arc<Relay>>,
    /// Held across enabling (and the first pump), disabling and applying a
    /// format change, so that none runs while another replaces or uses the
    /// connection's pool. `true` once the connection is destroyed.
    ops: Arc<Mutex<bool>>,
}

/// Takes both components' configuration mutexes, in address order: what
/// enables or disables ports takes them. Refused from a callback of either
/// component.
fn lock_both<'a>(a: &'a Port, b: &'a Port) -> Result<(MutexGuard<'a, ()>, Option<MutexGuard<'a, ()>>)> {
    let (first, second) = by_address(a, b);
    let first_guard = first.component.configure(|| first.name())?;
    let second_guard = second.map(|p| p.component.configure(|| p.name())).transpose()?;
    Ok((first_guard, second_guard))
}

/// The two ports in the order their components' mutexes are taken (by
/// address, so that two threads never take them crosswise); the second is
/// `None` when both belong to one component.
fn by_address<'a>(a: &'a Port, b: &'a Port) -> (&'a Port, Option<&'a Port>) {
    let (ca, cb) = (&a.component, &b.component);
    if Arc::ptr_eq(ca, cb) {
        (a, None)
    } else if Arc::as_ptr(ca) < Arc::as_ptr(cb) {
        (a, Some(b))
    } else {
        (b, Some(a))
    }
}

/// Whether a live [`Connection`] connects `port`.
pub(crate) fn is_connected(port: &Port) -> bool {
    listed(&CONNECTED.lock(), port)
}

type Inspect = Box<dyn FnMut(&mut PassingBuffer<'_>) + Send>;

/// What a connection through the client runs on MMAL's threads: buffers
/// from the output go through `inspect` to the input, and empty buffers
/// from the connection's pool go back to the output.
///
/// Ownership: the [`Connection`] holds one `Arc`; while the connection may
/// call back, the crate's registry of relays holds another under the
/// connection's address (the callback finds it there, not through
/// `user_data`), registered by `RawConnection::give_relay` before the first
/// enable and reclaimed by `take_relay` only after a successful disable. If
/// disabling fails it is leaked, as the connection may still call back. The
/// callback holds one more while it runs, dropped on another thread should
/// it be the last.
pub(crate) struct Relay {
    output: Port,
    input: Port,
    inspect: Mutex<Inspect>,
    panic: Mutex<Option<String>>,
    passed: AtomicU64,
    /// One thread pumps at a time, so buffers keep their order and no MMAL
    /// thread waits for another's closure: the others leave `again` set
    /// for it.
    pumping: AtomicBool,
    again: AtomicBool,
    /// The output refused an empty buffer while enabled: no more are sent
    /// until the connection is enabled again (instead of the same buffer
    /// going round forever).
    stalled: AtomicBool,
    /// The connection's `ops` mutex (see [`Connection`]).
    ops: Arc<Mutex<bool>>,
    /// Format changes applied.
    format_changes: AtomicU64,
    /// Why applying the last format change failed, if it did.
    failure: Mutex<Option<Error>>,
    /// Format change events waiting to be applied, and whether a thread is
    /// applying them.
    changes: crate::InOrder<(RawConnection, RawBuffer)>,
}

/// The relay of every connection through the client the crate enabled
/// (see [`Relay`]'s ownership).
static RELAYS: ffi::Registry<Relay> = ffi::Registry::new();

impl ffi::ConnectionHandler for Relay {
    fn registry() -> &'static ffi::Registry<Relay> {
        &RELAYS
    }

    fn ports(&self) -> (RawPort, RawPort) {
        (self.output.raw, self.input.raw)
    }

    fn pump(self: &Arc<Relay>, connection: RawConnection) {
        Relay::pump(self, connection);
    }

    fn note_panic(&self, message: String) {
        Relay::note_panic(self, message);
    }
}

impl Relay {
    fn note_panic(&self, message: String) {
        log::error!("a connection's closure on {} panicked: {message}", self.output.name());
        *self.panic.lock() = Some(message);
    }

    /// Moves what is waiting: filled buffers to the input (through
    /// `inspect`), empty ones to the output. Runs on MMAL's threads, and
    /// after each enable; if another thread is pumping, it leaves the work
    /// to that one and returns at once.
    pub(crate) fn pump(self: &Arc<Relay>, connection: RawConnection) {
        self.again.store(true, Ordering::SeqCst);
        loop {
            if self.pumping.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_err() {
                return;
            }
            while self.again.swap(false, Ordering::AcqRel) {
                self.pump_once(connection);
            }
            self.pumping.store(false, Ordering::Release);
            // Work that came after the last look, while still pumping.
            if !self.again.load(Ordering::Acquire) {
                return;
            }
        }
    }

    fn pump_once(self: &Arc<Relay>, connection: RawConnection) {
        let api = self.output.api();
        while let Some(mut buffer) = connection.queue_get(api) {
            if buffer.cmd() == sys::MMAL_EVENT_FORMAT_CHANGED {
                // Applied as libmmal's connections apply it, which may
                // disable the connection: not on MMAL's threads, one at a
                // time, in order.
                crate::apply_in_order(
                    self,
                    |r| &r.changes,
                    (connection, buffer),
                    |relay, (connection, event)| {
                        relay.apply_format_change(connection, event);
                    },
                );
                continue;
            }
            if buffer.cmd() != 0 {
                log::debug!("{}: event {:#x} on a connection through the client", self.output.name(), buffer.cmd());
                buffer.release(api);
                continue;
            }
            if buffer.is_given_back() {
                // Nothing in it: a buffer the output gave back (as it does
                // when disabled) goes back to the pool.
                buffer.release(api);
                continue;
            }
            if buffer.length() > 0 {
                let mut inspect = self.inspect.lock();
                if self.panic.lock().is_none() {
                    self.passed.fetch_add(1, Ordering::Relaxed);
                    let mut passing = PassingBuffer { raw: &mut buffer };
                    let result = catch_unwind(AssertUnwindSafe(|| inspect(&mut passing)));
                    if let Err(payload) = result {
                        self.note_panic(crate::panic_message(payload.as_ref()));
                    }
                }
            }
            if !self.input.raw.is_enabled() {
                buffer.release(api);
            } else if let Err(buffer) = self.input.raw.send(api, buffer) {
                buffer.release(api);
            }
        }
        while self.output.raw.is_enabled() && !self.stalled.load(Ordering::Acquire) {
            let Some(buffer) = connection.pool_get(api) else { break };
            if let Err(buffer) = self.output.raw.send(api, buffer) {
                if self.output.raw.is_enabled() {
                    log::error!("{} refused a buffer: the connection stalls until enabled again", self.output.name());
                    self.stalled.store(true, Ordering::Release);
                }
                buffer.release(api);
                break;
            }
        }
    }
}

impl Relay {
    /// What `mmal_connection_event_format_changed` does with a FORMAT_CHANGED
    /// event from the output. When the input takes such events and the
    /// buffers fit, libmmal's function itself forwards it (nothing waits
    /// there). Otherwise its reconfiguration, step by step, so that the
    /// ports' field mutexes are never held across the disable, which waits
    /// for callbacks that may read the ports: disable the connection,
    /// commit the format on the output, then the output's on the input,
    /// and enable the connection (new buffers).
    fn reconfigure(&self, connection: RawConnection, event: &mut RawBuffer) -> Result<()> {
        let api = self.output.api();
        let name = || format!("{} -> {}", self.output.name(), self.input.name());
        let Some(([num_min, size_min, _, _], format, _)) = event.format_changed(api) else {
            return Err(Error::InvalidParameter(format!("{}: a FORMAT_CHANGED event without a format", name())));
        };
        let both_fields = || {
            let (first, second) = by_address(&self.output, &self.input);
            (first.component.fields.lock(), second.map(|p| p.component.fields.lock()))
        };
        let fits = {
            let _fields = both_fields();
            let out = self.output.raw.buffers();
            self.input.raw.capabilities() & sys::MMAL_PORT_CAPABILITY_SUPPORTS_EVENT_FORMAT_CHANGE != 0
                && size_min <= out.size
                && num_min <= out.num
        };
        if fits {
            let _fields = both_fields();
            return check(connection.event_format_changed(api, event), "mmal_connection_event_format_changed", name);
        }
        check(connection.disable(api), "mmal_connection_disable", name)?;
        {
            let _fields = both_fields();
            self.output.raw.write_format(&format);
            check(self.output.raw.commit(api), "mmal_port_format_commit", || self.output.name())?;
            let committed = self.output.raw.format();
            self.input.raw.write_format(&committed);
            check(self.input.raw.commit(api), "mmal_port_format_commit", || self.input.name())?;
        }
        let _fields = both_fields();
        check(connection.enable(api), "mmal_connection_enable", name)
    }

    /// `mmal_connection_event_format_changed` for a FORMAT_CHANGED event
    /// from the output, with both configuration mutexes and `ops` held,
    /// then a pump to get buffers moving again. The event buffer is
    /// released here in every case.
    fn apply_format_change(self: &Arc<Relay>, connection: RawConnection, mut event: RawBuffer) {
        let api = self.output.api();
        let name = || format!("{} -> {}", self.output.name(), self.input.name());
        let result = (|| {
            let _config = lock_both(&self.output, &self.input)?;
            let destroyed = self.ops.lock();
            if *destroyed {
                return Ok(None);
            }
            if !connection.is_enabled() {
                log::warn!("{}: a format change came while the connection was disabled; it is not applied", name());
                return Ok(None);
            }
            self.reconfigure(connection, &mut event)?;
            Ok(Some(destroyed))
        })();
        event.release(api);
        match result {
            Ok(Some(ops)) => {
                self.format_changes.fetch_add(1, Ordering::Relaxed);
                *self.failure.lock() = None;
                self.stalled.store(false, Ordering::Release);
                ffi::as_callback_of_both(self.output.raw, self.input.raw, || self.pump(connection));
                drop(ops);
            }
            Ok(None) => {}
            Err(e) => {
                log::error!("{}: the format change could not be applied: {e}", name());
                *self.failure.lock() = Some(e);
            }
        }
    }
}

/// A buffer on its way through a connection, inside your closure: look at
/// it or change it before it goes on to the input.
pub struct PassingBuffer<'a> {
    raw: &'a mut RawBuffer,
}

impl PassingBuffer<'_> {
    /// The valid bytes.
    pub fn data(&self) -> &[u8] {
        self.raw.data()
    }

    /// The valid bytes, to change them.
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.raw.data_mut()
    }

    /// Presentation time in microseconds, if known.
    pub fn pts(&self) -> Option<i64> {
        self.raw.pts()
    }

    /// The buffer's flags.
    pub fn flags(&self) -> crate::BufferFlags {
        crate::BufferFlags::from_bits(self.raw.flags())
    }
}

impl fmt::Debug for PassingBuffer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PassingBuffer").field("len", &self.raw.length()).field("pts", &self.pts()).finish()
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection").field("output", &self.output.name()).field("input", &self.input.name()).finish()
    }
}

impl Connection {
    /// Connects `output` to `input` (copying the output's format across
    /// unless [`ConnectionFlags::KEEP_PORT_FORMATS`]) and enables the
    /// connection. Use `ConnectionFlags::default()` (a tunnel) unless you
    /// know better; without [`ConnectionFlags::TUNNELLING`] buffers pass
    /// through this process untouched (see
    /// [`through_client`](Self::through_client) to look at them).
    ///
    /// # Errors
    ///
    /// [`Error::State`] for ports of the wrong kind, already enabled or
    /// already connected; [`Error::Mmal`] if either side refuses.
    pub fn new(output: &Port, input: &Port, flags: ConnectionFlags) -> Result<Connection> {
        let inspect: Option<Inspect> = if flags.contains(ConnectionFlags::TUNNELLING) {
            None
        } else {
            Some(Box::new(|_: &mut PassingBuffer<'_>| {}))
        };
        Connection::create(output, input, flags, inspect)
    }

    /// Connects `output` to `input` through this process, as libmmal's
    /// connections without tunnelling do: the connection owns a pool, and
    /// every buffer the output fills passes through `inspect` (on MMAL's
    /// thread; keep it quick) before it goes to the input. Use it to read
    /// frames on their way to an encoder, or to change them. Payloads are
    /// VCSM memory shared with the VideoCore when both ports are in
    /// zero-copy mode ([`params::ZeroCopy`](crate::params::ZeroCopy)).
    ///
    /// ```
    /// # fn main() -> mmal::Result<()> {
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    /// use mmal::{params::Capture, Component, Connection, Encoding, Format};
    ///
    /// let camera = Component::new("vc.ril.camera")?;
    /// let sink = Component::new("vc.null_sink")?;
    /// let video = camera.output(1)?;
    /// video.set_format(&Format::video(Encoding::I420, 320, 240).with_frame_rate(30))?;
    /// let bytes = Arc::new(AtomicU64::new(0));
    /// let seen = bytes.clone();
    /// let link = Connection::through_client(&video, &sink.input(0)?, move |buffer| {
    ///     seen.fetch_add(buffer.data().len() as u64, Ordering::Relaxed);
    /// })?;
    /// sink.enable()?;
    /// camera.enable()?;
    /// video.set(&Capture(true))?;
    /// # let start = std::time::Instant::now();
    /// # while link.passed() < 2 && start.elapsed().as_secs() < 10 { std::thread::sleep(std::time::Duration::from_millis(5)); }
    /// # assert!(link.passed() >= 2);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As for [`new`](Self::new).
    pub fn through_client<F>(output: &Port, input: &Port, inspect: F) -> Result<Connection>
    where
        F: FnMut(&mut PassingBuffer<'_>) + Send + 'static,
    {
        Connection::create(output, input, ConnectionFlags::ALLOCATION_ON_INPUT, Some(Box::new(inspect)))
    }

    fn create(output: &Port, input: &Port, flags: ConnectionFlags, inspect: Option<Inspect>) -> Result<Connection> {
        if output.kind() != PortKind::Output || input.kind() != PortKind::Input {
            return Err(Error::State(format!(
                "connect an output to an input, not {} to {}",
                output.name(),
                input.name()
            )));
        }
        let api = output.api();
        let name = || format!("{} -> {}", output.name(), input.name());
        let config = lock_both(output, input)?;
        // Checked with both configuration mutexes held, which whatever
        // enables a port (a stream, a callback, another connection) holds
        // too: libmmal's connection overwrites the ports' `userdata`, and an
        // enabled port belongs to its stream.
        if let Some(port) = [output, input].into_iter().find(|p| p.is_enabled()) {
            return Err(Error::State(format!(
                "{} is enabled (a stream or callback reads it): disable it before connecting it",
                port.name()
            )));
        }
        let mut connected = CONNECTED.lock();
        // Refused here: libmmal answers EISCONN with a connection object
        // that cannot be destroyed without breaking the existing one.
        if let Some(port) = [output, input].into_iter().find(|p| listed(&connected, p)) {
            return Err(Error::State(format!("{} is already connected", port.name())));
        }
        let raw = ffi::connection_create(api, output.raw, input.raw, flags.bits()).map_err(|status| Error::Mmal {
            call: "mmal_connection_create",
            object: name(),
            status: Status::from_raw(status).unwrap_or(Status::Unknown(status)),
        })?;
        connected.extend([output.clone(), input.clone()]);
        drop(connected);
        let ops = Arc::new(Mutex::new(false));
        let relay = inspect.map(|inspect| {
            let relay = Arc::new(Relay {
                output: output.clone(),
                input: input.clone(),
                inspect: Mutex::new(inspect),
                panic: Mutex::new(None),
                passed: AtomicU64::new(0),
                pumping: AtomicBool::new(false),
                again: AtomicBool::new(false),
                stalled: AtomicBool::new(false),
                ops: ops.clone(),
                format_changes: AtomicU64::new(0),
                failure: Mutex::new(None),
                changes: Mutex::new((std::collections::VecDeque::new(), false)),
            });
            raw.give_relay(&relay);
            relay
        });
        let connection = Connection { raw, output: output.clone(), input: input.clone(), relay, ops };
        let enabled = {
            let _ops = connection.ops.lock();
            connection.enable_raw()
        };
        // Before `connection` can be dropped: its drop takes these mutexes.
        drop(config);
        enabled?;
        let ops = connection.ops.lock();
        connection.first_pump();
        drop(ops);
        Ok(connection)
    }

    /// Buffers that passed through the closure of a connection through the
    /// client (0 for a tunnel).
    pub fn passed(&self) -> u64 {
        self.relay.as_ref().map_or(0, |r| r.passed.load(Ordering::Relaxed))
    }

    /// Format changes from the output that the connection applied (a
    /// connection through the client; see [`through_client`](Self::through_client)).
    pub fn format_changes(&self) -> u64 {
        self.relay.as_ref().map_or(0, |r| r.format_changes.load(Ordering::Relaxed))
    }

    /// `Err` if the closure of a connection through the client panicked
    /// (it is not called again; buffers keep flowing), or if the last
    /// format change from the output could not be applied.
    ///
    /// # Errors
    ///
    /// [`Error::CallbackPanicked`] with the panic message; the error of
    /// the failed format change ([`Error::Mmal`] from
    /// `mmal_connection_event_format_changed`, usually).
    pub fn check(&self) -> Result<()> {
        let Some(relay) = &self.relay else { return Ok(()) };
        if let Some(message) = relay.panic.lock().clone() {
            return Err(Error::CallbackPanicked { port: self.output.name(), message });
        }
        match relay.failure.lock().as_ref() {
            Some(e) => Err(Error::State(e.to_string())),
            None => Ok(()),
        }
    }

    /// Whether buffers are flowing.
    pub fn is_enabled(&self) -> bool {
        self.raw.is_enabled()
    }

    /// Stops the flow (the connection stays).
    ///
    /// # Errors
    ///
    /// [`Error::Mmal`] if a port refuses.
    pub fn disable(&self) -> Result<()> {
        let _config = lock_both(&self.output, &self.input)?;
        let _ops = self.ops.lock();
        check(self.raw.disable(self.output.api()), "mmal_connection_disable", || self.output.name())
    }

    /// Restarts the flow.
    ///
    /// # Errors
    ///
    /// [`Error::WouldDeadlock`] from a callback of either component (the
    /// closure of a connection through the client included);
    /// [`Error::Mmal`] if a port refuses.
    pub fn enable(&self) -> Result<()> {
        let ops = {
            let _config = lock_both(&self.output, &self.input)?;
            let ops = self.ops.lock();
            self.enable_raw()?;
            ops
        };
        self.first_pump();
        drop(ops);
        Ok(())
    }

    /// Fills the output of a connection through the client from its new
    /// pool, passing on what is waiting. Runs with the connection's `ops`
    /// mutex held and the configuration mutexes released (the closure may
    /// run here), marked as a callback as on MMAL's threads.
    fn first_pump(&self) {
        if let Some(relay) = &self.relay {
            relay.stalled.store(false, Ordering::Release);
            ffi::as_callback_of_both(self.output.raw, self.input.raw, || relay.pump(self.raw));
        }
    }

    /// `mmal_connection_enable`, with both components' configuration
    /// mutexes and the connection's `ops` mutex held by the caller.
    fn enable_raw(&self) -> Result<()> {
        // libmmal's connection sets both ports' buffer numbers and sizes on
        // every enable (unless KEEP_BUFFER_REQUIREMENTS).
        let (first, second) = by_address(&self.output, &self.input);
        let status = {
            let _first = first.component.fields.lock();
            let _second = second.map(|p| p.component.fields.lock());
            self.raw.enable(self.output.api())
        };
        check(status, "mmal_connection_enable", || self.output.name())
    }

    /// The output port.
    pub fn output(&self) -> &Port {
        &self.output
    }

    /// The input port.
    pub fn input(&self) -> &Port {
        &self.input
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let (raw, output, input, relay) = (self.raw, self.output.clone(), self.input.clone(), self.relay.is_some());
        let ops = self.ops.clone();
        let destroy = move || {
            let _config = match lock_both(&output, &input) {
                Ok(guards) => guards,
                Err(e) => {
                    log::error!("the connection {} -> {} is leaked: {e}", output.name(), input.name());
                    return;
                }
            };
            let mut destroyed = ops.lock();
            // Through the client: the relay's reference comes back once the
            // connection is disabled and can call back no more.
            if relay {
                let status = raw.disable(output.api());
                if status != sys::MMAL_SUCCESS {
                    log::error!(
                        "disabling the connection {} -> {}: status {status}; leaked",
                        output.name(),
                        input.name()
                    );
                    return;
                }
                drop(raw.take_relay::<Relay>());
            }
            let status = raw.destroy(output.api());
            if status == sys::MMAL_SUCCESS {
                *destroyed = true;
                // Dropped after the lock: `output` and `input` still hold
                // the components, so no release runs here anyway.
                let gone: Vec<Port> = {
                    let mut connected = CONNECTED.lock();
                    let (gone, kept) = std::mem::take(&mut *connected)
                        .into_iter()
                        .partition(|p| p.raw == output.raw || p.raw == input.raw);
                    *connected = kept;
                    gone
                };
                drop(gone);
            } else {
                // The ports stay connected.
                log::error!("destroying the connection {} -> {}: status {status}", output.name(), input.name());
            }
        };
        // Destroying waits for the components' callbacks: from inside one,
        // another thread does it once the callback has returned.
        if ffi::in_callback_of(self.output.component.raw) || ffi::in_callback_of(self.input.component.raw) {
            crate::release_later("a connection", destroy);
        } else {
            destroy();
        }
    }
}
