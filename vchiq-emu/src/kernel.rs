//! The kernel driver's side of the emulated `/dev/vchiq`: services, the
//! completion queue AWAIT_COMPLETION drains, and bulk transfers paired in
//! order between the host and the emulated VideoCore.
//!
//! Knows nothing of MMAL: the VideoCore's service thread (`mmal`) calls
//! [`Kernel::push_message`], [`Kernel::push_with_bulk`] and
//! [`Kernel::vc_receive`].

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use vchiq::{Bulk, BulkDirection, Completion, ServiceHandle};

/// Bulk transfers a service may have queued per direction
/// (`VCHIQ_NUM_SERVICE_BULKS`).
const MAX_BULKS: usize = vchiq_sys::VCHIQ_NUM_SERVICE_BULKS as usize;

/// One open service.
pub(crate) struct Svc {
    pub(crate) userdata: u32,
    pub(crate) closed: bool,
    /// CLOSE_DELIVERED has come (the service is being freed).
    pub(crate) delivered: bool,
    pub(crate) uses: i32,
    /// Messages to the VideoCore's service thread; `None` once closed.
    pub(crate) inbox: Option<Sender<Vec<u8>>>,
    /// The service thread, joined by whoever closes or removes the service.
    pub(crate) thread: Option<JoinHandle<()>>,
    /// Host transmits not yet taken by the VideoCore.
    host_tx: VecDeque<Bulk>,
    /// Host data the VideoCore took while its service thread waited for
    /// the host (see [`Kernel::wait_vc_data_taken`]), for the messages it
    /// goes with, in order.
    vc_rx: VecDeque<Vec<u8>>,
    /// Host receives not yet filled.
    host_rx: VecDeque<Bulk>,
    /// Data the VideoCore sends, not yet received by the host.
    pub(crate) vc_tx: VecDeque<VcBulk>,
    /// Transmits the VideoCore has made on the service, and how many of
    /// them the host has received.
    vc_sent: u64,
    vc_taken: u64,
}

impl Svc {
    /// The VideoCore takes the host's next transmit: its data, its
    /// completion queued.
    fn take_transmit(&mut self, completions: &mut VecDeque<Completion>) -> Option<Vec<u8>> {
        let bulk = self.host_tx.pop_front()?;
        let data = dma(|| bulk.data().to_vec());
        completions.push_back(Completion::BulkDone { service: self.userdata, bulk });
        Some(data)
    }
}

#[derive(Default)]
pub(crate) struct State {
    /// LIB_VERSION's argument (0 until given).
    pub(crate) lib_version: u32,
    pub(crate) connected: bool,
    pub(crate) shutdown: bool,
    pub(crate) services: HashMap<u32, Svc>,
    next_handle: u32,
    pub(crate) completions: VecDeque<Completion>,
    /// A test knob ([`EmulatedVchiq::hold_bulks`](crate::EmulatedVchiq::hold_bulks)):
    /// while set, no bulk data moves in either direction.
    pub(crate) hold_bulks: bool,
    /// A setting ([`EmulatedVchiq::disable_after_bulks`](crate::EmulatedVchiq::disable_after_bulks),
    /// on unless a test turns it off): a port's DISABLE is answered once
    /// the host has taken the data sent before it.
    pub(crate) disable_after_bulks: bool,
}

/// The driver's state, shared by the device and the VideoCore's threads.
pub(crate) struct Kernel {
    pub(crate) state: Mutex<State>,
    pub(crate) cond: Condvar,
}

/// Memory an output port's frames went out in, kept for its next ones
/// (see [`VcBulk::home`]): as many blocks as the port has buffers, of at
/// least `SPARE_MIN` bytes. Locked inside the state's lock, or alone
/// (never holding another).
pub(crate) struct Spare {
    blocks: Mutex<Vec<Vec<u8>>>,
    max: usize,
}

const SPARE_MIN: usize = 4096;

impl Spare {
    /// Room for `max` blocks.
    pub(crate) fn new(max: usize) -> Spare {
        Spare { blocks: Mutex::new(Vec::new()), max }
    }

    /// At least `size` bytes (initialised, as last written), if a block
    /// is large enough: memory already faulted in, so a frame costs no
    /// fresh allocation.
    pub(crate) fn take(&self, size: usize) -> Option<Vec<u8>> {
        let mut blocks = self.blocks.lock();
        let at = blocks.iter().position(|v| v.capacity() >= size)?;
        let mut v = blocks.swap_remove(at);
        drop(blocks);
        if v.len() < size {
            v.resize(size, 0);
        }
        Some(v)
    }

    /// Keeps `block` for the next frames, if there is room, or in place of
    /// a smaller one (the port's buffers may have grown).
    pub(crate) fn put(&self, block: Vec<u8>) {
        if block.capacity() < SPARE_MIN {
            return;
        }
        let mut blocks = self.blocks.lock();
        if blocks.len() < self.max {
            blocks.push(block);
        } else if let Some(smallest) = blocks.iter_mut().min_by_key(|b| b.capacity()) {
            if smallest.capacity() < block.capacity() {
                *smallest = block;
            }
        }
    }
}

/// Nanoseconds the emulated driver has spent copying bulk data between
/// the host and the VideoCore: the work of a Pi's DMA engine.
static COPY_NANOS: AtomicU64 = AtomicU64::new(0);

/// See [`crate::bulk_copy_time`].
pub(crate) fn copy_time() -> Duration {
    Duration::from_nanos(COPY_NANOS.load(Ordering::Relaxed))
}

/// Runs `copy`, timed as the DMA's work (wall-clock time: a copy the
/// scheduler interrupts counts its wait too).
fn dma<R>(copy: impl FnOnce() -> R) -> R {
    let start = Instant::now();
    let r = copy();
    COPY_NANOS.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
    r
}

/// Data the VideoCore transmits: `bytes[start..start + len]`.
pub(crate) struct VcBulk {
    pub(crate) bytes: Vec<u8>,
    pub(crate) start: usize,
    pub(crate) len: usize,
    /// Where the memory (all of `bytes`) goes once the host has the data,
    /// if its port is still there: its spare memory. Taken inside the
    /// state's lock, never the other way round.
    pub(crate) home: Option<std::sync::Weak<Spare>>,
}

impl VcBulk {
    fn data(&self) -> &[u8] {
        let start = self.start.min(self.bytes.len());
        &self.bytes[start..start.saturating_add(self.len).min(self.bytes.len())]
    }
}

impl From<Vec<u8>> for VcBulk {
    fn from(bytes: Vec<u8>) -> VcBulk {
        let len = bytes.len();
        VcBulk { bytes, start: 0, len, home: None }
    }
}

pub(crate) fn errno(e: i32) -> io::Error {
    io::Error::from_raw_os_error(e)
}

impl Kernel {
    pub(crate) fn new() -> Kernel {
        Kernel {
            state: Mutex::new(State { next_handle: 0x1000, disable_after_bulks: true, ..State::default() }),
            cond: Condvar::new(),
        }
    }

    /// Adds an open service (its opening completion queued).
    pub(crate) fn add_service(&self, userdata: u32, inbox: Sender<Vec<u8>>) -> ServiceHandle {
        let mut st = self.state.lock();
        let handle = st.next_handle;
        st.next_handle = st.next_handle.wrapping_add(1).max(0x1000);
        st.services.insert(
            handle,
            Svc {
                userdata,
                closed: false,
                delivered: false,
                uses: 1,
                inbox: Some(inbox),
                thread: None,
                host_tx: VecDeque::new(),
                vc_rx: VecDeque::new(),
                host_rx: VecDeque::new(),
                vc_tx: VecDeque::new(),
                vc_sent: 0,
                vc_taken: 0,
            },
        );
        st.completions.push_back(Completion::ServiceOpened { service: userdata });
        drop(st);
        self.cond.notify_all();
        ServiceHandle(handle)
    }

    /// Closes a service (the host's CLOSE_SERVICE or the VideoCore's
    /// decision): queued transfers are aborted, then SERVICE_CLOSED; the
    /// service thread's inbox is dropped so that it ends. Returns whether
    /// it was open.
    pub(crate) fn close(&self, handle: ServiceHandle) -> bool {
        let mut st = self.state.lock();
        let Some(s) = st.services.get_mut(&handle.0) else { return false };
        if s.closed {
            return false;
        }
        s.closed = true;
        s.inbox = None;
        s.vc_tx.clear();
        s.vc_rx.clear();
        let service = s.userdata;
        let aborted: Vec<Bulk> = s.host_tx.drain(..).chain(s.host_rx.drain(..)).collect();
        for bulk in aborted {
            st.completions.push_back(Completion::BulkAborted { service, bulk });
        }
        st.completions.push_back(Completion::ServiceClosed { service });
        drop(st);
        self.cond.notify_all();
        true
    }

    /// Takes the service thread's handle, to join it outside the lock.
    pub(crate) fn take_thread(&self, handle: ServiceHandle) -> Option<JoinHandle<()>> {
        self.state.lock().services.get_mut(&handle.0).and_then(|s| s.thread.take())
    }

    /// A message from the VideoCore (dropped if the service has closed).
    pub(crate) fn push_message(&self, handle: ServiceHandle, data: Vec<u8>) {
        self.push_with_bulk(handle, data, None);
    }

    /// A message and, right after it in the bulk order, the data the
    /// VideoCore transmits for it: both at once, so that messages and bulk
    /// data from several threads stay in the same order.
    pub(crate) fn push_with_bulk(&self, handle: ServiceHandle, data: Vec<u8>, bulk: Option<VcBulk>) {
        let mut st = self.state.lock();
        let st = &mut *st;
        let Some(s) = st.services.get_mut(&handle.0) else { return };
        if s.closed {
            return;
        }
        st.completions.push_back(Completion::Message { service: s.userdata, data });
        if let Some(b) = bulk {
            s.vc_tx.push_back(b);
            s.vc_sent += 1;
        }
        if !st.hold_bulks {
            Self::pair(s, &mut st.completions);
        }
        self.cond.notify_all();
    }

    /// Holds (or lets go of) every bulk transfer: see
    /// [`EmulatedVchiq::hold_bulks`](crate::EmulatedVchiq::hold_bulks).
    pub(crate) fn hold_bulks(&self, hold: bool) {
        let mut guard = self.state.lock();
        let st = &mut *guard;
        st.hold_bulks = hold;
        if !hold {
            for s in st.services.values_mut().filter(|s| !s.closed) {
                Self::pair(s, &mut st.completions);
            }
        }
        drop(guard);
        self.cond.notify_all();
    }

    /// Waits (at most `timeout`) until the host has received the data of
    /// every transmit the VideoCore has made on the service so far (not
    /// those it makes meanwhile); `false` if it has not (or the service is
    /// gone). Meanwhile the host's own transmits are taken as they come
    /// (kept for [`vc_receive`](Self::vc_receive)), as a VideoCore moves
    /// bulk data apart from the thread that answers: a host sending data
    /// from the thread that is to receive ours gets its transfer slots
    /// back, and goes on to receive.
    pub(crate) fn wait_vc_data_taken(&self, handle: ServiceHandle, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.state.lock();
        let Some(target) = st.services.get(&handle.0).map(|s| s.vc_sent) else { return false };
        loop {
            let st2 = &mut *st;
            match st2.services.get_mut(&handle.0) {
                Some(s) if !s.closed => {
                    if s.vc_taken >= target {
                        return true;
                    }
                    if !st2.hold_bulks && !s.host_tx.is_empty() {
                        while let Some(data) = s.take_transmit(&mut st2.completions) {
                            s.vc_rx.push_back(data);
                        }
                        self.cond.notify_all();
                    }
                }
                _ => return false,
            }
            if self.cond.wait_until(&mut st, deadline).timed_out() {
                return st.services.get(&handle.0).is_some_and(|s| s.vc_taken >= target);
            }
        }
    }

    /// Completes host receives with the VideoCore's data, in order.
    fn pair(s: &mut Svc, completions: &mut VecDeque<Completion>) {
        while !s.vc_tx.is_empty() && !s.host_rx.is_empty() {
            let data = s.vc_tx.pop_front().expect("not empty");
            s.vc_taken += 1;
            let mut bulk = s.host_rx.pop_front().expect("not empty");
            let (from, size) = (data.data(), bulk.size);
            let n = from.len().min(size);
            dma(|| bulk.buffer[..n].copy_from_slice(&from[..n]));
            completions.push_back(Completion::BulkDone { service: s.userdata, bulk });
            if let Some(spare) = data.home.as_ref().and_then(std::sync::Weak::upgrade) {
                spare.put(data.bytes);
            }
        }
    }

    /// The VideoCore receives the host's next bulk transmit, waiting at
    /// most `timeout`; `None` if the service closed or nothing came.
    pub(crate) fn vc_receive(&self, handle: ServiceHandle, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut st = self.state.lock();
        loop {
            let st2 = &mut *st;
            let s = st2.services.get_mut(&handle.0)?;
            if s.closed {
                return None;
            }
            if let Some(data) = s.vc_rx.pop_front() {
                return Some(data);
            }
            if st2.hold_bulks {
                // Held: the wait does not count.
                self.cond.wait(&mut st);
                continue;
            }
            if let Some(data) = s.take_transmit(&mut st2.completions) {
                self.cond.notify_all();
                return Some(data);
            }
            if self.cond.wait_until(&mut st, deadline).timed_out() {
                return None;
            }
        }
    }

    /// QUEUE_BULK_TRANSMIT/RECEIVE. With four already queued in its
    /// direction, waits until one completes, as the kernel does (whose
    /// wait a signal may interrupt; this one is not); `EINVAL` if the
    /// service closes meanwhile.
    pub(crate) fn queue_bulk(&self, handle: ServiceHandle, bulk: Bulk) -> Result<(), (io::Error, Bulk)> {
        if bulk.size == 0 || bulk.size > bulk.buffer.len() {
            return Err((errno(EINVAL), bulk));
        }
        let mut guard = self.state.lock();
        loop {
            let st = &mut *guard;
            let Some(s) = st.services.get_mut(&handle.0).filter(|s| !s.closed) else {
                return Err((errno(EINVAL), bulk));
            };
            let queue = match bulk.direction {
                BulkDirection::Transmit => &mut s.host_tx,
                BulkDirection::Receive => &mut s.host_rx,
            };
            if queue.len() >= MAX_BULKS {
                self.cond.wait(&mut guard);
                continue;
            }
            queue.push_back(bulk);
            if !st.hold_bulks {
                Self::pair(s, &mut st.completions);
            }
            self.cond.notify_all();
            return Ok(());
        }
    }
}

/// `EINVAL` and the rest, as Linux numbers them (the emulated
/// driver answers as Linux's does, whatever the host).
pub(crate) const EINVAL: i32 = 22;
pub(crate) const ENOTCONN: i32 = 107;
pub(crate) const EAGAIN: i32 = 11;
pub(crate) const ETIMEDOUT: i32 = 110;
pub(crate) const EIO: i32 = 5;
