//! Services: messages, requests matched to replies, ordered bulk
//! transfers, the VideoCore's use count, events.

use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use parking_lot::MutexGuard;
use vchiq_sys as sys;

use crate::buffer::BulkBuffer;
use crate::device::{Bulk, BulkDirection, Fourcc, ServiceHandle};
use crate::error::{Error, Result};
use crate::event::ServiceEvent;
use crate::shared::{retry, slot, BulkOutcome, Closed, Inner, Owner, ServiceShared, State};

/// An open service on the VideoCore. Closed when dropped (or with
/// [`close`](Service::close)).
///
/// ```no_run
/// use vchiq::{Connection, Fourcc, ServiceOptions};
/// let connection = Connection::open()?;
/// let service = connection.open_service(ServiceOptions::new(Fourcc::new(*b"echo"), 1, 1))?;
/// service.send(&[b"hello"])?;
/// let event = service.next_event(std::time::Duration::from_secs(1))?;
/// # Ok::<(), vchiq::Error>(())
/// ```
pub struct Service {
    owner: Arc<Owner>,
    shared: Arc<ServiceShared>,
    closed: bool,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("fourcc", &self.shared.fourcc)
            .field("handle", &self.shared.handle.get())
            .finish()
    }
}

/// A use of the VideoCore held by [`Service::hold_use`]: given back on drop.
///
/// ```no_run
/// # let connection = vchiq::Connection::open()?;
/// # let service = connection.open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10))?;
/// let streaming = service.hold_use()?; // the VideoCore stays awake
/// drop(streaming);
/// # Ok::<(), vchiq::Error>(())
/// ```
///
/// The guard owns its hold on the service's state, so it may outlive the
/// borrow it came from (a request waiting for its reply, a component's
/// life), and keeps the connection (its device and completion thread)
/// open until it is dropped; one dropped after the service closed gives
/// nothing back to the driver, which released the service's uses with it.
#[must_use = "the use is given back when the guard is dropped"]
pub struct UseGuard {
    owner: Arc<Owner>,
    shared: Arc<ServiceShared>,
}

impl Drop for UseGuard {
    fn drop(&mut self) {
        self.shared.release_use(&self.owner.inner);
    }
}

impl std::fmt::Debug for UseGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UseGuard").field("service", &self.shared.fourcc).finish()
    }
}

impl Service {
    pub(crate) fn new(owner: Arc<Owner>, shared: Arc<ServiceShared>) -> Service {
        Service { owner, shared, closed: false }
    }

    fn inner(&self) -> &Inner {
        &self.owner.inner
    }

    /// The service's 4CC.
    ///
    /// ```no_run
    /// # let connection = vchiq::Connection::open()?;
    /// let service = connection.open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10))?;
    /// assert_eq!(service.fourcc(), vchiq::Fourcc::MMAL);
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn fourcc(&self) -> Fourcc {
        self.shared.fourcc
    }

    /// The driver's handle of the service.
    ///
    /// ```no_run
    /// # let connection = vchiq::Connection::open()?;
    /// let service = connection.open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10))?;
    /// println!("handle {:#x}", service.handle().0);
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn handle(&self) -> ServiceHandle {
        self.shared.handle()
    }

    /// Whether the service has closed (the VideoCore closed it, or the
    /// connection failed).
    ///
    /// ```no_run
    /// # let connection = vchiq::Connection::open()?;
    /// let service = connection.open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10))?;
    /// assert!(!service.is_closed());
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.state.lock().closed.is_some()
    }

    fn check_message(&self, elements: &[&[u8]]) -> Result<()> {
        if elements.len() > sys::VCHIQ_MAX_ELEMENTS as usize {
            return Err(Error::InvalidArgument("a message has at most 8 elements"));
        }
        let size: usize = elements.iter().map(|e| e.len()).sum();
        let max = self.inner().config.max_msg_size as usize;
        if size > max {
            return Err(Error::MessageTooLarge { size, max });
        }
        if let Some(e) = self.shared.closed_error(self.inner(), &self.shared.state.lock()) {
            return Err(e);
        }
        Ok(())
    }

    /// Sends one message made of `elements` (QUEUE_MESSAGE), holding a use
    /// of the VideoCore while it is queued.
    ///
    /// # Errors
    ///
    /// [`Error::MessageTooLarge`], [`Error::InvalidArgument`] (more than 8
    /// elements), [`Error::ServiceClosed`], [`Error::OutOfMemory`], the
    /// driver's other errors. `EINTR` is retried.
    ///
    /// ```no_run
    /// # let connection = vchiq::Connection::open()?;
    /// # let service = connection.open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10))?;
    /// let header = [0u8; 24];
    /// let payload = [0u8; 12];
    /// service.send(&[&header, &payload])?;
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn send(&self, elements: &[&[u8]]) -> Result<()> {
        self.check_message(elements)?;
        let inner = self.inner();
        self.shared.acquire_use(inner)?;
        let result = retry("QUEUE_MESSAGE", || inner.device.queue_message(self.handle(), elements));
        self.shared.release_use(inner);
        result
    }

    /// Sends a request and waits for the reply carrying `context` (found by
    /// [`ServiceOptions::reply_context`](crate::ServiceOptions::reply_context)), at most
    /// [`Options::reply_timeout`](crate::Options::reply_timeout). Several
    /// threads may wait at once, each with its own context. A use of the
    /// VideoCore is held from the send to the reply.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] if no reply comes (a reply that comes later is
    /// handed over as [`ServiceEvent::LateReply`]); [`Error::ContextInUse`];
    /// [`Error::OnCompletionThread`] from a callback;
    /// [`Error::ServiceClosed`] or [`Error::ConnectionFailed`] if it
    /// closes meanwhile; those of [`send`](Service::send).
    ///
    /// ```no_run
    /// # let connection = vchiq::Connection::open()?;
    /// # let service = connection.open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10))?;
    /// let request = [0u8; 24]; // with context 7 inside, as the protocol puts it
    /// let reply = service.request(&[&request], 7)?;
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn request(&self, elements: &[&[u8]], context: u32) -> Result<Vec<u8>> {
        let timeout = self.inner().options.reply_timeout;
        self.request_timeout(elements, context, timeout)
    }

    /// [`request`](Service::request) with its own timeout.
    ///
    /// ```no_run
    /// # let connection = vchiq::Connection::open()?;
    /// # let service = connection.open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10))?;
    /// let reply = service.request_timeout(&[&[0u8; 24]], 7, std::time::Duration::from_millis(500))?;
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn request_timeout(&self, elements: &[&[u8]], context: u32, timeout: Duration) -> Result<Vec<u8>> {
        let inner = self.inner();
        if inner.on_completion_thread() {
            return Err(Error::OnCompletionThread("Service::request"));
        }
        self.check_message(elements)?;
        {
            let mut st = self.shared.state.lock();
            if st.pending.contains_key(&context) {
                return Err(Error::ContextInUse(context));
            }
            st.pending.insert(context, None);
        }
        let forget = |st: &mut MutexGuard<'_, State>| {
            st.pending.remove(&context);
        };
        if let Err(e) = self.shared.acquire_use(inner) {
            forget(&mut self.shared.state.lock());
            return Err(e);
        }
        if let Err(e) = retry("QUEUE_MESSAGE", || inner.device.queue_message(self.handle(), elements)) {
            forget(&mut self.shared.state.lock());
            self.shared.release_use(inner);
            return Err(e);
        }
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.state.lock();
        let result = loop {
            if let Some(Some(_)) = st.pending.get(&context) {
                break Ok(st.pending.remove(&context).flatten().expect("checked above"));
            }
            if let Some(e) = self.shared.closed_error(inner, &st) {
                forget(&mut st);
                break Err(e);
            }
            if self.shared.cond.wait_until(&mut st, deadline).timed_out() {
                if let Some(Some(_)) = st.pending.get(&context) {
                    continue;
                }
                forget(&mut st);
                break Err(Error::Timeout { what: "the reply to a request", after: timeout });
            }
        };
        drop(st);
        self.shared.release_use(inner);
        result
    }

    /// Waits up to `timeout` for the next event, when the service has no
    /// [`on_event`](crate::ServiceOptions::on_event) callback.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] if none comes; [`Error::ServiceClosed`] once the
    /// [`ServiceEvent::Closed`] event has been taken;
    /// [`Error::OnCompletionThread`] from a callback;
    /// [`Error::InvalidArgument`] if events go to a callback.
    ///
    /// ```no_run
    /// # let connection = vchiq::Connection::open()?;
    /// # let service = connection.open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10))?;
    /// match service.next_event(std::time::Duration::from_secs(1))? {
    ///     vchiq::ServiceEvent::Message(m) => println!("{} bytes", m.len()),
    ///     other => println!("{other:?}"),
    /// }
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn next_event(&self, timeout: Duration) -> Result<ServiceEvent> {
        let inner = self.inner();
        if self.shared.callback.is_some() {
            return Err(Error::InvalidArgument("the service's events go to its on_event callback"));
        }
        if inner.on_completion_thread() {
            return Err(Error::OnCompletionThread("Service::next_event"));
        }
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.state.lock();
        loop {
            if let Some(event) = st.events.pop_front() {
                return Ok(event);
            }
            if let Some(e) = self.shared.closed_error(inner, &st) {
                return Err(e);
            }
            if self.shared.cond.wait_until(&mut st, deadline).timed_out() && st.events.is_empty() {
                return Err(Error::Timeout { what: "the next event", after: timeout });
            }
        }
    }

    /// Holds a use of the VideoCore (USE_SERVICE) until the guard is dropped:
    /// for a stream of traffic whose replies come later (buffers sent to a
    /// port).
    ///
    /// ```no_run
    /// # let connection = vchiq::Connection::open()?;
    /// # let service = connection.open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10))?;
    /// let _awake = service.hold_use()?;
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn hold_use(&self) -> Result<UseGuard> {
        if let Some(e) = self.shared.closed_error(self.inner(), &self.shared.state.lock()) {
            return Err(e);
        }
        self.shared.acquire_use(self.inner())?;
        Ok(UseGuard { owner: Arc::clone(&self.owner), shared: Arc::clone(&self.shared) })
    }

    /// Sends `data` to the VideoCore by bulk transfer (QUEUE_BULK_TRANSMIT).
    /// See [`bulk_receive`](Service::bulk_receive) for the ordering.
    ///
    /// ```no_run
    /// # let connection = vchiq::Connection::open()?;
    /// # let service = connection.open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10))?;
    /// let sent = service.bulk_transmit(vec![0u8; 4096])?;
    /// let buffer = sent.wait()?; // the buffer comes back
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn bulk_transmit(&self, data: impl Into<BulkBuffer>) -> Result<BulkTransfer> {
        let data = data.into();
        let size = data.len();
        self.queue_bulk(BulkDirection::Transmit, data, size)
    }

    /// Receives `size` bytes from the VideoCore into `buffer[..size]` by bulk
    /// transfer (QUEUE_BULK_RECEIVE).
    ///
    /// Transfers of one direction complete in the order they were queued,
    /// which is the order of these calls; at most
    /// [`Config::max_outstanding_bulks`](crate::Config::max_outstanding_bulks)
    /// (4) are queued per direction: a further call waits up to
    /// [`Options::bulk_timeout`](crate::Options::bulk_timeout) for one to
    /// complete. A use of the VideoCore is held until the transfer completes.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `size` is 0 or exceeds the buffer,
    /// [`Error::Timeout`] if no slot frees, [`Error::OnCompletionThread`]
    /// from a callback (queue from another thread, in order),
    /// [`Error::ServiceClosed`], the driver's errors.
    ///
    /// ```no_run
    /// # let connection = vchiq::Connection::open()?;
    /// # let service = connection.open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10))?;
    /// let frame = service.bulk_receive(vec![0u8; 1 << 20], 4096)?.wait()?;
    /// println!("first byte {}", frame[0]);
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn bulk_receive(&self, buffer: impl Into<BulkBuffer>, size: usize) -> Result<BulkTransfer> {
        self.queue_bulk(BulkDirection::Receive, buffer.into(), size)
    }

    /// Sends one message made of `elements` and queues `data` as the bulk
    /// transmit that follows it, as one ordered step: a bulk slot is
    /// reserved first (waiting up to
    /// [`Options::bulk_timeout`](crate::Options::bulk_timeout) for one),
    /// then the message is sent, then the transmit queued, with no other
    /// bulk transfer of the service in between. A protocol that pairs a
    /// message with the next bulk (MMAL's BUFFER_FROM_HOST) stays in step:
    /// when no slot frees, nothing is sent.
    ///
    /// # Errors
    ///
    /// Before anything is sent: those of [`send`](Service::send) and of
    /// [`bulk_transmit`](Service::bulk_transmit) ([`Error::Timeout`] when no
    /// slot frees). After the message went out but the transmit could not
    /// be queued: [`Error::BulkNotQueued`] (the peer expects data that will
    /// not come: the stream is out of step).
    ///
    /// ```no_run
    /// # let connection = vchiq::Connection::open()?;
    /// # let service = connection.open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10))?;
    /// let header = [0u8; 24];
    /// let sent = service.send_with_bulk(&[&header], vec![0u8; 4096])?;
    /// let buffer = sent.wait()?;
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn send_with_bulk(&self, elements: &[&[u8]], data: impl Into<BulkBuffer>) -> Result<BulkTransfer> {
        let data = data.into();
        let size = data.len();
        self.check_bulk(&data, size)?;
        self.check_message(elements)?;
        let direction = BulkDirection::Transmit;
        let (_order, id) = self.reserve(direction)?;
        let inner = self.inner();
        if let Err(e) = retry("QUEUE_MESSAGE", || inner.device.queue_message(self.handle(), elements)) {
            self.unqueue(direction, id);
            self.shared.release_use(inner);
            return Err(e);
        }
        self.submit(direction, id, data, size).map_err(|e| Error::BulkNotQueued(Box::new(e)))
    }

    fn check_bulk(&self, buffer: &[u8], size: usize) -> Result<()> {
        if self.inner().on_completion_thread() {
            return Err(Error::OnCompletionThread("a bulk transfer"));
        }
        if size == 0 || size > buffer.len() || u32::try_from(size).is_err() {
            return Err(Error::InvalidArgument("a bulk transfer's size must be 1..=buffer length (and fit 32 bits)"));
        }
        Ok(())
    }

    fn queue_bulk(&self, direction: BulkDirection, buffer: BulkBuffer, size: usize) -> Result<BulkTransfer> {
        self.check_bulk(&buffer, size)?;
        let (_order, id) = self.reserve(direction)?;
        self.submit(direction, id, buffer, size)
    }

    /// Reserves a bulk slot of `direction` (waiting up to the bulk timeout
    /// for one) and a use of the VideoCore for the transfer. Returns the
    /// bulk order held: whatever the caller queues under it is the next
    /// transfer of that direction. The order is not held while waiting, so
    /// that a wait for one direction's slot never delays the other's.
    fn reserve(&self, direction: BulkDirection) -> Result<(MutexGuard<'_, ()>, u32)> {
        let inner = self.inner();
        let limit = (inner.config.max_outstanding_bulks as usize).clamp(1, sys::VCHIQ_NUM_SERVICE_BULKS as usize);
        let timeout = inner.options.bulk_timeout;
        let deadline = Instant::now() + timeout;
        let (order, id) = loop {
            let order = self.shared.bulk_order.lock();
            let mut st = self.shared.state.lock();
            if let Some(e) = self.shared.closed_error(inner, &st) {
                return Err(e);
            }
            if st.outstanding[slot(direction)].len() < limit {
                let id = inner.next_bulk_id();
                // Queued before the device sees it: its completion may
                // arrive before the transfer is handed over.
                st.outstanding[slot(direction)].push_back(id);
                break (order, id);
            }
            drop(order);
            if self.shared.cond.wait_until(&mut st, deadline).timed_out()
                && st.outstanding[slot(direction)].len() >= limit
                && self.shared.closed_error(inner, &st).is_none()
            {
                return Err(Error::Timeout { what: "a free bulk transfer slot", after: timeout });
            }
        };
        if let Err(e) = self.shared.acquire_use(inner) {
            self.unqueue(direction, id);
            return Err(e);
        }
        Ok((order, id))
    }

    /// Hands a reserved transfer to the driver; on failure, its slot and
    /// use are given back.
    fn submit(&self, direction: BulkDirection, id: u32, buffer: BulkBuffer, size: usize) -> Result<BulkTransfer> {
        let inner = self.inner();
        let mut bulk = Bulk { direction, buffer, size, userdata: id };
        let call = match direction {
            BulkDirection::Transmit => "QUEUE_BULK_TRANSMIT",
            BulkDirection::Receive => "QUEUE_BULK_RECEIVE",
        };
        loop {
            match inner.device.queue_bulk(self.handle(), bulk) {
                Ok(()) => break,
                Err((e, back)) if e.kind() == std::io::ErrorKind::Interrupted => bulk = back,
                Err((e, _back)) => {
                    self.unqueue(direction, id);
                    self.shared.release_use(inner);
                    return Err(Error::from_io(call, e));
                }
            }
        }
        Ok(BulkTransfer { owner: Arc::clone(&self.owner), shared: Arc::clone(&self.shared), id, taken: false })
    }

    fn unqueue(&self, direction: BulkDirection, id: u32) {
        let mut st = self.shared.state.lock();
        st.outstanding[slot(direction)].retain(|&x| x != id);
        drop(st);
        self.shared.cond.notify_all();
    }

    /// Closes the service (CLOSE_SERVICE), waiting at most
    /// [`Options::close_timeout`](crate::Options::close_timeout). Requests
    /// and transfers still waiting fail with [`Error::ServiceClosed`].
    ///
    /// # Errors
    ///
    /// [`Error::OnCompletionThread`] from a callback (drop the service
    /// instead: it is then closed on another thread), [`Error::Timeout`],
    /// the driver's errors. Closing a service the VideoCore already closed
    /// succeeds.
    ///
    /// ```no_run
    /// # let connection = vchiq::Connection::open()?;
    /// let service = connection.open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10))?;
    /// service.close()?;
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn close(mut self) -> Result<()> {
        if self.inner().on_completion_thread() {
            return Err(Error::OnCompletionThread("Service::close"));
        }
        self.closed = true;
        close_service(&self.owner, &self.shared)
    }
}

/// CLOSE_SERVICE on a helper thread, waited for with the close timeout: the
/// driver returns only once the completion thread has acknowledged the
/// close, which a stuck device may never let happen.
fn close_service(owner: &Arc<Owner>, shared: &Arc<ServiceShared>) -> Result<()> {
    let inner = &owner.inner;
    {
        let mut st = shared.state.lock();
        match st.closed {
            Some(_) => {
                inner.forget_service(shared.key);
                return Ok(());
            }
            None => st.closed = Some(Closed::ByClient),
        }
    }
    shared.cond.notify_all();
    let handle = shared.handle();
    let (tx, rx) = mpsc::channel();
    let owner2 = Arc::clone(owner);
    let spawned = std::thread::Builder::new().name("vchiq-close".into()).spawn(move || {
        let result = retry("CLOSE_SERVICE", || owner2.inner.device.close_service(handle));
        let _ = tx.send(result);
    });
    let timeout = inner.options.close_timeout;
    let result = match spawned {
        Ok(helper) => match rx.recv_timeout(timeout) {
            Ok(result) => {
                // It has sent its result: it ends now, and leaves no thread.
                let _ = helper.join();
                result
            }
            // Left to finish (or not) on its own.
            Err(_) => Err(Error::Timeout { what: "the close of a service", after: timeout }),
        },
        Err(e) => Err(Error::Io { call: "starting a thread to close the service", source: e }),
    };
    if result.is_ok() {
        inner.forget_service(shared.key);
    }
    // Otherwise it stays known, so that a late SERVICE_CLOSED is still
    // acknowledged (CLOSE_DELIVERED) and the driver's close can finish.
    result
}

impl Drop for Service {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        if self.inner().on_completion_thread() {
            // Dropped in a callback: the close must not wait here.
            let (owner, shared) = (Arc::clone(&self.owner), Arc::clone(&self.shared));
            let spawned = std::thread::Builder::new().name("vchiq-close".into()).spawn(move || {
                if let Err(e) = close_service(&owner, &shared) {
                    log::warn!("vchiq: closing '{}': {e}", shared.fourcc);
                }
            });
            if let Err(e) = spawned {
                log::warn!(
                    "vchiq: closing '{}': no thread to close it on ({e}); it closes with the connection",
                    self.shared.fourcc
                );
            }
            return;
        }
        if let Err(e) = close_service(&self.owner, &self.shared) {
            log::warn!("vchiq: closing '{}': {e}", self.shared.fourcc);
        }
    }
}

/// A queued bulk transfer: [`wait`](BulkTransfer::wait) for it to complete
/// and get the buffer back. Dropping it abandons the transfer (the buffer
/// is dropped when the driver hands it back).
///
/// ```no_run
/// # let connection = vchiq::Connection::open()?;
/// # let service = connection.open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10))?;
/// let transfer = service.bulk_receive(vec![0; 4096], 4096)?;
/// let data = transfer.wait()?;
/// # Ok::<(), vchiq::Error>(())
/// ```
pub struct BulkTransfer {
    owner: Arc<Owner>,
    shared: Arc<ServiceShared>,
    id: u32,
    taken: bool,
}

impl std::fmt::Debug for BulkTransfer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkTransfer").field("id", &self.id).finish_non_exhaustive()
    }
}

impl BulkTransfer {
    /// Whether it has completed (a [`wait`](BulkTransfer::wait) would not
    /// block).
    ///
    /// ```no_run
    /// # let connection = vchiq::Connection::open()?;
    /// # let service = connection.open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10))?;
    /// let transfer = service.bulk_transmit(vec![1; 64])?;
    /// while !transfer.is_done() { std::thread::yield_now(); }
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn is_done(&self) -> bool {
        let st = self.shared.state.lock();
        st.finished.contains_key(&self.id) || st.closed.is_some()
    }

    /// Waits up to [`Options::bulk_timeout`](crate::Options::bulk_timeout)
    /// for the transfer and returns its buffer (received data in
    /// `buffer[..size]`).
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`], [`Error::BulkAborted`], [`Error::BulkOutOfOrder`],
    /// [`Error::ServiceClosed`], [`Error::ConnectionFailed`],
    /// [`Error::OnCompletionThread`] from a callback.
    ///
    /// ```no_run
    /// # let connection = vchiq::Connection::open()?;
    /// # let service = connection.open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10))?;
    /// let buffer = service.bulk_transmit(vec![1; 64])?.wait()?;
    /// assert_eq!(buffer.len(), 64);
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn wait(self) -> Result<BulkBuffer> {
        let timeout = self.owner.inner.options.bulk_timeout;
        self.wait_timeout(timeout)
    }

    /// [`wait`](BulkTransfer::wait) with its own timeout.
    ///
    /// ```no_run
    /// # let connection = vchiq::Connection::open()?;
    /// # let service = connection.open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10))?;
    /// let buffer = service.bulk_transmit(vec![1; 64])?.wait_timeout(std::time::Duration::from_secs(1))?;
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn wait_timeout(mut self, timeout: Duration) -> Result<BulkBuffer> {
        let inner = &self.owner.inner;
        if inner.on_completion_thread() {
            return Err(Error::OnCompletionThread("BulkTransfer::wait"));
        }
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.state.lock();
        loop {
            if let Some(outcome) = st.finished.remove(&self.id) {
                self.taken = true;
                return match outcome {
                    BulkOutcome::Done(buffer) => Ok(buffer),
                    BulkOutcome::Aborted => Err(Error::BulkAborted),
                    BulkOutcome::OutOfOrder => Err(Error::BulkOutOfOrder),
                };
            }
            if let Some(e) = self.shared.closed_error(inner, &st) {
                return Err(e);
            }
            if self.shared.cond.wait_until(&mut st, deadline).timed_out() && !st.finished.contains_key(&self.id) {
                return Err(Error::Timeout { what: "a bulk transfer", after: timeout });
            }
        }
    }
}

impl Drop for BulkTransfer {
    fn drop(&mut self) {
        if self.taken {
            return;
        }
        let mut st = self.shared.state.lock();
        let finished = st.finished.remove(&self.id);
        if finished.is_none() {
            // Still with the driver (or about to be handed over): its
            // completion drops the buffer.
            st.abandoned.insert(self.id);
        }
        drop(st);
        // Dropped without the lock (a lent buffer's owner runs).
        drop(finished);
    }
}
