//! A preload library that serves `/dev/vchiq` and `/dev/vcsm-cma` from the
//! software VideoCore to any program.
//!
//! ```text
//! LD_PRELOAD=target/debug/libvchiq_preload.so my-mmal-program
//! ```
//!
//! The library defines `open`, `open64`, `openat`, `openat64` (and glibc's
//! fortified `__open_2`, `__open64_2`, `__openat_2`, `__openat64_2`),
//! `ioctl` and `close`, and nothing else (no MMAL or VCSM symbol, so a
//! program's own libraries are never displaced). An open of `/dev/vchiq`
//! or `/dev/vcsm-cma` (the path exactly as given, or absolute under
//! `openat`) returns a real, unique descriptor (of `/dev/null`, with the
//! caller's access mode and `O_CLOEXEC`), behind which the emulated device
//! answers every ioctl. Each ioctl is decoded for the ABI the library is
//! built for (the `vchiq-sys` and `vcsm-sys` request numbers and structs:
//! LP64 on x86_64 and aarch64, ILP32 on 32-bit ARM), and its results are
//! written into the caller's structs as the kernel writes them; errors are
//! `-1` with `errno`, an unknown request `ENOTTY`. Every other path,
//! descriptor and request goes to libc's own function (looked up once with
//! `dlsym(RTLD_NEXT)`), untouched.
//!
//! * `/dev/vchiq`: one emulated driver instance per open
//!   ([`vchiq_emu::EmulatedVchiq`], serving the firmware's MMAL service
//!   from the `mmal-emu` components), as the kernel gives each open its
//!   own; `close` ends it (its services closed, their components
//!   destroyed, a thread waiting in AWAIT_COMPLETION woken).
//! * `/dev/vcsm-cma`: ALLOC and IMPORT_DMABUF give dma-bufs of the emulated
//!   VideoCore memory, the memory the emulated VideoCore's zero copy reads
//!   and writes by VideoCore handle; the program's `mmap` of a dma-buf maps
//!   the block itself (it is the block's memfd), and `close` frees it.
//!
//! Not emulated: VCHI-style and listening services, blocking bulk
//! transfers (`EINVAL`), GET_CLIENT_ID and SET_SERVICE_OPTION (`ENOTTY`); a
//! `dup` of a descriptor is a duplicate of `/dev/null` (or of the memfd),
//! not of the instance; an open the C library makes internally (`fopen`)
//! and a `stat` of the node are not seen (so a program that looks for the
//! node before opening it does not find it). A descriptor inherited across
//! `fork` is unusable in the child (`EIO`; the emulated VideoCore lives in
//! the parent's memory) and its `close` only closes it.
//!
//! This crate has no Rust API: it is built as a `cdylib` (its rlib exists
//! only so that cargo builds it before the tests).
#![deny(unsafe_code)]

mod cma;
mod sys;
mod table;
mod vchiq;

use std::ffi::c_int;
use std::sync::{Arc, OnceLock};

/// An errno value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Errno(c_int);

/// The device nodes the library takes over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// `/dev/vchiq`.
    Vchiq,
    /// `/dev/vcsm-cma`.
    VcsmCma,
}

/// The path of vc-sm-cma's device node.
const VCSM_CMA_PATH: &str = "/dev/vcsm-cma";

impl Target {
    /// The device `path` names, if it is one of the emulated ones.
    fn of(path: &[u8]) -> Option<Target> {
        if path == ::vchiq::DEVICE_PATH.as_bytes() {
            Some(Target::Vchiq)
        } else if path == VCSM_CMA_PATH.as_bytes() {
            Some(Target::VcsmCma)
        } else {
            None
        }
    }
}

/// What an emulated descriptor stands for.
enum Instance {
    /// An instance of the VCHIQ driver.
    Vchiq(vchiq::Vchiq),
    /// An open of vc-sm-cma.
    VcsmCma(cma::Cma),
    /// A dma-buf of vc-sm-cma: an emulated VideoCore block.
    DmaBuf(cma::DmaBuf),
}

impl Instance {
    /// The descriptor is being closed.
    fn shut_down(&self) {
        match self {
            Instance::Vchiq(v) => v.shut_down(),
            Instance::VcsmCma(_) | Instance::DmaBuf(_) => {}
        }
    }

    fn ioctl(&self, request: u32, arg: usize) -> Result<c_int, Errno> {
        match self {
            Instance::Vchiq(v) => v.ioctl(request, arg),
            Instance::VcsmCma(c) => c.ioctl(request, arg),
            Instance::DmaBuf(b) => b.ioctl(request, arg),
        }
    }
}

/// An open of an emulated device: a new instance behind a new descriptor.
fn on_open(target: Target, flags: c_int) -> Result<c_int, Errno> {
    static FORK_HANDLERS: OnceLock<Result<(), Errno>> = OnceLock::new();
    (*FORK_HANDLERS.get_or_init(sys::register_fork_handlers))?;
    let instance = match target {
        Target::Vchiq => Instance::Vchiq(vchiq::Vchiq::new()),
        Target::VcsmCma => Instance::VcsmCma(cma::Cma),
    };
    let fd = sys::open_placeholder(flags)?;
    table::insert(fd, Arc::new(instance));
    Ok(fd)
}

/// An ioctl: `None` if `fd` is not an emulated device's (the real ioctl
/// then runs).
fn on_ioctl(fd: c_int, request: u32, arg: usize) -> Option<Result<c_int, Errno>> {
    match table::get(fd)? {
        table::Lookup::Live(instance) => Some(instance.ioctl(request, arg)),
        table::Lookup::Inherited => Some(Err(Errno(libc::EIO))),
    }
}

/// A close: an emulated device's instance ends (the real close follows).
fn on_close(fd: c_int) {
    table::remove(fd);
}
