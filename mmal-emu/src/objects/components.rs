//! Components and their ports: `MMAL_COMPONENT_T` with its ports, each
//! port's C struct beside its format, [`ComponentPtr`], and [`PortPtr`], a
//! port of a live component, read and written one field at a time.

use std::any::Any;
use std::ffi::CString;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use mmal_sys as sys;

use crate::format::VideoFormat;

use super::buffers::BufPtr;
use super::live::{list, pin, unlist, Kind, Live, Owner, Pin, Pinned};
use super::{Status, COMPONENTS};

/// What the core keeps of a component, held by its C struct: the core's
/// own type (`core::Shared`), which the core gets back with a downcast, so
/// that the objects need not know the core above them.
pub(crate) type CoreState = Arc<dyn Any + Send + Sync>;

#[cfg(feature = "vchiq")]
/// A port's format, every field but extradata (see
/// [`PortPtr::read_es_format`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct EsFormat {
    pub(crate) es_type: u32,
    pub(crate) encoding: u32,
    pub(crate) encoding_variant: u32,
    pub(crate) bitrate: u32,
    pub(crate) flags: u32,
    pub(crate) video: sys::MMAL_VIDEO_FORMAT_T,
}

#[cfg(feature = "vchiq")]
/// A port's buffer fields and capabilities (see
/// [`PortPtr::set_buffer_fields`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PortFields {
    pub(crate) num_min: u32,
    pub(crate) size_min: u32,
    pub(crate) alignment_min: u32,
    pub(crate) num_recommended: u32,
    pub(crate) size_recommended: u32,
    pub(crate) num: u32,
    pub(crate) size: u32,
    pub(crate) capabilities: u32,
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
    core: CoreState,
    /// Pins on its memory (see `live.rs`).
    pub(super) pins: AtomicUsize,
}

// SAFETY: `pins` is a field of the box, and the box is reached only
// through pins once listed.
unsafe impl Pinned for ComponentBox {
    fn pins(&self) -> &AtomicUsize {
        &self.pins
    }
}

/// A live component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ComponentPtr(NonNull<ComponentBox>);

impl ComponentPtr {
    /// Builds the component `name` with `inputs` and `outputs` ports; the
    /// the core's state for it is `core`; the caller fills in the ports'
    /// formats.
    pub(crate) fn create(name: &str, id: u32, inputs: usize, outputs: usize, core: CoreState) -> ComponentPtr {
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
            core,
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
        list(&entries, Owner::new(component, Kind::Component));
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

    /// What the core keeps of the component.
    pub(crate) fn core(self) -> CoreState {
        // SAFETY: live (see above); `core` is fixed at creation.
        unsafe { (*ptr::addr_of!((*self.0.as_ptr()).core)).clone() }
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
    /// `live.rs`); its worker must have stopped. Its ports are
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
// Ports

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
        let owner =
            Owner::new(NonNull::new(component).expect("a port's component is set at creation"), Kind::Component);
        owner.pins().fetch_add(1, Ordering::AcqRel);
        Pin(owner)
    }

    /// What the core keeps of the port's component.
    pub(crate) fn core(self) -> CoreState {
        // SAFETY: live (see `boxed`); `component` is set at creation to the
        // owning box, which outlives its ports; `core` is fixed.
        unsafe {
            let component = port_field!(self, raw.component).read().cast::<ComponentBox>();
            (*ptr::addr_of!((*component).core)).clone()
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

    #[cfg(feature = "vchiq")]
    /// The whole format as the client left it (extradata excepted), for a
    /// provider that hands it on as it is (the VideoCore over VCHIQ); or
    /// `MMAL_EFAULT` if the client replaced the format pointer (see
    /// [`read_format`](Self::read_format), which puts it back).
    pub(crate) fn read_es_format(self) -> Result<EsFormat, Status> {
        self.read_format()?;
        // SAFETY: live (see `boxed`); single fields read through their own
        // pointers; `es` is a union of plain integers, read as video.
        unsafe {
            Ok(EsFormat {
                es_type: port_field!(self, format.type_).read(),
                encoding: port_field!(self, format.encoding).read(),
                encoding_variant: port_field!(self, format.encoding_variant).read(),
                bitrate: port_field!(self, format.bitrate).read(),
                flags: port_field!(self, format.flags).read(),
                video: ptr::addr_of!((*port_field!(self, es)).video).read(),
            })
        }
    }

    #[cfg(feature = "vchiq")]
    /// Writes `f` over the port's format (extradata left as it is).
    pub(crate) fn write_es_format(self, f: &EsFormat) {
        // SAFETY: live (see `boxed`); field by field, on a call that
        // configures the port.
        unsafe {
            port_field!(self, format.type_).write(f.es_type);
            port_field!(self, format.encoding).write(f.encoding);
            port_field!(self, format.encoding_variant).write(f.encoding_variant);
            port_field!(self, format.bitrate).write(f.bitrate);
            port_field!(self, format.flags).write(f.flags);
            port_field!(self, es.video).write(f.video);
        }
    }

    #[cfg(feature = "vchiq")]
    /// Sets what `mmal_port_format_commit` reports of a port besides its
    /// format: its buffer needs and numbers, alignment and capabilities.
    pub(crate) fn set_buffer_fields(self, fields: &PortFields) {
        // SAFETY: live (see `boxed`); field by field, on a call that
        // configures the port.
        unsafe {
            port_field!(self, raw.buffer_num_min).write(fields.num_min);
            port_field!(self, raw.buffer_size_min).write(fields.size_min);
            port_field!(self, raw.buffer_alignment_min).write(fields.alignment_min);
            port_field!(self, raw.buffer_num_recommended).write(fields.num_recommended);
            port_field!(self, raw.buffer_size_recommended).write(fields.size_recommended);
            port_field!(self, raw.buffer_num).write(fields.num);
            port_field!(self, raw.buffer_size).write(fields.size);
            port_field!(self, raw.capabilities).write(fields.capabilities);
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
