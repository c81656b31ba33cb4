//! The emulated VideoCore behind a VCHIQ connection, a handler that
//! records what it is given, and a device that injects faults.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mmal_vchiq::{BufferToSend, Client, Event, Handler, Memory, Options, PortInfo, PortRef, PortType, Rect, Returned};
use parking_lot::{Condvar, Mutex, MutexGuard};
use vchiq::{Bulk, Completion, Config, Connection, Device, MessageBuffers, ServiceHandle, ServiceParams};
use vchiq_emu::EmulatedVchiq;

/// `size` zeroed bytes lent to a transfer ([`vchiq::BulkBuffer::lend`]),
/// and whether the lease is still held (the buffer, or what it went into,
/// not yet dropped).
pub fn lent(size: usize) -> (vchiq::BulkBuffer, Arc<AtomicBool>) {
    /// Owns the block; frees it when the buffer lets go.
    struct Lease {
        block: *mut [u8],
        held: Arc<AtomicBool>,
    }
    // SAFETY: the block is plain bytes owned by the lease.
    unsafe impl Send for Lease {}
    impl Drop for Lease {
        fn drop(&mut self) {
            self.held.store(false, Ordering::SeqCst);
            // SAFETY: made by `Box::into_raw` below, freed once, here.
            drop(unsafe { Box::from_raw(self.block) });
        }
    }
    let block = Box::into_raw(vec![0u8; size.max(1)].into_boxed_slice());
    let held = Arc::new(AtomicBool::new(true));
    let data = std::ptr::NonNull::new(block.cast::<u8>()).expect("a box is not null");
    // SAFETY: the block, `size` zeroed bytes, lives until the lease is
    // dropped, and nothing but the buffer reaches it.
    let buffer = unsafe { vchiq::BulkBuffer::lend(data, size, Box::new(Lease { block, held: Arc::clone(&held) })) };
    (buffer, held)
}

/// The tests of a file share the emulator's counters: one at a time.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    mmal_emu::set_pacing(mmal_emu::Pacing::Unlimited);
    LOCK.lock()
}

/// Threads of this process that the client, the VCHIQ connection and the
/// emulated VideoCore run (by name: the test harness's threads, which come
/// and go as other tests wait for their turn, are not counted).
pub fn threads() -> usize {
    const OURS: [&str; 5] = ["mmal-", "vchiq-", "vc-mmal", "ril.", "null_sink"];
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0 };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| OURS.iter().any(|p| name.starts_with(p)))
        .count()
}

/// Waits (bounded: a minute, for slow emulated machines) until `f` holds.
pub fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Generous waits: the tests run under qemu too.
pub fn vchiq_options() -> vchiq::Options {
    let mut o = vchiq::Options::default();
    o.reply_timeout = Duration::from_secs(20);
    o.bulk_timeout = Duration::from_secs(20);
    o.close_timeout = Duration::from_secs(20);
    o
}

pub fn client_options() -> Options {
    let mut o = Options::default();
    o.reply_timeout = Duration::from_secs(20);
    o.bulk_timeout = Duration::from_secs(20);
    o.drain_timeout = Duration::from_secs(20);
    o
}

/// What the handler was given.
#[derive(Default)]
pub struct Seen {
    pub buffers: Vec<Returned>,
    pub events: Vec<Event>,
    pub closed: bool,
    pub notes: Vec<String>,
}

type OnBuffer = dyn Fn(&Client, &Returned, &mut Seen) + Send + Sync;

/// Records everything; `on_buffer` runs first (with the record locked).
#[derive(Clone, Default)]
pub struct Recorder {
    pub seen: Arc<(Mutex<Seen>, Condvar)>,
    on_buffer: Option<Arc<OnBuffer>>,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    pub fn on_buffer(f: impl Fn(&Client, &Returned, &mut Seen) + Send + Sync + 'static) -> Recorder {
        Recorder { on_buffer: Some(Arc::new(f)), ..Recorder::default() }
    }

    /// Sends every buffer that comes back (not released) to its port
    /// again, with its memory, while the port takes it.
    pub fn resending() -> Recorder {
        Recorder::on_buffer(|client, b, _| {
            if let (false, Memory::Host(d)) = (b.released, &b.memory) {
                let _ = client.send_buffer(&b.port, BufferToSend::output(d.clone(), b.alloc_size));
            }
        })
    }

    /// Waits (bounded) until `f` holds of what was seen.
    pub fn wait(&self, what: &str, f: impl Fn(&Seen) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let (lock, cond) = &*self.seen;
        let mut seen = lock.lock();
        while !f(&seen) {
            assert!(!cond.wait_until(&mut seen, deadline).timed_out() || f(&seen), "timed out waiting for {what}");
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Seen> {
        self.seen.0.lock()
    }
}

impl Handler for Recorder {
    fn buffer(&self, client: &Client, buffer: Returned) {
        let (lock, cond) = &*self.seen;
        let mut seen = lock.lock();
        if let Some(f) = &self.on_buffer {
            f(client, &buffer, &mut seen);
        }
        seen.buffers.push(buffer);
        drop(seen);
        cond.notify_all();
    }

    fn event(&self, _client: &Client, event: Event) {
        self.seen.0.lock().events.push(event);
        self.seen.1.notify_all();
    }

    fn closed(&self) {
        self.seen.0.lock().closed = true;
        self.seen.1.notify_all();
    }
}

/// A connection to a fresh emulated VideoCore.
pub fn connect() -> Connection {
    Connection::with_device(Arc::new(EmulatedVchiq::new()), vchiq_options()).expect("connect")
}

/// A camera streaming 64x48 I420 frames: created, enabled, its video port
/// set, capturing and enabled with `buffers` buffers of the least size.
/// Returns the camera's handle and its video port.
pub fn capturing_video(client: &Client, buffers: u32) -> (u32, PortInfo) {
    let camera = client.component_create("ril.camera").expect("a camera");
    client.component_enable(camera.handle).expect("enabled");
    let video = video_port(client, camera.handle, 64, 48);
    client.parameter_set_u32(&video.port, mmal_sys::MMAL_PARAMETER_CAPTURE, 1).expect("capturing");
    client.port_enable(&video.port, buffers, video.buffer_size_min).expect("the video port enabled");
    (camera.handle, video)
}

/// A camera, created and enabled, its video port at 64x48 enabled with
/// `buffers` buffers and capture off (the VideoCore keeps what it is
/// given): the camera's handle and the port.
#[allow(dead_code)] // Not every test binary uses it.
pub fn idle_video(client: &Client, buffers: u32) -> (u32, PortInfo) {
    let camera = client.component_create("ril.camera").expect("a camera");
    client.component_enable(camera.handle).expect("enabled");
    let video = video_port(client, camera.handle, 64, 48);
    client.port_enable(&video.port, buffers, video.buffer_size_min).expect("the video port enabled");
    (camera.handle, video)
}

/// A null sink, created and enabled: its input port, its buffers at least
/// `min_size` bytes (the port itself not yet enabled).
#[allow(dead_code)] // Not every test binary uses it.
pub fn sink_input(client: &Client, min_size: u32) -> PortInfo {
    let sink = client.component_create("null_sink").expect("a null sink");
    client.component_enable(sink.handle).expect("enabled");
    let mut input = client.port_info_get(sink.handle, PortType::Input, 0).expect("its input");
    input.buffer_size = input.buffer_size.max(min_size);
    client.port_info_set(&input).expect("the input set")
}

/// The camera's video port (output 1) set to I420 at `width`×`height`.
pub fn video_port(client: &Client, camera: u32, width: u32, height: u32) -> PortInfo {
    let mut info = client.port_info_get(camera, PortType::Output, 1).expect("video port");
    info.format.encoding = mmal_sys::MMAL_ENCODING_I420;
    info.format.video.width = width;
    info.format.video.height = height;
    info.format.video.crop = Rect { x: 0, y: 0, width: width as i32, height: height as i32 };
    client.port_info_set(&info).expect("I420")
}

/// A BUFFER_TO_HOST for `port` with `cookie` and `length` bytes (which
/// would follow by bulk), as a confused VideoCore would send it.
pub fn buffer_to_host(port: &PortRef, cookie: u32, length: u32) -> Vec<u8> {
    use std::mem::{offset_of, size_of};
    use vchiq_sys::*;
    let mut m = vec![0u8; MMAL_MSG_BUFFER_TO_HOST_WIRE_SIZE as usize];
    let put = |m: &mut [u8], off: usize, v: u32| m[off..off + 4].copy_from_slice(&v.to_le_bytes());
    put(&mut m, offset_of!(mmal_msg_header, magic), MMAL_MAGIC);
    put(&mut m, offset_of!(mmal_msg_header, type_), MMAL_MSG_TYPE_BUFFER_TO_HOST);
    let drv = size_of::<mmal_msg_header>() + offset_of!(mmal_msg_buffer_from_host, drvbuf);
    put(&mut m, drv + offset_of!(mmal_msg_driver_buffer, magic), MMAL_MAGIC);
    put(&mut m, drv + offset_of!(mmal_msg_driver_buffer, component_handle), port.component);
    put(&mut m, drv + offset_of!(mmal_msg_driver_buffer, port_handle), port.handle);
    put(&mut m, drv + offset_of!(mmal_msg_driver_buffer, client_context), cookie);
    let bh = size_of::<mmal_msg_header>() + offset_of!(mmal_msg_buffer_from_host, buffer_header);
    put(&mut m, bh + offset_of!(mmal_msg_buffer_header, length), length);
    m
}

/// A client over a [`Faulty`] device, with `options` and a recorder: the
/// device, the connection (drop it after the client), the recorder and
/// the client.
pub fn recorded_over_faulty(options: Options) -> (Arc<Faulty>, Connection, Recorder, Client) {
    let device = Faulty::new();
    let connection = Connection::with_device(Arc::clone(&device), vchiq_options()).unwrap();
    let recorder = Recorder::new();
    let client = Client::open_with(&connection, options, recorder.clone()).unwrap();
    (device, connection, recorder, client)
}

/// What a [`Faulty`] device does to the next message of a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Sends it with a wrong magic: the VideoCore closes the service.
    BreakMagic,
    /// Never sends it: no reply comes.
    Swallow,
    /// Holds the call that queues it until [`Faulty::let_go`]: a sender
    /// slowed between its checks and its message.
    Hold,
}

/// The emulated device, with faults on demand: a message of a type broken
/// or swallowed, fabricated messages injected as if from the VideoCore.
pub struct Faulty {
    pub inner: Arc<EmulatedVchiq>,
    fault: Mutex<Option<(u32, Fault)>>,
    pub faulted: AtomicBool,
    inject: Mutex<VecDeque<Vec<u8>>>,
    /// Data the next host bulk receive gets instead of the VideoCore's,
    /// as if the VideoCore had sent it first.
    fake_rx: Mutex<Option<Vec<u8>>>,
    /// Receives completed with fake data, reported with the next
    /// completions.
    faked: Mutex<Vec<Completion>>,
    pub fakes_taken: AtomicU32,
    userdata: AtomicU32,
    /// Every message the host queued, whole, in order.
    pub sent: Mutex<Vec<Vec<u8>>>,
    /// Every bulk transmit the host queued: the number of messages queued
    /// before it, and its size.
    pub transmits: Mutex<Vec<(usize, usize)>>,
    /// While set, the host's bulk receives are kept here, never completed,
    /// as a driver keeps a transfer it has pinned.
    pub keep_receives: AtomicBool,
    pub kept: Mutex<Vec<Bulk>>,
    /// A [`Fault::Hold`]: whether a call is held, whether it may go.
    hold: (Mutex<(bool, bool)>, Condvar),
}

impl Faulty {
    pub fn new() -> Arc<Faulty> {
        Arc::new(Faulty {
            inner: Arc::new(EmulatedVchiq::new()),
            fault: Mutex::new(None),
            faulted: AtomicBool::new(false),
            inject: Mutex::new(VecDeque::new()),
            fake_rx: Mutex::new(None),
            faked: Mutex::new(Vec::new()),
            fakes_taken: AtomicU32::new(0),
            userdata: AtomicU32::new(0),
            sent: Mutex::new(Vec::new()),
            transmits: Mutex::new(Vec::new()),
            keep_receives: AtomicBool::new(false),
            kept: Mutex::new(Vec::new()),
            hold: (Mutex::new((false, false)), Condvar::new()),
        })
    }

    /// The next message of type `ty` suffers `fault`.
    pub fn arm(&self, ty: u32, fault: Fault) {
        *self.fault.lock() = Some((ty, fault));
    }

    /// The next bulk receive the host queues gets `data` (its completion
    /// reported with the next completions: make a request after it).
    pub fn fake_bulk(&self, data: Vec<u8>) {
        *self.fake_rx.lock() = Some(data);
    }

    /// Waits (bounded) until a [`Fault::Hold`] holds a call.
    pub fn wait_held(&self) {
        let (lock, cond) = &self.hold;
        let mut st = lock.lock();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !st.0 {
            assert!(!cond.wait_until(&mut st, deadline).timed_out(), "no call was held");
        }
    }

    /// Lets the held call go on.
    pub fn let_go(&self) {
        self.hold.0.lock().1 = true;
        self.hold.1.notify_all();
    }

    /// `message` arrives as if the VideoCore sent it, once the device is
    /// next asked for completions.
    pub fn inject(&self, message: Vec<u8>) {
        // Picked up with the next completions: make a request after it.
        self.inject.lock().push_back(message);
    }
}

impl Device for Faulty {
    fn get_config(&self) -> io::Result<Config> {
        self.inner.get_config()
    }
    fn lib_version(&self, version: u32) -> io::Result<()> {
        self.inner.lib_version(version)
    }
    fn connect(&self) -> io::Result<()> {
        self.inner.connect()
    }
    fn shutdown(&self) -> io::Result<()> {
        self.inner.shutdown()
    }
    fn create_service(&self, params: &ServiceParams) -> io::Result<ServiceHandle> {
        self.userdata.store(params.userdata, Ordering::SeqCst);
        self.inner.create_service(params)
    }
    fn close_service(&self, handle: ServiceHandle) -> io::Result<()> {
        self.inner.close_service(handle)
    }
    fn remove_service(&self, handle: ServiceHandle) -> io::Result<()> {
        self.inner.remove_service(handle)
    }
    fn close_delivered(&self, handle: ServiceHandle) -> io::Result<()> {
        self.inner.close_delivered(handle)
    }
    fn use_service(&self, handle: ServiceHandle) -> io::Result<()> {
        self.inner.use_service(handle)
    }
    fn release_service(&self, handle: ServiceHandle) -> io::Result<()> {
        self.inner.release_service(handle)
    }
    fn queue_message(&self, handle: ServiceHandle, elements: &[&[u8]]) -> io::Result<()> {
        let message = elements.concat();
        let ty = u32::from_le_bytes(message[4..8].try_into().unwrap());
        let fault = {
            let mut f = self.fault.lock();
            match *f {
                Some((t, fault)) if t == ty => {
                    *f = None;
                    Some(fault)
                }
                _ => None,
            }
        };
        // Recorded as it goes to the device (a held one once let go).
        if fault != Some(Fault::Hold) {
            self.sent.lock().push(message.clone());
        }
        match fault {
            Some(Fault::Swallow) => {
                self.faulted.store(true, Ordering::SeqCst);
                Ok(())
            }
            Some(Fault::Hold) => {
                let (lock, cond) = &self.hold;
                let mut st = lock.lock();
                st.0 = true;
                cond.notify_all();
                while !st.1 {
                    cond.wait(&mut st);
                }
                drop(st);
                self.sent.lock().push(message);
                self.inner.queue_message(handle, elements)
            }
            Some(Fault::BreakMagic) => {
                let mut broken = message;
                broken[..4].copy_from_slice(&0xBAD0_BAD0u32.to_le_bytes());
                self.faulted.store(true, Ordering::SeqCst);
                self.inner.queue_message(handle, &[&broken])
            }
            None => self.inner.queue_message(handle, elements),
        }
    }
    fn queue_bulk(&self, handle: ServiceHandle, mut bulk: Bulk) -> Result<(), (io::Error, Bulk)> {
        if bulk.direction == vchiq::BulkDirection::Transmit {
            let messages = self.sent.lock().len();
            self.transmits.lock().push((messages, bulk.size));
        }
        if bulk.direction == vchiq::BulkDirection::Receive {
            if self.keep_receives.load(Ordering::SeqCst) {
                self.kept.lock().push(bulk);
                return Ok(());
            }
            if let Some(data) = self.fake_rx.lock().take() {
                let n = data.len().min(bulk.size);
                bulk.buffer[..n].copy_from_slice(&data[..n]);
                let service = self.userdata.load(Ordering::SeqCst);
                self.faked.lock().push(Completion::BulkDone { service, bulk });
                self.fakes_taken.fetch_add(1, Ordering::SeqCst);
                return Ok(());
            }
        }
        self.inner.queue_bulk(handle, bulk)
    }
    fn await_completion(&self, max: usize, buffers: &mut MessageBuffers) -> io::Result<Vec<Completion>> {
        let mut out = self.inner.await_completion(max, buffers)?;
        let service = self.userdata.load(Ordering::SeqCst);
        out.append(&mut self.faked.lock());
        // Injected messages go after what the device had: in order with
        // the traffic that woke the thread.
        while let Some(m) = self.inject.lock().pop_front() {
            out.push(Completion::Message { service, data: m });
        }
        Ok(out)
    }
}
