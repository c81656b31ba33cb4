//! The ioctl-level interface of `/dev/vchiq`, as a trait.
//!
//! [`Connection`](crate::Connection) talks to the driver only through
//! [`Device`]: the kernel is one implementation; tests (and the software
//! VideoCore) provide others. Every method is one ioctl and returns the
//! kernel's error as it came: retrying `EINTR` is the connection's job.

use std::fmt;
use std::io;

use crate::buffer::BulkBuffer;

/// A service's four-character code, packed as `VCHIQ_MAKE_FOURCC` packs it
/// (first character in the most significant byte).
///
/// ```
/// use vchiq::Fourcc;
/// let mmal = Fourcc::new(*b"mmal");
/// assert_eq!(mmal.to_u32(), 0x6D6D_616C);
/// assert_eq!(mmal.to_string(), "mmal");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Fourcc(u32);

impl Fourcc {
    /// The 4CC of four characters.
    ///
    /// ```
    /// assert_eq!(vchiq::Fourcc::new(*b"mmal"), vchiq::Fourcc::MMAL);
    /// ```
    pub const fn new(chars: [u8; 4]) -> Fourcc {
        Fourcc(vchiq_sys::make_fourcc(chars))
    }

    /// The 4CC as the packed number the driver sees.
    ///
    /// ```
    /// assert_eq!(vchiq::Fourcc::from_u32(0x6D6D_616C), vchiq::Fourcc::MMAL);
    /// ```
    pub const fn from_u32(value: u32) -> Fourcc {
        Fourcc(value)
    }

    /// The packed number.
    ///
    /// ```
    /// assert_eq!(vchiq::Fourcc::MMAL.to_u32(), vchiq_sys::VC_MMAL_SERVICE_FOURCC);
    /// ```
    pub const fn to_u32(self) -> u32 {
        self.0
    }

    /// The MMAL service.
    ///
    /// ```
    /// assert_eq!(vchiq::Fourcc::MMAL.to_string(), "mmal");
    /// ```
    pub const MMAL: Fourcc = Fourcc::new(*b"mmal");
}

impl fmt::Display for Fourcc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.to_be_bytes() {
            if c.is_ascii_graphic() || c == b' ' {
                write!(f, "{}", c as char)?;
            } else {
                write!(f, "\\x{c:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Fourcc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fourcc(\"{self}\")")
    }
}

/// The driver's limits and protocol versions (GET_CONFIG).
///
/// ```
/// let config = vchiq::Config::default();
/// assert_eq!(config.max_msg_size, 4088);
/// assert_eq!(config.max_outstanding_bulks, 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The largest message, in bytes.
    pub max_msg_size: u32,
    /// Bulk transfers below this size may be sent inline by the driver.
    pub bulk_threshold: u32,
    /// Bulk transfers a service may have queued per direction.
    pub max_outstanding_bulks: u32,
    /// Services per instance.
    pub max_services: u32,
    /// The driver's protocol version.
    pub version: i16,
    /// The oldest client version the driver accepts.
    pub version_min: i16,
}

impl Default for Config {
    /// What a current Raspberry Pi kernel reports.
    fn default() -> Config {
        Config {
            max_msg_size: vchiq_sys::VCHIQ_MAX_MSG_SIZE,
            bulk_threshold: 0,
            max_outstanding_bulks: vchiq_sys::VCHIQ_NUM_SERVICE_BULKS,
            max_services: vchiq_sys::VCHIQ_MAX_SERVICES,
            version: vchiq_sys::VCHIQ_VERSION as i16,
            version_min: vchiq_sys::VCHIQ_VERSION_MIN as i16,
        }
    }
}

/// The driver's handle of an open service.
///
/// ```
/// let handle = vchiq::ServiceHandle(0x1000);
/// assert_eq!(handle.0, 0x1000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServiceHandle(pub u32);

/// CREATE_SERVICE's arguments: open `fourcc` on the VideoCore.
///
/// ```
/// let params = vchiq::ServiceParams { fourcc: vchiq::Fourcc::MMAL, userdata: 1, version: 15, version_min: 10 };
/// assert_eq!(params.fourcc.to_string(), "mmal");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceParams {
    /// The service.
    pub fourcc: Fourcc,
    /// Returned in every [`Completion`] of the service.
    pub userdata: u32,
    /// The service protocol version offered.
    pub version: i16,
    /// The oldest service protocol version accepted.
    pub version_min: i16,
}

/// Which way a bulk transfer goes.
///
/// ```
/// assert_ne!(vchiq::BulkDirection::Transmit, vchiq::BulkDirection::Receive);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BulkDirection {
    /// To the VideoCore (QUEUE_BULK_TRANSMIT).
    Transmit,
    /// From the VideoCore (QUEUE_BULK_RECEIVE).
    Receive,
}

/// A bulk transfer handed to a [`Device`]: the device owns the buffer until
/// it hands it back in a [`Completion`] (or with the error that refused it).
///
/// ```
/// use vchiq::{Bulk, BulkDirection};
/// let bulk = Bulk { direction: BulkDirection::Transmit, buffer: vec![1, 2, 3, 4].into(), size: 4, userdata: 9 };
/// assert_eq!(bulk.data(), &[1, 2, 3, 4]);
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct Bulk {
    /// Which way.
    pub direction: BulkDirection,
    /// Transmit: the data is `buffer[..size]`. Receive: the VideoCore writes
    /// `buffer[..size]`. A device that hands the memory to a driver keeps
    /// the buffer until the driver is done with it (never drops it before).
    pub buffer: BulkBuffer,
    /// Bytes to transfer (at most `buffer.len()`).
    pub size: usize,
    /// Returned in the transfer's completion.
    pub userdata: u32,
}

impl Bulk {
    /// The bytes transferred (`buffer[..size]`, clamped to the buffer).
    ///
    /// ```
    /// use vchiq::{Bulk, BulkDirection};
    /// let bulk = Bulk { direction: BulkDirection::Receive, buffer: vec![0; 8].into(), size: 3, userdata: 1 };
    /// assert_eq!(bulk.data().len(), 3);
    /// ```
    pub fn data(&self) -> &[u8] {
        &self.buffer[..self.size.min(self.buffer.len())]
    }
}

/// What AWAIT_COMPLETION reports. `service` is the [`ServiceParams::userdata`]
/// of the service concerned.
///
/// ```
/// let c = vchiq::Completion::Message { service: 1, data: vec![1, 2] };
/// assert!(matches!(c, vchiq::Completion::Message { service: 1, .. }));
/// ```
#[derive(Debug, PartialEq, Eq)]
pub enum Completion {
    /// The service opened.
    ServiceOpened {
        /// Whose.
        service: u32,
    },
    /// The service closed (asked for, or by the VideoCore). The client
    /// acknowledges it with CLOSE_DELIVERED.
    ServiceClosed {
        /// Whose.
        service: u32,
    },
    /// A message from the VideoCore.
    Message {
        /// Whose.
        service: u32,
        /// Its payload.
        data: Vec<u8>,
    },
    /// A bulk transfer finished; the buffer comes back.
    BulkDone {
        /// Whose.
        service: u32,
        /// The transfer, as queued (received data in `buffer[..size]`).
        bulk: Bulk,
    },
    /// A bulk transfer was aborted (the service closed); the buffer comes
    /// back.
    BulkAborted {
        /// Whose.
        service: u32,
        /// The transfer, as queued.
        bulk: Bulk,
    },
}

/// The message buffers of one AWAIT_COMPLETION call: `count` buffers of
/// `size` bytes (message header included). The driver takes one per message
/// from the end and fails with `EMSGSIZE` for a message that does not fit;
/// with none left it returns what it has.
///
/// ```
/// let mut bufs = vchiq::MessageBuffers::new(2, 64);
/// assert!(bufs.consume(10).is_ok());
/// assert_eq!(bufs.available(), 1);
/// assert_eq!(bufs.consume(100).unwrap_err().raw_os_error(), Some(libc::EMSGSIZE));
/// bufs.refill();
/// assert_eq!(bufs.available(), 2);
/// ```
#[derive(Debug)]
pub struct MessageBuffers {
    /// The buffers' memory: `count` of `size` bytes, or none for an
    /// accounting-only set.
    pub(crate) buffers: Vec<Vec<u8>>,
    pub(crate) available: usize,
    count: usize,
    size: usize,
    /// Made with memory ([`new`](MessageBuffers::new)).
    memory: bool,
}

/// Bytes of the `vchiq_header` in front of every message in a buffer.
pub(crate) const HEADER_SIZE: usize = 8;

impl MessageBuffers {
    /// `count` buffers of `size` bytes each.
    ///
    /// ```
    /// assert_eq!(vchiq::MessageBuffers::new(8, 4096).count(), 8);
    /// ```
    pub fn new(count: usize, size: usize) -> MessageBuffers {
        MessageBuffers {
            buffers: (0..count).map(|_| vec![0; size]).collect(),
            available: count,
            count,
            size,
            memory: true,
        }
    }

    /// The accounting of `count` buffers of `size` bytes, with no memory
    /// behind them: for a device that copies messages somewhere else (an
    /// emulated driver answering a caller that has buffers of its own), and
    /// only counts and checks sizes here. Nothing is allocated, whatever
    /// `count` and `size`. The kernel's device needs memory to hand the
    /// driver: given an accounting-only set it passes no buffer, and so
    /// receives no message.
    ///
    /// ```
    /// let mut bufs = vchiq::MessageBuffers::accounting(1 << 16, 1 << 20);
    /// assert_eq!((bufs.count(), bufs.size(), bufs.available()), (1 << 16, 1 << 20, 1 << 16));
    /// assert!(!bufs.has_memory());
    /// bufs.consume(100).unwrap();
    /// assert_eq!(bufs.available(), (1 << 16) - 1);
    /// let mut none = vchiq::MessageBuffers::accounting(0, 64);
    /// // With none left, a message that fits waits (EAGAIN); one that
    /// // cannot fit is an error (EMSGSIZE), as the driver checks the size
    /// // first.
    /// assert_eq!(none.consume(8).unwrap_err().raw_os_error(), Some(libc::EAGAIN));
    /// assert_eq!(none.consume(64).unwrap_err().raw_os_error(), Some(libc::EMSGSIZE));
    /// ```
    pub fn accounting(count: usize, size: usize) -> MessageBuffers {
        MessageBuffers { buffers: Vec::new(), available: count, count, size, memory: false }
    }

    /// Whether the buffers have memory (made by [`new`](MessageBuffers::new)).
    ///
    /// ```
    /// assert!(vchiq::MessageBuffers::new(1, 16).has_memory());
    /// assert!(!vchiq::MessageBuffers::accounting(1, 16).has_memory());
    /// assert!(!vchiq::MessageBuffers::accounting(0, 16).has_memory());
    /// ```
    pub fn has_memory(&self) -> bool {
        self.memory
    }

    /// How many buffers there are.
    ///
    /// ```
    /// assert_eq!(vchiq::MessageBuffers::new(3, 16).count(), 3);
    /// ```
    pub fn count(&self) -> usize {
        self.count
    }

    /// The size of each.
    ///
    /// ```
    /// assert_eq!(vchiq::MessageBuffers::new(3, 16).size(), 16);
    /// ```
    pub fn size(&self) -> usize {
        self.size
    }

    /// How many the device may still fill in this call.
    ///
    /// ```
    /// assert_eq!(vchiq::MessageBuffers::new(3, 16).available(), 3);
    /// ```
    pub fn available(&self) -> usize {
        self.available
    }

    /// Takes a buffer for a message of `len` payload bytes, as the driver
    /// does: `EMSGSIZE` if it does not fit, `EAGAIN` if none is left (the
    /// device should then return the completions it has).
    ///
    /// ```
    /// let mut bufs = vchiq::MessageBuffers::new(1, 16);
    /// bufs.consume(8).unwrap();
    /// assert_eq!(bufs.consume(1).unwrap_err().raw_os_error(), Some(libc::EAGAIN));
    /// ```
    pub fn consume(&mut self, len: usize) -> io::Result<()> {
        if len.saturating_add(HEADER_SIZE) > self.size {
            return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
        }
        if self.available == 0 {
            return Err(io::Error::from_raw_os_error(libc::EAGAIN));
        }
        self.available -= 1;
        Ok(())
    }

    /// Makes every buffer available again (their messages have been copied
    /// out).
    ///
    /// ```
    /// let mut bufs = vchiq::MessageBuffers::new(1, 16);
    /// bufs.consume(1).unwrap();
    /// bufs.refill();
    /// assert_eq!(bufs.available(), 1);
    /// ```
    pub fn refill(&mut self) {
        self.available = self.count;
    }
}

/// The ioctls of `/dev/vchiq`, one method each. Implementations must be
/// callable from several threads at once: one thread sits in
/// [`await_completion`](Device::await_completion) while others send.
///
/// ```
/// fn connect(device: &dyn vchiq::Device) -> std::io::Result<()> {
///     let config = device.get_config()?;
///     device.lib_version(8)?;
///     println!("driver version {}", config.version);
///     device.connect()
/// }
/// ```
pub trait Device: Send + Sync + 'static {
    /// GET_CONFIG.
    fn get_config(&self) -> io::Result<Config>;
    /// LIB_VERSION: the client's protocol version.
    fn lib_version(&self, version: u32) -> io::Result<()>;
    /// CONNECT.
    fn connect(&self) -> io::Result<()>;
    /// SHUTDOWN: closes every service and wakes a thread in
    /// [`await_completion`](Device::await_completion), which then returns
    /// without completions (or with an error).
    fn shutdown(&self) -> io::Result<()>;
    /// CREATE_SERVICE with `is_open = 1`, `is_vchi = 0`: completions carry
    /// the service's messages.
    fn create_service(&self, params: &ServiceParams) -> io::Result<ServiceHandle>;
    /// CLOSE_SERVICE: returns once the SERVICE_CLOSED completion has been
    /// acknowledged with [`close_delivered`](Device::close_delivered).
    fn close_service(&self, handle: ServiceHandle) -> io::Result<()>;
    /// REMOVE_SERVICE.
    fn remove_service(&self, handle: ServiceHandle) -> io::Result<()>;
    /// CLOSE_DELIVERED: the SERVICE_CLOSED completion has been handled.
    fn close_delivered(&self, handle: ServiceHandle) -> io::Result<()>;
    /// USE_SERVICE: take a use of the VideoCore.
    fn use_service(&self, handle: ServiceHandle) -> io::Result<()>;
    /// RELEASE_SERVICE: give one back.
    fn release_service(&self, handle: ServiceHandle) -> io::Result<()>;
    /// QUEUE_MESSAGE: the elements, concatenated, are one message.
    fn queue_message(&self, handle: ServiceHandle, elements: &[&[u8]]) -> io::Result<()>;
    /// QUEUE_BULK_TRANSMIT or _RECEIVE in callback mode: the buffer comes
    /// back in a [`Completion::BulkDone`] or [`Completion::BulkAborted`], or
    /// at once with the error if the transfer was not queued.
    fn queue_bulk(&self, handle: ServiceHandle, bulk: Bulk) -> Result<(), (io::Error, Bulk)>;
    /// AWAIT_COMPLETION: waits for at least one completion and returns up
    /// to `max` (none for `max` 0: the wait alone, as the kernel answers a
    /// count of 0), message payloads taken through `buffers`.
    fn await_completion(&self, max: usize, buffers: &mut MessageBuffers) -> io::Result<Vec<Completion>>;
}

/// A shared device is a device: the software VideoCore, or a test, can keep
/// a handle on the device it gives a connection.
///
/// ```
/// use std::sync::Arc;
/// fn connect(device: Arc<dyn vchiq::Device>) -> vchiq::Result<vchiq::Connection> {
///     vchiq::Connection::with_device(Arc::clone(&device), vchiq::Options::default())
/// }
/// ```
impl<D: Device + ?Sized> Device for std::sync::Arc<D> {
    fn get_config(&self) -> io::Result<Config> {
        (**self).get_config()
    }
    fn lib_version(&self, version: u32) -> io::Result<()> {
        (**self).lib_version(version)
    }
    fn connect(&self) -> io::Result<()> {
        (**self).connect()
    }
    fn shutdown(&self) -> io::Result<()> {
        (**self).shutdown()
    }
    fn create_service(&self, params: &ServiceParams) -> io::Result<ServiceHandle> {
        (**self).create_service(params)
    }
    fn close_service(&self, handle: ServiceHandle) -> io::Result<()> {
        (**self).close_service(handle)
    }
    fn remove_service(&self, handle: ServiceHandle) -> io::Result<()> {
        (**self).remove_service(handle)
    }
    fn close_delivered(&self, handle: ServiceHandle) -> io::Result<()> {
        (**self).close_delivered(handle)
    }
    fn use_service(&self, handle: ServiceHandle) -> io::Result<()> {
        (**self).use_service(handle)
    }
    fn release_service(&self, handle: ServiceHandle) -> io::Result<()> {
        (**self).release_service(handle)
    }
    fn queue_message(&self, handle: ServiceHandle, elements: &[&[u8]]) -> io::Result<()> {
        (**self).queue_message(handle, elements)
    }
    fn queue_bulk(&self, handle: ServiceHandle, bulk: Bulk) -> Result<(), (io::Error, Bulk)> {
        (**self).queue_bulk(handle, bulk)
    }
    fn await_completion(&self, max: usize, buffers: &mut MessageBuffers) -> io::Result<Vec<Completion>> {
        (**self).await_completion(max, buffers)
    }
}
