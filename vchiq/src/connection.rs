//! The connection: open and version checks, the completion thread, and the
//! dispatch of completions to services.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use vchiq_sys as sys;

use crate::device::{Completion, Config, Device, MessageBuffers, HEADER_SIZE};
use crate::error::{Error, Result};
use crate::kernel::Kernel;
use crate::service::{Service, ServiceOptions, ServiceShared};

/// How long the connection waits for the VideoCore, and how many message
/// buffers its completion thread keeps.
///
/// ```
/// use std::time::Duration;
/// let mut options = vchiq::Options::default();
/// options.reply_timeout = Duration::from_secs(1);
/// assert_eq!(options.message_buffers, 8);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// How long [`Service::request`] waits for its reply (3 s, as the
    /// kernel's own MMAL client).
    pub reply_timeout: Duration,
    /// How long a bulk transfer may take, and how long queuing one waits for
    /// a free slot.
    pub bulk_timeout: Duration,
    /// How long closing a service, or the connection, waits.
    pub close_timeout: Duration,
    /// Message buffers per AWAIT_COMPLETION call (userland uses 8).
    pub message_buffers: usize,
    /// Completions per AWAIT_COMPLETION call (userland uses 8).
    pub completions_per_call: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            reply_timeout: Duration::from_secs(3),
            bulk_timeout: Duration::from_secs(5),
            close_timeout: Duration::from_secs(3),
            message_buffers: 8,
            completions_per_call: 8,
        }
    }
}

/// The device node.
pub const DEVICE_PATH: &str = "/dev/vchiq";

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

/// A connection to the VideoCore over `/dev/vchiq`: one per process is
/// enough, shared by its services. Cloning it is cheap; the last clone (or
/// service) closes it.
///
/// It runs one completion thread, which receives every message, bulk
/// completion and close from the driver and hands them to the services.
///
/// ```no_run
/// # fn main() -> vchiq::Result<()> {
/// let connection = vchiq::Connection::open()?;
/// println!("driver version {}", connection.config().version);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Connection {
    owner: Arc<Owner>,
}

// Connection and Service are Send + Sync: everything they share is behind
// locks or atomics, and the device is `Send + Sync` by the trait's bound.
// tests/threads.rs asserts it.

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("config", &self.owner.inner.config).finish_non_exhaustive()
    }
}

impl Connection {
    /// Opens `/dev/vchiq` with the default [`Options`].
    ///
    /// # Errors
    ///
    /// [`Error::NoDevice`], [`Error::PermissionDenied`], and those of
    /// [`with_device`](Connection::with_device).
    ///
    /// ```no_run
    /// let connection = vchiq::Connection::open()?;
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn open() -> Result<Connection> {
        Connection::open_path(DEVICE_PATH, Options::default())
    }

    /// Opens the VCHIQ device node at `path`.
    ///
    /// ```no_run
    /// let connection = vchiq::Connection::open_path("/dev/vchiq", vchiq::Options::default())?;
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn open_path(path: &str, options: Options) -> Result<Connection> {
        let kernel = Kernel::open(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::NoDevice(e),
            io::ErrorKind::PermissionDenied => Error::PermissionDenied(e),
            _ => Error::Io { call: "open /dev/vchiq", source: e },
        })?;
        Connection::with_device(kernel, options)
    }

    /// Connects through `device`: GET_CONFIG and the version check,
    /// LIB_VERSION (drivers from version 7), CONNECT, then the completion
    /// thread starts.
    ///
    /// # Errors
    ///
    /// [`Error::IncompatibleDriver`] if the driver's versions do not overlap
    /// this client's (3..=8); the device's errors otherwise.
    ///
    /// ```
    /// fn connect(device: impl vchiq::Device) -> vchiq::Result<vchiq::Connection> {
    ///     vchiq::Connection::with_device(device, vchiq::Options::default())
    /// }
    /// ```
    pub fn with_device(device: impl Device, options: Options) -> Result<Connection> {
        if options.message_buffers == 0 || options.completions_per_call == 0 {
            return Err(Error::InvalidArgument("Options: message_buffers and completions_per_call must be at least 1"));
        }
        let config = retry("GET_CONFIG", || device.get_config())?;
        let (client, client_min) = (sys::VCHIQ_VERSION as i16, sys::VCHIQ_VERSION_MIN as i16);
        if config.version < client_min || config.version_min > client {
            return Err(Error::IncompatibleDriver {
                driver: config.version,
                driver_min: config.version_min,
                client,
                client_min,
            });
        }
        if config.max_msg_size == 0 || config.max_msg_size > 1 << 20 {
            return Err(Error::Io {
                call: "GET_CONFIG",
                source: io::Error::new(io::ErrorKind::InvalidData, format!("max_msg_size {}", config.max_msg_size)),
            });
        }
        if config.version >= sys::VCHIQ_VERSION_LIB_VERSION as i16 {
            retry("LIB_VERSION", || device.lib_version(sys::VCHIQ_VERSION))?;
        }
        retry("CONNECT", || device.connect())?;
        let inner = Arc::new(Inner {
            device: Box::new(device),
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
        Ok(Connection { owner: Arc::new(Owner { inner, thread: Mutex::new(Some(thread)) }) })
    }

    /// The driver's limits and versions (GET_CONFIG).
    ///
    /// ```no_run
    /// let connection = vchiq::Connection::open()?;
    /// assert!(connection.config().max_msg_size >= 512);
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn config(&self) -> Config {
        self.owner.inner.config
    }

    /// Opens a service on the VideoCore (CREATE_SERVICE), for example
    /// MMAL's.
    ///
    /// The driver opens it holding one use of the VideoCore; the service
    /// gives it back at once and from then on holds a use only around its
    /// traffic (a request until its reply, a bulk transfer until it
    /// completes, a [`Service::hold_use`] guard).
    ///
    /// # Errors
    ///
    /// [`Error::ServiceUnavailable`] if the VideoCore refuses it,
    /// [`Error::OutOfMemory`], [`Error::ConnectionFailed`].
    ///
    /// ```no_run
    /// use vchiq::{Connection, Fourcc, ServiceOptions};
    /// let connection = Connection::open()?;
    /// let mmal = connection.open_service(ServiceOptions::new(Fourcc::MMAL, 15, 10))?;
    /// # Ok::<(), vchiq::Error>(())
    /// ```
    pub fn open_service(&self, options: ServiceOptions) -> Result<Service> {
        let inner = &self.owner.inner;
        if let Some(reason) = inner.failure() {
            return Err(Error::ConnectionFailed(reason));
        }
        let key = loop {
            let k = inner.next_service.fetch_add(1, Ordering::Relaxed);
            if k != 0 {
                break k;
            }
        };
        let params = options.params(key);
        let shared = Arc::new(ServiceShared::new(key, options));
        inner.services.lock().insert(key, Arc::clone(&shared));
        let handle = match retry("CREATE_SERVICE", || inner.device.create_service(&params)) {
            Ok(h) => h,
            Err(e) => {
                inner.forget_service(key);
                return Err(match e {
                    Error::Io { source, .. } => Error::ServiceUnavailable {
                        fourcc: params.fourcc,
                        version: params.version,
                        version_min: params.version_min,
                        source,
                    },
                    other => other,
                });
            }
        };
        let _ = shared.handle.set(handle);
        // The driver opened the service with a use held (userland's client
        // starts with use count 1 and releases it once open).
        if let Err(e) = retry("RELEASE_SERVICE", || inner.device.release_service(handle)) {
            log::debug!("vchiq: releasing the opening use of '{}': {e}", params.fourcc);
        }
        Ok(Service::new(Arc::clone(&self.owner), shared))
    }
}
