//! The crate's one error type.

use std::io;
use std::time::Duration;

use crate::device::Fourcc;

/// What went wrong talking to the VideoCore over VCHIQ. Each message says
/// what to do about it.
///
/// ```
/// let e = vchiq::Error::Timeout { what: "the reply to request 7", after: std::time::Duration::from_secs(3) };
/// assert!(e.to_string().contains("3s"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed in a way no other variant describes.
    #[error("{call} failed: {source}")]
    Io {
        /// The ioctl or call that failed.
        call: &'static str,
        /// The error the kernel (or test device) returned.
        #[source]
        source: io::Error,
    },
    /// There is no `/dev/vchiq`.
    #[error(
        "no /dev/vchiq: this is not a Raspberry Pi with the VideoCore firmware, or the vchiq driver is not \
         loaded (Raspberry Pi OS: it is part of the kernel; check `dmesg | grep -i vchiq`); elsewhere set \
         VIDEOCORE=emulated"
    )]
    NoDevice(#[source] io::Error),
    /// `/dev/vchiq` exists but this process may not open it.
    #[error("permission denied opening /dev/vchiq: add the user to the `video` group (`sudo usermod -aG video $USER`, then log in again)")]
    PermissionDenied(#[source] io::Error),
    /// The driver speaks a VCHIQ protocol this crate does not.
    #[error(
        "the vchiq driver speaks protocol versions {driver_min}..={driver}, this client {client_min}..={client}: \
         update the kernel (or this crate)"
    )]
    IncompatibleDriver {
        /// The driver's version.
        driver: i16,
        /// The oldest version the driver still accepts.
        driver_min: i16,
        /// The version this client speaks.
        client: i16,
        /// The oldest driver version this client accepts.
        client_min: i16,
    },
    /// The kernel or the VideoCore ran out of memory.
    #[error(
        "{call}: out of memory: close other VideoCore users (camera apps, video players), or give the GPU \
         more memory (gpu_mem in config.txt)"
    )]
    OutOfMemory {
        /// The call that failed.
        call: &'static str,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
    /// The VideoCore refused to open the service (it does not offer it, or
    /// not in a version this client accepts).
    #[error(
        "the VideoCore does not offer the service '{fourcc}' (versions {version_min}..={version}): enable it in \
         the firmware (for 'mmal': start_x=1 and gpu_mem>=128 in config.txt, legacy camera stack)"
    )]
    ServiceUnavailable {
        /// The service asked for.
        fourcc: Fourcc,
        /// The version offered.
        version: i16,
        /// The oldest version accepted.
        version_min: i16,
        /// The kernel's error.
        #[source]
        source: io::Error,
    },
    /// The service was closed (by the VideoCore, by [`Service::close`], or
    /// because the connection failed) before the call could complete.
    ///
    /// [`Service::close`]: crate::Service::close
    #[error("the service '{0}' is closed: open it again (the VideoCore may have restarted or rejected a message)")]
    ServiceClosed(Fourcc),
    /// The connection's completion thread stopped; no reply or completion
    /// can arrive any more.
    #[error("the VCHIQ connection failed ({0}): open a new connection")]
    ConnectionFailed(String),
    /// Nothing came back in time.
    #[error(
        "no answer from the VideoCore to {what} within {after:?}: it may be hung or overloaded; give it longer \
         (vchiq::Options) or reopen the service"
    )]
    Timeout {
        /// What was waited for.
        what: &'static str,
        /// How long.
        after: Duration,
    },
    /// A message is larger than the driver accepts.
    #[error("a message of {size} bytes is larger than the {max} bytes the driver accepts: send less per message")]
    MessageTooLarge {
        /// Bytes asked for.
        size: usize,
        /// The driver's limit.
        max: usize,
    },
    /// A request was made with a context already waiting for its reply.
    #[error("a request with context {0} is already waiting for its reply: give each request its own context")]
    ContextInUse(u32),
    /// A call that waits for the VideoCore was made from the completion
    /// thread (a service callback), where it could only deadlock.
    #[error(
        "{0} cannot be called from a service callback (it would wait for the thread that runs the callback): \
         hand the work to another thread"
    )]
    OnCompletionThread(&'static str),
    /// An argument is out of range; the message says which.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// A bulk transfer completed out of the order it was queued in: the
    /// VideoCore or the driver broke VCHIQ's ordering.
    #[error("a bulk transfer completed out of order: the driver or firmware misbehaves; reopen the service")]
    BulkOutOfOrder,
    /// A bulk transfer was aborted (the service closed while it was queued).
    #[error("the bulk transfer was aborted by the driver: the service is closing; reopen it")]
    BulkAborted,
    /// [`Service::send_with_bulk`](crate::Service::send_with_bulk): the
    /// message went out, but its bulk transmit could not be queued (the
    /// reason inside). The peer waits for data that will not come, or pairs
    /// the message with the next transfer: the service's data stream is
    /// out of step.
    #[error(
        "a message went out but its bulk data could not be queued ({0}): the data stream is out of step; close \
         the service and open it again"
    )]
    BulkNotQueued(Box<Error>),
}

impl Error {
    /// Maps a device error to the variant that says what to do.
    pub(crate) fn from_io(call: &'static str, source: io::Error) -> Error {
        match source.raw_os_error() {
            Some(libc::ENOMEM) => Error::OutOfMemory { call, source },
            _ => Error::Io { call, source },
        }
    }

    /// The errno behind the error, if a system call failed.
    ///
    /// ```
    /// let e = vchiq::Error::Io { call: "QUEUE_MESSAGE", source: std::io::Error::from_raw_os_error(5) };
    /// assert_eq!(e.raw_os_error(), Some(5));
    /// ```
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. }
            | Error::NoDevice(source)
            | Error::PermissionDenied(source)
            | Error::OutOfMemory { source, .. }
            | Error::ServiceUnavailable { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
