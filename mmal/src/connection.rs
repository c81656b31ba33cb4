//! Connections between ports.

use std::fmt;
use std::sync::{Arc, Mutex};

use mmal_sys as sys;

use crate::component::{Port, PortKind};
use crate::error::{check, Error, Result, Status};
use crate::raw::{self, RawConnection};

/// The ports that live connections connect (their addresses).
static CONNECTED: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// `MMAL_CONNECTION_FLAG_*` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnectionFlags(u32);

impl ConnectionFlags {
    /// Buffers move between the components on the VideoCore, with no
    /// client callback.
    pub const TUNNELLING: ConnectionFlags = ConnectionFlags(sys::MMAL_CONNECTION_FLAG_TUNNELLING);
    /// The pool is made on the input port.
    pub const ALLOCATION_ON_INPUT: ConnectionFlags = ConnectionFlags(sys::MMAL_CONNECTION_FLAG_ALLOCATION_ON_INPUT);
    /// The pool is made on the output port.
    pub const ALLOCATION_ON_OUTPUT: ConnectionFlags = ConnectionFlags(sys::MMAL_CONNECTION_FLAG_ALLOCATION_ON_OUTPUT);
    /// Leave the ports' buffer numbers and sizes as they are.
    pub const KEEP_BUFFER_REQUIREMENTS: ConnectionFlags =
        ConnectionFlags(sys::MMAL_CONNECTION_FLAG_KEEP_BUFFER_REQUIREMENTS);
    /// Do not copy the output's format to the input.
    pub const KEEP_PORT_FORMATS: ConnectionFlags = ConnectionFlags(sys::MMAL_CONNECTION_FLAG_KEEP_PORT_FORMATS);

    /// The raw bits.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Whether all of `other`'s bits are set.
    pub fn contains(self, other: ConnectionFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl Default for ConnectionFlags {
    /// Tunnelled, allocating on the input (as picamera connects).
    fn default() -> ConnectionFlags {
        ConnectionFlags::TUNNELLING | ConnectionFlags::ALLOCATION_ON_INPUT
    }
}

impl std::ops::BitOr for ConnectionFlags {
    type Output = ConnectionFlags;
    fn bitor(self, rhs: ConnectionFlags) -> ConnectionFlags {
        ConnectionFlags(self.0 | rhs.0)
    }
}

/// A tunnelled connection from an output port to an input port, enabled
/// while it lives. It keeps both components alive; dropping it disables
/// and destroys it (first, in raspistill's order).
pub struct Connection {
    raw: RawConnection,
    output: Port,
    input: Port,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection").field("output", &self.output.name()).field("input", &self.input.name()).finish()
    }
}

impl Connection {
    /// Connects `output` to `input` (copying the output's format across
    /// unless [`ConnectionFlags::KEEP_PORT_FORMATS`]) and enables the
    /// connection. Use `ConnectionFlags::default()` unless you know better.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] without [`ConnectionFlags::TUNNELLING`] (use a
    /// [`FrameStream`](crate::FrameStream) to read frames in Rust);
    /// [`Error::State`] for ports of the wrong kind or already enabled;
    /// [`Error::Mmal`] if either side refuses.
    pub fn new(output: &Port, input: &Port, flags: ConnectionFlags) -> Result<Connection> {
        if !flags.contains(ConnectionFlags::TUNNELLING) {
            return Err(Error::Unsupported(
                "only tunnelled connections are supported; read frames in Rust with Port::enable_stream",
            ));
        }
        if output.kind() != PortKind::Output || input.kind() != PortKind::Input {
            return Err(Error::State(format!(
                "connect an output to an input, not {} to {}",
                output.name(),
                input.name()
            )));
        }
        if output.is_enabled() || input.is_enabled() {
            return Err(Error::State(format!("{} or {} is already enabled", output.name(), input.name())));
        }
        let api = output.api();
        let name = || format!("{} -> {}", output.name(), input.name());
        let mut connected = crate::lock(&CONNECTED);
        // Refused here: libmmal answers EISCONN with a connection object
        // that cannot be destroyed without breaking the existing one.
        if let Some(port) = [output, input].into_iter().find(|p| connected.contains(&p.raw.addr())) {
            return Err(Error::State(format!("{} is already connected", port.name())));
        }
        let raw = raw::connection_create(api, output.raw, input.raw, flags.bits()).map_err(|status| Error::Mmal {
            call: "mmal_connection_create",
            object: name(),
            status: Status::from_raw(status).unwrap_or(Status::Unknown(status)),
        })?;
        connected.extend([output.raw.addr(), input.raw.addr()]);
        drop(connected);
        let connection = Connection { raw, output: output.clone(), input: input.clone() };
        connection.enable()?;
        Ok(connection)
    }

    /// Whether buffers are flowing.
    pub fn is_enabled(&self) -> bool {
        self.raw.is_enabled()
    }

    /// Stops the flow (the connection stays).
    ///
    /// # Errors
    ///
    /// [`Error::Mmal`] if a port refuses.
    pub fn disable(&self) -> Result<()> {
        check(self.raw.disable(self.output.api()), "mmal_connection_disable", || self.output.name())
    }

    /// Restarts the flow.
    ///
    /// # Errors
    ///
    /// [`Error::Mmal`] if a port refuses.
    pub fn enable(&self) -> Result<()> {
        // libmmal's connection sets both ports' buffer numbers and sizes on
        // every enable (unless KEEP_BUFFER_REQUIREMENTS).
        let (a, b) = (&self.output.component, &self.input.component);
        let (first, second) = if Arc::as_ptr(a) <= Arc::as_ptr(b) { (a, b) } else { (b, a) };
        let _first = crate::lock(&first.fields);
        let _second = (!Arc::ptr_eq(a, b)).then(|| crate::lock(&second.fields));
        check(self.raw.enable(self.output.api()), "mmal_connection_enable", || self.output.name())
    }

    /// The output port.
    pub fn output(&self) -> &Port {
        &self.output
    }

    /// The input port.
    pub fn input(&self) -> &Port {
        &self.input
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let (raw, output, input) = (self.raw, self.output.clone(), self.input.clone());
        let destroy = move || {
            let status = raw.destroy(output.api());
            if status == sys::MMAL_SUCCESS {
                crate::lock(&CONNECTED).retain(|&p| p != output.raw.addr() && p != input.raw.addr());
            } else {
                // The ports stay connected.
                log::error!("destroying the connection {} -> {}: status {status}", output.name(), input.name());
            }
        };
        // Destroying waits for the components' callbacks: from inside one,
        // another thread does it once the callback has returned.
        if raw::in_callback_of(self.output.component.raw) || raw::in_callback_of(self.input.component.raw) {
            crate::release_later("a connection", destroy);
        } else {
            destroy();
        }
    }
}
