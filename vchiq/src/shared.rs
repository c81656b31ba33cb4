//! What the connection's handles, its services and its completion thread
//! share: the device, the services' state, and the completion thread that
//! dispatches to them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle, ThreadId};

use parking_lot::{Condvar, Mutex};
use vchiq_sys as sys;

use crate::buffer::BulkBuffer;
use crate::device::{
    Bulk, BulkDirection, Completion, Config, Device, Fourcc, MessageBuffers, ServiceHandle, ServiceParams, HEADER_SIZE,
};
use crate::error::{Error, Result};
use crate::event::ServiceEvent;
use crate::options::{EventCallback, Options, ReplyContext, ServiceOptions};

/// Calls `f` until it does not fail with `EINTR`.
pub(crate) fn retry<T>(call: &'static str, mut f: impl FnMut() -> io::Result<T>) -> Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other.map_err(|e| Error::from_io(call, e)),
        }
    }
}

/// What the connection's handles and its completion thread share.
pub(crate) struct Inner {
    pub(crate) device: Box<dyn Device>,
    pub(crate) config: Config,
    pub(crate) options: Options,
    services: Mutex<HashMap<u32, Arc<ServiceShared>>>,
    next_service: AtomicU32,
    next_bulk: AtomicU32,
    closing: AtomicBool,
    failure: Mutex<Option<String>>,
    thread_id: OnceLock<ThreadId>,
    thread_done: Mutex<bool>,
    thread_done_cond: Condvar,
}

impl Inner {
    /// Whether the caller is the completion thread (a service callback).
    pub(crate) fn on_completion_thread(&self) -> bool {
        self.thread_id.get() == Some(&thread::current().id())
    }

    /// Why the connection failed, if it did.
    pub(crate) fn failure(&self) -> Option<String> {
        self.failure.lock().clone()
    }

    /// A fresh bulk transfer id (never 0: the driver may treat a NULL
    /// userdata specially).
    pub(crate) fn next_bulk_id(&self) -> u32 {
        loop {
            let id = self.next_bulk.fetch_add(1, Ordering::Relaxed);
            if id != 0 {
                return id;
            }
        }
    }

    /// Makes a service known under a fresh key (its CREATE_SERVICE
    /// userdata), before it is opened: its first messages may come before
    /// CREATE_SERVICE returns.
    pub(crate) fn register(&self, options: ServiceOptions) -> (ServiceParams, Arc<ServiceShared>) {
        let key = loop {
            let k = self.next_service.fetch_add(1, Ordering::Relaxed);
            if k != 0 {
                break k;
            }
        };
        let params = options.params(key);
        let shared = Arc::new(ServiceShared::new(key, options));
        self.services.lock().insert(key, Arc::clone(&shared));
        (params, shared)
    }

    pub(crate) fn forget_service(&self, key: u32) {
        self.services.lock().remove(&key);
    }

    fn service(&self, key: u32) -> Option<Arc<ServiceShared>> {
        self.services.lock().get(&key).cloned()
    }

    /// The completion thread's loop.
    fn run(self: Arc<Inner>) {
        let _ = self.thread_id.set(thread::current().id());
        let size = self.config.max_msg_size as usize + HEADER_SIZE;
        let mut buffers = MessageBuffers::new(self.options.message_buffers, size);
        while !self.closing.load(Ordering::Acquire) {
            buffers.refill();
            match self.device.await_completion(self.options.completions_per_call, &mut buffers) {
                Ok(completions) => {
                    for c in completions {
                        self.dispatch(c);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if !self.closing.load(Ordering::Acquire) {
                        log::error!("vchiq: AWAIT_COMPLETION failed, the connection stops: {e}");
                        self.fail(format!("AWAIT_COMPLETION failed: {e}"));
                    }
                    break;
                }
            }
        }
        *self.thread_done.lock() = true;
        self.thread_done_cond.notify_all();
    }

    fn dispatch(&self, completion: Completion) {
        match completion {
            Completion::ServiceOpened { service } => log::debug!("vchiq: service {service} opened"),
            Completion::Message { service, data } => match self.service(service) {
                Some(s) => s.on_message(data),
                None => log::warn!("vchiq: a message for unknown service {service}; dropped"),
            },
            Completion::BulkDone { service, bulk } => match self.service(service) {
                Some(s) => s.on_bulk(self, bulk, false),
                None => log::debug!("vchiq: bulk completion for closed service {service}; dropped"),
            },
            Completion::BulkAborted { service, bulk } => match self.service(service) {
                Some(s) => s.on_bulk(self, bulk, true),
                None => log::debug!("vchiq: bulk abort for closed service {service}; dropped"),
            },
            Completion::ServiceClosed { service } => {
                let Some(s) = self.services.lock().remove(&service) else {
                    log::debug!("vchiq: close of unknown service {service}");
                    return;
                };
                s.on_closed();
                if self.config.version >= sys::VCHIQ_VERSION_CLOSE_DELIVERED as i16 {
                    if let Some(&handle) = s.handle.get() {
                        if let Err(e) = retry("CLOSE_DELIVERED", || self.device.close_delivered(handle)) {
                            log::warn!("vchiq: {e}");
                        }
                    }
                }
            }
        }
    }

    /// Fails every service: the completion thread is gone.
    fn fail(&self, reason: String) {
        *self.failure.lock() = Some(reason);
        let services: Vec<_> = self.services.lock().drain().map(|(_, s)| s).collect();
        for s in services {
            s.on_connection_failed();
        }
    }
}

/// Owns the completion thread: the last handle stops it.
pub(crate) struct Owner {
    pub(crate) inner: Arc<Inner>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Owner {
    /// Starts the completion thread of a connected device.
    pub(crate) fn start(device: Box<dyn Device>, config: Config, options: Options) -> Result<Arc<Owner>> {
        let inner = Arc::new(Inner {
            device,
            config,
            options,
            services: Mutex::new(HashMap::new()),
            next_service: AtomicU32::new(1),
            next_bulk: AtomicU32::new(1),
            closing: AtomicBool::new(false),
            failure: Mutex::new(None),
            thread_id: OnceLock::new(),
            thread_done: Mutex::new(false),
            thread_done_cond: Condvar::new(),
        });
        let runner = Arc::clone(&inner);
        let thread = thread::Builder::new()
            .name("vchiq-completion".into())
            .spawn(move || runner.run())
            .map_err(|e| Error::Io { call: "starting the completion thread", source: e })?;
        Ok(Arc::new(Owner { inner, thread: Mutex::new(Some(thread)) }))
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        let inner = &self.inner;
        inner.closing.store(true, Ordering::Release);
        if let Err(e) = retry("SHUTDOWN", || inner.device.shutdown()) {
            log::warn!("vchiq: {e}");
        }
        if inner.on_completion_thread() {
            // The last handle went in a callback: the thread ends by itself
            // once it returns (it sees `closing`); it cannot wait for itself.
            return;
        }
        let timeout = inner.options.close_timeout;
        let mut done = inner.thread_done.lock();
        if !*done {
            inner.thread_done_cond.wait_while_for(&mut done, |d| !*d, timeout);
        }
        let finished = *done;
        drop(done);
        if finished {
            if let Some(t) = self.thread.lock().take() {
                let _ = t.join();
            }
        } else {
            // The device did not wake the thread: leave it (it holds its own
            // reference to the device) rather than hang the caller.
            log::warn!("vchiq: the completion thread did not stop within {timeout:?}; left running");
        }
    }
}

/// Why a service is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closed {
    ByClient,
    ByVideoCore,
    ConnectionFailed,
}

/// How a bulk transfer ended.
#[derive(Debug)]
pub(crate) enum BulkOutcome {
    Done(BulkBuffer),
    Aborted,
    OutOfOrder,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) closed: Option<Closed>,
    /// Requests waiting, by context: `Some` once the reply is in.
    pub(crate) pending: HashMap<u32, Option<Vec<u8>>>,
    /// Bulk transfers with the device, per direction, in queue order.
    pub(crate) outstanding: [VecDeque<u32>; 2],
    pub(crate) finished: HashMap<u32, BulkOutcome>,
    /// Transfers nobody waits for any more: their completion is dropped.
    pub(crate) abandoned: HashSet<u32>,
    pub(crate) events: VecDeque<ServiceEvent>,
}

pub(crate) fn slot(direction: BulkDirection) -> usize {
    match direction {
        BulkDirection::Transmit => 0,
        BulkDirection::Receive => 1,
    }
}

/// What a [`Service`] and the completion thread share.
pub(crate) struct ServiceShared {
    pub(crate) key: u32,
    pub(crate) handle: OnceLock<ServiceHandle>,
    pub(crate) fourcc: Fourcc,
    pub(crate) reply_context: Option<Box<ReplyContext>>,
    pub(crate) callback: Option<Box<EventCallback>>,
    pub(crate) state: Mutex<State>,
    pub(crate) cond: Condvar,
    /// Uses of the VideoCore held for this service's traffic.
    pub(crate) uses: Mutex<u32>,
    /// Keeps bulk transfers in the device in the order of `outstanding`.
    pub(crate) bulk_order: Mutex<()>,
}

impl ServiceShared {
    pub(crate) fn new(key: u32, options: ServiceOptions) -> ServiceShared {
        ServiceShared {
            key,
            handle: OnceLock::new(),
            fourcc: options.fourcc,
            reply_context: options.reply_context,
            callback: options.callback,
            state: Mutex::new(State::default()),
            cond: Condvar::new(),
            uses: Mutex::new(0),
            bulk_order: Mutex::new(()),
        }
    }

    fn deliver(&self, event: ServiceEvent) {
        match &self.callback {
            Some(f) => {
                if catch_unwind(AssertUnwindSafe(|| f(event))).is_err() {
                    log::error!("vchiq: the event callback of '{}' panicked; the event is lost", self.fourcc);
                }
            }
            None => {
                self.state.lock().events.push_back(event);
                self.cond.notify_all();
            }
        }
    }

    /// A message from the VideoCore (completion thread).
    pub(crate) fn on_message(&self, data: Vec<u8>) {
        if let Some(context) = self.reply_context.as_ref().and_then(|f| f(&data)) {
            let mut st = self.state.lock();
            if let Some(slot @ None) = st.pending.get_mut(&context) {
                *slot = Some(data);
                drop(st);
                self.cond.notify_all();
                return;
            }
            drop(st);
            log::debug!("vchiq: '{}': reply with context {context} nobody waits for", self.fourcc);
            self.deliver(ServiceEvent::LateReply { context, message: data });
            return;
        }
        self.deliver(ServiceEvent::Message(data));
    }

    /// A bulk transfer came back (completion thread).
    pub(crate) fn on_bulk(&self, inner: &Inner, bulk: Bulk, aborted: bool) {
        let id = bulk.userdata;
        let mut st = self.state.lock();
        let queue = &mut st.outstanding[slot(bulk.direction)];
        let in_order = queue.front() == Some(&id);
        let Some(pos) = queue.iter().position(|&x| x == id) else {
            drop(st);
            log::warn!("vchiq: '{}': completion of bulk transfer {id}, which is not queued; dropped", self.fourcc);
            return;
        };
        queue.remove(pos);
        drop(st);
        if !in_order {
            log::error!("vchiq: '{}': bulk transfer {id} completed out of order", self.fourcc);
        }
        // The use goes back before the waiter learns of the end, so that a
        // finished transfer never still holds the VideoCore awake.
        self.release_use(inner);
        // A buffer that goes no further is dropped (lent memory given back
        // to its owner) before anyone learns that the transfer ended.
        let outcome = match (in_order, aborted) {
            (true, false) => BulkOutcome::Done(bulk.buffer),
            (false, _) => {
                drop(bulk);
                BulkOutcome::OutOfOrder
            }
            (true, true) => {
                drop(bulk);
                BulkOutcome::Aborted
            }
        };
        let mut st = self.state.lock();
        // Nobody waits for an abandoned transfer: its buffer is dropped.
        let unclaimed = if st.abandoned.remove(&id) {
            Some(outcome)
        } else {
            st.finished.insert(id, outcome);
            None
        };
        drop(st);
        drop(unclaimed);
        self.cond.notify_all();
    }

    /// The client gave the service up (before it opened).
    pub(crate) fn mark_closed_by_client(&self) {
        let mut st = self.state.lock();
        if st.closed.is_none() {
            st.closed = Some(Closed::ByClient);
        }
        drop(st);
        self.cond.notify_all();
    }

    /// The service closed (completion thread).
    pub(crate) fn on_closed(&self) {
        let mut st = self.state.lock();
        if st.closed.is_none() {
            st.closed = Some(Closed::ByVideoCore);
        }
        self.tell_closed(st);
    }

    /// The connection failed (completion thread, on its way out).
    pub(crate) fn on_connection_failed(&self) {
        let mut st = self.state.lock();
        if st.closed.is_none() {
            st.closed = Some(Closed::ConnectionFailed);
            self.tell_closed(st);
        } else {
            drop(st);
            self.cond.notify_all();
        }
    }

    /// Wakes the waiters of a service just marked closed (in `st`) and
    /// gives the Closed event: queued under the same lock, so that
    /// [`Service::next_event`](crate::Service::next_event) never sees the
    /// service closed before its Closed event; or to the callback, once the
    /// lock is let go.
    fn tell_closed(&self, mut st: parking_lot::MutexGuard<'_, State>) {
        let queued = self.callback.is_none();
        if queued {
            st.events.push_back(ServiceEvent::Closed);
        }
        drop(st);
        self.cond.notify_all();
        if !queued {
            self.deliver(ServiceEvent::Closed);
        }
    }

    /// The error for a call on a closed service, if it is.
    pub(crate) fn closed_error(&self, inner: &Inner, st: &State) -> Option<Error> {
        if let Some(why) = inner.failure() {
            return Some(Error::ConnectionFailed(why));
        }
        match st.closed? {
            Closed::ConnectionFailed => {
                Some(Error::ConnectionFailed(inner.failure().unwrap_or_else(|| "completion thread stopped".into())))
            }
            Closed::ByClient | Closed::ByVideoCore => Some(Error::ServiceClosed(self.fourcc)),
        }
    }

    pub(crate) fn handle(&self) -> ServiceHandle {
        *self.handle.get().expect("a Service exists only once its handle is set")
    }

    /// Takes a use of the VideoCore for traffic (USE_SERVICE on the first).
    pub(crate) fn acquire_use(&self, inner: &Inner) -> Result<()> {
        let mut uses = self.uses.lock();
        if *uses == 0 {
            retry("USE_SERVICE", || inner.device.use_service(self.handle()))?;
        }
        *uses += 1;
        Ok(())
    }

    /// Gives a use back (RELEASE_SERVICE on the last).
    pub(crate) fn release_use(&self, inner: &Inner) {
        let mut uses = self.uses.lock();
        match *uses {
            0 => log::error!("vchiq: '{}': use count underflow", self.fourcc),
            1 => {
                *uses = 0;
                if self.state.lock().closed.is_none() {
                    if let Err(e) = retry("RELEASE_SERVICE", || inner.device.release_service(self.handle())) {
                        log::warn!("vchiq: '{}': {e}", self.fourcc);
                    }
                }
            }
            _ => *uses -= 1,
        }
    }
}
