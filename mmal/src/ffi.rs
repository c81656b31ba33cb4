//! Every call into the function table and every access to an MMAL struct.
//!
//! The handle types here wrap pointers that the provider returned. The
//! crate keeps them valid by construction: ports and pools are used only
//! while an `Arc` keeps their component alive, buffer headers only while
//! the crate owns them (from a callback or a pool queue until they are
//! released or sent), connections until destroyed.
//!
//! Ports, components and connections are C structs that the provider's
//! threads write while the crate reads them (`is_enabled`, `userdata`, the
//! buffer numbers a connection sets, `priv` state). No `&` or `&mut` to one
//! of them is ever formed: each field is read or written on its own through
//! a raw pointer (`addr_of!((*p).field).read()`), and `is_enabled` is
//! accessed atomically.
//!
//! The crate never trusts a pointer that C may write: the callbacks find
//! their state (a [`PortHandler`], the stream's sink; a
//! [`ConnectionHandler`], the connection's relay) in a [`Registry`] keyed by
//! the port or connection the provider calls back with, never through
//! `userdata` or `user_data` (libmmal's connection code points both ports'
//! `userdata` at the connection, and nothing stops other C code from writing
//! them). The state types live above this module; the callbacks are
//! generic over them.
//!
//! This file holds the handle types and why each may cross threads, the
//! `field!` reader, components, ports and connections; `buffer` holds
//! pools and buffer headers, `callbacks` the registries, the handler traits,
//! the trampolines and the callback marks, and `tests` their tests.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::ptr::{addr_of, addr_of_mut, NonNull};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use mmal_sys as sys;
use sys::param::ParameterStruct;

use crate::format::{Encoding, Format, Rational, Rect};

type Status = u32;

/// Reads one field of a C struct through a raw pointer, never forming a
/// reference to the whole struct (which other threads may be writing):
/// `field!(ptr, a.b)` is `addr_of!((*ptr).a.b).read()`, and
/// `field!(unaligned ptr, a.b)` the same with `read_unaligned` (for structs
/// in a payload, which C need not align).
///
/// It dereferences `ptr`, so it must be used inside an `unsafe` block,
/// whose `// SAFETY:` comment says why `ptr` points at a live struct (and,
/// without `unaligned`, a suitably aligned one) and why no other thread
/// writes that field meanwhile.
macro_rules! field {
    (unaligned $ptr:expr, $($field:ident).+) => {{
        let ptr = $ptr;
        addr_of!((*ptr).$($field).+).read_unaligned()
    }};
    ($ptr:expr, $($field:ident).+) => {{
        let ptr = $ptr;
        addr_of!((*ptr).$($field).+).read()
    }};
}

/// A component the provider created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawComponent(NonNull<sys::MMAL_COMPONENT_T>);

/// A port of a live component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawPort(NonNull<sys::MMAL_PORT_T>);

/// A pool created on a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawPool(NonNull<sys::MMAL_POOL_T>);

/// A buffer header the crate owns. Not `Copy`: releasing or sending it
/// consumes the one value that stands for the crate's ownership.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RawBuffer(NonNull<sys::MMAL_BUFFER_HEADER_T>);

#[cfg(test)]
impl RawPool {
    /// The C struct, for tests that play the provider's part.
    pub(crate) fn as_ptr(self) -> *mut sys::MMAL_POOL_T {
        self.0.as_ptr()
    }
}

#[cfg(test)]
impl RawBuffer {
    /// The C struct, for tests that play the provider's part.
    pub(crate) fn as_ptr(&self) -> *mut sys::MMAL_BUFFER_HEADER_T {
        self.0.as_ptr()
    }
}

/// A connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawConnection(NonNull<sys::MMAL_CONNECTION_T>);

// SAFETY: libmmal lets any thread call a component's functions (each takes
// the component's lock). The fields `RawComponent` reads are set when the
// component is made and never written again (`id`, the port arrays and
// counts), except `is_enabled`, which the provider writes and the crate
// reads atomically. Each is read on its own through a raw pointer: no
// reference to the struct is formed while the provider writes other fields.
unsafe impl Send for RawComponent {}
// SAFETY: every method is one of the calls or reads above, none of which
// needs exclusive access.
unsafe impl Sync for RawComponent {}
// SAFETY: libmmal's port functions take the port's lock. The provider
// writes some of the port's fields from its own threads: `is_enabled`
// (read atomically here), `userdata` (libmmal's connections point it at
// themselves: the crate neither reads nor writes it), and the buffer
// numbers and format on a commit or a connection's enable, which the crate
// calls only with the component's `fields` mutex held, the mutex it holds
// to read or write those fields. The name, type, index, capabilities and
// component pointer never change. Every access is to one field through a
// raw pointer, never through a reference to the whole struct.
unsafe impl Send for RawPort {}
// SAFETY: as above: every method either calls a locking libmmal function,
// reads an immutable or atomic field, or is called under the mutex that
// guards what it touches.
unsafe impl Sync for RawPort {}
// SAFETY: a pool's queue has its own lock (`mmal_queue_get` is thread-safe),
// `headers_num` and `queue` never change, and the pool is destroyed only by
// its one owner (`Sink`'s drop) when nothing else refers to it.
unsafe impl Send for RawPool {}
// SAFETY: as above: `get` and `size` need no exclusive access.
unsafe impl Sync for RawPool {}
// SAFETY: a header the crate owns moves between threads with its ownership;
// libmmal lets any thread release or send a header.
unsafe impl Send for RawBuffer {}
// SAFETY: through `&RawBuffer` the crate only reads the header and its
// payload (`data`, `cmd`, `flags`...). While the crate owns a header nobody
// writes either: the provider filled them before handing the header over
// and touches them again only after it is released or sent, which takes
// the `RawBuffer` by value. The calls that let C write into an owned
// header or its payload take `&mut RawBuffer`: `mmal_event_format_changed_get`
// (`RawBuffer::format_changed`), which fixes up the event's pointers in
// place, and `mmal_connection_event_format_changed`
// (`RawConnection::event_format_changed`), which does the same and takes a
// reference to forward the event.
unsafe impl Sync for RawBuffer {}
// SAFETY: libmmal's connection functions may be called from any thread; a
// connection is enabled, disabled and destroyed only through its one owner
// (`Connection`), `is_enabled` is read atomically, and the fields the crate
// writes (`callback`) are written only while the connection is disabled.
unsafe impl Send for RawConnection {}
// SAFETY: as above.
unsafe impl Sync for RawConnection {}

mod buffer;
mod callbacks;
#[cfg(all(test, feature = "emulator"))]
mod tests;

use callbacks::relay_callback;
pub(crate) use callbacks::{
    as_callback_of_both, in_callback_of, port_callback, ConnectionHandler, PortCallback, PortHandler, Registry,
};

pub(crate) fn component_create(api: &sys::Api, name: &CStr) -> Result<RawComponent, Status> {
    let mut out = std::ptr::null_mut();
    // SAFETY: `name` is NUL-terminated and `out` is a valid out-pointer.
    let status = unsafe { (api.component_create)(name.as_ptr(), &mut out) };
    match NonNull::new(out) {
        Some(c) if status == sys::MMAL_SUCCESS => Ok(RawComponent(c)),
        _ => Err(if status == sys::MMAL_SUCCESS { sys::MMAL_ENOMEM } else { status }),
    }
}

/// Reads a `u32` field that other threads write, atomically.
///
/// # Safety
///
/// `field` points at a naturally aligned `u32` of a live struct, which
/// every writer writes whole (C stores an `uint32_t` in one instruction on
/// every target the crate supports).
unsafe fn load_u32(field: *mut u32) -> u32 {
    // SAFETY: as the caller promises.
    unsafe { AtomicU32::from_ptr(field) }.load(Ordering::Acquire)
}

impl RawComponent {
    /// A component the test made itself (or a fake one).
    #[cfg(all(test, feature = "emulator"))]
    pub(crate) fn for_test(component: &mut sys::MMAL_COMPONENT_T) -> RawComponent {
        RawComponent(NonNull::from(component))
    }

    fn ptr(self) -> *mut sys::MMAL_COMPONENT_T {
        // Live until `release`, which the owner calls last.
        self.0.as_ptr()
    }

    pub(crate) fn release(self, api: &sys::Api) -> Status {
        // SAFETY: the component is live and this drops the crate's one
        // reference.
        unsafe { (api.component_release)(self.0.as_ptr()) }
    }

    pub(crate) fn enable(self, api: &sys::Api) -> Status {
        // SAFETY: live component.
        unsafe { (api.component_enable)(self.0.as_ptr()) }
    }

    pub(crate) fn disable(self, api: &sys::Api) -> Status {
        // SAFETY: live component.
        unsafe { (api.component_disable)(self.0.as_ptr()) }
    }

    pub(crate) fn is_enabled(self) -> bool {
        // SAFETY: live component; the field is read atomically because the
        // provider may write it from another thread.
        unsafe { load_u32(addr_of_mut!((*self.ptr()).is_enabled)) != 0 }
    }

    pub(crate) fn id(self) -> u32 {
        // SAFETY: a live component (see `ptr`); set when it was made, never
        // written again.
        unsafe { field!(self.ptr(), id) }
    }

    pub(crate) fn control(self) -> Option<RawPort> {
        // SAFETY: as in `id`.
        NonNull::new(unsafe { field!(self.ptr(), control) }).map(RawPort)
    }

    pub(crate) fn input_count(self) -> usize {
        // SAFETY: as in `id`.
        unsafe { field!(self.ptr(), input_num) as usize }
    }

    pub(crate) fn output_count(self) -> usize {
        // SAFETY: as in `id`.
        unsafe { field!(self.ptr(), output_num) as usize }
    }

    pub(crate) fn input(self, i: usize) -> Option<RawPort> {
        // SAFETY: as in `id`.
        let (num, ports) = unsafe { (field!(self.ptr(), input_num) as usize, field!(self.ptr(), input)) };
        if i >= num || ports.is_null() {
            return None;
        }
        // SAFETY: `input` has `input_num` entries, set when the component
        // was made.
        NonNull::new(unsafe { ports.add(i).read() }).map(RawPort)
    }

    pub(crate) fn output(self, i: usize) -> Option<RawPort> {
        // SAFETY: as in `id`.
        let (num, ports) = unsafe { (field!(self.ptr(), output_num) as usize, field!(self.ptr(), output)) };
        if i >= num || ports.is_null() {
            return None;
        }
        // SAFETY: `output` has `output_num` entries, set when the component
        // was made.
        NonNull::new(unsafe { ports.add(i).read() }).map(RawPort)
    }
}

/// What `buffer_requirements` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PortBuffers {
    pub(crate) num_min: u32,
    pub(crate) size_min: u32,
    pub(crate) alignment_min: u32,
    pub(crate) num_recommended: u32,
    pub(crate) size_recommended: u32,
    pub(crate) num: u32,
    pub(crate) size: u32,
}

impl RawPort {
    pub(crate) fn ptr(self) -> *mut sys::MMAL_PORT_T {
        // Ports live as long as their component, which the caller keeps
        // alive.
        self.0.as_ptr()
    }

    pub(crate) fn name(self) -> String {
        // SAFETY: a live port (see `ptr`); its name pointer never changes.
        let name = unsafe { field!(self.ptr(), name) };
        if name.is_null() {
            return String::from("?");
        }
        // SAFETY: a NUL-terminated name owned by the port, never changed.
        unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned()
    }

    /// The port's address, to tell ports apart.
    pub(crate) fn addr(self) -> usize {
        self.0.as_ptr() as usize
    }

    /// The address of the port's component (set when it was made).
    fn component_addr(self) -> usize {
        // SAFETY: a live port; set when it was made, never written again.
        unsafe { field!(self.ptr(), component) as usize }
    }

    pub(crate) fn port_type(self) -> u32 {
        // SAFETY: as in `component_addr`.
        unsafe { field!(self.ptr(), type_) }
    }

    pub(crate) fn index(self) -> usize {
        // SAFETY: as in `component_addr`.
        usize::from(unsafe { field!(self.ptr(), index) })
    }

    pub(crate) fn is_enabled(self) -> bool {
        // SAFETY: live port; written by the provider from other threads, so
        // read atomically.
        unsafe { load_u32(addr_of_mut!((*self.ptr()).is_enabled)) != 0 }
    }

    /// `MMAL_PORT_CAPABILITY_*` bits.
    pub(crate) fn capabilities(self) -> u32 {
        // SAFETY: as in `component_addr`.
        unsafe { field!(self.ptr(), capabilities) }
    }

    /// The buffer fields; the caller holds the component's `fields` mutex.
    pub(crate) fn buffers(self) -> PortBuffers {
        let p = self.ptr();
        // SAFETY: a live port; the provider writes these fields only on a
        // commit or a connection's enable, which the crate calls with the
        // `fields` mutex held, as the caller holds it now.
        unsafe {
            PortBuffers {
                num_min: field!(p, buffer_num_min),
                size_min: field!(p, buffer_size_min),
                alignment_min: field!(p, buffer_alignment_min),
                num_recommended: field!(p, buffer_num_recommended),
                size_recommended: field!(p, buffer_size_recommended),
                num: field!(p, buffer_num),
                size: field!(p, buffer_size),
            }
        }
    }

    pub(crate) fn set_buffers(self, num: u32, size: u32) {
        // SAFETY: live port; the client owns these two fields while the
        // port is disabled, and writes them under the `fields` mutex. Each
        // is written on its own through a raw pointer.
        unsafe {
            addr_of_mut!((*self.ptr()).buffer_num).write(num);
            addr_of_mut!((*self.ptr()).buffer_size).write(size);
        }
    }

    /// The port's format; the caller holds the component's `fields` mutex.
    pub(crate) fn format(self) -> Format {
        // SAFETY: a live port; `format` points at the port's own format,
        // for the port's life, which the provider writes only under the
        // `fields` mutex the caller holds.
        unsafe { format_from(field!(self.ptr(), format)) }
    }

    /// Edits the port's format in place (never replacing the pointer).
    pub(crate) fn write_format(self, format: &Format) {
        // SAFETY: a live port; its `format` pointer never changes.
        let f = unsafe { field!(self.ptr(), format) };
        if f.is_null() {
            return;
        }
        // SAFETY: the port's own format (above), whose `es` pointer never
        // changes.
        let es = unsafe { field!(f, es) };
        // SAFETY: `f` is the port's own format and `es` (if set) its video
        // part; the port is disabled and the crate holds the component's
        // configuration and `fields` mutexes, so nobody else reads or writes
        // them. Each field is written through a raw pointer.
        unsafe {
            addr_of_mut!((*f).type_).write(sys::MMAL_ES_TYPE_VIDEO);
            addr_of_mut!((*f).encoding).write(format.encoding.to_raw());
            addr_of_mut!((*f).bitrate).write(format.bitrate);
            if !es.is_null() {
                let v = addr_of_mut!((*es).video);
                addr_of_mut!((*v).width).write(format.width);
                addr_of_mut!((*v).height).write(format.height);
                addr_of_mut!((*v).crop).write(sys::MMAL_RECT_T {
                    x: format.crop.x,
                    y: format.crop.y,
                    width: format.crop.width,
                    height: format.crop.height,
                });
                addr_of_mut!((*v).frame_rate)
                    .write(sys::MMAL_RATIONAL_T { num: format.frame_rate.num, den: format.frame_rate.den });
            }
        }
    }

    pub(crate) fn commit(self, api: &sys::Api) -> Status {
        // SAFETY: live port.
        unsafe { (api.port_format_commit)(self.0.as_ptr()) }
    }

    /// Registers `sink` as the port's, before the port is enabled: the
    /// registry holds one strong reference until
    /// [`take_sink`](Self::take_sink). `false` (and nothing registered) if
    /// the port has one already: a sink whose disable failed, which stays.
    /// The port's `userdata` is left alone: C writes it.
    pub(crate) fn give_sink<T: PortHandler>(self, sink: &Arc<T>) -> bool {
        let mut sinks = T::registry().0.lock();
        if sinks.contains_key(&self.addr()) {
            return false;
        }
        sinks.insert(self.addr(), sink.clone());
        true
    }

    /// Reclaims the reference [`give_sink`](Self::give_sink) registered,
    /// once no callback can run any more: the port was never enabled, or
    /// was disabled successfully. Returns `None` if it holds none. The
    /// caller drops it after the registry's lock is released.
    pub(crate) fn take_sink<T: PortHandler>(self) -> Option<Arc<T>> {
        T::registry().0.lock().remove(&self.addr())
    }

    /// The sink registered for this port, if any: another strong reference.
    pub(crate) fn sink<T: PortHandler>(self) -> Option<Arc<T>> {
        T::registry().0.lock().get(&self.addr()).cloned()
    }

    pub(crate) fn enable(self, api: &sys::Api, cb: PortCallback) -> Status {
        // SAFETY: live port and a callback of libmmal's type.
        unsafe { (api.port_enable)(self.0.as_ptr(), Some(cb)) }
    }

    pub(crate) fn disable(self, api: &sys::Api) -> Status {
        // SAFETY: live port.
        unsafe { (api.port_disable)(self.0.as_ptr()) }
    }

    pub(crate) fn flush(self, api: &sys::Api) -> Status {
        // SAFETY: live port.
        unsafe { (api.port_flush)(self.0.as_ptr()) }
    }

    /// Sets a parameter; its header says its ID and size.
    pub(crate) fn parameter_set<C: ParameterStruct>(self, api: &sys::Api, param: &C) -> Status {
        debug_assert!(param.clone().header_mut().size as usize <= std::mem::size_of::<C>());
        // SAFETY: a `ParameterStruct` starts with its header, and the
        // callers set the header's size to the struct's.
        unsafe { (api.port_parameter_set)(self.0.as_ptr(), (param as *const C).cast()) }
    }

    /// Gets a parameter into `param`, whose header says its ID and size.
    pub(crate) fn parameter_get<C: ParameterStruct>(self, api: &sys::Api, param: &mut C) -> Status {
        // SAFETY: as above; the provider writes at most the header's size.
        unsafe { (api.port_parameter_get)(self.0.as_ptr(), (param as *mut C).cast()) }
    }

    pub(crate) fn pool_create(self, api: &sys::Api, headers: u32, size: u32) -> Option<RawPool> {
        // SAFETY: live port.
        NonNull::new(unsafe { (api.port_pool_create)(self.0.as_ptr(), headers, size) }).map(RawPool)
    }

    /// Hands `buffer` to the port; if the port refuses it, the crate still
    /// owns it and gets it back.
    pub(crate) fn send(self, api: &sys::Api, buffer: RawBuffer) -> Result<(), RawBuffer> {
        // SAFETY: live port; the crate owns the header and hands it over.
        let status = unsafe { (api.port_send_buffer)(self.0.as_ptr(), buffer.0.as_ptr()) };
        if status == sys::MMAL_SUCCESS {
            Ok(())
        } else {
            Err(buffer)
        }
    }
}

/// A [`Format`] from a C format (null: an empty one) whose `es`, if set,
/// points at its video part (as libmmal keeps them). Read field by field
/// through raw pointers, unaligned: an event's format is in its payload,
/// which C need not align.
///
/// # Safety
///
/// `f` is null or points at a live format whose `es` is null or points at
/// a live `MMAL_ES_SPECIFIC_FORMAT_T`, neither written by another thread
/// meanwhile.
unsafe fn format_from(f: *const sys::MMAL_ES_FORMAT_T) -> Format {
    if f.is_null() {
        return Format::video(Encoding::from_raw(0), 0, 0);
    }
    // SAFETY: as the caller promises.
    let (es, encoding, bitrate) =
        unsafe { (field!(unaligned f, es), field!(unaligned f, encoding), field!(unaligned f, bitrate)) };
    // SAFETY: as the caller promises.
    let video = if es.is_null() { sys::MMAL_VIDEO_FORMAT_T::default() } else { unsafe { field!(unaligned es, video) } };
    Format {
        encoding: Encoding::from_raw(encoding),
        width: video.width,
        height: video.height,
        crop: Rect { x: video.crop.x, y: video.crop.y, width: video.crop.width, height: video.crop.height },
        frame_rate: Rational::new(video.frame_rate.num, video.frame_rate.den),
        bitrate,
    }
}

pub(crate) fn connection_create(
    api: &sys::Api,
    out: RawPort,
    input: RawPort,
    flags: u32,
) -> Result<RawConnection, Status> {
    let mut c = std::ptr::null_mut();
    // SAFETY: live ports and a valid out-pointer.
    let status = unsafe { (api.connection_create)(&mut c, out.0.as_ptr(), input.0.as_ptr(), flags) };
    match NonNull::new(c) {
        Some(c) if status == sys::MMAL_SUCCESS => Ok(RawConnection(c)),
        Some(_) => {
            // libmmal hands back an object with EISCONN; destroying it would
            // disconnect the port's existing tunnel, so it is left alone.
            log::error!("mmal_connection_create failed with status {status} but made a connection; it is leaked");
            Err(status)
        }
        None => Err(if status == sys::MMAL_SUCCESS { sys::MMAL_ENOMEM } else { status }),
    }
}

impl RawConnection {
    pub(crate) fn enable(self, api: &sys::Api) -> Status {
        // SAFETY: a live connection.
        unsafe { (api.connection_enable)(self.0.as_ptr()) }
    }

    pub(crate) fn disable(self, api: &sys::Api) -> Status {
        // SAFETY: a live connection.
        unsafe { (api.connection_disable)(self.0.as_ptr()) }
    }

    pub(crate) fn destroy(self, api: &sys::Api) -> Status {
        // SAFETY: a live connection, destroyed once.
        unsafe { (api.connection_destroy)(self.0.as_ptr()) }
    }

    /// `mmal_connection_event_format_changed`: applies a FORMAT_CHANGED
    /// event from the connection's output. The caller still owns `event`
    /// afterwards (libmmal takes its own reference to forward it).
    ///
    /// `&mut`: libmmal reads the event through
    /// `mmal_event_format_changed_get`, which writes the event's pointers in
    /// its payload, so no other reference to the header or its payload may
    /// be live meanwhile (see `RawBuffer`'s `Sync`).
    pub(crate) fn event_format_changed(self, api: &sys::Api, event: &mut RawBuffer) -> Status {
        // SAFETY: a live connection and an event header the crate owns,
        // borrowed exclusively while C writes its payload.
        unsafe { (api.connection_event_format_changed)(self.0.as_ptr(), event.0.as_ptr()) }
    }

    /// Registers `relay` as the connection's, and sets the callback that
    /// pumps buffers through it, before the connection is enabled: the
    /// registry holds one strong reference until
    /// [`take_relay`](Self::take_relay). The connection's `user_data` is
    /// left alone: the callback looks the relay up by the connection.
    pub(crate) fn give_relay<T: ConnectionHandler>(self, relay: &Arc<T>) {
        let previous = T::registry().0.lock().insert(self.addr(), relay.clone());
        // A new connection: no relay can be registered at its address (an
        // entry is removed before its connection is destroyed).
        debug_assert!(previous.is_none(), "a relay registered for a connection the crate just made");
        // SAFETY: a live connection not yet enabled: no callback reads the
        // field yet, and libmmal never writes it.
        unsafe { addr_of_mut!((*self.0.as_ptr()).callback).write(Some(relay_callback::<T>)) };
    }

    /// Reclaims the reference [`give_relay`](Self::give_relay) registered,
    /// once no callback can come: the connection is disabled. The caller
    /// drops it after the registry's lock is released.
    pub(crate) fn take_relay<T: ConnectionHandler>(self) -> Option<Arc<T>> {
        // SAFETY: a live, disabled connection: no callback reads the field.
        unsafe { addr_of_mut!((*self.0.as_ptr()).callback).write(None) };
        T::registry().0.lock().remove(&self.addr())
    }

    /// The connection's address, to find its relay.
    fn addr(self) -> usize {
        self.0.as_ptr() as usize
    }

    /// The next buffer the output returned, waiting in the connection's
    /// queue (connections through the client).
    pub(crate) fn queue_get(self, api: &sys::Api) -> Option<RawBuffer> {
        // SAFETY: a live connection through the client, whose queue lives
        // as long as it does; libmmal sets the field at create only.
        let queue = unsafe { field!(self.0.as_ptr(), queue) };
        if queue.is_null() {
            return None;
        }
        // SAFETY: as above.
        RawBuffer::from_raw(unsafe { (api.queue_get)(queue) })
    }

    /// An empty buffer from the connection's pool.
    pub(crate) fn pool_get(self, api: &sys::Api) -> Option<RawBuffer> {
        // SAFETY: a live connection; its pool, once made by enable, lives
        // until it is enabled again or destroyed, neither of which can
        // happen while its callback runs (the crate enables and destroys it
        // holding the `ops` mutex that pumping outside MMAL's threads holds
        // too), and the field is written only by those.
        let pool = NonNull::new(unsafe { field!(self.0.as_ptr(), pool) })?;
        RawPool(pool).get(api)
    }

    pub(crate) fn is_enabled(self) -> bool {
        // SAFETY: a live connection; the field is read atomically because
        // the provider writes it.
        unsafe { load_u32(addr_of_mut!((*self.0.as_ptr()).is_enabled)) != 0 }
    }
}

/// A C string for a component name.
pub(crate) fn c_name(name: &str) -> Option<CString> {
    CString::new(name).ok()
}

/// The time on `CLOCK_MONOTONIC` (the clock `std::time::Instant` reads on
/// Linux, which it does not expose as a value).
pub(crate) fn monotonic_now() -> std::time::Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC exists on
    // every Linux, and the call writes nothing else.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
