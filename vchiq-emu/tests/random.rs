//! Random messages: valid ones of every type the firmware serves, then
//! mutated (words set to edge values, bytes flipped, cut short, grown,
//! now and then a broken magic), with the bulk data each one announces
//! sent behind it as a host would. After each, a GET_VERSION must be
//! answered (the service thread is alive and in step) or the service must
//! have closed (then a new one is opened); every buffer the VideoCore
//! returns has its data received, in order. At the end nothing is left.
//!
//! `VCHIQ_EMU_RANDOM_SEED` and `VCHIQ_EMU_RANDOM_ROUNDS` change the run
//! (the seed is printed, to replay a failure).

mod common;

use std::mem::{offset_of, size_of};
use std::time::Duration;

use common::*;
use mmal_sys as sys;
use vchiq::{Error, ServiceEvent};
use vchiq_sys::*;

/// A small, fixed generator (xorshift64*): the same seed, the same run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// What the test knows of the VideoCore's side: components and their
/// ports' handles, as the replies told.
#[derive(Default)]
struct Known {
    components: Vec<u32>,
    ports: Vec<(u32, u32)>,
    /// The last PORT_INFO_GET reply, for a PORT_INFO_SET.
    info: Option<Vec<u8>>,
    /// Ports whose ZERO_COPY a PARAMETER_SET turned on, by (component,
    /// port) handle: their buffers' data is never sent by bulk.
    zero_copy: std::collections::HashSet<(u32, u32)>,
}

const TYPES: [u32; 12] = [
    MMAL_MSG_TYPE_GET_VERSION,
    MMAL_MSG_TYPE_COMPONENT_CREATE,
    MMAL_MSG_TYPE_COMPONENT_DESTROY,
    MMAL_MSG_TYPE_COMPONENT_ENABLE,
    MMAL_MSG_TYPE_COMPONENT_DISABLE,
    MMAL_MSG_TYPE_PORT_INFO_GET,
    MMAL_MSG_TYPE_PORT_INFO_SET,
    MMAL_MSG_TYPE_PORT_ACTION,
    MMAL_MSG_TYPE_PORT_PARAMETER_SET,
    MMAL_MSG_TYPE_PORT_PARAMETER_GET,
    MMAL_MSG_TYPE_BUFFER_FROM_HOST,
    MMAL_MSG_TYPE_PORT_FLUSH,
];

/// A valid message of a random type, to what the test knows.
fn valid(rng: &mut Rng, known: &Known, context: u32) -> Vec<u8> {
    let comp = if known.components.is_empty() { 1 } else { rng.pick(&known.components) };
    let (pcomp, port) = if known.ports.is_empty() { (comp, 1) } else { rng.pick(&known.ports) };
    let ty = rng.pick(&TYPES);
    let mut m = header(ty, context);
    let mut p = match ty {
        MMAL_MSG_TYPE_COMPONENT_CREATE => {
            let mut p = vec![0u8; size_of::<mmal_msg_component_create>()];
            put(&mut p, offset_of!(mmal_msg_component_create, client_component), 0xC11E);
            let name = rng.pick(&["ril.camera", "ril.video_encode", "ril.image_encode", "ril.isp", "null_sink", "x"]);
            let at = offset_of!(mmal_msg_component_create, name);
            p[at..at + name.len()].copy_from_slice(name.as_bytes());
            p
        }
        MMAL_MSG_TYPE_COMPONENT_DESTROY | MMAL_MSG_TYPE_COMPONENT_ENABLE | MMAL_MSG_TYPE_COMPONENT_DISABLE => {
            comp.to_le_bytes().to_vec()
        }
        MMAL_MSG_TYPE_PORT_INFO_GET => {
            let mut p = vec![0u8; size_of::<mmal_msg_port_info_get>()];
            put(&mut p, offset_of!(mmal_msg_port_info_get, component_handle), comp);
            put(&mut p, offset_of!(mmal_msg_port_info_get, port_type), rng.below(5) as u32);
            put(&mut p, offset_of!(mmal_msg_port_info_get, index), rng.below(3) as u32);
            p
        }
        MMAL_MSG_TYPE_PORT_INFO_SET => match &known.info {
            Some(info) => info_set_from(info),
            None => vec![0u8; size_of::<mmal_msg_port_info_set>()],
        },
        MMAL_MSG_TYPE_PORT_ACTION => {
            let mut p = vec![0u8; size_of::<mmal_msg_port_action_port>()];
            put(&mut p, offset_of!(mmal_msg_port_action_port, component_handle), pcomp);
            put(&mut p, offset_of!(mmal_msg_port_action_port, port_handle), port);
            put(&mut p, offset_of!(mmal_msg_port_action_port, action), 1 + rng.below(7) as u32);
            p
        }
        MMAL_MSG_TYPE_PORT_PARAMETER_SET | MMAL_MSG_TYPE_PORT_PARAMETER_GET => {
            let id = rng.pick(&[sys::MMAL_PARAMETER_CAPTURE, sys::MMAL_PARAMETER_ZERO_COPY, 0x1_0000 + 3, 0]);
            let mut p = vec![0u8; 16 + 4];
            put(&mut p, 0, pcomp);
            put(&mut p, 4, port);
            put(&mut p, 8, id);
            put(&mut p, 12, 12);
            put(&mut p, 16, rng.below(2) as u32);
            p
        }
        MMAL_MSG_TYPE_BUFFER_FROM_HOST => {
            let length = rng.pick(&[0, 0, 16, 4096]);
            let mut b = buffer_msg(pcomp, port, rng.next() as u32 | 1, 1 << 20, length);
            if rng.below(3) == 0 {
                // An empty EOS buffer, as libmmal sends it.
                put(&mut b, TYPE, MMAL_MSG_TYPE_BUFFER_FROM_HOST_ZEROLEN);
                put(&mut b, LENGTH, 0);
                put(&mut b, FLAGS, sys::MMAL_BUFFER_HEADER_FLAG_EOS);
            }
            put(&mut b, CONTEXT, context);
            return b;
        }
        MMAL_MSG_TYPE_PORT_FLUSH => {
            let mut b = buffer_msg(pcomp, port, 0, 0, 0);
            put(&mut b, TYPE, MMAL_MSG_TYPE_PORT_FLUSH);
            put(&mut b, CONTEXT, context);
            return b;
        }
        _ => Vec::new(),
    };
    m.append(&mut p);
    m
}

/// Mutates `m`: words set to edge values, bytes flipped, cut or grown; the
/// magic broken now and then.
fn mutate(rng: &mut Rng, m: &mut Vec<u8>, known: &Known) {
    let handle = known.components.first().copied().unwrap_or(1);
    for _ in 0..1 + rng.below(3) {
        match rng.below(10) {
            0..=4 if m.len() > H => {
                // A word after the magic, set to an edge value.
                let at = (4 + rng.below(m.len() - 7)) & !3;
                let v = rng.pick(&[0, 1, 2, 3, 0x7FFF_FFFF, 0x8000_0000, u32::MAX, handle, handle + 1, 513, 4096]);
                put(m, at.max(4), v);
            }
            5 | 6 if m.len() > 4 => {
                let at = 4 + rng.below(m.len() - 4);
                m[at] ^= 1 << rng.below(8);
            }
            7 => {
                let keep = H.min(m.len()) + rng.below(m.len().saturating_sub(H) + 1);
                m.truncate(keep);
            }
            8 => {
                let grow = rng.below(600);
                m.extend((0..grow).map(|_| rng.next() as u8));
            }
            _ => {}
        }
    }
    if rng.below(60) == 0 {
        // Broken: the service closes.
        if rng.below(2) == 0 {
            put(m, 0, 0xBAD0_BAD0);
        } else {
            m.truncate(rng.below(H));
        }
    }
}

/// The bytes a host sends by bulk behind `m`, as the firmware's rule has
/// it (see `vchiq-emu`'s `bulk_follows`: zero copy goes by the port, not
/// by the message); `None` if none.
fn announced(m: &[u8], known: &Known) -> Option<usize> {
    if m.len() < H {
        return None;
    }
    let p = &m[H..];
    let fixed = size_of::<mmal_msg_buffer_from_host>() - MMAL_VC_SHORT_DATA as usize;
    match w(m, TYPE) {
        MMAL_MSG_TYPE_BUFFER_FROM_HOST_ZEROLEN | MMAL_MSG_TYPE_PORT_FLUSH => Some(8),
        MMAL_MSG_TYPE_BUFFER_FROM_HOST if p.len() >= fixed => {
            let word = |at: usize| w(m, H + at);
            let drv = offset_of!(mmal_msg_buffer_from_host, drvbuf) + offset_of!(mmal_msg_driver_buffer, magic);
            let length =
                word(offset_of!(mmal_msg_buffer_from_host, buffer_header) + offset_of!(mmal_msg_buffer_header, length));
            let inline = word(offset_of!(mmal_msg_buffer_from_host, payload_in_message));
            let handles = offset_of!(mmal_msg_buffer_from_host, drvbuf);
            let port = (
                word(handles + offset_of!(mmal_msg_driver_buffer, component_handle)),
                word(handles + offset_of!(mmal_msg_driver_buffer, port_handle)),
            );
            (word(drv) == MMAL_MAGIC && length > 0 && inline == 0 && !known.zero_copy.contains(&port))
                .then(|| (length as usize).next_multiple_of(4))
        }
        _ => None,
    }
}

/// Takes what the VideoCore sent meanwhile: replies (learning handles),
/// buffers (receiving their data, in order) and events.
fn drain(mm: &Mmal, known: &mut Known) -> bool {
    loop {
        match mm.svc.next_event(Duration::ZERO) {
            Ok(ServiceEvent::Message(r)) => learn(mm, &r, known),
            Ok(ServiceEvent::Closed) | Err(Error::ServiceClosed(_)) => return false,
            Ok(_) => {}
            Err(Error::Timeout { .. }) => return true,
            Err(e) => panic!("the service failed: {e}"),
        }
    }
}

fn learn(mm: &Mmal, r: &[u8], known: &mut Known) {
    if r.len() < H || w(r, STATUS) != 0 {
        return;
    }
    match w(r, TYPE) {
        MMAL_MSG_TYPE_COMPONENT_CREATE if r.len() >= H + 20 => {
            let handle = component_handle(r);
            // A handle given again: its ports are new.
            known.zero_copy.retain(|p| p.0 != handle);
            known.components.push(handle);
        }
        MMAL_MSG_TYPE_PORT_INFO_GET if r.len() >= 292 => {
            let comp = w(r, H + offset_of!(mmal_msg_port_info_get_reply, component_handle));
            let port = port_handle(r);
            known.ports.push((comp, port));
            known.info = Some(r.to_vec());
        }
        MMAL_MSG_TYPE_BUFFER_TO_HOST if r.len() >= LENGTH + 4 => {
            let (length, flags) = (w(r, LENGTH), w(r, FLAGS));
            let inline = w(r, H + offset_of!(mmal_msg_buffer_from_host, payload_in_message));
            let size = match length {
                0 if flags & sys::MMAL_BUFFER_HEADER_FLAG_EOS != 0 => 8,
                0 => 0,
                n => n.next_multiple_of(4) as usize,
            };
            if size > 0 && inline == 0 && w(r, IS_ZERO_COPY) == 0 {
                let got = mm.svc.bulk_receive(vec![0; size], size).and_then(|t| t.wait());
                assert!(got.is_ok(), "the data of a buffer the VideoCore returned: {got:?}");
            }
        }
        _ => {}
    }
}

/// Whether the service closes within a few seconds (its close may not
/// have reached the connection when a send was refused).
fn closes_soon(mm: &Mmal) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        match mm.svc.next_event(Duration::from_millis(100)) {
            Ok(ServiceEvent::Closed) | Err(Error::ServiceClosed(_)) => return true,
            _ => {}
        }
    }
    mm.svc.is_closed()
}

#[test]
fn random_messages_get_answers_or_a_closed_service_never_a_crash_or_a_hang() {
    let _s = serial();
    let seed = std::env::var("VCHIQ_EMU_RANDOM_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5EED_CAFE_u64);
    let rounds: usize = std::env::var("VCHIQ_EMU_RANDOM_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1500);
    eprintln!("seed {seed}, {rounds} rounds");
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut mm = open();
    let mut known = Known::default();
    let (mut closes, mut answered, mut made, mut refused) = (0, 0, 0, 0);
    for round in 0..rounds {
        let context = 0x1000_0000 + round as u32;
        let before = known.components.len();
        let mut m = valid(&mut rng, &known, context);
        if rng.below(10) != 0 {
            mutate(&mut rng, &mut m, &known);
        }
        // A message the firmware answers (anything but a buffer, with its
        // header whole) is a request for its own context: the answer is
        // learnt from. Others are followed by a GET_VERSION.
        let ty = if m.len() >= H { w(&m, TYPE) } else { 0 };
        let answered_types = !matches!(
            ty,
            MMAL_MSG_TYPE_BUFFER_FROM_HOST
                | MMAL_MSG_TYPE_BUFFER_FROM_HOST_ZEROLEN
                | MMAL_MSG_TYPE_BUFFER_TO_HOST
                | MMAL_MSG_TYPE_EVENT_TO_HOST
        );
        let request = m.len() >= H && w(&m, 0) == MMAL_MAGIC && answered_types && announced(&m, &known).is_none();
        let sent = match announced(&m, &known) {
            // Data too large to send: that message is not sent.
            Some(size) if size > 1 << 20 => {
                refused += 1;
                continue;
            }
            Some(size) => mm.svc.send_with_bulk(&[&m], vec![0xA5; size]).map(drop),
            None if request => match mm.svc.request_timeout(&[&m], w(&m, CONTEXT), Duration::from_secs(20)) {
                Ok(r) => {
                    assert_eq!((w(&r, 0), w(&r, TYPE)), (MMAL_MAGIC, ty), "round {round}: the answer's header");
                    learn(&mm, &r, &mut known);
                    // A ZERO_COPY the port took (its `enable`, the first
                    // word of a value of at least 4 bytes).
                    if ty == MMAL_MSG_TYPE_PORT_PARAMETER_SET
                        && w(&r, STATUS) == 0
                        && m.len() >= H + 20
                        && w(&m, H + 8) == sys::MMAL_PARAMETER_ZERO_COPY
                        && w(&m, H + 12) >= 12
                    {
                        let port = (w(&m, H), w(&m, H + 4));
                        if w(&m, H + 16) != 0 {
                            known.zero_copy.insert(port);
                        } else {
                            known.zero_copy.remove(&port);
                        }
                    }
                    Ok(())
                }
                Err(e) => Err(e),
            },
            None => mm.svc.send(&[&m]),
        };
        let alive = match sent {
            Ok(()) => {
                // In step: the next request is answered after this one.
                let ping = header(MMAL_MSG_TYPE_GET_VERSION, 0x7000_0000 + round as u32);
                match mm.svc.request_timeout(&[&ping], 0x7000_0000 + round as u32, Duration::from_secs(20)) {
                    Ok(r) => {
                        assert_eq!(w(&r, STATUS), 0, "round {round}: GET_VERSION refused");
                        answered += 1;
                        true
                    }
                    Err(Error::ServiceClosed(_)) => false,
                    // Refused by the driver: the service is closing.
                    Err(_) if closes_soon(&mm) => false,
                    Err(e) => panic!("round {round} (seed {seed}): no answer after {:02x?}: {e}", m),
                }
            }
            // Refused by the connection itself (too long for a message).
            Err(Error::InvalidArgument(_)) => {
                refused += 1;
                true
            }
            Err(Error::ServiceClosed(_)) => false,
            Err(_) if closes_soon(&mm) => false,
            Err(e) => panic!("round {round} (seed {seed}): sending {:02x?}: {e}", m),
        };
        let alive = alive && drain(&mm, &mut known);
        made += known.components.len() - before;
        if !alive {
            assert!(mm.svc.is_closed(), "round {round}: closed");
            closes += 1;
            drop(mm);
            assert_nothing_left();
            mm = open();
            known = Known::default();
        }
    }
    eprintln!("{answered} answered in step, {closes} services closed, {refused} not sent; {made} components made");
    // The run reached the firmware's handlers, not only its first checks.
    assert!(answered > rounds / 2 && closes > 0 && made > 0, "too little exercised");
    drop(mm);
    assert_nothing_left();
}
