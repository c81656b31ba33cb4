//! The rest of libmmal's C surface beyond [`crate::api()`]'s table: buffer
//! headers, queues, pools, port helpers, reference counts. Programs written
//! for a Pi (picamera, picamerax, raspistill-style C) call these on the
//! objects the emulator hands out, so they act on the emulator's own
//! headers, queues and pools, with libmmal's behaviour.
//!
//! With the `c-exports` feature (which the `videocore-c` library turns on)
//! each function is exported under its C name; otherwise they are plain
//! Rust functions with the C ABI. Every function checks its pointers for
//! null and answers as libmmal does (`MMAL_EINVAL`, NULL, or nothing), and
//! none lets a panic cross into C: those that allocate, or call into the
//! core, run under `catch_unwind`; the others cannot panic.
//!
//! Beyond libmmal: components, ports, pools, queues and connections are
//! looked up among the live objects before they are used (see
//! `objects/live.rs`), so a destroyed one, or one destroyed twice, is refused
//! (`MMAL_EINVAL`, NULL or nothing) and logged rather than undefined
//! behaviour. Buffer headers are trusted, as libmmal trusts them.
#![allow(unsafe_code)]

use std::ffi::{c_uint, c_void};
use std::ptr;
use std::time::Duration;

use mmal_sys as sys;

use crate::core::SharedOf;
use crate::objects::{
    free_port_payload, keep_port_payload, AllocFn, Allocator, BufPtr, ClientAllocator, ComponentPtr, ConnectionPtr,
    FreeFn, HeapCharge, PoolCb, PoolPtr, PortPayload, PortPtr, PreReleaseCb, QueueBox, ZeroedBlock,
};

#[doc(hidden)]
pub use crate::guard::guarded;

// ---------------------------------------------------------------------------
// Buffer headers

/// `mmal_buffer_header_acquire`: one more reference.
///
/// # Safety
///
/// `header` is null or a header of a live pool.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_buffer_header_acquire(header: *mut sys::MMAL_BUFFER_HEADER_T) {
    if let Some(b) = BufPtr::from_raw(header) {
        b.acquire();
    }
}

/// `mmal_buffer_header_reset`: no data, flags or timestamps.
///
/// # Safety
///
/// As for [`mmal_buffer_header_acquire`], and the caller owns the header.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_buffer_header_reset(header: *mut sys::MMAL_BUFFER_HEADER_T) {
    if let Some(b) = BufPtr::from_raw(header) {
        b.reset();
    }
}

/// `mmal_buffer_header_release_continue`: finishes a release that a
/// pre-release callback held back.
///
/// # Safety
///
/// As for [`mmal_buffer_header_reset`].
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_buffer_header_release_continue(header: *mut sys::MMAL_BUFFER_HEADER_T) {
    if let Some(b) = BufPtr::from_raw(header) {
        guarded("mmal_buffer_header_release_continue", (), || b.release_continue());
    }
}

/// `mmal_buffer_header_pre_release_cb_set`: `cb` is called when the last
/// reference goes; a nonzero answer keeps the header until
/// [`mmal_buffer_header_release_continue`].
///
/// # Safety
///
/// As for [`mmal_buffer_header_acquire`]; `cb` has libmmal's signature.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_buffer_header_pre_release_cb_set(
    header: *mut sys::MMAL_BUFFER_HEADER_T,
    cb: Option<PreReleaseCb>,
    userdata: *mut c_void,
) {
    if let Some(b) = BufPtr::from_raw(header) {
        b.set_pre_release(cb, userdata);
    }
}

/// `mmal_buffer_header_replicate`: `dest` takes `src`'s payload and fields,
/// and holds a reference to `src` until `dest` is released. Then `dest`
/// has its own payload again; userland's core leaves it pointing at
/// `src`'s, which may be freed by then (a deliberate difference).
///
/// # Safety
///
/// Both are null or headers of live pools; the caller owns `dest`.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_buffer_header_replicate(
    dest: *mut sys::MMAL_BUFFER_HEADER_T,
    src: *mut sys::MMAL_BUFFER_HEADER_T,
) -> sys::MMAL_STATUS_T {
    match (BufPtr::from_raw(dest), BufPtr::from_raw(src)) {
        (Some(d), Some(s)) => match d.replicate(s) {
            Ok(()) => sys::MMAL_SUCCESS,
            Err(status) => status,
        },
        _ => sys::MMAL_EINVAL,
    }
}

/// `mmal_buffer_header_copy_header`: cmd, offset, length, flags,
/// timestamps and the type-specific part.
///
/// # Safety
///
/// As for [`mmal_buffer_header_replicate`].
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_buffer_header_copy_header(
    dest: *mut sys::MMAL_BUFFER_HEADER_T,
    src: *const sys::MMAL_BUFFER_HEADER_T,
) {
    if let (Some(d), Some(s)) = (BufPtr::from_raw(dest), BufPtr::from_raw(src.cast_mut())) {
        d.copy_header(s);
    }
}

/// `mmal_buffer_header_mem_lock`: payloads are always mapped here, so this
/// succeeds and changes nothing.
///
/// # Safety
///
/// Takes any pointer; only null is refused.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_buffer_header_mem_lock(header: *mut sys::MMAL_BUFFER_HEADER_T) -> sys::MMAL_STATUS_T {
    if header.is_null() {
        sys::MMAL_EINVAL
    } else {
        sys::MMAL_SUCCESS
    }
}

/// `mmal_buffer_header_mem_unlock`: nothing to undo.
///
/// # Safety
///
/// Takes any pointer.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_buffer_header_mem_unlock(_header: *mut sys::MMAL_BUFFER_HEADER_T) {}

// ---------------------------------------------------------------------------
// Queues

/// `mmal_queue_create`: an empty queue, freed by [`mmal_queue_destroy`].
#[cfg_attr(feature = "c-exports", no_mangle)]
pub extern "C" fn mmal_queue_create() -> *mut sys::MMAL_QUEUE_T {
    guarded("mmal_queue_create", ptr::null_mut(), QueueBox::create)
}

/// `mmal_queue_destroy`.
///
/// # Safety
///
/// None beyond libmmal's: a queue destroyed already, or not from
/// [`mmal_queue_create`], is refused and logged.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_queue_destroy(queue: *mut sys::MMAL_QUEUE_T) {
    guarded("mmal_queue_destroy", (), || QueueBox::destroy(queue));
}

/// `mmal_queue_put`: at the back.
///
/// # Safety
///
/// The caller hands over `buffer`, a header of a live pool. `queue` may be
/// anything: one that is not a live queue (a pool's, a connection's or one
/// from [`mmal_queue_create`]) is refused and logged.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_queue_put(queue: *mut sys::MMAL_QUEUE_T, buffer: *mut sys::MMAL_BUFFER_HEADER_T) {
    if let (Some(q), Some(b)) = (QueueBox::live(queue, "mmal_queue_put"), BufPtr::from_raw(buffer)) {
        q.put(b);
    }
}

/// `mmal_queue_put_back`: at the front.
///
/// # Safety
///
/// As for [`mmal_queue_put`].
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_queue_put_back(queue: *mut sys::MMAL_QUEUE_T, buffer: *mut sys::MMAL_BUFFER_HEADER_T) {
    if let (Some(q), Some(b)) = (QueueBox::live(queue, "mmal_queue_put_back"), BufPtr::from_raw(buffer)) {
        q.put_back(b);
    }
}

/// `mmal_queue_wait`: the next header, waiting as long as it takes.
///
/// The queue stays pinned (see `objects/live.rs`) for as long
/// as the call waits: a `mmal_pool_destroy` (or connection destroy) of its
/// pool meanwhile takes the pool off the list, but its memory, the queue
/// included, is freed only once this call returns, so a waiter is never
/// left on freed memory. It then waits on: nothing puts to a destroyed
/// pool's queue, as with libmmal, where destroying a pool that a thread
/// waits on is the client's bug (here a hang, never a use after free).
///
/// # Safety
///
/// None for `queue`: one that is not live is NULL, and logged.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_queue_wait(queue: *mut sys::MMAL_QUEUE_T) -> *mut sys::MMAL_BUFFER_HEADER_T {
    QueueBox::live(queue, "mmal_queue_wait").and_then(|q| q.wait(None)).map_or(ptr::null_mut(), BufPtr::as_raw)
}

/// `mmal_queue_timedwait`: the next header, waiting up to `timeout_ms`.
///
/// # Safety
///
/// As for [`mmal_queue_wait`].
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_queue_timedwait(
    queue: *mut sys::MMAL_QUEUE_T,
    timeout_ms: c_uint,
) -> *mut sys::MMAL_BUFFER_HEADER_T {
    let timeout = Duration::from_millis(u64::from(timeout_ms));
    QueueBox::live(queue, "mmal_queue_timedwait")
        .and_then(|q| q.wait(Some(timeout)))
        .map_or(ptr::null_mut(), BufPtr::as_raw)
}

// ---------------------------------------------------------------------------
// Pools

/// `mmal_pool_create`: `headers` headers with `payload_size`-byte payloads
/// from the heap (none for 0). NULL if it cannot be made.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub extern "C" fn mmal_pool_create(headers: c_uint, payload_size: u32) -> *mut sys::MMAL_POOL_T {
    guarded("mmal_pool_create", ptr::null_mut(), || {
        PoolPtr::create_with(headers as usize, payload_size as usize, Allocator::Heap)
            .map_or(ptr::null_mut(), |p| p.hand_to_client().as_raw())
    })
}

/// `mmal_pool_create_with_allocator`: payloads from `alloc(context, size)`,
/// given back to `free(context, payload)` when the pool goes.
///
/// # Safety
///
/// `alloc` and `free` have libmmal's signatures and accept `context`.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_pool_create_with_allocator(
    headers: c_uint,
    payload_size: u32,
    context: *mut c_void,
    alloc: Option<AllocFn>,
    free: Option<FreeFn>,
) -> *mut sys::MMAL_POOL_T {
    let (Some(alloc), Some(free)) = (alloc, free) else { return mmal_pool_create(headers, payload_size) };
    let allocator = Allocator::Client(ClientAllocator { context, alloc, free });
    guarded("mmal_pool_create_with_allocator", ptr::null_mut(), || {
        PoolPtr::create_with(headers as usize, payload_size as usize, allocator)
            .map_or(ptr::null_mut(), |p| p.hand_to_client().as_raw())
    })
}

/// `mmal_pool_destroy`: frees the pool, its headers and payloads.
///
/// # Safety
///
/// The pool's headers are no longer in use. A pool destroyed already, or
/// not the client's (a connection's), is refused and logged.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_pool_destroy(pool: *mut sys::MMAL_POOL_T) {
    guarded("mmal_pool_destroy", (), || {
        if let Some(pool) = PoolPtr::live(pool, "mmal_pool_destroy", true) {
            pool.destroy();
        }
    });
}

/// `mmal_pool_resize`: `headers` headers of `payload_size` bytes, in place;
/// every header must be back in the pool (EINVAL otherwise: userland's core
/// frees the payloads of headers still in use, a deliberate difference).
///
/// # Safety
///
/// The caller owns the pool; a pointer that is not a live pool is EINVAL,
/// and logged.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_pool_resize(
    pool: *mut sys::MMAL_POOL_T,
    headers: c_uint,
    payload_size: u32,
) -> sys::MMAL_STATUS_T {
    guarded("mmal_pool_resize", sys::MMAL_EFAULT, || {
        let Some(pool) = PoolPtr::live(pool, "mmal_pool_resize", false) else { return sys::MMAL_EINVAL };
        match pool.resize(headers as usize, payload_size as usize) {
            Ok(()) => sys::MMAL_SUCCESS,
            Err(status) => status,
        }
    })
}

/// `mmal_pool_callback_set`: `cb` sees every header released to the pool;
/// it goes back into the pool's queue if `cb` answers nonzero.
///
/// # Safety
///
/// `cb` has libmmal's signature; a pointer that is not a live pool is
/// ignored, and logged.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_pool_callback_set(
    pool: *mut sys::MMAL_POOL_T,
    cb: Option<PoolCb>,
    userdata: *mut c_void,
) {
    guarded("mmal_pool_callback_set", (), || {
        if let Some(pool) = PoolPtr::live(pool, "mmal_pool_callback_set", false) {
            pool.set_client_callback(cb, userdata);
        }
    });
}

/// `mmal_pool_pre_release_callback_set`: the pre-release callback of every
/// header of the pool.
///
/// # Safety
///
/// As for [`mmal_pool_callback_set`].
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_pool_pre_release_callback_set(
    pool: *mut sys::MMAL_POOL_T,
    cb: Option<PreReleaseCb>,
    userdata: *mut c_void,
) {
    guarded("mmal_pool_pre_release_callback_set", (), || {
        if let Some(pool) = PoolPtr::live(pool, "mmal_pool_pre_release_callback_set", false) {
            pool.set_pre_release(cb, userdata);
        }
    });
}

// ---------------------------------------------------------------------------
// Ports and components

/// `mmal_port_payload_alloc`: `size` bytes for a buffer of `port`: emulated
/// VCSM memory for a zero-copy port, else the heap. NULL if it cannot be
/// had: heap payloads, with the heap pools, may not hold more than the
/// VideoCore's memory all together.
///
/// # Safety
///
/// None for `port`: one that is not a port of a live component is NULL,
/// and logged.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_port_payload_alloc(port: *mut sys::MMAL_PORT_T, size: u32) -> *mut u8 {
    if size == 0 {
        return ptr::null_mut();
    }
    guarded("mmal_port_payload_alloc", ptr::null_mut(), || {
        let Some(port) = PortPtr::live(port, "mmal_port_payload_alloc") else { return ptr::null_mut() };
        if size as usize > crate::objects::payload_limit() {
            log::error!("mmal_port_payload_alloc: {size} bytes is more than the VideoCore's memory");
            return ptr::null_mut();
        }
        #[cfg(feature = "vchiq")]
        let (zero_copy, remote) = match crate::remote::of(&port.core()) {
            Some(remote) => (crate::remote::zero_copy(*port, &remote), true),
            None => (crate::core::zero_copy(*port), false),
        };
        #[cfg(not(feature = "vchiq"))]
        let (zero_copy, remote) = (crate::core::zero_copy(*port), false);
        let (payload, addr) = if zero_copy {
            match crate::objects::vcsm_block(size.max(1) as usize, remote, "mmal_vc_port payload") {
                Ok(mut block) => {
                    let addr = block.as_mut_ptr();
                    (PortPayload::Vcsm(block), addr)
                }
                Err(e) => {
                    log::error!("mmal_port_payload_alloc: {}: {e}", port.name());
                    return ptr::null_mut();
                }
            }
        } else {
            let Some(charge) = HeapCharge::take(size as usize) else {
                log::error!("mmal_port_payload_alloc: {size} bytes more than the VideoCore's memory has left");
                return ptr::null_mut();
            };
            let Some(block) = ZeroedBlock::new(size as usize, charge, true) else { return ptr::null_mut() };
            let addr = block.as_mut_ptr();
            (PortPayload::Heap(block), addr)
        };
        keep_port_payload(addr, payload);
        addr
    })
}

/// `mmal_port_payload_free`: gives back a payload from
/// [`mmal_port_payload_alloc`]; others are left alone (and logged).
///
/// # Safety
///
/// `payload` is not used after this call.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_port_payload_free(_port: *mut sys::MMAL_PORT_T, payload: *mut u8) {
    if payload.is_null() {
        return;
    }
    if !free_port_payload(payload) {
        log::error!("mmal_port_payload_free: {payload:p} is not a payload of this VideoCore");
    }
}

/// `mmal_port_event_get`: a header from the component's event pool, marked
/// as event `event`, for the client to send on. ENOSPC when none is free.
///
/// # Safety
///
/// `buffer` is null or valid for a write; a `port` that is not a port of
/// a live component is EINVAL, and logged.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_port_event_get(
    port: *mut sys::MMAL_PORT_T,
    buffer: *mut *mut sys::MMAL_BUFFER_HEADER_T,
    event: u32,
) -> sys::MMAL_STATUS_T {
    if buffer.is_null() {
        return sys::MMAL_EINVAL;
    }
    guarded("mmal_port_event_get", sys::MMAL_EFAULT, || {
        let Some(port) = PortPtr::live(port, "mmal_port_event_get") else { return sys::MMAL_EINVAL };
        event_get(*port, buffer, event)
    })
}

/// The work of [`mmal_port_event_get`], on a live port.
fn event_get(port: PortPtr, buffer: *mut *mut sys::MMAL_BUFFER_HEADER_T, event: u32) -> sys::MMAL_STATUS_T {
    #[cfg(feature = "vchiq")]
    let pooled = match crate::remote::of(&port.core()) {
        Some(remote) => remote.event_buffer(),
        None => port.shared().event_pool.queue().get(),
    };
    #[cfg(not(feature = "vchiq"))]
    let pooled = port.shared().event_pool.queue().get();
    match pooled {
        Some(b) => {
            // A FORMAT_CHANGED event comes with its payload laid out (a
            // format for the client to fill in), as libmmal's does.
            let length = if event == sys::MMAL_EVENT_FORMAT_CHANGED {
                crate::objects::write_format_changed(b, [0; 4], &crate::format::VideoFormat::default()).unwrap_or(0)
            } else {
                0
            };
            b.set(event, length, 0, sys::MMAL_TIME_UNKNOWN);
            // SAFETY: checked non-null; the caller's contract.
            unsafe { buffer.write(b.as_raw()) };
            sys::MMAL_SUCCESS
        }
        None => {
            log::error!("mmal_port_event_get: {}: no event buffer free", port.name());
            sys::MMAL_ENOSPC
        }
    }
}

/// `mmal_port_connect`: tunnels an output to an input, given in either
/// order (formats are left as they are; `mmal_connection_create` copies
/// them). EINVAL for an enabled port.
///
/// # Safety
///
/// None: a pointer that is not a port of a live component is EINVAL, and
/// logged.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_port_connect(
    output: *mut sys::MMAL_PORT_T,
    input: *mut sys::MMAL_PORT_T,
) -> sys::MMAL_STATUS_T {
    guarded("mmal_port_connect", sys::MMAL_EFAULT, || {
        let (Some(a), Some(b)) =
            (PortPtr::live(output, "mmal_port_connect"), PortPtr::live(input, "mmal_port_connect"))
        else {
            return sys::MMAL_EINVAL;
        };
        let (a, b) = (*a, *b);
        // An enabled port is refused by `connect`, under each component's
        // lock (a check here, before any lock, would prove nothing).
        let (out, input) = if a.port_type() == sys::MMAL_PORT_TYPE_INPUT { (b, a) } else { (a, b) };
        let flags = sys::MMAL_CONNECTION_FLAG_TUNNELLING | sys::MMAL_CONNECTION_FLAG_KEEP_PORT_FORMATS;
        #[cfg(feature = "vchiq")]
        if crate::remote::of(&out.core()).is_some() || crate::remote::of(&input.core()).is_some() {
            // No userdata to write: the reservation ends here.
            return crate::remote::connect(out, input, flags).0;
        }
        // No userdata to write: the reservation ends here.
        crate::core::connect(out, input, flags).0
    })
}

/// `mmal_port_disconnect`: undoes [`mmal_port_connect`], disabling the
/// tunnel first if it is enabled. EINVAL for a port not connected.
///
/// # Safety
///
/// None: a pointer that is not a port of a live component is EINVAL, and
/// logged.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_port_disconnect(port: *mut sys::MMAL_PORT_T) -> sys::MMAL_STATUS_T {
    guarded("mmal_port_disconnect", sys::MMAL_EFAULT, || {
        let Some(port) = PortPtr::live(port, "mmal_port_disconnect") else { return sys::MMAL_EINVAL };
        #[cfg(feature = "vchiq")]
        if let Some(remote) = crate::remote::of(&port.core()) {
            return crate::remote::disconnect_port(*port, &remote);
        }
        crate::core::disconnect_port(*port)
    })
}

/// `mmal_component_acquire`: one more reference.
///
/// # Safety
///
/// None: a pointer that is not a live component is refused (EINVAL or
/// nothing), and logged.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_component_acquire(component: *mut sys::MMAL_COMPONENT_T) {
    guarded("mmal_component_acquire", (), || {
        if let Some(c) = ComponentPtr::live(component, "mmal_component_acquire") {
            c.acquire();
        }
    });
}

/// `mmal_component_destroy`: as `mmal_component_release` (the component
/// goes with its last reference).
///
/// # Safety
///
/// As for [`mmal_component_acquire`].
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_component_destroy(component: *mut sys::MMAL_COMPONENT_T) -> sys::MMAL_STATUS_T {
    // SAFETY: the caller's contract, which `component_release` shares.
    unsafe { (crate::api().component_release)(component) }
}

/// `mmal_connection_acquire`: one more reference.
///
/// # Safety
///
/// None: a pointer that is not a live connection is refused (EINVAL or
/// nothing), and logged.
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_connection_acquire(connection: *mut sys::MMAL_CONNECTION_T) {
    guarded("mmal_connection_acquire", (), || {
        if let Some(c) = ConnectionPtr::live(connection, "mmal_connection_acquire") {
            c.acquire();
        }
    });
}

/// `mmal_connection_release`: drops a reference; the last destroys the
/// connection (as `mmal_connection_destroy` does).
///
/// # Safety
///
/// As for [`mmal_connection_acquire`].
#[cfg_attr(feature = "c-exports", no_mangle)]
pub unsafe extern "C" fn mmal_connection_release(connection: *mut sys::MMAL_CONNECTION_T) -> sys::MMAL_STATUS_T {
    // SAFETY: the caller's contract, which `connection_destroy` shares.
    unsafe { (crate::api().connection_destroy)(connection) }
}

// ---------------------------------------------------------------------------
// Live objects, for the rest of the C library

/// Runs `f` while `component` is a live component of this VideoCore, kept
/// from being freed until `f` returns; `None` (and a message naming
/// `func`) if it is not one (destroyed, or never made here). For C
/// functions outside this module that read the component's struct.
pub fn with_live_component<R>(component: *mut sys::MMAL_COMPONENT_T, func: &str, f: impl FnOnce() -> R) -> Option<R> {
    let _live = ComponentPtr::live(component, func)?;
    Some(f())
}

/// [`with_live_component`] for a port: one of a live component's.
pub fn with_live_port<R>(port: *mut sys::MMAL_PORT_T, func: &str, f: impl FnOnce() -> R) -> Option<R> {
    let _live = PortPtr::live(port, func)?;
    Some(f())
}
