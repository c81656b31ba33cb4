//! The VideoCore over VCHIQ: components whose C objects are the
//! emulator's own (`crate::objects`) and whose work is done by the
//! firmware's MMAL service, reached through an [`mmal_vchiq::Client`].
//! This is what libmmal's VC client (`mmal_vc_api`) is to libmmal's core:
//! every call on such a component is a message to the VideoCore, and the
//! buffers it returns come back to the client's port callbacks.
//!
//! A remote component's `CoreState` is its [`Remote`]; the entry points
//! (`crate::abi`) ask [`of`] first and call here for a remote component,
//! into `crate::core` for a local one.
//!
//! Buffers travel under tokens: each header sent is entered under a fresh
//! 64-bit token (never reused) carried in the message's `user_data` tag,
//! which the VideoCore echoes; a buffer coming back is looked up by token
//! and checked against its port before its header is touched. The client
//! beneath already refuses a context that is not out (its cookies), so a
//! header is handed back at most once, and only while its port is enabled.
//!
//! Threads: the client's delivery thread runs the client's port callbacks
//! (never VCHIQ's completion thread), and the callbacks may call back in
//! (send the buffer again, disable the port, destroy another component).
//! One thread serves every component, where libmmal gives each its own: a
//! callback that blocks holds up the others'. A port disable returns once
//! every buffer of the port has been through its callback, so a component
//! whose ports are all disabled has no callback left to run.

mod session;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use mmal_sys as sys;
use mmal_vchiq::{BufferToSend, Error, Memory, PortInfo, PortRef, PortType, Returned};
use parking_lot::{Condvar, Mutex, ReentrantMutex};

use crate::objects::{
    BufPtr, Callback, ComponentPtr, CoreState, EsFormat, Live, Loan, LoanTicket, PoolPtr, PortFields, PortPtr, Read,
    Status,
};

pub(crate) use session::{client, install};
pub use session::{vchiq_payload_copies, vchiq_stats};

/// What the entry points keep of a remote component.
pub(crate) struct Remote {
    /// The VideoCore's handle of the component.
    handle: u32,
    /// Its ports as the VideoCore names them, by `index_all`.
    ports: Vec<PortRef>,
    /// Its C ports, by `index_all` (set once the C struct is made).
    c_ports: OnceLock<Vec<PortPtr>>,
    /// Buffers for the events the control port's callback gets. Destroyed
    /// when the `Remote` is dropped, with the component's memory (its core
    /// holds the last reference): a C call that pinned the component (an
    /// `mmal_port_event_get` racing the destroy) still finds the pool.
    events: PoolPtr,
    /// Held while an event is handed to a port's callback, and by a port
    /// disable while it takes the callback away: once a disable returns,
    /// no event reaches that port (the client may free what its callback
    /// uses). Reentrant: the callback may disable the port itself.
    delivering: ReentrantMutex<()>,
    state: Mutex<State>,
    /// Notified (with `state`'s lock) whenever an enable or disable of a
    /// port lets go of its claim: what a destroy waits on.
    unclaimed: Condvar,
}

/// How long a destroy waits for an enable or disable of one of its ports
/// that another thread is making (a disable waits up to the client's
/// reply and drain timeouts).
const CLAIM_WAIT: Duration = Duration::from_secs(10);

/// How many buffers' memory a port keeps for its next sends.
const SPARE: usize = 4;

/// The room in an event buffer: the largest event payload MMAL sends.
const EVENT_PAYLOAD: usize = 256;

#[derive(Default)]
struct State {
    /// The client's callback of each enabled port, by `index_all`.
    callbacks: Vec<Option<Callback>>,
    /// How many times each port has been enabled: a buffer from before a
    /// disable is told apart from the next enable's.
    enables: Vec<u64>,
    /// Headers with the VideoCore, by token: the port (`index_all`), the
    /// header, and the loan of the payload block its VideoCore's data is
    /// received into in place, if it was lent.
    out: HashMap<u64, Sent>,
    /// What each port's last format commit answered, by `index_all`.
    info: Vec<Option<PortInfo>>,
    /// Whether each port is being enabled (claimed by one enable).
    enabling: Vec<bool>,
    /// Whether each port is reserved by a connection being made (see
    /// [`Reservation`]).
    connecting: Vec<bool>,
    /// Whether each port is being disabled (its buffers draining): no
    /// enable or connection meanwhile.
    disabling: Vec<bool>,
    /// Host memory of buffers that came back, by port, kept for the port's
    /// next sends while it is enabled (a frame's memory is then allocated
    /// and faulted in once, not per frame); a disable drops it.
    spare: Vec<Vec<Vec<u8>>>,
    /// The other end of each port's tunnel: its component and port
    /// (`index_all`).
    peers: Vec<Option<(std::sync::Weak<Remote>, usize)>>,
    /// Whether each port took `MMAL_PARAMETER_ZERO_COPY` (on): its pools
    /// are VCSM, and buffers in them go by handle.
    zero_copy: Vec<bool>,
    destroyed: bool,
}

/// A header with the VideoCore (see [`State::out`]).
type Sent = (usize, BufPtr, Option<LoanTicket>);

impl State {
    /// Whether `header` is with the VideoCore (sent, not back yet).
    fn has_out(&self, header: BufPtr) -> bool {
        self.out.values().any(|&(_, h, _)| h == header)
    }

    /// Keeps `memory` (emptied) for the next sends of port `index`, if it
    /// has any room and the port has fewer than [`SPARE`] kept.
    fn keep_spare(&mut self, index: usize, mut memory: Vec<u8>) {
        memory.clear();
        if memory.capacity() > 0 && self.spare[index].len() < SPARE {
            self.spare[index].push(memory);
        }
    }
}

impl Drop for Remote {
    /// The event pool goes with the last reference, the component's core
    /// (see [`Remote::events`]).
    fn drop(&mut self) {
        self.events.destroy();
    }
}

static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// The remote component behind `core`, if it is one.
pub(crate) fn of(core: &CoreState) -> Option<Arc<Remote>> {
    Arc::clone(core).downcast::<Remote>().ok()
}

/// An MMAL status for a client error: the VideoCore's own where it gave
/// one, else what libmmal's VC client answers when the service fails.
fn status(call: &str, e: &Error) -> Status {
    log::error!("{call}: {e}");
    match e {
        Error::Mmal { status, .. } => status.to_u32(),
        Error::InvalidArgument(_) => sys::MMAL_EINVAL,
        Error::PortNotEnabled { .. } => sys::MMAL_EINVAL,
        Error::NoCookies { .. } => sys::MMAL_ENOSPC,
        Error::ParameterTooSmall { .. } => sys::MMAL_ENOSPC,
        Error::Timeout { .. } => sys::MMAL_EIO,
        _ => sys::MMAL_EIO,
    }
}

/// `mmal_component_create` of the VideoCore's component `name`.
pub(crate) fn create(name: &str) -> Result<ComponentPtr, Status> {
    let Some(client) = client() else {
        log::error!("mmal_component_create: no VCHIQ connection is open");
        return Err(sys::MMAL_ENXIO);
    };
    let c = client.component_create(name).map_err(|e| status("mmal_component_create", &e))?;
    let mut ports = Vec::with_capacity(1 + (c.inputs + c.outputs) as usize);
    let mut infos = Vec::with_capacity(ports.capacity());
    let kinds = std::iter::once((PortType::Control, 0))
        .chain((0..c.inputs).map(|i| (PortType::Input, i)))
        .chain((0..c.outputs).map(|i| (PortType::Output, i)));
    for (kind, index) in kinds {
        match client.port_info_get(c.handle, kind, index) {
            Ok(info) => {
                ports.push(info.port);
                infos.push(info);
            }
            Err(e) => {
                let _ = client.component_destroy(c.handle);
                return Err(status("mmal_component_create", &e));
            }
        }
    }
    let n = ports.len();
    let events = match PoolPtr::create(sys::MMAL_CONTROL_PORT_BUFFERS_MIN as usize, EVENT_PAYLOAD, false) {
        Ok(pool) => pool,
        Err(status) => {
            let _ = client.component_destroy(c.handle);
            return Err(status);
        }
    };
    let remote = Arc::new(Remote {
        handle: c.handle,
        ports,
        c_ports: OnceLock::new(),
        events,
        delivering: ReentrantMutex::new(()),
        unclaimed: Condvar::new(),
        state: Mutex::new(State {
            callbacks: vec![None; n],
            enables: vec![0; n],
            out: HashMap::new(),
            info: vec![None; n],
            enabling: vec![false; n],
            connecting: vec![false; n],
            disabling: vec![false; n],
            spare: vec![Vec::new(); n],
            peers: vec![None; n],
            zero_copy: vec![false; n],
            destroyed: false,
        }),
    });
    let core: CoreState = remote.clone();
    let component = ComponentPtr::create(name, c.handle, c.inputs as usize, c.outputs as usize, core);
    let c_ports = component.ports();
    for (port, info) in c_ports.iter().zip(&infos) {
        write_info(*port, info);
    }
    let _ = remote.c_ports.set(c_ports);
    session::register(c.handle, &remote);
    Ok(component)
}

/// Writes what the VideoCore says of a port into its C struct.
fn write_info(port: PortPtr, info: &PortInfo) {
    let f = &info.format;
    let v = &f.video;
    port.write_es_format(&EsFormat {
        es_type: f.es_type,
        encoding: f.encoding,
        encoding_variant: f.encoding_variant,
        bitrate: f.bitrate,
        flags: f.flags,
        video: sys::MMAL_VIDEO_FORMAT_T {
            width: v.width,
            height: v.height,
            crop: sys::MMAL_RECT_T { x: v.crop.x, y: v.crop.y, width: v.crop.width, height: v.crop.height },
            frame_rate: sys::MMAL_RATIONAL_T { num: v.frame_rate.num, den: v.frame_rate.den },
            par: sys::MMAL_RATIONAL_T { num: v.par.num, den: v.par.den },
            color_space: v.color_space,
        },
    });
    port.set_buffer_fields(&PortFields {
        num_min: info.buffer_num_min,
        size_min: info.buffer_size_min,
        alignment_min: info.buffer_alignment_min,
        num_recommended: info.buffer_num_recommended,
        size_recommended: info.buffer_size_recommended,
        num: info.buffer_num,
        size: info.buffer_size,
        capabilities: info.capabilities,
    });
}

/// The other end of a tunnel, if its component is still there.
fn upgrade(peer: Option<(std::sync::Weak<Remote>, usize)>) -> Option<(Arc<Remote>, usize)> {
    peer.and_then(|(w, i)| Some((w.upgrade()?, i)))
}

impl Remote {
    /// The other end of port `index`'s tunnel, if any and its component
    /// is still there.
    fn peer(&self, index: usize) -> Option<(Arc<Remote>, usize)> {
        upgrade(self.state.lock().peers.get(index).cloned().flatten())
    }

    /// A remote component of no VideoCore and no C struct, for tests of
    /// the bookkeeping.
    #[cfg(test)]
    pub(super) fn detached(handle: u32) -> Arc<Remote> {
        Arc::new(Remote {
            handle,
            ports: Vec::new(),
            c_ports: OnceLock::new(),
            events: PoolPtr::create(0, 0, false).expect("an empty pool"),
            delivering: ReentrantMutex::new(()),
            state: Mutex::new(State::default()),
            unclaimed: Condvar::new(),
        })
    }

    /// Waits until no port of the component is being enabled or disabled
    /// (by another thread), or until `deadline`; whether none is.
    fn wait_unclaimed(&self, deadline: Instant) -> bool {
        let claimed = |st: &State| st.enabling.iter().chain(&st.disabling).any(|&claimed| claimed);
        let mut st = self.state.lock();
        while claimed(&st) {
            if self.unclaimed.wait_until(&mut st, deadline).timed_out() {
                return !claimed(&st);
            }
        }
        true
    }

    /// Lets go of the claim an enable or disable made (its flag in the
    /// state, under the state's lock), and wakes a destroy waiting for it.
    fn unclaim(&self, claim: &mut bool) {
        *claim = false;
        self.unclaimed.notify_all();
    }

    /// One of the component's own C ports: for a caller that has the
    /// component pinned (a C call on it, or its delivery).
    fn c_port(&self, index_all: usize) -> Option<PortPtr> {
        self.c_ports.get().and_then(|p| p.get(index_all).copied())
    }

    /// A C port of the component, pinned (its memory stays while the
    /// answer lives): for a caller that reached this component as the
    /// other end of a tunnel, which another thread may be destroying.
    /// `None` once the destroy has begun to let go of it. The destroy
    /// marks the component destroyed under the state's lock before it
    /// frees anything, so a pin taken under that lock is of memory that
    /// is still there.
    fn peer_port(&self, index_all: usize) -> Option<Live<PortPtr>> {
        let st = self.state.lock();
        if st.destroyed {
            return None;
        }
        PortPtr::live(self.c_port(index_all)?.as_raw(), "the other end of a tunnel")
    }

    fn port_ref(&self, port: PortPtr) -> Result<PortRef, Status> {
        self.ports.get(port.index_all()).copied().ok_or(sys::MMAL_EINVAL)
    }

    /// `index_all` of the VideoCore's port `port`.
    fn index_of(&self, port: &PortRef) -> Option<usize> {
        self.ports.iter().position(|p| p.kind == port.kind && p.index == port.index)
    }

    /// A buffer the VideoCore (or the client, on a disable) handed back:
    /// into its header, then to its port's callback.
    pub(crate) fn returned(&self, mut b: Returned) {
        let entry = {
            let mut st = self.state.lock();
            match st.out.get(&b.tag) {
                Some(&(index, ..)) if Some(index) == self.index_of(&b.port) => st
                    .out
                    .remove(&b.tag)
                    .map(|(index, header, lent)| (index, header, lent, st.callbacks[index], st.enables[index])),
                _ => None,
            }
        };
        let Some((index, header, lent, callback, enabled_as)) = entry else {
            log::error!("mmal_vc_port_send_callback: a buffer of {:?} with an unknown tag {:#x}", b.port, b.tag);
            return;
        };
        let Some(in_place) = end_loan(lent, &mut b.memory) else {
            log::error!(
                "mmal_vc_port_send_callback: {:?}: the payload of a buffer whose data transfer failed is still with \
                 the driver; the buffer is kept, not handed back",
                b.port
            );
            return;
        };
        let Some(port) = self.c_port(index) else { return };
        let callback = if fill(header, &b, in_place) {
            // As libmmal's VC client: a buffer whose data was lost on the
            // way raises an error event (`MMAL_EIO`) on the component's
            // control port, before the buffer is handed back (dropped, as
            // there, if that port is not enabled).
            self.event(mmal_vchiq::Event {
                component: self.handle,
                port_type: PortType::Control,
                port_index: 0,
                cmd: sys::MMAL_EVENT_ERROR,
                data: sys::MMAL_EIO.to_le_bytes().to_vec(),
            });
            // The event's callback may have disabled the port (a nested
            // disable, which does not wait for this buffer), and enabled
            // it again: once the disable has returned, the buffer is not
            // the port's (it goes back to its pool).
            let st = self.state.lock();
            if st.enables[index] == enabled_as {
                st.callbacks[index]
            } else {
                None
            }
        } else {
            callback
        };
        if let Memory::Host(memory) = b.memory {
            let mut st = self.state.lock();
            // Kept while the port is enabled (dropped by its disable).
            if port.is_enabled() {
                st.keep_spare(index, memory);
            }
        }
        match callback {
            Some(cb) => port.call(cb, header),
            None => header.release(),
        }
    }

    /// An event from the VideoCore, on the port it names (the control
    /// port, or an output's FORMAT_CHANGED), in a buffer of the component's
    /// event pool, as libmmal's VC client delivers it. Dropped (as libmmal
    /// drops it) if that port is not enabled or no event buffer is free.
    pub(crate) fn event(&self, event: mmal_vchiq::Event) {
        let Some(index) = self.ports.iter().position(|p| p.kind == event.port_type && p.index == event.port_index)
        else {
            log::error!("mmal_vc: event {:#x} for a port the component does not have", event.cmd);
            return;
        };
        let _delivering = self.delivering.lock();
        let callback = self.state.lock().callbacks[index];
        let (Some(cb), Some(port)) = (callback, self.c_port(index)) else {
            log::debug!("mmal_vc: event {:#x} dropped: its port is not enabled", event.cmd);
            return;
        };
        let Some(header) = self.events.queue().get() else {
            log::error!("mmal_vc: no event buffer left for event {:#x}", event.cmd);
            return;
        };
        let length = if event.cmd == sys::MMAL_EVENT_FORMAT_CHANGED {
            let written = format_changed(&event.data)
                .and_then(|(requirements, format)| crate::objects::write_format_changed(header, requirements, &format));
            let Some(n) = written else {
                log::error!("mmal_vc: a FORMAT_CHANGED event of {} bytes that does not parse", event.data.len());
                header.release();
                return;
            };
            n
        } else {
            header.with_payload(|payload| {
                let n = event.data.len().min(payload.len());
                payload[..n].copy_from_slice(&event.data[..n]);
                n
            })
        };
        header.set(event.cmd, length, 0, sys::MMAL_TIME_UNKNOWN);
        port.call(cb, header);
    }

    /// Takes back the header sent under `token` whose send failed: `true`
    /// if it is the caller's again. The header has one owner, whoever
    /// takes its token out: gone already, it has been handed back (through
    /// the callback, or to its pool) while the send failed, and is not the
    /// caller's again.
    fn take_back(&self, token: u64) -> bool {
        match self.state.lock().out.remove(&token) {
            None => false,
            // The failed send gave the lent memory back (a send that fails
            // never leaves it with the driver); if not, kept, as above.
            Some((.., Some(loan))) if !loan.ended() => {
                log::error!("mmal_port_send_buffer: a failed send's payload is still lent; the buffer is kept");
                false
            }
            Some(_) => true,
        }
    }

    /// A free buffer of the component's event pool
    /// (`mmal_port_event_get`).
    pub(crate) fn event_buffer(&self) -> Option<BufPtr> {
        self.events.queue().get()
    }
}

/// Ends the loan of a returned buffer's payload block, if it was lent
/// (`lent`): the memory the client gave back is dropped (`memory` is left
/// empty). Returns whether the data was received in place, or `None` if
/// this loan has not ended: the driver kept the memory (a failed transfer)
/// and the VideoCore may still write it, so the header must not be handed
/// back (it is leaked rather than reused while written).
fn end_loan(lent: Option<LoanTicket>, memory: &mut Memory) -> Option<bool> {
    let Some(loan) = lent else { return Some(false) };
    let back = std::mem::replace(memory, Memory::Host(Vec::new()));
    let in_place = matches!(back, Memory::Lent(_));
    drop(back);
    loan.ended().then_some(in_place)
}

/// Writes a returned buffer's data and fields into its header; `in_place`:
/// its data was received into the header's payload (lent memory). Returns
/// whether its data was lost on the way (`TRANSMISSION_FAILED` as it came:
/// the VideoCore's, or a receive that failed; or data that did not fit),
/// which libmmal's VC client reports with an error event. A buffer the
/// VideoCore refused is flagged `TRANSMISSION_FAILED` too (libmmal passes
/// the firmware's flags alone), but that is no loss of data: it raises no
/// event, which a C client such as picamera takes for a dead sensor.
fn fill(header: BufPtr, b: &Returned, in_place: bool) -> bool {
    let mut lost = b.flags & sys::MMAL_BUFFER_HEADER_FLAG_TRANSMISSION_FAILED != 0;
    let mut flags = b.flags;
    let mut offset = 0;
    let length = match &b.memory {
        _ if b.released || !b.status.is_success() => {
            if !b.status.is_success() {
                flags |= sys::MMAL_BUFFER_HEADER_FLAG_TRANSMISSION_FAILED;
            }
            0
        }
        Memory::Host(data) if !in_place => {
            let start = b.offset as usize;
            let end = start.saturating_add(b.length as usize);
            let valid = data.get(start..end.min(data.len())).unwrap_or(&[]);
            header.with_payload(|payload| {
                let n = valid.len().min(payload.len());
                payload[..n].copy_from_slice(&valid[..n]);
                session::PAYLOAD_COPIES.fetch_add(n as u64, Ordering::Relaxed);
                if n < valid.len() {
                    flags |= sys::MMAL_BUFFER_HEADER_FLAG_TRANSMISSION_FAILED;
                    lost = true;
                }
                n
            })
        }
        // The data is in the payload, where the VideoCore wrote it (in the
        // block, or received in place).
        Memory::Host(_) | Memory::VideoCore { .. } | Memory::Lent(_) => {
            let alloc = header.alloc_size();
            offset = (b.offset as usize).min(alloc);
            (b.length as usize).min(alloc - offset)
        }
    };
    let cmd = if b.released { 0 } else { b.cmd };
    header.set(cmd, length, flags, b.pts);
    header.set_offset(offset);
    header.set_dts(b.dts);
    // As libmmal's VC client: the VideoCore's type-specific part (a
    // frame's planes) into the header's. (A buffer the client released
    // has none: the header keeps its own.)
    if !b.released {
        header.set_video(b.video.into());
    }
    lost
}

// ---------------------------------------------------------------------------
// The entry points, for a remote component

pub(crate) fn destroy(component: ComponentPtr, remote: &Remote) -> Status {
    let Some(client) = client() else { return sys::MMAL_ENXIO };
    if session::delivering_to(remote.handle) {
        // As the core refuses it on a component's own thread: the caller
        // still holds a buffer or event of it. (From another component's
        // callback it goes ahead, as libmmal's, whose components each
        // have a thread: the disables below hand over what is left,
        // nested, as a callback's own disable does.)
        log::error!("mmal_component_destroy: destroyed from one of its callbacks");
        return sys::MMAL_EINVAL;
    }
    // An enable or disable another thread is making (a callback disabling
    // its own port) is let finish first; then every port still enabled is
    // disabled. As libmmal's destroy, a port whose disable fails does not
    // keep the component: it goes on to be destroyed on the VideoCore
    // (which returns or drops what it held), rather than be left for a
    // caller that seldom checks the status. Its memory is then kept
    // (leaked, and logged): that port may still have a callback and
    // buffers, which the delivery thread could be handing back into it.
    let mut clean = remote.wait_unclaimed(Instant::now() + CLAIM_WAIT);
    if !clean {
        log::warn!("mmal_component_destroy: a port of it is still being enabled or disabled; destroyed anyway");
    }
    // In libmmal's order: inputs, outputs, then the control port last (its
    // events go on while the others drain).
    let mut ports = component.ports();
    ports.rotate_left(1);
    for port in ports {
        if port.is_enabled() && port_disable(port, remote) != sys::MMAL_SUCCESS {
            log::warn!("mmal_component_destroy: {} could not be disabled; destroyed anyway", port.name());
            clean = false;
        }
    }
    for port in component.ports() {
        if let Some((other, index)) = remote.peer(port.index_all()) {
            if port.port_type() == sys::MMAL_PORT_TYPE_OUTPUT {
                if let Ok(port_ref) = remote.port_ref(port) {
                    let _ = client.port_disconnect(&port_ref);
                }
            } else if let Some(out) = other.peer_port(index) {
                let _ = other.port_ref(*out).map(|r| client.port_disconnect(&r));
            }
            other.state.lock().peers[index] = None;
        }
    }
    {
        let mut st = remote.state.lock();
        st.destroyed = true;
        st.peers.iter_mut().for_each(|p| *p = None);
    }
    if let Err(e) = client.component_destroy(remote.handle) {
        // The component is gone for this process either way: the
        // VideoCore frees a client's components when its service closes.
        status("mmal_component_destroy", &e);
    }
    session::unregister(remote.handle, remote);
    if clean {
        component.free();
    } else {
        log::error!("mmal_component_destroy: {}: its memory is kept, as a port of it was not disabled", remote.handle);
    }
    sys::MMAL_SUCCESS
}

/// `mmal_component_enable` (`on`) or `mmal_component_disable`.
pub(crate) fn component_set_enabled(component: ComponentPtr, remote: &Remote, on: bool) -> Status {
    let Some(client) = client() else { return sys::MMAL_ENXIO };
    let (done, call) = if on {
        (client.component_enable(remote.handle), "mmal_component_enable")
    } else {
        (client.component_disable(remote.handle), "mmal_component_disable")
    };
    match done {
        Ok(()) => {
            component.set_enabled(on);
            sys::MMAL_SUCCESS
        }
        Err(e) => status(call, &e),
    }
}

/// `mmal_port_format_commit`: the port's format and buffer numbers go to
/// the VideoCore (PORT_INFO_SET); what it answers (the format as it
/// takes it, its buffer needs) comes back into the port.
pub(crate) fn port_format_commit(port: PortPtr, remote: &Remote) -> Status {
    let Some(client) = client() else { return sys::MMAL_ENXIO };
    let Ok(port_ref) = remote.port_ref(port) else { return sys::MMAL_EINVAL };
    if port_ref.kind == PortType::Control {
        return sys::MMAL_EINVAL;
    }
    let format = match port.read_es_format() {
        Ok(f) => f,
        Err(status) => return status,
    };
    let mut info = match client.port_info_get(remote.handle, port_ref.kind, port_ref.index) {
        Ok(info) => info,
        Err(e) => return status("mmal_port_format_commit", &e),
    };
    let v = format.video;
    info.format.es_type = format.es_type;
    info.format.encoding = format.encoding;
    info.format.encoding_variant = format.encoding_variant;
    info.format.bitrate = format.bitrate;
    info.format.flags = format.flags;
    info.format.video = mmal_vchiq::VideoFormat {
        width: v.width,
        height: v.height,
        crop: mmal_vchiq::Rect { x: v.crop.x, y: v.crop.y, width: v.crop.width, height: v.crop.height },
        frame_rate: mmal_vchiq::Rational { num: v.frame_rate.num, den: v.frame_rate.den },
        par: mmal_vchiq::Rational { num: v.par.num, den: v.par.den },
        color_space: v.color_space,
    };
    let (num, size, _, _) = port.buffers();
    info.buffer_num = num;
    info.buffer_size = size;
    match client.port_info_set(&info) {
        Ok(answer) => {
            write_info(port, &answer);
            // Every port of the component may have changed (an output
            // follows its input): read them again.
            refresh_others(&client, remote, port);
            remote.state.lock().info[port.index_all()] = Some(answer);
            sys::MMAL_SUCCESS
        }
        Err(e) => status("mmal_port_format_commit", &e),
    }
}

/// Reads the formats of the component's other ports that are not enabled
/// again from the VideoCore, as libmmal's VC client does after a commit.
fn refresh_others(client: &mmal_vchiq::Client, remote: &Remote, committed: PortPtr) {
    let Some(ports) = remote.c_ports.get() else { return };
    for (port, port_ref) in ports.iter().zip(&remote.ports) {
        if *port == committed || port.is_enabled() || port_ref.kind == PortType::Control {
            continue;
        }
        if let Ok(info) = client.port_info_get(remote.handle, port_ref.kind, port_ref.index) {
            write_info(*port, &info);
        }
    }
}

pub(crate) fn port_enable(port: PortPtr, cb: Option<Callback>, remote: &Remote) -> Status {
    let Some(client) = client() else { return sys::MMAL_ENXIO };
    let Ok(port_ref) = remote.port_ref(port) else { return sys::MMAL_EINVAL };
    let index = port.index_all();
    let (peer, from_input) = {
        // Checked and claimed under the lock: of two enables at once, one
        // goes on and the other is refused, and never touches the
        // winner's callback.
        let mut st = remote.state.lock();
        if port.is_enabled() || st.enabling[index] || st.disabling[index] {
            log::error!("mmal_port_enable: {} is already enabled, or being disabled", port.name());
            return sys::MMAL_EINVAL;
        }
        // A connection being made on the port is decided first.
        if st.connecting[index] {
            log::error!("mmal_port_enable: {}: a connection is being made on the port", port.name());
            return sys::MMAL_EINVAL;
        }
        let peer = st.peers[index].clone();
        // As libmmal's core: a connected port takes no callback, any other
        // may have none (what it returns is then released, and its events
        // dropped).
        if peer.is_some() && cb.is_some() {
            log::error!("mmal_port_enable: {}: a connected port takes no callback", port.name());
            return sys::MMAL_EINVAL;
        }
        if peer.is_some() && port_ref.kind != PortType::Output {
            (peer, true)
        } else {
            st.enabling[index] = true;
            st.callbacks[index] = cb;
            st.enables[index] += 1;
            (peer, false)
        }
    };
    let peer = upgrade(peer);
    if from_input {
        // Either end of a tunnel enables all of it, as libmmal's core
        // does; the VideoCore is told through the output, as for an enable
        // from there (which claims the output, and refuses a tunnel that
        // is enabled already).
        return match peer.and_then(|(other, i)| Some((other.peer_port(i)?, other))) {
            Some((out, other)) => port_enable(*out, None, &other),
            None => {
                log::error!("mmal_port_enable: {}: the component it is tunnelled to is destroyed", port.name());
                sys::MMAL_EINVAL
            }
        };
    }
    let status = enable_claimed(&client, port, port_ref, peer);
    let mut st = remote.state.lock();
    remote.unclaim(&mut st.enabling[index]);
    if status != sys::MMAL_SUCCESS {
        st.callbacks[index] = None;
    }
    status
}

/// The work of [`port_enable`] once the port is claimed.
fn enable_claimed(
    client: &mmal_vchiq::Client,
    port: PortPtr,
    port_ref: PortRef,
    peer: Option<(Arc<Remote>, usize)>,
) -> Status {
    let (mut num, mut size, num_min, size_min) = port.buffers();
    if let Some(input) = peer.as_ref().and_then(|(other, index)| other.peer_port(*index)) {
        // A tunnel: both ends take the larger numbers, as libmmal's core
        // gives them.
        let (in_num, in_size, _, _) = input.buffers();
        (num, size) = (num.max(in_num), size.max(in_size));
        port.set_buffers(num, size);
        input.set_buffers(num, size);
    }
    if port_ref.kind != PortType::Control && (num < num_min || size < size_min) {
        log::error!("mmal_port_enable: {}: buffers {num}x{size} below the minimum {num_min}x{size_min}", port.name());
        return sys::MMAL_EINVAL;
    }
    // A tunnel's input is told its numbers first, as libmmal tells it.
    if let Some((other, index)) = &peer {
        if let Some(in_ref) = other.ports.get(*index) {
            if let Err(e) = client.port_set_requirements(in_ref, num, size) {
                return status("mmal_port_enable", &e);
            }
        }
    }
    match client.port_enable(&port_ref, num, size) {
        Ok(()) => {
            port.set_enabled(true);
            // A tunnel: its input is enabled with it, as libmmal marks it.
            if let Some((other, index)) = peer {
                if let Some(input) = other.peer_port(index) {
                    input.set_enabled(true);
                }
            }
            sys::MMAL_SUCCESS
        }
        Err(e) => status("mmal_port_enable", &e),
    }
}

/// `mmal_port_disable`: returns once every buffer the port had is back
/// with the client's callback.
pub(crate) fn port_disable(port: PortPtr, remote: &Remote) -> Status {
    let Some(client) = client() else { return sys::MMAL_ENXIO };
    let Ok(port_ref) = remote.port_ref(port) else { return sys::MMAL_EINVAL };
    if !port.is_enabled() {
        log::error!("mmal_port_disable: {} is not enabled", port.name());
        return sys::MMAL_EINVAL;
    }
    let peer = remote.peer(port.index_all());
    if port_ref.kind == PortType::Input {
        if let Some((other, index)) = peer {
            // The input of a tunnel: the tunnel is disabled from its output.
            return match other.peer_port(index) {
                Some(out) if out.is_enabled() => port_disable(*out, &other),
                _ => sys::MMAL_SUCCESS,
            };
        }
    }
    {
        // Claimed: one disable at a time, and no enable or connection
        // until it is done.
        let mut st = remote.state.lock();
        if st.disabling[port.index_all()] {
            log::error!("mmal_port_disable: {} is being disabled", port.name());
            return sys::MMAL_EINVAL;
        }
        st.disabling[port.index_all()] = true;
    }
    let status = disable_claimed(&client, port, port_ref, peer, remote);
    remote.unclaim(&mut remote.state.lock().disabling[port.index_all()]);
    status
}

/// The work of [`port_disable`] once the port is claimed.
fn disable_claimed(
    client: &mmal_vchiq::Client,
    port: PortPtr,
    port_ref: PortRef,
    peer: Option<(Arc<Remote>, usize)>,
    remote: &Remote,
) -> Status {
    // Not enabled from here on, as libmmal's core marks it before the
    // buffers come back: a callback that would send its buffer again sees
    // the port disabled (and its send is refused).
    port.set_enabled(false);
    if let Err(e) = client.port_disable(&port_ref) {
        let closed = matches!(e, Error::Closed | Error::ServiceClosed | Error::DataOrderLost { .. });
        // The service is gone: once its buffers have all been handed back
        // (the delivery thread's last work), the port has nothing more to
        // deliver, and is disabled.
        if !(closed && session::wait_closed()) {
            port.set_enabled(true);
            return status("mmal_port_disable", &e);
        }
        log::warn!("mmal_port_disable: {}: {e}; disabled with the service", port.name());
    }
    {
        // Waits for an event being handed to this port's callback.
        let _delivering = remote.delivering.lock();
        let mut st = remote.state.lock();
        st.callbacks[port.index_all()] = None;
        st.spare[port.index_all()] = Vec::new();
    }
    if let Some((other, index)) = peer {
        if let Some(input) = other.peer_port(index) {
            input.set_enabled(false);
        }
    }
    sys::MMAL_SUCCESS
}

/// The ports a [`connect`] reserved: until this is dropped, each takes no
/// enable and no other connection, so that the caller can write the
/// connection into their `userdata` before anyone else can use them (as
/// the core's reservation does for its components).
#[must_use = "the ports stay reserved until this is dropped"]
pub(crate) struct Reservation {
    ends: Vec<(Arc<Remote>, usize, PortPtr)>,
}

impl Reservation {
    /// Whether this reservation holds `port`.
    pub(crate) fn holds(&self, port: PortPtr) -> bool {
        self.ends.iter().any(|&(_, _, p)| p == port)
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        for (remote, index, _) in self.ends.drain(..) {
            remote.state.lock().connecting[index] = false;
        }
    }
}

/// `mmal_connection_create` (and `mmal_port_connect`) of two remote ports:
/// the format is copied across and committed on the input (unless asked
/// not to), and a tunnel is made on the VideoCore (PORT_ACTION CONNECT).
/// An enabled port, a control port or a port on the wrong side is
/// `MMAL_EINVAL`; a port already in a tunnel, or being connected by
/// another caller, is `MMAL_EISCONN`. Each port is checked and reserved
/// under its component's lock, and stays reserved until the caller drops
/// the [`Reservation`] (with `MMAL_EISCONN`, only the ports no other caller
/// was connecting).
pub(crate) fn connect(out: PortPtr, input: PortPtr, flags: u32) -> (Status, Reservation) {
    let mut reservation = Reservation { ends: Vec::with_capacity(2) };
    let (Some(client), Some(ro), Some(ri)) = (client(), of(&out.core()), of(&input.core())) else {
        log::error!("mmal_connection_create: a VideoCore component can only be connected to another");
        return (sys::MMAL_EINVAL, reservation);
    };
    let (Ok(out_ref), Ok(in_ref)) = (ro.port_ref(out), ri.port_ref(input)) else {
        return (sys::MMAL_EINVAL, reservation);
    };
    let tunnel = flags & sys::MMAL_CONNECTION_FLAG_TUNNELLING != 0;
    if out_ref.kind != PortType::Output || in_ref.kind != PortType::Input || (tunnel && Arc::ptr_eq(&ro, &ri)) {
        log::error!("mmal_connection_create: {} to {}: an output and an input", out.name(), input.name());
        return (sys::MMAL_EINVAL, reservation);
    }
    let (mut invalid, mut connected) = (false, false);
    for (remote, port) in [(&ro, out), (&ri, input)] {
        let index = port.index_all();
        let mut st = remote.state.lock();
        if st.destroyed || port.is_enabled() || st.enabling[index] || st.disabling[index] {
            log::error!("mmal_connection_create: {} should not be enabled", port.name());
            invalid = true;
        } else if st.connecting[index] {
            log::error!("mmal_connection_create: {} is being connected", port.name());
            connected = true;
        } else {
            if st.peers[index].is_some() {
                log::error!("mmal_connection_create: {} is already connected", port.name());
                connected = true;
            }
            st.connecting[index] = true;
            reservation.ends.push((Arc::clone(remote), index, port));
        }
    }
    if invalid {
        drop(reservation);
        return (sys::MMAL_EINVAL, Reservation { ends: Vec::new() });
    }
    if connected {
        return (sys::MMAL_EISCONN, reservation);
    }
    if flags & sys::MMAL_CONNECTION_FLAG_KEEP_PORT_FORMATS == 0 {
        input.copy_format_from(out);
        let status = port_format_commit(input, &ri);
        if status != sys::MMAL_SUCCESS {
            return (status, reservation);
        }
    }
    if tunnel {
        if let Err(e) = client.port_connect(&out_ref, &in_ref) {
            return (status("mmal_connection_create", &e), reservation);
        }
        ro.state.lock().peers[out.index_all()] = Some((Arc::downgrade(&ri), input.index_all()));
        ri.state.lock().peers[input.index_all()] = Some((Arc::downgrade(&ro), out.index_all()));
    }
    (sys::MMAL_SUCCESS, reservation)
}

/// Undoes a tunnel [`connect`] made (PORT_ACTION DISCONNECT), disabling
/// it first if it is enabled.
pub(crate) fn disconnect(out: PortPtr, input: PortPtr) -> Status {
    let (Some(client), Some(ro), Some(ri)) = (client(), of(&out.core()), of(&input.core())) else {
        return sys::MMAL_EINVAL;
    };
    if ro.state.lock().peers[out.index_all()].is_none() {
        return sys::MMAL_ENOTCONN;
    }
    if out.is_enabled() {
        let status = port_disable(out, &ro);
        if status != sys::MMAL_SUCCESS {
            return status;
        }
    }
    if let Ok(out_ref) = ro.port_ref(out) {
        if let Err(e) = client.port_disconnect(&out_ref) {
            status("mmal_port_disconnect", &e);
        }
    }
    ro.state.lock().peers[out.index_all()] = None;
    ri.state.lock().peers[input.index_all()] = None;
    sys::MMAL_SUCCESS
}

/// `mmal_port_disconnect` of either end of a tunnel; `MMAL_ENOTCONN` for
/// a port in none.
pub(crate) fn disconnect_port(port: PortPtr, remote: &Remote) -> Status {
    let Some((other, index)) = remote.peer(port.index_all()) else {
        log::error!("mmal_port_disconnect: {} is not connected", port.name());
        return sys::MMAL_ENOTCONN;
    };
    let Some(peer_port) = other.peer_port(index) else { return sys::MMAL_ENOTCONN };
    if port.port_type() == sys::MMAL_PORT_TYPE_OUTPUT {
        disconnect(port, *peer_port)
    } else {
        disconnect(*peer_port, port)
    }
}

/// Whether the remote component of `port` is still there (not destroyed);
/// `None` if it is not a remote component.
pub(crate) fn alive(port: PortPtr) -> Option<bool> {
    of(&port.core()).map(|r| !r.state.lock().destroyed)
}

pub(crate) fn port_flush(port: PortPtr, remote: &Remote) -> Status {
    let Some(client) = client() else { return sys::MMAL_ENXIO };
    let Ok(port_ref) = remote.port_ref(port) else { return sys::MMAL_EINVAL };
    match client.port_flush(&port_ref) {
        Ok(()) => sys::MMAL_SUCCESS,
        Err(e) => status("mmal_port_flush", &e),
    }
}

/// `mmal_port_send_buffer`: the header goes out under a fresh token; an
/// input's data is copied into the message (or its bulk transfer).
pub(crate) fn port_send_buffer(port: PortPtr, header: BufPtr, remote: &Remote) -> Status {
    let Some(client) = client() else { return sys::MMAL_ENXIO };
    let Ok(port_ref) = remote.port_ref(port) else { return sys::MMAL_EINVAL };
    if !port.is_enabled() {
        log::error!("mmal_port_send_buffer: {} is not enabled", port.name());
        return sys::MMAL_EINVAL;
    }
    if header.cmd() != 0 {
        return event_to_port(port, header, remote);
    }
    // A header with the VideoCore already (sent twice): refused before its
    // payload is read or lent (checked again as it is entered, for a
    // second send racing this one).
    if remote.state.lock().has_out(header) {
        return payload_busy(port);
    }
    let alloc_size = u32::try_from(header.alloc_size()).unwrap_or(u32::MAX);
    let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
    let input = port_ref.kind != PortType::Output;
    // Zero copy: a header carrying its pool's VCSM payload goes by the
    // block's handle (an input's data at its offset), and the VideoCore
    // works in the block. The firmware takes every buffer of a zero-copy
    // port as a block's (the message does not say, as libmmal sends it),
    // so other memory there (a payload the client put in the header) is
    // refused.
    let block = if zero_copy(port, remote) {
        match crate::objects::vcsm_handle(header) {
            Some(handle) => Some(handle),
            None => {
                log::error!(
                    "mmal_port_send_buffer: {}: a zero-copy port takes its pool's VCSM payloads only \
                     (allocate with mmal_port_pool_create after MMAL_PARAMETER_ZERO_COPY)",
                    port.name()
                );
                return sys::MMAL_EINVAL;
            }
        }
    } else {
        None
    };
    let mut lent = None;
    let mut buffer = match block {
        Some(handle) => {
            let (length, offset) = if input {
                let word = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
                (word(header.length()), word(header.offset()))
            } else {
                (0, 0)
            };
            BufferToSend {
                memory: Memory::VideoCore { handle },
                length,
                offset,
                ..BufferToSend::output(Vec::new(), alloc_size)
            }
        }
        None if !input => match crate::objects::lend_payload(header) {
            // A heap block of the client's (the header's own, or another
            // header's it names): the VideoCore's data is received into
            // it, with no copy.
            Loan::Lent(memory, loan) => {
                lent = Some(loan);
                BufferToSend { memory: Memory::Lent(memory), ..BufferToSend::output(Vec::new(), alloc_size) }
            }
            Loan::Busy => return payload_busy(port),
            Loan::Other => {
                BufferToSend::output(remote.state.lock().spare[port.index_all()].pop().unwrap_or_default(), alloc_size)
            }
        },
        None => {
            let mut memory = remote.state.lock().spare[port.index_all()].pop().unwrap_or_default();
            let mut copy = |data: &[u8]| {
                memory.extend_from_slice(data);
                session::PAYLOAD_COPIES.fetch_add(data.len() as u64, Ordering::Relaxed);
            };
            let (offset, length) = (header.offset(), header.length());
            // Our block: read under a share, so that no transfer writes it
            // meanwhile.
            let read = crate::objects::read_payload(header, |payload| {
                copy(offset.checked_add(length).and_then(|end| payload.get(offset..end)).unwrap_or(&[]));
            });
            match read {
                Read::Done(()) => {}
                Read::Busy => {
                    remote.state.lock().keep_spare(port.index_all(), memory);
                    return payload_busy(port);
                }
                Read::Other => header.with_data(copy),
            }
            BufferToSend::input(memory, alloc_size)
        }
    };
    if input {
        buffer.flags = header.flags();
        buffer.pts = header.pts();
        buffer.dts = header.dts();
        // A short payload goes in the message only on an opaque port (an
        // image handle), as libmmal sends it.
        let opaque = |i: &PortInfo| i.format.encoding == sys::MMAL_ENCODING_OPAQUE;
        buffer.inline = remote.state.lock().info[port.index_all()].as_ref().is_some_and(opaque);
    }
    // The header's type-specific part goes with it, as libmmal sends it.
    buffer.video = header.video().into();
    buffer.tag = token;
    // Entered before it is sent: the VideoCore may return it at once. A
    // header this component has already (sent twice) is refused, whatever
    // its memory (a heap block's second send is refused above).
    {
        let mut st = remote.state.lock();
        if st.has_out(header) {
            // Its memory goes back to the port's spare (a lent block's
            // loan ends as `buffer` is dropped).
            if let Memory::Host(memory) = buffer.memory {
                st.keep_spare(port.index_all(), memory);
            }
            drop(st);
            return payload_busy(port);
        }
        st.out.insert(token, (port.index_all(), header, lent));
    }
    match client.send_buffer(&port_ref, buffer) {
        Ok(_) => sys::MMAL_SUCCESS,
        Err(e) => {
            if !remote.take_back(token) {
                // Handed back through its callback meanwhile, or kept (its
                // payload still lent, see `take_back`): not the caller's.
                log::warn!("mmal_port_send_buffer: {}: {e}; the buffer is no longer the caller's", port.name());
                return sys::MMAL_SUCCESS;
            }
            status("mmal_port_send_buffer", &e)
        }
    }
}

/// A header that is with the VideoCore already (sent twice), or whose
/// payload block is in use: lent to a transfer (another header naming the
/// same block is with the VideoCore), or, for an output, being read for
/// another header's input data. Refused, as MMAL forbids sending a buffer
/// that is still out; the memory is never read or written for it.
fn payload_busy(port: PortPtr) -> Status {
    log::error!(
        "mmal_port_send_buffer: {}: the buffer's payload is in use (with the VideoCore already: a buffer sent twice?)",
        port.name()
    );
    sys::MMAL_EINVAL
}

/// An event sent to one of the VideoCore's ports (a FORMAT_CHANGED a
/// connection hands on to its input) goes no further, as in libmmal's
/// VideoCore client: a format change becomes the port's format and is
/// committed (a failure logged), any other event is dropped (logged).
/// Either way the buffer comes back at once, empty, through the port's
/// callback (to its pool if the port has none).
fn event_to_port(port: PortPtr, header: BufPtr, remote: &Remote) -> Status {
    match crate::objects::read_format_changed_es(header) {
        Some(format) => {
            port.write_es_format(&format);
            let status = port_format_commit(port, remote);
            if status != sys::MMAL_SUCCESS {
                log::error!("mmal_port_send_buffer: {}: the format an event carried was not taken", port.name());
            }
        }
        None => log::error!(
            "mmal_port_send_buffer: {}: event {:#x} dropped (a port takes only a format change)",
            port.name(),
            header.cmd()
        ),
    }
    header.set(header.cmd(), 0, header.flags(), header.pts());
    // As for an event from the VideoCore: a disable waits for it.
    let _delivering = remote.delivering.lock();
    let callback = remote.state.lock().callbacks[port.index_all()];
    match callback {
        Some(cb) => port.call(cb, header),
        None => header.release(),
    }
    sys::MMAL_SUCCESS
}

/// `mmal_port_parameter_set` of `param` (header included).
pub(crate) fn parameter_set(port: PortPtr, param: &[u8], remote: &Remote) -> Status {
    let Some(client) = client() else { return sys::MMAL_ENXIO };
    let Ok(port_ref) = remote.port_ref(port) else { return sys::MMAL_EINVAL };
    match client.parameter_set(&port_ref, param) {
        Ok(()) => {
            if let Some(on) = zero_copy_set(param) {
                if let Some(z) = remote.state.lock().zero_copy.get_mut(port.index_all()) {
                    *z = on;
                }
            }
            sys::MMAL_SUCCESS
        }
        Err(e) => status("mmal_port_parameter_set", &e),
    }
}

/// The value of a `MMAL_PARAMETER_ZERO_COPY` being set, if `param` (header
/// included) is one.
fn zero_copy_set(param: &[u8]) -> Option<bool> {
    use crate::core::params::{read, read_bool};
    let header: sys::MMAL_PARAMETER_HEADER_T = read(param).ok()?;
    (header.id == sys::MMAL_PARAMETER_ZERO_COPY).then(|| read_bool(param).unwrap_or(false))
}

/// `mmal_port_parameter_get`: `request` is the header (with the room the
/// caller has) and any input the parameter takes; the answer's payload
/// goes into `out` (whose length is that room); returns its full length.
pub(crate) fn parameter_get(port: PortPtr, request: &[u8], out: &mut [u8], remote: &Remote) -> Result<usize, Status> {
    let Some(client) = client() else { return Err(sys::MMAL_ENXIO) };
    let port_ref = remote.port_ref(port)?;
    match client.parameter_get(&port_ref, request) {
        Ok(answer) => {
            let payload = answer.get(8..).unwrap_or(&[]);
            let n = payload.len().min(out.len());
            out[..n].copy_from_slice(&payload[..n]);
            Ok(payload.len())
        }
        Err(Error::ParameterTooSmall { needed, .. }) => Ok((needed as usize).saturating_sub(8)),
        Err(e) => Err(status("mmal_port_parameter_get", &e)),
    }
}

/// Whether pools for `port` come from VCSM: it took
/// `MMAL_PARAMETER_ZERO_COPY` (on), which the VideoCore accepted.
pub(crate) fn zero_copy(port: PortPtr, remote: &Remote) -> bool {
    remote.state.lock().zero_copy.get(port.index_all()).copied().unwrap_or(false)
}

/// The payload of a FORMAT_CHANGED event as the firmware lays it out (its
/// 32-bit `MMAL_EVENT_FORMAT_CHANGED_T`: the four buffer words, the format
/// pointer's word, then the format and its video part): the requirements
/// (`size_min`, `num_min`, `size_recommended`, `num_recommended`) and the
/// new format.
fn format_changed(data: &[u8]) -> Option<([u32; 4], crate::format::VideoFormat)> {
    use std::mem::{offset_of, size_of};
    use vchiq_sys::{
        mmal_msg_es_format as Es, mmal_msg_rational as Ratio, mmal_msg_rect as Rect, mmal_msg_video_format as Video,
    };
    let word = |at: usize| data.get(at..at + 4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
    let format = 5 * 4;
    let video = format + size_of::<Es>();
    if data.len() < video + size_of::<Video>() {
        return None;
    }
    let requirements = [word(0)?, word(4)?, word(8)?, word(12)?];
    let crop = video + offset_of!(Video, crop);
    let rate = video + offset_of!(Video, frame_rate);
    let f = crate::format::VideoFormat {
        encoding: word(format + offset_of!(Es, encoding))?,
        width: word(video + offset_of!(Video, width))?,
        height: word(video + offset_of!(Video, height))?,
        crop: (
            word(crop + offset_of!(Rect, x))?,
            word(crop + offset_of!(Rect, y))?,
            word(crop + offset_of!(Rect, width))?,
            word(crop + offset_of!(Rect, height))?,
        ),
        frame_rate: (word(rate + offset_of!(Ratio, num))? as i32, word(rate + offset_of!(Ratio, den))? as i32),
        bitrate: word(format + offset_of!(Es, bitrate))?,
    };
    Some((requirements, f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::{Allocator, HeapCharge, ZeroedBlock};

    /// A pool of the client's kind, whose payloads may be lent.
    fn client_pool(n: usize, size: usize) -> PoolPtr {
        PoolPtr::create_with(n, size, Allocator::Heap).expect("a pool")
    }

    #[test]
    fn a_header_handed_back_while_its_send_fails_is_not_the_callers_again() {
        let pool = PoolPtr::create(1, 16, false).expect("a pool");
        let header = pool.queue().get().expect("its header");
        let remote = Remote::detached(1);
        // Entered for a send; it comes back (taken out, as `returned`
        // takes it, and handed on) before the send reports its failure.
        remote.state.lock().out.insert(9, (0, header, None));
        let (_, back, _) = remote.state.lock().out.remove(&9).expect("entered");
        back.release();
        assert_eq!(pool.queue().len(), 1, "handed back once, to its pool");
        assert!(!remote.take_back(9), "the failed send must not give it to the caller too");
        // A send that fails with its header still entered gives it back.
        let header = pool.queue().get().expect("the header again");
        remote.state.lock().out.insert(10, (0, header, None));
        assert!(remote.take_back(10));
        header.release();
        pool.destroy();
    }

    #[test]
    fn a_lent_payload_is_lent_once_outlives_its_pool_and_keeps_its_header_until_the_driver_lets_go() {
        let pool = client_pool(1, 64);
        let header = pool.queue().get().expect("its header");
        let Loan::Lent(mut memory, loan) = crate::objects::lend_payload(header) else {
            panic!("a heap payload of the pool is lent");
        };
        assert_eq!(memory.len(), 64);
        assert!(matches!(crate::objects::lend_payload(header), Loan::Busy), "lent once");
        assert!(matches!(crate::objects::read_payload(header, |_| ()), Read::Busy), "not read while lent");
        let remote = Remote::detached(1);
        // A failed send whose memory the driver still has: the header is
        // not the caller's again.
        remote.state.lock().out.insert(11, (0, header, Some(loan.clone())));
        assert!(!remote.take_back(11), "kept while lent");
        // A return without the memory (the driver kept it): kept too.
        let mut back = Memory::Host(Vec::new());
        assert_eq!(end_loan(Some(loan.clone()), &mut back), None);
        // The pool goes (its header back first); the lent block stays.
        header.release();
        pool.destroy();
        assert_eq!(Arc::strong_count(loan.block()), 2, "held by the loan (and its ticket here), not the pool");
        memory[63] = 9;
        assert_eq!(memory[63], 9, "the block outlives its pool while lent");
        // The memory comes back: the loan ends, in place.
        let mut back = Memory::Lent(memory);
        assert_eq!(end_loan(Some(loan.clone()), &mut back), Some(true));
        assert!(loan.ended() && !loan.block().is_lent());
        assert_eq!(back, Memory::Host(Vec::new()));
        assert_eq!(end_loan(None, &mut Memory::Host(vec![1])), Some(false), "nothing lent");
    }

    #[test]
    fn copies_read_a_payload_together_but_never_while_it_is_lent() {
        let pool = client_pool(1, 16);
        let header = pool.queue().get().expect("its header");
        let read = crate::objects::read_payload(header, |outer| {
            // A second copy of the same payload (a replica sent to another
            // input) reads at the same time; a transfer cannot have it.
            let inner = crate::objects::read_payload(header, |inner| inner.len());
            let lend = crate::objects::lend_payload(header);
            (outer.len(), matches!(inner, Read::Done(16)), matches!(lend, Loan::Busy))
        });
        assert!(matches!(read, Read::Done((16, true, true))));
        // Read and done: free to lend again.
        let Loan::Lent(memory, loan) = crate::objects::lend_payload(header) else { panic!("free again") };
        drop(memory);
        assert!(loan.ended() && !loan.block().is_lent());
        header.release();
        pool.destroy();
    }

    #[test]
    fn a_connections_pool_is_lendable_once_resized_for_its_ports() {
        // As `mmal_connection_create` makes it: empty, the library's own;
        // its enable resizes it with the ports' payload source.
        let pool = PoolPtr::create(0, 0, false).expect("a pool");
        pool.resize_with(1, 64, Allocator::Heap).expect("resized");
        let header = pool.queue().get().expect("its header");
        let Loan::Lent(memory, loan) = crate::objects::lend_payload(header) else {
            panic!("a connection's payload is lent");
        };
        drop(memory);
        assert!(loan.ended());
        header.release();
        pool.destroy();
    }

    #[test]
    fn only_the_client_allocations_heap_blocks_are_lent_and_only_whole() {
        // The library's own pools' blocks (events, tunnels): never lent.
        let own_pool = PoolPtr::create(1, 64, false).expect("a pool");
        let own_header = own_pool.queue().get().expect("its header");
        assert!(matches!(crate::objects::lend_payload(own_header), Loan::Other));
        own_header.release();
        own_pool.destroy();
        // A client's memory in place of the pool's: not ours.
        let pool = client_pool(2, 64);
        let header = pool.queue().get().expect("its header");
        let other = pool.queue().get().expect("another header");
        let mut own = [0u8; 64];
        let (data, alloc) = header.payload_for_test();
        header.set_payload_for_test(own.as_mut_ptr(), 64);
        assert!(matches!(crate::objects::lend_payload(header), Loan::Other));
        // More than the block holds, or inside it but not from its start:
        // not lent.
        header.set_payload_for_test(data, alloc + 1);
        assert!(matches!(crate::objects::lend_payload(header), Loan::Other));
        header.set_payload_for_test(data.wrapping_add(8), alloc - 8);
        assert!(matches!(crate::objects::lend_payload(header), Loan::Other));
        // Any block of ours (here `mmal_port_payload_alloc`'s kind).
        let block = ZeroedBlock::new(32, HeapCharge::take(32).expect("room"), true).expect("a block");
        header.set_payload_for_test(block.as_mut_ptr(), 32);
        let Loan::Lent(memory, lent) = crate::objects::lend_payload(header) else {
            panic!("a block of ours is lent");
        };
        assert!(Arc::ptr_eq(lent.block(), &block) && block.is_lent() && !lent.ended());
        drop(memory);
        assert!(!block.is_lent() && lent.ended());
        // Another header's payload: lent as that header's, so never twice.
        header.set_payload_for_test(data, alloc);
        let (theirs, _) = other.payload_for_test();
        other.set_payload_for_test(data, alloc);
        let Loan::Lent(memory, first) = crate::objects::lend_payload(header) else { panic!("its own block") };
        assert!(matches!(crate::objects::lend_payload(other), Loan::Busy), "the same block, through another header");
        assert!(matches!(crate::objects::read_payload(other, |_| ()), Read::Busy), "nor read through it");
        drop(memory);
        let Loan::Lent(memory, second) = crate::objects::lend_payload(other) else { panic!("free again") };
        // Each loan knows its own end: the first has ended, though the
        // block is lent again.
        assert!(first.ended() && !second.ended() && first.block().is_lent());
        drop(memory);
        other.set_payload_for_test(theirs, alloc);
        header.release();
        other.release();
        pool.destroy();
    }
}
