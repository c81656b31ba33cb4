//! Ports: the C struct beside its format, and [`PortPtr`], a port of a live
//! component, read and written one field at a time.

use std::ffi::CString;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use mmal_sys as sys;

use crate::core::Shared;
use crate::format::VideoFormat;

use super::buffers::BufPtr;
use super::components::{Callback, ComponentBox};
use super::live::{pin, Kind, Live, Owner, Pin};
use super::Status;

/// A port and its format, side by side so that the format pointer the
/// client sees never changes.
#[repr(C)]
pub(crate) struct PortBox {
    pub(super) raw: sys::MMAL_PORT_T,
    pub(super) format: sys::MMAL_ES_FORMAT_T,
    pub(super) es: sys::MMAL_ES_SPECIFIC_FORMAT_T,
    pub(super) name: CString,
    pub(super) index_all: usize,
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

    /// One more pin on the port's component (see `live.rs`): its
    /// memory, the port's included, stays until the pin is dropped. The
    /// caller holds a pin on it already (a live port).
    pub(super) fn pin_component(self) -> Pin {
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
