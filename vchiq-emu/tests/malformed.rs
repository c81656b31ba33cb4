//! Every kind of bad message gets the firmware's answer: an error reply
//! (the status in the header and the reply's first word), a buffer sent
//! straight back with its cookie, or a closed service; never a crash or a
//! hang, and nothing left behind.

mod common;

use std::mem::{offset_of, size_of};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use mmal_sys as sys;
use vchiq::{Connection, Error, Fourcc, ServiceEvent, ServiceOptions};
use vchiq_emu::EmulatedVchiq;
use vchiq_sys::*;

fn camera(m: &Mmal) -> (u32, u32, Vec<u8>) {
    let (status, r) = m.create("ril.camera");
    assert_eq!(status, 0);
    let comp = component_handle(&r);
    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_ENABLE, comp), 0);
    let info = m.port_info(comp, MMAL_MSG_PORT_TYPE_OUTPUT, 0);
    let port = port_handle(&info);
    (comp, port, info)
}

/// Sets the port's buffers to one of `size` bytes and enables it.
fn enable_with_one_buffer(m: &Mmal, comp: u32, port: u32, info: &[u8], size: u32) {
    let mut set = info_set_from(info);
    put(&mut set, SET_PORT + offset_of!(mmal_msg_port, buffer_num), 1);
    put(&mut set, SET_PORT + offset_of!(mmal_msg_port, buffer_size), size);
    let info = m.request(MMAL_MSG_TYPE_PORT_INFO_SET, &set);
    assert_eq!(Mmal::status(&info), 0);
    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, Some(&info)), 0);
}

fn expect_closed(m: &Mmal) {
    match m.svc.next_event(Duration::from_secs(10)) {
        Ok(ServiceEvent::Closed) | Err(Error::ServiceClosed(_)) => {}
        other => panic!("expected the service to close, got {other:?}"),
    }
    assert!(m.svc.is_closed());
    assert_eq!(m.device.open_services(), 0);
}

#[test]
fn a_message_shorter_than_its_header_closes_the_service() {
    let _s = serial();
    let m = open();
    camera(&m);
    m.send(&header(MMAL_MSG_TYPE_GET_VERSION, 1)[..20]);
    expect_closed(&m);
    // The components it had are gone with it.
    drop(m);
    assert_nothing_left();
}

#[test]
fn a_wrong_magic_closes_the_service() {
    let _s = serial();
    let m = open();
    let mut h = header(MMAL_MSG_TYPE_GET_VERSION, 1);
    put(&mut h, 0, 0x1234_5678);
    m.send(&h);
    expect_closed(&m);
    // A closed service takes no more messages.
    assert!(m.svc.send(&[&header(MMAL_MSG_TYPE_GET_VERSION, 2)]).is_err());
    drop(m);
    assert_nothing_left();
}

#[test]
fn a_message_over_512_bytes_is_einval() {
    let _s = serial();
    let m = open();
    let r = m.request(MMAL_MSG_TYPE_GET_VERSION, &[0; 489]);
    assert_eq!(w(&r, STATUS), MMAL_MSG_STATUS_EINVAL);
    // 512 exactly is fine.
    let r = m.request(MMAL_MSG_TYPE_GET_VERSION, &[0; 488]);
    assert_eq!(w(&r, STATUS), 0);
    drop(m);
    assert_nothing_left();
}

#[test]
fn unknown_and_unserved_types_are_enosys() {
    let _s = serial();
    let m = open();
    for ty in [0, MMAL_MSG_TYPE_QUIT, MMAL_MSG_TYPE_GET_STATS, MMAL_MSG_TYPE_OPAQUE_ALLOCATOR, 99, u32::MAX] {
        let r = m.request(ty, &[0; 16]);
        assert_eq!(Mmal::status(&r), MMAL_MSG_STATUS_ENOSYS, "type {ty}");
    }
    drop(m);
    assert_nothing_left();
}

#[test]
fn short_payloads_are_einval_with_a_whole_reply() {
    let _s = serial();
    let m = open();
    let (comp, port, _) = camera(&m);
    let cases: [(u32, usize, usize); 7] = [
        (MMAL_MSG_TYPE_COMPONENT_CREATE, size_of::<mmal_msg_component_create>() - 1, 20),
        (MMAL_MSG_TYPE_COMPONENT_DESTROY, 3, 4),
        (MMAL_MSG_TYPE_PORT_INFO_GET, 11, 292),
        (MMAL_MSG_TYPE_PORT_INFO_SET, size_of::<mmal_msg_port_info_set>() - 1, 292),
        (MMAL_MSG_TYPE_PORT_ACTION, 11, 4),
        (MMAL_MSG_TYPE_PORT_PARAMETER_SET, 15, 12),
        (MMAL_MSG_TYPE_PORT_PARAMETER_GET, 15, 12),
    ];
    for (ty, len, reply) in cases {
        let mut p = vec![0u8; len];
        // Valid handles where they fit, so that only the size is wrong.
        if len >= 8 && ty != MMAL_MSG_TYPE_COMPONENT_CREATE {
            put(&mut p, 0, comp);
            put(&mut p, 4, port);
        }
        let r = m.request(ty, &p);
        assert_eq!(r.len(), H + reply, "type {ty}");
        assert_eq!(Mmal::status(&r), MMAL_MSG_STATUS_EINVAL, "type {ty}");
    }
    // A port action's struct is checked for the action's size.
    let mut p = vec![0u8; size_of::<mmal_msg_port_action_port>() - 1];
    put(&mut p, 0, comp);
    put(&mut p, 4, port);
    put(&mut p, 8, MMAL_MSG_PORT_ACTION_TYPE_ENABLE);
    assert_eq!(Mmal::status(&m.request(MMAL_MSG_TYPE_PORT_ACTION, &p)), MMAL_MSG_STATUS_EINVAL);
    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_DESTROY, comp), 0);
    drop(m);
    assert_nothing_left();
}

#[test]
fn component_names_are_checked() {
    let _s = serial();
    let m = open();
    // No NUL in the 128 bytes.
    let mut p = vec![b'a'; size_of::<mmal_msg_component_create>()];
    put(&mut p, 0, 1);
    assert_eq!(Mmal::status(&m.request(MMAL_MSG_TYPE_COMPONENT_CREATE, &p)), MMAL_MSG_STATUS_EINVAL);
    // Unknown, or with the prefix the host must strip.
    assert_eq!(m.create("ril.nothing").0, MMAL_MSG_STATUS_ENOSYS);
    assert_eq!(m.create("vc.ril.camera").0, MMAL_MSG_STATUS_ENOSYS);
    assert_eq!(mmal_emu::usage().components, 0);
    drop(m);
    assert_nothing_left();
}

#[test]
fn handles_are_checked() {
    let _s = serial();
    let m = open();
    let (comp, port, _) = camera(&m);
    let (status, r) = m.create("null_sink");
    assert_eq!(status, 0);
    let sink = component_handle(&r);
    let bogus = [0, comp ^ 0x8000_0000, port, u32::MAX];
    for h in bogus {
        for ty in [MMAL_MSG_TYPE_COMPONENT_ENABLE, MMAL_MSG_TYPE_COMPONENT_DISABLE, MMAL_MSG_TYPE_COMPONENT_DESTROY] {
            assert_eq!(m.component(ty, h), MMAL_MSG_STATUS_EINVAL, "type {ty} handle {h:#x}");
        }
        assert_eq!(Mmal::status(&m.port_info(h, MMAL_MSG_PORT_TYPE_OUTPUT, 0)), MMAL_MSG_STATUS_EINVAL);
    }
    // Ports that do not exist.
    assert_eq!(Mmal::status(&m.port_info(comp, MMAL_MSG_PORT_TYPE_OUTPUT, 3)), MMAL_MSG_STATUS_ENOENT);
    assert_eq!(Mmal::status(&m.port_info(comp, MMAL_MSG_PORT_TYPE_INPUT, 0)), MMAL_MSG_STATUS_ENOENT);
    assert_eq!(Mmal::status(&m.port_info(comp, 77, 0)), MMAL_MSG_STATUS_ENOENT);
    // A port handle the component does not have (the camera's third
    // output, past the sink's two ports), or a component handle as a port.
    let third = port_handle(&m.port_info(comp, MMAL_MSG_PORT_TYPE_OUTPUT, 2));
    assert_eq!(m.port_action(sink, third, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, None), MMAL_MSG_STATUS_EINVAL);
    assert_eq!(m.port_action(comp, comp, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, None), MMAL_MSG_STATUS_EINVAL);
    assert_eq!(Mmal::status(&m.parameter_set(sink, third, sys::MMAL_PARAMETER_CAPTURE, &[1, 0, 0, 0])), 3);
    assert_eq!(Mmal::status(&m.parameter_get(comp, 0, sys::MMAL_PARAMETER_CAPTURE, 12)), 3);
    // Unknown actions, and a disable of a port never enabled.
    assert_eq!(m.port_action(comp, port, 0, None), MMAL_MSG_STATUS_EINVAL);
    assert_eq!(m.port_action(comp, port, 42, None), MMAL_MSG_STATUS_EINVAL);
    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_DISABLE, None), MMAL_MSG_STATUS_EINVAL);
    // Destroyed means gone.
    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_DESTROY, sink), 0);
    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_DESTROY, sink), MMAL_MSG_STATUS_EINVAL);
    drop(m);
    assert_nothing_left();
}

#[test]
fn parameter_sizes_are_checked() {
    let _s = serial();
    let m = open();
    let (comp, port, _) = camera(&m);
    let mut p = vec![0u8; 16 + 4];
    put(&mut p, 0, comp);
    put(&mut p, 4, port);
    put(&mut p, 8, sys::MMAL_PARAMETER_CAPTURE);
    for size in [0, 7, 8 + 385, u32::MAX] {
        put(&mut p, 12, size);
        let r = m.request(MMAL_MSG_TYPE_PORT_PARAMETER_SET, &p);
        assert_eq!(Mmal::status(&r), MMAL_MSG_STATUS_EINVAL, "set size {size}");
        let r = m.request(MMAL_MSG_TYPE_PORT_PARAMETER_GET, &p[..16]);
        assert_eq!(Mmal::status(&r), MMAL_MSG_STATUS_EINVAL, "get size {size}");
    }
    // A size claiming more value than the message carries.
    put(&mut p, 12, 8 + 8);
    assert_eq!(Mmal::status(&m.request(MMAL_MSG_TYPE_PORT_PARAMETER_SET, &p)), MMAL_MSG_STATUS_EINVAL);
    // Too little room for the value: ENOSPC and the size needed.
    let r = m.parameter_get(comp, port, sys::MMAL_PARAMETER_CAPTURE, 8);
    assert_eq!(Mmal::status(&r), MMAL_MSG_STATUS_ENOSPC);
    assert_eq!(w(&r, H + 8), 12);
    drop(m);
    assert_nothing_left();
}

#[test]
fn port_info_set_is_checked() {
    let _s = serial();
    let m = open();
    let (comp, port, info) = camera(&m);
    let mut set = info_set_from(&info);
    put(&mut set, SET_FORMAT + offset_of!(mmal_msg_es_format, extradata_size), 129);
    assert_eq!(Mmal::status(&m.request(MMAL_MSG_TYPE_PORT_INFO_SET, &set)), MMAL_MSG_STATUS_EINVAL);
    // A format the port does not take: the emulator's EINVAL, nothing
    // changed.
    let mut set = info_set_from(&info);
    put(&mut set, SET_ES + offset_of!(mmal_msg_video_format, width), 0);
    let r = m.request(MMAL_MSG_TYPE_PORT_INFO_SET, &set);
    assert_ne!(Mmal::status(&r), 0);
    let now = m.port_info(comp, MMAL_MSG_PORT_TYPE_OUTPUT, 0);
    let width = info_video(offset_of!(mmal_msg_video_format, width));
    assert_eq!(w(&now, width), w(&info, width), "a refused format leaves the port as it was");
    // While enabled too, as the firmware's core commits a format on an
    // enabled port (research/libmmal-core-behaviour.md: SUCCESS, the
    // requirements recomputed); a bad one is still refused.
    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, Some(&info)), 0);
    let set = info_set_from(&info);
    assert_eq!(Mmal::status(&m.request(MMAL_MSG_TYPE_PORT_INFO_SET, &set)), 0);
    let mut set = info_set_from(&info);
    put(&mut set, SET_ES + offset_of!(mmal_msg_video_format, width), 0);
    assert_ne!(Mmal::status(&m.request(MMAL_MSG_TYPE_PORT_INFO_SET, &set)), 0);
    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, Some(&info)), MMAL_MSG_STATUS_EINVAL);
    drop(m);
    assert_nothing_left();
}

/// A refused buffer: BUFFER_TO_HOST at once, the status in its header,
/// length 0, the cookie unchanged.
fn expect_refused(m: &Mmal, cookie: u32, status: u32) {
    let b = m.next_message();
    assert_eq!(w(&b, 4), MMAL_MSG_TYPE_BUFFER_TO_HOST);
    assert_eq!(w(&b, STATUS), status);
    assert_eq!(w(&b, COOKIE), cookie);
    assert_eq!(w(&b, LENGTH), 0);
}

#[test]
fn bad_buffers_come_straight_back_with_their_cookie() {
    let _s = serial();
    let m = open();
    let (comp, _, _) = camera(&m);
    // The video port: without capture it keeps the buffers it is given.
    let info = m.port_info(comp, MMAL_MSG_PORT_TYPE_OUTPUT, 1);
    let port = port_handle(&info);
    let size = w(&info, info_port(offset_of!(mmal_msg_port, buffer_size_recommended)));
    // A disabled port.
    m.send(&buffer_msg(comp, port, 0xB0_0001, size, 0));
    expect_refused(&m, 0xB0_0001, MMAL_MSG_STATUS_EINVAL);
    enable_with_one_buffer(&m, comp, port, &info, size);
    // The driver buffer's magic.
    let mut b = buffer_msg(comp, port, 0xB0_0002, size, 0);
    put(&mut b, DRV_MAGIC, 0xDEAD);
    m.send(&b);
    expect_refused(&m, 0xB0_0002, MMAL_MSG_STATUS_EINVAL);
    // Handles.
    m.send(&buffer_msg(comp, comp, 0xB0_0003, size, 0));
    expect_refused(&m, 0xB0_0003, MMAL_MSG_STATUS_EINVAL);
    m.send(&buffer_msg(0, port, 0xB0_0004, size, 0));
    expect_refused(&m, 0xB0_0004, MMAL_MSG_STATUS_EINVAL);
    // Too small a buffer, a length past the allocation.
    m.send(&buffer_msg(comp, port, 0xB0_0005, size - 1, 0));
    expect_refused(&m, 0xB0_0005, MMAL_MSG_STATUS_EINVAL);
    m.send(&buffer_msg(comp, port, 0xB0_0006, size, size + 1));
    expect_refused(&m, 0xB0_0006, MMAL_MSG_STATUS_EINVAL);
    // Cut short.
    let b = buffer_msg(comp, port, 0xB0_0007, size, 0);
    m.send(&b[..H + 100]);
    expect_refused(&m, 0xB0_0007, MMAL_MSG_STATUS_EINVAL);
    // More buffers than the port was enabled with (1): the second comes
    // back at once, the first (kept: no capture) with the disable, empty.
    m.send(&buffer_msg(comp, port, 0xB0_0009, size, 0));
    m.send(&buffer_msg(comp, port, 0xB0_000A, size, 0));
    expect_refused(&m, 0xB0_000A, MMAL_MSG_STATUS_ENOSPC);
    // The service still works.
    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_DISABLE, None), 0);
    let b = m.next_message();
    assert_eq!(
        (w(&b, 4), w(&b, COOKIE), w(&b, STATUS), w(&b, LENGTH)),
        (MMAL_MSG_TYPE_BUFFER_TO_HOST, 0xB0_0009, 0, 0)
    );
    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_DESTROY, comp), 0);
    m.svc.close().unwrap();
    assert_nothing_left();
}

#[test]
fn words_libmmal_leaves_unset_are_the_firmwares_own_when_a_buffer_comes_back() {
    let _s = serial();
    let m = open();
    let (comp, port, info) = camera(&m);
    let size = w(&info, info_port(offset_of!(mmal_msg_port, buffer_size_recommended)));
    enable_with_one_buffer(&m, comp, port, &info, size);
    // libmmal's BUFFER_FROM_HOST is not cleared: `is_zero_copy`,
    // `has_reference` and `drvbuf_ref` hold whatever its memory held. The
    // buffer is taken as the port makes it (no ZERO_COPY: an ordinary one),
    // and comes back with the firmware's words (libmmal would replicate a
    // reference's header, and leave a zero-copy buffer's data unreceived).
    let mut b = buffer_msg(comp, port, 0xB1_0001, size, 0);
    let from_host = |field: usize| H + field;
    put(&mut b, IS_ZERO_COPY, 0x5A5A_5A5A);
    put(&mut b, from_host(offset_of!(mmal_msg_buffer_from_host, has_reference)), 0xA5A5_A5A5);
    let drvbuf_ref = from_host(offset_of!(mmal_msg_buffer_from_host, drvbuf_ref));
    for i in 0..4 {
        put(&mut b, drvbuf_ref + 4 * i, 0xDEAD_0000 + i as u32);
    }
    m.send(&b);
    // Kept (no capture) until the disable, which sends it back empty.
    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_DISABLE, None), 0);
    let r = m.next_message();
    assert_eq!(
        (w(&r, 4), w(&r, COOKIE), w(&r, STATUS), w(&r, LENGTH)),
        (MMAL_MSG_TYPE_BUFFER_TO_HOST, 0xB1_0001, 0, 0)
    );
    assert_eq!(w(&r, IS_ZERO_COPY), 0);
    assert_eq!(w(&r, from_host(offset_of!(mmal_msg_buffer_from_host, has_reference))), 0);
    assert_eq!([0, 1, 2, 3].map(|i| w(&r, drvbuf_ref + 4 * i)), [0; 4]);
    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_DESTROY, comp), 0);
    m.svc.close().unwrap();
    assert_nothing_left();
}

#[test]
fn handles_have_the_firmwares_form() {
    let _s = serial();
    let services: Vec<Mmal> = (0..5).map(|_| open()).collect();
    let handle = |m: &Mmal, name: &str| {
        let (status, r) = m.create(name);
        (status, component_handle(&r))
    };
    // Blocks of a vcos pool of 256, as libmmal checks them before it sends
    // a buffer: `(index + 1) << 3`.
    let (status, camera) = handle(&services[0], "ril.camera");
    assert_eq!(status, 0);
    assert!(camera & 7 == 0 && camera >> 3 >= 1 && (camera >> 3) - 1 < 256, "{camera:#x}");
    // Its ports are numbered from 1, in the order control, inputs, outputs.
    let port = |ty, index| {
        let r = services[0].port_info(camera, ty, index);
        port_handle(&r)
    };
    assert_eq!(port(MMAL_MSG_PORT_TYPE_CONTROL, 0), 1);
    assert_eq!([0, 1, 2].map(|i| port(MMAL_MSG_PORT_TYPE_OUTPUT, i)), [2, 3, 4]);
    // The last handle freed is the next one given out, to any service.
    let (_, sink) = handle(&services[0], "null_sink");
    assert_eq!(services[0].component(MMAL_MSG_TYPE_COMPONENT_DESTROY, sink), 0);
    assert_eq!(handle(&services[1], "null_sink"), (0, sink));
    // 256 live components in all (64 a service): the next is refused.
    let mut live = 2;
    for m in &services {
        while live < 256 {
            let (status, h) = handle(m, "null_sink");
            if status == MMAL_MSG_STATUS_ENOMEM {
                break;
            }
            assert_eq!(status, 0);
            assert!(h & 7 == 0 && (h >> 3) - 1 < 256, "{h:#x}");
            live += 1;
        }
    }
    assert_eq!(live, 256);
    assert_eq!(handle(&services[4], "null_sink").0, MMAL_MSG_STATUS_ENOMEM);
    for m in services {
        m.svc.close().unwrap();
    }
    assert_nothing_left();
}

#[test]
fn zerolen_buffers_and_port_flush_take_their_dummy_bulk_even_when_refused() {
    let _s = serial();
    let m = open();
    let (comp, port, info) = camera(&m);
    let size = w(&info, info_port(offset_of!(mmal_msg_port, buffer_size_recommended)));
    enable_with_one_buffer(&m, comp, port, &info, size);
    // Each message goes with its 8-byte dummy behind it, as libmmal sends
    // it; the VideoCore takes the dummy whatever it answers (left queued,
    // it would be taken as the next buffer's data).
    let with_dummy = |message: &[u8]| m.svc.send_with_bulk(&[message], vec![0; 8]).expect("queued");
    let taken = |t: vchiq::BulkTransfer| t.wait_timeout(Duration::from_secs(5)).expect("the dummy taken");
    // PORT_FLUSH: naming no port, EINVAL; naming the port, done.
    for (component, status, context) in [(0, MMAL_MSG_STATUS_EINVAL, 0xF1), (comp, 0, 0xF2)] {
        let mut flush = buffer_msg(component, port, 0, size, 0);
        put(&mut flush, TYPE, MMAL_MSG_TYPE_PORT_FLUSH);
        put(&mut flush, CONTEXT, context);
        let t = with_dummy(&flush);
        // A reply no request waits for.
        let r = match m.svc.next_event(Duration::from_secs(10)).expect("the reply") {
            ServiceEvent::LateReply { message, .. } => message,
            other => panic!("expected the reply, got {other:?}"),
        };
        assert_eq!((w(&r, TYPE), w(&r, CONTEXT)), (MMAL_MSG_TYPE_PORT_FLUSH, context));
        assert_eq!(Mmal::status(&r), status, "PORT_FLUSH of component {component:#x}");
        taken(t);
    }
    // Over 512 bytes: refused, the dummy taken all the same.
    let mut long = buffer_msg(comp, port, 0, size, 0);
    long.resize(600, 0);
    put(&mut long, TYPE, MMAL_MSG_TYPE_PORT_FLUSH);
    put(&mut long, CONTEXT, 0xF3);
    let t = with_dummy(&long);
    let r = match m.svc.next_event(Duration::from_secs(10)).expect("the reply") {
        ServiceEvent::LateReply { message, .. } => message,
        other => panic!("expected the reply, got {other:?}"),
    };
    assert_eq!((w(&r, CONTEXT), w(&r, STATUS)), (0xF3, MMAL_MSG_STATUS_EINVAL));
    taken(t);
    // BUFFER_FROM_HOST_ZEROLEN with data of its own (outside a zero-copy
    // block): refused. It comes back without EOS and with no payload in
    // its message: libmmal reads no status, and would wait for an EOS
    // buffer's dummy bulk (taking the next transfer for it) or copy the
    // payload as returned data.
    let mut zerolen = buffer_msg(comp, port, 0xB1_0001, size, 4);
    put(&mut zerolen, TYPE, MMAL_MSG_TYPE_BUFFER_FROM_HOST_ZEROLEN);
    put(&mut zerolen, FLAGS, sys::MMAL_BUFFER_HEADER_FLAG_EOS | sys::MMAL_BUFFER_HEADER_FLAG_KEYFRAME);
    let inline = H + offset_of!(mmal_msg_buffer_from_host, payload_in_message);
    put(&mut zerolen, inline, 4);
    let t = with_dummy(&zerolen);
    let r = m.next_message();
    assert_eq!(
        (w(&r, TYPE), w(&r, COOKIE), w(&r, STATUS)),
        (MMAL_MSG_TYPE_BUFFER_TO_HOST, 0xB1_0001, MMAL_MSG_STATUS_EINVAL)
    );
    assert_eq!((w(&r, LENGTH), w(&r, FLAGS), w(&r, inline)), (0, sys::MMAL_BUFFER_HEADER_FLAG_KEYFRAME, 0));
    taken(t);
    // An empty one is an empty buffer: the output's comes back with a
    // frame, its data by bulk, in order.
    let mut zerolen = buffer_msg(comp, port, 0xB1_0002, size, 0);
    put(&mut zerolen, TYPE, MMAL_MSG_TYPE_BUFFER_FROM_HOST_ZEROLEN);
    let t = with_dummy(&zerolen);
    let b = m.next_message();
    assert_eq!((w(&b, TYPE), w(&b, STATUS), w(&b, COOKIE)), (MMAL_MSG_TYPE_BUFFER_TO_HOST, 0, 0xB1_0002));
    let len = w(&b, LENGTH).next_multiple_of(4) as usize;
    assert!(len > 0, "a frame");
    m.svc.bulk_receive(vec![0; len], len).unwrap().wait().unwrap();
    taken(t);
    // An output buffer sent with a length has it sent by bulk behind it
    // (libmmal sends a length it was given, whatever the port): taken and
    // dropped, and the buffer comes back with a frame as any other.
    let t = m.svc.send_with_bulk(&[&buffer_msg(comp, port, 0xB1_0003, size, 16)], vec![0x5A; 16]).expect("queued");
    taken(t);
    let b = m.next_message();
    assert_eq!((w(&b, STATUS), w(&b, COOKIE)), (0, 0xB1_0003));
    let len = w(&b, LENGTH).next_multiple_of(4) as usize;
    let frame = m.svc.bulk_receive(vec![0; len], len).unwrap().wait().unwrap();
    assert!(len > 16 && frame.iter().any(|&x| x != 0x5A), "a frame, not the host's bytes");
    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_DISABLE, None), 0);
    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_DESTROY, comp), 0);
    m.svc.close().unwrap();
    assert_nothing_left();
}

#[test]
fn other_services_and_versions_are_refused() {
    let _s = serial();
    let device = Arc::new(EmulatedVchiq::new());
    let conn = Connection::with_device(Arc::clone(&device), options()).unwrap();
    for (fourcc, v, min) in [(*b"nope", 15, 10), (*b"mmal", 9, 3), (*b"mmal", 20, 17)] {
        let err = conn.open_service(ServiceOptions::new(Fourcc::new(fourcc), v, min)).unwrap_err();
        assert!(matches!(err, Error::ServiceUnavailable { .. }), "{err:?}");
        // The kernel's answer when the VideoCore refuses an open.
        assert_eq!(err.raw_os_error(), Some(5), "EIO");
    }
    assert_eq!(device.open_services(), 0);
    drop(conn);
    drop(device);
    assert_nothing_left();
}
