//! Which descriptors are emulated devices, and what answers them: the
//! decisions behind the interposed functions (`exports`).

use std::cell::RefCell;
use std::ffi::{c_int, c_uint};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::cma;
use crate::sys::{self, Errno};
use crate::table::{End, ForkHold, Lookup, Table};
use crate::vchiq;

/// The path of vc-sm-cma's device node.
const VCSM_CMA_PATH: &str = "/dev/vcsm-cma";

/// The device nodes the library takes over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// `/dev/vchiq`.
    Vchiq,
    /// `/dev/vcsm-cma`.
    VcsmCma,
}

impl Target {
    /// The device `path` names, if it is one of the emulated ones.
    pub(crate) fn of(path: &[u8]) -> Option<Target> {
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

impl End for Instance {
    fn end(&self) {
        match self {
            Instance::Vchiq(v) => v.shut_down(),
            Instance::VcsmCma(_) | Instance::DmaBuf(_) => {}
        }
    }
}

static TABLE: Table<Instance> = Table::new();

thread_local! {
    /// The table's lock, held by the forking thread from the fork's
    /// prepare handler to its parent's or child's (the same thread runs
    /// them, and goes on as the child's only thread).
    static FORK_HOLD: RefCell<Option<ForkHold<Instance>>> = const { RefCell::new(None) };
}

extern "C" fn fork_prepare() {
    let hold = TABLE.fork_prepare();
    FORK_HOLD.with(|h| *h.borrow_mut() = Some(hold));
}

extern "C" fn fork_parent() {
    if let Some(hold) = FORK_HOLD.with(|h| h.borrow_mut().take()) {
        TABLE.fork_parent(hold);
    }
}

extern "C" fn fork_child() {
    if let Some(hold) = FORK_HOLD.with(|h| h.borrow_mut().take()) {
        TABLE.fork_child(hold);
    }
}

/// The process in which the emulated VideoCore started (the first open of
/// an emulated device): its id and fork generation (see [`process`]), 0
/// until then.
///
/// The VideoCore's state (its memory, components, ports and their locks)
/// lives in that process's memory and threads. A fork copies the memory
/// but not the threads, and a lock one of them held at that moment stays
/// held in the child for ever, so a child of a process where the
/// VideoCore started cannot start one of its own: its opens fail with
/// `ENODEV`. A child forked before the first open is free to open, and
/// then the VideoCore is its own.
static STARTED_IN: AtomicU64 = AtomicU64::new(0);

/// This process, as [`STARTED_IN`] records it: its id, and the forks (with
/// the handlers) in its line, so that a child is told apart even if it is
/// given the id of an ancestor that has ended (never 0: an id is not).
fn process() -> u64 {
    (u64::from(sys::pid() as u32) << 32) | (crate::table::generation() & 0xFFFF_FFFF)
}

/// Whether the fork handlers are registered (retried on the next open if
/// `pthread_atfork` failed).
static FORK_HANDLERS: Mutex<bool> = Mutex::new(false);

/// Claims the emulated VideoCore for this process, before anything of it
/// is touched: `ENODEV` in the child of a process that had claimed it.
fn claim() -> Result<(), Errno> {
    let me = process();
    match STARTED_IN.compare_exchange(0, me, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => Ok(()),
        Err(owner) if owner == me => Ok(()),
        Err(_) => {
            static TOLD: AtomicU64 = AtomicU64::new(0);
            if TOLD.swap(me, Ordering::SeqCst) != me {
                sys::note(
                    b"vchiq-preload: a process forked after its parent opened the emulated VideoCore cannot \
                      open it (the VideoCore lives in the parent's memory and threads): exec a new program \
                      in the child (Python's multiprocessing: the 'spawn' or 'forkserver' start method), \
                      or fork before the first open\n",
                );
            }
            Err(Errno(libc::ENODEV))
        }
    }
}

/// An open of an emulated device: a new instance behind a new descriptor.
pub(crate) fn on_open(target: Target, flags: c_int) -> Result<c_int, Errno> {
    claim()?;
    {
        let mut registered = FORK_HANDLERS.lock();
        if !*registered {
            sys::register_fork_handlers(fork_prepare, fork_parent, fork_child)?;
            *registered = true;
        }
    }
    let instance = match target {
        Target::Vchiq => Instance::Vchiq(vchiq::Vchiq::new()),
        Target::VcsmCma => Instance::VcsmCma(cma::Cma),
    };
    let name = match target {
        Target::Vchiq => c"/dev/vchiq",
        Target::VcsmCma => c"/dev/vcsm-cma",
    };
    let fd = sys::open_placeholder(name, flags)?;
    TABLE.insert(fd, Arc::new(instance));
    Ok(fd)
}

/// The requests the kernel answers for any file before its driver sees
/// them (`do_vfs_ioctl`): the close-on-exec, non-blocking and async flags.
/// On an emulated device's descriptor they go to the real file behind it,
/// which answers them as for any. (`FIOQSIZE`, answered only for regular
/// files, directories and links, is the device's: `ENOTTY`.)
#[allow(clippy::unnecessary_cast)] // The numbers' type differs between targets.
const GENERIC: [u32; 4] = [libc::FIOCLEX as u32, libc::FIONCLEX as u32, libc::FIONBIO as u32, libc::FIOASYNC as u32];

/// An ioctl: `None` if `fd` is not an emulated device's, or the request is
/// one the kernel answers for any file (the real ioctl then runs).
pub(crate) fn on_ioctl(fd: c_int, request: u32, arg: usize) -> Option<Result<c_int, Errno>> {
    if GENERIC.contains(&request) {
        return None;
    }
    let instance = match TABLE.get(fd)? {
        Lookup::Live(instance) => instance,
        Lookup::Inherited => return Some(Err(Errno(libc::EIO))),
    };
    Some(match &*instance {
        Instance::Vchiq(v) => v.ioctl(request, arg),
        Instance::VcsmCma(c) => {
            let dma_bufs = cma::DmaBufs {
                register: &|fd, buf| TABLE.insert(fd, Arc::new(Instance::DmaBuf(buf))),
                take_back: &|fd| {
                    on_close(fd);
                    sys::close_real(fd);
                },
            };
            c.ioctl(request, arg, &dma_bufs)
        }
        Instance::DmaBuf(b) => b.ioctl(request, arg),
    })
}

/// A close: an emulated device's instance ends (the real close follows).
pub(crate) fn on_close(fd: c_int) {
    TABLE.remove(fd);
}

/// `fd` was closed by a `dup2` or `dup3` onto it (the real call has
/// succeeded): an emulated device's instance behind it ends.
pub(crate) fn on_replaced(fd: c_int) {
    TABLE.remove(fd);
}

/// A `close_range(first, last, flags)`, before the real call: the emulated
/// devices' descriptors in the range end, when the call closes them (no
/// `CLOSE_RANGE_CLOEXEC`, no flag the kernel refuses, a range the kernel
/// takes).
pub(crate) fn on_close_range(first: c_uint, last: c_uint, flags: c_int) {
    let closes = libc::CLOSE_RANGE_UNSHARE as c_int;
    if flags & !closes != 0 || first > last {
        return;
    }
    let Ok(first) = c_int::try_from(first) else { return };
    let last = c_int::try_from(last).unwrap_or(c_int::MAX);
    TABLE.remove_range(first..=last);
}
