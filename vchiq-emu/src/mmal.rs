//! The firmware's MMAL service: one thread per open service takes the
//! host's messages in order, checks each, drives the emulated components
//! (`emu`) and queues the replies; buffers and events come back on the
//! components' threads through [`on_buffer`].

use std::collections::HashMap;
use std::ffi::CString;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use mmal_sys as sys;
use parking_lot::Mutex;
use vchiq::ServiceHandle;
use vchiq_sys::*;

use crate::emu::{self, Comp, Format, Header, Pool, Port, PortInfo, Tunnel};
use crate::kernel::{Kernel, Spare, VcBulk};
use crate::wire::{bytes, read, zeroed};

const HEADER: usize = MMAL_MSG_HEADER_SIZE as usize;
const MAX_MSG: usize = MMAL_MSG_MAX_SIZE as usize;
/// Fixed part of BUFFER_FROM_HOST, up to `short_data`.
const BUFFER_FIXED: usize = 140;
/// How long the VideoCore waits for the bulk transmit that carries an
/// input buffer's data.
const BULK_WAIT: Duration = Duration::from_secs(5);
/// How long a port's DISABLE waits for the host to receive the data sent
/// before it: within `mmal-vchiq`'s wait for an answer (3 s by default;
/// libmmal's waits without a limit), so that a client that does not
/// receive still gets the answer.
const DISABLE_BULK_WAIT: Duration = Duration::from_secs(2);
/// The MMAL worker version the firmware reports (VC 16.1, minimum 10).
pub(crate) const VERSION: (u32, u32, u32) = (16, 1, 10);

/// Service threads running.
pub(crate) static THREADS: AtomicUsize = AtomicUsize::new(0);
/// The components' handles on the wire, taken from one pool for every
/// service (see [`ComponentHandles`]).
static COMPONENT_HANDLES: Mutex<ComponentHandles> =
    Mutex::new(ComponentHandles { fresh: COMPONENT_BLOCKS, free: Vec::new() });
/// Ports the services have enabled, by address, for the callbacks.
static PORTS: LazyLock<Mutex<HashMap<usize, Arc<PortCtx>>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The emulator's id of each live component, by its handle on the wire.
static COMPONENT_IDS: LazyLock<Mutex<HashMap<u32, u32>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The emulator's id (`MMAL_COMPONENT_T::id`) of the component a service
/// created with this handle.
pub(crate) fn component_id(handle: u32) -> Option<u32> {
    COMPONENT_IDS.lock().get(&handle).copied()
}

/// The firmware's component handles are blocks of a vcos block pool of
/// 256: `(index + 1) << 3`, the low three bits naming the sub-pool (0
/// here). libmmal checks that form before it sends a buffer (`mmal_vc_api.c`,
/// `VCOS_BLOCKPOOL_IS_VALID_HANDLE_FORMAT(handle, 256)`) and refuses the
/// send otherwise. Taken as vcos's free list gives them: built by pushing
/// the blocks in order (so the highest comes first), a freed block pushed
/// back on top (so a destroyed component's handle is the next one given
/// out).
struct ComponentHandles {
    /// Blocks below this were never taken (taken from the top down).
    fresh: u32,
    /// Blocks given back, the last one on top.
    free: Vec<u32>,
}

/// Blocks in the firmware's pool of components.
const COMPONENT_BLOCKS: u32 = 256;

impl ComponentHandles {
    /// A handle, or `None` when all 256 are taken.
    fn take(&mut self) -> Option<u32> {
        let index = match self.free.pop() {
            Some(i) => i,
            None if self.fresh > 0 => {
                self.fresh -= 1;
                self.fresh
            }
            None => return None,
        };
        Some((index + 1) << 3)
    }

    fn give_back(&mut self, handle: u32) {
        self.free.push((handle >> 3) - 1);
    }
}

/// A destroyed component's handle and emulator id go.
fn forget_component(handle: u32) {
    COMPONENT_IDS.lock().remove(&handle);
    COMPONENT_HANDLES.lock().give_back(handle);
}

/// What a callback needs to know of an enabled port.
struct PortCtx {
    kernel: Arc<Kernel>,
    service: ServiceHandle,
    client_component: u32,
    control_service: u32,
    wire_type: u32,
    index: u32,
    /// Buffers the host sent, by the header carrying each.
    inflight: Mutex<HashMap<usize, Sent>>,
    /// The zero-copy blocks this port was given, mapped for the VideoCore:
    /// kept while the port is enabled (mapped once, not per buffer), up to
    /// [`MAPPED_MAX`] that are not in flight.
    mapped: Mutex<HashMap<u32, Arc<vcsm::emulated::DeviceMapping>>>,
    /// Memory an output's frames went out in, for its next buffers:
    /// dropped with the port's context, at its disable.
    spare: Arc<Spare>,
}

/// Zero-copy blocks a port keeps mapped beyond those in flight.
const MAPPED_MAX: usize = 32;

/// A buffer the host sent: its message, and the payload lent to an
/// output's header.
struct Sent {
    header: mmal_msg_header,
    buffer: mmal_msg_buffer_from_host,
    lent: Option<LentOut>,
}

/// The memory in `back`, its lock let go at once.
fn take(back: &Mutex<Option<Vec<u8>>>) -> Option<Vec<u8>> {
    back.lock().take()
}

/// The memory lent to an output's header for one buffer (see
/// [`Header::lend_vec`]): where it goes once the header lets go of it,
/// where it lies and its size.
struct LentOut {
    back: Arc<Mutex<Option<Vec<u8>>>>,
    data: usize,
    size: usize,
}

impl PortCtx {
    /// The VideoCore's mapping of zero-copy block `handle` (checked by
    /// the caller): `None` if it cannot be mapped.
    fn mapping(&self, handle: u32) -> Option<Arc<vcsm::emulated::DeviceMapping>> {
        let mut mapped = self.mapped.lock();
        if let Some(m) = mapped.get(&handle) {
            return Some(Arc::clone(m));
        }
        let m = Arc::new(emu::block_map(handle)?);
        // Mappings of blocks the host has freed go (their memory with
        // them, once no buffer holds them); past the bound, every one no
        // buffer holds.
        mapped.retain(|&h, m| Arc::strong_count(m) > 1 || emu::block_live(h));
        if mapped.len() >= MAPPED_MAX {
            mapped.retain(|_, m| Arc::strong_count(m) > 1);
        }
        mapped.insert(handle, Arc::clone(&m));
        Some(m)
    }
}

struct PortEntry {
    handle: u32,
    wire_type: u32,
    index: u32,
    port: Port,
    userdata: u32,
    pool: Option<Pool>,
    /// The tunnel from this output, and the input's (component, port)
    /// handles.
    tunnel: Option<(Tunnel, (u32, u32))>,
    /// This input is the far end of a tunnel: driven through its output
    /// (its own ENABLE and DISABLE are taken and change nothing).
    tunnelled: bool,
    ctx: Option<Arc<PortCtx>>,
    /// `MMAL_PARAMETER_ZERO_COPY` is on: every buffer names a VCSM block.
    zero_copy: bool,
}

struct CompEntry {
    comp: Comp,
    client_component: u32,
    control_service: u32,
    ports: Vec<PortEntry>,
}

/// One open MMAL service.
struct Service {
    kernel: Arc<Kernel>,
    handle: ServiceHandle,
    comps: HashMap<u32, CompEntry>,
}

/// The service thread: messages in order until the service closes, then
/// every component it created is destroyed.
pub(crate) fn run(kernel: Arc<Kernel>, handle: ServiceHandle, inbox: Receiver<Vec<u8>>) {
    emu::set_handler(on_buffer);
    let mut svc = Service { kernel: Arc::clone(&kernel), handle, comps: HashMap::new() };
    let mut refused = false;
    while let Ok(m) = inbox.recv() {
        // A fault of the VideoCore's own (a panic) closes the service, as
        // a bad message does, rather than leave the host waiting.
        match catch_unwind(AssertUnwindSafe(|| svc.message(&m))) {
            Ok(true) => {}
            Ok(false) => {
                refused = true;
                break;
            }
            Err(_) => {
                log::error!("vchiq-emu: the MMAL service failed on a message of {} bytes: closing it", m.len());
                refused = true;
                break;
            }
        }
    }
    // What the service made goes first, its buffers back to the host, and
    // only then is the service closed: a host told of the close takes its
    // buffers back, so the VideoCore must be done with them (with the
    // blocks of zero-copy ones above all).
    if catch_unwind(AssertUnwindSafe(|| svc.teardown())).is_err() {
        log::error!("vchiq-emu: the MMAL service failed while taking down its components; what is left is kept");
        // Leaked rather than dropped half torn down.
        std::mem::forget(svc);
        refused = true;
    }
    if refused {
        kernel.close(handle);
    }
    THREADS.fetch_sub(1, Ordering::SeqCst);
}

fn word(p: &[u8], off: usize) -> u32 {
    p.get(off..off + 4).map_or(0, |b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
}

/// The size of the reply to each message type (the firmware's structs).
fn reply_size(ty: u32) -> usize {
    match ty {
        MMAL_MSG_TYPE_GET_VERSION => 16,
        MMAL_MSG_TYPE_COMPONENT_CREATE => 20,
        MMAL_MSG_TYPE_PORT_INFO_GET | MMAL_MSG_TYPE_PORT_INFO_SET => 292,
        MMAL_MSG_TYPE_PORT_PARAMETER_SET | MMAL_MSG_TYPE_PORT_PARAMETER_GET => 12,
        _ => 4,
    }
}

fn reply(h: &mmal_msg_header, status: u32, payload: &[u8]) -> Vec<u8> {
    let rh = mmal_msg_header { status, padding: 0, ..*h };
    let mut m = bytes(&rh);
    m.extend_from_slice(payload);
    m
}

/// An error reply: the status in the header and in the payload's first
/// word, the rest of the reply zero.
fn error_reply(h: &mmal_msg_header, status: u32) -> Vec<u8> {
    let mut payload = vec![0u8; reply_size(h.type_)];
    payload[..4].copy_from_slice(&status.to_le_bytes());
    reply(h, status, &payload)
}

impl Service {
    /// Handles one message; `false` closes the service.
    fn message(&mut self, m: &[u8]) -> bool {
        #[cfg(test)]
        if FAIL_NEXT.swap(false, Ordering::SeqCst) {
            panic!("a fault of the VideoCore's, injected by a test");
        }
        if m.len() < HEADER {
            log::warn!("vchiq-emu: MMAL message of {} bytes, shorter than its header: closing the service", m.len());
            return false;
        }
        let h: mmal_msg_header = read(m);
        if h.magic != MMAL_MAGIC {
            log::warn!("vchiq-emu: MMAL message with magic {:#x}: closing the service", h.magic);
            return false;
        }
        let p = &m[HEADER..];
        let out = if m.len() > MAX_MSG {
            // Refused, but what follows it by bulk is taken all the same
            // (left queued, it would be taken as the next buffer's data).
            if self.bulk_follows(&h, p) {
                let _ = self.kernel.vc_receive(self.handle, BULK_WAIT);
            }
            Some(error_reply(&h, MMAL_MSG_STATUS_EINVAL))
        } else {
            match h.type_ {
                MMAL_MSG_TYPE_GET_VERSION => {
                    let v = mmal_msg_version { flags: 0, major: VERSION.0, minor: VERSION.1, minimum: VERSION.2 };
                    Some(reply(&h, 0, &bytes(&v)))
                }
                MMAL_MSG_TYPE_COMPONENT_CREATE => Some(self.create(&h, p)),
                MMAL_MSG_TYPE_COMPONENT_DESTROY | MMAL_MSG_TYPE_COMPONENT_ENABLE | MMAL_MSG_TYPE_COMPONENT_DISABLE => {
                    Some(self.component_op(&h, p))
                }
                MMAL_MSG_TYPE_PORT_INFO_GET => Some(self.port_info_get(&h, p)),
                MMAL_MSG_TYPE_PORT_INFO_SET => Some(self.port_info_set(&h, p)),
                MMAL_MSG_TYPE_PORT_ACTION => Some(self.port_action(&h, p)),
                MMAL_MSG_TYPE_PORT_PARAMETER_SET => Some(self.parameter_set(&h, p)),
                MMAL_MSG_TYPE_PORT_PARAMETER_GET => Some(self.parameter_get(&h, p)),
                MMAL_MSG_TYPE_BUFFER_FROM_HOST | MMAL_MSG_TYPE_BUFFER_FROM_HOST_ZEROLEN => self.buffer_from_host(&h, p),
                MMAL_MSG_TYPE_PORT_FLUSH => Some(self.port_flush(&h, p)),
                _ => Some(error_reply(&h, MMAL_MSG_STATUS_ENOSYS)),
            }
        };
        if let Some(out) = out {
            self.kernel.push_message(self.handle, out);
        }
        true
    }

    /// Whether the host sends a bulk transmit behind this message: the data
    /// of a BUFFER_FROM_HOST it announces (an input's, neither inline nor zero
    /// copy), or the 8-byte dummy behind BUFFER_FROM_HOST_ZEROLEN (libmmal's
    /// empty EOS buffer, which carries no data of its own) and PORT_FLUSH,
    /// which keeps the message behind the data sent before it.
    /// (Zero copy goes by the port's ZERO_COPY, as the firmware's does: a
    /// zero-copy input's data is in its block.)
    fn bulk_follows(&mut self, h: &mmal_msg_header, p: &[u8]) -> bool {
        match h.type_ {
            MMAL_MSG_TYPE_BUFFER_FROM_HOST_ZEROLEN | MMAL_MSG_TYPE_PORT_FLUSH => true,
            MMAL_MSG_TYPE_BUFFER_FROM_HOST => {
                let b: mmal_msg_buffer_from_host = read(p);
                p.len() >= BUFFER_FIXED
                    && b.drvbuf.magic == MMAL_MAGIC
                    && b.buffer_header.length > 0
                    && b.payload_in_message == 0
                    && !self.zero_copy(&b.drvbuf)
            }
            _ => false,
        }
    }

    /// Whether the port a buffer names has ZERO_COPY on (false for no such
    /// port): the firmware goes by the port, not by the buffer's message.
    fn zero_copy(&mut self, drvbuf: &mmal_msg_driver_buffer) -> bool {
        self.port(drvbuf.component_handle, drvbuf.port_handle).is_some_and(|(c, i)| c.ports[i].zero_copy)
    }

    fn create(&mut self, h: &mmal_msg_header, p: &[u8]) -> Vec<u8> {
        if p.len() < std::mem::size_of::<mmal_msg_component_create>() {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        }
        let client_component = word(p, 0);
        let raw = &p[4..4 + MMAL_WORKER_COMPONENT_NAME_SIZE as usize];
        let Some(nul) = raw.iter().position(|&c| c == 0) else {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        };
        if self.comps.len() >= VCHIQ_MMAL_MAX_COMPONENTS as usize {
            return error_reply(h, MMAL_MSG_STATUS_ENOMEM);
        }
        // The host sends the name without the "vc." prefix.
        let mut name = b"vc.".to_vec();
        name.extend_from_slice(&raw[..nul]);
        let name = CString::new(name).expect("no NUL before `nul`");
        let Some(handle) = COMPONENT_HANDLES.lock().take() else {
            return error_reply(h, MMAL_MSG_STATUS_ENOMEM);
        };
        let comp = match emu::create(&name) {
            Ok(c) => c,
            Err(status) => {
                COMPONENT_HANDLES.lock().give_back(handle);
                return error_reply(h, status);
            }
        };
        // A port's handle is its place in the component, counted from 1
        // (control, inputs, outputs, clocks): libmmal refuses to send a
        // buffer to a port handle over 255.
        let ports: Vec<PortEntry> = comp
            .ports()
            .into_iter()
            .enumerate()
            .map(|(place, (ty, index, port))| PortEntry {
                handle: place as u32 + 1,
                wire_type: ty,
                index,
                port,
                userdata: 0,
                pool: None,
                tunnel: None,
                tunnelled: false,
                ctx: None,
                zero_copy: false,
            })
            .collect();
        let count = |t| ports.iter().filter(|p| p.wire_type == t).count() as u32;
        let r = mmal_msg_component_create_reply {
            status: 0,
            component_handle: handle,
            input_num: count(sys::MMAL_PORT_TYPE_INPUT),
            output_num: count(sys::MMAL_PORT_TYPE_OUTPUT),
            clock_num: count(sys::MMAL_PORT_TYPE_CLOCK),
        };
        COMPONENT_IDS.lock().insert(handle, comp.id());
        self.comps.insert(handle, CompEntry { comp, client_component, control_service: h.control_service, ports });
        reply(h, 0, &bytes(&r))
    }

    fn component_op(&mut self, h: &mmal_msg_header, p: &[u8]) -> Vec<u8> {
        if p.len() < 4 {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        }
        let handle = word(p, 0);
        let Some(entry) = self.comps.get(&handle) else {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        };
        let status = match h.type_ {
            MMAL_MSG_TYPE_COMPONENT_ENABLE => entry.comp.enable(),
            MMAL_MSG_TYPE_COMPONENT_DISABLE => entry.comp.disable(),
            _ => {
                // Its tunnels go first, as the firmware's destroy
                // disconnects every port.
                let status = self.untunnel(Some(handle));
                if status != 0 {
                    return reply(h, status, &status.to_le_bytes());
                }
                let entry = self.comps.remove(&handle).expect("checked");
                match destroy(entry) {
                    Ok(()) => {
                        forget_component(handle);
                        0
                    }
                    Err((status, entry)) => {
                        self.comps.insert(handle, *entry);
                        status
                    }
                }
            }
        };
        reply(h, status, &status.to_le_bytes())
    }

    /// The component and port named by handles; `None` if either is
    /// unknown or the port is not the component's.
    fn port(&mut self, comp: u32, port: u32) -> Option<(&mut CompEntry, usize)> {
        let c = self.comps.get_mut(&comp)?;
        let i = c.ports.iter().position(|p| p.handle == port)?;
        Some((c, i))
    }

    fn info_reply(h: &mmal_msg_header, status: u32, comp: u32, pe: &PortEntry) -> Vec<u8> {
        let info = pe.port.info();
        let mut r: mmal_msg_port_info_get_reply = zeroed();
        r.status = status;
        r.component_handle = comp;
        r.port_type = pe.wire_type;
        r.port_index = pe.index;
        r.found = 1;
        r.port_handle = pe.handle;
        r.port = wire_port(&info, comp, pe);
        r.format = mmal_msg_es_format {
            type_: info.format.type_,
            encoding: info.format.encoding,
            encoding_variant: info.format.encoding_variant,
            es: 0,
            bitrate: info.format.bitrate,
            flags: info.format.flags,
            extradata_size: info.format.extradata_size,
            extradata: 0,
        };
        let v = info.format.video;
        r.es.video = mmal_msg_video_format {
            width: v[0],
            height: v[1],
            crop: mmal_msg_rect { x: v[2] as i32, y: v[3] as i32, width: v[4] as i32, height: v[5] as i32 },
            frame_rate: mmal_msg_rational { num: v[6] as i32, den: v[7] as i32 },
            par: mmal_msg_rational { num: v[8] as i32, den: v[9] as i32 },
            color_space: v[10],
        };
        r.extradata = info.format.extradata;
        reply(h, status, &bytes(&r))
    }

    fn port_info_get(&mut self, h: &mmal_msg_header, p: &[u8]) -> Vec<u8> {
        if p.len() < 12 {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        }
        let (comp, ty, index) = (word(p, 0), word(p, 4), word(p, 8));
        let Some(c) = self.comps.get(&comp) else {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        };
        match c.ports.iter().find(|pe| pe.wire_type == ty && pe.index == index) {
            Some(pe) => Self::info_reply(h, 0, comp, pe),
            None => error_reply(h, MMAL_MSG_STATUS_ENOENT),
        }
    }

    fn port_info_set(&mut self, h: &mmal_msg_header, p: &[u8]) -> Vec<u8> {
        if p.len() < std::mem::size_of::<mmal_msg_port_info_set>() {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        }
        let (comp, ty, index) = (word(p, 0), word(p, 4), word(p, 8));
        let Some(c) = self.comps.get_mut(&comp) else {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        };
        let Some(pe) = c.ports.iter_mut().find(|pe| pe.wire_type == ty && pe.index == index) else {
            return error_reply(h, MMAL_MSG_STATUS_ENOENT);
        };
        let port: mmal_msg_port = read(&p[12..]);
        let fmt: mmal_msg_es_format = read(&p[12 + 64..]);
        let es_off = 12 + 64 + 32;
        let extradata_size = fmt.extradata_size;
        if extradata_size > MMAL_FORMAT_EXTRADATA_MAX_SIZE {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        }
        let mut video = [0u32; 11];
        for (i, w) in video.iter_mut().enumerate() {
            *w = word(p, es_off + 4 * i);
        }
        let mut extradata = [0u8; 128];
        extradata.copy_from_slice(&p[es_off + 44..es_off + 44 + 128]);
        let f = Format {
            type_: fmt.type_,
            encoding: fmt.encoding,
            encoding_variant: fmt.encoding_variant,
            bitrate: fmt.bitrate,
            flags: fmt.flags,
            video,
            extradata,
            extradata_size,
        };
        let before = pe.port.info();
        // The firmware's core decides, as it does for a local client: a
        // format may be committed on an enabled port, or on the input of a
        // tunnel (picamera re-commits its splitter's input while the camera
        // is connected to it).
        let status = pe.port.set(port.buffer_num, port.buffer_size, &f);
        if status != 0 {
            // Refused: the port keeps the format it had.
            pe.port.set(before.buffer_num, before.buffer_size, &before.format);
        }
        if status == 0 {
            pe.userdata = port.userdata;
        }
        let pe = &*pe;
        Self::info_reply(h, status, comp, pe)
    }

    fn port_action(&mut self, h: &mmal_msg_header, p: &[u8]) -> Vec<u8> {
        if p.len() < 12 {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        }
        let (comp, port, action) = (word(p, 0), word(p, 4), word(p, 8));
        let needed = match action {
            MMAL_MSG_PORT_ACTION_TYPE_ENABLE
            | MMAL_MSG_PORT_ACTION_TYPE_DISABLE
            | MMAL_MSG_PORT_ACTION_TYPE_FLUSH
            | MMAL_MSG_PORT_ACTION_TYPE_SET_REQUIREMENTS => std::mem::size_of::<mmal_msg_port_action_port>(),
            MMAL_MSG_PORT_ACTION_TYPE_CONNECT | MMAL_MSG_PORT_ACTION_TYPE_DISCONNECT => {
                std::mem::size_of::<mmal_msg_port_action_handle>()
            }
            _ => return error_reply(h, MMAL_MSG_STATUS_EINVAL),
        };
        if p.len() < needed {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        }
        let kernel = Arc::clone(&self.kernel);
        let service = self.handle;
        let peer_handles = (word(p, 12), word(p, 16));
        let peer = if action == MMAL_MSG_PORT_ACTION_TYPE_CONNECT {
            match self.port(peer_handles.0, peer_handles.1) {
                Some((c, i)) => {
                    let pe = &c.ports[i];
                    if pe.wire_type != sys::MMAL_PORT_TYPE_INPUT || pe.tunnelled || pe.ctx.is_some() {
                        return error_reply(h, MMAL_MSG_STATUS_EINVAL);
                    }
                    Some(pe.port)
                }
                None => return error_reply(h, MMAL_MSG_STATUS_EINVAL),
            }
        } else {
            None
        };
        let Some((c, i)) = self.port(comp, port) else {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        };
        let (client_component, control_service) = (c.client_component, c.control_service);
        let pe = &mut c.ports[i];
        if pe.tunnelled {
            match action {
                // Told its buffer requirements before its output is
                // enabled, as libmmal tells it.
                MMAL_MSG_PORT_ACTION_TYPE_SET_REQUIREMENTS => {}
                // libmmal's core enables a tunnel's input before its output
                // and disables it after (`mmal_port_enable`,
                // `mmal_port_disable`), each with its own PORT_ACTION; the
                // kernel's driver sends only the output's. Both work on the
                // firmware: the input's are taken, and the tunnel follows
                // its output.
                MMAL_MSG_PORT_ACTION_TYPE_ENABLE | MMAL_MSG_PORT_ACTION_TYPE_DISABLE => {
                    return reply(h, 0, &0u32.to_le_bytes());
                }
                _ => return error_reply(h, MMAL_MSG_STATUS_EINVAL),
            }
        }
        let mut connected = None;
        let mut disconnected = None;
        let status = match action {
            MMAL_MSG_PORT_ACTION_TYPE_ENABLE => {
                let wp: mmal_msg_port = read(&p[12..]);
                enable(pe, &wp, kernel, service, client_component, control_service)
            }
            MMAL_MSG_PORT_ACTION_TYPE_DISABLE => {
                let status = disable(pe);
                if status == 0
                    && kernel.state.lock().disable_after_bulks
                    && !kernel.wait_vc_data_taken(service, DISABLE_BULK_WAIT)
                {
                    log::warn!("vchiq-emu: the host has not taken the data sent before a DISABLE; answered anyway");
                }
                status
            }
            MMAL_MSG_PORT_ACTION_TYPE_FLUSH => pe.port.flush(),
            MMAL_MSG_PORT_ACTION_TYPE_SET_REQUIREMENTS => {
                // The buffer count and size of the port struct (libmmal
                // sends the input's before enabling a tunnel from its
                // output), on a disabled port, at least its minimums.
                let wp: mmal_msg_port = read(&p[12..]);
                let info = pe.port.info();
                if info.is_enabled != 0 || wp.buffer_num < info.buffer_num_min || wp.buffer_size < info.buffer_size_min
                {
                    MMAL_MSG_STATUS_EINVAL
                } else {
                    pe.port.set_buffers(wp.buffer_num, wp.buffer_size);
                    0
                }
            }
            MMAL_MSG_PORT_ACTION_TYPE_CONNECT => {
                if pe.tunnel.is_some() || pe.ctx.is_some() || pe.wire_type != sys::MMAL_PORT_TYPE_OUTPUT {
                    MMAL_MSG_STATUS_EINVAL
                } else {
                    match pe.port.connect(peer.expect("looked up")) {
                        Ok(t) => {
                            pe.tunnel = Some((t, peer_handles));
                            connected = Some(peer_handles);
                            0
                        }
                        Err(s) => s,
                    }
                }
            }
            _ => match pe.tunnel.take() {
                None => MMAL_MSG_STATUS_ENOTCONN,
                Some((t, peer)) => match t.destroy() {
                    Ok(()) => {
                        disconnected = Some(peer);
                        0
                    }
                    Err((s, t)) => {
                        pe.tunnel = Some((t, peer));
                        s
                    }
                },
            },
        };
        for (peer, tunnelled) in [(connected, true), (disconnected, false)] {
            if let Some((c, i)) = peer.and_then(|(comp, port)| self.port(comp, port)) {
                c.ports[i].tunnelled = tunnelled;
            }
        }
        reply(h, status, &status.to_le_bytes())
    }

    /// PORT_FLUSH, libmmal's flush of a port that has sent data by bulk:
    /// a buffer message whose `drvbuf` names the port, followed by an
    /// 8-byte dummy bulk. The VideoCore takes the dummy first, so the
    /// flush comes after every buffer whose data was on its way, then
    /// flushes as PORT_ACTION FLUSH does.
    fn port_flush(&mut self, h: &mmal_msg_header, p: &[u8]) -> Vec<u8> {
        // The dummy follows whatever the message holds: taken first, or it
        // would be taken as the next buffer's data.
        if self.kernel.vc_receive(self.handle, BULK_WAIT).is_none() {
            return error_reply(h, MMAL_MSG_STATUS_EIO);
        }
        if p.len() < std::mem::size_of::<mmal_msg_driver_buffer>() {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        }
        let drvbuf = read::<mmal_msg_buffer_from_host>(p).drvbuf;
        if drvbuf.magic != MMAL_MAGIC {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        }
        let status = match self.port(drvbuf.component_handle, drvbuf.port_handle) {
            // The far end of a tunnel is driven through its output.
            Some((c, i)) if !c.ports[i].tunnelled => c.ports[i].port.flush(),
            _ => MMAL_MSG_STATUS_EINVAL,
        };
        reply(h, status, &status.to_le_bytes())
    }

    fn parameter_set(&mut self, h: &mmal_msg_header, p: &[u8]) -> Vec<u8> {
        if p.len() < 16 {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        }
        let (comp, port, id, size) = (word(p, 0), word(p, 4), word(p, 8), word(p, 12) as usize);
        if !(8..=8 + MMAL_WORKER_PORT_PARAMETER_SPACE_BYTES as usize).contains(&size) || p.len() < 16 + size - 8 {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        }
        let Some((c, i)) = self.port(comp, port) else {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        };
        let value = &p[16..16 + size - 8];
        let pe = &mut c.ports[i];
        let status = pe.port.parameter_set(id, value);
        if status == 0 && id == sys::MMAL_PARAMETER_ZERO_COPY {
            // MMAL_PARAMETER_BOOLEAN_T: its `enable`.
            pe.zero_copy = value.get(..4).is_some_and(|w| w != [0; 4]);
        }
        let mut out = status.to_le_bytes().to_vec();
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(size as u32).to_le_bytes());
        reply(h, status, &out)
    }

    fn parameter_get(&mut self, h: &mmal_msg_header, p: &[u8]) -> Vec<u8> {
        if p.len() < 16 {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        }
        let (comp, port, id, size) = (word(p, 0), word(p, 4), word(p, 8), word(p, 12) as usize);
        if !(8..=8 + MMAL_WORKER_PORT_PARAMETER_SPACE_BYTES as usize).contains(&size) {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        }
        let Some((c, i)) = self.port(comp, port) else {
            return error_reply(h, MMAL_MSG_STATUS_EINVAL);
        };
        let input = &p[16.min(p.len())..];
        let (status, got, value) = c.ports[i].port.parameter_get(id, size - 8, input);
        let mut out = status.to_le_bytes().to_vec();
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&got.to_le_bytes());
        if status == 0 {
            out.extend_from_slice(&value);
        }
        reply(h, status, &out)
    }

    /// BUFFER_FROM_HOST: no reply unless the buffer is refused, in which
    /// case it comes straight back (BUFFER_TO_HOST, the status in the
    /// header, length 0, neither EOS nor an inline payload, the host's
    /// other words unchanged but those the firmware writes itself).
    fn buffer_from_host(&mut self, h: &mmal_msg_header, p: &[u8]) -> Option<Vec<u8>> {
        let mut b: mmal_msg_buffer_from_host = read(p);
        // libmmal never writes `is_zero_copy`, `has_reference` or
        // `drvbuf_ref` (its message is not cleared, `mmal_vc_port_send`):
        // the firmware goes by the port's ZERO_COPY, takes no reference,
        // and writes its own into what it sends back (libmmal reads both:
        // a reference's header is replicated, a zero-copy buffer's data is
        // not received by bulk).
        b.is_zero_copy = i32::from(self.zero_copy(&b.drvbuf));
        b.has_reference = 0;
        b.drvbuf_ref = mmal_msg_driver_buffer { magic: 0, component_handle: 0, port_handle: 0, client_context: 0 };
        let b = b;
        let kernel = Arc::clone(&self.kernel);
        let service = self.handle;
        let zerolen = h.type_ == MMAL_MSG_TYPE_BUFFER_FROM_HOST_ZEROLEN;
        // What follows by bulk is taken even when the buffer is refused:
        // left queued, it would be taken as the next buffer's.
        let announced = self.bulk_follows(h, p);
        let refuse = |status: u32, data_taken: bool| {
            if announced && !data_taken {
                let _ = kernel.vc_receive(service, BULK_WAIT);
            }
            let mut back = b;
            back.buffer_header.length = 0;
            // Nothing follows it, and libmmal, which reads no status,
            // would wait for an EOS buffer's dummy bulk or copy a payload
            // from the message: neither is said.
            back.buffer_header.flags &= !MMAL_MSG_BUFFER_FLAG_EOS;
            back.payload_in_message = 0;
            let rh = mmal_msg_header { type_: MMAL_MSG_TYPE_BUFFER_TO_HOST, status, padding: 0, ..*h };
            let mut m = bytes(&rh);
            m.extend_from_slice(&bytes(&back));
            Some(m)
        };
        if p.len() < BUFFER_FIXED
            || b.drvbuf.magic != MMAL_MAGIC
            || b.payload_in_message > MMAL_VC_SHORT_DATA
            || p.len() < BUFFER_FIXED + b.payload_in_message as usize
        {
            return refuse(MMAL_MSG_STATUS_EINVAL, false);
        }
        let Some((c, i)) = self.port(b.drvbuf.component_handle, b.drvbuf.port_handle) else {
            return refuse(MMAL_MSG_STATUS_EINVAL, false);
        };
        let pe = &mut c.ports[i];
        let (Some(pool), Some(ctx)) = (pe.pool.as_ref(), pe.ctx.as_ref()) else {
            return refuse(MMAL_MSG_STATUS_EINVAL, false);
        };
        let info = pe.port.info();
        let bh = b.buffer_header;
        let input = pe.wire_type == sys::MMAL_PORT_TYPE_INPUT;
        if info.is_enabled == 0 || bh.alloc_size < info.buffer_size || bh.length > bh.alloc_size {
            return refuse(MMAL_MSG_STATUS_EINVAL, false);
        }
        let zero_copy = pe.zero_copy;
        let block = if zero_copy {
            // `data` must be a live block of at least `alloc_size` bytes.
            if b.payload_in_message != 0 {
                return refuse(MMAL_MSG_STATUS_EINVAL, false);
            }
            // Taken each time, mapped or not: a block freed since it was
            // mapped is refused, as is one the CPU holds now, or that the
            // VideoCore has already (in another buffer).
            let hold = match emu::block_hold(bh.data, bh.alloc_size as usize) {
                Ok(hold) => hold,
                Err(false) => return refuse(MMAL_MSG_STATUS_EINVAL, false),
                Err(true) => return refuse(MMAL_MSG_STATUS_EFAULT, false),
            };
            // An input's data lies inside the buffer.
            if input && bh.offset.checked_add(bh.length).is_none_or(|end| end > bh.alloc_size) {
                return refuse(MMAL_MSG_STATUS_EINVAL, false);
            }
            match ctx.mapping(bh.data) {
                Some(m) => Some((m, hold)),
                None => return refuse(MMAL_MSG_STATUS_EFAULT, false),
            }
        } else {
            None
        };
        if zerolen {
            // The dummy, in order; a ZEROLEN buffer with data of its own
            // outside a zero-copy block is malformed.
            if kernel.vc_receive(service, BULK_WAIT).is_none() {
                return refuse(MMAL_MSG_STATUS_EIO, true);
            }
            if !zero_copy && (bh.length != 0 || b.payload_in_message != 0) {
                return refuse(MMAL_MSG_STATUS_EINVAL, true);
            }
        }
        if announced && !input && !zerolen {
            // An output's length is no data for it (libmmal sends a length
            // it was given by bulk all the same): taken and dropped, or it
            // would be taken as the next buffer's. (A ZEROLEN buffer's
            // dummy was taken above.)
            let _ = kernel.vc_receive(service, BULK_WAIT);
        }
        let data = if !input || bh.length == 0 || zero_copy {
            // A zero-copy input's data is in its block already.
            Vec::new()
        } else if b.payload_in_message > 0 {
            if bh.length > b.payload_in_message {
                return refuse(MMAL_MSG_STATUS_EINVAL, false);
            }
            b.short_data[..bh.length as usize].to_vec()
        } else {
            // The data follows by bulk transmit, in order.
            match kernel.vc_receive(service, BULK_WAIT) {
                Some(mut d) if d.len() >= bh.length as usize => {
                    d.truncate(bh.length as usize);
                    d
                }
                _ => return refuse(MMAL_MSG_STATUS_EIO, true),
            }
        };
        let Some(header) = pool.get() else {
            // More buffers than the port was enabled with.
            return refuse(MMAL_MSG_STATUS_ENOSPC, true);
        };
        let mut lent = None;
        let (offset, length) = match block {
            Some((mapping, hold)) => {
                // The component works in the block itself (its size was
                // checked by the hold).
                // SAFETY: the mapping and the hold live in the header's
                // pre-release callback until its last release, and the
                // hold keeps the host's CPU side off the block meanwhile.
                unsafe { header.lend(mapping.as_ptr(), bh.alloc_size, Box::new((mapping, hold))) };
                if input {
                    (bh.offset, bh.length)
                } else {
                    (0, 0)
                }
            }
            None => {
                // An output's frame goes out in memory lent for the buffer
                // (an earlier frame's, as a rule), its data sent from it
                // with no copy when the buffer comes back; its pool's own
                // payloads count against the VideoCore's memory and are
                // left untouched.
                let need = (info.buffer_size as usize).max(data.len());
                if !input || (header.alloc_size() as usize) < need {
                    let memory = if input { None } else { ctx.spare.take(need) };
                    match header.lend_vec(need, memory) {
                        Some(back) if !input => lent = Some(LentOut { back, data: header.data_ptr(), size: need }),
                        Some(_) => {}
                        None => {
                            header.release();
                            return refuse(MMAL_MSG_STATUS_ENOMEM, true);
                        }
                    }
                }
                let n = header.write(&data);
                (0, if input { n as u32 } else { 0 })
            }
        };
        header.set(offset, length, bh.flags, bh.pts, bh.dts);
        ctx.inflight.lock().insert(header.key(), Sent { header: *h, buffer: b, lent });
        let status = pe.port.send(header);
        if status != 0 {
            // Refused: the header is still the service's (its release
            // gives back a lent block, kept for the next frames).
            let sent = ctx.inflight.lock().remove(&header.key());
            header.release();
            if let Some(memory) = sent.and_then(|s| s.lent).and_then(|l| take(&l.back)) {
                ctx.spare.put(memory);
            }
            return refuse(status, true);
        }
        None
    }

    /// Takes down the tunnels from or into component `of` (every tunnel
    /// for `None`): disabled, destroyed, their input free again. Stops at
    /// the first failure (its status), leaving that tunnel as it is.
    fn untunnel(&mut self, of: Option<u32>) -> u32 {
        let mut freed = Vec::new();
        for (&owner, c) in self.comps.iter_mut() {
            for pe in &mut c.ports {
                let Some((t, peer)) = pe.tunnel.take() else { continue };
                if of.is_some_and(|h| h != peer.0 && h != owner) {
                    pe.tunnel = Some((t, peer));
                    continue;
                }
                let _ = t.disable();
                match t.destroy() {
                    Ok(()) => freed.push(peer),
                    Err((status, t)) => {
                        pe.tunnel = Some((t, peer));
                        return status;
                    }
                }
            }
        }
        for (comp, port) in freed {
            if let Some((c, i)) = self.port(comp, port) {
                c.ports[i].tunnelled = false;
            }
        }
        0
    }

    fn teardown(&mut self) {
        let status = self.untunnel(None);
        if status != 0 {
            log::warn!("vchiq-emu: a tunnel could not be destroyed: status {status}");
        }
        for (handle, entry) in self.comps.drain() {
            match destroy(entry) {
                Ok(()) => forget_component(handle),
                Err((status, _)) => {
                    // Left alive (leaked) rather than freed under a
                    // callback; its handle is not given out again.
                    COMPONENT_IDS.lock().remove(&handle);
                    log::warn!("vchiq-emu: component {handle:#x} could not be destroyed: status {status}");
                }
            }
        }
    }
}

fn wire_port(info: &PortInfo, comp: u32, pe: &PortEntry) -> mmal_msg_port {
    mmal_msg_port {
        priv_: 0,
        name: 0,
        type_: pe.wire_type,
        index: info.index,
        index_all: info.index_all,
        is_enabled: info.is_enabled,
        format: 0,
        buffer_num_min: info.buffer_num_min,
        buffer_size_min: info.buffer_size_min,
        buffer_alignment_min: info.buffer_alignment_min,
        buffer_num_recommended: info.buffer_num_recommended,
        buffer_size_recommended: info.buffer_size_recommended,
        buffer_num: info.buffer_num,
        buffer_size: info.buffer_size,
        component: comp,
        userdata: pe.userdata,
        capabilities: info.capabilities,
    }
}

/// PORT_ACTION ENABLE: a tunnel's output enables the tunnel; any other
/// port gets a pool for the host's buffers (control ports none: their
/// buffers are events) and the service's callback.
fn enable(
    pe: &mut PortEntry,
    wp: &mmal_msg_port,
    kernel: Arc<Kernel>,
    service: ServiceHandle,
    client_component: u32,
    control_service: u32,
) -> u32 {
    if pe.ctx.is_some() {
        return MMAL_MSG_STATUS_EINVAL;
    }
    if let Some((t, _)) = &pe.tunnel {
        return t.enable();
    }
    let before = pe.port.info();
    if before.is_enabled != 0 {
        return MMAL_MSG_STATUS_EINVAL;
    }
    if pe.wire_type != sys::MMAL_PORT_TYPE_CONTROL && wp.buffer_num != 0 {
        pe.port.set_buffers(wp.buffer_num, wp.buffer_size);
    }
    let info = pe.port.info();
    // A refused enable leaves the port's buffer counts as they were.
    let undo = |pe: &PortEntry| pe.port.set_buffers(before.buffer_num, before.buffer_size);
    let pool = if pe.wire_type == sys::MMAL_PORT_TYPE_CONTROL {
        None
    } else {
        // A zero-copy port's buffers each bring their block: its headers
        // need no payload of their own.
        let payload = if pe.zero_copy { 0 } else { info.buffer_size };
        match Pool::create(info.buffer_num, payload) {
            Some(p) => Some(p),
            None => {
                undo(pe);
                return MMAL_MSG_STATUS_ENOMEM;
            }
        }
    };
    let ctx = Arc::new(PortCtx {
        kernel,
        service,
        client_component,
        control_service,
        wire_type: pe.wire_type,
        index: pe.index,
        inflight: Mutex::new(HashMap::new()),
        mapped: Mutex::new(HashMap::new()),
        spare: Arc::new(Spare::new(info.buffer_num as usize)),
    });
    PORTS.lock().insert(pe.port.key(), Arc::clone(&ctx));
    let status = pe.port.enable();
    if status != 0 {
        PORTS.lock().remove(&pe.port.key());
        if let Some(p) = pool {
            p.destroy();
        }
        undo(pe);
        return status;
    }
    pe.pool = pool;
    pe.ctx = Some(ctx);
    0
}

/// PORT_ACTION DISABLE: every buffer the port holds comes back to the
/// host (length 0), then its pool is destroyed.
fn disable(pe: &mut PortEntry) -> u32 {
    if let Some((t, _)) = &pe.tunnel {
        return t.disable();
    }
    if pe.ctx.is_none() {
        return MMAL_MSG_STATUS_EINVAL;
    }
    let status = pe.port.disable();
    if status != 0 {
        return status;
    }
    PORTS.lock().remove(&pe.port.key());
    pe.ctx = None;
    if let Some(p) = pe.pool.take() {
        p.destroy();
    }
    0
}

/// Disables what the service enabled and releases the component; on
/// failure the entry is handed back.
fn destroy(mut entry: CompEntry) -> Result<(), (u32, Box<CompEntry>)> {
    for pe in &mut entry.ports {
        if let Some((t, peer)) = pe.tunnel.take() {
            let _ = t.disable();
            if let Err((status, t)) = t.destroy() {
                pe.tunnel = Some((t, peer));
                return Err((status, Box::new(entry)));
            }
        }
    }
    for pe in &mut entry.ports {
        if pe.ctx.is_some() {
            let status = disable(pe);
            if status != 0 {
                return Err((status, Box::new(entry)));
            }
        }
    }
    let CompEntry { comp, client_component, control_service, ports } = entry;
    comp.release()
        .map_err(|(status, comp)| (status, Box::new(CompEntry { comp, client_component, control_service, ports })))
}

/// A buffer or event from a port a service enabled (on the component's
/// thread): to the host as BUFFER_TO_HOST (its data by bulk) or
/// EVENT_TO_HOST.
fn on_buffer(port: Port, header: Header) {
    let ctx = PORTS.lock().get(&port.key()).cloned();
    let Some(ctx) = ctx else {
        header.release();
        return;
    };
    let info = header.info();
    if info.cmd != 0 {
        let event = event_message(&ctx, header, info.cmd);
        header.release();
        ctx.kernel.push_message(ctx.service, event);
        return;
    }
    let sent = ctx.inflight.lock().remove(&header.key());
    let Some(Sent { header: h, buffer: mut b, lent }) = sent else {
        header.release();
        return;
    };
    let zero_copy = b.is_zero_copy != 0;
    let mut flags = info.flags;
    // Whether the header's data is still in the memory lent to it (a
    // component that pointed it elsewhere has its data copied from there).
    let lent = lent.map(|l| {
        let here = header.data_ptr() == l.data;
        (l, here)
    });
    // An input buffer comes back consumed (empty); a zero-copy output's
    // data is in the host's block already, where the component wrote it;
    // an output's lent memory is sent as it is, once its header lets go
    // (the component's offset and length clamped to it, as to a payload).
    let data: VcBulk = match &lent {
        _ if ctx.wire_type == sys::MMAL_PORT_TYPE_INPUT || zero_copy => Vec::new().into(),
        Some((l, true)) => {
            let start = (info.offset as usize).min(l.size);
            VcBulk {
                bytes: Vec::new(),
                start,
                len: (info.length as usize).min(l.size - start),
                home: Some(Arc::downgrade(&ctx.spare)),
            }
        }
        _ => header.data().into(),
    };
    // The last release: a lent block is given back (see `Header::lend`).
    header.release();
    let data = match lent {
        Some((l, here)) => match (take(&l.back), here) {
            (Some(bytes), true) => VcBulk { bytes, ..data },
            (Some(bytes), false) => {
                ctx.spare.put(bytes);
                data
            }
            (None, false) => data,
            (None, true) => {
                // Still referenced elsewhere: its memory was not given back.
                log::error!("vc-mmal: a buffer's payload is still in use after its last release; sent empty");
                flags |= sys::MMAL_BUFFER_HEADER_FLAG_TRANSMISSION_FAILED;
                Vec::new().into()
            }
        },
        None => data,
    };
    let (offset, length) = match ctx.wire_type {
        sys::MMAL_PORT_TYPE_INPUT => (0, 0),
        _ if zero_copy => {
            let alloc = b.buffer_header.alloc_size;
            let offset = info.offset.min(alloc);
            (offset, info.length.min(alloc - offset))
        }
        _ => (0, data.len as u32),
    };
    let bh = &mut b.buffer_header;
    bh.cmd = 0;
    bh.length = length;
    bh.offset = offset;
    bh.flags = flags;
    bh.pts = info.pts;
    bh.dts = info.dts;
    b.payload_in_message = 0;
    let bulk = if zero_copy {
        // The data is in the host's block already.
        None
    } else if data.len > 0 {
        Some(data)
    } else {
        // No data: the memory is kept for the next frames.
        ctx.spare.put(data.bytes);
        // The host receives an 8-byte dummy for an empty EOS buffer.
        (flags & MMAL_MSG_BUFFER_FLAG_EOS != 0).then(|| vec![0; 8].into())
    };
    let rh = mmal_msg_header { type_: MMAL_MSG_TYPE_BUFFER_TO_HOST, status: 0, padding: 0, ..h };
    let mut m = bytes(&rh);
    m.extend_from_slice(&bytes(&b));
    ctx.kernel.push_with_bulk(ctx.service, m, bulk);
}

fn event_message(ctx: &PortCtx, header: Header, cmd: u32) -> Vec<u8> {
    let mut e: mmal_msg_event_to_host = zeroed();
    e.client_component = ctx.client_component;
    e.port_type = ctx.wire_type;
    e.port_num = ctx.index;
    e.cmd = cmd;
    let data = match header.format_changed() {
        Some(fc) if cmd == MMAL_MSG_EVENT_FORMAT_CHANGED => {
            // The firmware's layout: the four buffer words, a (null) format
            // pointer, then the format, its es and no extradata.
            let mut d = Vec::new();
            for w in [fc.buffer_size_min, fc.buffer_num_min, fc.buffer_size_recommended, fc.buffer_num_recommended, 0] {
                d.extend_from_slice(&w.to_le_bytes());
            }
            let f = fc.format;
            for w in [f.type_, f.encoding, f.encoding_variant, 0, f.bitrate, f.flags, 0, 0] {
                d.extend_from_slice(&w.to_le_bytes());
            }
            for w in f.video {
                d.extend_from_slice(&w.to_le_bytes());
            }
            d
        }
        _ => header.data(),
    };
    let n = data.len().min(MMAL_WORKER_EVENT_SPACE as usize);
    e.length = n as u32;
    e.data[..n].copy_from_slice(&data[..n]);
    let h = mmal_msg_header {
        magic: MMAL_MAGIC,
        type_: MMAL_MSG_TYPE_EVENT_TO_HOST,
        control_service: ctx.control_service,
        context: 0,
        status: 0,
        padding: 0,
    };
    let mut m = bytes(&h);
    m.extend_from_slice(&bytes(&e));
    m
}

/// A test's fault injection: the next message the service handles makes
/// it panic.
#[cfg(test)]
pub(crate) static FAIL_NEXT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
