//! A test double of `/dev/vchiq` that plays the kernel's and the
//! VideoCore's side: services opened and closed (with CLOSE_DELIVERED
//! awaited as the kernel awaits it), messages in and out, bulk transfers
//! completed at once or held until the test lets them go (in order or
//! not), use counts, and faults injected per ioctl.
#![allow(dead_code, unreachable_pub)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use vchiq::{Bulk, BulkDirection, Completion, Config, Device, Fourcc, MessageBuffers, ServiceHandle, ServiceParams};

/// What the VideoCore does with a message: reply through `vc`, or not.
pub type Firmware = dyn Fn(&FakeVc, ServiceHandle, &[u8]) + Send + Sync;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FakeService {
    pub userdata: u32,
    pub fourcc: Fourcc,
    /// The VideoCore's use count for the service (1 when opened).
    pub uses: i32,
    pub closed: bool,
}

#[derive(Default)]
struct State {
    calls: Vec<String>,
    faults: HashMap<&'static str, VecDeque<i32>>,
    services: HashMap<u32, FakeService>,
    next_handle: u32,
    completions: VecDeque<Completion>,
    shutdown: bool,
    /// Bulk transfers held (auto-completion off), in queue order.
    held: VecDeque<(ServiceHandle, Bulk)>,
    /// Data the VideoCore sends by bulk, in order.
    to_send: VecDeque<Vec<u8>>,
    /// Data the VideoCore received by bulk, in order.
    received: Vec<Vec<u8>>,
    /// Handles whose close has been acknowledged.
    delivered: HashSet<u32>,
    max_outstanding_seen: usize,
}

pub struct FakeVc {
    state: Mutex<State>,
    cond: Condvar,
    pub config: Mutex<Config>,
    /// Services the VideoCore offers.
    pub offered: Mutex<Vec<Fourcc>>,
    firmware: Mutex<Option<Arc<Firmware>>>,
    /// Complete bulk transfers as soon as they are queued.
    pub auto_complete_bulks: Mutex<bool>,
    /// CREATE_SERVICE waits (for the VideoCore, which does not answer)
    /// while this is set, 10 s at most.
    hang_create: Mutex<bool>,
    hang_cond: Condvar,
}

/// The `Device` given to the connection; the test keeps the `Arc`.
pub struct FakeDevice(pub Arc<FakeVc>);

impl FakeVc {
    pub fn new() -> Arc<FakeVc> {
        Arc::new(FakeVc {
            state: Mutex::new(State { next_handle: 0x1000, ..State::default() }),
            cond: Condvar::new(),
            config: Mutex::new(Config::default()),
            offered: Mutex::new(vec![Fourcc::MMAL, Fourcc::new(*b"echo")]),
            firmware: Mutex::new(None),
            auto_complete_bulks: Mutex::new(true),
            hang_create: Mutex::new(false),
            hang_cond: Condvar::new(),
        })
    }

    pub fn device(self: &Arc<Self>) -> FakeDevice {
        FakeDevice(Arc::clone(self))
    }

    /// What the VideoCore does with each message.
    pub fn set_firmware(&self, f: impl Fn(&FakeVc, ServiceHandle, &[u8]) + Send + Sync + 'static) {
        *self.firmware.lock() = Some(Arc::new(f));
    }

    /// Makes CREATE_SERVICE wait (`true`) or lets it go on (`false`).
    pub fn hang_create(&self, hang: bool) {
        *self.hang_create.lock() = hang;
        self.hang_cond.notify_all();
    }

    /// The next `times` calls of `op` (an ioctl name) fail with `errno`.
    pub fn fail(&self, op: &'static str, errno: i32, times: usize) {
        self.state.lock().faults.entry(op).or_default().extend(std::iter::repeat_n(errno, times));
    }

    pub fn calls(&self) -> Vec<String> {
        self.state.lock().calls.clone()
    }

    pub fn count(&self, prefix: &str) -> usize {
        self.state.lock().calls.iter().filter(|c| c.starts_with(prefix)).count()
    }

    pub fn service(&self, handle: ServiceHandle) -> FakeService {
        self.state.lock().services[&handle.0]
    }

    pub fn uses(&self, handle: ServiceHandle) -> i32 {
        self.service(handle).uses
    }

    /// The VideoCore sends a message on the service.
    pub fn push_message(&self, handle: ServiceHandle, data: Vec<u8>) {
        let mut st = self.state.lock();
        let service = st.services[&handle.0].userdata;
        st.completions.push_back(Completion::Message { service, data });
        drop(st);
        self.cond.notify_all();
    }

    /// Queues data for the VideoCore to send by bulk.
    pub fn queue_bulk_data(&self, data: Vec<u8>) {
        self.state.lock().to_send.push_back(data);
    }

    pub fn received(&self) -> Vec<Vec<u8>> {
        self.state.lock().received.clone()
    }

    pub fn held(&self) -> usize {
        self.state.lock().held.len()
    }

    pub fn max_outstanding_seen(&self) -> usize {
        self.state.lock().max_outstanding_seen
    }

    /// Completes held transfers: the indices (in queue order) given, in the
    /// order given.
    pub fn complete_held(&self, order: &[usize]) {
        let mut st = self.state.lock();
        let mut taken: Vec<Option<(ServiceHandle, Bulk)>> = st.held.drain(..).map(Some).collect();
        for &i in order {
            let (handle, bulk) = taken[i].take().expect("each held transfer once");
            let c = Self::finish(&mut st, handle, bulk);
            st.completions.push_back(c);
        }
        st.held.extend(taken.into_iter().flatten());
        drop(st);
        self.cond.notify_all();
    }

    /// The VideoCore closes the service: held transfers are aborted, then
    /// SERVICE_CLOSED.
    pub fn vc_close(&self, handle: ServiceHandle) {
        let mut st = self.state.lock();
        Self::close_locked(&mut st, handle);
        drop(st);
        self.cond.notify_all();
    }

    pub fn delivered(&self, handle: ServiceHandle) -> bool {
        self.state.lock().delivered.contains(&handle.0)
    }

    fn close_locked(st: &mut State, handle: ServiceHandle) {
        let Some(s) = st.services.get_mut(&handle.0) else { return };
        if s.closed {
            return;
        }
        s.closed = true;
        let service = s.userdata;
        let (mine, others): (Vec<_>, Vec<_>) = st.held.drain(..).partition(|(h, _)| *h == handle);
        st.held.extend(others);
        for (_, bulk) in mine {
            st.completions.push_back(Completion::BulkAborted { service, bulk });
        }
        st.completions.push_back(Completion::ServiceClosed { service });
    }

    fn finish(st: &mut State, handle: ServiceHandle, mut bulk: Bulk) -> Completion {
        let service = st.services[&handle.0].userdata;
        match bulk.direction {
            BulkDirection::Transmit => st.received.push(bulk.data().to_vec()),
            BulkDirection::Receive => {
                let data = st.to_send.pop_front().unwrap_or_else(|| vec![0xA5; bulk.size]);
                let n = data.len().min(bulk.size);
                bulk.buffer[..n].copy_from_slice(&data[..n]);
            }
        }
        Completion::BulkDone { service, bulk }
    }

    /// Records the call and applies an injected fault.
    fn enter(&self, op: &'static str, detail: String) -> io::Result<()> {
        let mut st = self.state.lock();
        st.calls.push(if detail.is_empty() { op.to_owned() } else { format!("{op} {detail}") });
        if let Some(errno) = st.faults.get_mut(op).and_then(VecDeque::pop_front) {
            return Err(io::Error::from_raw_os_error(errno));
        }
        Ok(())
    }

    fn open_service(st: &State, handle: ServiceHandle) -> io::Result<()> {
        match st.services.get(&handle.0) {
            Some(s) if !s.closed => Ok(()),
            _ => Err(io::Error::from_raw_os_error(libc::EINVAL)),
        }
    }
}

impl Device for FakeDevice {
    fn get_config(&self) -> io::Result<Config> {
        self.0.enter("GET_CONFIG", String::new())?;
        Ok(*self.0.config.lock())
    }

    fn lib_version(&self, version: u32) -> io::Result<()> {
        self.0.enter("LIB_VERSION", version.to_string())
    }

    fn connect(&self) -> io::Result<()> {
        self.0.enter("CONNECT", String::new())
    }

    fn shutdown(&self) -> io::Result<()> {
        self.0.enter("SHUTDOWN", String::new())?;
        self.0.state.lock().shutdown = true;
        self.0.cond.notify_all();
        Ok(())
    }

    fn create_service(&self, params: &ServiceParams) -> io::Result<ServiceHandle> {
        let vc = &self.0;
        vc.enter("CREATE_SERVICE", format!("{} v{}/{}", params.fourcc, params.version, params.version_min))?;
        {
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut hang = vc.hang_create.lock();
            while *hang && !vc.hang_cond.wait_until(&mut hang, deadline).timed_out() {}
        }
        if !vc.offered.lock().contains(&params.fourcc) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let mut st = vc.state.lock();
        let handle = st.next_handle;
        st.next_handle += 1;
        st.services
            .insert(handle, FakeService { userdata: params.userdata, fourcc: params.fourcc, uses: 1, closed: false });
        st.completions.push_back(Completion::ServiceOpened { service: params.userdata });
        drop(st);
        vc.cond.notify_all();
        Ok(ServiceHandle(handle))
    }

    fn close_service(&self, handle: ServiceHandle) -> io::Result<()> {
        let vc = &self.0;
        vc.enter("CLOSE_SERVICE", format!("{:#x}", handle.0))?;
        let mut st = vc.state.lock();
        if !st.services.contains_key(&handle.0) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        FakeVc::close_locked(&mut st, handle);
        vc.cond.notify_all();
        // As the kernel: return once the close has been delivered (bounded
        // here so that a broken client fails the test instead of hanging it).
        let deadline = Instant::now() + Duration::from_secs(10);
        while !st.delivered.contains(&handle.0) {
            if vc.cond.wait_until(&mut st, deadline).timed_out() {
                return Err(io::Error::from_raw_os_error(libc::ETIMEDOUT));
            }
        }
        Ok(())
    }

    fn remove_service(&self, handle: ServiceHandle) -> io::Result<()> {
        self.0.enter("REMOVE_SERVICE", format!("{:#x}", handle.0))
    }

    fn close_delivered(&self, handle: ServiceHandle) -> io::Result<()> {
        self.0.enter("CLOSE_DELIVERED", format!("{:#x}", handle.0))?;
        self.0.state.lock().delivered.insert(handle.0);
        self.0.cond.notify_all();
        Ok(())
    }

    fn use_service(&self, handle: ServiceHandle) -> io::Result<()> {
        self.0.enter("USE_SERVICE", format!("{:#x}", handle.0))?;
        let mut st = self.0.state.lock();
        FakeVc::open_service(&st, handle)?;
        st.services.get_mut(&handle.0).expect("open").uses += 1;
        Ok(())
    }

    fn release_service(&self, handle: ServiceHandle) -> io::Result<()> {
        self.0.enter("RELEASE_SERVICE", format!("{:#x}", handle.0))?;
        let mut st = self.0.state.lock();
        FakeVc::open_service(&st, handle)?;
        let s = st.services.get_mut(&handle.0).expect("open");
        if s.uses == 0 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        s.uses -= 1;
        Ok(())
    }

    fn queue_message(&self, handle: ServiceHandle, elements: &[&[u8]]) -> io::Result<()> {
        let vc = &self.0;
        let message: Vec<u8> = elements.concat();
        vc.enter("QUEUE_MESSAGE", format!("{} bytes", message.len()))?;
        {
            let st = vc.state.lock();
            FakeVc::open_service(&st, handle)?;
            if elements.len() > 8 || message.len() > vc.config.lock().max_msg_size as usize {
                return Err(io::Error::from_raw_os_error(libc::EINVAL));
            }
        }
        let firmware = vc.firmware.lock().clone();
        if let Some(f) = firmware {
            f(vc, handle, &message);
        }
        Ok(())
    }

    fn queue_bulk(&self, handle: ServiceHandle, bulk: Bulk) -> Result<(), (io::Error, Bulk)> {
        let vc = &self.0;
        let op = match bulk.direction {
            BulkDirection::Transmit => "QUEUE_BULK_TRANSMIT",
            BulkDirection::Receive => "QUEUE_BULK_RECEIVE",
        };
        if let Err(e) = vc.enter(op, format!("{} bytes", bulk.size)) {
            return Err((e, bulk));
        }
        let mut st = vc.state.lock();
        if let Err(e) = FakeVc::open_service(&st, handle) {
            return Err((e, bulk));
        }
        if bulk.size == 0 || bulk.size > bulk.buffer.len() {
            return Err((io::Error::from_raw_os_error(libc::EINVAL), bulk));
        }
        if *vc.auto_complete_bulks.lock() {
            let c = FakeVc::finish(&mut st, handle, bulk);
            st.completions.push_back(c);
        } else {
            // The kernel allows VCHIQ_NUM_SERVICE_BULKS per direction.
            let dir = bulk.direction;
            let queued = st.held.iter().filter(|(h, b)| *h == handle && b.direction == dir).count();
            if queued >= 4 {
                return Err((io::Error::from_raw_os_error(libc::EBUSY), bulk));
            }
            st.held.push_back((handle, bulk));
            st.max_outstanding_seen = st.max_outstanding_seen.max(queued + 1);
        }
        drop(st);
        vc.cond.notify_all();
        Ok(())
    }

    fn await_completion(&self, max: usize, buffers: &mut MessageBuffers) -> io::Result<Vec<Completion>> {
        let vc = &self.0;
        let mut st = vc.state.lock();
        // Faults apply to the calls that would return something.
        while st.completions.is_empty() && !st.shutdown {
            vc.cond.wait(&mut st);
        }
        if let Some(errno) = st.faults.get_mut("AWAIT_COMPLETION").and_then(VecDeque::pop_front) {
            return Err(io::Error::from_raw_os_error(errno));
        }
        let mut out = Vec::new();
        while out.len() < max {
            let Some(c) = st.completions.pop_front() else { break };
            if let Completion::Message { data, .. } = &c {
                match buffers.consume(data.len()) {
                    Ok(()) => {}
                    Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                        st.completions.push_front(c);
                        break;
                    }
                    Err(e) => {
                        st.completions.push_front(c);
                        if out.is_empty() {
                            return Err(e);
                        }
                        break;
                    }
                }
            }
            out.push(c);
        }
        Ok(out)
    }
}

/// The tests' little protocol on the `echo` service: `[kind, context,
/// payload...]` in little-endian u32 words. Kind 1 is a request, answered
/// (by [`echo_firmware`]) with kind 2 and the same context and payload.
pub const REQUEST: u32 = 1;
pub const REPLY: u32 = 2;
pub const NOTE: u32 = 3;

pub fn message(kind: u32, context: u32, payload: &[u8]) -> Vec<u8> {
    let mut m = kind.to_le_bytes().to_vec();
    m.extend_from_slice(&context.to_le_bytes());
    m.extend_from_slice(payload);
    m
}

pub fn word(m: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(m.get(i * 4..i * 4 + 4)?.try_into().ok()?))
}

/// Replies to every request at once.
pub fn echo_firmware(vc: &FakeVc, handle: ServiceHandle, m: &[u8]) {
    if word(m, 0) == Some(REQUEST) {
        vc.push_message(handle, message(REPLY, word(m, 1).unwrap_or(0), &m[8..]));
    }
}

pub const ECHO: Fourcc = Fourcc::new(*b"echo");

/// Short timeouts, so that a test of a timeout is quick.
pub fn options() -> vchiq::Options {
    let mut o = vchiq::Options::default();
    o.reply_timeout = Duration::from_millis(200);
    o.bulk_timeout = Duration::from_millis(300);
    o.close_timeout = Duration::from_secs(2);
    o
}

pub fn connect(vc: &Arc<FakeVc>) -> vchiq::Connection {
    vchiq::Connection::with_device(vc.device(), options()).expect("connect to the fake")
}

pub fn echo_options() -> vchiq::ServiceOptions {
    vchiq::ServiceOptions::new(ECHO, 3, 1).reply_context(|m| (word(m, 0)? == REPLY).then(|| word(m, 1)).flatten())
}

/// Waits until `cond` holds; fails the test after 10 s instead of hanging.
pub fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}
