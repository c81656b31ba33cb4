//! The crate's error type.

use std::io;

use crate::{DriverKind, Stats};

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong with VideoCore shared memory. Each variant's
/// message says what to do about it; where a system call failed, the
/// `io::Error` (and so the errno) is the [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A block of zero bytes was asked for (the drivers answer `EINVAL`).
    #[error("cannot allocate a zero-byte VideoCore block: ask for at least one byte")]
    ZeroSize,

    /// The size, rounded up to whole pages, does not fit the driver's 32-bit
    /// size field, or exceeds the emulated pool.
    #[error("{requested} bytes cannot be expressed to the {driver} driver (at most {max} bytes); split the data into smaller blocks")]
    SizeTooLarge {
        /// Bytes asked for.
        requested: u64,
        /// The largest size the driver accepts.
        max: u64,
        /// The driver in use.
        driver: DriverKind,
    },

    /// The allocation name is longer than 31 bytes or contains a NUL byte.
    #[error("invalid VideoCore allocation name {name:?}: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The VideoCore memory pool could not satisfy the allocation: it is
    /// exhausted or, if `stats` shows enough free bytes, fragmented.
    #[error("out of VideoCore memory allocating {requested} bytes ({stats}); free blocks you no longer need, reuse blocks through a BufferPool, or enlarge the pool (cma= / dtoverlay=vc4-kms-v3d,cma-NNN on a Pi, VIDEOCORE_EMU_CMA when emulated)")]
    OutOfMemory {
        /// Bytes asked for (page-rounded).
        requested: u64,
        /// A snapshot taken when the allocation failed, to tell a leak (little
        /// free) from fragmentation (enough free, no block large enough).
        stats: Box<Stats>,
        /// The driver's errno, when a system call reported it.
        #[source]
        source: Option<io::Error>,
    },

    /// A copy was larger than the block it was copied into.
    #[error(
        "cannot copy {len} bytes into a {capacity}-byte VideoCore block; allocate a block of at least {len} bytes"
    )]
    CopyTooLarge {
        /// Bytes to copy.
        len: u64,
        /// The block's size.
        capacity: u64,
    },

    /// A range fell outside a block.
    #[error("range {offset}..{offset}+{len} is outside the {size}-byte VideoCore block")]
    OutOfBounds {
        /// Start of the range.
        offset: u64,
        /// Length of the range.
        len: u64,
        /// Size of the block.
        size: u64,
    },

    /// The device node exists but this user may not open it.
    #[error("permission denied opening {path}: add your user to the `video` group (`sudo usermod -aG video $USER`, then log out and in again)")]
    PermissionDenied {
        /// The device node.
        path: &'static str,
        /// The error from `open`.
        #[source]
        source: io::Error,
    },

    /// No VideoCore shared memory driver could be used.
    #[error("no VideoCore shared memory driver: {advice}")]
    NoDriver {
        /// Why, and what to do.
        advice: String,
    },

    /// The driver in use cannot do this operation.
    #[error("the {driver} driver does not support {operation}{}", advice_suffix(advice))]
    Unsupported {
        /// The driver in use.
        driver: DriverKind,
        /// What was attempted.
        operation: &'static str,
        /// What to do instead, if anything.
        advice: &'static str,
    },

    /// An environment variable has a value this crate does not understand.
    #[error("{name}={value:?} is not valid: expected {expected}")]
    InvalidEnvironment {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it may be set to.
        expected: &'static str,
    },

    /// A system call failed.
    #[error("{operation} failed: {source}")]
    Syscall {
        /// The call and what it was for.
        operation: &'static str,
        /// The error, with its errno.
        #[source]
        source: io::Error,
    },

    /// The driver reported success without filling in its reply (a kernel
    /// error path known to do this), or replied with impossible values.
    #[error("the VideoCore driver gave an invalid reply to {operation}: {detail}; the block was not allocated")]
    BadReply {
        /// The request.
        operation: &'static str,
        /// What was wrong with the reply.
        detail: String,
    },

    /// A VideoCore handle does not name a live block of the emulated VideoCore.
    #[error("VideoCore handle {handle:#x} does not name a live emulated block (freed already, or not a VCSM handle)")]
    UnknownHandle {
        /// The handle.
        handle: u32,
    },

    /// The emulated VideoCore was asked to read or write a block while the
    /// CPU has it locked ([`SharedMemory::lock`](crate::SharedMemory::lock),
    /// or a copy in progress). Drop the [`Lock`](crate::Lock) before handing
    /// the block's handle to the VideoCore.
    #[error(
        "VideoCore handle {handle:#x}: the CPU holds a lock on this block; drop the Lock before the VideoCore uses it"
    )]
    CpuLocked {
        /// The handle.
        handle: u32,
    },

    /// The CPU side asked for a block the emulated VideoCore is working in
    /// (a zero-copy buffer it has not given back). Wait for the buffer to
    /// come back before locking, copying or reading the block.
    #[error(
        "VideoCore handle {handle:#x}: the VideoCore is working in this block (a buffer it has not given back); \
         wait for the buffer before the CPU uses the block"
    )]
    DeviceBusy {
        /// The handle.
        handle: u32,
    },

    /// A dma-buf was imported that this process already maps as a live
    /// [`SharedMemory`](crate::SharedMemory) (or is importing on another
    /// thread): two blocks over the same bytes would let a
    /// [`Lock`](crate::Lock)'s `&mut [u8]` and another's `&[u8]` alias.
    #[error("this dma-buf is already mapped by this process as VideoCore block {} ({name:?}): use that SharedMemory, or import after dropping it", handle_text(*handle))]
    AlreadyMapped {
        /// The VideoCore handle of the block that maps it (`None` while that
        /// block's import is still in progress).
        handle: Option<u32>,
        /// That block's name.
        name: String,
    },

    /// An `ndarray` element type's alignment exceeds the block's alignment.
    #[error("element type needs {align}-byte alignment, more than a VideoCore block's page alignment")]
    Alignment {
        /// The alignment required.
        align: usize,
    },
}

fn handle_text(handle: Option<u32>) -> String {
    handle.map_or_else(|| "(still being imported)".to_owned(), |h| format!("{h:#x}"))
}

fn advice_suffix(advice: &str) -> String {
    if advice.is_empty() {
        String::new()
    } else {
        format!("; {advice}")
    }
}

impl Error {
    pub(crate) fn syscall(operation: &'static str, source: io::Error) -> Error {
        Error::Syscall { operation, source }
    }

    /// The errno behind this error, if a system call reported one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Syscall { source, .. } | Error::PermissionDenied { source, .. } => source.raw_os_error(),
            Error::OutOfMemory { source, .. } => {
                source.as_ref().and_then(io::Error::raw_os_error).or(Some(libc::ENOMEM))
            }
            Error::ZeroSize => Some(libc::EINVAL),
            Error::AlreadyMapped { .. } => Some(libc::EBUSY),
            _ => None,
        }
    }
}
