//! The camera through the emulated /dev/vchiq, as a client on a Pi drives
//! it: create, read the ports, set a format, enable, stream buffers by
//! bulk, parameters, disable, destroy; nothing left behind.

mod common;

use std::mem::offset_of;

use common::*;
use mmal_sys as sys;
use vchiq_sys::*;

#[test]
fn version_is_the_firmwares() {
    let _s = serial();
    let m = open();
    let r = m.request(MMAL_MSG_TYPE_GET_VERSION, &[]);
    assert_eq!(r.len(), H + 16);
    assert_eq!(w(&r, H + offset_of!(mmal_msg_version, major)), 16);
    assert_eq!(w(&r, H + offset_of!(mmal_msg_version, minor)), 1);
    assert_eq!(w(&r, H + offset_of!(mmal_msg_version, minimum)), 10);
    m.svc.close().unwrap();
    assert_nothing_left();
}

#[test]
fn camera_streams_i420_frames_by_bulk() {
    let _s = serial();
    let m = open();
    let (status, r) = m.create("ril.camera");
    assert_eq!(status, 0);
    assert_eq!(r.len(), H + 20);
    let comp = component_handle(&r);
    assert_ne!(comp, 0);
    assert_eq!(w(&r, H + offset_of!(mmal_msg_component_create_reply, input_num)), 0);
    assert_eq!(w(&r, H + offset_of!(mmal_msg_component_create_reply, output_num)), 3);
    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_ENABLE, comp), 0);

    // The video port: its handle, then a format.
    let info = m.port_info(comp, MMAL_MSG_PORT_TYPE_OUTPUT, 1);
    assert_eq!(info.len(), H + 292);
    assert_eq!(Mmal::status(&info), 0);
    let port = port_handle(&info);
    assert_ne!(port, 0);
    assert_eq!(w(&info, info_port(offset_of!(mmal_msg_port, type_))), MMAL_MSG_PORT_TYPE_OUTPUT);
    assert_eq!(w(&info, info_port(offset_of!(mmal_msg_port, component))), comp);

    let mut set = info_set_from(&info);
    put(&mut set, SET_FORMAT + offset_of!(mmal_msg_es_format, encoding), sys::MMAL_ENCODING_I420);
    let v = |f| SET_ES + f;
    put(&mut set, v(offset_of!(mmal_msg_video_format, width)), 640);
    put(&mut set, v(offset_of!(mmal_msg_video_format, height)), 480);
    let crop = offset_of!(mmal_msg_video_format, crop);
    put(&mut set, v(crop + offset_of!(mmal_msg_rect, x)), 0);
    put(&mut set, v(crop + offset_of!(mmal_msg_rect, y)), 0);
    put(&mut set, v(crop + offset_of!(mmal_msg_rect, width)), 640);
    put(&mut set, v(crop + offset_of!(mmal_msg_rect, height)), 480);
    let fr = offset_of!(mmal_msg_video_format, frame_rate);
    put(&mut set, v(fr + offset_of!(mmal_msg_rational, num)), 30);
    put(&mut set, v(fr + offset_of!(mmal_msg_rational, den)), 1);
    put(&mut set, SET_PORT + offset_of!(mmal_msg_port, userdata), 0x0DA7A);
    let r = m.request(MMAL_MSG_TYPE_PORT_INFO_SET, &set);
    assert_eq!(Mmal::status(&r), 0);
    // Committed: I420 640x480 needs 640 * 480 * 3 / 2 bytes a buffer.
    let frame = 640 * 480 * 3 / 2;
    assert_eq!(w(&r, info_format(offset_of!(mmal_msg_es_format, encoding))), sys::MMAL_ENCODING_I420);
    assert_eq!(w(&r, info_video(offset_of!(mmal_msg_video_format, width))), 640);
    assert_eq!(w(&r, info_port(offset_of!(mmal_msg_port, buffer_size_min))), frame);
    assert_eq!(w(&r, info_port(offset_of!(mmal_msg_port, userdata))), 0x0DA7A);

    // Three buffers of the minimum size.
    let mut set = info_set_from(&r);
    put(&mut set, SET_PORT + offset_of!(mmal_msg_port, buffer_num), 3);
    put(&mut set, SET_PORT + offset_of!(mmal_msg_port, buffer_size), frame);
    let info = m.request(MMAL_MSG_TYPE_PORT_INFO_SET, &set);
    assert_eq!(Mmal::status(&info), 0);
    assert_eq!(w(&info, info_port(offset_of!(mmal_msg_port, buffer_num))), 3);

    // CAPTURE on, read back.
    let r = m.parameter_set(comp, port, sys::MMAL_PARAMETER_CAPTURE, &1u32.to_le_bytes());
    assert_eq!(Mmal::status(&r), 0);
    let r = m.parameter_get(comp, port, sys::MMAL_PARAMETER_CAPTURE, 12);
    assert_eq!(Mmal::status(&r), 0);
    assert_eq!(w(&r, H + 4), sys::MMAL_PARAMETER_CAPTURE);
    assert_eq!(w(&r, H + 8), 12);
    assert_eq!(w(&r, H + 12), 1);

    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, Some(&info)), 0);
    let info = m.port_info(comp, MMAL_MSG_PORT_TYPE_OUTPUT, 1);
    assert_eq!(w(&info, info_port(offset_of!(mmal_msg_port, is_enabled))), 1);

    // Buffers go in with their cookies; frames come back with them, their
    // data by bulk.
    let cookies = [0xC0DE_0001u32, 0xC0DE_0002, 0xC0DE_0003];
    for c in cookies {
        m.send(&buffer_msg(comp, port, c, frame, 0));
    }
    let copying = vchiq_emu::bulk_copy_time();
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut frames = 0;
    while frames < 6 {
        let b = m.next_message();
        assert_eq!(w(&b, 4), MMAL_MSG_TYPE_BUFFER_TO_HOST);
        assert_eq!(b.len(), MMAL_MSG_BUFFER_TO_HOST_WIRE_SIZE as usize);
        assert_eq!(w(&b, STATUS), 0);
        assert_eq!(w(&b, DRV_MAGIC), MMAL_MAGIC);
        let cookie = w(&b, COOKIE);
        assert!(cookies.contains(&cookie), "cookie {cookie:#x} echoed");
        let len = w(&b, LENGTH);
        assert_eq!(len, frame, "a whole I420 frame");
        let size = len.next_multiple_of(4) as usize;
        let data = m.svc.bulk_receive(vec![0; size], size).unwrap().wait().unwrap();
        assert_eq!(data.len(), size);
        assert!(data[..len as usize].iter().any(|&b| b != 0), "a picture, not zeros");
        // The frames go out in memory used again (the VideoCore's spare
        // memory): each is new, never an earlier one's data.
        let picture = data[..len as usize].to_vec();
        assert!(!seen.contains(&picture), "frame {frames} repeats an earlier one");
        seen.push(picture);
        frames += 1;
        m.send(&buffer_msg(comp, port, cookie, frame, 0));
    }

    assert!(vchiq_emu::bulk_copy_time() > copying, "the emulated DMA's copies are timed");

    // Disable: the three buffers the port holds come back, empty. A frame
    // finished before the disable comes with its data, which the host
    // receives while the disable waits for it (the firmware answers once
    // the host has it).
    let mut back: Vec<u32> = std::thread::scope(|s| {
        let m = &m;
        let disable = s.spawn(move || m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_DISABLE, None));
        let mut back = Vec::new();
        while back.len() < 3 {
            let b = m.next_message();
            assert_eq!(w(&b, 4), MMAL_MSG_TYPE_BUFFER_TO_HOST);
            if w(&b, LENGTH) != 0 {
                let size = w(&b, LENGTH).next_multiple_of(4) as usize;
                m.svc.bulk_receive(vec![0; size], size).unwrap().wait().unwrap();
            }
            back.push(w(&b, COOKIE));
        }
        assert_eq!(disable.join().unwrap(), 0);
        back
    });
    back.sort_unstable();
    assert_eq!(back, cookies);

    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_DISABLE, comp), 0);
    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_DESTROY, comp), 0);
    assert_eq!(mmal_emu::usage().components, 0);
    m.svc.close().unwrap();
    assert_nothing_left();
}

#[test]
fn closing_the_service_destroys_what_it_left() {
    let _s = serial();
    let m = open();
    let (status, r) = m.create("ril.camera");
    assert_eq!(status, 0);
    let comp = component_handle(&r);
    let info = m.port_info(comp, MMAL_MSG_PORT_TYPE_OUTPUT, 0);
    let port = port_handle(&info);
    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, Some(&info)), 0);
    let (_, other) = m.create("null_sink");
    assert_eq!(Mmal::status(&other), 0);
    assert_eq!(mmal_emu::usage().components, 2);
    m.svc.close().unwrap();
    assert_nothing_left();
}

#[test]
fn dropping_the_device_ends_its_services() {
    let _s = serial();
    let m = open();
    let (status, _) = m.create("ril.camera");
    assert_eq!(status, 0);
    let Mmal { device, conn, svc, .. } = m;
    drop(svc);
    drop(conn);
    drop(device);
    assert_nothing_left();
}

#[test]
fn service_and_component_cycles_leave_nothing() {
    let _s = serial();
    let m = open();
    for _ in 0..20 {
        let svc = m.conn.open_service(mmal_options()).unwrap();
        let mut p = vec![0u8; std::mem::size_of::<mmal_msg_component_create>()];
        p[4..14].copy_from_slice(b"ril.camera");
        let mut msg = header(MMAL_MSG_TYPE_COMPONENT_CREATE, 1);
        msg.extend_from_slice(&p);
        let r = svc.request(&[&msg], 1).unwrap();
        assert_eq!(w(&r, H), 0);
        svc.close().unwrap();
        assert_eq!(mmal_emu::usage().components, 0);
    }
    // Each closed service was freed, and its thread ended.
    assert_eq!(m.device.services(), 1);
    m.svc.close().unwrap();
    assert_eq!(m.device.services(), 0);
    assert_nothing_left();
}
