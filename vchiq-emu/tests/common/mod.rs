//! Talking MMAL to the emulated device: real wire messages, laid out by
//! `vchiq-sys`'s structs (their sizes and field offsets), through a
//! `vchiq::Connection`.
#![allow(dead_code, unreachable_pub)]

use std::mem::{offset_of, size_of};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};
use vchiq::{Connection, Fourcc, Options, Service, ServiceEvent, ServiceOptions};
use vchiq_emu::EmulatedVchiq;
use vchiq_sys::*;

/// The tests of a file share the emulator's counters: one at a time.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    mmal_emu::set_pacing(mmal_emu::Pacing::Unlimited);
    LOCK.lock()
}

pub fn w(m: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(m[off..off + 4].try_into().unwrap())
}

pub fn put(m: &mut [u8], off: usize, v: u32) {
    m[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

pub const H: usize = size_of::<mmal_msg_header>();
pub const TYPE: usize = offset_of!(mmal_msg_header, type_);
pub const CONTEXT: usize = offset_of!(mmal_msg_header, context);
pub const STATUS: usize = offset_of!(mmal_msg_header, status);

pub fn header(ty: u32, context: u32) -> Vec<u8> {
    let mut h = vec![0u8; H];
    put(&mut h, offset_of!(mmal_msg_header, magic), MMAL_MAGIC);
    put(&mut h, TYPE, ty);
    put(&mut h, offset_of!(mmal_msg_header, control_service), 0x5EC0);
    put(&mut h, CONTEXT, context);
    h
}

pub struct Mmal {
    pub device: Arc<EmulatedVchiq>,
    pub conn: Connection,
    pub svc: Service,
    next: AtomicU32,
}

pub fn options() -> Options {
    let mut o = Options::default();
    o.reply_timeout = Duration::from_secs(10);
    o.bulk_timeout = Duration::from_secs(10);
    o.close_timeout = Duration::from_secs(10);
    o
}

pub fn mmal_options() -> ServiceOptions {
    ServiceOptions::new(Fourcc::MMAL, VC_MMAL_VER as i16, VC_MMAL_MIN_VER as i16).reply_context(|m| {
        let ty = w(m, TYPE);
        (ty != MMAL_MSG_TYPE_BUFFER_TO_HOST && ty != MMAL_MSG_TYPE_EVENT_TO_HOST).then(|| w(m, CONTEXT))
    })
}

pub fn open() -> Mmal {
    let device = Arc::new(EmulatedVchiq::new());
    let conn = Connection::with_device(Arc::clone(&device), options()).expect("connect");
    let svc = conn.open_service(mmal_options()).expect("open mmal");
    Mmal { device, conn, svc, next: AtomicU32::new(1) }
}

impl Mmal {
    /// A request and its reply, whose header is checked: same magic, type
    /// and context.
    pub fn request(&self, ty: u32, payload: &[u8]) -> Vec<u8> {
        let ctx = self.next.fetch_add(1, Ordering::Relaxed);
        let mut m = header(ty, ctx);
        m.extend_from_slice(payload);
        self.request_raw(&m, ctx)
    }

    pub fn request_raw(&self, m: &[u8], ctx: u32) -> Vec<u8> {
        let r = self.svc.request(&[m], ctx).expect("a reply");
        assert_eq!(w(&r, 0), MMAL_MAGIC);
        assert_eq!(w(&r, TYPE), w(m, TYPE), "reply type");
        assert_eq!(w(&r, CONTEXT), ctx);
        r
    }

    /// The status of a reply whose payload starts with one (the header
    /// carries the same).
    pub fn status(r: &[u8]) -> u32 {
        assert_eq!(w(r, H), w(r, STATUS), "payload and header status agree");
        w(r, H)
    }

    pub fn next_message(&self) -> Vec<u8> {
        match self.svc.next_event(Duration::from_secs(10)).expect("a message from the VideoCore") {
            ServiceEvent::Message(m) => m,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    pub fn create(&self, name: &str) -> (u32, Vec<u8>) {
        let mut p = vec![0u8; size_of::<mmal_msg_component_create>()];
        put(&mut p, offset_of!(mmal_msg_component_create, client_component), 0xC11E);
        let n = offset_of!(mmal_msg_component_create, name);
        p[n..n + name.len()].copy_from_slice(name.as_bytes());
        let r = self.request(MMAL_MSG_TYPE_COMPONENT_CREATE, &p);
        (Self::status(&r), r)
    }

    pub fn component(&self, ty: u32, handle: u32) -> u32 {
        Self::status(&self.request(ty, &handle.to_le_bytes()))
    }

    /// PORT_INFO_GET: the reply.
    pub fn port_info(&self, comp: u32, ty: u32, index: u32) -> Vec<u8> {
        let mut p = vec![0u8; size_of::<mmal_msg_port_info_get>()];
        put(&mut p, 0, comp);
        put(&mut p, 4, ty);
        put(&mut p, 8, index);
        self.request(MMAL_MSG_TYPE_PORT_INFO_GET, &p)
    }

    pub fn port_action(&self, comp: u32, port: u32, action: u32, info_reply: Option<&[u8]>) -> u32 {
        let mut p = vec![0u8; size_of::<mmal_msg_port_action_port>()];
        put(&mut p, offset_of!(mmal_msg_port_action_port, component_handle), comp);
        put(&mut p, offset_of!(mmal_msg_port_action_port, port_handle), port);
        put(&mut p, offset_of!(mmal_msg_port_action_port, action), action);
        if let Some(info) = info_reply {
            let from = H + offset_of!(mmal_msg_port_info_get_reply, port);
            let to = offset_of!(mmal_msg_port_action_port, port);
            p[to..to + 64].copy_from_slice(&info[from..from + 64]);
        }
        Self::status(&self.request(MMAL_MSG_TYPE_PORT_ACTION, &p))
    }

    pub fn parameter_set(&self, comp: u32, port: u32, id: u32, value: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; 16];
        put(&mut p, 0, comp);
        put(&mut p, 4, port);
        put(&mut p, 8, id);
        put(&mut p, 12, 8 + value.len() as u32);
        p.extend_from_slice(value);
        self.request(MMAL_MSG_TYPE_PORT_PARAMETER_SET, &p)
    }

    pub fn parameter_get(&self, comp: u32, port: u32, id: u32, size: u32) -> Vec<u8> {
        let mut p = vec![0u8; size_of::<mmal_msg_port_parameter_get>()];
        put(&mut p, 0, comp);
        put(&mut p, 4, port);
        put(&mut p, 8, id);
        put(&mut p, 12, size);
        self.request(MMAL_MSG_TYPE_PORT_PARAMETER_GET, &p)
    }

    pub fn send(&self, m: &[u8]) {
        self.svc.send(&[m]).expect("queued");
    }
}

/// The component's handle in a COMPONENT_CREATE reply (whole message).
pub fn component_handle(reply: &[u8]) -> u32 {
    w(reply, H + offset_of!(mmal_msg_component_create_reply, component_handle))
}

/// The port's handle in a PORT_INFO_GET reply (whole message).
pub fn port_handle(info: &[u8]) -> u32 {
    w(info, H + offset_of!(mmal_msg_port_info_get_reply, port_handle))
}

/// Offsets in a PORT_INFO_GET reply (whole message).
pub fn info_port(field: usize) -> usize {
    H + offset_of!(mmal_msg_port_info_get_reply, port) + field
}
pub fn info_format(field: usize) -> usize {
    H + offset_of!(mmal_msg_port_info_get_reply, format) + field
}
pub fn info_video(field: usize) -> usize {
    H + offset_of!(mmal_msg_port_info_get_reply, es) + field
}

/// A PORT_INFO_SET payload from a PORT_INFO_GET reply (same port, format
/// and es), to edit.
pub fn info_set_from(reply: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; size_of::<mmal_msg_port_info_set>()];
    put(&mut p, 0, w(reply, H + offset_of!(mmal_msg_port_info_get_reply, component_handle)));
    put(&mut p, 4, w(reply, H + offset_of!(mmal_msg_port_info_get_reply, port_type)));
    put(&mut p, 8, w(reply, H + offset_of!(mmal_msg_port_info_get_reply, port_index)));
    let from = H + offset_of!(mmal_msg_port_info_get_reply, port);
    let to = offset_of!(mmal_msg_port_info_set, port);
    let n = size_of::<mmal_msg_port_info_set>() - to;
    p[to..].copy_from_slice(&reply[from..from + n]);
    p
}

pub const SET_PORT: usize = offset_of!(mmal_msg_port_info_set, port);
pub const SET_FORMAT: usize = offset_of!(mmal_msg_port_info_set, format);
pub const SET_ES: usize = offset_of!(mmal_msg_port_info_set, es);

/// A BUFFER_FROM_HOST message (292 bytes, as the wire carries it).
pub fn buffer_msg(comp: u32, port: u32, cookie: u32, alloc_size: u32, length: u32) -> Vec<u8> {
    let mut m = header(MMAL_MSG_TYPE_BUFFER_FROM_HOST, 0);
    let mut b = vec![0u8; MMAL_MSG_BUFFER_TO_HOST_WIRE_SIZE as usize - H];
    let d = offset_of!(mmal_msg_buffer_from_host, drvbuf);
    put(&mut b, d + offset_of!(mmal_msg_driver_buffer, magic), MMAL_MAGIC);
    put(&mut b, d + offset_of!(mmal_msg_driver_buffer, component_handle), comp);
    put(&mut b, d + offset_of!(mmal_msg_driver_buffer, port_handle), port);
    put(&mut b, d + offset_of!(mmal_msg_driver_buffer, client_context), cookie);
    let bh = offset_of!(mmal_msg_buffer_from_host, buffer_header);
    put(&mut b, bh + offset_of!(mmal_msg_buffer_header, alloc_size), alloc_size);
    put(&mut b, bh + offset_of!(mmal_msg_buffer_header, length), length);
    m.extend_from_slice(&b);
    m
}

/// Offsets in a BUFFER_TO_HOST message.
pub const COOKIE: usize =
    H + offset_of!(mmal_msg_buffer_from_host, drvbuf) + offset_of!(mmal_msg_driver_buffer, client_context);
pub const DRV_MAGIC: usize =
    H + offset_of!(mmal_msg_buffer_from_host, drvbuf) + offset_of!(mmal_msg_driver_buffer, magic);
pub const LENGTH: usize =
    H + offset_of!(mmal_msg_buffer_from_host, buffer_header) + offset_of!(mmal_msg_buffer_header, length);
pub const FLAGS: usize =
    H + offset_of!(mmal_msg_buffer_from_host, buffer_header) + offset_of!(mmal_msg_buffer_header, flags);
pub const IS_ZERO_COPY: usize = H + offset_of!(mmal_msg_buffer_from_host, is_zero_copy);

/// Nothing of the emulator left: components, pools, its threads and the
/// service threads (all ended by the time CLOSE_SERVICE returned).
pub fn assert_nothing_left() {
    let u = mmal_emu::usage();
    assert_eq!(u, mmal_emu::Usage::default(), "emulator objects left behind");
    assert_eq!(vchiq_emu::threads(), 0, "service threads left behind");
}
