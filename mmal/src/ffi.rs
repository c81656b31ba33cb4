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
//! them). The state types live above this module; the callbacks here are
//! generic over them.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::ptr::{addr_of, addr_of_mut, NonNull};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

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

/// The callback type the crate hands to `port_enable`.
pub(crate) type PortCallback = unsafe extern "C" fn(*mut sys::MMAL_PORT_T, *mut sys::MMAL_BUFFER_HEADER_T);

/// The state of every port (or connection) the crate enabled, by the
/// port's (or connection's) address: what [`port_callback`] hands each
/// buffer to, what [`relay_callback`] pumps. An entry holds a strong
/// reference to its state, and through it to the port's component (a
/// connection's: both components), so the port cannot be freed (and its
/// address reused) while the entry exists. A callback clones its entry's
/// reference out under the lock and drops it with [`let_go`].
///
/// One static per state type, declared beside the type (the stream's sinks,
/// the connections' relays) and handed out by its trait's `registry`.
pub(crate) struct Registry<T>(Mutex<BTreeMap<usize, Arc<T>>>);

impl<T> Registry<T> {
    pub(crate) const fn new() -> Registry<T> {
        Registry(Mutex::new(BTreeMap::new()))
    }
}

/// What a port's callback hands its buffers to (the stream's `Sink`).
pub(crate) trait PortHandler: Send + Sync + Sized + 'static {
    /// The registry of this type's states, by port.
    fn registry() -> &'static Registry<Self>;
    /// Takes a buffer the port returned, inside the component's callback
    /// mark.
    fn on_buffer(self: &Arc<Self>, buffer: RawBuffer);
    /// Records that `on_buffer` panicked (the buffer is lost to its pool).
    fn note_panic(&self, message: String);
}

/// What a connection's callback pumps (the connection's `Relay`).
pub(crate) trait ConnectionHandler: Send + Sync + Sized + 'static {
    /// The registry of this type's states, by connection.
    fn registry() -> &'static Registry<Self>;
    /// The connection's output and input ports, whose components' callback
    /// marks the pump runs inside.
    fn ports(&self) -> (RawPort, RawPort);
    /// Moves what is waiting in the connection.
    fn pump(self: &Arc<Self>, connection: RawConnection);
    /// Records that `pump` panicked.
    fn note_panic(&self, message: String);
}

thread_local! {
    /// The components whose callbacks this thread is running, innermost
    /// last: as many as nest (a connection's closure is inside two, and a
    /// callback that runs inside another, a provider calling back
    /// synchronously, adds its own). None is ever dropped to make room: a
    /// lost mark would turn `WouldDeadlock` into a deadlock.
    static IN_CALLBACK: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Whether the current thread is inside a callback of `component`.
pub(crate) fn in_callback_of(component: RawComponent) -> bool {
    let component = component.0.as_ptr() as usize;
    IN_CALLBACK.with(|c| c.borrow().contains(&component))
}

/// Marks this thread as running a callback of one or two more components
/// (those it is already inside stay marked) until dropped, when the
/// previous marks come back: also when the callback panics. Marks nest
/// (each is dropped before the one outside it), so dropping one takes the
/// list back to the length it had.
struct CallbackMark {
    previous: usize,
}

impl CallbackMark {
    fn new(components: [usize; 2]) -> CallbackMark {
        IN_CALLBACK.with(|c| {
            let mut marks = c.borrow_mut();
            let previous = marks.len();
            for component in components {
                if component != 0 && !marks.contains(&component) {
                    marks.push(component);
                }
            }
            CallbackMark { previous }
        })
    }
}

impl Drop for CallbackMark {
    fn drop(&mut self) {
        IN_CALLBACK.with(|c| c.borrow_mut().truncate(self.previous));
    }
}

/// Runs `f` marked as a callback of `port`'s component.
pub(crate) fn as_callback_of<R>(port: RawPort, f: impl FnOnce() -> R) -> R {
    let _mark = CallbackMark::new([port.component_addr(), 0]);
    f()
}

/// Runs `f` marked as a callback of both ports' components: a connection's
/// closure, which runs inside the output's callback while the connection
/// holds the input too, so that configuring either from it is
/// `WouldDeadlock` (a thread dropping the connection holds both
/// configuration mutexes while it waits for the closure).
pub(crate) fn as_callback_of_both<R>(output: RawPort, input: RawPort, f: impl FnOnce() -> R) -> R {
    let _mark = CallbackMark::new([output.component_addr(), input.component_addr()]);
    f()
}

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
    fn ptr(self) -> *mut sys::MMAL_PORT_T {
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
    fn sink<T: PortHandler>(self) -> Option<Arc<T>> {
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

impl RawPool {
    pub(crate) fn destroy(self, api: &sys::Api, port: RawPort) {
        // SAFETY: the pool was made on `port`, whose component is alive, and
        // no header of it is in use any more.
        unsafe { (api.port_pool_destroy)(port.0.as_ptr(), self.0.as_ptr()) }
    }

    /// A free header, if any.
    pub(crate) fn get(self, api: &sys::Api) -> Option<RawBuffer> {
        // SAFETY: a live pool (see `RawPool`'s `Send`); `queue` never
        // changes.
        let queue = unsafe { field!(self.0.as_ptr(), queue) };
        // SAFETY: a live pool's queue.
        NonNull::new(unsafe { (api.queue_get)(queue) }).map(RawBuffer)
    }

    pub(crate) fn size(self) -> usize {
        // SAFETY: a live pool; `headers_num` never changes.
        unsafe { field!(self.0.as_ptr(), headers_num) as usize }
    }

    /// Whether every header is back in the pool (none is in use).
    pub(crate) fn is_full(self, api: &sys::Api) -> bool {
        // SAFETY: as in `get`.
        let queue = unsafe { field!(self.0.as_ptr(), queue) };
        // SAFETY: a live pool's queue.
        (unsafe { (api.queue_length)(queue) }) as usize == self.size()
    }
}

impl RawBuffer {
    pub(crate) fn from_raw(raw: *mut sys::MMAL_BUFFER_HEADER_T) -> Option<RawBuffer> {
        NonNull::new(raw).map(RawBuffer)
    }

    fn get(&self) -> &sys::MMAL_BUFFER_HEADER_T {
        // SAFETY: the crate owns the header until it releases or sends it,
        // and nobody else writes it meanwhile (see the `Sync` reason); the
        // calls that let C write it or its payload take `&mut RawBuffer`.
        unsafe { self.0.as_ref() }
    }

    pub(crate) fn release(self, api: &sys::Api) {
        // SAFETY: the crate gives up its reference.
        unsafe { (api.buffer_header_release)(self.0.as_ptr()) }
    }

    pub(crate) fn cmd(&self) -> u32 {
        self.get().cmd
    }

    pub(crate) fn flags(&self) -> u32 {
        self.get().flags
    }

    /// Presentation time in microseconds, if known.
    pub(crate) fn pts(&self) -> Option<i64> {
        known_time(self.get().pts)
    }

    /// Decode time in microseconds, if known.
    pub(crate) fn dts(&self) -> Option<i64> {
        known_time(self.get().dts)
    }

    /// No data and no flags: a buffer a port gave back (on a flush or a
    /// disable) rather than filled.
    pub(crate) fn is_given_back(&self) -> bool {
        self.length() == 0 && self.flags() == 0
    }

    pub(crate) fn length(&self) -> usize {
        self.get().length as usize
    }

    /// The valid bytes, writable: the crate owns the header and its payload.
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        let b = self.get();
        let (data, offset, length, alloc) = (b.data, b.offset as usize, b.length as usize, b.alloc_size as usize);
        if data.is_null() || length == 0 || offset.saturating_add(length) > alloc {
            return &mut [];
        }
        // SAFETY: as in `data`, and the `&mut self` borrow is the only way
        // to the payload while it lasts.
        unsafe { std::slice::from_raw_parts_mut(data.add(offset), length) }
    }

    /// The valid bytes: `data[offset..offset + length]`.
    pub(crate) fn data(&self) -> &[u8] {
        let b = self.get();
        if b.data.is_null() || b.length == 0 {
            return &[];
        }
        let end = (b.offset as usize).saturating_add(b.length as usize);
        if end > b.alloc_size as usize {
            return &[];
        }
        // SAFETY: the payload is `alloc_size` bytes, of which the provider
        // filled `offset..offset + length` (checked in bounds above).
        unsafe { std::slice::from_raw_parts(b.data.add(b.offset as usize), b.length as usize) }
    }

    /// The FORMAT_CHANGED payload: requirements and the new format.
    ///
    /// `&mut self`: `mmal_event_format_changed_get` writes into the event's
    /// payload (libmmal points the event's `format`, and the format's `es`,
    /// at the copies that follow the struct), so no other reference to the
    /// header or its payload may be live meanwhile.
    pub(crate) fn format_changed(&mut self, api: &sys::Api) -> Option<([u32; 4], Format, Encoding)> {
        // SAFETY: the crate owns the header, and `&mut self` is the only way
        // to it (and its payload) while the call runs.
        let ev = unsafe { (api.event_format_changed_get)(self.0.as_ptr()) };
        if ev.is_null() {
            return None;
        }
        // SAFETY: `ev` points into the event's payload, which holds the
        // struct and the format it points at (the provider checked that
        // they fit); nobody else touches the payload while the crate owns
        // the header and `&mut self` lasts. C need not align a payload's
        // structs: every read is unaligned.
        unsafe {
            let f = field!(unaligned ev, format);
            if f.is_null() {
                return None;
            }
            let format = format_from(f);
            let req = [
                field!(unaligned ev, buffer_num_min),
                field!(unaligned ev, buffer_size_min),
                field!(unaligned ev, buffer_num_recommended),
                field!(unaligned ev, buffer_size_recommended),
            ];
            Some((req, format, Encoding::from_raw(field!(unaligned f, encoding_variant))))
        }
    }
}

/// A timestamp, unless it is `MMAL_TIME_UNKNOWN`.
fn known_time(t: i64) -> Option<i64> {
    Some(t).filter(|&t| t != sys::MMAL_TIME_UNKNOWN)
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

/// The callback given to every port the crate enables: the port's sink
/// (its [`PortHandler`]) is the one registered for it (see [`RawPort::give_sink`]), registered
/// before the port was enabled and removed only after it is disabled. The
/// port's `userdata` is never read: C writes it (libmmal's connections do).
pub(crate) unsafe extern "C" fn port_callback<T: PortHandler>(
    port: *mut sys::MMAL_PORT_T,
    buffer: *mut sys::MMAL_BUFFER_HEADER_T,
) {
    let (Some(port), Some(buffer)) = (NonNull::new(port), RawBuffer::from_raw(buffer)) else { return };
    let port = RawPort(port);
    let Some(sink) = port.sink::<T>() else {
        // Not one of the crate's ports any more: give the buffer back.
        log::error!("a buffer arrived on {} after its stream or callback was released", port.name());
        if let Some(backend) = crate::backend::chosen() {
            buffer.release(&backend.api);
        }
        return;
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        as_callback_of(port, || sink.on_buffer(buffer));
    }));
    if result.is_err() {
        // The buffer is lost to its pool; the stream reports the panic.
        sink.note_panic(String::from("panic while handling a buffer"));
    }
    let_go("a stream's last reference, from its callback", sink);
}

/// Drops a callback's own reference to its sink or relay. The
/// registry keeps its reference until no callback can come, so this one is
/// normally not the last; but a provider that reports a port disabled while
/// a callback still runs (or C that disables the crate's port behind its
/// back) lets the registry's and the user's references go first. The last
/// reference must not be dropped here, on MMAL's thread and outside the
/// callback's mark: its drop destroys pools and may release the component,
/// which from the component's own thread the provider refuses (the
/// component is leaked) or waits for forever. Another thread drops it; if
/// none can be started, it is leaked (`ManuallyDrop`), never dropped here.
fn let_go<T: Send + 'static>(what: &str, reference: Arc<T>) {
    if let Some(last) = Arc::into_inner(reference) {
        let last = std::mem::ManuallyDrop::new(last);
        crate::release_later(what, move || drop(std::mem::ManuallyDrop::into_inner(last)));
    }
}

/// The callback of a connection through the client: its relay (its
/// [`ConnectionHandler`]) is the one registered for the connection (see [`RawConnection::give_relay`]),
/// registered before it was enabled and removed only once it is disabled.
unsafe extern "C" fn relay_callback<T: ConnectionHandler>(connection: *mut sys::MMAL_CONNECTION_T) {
    let Some(connection) = NonNull::new(connection) else { return };
    let connection = RawConnection(connection);
    let Some(relay) = T::registry().0.lock().get(&connection.addr()).cloned() else {
        log::error!("a connection called back after its relay was released");
        return;
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // Inside both components: the closure must not configure either
        // (a thread dropping the connection holds both while it waits).
        let (output, input) = relay.ports();
        as_callback_of_both(output, input, || relay.pump(connection));
    }));
    if result.is_err() {
        relay.note_panic(String::from("panic while passing a buffer"));
    }
    let_go("a connection's last reference, from its callback", relay);
}

#[cfg(all(test, feature = "emulator"))]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn the_callback_mark_is_restored_when_a_callback_panics() {
        let component = RawComponent(NonNull::dangling());
        let mut port = sys::MMAL_PORT_T { component: component.0.as_ptr(), ..Default::default() };
        let port = RawPort(NonNull::from(&mut port));
        let result = std::panic::catch_unwind(|| {
            as_callback_of(port, || {
                assert!(in_callback_of(component));
                panic!("a callback fails");
            })
        });
        assert!(result.is_err());
        assert!(!in_callback_of(component), "the mark outlived the callback");
    }

    #[test]
    fn a_connection_closure_is_inside_both_components() {
        // Two addresses, never dereferenced.
        let component = |addr: usize| RawComponent(NonNull::new(addr as *mut sys::MMAL_COMPONENT_T).unwrap());
        let (a, b) = (component(0x1000), component(0x2000));
        let mut out = sys::MMAL_PORT_T { component: a.0.as_ptr(), ..Default::default() };
        let mut input = sys::MMAL_PORT_T { component: b.0.as_ptr(), ..Default::default() };
        let (out, input) = (RawPort(NonNull::from(&mut out)), RawPort(NonNull::from(&mut input)));
        as_callback_of_both(out, input, || {
            assert!(in_callback_of(a) && in_callback_of(b));
            // A callback inside it keeps both marks.
            as_callback_of(out, || assert!(in_callback_of(a) && in_callback_of(b)));
            assert!(in_callback_of(a) && in_callback_of(b));
        });
        assert!(!in_callback_of(a) && !in_callback_of(b));
        // Nested callbacks of other components add their marks, and take
        // them away when they return.
        as_callback_of(out, || {
            as_callback_of(input, || assert!(in_callback_of(a) && in_callback_of(b)));
            assert!(in_callback_of(a) && !in_callback_of(b));
        });
        assert!(!in_callback_of(a));
    }

    /// More marks than any provider nests: none is lost. Before, the marks
    /// were four slots, and a fifth component overwrote the fourth: from
    /// then on the thread was not inside it, and configuring it was a
    /// deadlock instead of `WouldDeadlock`.
    #[test]
    fn deeply_nested_callbacks_keep_every_mark() {
        // Addresses, never dereferenced.
        let components: Vec<RawComponent> =
            (1..=9).map(|i| RawComponent(NonNull::new((i * 0x1000) as *mut sys::MMAL_COMPONENT_T).unwrap())).collect();
        let mut ports: Vec<sys::MMAL_PORT_T> =
            components.iter().map(|c| sys::MMAL_PORT_T { component: c.0.as_ptr(), ..Default::default() }).collect();
        let ports: Vec<RawPort> = ports.iter_mut().map(|p| RawPort(NonNull::from(p))).collect();
        fn nest(ports: &[RawPort], components: &[RawComponent], depth: usize) {
            if depth == ports.len() {
                assert!(components.iter().all(|&c| in_callback_of(c)), "a mark was lost");
                return;
            }
            as_callback_of(ports[depth], || nest(ports, components, depth + 1));
            // Back out of the deeper ones: only the outer marks remain.
            assert!(components[..depth].iter().all(|&c| in_callback_of(c)));
            assert!(components[depth..].iter().all(|&c| !in_callback_of(c)));
        }
        nest(&ports, &components, 0);
        // Two at a time too (connections' closures).
        as_callback_of_both(ports[0], ports[1], || {
            as_callback_of_both(ports[2], ports[3], || {
                as_callback_of_both(ports[4], ports[5], || {
                    assert!(components[..6].iter().all(|&c| in_callback_of(c)));
                });
            });
        });
        assert!(components.iter().all(|&c| !in_callback_of(c)));
    }

    #[test]
    fn a_buffer_for_a_port_without_a_registered_sink_goes_back_to_its_pool() {
        std::env::set_var("VIDEOCORE", "emulated");
        let backend = crate::backend::backend().unwrap();
        let api = &backend.api;
        let camera = component_create(api, c"vc.ril.camera").unwrap();
        let port = camera.output(1).unwrap();
        port.set_buffers(1, port.buffers().size_min);
        let pool = port.pool_create(api, 1, port.buffers().size_min).unwrap();
        // SAFETY: the pool just made.
        let queue = unsafe { field!(pool.0.as_ptr(), queue) };
        // Enabled with the crate's callback but no sink, as a port whose
        // sink is gone.
        assert_eq!(port.enable(api, port_callback::<crate::stream::Sink>), sys::MMAL_SUCCESS);
        let b = pool.get(api).unwrap();
        assert!(port.send(api, b).is_ok());
        assert_eq!(camera.enable(api), sys::MMAL_SUCCESS);
        let mut capture = sys::MMAL_PARAMETER_BOOLEAN_T::with_id(sys::MMAL_PARAMETER_CAPTURE);
        capture.enable = 1;
        assert_eq!(port.parameter_set(api, &capture), sys::MMAL_SUCCESS);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        // SAFETY: a live pool's queue.
        while unsafe { (api.queue_length)(queue) } == 0 {
            assert!(std::time::Instant::now() < deadline, "the buffer did not come back");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(port.disable(api), sys::MMAL_SUCCESS);
        pool.destroy(api, port);
        assert_eq!(camera.release(api), sys::MMAL_SUCCESS);
    }

    thread_local! {
        /// Whether this thread stands for one of MMAL's threads.
        static PLAYING_MMAL: Cell<bool> = const { Cell::new(false) };
    }

    /// Each `mmal_component_release` through [`recording_release`]: whether
    /// it ran on a thread standing for MMAL's, and its status.
    static RELEASES: Mutex<Vec<(bool, Status)>> = Mutex::new(Vec::new());

    unsafe extern "C" fn recording_release(component: *mut sys::MMAL_COMPONENT_T) -> Status {
        // SAFETY: forwarded as the crate called it.
        let status = unsafe { (mmal_emu::api().component_release)(component) };
        RELEASES.lock().push((PLAYING_MMAL.with(Cell::get), status));
        status
    }

    /// A provider that reports a port disabled while one of its callbacks
    /// still runs (the software VideoCore's disable did, for a moment; C
    /// that disables the crate's port behind its back does) lets the
    /// registry's and the user's references to the stream's sink go first:
    /// the callback's own is the last. Before, the callback dropped it on
    /// MMAL's thread, outside its mark: the sink's drop released the
    /// component synchronously from MMAL's thread (which the provider
    /// refuses from a component's own worker, leaking it, or waits for
    /// forever). Now another thread drops it. This test's callback thread
    /// stands for MMAL's (the provider does not count it as a callback in
    /// flight, so the port's disable does not wait for it).
    #[test]
    fn a_callback_holding_the_last_reference_to_its_sink_lets_another_thread_release_it() {
        use crate::component::{ComponentInner, Port};
        use crate::stream::{Sink, SinkKind};
        use std::sync::mpsc;
        use std::time::{Duration, Instant};

        let backend = crate::backend::emulated_with(|api| api.component_release = recording_release);
        let api = &backend.api;
        let raw = component_create(api, c"vc.ril.camera").unwrap();
        let inner = Arc::new(ComponentInner {
            backend,
            raw,
            name: String::from("vc.ril.camera"),
            config: Mutex::new(()),
            fields: Mutex::new(()),
        });
        let video = Port { component: inner.clone(), raw: raw.output(1).unwrap() };
        video.set_format(&Format::video(Encoding::I420, 64, 48).with_frame_rate(30)).unwrap();
        let (entered_tx, entered_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let callback = move |_: &crate::Buffer<'_>| {
            let _ = entered_tx.send(());
            // Bounded: the test answers at once.
            let _ = go_rx.recv_timeout(Duration::from_secs(20));
        };
        let kind = SinkKind::Callback(Mutex::new(Box::new(callback)));
        let sink = Sink::enable(video.clone(), 1, kind).unwrap();
        // A filled buffer for the callback, from a pool of another
        // component's, which outlives this one.
        std::env::set_var("VIDEOCORE", "emulated");
        let other = crate::Component::new("vc.null_sink").unwrap();
        let other_port = other.input(0).unwrap().raw;
        let extra = other_port.pool_create(api, 1, 4096).unwrap();
        let buffer = extra.get(api).unwrap();
        // SAFETY: a header the test owns, written before it is handed over.
        unsafe { addr_of_mut!((*buffer.0.as_ptr()).flags).write(sys::MMAL_BUFFER_HEADER_FLAG_FRAME_END) };
        let port = video.raw.0.as_ptr() as usize;
        let mmal = std::thread::spawn(move || {
            // The whole header, owned (not its pointer field alone).
            let buffer = buffer;
            PLAYING_MMAL.with(|p| p.set(true));
            // SAFETY: a live port the crate enabled and a header handed
            // over, as the provider calls back.
            unsafe { port_callback::<Sink>(port as *mut sys::MMAL_PORT_T, buffer.0.as_ptr()) };
        });
        entered_rx.recv_timeout(Duration::from_secs(20)).expect("the callback ran");
        // The provider disables the port without waiting for the callback.
        assert_eq!(video.raw.disable(api), sys::MMAL_SUCCESS);
        // The user's handle goes: the port says it is disabled, so the
        // registry's reference goes too.
        sink.disable().unwrap();
        drop((sink, video, inner));
        go_tx.send(()).unwrap();
        mmal.join().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let release = loop {
            if let Some(&release) = RELEASES.lock().first() {
                break release;
            }
            assert!(Instant::now() < deadline, "the component was never released");
            std::thread::sleep(Duration::from_millis(2));
        };
        assert!(extra.is_full(api), "the callback's buffer did not come back");
        extra.destroy(api, other_port);
        drop(other);
        assert_eq!(release, (false, sys::MMAL_SUCCESS), "released on MMAL's thread (true) or refused");
    }

    /// C need not align a FORMAT_CHANGED payload (the software VideoCore
    /// writes its pointers unaligned, as a client's payload may be
    /// anywhere): the crate reads it unaligned. Before, it read the structs
    /// with aligned reads, undefined behaviour here; a debug build's
    /// precondition check aborted the test process at the first read.
    #[test]
    fn a_format_changed_event_at_an_unaligned_address_is_read_unaligned() {
        use std::mem::size_of;

        std::env::set_var("VIDEOCORE", "emulated");
        let backend = crate::backend::backend().unwrap();
        let api = &backend.api;
        let sink = crate::Component::new("vc.null_sink").unwrap();
        let port = sink.input(0).unwrap().raw;
        let pool = port.pool_create(api, 1, 4096).unwrap();
        let mut buffer = pool.get(api).unwrap();
        let h = buffer.0.as_ptr();
        let fmt_at = size_of::<sys::MMAL_EVENT_FORMAT_CHANGED_T>();
        let es_at = fmt_at + size_of::<sys::MMAL_ES_FORMAT_T>();
        let min = es_at + size_of::<sys::MMAL_ES_SPECIFIC_FORMAT_T>();
        // SAFETY: a header the test owns.
        let (data, alloc) = unsafe { (field!(h, data), field!(h, alloc_size)) };
        // One byte past an 8-byte boundary: no struct of the payload is
        // aligned there.
        let skip = (9 - data as usize % 8) % 8;
        assert!(alloc as usize >= skip + min);
        // SAFETY: the test owns the header and its `alloc` bytes of payload,
        // and writes the event inside them (checked above), unaligned.
        let base = unsafe {
            let base = data.add(skip);
            addr_of_mut!((*h).data).write(base);
            addr_of_mut!((*h).alloc_size).write(alloc - skip as u32);
            addr_of_mut!((*h).offset).write(0);
            addr_of_mut!((*h).length).write(min as u32);
            addr_of_mut!((*h).cmd).write(sys::MMAL_EVENT_FORMAT_CHANGED);
            let ev = base.cast::<sys::MMAL_EVENT_FORMAT_CHANGED_T>();
            addr_of_mut!((*ev).buffer_num_min).write_unaligned(3);
            addr_of_mut!((*ev).buffer_size_min).write_unaligned(1000);
            addr_of_mut!((*ev).buffer_num_recommended).write_unaligned(4);
            addr_of_mut!((*ev).buffer_size_recommended).write_unaligned(2000);
            let f = base.add(fmt_at).cast::<sys::MMAL_ES_FORMAT_T>();
            addr_of_mut!((*f).encoding).write_unaligned(Encoding::I420.to_raw());
            addr_of_mut!((*f).encoding_variant).write_unaligned(0);
            addr_of_mut!((*f).bitrate).write_unaligned(0);
            let v = addr_of_mut!((*base.add(es_at).cast::<sys::MMAL_ES_SPECIFIC_FORMAT_T>()).video);
            addr_of_mut!((*v).width).write_unaligned(64);
            addr_of_mut!((*v).height).write_unaligned(48);
            base
        };
        assert_ne!(base as usize % std::mem::align_of::<sys::MMAL_EVENT_FORMAT_CHANGED_T>(), 0);
        let (requirements, format, _) = buffer.format_changed(api).expect("a FORMAT_CHANGED event");
        assert_eq!(requirements, [3, 1000, 4, 2000]);
        assert_eq!((format.encoding, format.width, format.height), (Encoding::I420, 64, 48));
        // SAFETY: as above: the header goes back to its pool as it came.
        unsafe {
            addr_of_mut!((*h).data).write(data);
            addr_of_mut!((*h).alloc_size).write(alloc);
            addr_of_mut!((*h).length).write(0);
            addr_of_mut!((*h).cmd).write(0);
        }
        buffer.release(api);
        pool.destroy(api, port);
    }

    /// C may write a port's `userdata` (libmmal's connections point it at
    /// themselves): a stream's callback must not read it. Before, the
    /// callback took `userdata` for the stream's `Sink`, and this test died
    /// of a segfault at the first frame after the write.
    #[test]
    fn a_stream_ignores_userdata_that_c_writes_while_it_runs() {
        use crate::params::Capture;
        use std::time::Duration;

        std::env::set_var("VIDEOCORE", "emulated");
        let camera = crate::Component::new("vc.ril.camera").unwrap();
        let video = camera.output(1).unwrap();
        video.set_format(&Format::video(Encoding::I420, 64, 48).with_frame_rate(30)).unwrap();
        let frames = video.enable_stream(3).unwrap();
        camera.enable().unwrap();
        video.set(&Capture(true)).unwrap();
        frames.next_timeout(Duration::from_secs(10)).unwrap();
        // Not a sink: memory that cannot be read.
        let bogus = 0x40usize as *mut std::ffi::c_void;
        // SAFETY: a live port's field, written as C would (the test stands
        // for a C caller).
        let userdata = unsafe { addr_of_mut!((*video.raw.ptr()).userdata) };
        // SAFETY: as above.
        let previous = unsafe { std::ptr::replace(userdata, bogus) };
        let received = frames.received();
        for _ in 0..5 {
            frames.next_timeout(Duration::from_secs(10)).unwrap();
        }
        assert!(frames.received() >= received + 5);
        drop(frames);
        // Disabling did not touch it either.
        // SAFETY: as above.
        assert_eq!(unsafe { std::ptr::replace(userdata, previous) }, bogus);
        assert!(video.raw.sink::<crate::stream::Sink>().is_none(), "the sink was not reclaimed");
    }
}
