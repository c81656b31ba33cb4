//! Connecting ports as libmmal's core does (`mmal_port_connect`,
//! `mmal_port_disconnect`, the reservation `mmal_connection_create` holds
//! while it writes the ports' `userdata`), and the ends of a connection as
//! the C entry points see them.

use std::sync::Arc;

use mmal_sys as sys;

use super::port::{pinned, port_disable, port_format_commit};
use super::state::{Shared, SharedOf};
use crate::objects::{ConnectionPtr, PortPtr, Status};

/// The ports a [`connect`] reserved: until this is dropped, each takes no
/// enable and no other connection, so that the caller can write the
/// connection into their `userdata` before anyone else can use them.
#[must_use = "the ports stay reserved until this is dropped"]
pub(crate) struct Reservation {
    ends: Vec<(Arc<Shared>, PortPtr)>,
}

impl Reservation {
    /// Whether this reservation holds `port` (the caller may write its
    /// `userdata`).
    pub(crate) fn holds(&self, port: PortPtr) -> bool {
        self.ends.iter().any(|&(_, p)| p == port)
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        for (shared, port) in self.ends.drain(..) {
            shared.state.lock().ports[port.index_all()].connecting = false;
        }
    }
}

/// `mmal_connection_create` (and `mmal_port_connect`): copies the format
/// across (unless asked not to) and, for a tunnel, connects the ports.
///
/// An enabled port (or one being disabled) is refused with `MMAL_EINVAL`,
/// as libmmal's `mmal_port_connect` refuses it, and before any other
/// check, so that the caller never writes a connection into the `userdata`
/// of a port that is streaming to a callback. This goes beyond libmmal in
/// two cases: a connection without tunnelling (libmmal makes it, and takes
/// over the port's `userdata`), and a port both connected and enabled
/// (libmmal answers `MMAL_EISCONN` with a connection object). A port
/// already connected, or being connected by another caller, gets
/// `MMAL_EISCONN`.
///
/// The checks, the connecting and the caller's writes of `userdata` are
/// one step for a concurrent `mmal_port_enable` or connection: each port
/// is reserved under its component's lock as it is checked, and stays
/// reserved until the caller drops the [`Reservation`] returned with the
/// status; an enable or a connection of a reserved port is refused. With
/// `MMAL_EISCONN`, the reservation holds only the ports no other caller
/// was connecting: the caller writes only theirs.
pub(crate) fn connect(out: PortPtr, input: PortPtr, flags: u32) -> (Status, Reservation) {
    let (out_shared, in_shared) = (out.shared(), input.shared());
    let mut reservation = Reservation { ends: Vec::with_capacity(2) };
    let tunnel = flags & sys::MMAL_CONNECTION_FLAG_TUNNELLING != 0;
    if tunnel && Arc::ptr_eq(&out_shared, &in_shared) {
        return (sys::MMAL_EINVAL, reservation);
    }
    let ends = [(&out_shared, out, true), (&in_shared, input, false)];
    // Each end is checked, and reserved if no one else is connecting it,
    // under its own component's lock (never two at once).
    let (mut invalid, mut connected) = (false, false);
    for &(shared, port, output) in &ends {
        let mut st = shared.state.lock();
        let destroyed = st.destroyed;
        let p = &mut st.ports[port.index_all()];
        if destroyed || p.id.is_output() != output || p.id.is_control() {
            invalid = true;
        } else if p.enabled || p.disabling {
            log::error!("mmal_connection_create: {} should not be enabled", port.name());
            invalid = true;
        } else if p.connecting {
            log::error!("mmal_connection_create: {} is being connected", port.name());
            connected = true;
        } else {
            if p.peer.is_some() {
                log::error!("mmal_connection_create: {} is already connected", port.name());
                connected = true;
            }
            p.connecting = true;
            reservation.ends.push((shared.clone(), port));
        }
    }
    // EINVAL outranks EISCONN, which the caller answers with a connection
    // object whose address goes into the reserved ports' userdata.
    let mut status = match (invalid, connected) {
        (true, _) => sys::MMAL_EINVAL,
        (false, true) => sys::MMAL_EISCONN,
        (false, false) => sys::MMAL_SUCCESS,
    };
    if status == sys::MMAL_EINVAL {
        drop(reservation);
        return (status, Reservation { ends: Vec::new() });
    }
    if status == sys::MMAL_SUCCESS && flags & sys::MMAL_CONNECTION_FLAG_KEEP_PORT_FORMATS == 0 {
        input.copy_format_from(out);
        status = port_format_commit(input);
    }
    if tunnel && status == sys::MMAL_SUCCESS {
        out_shared.state.lock().ports[out.index_all()].peer = Some((in_shared.clone(), input.index_all()));
        in_shared.state.lock().ports[input.index_all()].peer = Some((out_shared.clone(), out.index_all()));
    }
    super::pause::at("connect: made", out.as_raw() as usize);
    (status, reservation)
}

/// `mmal_port_disconnect`: undoes a tunnel from either end, disabling it
/// first if it is enabled; ENOTCONN for a port not connected.
pub(crate) fn disconnect_port(port: PortPtr) -> Status {
    let (peer, enabled, is_output) = {
        let shared = port.shared();
        let st = shared.state.lock();
        let p = &st.ports[port.index_all()];
        // A tunnel being disabled is disconnected once that is done (the
        // disable below refuses it meanwhile).
        (p.peer.clone(), p.enabled || p.disabling, p.id.is_output())
    };
    let Some((peer, peer_index)) = peer else {
        log::error!("mmal_port_disconnect: {} is not connected", port.name());
        return sys::MMAL_ENOTCONN;
    };
    // The other end, pinned: its component may be being destroyed (which
    // undoes the tunnel itself).
    let Some(other) = pinned(&peer, peer_index, "mmal_port_disconnect") else {
        log::error!("mmal_port_disconnect: {} is not connected", port.name());
        return sys::MMAL_ENOTCONN;
    };
    let (out, input) = if is_output { (port, *other) } else { (*other, port) };
    if enabled {
        let status = port_disable(out);
        if status != sys::MMAL_SUCCESS {
            return status;
        }
    }
    disconnect(out, input);
    sys::MMAL_SUCCESS
}

/// Undoes [`connect`].
pub(crate) fn disconnect(out: PortPtr, input: PortPtr) {
    out.shared().state.lock().ports[out.index_all()].peer = None;
    input.shared().state.lock().ports[input.index_all()].peer = None;
}

/// A connection's output and input, each with whether its component is
/// still there (not destroyed): a port whose component is destroyed may be
/// asked about its own fields, never used (see `ConnectionPtr::port_ptrs`).
pub(crate) fn connection_ends(connection: ConnectionPtr) -> [(PortPtr, bool); 2] {
    connection.port_ptrs().map(|p| (p, !p.shared().state.lock().destroyed))
}
