//! The C-visible objects (components, ports, formats, pools, queues, buffer
//! headers, connections) and the raw pointers between them.
//!
//! Every object a client sees is a `#[repr(C)]` box whose first field is
//! the public MMAL struct, so the pointer the client holds is also the
//! pointer to the box. This module and `abi.rs` hold all of the emulator's
//! `unsafe` code.
#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::ffi::c_void;
use std::ffi::CString;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

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

    fn header(&self) -> &HeaderBox {
        // SAFETY: every header the emulator hands out is the first field of
        // a `HeaderBox` inside a live pool (pools outlive their headers'
        // use: a client destroying a pool with headers in flight breaks
        // libmmal's contract too).
        unsafe { &*self.0.as_ptr().cast::<HeaderBox>() }
    }

    fn raw(&self) -> &sys::MMAL_BUFFER_HEADER_T {
        &self.header().raw
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
        self.header().refs.fetch_add(1, Ordering::AcqRel);
    }

    /// `mmal_buffer_header_release`: drops one reference; the last runs
    /// the client's pre-release callback, if any (which may keep the
    /// header for now), then [`release_continue`](Self::release_continue).
    pub(crate) fn release(self) {
        let h = self.header();
        let refs = h.refs.fetch_sub(1, Ordering::AcqRel);
        if refs != 1 {
            if refs == 0 {
                // Released more often than acquired: a client bug libmmal
                // does not catch either; put the count back and say so.
                h.refs.store(0, Ordering::Release);
                log::error!("mmal_buffer_header_release: header {:p} released once too often", self.as_raw());
            }
            return;
        }
        let cb = h.pre_release[0].load(Ordering::Acquire);
        if cb != 0 {
            let data = h.pre_release[1].load(Ordering::Acquire) as *mut c_void;
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
        let h = self.header();
        h.pre_release[1].store(data as usize, Ordering::Release);
        h.pre_release[0].store(cb.map_or(0, |f| f as usize), Ordering::Release);
    }

    /// `mmal_buffer_header_replicate`: this header takes `src`'s payload
    /// and fields, and a reference to `src` until it is released.
    pub(crate) fn replicate(mut self, src: BufPtr) -> Result<(), Status> {
        if self == src || !self.header().reference.load(Ordering::Acquire).is_null() {
            return Err(sys::MMAL_EINVAL);
        }
        src.acquire();
        self.header().reference.store(src.as_raw(), Ordering::Release);
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
        let video = src.header().video;
        let raw = self.raw_mut();
        raw.cmd = s.cmd;
        raw.offset = s.offset;
        raw.length = s.length;
        raw.flags = s.flags;
        raw.pts = s.pts;
        raw.dts = s.dts;
        // SAFETY: as in `replicate`.
        unsafe { (*self.as_raw().cast::<HeaderBox>()).video = video };
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
        let h = self.header();
        h.refs.store(1, Ordering::Release);
        let pool = h.pool;
        let reference = h.reference.swap(ptr::null_mut(), Ordering::AcqRel);
        let payload = h.payload;
        let mut this = self;
        this.reset();
        if let Some(reference) = BufPtr::from_raw(reference) {
            // Its own payload again, not the one it borrowed.
            let raw = this.raw_mut();
            (raw.data, raw.alloc_size) = payload;
            reference.release();
        }
        // SAFETY: the pool outlives its headers (see `header`).
        let pool = unsafe { &*pool };
        // Called without the lock: a hook may release buffers itself.
        let hook = lock(&pool.hook).clone();
        let keep = match hook {
            Some(hook) => hook(self),
            None => true,
        };
        if keep {
            pool.queue.put(self);
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
        Box::into_raw(Box::new(QueueBox::with_capacity(8))).cast()
    }

    /// `mmal_queue_destroy` of a queue from [`create`](Self::create).
    ///
    /// # Safety
    ///
    /// `raw` came from `create` and is not used again.
    pub(crate) unsafe fn destroy(raw: *mut sys::MMAL_QUEUE_T) {
        if !raw.is_null() {
            // SAFETY: the caller's contract: a box from `create`, freed once.
            drop(unsafe { Box::from_raw(raw.cast::<QueueBox>()) });
        }
    }

    /// The queue behind a client's `MMAL_QUEUE_T` pointer.
    pub(crate) fn from_raw<'a>(raw: *mut sys::MMAL_QUEUE_T) -> Option<&'a QueueBox> {
        // SAFETY: the emulator only hands out queue pointers to live
        // `QueueBox`es (the queue of a pool); the client keeps them live
        // while it uses them.
        unsafe { raw.cast::<QueueBox>().as_ref() }
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
    /// `u64`s so that every payload is 8-byte aligned, as C structs in
    /// event payloads need.
    Heap(#[allow(dead_code)] Vec<Box<[u64]>>),
    Vcsm(#[allow(dead_code)] Vec<vcsm::SharedMemory>),
    /// From a client's allocator (`mmal_pool_create_with_allocator`),
    /// given back to its free function when the pool goes.
    Client {
        allocator: ClientAllocator,
        blocks: Vec<*mut u8>,
    },
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
// fixed at creation (headers, payloads); it is freed only by `destroy`,
// which its one owner calls once.
unsafe impl Send for PoolPtr {}
// SAFETY: through `&PoolPtr` only the queue, the hook (both locked) and the
// header count (fixed) are reached.
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
        });
        pool.link();
        POOLS.fetch_add(1, Ordering::SeqCst);
        Ok(PoolPtr(NonNull::from(Box::leak(pool))))
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
        // SAFETY: a live pool; the allocator is fixed since creation.
        let allocator = unsafe { self.0.as_ref() }.allocator;
        self.resize_with(n, size, allocator)
    }

    /// [`resize`](Self::resize), taking payloads from `allocator` from now
    /// on (a connection's pool, whose ports may have turned zero copy).
    pub(crate) fn resize_with(self, n: usize, size: usize, new_allocator: Allocator) -> Result<(), Status> {
        if n == 0 {
            return Err(sys::MMAL_EINVAL);
        }
        let pool_addr = self.0.as_ptr();
        // SAFETY: a live pool, resized by its owner (the caller). Only the
        // fields below are touched through this reference, and the queue's
        // lock is held from the check to the refill, so no header can be
        // taken out meanwhile (libmmal's contract: every header is home).
        let pool = unsafe { &mut *pool_addr };
        let PoolBox { raw, queue, headers, header_ptrs, payloads, allocator, .. } = pool;
        let mut items = lock(&queue.items);
        if items.items.len() != headers.len() {
            log::error!(
                "mmal_pool_resize: {} of {} headers are in use",
                headers.len() - items.items.len(),
                headers.len()
            );
            return Err(sys::MMAL_EINVAL);
        }
        let same_size = headers.first().map_or(size == 0, |h| h.payload.1 as usize == size);
        let same_source = std::mem::discriminant(allocator) == std::mem::discriminant(&new_allocator);
        if n == headers.len() && same_size && same_source {
            return Ok(());
        }
        let (new_payloads, data) = PoolPtr::payloads(n, size, new_allocator)?;
        *allocator = new_allocator;
        items.items.clear();
        items.items.reserve(n);
        *headers = PoolPtr::headers(&data, size);
        *header_ptrs = vec![ptr::null_mut(); n].into_boxed_slice();
        *payloads = new_payloads;
        link_headers(pool_addr, headers, header_ptrs, &mut items.items);
        raw.headers_num = n as u32;
        raw.header = header_ptrs.as_mut_ptr();
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
        for &h in self.pool().header_ptrs.iter() {
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
        let mut data: Vec<*mut u8> = Vec::new();
        data.try_reserve_exact(n).map_err(|_| no_memory("headers"))?;
        let payloads = if size == 0 {
            data.resize(n, ptr::null_mut());
            Payloads::Heap(Vec::new())
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
            let words = size.div_ceil(8);
            let mut blocks: Vec<Box<[u64]>> = Vec::new();
            blocks.try_reserve_exact(n).map_err(|_| no_memory("payloads"))?;
            for _ in 0..n {
                let mut block = Vec::new();
                block.try_reserve_exact(words).map_err(|_| no_memory("payloads"))?;
                block.resize(words, 0u64);
                blocks.push(block.into_boxed_slice());
            }
            data.extend(blocks.iter_mut().map(|b| b.as_mut_ptr().cast::<u8>()));
            Payloads::Heap(blocks)
        };
        Ok((payloads, data))
    }

    pub(crate) fn from_raw(raw: *mut sys::MMAL_POOL_T) -> Option<PoolPtr> {
        NonNull::new(raw.cast::<PoolBox>()).map(PoolPtr)
    }

    pub(crate) fn as_raw(self) -> *mut sys::MMAL_POOL_T {
        self.0.as_ptr().cast()
    }

    fn pool(&self) -> &PoolBox {
        // SAFETY: a `PoolPtr` exists only for pools not yet destroyed.
        unsafe { self.0.as_ref() }
    }

    pub(crate) fn queue(&self) -> &QueueBox {
        &self.pool().queue
    }

    pub(crate) fn len(&self) -> usize {
        self.pool().headers.len()
    }

    pub(crate) fn set_hook(&self, hook: Option<Hook>) {
        *lock(&self.pool().hook) = hook.map(Arc::new);
    }

    /// Frees the pool, its headers and payloads.
    pub(crate) fn destroy(self) {
        self.set_hook(None);
        // SAFETY: the pool was leaked from a box in `create` and is
        // destroyed once (the owner gives up its `PoolPtr`).
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
        POOLS.fetch_sub(1, Ordering::SeqCst);
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

// SAFETY: the fields written after creation are written on the client's
// thread under libmmal's rules (format, buffer counts) or atomically
// (`is_enabled`).
unsafe impl Send for PortPtr {}
// SAFETY: as above.
unsafe impl Sync for PortPtr {}

impl PortPtr {
    pub(crate) fn from_raw(raw: *mut sys::MMAL_PORT_T) -> Option<PortPtr> {
        NonNull::new(raw).map(PortPtr)
    }

    pub(crate) fn as_raw(self) -> *mut sys::MMAL_PORT_T {
        self.0.as_ptr()
    }

    fn port(&self) -> &PortBox {
        // SAFETY: ports live as long as their component, and the emulator
        // drops every `PortPtr` of a component before freeing it.
        unsafe { &*self.0.as_ptr().cast::<PortBox>() }
    }

    #[allow(clippy::mut_from_ref)]
    fn port_mut(&self) -> &mut PortBox {
        // SAFETY: as in `port`; the fields are written only from the
        // client's calls, which libmmal's contract serialises per port.
        unsafe { &mut *self.0.as_ptr().cast::<PortBox>() }
    }

    /// Position among all the component's ports (control first).
    pub(crate) fn index_all(self) -> usize {
        self.port().index_all
    }

    /// The component's shared state.
    pub(crate) fn shared(self) -> Arc<Shared> {
        let component = self.port().raw.component.cast::<ComponentBox>();
        // SAFETY: `component` is set at creation to the owning box, which
        // outlives its ports.
        unsafe { (*component).shared.clone() }
    }

    pub(crate) fn set_enabled(self, on: bool) {
        // SAFETY: `is_enabled` is a naturally aligned u32 that clients may
        // read from callback threads; it is only accessed atomically here.
        let field = unsafe { AtomicU32::from_ptr(ptr::addr_of_mut!((*self.0.as_ptr()).is_enabled)) };
        field.store(on as u32, Ordering::Release);
    }

    pub(crate) fn is_enabled(self) -> bool {
        // SAFETY: as in `set_enabled`.
        let field = unsafe { AtomicU32::from_ptr(ptr::addr_of_mut!((*self.0.as_ptr()).is_enabled)) };
        field.load(Ordering::Acquire) != 0
    }

    /// `MMAL_PORT_TYPE_*`.
    pub(crate) fn port_type(self) -> u32 {
        self.port().raw.type_
    }

    /// The format as the client left it, or `MMAL_EFAULT` if it replaced
    /// the format pointer instead of editing in place.
    /// Like libmmal, the port's own format pointer is put back.
    pub(crate) fn read_format(self) -> Result<VideoFormat, Status> {
        let p = self.port_mut();
        if !ptr::eq(p.raw.format, &p.format) || !ptr::eq(p.format.es, &p.es) {
            log::error!("mmal_port_format_commit: {:?}: port format has been overwritten", p.name);
            p.raw.format = &mut p.format;
            p.format.es = &mut p.es;
            return Err(sys::MMAL_EFAULT);
        }
        let p = self.port();
        // SAFETY: `es` is a union of plain integers; any bit pattern is a
        // valid video format.
        let v = unsafe { p.es.video };
        Ok(VideoFormat { bitrate: p.format.bitrate, ..VideoFormat::from_c(p.format.encoding, &v) })
    }

    pub(crate) fn write_format(self, f: &VideoFormat) {
        let p = self.port_mut();
        p.format.type_ = sys::MMAL_ES_TYPE_VIDEO;
        p.format.encoding = f.encoding;
        p.format.bitrate = f.bitrate;
        p.format.flags = sys::MMAL_ES_FORMAT_FLAG_FRAMED;
        p.es.video = sys::MMAL_VIDEO_FORMAT_T {
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
        };
    }

    /// Copies the whole format (extradata excepted) from `other`.
    pub(crate) fn copy_format_from(self, other: PortPtr) {
        let (src, src_es) = {
            let o = other.port();
            (o.format, o.es)
        };
        let p = self.port_mut();
        p.format.type_ = src.type_;
        p.format.encoding = src.encoding;
        p.format.encoding_variant = src.encoding_variant;
        p.format.bitrate = src.bitrate;
        p.format.flags = src.flags;
        p.es = src_es;
    }

    pub(crate) fn set_requirements(self, num_min: u32, size_min: u32, num_recommended: u32, size_recommended: u32) {
        let raw = &mut self.port_mut().raw;
        raw.buffer_num_min = num_min;
        raw.buffer_size_min = size_min;
        raw.buffer_num_recommended = num_recommended;
        raw.buffer_size_recommended = size_recommended;
        raw.buffer_num = raw.buffer_num.max(num_min);
        raw.buffer_size = raw.buffer_size.max(size_min);
    }

    /// Sets `buffer_num` and `buffer_size` (a connection does, on enable).
    pub(crate) fn set_buffers(self, num: u32, size: u32) {
        let raw = &mut self.port_mut().raw;
        raw.buffer_num = num;
        raw.buffer_size = size;
    }

    /// What `mmal_connection_enable` does to each port unless told to keep
    /// its buffer requirements: the recommended values, where non-zero.
    pub(crate) fn use_recommended_buffers(self) {
        let raw = &mut self.port_mut().raw;
        if raw.buffer_num_recommended != 0 {
            raw.buffer_num = raw.buffer_num_recommended;
        }
        if raw.buffer_size_recommended != 0 {
            raw.buffer_size = raw.buffer_size_recommended;
        }
    }

    /// Points `userdata` at `data` (a connection does, on create).
    pub(crate) fn set_userdata(self, data: *mut std::ffi::c_void) {
        self.port_mut().raw.userdata = data.cast();
    }

    /// `(buffer_num, buffer_size)` as the client set them, and the minimums.
    /// `MMAL_PORT_CAPABILITY_*` bits.
    pub(crate) fn capabilities(self) -> u32 {
        self.port().raw.capabilities
    }

    pub(crate) fn buffers(self) -> (u32, u32, u32, u32) {
        let raw = &self.port().raw;
        (raw.buffer_num, raw.buffer_size, raw.buffer_num_min, raw.buffer_size_min)
    }

    pub(crate) fn name(&self) -> &str {
        self.port().name.to_str().unwrap_or("?")
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
        COMPONENTS.fetch_add(1, Ordering::SeqCst);
        ComponentPtr(NonNull::from(Box::leak(component)))
    }

    pub(crate) fn from_raw(raw: *mut sys::MMAL_COMPONENT_T) -> Option<ComponentPtr> {
        NonNull::new(raw.cast::<ComponentBox>()).map(ComponentPtr)
    }

    pub(crate) fn as_raw(self) -> *mut sys::MMAL_COMPONENT_T {
        self.0.as_ptr().cast()
    }

    fn component(&self) -> &ComponentBox {
        // SAFETY: a `ComponentPtr` exists only for components not yet
        // destroyed.
        unsafe { self.0.as_ref() }
    }

    pub(crate) fn shared(self) -> Arc<Shared> {
        self.component().shared.clone()
    }

    /// Every port, control first.
    pub(crate) fn ports(self) -> Vec<PortPtr> {
        self.component().all_ptrs.iter().filter_map(|&p| PortPtr::from_raw(p)).collect()
    }

    pub(crate) fn set_enabled(self, on: bool) {
        // SAFETY: as for `PortPtr::set_enabled`.
        let field = unsafe { AtomicU32::from_ptr(ptr::addr_of_mut!((*self.as_raw()).is_enabled)) };
        field.store(on as u32, Ordering::Release);
    }

    pub(crate) fn acquire(self) {
        self.component().refs.fetch_add(1, Ordering::AcqRel);
    }

    /// Drops one reference; `true` if it was the last.
    pub(crate) fn release(self) -> bool {
        self.component().refs.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// Frees the component's memory; its worker must have stopped.
    pub(crate) fn free(self) {
        // SAFETY: leaked from a box in `create`, freed once, after the last
        // reference.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
        COMPONENTS.fetch_sub(1, Ordering::SeqCst);
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
    /// Through the client: the buffers the output returned, for the client
    /// to pass on (`raw.queue` points here).
    queue: Box<QueueBox>,
}

// SAFETY: the connection's fields are written by the client's calls
// (create, enable, disable, destroy) and read by the workers' callbacks
// only while it is enabled; `is_enabled` is accessed atomically and the
// queue has its own lock.
unsafe impl Send for ConnectionPtr {}
// SAFETY: as above.
unsafe impl Sync for ConnectionPtr {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnectionPtr(NonNull<ConnectionBox>);

impl ConnectionPtr {
    pub(crate) fn create(out: PortPtr, input: PortPtr, flags: u32, connects: bool) -> ConnectionPtr {
        let name = CString::new(format!("{}/{}", out.name(), input.name())).unwrap_or_default();
        let mut c = Box::new(ConnectionBox {
            raw: sys::MMAL_CONNECTION_T { flags, in_: input.as_raw(), out: out.as_raw(), ..Default::default() },
            name,
            connects,
            refs: AtomicU32::new(1),
            queue: Box::new(QueueBox::with_capacity(8)),
        });
        c.raw.name = c.name.as_ptr();
        if flags & sys::MMAL_CONNECTION_FLAG_TUNNELLING == 0 {
            c.raw.queue = (&mut *c.queue as *mut QueueBox).cast();
        }
        CONNECTIONS.fetch_add(1, Ordering::SeqCst);
        ConnectionPtr(NonNull::from(Box::leak(c)))
    }

    pub(crate) fn from_raw(raw: *mut sys::MMAL_CONNECTION_T) -> Option<ConnectionPtr> {
        NonNull::new(raw.cast::<ConnectionBox>()).map(ConnectionPtr)
    }

    pub(crate) fn as_raw(self) -> *mut sys::MMAL_CONNECTION_T {
        self.0.as_ptr().cast()
    }

    fn raw(&self) -> &sys::MMAL_CONNECTION_T {
        // SAFETY: a `ConnectionPtr` exists only for live connections.
        unsafe { &self.0.as_ref().raw }
    }

    pub(crate) fn ports(self) -> Option<(PortPtr, PortPtr)> {
        Some((PortPtr::from_raw(self.raw().out)?, PortPtr::from_raw(self.raw().in_)?))
    }

    pub(crate) fn is_enabled(self) -> bool {
        // SAFETY: as in `set_enabled`.
        unsafe { AtomicU32::from_ptr(ptr::addr_of_mut!((*self.0.as_ptr()).raw.is_enabled)) }.load(Ordering::Acquire)
            != 0
    }

    pub(crate) fn flags(self) -> u32 {
        self.raw().flags
    }

    pub(crate) fn connects(self) -> bool {
        // SAFETY: as in `raw`.
        unsafe { self.0.as_ref().connects }
    }

    pub(crate) fn set_enabled(self, on: bool) {
        // SAFETY: live (see `raw`); clients may read the field from other
        // threads, so it is written atomically.
        let field = unsafe { AtomicU32::from_ptr(ptr::addr_of_mut!((*self.0.as_ptr()).raw.is_enabled)) };
        field.store(on as u32, Ordering::Release);
    }

    pub(crate) fn acquire(self) {
        // SAFETY: as in `raw`.
        unsafe { self.0.as_ref() }.refs.fetch_add(1, Ordering::AcqRel);
    }

    /// Drops one reference; `true` if it was the last.
    pub(crate) fn release(self) -> bool {
        // SAFETY: as in `raw`.
        unsafe { self.0.as_ref() }.refs.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// Whether buffers pass through the client (no tunnel).
    pub(crate) fn through_client(self) -> bool {
        self.flags() & sys::MMAL_CONNECTION_FLAG_TUNNELLING == 0
    }

    /// The buffers the output returned, waiting for the client.
    pub(crate) fn queue(&self) -> &QueueBox {
        // SAFETY: as in `raw`.
        unsafe { &self.0.as_ref().queue }
    }

    /// The pool of a connection through the client.
    pub(crate) fn pool(self) -> Option<PoolPtr> {
        PoolPtr::from_raw(self.raw().pool)
    }

    /// Replaces the pool (`None` to take it away); returns the old one.
    pub(crate) fn set_pool(self, pool: Option<PoolPtr>) -> Option<PoolPtr> {
        let old = self.pool();
        // SAFETY: live (see `raw`); written only by the client's calls,
        // while no buffer of the connection is in flight.
        unsafe { (*self.0.as_ptr()).raw.pool = pool.map_or(ptr::null_mut(), PoolPtr::as_raw) };
        old
    }

    /// Calls the client's connection callback, if it set one.
    pub(crate) fn notify(self) {
        if let Some(cb) = self.raw().callback {
            // SAFETY: a callback of libmmal's type, which the client set
            // for this connection, given the connection.
            unsafe { cb(self.as_raw()) };
        }
    }

    pub(crate) fn free(self) {
        // SAFETY: leaked from a box in `create`, freed once.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
        CONNECTIONS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The callback a connection through the client puts on its output port:
/// the buffer goes to the connection's queue, and the client is told.
pub(crate) unsafe extern "C" fn connection_output_cb(
    port: *mut sys::MMAL_PORT_T,
    buffer: *mut sys::MMAL_BUFFER_HEADER_T,
) {
    let (Some(port), Some(buffer)) = (PortPtr::from_raw(port), BufPtr::from_raw(buffer)) else { return };
    let Some(c) = ConnectionPtr::from_raw(port.port().raw.userdata.cast()) else {
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

/// Fills `buffer` with an `MMAL_EVENT_FORMAT_CHANGED` payload: the
/// requirements, then a format and its video part, which the payload's
/// format pointer points at. Returns the payload length, or `None` if the
/// buffer is too small.
pub(crate) fn write_format_changed(buffer: BufPtr, requirements: [u32; 4], format: &VideoFormat) -> Option<usize> {
    use std::mem::size_of;
    let head = size_of::<sys::MMAL_EVENT_FORMAT_CHANGED_T>();
    let fmt_at = head.next_multiple_of(8);
    let es_at = (fmt_at + size_of::<sys::MMAL_ES_FORMAT_T>()).next_multiple_of(8);
    let len = es_at + size_of::<sys::MMAL_ES_SPECIFIC_FORMAT_T>();
    if buffer.alloc_size() < len {
        return None;
    }
    buffer.with_payload(|bytes| {
        let base = bytes.as_mut_ptr();
        // SAFETY: the payload holds `len` bytes (checked above); event
        // pools are heap pools, whose payloads are 8-byte aligned, and the
        // offsets are multiples of 8; the three structs do not overlap.
        unsafe {
            let es = base.add(es_at).cast::<sys::MMAL_ES_SPECIFIC_FORMAT_T>();
            let fmt = base.add(fmt_at).cast::<sys::MMAL_ES_FORMAT_T>();
            let head = base.cast::<sys::MMAL_EVENT_FORMAT_CHANGED_T>();
            es.write(sys::MMAL_ES_SPECIFIC_FORMAT_T {
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
            fmt.write(sys::MMAL_ES_FORMAT_T {
                type_: sys::MMAL_ES_TYPE_VIDEO,
                encoding: format.encoding,
                es,
                flags: sys::MMAL_ES_FORMAT_FLAG_FRAMED,
                ..Default::default()
            });
            head.write(sys::MMAL_EVENT_FORMAT_CHANGED_T {
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
/// event carries, if it is one whose format lies in its own payload (as
/// every event buffer of the software VideoCore's has it).
pub(crate) fn read_format_changed(buffer: BufPtr) -> Option<(VideoFormat, [u32; 4])> {
    use std::mem::size_of;
    let head = format_changed_payload(buffer);
    if head.is_null() {
        return None;
    }
    buffer.with_payload(|bytes| {
        let range = bytes.as_ptr_range();
        let within = |p: *const u8, len: usize| {
            let start = p as usize;
            start >= range.start as usize && start.checked_add(len).is_some_and(|end| end <= range.end as usize)
        };
        // SAFETY: `head` points at the payload's start, which holds the
        // event struct (checked by `format_changed_payload`); the format
        // and its video part are read only once they are seen to lie
        // within the payload, unaligned as they may be.
        unsafe {
            let event = head.read_unaligned();
            let fmt = event.format;
            if !within(fmt.cast(), size_of::<sys::MMAL_ES_FORMAT_T>()) {
                return None;
            }
            let fmt = fmt.read_unaligned();
            if !within(fmt.es.cast(), size_of::<sys::MMAL_VIDEO_FORMAT_T>()) {
                return None;
            }
            let v = fmt.es.cast::<sys::MMAL_VIDEO_FORMAT_T>().read_unaligned();
            let format = VideoFormat::from_c(fmt.encoding, &v);
            Some((
                format,
                [
                    event.buffer_num_min,
                    event.buffer_size_min,
                    event.buffer_num_recommended,
                    event.buffer_size_recommended,
                ],
            ))
        }
    })
}

/// `mmal_event_format_changed_get`: the payload of a FORMAT_CHANGED event.
pub(crate) fn format_changed_payload(buffer: BufPtr) -> *mut sys::MMAL_EVENT_FORMAT_CHANGED_T {
    if buffer.cmd() != sys::MMAL_EVENT_FORMAT_CHANGED
        || buffer.length() < std::mem::size_of::<sys::MMAL_EVENT_FORMAT_CHANGED_T>()
    {
        return ptr::null_mut();
    }
    buffer.with_payload(|bytes| bytes.as_mut_ptr().cast())
}
