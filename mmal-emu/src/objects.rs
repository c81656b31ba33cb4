//! The C-visible objects (components, ports, formats, pools, queues, buffer
//! headers, connections) and the raw pointers between them.
//!
//! Every object a client sees is a `#[repr(C)]` box whose first field is
//! the public MMAL struct, so the pointer the client holds is also the
//! pointer to the box. Components, ports, pools, queues and connections are
//! listed while live, and every pointer a C caller passes is looked up and
//! pinned before it is used ("Live objects" below); buffer headers are
//! trusted, as libmmal trusts them. The public structs are read and written
//! one field at a time through raw pointers, never through a reference to
//! the whole (the client writes them too, from its own threads).
//!
//! The emulator's `unsafe` code is here, in `abi.rs` and `c_api.rs` (the C
//! entry points), and in the few places that declare it (`core/worker.rs`,
//! `components/video_encode.rs`).
#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::ffi::c_void;
use std::ffi::CString;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use mmal_sys as sys;

use crate::core::Shared;
use crate::format::VideoFormat;
use crate::Usage;

pub(crate) type Status = sys::MMAL_STATUS_T;

static COMPONENTS: AtomicUsize = AtomicUsize::new(0);
pub(crate) static THREADS: AtomicUsize = AtomicUsize::new(0);
static POOLS: AtomicUsize = AtomicUsize::new(0);
static CONNECTIONS: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn usage() -> Usage {
    Usage {
        components: COMPONENTS.load(Ordering::SeqCst),
        threads: THREADS.load(Ordering::SeqCst),
        pools: POOLS.load(Ordering::SeqCst),
        connections: CONNECTIONS.load(Ordering::SeqCst),
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------
// Live objects
//
// libmmal trusts every pointer a client passes: a component, pool, queue or
// connection used after its destroy (or destroyed twice) is undefined
// behaviour there. Here every such object is listed by address while it is
// live, and every pointer a C caller passes in is looked up before it is
// used ([`ComponentPtr::live`] and its siblings): one not listed is refused
// (`MMAL_EINVAL`, NULL or nothing, as the function's type allows) and
// logged, and its memory is never touched.
//
// A lookup also pins the object's memory for as long as the caller uses it:
// each box counts its pins, the list holding one; destroying an object
// takes it off the list (no new pins) and drops the list's pin, and the
// memory goes with the last pin. So a destroy racing a call on another
// thread cannot free what that call reads; the call finds the object torn
// down (its ports disabled, its worker stopped) but never freed under it.
//
// Ports are listed with their component, and a port pointer pins it: the
// ports of a destroyed component are refused with it. A connection holds a
// pin on each of its ports' components for its whole life, so its ports'
// memory outlives a component destroyed before it (the connection then
// refuses them: `ConnectionPtr::ports`). Buffer headers are
// not listed (a lookup per buffer would cost every frame); a header of a
// destroyed pool stays the client's bug, as in libmmal.
//
// An address freed and then reused by a new object of the same kind names
// the new object: a stale pointer is caught only until then.

/// What a listed address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
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

/// The box whose memory holds a listed object, and its pin count.
#[derive(Debug, Clone, Copy)]
enum Owner {
    Component(NonNull<ComponentBox>),
    Pool(NonNull<PoolBox>),
    Queue(NonNull<ClientQueue>),
    Connection(NonNull<ConnectionBox>),
}

// SAFETY: an `Owner` is an address and a kind; its memory is reached only
// through `pins` and `unpin`, which keep the pin protocol above.
unsafe impl Send for Owner {}
// SAFETY: as above; through `&Owner` only the atomic pin count is reached.
unsafe impl Sync for Owner {}

impl Owner {
    fn pins(&self) -> &AtomicUsize {
        // SAFETY: an `Owner` is used only while it holds a pin (the list's
        // or a caller's), so its box is not yet freed; `pins` is atomic.
        unsafe {
            match self {
                Owner::Component(b) => &b.as_ref().pins,
                Owner::Pool(b) => &b.as_ref().pins,
                Owner::Queue(b) => &b.as_ref().pins,
                Owner::Connection(b) => &b.as_ref().pins,
            }
        }
    }

    /// Drops one pin; the last frees the box.
    fn unpin(self) {
        if self.pins().fetch_sub(1, Ordering::AcqRel) != 1 {
            return;
        }
        // SAFETY: the last pin is gone: the box is off the list (the list's
        // pin is dropped only after that), so no one can reach it any more;
        // each was leaked from a box of its type and is freed once, here.
        unsafe {
            match self {
                Owner::Component(b) => {
                    drop(Box::from_raw(b.as_ptr()));
                    COMPONENTS.fetch_sub(1, Ordering::SeqCst);
                }
                Owner::Pool(b) => {
                    drop(Box::from_raw(b.as_ptr()));
                    POOLS.fetch_sub(1, Ordering::SeqCst);
                }
                Owner::Queue(b) => drop(Box::from_raw(b.as_ptr())),
                Owner::Connection(b) => {
                    drop(Box::from_raw(b.as_ptr()));
                    CONNECTIONS.fetch_sub(1, Ordering::SeqCst);
                }
            }
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
    LIVE.write().unwrap_or_else(PoisonError::into_inner)
}

/// The list, to look up.
fn live_read() -> RwLockReadGuard<'static, LiveMap> {
    LIVE.read().unwrap_or_else(PoisonError::into_inner)
}

/// Lists `entries` (the owner's pin count starts at 1, the list's pin).
fn list(entries: &[(usize, Kind)], owner: Owner) {
    let mut live = live_list();
    let map = live.get_or_insert_with(Default::default);
    for &(addr, kind) in entries {
        map.insert(addr, (kind, owner));
    }
}

/// Takes `addrs` off the list and drops the list's pin; `false` (nothing
/// done) if the first was not listed: the object is already gone.
fn unlist(addrs: &[usize]) -> bool {
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
fn relist(addr: usize, kind: Kind) {
    if let Some((k, _)) = live_list().as_mut().and_then(|m| m.get_mut(&addr)) {
        *k = kind;
    }
}

/// A pin on a live object's memory, dropped with this value.
#[derive(Debug)]
pub(crate) struct Pin(Owner);

impl Drop for Pin {
    fn drop(&mut self) {
        self.0.unpin();
    }
}

/// A live object a C caller named, pinned while this value lives.
#[derive(Debug)]
pub(crate) struct Live<T> {
    ptr: T,
    _pin: Pin,
}

impl<T> std::ops::Deref for Live<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.ptr
    }
}

/// Looks `raw` up as `what` for the C function `func`, pinning it: `None`
/// (and a message, unless `raw` is null) if it is not a live one.
fn pin(raw: *const c_void, func: &str, what: &str, accept: impl Fn(Kind) -> bool) -> Option<Pin> {
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

// ---------------------------------------------------------------------------
// Buffer headers

/// A buffer header and the emulator's bookkeeping for it.
#[repr(C)]
struct HeaderBox {
    raw: sys::MMAL_BUFFER_HEADER_T,
    video: sys::MMAL_BUFFER_HEADER_TYPE_SPECIFIC_T,
    refs: AtomicU32,
    pool: *const PoolBox,
    /// The client's pre-release callback (a `PreReleaseCb` as `usize`, 0
    /// for none) and its userdata.
    pre_release: [AtomicUsize; 2],
    /// The header whose payload this one borrows
    /// (`mmal_buffer_header_replicate`), released with it; null for none.
    reference: AtomicPtr<sys::MMAL_BUFFER_HEADER_T>,
    /// The header's own payload and its size, put back when a replicated
    /// header is released.
    payload: (*mut u8, u32),
}

/// `MMAL_BH_PRE_RELEASE_CB_T`: called when a header's last reference goes;
/// a nonzero answer keeps it until `mmal_buffer_header_release_continue`.
pub(crate) type PreReleaseCb = unsafe extern "C" fn(*mut sys::MMAL_BUFFER_HEADER_T, *mut c_void) -> sys::MMAL_BOOL_T;

/// A buffer header owned by whoever holds this value: the emulator takes
/// one out of a queue (a port's, a pool's) and touches it only until it
/// hands it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BufPtr(NonNull<sys::MMAL_BUFFER_HEADER_T>);

// SAFETY: a header is plain data; ownership moves between threads with the
// value, and libmmal's contract lets any thread release or send a header.
unsafe impl Send for BufPtr {}

impl BufPtr {
    pub(crate) fn from_raw(raw: *mut sys::MMAL_BUFFER_HEADER_T) -> Option<BufPtr> {
        NonNull::new(raw).map(BufPtr)
    }

    pub(crate) fn as_raw(self) -> *mut sys::MMAL_BUFFER_HEADER_T {
        self.0.as_ptr()
    }

    /// The bookkeeping box around the header, as a raw pointer: its parts
    /// are reached one at a time (`addr_of!`), never through a reference to
    /// the whole box, whose `raw` part the holder may be writing through
    /// [`raw_mut`](Self::raw_mut).
    fn boxed(&self) -> *mut HeaderBox {
        self.0.as_ptr().cast::<HeaderBox>()
    }

    fn refs(&self) -> &AtomicU32 {
        // SAFETY: as in `raw`; the count is atomic, and the reference
        // covers only it.
        unsafe { &*ptr::addr_of!((*self.boxed()).refs) }
    }

    fn pre_release(&self) -> &[AtomicUsize; 2] {
        // SAFETY: as in `refs`.
        unsafe { &*ptr::addr_of!((*self.boxed()).pre_release) }
    }

    fn reference(&self) -> &AtomicPtr<sys::MMAL_BUFFER_HEADER_T> {
        // SAFETY: as in `refs`.
        unsafe { &*ptr::addr_of!((*self.boxed()).reference) }
    }

    /// The header's pool and own payload, fixed at creation.
    fn home(&self) -> (*const PoolBox, (*mut u8, u32)) {
        // SAFETY: as in `raw`; plain values written once, when the pool
        // was made (or resized, with every header home).
        unsafe { (ptr::addr_of!((*self.boxed()).pool).read(), ptr::addr_of!((*self.boxed()).payload).read()) }
    }

    fn raw(&self) -> &sys::MMAL_BUFFER_HEADER_T {
        // SAFETY: every header the emulator hands out is the first field of
        // a `HeaderBox` inside a live pool (pools outlive their headers'
        // use: a client destroying a pool with headers in flight breaks
        // libmmal's contract too); the holder of the `BufPtr` owns it.
        unsafe { &*self.0.as_ptr() }
    }

    fn raw_mut(&mut self) -> &mut sys::MMAL_BUFFER_HEADER_T {
        // SAFETY: as in `header`; the holder of a `BufPtr` owns the header.
        unsafe { &mut *self.0.as_ptr() }
    }

    pub(crate) fn cmd(self) -> u32 {
        self.raw().cmd
    }

    pub(crate) fn length(self) -> usize {
        self.raw().length as usize
    }

    pub(crate) fn flags(self) -> u32 {
        self.raw().flags
    }

    pub(crate) fn alloc_size(self) -> usize {
        self.raw().alloc_size as usize
    }

    /// Marks the header as carrying data (or an event) of `length` bytes.
    pub(crate) fn set(mut self, cmd: u32, length: usize, flags: u32, pts: i64) {
        let raw = self.raw_mut();
        raw.cmd = cmd;
        raw.offset = 0;
        raw.length = length as u32;
        raw.flags = flags;
        raw.pts = pts;
        raw.dts = pts;
    }

    pub(crate) fn pts(self) -> i64 {
        self.raw().pts
    }

    /// Runs `f` on the valid bytes (`offset..offset + length`), or on
    /// nothing if they do not lie inside the payload.
    pub(crate) fn with_data<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        let (offset, length) = (self.raw().offset as usize, self.length());
        let inside = offset.checked_add(length).is_some_and(|end| end <= self.alloc_size());
        self.with_payload(|payload| if inside { f(&payload[offset..offset + length]) } else { f(&[]) })
    }

    /// Runs `f` on the whole payload.
    pub(crate) fn with_payload<R>(self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let raw = self.raw();
        if raw.data.is_null() || raw.alloc_size == 0 {
            return f(&mut []);
        }
        // SAFETY: `data` points at `alloc_size` bytes owned by the pool,
        // and the holder owns the header and so the payload.
        let payload = unsafe { std::slice::from_raw_parts_mut(raw.data, raw.alloc_size as usize) };
        f(payload)
    }

    /// Copies `src`'s data, flags and timestamps into this header (the
    /// splitter); fails if it does not fit.
    pub(crate) fn copy_from(self, src: BufPtr) -> bool {
        let s = *src.raw();
        let (offset, len) = (s.offset as usize, s.length as usize);
        // `offset` and `length` come from whoever filled the buffer.
        let in_source = offset.checked_add(len).is_some_and(|end| end <= src.alloc_size());
        if len > self.alloc_size() || !in_source {
            return false;
        }
        if len > 0 {
            src.with_payload(|from| self.with_payload(|to| to[..len].copy_from_slice(&from[offset..offset + len])));
        }
        self.set(s.cmd, len, s.flags, s.pts);
        true
    }

    /// `mmal_buffer_header_acquire`: one more reference.
    pub(crate) fn acquire(self) {
        self.refs().fetch_add(1, Ordering::AcqRel);
    }

    /// `mmal_buffer_header_release`: drops one reference; the last runs
    /// the client's pre-release callback, if any (which may keep the
    /// header for now), then [`release_continue`](Self::release_continue).
    pub(crate) fn release(self) {
        let refs = self.refs().fetch_sub(1, Ordering::AcqRel);
        if refs != 1 {
            if refs == 0 {
                // Released more often than acquired: a client bug libmmal
                // does not catch either; put the count back and say so.
                self.refs().store(0, Ordering::Release);
                log::error!("mmal_buffer_header_release: header {:p} released once too often", self.as_raw());
            }
            return;
        }
        let cb = self.pre_release()[0].load(Ordering::Acquire);
        if cb != 0 {
            let data = self.pre_release()[1].load(Ordering::Acquire) as *mut c_void;
            // SAFETY: a nonzero value was stored from a `PreReleaseCb` the
            // client set for this header (`set_pre_release`); it is called
            // as libmmal calls it, with the header and its userdata.
            let cb: PreReleaseCb = unsafe { std::mem::transmute::<usize, PreReleaseCb>(cb) };
            // SAFETY: as above.
            if unsafe { cb(self.as_raw(), data) } != 0 {
                return;
            }
        }
        self.release_continue();
    }

    /// `mmal_buffer_header_acquire`'s count and the pre-release callback:
    /// sets (or, with `None`, clears) the callback.
    pub(crate) fn set_pre_release(self, cb: Option<PreReleaseCb>, data: *mut c_void) {
        let h = self.pre_release();
        h[1].store(data as usize, Ordering::Release);
        h[0].store(cb.map_or(0, |f| f as usize), Ordering::Release);
    }

    /// `mmal_buffer_header_replicate`: this header takes `src`'s payload
    /// and fields, and a reference to `src` until it is released.
    pub(crate) fn replicate(mut self, src: BufPtr) -> Result<(), Status> {
        if self == src || !self.reference().load(Ordering::Acquire).is_null() {
            return Err(sys::MMAL_EINVAL);
        }
        src.acquire();
        self.reference().store(src.as_raw(), Ordering::Release);
        self.copy_header(src);
        let s = *src.raw();
        let raw = self.raw_mut();
        raw.alloc_size = s.alloc_size;
        raw.data = s.data;
        Ok(())
    }

    /// `mmal_buffer_header_copy_header`: cmd, offset, length, flags,
    /// timestamps and the type-specific part, not the payload.
    pub(crate) fn copy_header(mut self, src: BufPtr) {
        if self == src {
            return;
        }
        let s = *src.raw();
        // SAFETY: as in `raw`; the holder owns `src` too.
        let video = unsafe { ptr::addr_of!((*src.boxed()).video).read() };
        let raw = self.raw_mut();
        raw.cmd = s.cmd;
        raw.offset = s.offset;
        raw.length = s.length;
        raw.flags = s.flags;
        raw.pts = s.pts;
        raw.dts = s.dts;
        // SAFETY: as in `replicate`.
        unsafe { ptr::addr_of_mut!((*self.boxed()).video).write(video) };
    }

    /// `mmal_buffer_header_reset`: no data, no flags, no timestamps.
    pub(crate) fn reset(mut self) {
        let raw = self.raw_mut();
        raw.length = 0;
        raw.offset = 0;
        raw.flags = 0;
        raw.pts = sys::MMAL_TIME_UNKNOWN;
        raw.dts = sys::MMAL_TIME_UNKNOWN;
    }

    /// `mmal_buffer_header_release_continue`: resets the header, releases
    /// the header it replicated, and gives it back to its pool (whose
    /// callback may take it instead).
    pub(crate) fn release_continue(self) {
        self.refs().store(1, Ordering::Release);
        let (pool, payload) = self.home();
        let reference = self.reference().swap(ptr::null_mut(), Ordering::AcqRel);
        let mut this = self;
        this.reset();
        if let Some(reference) = BufPtr::from_raw(reference) {
            // Its own payload again, not the one it borrowed.
            let raw = this.raw_mut();
            (raw.data, raw.alloc_size) = payload;
            reference.release();
        }
        // The pool outlives its headers (see `raw`).
        let Some(pool) = NonNull::new(pool.cast_mut()).map(PoolPtr) else { return };
        // Called without the lock: a hook may release buffers itself.
        let keep = match pool.hook() {
            Some(hook) => hook(self),
            None => true,
        };
        if keep {
            pool.queue().put(self);
        }
    }
}

// ---------------------------------------------------------------------------
// Queues

/// `MMAL_QUEUE_T`: a FIFO of headers. Its capacity is reserved up front for
/// every header that can be in it (a pool's, a connection's), so putting
/// never allocates.
#[repr(C)]
pub(crate) struct QueueBox {
    items: Mutex<QueueItems>,
    /// Signalled on a put while a thread waits (`mmal_queue_wait`).
    ready: Condvar,
}

struct QueueItems {
    items: VecDeque<BufPtr>,
    /// Threads waiting for a header: a put signals only when there are.
    waiters: usize,
}

impl QueueBox {
    pub(crate) fn with_capacity(n: usize) -> QueueBox {
        QueueBox {
            items: Mutex::new(QueueItems { items: VecDeque::with_capacity(n), waiters: 0 }),
            ready: Condvar::new(),
        }
    }

    pub(crate) fn put(&self, b: BufPtr) {
        let mut q = lock(&self.items);
        q.items.push_back(b);
        if q.waiters > 0 {
            self.ready.notify_one();
        }
    }

    /// `mmal_queue_put_back`: at the front, to be taken next.
    pub(crate) fn put_back(&self, b: BufPtr) {
        let mut q = lock(&self.items);
        q.items.push_front(b);
        if q.waiters > 0 {
            self.ready.notify_one();
        }
    }

    pub(crate) fn get(&self) -> Option<BufPtr> {
        lock(&self.items).items.pop_front()
    }

    /// `mmal_queue_wait` (`None`) and `mmal_queue_timedwait`: the next
    /// header, waiting for one up to `timeout`.
    pub(crate) fn wait(&self, timeout: Option<std::time::Duration>) -> Option<BufPtr> {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        let mut q = lock(&self.items);
        loop {
            if let Some(b) = q.items.pop_front() {
                return Some(b);
            }
            q.waiters += 1;
            q = match deadline {
                None => self.ready.wait(q).unwrap_or_else(PoisonError::into_inner),
                Some(d) => {
                    let left = d.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        q.waiters -= 1;
                        return None;
                    }
                    self.ready.wait_timeout(q, left).unwrap_or_else(PoisonError::into_inner).0
                }
            };
            q.waiters -= 1;
        }
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.items).items.len()
    }

    /// Makes room for `n` headers, so that putting them never allocates.
    pub(crate) fn reserve(&self, n: usize) {
        let mut q = lock(&self.items);
        let more = n.saturating_sub(q.items.len());
        q.items.reserve(more);
    }

    /// A queue for a client (`mmal_queue_create`), freed by
    /// [`destroy`](Self::destroy).
    pub(crate) fn create() -> *mut sys::MMAL_QUEUE_T {
        let q = Box::new(ClientQueue { queue: QueueBox::with_capacity(8), pins: AtomicUsize::new(1) });
        let q = NonNull::from(Box::leak(q));
        list(&[(q.as_ptr() as usize, Kind::Queue { client: true })], Owner::Queue(q));
        q.as_ptr().cast()
    }

    /// `mmal_queue_destroy` of a queue from [`create`](Self::create); any
    /// other pointer (a pool's or a connection's queue, one destroyed
    /// already) is refused and logged.
    pub(crate) fn destroy(raw: *mut sys::MMAL_QUEUE_T) {
        let Some(_pin) = pin(raw.cast(), "mmal_queue_destroy", "queue from mmal_queue_create", |k| {
            k == Kind::Queue { client: true }
        }) else {
            return;
        };
        unlist(&[raw as usize]);
    }

    /// The live queue behind a client's `MMAL_QUEUE_T` pointer (a pool's,
    /// a connection's, or one from `mmal_queue_create`), pinned while the
    /// answer lives; `None` (logged, as `func`) for any other pointer.
    pub(crate) fn live(raw: *mut sys::MMAL_QUEUE_T, func: &str) -> Option<LiveQueue> {
        let pin = pin(raw.cast(), func, "queue", |k| matches!(k, Kind::Queue { .. }))?;
        Some(LiveQueue { queue: NonNull::new(raw.cast())?, _pin: pin })
    }
}

/// A queue from `mmal_queue_create`, with its pin count.
#[repr(C)]
struct ClientQueue {
    queue: QueueBox,
    pins: AtomicUsize,
}

/// A live queue a C caller named, pinned while this value lives.
pub(crate) struct LiveQueue {
    queue: NonNull<QueueBox>,
    _pin: Pin,
}

impl std::ops::Deref for LiveQueue {
    type Target = QueueBox;
    fn deref(&self) -> &QueueBox {
        // SAFETY: listed as a queue and pinned: its memory lives as long as
        // `self`; a `QueueBox` is shared only through its lock.
        unsafe { self.queue.as_ref() }
    }
}

// ---------------------------------------------------------------------------
// Pools

/// More headers than any port uses; a larger request is refused with ENOMEM.
const MAX_POOL_HEADERS: usize = 1 << 16;

/// Decides what happens to a header released back to a tunnel's pool:
/// `true` puts it in the pool's queue.
pub(crate) type Hook = Box<dyn Fn(BufPtr) -> bool + Send + Sync>;

enum Payloads {
    Heap(#[allow(dead_code)] Vec<ZeroedBlock>, #[allow(dead_code)] Option<HeapCharge>),
    Vcsm(#[allow(dead_code)] Vec<vcsm::SharedMemory>),
    /// From a client's allocator (`mmal_pool_create_with_allocator`),
    /// given back to its free function when the pool goes.
    Client {
        allocator: ClientAllocator,
        blocks: Vec<*mut u8>,
    },
}

/// Zeroed heap memory, 8-byte aligned (as C structs in event payloads
/// need), from `alloc_zeroed`: the allocator gets large blocks from the
/// system as pages that are zero until written, so a large pool costs
/// memory only as its buffers fill, and a block that cannot be had is an
/// error, never an abort.
pub(crate) struct ZeroedBlock {
    ptr: NonNull<u8>,
    layout: std::alloc::Layout,
}

// SAFETY: the block is plain bytes owned by this value.
unsafe impl Send for ZeroedBlock {}

impl ZeroedBlock {
    /// `size` zeroed bytes (at least one); `None` if they cannot be had.
    pub(crate) fn new(size: usize) -> Option<ZeroedBlock> {
        let layout = std::alloc::Layout::from_size_align(size.max(1), 8).ok()?;
        // SAFETY: the layout is not zero-sized.
        let ptr = NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) })?;
        Some(ZeroedBlock { ptr, layout })
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for ZeroedBlock {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout, freed once.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

/// Heap payload bytes live now: pools (the client's, the ports', the
/// connections') and [`mmal_port_payload_alloc`](crate::c_api::mmal_port_payload_alloc)'s.
static HEAP_PAYLOAD_BYTES: AtomicUsize = AtomicUsize::new(0);

/// `bytes` of heap payload counted against [`payload_limit`], given back
/// when this value goes.
#[derive(Debug)]
pub(crate) struct HeapCharge(usize);

impl HeapCharge {
    /// Counts `bytes` more, if the total of live heap payloads stays within
    /// the emulated VideoCore's memory; `None` (nothing counted) if not.
    pub(crate) fn take(bytes: usize) -> Option<HeapCharge> {
        let limit = payload_limit();
        HEAP_PAYLOAD_BYTES
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                now.checked_add(bytes).filter(|&total| total <= limit)
            })
            .ok()
            .map(|_| HeapCharge(bytes))
    }
}

impl Drop for HeapCharge {
    fn drop(&mut self) {
        HEAP_PAYLOAD_BYTES.fetch_sub(self.0, Ordering::AcqRel);
    }
}

/// The most payload bytes the heap pools and payloads may hold at once,
/// all together: the emulated VideoCore's memory (`VIDEOCORE_EMU_CMA`), as
/// a Pi's pools come from its GPU memory. A request past what is left is
/// ENOMEM (or NULL) at once, rather than a process that grows until the
/// system's OOM killer ends it. (Emulated VCSM blocks count against the
/// same memory through VCSM's own allocator; a client's allocator is the
/// client's business.)
pub(crate) fn payload_limit() -> usize {
    let total = vcsm::ServiceManager::emulated()
        .ok()
        .and_then(|m| m.stats().pool_total)
        .unwrap_or(vcsm::emulated::MAX_POOL_SIZE);
    usize::try_from(total).unwrap_or(usize::MAX)
}

/// `MMAL_POOL_BH_CB_T`.
pub(crate) type PoolCb =
    unsafe extern "C" fn(*mut sys::MMAL_POOL_T, *mut sys::MMAL_BUFFER_HEADER_T, *mut c_void) -> sys::MMAL_BOOL_T;

/// `mmal_pool_allocator_alloc_t`.
pub(crate) type AllocFn = unsafe extern "C" fn(*mut c_void, u32) -> *mut c_void;
/// `mmal_pool_allocator_free_t`.
pub(crate) type FreeFn = unsafe extern "C" fn(*mut c_void, *mut c_void);

/// A client's payload allocator: its context and functions.
#[derive(Clone, Copy)]
pub(crate) struct ClientAllocator {
    pub(crate) context: *mut c_void,
    pub(crate) alloc: AllocFn,
    pub(crate) free: FreeFn,
}

/// Where a pool's payloads come from.
#[derive(Clone, Copy)]
pub(crate) enum Allocator {
    Heap,
    /// Emulated VCSM memory (zero-copy ports).
    Vcsm,
    Client(ClientAllocator),
}

impl Drop for Payloads {
    fn drop(&mut self) {
        if let Payloads::Client { allocator, blocks } = self {
            for &block in blocks.iter() {
                // SAFETY: each block came from this allocator's `alloc` with
                // its context and is freed once, here.
                unsafe { (allocator.free)(allocator.context, block.cast()) };
            }
        }
    }
}

/// `MMAL_POOL_T` with its headers, payloads and queue.
#[repr(C)]
pub(crate) struct PoolBox {
    raw: sys::MMAL_POOL_T,
    queue: Box<QueueBox>,
    headers: Box<[HeaderBox]>,
    header_ptrs: Box<[*mut sys::MMAL_BUFFER_HEADER_T]>,
    payloads: Payloads,
    allocator: Allocator,
    hook: Mutex<Option<Arc<Hook>>>,
    /// Pins on its memory (see "Live objects").
    pins: AtomicUsize,
}

impl PoolBox {
    /// Points the headers at their pool and type-specific parts, fills the
    /// queue with them and the C struct with the queue and header list.
    fn link(&mut self) {
        let pool_addr: *const PoolBox = self;
        let PoolBox { raw, queue, headers, header_ptrs, .. } = self;
        let mut items = lock(&queue.items);
        link_headers(pool_addr, headers, header_ptrs, &mut items.items);
        drop(items);
        raw.queue = (&mut **queue as *mut QueueBox).cast();
        raw.headers_num = headers.len() as u32;
        raw.header = header_ptrs.as_mut_ptr();
    }
}

/// Points `headers` at their pool and type-specific parts, lists them in
/// `header_ptrs` and puts them in the pool's queue (`items`, locked by the
/// caller).
fn link_headers(
    pool: *const PoolBox,
    headers: &mut [HeaderBox],
    header_ptrs: &mut [*mut sys::MMAL_BUFFER_HEADER_T],
    items: &mut VecDeque<BufPtr>,
) {
    for (h, slot) in headers.iter_mut().zip(header_ptrs.iter_mut()) {
        h.pool = pool;
        h.raw.type_ = &mut h.video;
        let raw_h: *mut sys::MMAL_BUFFER_HEADER_T = &mut h.raw;
        h.raw.priv_ = raw_h.cast();
        *slot = raw_h;
        items.push_back(BufPtr(NonNull::from(&mut h.raw)));
    }
}

/// A live pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PoolPtr(NonNull<PoolBox>);

// SAFETY: what a pool shares is behind mutexes (its queue, its hook) or
// changed only by its owner's `resize`, with every header home; its memory
// goes with its last pin (see "Live objects").
unsafe impl Send for PoolPtr {}
// SAFETY: through `&PoolPtr` only the queue, the hook (both locked) and the
// header list (changed only by `resize`, as above) are reached.
unsafe impl Sync for PoolPtr {}

impl PoolPtr {
    /// A pool of `n` headers with `size`-byte payloads, from the heap or,
    /// for a zero-copy port, from emulated VCSM memory.
    pub(crate) fn create(n: usize, size: usize, zero_copy: bool) -> Result<PoolPtr, Status> {
        PoolPtr::create_with(n, size, if zero_copy { Allocator::Vcsm } else { Allocator::Heap })
    }

    /// A pool of `n` headers with `size`-byte payloads from `allocator`.
    pub(crate) fn create_with(n: usize, size: usize, allocator: Allocator) -> Result<PoolPtr, Status> {
        let (payloads, data) = PoolPtr::payloads(n, size, allocator)?;
        let mut pool = Box::new(PoolBox {
            raw: Default::default(),
            queue: Box::new(QueueBox::with_capacity(n)),
            headers: PoolPtr::headers(&data, size),
            header_ptrs: vec![ptr::null_mut(); n].into_boxed_slice(),
            payloads,
            allocator,
            hook: Mutex::new(None),
            pins: AtomicUsize::new(1),
        });
        pool.link();
        let queue_addr = &*pool.queue as *const QueueBox as usize;
        POOLS.fetch_add(1, Ordering::SeqCst);
        let pool = NonNull::from(Box::leak(pool));
        list(
            &[(pool.as_ptr() as usize, Kind::Pool { client: false }), (queue_addr, Kind::Queue { client: false })],
            Owner::Pool(pool),
        );
        Ok(PoolPtr(pool))
    }

    /// Marks the pool as the client's (made by `mmal_pool_create*` or
    /// `mmal_port_pool_create`): only such pools may be destroyed by the
    /// client's `mmal_pool_destroy`.
    pub(crate) fn hand_to_client(self) -> PoolPtr {
        relist(self.0.as_ptr() as usize, Kind::Pool { client: true });
        self
    }

    /// The live pool behind a client's pointer, pinned while the answer
    /// lives; `client_only` accepts only the client's own pools (to
    /// destroy). `None`, logged as `func`, for anything else.
    pub(crate) fn live(raw: *mut sys::MMAL_POOL_T, func: &str, client_only: bool) -> Option<Live<PoolPtr>> {
        let what = if client_only { "pool of the client's" } else { "pool" };
        let pin = pin(raw.cast(), func, what, |k| match k {
            Kind::Pool { client } => client || !client_only,
            _ => false,
        })?;
        Some(Live { ptr: PoolPtr(NonNull::new(raw.cast())?), _pin: pin })
    }

    /// Headers for payloads at `data`, of `size` bytes each.
    fn headers(data: &[*mut u8], size: usize) -> Box<[HeaderBox]> {
        data.iter()
            .map(|&d| HeaderBox {
                raw: sys::MMAL_BUFFER_HEADER_T {
                    data: d,
                    alloc_size: if d.is_null() { 0 } else { size as u32 },
                    pts: sys::MMAL_TIME_UNKNOWN,
                    dts: sys::MMAL_TIME_UNKNOWN,
                    ..Default::default()
                },
                video: Default::default(),
                refs: AtomicU32::new(1),
                pool: ptr::null(),
                pre_release: [AtomicUsize::new(0), AtomicUsize::new(0)],
                reference: AtomicPtr::new(ptr::null_mut()),
                payload: (d, if d.is_null() { 0 } else { size as u32 }),
            })
            .collect()
    }

    /// `mmal_pool_resize`: `n` headers with `size`-byte payloads from the
    /// same allocator, in place (the pool and its queue keep their
    /// addresses). Every header must be back in the pool; EINVAL if not.
    pub(crate) fn resize(self, n: usize, size: usize) -> Result<(), Status> {
        // SAFETY: a live pool; the allocator is changed only by `resize`,
        // which its owner does not run on two threads at once.
        let allocator = unsafe { ptr::addr_of!((*self.0.as_ptr()).allocator).read() };
        self.resize_with(n, size, allocator)
    }

    /// [`resize`](Self::resize), taking payloads from `allocator` from now
    /// on (a connection's pool, whose ports may have turned zero copy).
    ///
    /// The new payloads are made, and the old ones given back, with the
    /// queue's lock released: a client's allocator or free function may
    /// call back into the library.
    pub(crate) fn resize_with(self, n: usize, size: usize, new_allocator: Allocator) -> Result<(), Status> {
        if n == 0 {
            return Err(sys::MMAL_EINVAL);
        }
        let pool_addr = self.0.as_ptr();
        let all_home = |items: &QueueItems, headers: usize| {
            if items.items.len() == headers {
                return true;
            }
            log::error!("mmal_pool_resize: {} of {headers} headers are in use", headers - items.items.len());
            false
        };
        // SAFETY: a live pool. The fields below are reached through raw
        // pointers, never a reference to the whole box (other threads read
        // its queue); `headers`, `payloads` and `allocator` change only
        // here, by the pool's owner, with every header home.
        let (queue, headers_len, same) = unsafe {
            let queue: &QueueBox = &*ptr::addr_of!((*pool_addr).queue);
            let headers = &*ptr::addr_of!((*pool_addr).headers);
            let allocator = &*ptr::addr_of!((*pool_addr).allocator);
            let same_size = headers.first().map_or(size == 0, |h| h.payload.1 as usize == size);
            let same_source = std::mem::discriminant(allocator) == std::mem::discriminant(&new_allocator);
            (queue, headers.len(), n == headers.len() && same_size && same_source)
        };
        if !all_home(&lock(&queue.items), headers_len) {
            return Err(sys::MMAL_EINVAL);
        }
        if same {
            return Ok(());
        }
        let (new_payloads, data) = PoolPtr::payloads(n, size, new_allocator)?;
        let mut new_headers = PoolPtr::headers(&data, size);
        let mut new_ptrs = vec![ptr::null_mut(); n].into_boxed_slice();
        let mut items = lock(&queue.items);
        if !all_home(&items, headers_len) {
            drop(items);
            return Err(sys::MMAL_EINVAL);
        }
        items.items.clear();
        items.items.reserve(n);
        link_headers(pool_addr, &mut new_headers, &mut new_ptrs, &mut items.items);
        // SAFETY: as above; every header is home and the queue's lock is
        // held, so no one holds a header of the old list.
        let old = unsafe {
            let raw = ptr::addr_of_mut!((*pool_addr).raw);
            ptr::addr_of_mut!((*raw).headers_num).write(n as u32);
            ptr::addr_of_mut!((*raw).header).write(new_ptrs.as_mut_ptr());
            (
                ptr::replace(ptr::addr_of_mut!((*pool_addr).headers), new_headers),
                ptr::replace(ptr::addr_of_mut!((*pool_addr).header_ptrs), new_ptrs),
                ptr::replace(ptr::addr_of_mut!((*pool_addr).payloads), new_payloads),
                ptr::replace(ptr::addr_of_mut!((*pool_addr).allocator), new_allocator),
            )
        };
        drop(items);
        // The old payloads go back (a client's free function) unlocked.
        drop(old);
        Ok(())
    }

    /// `mmal_pool_callback_set`: `cb` decides, for each header released to
    /// the pool, whether it goes back into the pool's queue (a nonzero
    /// answer) or the callback keeps it.
    pub(crate) fn set_client_callback(self, cb: Option<PoolCb>, userdata: *mut c_void) {
        let Some(cb) = cb else {
            self.set_hook(None);
            return;
        };
        let (pool, data) = (self.as_raw() as usize, userdata as usize);
        self.set_hook(Some(Box::new(move |b: BufPtr| {
            // SAFETY: the client's callback with libmmal's signature, given
            // its pool, the released header and its userdata.
            unsafe { cb(pool as *mut sys::MMAL_POOL_T, b.as_raw(), data as *mut c_void) != 0 }
        })));
    }

    /// `mmal_pool_pre_release_callback_set`: on every header of the pool.
    pub(crate) fn set_pre_release(self, cb: Option<PreReleaseCb>, userdata: *mut c_void) {
        for &h in self.header_ptrs().iter() {
            if let Some(b) = BufPtr::from_raw(h) {
                b.set_pre_release(cb, userdata);
            }
        }
    }

    /// Payloads for `n` headers of `size` bytes, and their addresses (null
    /// for size 0).
    fn payloads(n: usize, size: usize, allocator: Allocator) -> Result<(Payloads, Vec<*mut u8>), Status> {
        // Counts and sizes come from the client: allocations that cannot be
        // made are ENOMEM, as libmmal's are, never an abort.
        let no_memory = |what: &str| {
            log::error!("mmal_pool_create: cannot allocate {n} buffers of {size} bytes ({what})");
            sys::MMAL_ENOMEM
        };
        if n > MAX_POOL_HEADERS || !matches!(n.checked_mul(size.max(1)), Some(total) if total <= isize::MAX as usize) {
            return Err(no_memory("too large"));
        }
        if size > 0 && n * size > payload_limit() {
            return Err(no_memory("more than the VideoCore's memory"));
        }
        let mut data: Vec<*mut u8> = Vec::new();
        data.try_reserve_exact(n).map_err(|_| no_memory("headers"))?;
        let payloads = if size == 0 {
            data.resize(n, ptr::null_mut());
            Payloads::Heap(Vec::new(), None)
        } else if let Allocator::Client(allocator) = allocator {
            let mut payloads = Payloads::Client { allocator, blocks: Vec::new() };
            let Payloads::Client { blocks, .. } = &mut payloads else { unreachable!() };
            blocks.try_reserve_exact(n).map_err(|_| no_memory("payloads"))?;
            for _ in 0..n {
                // SAFETY: the client's allocator, called as libmmal calls
                // it, with its context and a size that fits in u32 (the
                // caller passed it as one).
                let block = unsafe { (allocator.alloc)(allocator.context, size as u32) }.cast::<u8>();
                if block.is_null() {
                    // What was allocated goes back through `Drop`.
                    return Err(no_memory("the client's allocator"));
                }
                blocks.push(block);
                data.push(block);
            }
            payloads
        } else if matches!(allocator, Allocator::Vcsm) {
            vcsm::ServiceManager::emulated().map_err(|e| {
                log::error!("mmal_vc_port_payload_alloc: {e}");
                sys::MMAL_ENOMEM
            })?;
            let mut blocks = Vec::new();
            blocks.try_reserve_exact(n).map_err(|_| no_memory("VCSM blocks"))?;
            for _ in 0..n {
                let mut block = vcsm::SharedMemory::new(size, "mmal_vc_port buffer").map_err(|e| {
                    log::error!("mmal_vc_port_payload_alloc: cannot allocate {size} bytes of VCSM: {e}");
                    sys::MMAL_ENOMEM
                })?;
                data.push(block.as_mut_ptr());
                blocks.push(block);
            }
            Payloads::Vcsm(blocks)
        } else {
            // `n * size` cannot overflow (checked above).
            let charge = HeapCharge::take(n * size).ok_or_else(|| no_memory("the VideoCore's memory is used up"))?;
            let mut blocks: Vec<ZeroedBlock> = Vec::new();
            blocks.try_reserve_exact(n).map_err(|_| no_memory("payloads"))?;
            for _ in 0..n {
                blocks.push(ZeroedBlock::new(size).ok_or_else(|| no_memory("payloads"))?);
            }
            data.extend(blocks.iter_mut().map(ZeroedBlock::as_mut_ptr));
            Payloads::Heap(blocks, Some(charge))
        };
        Ok((payloads, data))
    }

    pub(crate) fn from_raw(raw: *mut sys::MMAL_POOL_T) -> Option<PoolPtr> {
        NonNull::new(raw.cast::<PoolBox>()).map(PoolPtr)
    }

    pub(crate) fn as_raw(self) -> *mut sys::MMAL_POOL_T {
        self.0.as_ptr().cast()
    }

    pub(crate) fn queue(&self) -> &QueueBox {
        // SAFETY: a `PoolPtr` is used only while its pool is live; the
        // queue box is fixed at creation and shared through its lock.
        unsafe { &*ptr::addr_of!((*self.0.as_ptr()).queue) }
    }

    fn header_ptrs(&self) -> &[*mut sys::MMAL_BUFFER_HEADER_T] {
        // SAFETY: as in `queue`; the list changes only in `resize`.
        unsafe { &*ptr::addr_of!((*self.0.as_ptr()).header_ptrs) }
    }

    pub(crate) fn len(&self) -> usize {
        self.header_ptrs().len()
    }

    fn hook(&self) -> Option<Arc<Hook>> {
        // SAFETY: as in `queue`; the hook has its own lock.
        let slot = unsafe { &*ptr::addr_of!((*self.0.as_ptr()).hook) };
        lock(slot).clone()
    }

    pub(crate) fn set_hook(&self, hook: Option<Hook>) {
        // SAFETY: as in `queue`; the hook has its own lock.
        let slot = unsafe { &*ptr::addr_of!((*self.0.as_ptr()).hook) };
        *lock(slot) = hook.map(Arc::new);
    }

    /// Frees the pool, its headers and payloads (once no C call still
    /// uses it: see "Live objects"). A pool destroyed already is left
    /// alone, and logged.
    pub(crate) fn destroy(self) {
        let Some(_pin) = pin(self.as_raw().cast(), "mmal_pool_destroy", "pool", |k| matches!(k, Kind::Pool { .. }))
        else {
            return;
        };
        self.set_hook(None);
        let queue = self.queue() as *const QueueBox as usize;
        unlist(&[self.0.as_ptr() as usize, queue]);
    }
}

// ---------------------------------------------------------------------------
// Ports and components

/// A port and its format, side by side so that the format pointer the
/// client sees never changes.
#[repr(C)]
pub(crate) struct PortBox {
    raw: sys::MMAL_PORT_T,
    format: sys::MMAL_ES_FORMAT_T,
    es: sys::MMAL_ES_SPECIFIC_FORMAT_T,
    name: CString,
    index_all: usize,
}

/// A port of a live component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PortPtr(NonNull<sys::MMAL_PORT_T>);

// SAFETY: a port's fields are reached only through raw pointers, one field
// at a time, never a reference to the whole struct (the client reads and
// writes the same struct from its own threads): `is_enabled` atomically;
// the format and buffer fields are written on the client's calls under
// libmmal's rules (a port is configured by one thread at a time); the
// name and index are fixed at creation.
unsafe impl Send for PortPtr {}
// SAFETY: as above.
unsafe impl Sync for PortPtr {}

/// A field of the port's box, by raw pointer:
/// `port_field!(port, raw.buffer_num)` (to use inside `unsafe`, on a port
/// whose component is live: see [`PortPtr::boxed`]).
macro_rules! port_field {
    ($port:expr, $($field:tt)+) => {
        ptr::addr_of_mut!((*$port.boxed()).$($field)+)
    };
}

impl PortPtr {
    pub(crate) fn from_raw(raw: *mut sys::MMAL_PORT_T) -> Option<PortPtr> {
        NonNull::new(raw).map(PortPtr)
    }

    /// The port of a live component behind a client's pointer, with its
    /// component pinned while the answer lives; `None`, logged as `func`,
    /// for any other pointer (the port of a destroyed component).
    pub(crate) fn live(raw: *mut sys::MMAL_PORT_T, func: &str) -> Option<Live<PortPtr>> {
        let pin = pin(raw.cast(), func, "port", |k| k == Kind::Port)?;
        Some(Live { ptr: PortPtr(NonNull::new(raw)?), _pin: pin })
    }

    pub(crate) fn as_raw(self) -> *mut sys::MMAL_PORT_T {
        self.0.as_ptr()
    }

    /// The port's box. Ports live as long as their component, and the
    /// emulator uses a `PortPtr` only while its component is live (pinned
    /// by a C call, or held by the component's own code).
    fn boxed(self) -> *mut PortBox {
        self.0.as_ptr().cast()
    }

    /// Position among all the component's ports (control first).
    pub(crate) fn index_all(self) -> usize {
        // SAFETY: live (see `boxed`); fixed at creation.
        unsafe { port_field!(self, index_all).read() }
    }

    /// One more pin on the port's component (see "Live objects"): its
    /// memory, the port's included, stays until the pin is dropped. The
    /// caller holds a pin on it already (a live port).
    fn pin_component(self) -> Pin {
        // SAFETY: live (see `boxed`): the caller's pin keeps the component
        // box, whose address `component` holds from creation, from being
        // freed while its count goes up.
        let component = unsafe { port_field!(self, raw.component).read().cast::<ComponentBox>() };
        let owner = Owner::Component(NonNull::new(component).expect("a port's component is set at creation"));
        owner.pins().fetch_add(1, Ordering::AcqRel);
        Pin(owner)
    }

    /// The component's shared state.
    pub(crate) fn shared(self) -> Arc<Shared> {
        // SAFETY: live (see `boxed`); `component` is set at creation to the
        // owning box, which outlives its ports; `shared` is fixed.
        unsafe {
            let component = port_field!(self, raw.component).read().cast::<ComponentBox>();
            (*ptr::addr_of!((*component).shared)).clone()
        }
    }

    fn enabled_field(&self) -> &AtomicU32 {
        // SAFETY: `is_enabled` is a naturally aligned u32 of a live port
        // that clients may read from callback threads; it is only accessed
        // atomically here, and the reference is used at once, while the
        // port is live.
        unsafe { AtomicU32::from_ptr(ptr::addr_of_mut!((*self.0.as_ptr()).is_enabled)) }
    }

    pub(crate) fn set_enabled(self, on: bool) {
        self.enabled_field().store(on as u32, Ordering::Release);
    }

    pub(crate) fn is_enabled(self) -> bool {
        self.enabled_field().load(Ordering::Acquire) != 0
    }

    /// `MMAL_PORT_TYPE_*`.
    pub(crate) fn port_type(self) -> u32 {
        // SAFETY: live (see `boxed`); fixed at creation.
        unsafe { port_field!(self, raw.type_).read() }
    }

    /// The format as the client left it, or `MMAL_EFAULT` if it replaced
    /// the format pointer instead of editing in place.
    /// Like libmmal, the port's own format pointer is put back.
    pub(crate) fn read_format(self) -> Result<VideoFormat, Status> {
        // SAFETY: live (see `boxed`); each field is read or written through
        // its own pointer; the format is the client's to edit between
        // calls, read here on its call.
        unsafe {
            let own_format = port_field!(self, format);
            let own_es = port_field!(self, es);
            let format_ptr = port_field!(self, raw.format);
            let es_ptr = port_field!(self, format.es);
            if !ptr::eq(format_ptr.read(), own_format) || !ptr::eq(es_ptr.read(), own_es) {
                log::error!("mmal_port_format_commit: {}: port format has been overwritten", self.name());
                format_ptr.write(own_format);
                es_ptr.write(own_es);
                return Err(sys::MMAL_EFAULT);
            }
            // `es` is a union of plain integers; any bit pattern is a valid
            // video format.
            let v = ptr::addr_of!((*own_es).video).read();
            let (encoding, bitrate) =
                (port_field!(self, format.encoding).read(), port_field!(self, format.bitrate).read());
            Ok(VideoFormat { bitrate, ..VideoFormat::from_c(encoding, &v) })
        }
    }

    pub(crate) fn write_format(self, f: &VideoFormat) {
        // SAFETY: live (see `boxed`); written field by field on a call that
        // configures the port.
        unsafe {
            port_field!(self, format.type_).write(sys::MMAL_ES_TYPE_VIDEO);
            port_field!(self, format.encoding).write(f.encoding);
            port_field!(self, format.bitrate).write(f.bitrate);
            port_field!(self, format.flags).write(sys::MMAL_ES_FORMAT_FLAG_FRAMED);
            port_field!(self, es.video).write(sys::MMAL_VIDEO_FORMAT_T {
                width: f.width,
                height: f.height,
                crop: sys::MMAL_RECT_T {
                    x: f.crop.0 as i32,
                    y: f.crop.1 as i32,
                    width: f.crop.2 as i32,
                    height: f.crop.3 as i32,
                },
                frame_rate: sys::MMAL_RATIONAL_T { num: f.frame_rate.0, den: f.frame_rate.1 },
                par: sys::MMAL_RATIONAL_T { num: 1, den: 1 },
                color_space: sys::MMAL_COLOR_SPACE_UNKNOWN,
            });
        }
    }

    /// Copies the whole format (extradata excepted) from `other`.
    pub(crate) fn copy_format_from(self, other: PortPtr) {
        // SAFETY: both live (see `boxed`); field by field, as in
        // `write_format`.
        unsafe {
            port_field!(self, format.type_).write(port_field!(other, format.type_).read());
            port_field!(self, format.encoding).write(port_field!(other, format.encoding).read());
            port_field!(self, format.encoding_variant).write(port_field!(other, format.encoding_variant).read());
            port_field!(self, format.bitrate).write(port_field!(other, format.bitrate).read());
            port_field!(self, format.flags).write(port_field!(other, format.flags).read());
            port_field!(self, es).write(port_field!(other, es).read());
        }
    }

    pub(crate) fn set_requirements(self, num_min: u32, size_min: u32, num_recommended: u32, size_recommended: u32) {
        // SAFETY: live (see `boxed`); field by field, on a call that
        // configures the port.
        unsafe {
            port_field!(self, raw.buffer_num_min).write(num_min);
            port_field!(self, raw.buffer_size_min).write(size_min);
            port_field!(self, raw.buffer_num_recommended).write(num_recommended);
            port_field!(self, raw.buffer_size_recommended).write(size_recommended);
            let num = port_field!(self, raw.buffer_num);
            num.write(num.read().max(num_min));
            let size = port_field!(self, raw.buffer_size);
            size.write(size.read().max(size_min));
        }
    }

    /// Sets `buffer_num` and `buffer_size` (a connection does, on enable).
    pub(crate) fn set_buffers(self, num: u32, size: u32) {
        // SAFETY: as in `set_requirements`.
        unsafe {
            port_field!(self, raw.buffer_num).write(num);
            port_field!(self, raw.buffer_size).write(size);
        }
    }

    /// What `mmal_connection_enable` does to each port unless told to keep
    /// its buffer requirements: the recommended values, where non-zero.
    pub(crate) fn use_recommended_buffers(self) {
        let (_, _, num, size) = self.recommended();
        self.set_buffers(
            if num != 0 { num } else { self.buffers().0 },
            if size != 0 { size } else { self.buffers().1 },
        );
    }

    /// `(buffer_num_min, buffer_size_min, buffer_num_recommended,
    /// buffer_size_recommended)`.
    fn recommended(self) -> (u32, u32, u32, u32) {
        // SAFETY: live (see `boxed`); plain reads of single fields.
        unsafe {
            (
                port_field!(self, raw.buffer_num_min).read(),
                port_field!(self, raw.buffer_size_min).read(),
                port_field!(self, raw.buffer_num_recommended).read(),
                port_field!(self, raw.buffer_size_recommended).read(),
            )
        }
    }

    /// Points `userdata` at `data` (a connection does, on create).
    pub(crate) fn set_userdata(self, data: *mut std::ffi::c_void) {
        // SAFETY: live (see `boxed`); a single field.
        unsafe { port_field!(self, raw.userdata).write(data.cast()) };
    }

    /// The port's `userdata`, as the client or a connection set it.
    pub(crate) fn userdata(self) -> *mut std::ffi::c_void {
        // SAFETY: as in `set_userdata`.
        unsafe { port_field!(self, raw.userdata).read().cast() }
    }

    /// `MMAL_PORT_CAPABILITY_*` bits.
    pub(crate) fn capabilities(self) -> u32 {
        // SAFETY: live (see `boxed`); a single field.
        unsafe { port_field!(self, raw.capabilities).read() }
    }

    /// `(buffer_num, buffer_size)` as the client set them, and the minimums.
    pub(crate) fn buffers(self) -> (u32, u32, u32, u32) {
        let (num_min, size_min, _, _) = self.recommended();
        // SAFETY: live (see `boxed`); plain reads of single fields.
        let (num, size) =
            unsafe { (port_field!(self, raw.buffer_num).read(), port_field!(self, raw.buffer_size).read()) };
        (num, size, num_min, size_min)
    }

    pub(crate) fn name(&self) -> &str {
        // SAFETY: live (see `boxed`); the name is fixed at creation and
        // only this field is borrowed.
        let name = unsafe { &*ptr::addr_of!((*self.boxed()).name) };
        name.to_str().unwrap_or("?")
    }

    /// Calls the client's callback.
    pub(crate) fn call(self, cb: Callback, buffer: BufPtr) {
        // SAFETY: the callback was given by the client for this port with
        // libmmal's signature, and the header is handed over to it.
        unsafe { (cb.0)(self.as_raw(), buffer.as_raw()) }
    }
}

/// A client's port callback.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Callback(pub(crate) unsafe extern "C" fn(*mut sys::MMAL_PORT_T, *mut sys::MMAL_BUFFER_HEADER_T));

/// `MMAL_COMPONENT_T` with its ports.
#[repr(C)]
pub(crate) struct ComponentBox {
    raw: sys::MMAL_COMPONENT_T,
    ports: Box<[PortBox]>,
    input_ptrs: Box<[*mut sys::MMAL_PORT_T]>,
    output_ptrs: Box<[*mut sys::MMAL_PORT_T]>,
    all_ptrs: Box<[*mut sys::MMAL_PORT_T]>,
    name: CString,
    refs: AtomicU32,
    pub(crate) shared: Arc<Shared>,
    /// Pins on its memory (see "Live objects").
    pins: AtomicUsize,
}

/// A live component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ComponentPtr(NonNull<ComponentBox>);

impl ComponentPtr {
    /// Builds the component `name` with `inputs` and `outputs` ports; the
    /// caller fills in `shared` and the ports' formats.
    pub(crate) fn create(name: &str, id: u32, inputs: usize, outputs: usize, shared: Arc<Shared>) -> ComponentPtr {
        let port_name = |kind: &str, i: usize| CString::new(format!("{name}:{kind}:{i}")).unwrap_or_default();
        let mut ports = Vec::with_capacity(1 + inputs + outputs);
        let mut push = |ty: u32, index: usize, label: &str| {
            let index_all = ports.len();
            ports.push(PortBox {
                raw: sys::MMAL_PORT_T {
                    type_: ty,
                    index: index as u16,
                    index_all: index_all as u16,
                    ..Default::default()
                },
                format: Default::default(),
                es: Default::default(),
                name: port_name(label, index),
                index_all,
            });
        };
        push(sys::MMAL_PORT_TYPE_CONTROL, 0, "ctr");
        for i in 0..inputs {
            push(sys::MMAL_PORT_TYPE_INPUT, i, "in");
        }
        for i in 0..outputs {
            push(sys::MMAL_PORT_TYPE_OUTPUT, i, "out");
        }
        let mut component = Box::new(ComponentBox {
            raw: Default::default(),
            ports: ports.into_boxed_slice(),
            input_ptrs: vec![ptr::null_mut(); inputs].into_boxed_slice(),
            output_ptrs: vec![ptr::null_mut(); outputs].into_boxed_slice(),
            all_ptrs: vec![ptr::null_mut(); 1 + inputs + outputs].into_boxed_slice(),
            name: CString::new(name).unwrap_or_default(),
            refs: AtomicU32::new(1),
            shared,
            pins: AtomicUsize::new(1),
        });
        let raw_component: *mut sys::MMAL_COMPONENT_T = &mut component.raw;
        let ComponentBox { raw, ports, input_ptrs, output_ptrs, all_ptrs, name, .. } = &mut *component;
        for (i, p) in ports.iter_mut().enumerate() {
            p.raw.name = p.name.as_ptr();
            p.raw.component = raw_component;
            p.format.es = &mut p.es;
            p.raw.format = &mut p.format;
            let raw_port: *mut sys::MMAL_PORT_T = &mut p.raw;
            p.raw.priv_ = raw_port.cast();
            all_ptrs[i] = raw_port;
            if i >= 1 && i <= inputs {
                input_ptrs[i - 1] = raw_port;
            } else if i > inputs {
                output_ptrs[i - 1 - inputs] = raw_port;
            }
        }
        raw.priv_ = raw_component.cast();
        raw.name = name.as_ptr();
        raw.control = all_ptrs[0];
        raw.input_num = inputs as u32;
        raw.input = input_ptrs.as_mut_ptr();
        raw.output_num = outputs as u32;
        raw.output = output_ptrs.as_mut_ptr();
        raw.port_num = all_ptrs.len() as u32;
        raw.port = all_ptrs.as_mut_ptr();
        raw.id = id;
        let mut entries = vec![(raw_component as usize, Kind::Component)];
        entries.extend(all_ptrs.iter().map(|&p| (p as usize, Kind::Port)));
        COMPONENTS.fetch_add(1, Ordering::SeqCst);
        let component = NonNull::from(Box::leak(component));
        list(&entries, Owner::Component(component));
        ComponentPtr(component)
    }

    /// The live component behind a client's pointer, pinned while the
    /// answer lives; `None`, logged as `func`, for any other pointer.
    pub(crate) fn live(raw: *mut sys::MMAL_COMPONENT_T, func: &str) -> Option<Live<ComponentPtr>> {
        let pin = pin(raw.cast(), func, "component", |k| k == Kind::Component)?;
        Some(Live { ptr: ComponentPtr(NonNull::new(raw.cast())?), _pin: pin })
    }

    pub(crate) fn as_raw(self) -> *mut sys::MMAL_COMPONENT_T {
        self.0.as_ptr().cast()
    }

    // The box's fields are reached one at a time, never through a
    // reference to the whole of it (the client writes the public struct,
    // e.g. its `userdata`, from its own threads). A `ComponentPtr` is used
    // only while the component is live (pinned by a C call, or held by the
    // component's own code).

    pub(crate) fn shared(self) -> Arc<Shared> {
        // SAFETY: live (see above); `shared` is fixed at creation.
        unsafe { (*ptr::addr_of!((*self.0.as_ptr()).shared)).clone() }
    }

    /// Every port, control first.
    pub(crate) fn ports(self) -> Vec<PortPtr> {
        // SAFETY: live (see above); the list is fixed at creation.
        let all = unsafe { &*ptr::addr_of!((*self.0.as_ptr()).all_ptrs) };
        all.iter().filter_map(|&p| PortPtr::from_raw(p)).collect()
    }

    fn refs(&self) -> &AtomicU32 {
        // SAFETY: live (see above); the count is atomic.
        unsafe { &*ptr::addr_of!((*self.0.as_ptr()).refs) }
    }

    pub(crate) fn set_enabled(self, on: bool) {
        // SAFETY: as for `PortPtr::set_enabled`.
        let field = unsafe { AtomicU32::from_ptr(ptr::addr_of_mut!((*self.as_raw()).is_enabled)) };
        field.store(on as u32, Ordering::Release);
    }

    pub(crate) fn acquire(self) {
        self.refs().fetch_add(1, Ordering::AcqRel);
    }

    /// Drops one reference: `Some(true)` if it was the last, `None` if
    /// there was none left (a component being destroyed).
    pub(crate) fn release(self) -> Option<bool> {
        let refs = self.refs();
        let mut n = refs.load(Ordering::Acquire);
        loop {
            if n == 0 {
                return None;
            }
            match refs.compare_exchange(n, n - 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(n == 1),
                Err(now) => n = now,
            }
        }
    }

    /// Frees the component's memory (once no C call still uses it: see
    /// "Live objects"); its worker must have stopped. Its ports are
    /// refused from now on. A component freed already is left alone.
    pub(crate) fn free(self) {
        let Some(_pin) = pin(self.as_raw().cast(), "mmal_component_destroy", "component", |k| k == Kind::Component)
        else {
            return;
        };
        let mut addrs = vec![self.as_raw() as usize];
        addrs.extend(self.ports().iter().map(|p| p.as_raw() as usize));
        unlist(&addrs);
    }
}

// ---------------------------------------------------------------------------
// Connections

#[repr(C)]
pub(crate) struct ConnectionBox {
    raw: sys::MMAL_CONNECTION_T,
    name: CString,
    /// Whether creating it connected the ports (not so for the object
    /// handed back with EISCONN, nor for a connection through the client).
    connects: bool,
    /// References (`mmal_connection_acquire`); destroy and release drop one.
    refs: AtomicU32,
    /// The output and the input, as created (the client may write the
    /// public struct's `out` and `in_`; these are what the emulator uses).
    ports: [PortPtr; 2],
    /// A pin on each port's component: the ports' memory stays valid for
    /// as long as the connection's does, even once a component is
    /// destroyed (then [`ConnectionPtr::ports`] refuses them). Dropped
    /// with the box.
    #[allow(dead_code)]
    component_pins: [Pin; 2],
    /// Decisions on the connection's life (see [`ConnectionPtr::begin_destroy`]).
    op: Mutex<ConnectionOp>,
    /// Through the client: the buffers the output returned, for the client
    /// to pass on (`raw.queue` points here).
    queue: Box<QueueBox>,
    /// Pins on its memory (see "Live objects").
    pins: AtomicUsize,
}

/// What only one call at a time may decide about a connection.
#[derive(Debug, Default)]
pub(crate) struct ConnectionOp {
    /// A destroy holding the last reference is under way: enables and
    /// other destroys are refused.
    destroying: bool,
}

// SAFETY: the connection's fields are reached one at a time through raw
// pointers, never a reference to the whole struct (the client writes its
// `callback` and `user_data` from its own threads): `is_enabled` and the
// counts atomically; `pool` written by enable and destroy, each under the
// `op` lock; the rest fixed at creation; the queue has its own lock.
unsafe impl Send for ConnectionPtr {}
// SAFETY: as above.
unsafe impl Sync for ConnectionPtr {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnectionPtr(NonNull<ConnectionBox>);

/// A field of the connection's box, by raw pointer.
macro_rules! conn_field {
    ($c:expr, $($field:tt)+) => {
        ptr::addr_of_mut!((*$c.0.as_ptr()).$($field)+)
    };
}

impl ConnectionPtr {
    /// A connection of `out` to `input`, ports of live components that the
    /// caller keeps pinned for the call.
    pub(crate) fn create(out: PortPtr, input: PortPtr, flags: u32, connects: bool) -> ConnectionPtr {
        let name = CString::new(format!("{}/{}", out.name(), input.name())).unwrap_or_default();
        let mut c = Box::new(ConnectionBox {
            raw: sys::MMAL_CONNECTION_T { flags, in_: input.as_raw(), out: out.as_raw(), ..Default::default() },
            name,
            connects,
            refs: AtomicU32::new(1),
            ports: [out, input],
            component_pins: [out.pin_component(), input.pin_component()],
            op: Mutex::new(ConnectionOp::default()),
            queue: Box::new(QueueBox::with_capacity(8)),
            pins: AtomicUsize::new(1),
        });
        c.raw.name = c.name.as_ptr();
        if flags & sys::MMAL_CONNECTION_FLAG_TUNNELLING == 0 {
            c.raw.queue = (&mut *c.queue as *mut QueueBox).cast();
        }
        let queue_addr = &*c.queue as *const QueueBox as usize;
        CONNECTIONS.fetch_add(1, Ordering::SeqCst);
        let c = NonNull::from(Box::leak(c));
        list(
            &[(c.as_ptr() as usize, Kind::Connection), (queue_addr, Kind::Queue { client: false })],
            Owner::Connection(c),
        );
        ConnectionPtr(c)
    }

    /// The live connection behind a client's pointer, pinned while the
    /// answer lives; `None`, logged as `func`, for any other pointer.
    pub(crate) fn live(raw: *mut sys::MMAL_CONNECTION_T, func: &str) -> Option<Live<ConnectionPtr>> {
        let pin = pin(raw.cast(), func, "connection", |k| k == Kind::Connection)?;
        Some(Live { ptr: ConnectionPtr(NonNull::new(raw.cast())?), _pin: pin })
    }

    pub(crate) fn as_raw(self) -> *mut sys::MMAL_CONNECTION_T {
        self.0.as_ptr().cast()
    }

    // A `ConnectionPtr` is used only while the connection is live (pinned
    // by a C call, or held by the code that created it until it frees it).

    /// The output and the input, each with whether its component is still
    /// there (not destroyed). Their memory is valid while the connection's
    /// is (the connection pins both components), so a port whose component
    /// is destroyed may still be asked about its own fields, never used.
    pub(crate) fn ends(self) -> [(PortPtr, bool); 2] {
        // SAFETY: live (see above); fixed at creation.
        let ports = unsafe { conn_field!(self, ports).read() };
        ports.map(|p| (p, !lock(&p.shared().state).destroyed))
    }

    /// The output and the input, or `None` (and a message naming `func`)
    /// if either's component has been destroyed.
    pub(crate) fn ports(self, func: &str) -> Option<(PortPtr, PortPtr)> {
        match self.ends() {
            [(out, true), (input, true)] => Some((out, input)),
            _ => {
                log::error!("{func}: a component of connection {:p} has been destroyed", self.as_raw());
                None
            }
        }
    }

    fn op(&self) -> MutexGuard<'_, ConnectionOp> {
        // SAFETY: live (see above); the lock is shared by reference.
        lock(unsafe { &*conn_field!(self, op) })
    }

    /// Held by `mmal_connection_enable` for its whole work: `None` (and a
    /// message) if the connection is being destroyed or has no reference
    /// left, so an enable never races the destroy that frees its pool.
    pub(crate) fn begin_enable(&self) -> Option<MutexGuard<'_, ConnectionOp>> {
        let op = self.op();
        if op.destroying || self.refs().load(Ordering::Acquire) == 0 {
            log::error!("mmal_connection_enable: connection {:p} is being destroyed", self.as_raw());
            return None;
        }
        Some(op)
    }

    /// The first step of `mmal_connection_destroy`: `Err(())` if the
    /// connection is being destroyed already (or has no reference left);
    /// `Ok(false)` if a reference was dropped and others remain; `Ok(true)`
    /// if the caller holds the last one, which stays until
    /// [`finish_destroy`](Self::finish_destroy) (or
    /// [`abort_destroy`](Self::abort_destroy)), other destroys and enables
    /// being refused meanwhile.
    pub(crate) fn begin_destroy(self) -> Result<bool, ()> {
        let mut op = self.op();
        let refs = self.refs();
        match refs.load(Ordering::Acquire) {
            _ if op.destroying => Err(()),
            0 => Err(()),
            1 => {
                op.destroying = true;
                Ok(true)
            }
            _ => {
                refs.fetch_sub(1, Ordering::AcqRel);
                Ok(false)
            }
        }
    }

    /// A destroy that failed: the connection is as it was.
    pub(crate) fn abort_destroy(self) {
        self.op().destroying = false;
    }

    /// Drops the last reference: the lock, held while the connection is
    /// torn down, or `None` if another thread acquired a reference
    /// meanwhile (then the destroy's reference is dropped, and the
    /// connection is theirs).
    pub(crate) fn finish_destroy(&self) -> Option<MutexGuard<'_, ConnectionOp>> {
        let mut op = self.op();
        let refs = self.refs();
        // Only an acquire can change the count meanwhile (releases and
        // destroys take the lock): 1 becomes 0, or one reference of more
        // is dropped.
        if refs.compare_exchange(1, 0, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            return Some(op);
        }
        refs.fetch_sub(1, Ordering::AcqRel);
        op.destroying = false;
        None
    }

    fn enabled_field(&self) -> &AtomicU32 {
        // SAFETY: live (see above); clients may read the field from other
        // threads, so it is accessed only atomically.
        unsafe { AtomicU32::from_ptr(conn_field!(self, raw.is_enabled)) }
    }

    pub(crate) fn is_enabled(self) -> bool {
        self.enabled_field().load(Ordering::Acquire) != 0
    }

    pub(crate) fn flags(self) -> u32 {
        // SAFETY: live (see above); fixed at creation.
        unsafe { conn_field!(self, raw.flags).read() }
    }

    pub(crate) fn connects(self) -> bool {
        // SAFETY: live (see above); fixed at creation.
        unsafe { conn_field!(self, connects).read() }
    }

    pub(crate) fn set_enabled(self, on: bool) {
        self.enabled_field().store(on as u32, Ordering::Release);
    }

    fn refs(&self) -> &AtomicU32 {
        // SAFETY: live (see above); the count is atomic.
        unsafe { &*conn_field!(self, refs) }
    }

    /// `mmal_connection_acquire`: one more reference, unless none is left
    /// (a connection being freed).
    /// (Lock-free: a client may acquire from a callback while another
    /// thread holds the `op` lock.)
    pub(crate) fn acquire(self) {
        let more = self.refs().fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n > 0).then(|| n + 1));
        if more.is_err() {
            log::error!("mmal_connection_acquire: connection {:p} is being destroyed", self.as_raw());
        }
    }

    /// Whether buffers pass through the client (no tunnel).
    pub(crate) fn through_client(self) -> bool {
        self.flags() & sys::MMAL_CONNECTION_FLAG_TUNNELLING == 0
    }

    /// The buffers the output returned, waiting for the client.
    pub(crate) fn queue(&self) -> &QueueBox {
        // SAFETY: live (see above); the queue box is fixed at creation and
        // shared through its lock.
        unsafe { &*conn_field!(self, queue) }
    }

    /// The pool of a connection through the client.
    pub(crate) fn pool(self) -> Option<PoolPtr> {
        // SAFETY: live (see above); written only by the client's calls.
        PoolPtr::from_raw(unsafe { conn_field!(self, raw.pool).read() })
    }

    /// Replaces the pool (`None` to take it away); returns the old one.
    pub(crate) fn set_pool(self, pool: Option<PoolPtr>) -> Option<PoolPtr> {
        let old = self.pool();
        // SAFETY: live (see above); written only by the client's calls,
        // while no buffer of the connection is in flight.
        unsafe { conn_field!(self, raw.pool).write(pool.map_or(ptr::null_mut(), PoolPtr::as_raw)) };
        old
    }

    /// Calls the client's connection callback, if it set one.
    pub(crate) fn notify(self) {
        // SAFETY: live (see above); the client sets the callback before it
        // enables the connection (libmmal's contract).
        if let Some(cb) = unsafe { conn_field!(self, raw.callback).read() } {
            // SAFETY: a callback of libmmal's type, which the client set
            // for this connection, given the connection.
            unsafe { cb(self.as_raw()) };
        }
    }

    /// Frees the connection (once no C call still uses it: see "Live
    /// objects"). A connection freed already is left alone.
    pub(crate) fn free(self) {
        let Some(_pin) = pin(self.as_raw().cast(), "mmal_connection_destroy", "connection", |k| k == Kind::Connection)
        else {
            return;
        };
        let queue = self.queue() as *const QueueBox as usize;
        unlist(&[self.0.as_ptr() as usize, queue]);
    }
}

/// The callback a connection through the client puts on its output port:
/// the buffer goes to the connection's queue, and the client is told. The
/// connection is the port's `userdata`, which the client can also write:
/// it is looked up among the live connections before it is used.
pub(crate) unsafe extern "C" fn connection_output_cb(
    port: *mut sys::MMAL_PORT_T,
    buffer: *mut sys::MMAL_BUFFER_HEADER_T,
) {
    let (Some(port), Some(buffer)) = (PortPtr::from_raw(port), BufPtr::from_raw(buffer)) else { return };
    let Some(c) = ConnectionPtr::live(port.userdata().cast(), "mmal_connection (output callback)") else {
        buffer.release();
        return;
    };
    c.queue().put(buffer);
    c.notify();
}

/// The callback on the input port: the buffer goes back to the connection's
/// pool (whose release hook tells the client).
pub(crate) unsafe extern "C" fn connection_input_cb(
    _port: *mut sys::MMAL_PORT_T,
    buffer: *mut sys::MMAL_BUFFER_HEADER_T,
) {
    if let Some(buffer) = BufPtr::from_raw(buffer) {
        buffer.release();
    }
}

// ---------------------------------------------------------------------------
// Event payloads that hold C structs

/// Where libmmal lays out a FORMAT_CHANGED payload (`mmal_events.c`): the
/// event struct, the format right after it, its ES-specific part right
/// after that, then any extradata. Returns the offsets of the format and
/// the ES part, and the smallest length of such a payload.
fn format_changed_layout() -> (usize, usize, usize) {
    use std::mem::size_of;
    let fmt_at = size_of::<sys::MMAL_EVENT_FORMAT_CHANGED_T>();
    let es_at = fmt_at + size_of::<sys::MMAL_ES_FORMAT_T>();
    (fmt_at, es_at, es_at + size_of::<sys::MMAL_ES_SPECIFIC_FORMAT_T>())
}

/// Fills `buffer` with an `MMAL_EVENT_FORMAT_CHANGED` payload laid out as
/// libmmal lays it out: the requirements, then a format and its video part,
/// which the payload's pointers point at. Returns the payload length, or
/// `None` if the buffer is too small.
pub(crate) fn write_format_changed(buffer: BufPtr, requirements: [u32; 4], format: &VideoFormat) -> Option<usize> {
    let (fmt_at, es_at, len) = format_changed_layout();
    if buffer.alloc_size() < len {
        return None;
    }
    buffer.with_payload(|bytes| {
        debug_assert!(bytes.len() >= len);
        let base = bytes.as_mut_ptr();
        // SAFETY: the payload holds `len` bytes (checked above), so the
        // three structs, at the offsets of `format_changed_layout`, lie
        // inside it and do not overlap; they are written unaligned, as a
        // payload may come from a client's allocator.
        unsafe {
            let es = base.add(es_at).cast::<sys::MMAL_ES_SPECIFIC_FORMAT_T>();
            let fmt = base.add(fmt_at).cast::<sys::MMAL_ES_FORMAT_T>();
            let head = base.cast::<sys::MMAL_EVENT_FORMAT_CHANGED_T>();
            es.write_unaligned(sys::MMAL_ES_SPECIFIC_FORMAT_T {
                video: sys::MMAL_VIDEO_FORMAT_T {
                    width: format.width,
                    height: format.height,
                    crop: sys::MMAL_RECT_T {
                        x: format.crop.0 as i32,
                        y: format.crop.1 as i32,
                        width: format.crop.2 as i32,
                        height: format.crop.3 as i32,
                    },
                    frame_rate: sys::MMAL_RATIONAL_T { num: format.frame_rate.0, den: format.frame_rate.1 },
                    par: sys::MMAL_RATIONAL_T { num: 1, den: 1 },
                    color_space: 0,
                },
            });
            fmt.write_unaligned(sys::MMAL_ES_FORMAT_T {
                type_: sys::MMAL_ES_TYPE_VIDEO,
                encoding: format.encoding,
                es,
                flags: sys::MMAL_ES_FORMAT_FLAG_FRAMED,
                extradata: base.add(len),
                ..Default::default()
            });
            head.write_unaligned(sys::MMAL_EVENT_FORMAT_CHANGED_T {
                buffer_size_min: requirements[0],
                buffer_num_min: requirements[1],
                buffer_size_recommended: requirements[2],
                buffer_num_recommended: requirements[3],
                format: fmt,
            });
        }
    });
    Some(len)
}

/// The format and requirements (`buffer_num_min`, `buffer_size_min`,
/// `buffer_num_recommended`, `buffer_size_recommended`) a FORMAT_CHANGED
/// event carries. As libmmal's `mmal_event_format_changed_get` does, the
/// format is taken where libmmal lays it out (right after the event
/// struct), whatever pointers the payload holds; the whole of it must lie
/// within the payload (see [`format_changed_payload`]).
pub(crate) fn read_format_changed(buffer: BufPtr) -> Option<(VideoFormat, [u32; 4])> {
    let (fmt_at, es_at, _) = format_changed_layout();
    let head = format_changed_payload(buffer);
    if head.is_null() {
        return None;
    }
    // SAFETY: `format_changed_payload` checked that the payload holds the
    // event struct, the format and its ES part at the layout's offsets (and
    // pointed the payload's pointers at them); each is read unaligned, as
    // plain integers and pointers that are not followed.
    let (event, fmt, v) = unsafe {
        let base = head.cast::<u8>();
        (
            head.read_unaligned(),
            base.add(fmt_at).cast::<sys::MMAL_ES_FORMAT_T>().read_unaligned(),
            base.add(es_at).cast::<sys::MMAL_VIDEO_FORMAT_T>().read_unaligned(),
        )
    };
    let format = VideoFormat::from_c(fmt.encoding, &v);
    Some((
        format,
        [event.buffer_num_min, event.buffer_size_min, event.buffer_num_recommended, event.buffer_size_recommended],
    ))
}

/// `mmal_event_format_changed_get`: the payload of a FORMAT_CHANGED event,
/// or null. As libmmal: the command must be FORMAT_CHANGED and `length` at
/// least the event struct, a format and its ES part; the format pointer is
/// then pointed at the format after the struct, the format's `es` at the
/// ES part after it, and its extradata at the rest of `length`. Beyond
/// libmmal (which trusts `length`): the payload must exist and hold
/// `length` bytes, so that nothing is read or written past it.
pub(crate) fn format_changed_payload(buffer: BufPtr) -> *mut sys::MMAL_EVENT_FORMAT_CHANGED_T {
    let (fmt_at, es_at, min) = format_changed_layout();
    let (length, alloc) = (buffer.length(), buffer.alloc_size());
    if buffer.cmd() != sys::MMAL_EVENT_FORMAT_CHANGED || length < min {
        return ptr::null_mut();
    }
    if buffer.raw().data.is_null() || length > alloc {
        log::error!(
            "mmal_event_format_changed_get: the event's length ({length}) is more than its payload ({alloc} bytes)"
        );
        return ptr::null_mut();
    }
    buffer.with_payload(|bytes| {
        if bytes.len() < length {
            return ptr::null_mut();
        }
        let base = bytes.as_mut_ptr();
        // SAFETY: the payload holds `length >= min` bytes (checked above),
        // so the pointer fields written here, at the layout's offsets, lie
        // inside it; the holder of the header owns the payload. Written
        // unaligned: a client's payload may be anywhere.
        unsafe {
            let fmt = base.add(fmt_at).cast::<sys::MMAL_ES_FORMAT_T>();
            let es = base.add(es_at);
            ptr::addr_of_mut!((*base.cast::<sys::MMAL_EVENT_FORMAT_CHANGED_T>()).format).write_unaligned(fmt);
            ptr::addr_of_mut!((*fmt).es).write_unaligned(es.cast());
            ptr::addr_of_mut!((*fmt).extradata).write_unaligned(base.add(min));
            ptr::addr_of_mut!((*fmt).extradata_size).write_unaligned((length - min) as u32);
        }
        base.cast()
    })
}
