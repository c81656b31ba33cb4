//! What the client's handles, its delivery thread and the VCHIQ callback
//! share: the service, the replies awaited, the queue of what arrived, the
//! buffer cookies and the enabled ports.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard, RwLock};
use vchiq::{BulkTransfer, Service, ServiceEvent};

use crate::error::{Error, Result};
use crate::slab::Slab;
use crate::types::{Cookie, Event, PortRef, Returned};
use crate::wire;

/// Why the client no longer talks to the VideoCore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closed {
    /// `close`, or the last handle dropped.
    ByClient,
    /// The VideoCore closed the service, or the connection failed.
    ByVideoCore,
    /// A bulk transfer could not be completed or skipped in order: the
    /// client closed the service itself (what happened, for the error).
    DataOrderLost(&'static str),
}

impl Closed {
    /// The error for a call on a client closed this way.
    pub(crate) fn error(self) -> Error {
        match self {
            Closed::ByClient => Error::Closed,
            Closed::ByVideoCore => Error::ServiceClosed,
            Closed::DataOrderLost(what) => Error::DataOrderLost { what },
        }
    }
}

/// What the delivery thread takes, in arrival order.
pub(crate) enum Item {
    /// A message that is not a reply: a buffer, an event.
    Message(Vec<u8>),
    /// A buffer the client released (its port was disabled and the
    /// VideoCore did not return it in time): delivered as released.
    Released(Cookie),
    /// The service closed: nothing follows.
    Closed,
}

#[derive(Default)]
pub(crate) struct RouterState {
    pub(crate) closed: Option<Closed>,
    /// Replies awaited, by context: `Some` once in.
    pub(crate) replies: HashMap<u32, Option<Vec<u8>>>,
    pub(crate) queue: VecDeque<Item>,
    /// The delivery thread is to finish.
    pub(crate) stop: bool,
    /// EVENT_TO_HOST messages by the host's component cookie, for each
    /// live component (an entry from its create to its destroy): how many
    /// were queued, how many of those the delivery thread is done with
    /// (handed to the handler, or dropped), and how many the handler has
    /// now. A port disable waits for the component's events queued before
    /// its reply (see `Client::wait_events`).
    pub(crate) events: HashMap<u32, [u64; 3]>,
}

/// Routes what the VCHIQ callback receives (on the completion thread,
/// never blocking): replies to their waiters, the rest to the delivery
/// queue.
#[derive(Default)]
pub(crate) struct Router {
    pub(crate) state: Mutex<RouterState>,
    pub(crate) cond: Condvar,
    /// The connection's completion thread (known from the first event:
    /// the reply to GET_VERSION at open).
    completion_thread: OnceLock<ThreadId>,
}

impl Router {
    /// The delivery thread is done with an EVENT_TO_HOST for component
    /// `cookie` (see [`RouterState::events`]): `handed` if the handler had
    /// it.
    pub(crate) fn event_done(&self, cookie: u32, handed: bool) {
        if let Some(counts) = self.state.lock().events.get_mut(&cookie) {
            counts[1] += 1;
            counts[2] = counts[2].saturating_sub(u64::from(handed));
        }
        self.cond.notify_all();
    }

    /// The handler is given an event of component `cookie`.
    pub(crate) fn event_handing(&self, cookie: u32) {
        if let Some(counts) = self.state.lock().events.get_mut(&cookie) {
            counts[2] += 1;
        }
    }

    /// Starts (`true`) or ends the count of component `cookie`'s events;
    /// an end wakes whoever waits for them.
    pub(crate) fn count_events(&self, cookie: u32, on: bool) {
        let mut st = self.state.lock();
        if on {
            st.events.entry(cookie).or_insert([0; 3]);
        } else {
            st.events.remove(&cookie);
        }
        drop(st);
        self.cond.notify_all();
    }

    /// Whether the caller is the connection's completion thread, where a
    /// request could only wait for itself.
    pub(crate) fn on_completion_thread(&self) -> bool {
        self.completion_thread.get() == Some(&thread::current().id())
    }

    /// The service's event callback.
    pub(crate) fn on_event(&self, event: ServiceEvent) {
        let _ = self.completion_thread.set(thread::current().id());
        let mut st = self.state.lock();
        match event {
            ServiceEvent::Message(m) => {
                if let Some(counts) = crate::wire::event_cookie(&m).and_then(|c| st.events.get_mut(&c)) {
                    counts[0] += 1;
                }
                st.queue.push_back(Item::Message(m));
            }
            ServiceEvent::LateReply { context, message } => match st.replies.get_mut(&context) {
                Some(slot @ None) => *slot = Some(message),
                _ => log::warn!("mmal-vchiq: a reply with context {context} nobody waits for; dropped"),
            },
            ServiceEvent::Closed => {
                st.closed.get_or_insert(Closed::ByVideoCore);
                st.queue.push_back(Item::Closed);
            }
            other => log::debug!("mmal-vchiq: {other:?} ignored"),
        }
        drop(st);
        self.cond.notify_all();
    }
}

/// What an [`Item`] comes to once its data is in: what the handler is
/// given.
pub(crate) enum Ready {
    Buffer(Returned),
    /// An event, with the host's component cookie its message named.
    Event(Event, u32),
}

/// The memory of a buffer with the VideoCore.
pub(crate) enum Held {
    Host(Vec<u8>),
    /// An output's lent memory, not in a transfer (the data is received
    /// into it when the buffer comes back).
    Lent(vchiq::BulkBuffer),
    /// Its data (this many bytes, padded to a word for the transfer) is on
    /// its way by bulk transmit: the buffer comes back with the transfer.
    Sending(BulkTransfer, usize),
    VideoCore(u32),
    /// Its message is being sent (by the thread that inserted it, without
    /// the slab locked): what the memory becomes is known once that is done.
    Pending,
}

/// A buffer with the VideoCore, under its cookie.
pub(crate) struct InFlight {
    pub(crate) port: PortRef,
    pub(crate) tag: u64,
    pub(crate) alloc_size: u32,
    pub(crate) memory: Held,
    /// Released by the client (port disabled, VideoCore silent): waiting
    /// for the delivery thread; a BUFFER_TO_HOST naming it is stale.
    pub(crate) released: bool,
}

pub(crate) type PortKey = (u32, u32);

pub(crate) fn key(port: &PortRef) -> PortKey {
    (port.component, port.handle)
}

pub(crate) struct Buffers {
    pub(crate) slab: Slab<InFlight>,
    /// Ports of the buffers being delivered right now (removed from the
    /// slab, handler not yet returned), innermost last.
    pub(crate) delivering: Vec<PortRef>,
    /// Ports enabled through this client (buffers may be sent to them):
    /// checked and changed under the same lock as the slab, so that a
    /// buffer is either in the slab before a disable looks, or refused.
    pub(crate) enabled: HashSet<PortKey>,
    /// Sends under way, by port: counted from the check that the port is
    /// enabled until the message is queued (or fails). A disable waits for
    /// its port's to end before its own message goes, as libmmal's
    /// per-port send lock orders them: every buffer a send let through
    /// reaches the VideoCore before the disable, and none is refused there
    /// for a port disabled under it.
    pub(crate) sending: HashMap<PortKey, usize>,
    /// Ports that have sent data by bulk (flushed with PORT_FLUSH), until
    /// their component's destroy.
    pub(crate) sent_bulk: HashSet<PortKey>,
    /// Ports this client turned `MMAL_PARAMETER_ZERO_COPY` on for, until
    /// it turns it off or their component's destroy. The firmware goes by
    /// the port, not by a buffer's message (libmmal leaves the message's
    /// `is_zero_copy` unset): every buffer of such a port names a block,
    /// and no other port's does.
    pub(crate) zero_copy: HashSet<PortKey>,
    /// The client is closing (or closed): the slab no longer grows.
    pub(crate) closing: bool,
    /// Taken off the queue, data received, not yet handed to the handler:
    /// what the delivery thread received while a call from the handler
    /// waited for its reply (see [`Core::request`]). Handed over, in
    /// order, before anything still queued.
    pub(crate) staged: VecDeque<Ready>,
}

impl Buffers {
    /// Forgets what is kept by port for `component`'s ports: it is
    /// destroyed, or its handle was given to a new component.
    pub(crate) fn forget_component(&mut self, component: u32) {
        let other = |k: &PortKey| k.0 != component;
        self.enabled.retain(other);
        self.sent_bulk.retain(other);
        self.zero_copy.retain(other);
    }
}

/// The client's shared state.
pub(crate) struct Core {
    pub(crate) service: RwLock<Option<Service>>,
    pub(crate) router: Arc<Router>,
    pub(crate) buffers: Mutex<Buffers>,
    pub(crate) buffers_cond: Condvar,
    /// Live components: the host's cookie for each (echoed in events) and
    /// the VideoCore's handle.
    pub(crate) components: Mutex<HashMap<u32, u32>>,
    /// A use of the VideoCore for each live component, by its handle, as
    /// libmmal holds one from a component's create to its destroy (a
    /// zero-copy stream has no bulk transfers to hold one).
    pub(crate) component_uses: Mutex<HashMap<u32, vchiq::UseGuard>>,
    /// Held by a component's create (its request and bookkeeping) and
    /// destroy (its request, clean-up and drain): the firmware gives a
    /// destroyed component's handle to the next component it creates, and
    /// what the client keeps by handle (ports, cookies, uses, buffers to
    /// drain) must not mix the two. Reentrant: a destroy's drain on the
    /// delivery thread may run the handler, which may create or destroy.
    pub(crate) lifecycle: parking_lot::ReentrantMutex<()>,
    next_context: AtomicU32,
    pub(crate) next_component: AtomicU32,
    pub(crate) reply_timeout: Duration,
    pub(crate) bulk_timeout: Duration,
    pub(crate) delivery_thread: OnceLock<ThreadId>,
    pub(crate) stale: AtomicU64,
    pub(crate) released: AtomicU64,
    /// Data bytes received and sent (see `Stats`).
    pub(crate) bytes_received: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
    /// Takes the next queued item and receives its data, keeping what it
    /// comes to for the handler (`Buffers::staged`); `false` if nothing
    /// (but a close) was queued. The delivery thread's, given at
    /// construction.
    stage: fn(&Core) -> bool,
}

/// A send under way on a port (see [`Buffers::sending`]): counted until
/// [`end`](Self::end)ed, or dropped (a panic on the way).
pub(crate) struct Sending<'a> {
    core: &'a Core,
    port: PortKey,
    ended: bool,
}

impl<'a> Sending<'a> {
    /// Counts a send on `port`; `buffers` is the core's, locked.
    pub(crate) fn begin(core: &'a Core, buffers: &mut Buffers, port: PortKey) -> Sending<'a> {
        *buffers.sending.entry(port).or_default() += 1;
        Sending { core, port, ended: false }
    }

    /// The send's message is queued (or failed): no longer counted.
    /// `buffers` is the core's, locked; the caller notifies
    /// `buffers_cond` once it lets go of it.
    pub(crate) fn end(mut self, buffers: &mut Buffers) {
        Self::uncount(buffers, self.port);
        self.ended = true;
    }

    fn uncount(buffers: &mut Buffers, port: PortKey) {
        if let Some(n) = buffers.sending.get_mut(&port) {
            *n -= 1;
            if *n == 0 {
                buffers.sending.remove(&port);
            }
        }
    }
}

impl Drop for Sending<'_> {
    fn drop(&mut self) {
        if !self.ended {
            Self::uncount(&mut self.core.buffers.lock(), self.port);
            self.core.buffers_cond.notify_all();
        }
    }
}

impl Core {
    /// Forgets the host's cookies for the component with VideoCore handle
    /// `handle` (destroyed, or its handle given to a new component), and
    /// ends the count of their events.
    pub(crate) fn forget_cookies(&self, handle: u32) {
        let mut components = self.components.lock();
        let cookies: Vec<u32> = components.iter().filter(|(_, &h)| h == handle).map(|(&c, _)| c).collect();
        components.retain(|_, h| *h != handle);
        drop(components);
        cookies.into_iter().for_each(|c| self.router.count_events(c, false));
    }

    /// Waits until no send on `port` is under way (see
    /// [`Buffers::sending`]), at most until `deadline` (past a send's own
    /// bounds: a reply's and a bulk slot's). `buffers` is the core's,
    /// locked; the port is no longer enabled, so no send begins meanwhile.
    /// On the delivery thread (a disable from the handler), what the
    /// VideoCore sent meanwhile is taken, as a request from there takes
    /// it: the VideoCore may be waiting for the host to take its data
    /// before it takes the send's.
    pub(crate) fn wait_sends(&self, buffers: &mut MutexGuard<'_, Buffers>, port: PortKey, deadline: Instant) {
        let receiving = self.on_delivery_thread();
        while buffers.sending.contains_key(&port) {
            if Instant::now() >= deadline {
                log::warn!("mmal-vchiq: a send on port {port:?} has not ended; the port is disabled anyway");
                return;
            }
            if receiving {
                if !MutexGuard::unlocked(buffers, || (self.stage)(self)) {
                    self.buffers_cond.wait_for(buffers, Duration::from_millis(1));
                }
            } else {
                self.buffers_cond.wait_until(buffers, deadline);
            }
        }
    }

    /// How long a disable or destroy waits for the sends under way on its
    /// ports: past a send's own bounds.
    pub(crate) fn sends_deadline(&self) -> Instant {
        Instant::now() + self.reply_timeout + self.bulk_timeout
    }

    pub(crate) fn new(
        service: Service,
        router: Arc<Router>,
        cookies: usize,
        reply_timeout: Duration,
        bulk_timeout: Duration,
        stage: fn(&Core) -> bool,
    ) -> Core {
        Core {
            service: RwLock::new(Some(service)),
            router,
            buffers: Mutex::new(Buffers {
                slab: Slab::new(cookies),
                delivering: Vec::new(),
                enabled: HashSet::new(),
                sending: HashMap::new(),
                sent_bulk: HashSet::new(),
                zero_copy: HashSet::new(),
                closing: false,
                staged: VecDeque::new(),
            }),
            buffers_cond: Condvar::new(),
            components: Mutex::new(HashMap::new()),
            component_uses: Mutex::new(HashMap::new()),
            lifecycle: parking_lot::ReentrantMutex::new(()),
            next_context: AtomicU32::new(1),
            next_component: AtomicU32::new(1),
            reply_timeout,
            bulk_timeout,
            delivery_thread: OnceLock::new(),
            stale: AtomicU64::new(0),
            released: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            stage,
        }
    }

    pub(crate) fn on_delivery_thread(&self) -> bool {
        self.delivery_thread.get() == Some(&thread::current().id())
    }

    /// The error for a call on a closed client, if it is.
    pub(crate) fn closed_error(&self) -> Option<Error> {
        self.router.state.lock().closed.map(Closed::error)
    }

    /// Runs `f` on the open service.
    pub(crate) fn with_service<T>(&self, f: impl FnOnce(&Service) -> Result<T>) -> Result<T> {
        let service = self.service.read();
        match service.as_ref() {
            Some(s) => f(s),
            None => Err(self.closed_error().unwrap_or(Error::Closed)),
        }
    }

    /// Gives back the use a component held (none if it held none), with
    /// the map unlocked.
    pub(crate) fn release_component_use(&self, handle: u32) {
        let component_use = self.component_uses.lock().remove(&handle);
        drop(component_use);
    }

    /// Sends a request built by `build` (given its context) and waits for
    /// its reply.
    ///
    /// On the delivery thread (a call from the handler) the wait goes on
    /// receiving the data of the buffers that came meanwhile, in order:
    /// the VideoCore may answer only once that data is taken (a port's
    /// buffers are its own until then, and its disable waits for them),
    /// and no other thread receives it. What they come to is handed to
    /// the handler once the handler's current call has returned (or
    /// sooner, by a port disable waiting for its buffers), in order. An
    /// event is matched to its component when it is received, so it may
    /// reach the handler after that component's destroy has returned.
    pub(crate) fn request(&self, ty: u32, build: impl FnOnce(u32) -> Result<Vec<u8>>) -> Result<Vec<u8>> {
        self.request_inner(ty, build, None)
    }

    /// [`request`](Core::request) for a message with a bulk transmit of
    /// `data` behind it (PORT_FLUSH's dummy), queued together.
    pub(crate) fn request_with_bulk(
        &self,
        ty: u32,
        build: impl FnOnce(u32) -> Result<Vec<u8>>,
        data: Vec<u8>,
    ) -> Result<Vec<u8>> {
        self.request_inner(ty, build, Some(data))
    }

    fn request_inner(
        &self,
        ty: u32,
        build: impl FnOnce(u32) -> Result<Vec<u8>>,
        data: Option<Vec<u8>>,
    ) -> Result<Vec<u8>> {
        let call = wire::type_name(ty);
        if self.router.on_completion_thread() {
            return Err(Error::Vchiq(vchiq::Error::OnCompletionThread("an MMAL request")));
        }
        let context = {
            let mut st = self.router.state.lock();
            if let Some(why) = st.closed {
                return Err(why.error());
            }
            let context = loop {
                let c = self.next_context.fetch_add(1, Ordering::Relaxed);
                if c != 0 && !st.replies.contains_key(&c) {
                    break c;
                }
            };
            st.replies.insert(context, None);
            context
        };
        let forget = || {
            self.router.state.lock().replies.remove(&context);
        };
        let message = match build(context) {
            Ok(m) => m,
            Err(e) => {
                forget();
                return Err(e);
            }
        };
        // The VideoCore is kept awake from the request to its reply, as
        // libmmal keeps it.
        let awake = match self.with_service(|s| s.hold_use().map_err(Error::from)) {
            Ok(guard) => guard,
            Err(e) => {
                forget();
                return Err(e);
            }
        };
        let sent = self.with_service(|s| match data {
            None => s.send(&[&message]).map(|()| None).map_err(Error::from),
            Some(data) => match s.send_with_bulk(&[&message], data) {
                Ok(transfer) => Ok(Some(transfer)),
                Err(vchiq::Error::BulkNotQueued(e)) => {
                    log::warn!("mmal-vchiq: the dummy bulk of {call} could not follow its message: {e}");
                    Err(Error::DataOrderLost { what: "a dummy bulk could not follow its message" })
                }
                Err(e) => Err(Error::from(e)),
            },
        });
        let transfer = match sent {
            Ok(t) => t,
            Err(e) => {
                forget();
                if matches!(e, Error::DataOrderLost { .. }) {
                    // The use goes back while the service is open.
                    drop(awake);
                    self.fail_data_order("a dummy bulk could not follow its message");
                }
                return Err(e);
            }
        };
        let deadline = Instant::now() + self.reply_timeout;
        let receiving = self.on_delivery_thread();
        let mut st = self.router.state.lock();
        let outcome = loop {
            if let Some(Some(_)) = st.replies.get(&context) {
                break Ok(st.replies.remove(&context).flatten().expect("checked above"));
            }
            if let Some(why) = st.closed {
                st.replies.remove(&context);
                break Err(why.error());
            }
            if receiving && st.queue.front().is_some_and(|i| !matches!(i, Item::Closed)) {
                parking_lot::MutexGuard::unlocked(&mut st, || (self.stage)(self));
                if Instant::now() < deadline {
                    continue;
                }
            }
            if self.router.cond.wait_until(&mut st, deadline).timed_out()
                && !matches!(st.replies.get(&context), Some(Some(_)))
            {
                st.replies.remove(&context);
                break Err(Error::Timeout { call, after: self.reply_timeout });
            }
        };
        drop(st);
        // A dummy bulk behind an unanswered request: if the VideoCore has
        // not taken it, it would take it as the next buffer's data. (A
        // reply says it was taken; a close aborts it.)
        if let (Some(t), Err(Error::Timeout { .. })) = (transfer, &outcome) {
            let deadline = Instant::now() + self.bulk_timeout;
            // On the delivery thread, the VideoCore may be waiting for the
            // host to take data it sent first: take it meanwhile.
            while receiving && !t.is_done() && Instant::now() < deadline {
                if !(self.stage)(self) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if let Err(vchiq::Error::Timeout { .. } | vchiq::Error::BulkOutOfOrder) = t.wait_timeout(left) {
                drop(awake);
                self.fail_data_order("a dummy bulk behind an unanswered request was not taken");
            }
        }
        outcome
    }

    /// Closes the client: calls waiting fail, the service closes (a
    /// close the VideoCore made already counts), the delivery thread is
    /// told to finish.
    pub(crate) fn close(&self) -> Result<()> {
        self.close_as(Closed::ByClient)
    }

    /// The data stream is out of step (`what` happened): fatal for the
    /// client. Later calls fail with [`Error::DataOrderLost`], the service
    /// closes (which aborts the transfers still queued), and the delivery
    /// thread hands back every buffer still out, as for a close. Not to be
    /// called with the service or the slab locked.
    pub(crate) fn fail_data_order(&self, what: &'static str) {
        if self.router.state.lock().closed.is_none() {
            log::error!(
                "mmal-vchiq: {what}: the bulk data no longer follows the messages; the client closes (open a new one)"
            );
        }
        if let Err(e) = self.close_as(Closed::DataOrderLost(what)) {
            log::warn!("mmal-vchiq: closing after the data order was lost: {e}");
        }
    }

    fn close_as(&self, why: Closed) -> Result<()> {
        // The slab stops growing first: what the delivery thread finds in
        // it when it finishes is all there will be.
        self.buffers.lock().closing = true;
        {
            let mut st = self.router.state.lock();
            st.closed.get_or_insert(why);
            st.stop = true;
        }
        self.router.cond.notify_all();
        self.buffers_cond.notify_all();
        // The components' uses go back while the service is open.
        let uses = std::mem::take(&mut *self.component_uses.lock());
        drop(uses);
        let service = self.service.write().take();
        match service {
            Some(s) => match s.close() {
                Ok(()) | Err(vchiq::Error::ServiceClosed(_)) | Err(vchiq::Error::ConnectionFailed(_)) => Ok(()),
                Err(e) => Err(Error::from(e)),
            },
            None => Ok(()),
        }
    }

    /// Buffers of `port` still out: with the VideoCore, released and not
    /// yet delivered, received and not yet delivered, or (seen from another
    /// thread) being delivered.
    pub(crate) fn outstanding(&self, b: &Buffers, of: impl Fn(&PortRef) -> bool) -> usize {
        let staged = b.staged.iter().filter(|r| matches!(r, Ready::Buffer(r) if of(&r.port))).count();
        let with_vc = b.slab.count_where(|e| of(&e.port)) + staged;
        if self.on_delivery_thread() {
            // What the delivery thread is delivering is its caller's own.
            with_vc
        } else {
            with_vc + b.delivering.iter().filter(|p| of(p)).count()
        }
    }
}
