//! Every call into the function table and every access to an MMAL struct.
//!
//! The handle types here wrap pointers that the provider returned. The
//! crate keeps them valid by construction: ports and pools are used only
//! while an `Arc` keeps their component alive, buffer headers only while
//! the crate owns them (from a callback or a pool queue until they are
//! released or sent), connections until destroyed.
#![allow(unsafe_code)]

use std::cell::Cell;
use std::ffi::{CStr, CString};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use mmal_sys as sys;
use sys::param::ParameterStruct;

use crate::connection::Relay;
use crate::format::{Encoding, Format, Rational, Rect};
use crate::stream::Sink;

type Status = u32;

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
// counts), except `is_enabled`, which it reads atomically.
unsafe impl Send for RawComponent {}
// SAFETY: every method is one of the calls or reads above, none of which
// needs exclusive access.
unsafe impl Sync for RawComponent {}
// SAFETY: libmmal's port functions take the port's lock. The format and
// buffer fields, which the crate writes and the provider's commit
// recomputes, are written and read only under the component's `fields`
// mutex (commits happen inside it); `userdata` is written only while the
// port is disabled, under the configuration mutex, and read by callbacks
// only while it is enabled; `is_enabled`, which the provider writes, is read
// atomically; the name, type and index never change.
unsafe impl Send for RawPort {}
// SAFETY: as above: every method either calls a locking libmmal function,
// reads an immutable or atomic field, or is called under the mutex that
// guards what it touches.
unsafe impl Sync for RawPort {}
// SAFETY: a pool's queue has its own lock (`mmal_queue_get` is thread-safe),
// `headers_num` never changes, and the pool is destroyed only by its one
// owner (`Sink`'s drop) when nothing else refers to it.
unsafe impl Send for RawPool {}
// SAFETY: as above: `get` and `size` need no exclusive access.
unsafe impl Sync for RawPool {}
// SAFETY: a header the crate owns moves between threads with its ownership;
// libmmal lets any thread release or send a header.
unsafe impl Send for RawBuffer {}
// SAFETY: through `&RawBuffer` the crate reads the header and its payload
// (`data`, `format_changed`). While the crate owns a header nobody writes
// either: the provider filled them before handing the header over and
// touches them again only after it is released or sent, which takes the
// `RawBuffer` by value.
unsafe impl Sync for RawBuffer {}
// SAFETY: libmmal's connection functions may be called from any thread; a
// connection is enabled, disabled and destroyed only through its one owner
// (`Connection`), and `is_enabled` is read atomically.
unsafe impl Send for RawConnection {}
// SAFETY: as above.
unsafe impl Sync for RawConnection {}

/// The callback type the crate hands to `port_enable`.
pub(crate) type PortCallback = unsafe extern "C" fn(*mut sys::MMAL_PORT_T, *mut sys::MMAL_BUFFER_HEADER_T);

thread_local! {
    /// The component whose callback this thread is running, if any.
    static IN_CALLBACK: Cell<usize> = const { Cell::new(0) };
}

/// Whether the current thread is inside a callback of `component`.
pub(crate) fn in_callback_of(component: RawComponent) -> bool {
    IN_CALLBACK.with(|c| c.get() == component.0.as_ptr() as usize)
}

/// Marks this thread as running a callback of a component until dropped,
/// when the previous mark comes back: also when the callback panics.
struct CallbackMark {
    previous: usize,
}

impl CallbackMark {
    fn new(component: usize) -> CallbackMark {
        CallbackMark { previous: IN_CALLBACK.with(|c| c.replace(component)) }
    }
}

impl Drop for CallbackMark {
    fn drop(&mut self) {
        IN_CALLBACK.with(|c| c.set(self.previous));
    }
}

/// Runs `f` marked as a callback of `port`'s component.
pub(crate) fn as_callback_of<R>(port: RawPort, f: impl FnOnce() -> R) -> R {
    // SAFETY: the port is live (its callback is running).
    let component = unsafe { (*port.0.as_ptr()).component } as usize;
    let _mark = CallbackMark::new(component);
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

impl RawComponent {
    fn get(&self) -> &sys::MMAL_COMPONENT_T {
        // SAFETY: live until `release`, which the owner calls last.
        unsafe { self.0.as_ref() }
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
        unsafe { AtomicU32::from_ptr(std::ptr::addr_of_mut!((*self.0.as_ptr()).is_enabled)) }.load(Ordering::Acquire)
            != 0
    }

    pub(crate) fn id(self) -> u32 {
        self.get().id
    }

    pub(crate) fn control(self) -> Option<RawPort> {
        NonNull::new(self.get().control).map(RawPort)
    }

    pub(crate) fn input_count(self) -> usize {
        self.get().input_num as usize
    }

    pub(crate) fn output_count(self) -> usize {
        self.get().output_num as usize
    }

    pub(crate) fn input(self, i: usize) -> Option<RawPort> {
        let c = self.get();
        if i >= c.input_num as usize || c.input.is_null() {
            return None;
        }
        // SAFETY: `input` has `input_num` entries.
        NonNull::new(unsafe { *c.input.add(i) }).map(RawPort)
    }

    pub(crate) fn output(self, i: usize) -> Option<RawPort> {
        let c = self.get();
        if i >= c.output_num as usize || c.output.is_null() {
            return None;
        }
        // SAFETY: `output` has `output_num` entries.
        NonNull::new(unsafe { *c.output.add(i) }).map(RawPort)
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
    fn get(&self) -> &sys::MMAL_PORT_T {
        // SAFETY: ports live as long as their component, which the caller
        // keeps alive.
        unsafe { self.0.as_ref() }
    }

    pub(crate) fn name(self) -> String {
        let p = self.get();
        if p.name.is_null() {
            return String::from("?");
        }
        // SAFETY: a NUL-terminated name owned by the port.
        unsafe { CStr::from_ptr(p.name) }.to_string_lossy().into_owned()
    }

    /// The port's address, to tell ports apart.
    pub(crate) fn addr(self) -> usize {
        self.0.as_ptr() as usize
    }

    pub(crate) fn port_type(self) -> u32 {
        self.get().type_
    }

    pub(crate) fn index(self) -> usize {
        usize::from(self.get().index)
    }

    pub(crate) fn is_enabled(self) -> bool {
        // SAFETY: live port; written by the provider from other threads, so
        // read atomically.
        unsafe { AtomicU32::from_ptr(std::ptr::addr_of_mut!((*self.0.as_ptr()).is_enabled)) }.load(Ordering::Acquire)
            != 0
    }

    /// `MMAL_PORT_CAPABILITY_*` bits.
    pub(crate) fn capabilities(self) -> u32 {
        self.get().capabilities
    }

    pub(crate) fn buffers(self) -> PortBuffers {
        let p = self.get();
        PortBuffers {
            num_min: p.buffer_num_min,
            size_min: p.buffer_size_min,
            alignment_min: p.buffer_alignment_min,
            num_recommended: p.buffer_num_recommended,
            size_recommended: p.buffer_size_recommended,
            num: p.buffer_num,
            size: p.buffer_size,
        }
    }

    pub(crate) fn set_buffers(self, num: u32, size: u32) {
        // SAFETY: live port; the client owns these two fields while the
        // port is disabled, and writes them under the `fields` mutex.
        unsafe {
            (*self.0.as_ptr()).buffer_num = num;
            (*self.0.as_ptr()).buffer_size = size;
        }
    }

    pub(crate) fn format(self) -> Format {
        // SAFETY: `format` points at the port's own format.
        format_from(unsafe { &*self.get().format })
    }

    /// Edits the port's format in place (never replacing the pointer).
    pub(crate) fn write_format(self, format: &Format) {
        // SAFETY: as in `format`; the port is disabled and the crate holds
        // the component's configuration and `fields` mutexes.
        unsafe {
            let f = &mut *(*self.0.as_ptr()).format;
            f.type_ = sys::MMAL_ES_TYPE_VIDEO;
            f.encoding = format.encoding.to_raw();
            f.bitrate = format.bitrate;
            if !f.es.is_null() {
                let v = &mut (*f.es).video;
                v.width = format.width;
                v.height = format.height;
                v.crop = sys::MMAL_RECT_T {
                    x: format.crop.x,
                    y: format.crop.y,
                    width: format.crop.width,
                    height: format.crop.height,
                };
                v.frame_rate = sys::MMAL_RATIONAL_T { num: format.frame_rate.num, den: format.frame_rate.den };
            }
        }
    }

    pub(crate) fn commit(self, api: &sys::Api) -> Status {
        // SAFETY: live port.
        unsafe { (api.port_format_commit)(self.0.as_ptr()) }
    }

    /// Hands the port one strong reference to `sink`, as its `userdata`,
    /// before it is enabled. [`take_sink`](Self::take_sink) reclaims it.
    pub(crate) fn give_sink(self, sink: &Arc<Sink>) {
        let data = Arc::into_raw(sink.clone());
        // SAFETY: live, disabled port (the caller holds the configuration
        // mutex); the provider never reads `userdata`.
        unsafe { (*self.0.as_ptr()).userdata = data.cast_mut().cast() };
    }

    /// Reclaims the reference [`give_sink`](Self::give_sink) handed over,
    /// once no callback can run any more: the port was never enabled, or
    /// was disabled successfully. Returns `None` if it holds none.
    pub(crate) fn take_sink(self) -> Option<Arc<Sink>> {
        // SAFETY: live port; only `give_sink` and this write `userdata` for
        // ports the crate enables, under the configuration mutex.
        let data = unsafe { std::mem::replace(&mut (*self.0.as_ptr()).userdata, std::ptr::null_mut()) };
        // SAFETY: a non-null `userdata` here came from `Arc::into_raw` in
        // `give_sink` and has not been reclaimed (it was just cleared).
        NonNull::new(data).map(|d| unsafe { Arc::from_raw(d.as_ptr().cast::<Sink>().cast_const()) })
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
        // SAFETY: a live pool's queue.
        let queue = unsafe { (*self.0.as_ptr()).queue };
        // SAFETY: as above.
        NonNull::new(unsafe { (api.queue_get)(queue) }).map(RawBuffer)
    }

    pub(crate) fn size(self) -> usize {
        // SAFETY: a live pool.
        unsafe { (*self.0.as_ptr()).headers_num as usize }
    }

    /// Whether every header is back in the pool (none is in use).
    pub(crate) fn is_full(self, api: &sys::Api) -> bool {
        // SAFETY: a live pool's queue.
        let queue = unsafe { (*self.0.as_ptr()).queue };
        // SAFETY: as above.
        (unsafe { (api.queue_length)(queue) }) as usize == self.size()
    }
}

impl RawBuffer {
    pub(crate) fn from_raw(raw: *mut sys::MMAL_BUFFER_HEADER_T) -> Option<RawBuffer> {
        NonNull::new(raw).map(RawBuffer)
    }

    fn get(&self) -> &sys::MMAL_BUFFER_HEADER_T {
        // SAFETY: the crate owns the header until it releases or sends it.
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
    pub(crate) fn format_changed(&self, api: &sys::Api) -> Option<([u32; 4], Format, Encoding)> {
        // SAFETY: the crate owns the header.
        let ev = unsafe { (api.event_format_changed_get)(self.0.as_ptr()) };
        if ev.is_null() {
            return None;
        }
        // SAFETY: non-null: points into the event's payload, which holds
        // the struct and the format it points at.
        let ev = unsafe { &*ev };
        if ev.format.is_null() {
            return None;
        }
        // SAFETY: as above.
        let f = unsafe { &*ev.format };
        let format = format_from(f);
        let req = [ev.buffer_num_min, ev.buffer_size_min, ev.buffer_num_recommended, ev.buffer_size_recommended];
        Some((req, format, Encoding::from_raw(f.encoding_variant)))
    }
}

/// A timestamp, unless it is `MMAL_TIME_UNKNOWN`.
fn known_time(t: i64) -> Option<i64> {
    Some(t).filter(|&t| t != sys::MMAL_TIME_UNKNOWN)
}

/// A [`Format`] from a C format whose `es`, if set, points at its video
/// part (as libmmal keeps them).
fn format_from(f: &sys::MMAL_ES_FORMAT_T) -> Format {
    let video = if f.es.is_null() {
        sys::MMAL_VIDEO_FORMAT_T::default()
    } else {
        // SAFETY: a non-null `es` points at the format's own video part.
        unsafe { (*f.es).video }
    };
    Format {
        encoding: Encoding::from_raw(f.encoding),
        width: video.width,
        height: video.height,
        crop: Rect { x: video.crop.x, y: video.crop.y, width: video.crop.width, height: video.crop.height },
        frame_rate: Rational::new(video.frame_rate.num, video.frame_rate.den),
        bitrate: f.bitrate,
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
    pub(crate) fn event_format_changed(self, api: &sys::Api, event: &RawBuffer) -> Status {
        // SAFETY: a live connection and an event header the crate owns.
        unsafe { (api.connection_event_format_changed)(self.0.as_ptr(), event.0.as_ptr()) }
    }

    /// Hands the connection one strong reference to `relay`, as its
    /// `user_data`, with the callback that pumps buffers through it, before
    /// it is enabled. [`take_relay`](Self::take_relay) reclaims it.
    pub(crate) fn give_relay(self, relay: &Arc<Relay>) {
        let data = Arc::into_raw(relay.clone());
        // SAFETY: a live connection not yet enabled: no callback reads these
        // fields yet.
        unsafe {
            (*self.0.as_ptr()).user_data = data.cast_mut().cast();
            (*self.0.as_ptr()).callback = Some(relay_callback);
        }
    }

    /// Reclaims the reference [`give_relay`](Self::give_relay) handed over,
    /// once no callback can come: the connection is disabled.
    pub(crate) fn take_relay(self) -> Option<Arc<Relay>> {
        // SAFETY: a live, disabled connection; only `give_relay` and this
        // write `user_data` and `callback`.
        let data = unsafe {
            (*self.0.as_ptr()).callback = None;
            std::mem::replace(&mut (*self.0.as_ptr()).user_data, std::ptr::null_mut())
        };
        // SAFETY: a non-null `user_data` came from `Arc::into_raw` in
        // `give_relay` and was not reclaimed (it was just cleared).
        NonNull::new(data).map(|d| unsafe { Arc::from_raw(d.as_ptr().cast::<Relay>().cast_const()) })
    }

    /// The next buffer the output returned, waiting in the connection's
    /// queue (connections through the client).
    pub(crate) fn queue_get(self, api: &sys::Api) -> Option<RawBuffer> {
        // SAFETY: a live connection through the client, whose queue lives
        // as long as it does.
        let queue = unsafe { (*self.0.as_ptr()).queue };
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
        // happen while its callback runs.
        let pool = NonNull::new(unsafe { (*self.0.as_ptr()).pool })?;
        RawPool(pool).get(api)
    }

    pub(crate) fn is_enabled(self) -> bool {
        // SAFETY: a live connection; the field is read atomically because
        // the provider writes it.
        unsafe { AtomicU32::from_ptr(std::ptr::addr_of_mut!((*self.0.as_ptr()).is_enabled)) }.load(Ordering::Acquire)
            != 0
    }
}

/// A C string for a component name.
pub(crate) fn c_name(name: &str) -> Option<CString> {
    CString::new(name).ok()
}

/// The callback given to every port the crate enables: `userdata` holds a
/// strong reference to the port's [`Sink`], handed over before the port was
/// enabled and reclaimed only after it is disabled (see [`Sink`]).
pub(crate) unsafe extern "C" fn port_callback(port: *mut sys::MMAL_PORT_T, buffer: *mut sys::MMAL_BUFFER_HEADER_T) {
    let (Some(port), Some(buffer)) = (NonNull::new(port), RawBuffer::from_raw(buffer)) else { return };
    // SAFETY: the provider calls back with a live port.
    let userdata = unsafe { (*port.as_ptr()).userdata };
    if userdata.is_null() {
        // Not one of the crate's ports any more: give the buffer back.
        log::error!("a buffer arrived on {} after its stream or callback was released", RawPort(port).name());
        if let Some(backend) = crate::backend::chosen() {
            buffer.release(&backend.api);
        }
        return;
    }
    // SAFETY: a non-null `userdata` is the reference `give_sink` handed
    // over (from `Arc::into_raw`); it keeps the sink alive until
    // `take_sink`, which runs only once no callback can come. Borrowed, not
    // taken: `ManuallyDrop` leaves its count alone.
    let sink = std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(userdata.cast::<Sink>().cast_const()) });
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        as_callback_of(RawPort(port), || sink.on_buffer(buffer));
    }));
    if result.is_err() {
        // The buffer is lost to its pool; the stream reports the panic.
        *crate::lock(&sink.panic) = Some(String::from("panic while handling a buffer"));
    }
}

/// The callback of a connection through the client: `user_data` holds a
/// strong reference to its [`Relay`], handed over before the connection was
/// enabled and reclaimed only once it is disabled.
unsafe extern "C" fn relay_callback(connection: *mut sys::MMAL_CONNECTION_T) {
    let Some(connection) = NonNull::new(connection) else { return };
    // SAFETY: the provider calls back with a live connection.
    let data = unsafe { (*connection.as_ptr()).user_data };
    if data.is_null() {
        return;
    }
    // SAFETY: a non-null `user_data` is the reference `give_relay` handed
    // over (from `Arc::into_raw`), alive until `take_relay`, which runs only
    // once no callback can come. Borrowed: `ManuallyDrop` leaves its count
    // alone.
    let relay = std::mem::ManuallyDrop::new(unsafe { Arc::from_raw(data.cast::<Relay>().cast_const()) });
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        as_callback_of(relay.output_port(), || relay.pump(RawConnection(connection)));
    }));
    if result.is_err() {
        relay.note_panic(String::from("panic while passing a buffer"));
    }
}

#[cfg(all(test, feature = "emulator"))]
mod tests {
    use super::*;

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
    fn a_buffer_for_a_port_without_userdata_goes_back_to_its_pool() {
        std::env::set_var("VIDEOCORE", "emulated");
        let backend = crate::backend::backend().unwrap();
        let api = &backend.api;
        let camera = component_create(api, c"vc.ril.camera").unwrap();
        let port = camera.output(1).unwrap();
        port.set_buffers(1, port.buffers().size_min);
        let pool = port.pool_create(api, 1, port.buffers().size_min).unwrap();
        // SAFETY: a live pool's queue.
        let queue = unsafe { (*pool.0.as_ptr()).queue };
        // Enabled with the crate's callback but no sink, as a port whose
        // userdata someone else reset.
        assert_eq!(port.enable(api, port_callback), sys::MMAL_SUCCESS);
        let b = pool.get(api).unwrap();
        assert!(port.send(api, b).is_ok());
        assert_eq!(camera.enable(api), sys::MMAL_SUCCESS);
        let mut capture = sys::MMAL_PARAMETER_BOOLEAN_T::with_id(sys::MMAL_PARAMETER_CAPTURE);
        capture.enable = 1;
        assert_eq!(port.parameter_set(api, &capture), sys::MMAL_SUCCESS);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        // SAFETY: as above.
        while unsafe { (api.queue_length)(queue) } == 0 {
            assert!(std::time::Instant::now() < deadline, "the buffer did not come back");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(port.disable(api), sys::MMAL_SUCCESS);
        pool.destroy(api, port);
        assert_eq!(camera.release(api), sys::MMAL_SUCCESS);
    }
}
