//! Pools (`MMAL_POOL_T`): their headers, payload allocation (zeroed blocks,
//! the client's allocator, the cap on heap payload bytes) and release hooks.

use std::collections::VecDeque;
use std::ffi::c_void;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use mmal_sys as sys;
use parking_lot::Mutex;

use super::buffers::{BufPtr, HeaderBox, PreReleaseCb};
use super::live::{list, pin, relist, unlist, Kind, Live, Owner, Pinned};
use super::queues::{QueueBox, QueueItems};
use super::{Status, POOLS};

/// More headers than any port uses; a larger request is refused with ENOMEM.
const MAX_POOL_HEADERS: usize = 1 << 16;

/// Decides what happens to a header released back to a tunnel's pool:
/// `true` puts it in the pool's queue.
pub(crate) type Hook = Box<dyn Fn(BufPtr) -> bool + Send + Sync>;

enum Payloads {
    /// Shared, so that a block lent to a transfer outlives its pool (and
    /// is counted until it goes).
    Heap(#[allow(dead_code)] Vec<Arc<ZeroedBlock>>),
    /// The blocks, and each one's address and VideoCore handle.
    Vcsm(
        #[allow(dead_code)] Vec<vcsm::SharedMemory>,
        #[cfg_attr(not(feature = "vchiq"), allow(dead_code))] Vec<(usize, u32)>,
    ),
    /// From a client's allocator (`mmal_pool_create_with_allocator`),
    /// given back to its free function when the pool goes.
    Client { allocator: ClientAllocator, blocks: Vec<*mut u8> },
}

/// Zeroed heap memory, 8-byte aligned (as C structs in event payloads
/// need), from `alloc_zeroed`: the allocator gets large blocks from the
/// system as pages that are zero until written, so a large pool costs
/// memory only as its buffers fill, and a block that cannot be had is an
/// error, never an abort.
///
/// A block of the client's allocations (see [`Allocator::Heap`]) may be
/// lent to a bulk transfer ([`lend_payload`]), which then holds it (so it
/// outlives its pool) and is the only access to its bytes until the loan
/// ends; or read by copies of an input's data ([`read_payload`]), any
/// number at once, but never while lent.
pub(crate) struct ZeroedBlock {
    ptr: NonNull<u8>,
    layout: std::alloc::Layout,
    /// [`WRITER`] while a bulk transfer has it, else how many copies read
    /// it now.
    #[cfg_attr(not(feature = "vchiq"), allow(dead_code))]
    loan: AtomicUsize,
    /// Its bytes, counted against the VideoCore's memory while it lives.
    #[allow(dead_code)]
    charge: HeapCharge,
}

/// [`ZeroedBlock::loan`]'s bit for a bulk transfer's loan.
#[cfg(feature = "vchiq")]
const WRITER: usize = 1 << (usize::BITS - 1);

// SAFETY: the block is plain bytes owned by this value.
unsafe impl Send for ZeroedBlock {}
// SAFETY: through `&ZeroedBlock` only the block's address, size and loan
// flag (atomic) are reached, never its bytes.
unsafe impl Sync for ZeroedBlock {}

/// Every live [`ZeroedBlock`] of the client's allocations (its pools',
/// connections' and `mmal_port_payload_alloc`'s, see
/// [`Allocator::Heap`]), by address: a header may carry any of them as its
/// payload (its own, another header's) from the block's start, and that
/// block is the one lent or read, whichever header names it. (A payload
/// elsewhere in a block is not found: it goes by a copy.)
#[cfg(feature = "vchiq")]
static BLOCKS: Mutex<Option<std::collections::HashMap<usize, std::sync::Weak<ZeroedBlock>>>> = Mutex::new(None);

impl ZeroedBlock {
    /// `size` zeroed bytes (at least one), counted by `charge` (of `size`
    /// bytes) while the block lives, and found by [`heap_block`] (so lent)
    /// if `lendable`; `None` if they cannot be had.
    pub(crate) fn new(size: usize, charge: HeapCharge, lendable: bool) -> Option<Arc<ZeroedBlock>> {
        let layout = std::alloc::Layout::from_size_align(size.max(1), 8).ok()?;
        // SAFETY: the layout is not zero-sized.
        let ptr = NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) })?;
        let block = Arc::new(ZeroedBlock { ptr, layout, loan: AtomicUsize::new(0), charge });
        #[cfg(feature = "vchiq")]
        if lendable {
            BLOCKS.lock().get_or_insert_with(Default::default).insert(ptr.as_ptr() as usize, Arc::downgrade(&block));
        }
        #[cfg(not(feature = "vchiq"))]
        let _ = lendable;
        Some(block)
    }

    pub(crate) fn as_mut_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Whether a bulk transfer has the block now (see [`lend_payload`]).
    #[cfg(all(feature = "vchiq", test))]
    pub(crate) fn is_lent(&self) -> bool {
        self.loan.load(Ordering::Acquire) & WRITER != 0
    }
}

/// One loan of a block ([`lend_payload`]), as the sender of the header
/// keeps it: whether that loan has ended. The block's own flag cannot say:
/// once this loan ends, another header naming the block may take it.
#[cfg(feature = "vchiq")]
#[derive(Clone)]
pub(crate) struct LoanTicket {
    block: Arc<ZeroedBlock>,
    ended: Arc<std::sync::atomic::AtomicBool>,
}

#[cfg(feature = "vchiq")]
impl LoanTicket {
    /// Whether this loan has ended: nothing writes the block for it any
    /// more, and its writes are visible to the caller.
    pub(crate) fn ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// The block lent.
    #[cfg(test)]
    pub(crate) fn block(&self) -> &Arc<ZeroedBlock> {
        &self.block
    }
}

/// The loan of a [`ZeroedBlock`] to a bulk transfer: dropped by the
/// transfer's buffer once nothing reaches the block through it.
#[cfg(feature = "vchiq")]
struct Lease(LoanTicket);

#[cfg(feature = "vchiq")]
impl Drop for Lease {
    fn drop(&mut self) {
        // Release: the transfer's writes happen before whoever sees the
        // loan ended touches the bytes. No copy reads while it is lent.
        self.0.block.loan.fetch_and(!WRITER, Ordering::Release);
        self.0.ended.store(true, Ordering::Release);
    }
}

/// A payload from `mmal_port_payload_alloc`, kept by address until
/// `mmal_port_payload_free`.
pub(crate) enum PortPayload {
    /// 8-byte aligned, so payloads are aligned for C structs; counted
    /// against the VideoCore's memory while it lives. Shared, so that a
    /// block lent to a transfer outlives its free.
    Heap(#[allow(dead_code)] Arc<ZeroedBlock>),
    Vcsm(#[allow(dead_code)] vcsm::SharedMemory),
}

static PORT_PAYLOADS: Mutex<Option<std::collections::HashMap<usize, PortPayload>>> = Mutex::new(None);

/// Keeps `payload`, allocated at `addr`, until [`free_port_payload`].
pub(crate) fn keep_port_payload(addr: *mut u8, payload: PortPayload) {
    PORT_PAYLOADS.lock().get_or_insert_with(Default::default).insert(addr as usize, payload);
}

/// Frees the payload kept at `addr`; `false` if there is none.
pub(crate) fn free_port_payload(addr: *mut u8) -> bool {
    PORT_PAYLOADS.lock().as_mut().and_then(|m| m.remove(&(addr as usize))).is_some()
}

/// What [`lend_payload`] did with a header's payload.
#[cfg(feature = "vchiq")]
pub(crate) enum Loan {
    /// Lent: a buffer over the payload's `alloc_size` bytes, and the loan.
    Lent(vchiq::BulkBuffer, LoanTicket),
    /// Its block is lent already (the header, or another one naming the
    /// same payload, is with the VideoCore), or is being read by a copy of
    /// another header's input data.
    Busy,
    /// Not a heap block of ours (the client's own memory).
    Other,
}

/// The heap block `buffer`'s payload is, if it is one of ours (see
/// [`BLOCKS`]) holding all of the header's `alloc_size` bytes from its
/// start (`data` is compared, never followed). A payload elsewhere in a
/// block (a client that splits one among headers) is not lent.
/// Returns the block and the header's `alloc_size`, as read once.
#[cfg(feature = "vchiq")]
fn heap_block(buffer: BufPtr) -> Option<(Arc<ZeroedBlock>, usize)> {
    let raw = buffer.raw();
    let (data, size) = (raw.data, raw.alloc_size as usize);
    if data.is_null() || size == 0 {
        return None;
    }
    // A block being dropped (its last `Arc` gone) no longer upgrades.
    let block = BLOCKS.lock().as_ref()?.get(&(data as usize))?.upgrade()?;
    (size <= block.layout.size()).then_some((block, size))
}

/// Lends the heap payload `buffer` carries (see [`heap_block`]) to a bulk
/// transfer, for the VideoCore to write in place, unless a transfer has
/// it already (through this header or another naming the same block).
/// The caller holds the header, sent to the VideoCore: by MMAL's rules the
/// client does not touch its payload, nor send another header naming it,
/// until it comes back, and the caller hands it back only once the loan
/// has ended ([`LoanTicket::ended`]). The loan holds the block, so it
/// outlives a pool destroyed meanwhile (and is counted until it goes).
#[cfg(feature = "vchiq")]
pub(crate) fn lend_payload(buffer: BufPtr) -> Loan {
    let Some((block, size)) = heap_block(buffer) else { return Loan::Other };
    if block.loan.compare_exchange(0, WRITER, Ordering::AcqRel, Ordering::Acquire).is_err() {
        return Loan::Busy;
    }
    let ticket = LoanTicket { block, ended: Default::default() };
    // SAFETY: `size` bytes from the start of a block of at least that many
    // (`heap_block`), zeroed when made (initialised), kept alive by the
    // lease's `Arc`. The loan was free (no transfer, no copy reading) and
    // is now the transfer's, so nothing else of ours reaches them until
    // the lease is dropped (the library's own writers never see the block:
    // only the client's allocations are lendable); the client does not
    // touch them while a header naming them is sent, and the caller hands
    // it back only after that.
    let memory = unsafe { vchiq::BulkBuffer::lend(ticket.block.ptr, size, Box::new(Lease(ticket.clone()))) };
    Loan::Lent(memory, ticket)
}

/// What [`read_payload`] did.
#[cfg(feature = "vchiq")]
pub(crate) enum Read<R> {
    /// Read: what the reader returned.
    Done(R),
    /// The block is lent to a bulk transfer (see [`Loan::Busy`]).
    Busy,
    /// Not a heap block of ours (see [`Loan::Other`]).
    Other,
}

/// Runs `read` on the heap payload `buffer` carries (see [`heap_block`]),
/// its `alloc_size` bytes, unless a bulk transfer has it: copies of input
/// data (which only read) share a block, a transfer (which writes) has it
/// alone.
#[cfg(feature = "vchiq")]
pub(crate) fn read_payload<R>(buffer: BufPtr, read: impl FnOnce(&[u8]) -> R) -> Read<R> {
    /// A copy's share of a block, given back when dropped.
    struct Share<'a>(&'a ZeroedBlock);
    impl Drop for Share<'_> {
        fn drop(&mut self) {
            self.0.loan.fetch_sub(1, Ordering::Release);
        }
    }
    let Some((block, size)) = heap_block(buffer) else { return Read::Other };
    let shared = block.loan.fetch_update(Ordering::AcqRel, Ordering::Acquire, |l| (l & WRITER == 0).then_some(l + 1));
    if shared.is_err() {
        return Read::Busy;
    }
    let _share = Share(&block);
    // SAFETY: `size` bytes from the start of a block of at least that many
    // (`heap_block`), initialised (zeroed when made), alive while `block`
    // is held. While the share is held no transfer can take the block (a
    // loan needs it free), other copies only read, and the client does not
    // write a payload it has sent.
    let bytes = unsafe { std::slice::from_raw_parts(block.ptr.as_ptr(), size) };
    Read::Done(read(bytes))
}

impl Drop for ZeroedBlock {
    fn drop(&mut self) {
        // Out of the registry before the address can be had again.
        #[cfg(feature = "vchiq")]
        if let Some(blocks) = BLOCKS.lock().as_mut() {
            let addr = self.ptr.as_ptr() as usize;
            if blocks.get(&addr).is_some_and(|w| ptr::eq(w.as_ptr(), self)) {
                blocks.remove(&addr);
            }
        }
        // SAFETY: allocated in `new` with this layout, freed once.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

/// Heap payload bytes live now: pools (the client's, the ports', the
/// connections') and the C API's `mmal_port_payload_alloc`'s.
static HEAP_PAYLOAD_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Heap payload bytes live now.
pub(crate) fn heap_payload_bytes() -> usize {
    HEAP_PAYLOAD_BYTES.load(Ordering::Acquire)
}

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

    /// `bytes` of this charge (at most all of it), as a charge of their own.
    pub(crate) fn split_off(&mut self, bytes: usize) -> HeapCharge {
        let bytes = bytes.min(self.0);
        self.0 -= bytes;
        HeapCharge(bytes)
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
/// client's business.) The memory is read where the process has opened
/// it, never opened here: over a real `/dev/vchiq` (or the preload
/// library's), the process's VCSM memory is the driver's, which a
/// zero-copy pool opens later ([`vcsm_block`]); opening the emulated one
/// here made those pools' blocks emulated ones, whose handles that
/// VideoCore does not know.
pub(crate) fn payload_limit() -> usize {
    let total =
        vcsm::ServiceManager::opened().and_then(|m| m.stats().pool_total).unwrap_or(vcsm::emulated::MAX_POOL_SIZE);
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
    /// Heap blocks for the client's pools, connections and payloads: over
    /// VCHIQ a header carrying one may be lent it (see [`lend_payload`]).
    Heap,
    /// Heap blocks of the library's own pools (events, the in-process
    /// components' tunnels), which the library writes itself: never lent.
    Internal,
    /// VCSM memory, for zero-copy ports: see [`vcsm_block`].
    Vcsm {
        /// For a port of the VideoCore over VCHIQ.
        remote: bool,
    },
    Client(ClientAllocator),
}

/// A VCSM block of `size` bytes for a zero-copy payload: the emulator's
/// own memory for its components' ports; for the VideoCore's ports over
/// VCHIQ (`remote`), the memory of the process's VCSM driver, which that
/// VideoCore shares (vc-sm-cma on a Pi, or the one the preload library
/// serves).
pub(crate) fn vcsm_block(size: usize, remote: bool, name: &str) -> vcsm::Result<vcsm::SharedMemory> {
    if !remote {
        vcsm::ServiceManager::emulated()?;
    }
    vcsm::SharedMemory::new(size, name)
}

/// The VideoCore handle of the VCSM block `buffer` carries as the payload
/// its pool gave it: `None` for other memory, or for a header whose client
/// pointed it elsewhere (`data` is compared, never followed).
#[cfg(feature = "vchiq")]
pub(crate) fn vcsm_handle(buffer: BufPtr) -> Option<u32> {
    let (home, _, (own, own_size)) = buffer.home();
    let raw = buffer.raw();
    if home.is_null() || raw.data != own || raw.alloc_size > own_size || own.is_null() {
        return None;
    }
    // SAFETY: a header's `home` is its live pool (see `give_back`); the
    // caller holds the header, so the pool cannot be resized meanwhile
    // (a resize needs every header home) and its payloads stay as read.
    let payloads = unsafe { &*ptr::addr_of!((*home.cast::<PoolBox>()).payloads) };
    match payloads {
        Payloads::Vcsm(_, handles) => handles.iter().find(|&&(addr, _)| addr == own as usize).map(|&(_, h)| h),
        _ => None,
    }
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
    /// Pins on its memory (see `live.rs`).
    pub(super) pins: AtomicUsize,
}

// SAFETY: `pins` is a field of the box, and the box is reached only
// through pins once listed.
unsafe impl Pinned for PoolBox {
    fn pins(&self) -> &AtomicUsize {
        &self.pins
    }
}

impl PoolBox {
    /// Points the headers at their pool and type-specific parts, fills the
    /// queue with them and the C struct with the queue and header list.
    fn link(&mut self) {
        let pool_addr: *const PoolBox = self;
        let PoolBox { raw, queue, headers, header_ptrs, .. } = self;
        let mut items = queue.items.lock();
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
        h.home = pool.cast();
        h.raw.type_ = &mut h.video;
        let raw_h: *mut sys::MMAL_BUFFER_HEADER_T = &mut h.raw;
        h.raw.priv_ = raw_h.cast();
        *slot = raw_h;
        items.push_back(BufPtr(NonNull::from(&mut h.raw)));
    }
}

/// A header released for the last time comes home: the pool's hook (a
/// tunnel's) decides, else the pool's queue takes it back.
///
/// # Safety
///
/// `home` is a live `PoolBox` (a header's pool outlives its use), and the
/// caller owns `buffer`, a header of that pool.
unsafe fn give_back(home: *const c_void, buffer: BufPtr) {
    // SAFETY: the caller's contract.
    let pool = PoolPtr(unsafe { NonNull::new_unchecked(home.cast_mut().cast::<PoolBox>()) });
    // Called without the lock: a hook may release buffers itself.
    let keep = match pool.hook() {
        Some(hook) => hook(buffer),
        None => true,
    };
    if keep {
        pool.queue().put(buffer);
    }
}

/// A live pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PoolPtr(pub(super) NonNull<PoolBox>);

// SAFETY: what a pool shares is behind mutexes (its queue, its hook) or
// changed only by its owner's `resize`, with every header home; its memory
// goes with its last pin (see `live.rs`).
unsafe impl Send for PoolPtr {}
// SAFETY: through `&PoolPtr` only the queue, the hook (both locked) and the
// header list (changed only by `resize`, as above) are reached.
unsafe impl Sync for PoolPtr {}

impl PoolPtr {
    /// A pool of the library's own of `n` headers with `size`-byte
    /// payloads, from the heap (never lent, see [`Allocator::Internal`])
    /// or, for a zero-copy port, from emulated VCSM memory.
    pub(crate) fn create(n: usize, size: usize, zero_copy: bool) -> Result<PoolPtr, Status> {
        PoolPtr::create_with(n, size, if zero_copy { Allocator::Vcsm { remote: false } } else { Allocator::Internal })
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
            Owner::new(pool, Kind::Pool { client: false }),
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
                home: ptr::null(),
                give_back,
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
        if !all_home(&queue.items.lock(), headers_len) {
            return Err(sys::MMAL_EINVAL);
        }
        if same {
            return Ok(());
        }
        let (new_payloads, data) = PoolPtr::payloads(n, size, new_allocator)?;
        let mut new_headers = PoolPtr::headers(&data, size);
        let mut new_ptrs = vec![ptr::null_mut(); n].into_boxed_slice();
        let mut items = queue.items.lock();
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
        let lendable = matches!(allocator, Allocator::Heap);
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
        } else if let Allocator::Vcsm { remote } = allocator {
            let mut blocks = Vec::new();
            let mut handles = Vec::new();
            blocks.try_reserve_exact(n).map_err(|_| no_memory("VCSM blocks"))?;
            handles.try_reserve_exact(n).map_err(|_| no_memory("VCSM blocks"))?;
            for _ in 0..n {
                let mut block = vcsm_block(size, remote, "mmal_vc_port buffer").map_err(|e| {
                    log::error!("mmal_vc_port_payload_alloc: cannot allocate {size} bytes of VCSM: {e}");
                    sys::MMAL_ENOMEM
                })?;
                data.push(block.as_mut_ptr());
                handles.push((block.as_mut_ptr() as usize, block.vc_handle().get()));
                blocks.push(block);
            }
            Payloads::Vcsm(blocks, handles)
        } else {
            // `n * size` cannot overflow (checked above).
            // Taken for all of them at once: a pool is made whole or not
            // at all; each block keeps its share.
            let mut charge =
                HeapCharge::take(n * size).ok_or_else(|| no_memory("the VideoCore's memory is used up"))?;
            let mut blocks: Vec<Arc<ZeroedBlock>> = Vec::new();
            blocks.try_reserve_exact(n).map_err(|_| no_memory("payloads"))?;
            for _ in 0..n {
                let block = ZeroedBlock::new(size, charge.split_off(size), lendable);
                blocks.push(block.ok_or_else(|| no_memory("payloads"))?);
            }
            data.extend(blocks.iter().map(|b| b.as_mut_ptr()));
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

    pub(super) fn hook(&self) -> Option<Arc<Hook>> {
        // SAFETY: as in `queue`; the hook has its own lock.
        let slot = unsafe { &*ptr::addr_of!((*self.0.as_ptr()).hook) };
        slot.lock().clone()
    }

    pub(crate) fn set_hook(&self, hook: Option<Hook>) {
        // SAFETY: as in `queue`; the hook has its own lock.
        let slot = unsafe { &*ptr::addr_of!((*self.0.as_ptr()).hook) };
        *slot.lock() = hook.map(Arc::new);
    }

    /// Frees the pool, its headers and payloads (once no C call still
    /// uses it: see `live.rs`). A pool destroyed already is left
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
