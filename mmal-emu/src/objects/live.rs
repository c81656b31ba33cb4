//! The live-object registry: every component, pool, queue and connection
//! listed by address while live, and the pins that keep an object's memory
//! valid while a caller uses it.
//!
//! libmmal trusts every pointer a client passes: a component, pool, queue or
//! connection used after its destroy (or destroyed twice) is undefined
//! behaviour there. Here every such object is listed by address while it is
//! live, and every pointer a C caller passes in is looked up before it is
//! used ([`ComponentPtr::live`](super::ComponentPtr::live) and its siblings): one not listed is refused
//! (`MMAL_EINVAL`, NULL or nothing, as the function's type allows) and
//! logged, and its memory is never touched.
//!
//! A lookup also pins the object's memory for as long as the caller uses it:
//! each box counts its pins, the list holding one; destroying an object
//! takes it off the list (no new pins) and drops the list's pin, and the
//! memory goes with the last pin. So a destroy racing a call on another
//! thread cannot free what that call reads; the call finds the object torn
//! down (its ports disabled, its worker stopped) but never freed under it.
//!
//! Ports are listed with their component, and a port pointer pins it: the
//! ports of a destroyed component are refused with it. A connection holds a
//! pin on each of its ports' components for its whole life, so its ports'
//! memory outlives a component destroyed before it (the connection then
//! refuses them: `ConnectionPtr::ports`). Buffer headers are
//! not listed (a lookup per buffer would cost every frame); a header of a
//! destroyed pool stays the client's bug, as in libmmal.
//!
//! An address freed and then reused by a new object of the same kind names
//! the new object: a stale pointer is caught only until then.

use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::{COMPONENTS, CONNECTIONS, POOLS};

/// What a listed address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Component,
    Port,
    /// `client`: made by the client (`mmal_pool_create*`,
    /// `mmal_port_pool_create`), which alone may destroy it.
    Pool {
        client: bool,
    },
    /// `client`: from `mmal_queue_create`, which alone may be destroyed.
    Queue {
        client: bool,
    },
    Connection,
}

impl Kind {
    /// The count of live objects of this kind in [`usage`](super::usage),
    /// if it has one.
    fn counter(self) -> Option<&'static AtomicUsize> {
        match self {
            Kind::Component => Some(&COMPONENTS),
            Kind::Pool { .. } => Some(&POOLS),
            Kind::Connection => Some(&CONNECTIONS),
            Kind::Port | Kind::Queue { .. } => None,
        }
    }
}

/// A box that holds listed objects: leaked from a `Box<Self>` when listed,
/// freed by its last pin.
///
/// # Safety
///
/// `pins` returns the same counter for the box's whole life, and the box
/// is reached only through pins once listed (so the last one may free it).
pub(super) unsafe trait Pinned: Sized {
    fn pins(&self) -> &AtomicUsize;
}

/// The box whose memory holds a listed object, its pin count, and how to
/// free it (a function fixed by the box's type), so that the registry
/// needs to know no kind of object.
#[derive(Debug, Clone, Copy)]
pub(super) struct Owner {
    addr: NonNull<()>,
    pins: NonNull<AtomicUsize>,
    free: unsafe fn(NonNull<()>),
    counter: Option<&'static AtomicUsize>,
}

// SAFETY: an `Owner` is two addresses and a function; its memory is
// reached only through `pins` and `unpin`, which keep the pin protocol
// above, and every `Pinned` box is shared between threads by design.
unsafe impl Send for Owner {}
// SAFETY: as above; through `&Owner` only the atomic pin count is reached.
unsafe impl Sync for Owner {}

/// [`Owner::unpin`]'s free of a `T`.
///
/// # Safety
///
/// `addr` was leaked from a `Box<T>`, and no pin on it is left.
unsafe fn free_of<T: Pinned>(addr: NonNull<()>) {
    // SAFETY: the caller's contract.
    drop(unsafe { Box::from_raw(addr.cast::<T>().as_ptr()) });
}

impl Owner {
    /// The owner of `boxed`, leaked from a `Box<T>`, listed as `kind` (its
    /// count in [`usage`](super::usage) goes down when it is freed).
    pub(super) fn new<T: Pinned>(boxed: NonNull<T>, kind: Kind) -> Owner {
        // SAFETY: the box was just leaked and is not yet listed: live, and
        // freed by no one before its pins are gone.
        let pins = NonNull::from(unsafe { boxed.as_ref() }.pins());
        Owner { addr: boxed.cast(), pins, free: free_of::<T>, counter: kind.counter() }
    }

    pub(super) fn pins(&self) -> &AtomicUsize {
        // SAFETY: an `Owner` is used only while it holds a pin (the list's
        // or a caller's), so its box is not yet freed; the counter is
        // atomic, and the same for the box's whole life (`Pinned`).
        unsafe { self.pins.as_ref() }
    }

    /// Drops one pin; the last frees the box.
    fn unpin(self) {
        if self.pins().fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        // SAFETY: the last pin is gone: the box is off the list (the list's
        // pin is dropped only after that), so no one can reach it any more;
        // it was leaked from a box of the type `free` was made for
        // (`Owner::new`) and is freed once, here.
        unsafe { (self.free)(self.addr) };
        if let Some(counter) = self.counter {
            counter.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

type LiveMap = Option<std::collections::HashMap<usize, (Kind, Owner)>>;

/// The live objects: address, what it is, and the box that holds it.
///
/// A read-write lock: every C call looks its objects up (`pin`, on the
/// frame path too: `mmal_queue_get`, `mmal_port_send_buffer`), and those
/// lookups share the lock; only making and destroying objects take it
/// alone. A lookup raises the pin count while it holds the lock, and a
/// destroy takes the entry off the list (holding the lock alone) before it
/// drops the list's pin, so a pin taken is always one the memory waits for.
static LIVE: RwLock<LiveMap> = RwLock::new(None);

/// The list, to change.
fn live_list() -> RwLockWriteGuard<'static, LiveMap> {
    LIVE.write()
}

/// The list, to look up.
fn live_read() -> RwLockReadGuard<'static, LiveMap> {
    LIVE.read()
}

/// Lists `entries` (the owner's pin count starts at 1, the list's pin).
pub(super) fn list(entries: &[(usize, Kind)], owner: Owner) {
    let mut live = live_list();
    let map = live.get_or_insert_with(Default::default);
    for &(addr, kind) in entries {
        map.insert(addr, (kind, owner));
    }
}

/// Takes `addrs` off the list and drops the list's pin; `false` (nothing
/// done) if the first was not listed: the object is already gone.
pub(super) fn unlist(addrs: &[usize]) -> bool {
    let owner = {
        let mut live = live_list();
        let Some(map) = live.as_mut() else { return false };
        let Some(&(_, owner)) = addrs.first().and_then(|a| map.get(a)) else { return false };
        for a in addrs {
            map.remove(a);
        }
        owner
    };
    owner.unpin();
    true
}

/// Changes what a listed address is (a pool handed to the client).
pub(super) fn relist(addr: usize, kind: Kind) {
    if let Some((k, _)) = live_list().as_mut().and_then(|m| m.get_mut(&addr)) {
        *k = kind;
    }
}

/// A pin on a live object's memory, dropped with this value.
#[derive(Debug)]
pub(crate) struct Pin(pub(super) Owner);

impl Drop for Pin {
    fn drop(&mut self) {
        self.0.unpin();
    }
}

/// A live object a C caller named, pinned while this value lives.
#[derive(Debug)]
pub(crate) struct Live<T> {
    pub(super) ptr: T,
    pub(super) _pin: Pin,
}

impl<T> std::ops::Deref for Live<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.ptr
    }
}

/// Looks `raw` up as `what` for the C function `func`, pinning it: `None`
/// (and a message, unless `raw` is null) if it is not a live one.
pub(super) fn pin(raw: *const c_void, func: &str, what: &str, accept: impl Fn(Kind) -> bool) -> Option<Pin> {
    if raw.is_null() {
        return None;
    }
    let found = {
        let live = live_read();
        match live.as_ref().and_then(|m| m.get(&(raw as usize))) {
            Some(&(kind, owner)) if accept(kind) => {
                owner.pins().fetch_add(1, Ordering::AcqRel);
                Some(Pin(owner))
            }
            _ => None,
        }
    };
    if found.is_none() {
        log::error!("{func}: {raw:p} is not a live {what} (destroyed, or never made by this VideoCore)");
    }
    found
}
