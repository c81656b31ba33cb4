//! The client: open, the typed calls, buffers by cookie, close.

mod delivery;

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use vchiq::{Connection, Fourcc, ServiceOptions};
use vchiq_sys as sys;

use crate::core::{key, Core, Held, InFlight, Item, Router, Sending};
use crate::error::{Error, Result};
use crate::types::{BufferToSend, Component, Cookie, Event, Memory, PortInfo, PortRef, PortType, Returned, Stats};
use crate::wire;

/// The first MMAL version (major, minor) that takes an empty EOS buffer as
/// BUFFER_FROM_HOST_ZEROLEN.
const ZEROLEN_SINCE: (u32, u32) = (12, 2);
/// The first major MMAL version that takes the PORT_FLUSH message.
const PORT_FLUSH_SINCE: u32 = 15;

/// Receives what the VideoCore sends on its own: returned buffers and
/// events, in arrival order, on the client's delivery thread (never on the
/// VCHIQ completion thread). The handler may call back into the client
/// (send a buffer again, get a parameter, disable a port): `client` is a
/// handle for that; do not keep it (a handle kept by the handler keeps the
/// client open).
///
/// ```
/// use mmal_vchiq::{Client, Event, Handler, Returned};
/// struct Print;
/// impl Handler for Print {
///     fn buffer(&self, _client: &Client, buffer: Returned) {
///         println!("{} bytes", buffer.length);
///     }
///     fn event(&self, _client: &Client, event: Event) {
///         println!("event {:#x}", event.cmd);
///     }
/// }
/// ```
pub trait Handler: Send + Sync + 'static {
    /// A buffer came back (or was released by the client: see
    /// [`Returned::released`]). Its cookie is free again.
    fn buffer(&self, client: &Client, buffer: Returned);
    /// An event from a port.
    fn event(&self, client: &Client, event: Event) {
        let _ = (client, event);
    }
    /// The client closed (or the VideoCore closed the service, or the
    /// client closed itself because its bulk data order was lost: later
    /// calls say which): every buffer has been handed back; nothing
    /// follows.
    fn closed(&self) {}
}

/// A shared handler is a handler: the caller can keep a handle on it.
///
/// ```
/// # use std::sync::Arc;
/// struct Count(std::sync::atomic::AtomicUsize);
/// impl mmal_vchiq::Handler for Count {
///     fn buffer(&self, _: &mmal_vchiq::Client, _: mmal_vchiq::Returned) {
///         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///     }
/// }
/// fn shared(h: Arc<Count>) -> impl mmal_vchiq::Handler { h }
/// ```
impl<H: Handler + ?Sized> Handler for Arc<H> {
    fn buffer(&self, client: &Client, buffer: Returned) {
        (**self).buffer(client, buffer)
    }
    fn event(&self, client: &Client, event: Event) {
        (**self).event(client, event)
    }
    fn closed(&self) {
        (**self).closed()
    }
}

/// How the client waits and how many buffers it can have out.
///
/// ```
/// let mut options = mmal_vchiq::Options::default();
/// options.cookies = 64;
/// assert_eq!(options.reply_timeout, std::time::Duration::from_secs(3));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// How long a request waits for its reply (3 s, as the kernel's own
    /// MMAL client).
    pub reply_timeout: Duration,
    /// How long a port disable waits for the VideoCore to return the
    /// port's buffers before the client releases them itself.
    pub drain_timeout: Duration,
    /// How long a bulk transfer of buffer data may take. A transfer not
    /// done by then cannot be withdrawn from VCHIQ (it would take the next
    /// buffer's data), so the client closes with
    /// [`Error::DataOrderLost`](crate::Error::DataOrderLost).
    pub bulk_timeout: Duration,
    /// Buffers the client can have with the VideoCore at once (cookies).
    pub cookies: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            reply_timeout: Duration::from_secs(3),
            drain_timeout: Duration::from_secs(3),
            bulk_timeout: Duration::from_secs(5),
            cookies: 1024,
        }
    }
}

/// Closes the client when the last handle goes.
struct Owner {
    core: Arc<Core>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        if let Err(e) = self.core.close() {
            log::warn!("mmal-vchiq: closing: {e}");
        }
        let thread = self.thread.lock().take();
        if self.core.on_delivery_thread() {
            // Dropped by the handler: the delivery thread finishes by
            // itself once the handler returns (it sees `stop`); it cannot
            // join itself. Dropping the handle detaches it.
            return;
        }
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

/// A host-side MMAL client over one VCHIQ service: typed requests (each
/// with a timeout), buffers identified by generation-tagged cookies, and a
/// delivery thread that hands returned buffers and events to a
/// [`Handler`].
///
/// Cloning is cheap; the last clone closes the client (as does
/// [`close`](Client::close)). Every call may be made from any thread,
/// the handler's included; on the VCHIQ completion thread (a callback of
/// another service on the same connection), where its reply could never
/// arrive, a request fails at once with
/// `Error::Vchiq(vchiq::Error::OnCompletionThread(_))`.
///
/// ```
/// # use std::sync::Arc;
/// use mmal_vchiq::{Client, Handler, Returned};
/// struct Ignore;
/// impl Handler for Ignore {
///     fn buffer(&self, _: &Client, _: Returned) {}
/// }
/// let device = Arc::new(vchiq_emu::EmulatedVchiq::new());
/// let connection = vchiq::Connection::with_device(device, vchiq::Options::default())?;
/// let client = Client::open(&connection, Ignore)?;
/// let camera = client.component_create("vc.ril.camera")?;
/// assert_eq!(camera.outputs, 3);
/// client.component_destroy(camera.handle)?;
/// client.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Client {
    core: Arc<Core>,
    handler: Arc<dyn Handler>,
    options: Arc<Options>,
    version: (u32, u32, u32),
    /// `None` for the delivery thread's handle, which closes nothing.
    owner: Option<Arc<Owner>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("version", &self.version).field("stats", &self.stats()).finish()
    }
}

impl Client {
    /// Opens the MMAL service on `connection` (version 15, accepting 10
    /// and later, as the kernel's client) and checks the VideoCore's MMAL
    /// version (GET_VERSION), with the default [`Options`].
    ///
    /// # Errors
    ///
    /// The connection's ([`Error::Vchiq`]: the service is unavailable),
    /// [`Error::IncompatibleVersion`], [`Error::Timeout`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # struct Ignore;
    /// # impl mmal_vchiq::Handler for Ignore { fn buffer(&self, _: &mmal_vchiq::Client, _: mmal_vchiq::Returned) {} }
    /// let connection = vchiq::Connection::with_device(Arc::new(vchiq_emu::EmulatedVchiq::new()), Default::default())?;
    /// let client = mmal_vchiq::Client::open(&connection, Ignore)?;
    /// assert!(client.version().0 >= 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(connection: &Connection, handler: impl Handler) -> Result<Client> {
        Client::open_with(connection, Options::default(), handler)
    }

    /// [`open`](Client::open) with its own [`Options`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # struct Ignore;
    /// # impl mmal_vchiq::Handler for Ignore { fn buffer(&self, _: &mmal_vchiq::Client, _: mmal_vchiq::Returned) {} }
    /// # let connection = vchiq::Connection::with_device(Arc::new(vchiq_emu::EmulatedVchiq::new()), Default::default())?;
    /// let mut options = mmal_vchiq::Options::default();
    /// options.cookies = 16;
    /// let client = mmal_vchiq::Client::open_with(&connection, options, Ignore)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_with(connection: &Connection, options: Options, handler: impl Handler) -> Result<Client> {
        if options.cookies == 0 || options.cookies > crate::slab::MAX_SLOTS {
            return Err(Error::InvalidArgument("Options::cookies must be 1..=1048575"));
        }
        let router = Arc::new(Router::default());
        let callback_router = Arc::clone(&router);
        let service_options = ServiceOptions::new(Fourcc::MMAL, sys::VC_MMAL_VER as i16, sys::VC_MMAL_MIN_VER as i16)
            .reply_context(wire::reply_context)
            .on_event(move |event| callback_router.on_event(event));
        let service = connection.open_service(service_options).map_err(Error::from)?;
        let core = Arc::new(Core::new(
            service,
            router,
            options.cookies,
            options.reply_timeout,
            options.bulk_timeout,
            delivery::stage,
        ));
        let owner = Arc::new(Owner { core: Arc::clone(&core), thread: Mutex::new(None) });
        let mut client = Client {
            core,
            handler: Arc::new(handler),
            options: Arc::new(options),
            version: (0, 0, 0),
            owner: Some(owner),
        };
        // Dropping `client` on a failure closes the service again.
        let reply = client.core.request(sys::MMAL_MSG_TYPE_GET_VERSION, |ctx| {
            Ok(wire::message(sys::MMAL_MSG_TYPE_GET_VERSION, ctx, 16))
        })?;
        let v = wire::version_reply(&reply)?;
        if v.major < sys::VC_MMAL_MIN_VER || v.minimum > sys::VC_MMAL_VER {
            return Err(Error::IncompatibleVersion {
                major: v.major,
                minor: v.minor,
                minimum: v.minimum,
                client: sys::VC_MMAL_VER,
                client_min: sys::VC_MMAL_MIN_VER,
            });
        }
        client.version = (v.major, v.minor, v.minimum);
        let view = client.view();
        let thread = std::thread::Builder::new()
            .name("mmal-delivery".into())
            .spawn(move || delivery::run(view))
            .map_err(|e| Error::Vchiq(vchiq::Error::Io { call: "starting the delivery thread", source: e }))?;
        if let Some(owner) = &client.owner {
            *owner.thread.lock() = Some(thread);
        }
        Ok(client)
    }

    /// A handle that does not keep the client open (the delivery thread's).
    fn view(&self) -> Client {
        Client { owner: None, ..self.clone() }
    }

    /// The VideoCore's MMAL version: major, minor, and the oldest client
    /// version it accepts.
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client) {
    /// let (major, minor, _) = client.version();
    /// println!("MMAL {major}.{minor}");
    /// # }
    /// ```
    pub fn version(&self) -> (u32, u32, u32) {
        self.version
    }

    /// Whether the caller is this client's delivery thread: inside one of
    /// the handler's calls (where, for one, a component the buffer being
    /// handled belongs to cannot be destroyed).
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client) {
    /// assert!(!client.on_delivery_thread());
    /// # }
    /// ```
    pub fn on_delivery_thread(&self) -> bool {
        self.core.on_delivery_thread()
    }

    /// Counters: buffers out, stale cookies dropped, buffers released,
    /// data bytes moved.
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client) {
    /// assert_eq!(client.stats().stale_buffers, 0);
    /// # }
    /// ```
    pub fn stats(&self) -> Stats {
        Stats {
            buffers_in_flight: self.core.buffers.lock().slab.len(),
            stale_buffers: self.core.stale.load(std::sync::atomic::Ordering::Relaxed),
            released_buffers: self.core.released.load(std::sync::atomic::Ordering::Relaxed),
            components: self.core.components.lock().len(),
            bytes_received: self.core.bytes_received.load(std::sync::atomic::Ordering::Relaxed),
            bytes_sent: self.core.bytes_sent.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// Creates a component (COMPONENT_CREATE). `name` may carry libmmal's
    /// `vc.` prefix or not: the wire takes it without (`ril.camera`,
    /// `null_sink`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an empty name, one of 128 bytes or
    /// more, or one with a NUL; [`Error::Mmal`] if the VideoCore has no
    /// such component (`ENOENT`, `ENOSYS`) or too many (`ENOMEM`).
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client) -> mmal_vchiq::Result<()> {
    /// let camera = client.component_create("vc.ril.camera")?;
    /// println!("{} outputs", camera.outputs);
    /// # Ok(()) }
    /// ```
    pub fn component_create(&self, name: &str) -> Result<Component> {
        let wire_name = name.strip_prefix("vc.").unwrap_or(name).as_bytes();
        if wire_name.is_empty()
            || wire_name.len() >= sys::MMAL_WORKER_COMPONENT_NAME_SIZE as usize
            || wire_name.contains(&0)
        {
            return Err(Error::InvalidArgument("a component name is 1 to 127 bytes without NUL"));
        }
        let cookie = loop {
            let c = self.core.next_component.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if c != 0 {
                break c;
            }
        };
        // Not beside a destroy: its handle may be the one given out now.
        let _lifecycle = self.core.lifecycle.lock();
        // Its events are counted from the first (see `wait_events`).
        self.core.router.count_events(cookie, true);
        let ty = sys::MMAL_MSG_TYPE_COMPONENT_CREATE;
        let created = self
            .core
            .request(ty, |ctx| Ok(wire::component_create(ctx, cookie, wire_name)))
            .and_then(|reply| wire::component_create_reply(&reply));
        let component = created.inspect_err(|_| self.core.router.count_events(cookie, false))?;
        // The handle is new to the firmware: whatever the client still
        // kept under it (a destroy that got no answer) was another's.
        self.core.buffers.lock().forget_component(component.handle);
        self.core.release_component_use(component.handle);
        self.core.forget_cookies(component.handle);
        self.core.components.lock().insert(cookie, component.handle);
        // A use for the component's life, as libmmal holds one.
        match self.core.with_service(|s| s.hold_use().map_err(Error::from)) {
            Ok(guard) => {
                self.core.component_uses.lock().insert(component.handle, guard);
                // A close that emptied the map meanwhile: the use goes
                // too (a guard keeps the connection alive).
                if self.core.buffers.lock().closing {
                    self.core.release_component_use(component.handle);
                }
            }
            Err(e) => log::warn!("mmal-vchiq: a use of the VideoCore for {name}: {e}"),
        }
        Ok(component)
    }

    fn component_op(&self, ty: u32, handle: u32) -> Result<()> {
        let reply = self.core.request(ty, |ctx| Ok(wire::component_op(ty, ctx, handle)))?;
        wire::check_reply(&reply, ty, 4, true)
    }

    /// Destroys a component (COMPONENT_DESTROY): the VideoCore disables its
    /// ports and returns their buffers, which the client waits for (and
    /// releases itself after [`Options::drain_timeout`]).
    ///
    /// # Errors
    ///
    /// Those of a request; [`Error::HandlerBusy`] if the component is
    /// destroyed but a buffer of it is still in the handler.
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client, c: mmal_vchiq::Component) -> mmal_vchiq::Result<()> {
    /// client.component_destroy(c.handle)?;
    /// # Ok(()) }
    /// ```
    pub fn component_destroy(&self, handle: u32) -> Result<()> {
        // Until its buffers are drained: no new component takes the handle
        // meanwhile.
        let _lifecycle = self.core.lifecycle.lock();
        let removed: Vec<_> = {
            let mut b = self.core.buffers.lock();
            let ports: Vec<_> = b.enabled.iter().filter(|k| k.0 == handle).copied().collect();
            ports.iter().for_each(|k| {
                b.enabled.remove(k);
            });
            // As a disable: the sends that found a port enabled go first.
            let deadline = self.core.sends_deadline();
            for k in &ports {
                self.core.wait_sends(&mut b, *k, deadline);
            }
            ports
        };
        if let Err(e) = self.component_op(sys::MMAL_MSG_TYPE_COMPONENT_DESTROY, handle) {
            if matches!(e, Error::Mmal { .. }) {
                // Refused: the component lives on, with its use.
                self.core.buffers.lock().enabled.extend(removed);
            } else {
                // No answer: its use goes back, as libmmal's does on every
                // path.
                self.core.release_component_use(handle);
            }
            return Err(e);
        }
        // Its ports were taken out of `enabled` above.
        self.core.buffers.lock().forget_component(handle);
        self.core.forget_cookies(handle);
        self.core.release_component_use(handle);
        self.drain(|p| p.component == handle)
    }

    /// Enables a component (COMPONENT_ENABLE).
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client, c: mmal_vchiq::Component) -> mmal_vchiq::Result<()> {
    /// client.component_enable(c.handle)?;
    /// # Ok(()) }
    /// ```
    pub fn component_enable(&self, handle: u32) -> Result<()> {
        self.component_op(sys::MMAL_MSG_TYPE_COMPONENT_ENABLE, handle)
    }

    /// Disables a component (COMPONENT_DISABLE).
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client, c: mmal_vchiq::Component) -> mmal_vchiq::Result<()> {
    /// client.component_disable(c.handle)?;
    /// # Ok(()) }
    /// ```
    pub fn component_disable(&self, handle: u32) -> Result<()> {
        self.component_op(sys::MMAL_MSG_TYPE_COMPONENT_DISABLE, handle)
    }

    /// A port's description (PORT_INFO_GET): its handle, buffer needs and
    /// format.
    ///
    /// # Errors
    ///
    /// [`Error::Mmal`] `ENOENT` for no such port, `EINVAL` for an unknown
    /// component; [`Error::Malformed`] if the reply describes another kind
    /// of port, or a port handle 0.
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client, c: mmal_vchiq::Component) -> mmal_vchiq::Result<()> {
    /// let video = client.port_info_get(c.handle, mmal_vchiq::PortType::Output, 1)?;
    /// println!("{}x{}", video.format.video.width, video.format.video.height);
    /// # Ok(()) }
    /// ```
    pub fn port_info_get(&self, component: u32, kind: PortType, index: u32) -> Result<PortInfo> {
        let ty = sys::MMAL_MSG_TYPE_PORT_INFO_GET;
        let reply = self.core.request(ty, |ctx| Ok(wire::port_info_get(ctx, component, kind, index)))?;
        let mut info = wire::port_info_reply(&reply, ty)?;
        // The VideoCore may leave `found` 0 on success: the status and the
        // port's type are what count (a reply describing another kind of
        // port is not this port's); the handle is the reply's.
        if info.port.kind != kind {
            return Err(Error::Malformed {
                call: wire::type_name(ty),
                what: format!("a {:?} port asked for, a {:?} port described", kind, info.port.kind),
            });
        }
        if (info.port.component, info.port.index) != (component, index) {
            log::debug!("mmal-vchiq: PORT_INFO_GET answered for {:?}, asked for {:?}", info.port, (component, index));
            (info.port.component, info.port.index) = (component, index);
        }
        if info.port.handle == 0 {
            return Err(Error::Malformed { call: wire::type_name(ty), what: "port handle 0".into() });
        }
        Ok(info)
    }

    /// Sets a port's format, buffer count and size and userdata
    /// (PORT_INFO_SET; the VideoCore commits the format) and returns the
    /// port as the VideoCore now describes it. The port's identity is the
    /// one given (the handle in a SET reply is not relied on).
    ///
    /// # Errors
    ///
    /// [`Error::Mmal`] if the VideoCore refuses the format (the port keeps
    /// its old one), [`Error::InvalidArgument`] for extradata over 128
    /// bytes.
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client, c: mmal_vchiq::Component) -> mmal_vchiq::Result<()> {
    /// let mut info = client.port_info_get(c.handle, mmal_vchiq::PortType::Output, 1)?;
    /// info.format.encoding = mmal_sys::MMAL_ENCODING_I420;
    /// let info = client.port_info_set(&info)?;
    /// # Ok(()) }
    /// ```
    pub fn port_info_set(&self, info: &PortInfo) -> Result<PortInfo> {
        let ty = sys::MMAL_MSG_TYPE_PORT_INFO_SET;
        let reply = self.core.request(ty, |ctx| wire::port_info_set(ctx, info))?;
        let mut answer = wire::port_info_reply(&reply, ty)?;
        if answer.port != info.port {
            log::debug!("mmal-vchiq: PORT_INFO_SET answered for {:?}, asked for {:?}", answer.port, info.port);
        }
        answer.port = info.port;
        Ok(answer)
    }

    fn port_action(&self, port: &PortRef, action: u32, num: u32, size: u32) -> Result<()> {
        let ty = sys::MMAL_MSG_TYPE_PORT_ACTION;
        let reply = self.core.request(ty, |ctx| Ok(wire::port_action_port(ctx, port, action, num, size)))?;
        wire::check_reply(&reply, ty, 4, true)
    }

    /// Enables a port (PORT_ACTION ENABLE) for `buffer_num` buffers of
    /// `buffer_size` bytes (0, 0: the counts the port has); from then on
    /// buffers may be sent to it. For the output of a tunnel, this enables
    /// the tunnel (no buffers go through the host).
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client, info: &mmal_vchiq::PortInfo) -> mmal_vchiq::Result<()> {
    /// client.port_enable(&info.port, 3, info.buffer_size)?;
    /// # Ok(()) }
    /// ```
    pub fn port_enable(&self, port: &PortRef, buffer_num: u32, buffer_size: u32) -> Result<()> {
        self.port_action(port, sys::MMAL_MSG_PORT_ACTION_TYPE_ENABLE, buffer_num, buffer_size)?;
        self.core.buffers.lock().enabled.insert(key(port));
        Ok(())
    }

    /// Disables a port (PORT_ACTION DISABLE). Buffers can no longer be sent
    /// to it from the moment it is called. Once the VideoCore has answered,
    /// waits (at most [`Options::drain_timeout`]) until every buffer of the
    /// port has come back through the handler; any it did not return are
    /// then released by the client (handed to the handler with
    /// [`Returned::released`]) and their cookies freed: when this returns,
    /// every buffer sent to the port has been through the handler, as
    /// `mmal_port_disable` guarantees. Called from the handler, it delivers
    /// what arrives meanwhile itself.
    ///
    /// # Errors
    ///
    /// Those of a request (the port stays enabled if the VideoCore refuses);
    /// [`Error::HandlerBusy`] if the port is disabled but one of its buffers
    /// is still in the handler (on another thread) after the drain timeout,
    /// twice: call again once the handler has returned.
    ///
    /// A port this client does not hold enabled (disabled already, or
    /// after [`Error::HandlerBusy`]) is not disabled again on the
    /// VideoCore: its buffers are only waited for, so a disable can be
    /// retried and is idempotent, as libmmal's is.
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client, port: &mmal_vchiq::PortRef) -> mmal_vchiq::Result<()> {
    /// client.port_disable(port)?;
    /// assert_eq!(client.stats().buffers_in_flight, 0);
    /// # Ok(()) }
    /// ```
    pub fn port_disable(&self, port: &PortRef) -> Result<()> {
        let k = key(port);
        // No send finds the port enabled from here on, and those that did
        // have queued their messages before the disable's goes.
        let was_enabled = {
            let mut b = self.core.buffers.lock();
            let was_enabled = b.enabled.remove(&k);
            self.core.wait_sends(&mut b, k, self.core.sends_deadline());
            was_enabled
        };
        if !was_enabled {
            return self.drain(|p| key(p) == k);
        }
        if let Err(e) = self.port_action(port, sys::MMAL_MSG_PORT_ACTION_TYPE_DISABLE, 0, 0) {
            if was_enabled && matches!(e, Error::Mmal { .. }) {
                // Refused: the port is still enabled on the VideoCore.
                self.core.buffers.lock().enabled.insert(k);
            }
            return Err(e);
        }
        // As libmmal's disable runs the callbacks queued for the component
        // before it returns: an event the VideoCore sent before its answer
        // (the camera's error with a failed enable, sent at the latest as
        // its control port disables) reaches the handler first.
        self.wait_events(port.component, Instant::now() + self.options.drain_timeout);
        self.drain(|p| key(p) == k)
    }

    /// Waits (until `deadline`) until the handler has been given every
    /// event of component `handle` that came in before now (or the
    /// delivery thread has dropped it). On the delivery thread, delivers
    /// them itself; those the handler has now (the caller's own) count as
    /// given.
    fn wait_events(&self, handle: u32, deadline: Instant) {
        let cookie = self.core.components.lock().iter().find_map(|(&cookie, &h)| (h == handle).then_some(cookie));
        let Some(cookie) = cookie else { return };
        let on_delivery = self.core.on_delivery_thread();
        let router = &self.core.router;
        let mut st = router.state.lock();
        let Some(&[until, _, _]) = st.events.get(&cookie) else { return };
        let given = |&[_, done, in_hand]: &[u64; 3]| done + if on_delivery { in_hand } else { 0 };
        while st.events.get(&cookie).is_some_and(|counts| given(counts) < until) {
            if st.closed.is_some() {
                return;
            }
            if Instant::now() >= deadline {
                log::warn!("mmal-vchiq: events of component {handle:#x} not delivered within the port's disable");
                return;
            }
            if on_delivery {
                drop(st);
                delivery::pump(self, deadline);
                st = router.state.lock();
            } else {
                router.cond.wait_until(&mut st, deadline);
            }
        }
    }

    /// Waits (bounded) until no buffer `of` picks is out; releases those
    /// left and waits for their delivery. A buffer the VideoCore has
    /// returned already (its message queued behind a handler that takes
    /// long) is not released: it comes back with its data and flags when
    /// the delivery thread gets to it.
    fn drain(&self, of: impl Fn(&PortRef) -> bool + Copy) -> Result<()> {
        if self.wait_drained(of, Instant::now() + self.options.drain_timeout) {
            return Ok(());
        }
        let returned: std::collections::HashSet<u32> = {
            let st = self.core.router.state.lock();
            st.queue
                .iter()
                .filter_map(|item| match item {
                    Item::Message(m) if wire::message_type(m) == Some(sys::MMAL_MSG_TYPE_BUFFER_TO_HOST) => {
                        wire::buffer_to_host(m).ok().map(|b| b.cookie)
                    }
                    _ => None,
                })
                .collect()
        };
        let cookies = {
            let mut b = self.core.buffers.lock();
            let mut cookies = b.slab.cookies_where(|e| of(&e.port) && !e.released);
            cookies.retain(|c| !returned.contains(&c.to_u32()));
            for c in &cookies {
                if let Some(e) = b.slab.get_mut(*c) {
                    e.released = true;
                }
            }
            cookies
        };
        if !cookies.is_empty() {
            log::warn!(
                "mmal-vchiq: the VideoCore did not return {} buffer(s) within {:?}; released",
                cookies.len(),
                self.options.drain_timeout
            );
            self.core.released.fetch_add(cookies.len() as u64, std::sync::atomic::Ordering::Relaxed);
            let mut st = self.core.router.state.lock();
            st.queue.extend(cookies.into_iter().map(Item::Released));
            drop(st);
            self.core.router.cond.notify_all();
        }
        if self.wait_drained(of, Instant::now() + self.options.drain_timeout) {
            return Ok(());
        }
        if let Some(e) = self.core.closed_error() {
            // The delivery thread hands them back as it finishes.
            return Err(e);
        }
        Err(Error::HandlerBusy { after: self.options.drain_timeout })
    }

    fn wait_drained(&self, of: impl Fn(&PortRef) -> bool + Copy, deadline: Instant) -> bool {
        let on_delivery = self.core.on_delivery_thread();
        loop {
            let mut b = self.core.buffers.lock();
            if self.core.outstanding(&b, of) == 0 {
                return true;
            }
            if Instant::now() >= deadline || self.core.closed_error().is_some() {
                return false;
            }
            if on_delivery {
                drop(b);
                delivery::pump(self, deadline);
            } else {
                self.core.buffers_cond.wait_until(&mut b, deadline);
            }
        }
    }

    /// Flushes a port (PORT_ACTION FLUSH): the VideoCore returns the
    /// buffers it holds (through the handler); the port stays enabled.
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client, port: &mmal_vchiq::PortRef) -> mmal_vchiq::Result<()> {
    /// client.port_flush(port)?;
    /// # Ok(()) }
    /// ```
    pub fn port_flush(&self, port: &PortRef) -> Result<()> {
        let sent_bulk = self.core.buffers.lock().sent_bulk.contains(&key(port));
        if !sent_bulk || self.version.0 < PORT_FLUSH_SINCE {
            return self.port_action(port, sys::MMAL_MSG_PORT_ACTION_TYPE_FLUSH, 0, 0);
        }
        // A port that has sent data by bulk is flushed as libmmal flushes
        // it (firmware 15 on): PORT_FLUSH, with a dummy bulk behind it, so
        // that the flush cannot overtake data still on its way.
        let ty = sys::MMAL_MSG_TYPE_PORT_FLUSH;
        let reply =
            self.core.request_with_bulk(ty, |ctx| Ok(wire::port_flush(ctx, port)), vec![0; wire::DUMMY_BULK])?;
        wire::check_reply(&reply, ty, 4, true)
    }

    /// Sets a disabled port's buffer count and size on the VideoCore
    /// (PORT_ACTION SET_REQUIREMENTS), as libmmal tells the input of a
    /// tunnel before enabling the tunnel from its output.
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client, input: &mmal_vchiq::PortInfo) -> mmal_vchiq::Result<()> {
    /// client.port_set_requirements(&input.port, 3, input.buffer_size)?;
    /// # Ok(()) }
    /// ```
    pub fn port_set_requirements(&self, port: &PortRef, buffer_num: u32, buffer_size: u32) -> Result<()> {
        self.port_action(port, sys::MMAL_MSG_PORT_ACTION_TYPE_SET_REQUIREMENTS, buffer_num, buffer_size)
    }

    /// Connects an output port to an input port on the VideoCore
    /// (PORT_ACTION CONNECT): a tunnel, enabled and disabled through the
    /// output; its frames never come to the host.
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client, out: &mmal_vchiq::PortRef, input: &mmal_vchiq::PortRef) -> mmal_vchiq::Result<()> {
    /// client.port_connect(out, input)?;
    /// client.port_enable(out, 0, 0)?;
    /// # Ok(()) }
    /// ```
    pub fn port_connect(&self, output: &PortRef, input: &PortRef) -> Result<()> {
        let ty = sys::MMAL_MSG_TYPE_PORT_ACTION;
        let action = sys::MMAL_MSG_PORT_ACTION_TYPE_CONNECT;
        let reply = self.core.request(ty, |ctx| Ok(wire::port_action_handle(ctx, output, action, Some(input))))?;
        wire::check_reply(&reply, ty, 4, true)
    }

    /// Takes down the tunnel from an output port (PORT_ACTION DISCONNECT).
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client, out: &mmal_vchiq::PortRef) -> mmal_vchiq::Result<()> {
    /// client.port_disconnect(out)?;
    /// # Ok(()) }
    /// ```
    pub fn port_disconnect(&self, output: &PortRef) -> Result<()> {
        let ty = sys::MMAL_MSG_TYPE_PORT_ACTION;
        let action = sys::MMAL_MSG_PORT_ACTION_TYPE_DISCONNECT;
        let reply = self.core.request(ty, |ctx| Ok(wire::port_action_handle(ctx, output, action, None)))?;
        wire::check_reply(&reply, ty, 4, true)
    }

    /// Sets a parameter given as MMAL lays it out: `id` (u32), `size` (u32,
    /// header included, equal to `param.len()`), then the value (at most 384
    /// bytes), little-endian (PORT_PARAMETER_SET).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if the header is missing or its size
    /// disagrees; [`Error::Mmal`] as the VideoCore answers (`ENOSYS` for a
    /// parameter the port does not know).
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client, control: &mmal_vchiq::PortRef) -> mmal_vchiq::Result<()> {
    /// let mut p = mmal_sys::MMAL_PARAMETER_CAMERA_NUM.to_le_bytes().to_vec();
    /// p.extend_from_slice(&12u32.to_le_bytes());
    /// p.extend_from_slice(&0u32.to_le_bytes());
    /// client.parameter_set(control, &p)?;
    /// # Ok(()) }
    /// ```
    pub fn parameter_set(&self, port: &PortRef, param: &[u8]) -> Result<()> {
        let (id, value) = split_parameter(param)?;
        self.parameter_set_value(port, id, value)
    }

    /// Sets parameter `id` to `value` (at most 384 bytes).
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client, port: &mmal_vchiq::PortRef) -> mmal_vchiq::Result<()> {
    /// client.parameter_set_value(port, mmal_sys::MMAL_PARAMETER_CAPTURE, &1u32.to_le_bytes())?;
    /// # Ok(()) }
    /// ```
    pub fn parameter_set_value(&self, port: &PortRef, id: u32, value: &[u8]) -> Result<()> {
        if value.len() > wire::PARAM_SPACE {
            return Err(Error::InvalidArgument("a parameter's value is at most 384 bytes"));
        }
        let ty = sys::MMAL_MSG_TYPE_PORT_PARAMETER_SET;
        let reply = self.core.request(ty, |ctx| Ok(wire::parameter_set(ctx, port, id, value)))?;
        wire::check_reply(&reply, ty, 4, true)?;
        if id == mmal_sys::MMAL_PARAMETER_ZERO_COPY {
            let mut buffers = self.core.buffers.lock();
            // MMAL_PARAMETER_BOOLEAN_T: its `enable`, as the firmware reads it.
            if value.get(..4).is_some_and(|w| w != [0; 4]) {
                buffers.zero_copy.insert(key(port));
            } else {
                buffers.zero_copy.remove(&key(port));
            }
        }
        Ok(())
    }

    /// Gets a parameter given as MMAL lays it out: `param` holds its header
    /// (`id`, and `size`: the room for the answer, header included, at most
    /// 392) and any value bytes the parameter takes as input; the answer is
    /// the parameter as the VideoCore fills it (header with the size it
    /// reports, then the value).
    ///
    /// # Errors
    ///
    /// [`Error::ParameterTooSmall`] (with the size needed) if the room is
    /// too small; [`Error::Mmal`] as the VideoCore answers.
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client, port: &mmal_vchiq::PortRef) -> mmal_vchiq::Result<()> {
    /// let mut p = mmal_sys::MMAL_PARAMETER_CAPTURE.to_le_bytes().to_vec();
    /// p.extend_from_slice(&12u32.to_le_bytes());
    /// let answer = client.parameter_get(port, &p)?;
    /// assert_eq!(answer.len(), 12);
    /// # Ok(()) }
    /// ```
    pub fn parameter_get(&self, port: &PortRef, param: &[u8]) -> Result<Vec<u8>> {
        if param.len() < wire::PARAM_HEADER {
            return Err(Error::InvalidArgument("a parameter starts with its 8-byte header"));
        }
        let id = wire::get(param, 0);
        let size = wire::get(param, 4) as usize;
        if !(wire::PARAM_HEADER..=wire::PARAM_HEADER + wire::PARAM_SPACE).contains(&size) {
            return Err(Error::InvalidArgument("a parameter's size is 8 to 392 bytes, its header included"));
        }
        let input = &param[wire::PARAM_HEADER..param.len().min(size)];
        self.get_parameter(port, id, size - wire::PARAM_HEADER, input)
    }

    fn get_parameter(&self, port: &PortRef, id: u32, space: usize, input: &[u8]) -> Result<Vec<u8>> {
        let ty = sys::MMAL_MSG_TYPE_PORT_PARAMETER_GET;
        let reply = self.core.request(ty, |ctx| Ok(wire::parameter_get(ctx, port, id, space, input)))?;
        wire::parameter_get_reply(&reply, id, space)
    }

    /// Gets parameter `id`'s value, with room for `space` bytes (at most
    /// 384): the value the VideoCore reports (without the header).
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client, port: &mmal_vchiq::PortRef) -> mmal_vchiq::Result<()> {
    /// let value = client.parameter_get_value(port, mmal_sys::MMAL_PARAMETER_CAPTURE, 4)?;
    /// # Ok(()) }
    /// ```
    pub fn parameter_get_value(&self, port: &PortRef, id: u32, space: usize) -> Result<Vec<u8>> {
        if space > wire::PARAM_SPACE {
            return Err(Error::InvalidArgument("a parameter's value is at most 384 bytes"));
        }
        let mut p = self.get_parameter(port, id, space, &[])?;
        p.drain(..wire::PARAM_HEADER);
        Ok(p)
    }

    /// Sets a 32-bit parameter (booleans, integers).
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client, port: &mmal_vchiq::PortRef) -> mmal_vchiq::Result<()> {
    /// client.parameter_set_u32(port, mmal_sys::MMAL_PARAMETER_ZERO_COPY, 1)?;
    /// # Ok(()) }
    /// ```
    pub fn parameter_set_u32(&self, port: &PortRef, id: u32, value: u32) -> Result<()> {
        self.parameter_set_value(port, id, &value.to_le_bytes())
    }

    /// Gets a 32-bit parameter.
    ///
    /// # Errors
    ///
    /// Those of [`parameter_get_value`](Client::parameter_get_value);
    /// [`Error::Malformed`] if the answer is not 4 bytes.
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client, port: &mmal_vchiq::PortRef) -> mmal_vchiq::Result<()> {
    /// let capturing = client.parameter_get_u32(port, mmal_sys::MMAL_PARAMETER_CAPTURE)? != 0;
    /// # Ok(()) }
    /// ```
    pub fn parameter_get_u32(&self, port: &PortRef, id: u32) -> Result<u32> {
        let v = self.parameter_get_value(port, id, 4)?;
        match <[u8; 4]>::try_from(v.as_slice()) {
            Ok(w) => Ok(u32::from_le_bytes(w)),
            Err(_) => Err(Error::Malformed {
                call: wire::type_name(sys::MMAL_MSG_TYPE_PORT_PARAMETER_GET),
                what: format!("a value of {} bytes for a 32-bit parameter {id:#x}", v.len()),
            }),
        }
    }

    /// Hands a buffer to a port this client enabled (BUFFER_FROM_HOST) and
    /// returns its cookie. An input's payload goes inline when it is at
    /// most 128 bytes, else by a bulk transmit queued right after the
    /// message; an output's data comes back by bulk into its memory; with
    /// [`Memory::VideoCore`] nothing is copied (zero copy). A zero-length
    /// input (an empty EOS) carries no data. The buffer comes back through
    /// the handler, in the order the VideoCore returns it.
    ///
    /// # Errors
    ///
    /// [`Error::PortNotEnabled`] (also once a disable of the port has
    /// begun), [`Error::NoCookies`], [`Error::InvalidArgument`] (a control
    /// port, `length` over `alloc_size` or over the memory given; memory
    /// other than [`Memory::VideoCore`] to a port this client turned
    /// `MMAL_PARAMETER_ZERO_COPY` on for, or a block to any other port: the
    /// firmware takes every buffer as its port makes it),
    /// [`Error::Closed`], [`Error::ServiceClosed`], [`Error::DataOrderLost`];
    /// `Error::Vchiq(vchiq::Error::Timeout { .. })` when an input's bulk
    /// transfer gets no slot within the connection's bulk timeout (nothing
    /// was sent: the client goes on). If an input's data cannot be queued
    /// after its message went out, the client closes
    /// ([`Error::DataOrderLost`]). On an error the buffer's memory is
    /// dropped and no cookie is used.
    ///
    /// ```no_run
    /// # fn f(client: &mmal_vchiq::Client, info: &mmal_vchiq::PortInfo) -> mmal_vchiq::Result<()> {
    /// let size = info.buffer_size;
    /// let cookie = client.send_buffer(&info.port, mmal_vchiq::BufferToSend::output(Vec::new(), size))?;
    /// # Ok(()) }
    /// ```
    pub fn send_buffer(&self, port: &PortRef, buffer: BufferToSend) -> Result<Cookie> {
        if port.kind == PortType::Control {
            return Err(Error::InvalidArgument("buffers go to input, output and clock ports"));
        }
        let input = port.kind != PortType::Output;
        let length = if input { buffer.length } else { 0 };
        if length > buffer.alloc_size {
            return Err(Error::InvalidArgument("a buffer's length is at most its alloc_size"));
        }
        let offset = if input { buffer.offset } else { 0 };
        let (data_word, zero_copy, mut host, lent) = match buffer.memory {
            Memory::VideoCore { handle } => {
                if offset.checked_add(length).is_none_or(|end| end > buffer.alloc_size) {
                    return Err(Error::InvalidArgument(
                        "an input's offset and length lie inside its block's alloc_size",
                    ));
                }
                (handle, true, None, None)
            }
            _ if offset != 0 => {
                return Err(Error::InvalidArgument(
                    "an offset is for an input's VideoCore block (host memory starts at 0)",
                ))
            }
            Memory::Host(v) => {
                if (v.len() as u64) < u64::from(length) {
                    return Err(Error::InvalidArgument("a buffer's length is more than its memory holds"));
                }
                (0, false, Some(v), None)
            }
            Memory::Lent(_) if input => {
                return Err(Error::InvalidArgument("lent memory is for output buffers (inputs go as Host memory)"))
            }
            Memory::Lent(b) => (0, false, None, Some(b)),
        };
        let inline = host.as_ref().filter(|_| buffer.inline && length > 0 && length as usize <= wire::SHORT_DATA_MAX);
        let inline = inline.map(|v| v[..length as usize].to_vec());
        let bulk = host.is_some() && inline.is_none() && length > 0;
        // An empty EOS buffer goes as BUFFER_FROM_HOST_ZEROLEN with a dummy
        // bulk behind it (firmware 12.2 on, as libmmal sends it), so that
        // it cannot overtake the data of the buffers sent before it.
        let zerolen = host.is_some()
            && length == 0
            && buffer.flags & sys::MMAL_MSG_BUFFER_FLAG_EOS != 0
            && (self.version.0, self.version.1) >= ZEROLEN_SINCE;
        let (cookie, sending) = {
            // Checked under the lock that guards them: a disable or a close
            // that has begun sees this buffer in the slab, or refuses it.
            let mut buffers = self.core.buffers.lock();
            if buffers.closing {
                return Err(self.core.closed_error().unwrap_or(Error::Closed));
            }
            if let Some(e) = self.core.closed_error() {
                return Err(e);
            }
            if !buffers.enabled.contains(&key(port)) {
                return Err(Error::PortNotEnabled { component: port.component, port: port.handle });
            }
            // The firmware takes a buffer as its port makes it, whatever
            // the message says: a mismatch would be misread there.
            match (buffers.zero_copy.contains(&key(port)), zero_copy) {
                (true, false) => {
                    return Err(Error::InvalidArgument(
                        "a port with MMAL_PARAMETER_ZERO_COPY on takes VideoCore blocks only (Memory::VideoCore)",
                    ))
                }
                (false, true) => {
                    return Err(Error::InvalidArgument(
                        "a VideoCore block goes only to a port with MMAL_PARAMETER_ZERO_COPY on (set it through this client)",
                    ))
                }
                _ => {}
            }
            let entry = InFlight {
                port: *port,
                tag: buffer.tag,
                alloc_size: buffer.alloc_size,
                memory: Held::Pending,
                released: false,
            };
            let capacity = buffers.slab.capacity();
            let cookie = buffers.slab.insert(entry).map_err(|_| Error::NoCookies { capacity })?;
            // Counted until the message is queued (the guard's drop): a
            // disable waits for it (see `Buffers::sending`).
            (cookie, Sending::begin(&self.core, &mut buffers, key(port)))
        };
        let message = wire::buffer_from_host(&wire::BufferOut {
            port,
            cookie: cookie.to_u32(),
            data: data_word,
            alloc_size: buffer.alloc_size,
            length,
            offset,
            flags: buffer.flags,
            pts: buffer.pts,
            dts: buffer.dts,
            zero_copy,
            inline: inline.as_deref(),
            video: &buffer.video,
            zerolen,
        });
        // Sent without the slab locked (the send may block); the entry
        // stays pending until it is known what its memory is: a buffer
        // that comes back meanwhile waits for that.
        let sent = self.core.with_service(|s| {
            if bulk || zerolen {
                let mut data = host.take().expect("bulk data is host memory");
                if zerolen {
                    // The dummy: the buffer's own memory, 8 bytes of it
                    // (it comes back empty).
                    data.clear();
                    data.resize(wire::DUMMY_BULK, 0);
                } else {
                    // VCHIQ moves whole words: the payload, rounded up.
                    data.resize((length as usize).next_multiple_of(4), 0);
                }
                // The bulk slot is reserved before the message goes out:
                // the message never promises data that cannot follow.
                match s.send_with_bulk(&[&message], data) {
                    Ok(t) => Ok(Some(t)),
                    Err(vchiq::Error::BulkNotQueued(e)) => {
                        log::warn!("mmal-vchiq: an input buffer's data could not follow its message: {e}");
                        Err(Error::DataOrderLost { what: "an input buffer's data could not follow its message" })
                    }
                    Err(e) => Err(Error::from(e)),
                }
            } else {
                s.send(&[&message]).map(|()| None).map_err(Error::from)
            }
        });
        if sent.is_ok() && (bulk || inline.is_some()) {
            self.core.bytes_sent.fetch_add(u64::from(length), std::sync::atomic::Ordering::Relaxed);
        }
        let mut buffers = self.core.buffers.lock();
        let result = match sent {
            Ok(transfer) => {
                if bulk || zerolen {
                    // Data, or a dummy, went by bulk: a flush now goes
                    // behind it (PORT_FLUSH), as libmmal's does.
                    buffers.sent_bulk.insert(key(port));
                }
                let memory = match (transfer, host, lent) {
                    (Some(t), ..) => Held::Sending(t, length as usize),
                    (None, Some(v), _) => Held::Host(v),
                    (None, None, Some(b)) => Held::Lent(b),
                    (None, None, None) => Held::VideoCore(data_word),
                };
                match buffers.slab.get_mut(cookie) {
                    Some(e) => e.memory = memory,
                    // Taken while still pending (the delivery thread gave up
                    // waiting): it has been through the handler already.
                    None => log::warn!("mmal-vchiq: buffer {:#x} was handed back while being sent", cookie.to_u32()),
                }
                Ok(cookie)
            }
            Err(e) => {
                // Not sent (or, for a lost data order, never to be answered
                // in step): no cookie is used.
                buffers.slab.remove(cookie);
                Err(e)
            }
        };
        // Its message is queued (or failed): a disable may go on.
        sending.end(&mut buffers);
        drop(buffers);
        self.core.buffers_cond.notify_all();
        if let Err(Error::DataOrderLost { what }) = &result {
            self.core.fail_data_order(what);
        }
        result
    }

    /// Closes the client: calls waiting for a reply fail with
    /// [`Error::Closed`], the service closes, and the delivery thread hands
    /// every buffer still out to the handler (as released), calls
    /// [`Handler::closed`] and ends (joined here, unless this is called by
    /// the handler). Later calls fail with [`Error::Closed`].
    ///
    /// ```no_run
    /// # fn f(client: mmal_vchiq::Client) -> mmal_vchiq::Result<()> {
    /// client.close()?;
    /// # Ok(()) }
    /// ```
    pub fn close(&self) -> Result<()> {
        let result = self.core.close();
        if !self.core.on_delivery_thread() {
            if let Some(owner) = &self.owner {
                if let Some(t) = owner.thread.lock().take() {
                    let _ = t.join();
                }
            }
        }
        result
    }
}

/// A parameter's id and value, its header checked.
fn split_parameter(param: &[u8]) -> Result<(u32, &[u8])> {
    if param.len() < wire::PARAM_HEADER {
        return Err(Error::InvalidArgument("a parameter starts with its 8-byte header"));
    }
    if wire::get(param, 4) as usize != param.len() {
        return Err(Error::InvalidArgument("a parameter's size must be its length, header included"));
    }
    Ok((wire::get(param, 0), &param[wire::PARAM_HEADER..]))
}
