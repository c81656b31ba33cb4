//! Status codes and errors.

use std::fmt;

use mmal_sys as sys;

/// An MMAL status code (`MMAL_STATUS_T`), mapped in Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// `MMAL_ENOMEM`: out of memory (on the VideoCore: `gpu_mem` too small,
    /// or the camera not enabled when creating it).
    NoMemory,
    /// `MMAL_ENOSPC`: out of resources other than memory (no sensor, the
    /// camera in use, a parameter too large for its buffer).
    NoSpace,
    /// `MMAL_EINVAL`: an argument was invalid.
    Invalid,
    /// `MMAL_ENOSYS`: not implemented (an unknown component or parameter).
    NotImplemented,
    /// `MMAL_ENOENT`: no such file or directory.
    NotFound,
    /// `MMAL_ENXIO`: no such device or address.
    NoDevice,
    /// `MMAL_EIO`: I/O error.
    Io,
    /// `MMAL_ESPIPE`: illegal seek.
    IllegalSeek,
    /// `MMAL_ECORRUPT`: data is corrupt.
    Corrupt,
    /// `MMAL_ENOTREADY`: the component is not ready.
    NotReady,
    /// `MMAL_ECONFIG`: the component is not configured.
    NotConfigured,
    /// `MMAL_EISCONN`: the port is already connected.
    AlreadyConnected,
    /// `MMAL_ENOTCONN`: the port is not connected.
    NotConnected,
    /// `MMAL_EAGAIN`: try again later.
    Again,
    /// `MMAL_EFAULT`: bad address (for example a replaced format pointer).
    Fault,
    /// A value libmmal does not define.
    Unknown(u32),
}

impl Status {
    /// The status for a raw `MMAL_STATUS_T`; `None` for `MMAL_SUCCESS`.
    pub fn from_raw(raw: u32) -> Option<Status> {
        Some(match raw {
            sys::MMAL_SUCCESS => return None,
            sys::MMAL_ENOMEM => Status::NoMemory,
            sys::MMAL_ENOSPC => Status::NoSpace,
            sys::MMAL_EINVAL => Status::Invalid,
            sys::MMAL_ENOSYS => Status::NotImplemented,
            sys::MMAL_ENOENT => Status::NotFound,
            sys::MMAL_ENXIO => Status::NoDevice,
            sys::MMAL_EIO => Status::Io,
            sys::MMAL_ESPIPE => Status::IllegalSeek,
            sys::MMAL_ECORRUPT => Status::Corrupt,
            sys::MMAL_ENOTREADY => Status::NotReady,
            sys::MMAL_ECONFIG => Status::NotConfigured,
            sys::MMAL_EISCONN => Status::AlreadyConnected,
            sys::MMAL_ENOTCONN => Status::NotConnected,
            sys::MMAL_EAGAIN => Status::Again,
            sys::MMAL_EFAULT => Status::Fault,
            other => Status::Unknown(other),
        })
    }

    /// The raw `MMAL_STATUS_T` value.
    pub fn to_raw(self) -> u32 {
        match self {
            Status::NoMemory => sys::MMAL_ENOMEM,
            Status::NoSpace => sys::MMAL_ENOSPC,
            Status::Invalid => sys::MMAL_EINVAL,
            Status::NotImplemented => sys::MMAL_ENOSYS,
            Status::NotFound => sys::MMAL_ENOENT,
            Status::NoDevice => sys::MMAL_ENXIO,
            Status::Io => sys::MMAL_EIO,
            Status::IllegalSeek => sys::MMAL_ESPIPE,
            Status::Corrupt => sys::MMAL_ECORRUPT,
            Status::NotReady => sys::MMAL_ENOTREADY,
            Status::NotConfigured => sys::MMAL_ECONFIG,
            Status::AlreadyConnected => sys::MMAL_EISCONN,
            Status::NotConnected => sys::MMAL_ENOTCONN,
            Status::Again => sys::MMAL_EAGAIN,
            Status::Fault => sys::MMAL_EFAULT,
            Status::Unknown(raw) => raw,
        }
    }

    /// libmmal's short name (`ENOMEM`, …).
    pub fn name(self) -> &'static str {
        match self {
            Status::NoMemory => "ENOMEM",
            Status::NoSpace => "ENOSPC",
            Status::Invalid => "EINVAL",
            Status::NotImplemented => "ENOSYS",
            Status::NotFound => "ENOENT",
            Status::NoDevice => "ENXIO",
            Status::Io => "EIO",
            Status::IllegalSeek => "ESPIPE",
            Status::Corrupt => "ECORRUPT",
            Status::NotReady => "ENOTREADY",
            Status::NotConfigured => "ECONFIG",
            Status::AlreadyConnected => "EISCONN",
            Status::NotConnected => "ENOTCONN",
            Status::Again => "EAGAIN",
            Status::Fault => "EFAULT",
            Status::Unknown(_) => "unknown status",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            Status::NoMemory => "out of memory",
            Status::NoSpace => "out of resources",
            Status::Invalid => "invalid argument",
            Status::NotImplemented => "function not implemented",
            Status::NotFound => "no such file or directory",
            Status::NoDevice => "no such device or address",
            Status::Io => "I/O error",
            Status::IllegalSeek => "illegal seek",
            Status::Corrupt => "data is corrupt",
            Status::NotReady => "component is not ready",
            Status::NotConfigured => "component is not configured",
            Status::AlreadyConnected => "port is already connected",
            Status::NotConnected => "port is not connected",
            Status::Again => "resource temporarily unavailable",
            Status::Fault => "bad address",
            Status::Unknown(raw) => return write!(f, "unknown MMAL status {raw}"),
        };
        write!(f, "{} ({what})", self.name())
    }
}

/// Errors of the `mmal` crate. Each says what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// libmmal could not be loaded.
    #[error("cannot load libmmal: {detail}. {advice}")]
    LibraryMissing {
        /// What failed (library names, loader messages).
        detail: String,
        /// What to do.
        advice: &'static str,
    },
    /// A libmmal function the client needs is missing from the libraries.
    #[error("libmmal has no `{symbol}`: {detail}. Install the Raspberry Pi OS Buster or Bullseye (legacy) userland")]
    SymbolMissing {
        /// The C symbol.
        symbol: &'static str,
        /// The loader's message.
        detail: String,
    },
    /// `/dev/vchiq` cannot be opened.
    #[error("cannot open /dev/vchiq ({source}). {advice}")]
    VchiqAccess {
        /// What to do.
        advice: &'static str,
        /// The open error.
        #[source]
        source: std::io::Error,
    },
    /// `mmal_vc_init` failed although `/dev/vchiq` opens: the VideoCore did
    /// not answer the MMAL service.
    #[error(
        "mmal_vc_init failed ({status}): the VideoCore's MMAL service did not answer. Check that the camera is \
         enabled (raspi-config → Interface Options → Legacy Camera, or start_x=1 and gpu_mem=128 in \
         /boot/config.txt), that the firmware is Raspberry Pi OS's, and reboot"
    )]
    VideoCoreInit {
        /// What `mmal_vc_init` returned.
        status: Status,
    },
    /// The VCSM memory and MMAL come from different VideoCores.
    #[error(
        "VideoCore shared memory is {memory} but MMAL is {mmal}: a handle from one means nothing to the other. \
         Set VIDEOCORE=emulated to use the software VideoCore for both, or fix the hardware side ({hint})"
    )]
    MixedVideoCore {
        /// The VCSM driver.
        memory: String,
        /// The MMAL provider.
        mmal: &'static str,
        /// Why they differ.
        hint: &'static str,
    },
    /// The VCHIQ provider (`VIDEOCORE=vchiq`) could not open the
    /// VideoCore's MMAL service over `/dev/vchiq`.
    #[cfg(feature = "vchiq")]
    #[error(
        "cannot open the VideoCore's MMAL service over /dev/vchiq: {0}. On a Raspberry Pi, enable the legacy camera \
         stack (start_x=1 and gpu_mem=128 or more in /boot/config.txt) and add yourself to the video group; \
         elsewhere set VIDEOCORE=emulated, or VIDEOCORE_VCHIQ_DEVICE=emulated for the software VideoCore behind an \
         emulated /dev/vchiq"
    )]
    VchiqService(#[source] mmal_vchiq::Error),
    /// The VCSM service could not be opened.
    #[error(transparent)]
    Vcsm(#[from] vcsm::Error),
    /// A `vc.` component was asked for but only libmmal's host-side
    /// components are available.
    #[error(
        "`{name}` is a VideoCore component, but libmmal_vc_client was not found beside libmmal_core, so only \
         host components (null_sink, splitter, copy…) exist. Install libraspberrypi0 (Bullseye) or the Buster \
         userland, or point MMAL_LIB_DIR at a folder that has it"
    )]
    NoVideoCoreComponents {
        /// The component asked for.
        name: String,
    },
    /// No component has that name.
    #[error("could not find component `{name}` (ENOSYS): check the name (e.g. `vc.ril.camera`, `vc.null_sink`)")]
    UnknownComponent {
        /// The name asked for.
        name: String,
    },
    /// Creating the camera failed with ENOMEM: the camera is not enabled.
    #[error(
        "cannot create `{name}` (ENOMEM): the camera is not enabled. Enable the legacy camera \
         (raspi-config → Interface Options → Legacy Camera, or start_x=1 in /boot/config.txt), give the GPU at \
         least 128 MB (gpu_mem=128), and reboot"
    )]
    CameraNotEnabled {
        /// The component.
        name: String,
    },
    /// Enabling the camera failed with ENOSPC: no sensor answered.
    #[error(
        "cannot enable `{name}` (ENOSPC): no camera sensor answered. Check the ribbon cable (contacts, \
         orientation) and that no other program (raspistill, motion, a browser stream) is using the camera; \
         `vcgencmd get_camera` shows supported=1 detected=1 when it is seen"
    )]
    CameraNotDetected {
        /// The component.
        name: String,
    },
    /// The camera is already open (ENOSPC), in this program or another.
    #[error(
        "camera {number} is in use (ENOSPC), by another Camera in this program or by another program (raspistill, \
         motion, a stream): close it first"
    )]
    CameraInUse {
        /// The camera's number.
        number: u32,
    },
    /// An MMAL call failed.
    #[error("{call} on {object}: {status}")]
    Mmal {
        /// The libmmal function.
        call: &'static str,
        /// The component or port.
        object: String,
        /// What it returned.
        status: Status,
    },
    /// A port index out of range.
    #[error("{component} has {count} {kind} port(s); there is no {kind} port {index}")]
    NoSuchPort {
        /// The component.
        component: String,
        /// `input` or `output`.
        kind: &'static str,
        /// The index asked for.
        index: usize,
        /// How many there are.
        count: usize,
    },
    /// The call is not allowed in the port's or component's state.
    #[error("{0}")]
    State(String),
    /// A component or one of its ports was disabled, enabled or
    /// reconfigured from one of the component's own callbacks: a thread
    /// disabling it waits for those callbacks, so this would deadlock.
    #[error(
        "{0} cannot be disabled, enabled or reconfigured from its own callback (libmmal would deadlock): \
         return from the callback and do it from another thread"
    )]
    WouldDeadlock(String),
    /// A callback panicked; the panic was caught on MMAL's thread.
    #[error("a callback on {port} panicked: {message}")]
    CallbackPanicked {
        /// The port.
        port: String,
        /// The panic message.
        message: String,
    },
    /// No frame arrived in time.
    #[error("no frame from {port} within {waited:?}; is the component enabled and capture set?")]
    Timeout {
        /// The port.
        port: String,
        /// How long it waited.
        waited: std::time::Duration,
    },
    /// The stream ended (its port was disabled).
    #[error("the stream from {0} has ended")]
    StreamEnded(String),
    /// A file or socket of yours could not be opened, read or written
    /// (a capture's file, a recording's output).
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path or peer.
        what: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A parameter value cannot be represented or is out of range.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// A parameter read returned fewer bytes than its type needs.
    #[error("parameter {name} came back with {got} bytes, {want} expected")]
    ShortParameter {
        /// The parameter.
        name: &'static str,
        /// Bytes returned.
        got: usize,
        /// Bytes expected.
        want: usize,
    },
    /// A lens shading table is malformed.
    #[error("lens shading table: {0}")]
    LensShading(String),
    /// Unsupported by this build or backend.
    #[error("{0}")]
    Unsupported(&'static str),
    /// The data holds no raw Bayer block (`BRCM`).
    #[error(
        "no raw Bayer data (a BRCM block) in these {len} bytes: capture the JPEG with raw enabled \
         (params::RawCapture(true) on the still port, raspistill -r, picamera's bayer=True)"
    )]
    NoRawData {
        /// Bytes searched.
        len: usize,
    },
    /// A raw Bayer block is cut short.
    #[error("the raw Bayer block is truncated: {needed} bytes needed from its start, {have} there")]
    RawTruncated {
        /// Bytes the header says the block holds.
        needed: usize,
        /// Bytes there are.
        have: usize,
    },
    /// A raw Bayer block this crate cannot read.
    #[error("raw Bayer block: {0}")]
    RawFormat(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `Ok(())` for `MMAL_SUCCESS`, else [`Error::Mmal`].
pub(crate) fn check(status: u32, call: &'static str, object: impl FnOnce() -> String) -> Result<()> {
    match Status::from_raw(status) {
        None => Ok(()),
        Some(status) => Err(Error::Mmal { call, object: object(), status }),
    }
}

impl Error {
    /// An [`Error::Io`] saying what was being done.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io { what: what.into(), source }
    }

    /// The MMAL status behind this error, if there is one.
    pub fn status(&self) -> Option<Status> {
        match self {
            Error::Mmal { status, .. } => Some(*status),
            Error::CameraNotEnabled { .. } => Some(Status::NoMemory),
            Error::CameraNotDetected { .. } | Error::CameraInUse { .. } => Some(Status::NoSpace),
            Error::UnknownComponent { .. } | Error::NoVideoCoreComponents { .. } => Some(Status::NotImplemented),
            _ => None,
        }
    }
}
