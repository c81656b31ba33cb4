//! The crate's error type and the MMAL status the VideoCore answers with.

use std::fmt;
use std::time::Duration;

use vchiq_sys as sys;

/// An MMAL status as the VideoCore sends it (`MMAL_STATUS_T` on the wire).
///
/// ```
/// use mmal_vchiq::Status;
/// assert_eq!(Status::from_u32(3), Status::Einval);
/// assert_eq!(Status::Einval.to_u32(), 3);
/// assert_eq!(Status::from_u32(99), Status::Unknown(99));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `MMAL_SUCCESS` (0).
    Success,
    /// `MMAL_ENOMEM`: out of memory.
    Enomem,
    /// `MMAL_ENOSPC`: out of resources (other than memory).
    Enospc,
    /// `MMAL_EINVAL`: an argument is invalid.
    Einval,
    /// `MMAL_ENOSYS`: not implemented.
    Enosys,
    /// `MMAL_ENOENT`: no such file or directory (or port).
    Enoent,
    /// `MMAL_ENXIO`: no such device or address.
    Enxio,
    /// `MMAL_EIO`: I/O error.
    Eio,
    /// `MMAL_ESPIPE`: illegal seek.
    Espipe,
    /// `MMAL_ECORRUPT`: the data is corrupt.
    Ecorrupt,
    /// `MMAL_ENOTREADY`: the component is not ready.
    Enotready,
    /// `MMAL_ECONFIG`: the component is not configured.
    Econfig,
    /// `MMAL_EISCONN`: the port is already connected.
    Eisconn,
    /// `MMAL_ENOTCONN`: the port is not connected.
    Enotconn,
    /// `MMAL_EAGAIN`: resource temporarily unavailable; try again later.
    Eagain,
    /// `MMAL_EFAULT`: bad address.
    Efault,
    /// A value this crate does not know.
    Unknown(u32),
}

impl Status {
    /// The status of a wire value.
    ///
    /// ```
    /// assert_eq!(mmal_vchiq::Status::from_u32(0), mmal_vchiq::Status::Success);
    /// ```
    pub fn from_u32(value: u32) -> Status {
        match value {
            sys::MMAL_MSG_STATUS_SUCCESS => Status::Success,
            sys::MMAL_MSG_STATUS_ENOMEM => Status::Enomem,
            sys::MMAL_MSG_STATUS_ENOSPC => Status::Enospc,
            sys::MMAL_MSG_STATUS_EINVAL => Status::Einval,
            sys::MMAL_MSG_STATUS_ENOSYS => Status::Enosys,
            sys::MMAL_MSG_STATUS_ENOENT => Status::Enoent,
            sys::MMAL_MSG_STATUS_ENXIO => Status::Enxio,
            sys::MMAL_MSG_STATUS_EIO => Status::Eio,
            sys::MMAL_MSG_STATUS_ESPIPE => Status::Espipe,
            sys::MMAL_MSG_STATUS_ECORRUPT => Status::Ecorrupt,
            sys::MMAL_MSG_STATUS_ENOTREADY => Status::Enotready,
            sys::MMAL_MSG_STATUS_ECONFIG => Status::Econfig,
            sys::MMAL_MSG_STATUS_EISCONN => Status::Eisconn,
            sys::MMAL_MSG_STATUS_ENOTCONN => Status::Enotconn,
            sys::MMAL_MSG_STATUS_EAGAIN => Status::Eagain,
            sys::MMAL_MSG_STATUS_EFAULT => Status::Efault,
            other => Status::Unknown(other),
        }
    }

    /// The wire value (`MMAL_STATUS_T`).
    ///
    /// ```
    /// assert_eq!(mmal_vchiq::Status::Enospc.to_u32(), 2);
    /// ```
    pub fn to_u32(self) -> u32 {
        match self {
            Status::Success => sys::MMAL_MSG_STATUS_SUCCESS,
            Status::Enomem => sys::MMAL_MSG_STATUS_ENOMEM,
            Status::Enospc => sys::MMAL_MSG_STATUS_ENOSPC,
            Status::Einval => sys::MMAL_MSG_STATUS_EINVAL,
            Status::Enosys => sys::MMAL_MSG_STATUS_ENOSYS,
            Status::Enoent => sys::MMAL_MSG_STATUS_ENOENT,
            Status::Enxio => sys::MMAL_MSG_STATUS_ENXIO,
            Status::Eio => sys::MMAL_MSG_STATUS_EIO,
            Status::Espipe => sys::MMAL_MSG_STATUS_ESPIPE,
            Status::Ecorrupt => sys::MMAL_MSG_STATUS_ECORRUPT,
            Status::Enotready => sys::MMAL_MSG_STATUS_ENOTREADY,
            Status::Econfig => sys::MMAL_MSG_STATUS_ECONFIG,
            Status::Eisconn => sys::MMAL_MSG_STATUS_EISCONN,
            Status::Enotconn => sys::MMAL_MSG_STATUS_ENOTCONN,
            Status::Eagain => sys::MMAL_MSG_STATUS_EAGAIN,
            Status::Efault => sys::MMAL_MSG_STATUS_EFAULT,
            Status::Unknown(v) => v,
        }
    }

    /// Whether it is [`Status::Success`].
    ///
    /// ```
    /// assert!(mmal_vchiq::Status::Success.is_success());
    /// ```
    pub fn is_success(self) -> bool {
        self == Status::Success
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Status::Success => "MMAL_SUCCESS",
            Status::Enomem => "MMAL_ENOMEM (out of memory)",
            Status::Enospc => "MMAL_ENOSPC (out of resources)",
            Status::Einval => "MMAL_EINVAL (invalid argument)",
            Status::Enosys => "MMAL_ENOSYS (not implemented)",
            Status::Enoent => "MMAL_ENOENT (no such entry)",
            Status::Enxio => "MMAL_ENXIO (no such device)",
            Status::Eio => "MMAL_EIO (I/O error)",
            Status::Espipe => "MMAL_ESPIPE (illegal seek)",
            Status::Ecorrupt => "MMAL_ECORRUPT (corrupt data)",
            Status::Enotready => "MMAL_ENOTREADY (not ready)",
            Status::Econfig => "MMAL_ECONFIG (not configured)",
            Status::Eisconn => "MMAL_EISCONN (already connected)",
            Status::Enotconn => "MMAL_ENOTCONN (not connected)",
            Status::Eagain => "MMAL_EAGAIN (try again)",
            Status::Efault => "MMAL_EFAULT (bad address)",
            Status::Unknown(v) => return write!(f, "MMAL status {v} (unknown)"),
        };
        f.write_str(name)
    }
}

/// What went wrong talking MMAL to the VideoCore.
///
/// ```
/// use mmal_vchiq::{Error, Status};
/// let e = Error::Mmal { call: "PORT_INFO_SET", status: Status::Einval };
/// assert!(e.to_string().contains("MMAL_EINVAL"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The VideoCore answered with a status other than success.
    #[error("the VideoCore refused {call}: {status}")]
    Mmal {
        /// The request (message type) refused.
        call: &'static str,
        /// What it answered.
        status: Status,
    },
    /// A parameter did not fit the space given for it: the VideoCore needs
    /// `needed` bytes (its header included).
    #[error("parameter {id:#x} needs {needed} bytes (header included): ask again with that much space")]
    ParameterTooSmall {
        /// The parameter.
        id: u32,
        /// The size the VideoCore reported, header included.
        needed: u32,
    },
    /// No reply came in time.
    #[error("no reply from the VideoCore to {call} within {after:?}: it may be hung or overloaded; reopen the client")]
    Timeout {
        /// The request.
        call: &'static str,
        /// How long it waited.
        after: Duration,
    },
    /// The client was closed ([`Client::close`](crate::Client::close) or the
    /// last handle dropped) before or while the call ran.
    #[error("the MMAL client is closed: open a new one")]
    Closed,
    /// The VideoCore closed the MMAL service (or the connection failed):
    /// nothing more can be sent or received on it.
    #[error("the VideoCore closed the MMAL service (it may have rejected a message or restarted): open a new client")]
    ServiceClosed,
    /// A bulk transfer of buffer data could not be completed in order (no
    /// data within [`Options::bulk_timeout`](crate::Options::bulk_timeout),
    /// data too large to skip, or an input's data not queued after its
    /// message). VCHIQ cannot withdraw a queued transfer, so every later
    /// buffer would get another buffer's data: the client closed itself
    /// instead, handing every buffer still out back through the handler.
    #[error(
        "the MMAL client lost the order of its bulk data ({what}): every later buffer would get another's data, \
         so the client closed; open a new client"
    )]
    DataOrderLost {
        /// What happened.
        what: &'static str,
    },
    /// A port disable (or component destroy) is done on the VideoCore and
    /// every buffer of the port is back from it, but one is still in the
    /// handler (slow, or blocked in another call) after
    /// [`Options::drain_timeout`](crate::Options::drain_timeout) twice: the
    /// call cannot promise that every buffer has been through the handler.
    #[error(
        "a buffer of the port was still in the handler after {after:?} (twice): the port is disabled, but not \
         every buffer has been through the handler yet; return from the handler sooner"
    )]
    HandlerBusy {
        /// How long each wait lasted.
        after: Duration,
    },
    /// A message from the VideoCore is not what the protocol says: the
    /// message is dropped, never trusted.
    #[error("a malformed {call} reply from the VideoCore: {what}")]
    Malformed {
        /// The request it answers (or the message type).
        call: &'static str,
        /// What is wrong with it.
        what: String,
    },
    /// The VideoCore's MMAL service speaks versions this client does not.
    #[error(
        "the VideoCore's MMAL service is version {major}.{minor} (accepting clients from {minimum}); this client \
         speaks {client} (accepting {client_min}): update the firmware"
    )]
    IncompatibleVersion {
        /// The service's version.
        major: u32,
        /// Its minor version.
        minor: u32,
        /// The oldest client version it accepts.
        minimum: u32,
        /// This client's version.
        client: u32,
        /// The oldest service version this client accepts.
        client_min: u32,
    },
    /// Every buffer cookie is in use: more buffers are with the VideoCore
    /// than the client was opened for.
    #[error("all {capacity} buffer cookies are with the VideoCore: send fewer buffers, or open the client with more")]
    NoCookies {
        /// How many there are.
        capacity: usize,
    },
    /// A buffer was sent to a port this client has not enabled (or is
    /// disabling).
    #[error("port {port:#x} of component {component:#x} is not enabled by this client: enable it first")]
    PortNotEnabled {
        /// The component's handle.
        component: u32,
        /// The port's handle.
        port: u32,
    },
    /// An argument is out of range; the message says which.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// The VCHIQ connection failed in a way no other variant describes.
    #[error(transparent)]
    Vchiq(vchiq::Error),
}

impl From<vchiq::Error> for Error {
    fn from(e: vchiq::Error) -> Error {
        match e {
            vchiq::Error::ServiceClosed(_) | vchiq::Error::ConnectionFailed(_) | vchiq::Error::BulkAborted => {
                Error::ServiceClosed
            }
            other => Error::Vchiq(other),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
