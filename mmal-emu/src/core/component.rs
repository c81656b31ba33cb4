//! Components as libmmal's core keeps them: the registry, create and
//! destroy, enable and disable (their shared state is in `state.rs`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Instant;

use mmal_sys as sys;
use parking_lot::{Condvar, Mutex};

use super::events::TestEvent;
use super::port::{self, commit_locked};
use super::state::{announce_format, Component, PendingEvent, PortId, PortState, Shared, SharedOf, State};
use crate::format::VideoFormat;
use crate::objects::{ComponentPtr, PoolPtr, PortPtr, Status, THREADS};

/// Size of each control-port event buffer (the largest event the firmware
/// sends inline).
const EVENT_PAYLOAD: usize = 256;

static NEXT_ID: AtomicU32 = AtomicU32::new(1);
static REGISTRY: Mutex<Vec<(u32, Weak<Shared>)>> = Mutex::new(Vec::new());

/// `mmal_component_create` of `component`, made for the name `name`.
pub(crate) fn create(name: &str, component: Box<dyn Component>) -> Result<ComponentPtr, Status> {
    let (inputs, outputs) = component.ports();
    let event_pool = PoolPtr::create(sys::MMAL_CONTROL_PORT_BUFFERS_MIN as usize, EVENT_PAYLOAD, false)?;
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let shared = Arc::new(Shared {
        name: name.to_owned(),
        state: Mutex::new(State {
            enabled: false,
            paused: false,
            stalled: false,
            shutdown: false,
            destroyed: false,
            ports: Vec::with_capacity(1 + inputs + outputs),
            component,
            events: VecDeque::with_capacity(16),
            events_taken: 0,
            change_events: Vec::with_capacity(4),
            started: Instant::now(),
            taken: Vec::with_capacity(4),
        }),
        wake: Condvar::new(),
        action: Mutex::new(()),
        worker: Mutex::new(None),
        worker_id: OnceLock::new(),
        event_pool,
    });
    let handle = ComponentPtr::create(name, id, inputs, outputs, shared.clone());
    {
        let mut st = shared.state.lock();
        let mut counts = [0usize; 5];
        for ptr in handle.ports() {
            let kind = match ptr.index_all() {
                0 => sys::MMAL_PORT_TYPE_CONTROL,
                i if i <= inputs => sys::MMAL_PORT_TYPE_INPUT,
                _ => sys::MMAL_PORT_TYPE_OUTPUT,
            };
            let index = counts[kind as usize];
            counts[kind as usize] += 1;
            st.ports.push(PortState {
                ptr,
                id: PortId { all: ptr.index_all(), kind, index },
                enabled: false,
                cb: None,
                queue: VecDeque::new(),
                rejected: Vec::new(),
                in_flight: 0,
                events_handed_back: 0,
                format: VideoFormat::default(),
                requirements: [0; 4],
                zero_copy: false,
                peer: None,
                connecting: false,
                disabling: false,
                tunnel_pool: None,
                awaiting_commit: false,
                pending: VecDeque::new(),
                stats: Default::default(),
            });
        }
        // The control port's requirements as libmmal's core sets them:
        // room for a FORMAT_CHANGED event, four buffers.
        let event_size = (std::mem::size_of::<sys::MMAL_ES_FORMAT_T>()
            + std::mem::size_of::<sys::MMAL_ES_SPECIFIC_FORMAT_T>()
            + std::mem::size_of::<sys::MMAL_EVENT_FORMAT_CHANGED_T>()) as u32;
        st.ports[0].ptr.set_requirements(sys::MMAL_CONTROL_PORT_BUFFERS_MIN, event_size, 0, 0);
        // Default formats, committed, as the firmware reports them.
        let default = VideoFormat {
            encoding: sys::MMAL_ENCODING_I420,
            width: 640,
            height: 480,
            crop: (0, 0, 640, 480),
            frame_rate: (30, 1),
            bitrate: 0,
        };
        for i in 1..st.ports.len() {
            // The port's first encoding where it takes no I420 (an
            // encoder's output).
            let encodings = st.component.encodings(st.ports[i].id);
            let mut default = default;
            if !encodings.contains(&default.encoding) {
                default.encoding = encodings.first().copied().unwrap_or(default.encoding);
            }
            st.ports[i].ptr.write_format(&default);
            if let Ok(changed) = commit_locked(&mut st, i, default) {
                port::apply(&st, &changed, usize::MAX);
            }
        }
    }
    // The only thread the emulator starts: if it cannot, the create is
    // undone and fails with ENOMEM.
    let worker = shared.clone();
    let thread = std::thread::Builder::new().name(short_name(name)).spawn(move || worker.run());
    match thread {
        Ok(thread) => {
            THREADS.fetch_add(1, Ordering::SeqCst);
            *shared.worker.lock() = Some(thread);
        }
        Err(e) => {
            log::error!("mmal_component_create: cannot start the thread of {name}: {e}");
            handle.free();
            shared.event_pool.destroy();
            return Err(sys::MMAL_ENOMEM);
        }
    }
    let mut registry = REGISTRY.lock();
    registry.retain(|(_, w)| w.strong_count() > 0);
    registry.push((id, Arc::downgrade(&shared)));
    Ok(handle)
}

/// Linux thread names hold 15 bytes.
fn short_name(name: &str) -> String {
    name.trim_start_matches("vc.").chars().take(15).collect()
}

/// The last `mmal_component_release`: disables everything, stops the
/// worker and frees the component.
///
/// A port that cannot be disabled (destroyed from its own worker, or from
/// that of a component it is tunnelled to, or the VideoCore not
/// answering) fails the destroy with that port's status and frees
/// nothing: the port, its callback and the buffers it holds stay valid,
/// the caller keeps its reference and may release it again later. Ports
/// disabled before the failing one stay disabled.
///
/// Every enabled port is disabled, as libmmal's destroy disables them
/// all: the input end of a tunnel too, which disables the tunnel through
/// its output (and waits for a disable of that output already under way).
/// So once the component is marked destroyed no tunnel reaches into it,
/// and the other end never needs its ports again.
pub(crate) fn destroy(component: ComponentPtr) -> Status {
    let shared = component.shared();
    if shared.in_callback() {
        log::error!("mmal_component_destroy: {} destroyed from its own callback", shared.name);
        return sys::MMAL_EINVAL;
    }
    let enabled: Vec<PortPtr> = {
        let st = shared.state.lock();
        // Refused before anything changes: an enabled end of a tunnel whose
        // other end's component is the one calling (its disable would be
        // refused, see `port::disable`).
        let calling_peer = st.ports.iter().filter(|p| p.enabled).find_map(|p| match &p.peer {
            Some((peer, _)) if peer.on_worker() => Some(peer.name.clone()),
            _ => None,
        });
        if let Some(peer) = calling_peer {
            log::error!(
                "mmal_component_destroy: {} destroyed from a callback of {peer}, which it is tunnelled to",
                shared.name
            );
            return sys::MMAL_EINVAL;
        }
        st.ports.iter().filter(|p| p.enabled).map(|p| p.ptr).collect()
    };
    for port in enabled {
        let status = port::port_disable(port);
        // A port someone else is disabling: that disable is waited for
        // (its callbacks end with it); one that disabled it is no failure.
        let mut st = shared.state.lock();
        while st.ports[port.index_all()].disabling {
            shared.wait(&mut st);
        }
        let still_enabled = st.ports[port.index_all()].enabled;
        drop(st);
        if status != sys::MMAL_SUCCESS && still_enabled {
            log::error!("mmal_component_destroy: {}: {} could not be disabled ({status})", shared.name, port.name());
            return status;
        }
    }
    let peers: Vec<(Arc<Shared>, usize)> = {
        let mut st = shared.state.lock();
        st.shutdown = true;
        st.destroyed = true;
        st.enabled = false;
        st.ports.iter_mut().filter_map(|p| p.peer.take()).collect()
    };
    for (peer, index) in peers {
        let mut st = peer.state.lock();
        if let Some(p) = st.ports.get_mut(index) {
            p.peer = None;
        }
    }
    shared.wake.notify_all();
    if let Some(thread) = shared.worker.lock().take() {
        let _ = thread.join();
        THREADS.fetch_sub(1, Ordering::SeqCst);
    }
    shared.event_pool.destroy();
    component.free();
    sys::MMAL_SUCCESS
}

/// `mmal_component_enable`.
pub(crate) fn component_enable(component: ComponentPtr) -> Status {
    let shared = component.shared();
    let mut st = shared.state.lock();
    if st.enabled {
        return sys::MMAL_SUCCESS;
    }
    let (behaviour, mut io) = st.split(Instant::now());
    let result = behaviour.enable(&mut io);
    if let Err(status) = result {
        drop(st);
        shared.wake.notify_all();
        return status;
    }
    st.enabled = true;
    st.paused = false;
    st.stalled = false;
    st.started = Instant::now();
    component.set_enabled(true);
    drop(st);
    shared.wake.notify_all();
    sys::MMAL_SUCCESS
}

/// `mmal_component_disable`.
pub(crate) fn component_disable(component: ComponentPtr) -> Status {
    let shared = component.shared();
    if shared.on_worker() {
        log::error!("mmal_component_disable: {} disabled from its own callback would deadlock", shared.name);
        return sys::MMAL_EINVAL;
    }
    let mut st = shared.state.lock();
    // As libmmal: nothing to do for a component not enabled (one never
    // enabled goes on processing its inputs).
    if !st.enabled {
        return sys::MMAL_SUCCESS;
    }
    st.enabled = false;
    st.paused = true;
    component.set_enabled(false);
    // Let a frame being made finish before reporting success.
    while st.ports.iter().any(|p| p.in_flight > 0 && p.id.is_output()) {
        shared.wait(&mut st);
    }
    sys::MMAL_SUCCESS
}

/// Posts a test event (see [`crate::post_event`]).
pub(crate) fn post_test_event(id: u32, event: TestEvent) -> bool {
    let shared = REGISTRY.lock().iter().find(|(i, _)| *i == id).and_then(|(_, w)| w.upgrade());
    let Some(shared) = shared else { return false };
    let mut st = shared.state.lock();
    if st.destroyed {
        return false;
    }
    let output =
        |st: &State, output: u32| st.ports.iter().position(|p| p.id.is_output() && p.id.index == output as usize);
    let pending = match event {
        TestEvent::Error(status) => PendingEvent::Error(status),
        TestEvent::EndOfStream { port_type, port_index } => PendingEvent::Eos { port_type, port_index },
        TestEvent::FormatChanged { output: index } => match output(&st, index) {
            Some(port) => PendingEvent::FormatChanged { port },
            None => return false,
        },
        TestEvent::OutputFormatChanged { output: index, encoding, width, height } => {
            let Some(port) = output(&st, index) else { return false };
            let mut format = st.ports[port].format;
            format.encoding = encoding;
            // Sizes past the largest a port takes are refused by the
            // commit below; those too large to align, here.
            let (Some(aligned_width), Some(aligned_height)) =
                (crate::format::checked_align(width, 32), crate::format::checked_align(height, 16))
            else {
                return false;
            };
            format.width = aligned_width;
            format.height = aligned_height;
            format.crop = (0, 0, width, height);
            // The component takes it as if committed, but the client's
            // port keeps its old format until the client commits.
            let Ok(changed) = port::commit_locked(&mut st, port, format) else { return false };
            let requirements = changed[0].2;
            let State { ports, events, .. } = &mut *st;
            announce_format(ports, events, port, format, requirements);
            drop(st);
            shared.wake.notify_all();
            return true;
        }
    };
    st.events.push_back((0, pending));
    drop(st);
    shared.wake.notify_all();
    true
}
