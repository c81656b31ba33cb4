//! Components: `MMAL_COMPONENT_T` with its ports, and [`ComponentPtr`].

use std::ffi::CString;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use mmal_sys as sys;

use crate::core::Shared;

use super::live::{list, pin, unlist, Kind, Live, Owner};
use super::ports::{PortBox, PortPtr};
use super::COMPONENTS;

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
    /// Pins on its memory (see `live.rs`).
    pub(super) pins: AtomicUsize,
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
        list(&entries, Owner::Component(component));
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

    pub(crate) fn shared(self) -> Arc<Shared> {
        // SAFETY: live (see above); `shared` is fixed at creation.
        unsafe { (*ptr::addr_of!((*self.0.as_ptr()).shared)).clone() }
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
