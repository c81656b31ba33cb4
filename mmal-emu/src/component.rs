//! What components do: their state, worker thread, ports and parameters.
//!
//! Locks: each component has a state mutex and an action mutex. Client
//! callbacks run on the component's worker thread with the action mutex
//! held and the state mutex released, as in libmmal; no code holds two
//! components' state mutexes at once.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use mmal_sys as sys;

use crate::camera::{self, CameraParams, Prepared, Sensor, Settings, Setup, ShadingTable, VideoFormat};
use crate::objects::{lock, BufPtr, Callback, ComponentPtr, PoolPtr, PortPtr, Status, THREADS};
use crate::{CameraFault, Pacing, TestEvent};

/// Size of each control-port event buffer (the largest event the firmware
/// sends inline).
const EVENT_PAYLOAD: usize = 256;

/// `vc.ril.video_splitter`'s outputs.
const SPLITTER_OUTPUTS: usize = 4;

static NEXT_ID: AtomicU32 = AtomicU32::new(1);
static SCENE_GENERATION: AtomicU64 = AtomicU64::new(0);
static REGISTRY: Mutex<Vec<(u32, Weak<Shared>)>> = Mutex::new(Vec::new());

pub(crate) fn scene_changed() {
    SCENE_GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// Which component this is.
enum Kind {
    CameraInfo(Sensor),
    Camera(Box<CameraState>),
    NullSink,
    Splitter,
}

struct CameraState {
    sensor: Sensor,
    params: CameraParams,
    generation: u64,
    reported: Option<Settings>,
}

#[derive(Debug, Clone, Copy)]
enum PendingEvent {
    Error(u32),
    Eos { port_type: u32, port_index: u32 },
    FormatChanged { port: usize },
    Settings(Settings),
}

struct PortState {
    ptr: PortPtr,
    port_type: u32,
    /// Index among the ports of its type.
    index: usize,
    enabled: bool,
    cb: Option<Callback>,
    queue: VecDeque<BufPtr>,
    /// Buffers the component refused (too small for a frame): kept, as the
    /// firmware keeps them, until the port is disabled.
    rejected: Vec<BufPtr>,
    in_flight: u32,
    format: VideoFormat,
    zero_copy: bool,
    peer: Option<(Arc<Shared>, usize)>,
    tunnel_pool: Option<PoolPtr>,
    capture: bool,
    stills: u32,
    fps_range: (f32, f32),
    next_due: Option<Instant>,
    prepared: Option<(u64, Arc<Prepared>)>,
    /// The generation whose preparation failed: the port makes no frames
    /// until the configuration changes.
    broken: Option<u64>,
    frames: u64,
}

pub(crate) struct State {
    enabled: bool,
    shutdown: bool,
    destroyed: bool,
    ports: Vec<PortState>,
    kind: Kind,
    events: VecDeque<PendingEvent>,
    change_events: Vec<u32>,
    started: Instant,
}

/// The part of a component its worker thread and its peers share.
pub(crate) struct Shared {
    name: String,
    state: Mutex<State>,
    wake: Condvar,
    action: Mutex<()>,
    worker: Mutex<Option<JoinHandle<()>>>,
    worker_id: OnceLock<ThreadId>,
    event_pool: PoolPtr,
}

fn ok(r: Result<(), Status>) -> Status {
    r.err().unwrap_or(sys::MMAL_SUCCESS)
}

/// `mmal_component_create`.
pub(crate) fn create(name: &str) -> Result<ComponentPtr, Status> {
    let (kind, inputs, outputs) = match name {
        "vc.camera_info" => (Kind::CameraInfo(crate::sensor()), 0, 0),
        "vc.ril.camera" => {
            if crate::camera_fault() == Some(CameraFault::Disabled) {
                log::error!("mmal_vc_component_create: failed to create component '{name}' (1:ENOMEM)");
                return Err(sys::MMAL_ENOMEM);
            }
            let sensor = crate::sensor();
            let camera = CameraState { sensor, params: CameraParams::new(sensor), generation: 0, reported: None };
            (Kind::Camera(Box::new(camera)), 0, 3)
        }
        "vc.null_sink" => (Kind::NullSink, 1, 0),
        "vc.ril.video_splitter" => (Kind::Splitter, 1, SPLITTER_OUTPUTS),
        _ => {
            log::error!("mmal_component_create_core: could not find component '{name}'");
            return Err(sys::MMAL_ENOSYS);
        }
    };
    let event_pool = PoolPtr::create(sys::MMAL_CONTROL_PORT_BUFFERS_MIN as usize, EVENT_PAYLOAD, false)?;
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let shared = Arc::new(Shared {
        name: name.to_owned(),
        state: Mutex::new(State {
            enabled: false,
            shutdown: false,
            destroyed: false,
            ports: Vec::with_capacity(1 + inputs + outputs),
            kind,
            events: VecDeque::with_capacity(16),
            change_events: Vec::with_capacity(4),
            started: Instant::now(),
        }),
        wake: Condvar::new(),
        action: Mutex::new(()),
        worker: Mutex::new(None),
        worker_id: OnceLock::new(),
        event_pool,
    });
    let component = ComponentPtr::create(name, id, inputs, outputs, shared.clone());
    {
        let mut st = lock(&shared.state);
        let mut counts = [0usize; 5];
        for ptr in component.ports() {
            let port_type = match ptr.index_all() {
                0 => sys::MMAL_PORT_TYPE_CONTROL,
                i if i <= inputs => sys::MMAL_PORT_TYPE_INPUT,
                _ => sys::MMAL_PORT_TYPE_OUTPUT,
            };
            let index = counts[port_type as usize];
            counts[port_type as usize] += 1;
            st.ports.push(PortState {
                ptr,
                port_type,
                index,
                enabled: false,
                cb: None,
                queue: VecDeque::new(),
                rejected: Vec::new(),
                in_flight: 0,
                format: VideoFormat::default(),
                zero_copy: false,
                peer: None,
                tunnel_pool: None,
                capture: false,
                stills: 0,
                fps_range: (0.0, 0.0),
                next_due: None,
                prepared: None,
                broken: None,
                frames: 0,
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
        };
        for i in 1..st.ports.len() {
            st.ports[i].ptr.write_format(&default);
            if let Ok(changed) = commit_locked(&mut st, i, default) {
                apply(&st, &changed, usize::MAX);
            }
        }
    }
    let worker = shared.clone();
    let thread = std::thread::Builder::new().name(short_name(name)).spawn(move || worker.run());
    match thread {
        Ok(handle) => {
            THREADS.fetch_add(1, Ordering::SeqCst);
            *lock(&shared.worker) = Some(handle);
        }
        Err(e) => {
            log::error!("mmal_component_create: cannot start the thread of {name}: {e}");
            component.free();
            shared.event_pool.destroy();
            return Err(sys::MMAL_ENOMEM);
        }
    }
    let mut registry = lock(&REGISTRY);
    registry.retain(|(_, w)| w.strong_count() > 0);
    registry.push((id, Arc::downgrade(&shared)));
    Ok(component)
}

/// Linux thread names hold 15 bytes.
fn short_name(name: &str) -> String {
    name.trim_start_matches("vc.").chars().take(15).collect()
}

/// The last `mmal_component_release`: disables everything, stops the
/// worker and frees the component.
pub(crate) fn destroy(component: ComponentPtr) -> Status {
    let shared = component.shared();
    if shared.on_worker() {
        log::error!("mmal_component_destroy: {} destroyed from its own callback", shared.name);
        return sys::MMAL_EINVAL;
    }
    let enabled: Vec<PortPtr> = {
        let st = lock(&shared.state);
        st.ports
            .iter()
            .filter(|p| p.enabled && (p.peer.is_none() || p.port_type == sys::MMAL_PORT_TYPE_OUTPUT))
            .map(|p| p.ptr)
            .collect()
    };
    for port in enabled {
        let _ = port_disable(port);
    }
    let peers: Vec<(Arc<Shared>, usize)> = {
        let mut st = lock(&shared.state);
        st.shutdown = true;
        st.destroyed = true;
        st.enabled = false;
        st.ports.iter_mut().filter_map(|p| p.peer.take()).collect()
    };
    for (peer, index) in peers {
        let mut st = lock(&peer.state);
        if let Some(p) = st.ports.get_mut(index) {
            p.peer = None;
        }
    }
    shared.wake.notify_all();
    if let Some(handle) = lock(&shared.worker).take() {
        let _ = handle.join();
        THREADS.fetch_sub(1, Ordering::SeqCst);
    }
    shared.event_pool.destroy();
    component.free();
    sys::MMAL_SUCCESS
}

pub(crate) fn component_enable(component: ComponentPtr) -> Status {
    let shared = component.shared();
    let mut st = lock(&shared.state);
    if st.enabled {
        return sys::MMAL_SUCCESS;
    }
    if let Kind::Camera(cam) = &st.kind {
        let missing = crate::camera_fault() == Some(CameraFault::Missing);
        if missing || cam.params.camera_num != 0 {
            log::error!("mmal_vc_component_enable: failed to enable component: ENOSPC");
            st.events.push_back(PendingEvent::Error(sys::MMAL_ENOSPC));
            drop(st);
            shared.wake.notify_all();
            return sys::MMAL_ENOSPC;
        }
    }
    st.enabled = true;
    st.started = Instant::now();
    for p in &mut st.ports {
        p.next_due = None;
    }
    component.set_enabled(true);
    drop(st);
    shared.wake.notify_all();
    sys::MMAL_SUCCESS
}

pub(crate) fn component_disable(component: ComponentPtr) -> Status {
    let shared = component.shared();
    if shared.on_worker() {
        log::error!("mmal_component_disable: {} disabled from its own callback would deadlock", shared.name);
        return sys::MMAL_EINVAL;
    }
    let mut st = lock(&shared.state);
    st.enabled = false;
    component.set_enabled(false);
    // Let a frame being rendered finish before reporting success.
    while st.ports.iter().any(|p| p.in_flight > 0 && p.port_type == sys::MMAL_PORT_TYPE_OUTPUT) {
        st = shared.wait(st);
    }
    sys::MMAL_SUCCESS
}

/// Buffer requirements of a committed format: `(num_min, size_min,
/// num_recommended, size_recommended)`.
fn requirements(kind: &Kind, port_type: u32, index: usize, format: &VideoFormat) -> [u32; 4] {
    let size = format.frame_size() as u32;
    let recommended = match (kind, port_type, index) {
        (Kind::Camera(_), _, 2) => 1,
        (_, sys::MMAL_PORT_TYPE_INPUT, _) => 1,
        _ => 3,
    };
    [1, size, recommended, size]
}

fn commit_locked(
    st: &mut State,
    port: usize,
    format: VideoFormat,
) -> Result<Vec<(usize, VideoFormat, [u32; 4])>, Status> {
    let p = &st.ports[port];
    // The control port has no format to commit. An enabled port may commit
    // (libmmal does not check), and its requirements follow.
    if p.port_type == sys::MMAL_PORT_TYPE_CONTROL {
        return Err(sys::MMAL_ENOSYS);
    }
    if format.encoding == 0 || format.width == 0 || format.height == 0 || format.width > 8192 || format.height > 8192 {
        log::error!("mmal_port_format_commit: {}: invalid format", p.ptr.name());
        return Err(sys::MMAL_EINVAL);
    }
    if !camera::ENCODINGS.contains(&format.encoding) {
        log::error!("mmal_port_format_commit: {}: encoding {:#x} not supported", p.ptr.name(), format.encoding);
        return Err(sys::MMAL_EINVAL);
    }
    if let Kind::Camera(cam) = &st.kind {
        let (w, h) = cam.sensor.resolution();
        let (vw, vh) = format.visible();
        if vw > w || vh > h {
            log::error!("mmal_port_format_commit: {}: {vw}x{vh} is larger than the sensor", p.ptr.name());
            return Err(sys::MMAL_EINVAL);
        }
    }
    let mut changed = vec![(port, format, requirements(&st.kind, p.port_type, p.index, &format))];
    if matches!(st.kind, Kind::Splitter) && p.port_type == sys::MMAL_PORT_TYPE_INPUT {
        for (i, out) in st.ports.iter().enumerate() {
            if out.port_type == sys::MMAL_PORT_TYPE_OUTPUT && !out.enabled {
                changed.push((i, format, requirements(&st.kind, out.port_type, out.index, &format)));
            }
        }
    }
    for &(i, f, _) in &changed {
        st.ports[i].format = f;
        st.ports[i].prepared = None;
    }
    if let Kind::Camera(cam) = &mut st.kind {
        cam.generation += 1;
    }
    Ok(changed)
}

/// `mmal_port_format_commit`.
pub(crate) fn port_format_commit(port: PortPtr) -> Status {
    let format = match port.read_format() {
        Ok(f) => f,
        Err(status) => return status,
    };
    let shared = port.shared();
    let mut st = lock(&shared.state);
    match commit_locked(&mut st, port.index_all(), format) {
        Ok(changed) => {
            apply(&st, &changed, port.index_all());
            sys::MMAL_SUCCESS
        }
        Err(status) => status,
    }
}

/// Writes committed formats (except the client's own port's, which it
/// wrote itself) and their buffer requirements into the C structs.
fn apply(st: &State, changed: &[(usize, VideoFormat, [u32; 4])], committed: usize) {
    for &(i, f, [num_min, size_min, num_rec, size_rec]) in changed {
        let ptr = st.ports[i].ptr;
        if i != committed {
            ptr.write_format(&f);
        }
        ptr.set_requirements(num_min, size_min, num_rec, size_rec);
    }
}

/// `mmal_port_enable`.
pub(crate) fn port_enable(port: PortPtr, cb: Option<Callback>) -> Status {
    let shared = port.shared();
    let index = port.index_all();
    let mut st = lock(&shared.state);
    if st.destroyed {
        return sys::MMAL_EINVAL;
    }
    let p = &st.ports[index];
    if p.enabled {
        log::error!("mmal_port_enable: {}: port is already enabled", port.name());
        return sys::MMAL_EINVAL;
    }
    // A connected port takes no callback; any other may have none (what it
    // returns is then released, and its events lost).
    if p.peer.is_some() && cb.is_some() {
        log::error!("mmal_port_enable: {}: a connected port takes no callback", port.name());
        return sys::MMAL_EINVAL;
    }
    // Enabling either end of a tunnel enables both.
    if let Some((peer, peer_index)) = p.peer.clone() {
        let is_output = p.port_type == sys::MMAL_PORT_TYPE_OUTPUT;
        drop(st);
        if is_output {
            return enable_tunnel(&shared, port, &peer, peer_index);
        }
        let out = lock(&peer.state).ports[peer_index].ptr;
        return enable_tunnel(&peer, out, &shared, index);
    }
    let (num, size, num_min, size_min) = port.buffers();
    if p.port_type != sys::MMAL_PORT_TYPE_CONTROL && (num < num_min || size < size_min) {
        log::error!(
            "mmal_port_enable: {}: {num} buffers of {size} bytes, below the minimum {num_min} of {size_min}",
            port.name()
        );
        return sys::MMAL_EINVAL;
    }
    if let Kind::Camera(cam) = &st.kind {
        let f = p.format.visible();
        let c = &cam.params.config;
        let limit = if p.index == 2 {
            (c.max_stills_w, c.max_stills_h)
        } else {
            (c.max_preview_video_w, c.max_preview_video_h)
        };
        if p.port_type == sys::MMAL_PORT_TYPE_OUTPUT && (f.0 > limit.0 || f.1 > limit.1) {
            log::error!(
                "mmal_vc_port_enable: {}: {}x{} is larger than the camera config allows ({}x{}): ENOSPC",
                port.name(),
                f.0,
                f.1,
                limit.0,
                limit.1
            );
            return sys::MMAL_ENOSPC;
        }
    }
    let p = &mut st.ports[index];
    p.enabled = true;
    p.cb = cb;
    // Room for the usual number of buffers; more grow the queue.
    p.queue.reserve((num as usize).clamp(1, 64));
    p.next_due = None;
    port.set_enabled(true);
    sys::MMAL_SUCCESS
}

fn enable_tunnel(shared: &Arc<Shared>, out: PortPtr, peer: &Arc<Shared>, peer_index: usize) -> Status {
    let input = lock(&peer.state).ports[peer_index].ptr;
    if lock(&peer.state).ports[peer_index].enabled {
        log::error!("mmal_port_enable: {}: port is already enabled", input.name());
        return sys::MMAL_EINVAL;
    }
    // As libmmal's core: both ports take the larger of their two values.
    let (out_num, out_size, out_num_min, out_size_min) = out.buffers();
    let (in_num, in_size, in_num_min, in_size_min) = input.buffers();
    let (num, size) = (out_num.max(in_num), out_size.max(in_size));
    out.set_buffers(num, size);
    input.set_buffers(num, size);
    if num < out_num_min.max(in_num_min) || size < out_size_min.max(in_size_min) {
        log::error!("mmal_port_enable: {}: {num} buffers of {size} bytes, below a port's minimum", out.name());
        return sys::MMAL_EINVAL;
    }
    let zero_copy = lock(&shared.state).ports[out.index_all()].zero_copy;
    let pool = match PoolPtr::create(num as usize, size as usize, zero_copy) {
        Ok(pool) => pool,
        Err(status) => return status,
    };
    {
        let mut st = lock(&peer.state);
        let p = &mut st.ports[peer_index];
        p.enabled = true;
        p.cb = None;
        p.queue.reserve(pool.len());
        input.set_enabled(true);
    }
    let target = Arc::downgrade(shared);
    let out_index = out.index_all();
    pool.set_hook(Some(Box::new(move |b| match target.upgrade() {
        Some(s) => s.accept(out_index, b).is_err(),
        None => true,
    })));
    let mut st = lock(&shared.state);
    let p = &mut st.ports[out_index];
    p.enabled = true;
    p.cb = None;
    p.tunnel_pool = Some(pool);
    p.queue.reserve(pool.len());
    p.next_due = None;
    while let Some(b) = pool.queue().get() {
        p.queue.push_back(b);
    }
    out.set_enabled(true);
    drop(st);
    shared.wake.notify_all();
    sys::MMAL_SUCCESS
}

/// `mmal_port_disable`.
pub(crate) fn port_disable(port: PortPtr) -> Status {
    disable(port, true)
}

/// Disables `port`; the input end of a tunnel disables the whole tunnel
/// unless `whole_tunnel` is false (the tunnel's output disabling it).
fn disable(port: PortPtr, whole_tunnel: bool) -> Status {
    let shared = port.shared();
    if shared.on_worker() {
        log::error!("mmal_port_disable: {} disabled from its own callback would deadlock", port.name());
        return sys::MMAL_EINVAL;
    }
    let index = port.index_all();
    let mut st = lock(&shared.state);
    if !st.ports[index].enabled {
        log::error!("mmal_port_disable: {}: port is not enabled", port.name());
        return sys::MMAL_EINVAL;
    }
    // The input end of a tunnel: libmmal disables the whole tunnel, output
    // first (a connection over it still says it is enabled).
    if let (sys::MMAL_PORT_TYPE_INPUT, Some((peer, peer_index)), true) =
        (st.ports[index].port_type, &st.ports[index].peer, whole_tunnel)
    {
        let (peer, peer_index) = (peer.clone(), *peer_index);
        drop(st);
        let out = lock(&peer.state).ports[peer_index].ptr;
        return port_disable(out);
    }
    if crate::take_port_disable_fault() {
        log::error!("mmal_vc_port_disable: {}: the VideoCore did not answer (EIO)", port.name());
        return sys::MMAL_EIO;
    }
    st.ports[index].enabled = false;
    port.set_enabled(false);
    while st.ports[index].in_flight > 0 {
        st = shared.wait(st);
    }
    let p = &mut st.ports[index];
    let cb = p.cb.take();
    let pool = p.tunnel_pool.take();
    let peer = p.peer.clone();
    let returned: Vec<BufPtr> = p.queue.drain(..).chain(p.rejected.drain(..)).collect();
    drop(st);
    if let Some(pool) = pool {
        // A tunnel: the buffers belong to the connection's pool.
        for b in returned {
            b.release();
        }
        if let Some((peer, peer_index)) = peer {
            let input = lock(&peer.state).ports[peer_index].ptr;
            if lock(&peer.state).ports[peer_index].enabled {
                let _ = disable(input, false);
            }
        }
        pool.destroy();
    } else if let Some(cb) = cb {
        let _action = lock(&shared.action);
        for b in returned {
            b.set(0, 0, 0, sys::MMAL_TIME_UNKNOWN);
            port.call(cb, b);
        }
    } else {
        // The input end of a tunnel: back to the connection's pool.
        for b in returned {
            b.release();
        }
    }
    sys::MMAL_SUCCESS
}

/// `mmal_port_send_buffer`.
pub(crate) fn port_send_buffer(port: PortPtr, buffer: BufPtr) -> Status {
    ok(port.shared().accept(port.index_all(), buffer))
}

/// Whether a port is in zero-copy mode (its pools come from VCSM).
pub(crate) fn zero_copy(port: PortPtr) -> bool {
    lock(&port.shared().state).ports[port.index_all()].zero_copy
}

/// `mmal_connection_create` with tunnelling: copies the format across
/// (unless asked not to) and connects the ports.
pub(crate) fn connect(out: PortPtr, input: PortPtr, flags: u32) -> Status {
    let (out_shared, in_shared) = (out.shared(), input.shared());
    if Arc::ptr_eq(&out_shared, &in_shared) {
        return sys::MMAL_EINVAL;
    }
    {
        let st = lock(&out_shared.state);
        let p = &st.ports[out.index_all()];
        if p.port_type != sys::MMAL_PORT_TYPE_OUTPUT {
            return sys::MMAL_EINVAL;
        }
        if p.peer.is_some() {
            return sys::MMAL_EISCONN;
        }
    }
    {
        let st = lock(&in_shared.state);
        let p = &st.ports[input.index_all()];
        if p.port_type != sys::MMAL_PORT_TYPE_INPUT {
            return sys::MMAL_EINVAL;
        }
        if p.peer.is_some() {
            return sys::MMAL_EISCONN;
        }
    }
    if flags & sys::MMAL_CONNECTION_FLAG_KEEP_PORT_FORMATS == 0 {
        input.copy_format_from(out);
        let status = port_format_commit(input);
        if status != sys::MMAL_SUCCESS {
            return status;
        }
    }
    lock(&out_shared.state).ports[out.index_all()].peer = Some((in_shared.clone(), input.index_all()));
    lock(&in_shared.state).ports[input.index_all()].peer = Some((out_shared, out.index_all()));
    sys::MMAL_SUCCESS
}

/// Undoes [`connect`].
pub(crate) fn disconnect(out: PortPtr, input: PortPtr) {
    lock(&out.shared().state).ports[out.index_all()].peer = None;
    lock(&input.shared().state).ports[input.index_all()].peer = None;
}

pub(crate) fn post_test_event(id: u32, event: TestEvent) -> bool {
    let shared = lock(&REGISTRY).iter().find(|(i, _)| *i == id).and_then(|(_, w)| w.upgrade());
    let Some(shared) = shared else { return false };
    let mut st = lock(&shared.state);
    if st.destroyed {
        return false;
    }
    let pending = match event {
        TestEvent::Error(status) => PendingEvent::Error(status),
        TestEvent::EndOfStream { port_type, port_index } => PendingEvent::Eos { port_type, port_index },
        TestEvent::FormatChanged { output } => {
            let found =
                st.ports.iter().position(|p| p.port_type == sys::MMAL_PORT_TYPE_OUTPUT && p.index == output as usize);
            match found {
                Some(port) => PendingEvent::FormatChanged { port },
                None => return false,
            }
        }
    };
    st.events.push_back(pending);
    drop(st);
    shared.wake.notify_all();
    true
}

// ---------------------------------------------------------------------------
// Parameters

fn u32_at(data: &[u8], offset: usize) -> Result<u32, Status> {
    data.get(offset..offset + 4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]])).ok_or(sys::MMAL_EINVAL)
}

fn rational_at(data: &[u8], offset: usize) -> Result<f32, Status> {
    let num = u32_at(data, offset)? as i32;
    let den = u32_at(data, offset + 4)? as i32;
    if den == 0 {
        return Err(sys::MMAL_EINVAL);
    }
    Ok(num as f32 / den as f32)
}

fn put_u32(out: &mut [u8], offset: usize, v: u32) {
    out[offset..offset + 4].copy_from_slice(&v.to_ne_bytes());
}

fn put_rational(out: &mut [u8], offset: usize, v: f32) {
    put_u32(out, offset, (v * 65536.0).round() as i32 as u32);
    put_u32(out, offset + 4, 65536);
}

/// `mmal_port_parameter_set`: `data` is the whole parameter, header
/// included.
pub(crate) fn parameter_set(port: PortPtr, id: u32, data: &[u8]) -> Status {
    let shared = port.shared();
    let index = port.index_all();
    // The lens shading table is read from VCSM without the state lock.
    let table = if id == sys::MMAL_PARAMETER_LENS_SHADING_OVERRIDE && index == 0 {
        match read_lens_shading(&shared, data) {
            Ok(t) => Some(t),
            Err(status) => return status,
        }
    } else {
        None
    };
    let mut st = lock(&shared.state);
    let result = set_locked(&mut st, index, id, data, table);
    drop(st);
    shared.wake.notify_all();
    if let Err(status) = result {
        if status == sys::MMAL_ENOSYS {
            log::debug!("mmal_port_parameter_set: {}: parameter {id:#x} not supported", port.name());
        }
        return status;
    }
    sys::MMAL_SUCCESS
}

fn set_locked(
    st: &mut State,
    index: usize,
    id: u32,
    data: &[u8],
    table: Option<Option<Arc<ShadingTable>>>,
) -> Result<(), Status> {
    let port_type = st.ports[index].port_type;
    let port_index = st.ports[index].index;
    match id {
        sys::MMAL_PARAMETER_ZERO_COPY if port_type != sys::MMAL_PORT_TYPE_CONTROL => {
            if st.ports[index].enabled {
                return Err(sys::MMAL_EINVAL);
            }
            st.ports[index].zero_copy = u32_at(data, 8)? != 0;
            return Ok(());
        }
        sys::MMAL_PARAMETER_CHANGE_EVENT_REQUEST if port_type == sys::MMAL_PORT_TYPE_CONTROL => {
            let change_id = u32_at(data, 8)?;
            let enable = u32_at(data, 12)? != 0;
            st.change_events.retain(|&i| i != change_id);
            if enable {
                st.change_events.push(change_id);
            }
            if let Kind::Camera(cam) = &mut st.kind {
                cam.reported = None;
            }
            return Ok(());
        }
        _ => {}
    }
    let enabled = st.enabled;
    let Kind::Camera(cam) = &mut st.kind else { return Err(sys::MMAL_ENOSYS) };
    let p = &mut cam.params;
    if port_type == sys::MMAL_PORT_TYPE_OUTPUT {
        let port = &mut st.ports[index];
        match id {
            sys::MMAL_PARAMETER_CAPTURE => {
                let on = u32_at(data, 8)? != 0;
                if port_index == 2 && on && !port.capture {
                    port.stills += 1;
                }
                port.capture = on;
                if port_index == 2 && !on {
                    port.stills = 0;
                }
            }
            sys::MMAL_PARAMETER_FPS_RANGE => {
                let (low, high) = (rational_at(data, 8)?, rational_at(data, 16)?);
                if low < 0.0 || high < low {
                    return Err(sys::MMAL_EINVAL);
                }
                port.fps_range = (low, high);
                port.prepared = None;
            }
            _ => return Err(sys::MMAL_ENOSYS),
        }
        return Ok(());
    }
    match id {
        sys::MMAL_PARAMETER_CAMERA_NUM => {
            let n = u32_at(data, 8)? as i32;
            if !(0..4).contains(&n) {
                return Err(sys::MMAL_EINVAL);
            }
            p.camera_num = n;
        }
        sys::MMAL_PARAMETER_CAMERA_CUSTOM_SENSOR_CONFIG => {
            let mode = u32_at(data, 8)?;
            if mode as usize > cam.sensor.modes().len() {
                return Err(sys::MMAL_EINVAL);
            }
            p.sensor_mode = mode;
        }
        sys::MMAL_PARAMETER_CAMERA_CONFIG => {
            if data.len() < std::mem::size_of::<sys::MMAL_PARAMETER_CAMERA_CONFIG_T>() {
                return Err(sys::MMAL_EINVAL);
            }
            if enabled {
                log::error!("camera config cannot change while the camera is enabled");
                return Err(sys::MMAL_EINVAL);
            }
            let f = |i: usize| u32_at(data, 8 + 4 * i);
            let c = &mut p.config;
            c.max_stills_w = f(0)?;
            c.max_stills_h = f(1)?;
            c.stills_yuv422 = f(2)?;
            c.one_shot_stills = f(3)?;
            c.max_preview_video_w = f(4)?;
            c.max_preview_video_h = f(5)?;
            c.num_preview_video_frames = f(6)?;
            c.stills_capture_circular_buffer_height = f(7)?;
            c.fast_preview_resume = f(8)?;
            c.use_stc_timestamp = f(9)?;
        }
        sys::MMAL_PARAMETER_SHUTTER_SPEED => p.shutter_us = u32_at(data, 8)?,
        sys::MMAL_PARAMETER_ISO => {
            let iso = u32_at(data, 8)?;
            if iso > 1600 {
                return Err(sys::MMAL_EINVAL);
            }
            p.iso = iso;
        }
        sys::MMAL_PARAMETER_EXPOSURE_MODE => {
            let mode = u32_at(data, 8)?;
            if mode > sys::MMAL_PARAM_EXPOSUREMODE_FIREWORKS {
                return Err(sys::MMAL_EINVAL);
            }
            p.exposure_mode = mode;
        }
        sys::MMAL_PARAMETER_AWB_MODE => {
            let mode = u32_at(data, 8)?;
            if mode > sys::MMAL_PARAM_AWBMODE_GREYWORLD {
                return Err(sys::MMAL_EINVAL);
            }
            p.awb_mode = mode;
        }
        sys::MMAL_PARAMETER_CUSTOM_AWB_GAINS => {
            let (r, b) = (rational_at(data, 8)?, rational_at(data, 16)?);
            if !(0.0..=8.0).contains(&r) || !(0.0..=8.0).contains(&b) {
                return Err(sys::MMAL_EINVAL);
            }
            p.awb_gains = (r, b);
        }
        sys::MMAL_PARAMETER_ANALOG_GAIN | sys::MMAL_PARAMETER_DIGITAL_GAIN => {
            let g = rational_at(data, 8)?;
            let max = if id == sys::MMAL_PARAMETER_DIGITAL_GAIN {
                64.0
            } else if cam.sensor == Sensor::Ov5647 {
                8.0
            } else {
                12.0
            };
            if g != 0.0 && !(1.0..=max).contains(&g) {
                return Err(sys::MMAL_EINVAL);
            }
            if id == sys::MMAL_PARAMETER_ANALOG_GAIN {
                p.analog_gain = g;
            } else {
                p.digital_gain = g;
            }
        }
        sys::MMAL_PARAMETER_LENS_SHADING_OVERRIDE => {
            p.lens_shading = table.ok_or(sys::MMAL_EINVAL)?;
        }
        _ => return Err(sys::MMAL_ENOSYS),
    }
    cam.generation += 1;
    cam.reported = None;
    Ok(())
}

/// Checks a lens shading override as the firmware does and copies the table
/// out of VCSM: `Some(None)` turns the override off.
fn read_lens_shading(shared: &Shared, data: &[u8]) -> Result<Option<Arc<ShadingTable>>, Status> {
    if data.len() < std::mem::size_of::<sys::MMAL_PARAMETER_LENS_SHADING_T>() {
        return Err(sys::MMAL_EINVAL);
    }
    let f = |i: usize| u32_at(data, 8 + 4 * i);
    let (enabled, cell, width, stride, height, handle) = (f(0)? != 0, f(1)?, f(2)?, f(3)?, f(4)?, f(5)?);
    if !enabled {
        return Ok(None);
    }
    let sensor = match &lock(&shared.state).kind {
        Kind::Camera(cam) => cam.sensor,
        _ => return Err(sys::MMAL_ENOSYS),
    };
    let (w, h) = sensor.resolution();
    if cell != 64 {
        log::error!("lens shading: grid cell size {cell}, the camera supports 64");
        return Err(sys::MMAL_EINVAL);
    }
    // Widened: every value here comes from the client.
    let covers = u64::from(width) * 64 >= u64::from(w) && u64::from(height) * 64 >= u64::from(h);
    if width == 0 || height == 0 || stride < width || !covers || width > 256 || height > 256 || stride > 4096 {
        log::error!("lens shading: a {width}x{height} grid (stride {stride}) does not cover the {w}x{h} sensor");
        return Err(sys::MMAL_EINVAL);
    }
    // At most 4096 * 256 * 4 bytes: no overflow even with a 32-bit usize.
    let len = stride as usize * height as usize * 4;
    let mut gains = vec![0u8; len];
    match vcsm::emulated::lookup(handle) {
        Ok(info) if info.size >= len => {}
        Ok(info) => {
            log::error!("lens shading: VCSM block {handle:#x} holds {} bytes, the table needs {len}", info.size);
            return Err(sys::MMAL_EINVAL);
        }
        Err(e) => {
            log::error!("lens shading: mem_handle_table {handle:#x} is not a VCSM VideoCore handle: {e}");
            return Err(sys::MMAL_EINVAL);
        }
    }
    vcsm::emulated::read(handle, 0, &mut gains).map_err(|_| sys::MMAL_EINVAL)?;
    Ok(Some(Arc::new(ShadingTable { width: width as usize, height: height as usize, stride: stride as usize, gains })))
}

/// `mmal_port_parameter_get` into `out` (the payload after the header);
/// returns the payload's full size, which may exceed `out.len()`.
pub(crate) fn parameter_get(port: PortPtr, id: u32, out: &mut [u8]) -> Result<usize, Status> {
    let shared = port.shared();
    let st = lock(&shared.state);
    let p = &st.ports[port.index_all()];
    let mut scratch = [0u8; sys::MMAL_PARAMETER_MAX_SIZE as usize];
    let n = get_locked(&st, p, id, &mut scratch)?;
    let copy = n.min(out.len());
    out[..copy].copy_from_slice(&scratch[..copy]);
    Ok(n)
}

/// Writes the payload (after the 8-byte header) into `out`; returns its
/// length.
fn get_locked(st: &State, p: &PortState, id: u32, out: &mut [u8]) -> Result<usize, Status> {
    let control = p.port_type == sys::MMAL_PORT_TYPE_CONTROL;
    match id {
        sys::MMAL_PARAMETER_ZERO_COPY if !control => {
            put_u32(out, 0, p.zero_copy as u32);
            return Ok(4);
        }
        sys::MMAL_PARAMETER_SUPPORTED_ENCODINGS if !control => {
            for (i, e) in camera::ENCODINGS.iter().enumerate() {
                put_u32(out, 4 * i, *e);
            }
            return Ok(4 * camera::ENCODINGS.len());
        }
        _ => {}
    }
    match (&st.kind, id) {
        (Kind::CameraInfo(sensor), sys::MMAL_PARAMETER_CAMERA_INFO) if control => {
            let (w, h) = sensor.resolution();
            put_u32(out, 0, 1); // num_cameras
            put_u32(out, 4, 0); // num_flashes
            put_u32(out, 8, 0); // port_id
            put_u32(out, 12, w);
            put_u32(out, 16, h);
            put_u32(out, 20, 0); // lens_present
            let name = sensor.name().as_bytes();
            out[24..24 + 16].fill(0);
            out[24..24 + name.len()].copy_from_slice(name);
            Ok(std::mem::size_of::<sys::MMAL_PARAMETER_CAMERA_INFO_T>() - 8)
        }
        (Kind::Camera(_), _) if !control => match id {
            sys::MMAL_PARAMETER_CAPTURE => {
                put_u32(out, 0, p.capture as u32);
                Ok(4)
            }
            sys::MMAL_PARAMETER_FPS_RANGE => {
                put_rational(out, 0, p.fps_range.0);
                put_rational(out, 8, p.fps_range.1);
                Ok(16)
            }
            _ => Err(sys::MMAL_ENOSYS),
        },
        (Kind::Camera(cam), _) => {
            let q = &cam.params;
            let one = |out: &mut [u8], v: u32| {
                put_u32(out, 0, v);
                Ok(4)
            };
            match id {
                sys::MMAL_PARAMETER_CAMERA_NUM => one(out, q.camera_num as u32),
                sys::MMAL_PARAMETER_CAMERA_CUSTOM_SENSOR_CONFIG => one(out, q.sensor_mode),
                sys::MMAL_PARAMETER_SHUTTER_SPEED => one(out, q.shutter_us),
                sys::MMAL_PARAMETER_ISO => one(out, q.iso),
                sys::MMAL_PARAMETER_EXPOSURE_MODE => one(out, q.exposure_mode),
                sys::MMAL_PARAMETER_AWB_MODE => one(out, q.awb_mode),
                sys::MMAL_PARAMETER_CAMERA_CONFIG => {
                    let c = &q.config;
                    let fields = [
                        c.max_stills_w,
                        c.max_stills_h,
                        c.stills_yuv422,
                        c.one_shot_stills,
                        c.max_preview_video_w,
                        c.max_preview_video_h,
                        c.num_preview_video_frames,
                        c.stills_capture_circular_buffer_height,
                        c.fast_preview_resume,
                        c.use_stc_timestamp,
                    ];
                    for (i, v) in fields.into_iter().enumerate() {
                        put_u32(out, 4 * i, v);
                    }
                    Ok(40)
                }
                sys::MMAL_PARAMETER_CUSTOM_AWB_GAINS => {
                    put_rational(out, 0, q.awb_gains.0);
                    put_rational(out, 8, q.awb_gains.1);
                    Ok(16)
                }
                sys::MMAL_PARAMETER_ANALOG_GAIN => {
                    put_rational(out, 0, q.analog_gain);
                    Ok(8)
                }
                sys::MMAL_PARAMETER_DIGITAL_GAIN => {
                    put_rational(out, 0, q.digital_gain);
                    Ok(8)
                }
                sys::MMAL_PARAMETER_CAMERA_SETTINGS => {
                    let settings = st.setup(2.min(st.ports.len() - 1)).map(|s| s.settings());
                    let s = settings.ok_or(sys::MMAL_ENOSYS)?;
                    Ok(write_settings(out, &s))
                }
                _ => Err(sys::MMAL_ENOSYS),
            }
        }
        _ => Err(sys::MMAL_ENOSYS),
    }
}

/// `MMAL_PARAMETER_CAMERA_SETTINGS_T` after its header.
fn write_settings(out: &mut [u8], s: &Settings) -> usize {
    put_u32(out, 0, s.exposure_us);
    put_rational(out, 4, s.analog_gain);
    put_rational(out, 12, s.digital_gain);
    put_rational(out, 20, s.awb_gains.0);
    put_rational(out, 28, s.awb_gains.1);
    put_u32(out, 36, 0);
    40
}

// ---------------------------------------------------------------------------
// The worker

enum Work {
    Event(PendingEvent, Option<(PortPtr, Callback)>),
    /// An input buffer, and a buffer from each enabled output that had
    /// one (the splitter's, by output index).
    Input {
        port: usize,
        buffer: BufPtr,
        outputs: [Option<Delivery>; SPLITTER_OUTPUTS],
    },
    Prepare {
        port: usize,
        generation: u64,
        setup: Box<Setup>,
    },
    Frame {
        port: usize,
        prepared: Arc<Prepared>,
        frame: u64,
        pts: i64,
        to: Delivery,
    },
    Wait(Option<Instant>),
}

/// Most ports (and buffers) one unit of work holds: an input and the
/// splitter's outputs.
const MAX_HELD: usize = 1 + SPLITTER_OUTPUTS;

impl Work {
    /// The ports whose `in_flight` count [`State::next_work`] raised for
    /// this work, and the buffer it holds of each, if any.
    fn held(&self) -> ([(usize, Option<BufPtr>); MAX_HELD], usize) {
        let mut held = [(0, None); MAX_HELD];
        let mut n = 0;
        match self {
            Work::Event(_, Some(_)) => {
                n = 1;
            }
            Work::Input { port, buffer, outputs } => {
                held[0] = (*port, Some(*buffer));
                n = 1;
                for out in outputs.iter().flatten() {
                    held[n] = (out.port, Some(out.buffer));
                    n += 1;
                }
            }
            Work::Frame { port, to, .. } => {
                held[0] = (*port, Some(to.buffer));
                n = 1;
            }
            Work::Event(_, None) | Work::Prepare { .. } | Work::Wait(_) => {}
        }
        (held, n)
    }
}

/// What a unit of work holds, given back when it ends, also by a panic:
/// buffers it did not hand on are released to their pools, and the
/// `in_flight` counts it raised are lowered, waking anyone waiting for them.
struct InFlight<'a> {
    shared: &'a Shared,
    held: [(usize, Option<BufPtr>); MAX_HELD],
    len: usize,
    /// Bit `i` set: `held[i]`'s buffer was handed on.
    handed: std::cell::Cell<u8>,
}

impl<'a> InFlight<'a> {
    fn new(shared: &'a Shared, work: &Work) -> InFlight<'a> {
        let (held, len) = work.held();
        InFlight { shared, held, len, handed: std::cell::Cell::new(0) }
    }

    /// Records that the work handed `buffer` on (delivered or released).
    fn handed(&self, buffer: BufPtr) {
        if let Some(i) = self.held[..self.len].iter().position(|&(_, b)| b == Some(buffer)) {
            self.handed.set(self.handed.get() | 1 << i);
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.len == 0 {
            return;
        }
        for (i, &(_, buffer)) in self.held[..self.len].iter().enumerate() {
            if let Some(b) = buffer.filter(|_| self.handed.get() & (1 << i) == 0) {
                b.release();
            }
        }
        let mut st = lock(&self.shared.state);
        for &(port, _) in &self.held[..self.len] {
            st.ports[port].in_flight -= 1;
        }
        drop(st);
        self.shared.wake.notify_all();
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("?")
}

/// A buffer taken from an output port, and where it goes once filled.
struct Delivery {
    port: usize,
    ptr: PortPtr,
    buffer: BufPtr,
    cb: Option<Callback>,
    peer: Option<(Arc<Shared>, usize)>,
}

impl State {
    fn setup(&self, port: usize) -> Option<Setup> {
        let Kind::Camera(cam) = &self.kind else { return None };
        let p = &self.ports[port];
        let fps = self.port_fps(port);
        Some(Setup { sensor: cam.sensor, params: cam.params.clone(), format: p.format, fps, scene: crate::scene() })
    }

    /// The frame rate a camera output runs at: its format's, else the top
    /// of its FPS range, else 30.
    fn port_fps(&self, port: usize) -> f32 {
        let p = &self.ports[port];
        let f = p.format.fps();
        if f > 0.0 {
            f
        } else if p.fps_range.1 > 0.0 {
            p.fps_range.1
        } else {
            30.0
        }
    }

    fn generation(&self) -> u64 {
        match &self.kind {
            Kind::Camera(cam) => cam.generation.wrapping_add(SCENE_GENERATION.load(Ordering::SeqCst) << 32),
            _ => 0,
        }
    }

    /// Takes the next buffer queued on output `port`, if any.
    fn delivery(&mut self, port: usize) -> Option<Delivery> {
        let p = &mut self.ports[port];
        let buffer = p.queue.pop_front()?;
        p.in_flight += 1;
        Some(Delivery { port, ptr: p.ptr, buffer, cb: p.cb, peer: p.peer.clone() })
    }

    fn next_work(&mut self, now: Instant) -> Work {
        if let Some(event) = self.events.pop_front() {
            let control = &mut self.ports[0];
            let target = match (control.enabled, control.cb) {
                (true, Some(cb)) => {
                    control.in_flight += 1;
                    Some((control.ptr, cb))
                }
                _ => None,
            };
            return Work::Event(event, target);
        }
        // Input ports: sinks and the splitter.
        for i in 0..self.ports.len() {
            let p = &self.ports[i];
            if p.port_type != sys::MMAL_PORT_TYPE_INPUT || !p.enabled || p.queue.is_empty() {
                continue;
            }
            let buffer = self.ports[i].queue.pop_front().expect("checked non-empty");
            self.ports[i].in_flight += 1;
            let mut outputs: [Option<Delivery>; SPLITTER_OUTPUTS] = Default::default();
            if matches!(self.kind, Kind::Splitter) && self.enabled {
                for o in 0..self.ports.len() {
                    let (p, index) = (&self.ports[o], self.ports[o].index);
                    if p.port_type == sys::MMAL_PORT_TYPE_OUTPUT && p.enabled && index < SPLITTER_OUTPUTS {
                        outputs[index] = self.delivery(o);
                    }
                }
            }
            return Work::Input { port: i, buffer, outputs };
        }
        if !matches!(self.kind, Kind::Camera(_)) || !self.enabled {
            return Work::Wait(None);
        }
        let generation = self.generation();
        let unlimited = crate::pacing() == Pacing::Unlimited;
        let mut deadline: Option<Instant> = None;
        for i in 0..self.ports.len() {
            let p = &self.ports[i];
            let active = p.port_type == sys::MMAL_PORT_TYPE_OUTPUT
                && p.enabled
                && match p.index {
                    0 => true,
                    1 => p.capture,
                    _ => p.stills > 0,
                };
            if !active {
                continue;
            }
            if p.broken == Some(generation) {
                continue;
            }
            let prepared = match &p.prepared {
                Some((g, prepared)) if *g == generation => prepared.clone(),
                _ => {
                    let setup = self.setup(i).expect("a camera");
                    return Work::Prepare { port: i, generation, setup: Box::new(setup) };
                }
            };
            let fps = self.port_fps(i).clamp(0.005, 1000.0);
            let period = Duration::from_secs_f32(1.0 / fps);
            let p = &mut self.ports[i];
            let due = if unlimited || p.index == 2 { now } else { p.next_due.unwrap_or(now) };
            if now < due {
                deadline = Some(deadline.map_or(due, |d| d.min(due)));
                continue;
            }
            let next = due + period;
            p.next_due = Some(if next < now { now + period } else { next });
            let Some(&front) = p.queue.front() else {
                // The sensor's frame finds no buffer: it is lost.
                if !unlimited && p.index != 2 {
                    deadline = Some(deadline.map_or(next, |d| d.min(next)));
                }
                continue;
            };
            if front.alloc_size() < prepared.length {
                // As the firmware does with a buffer shorter than the frame:
                // an error event, and the buffer stays with the port until it
                // is disabled.
                log::error!(
                    "{}: a buffer of {} bytes cannot hold a {}-byte frame",
                    p.ptr.name(),
                    front.alloc_size(),
                    prepared.length
                );
                p.queue.pop_front();
                p.rejected.push(front);
                self.events.push_back(PendingEvent::Error(sys::MMAL_EINVAL));
                return Work::Wait(Some(now));
            }
            p.frames += 1;
            if p.index == 2 {
                p.stills -= 1;
            }
            let frame = p.frames;
            let pts = now.duration_since(self.started).as_micros() as i64;
            let to = self.delivery(i).expect("checked non-empty");
            return Work::Frame { port: i, prepared, frame, pts, to };
        }
        Work::Wait(deadline)
    }
}

impl Shared {
    fn on_worker(&self) -> bool {
        self.worker_id.get() == Some(&std::thread::current().id())
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.wake.wait(guard).unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A buffer sent to port `index` (by the client, or by a tunnel).
    fn accept(&self, index: usize, buffer: BufPtr) -> Result<(), Status> {
        let mut st = lock(&self.state);
        if st.destroyed {
            return Err(sys::MMAL_EINVAL);
        }
        let Some(p) = st.ports.get_mut(index) else { return Err(sys::MMAL_EINVAL) };
        if p.port_type == sys::MMAL_PORT_TYPE_CONTROL {
            return Err(sys::MMAL_ENOSYS);
        }
        if !p.enabled {
            return Err(sys::MMAL_EINVAL);
        }
        p.queue.push_back(buffer);
        drop(st);
        self.wake.notify_all();
        Ok(())
    }

    fn run(self: Arc<Shared>) {
        let _ = self.worker_id.set(std::thread::current().id());
        let mut st = lock(&self.state);
        loop {
            if st.shutdown {
                break;
            }
            let work = st.next_work(Instant::now());
            if let Work::Wait(deadline) = work {
                st = match deadline {
                    Some(d) => {
                        let timeout = d.saturating_duration_since(Instant::now());
                        self.wake.wait_timeout(st, timeout).unwrap_or_else(std::sync::PoisonError::into_inner).0
                    }
                    None => self.wait(st),
                };
                continue;
            }
            drop(st);
            let prepare = match &work {
                Work::Prepare { port, generation, .. } => Some((*port, *generation)),
                _ => None,
            };
            // What this unit of work holds: given back by the guard whatever
            // happens, so a disable never waits forever.
            let in_flight = InFlight::new(&self, &work);
            let outcome = catch_unwind(AssertUnwindSafe(|| self.perform(work, &in_flight)));
            drop(in_flight);
            st = lock(&self.state);
            if let Err(payload) = outcome {
                log::error!("{}: the component failed: {}", self.name, panic_text(payload.as_ref()));
                st.events.push_back(PendingEvent::Error(sys::MMAL_EFAULT));
                if let Some((port, generation)) = prepare {
                    // Not again until something changes.
                    st.ports[port].broken = Some(generation);
                }
            }
        }
    }

    /// One unit of work, run without the state lock; it tells `held` of
    /// every buffer it hands on.
    fn perform(&self, work: Work, held: &InFlight<'_>) {
        match work {
            Work::Wait(_) => {}
            Work::Event(event, target) => {
                if let Some((ptr, cb)) = target {
                    self.send_event(event, ptr, cb);
                }
            }
            Work::Input { port: _, buffer, outputs } => {
                let eos = buffer.flags() & sys::MMAL_BUFFER_HEADER_FLAG_EOS != 0;
                for out in outputs.iter().flatten() {
                    if !out.buffer.copy_from(buffer) {
                        out.buffer.set(0, 0, sys::MMAL_BUFFER_HEADER_FLAG_CORRUPTED, sys::MMAL_TIME_UNKNOWN);
                    }
                    held.handed(out.buffer);
                    self.deliver(out);
                }
                held.handed(buffer);
                buffer.release();
                let mut st = lock(&self.state);
                if eos && matches!(st.kind, Kind::NullSink) {
                    st.events.push_back(PendingEvent::Eos { port_type: sys::MMAL_PORT_TYPE_INPUT, port_index: 0 });
                }
            }
            Work::Prepare { port, generation, setup } => {
                #[cfg(test)]
                if tests::PANIC_NEXT_PREPARE.swap(false, Ordering::SeqCst) {
                    panic!("injected failure");
                }
                let prepared = Arc::new(camera::prepare(&setup));
                let mut st = lock(&self.state);
                let settings = prepared.settings;
                st.ports[port].prepared = Some((generation, prepared));
                let wants = st.change_events.contains(&sys::MMAL_PARAMETER_CAMERA_SETTINGS);
                if let Kind::Camera(cam) = &mut st.kind {
                    if wants && cam.reported != Some(settings) {
                        cam.reported = Some(settings);
                        st.events.push_back(PendingEvent::Settings(settings));
                    }
                }
            }
            Work::Frame { port: _, prepared, frame, pts, to } => {
                let buffer = to.buffer;
                #[cfg(test)]
                if tests::PANIC_NEXT_FRAME.swap(false, Ordering::SeqCst) {
                    panic!("injected failure");
                }
                let length = prepared.length.min(buffer.alloc_size());
                buffer.with_payload(|payload| camera::render(&prepared, frame, payload));
                buffer.set(0, length, sys::MMAL_BUFFER_HEADER_FLAG_FRAME_END, pts);
                drop(prepared);
                held.handed(buffer);
                self.deliver(&to);
            }
        }
    }

    /// Hands a filled buffer on: to the connected input, or to the client.
    fn deliver(&self, to: &Delivery) {
        let buffer = to.buffer;
        if let Some((peer, index)) = &to.peer {
            if peer.accept(*index, buffer).is_err() {
                buffer.release();
            }
        } else if let Some(cb) = to.cb {
            let _action = lock(&self.action);
            to.ptr.call(cb, buffer);
        } else {
            buffer.release();
        }
    }

    fn send_event(&self, event: PendingEvent, control: PortPtr, cb: Callback) {
        let (cmd, name) = match event {
            PendingEvent::Error(_) => (sys::MMAL_EVENT_ERROR, "ERRO"),
            PendingEvent::Eos { .. } => (sys::MMAL_EVENT_EOS, "EEOS"),
            PendingEvent::FormatChanged { .. } => (sys::MMAL_EVENT_FORMAT_CHANGED, "EFCH"),
            PendingEvent::Settings(_) => (sys::MMAL_EVENT_PARAMETER_CHANGED, "EPCH"),
        };
        let Some(buffer) = self.event_pool.queue().get() else {
            log::error!("mmal_port_event_get: {}: no event buffer left for {name}", control.name());
            return;
        };
        let length = match event {
            PendingEvent::Error(status) => buffer.with_payload(|b| {
                put_u32(b, 0, status);
                4
            }),
            PendingEvent::Eos { port_type, port_index } => buffer.with_payload(|b| {
                put_u32(b, 0, port_type);
                put_u32(b, 4, port_index);
                8
            }),
            PendingEvent::Settings(s) => buffer.with_payload(|b| {
                put_u32(b, 0, sys::MMAL_PARAMETER_CAMERA_SETTINGS);
                put_u32(b, 4, std::mem::size_of::<sys::MMAL_PARAMETER_CAMERA_SETTINGS_T>() as u32);
                8 + write_settings(&mut b[8..], &s)
            }),
            PendingEvent::FormatChanged { port } => {
                let (format, req) = {
                    let st = lock(&self.state);
                    let p = &st.ports[port];
                    (p.format, requirements(&st.kind, p.port_type, p.index, &p.format))
                };
                match crate::objects::write_format_changed(buffer, [req[1], req[0], req[3], req[2]], &format) {
                    Some(n) => n,
                    None => {
                        buffer.release();
                        return;
                    }
                }
            }
        };
        buffer.set(cmd, length, 0, sys::MMAL_TIME_UNKNOWN);
        let _action = lock(&self.action);
        control.call(cb, buffer);
    }
}

#[cfg(test)]
#[allow(unsafe_code)]
pub(crate) mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::time::{Duration, Instant};

    use mmal_sys as sys;

    /// Makes the worker panic while filling the next camera frame.
    pub(crate) static PANIC_NEXT_FRAME: AtomicBool = AtomicBool::new(false);
    /// Makes the worker panic while preparing the next picture.
    pub(crate) static PANIC_NEXT_PREPARE: AtomicBool = AtomicBool::new(false);

    static ERRORS: AtomicU32 = AtomicU32::new(0);
    static FRAMES: AtomicU32 = AtomicU32::new(0);

    unsafe extern "C" fn on_event(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
        // SAFETY: the header and its payload are handed to the callback.
        unsafe {
            if (*b).cmd == sys::MMAL_EVENT_ERROR && (*b).data.cast::<u32>().read_unaligned() == sys::MMAL_EFAULT {
                ERRORS.fetch_add(1, Ordering::SeqCst);
            }
            (crate::api().buffer_header_release)(b);
        }
    }

    unsafe extern "C" fn on_frame(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
        FRAMES.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the header is handed to the callback.
        unsafe { (crate::api().buffer_header_release)(b) };
    }

    fn wait_for(what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn a_panic_in_the_worker_is_an_error_event_and_never_blocks_disable() {
        std::env::set_var("VIDEOCORE", "emulated");
        let api = crate::api();
        let mut camera = std::ptr::null_mut();
        // SAFETY: pointers from the live component, used as a C client
        // would; released at the end.
        unsafe {
            assert_eq!((api.component_create)(c"vc.ril.camera".as_ptr(), &mut camera), sys::MMAL_SUCCESS);
            assert_eq!((api.port_enable)((*camera).control, Some(on_event)), sys::MMAL_SUCCESS);
            let port = *(*camera).output.add(1);
            (*(*(*port).format).es).video.width = 64;
            (*(*(*port).format).es).video.height = 48;
            (*(*(*port).format).es).video.crop = sys::MMAL_RECT_T { x: 0, y: 0, width: 64, height: 48 };
            assert_eq!((api.port_format_commit)(port), sys::MMAL_SUCCESS);
            (*port).buffer_num = 2;
            let pool = (api.port_pool_create)(port, 2, (*port).buffer_size_min);
            assert_eq!((api.port_enable)(port, Some(on_frame)), sys::MMAL_SUCCESS);
            for _ in 0..2 {
                assert_eq!((api.port_send_buffer)(port, (api.queue_get)((*pool).queue)), sys::MMAL_SUCCESS);
            }
            assert_eq!((api.component_enable)(camera), sys::MMAL_SUCCESS);
            PANIC_NEXT_FRAME.store(true, Ordering::SeqCst);
            let mut capture = sys::MMAL_PARAMETER_BOOLEAN_T {
                hdr: sys::MMAL_PARAMETER_HEADER_T {
                    id: sys::MMAL_PARAMETER_CAPTURE,
                    size: std::mem::size_of::<sys::MMAL_PARAMETER_BOOLEAN_T>() as u32,
                },
                enable: 1,
            };
            assert_eq!((api.port_parameter_set)(port, &mut capture.hdr), sys::MMAL_SUCCESS);
            wait_for("the error event", || ERRORS.load(Ordering::SeqCst) == 1);
            // The worker lives on: the other buffer still gets a frame, and
            // the one the failed frame held went back to its pool.
            wait_for("a frame after the failure", || FRAMES.load(Ordering::SeqCst) >= 1);
            wait_for("both buffers back in the pool", || (api.queue_length)((*pool).queue) == 2);

            // Preparing the picture fails: one error, and no retry until the
            // configuration changes.
            let shutter = |us: u32| {
                let mut p = sys::MMAL_PARAMETER_UINT32_T {
                    hdr: sys::MMAL_PARAMETER_HEADER_T {
                        id: sys::MMAL_PARAMETER_SHUTTER_SPEED,
                        size: std::mem::size_of::<sys::MMAL_PARAMETER_UINT32_T>() as u32,
                    },
                    value: us,
                };
                assert_eq!((api.port_parameter_set)((*camera).control, &mut p.hdr), sys::MMAL_SUCCESS);
            };
            PANIC_NEXT_PREPARE.store(true, Ordering::SeqCst);
            shutter(5_000);
            for _ in 0..2 {
                assert_eq!((api.port_send_buffer)(port, (api.queue_get)((*pool).queue)), sys::MMAL_SUCCESS);
            }
            wait_for("the second error event", || ERRORS.load(Ordering::SeqCst) == 2);
            let frames = FRAMES.load(Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(100));
            assert_eq!(ERRORS.load(Ordering::SeqCst), 2, "the failed preparation was retried");
            assert_eq!(FRAMES.load(Ordering::SeqCst), frames);
            shutter(6_000);
            wait_for("frames after the change", || FRAMES.load(Ordering::SeqCst) > frames);
            let port_addr = port as usize;
            let disable = std::thread::spawn(move || {
                // SAFETY: the port is live until the component is released.
                (crate::api().port_disable)(port_addr as *mut sys::MMAL_PORT_T)
            });
            wait_for("mmal_port_disable", || disable.is_finished());
            assert_eq!(disable.join().unwrap(), sys::MMAL_SUCCESS);
            (api.port_pool_destroy)(port, pool);
            assert_eq!((api.component_release)(camera), sys::MMAL_SUCCESS);
        }
    }
}
