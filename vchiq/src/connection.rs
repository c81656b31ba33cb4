//! The connection: open and version checks, then services.

use std::io;
use std::sync::Arc;
use std::thread;

use parking_lot::{Condvar, Mutex};

use vchiq_sys as sys;

use crate::device::{Config, Device, ServiceHandle, ServiceParams};
use crate::error::{Error, Result};
use crate::kernel::Kernel;
use crate::options::{Options, ServiceOptions};
use crate::service::Service;
use crate::shared::{retry, Owner, ServiceShared};

/// The device node.
pub const DEVICE_PATH: &str = "/dev/vchiq";

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
        Ok(Connection { owner: Owner::start(Box::new(device), config, options)? })
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
    /// [`Error::Timeout`] if it does not answer within the reply timeout,
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
        let (params, shared) = inner.register(options);
        let handle = match self.create_service(&params, &shared) {
            Ok(h) => h,
            Err(e) => {
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

    /// CREATE_SERVICE on a helper thread, waited for at most the reply
    /// timeout: the driver waits for the VideoCore to accept the service, and
    /// a hung VideoCore never does. A service that opens after the caller
    /// gave up is closed by the helper.
    fn create_service(&self, params: &ServiceParams, shared: &Arc<ServiceShared>) -> Result<ServiceHandle> {
        let inner = &self.owner.inner;
        let slot = Arc::new((Mutex::new(Opening::Waiting), Condvar::new()));
        let (owner, late, params, helper_slot) =
            (Arc::clone(&self.owner), Arc::clone(shared), *params, Arc::clone(&slot));
        let spawned = thread::Builder::new().name("vchiq-open".into()).spawn(move || {
            let result = retry("CREATE_SERVICE", || owner.inner.device.create_service(&params));
            let mut state = helper_slot.0.lock();
            if matches!(*state, Opening::GaveUp) {
                drop(state);
                match result {
                    Ok(handle) => {
                        let _ = late.handle.set(handle);
                        if let Err(e) = retry("CLOSE_SERVICE", || owner.inner.device.close_service(handle)) {
                            log::warn!("vchiq: closing '{}', opened too late: {e}", params.fourcc);
                        }
                    }
                    Err(_) => owner.inner.forget_service(late.key),
                }
                return;
            }
            *state = Opening::Done(result);
            helper_slot.1.notify_all();
        });
        let helper = match spawned {
            Ok(h) => h,
            Err(e) => {
                inner.forget_service(shared.key);
                return Err(Error::Io { call: "starting a thread to open the service", source: e });
            }
        };
        let timeout = inner.options.reply_timeout;
        let mut state = slot.0.lock();
        if matches!(*state, Opening::Waiting) {
            slot.1.wait_while_for(&mut state, |s| matches!(s, Opening::Waiting), timeout);
        }
        match std::mem::replace(&mut *state, Opening::GaveUp) {
            Opening::Done(result) => {
                drop(state);
                // It has handed over its result: it ends now.
                let _ = helper.join();
                if result.is_err() {
                    inner.forget_service(shared.key);
                }
                result
            }
            _ => {
                // The helper closes the service if it ever opens; until then
                // it stays known, so that its close can be acknowledged.
                shared.mark_closed_by_client();
                Err(Error::Timeout { what: "the VideoCore to open the service", after: timeout })
            }
        }
    }
}

/// Where an opening on the helper thread stands.
enum Opening {
    Waiting,
    Done(Result<ServiceHandle>),
    GaveUp,
}
