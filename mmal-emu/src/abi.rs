//! The `extern "C"` functions of the table: argument checks and pointer
//! conversion, then the safe logic in `core`. A panic must not cross the C
//! boundary, so each entry catches one and reports `MMAL_EFAULT` (or NULL).
//!
//! Every component, port, pool, queue and connection pointer is looked up
//! among the live objects (`objects/live.rs`) and pinned for the
//! call: a destroyed one, or one destroyed twice, is `MMAL_EINVAL` (or NULL)
//! and a message, never a use of freed memory.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_uint, CStr};

use mmal_sys as sys;

use crate::components;
use crate::core as component;
use crate::guard::guarded;
use crate::objects::{self, Allocator, BufPtr, Callback, ComponentPtr, ConnectionPtr, PoolPtr, PortPtr, QueueBox};

/// Builds the table from [`sys::for_each_api!`]: each field points at the
/// function of this module with the field's name.
macro_rules! table {
    ($($(#[$doc:meta])* $symbol:ident => $field:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;)*) => {
        pub(crate) static API: sys::Api = sys::Api { $($field: $field,)* };
    };
}

sys::for_each_api!(table);

/// The table of the VideoCore over VCHIQ (`crate::remote`): the same
/// functions, but components are created on the VideoCore. Every other
/// entry tells a remote object from a local one itself.
#[cfg(feature = "vchiq")]
pub(crate) static VCHIQ_API: sys::Api = sys::Api { component_create: remote_component_create, ..API };

/// Runs `$remote` with the remote component behind `$core` (a
/// `CoreState`) if there is one, returning its answer.
macro_rules! remote {
    ($core:expr, |$r:ident| $remote:expr) => {
        #[cfg(feature = "vchiq")]
        if let Some($r) = crate::remote::of(&$core) {
            return $remote;
        }
    };
}

/// [`guarded`] for a function that answers a status: `MMAL_EFAULT` on a
/// panic; the status is traced.
fn guard(name: &str, f: impl FnOnce() -> sys::MMAL_STATUS_T) -> sys::MMAL_STATUS_T {
    let status = guarded(name, sys::MMAL_EFAULT, f);
    log::trace!("{name}: status {status}");
    status
}

unsafe extern "C" fn component_create(name: *const c_char, out: *mut *mut sys::MMAL_COMPONENT_T) -> sys::MMAL_STATUS_T {
    guard("mmal_component_create", || {
        if name.is_null() || out.is_null() {
            return sys::MMAL_EINVAL;
        }
        // SAFETY: the caller passes a NUL-terminated name (libmmal's
        // contract), checked non-null above.
        let name = unsafe { CStr::from_ptr(name) };
        let Ok(name) = name.to_str() else { return sys::MMAL_ENOSYS };
        let made = match components::create(name) {
            Some(Ok(made)) => made,
            Some(Err(status)) => return status,
            None => {
                log::error!("mmal_component_create_core: could not find component '{name}'");
                return sys::MMAL_ENOSYS;
            }
        };
        match component::create(name, made) {
            Ok(c) => {
                // SAFETY: `out` is a valid pointer to write the result to.
                unsafe { out.write(c.as_raw()) };
                sys::MMAL_SUCCESS
            }
            Err(status) => status,
        }
    })
}

/// `mmal_component_create` of the VCHIQ table: the component is the
/// VideoCore's.
#[cfg(feature = "vchiq")]
unsafe extern "C" fn remote_component_create(
    name: *const c_char,
    out: *mut *mut sys::MMAL_COMPONENT_T,
) -> sys::MMAL_STATUS_T {
    guard("mmal_component_create", || {
        if name.is_null() || out.is_null() {
            return sys::MMAL_EINVAL;
        }
        // SAFETY: as in `component_create`.
        let name = unsafe { CStr::from_ptr(name) };
        let Ok(name) = name.to_str() else { return sys::MMAL_ENOSYS };
        match crate::remote::create(name) {
            Ok(c) => {
                // SAFETY: `out` is a valid pointer to write the result to.
                unsafe { out.write(c.as_raw()) };
                sys::MMAL_SUCCESS
            }
            Err(status) => status,
        }
    })
}

unsafe extern "C" fn component_release(c: *mut sys::MMAL_COMPONENT_T) -> sys::MMAL_STATUS_T {
    guard("mmal_component_release", || {
        let Some(c) = ComponentPtr::live(c, "mmal_component_release") else { return sys::MMAL_EINVAL };
        match c.release() {
            Some(true) => {
                let status = destroy(*c);
                if status != sys::MMAL_SUCCESS {
                    // Refused (called from its own thread): keep the reference.
                    c.acquire();
                }
                status
            }
            Some(false) => sys::MMAL_SUCCESS,
            None => {
                log::error!("mmal_component_release: {:p} is being destroyed already", c.as_raw());
                sys::MMAL_EINVAL
            }
        }
    })
}

/// Destroys a component whose last reference went.
fn destroy(c: ComponentPtr) -> sys::MMAL_STATUS_T {
    remote!(c.core(), |r| crate::remote::destroy(c, &r));
    component::destroy(c)
}

unsafe extern "C" fn component_enable(c: *mut sys::MMAL_COMPONENT_T) -> sys::MMAL_STATUS_T {
    guard("mmal_component_enable", || {
        let Some(c) = ComponentPtr::live(c, "mmal_component_enable") else { return sys::MMAL_EINVAL };
        remote!(c.core(), |r| crate::remote::component_set_enabled(*c, &r, true));
        component::component_enable(*c)
    })
}

unsafe extern "C" fn component_disable(c: *mut sys::MMAL_COMPONENT_T) -> sys::MMAL_STATUS_T {
    guard("mmal_component_disable", || {
        let Some(c) = ComponentPtr::live(c, "mmal_component_disable") else { return sys::MMAL_EINVAL };
        remote!(c.core(), |r| crate::remote::component_set_enabled(*c, &r, false));
        component::component_disable(*c)
    })
}

/// Runs `f` on the live port `port` for the C function `name`, or answers
/// `MMAL_EINVAL`.
fn with_port(
    name: &str,
    port: *mut sys::MMAL_PORT_T,
    f: impl FnOnce(PortPtr) -> sys::MMAL_STATUS_T,
) -> sys::MMAL_STATUS_T {
    guard(name, || match PortPtr::live(port, name) {
        Some(p) => {
            log::trace!("{name}({})", p.name());
            f(*p)
        }
        None => sys::MMAL_EINVAL,
    })
}

unsafe extern "C" fn port_format_commit(port: *mut sys::MMAL_PORT_T) -> sys::MMAL_STATUS_T {
    with_port("mmal_port_format_commit", port, format_commit)
}

/// `mmal_port_format_commit` of a live port, local or remote.
fn format_commit(port: PortPtr) -> sys::MMAL_STATUS_T {
    remote!(port.core(), |r| crate::remote::port_format_commit(port, &r));
    component::port_format_commit(port)
}

/// `mmal_port_enable` of a live port, local or remote.
fn enable(port: PortPtr, cb: Option<Callback>) -> sys::MMAL_STATUS_T {
    remote!(port.core(), |r| crate::remote::port_enable(port, cb, &r));
    component::port_enable(port, cb)
}

/// `mmal_port_disable` of a live port, local or remote.
fn disable_port(port: PortPtr) -> sys::MMAL_STATUS_T {
    remote!(port.core(), |r| crate::remote::port_disable(port, &r));
    component::port_disable(port)
}

/// `mmal_port_send_buffer` of a live port, local or remote.
fn send_buffer(port: PortPtr, buffer: BufPtr) -> sys::MMAL_STATUS_T {
    // As libmmal's core: a header without a payload (but a size) is
    // refused, unless the port passes headers through.
    if buffer.alloc_size() != 0
        && !buffer.has_data()
        && port.capabilities() & sys::MMAL_PORT_CAPABILITY_PASSTHROUGH == 0
    {
        log::error!("mmal_port_send_buffer: {}: a buffer header without a payload (data is NULL)", port.name());
        return sys::MMAL_EINVAL;
    }
    remote!(port.core(), |r| crate::remote::port_send_buffer(port, buffer, &r));
    component::port_send_buffer(port, buffer)
}

/// Where payloads for a live port come from: VCSM for a zero-copy port
/// (see [`crate::objects::vcsm_block`]), else the heap.
pub(crate) fn payload_source(port: PortPtr) -> Allocator {
    remote!(port.core(), |r| if crate::remote::zero_copy(port, &r) {
        Allocator::Vcsm { remote: true }
    } else {
        Allocator::Heap
    });
    if component::zero_copy(port) {
        Allocator::Vcsm { remote: false }
    } else {
        Allocator::Heap
    }
}

unsafe extern "C" fn port_enable(port: *mut sys::MMAL_PORT_T, cb: sys::MMAL_PORT_BH_CB_T) -> sys::MMAL_STATUS_T {
    with_port("mmal_port_enable", port, |p| enable(p, cb.map(Callback)))
}

unsafe extern "C" fn port_disable(port: *mut sys::MMAL_PORT_T) -> sys::MMAL_STATUS_T {
    with_port("mmal_port_disable", port, disable_port)
}

unsafe extern "C" fn port_flush(port: *mut sys::MMAL_PORT_T) -> sys::MMAL_STATUS_T {
    with_port("mmal_port_flush", port, |port| {
        remote!(port.core(), |r| crate::remote::port_flush(port, &r));
        component::port_flush(port)
    })
}

// A parameter is a header (id, size) and `size` bytes in all, header
// included. The C caller's struct may be smaller than the size it declares
// (libmmal trusts it, and so must any implementation: the real size of the
// memory behind a pointer cannot be known). What can be bounded is bounded:
//
// * set reads the header, refuses a size past `MMAL_PARAMETER_MAX_SIZE`
//   (ENOSPC, as libmmal's VC client does) before reading anything more,
//   then copies exactly `size` bytes, once, into its own buffer: no more
//   than the caller declared, and no reference to the caller's memory is
//   held while the component works;
// * get reads only the header; the component answers into the emulator's
//   own buffer (sized as the caller declared, capped at the largest
//   parameter), and only the answer's bytes that fit in the declared size
//   are written back: never more than the caller declared, and never more
//   than the parameter really is, so a caller whose struct is the right
//   one for the id is safe whatever size it declares. The header's `size`
//   then says the answer's full size (libmmal's ENOSPC protocol).

unsafe extern "C" fn port_parameter_set(
    port: *mut sys::MMAL_PORT_T,
    param: *const sys::MMAL_PARAMETER_HEADER_T,
) -> sys::MMAL_STATUS_T {
    with_port("mmal_port_parameter_set", port, |port| {
        if param.is_null() {
            return sys::MMAL_EINVAL;
        }
        // SAFETY: a non-null parameter starts with its header (libmmal's
        // contract); read unaligned, as the client may place it anywhere.
        let header = unsafe { param.read_unaligned() };
        log::trace!("mmal_port_parameter_set({}, {:#x})", port.name(), header.id);
        let size = header.size as usize;
        if size > sys::MMAL_PARAMETER_MAX_SIZE as usize {
            log::error!("mmal_vc_port_parameter_set: parameter {:#x} of {size} bytes is too large", header.id);
            return sys::MMAL_ENOSPC;
        }
        if size < std::mem::size_of::<sys::MMAL_PARAMETER_HEADER_T>() {
            return sys::MMAL_EINVAL;
        }
        let mut data = [0u8; sys::MMAL_PARAMETER_MAX_SIZE as usize];
        // SAFETY: the caller's parameter is `hdr.size` bytes long, header
        // included (libmmal's contract; see above), at most the buffer's
        // length (checked); the two do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(param.cast::<u8>(), data.as_mut_ptr(), size) };
        remote!(port.core(), |r| crate::remote::parameter_set(port, &data[..size], &r));
        component::parameter_set(port, header.id, &data[..size])
    })
}

unsafe extern "C" fn port_parameter_get(
    port: *mut sys::MMAL_PORT_T,
    param: *mut sys::MMAL_PARAMETER_HEADER_T,
) -> sys::MMAL_STATUS_T {
    with_port("mmal_port_parameter_get", port, |port| {
        if param.is_null() {
            return sys::MMAL_EINVAL;
        }
        // SAFETY: `param` points at a header (checked non-null), read
        // unaligned as in `port_parameter_set`.
        let header = unsafe { param.read_unaligned() };
        let head = std::mem::size_of::<sys::MMAL_PARAMETER_HEADER_T>();
        let declared = (header.size as usize).max(head) - head;
        let mut answer = [0u8; sys::MMAL_PARAMETER_MAX_SIZE as usize];
        let room = declared.min(answer.len());
        // A parameter whose get carries a request in its payload
        // (CORE_STATISTICS: the direction, and whether to reset): that
        // payload goes in first. Of any other, nothing of the caller's is
        // read (a caller may declare more room than it has).
        if header.id == sys::MMAL_PARAMETER_CORE_STATISTICS {
            let request = room.min(std::mem::size_of::<sys::MMAL_PARAMETER_CORE_STATISTICS_T>() - head);
            // SAFETY: the caller's parameter is `header.size` bytes
            // (libmmal's contract), of which at most the struct's payload
            // is read after the header, unaligned.
            unsafe { std::ptr::copy_nonoverlapping(param.cast::<u8>().add(head), answer.as_mut_ptr(), request) };
        }
        match parameter_get(port, header.id, &mut answer[..room]) {
            Ok(full) => {
                let status = if full > declared { sys::MMAL_ENOSPC } else { sys::MMAL_SUCCESS };
                let written = full.min(room);
                // SAFETY: `written` is at most the payload size the caller
                // declared (see above); the header is the caller's, written
                // unaligned.
                unsafe {
                    std::ptr::copy_nonoverlapping(answer.as_ptr(), param.cast::<u8>().add(head), written);
                    std::ptr::addr_of_mut!((*param).size).write_unaligned((head + full) as u32);
                }
                status
            }
            Err(status) => status,
        }
    })
}

/// `mmal_port_parameter_get` of a live port: the payload into `out`
/// (which holds the request's payload, if the parameter takes one), its
/// full length answered.
fn parameter_get(port: PortPtr, id: u32, out: &mut [u8]) -> Result<usize, sys::MMAL_STATUS_T> {
    remote!(port.core(), |r| {
        // The VideoCore takes at most 384 bytes of payload.
        let room = out.len().min(384);
        let head = std::mem::size_of::<sys::MMAL_PARAMETER_HEADER_T>();
        let mut request = Vec::with_capacity(head + room);
        request.extend_from_slice(&id.to_le_bytes());
        request.extend_from_slice(&((head + room) as u32).to_le_bytes());
        if id == sys::MMAL_PARAMETER_CORE_STATISTICS {
            request.extend_from_slice(&out[..room]);
        }
        crate::remote::parameter_get(port, &request, &mut out[..room], &r)
    });
    component::parameter_get(port, id, out)
}

unsafe extern "C" fn port_send_buffer(
    port: *mut sys::MMAL_PORT_T,
    buffer: *mut sys::MMAL_BUFFER_HEADER_T,
) -> sys::MMAL_STATUS_T {
    with_port("mmal_port_send_buffer", port, |port| match BufPtr::from_raw(buffer) {
        Some(buffer) => send_buffer(port, buffer),
        None => sys::MMAL_EINVAL,
    })
}

unsafe extern "C" fn port_pool_create(
    port: *mut sys::MMAL_PORT_T,
    headers: c_uint,
    size: u32,
) -> *mut sys::MMAL_POOL_T {
    guarded("mmal_port_pool_create", std::ptr::null_mut(), || {
        let Some(port) = PortPtr::live(port, "mmal_port_pool_create") else { return std::ptr::null_mut() };
        match PoolPtr::create_with(headers as usize, size as usize, payload_source(*port)) {
            Ok(pool) => pool.hand_to_client().as_raw(),
            Err(_) => std::ptr::null_mut(),
        }
    })
}

unsafe extern "C" fn port_pool_destroy(_port: *mut sys::MMAL_PORT_T, pool: *mut sys::MMAL_POOL_T) {
    guarded("mmal_port_pool_destroy", (), || {
        if let Some(pool) = PoolPtr::live(pool, "mmal_port_pool_destroy", true) {
            pool.destroy();
        }
    });
}

unsafe extern "C" fn queue_get(queue: *mut sys::MMAL_QUEUE_T) -> *mut sys::MMAL_BUFFER_HEADER_T {
    guarded("mmal_queue_get", std::ptr::null_mut(), || {
        QueueBox::live(queue, "mmal_queue_get").and_then(|q| q.get()).map_or(std::ptr::null_mut(), BufPtr::as_raw)
    })
}

unsafe extern "C" fn queue_length(queue: *mut sys::MMAL_QUEUE_T) -> c_uint {
    guarded("mmal_queue_length", 0, || QueueBox::live(queue, "mmal_queue_length").map_or(0, |q| q.len() as c_uint))
}

unsafe extern "C" fn buffer_header_release(buffer: *mut sys::MMAL_BUFFER_HEADER_T) {
    guarded("mmal_buffer_header_release", (), || {
        if let Some(b) = BufPtr::from_raw(buffer) {
            b.release();
        }
    });
}

unsafe extern "C" fn event_format_changed_get(
    buffer: *mut sys::MMAL_BUFFER_HEADER_T,
) -> *mut sys::MMAL_EVENT_FORMAT_CHANGED_T {
    guarded("mmal_event_format_changed_get", std::ptr::null_mut(), || {
        BufPtr::from_raw(buffer).map_or(std::ptr::null_mut(), objects::format_changed_payload)
    })
}

unsafe extern "C" fn connection_create(
    out_connection: *mut *mut sys::MMAL_CONNECTION_T,
    out: *mut sys::MMAL_PORT_T,
    input: *mut sys::MMAL_PORT_T,
    flags: u32,
) -> sys::MMAL_STATUS_T {
    guard("mmal_connection_create", || {
        let (Some(out), Some(input)) =
            (PortPtr::live(out, "mmal_connection_create"), PortPtr::live(input, "mmal_connection_create"))
        else {
            return sys::MMAL_EINVAL;
        };
        let (out, input) = (*out, *input);
        if out_connection.is_null() {
            return sys::MMAL_EINVAL;
        }
        // The ports stay reserved (no enable, no other connection) until
        // `reserved` is dropped, once their userdata is written.
        let (status, reserved) = connect(out, input, flags);
        // As libmmal: a port already connected still gets a connection
        // object (which connects nothing) along with EISCONN; any other
        // failure gets none.
        if status != sys::MMAL_SUCCESS && status != sys::MMAL_EISCONN {
            return status;
        }
        let tunnel = flags & sys::MMAL_CONNECTION_FLAG_TUNNELLING != 0;
        let connection = ConnectionPtr::create(out, input, flags, tunnel && status == sys::MMAL_SUCCESS);
        if !tunnel {
            // As libmmal: an empty pool from the start, resized on enable,
            // whose release callback tells the client. The resize takes
            // its payloads from the ports' source (`payload_source`): the
            // client's kind of pool from then on, lendable over VCHIQ.
            match PoolPtr::create(0, 0, false) {
                Ok(pool) => {
                    // The connection is looked up, not trusted: a header can
                    // come home while the connection is being destroyed.
                    let raw = connection.as_raw() as usize;
                    pool.set_hook(Some(Box::new(move |b| {
                        pool.queue().put(b);
                        let live = ConnectionPtr::live(raw as *mut sys::MMAL_CONNECTION_T, "mmal_connection (pool)");
                        if let Some(c) = live {
                            c.notify();
                        }
                        false
                    })));
                    connection.set_pool(Some(pool));
                }
                Err(status) => {
                    connection.free();
                    return status;
                }
            }
        }
        // Both ports' userdata point at the connection, as libmmal sets
        // them, written while the ports are reserved; with EISCONN, only
        // those of the ports this call reserved (not one another caller is
        // connecting, whose userdata that caller writes).
        for port in [out, input] {
            if reserved.holds(port) {
                port.set_userdata(connection.as_raw().cast());
            }
        }
        drop(reserved);
        // SAFETY: `out_connection` is valid for writes (checked non-null).
        unsafe { out_connection.write(connection.as_raw()) };
        status
    })
}

/// The reservation [`connect`] holds: the core's, or the remote
/// components' for the VideoCore's.
enum Reserved {
    Core(component::Reservation),
    #[cfg(feature = "vchiq")]
    Remote(crate::remote::Reservation),
}

impl Reserved {
    fn holds(&self, port: PortPtr) -> bool {
        match self {
            Reserved::Core(r) => r.holds(port),
            #[cfg(feature = "vchiq")]
            Reserved::Remote(r) => r.holds(port),
        }
    }
}

/// Connects two live ports, local or remote.
fn connect(out: PortPtr, input: PortPtr, flags: u32) -> (sys::MMAL_STATUS_T, Reserved) {
    #[cfg(feature = "vchiq")]
    if crate::remote::of(&out.core()).is_some() || crate::remote::of(&input.core()).is_some() {
        let (status, reserved) = crate::remote::connect(out, input, flags);
        return (status, Reserved::Remote(reserved));
    }
    let (status, reserved) = component::connect(out, input, flags);
    (status, Reserved::Core(reserved))
}

/// A connection's output and input, each with whether its component is
/// still there.
fn connection_ends(c: ConnectionPtr) -> [(PortPtr, bool); 2] {
    #[cfg(feature = "vchiq")]
    {
        let [out, input] = c.port_ptrs();
        if let (Some(a), Some(b)) = (crate::remote::alive(out), crate::remote::alive(input)) {
            return [(out, a), (input, b)];
        }
    }
    component::connection_ends(c)
}

/// A connection's output and input, or `None` (and a message naming
/// `func`) if either's component has been destroyed.
fn connection_ports(c: ConnectionPtr, func: &str) -> Option<(PortPtr, PortPtr)> {
    match connection_ends(c) {
        [(out, true), (input, true)] => Some((out, input)),
        _ => {
            log::error!("{func}: a component of connection {:p} has been destroyed", c.as_raw());
            None
        }
    }
}

/// Undoes a tunnel.
fn disconnect(out: PortPtr, input: PortPtr) {
    #[cfg(feature = "vchiq")]
    if crate::remote::of(&out.core()).is_some() {
        crate::remote::disconnect(out, input);
        return;
    }
    component::disconnect(out, input);
}

unsafe extern "C" fn connection_enable(c: *mut sys::MMAL_CONNECTION_T) -> sys::MMAL_STATUS_T {
    guard("mmal_connection_enable", || {
        let Some(c) = ConnectionPtr::live(c, "mmal_connection_enable") else { return sys::MMAL_EINVAL };
        let c = *c;
        // Held for the whole enable: a destroy under way refuses it, and
        // one that starts waits for it (it frees the pool enable resizes).
        let Some(_op) = c.begin_enable() else { return sys::MMAL_EINVAL };
        // A component of it destroyed: EINVAL, even if it says it is
        // enabled (it no longer carries anything).
        let Some((out, input)) = connection_ports(c, "mmal_connection_enable") else {
            return sys::MMAL_EINVAL;
        };
        if c.is_enabled() {
            return sys::MMAL_SUCCESS;
        }
        if c.flags() & sys::MMAL_CONNECTION_FLAG_KEEP_BUFFER_REQUIREMENTS == 0 {
            out.use_recommended_buffers();
            input.use_recommended_buffers();
        }
        let status = if c.through_client() { enable_through_client(c, out, input) } else { enable(out, None) };
        if status == sys::MMAL_SUCCESS {
            c.set_enabled(true);
        }
        status
    })
}

unsafe extern "C" fn connection_disable(c: *mut sys::MMAL_CONNECTION_T) -> sys::MMAL_STATUS_T {
    guard("mmal_connection_disable", || {
        let Some(c) = ConnectionPtr::live(c, "mmal_connection_disable") else { return sys::MMAL_EINVAL };
        disable(*c, "mmal_connection_disable")
    })
}

/// `mmal_connection_disable` of a live connection (for `func`): EINVAL if
/// a component of it has been destroyed.
///
/// Through the client, as libmmal: the input, then the output (whose
/// buffers come back through the connection's queue), then whatever the
/// client left queued; the first failure is the answer, at once, with the
/// connection still enabled and the ports not yet disabled left as they
/// were. A port already disabled (by such an earlier call) is skipped, so
/// that a retry finishes the work rather than failing on it.
fn disable(c: ConnectionPtr, func: &str) -> sys::MMAL_STATUS_T {
    if !c.is_enabled() {
        return sys::MMAL_SUCCESS;
    }
    let Some((out, input)) = connection_ports(c, func) else { return sys::MMAL_EINVAL };
    if c.through_client() {
        for port in [input, out] {
            if port.is_enabled() {
                let status = disable_port(port);
                if status != sys::MMAL_SUCCESS {
                    log::error!("{func}: {} could not be disabled", port.name());
                    return status;
                }
            }
        }
        while let Some(b) = c.queue().get() {
            b.release();
        }
    } else {
        let status = disable_port(out);
        if status != sys::MMAL_SUCCESS {
            return status;
        }
    }
    c.set_enabled(false);
    sys::MMAL_SUCCESS
}

/// What [`disable`] cannot do, for a destroy: a connection whose other
/// component has been destroyed (which disabled and disconnected that
/// component's ports). Whichever of its ports still belongs to a live
/// component, is enabled and still the connection's (its `userdata`), is
/// disabled.
fn disable_what_is_left(c: ConnectionPtr) -> sys::MMAL_STATUS_T {
    for (port, alive) in connection_ends(c) {
        if alive && port.is_enabled() && port.userdata() == c.as_raw().cast() {
            let status = disable_port(port);
            if status != sys::MMAL_SUCCESS {
                return status;
            }
        }
    }
    while let Some(b) = c.queue().get() {
        b.release();
    }
    c.set_enabled(false);
    sys::MMAL_SUCCESS
}

/// `mmal_connection_enable` without a tunnel, as libmmal's connection code
/// does it: both ports take the larger buffer numbers and sizes, the
/// connection's pool is remade to match (from VCSM if both ends are in
/// zero-copy mode), and both ports are enabled with the connection's
/// callbacks. Moving buffers is then the client's work.
fn enable_through_client(c: ConnectionPtr, out: PortPtr, input: PortPtr) -> sys::MMAL_STATUS_T {
    let (out_num, out_size, _, _) = out.buffers();
    let (in_num, in_size, _, _) = input.buffers();
    let (num, size) = (out_num.max(in_num), out_size.max(in_size));
    out.set_buffers(num, size);
    input.set_buffers(num, size);
    if num == 0 {
        return sys::MMAL_EINVAL;
    }
    // The pool's payloads come from the port it is allocated on: the output
    // if asked, else the input if asked, else the output.
    let allocating = if c.flags() & sys::MMAL_CONNECTION_FLAG_ALLOCATION_ON_OUTPUT != 0 {
        out
    } else if c.flags() & sys::MMAL_CONNECTION_FLAG_ALLOCATION_ON_INPUT != 0 {
        input
    } else {
        out
    };
    let allocator = payload_source(allocating);
    c.queue().reserve(num as usize);
    // The connection's pool, made at create, resized (libmmal keeps it for
    // the connection's life, and clients may hold it or its callback).
    let Some(pool) = c.pool() else { return sys::MMAL_EINVAL };
    if let Err(status) = pool.resize_with(num as usize, size as usize, allocator) {
        return status;
    }
    let status = enable(out, Some(Callback(objects::connection_output_cb)));
    if status != sys::MMAL_SUCCESS {
        return status;
    }
    let status = enable(input, Some(Callback(objects::connection_input_cb)));
    if status != sys::MMAL_SUCCESS {
        let _ = disable_port(out);
    }
    status
}

/// `mmal_connection_event_format_changed`, as libmmal's connection code
/// does it: if the input takes format-change events and the output's
/// buffers still fit, the output commits the new format and the event goes
/// on to the input; otherwise the connection is disabled, the format is
/// committed on the output and copied to the input, and the connection is
/// enabled again (with new buffers).
unsafe extern "C" fn connection_event_format_changed(
    c: *mut sys::MMAL_CONNECTION_T,
    buffer: *mut sys::MMAL_BUFFER_HEADER_T,
) -> sys::MMAL_STATUS_T {
    guard("mmal_connection_event_format_changed", || {
        let (Some(c), Some(buffer)) =
            (ConnectionPtr::live(c, "mmal_connection_event_format_changed"), BufPtr::from_raw(buffer))
        else {
            return sys::MMAL_EINVAL;
        };
        let Some((out, input)) = connection_ports(*c, "mmal_connection_event_format_changed") else {
            return sys::MMAL_EINVAL;
        };
        let Some((format, [num_min, size_min, _, _])) = objects::read_format_changed(buffer) else {
            return sys::MMAL_EINVAL;
        };
        let (out_num, out_size, _, _) = out.buffers();
        let forward = input.capabilities() & sys::MMAL_PORT_CAPABILITY_SUPPORTS_EVENT_FORMAT_CHANGE != 0
            && size_min <= out_size
            && num_min <= out_num;
        if forward {
            out.write_format(&format);
            let status = format_commit(out);
            if status != sys::MMAL_SUCCESS {
                return status;
            }
            buffer.acquire();
            let status = send_buffer(input, buffer);
            if status != sys::MMAL_SUCCESS {
                buffer.release();
            }
            return status;
        }
        // SAFETY: `c` is a live connection (looked up above, and pinned).
        let status = unsafe { connection_disable(c.as_raw()) };
        if status != sys::MMAL_SUCCESS {
            return status;
        }
        out.write_format(&format);
        let status = format_commit(out);
        if status != sys::MMAL_SUCCESS {
            return status;
        }
        input.copy_format_from(out);
        let status = format_commit(input);
        if status != sys::MMAL_SUCCESS {
            return status;
        }
        // SAFETY: as above.
        unsafe { connection_enable(c.as_raw()) }
    })
}

/// `mmal_connection_destroy` (and `mmal_connection_release`): drops a
/// reference; the last disables the connection, then disconnects and frees
/// it. A disable that fails is the answer, and the connection stays whole
/// (enabled, connected, with its last reference) for the caller to retry.
/// While the last reference's destroy runs, another destroy (or release)
/// and an enable are EINVAL: of two destroys racing for one reference,
/// one succeeds and the other is refused.
///
/// Beyond libmmal (where it reads freed memory): a connection one of
/// whose components has been destroyed is still freed, its surviving port
/// disabled if the connection left it enabled; it is never reconnected.
unsafe extern "C" fn connection_destroy(c: *mut sys::MMAL_CONNECTION_T) -> sys::MMAL_STATUS_T {
    guard("mmal_connection_destroy", || {
        let Some(conn) = ConnectionPtr::live(c, "mmal_connection_destroy") else { return sys::MMAL_EINVAL };
        let conn = *conn;
        match conn.begin_destroy() {
            Ok(false) => return sys::MMAL_SUCCESS,
            Err(()) => {
                log::error!("mmal_connection_destroy: {c:p} is being destroyed already");
                return sys::MMAL_EINVAL;
            }
            Ok(true) => {}
        }
        // The last reference, still held: disable first.
        let whole = connection_ends(conn).iter().all(|&(_, alive)| alive);
        let status = if whole { disable(conn, "mmal_connection_destroy") } else { disable_what_is_left(conn) };
        if status != sys::MMAL_SUCCESS {
            conn.abort_destroy();
            log::error!("mmal_connection_destroy: {c:p} could not be disabled; it is kept as it was");
            return status;
        }
        // Held until the connection is off the list: no enable comes in.
        let Some(_op) = conn.finish_destroy() else {
            // Another thread took a reference meanwhile: it is theirs now.
            return sys::MMAL_SUCCESS;
        };
        if let ([(out, true), (input, true)], true) = (connection_ends(conn), conn.connects()) {
            disconnect(out, input);
        }
        if let Some(pool) = conn.set_pool(None) {
            pool.destroy();
        }
        conn.free();
        sys::MMAL_SUCCESS
    })
}
