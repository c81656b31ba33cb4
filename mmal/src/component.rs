//! Components and ports.

use std::fmt;
use std::sync::Arc;

use mmal_sys as sys;
use parking_lot::{Mutex, MutexGuard};

use crate::backend::{backend, Backend};
use crate::error::{check, Error, Result, Status};
use crate::ffi::{self, RawComponent, RawPort};
use crate::format::Format;
use crate::params::{GetParameter, SetParameter};
use mmal_sys::param::ParameterStruct;

pub(crate) struct ComponentInner {
    pub(crate) backend: &'static Backend,
    pub(crate) raw: RawComponent,
    pub(crate) name: String,
    /// Serialises format edits and enabling across clones. Held across
    /// provider calls that wait for callbacks (disabling), so callbacks
    /// must never take it.
    pub(crate) config: Mutex<()>,
    /// Guards the port fields that the client, and the provider on commit,
    /// write (formats, buffer numbers and sizes). Held only briefly and never
    /// across a call that waits for a callback, so callbacks may read them.
    /// Taken after `config` when both are.
    pub(crate) fields: Mutex<()>,
}

impl Drop for ComponentInner {
    fn drop(&mut self) {
        // Streams, event listeners and connections hold a reference, so by
        // now every port is disabled: disable, then release (raspistill's
        // order). From one of the component's own callbacks that would wait
        // for the callback itself, so another thread does it.
        let (backend, raw, name) = (self.backend, self.raw, std::mem::take(&mut self.name));
        if ffi::in_callback_of(raw) {
            crate::release_later(&name.clone(), move || {
                release(backend, raw, &name);
            });
        } else {
            release(backend, raw, &name);
        }
    }
}

impl ComponentInner {
    /// Takes the configuration mutex for changing the component or one of
    /// its ports. Refused from one of the component's own callbacks: a thread
    /// disabling the component or a port holds the mutex while it waits for
    /// those callbacks to return.
    pub(crate) fn configure(&self, what: impl FnOnce() -> String) -> Result<MutexGuard<'_, ()>> {
        if ffi::in_callback_of(self.raw) {
            return Err(Error::WouldDeadlock(what()));
        }
        Ok(self.config.lock())
    }
}

/// Disables (if enabled) and releases a component the crate no longer uses.
/// If disabling fails, the component may still be working and calling back
/// (into pools and sinks that go with it), so it is not released: it is
/// leaked, and logged, rather than freed under a callback. Returns whether
/// it was released.
fn release(backend: &Backend, raw: RawComponent, name: &str) -> bool {
    release_with(&backend.api, raw, name)
}

fn release_with(api: &sys::Api, raw: RawComponent, name: &str) -> bool {
    if raw.is_enabled() {
        let status = raw.disable(api);
        if status != sys::MMAL_SUCCESS {
            log::error!(
                "disabling {name} on drop failed with status {status}: it is leaked (never released), as it may \
                 still call back"
            );
            return false;
        }
    }
    let status = raw.release(api);
    if status != sys::MMAL_SUCCESS {
        log::error!("releasing {name} failed with status {status}; the VideoCore may keep it");
    }
    true
}

/// An MMAL component (`vc.ril.camera`, `vc.null_sink`…).
///
/// Cloning shares the component; the last clone to go (including those
/// held by ports, streams and connections) disables and releases it. If
/// that happens inside one of the component's own callbacks, the release is
/// handed to a short-lived thread and done once the callback returns. If
/// the component refuses to be disabled, it is leaked on purpose (and the
/// failure logged) rather than freed while it may still call back.
/// Configure it while disabled, then [`enable`](Self::enable) it.
///
/// ```no_run
/// use mmal::{params::CameraInfo, Component};
/// let info = Component::new("vc.camera_info")?;
/// let cameras = info.control().get::<CameraInfo>()?;
/// println!("{:?}", cameras.cameras);
/// # Ok::<(), mmal::Error>(())
/// ```
#[derive(Clone)]
pub struct Component {
    pub(crate) inner: Arc<ComponentInner>,
}

// Send + Sync: a component is a refcounted handle to libmmal objects, which
// libmmal lets any thread use; the crate's own state is behind a mutex.

impl fmt::Debug for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Component").field("name", &self.inner.name).field("enabled", &self.is_enabled()).finish()
    }
}

fn is_camera(name: &str) -> bool {
    name == "vc.ril.camera"
}

impl Component {
    /// Creates the component `name`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownComponent`] for a name nobody supplies;
    /// [`Error::CameraNotEnabled`] when the camera is off in the firmware;
    /// [`Error::NoVideoCoreComponents`] for a `vc.` name when only libmmal's
    /// host components are installed; the provider's errors (see
    /// [`provider`](crate::provider)).
    pub fn new(name: &str) -> Result<Component> {
        let backend = backend()?;
        if name.starts_with("vc.") && !backend.vc_components {
            return Err(Error::NoVideoCoreComponents { name: name.to_owned() });
        }
        let c_name = ffi::c_name(name).ok_or_else(|| Error::UnknownComponent { name: name.to_owned() })?;
        let raw = ffi::component_create(&backend.api, &c_name).map_err(|status| match status {
            sys::MMAL_ENOSYS => Error::UnknownComponent { name: name.to_owned() },
            sys::MMAL_ENOMEM if is_camera(name) => Error::CameraNotEnabled { name: name.to_owned() },
            other => Error::Mmal {
                call: "mmal_component_create",
                object: name.to_owned(),
                status: Status::from_raw(other).unwrap_or(Status::Unknown(other)),
            },
        })?;
        Ok(Component {
            inner: Arc::new(ComponentInner {
                backend,
                raw,
                name: name.to_owned(),
                config: Mutex::new(()),
                fields: Mutex::new(()),
            }),
        })
    }

    /// The component's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The provider's ID for this component (`MMAL_COMPONENT_T::id`).
    pub fn id(&self) -> u32 {
        self.inner.raw.id()
    }

    /// Whether the component is enabled.
    pub fn is_enabled(&self) -> bool {
        self.inner.raw.is_enabled()
    }

    /// Starts the component.
    ///
    /// # Errors
    ///
    /// [`Error::CameraNotDetected`] when the camera finds no sensor (ENOSPC);
    /// [`Error::WouldDeadlock`] when called from one of the component's own
    /// callbacks; [`Error::Mmal`] otherwise.
    pub fn enable(&self) -> Result<()> {
        let _config = self.inner.configure(|| self.inner.name.clone())?;
        let status = self.inner.raw.enable(&self.inner.backend.api);
        if status == sys::MMAL_ENOSPC && is_camera(&self.inner.name) {
            return Err(Error::CameraNotDetected { name: self.inner.name.clone() });
        }
        check(status, "mmal_component_enable", || self.inner.name.clone())
    }

    /// Stops the component (ports stay enabled; frames stop).
    ///
    /// # Errors
    ///
    /// [`Error::WouldDeadlock`] when called from one of the component's own
    /// callbacks; [`Error::Mmal`] otherwise.
    pub fn disable(&self) -> Result<()> {
        let _config = self.inner.configure(|| self.inner.name.clone())?;
        check(self.inner.raw.disable(&self.inner.backend.api), "mmal_component_disable", || self.inner.name.clone())
    }

    /// The control port (parameters and events).
    pub fn control(&self) -> Port {
        let raw = self.inner.raw.control().expect("every MMAL component has a control port");
        Port { component: self.inner.clone(), raw }
    }

    /// Number of input ports.
    pub fn input_count(&self) -> usize {
        self.inner.raw.input_count()
    }

    /// Number of output ports.
    pub fn output_count(&self) -> usize {
        self.inner.raw.output_count()
    }

    /// Input port `index`.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchPort`] if there is no such port.
    pub fn input(&self, index: usize) -> Result<Port> {
        self.inner.raw.input(index).map(|raw| Port { component: self.inner.clone(), raw }).ok_or_else(|| {
            Error::NoSuchPort { component: self.inner.name.clone(), kind: "input", index, count: self.input_count() }
        })
    }

    /// Output port `index` (on the camera: 0 preview, 1 video, 2 still).
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchPort`] if there is no such port.
    pub fn output(&self, index: usize) -> Result<Port> {
        self.inner.raw.output(index).map(|raw| Port { component: self.inner.clone(), raw }).ok_or_else(|| {
            Error::NoSuchPort { component: self.inner.name.clone(), kind: "output", index, count: self.output_count() }
        })
    }
}

/// Which kind of port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PortKind {
    /// The control port.
    Control,
    /// An input.
    Input,
    /// An output.
    Output,
    /// A clock port.
    Clock,
    /// Something else.
    Unknown,
}

impl PortKind {
    pub(crate) fn from_raw(raw: u32) -> PortKind {
        match raw {
            sys::MMAL_PORT_TYPE_CONTROL => PortKind::Control,
            sys::MMAL_PORT_TYPE_INPUT => PortKind::Input,
            sys::MMAL_PORT_TYPE_OUTPUT => PortKind::Output,
            sys::MMAL_PORT_TYPE_CLOCK => PortKind::Clock,
            _ => PortKind::Unknown,
        }
    }
}

/// A port's buffer needs, after its format is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BufferRequirements {
    /// Fewest buffers the port works with.
    pub num_min: u32,
    /// Smallest buffer.
    pub size_min: u32,
    /// Payload alignment.
    pub alignment_min: u32,
    /// Buffers the port works well with.
    pub num_recommended: u32,
    /// Buffer size the port works well with.
    pub size_recommended: u32,
    /// Buffers currently asked for.
    pub num: u32,
    /// Buffer size currently asked for.
    pub size: u32,
}

/// A port of a [`Component`]. It keeps its component alive.
#[derive(Clone)]
pub struct Port {
    pub(crate) component: Arc<ComponentInner>,
    pub(crate) raw: RawPort,
}

impl fmt::Debug for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Port").field("name", &self.name()).field("enabled", &self.is_enabled()).finish()
    }
}

impl Port {
    /// The port's name (`vc.ril.camera:out:1`…).
    pub fn name(&self) -> String {
        self.raw.name()
    }

    /// Control, input or output.
    pub fn kind(&self) -> PortKind {
        PortKind::from_raw(self.raw.port_type())
    }

    /// Index among the component's ports of this kind.
    pub fn index(&self) -> usize {
        self.raw.index()
    }

    /// Whether the port is enabled.
    pub fn is_enabled(&self) -> bool {
        self.raw.is_enabled()
    }

    /// The component this port belongs to.
    pub fn component(&self) -> Component {
        Component { inner: self.component.clone() }
    }

    pub(crate) fn api(&self) -> &'static sys::Api {
        &self.component.backend.api
    }

    /// The port's current format.
    pub fn format(&self) -> Format {
        let _fields = self.component.fields.lock();
        self.raw.format()
    }

    /// Writes `format` into the port's format (in place, as libmmal
    /// requires) and commits it; the buffer requirements follow.
    ///
    /// # Errors
    ///
    /// [`Error::State`] if the port is enabled; [`Error::WouldDeadlock`]
    /// from one of the component's callbacks; [`Error::Mmal`] (usually
    /// EINVAL) if the component refuses the format, in which case the port
    /// keeps the format it had.
    pub fn set_format(&self, format: &Format) -> Result<()> {
        let _config = self.component.configure(|| self.name())?;
        if self.is_enabled() {
            return Err(Error::State(format!("{}: disable the port before changing its format", self.name())));
        }
        let _fields = self.component.fields.lock();
        let previous = self.raw.format();
        self.raw.write_format(format);
        let status = self.raw.commit(self.api());
        if status != sys::MMAL_SUCCESS {
            self.raw.write_format(&previous);
            let _ = self.raw.commit(self.api());
        }
        check(status, "mmal_port_format_commit", || format!("{} ({format})", self.name()))
    }

    /// The buffer requirements of the committed format.
    pub fn buffer_requirements(&self) -> BufferRequirements {
        let _fields = self.component.fields.lock();
        let b = self.raw.buffers();
        BufferRequirements {
            num_min: b.num_min,
            size_min: b.size_min,
            alignment_min: b.alignment_min,
            num_recommended: b.num_recommended,
            size_recommended: b.size_recommended,
            num: b.num,
            size: b.size,
        }
    }

    /// Sets how many buffers of what size the port will use (when enabled
    /// by a connection; streams choose their own).
    ///
    /// # Errors
    ///
    /// [`Error::State`] if the port is enabled; [`Error::WouldDeadlock`]
    /// from one of the component's callbacks.
    pub fn set_buffers(&self, num: u32, size: u32) -> Result<()> {
        let _config = self.component.configure(|| self.name())?;
        if self.is_enabled() {
            return Err(Error::State(format!("{}: disable the port before changing its buffers", self.name())));
        }
        let _fields = self.component.fields.lock();
        self.raw.set_buffers(num, size);
        Ok(())
    }

    /// Reads parameter `P`.
    ///
    /// # Errors
    ///
    /// [`Error::Mmal`] with ENOSYS if the port does not have it;
    /// [`Error::ShortParameter`] if the reply is too short.
    pub fn get<P: GetParameter>(&self) -> Result<P> {
        let mut c = <P::C as ParameterStruct>::with_id(P::ID);
        let status = self.raw.parameter_get(self.api(), &mut c);
        check(status, "mmal_port_parameter_get", || format!("{} ({})", self.name(), P::NAME))?;
        let size = (c.header_mut().size as usize).min(std::mem::size_of::<P::C>());
        if size < P::MIN_SIZE {
            return Err(Error::ShortParameter { name: P::NAME, got: size.saturating_sub(8), want: P::MIN_SIZE - 8 });
        }
        P::from_c(&c, size)
    }

    /// Sets parameter `P`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for a value that cannot be sent;
    /// [`Error::MixedVideoCore`] for lens shading memory from the other
    /// VideoCore; [`Error::Mmal`] if the port refuses it.
    pub fn set<P: SetParameter>(&self, value: &P) -> Result<()> {
        // The software VideoCore's C library works on emulated memory, as
        // the linked-in one does.
        let backend = &self.component.backend;
        value.check(if backend.software { crate::Provider::Emulated } else { backend.provider })?;
        let mut c = value.to_c()?;
        *c.header_mut() = sys::MMAL_PARAMETER_HEADER_T { id: P::ID, size: std::mem::size_of::<P::C>() as u32 };
        let status = self.raw.parameter_set(self.api(), &c);
        check(status, "mmal_port_parameter_set", || format!("{} ({})", self.name(), P::NAME))
    }
}

#[cfg(all(test, feature = "emulator"))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    static RELEASED: AtomicU32 = AtomicU32::new(0);

    extern "C" fn refuse_disable(_: *mut sys::MMAL_COMPONENT_T) -> sys::MMAL_STATUS_T {
        sys::MMAL_EIO
    }

    extern "C" fn count_release(_: *mut sys::MMAL_COMPONENT_T) -> sys::MMAL_STATUS_T {
        RELEASED.fetch_add(1, Ordering::SeqCst);
        sys::MMAL_SUCCESS
    }

    /// A component that refuses to be disabled is not released under its
    /// callbacks. Before, the failure was logged and the component released
    /// (freed) all the same.
    #[test]
    fn a_component_that_refuses_to_be_disabled_is_leaked_not_released() {
        let mut api = *mmal_emu::api();
        api.component_disable = refuse_disable;
        api.component_release = count_release;
        let mut enabled = sys::MMAL_COMPONENT_T { is_enabled: 1, ..Default::default() };
        let raw = ffi::RawComponent::for_test(&mut enabled);
        assert!(!release_with(&api, raw, "refusing"));
        assert_eq!(RELEASED.load(Ordering::SeqCst), 0, "released while it may still call back");
        // A disabled one is released as before.
        let mut disabled = sys::MMAL_COMPONENT_T::default();
        assert!(release_with(&api, ffi::RawComponent::for_test(&mut disabled), "idle"));
        assert_eq!(RELEASED.load(Ordering::SeqCst), 1);
    }
}
