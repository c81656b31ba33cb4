//! Connections (`MMAL_CONNECTION_T`): through a tunnel or through the
//! client, with their callback and references.

use std::ffi::CString;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use mmal_sys as sys;
use parking_lot::{Mutex, MutexGuard};

use super::buffers::BufPtr;
use super::components::PortPtr;
use super::live::{list, pin, unlist, Kind, Live, Owner, Pin, Pinned};
use super::pools::PoolPtr;
use super::queues::QueueBox;
use super::CONNECTIONS;

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
    /// Pins on its memory (see `live.rs`).
    pub(super) pins: AtomicUsize,
}

// SAFETY: `pins` is a field of the box, and the box is reached only
// through pins once listed.
unsafe impl Pinned for ConnectionBox {
    fn pins(&self) -> &AtomicUsize {
        &self.pins
    }
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
            Owner::new(c, Kind::Connection),
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

    /// The output and the input. Their memory is valid while the
    /// connection's is (the connection pins both components), so a port
    /// whose component is destroyed may still be asked about its own
    /// fields, never used (the core tells which: `core::connection_ends`).
    pub(crate) fn port_ptrs(self) -> [PortPtr; 2] {
        // SAFETY: live (see above); fixed at creation.
        unsafe { conn_field!(self, ports).read() }
    }

    fn op(&self) -> MutexGuard<'_, ConnectionOp> {
        // SAFETY: live (see above); the lock is shared by reference.
        unsafe { &*conn_field!(self, op) }.lock()
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
