//! Zero copy, input buffers (inline and by bulk), events, tunnels: the
//! other paths of the MMAL service.

mod common;

use std::mem::offset_of;

use common::*;
use mmal_sys as sys;
use vchiq_sys::*;

fn create(m: &Mmal, name: &str) -> u32 {
    let (status, r) = m.create(name);
    assert_eq!(status, 0, "{name}");
    let comp = component_handle(&r);
    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_ENABLE, comp), 0);
    comp
}

/// Sets `num` buffers of the recommended size; the reply.
fn set_buffers(m: &Mmal, info: &[u8], num: u32) -> Vec<u8> {
    let size = w(info, info_port(offset_of!(mmal_msg_port, buffer_size_recommended)));
    let mut set = info_set_from(info);
    put(&mut set, SET_PORT + offset_of!(mmal_msg_port, buffer_num), num);
    put(&mut set, SET_PORT + offset_of!(mmal_msg_port, buffer_size), size);
    let r = m.request(MMAL_MSG_TYPE_PORT_INFO_SET, &set);
    assert_eq!(Mmal::status(&r), 0);
    r
}

/// The emulator's heap payload bytes now (signed, for differences).
fn heap_payload_bytes() -> i64 {
    mmal_emu::usage().heap_payload_bytes as i64
}

const B: usize = H + offset_of!(mmal_msg_buffer_from_host, buffer_header);
const DATA: usize = B + offset_of!(mmal_msg_buffer_header, data);
const PAYLOAD_IN_MESSAGE: usize = H + offset_of!(mmal_msg_buffer_from_host, payload_in_message);
const SHORT_DATA: usize = H + offset_of!(mmal_msg_buffer_from_host, short_data);
const OFFSET_FIELD: usize = B + offset_of!(mmal_msg_buffer_header, offset);

#[test]
fn zero_copy_frames_land_in_the_hosts_vcsm_blocks_without_bulk() {
    let _s = serial();
    vcsm::ServiceManager::emulated().unwrap();
    let m = open();
    let comp = create(&m, "ril.camera");
    let info = m.port_info(comp, MMAL_MSG_PORT_TYPE_OUTPUT, 0);
    let port = port_handle(&info);
    let info = set_buffers(&m, &info, 2);
    let size = w(&info, info_port(offset_of!(mmal_msg_port, buffer_size)));
    let mut blocks: Vec<vcsm::SharedMemory> =
        (0..2).map(|_| vcsm::SharedMemory::new(size as usize, "zero copy").unwrap()).collect();

    let payloads = heap_payload_bytes();
    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, Some(&info)), 0);
    // The pool's payloads count against the VideoCore's memory (its
    // frames go out in memory lent per buffer).
    let pool = heap_payload_bytes() - payloads;
    assert!(pool >= 2 * i64::from(size), "a pool of 2 payloads: {pool} bytes");
    // Before ZERO_COPY the port takes no VCSM handle: whatever the
    // message's `is_zero_copy` says (libmmal never writes it), the buffer
    // is an ordinary one, its frame comes by bulk, and it comes back
    // saying so.
    let mut b = buffer_msg(comp, port, 0x2C_0000, size, 0);
    put(&mut b, IS_ZERO_COPY, 1);
    put(&mut b, DATA, blocks[0].vc_handle().get());
    m.send(&b);
    let r = m.next_message();
    assert_eq!((w(&r, STATUS), w(&r, COOKIE), w(&r, IS_ZERO_COPY)), (0, 0x2C_0000, 0));
    let len = w(&r, LENGTH);
    assert!(len > 0 && len <= size);
    let n = len.next_multiple_of(4) as usize;
    m.svc.bulk_receive(vec![0; n], n).unwrap().wait().unwrap();
    assert!(blocks[0].lock().unwrap().iter().all(|&b| b == 0), "the block is untouched");
    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_DISABLE, None), 0);

    let r = m.parameter_set(comp, port, sys::MMAL_PARAMETER_ZERO_COPY, &1u32.to_le_bytes());
    assert_eq!(Mmal::status(&r), 0);
    let payloads = heap_payload_bytes();
    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, Some(&info)), 0);
    // The buffers bring their blocks: the pool holds no payloads.
    let pool = heap_payload_bytes() - payloads;
    assert!(pool < i64::from(size), "no pool payloads with zero copy: {pool} bytes");
    // A handle no block has, or a block smaller than the buffer.
    let mut b = buffer_msg(comp, port, 0x2C_0001, size, 0);
    put(&mut b, IS_ZERO_COPY, 1);
    put(&mut b, DATA, 0xDEAD_BEEF);
    m.send(&b);
    let r = m.next_message();
    assert_eq!((w(&r, STATUS), w(&r, COOKIE)), (MMAL_MSG_STATUS_EINVAL, 0x2C_0001));
    let small = vcsm::SharedMemory::new(4096, "small").unwrap();
    put(&mut b, DATA, small.vc_handle().get());
    m.send(&b);
    let r = m.next_message();
    assert_eq!(w(&r, STATUS), MMAL_MSG_STATUS_EINVAL);
    // A block the CPU holds locked is kept off.
    let mut held = vcsm::SharedMemory::new(size as usize, "held").unwrap();
    put(&mut b, DATA, held.vc_handle().get());
    let lock = held.lock().unwrap();
    m.send(&b);
    let r = m.next_message();
    assert_eq!(w(&r, STATUS), MMAL_MSG_STATUS_EFAULT);
    drop(lock);

    for (i, block) in blocks.iter().enumerate() {
        let mut b = buffer_msg(comp, port, 0x2C_0010 + i as u32, size, 0);
        put(&mut b, IS_ZERO_COPY, 1);
        put(&mut b, DATA, block.vc_handle().get());
        m.send(&b);
    }
    let mut got = 0;
    while got < 2 {
        let r = m.next_message();
        assert_eq!(w(&r, 4), MMAL_MSG_TYPE_BUFFER_TO_HOST);
        assert_eq!(w(&r, STATUS), 0);
        assert_eq!(w(&r, IS_ZERO_COPY), 1);
        let i = (w(&r, COOKIE) - 0x2C_0010) as usize;
        assert_eq!(w(&r, DATA), blocks[i].vc_handle().get(), "the handle comes back");
        let len = w(&r, LENGTH) as usize;
        assert!(len > 0 && len <= size as usize);
        let bytes = blocks[i].lock().unwrap().to_vec();
        assert!(bytes[..len].iter().any(|&b| b != 0), "the frame is in the block");
        got += 1;
    }
    // On the zero-copy port every buffer is a zero-copy one, whatever its
    // message says (libmmal never writes `is_zero_copy`): one naming a
    // block gets its frame there, and comes back saying so; one naming
    // none is refused.
    blocks[0].lock().unwrap().fill(0);
    m.send(&{
        let mut b = buffer_msg(comp, port, 0x2C_0020, size, 0);
        put(&mut b, DATA, blocks[0].vc_handle().get());
        b
    });
    let r = m.next_message();
    assert_eq!((w(&r, STATUS), w(&r, COOKIE), w(&r, IS_ZERO_COPY)), (0, 0x2C_0020, 1));
    let len = w(&r, LENGTH) as usize;
    assert!(blocks[0].lock().unwrap()[..len].iter().any(|&b| b != 0), "the frame is in the block");
    m.send(&buffer_msg(comp, port, 0x2C_0021, size, 0));
    let r = m.next_message();
    assert_eq!((w(&r, STATUS), w(&r, COOKIE), w(&r, IS_ZERO_COPY)), (MMAL_MSG_STATUS_EINVAL, 0x2C_0021, 1));
    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_DISABLE, None), 0);
    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_DESTROY, comp), 0);
    m.svc.close().unwrap();
    drop(blocks);
    assert_nothing_left();
}

#[test]
fn a_block_the_videocore_holds_is_kept_from_the_cpu_and_not_taken_twice() {
    let _s = serial();
    vcsm::ServiceManager::emulated().unwrap();
    let m = open();
    let comp = create(&m, "ril.camera");
    // The video port: no frame until a capture, so the buffer stays out.
    let info = m.port_info(comp, MMAL_MSG_PORT_TYPE_OUTPUT, 1);
    let port = port_handle(&info);
    let info = set_buffers(&m, &info, 2);
    let size = w(&info, info_port(offset_of!(mmal_msg_port, buffer_size)));
    let mut block = vcsm::SharedMemory::new(size as usize, "held by the VideoCore").unwrap();
    let r = m.parameter_set(comp, port, sys::MMAL_PARAMETER_ZERO_COPY, &1u32.to_le_bytes());
    assert_eq!(Mmal::status(&r), 0);
    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, Some(&info)), 0);
    let mut b = buffer_msg(comp, port, 0x2D_0001, size, 0);
    put(&mut b, IS_ZERO_COPY, 1);
    put(&mut b, DATA, block.vc_handle().get());
    m.send(&b);
    // The message is taken in order: a reply to a later request says the
    // buffer was taken first.
    m.port_info(comp, MMAL_MSG_PORT_TYPE_OUTPUT, 1);
    assert!(matches!(block.lock(), Err(vcsm::Error::DeviceBusy { .. })), "the CPU took a block the VideoCore holds");
    assert!(matches!(block.to_vec(), Err(vcsm::Error::DeviceBusy { .. })));
    // The same block in a second buffer at once is refused.
    put(&mut b, COOKIE, 0x2D_0002);
    m.send(&b);
    let r = m.next_message();
    assert_eq!((w(&r, STATUS), w(&r, COOKIE)), (MMAL_MSG_STATUS_EFAULT, 0x2D_0002));
    // Back from the VideoCore (the disable), the block is the CPU's again.
    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_DISABLE, None), 0);
    let r = m.next_message();
    assert_eq!((w(&r, 4), w(&r, COOKIE)), (MMAL_MSG_TYPE_BUFFER_TO_HOST, 0x2D_0001));
    block.lock().unwrap()[0] = 1;
    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_DESTROY, comp), 0);
    m.svc.close().unwrap();
    drop(block);
    assert_nothing_left();
}

/// Commits a 64x48 I420 format on a port; the reply of PORT_INFO_SET.
fn i420_64x48(m: &Mmal, info: &[u8], num: u32, size: u32) -> Vec<u8> {
    let mut set = info_set_from(info);
    put(&mut set, SET_FORMAT + offset_of!(mmal_msg_es_format, encoding), sys::MMAL_ENCODING_I420);
    let v = |f| SET_ES + f;
    let crop = offset_of!(mmal_msg_video_format, crop);
    for (field, value) in [
        (offset_of!(mmal_msg_video_format, width), 64),
        (offset_of!(mmal_msg_video_format, height), 48),
        (crop + offset_of!(mmal_msg_rect, width), 64),
        (crop + offset_of!(mmal_msg_rect, height), 48),
    ] {
        put(&mut set, v(field), value);
    }
    put(&mut set, SET_PORT + offset_of!(mmal_msg_port, buffer_num), num);
    put(&mut set, SET_PORT + offset_of!(mmal_msg_port, buffer_size), size);
    let r = m.request(MMAL_MSG_TYPE_PORT_INFO_SET, &set);
    assert_eq!(Mmal::status(&r), 0);
    r
}

#[test]
fn a_zero_copy_input_is_read_at_its_offset() {
    let _s = serial();
    vcsm::ServiceManager::emulated().unwrap();
    let m = open();
    let splitter = create(&m, "ril.video_splitter");
    const FRAME: u32 = 64 * 48 * 3 / 2;
    const OFFSET: u32 = 64;
    let size = (FRAME + OFFSET).next_multiple_of(4096);
    let input = i420_64x48(&m, &m.port_info(splitter, MMAL_MSG_PORT_TYPE_INPUT, 0), 1, size);
    let output = i420_64x48(&m, &m.port_info(splitter, MMAL_MSG_PORT_TYPE_OUTPUT, 0), 1, size);
    let (in_port, out_port) = (port_handle(&input), port_handle(&output));
    for port in [in_port, out_port] {
        let r = m.parameter_set(splitter, port, sys::MMAL_PARAMETER_ZERO_COPY, &1u32.to_le_bytes());
        assert_eq!(Mmal::status(&r), 0);
    }
    let mut picture = vcsm::SharedMemory::new(size as usize, "picture").unwrap();
    let copy = vcsm::SharedMemory::new(size as usize, "copy").unwrap();
    {
        let mut bytes = picture.lock().unwrap();
        bytes.fill(0xEE);
        for (i, b) in bytes[OFFSET as usize..(OFFSET + FRAME) as usize].iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
    }
    assert_eq!(m.port_action(splitter, out_port, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, Some(&output)), 0);
    assert_eq!(m.port_action(splitter, in_port, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, Some(&input)), 0);
    let mut b = buffer_msg(splitter, out_port, 0x2E_0001, size, 0);
    put(&mut b, IS_ZERO_COPY, 1);
    put(&mut b, DATA, copy.vc_handle().get());
    m.send(&b);
    // The picture at an offset in its block; a length past the end is
    // refused.
    let mut b = buffer_msg(splitter, in_port, 0x2E_0002, size, FRAME);
    put(&mut b, IS_ZERO_COPY, 1);
    put(&mut b, DATA, picture.vc_handle().get());
    put(&mut b, OFFSET_FIELD, size - FRAME + 4);
    m.send(&b);
    let r = m.next_message();
    assert_eq!((w(&r, STATUS), w(&r, COOKIE)), (MMAL_MSG_STATUS_EINVAL, 0x2E_0002));
    put(&mut b, OFFSET_FIELD, OFFSET);
    m.send(&b);
    // Both buffers back (the picture's after the copy's): the blocks are
    // the host's again.
    let (mut copied, mut consumed) = (None, false);
    while copied.is_none() || !consumed {
        let r = m.next_message();
        assert_eq!((w(&r, 4), w(&r, STATUS)), (MMAL_MSG_TYPE_BUFFER_TO_HOST, 0));
        match w(&r, COOKIE) {
            0x2E_0001 => copied = Some((w(&r, OFFSET_FIELD) as usize, w(&r, LENGTH) as usize)),
            0x2E_0002 => consumed = true,
            other => panic!("cookie {other:#x}"),
        }
    }
    let (at, len) = copied.unwrap();
    assert_eq!(len, FRAME as usize);
    let copy_bytes = copy.to_vec().unwrap();
    let picture_bytes = picture.to_vec().unwrap();
    assert_eq!(copy_bytes[at..at + len], picture_bytes[OFFSET as usize..(OFFSET + FRAME) as usize]);
    assert_eq!(m.port_action(splitter, in_port, MMAL_MSG_PORT_ACTION_TYPE_DISABLE, None), 0);
    assert_eq!(m.port_action(splitter, out_port, MMAL_MSG_PORT_ACTION_TYPE_DISABLE, None), 0);
    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_DESTROY, splitter), 0);
    m.svc.close().unwrap();
    drop((picture, copy));
    assert_nothing_left();
}

#[test]
fn input_buffers_take_their_data_inline_or_by_bulk_and_come_back_empty() {
    let _s = serial();
    let m = open();
    let comp = create(&m, "null_sink");
    let info = m.port_info(comp, MMAL_MSG_PORT_TYPE_INPUT, 0);
    assert_eq!(Mmal::status(&info), 0);
    let port = port_handle(&info);
    let info = set_buffers(&m, &info, 2);
    let size = w(&info, info_port(offset_of!(mmal_msg_port, buffer_size)));
    assert!(size >= 256);
    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, Some(&info)), 0);

    // Inline.
    let mut b = buffer_msg(comp, port, 0x1A_0001, size, 100);
    put(&mut b, PAYLOAD_IN_MESSAGE, 100);
    b[SHORT_DATA..SHORT_DATA + 100].fill(7);
    m.send(&b);
    let r = m.next_message();
    assert_eq!((w(&r, STATUS), w(&r, COOKIE), w(&r, LENGTH)), (0, 0x1A_0001, 0));
    // Inline data longer than the inline space, or than it says.
    put(&mut b, PAYLOAD_IN_MESSAGE, 129);
    m.send(&b);
    assert_eq!(w(&m.next_message(), STATUS), MMAL_MSG_STATUS_EINVAL);
    put(&mut b, PAYLOAD_IN_MESSAGE, 50);
    m.send(&b);
    assert_eq!(w(&m.next_message(), STATUS), MMAL_MSG_STATUS_EINVAL);

    // By bulk, after the message.
    let b = buffer_msg(comp, port, 0x1A_0002, size, 256);
    m.send(&b);
    m.svc.bulk_transmit(vec![9; 256]).unwrap().wait().unwrap();
    let r = m.next_message();
    assert_eq!((w(&r, STATUS), w(&r, COOKIE), w(&r, LENGTH)), (0, 0x1A_0002, 0));

    // A refused buffer's data is taken all the same, so the next buffer
    // gets its own (alloc_size below the port's: EINVAL).
    let b = buffer_msg(comp, port, 0x1A_0004, size / 2, 200);
    m.send(&b);
    let first = m.svc.bulk_transmit(vec![4; 200]).unwrap();
    assert_eq!(w(&m.next_message(), STATUS), MMAL_MSG_STATUS_EINVAL);
    first.wait_timeout(std::time::Duration::from_secs(10)).expect("the refused buffer's data taken");
    let b = buffer_msg(comp, port, 0x1A_0005, size, 256);
    m.send(&b);
    m.svc.bulk_transmit(vec![5; 256]).unwrap().wait_timeout(std::time::Duration::from_secs(10)).unwrap();
    let r = m.next_message();
    assert_eq!((w(&r, STATUS), w(&r, COOKIE)), (0, 0x1A_0005));

    // An empty EOS buffer: the 8-byte dummy follows it by bulk.
    let mut b = buffer_msg(comp, port, 0x1A_0003, size, 0);
    put(&mut b, FLAGS, MMAL_MSG_BUFFER_FLAG_EOS);
    m.send(&b);
    let r = m.next_message();
    assert_eq!((w(&r, STATUS), w(&r, COOKIE), w(&r, LENGTH)), (0, 0x1A_0003, 0));
    assert_ne!(w(&r, FLAGS) & MMAL_MSG_BUFFER_FLAG_EOS, 0);
    let dummy = m.svc.bulk_receive(vec![1; 8], 8).unwrap().wait().unwrap();
    assert_eq!(dummy[..], [0; 8]);

    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_FLUSH, None), 0);
    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_DISABLE, None), 0);
    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_DESTROY, comp), 0);
    m.svc.close().unwrap();
    assert_nothing_left();
}

#[test]
fn events_reach_the_host_with_the_client_component() {
    let _s = serial();
    let m = open();
    let comp = create(&m, "ril.camera");
    let control = m.port_info(comp, MMAL_MSG_PORT_TYPE_CONTROL, 0);
    assert_eq!(Mmal::status(&control), 0);
    let port = port_handle(&control);
    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, Some(&control)), 0);
    let id = vchiq_emu::component_id(comp).expect("a live component");
    assert!(mmal_emu::post_event(id, mmal_emu::TestEvent::Error(sys::MMAL_EIO)));
    let e = m.next_message();
    let f = |o| H + o;
    assert_eq!(w(&e, 4), MMAL_MSG_TYPE_EVENT_TO_HOST);
    assert_eq!(w(&e, f(offset_of!(mmal_msg_event_to_host, client_component))), 0xC11E);
    assert_eq!(w(&e, f(offset_of!(mmal_msg_event_to_host, port_type))), MMAL_MSG_PORT_TYPE_CONTROL);
    assert_eq!(w(&e, f(offset_of!(mmal_msg_event_to_host, cmd))), MMAL_MSG_EVENT_ERROR);
    assert!(w(&e, f(offset_of!(mmal_msg_event_to_host, length))) >= 4);
    assert_eq!(w(&e, f(offset_of!(mmal_msg_event_to_host, data))), sys::MMAL_EIO);

    // FORMAT_CHANGED, in the firmware's layout: four buffer words, a null
    // format word, the format, its video es.
    assert!(mmal_emu::post_event(id, mmal_emu::TestEvent::FormatChanged { output: 1 }));
    let e = m.next_message();
    assert_eq!(w(&e, f(offset_of!(mmal_msg_event_to_host, cmd))), MMAL_MSG_EVENT_FORMAT_CHANGED);
    assert_eq!(w(&e, f(offset_of!(mmal_msg_event_to_host, length))), 96);
    let d = f(offset_of!(mmal_msg_event_to_host, data));
    let video = m.port_info(comp, MMAL_MSG_PORT_TYPE_OUTPUT, 1);
    assert_eq!(w(&e, d), w(&video, info_port(offset_of!(mmal_msg_port, buffer_size_min))));
    assert_eq!(w(&e, d + 20 + 4), w(&video, info_format(offset_of!(mmal_msg_es_format, encoding))));
    assert_eq!(w(&e, d + 52), w(&video, info_video(offset_of!(mmal_msg_video_format, width))));

    assert_eq!(m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_DISABLE, None), 0);
    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_DESTROY, comp), 0);
    assert_eq!(vchiq_emu::component_id(comp), None);
    m.svc.close().unwrap();
    assert_nothing_left();
}

fn connect(m: &Mmal, comp: u32, port: u32, action: u32, peer: (u32, u32)) -> u32 {
    let mut p = vec![0u8; std::mem::size_of::<mmal_msg_port_action_handle>()];
    put(&mut p, offset_of!(mmal_msg_port_action_handle, component_handle), comp);
    put(&mut p, offset_of!(mmal_msg_port_action_handle, port_handle), port);
    put(&mut p, offset_of!(mmal_msg_port_action_handle, action), action);
    put(&mut p, offset_of!(mmal_msg_port_action_handle, connect_component_handle), peer.0);
    put(&mut p, offset_of!(mmal_msg_port_action_handle, connect_port_handle), peer.1);
    Mmal::status(&m.request(MMAL_MSG_TYPE_PORT_ACTION, &p))
}

#[test]
fn a_tunnel_is_connected_enabled_and_taken_down() {
    let _s = serial();
    let m = open();
    let camera = create(&m, "ril.camera");
    let sink = create(&m, "null_sink");
    let out = port_handle(&m.port_info(camera, MMAL_MSG_PORT_TYPE_OUTPUT, 0));
    let input = port_handle(&m.port_info(sink, MMAL_MSG_PORT_TYPE_INPUT, 0));
    // Unknown peers, an input as the source, a disconnect of nothing.
    assert_eq!(connect(&m, camera, out, MMAL_MSG_PORT_ACTION_TYPE_CONNECT, (sink, 77)), MMAL_MSG_STATUS_EINVAL);
    assert_eq!(connect(&m, sink, input, MMAL_MSG_PORT_ACTION_TYPE_CONNECT, (camera, out)), MMAL_MSG_STATUS_EINVAL);
    assert_eq!(connect(&m, camera, out, MMAL_MSG_PORT_ACTION_TYPE_DISCONNECT, (0, 0)), MMAL_MSG_STATUS_ENOTCONN);

    assert_eq!(connect(&m, camera, out, MMAL_MSG_PORT_ACTION_TYPE_CONNECT, (sink, input)), 0);
    assert_eq!(connect(&m, camera, out, MMAL_MSG_PORT_ACTION_TYPE_CONNECT, (sink, input)), MMAL_MSG_STATUS_EINVAL);
    assert_eq!(mmal_emu::usage().connections, 1);
    assert_eq!(m.port_action(camera, out, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, None), 0);
    let info = m.port_info(sink, MMAL_MSG_PORT_TYPE_INPUT, 0);
    assert_eq!(w(&info, info_port(offset_of!(mmal_msg_port, is_enabled))), 1, "the tunnel enables the input");
    assert_eq!(m.port_action(camera, out, MMAL_MSG_PORT_ACTION_TYPE_DISABLE, None), 0);
    assert_eq!(connect(&m, camera, out, MMAL_MSG_PORT_ACTION_TYPE_DISCONNECT, (0, 0)), 0);
    assert_eq!(mmal_emu::usage().connections, 0);

    // The far end is driven through the output: its own ENABLE and
    // DISABLE, which libmmal's core sends around the output's, are taken
    // and change nothing; other actions on it are refused.
    assert_eq!(connect(&m, camera, out, MMAL_MSG_PORT_ACTION_TYPE_CONNECT, (sink, input)), 0);
    let enabled = |m: &Mmal| {
        let info = m.port_info(sink, MMAL_MSG_PORT_TYPE_INPUT, 0);
        w(&info, info_port(offset_of!(mmal_msg_port, is_enabled)))
    };
    assert_eq!(m.port_action(sink, input, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, None), 0);
    assert_eq!(enabled(&m), 0, "the input waits for its output");
    assert_eq!(m.port_action(camera, out, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, None), 0);
    assert_eq!(enabled(&m), 1);
    assert_eq!(m.port_action(camera, out, MMAL_MSG_PORT_ACTION_TYPE_DISABLE, None), 0);
    assert_eq!(m.port_action(sink, input, MMAL_MSG_PORT_ACTION_TYPE_DISABLE, None), 0);
    assert_eq!(m.port_action(sink, input, MMAL_MSG_PORT_ACTION_TYPE_FLUSH, None), MMAL_MSG_STATUS_EINVAL);
    // Its format may be committed, as the firmware's core judges it
    // (picamera re-commits its splitter's input while the camera is
    // connected to it).
    let info = m.port_info(sink, MMAL_MSG_PORT_TYPE_INPUT, 0);
    assert_eq!(Mmal::status(&m.request(MMAL_MSG_TYPE_PORT_INFO_SET, &info_set_from(&info))), 0);
    // Destroying the input's component while the tunnel runs takes the
    // tunnel down first; the output is free again.
    assert_eq!(m.port_action(camera, out, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, None), 0);
    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_DESTROY, sink), 0);
    assert_eq!(mmal_emu::usage().connections, 0);
    assert_eq!(connect(&m, camera, out, MMAL_MSG_PORT_ACTION_TYPE_DISCONNECT, (0, 0)), MMAL_MSG_STATUS_ENOTCONN);

    // And the other way round; and left connected and enabled, closing
    // the service takes it all down.
    let sink = create(&m, "null_sink");
    let input = port_handle(&m.port_info(sink, MMAL_MSG_PORT_TYPE_INPUT, 0));
    assert_eq!(connect(&m, camera, out, MMAL_MSG_PORT_ACTION_TYPE_CONNECT, (sink, input)), 0);
    assert_eq!(m.port_action(camera, out, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, None), 0);
    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_DESTROY, camera), 0);
    let info = m.port_info(sink, MMAL_MSG_PORT_TYPE_INPUT, 0);
    assert_eq!(w(&info, info_port(offset_of!(mmal_msg_port, is_enabled))), 0);
    let camera = create(&m, "ril.camera");
    let out = port_handle(&m.port_info(camera, MMAL_MSG_PORT_TYPE_OUTPUT, 0));
    assert_eq!(connect(&m, camera, out, MMAL_MSG_PORT_ACTION_TYPE_CONNECT, (sink, input)), 0, "input free again");
    assert_eq!(m.port_action(camera, out, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, None), 0);
    m.svc.close().unwrap();
    assert_nothing_left();
}

/// A camera whose video port captures 64x48 I420, enabled with one
/// buffer: the camera's handle, the port's, and a frame's size.
fn capturing_64x48_one_buffer(m: &Mmal) -> (u32, u32, u32) {
    let camera = create(m, "ril.camera");
    let info = m.port_info(camera, MMAL_MSG_PORT_TYPE_OUTPUT, 1);
    let video = port_handle(&info);
    let size = 64 * 48 * 3 / 2;
    let info = i420_64x48(m, &info, 1, size);
    let r = m.parameter_set(camera, video, sys::MMAL_PARAMETER_CAPTURE, &1u32.to_le_bytes());
    assert_eq!(Mmal::status(&r), 0);
    assert_eq!(m.port_action(camera, video, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, Some(&info)), 0);
    (camera, video, size)
}

/// The firmware answers a port's DISABLE only once the host has the data
/// of the buffers it sent back before: each is the VideoCore's until its
/// bulk transfer is done, and userland's libmmal checks, once answered,
/// that every buffer of the port is back (a buffer with data is back when
/// its bulk receive is done).
#[test]
fn a_disable_is_answered_once_the_host_has_the_data_sent_before_it() {
    let _s = serial();
    let m = open();
    let (comp, port, size) = capturing_64x48_one_buffer(&m);
    m.send(&buffer_msg(comp, port, 0xD5_0001, size, 0));
    let frame = m.next_message();
    assert_eq!((w(&frame, 4), w(&frame, COOKIE), w(&frame, LENGTH)), (MMAL_MSG_TYPE_BUFFER_TO_HOST, 0xD5_0001, size));
    std::thread::scope(|s| {
        let (answered, answered_rx) = std::sync::mpsc::channel();
        let m = &m;
        let disable = s.spawn(move || {
            let status = m.port_action(comp, port, MMAL_MSG_PORT_ACTION_TYPE_DISABLE, None);
            answered.send(()).unwrap();
            status
        });
        assert!(
            answered_rx.recv_timeout(std::time::Duration::from_millis(300)).is_err(),
            "DISABLE answered before the host took the frame's data"
        );
        let data = m.svc.bulk_receive(vec![0; size as usize], size as usize).unwrap().wait().unwrap();
        assert!(data.iter().any(|&b| b != 0), "the frame");
        assert_eq!(disable.join().unwrap(), 0);
    });
    assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_DESTROY, comp), 0);
    m.svc.close().unwrap();
    assert_nothing_left();
}

/// While a DISABLE waits for the host to receive its data, the VideoCore
/// takes the host's own bulk data: a host that sends more than four
/// transfers from the thread that is to receive (a handler feeding an
/// input) gets its slots back and goes on to receive, where both sides
/// would wait until the VideoCore gave up and answered first.
#[test]
fn a_disable_waiting_for_the_host_takes_the_hosts_data_meanwhile() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    let _s = serial();
    let m = open();
    let (camera, video, size) = capturing_64x48_one_buffer(&m);
    let sink = create(&m, "null_sink");
    let input = m.port_info(sink, MMAL_MSG_PORT_TYPE_INPUT, 0);
    let input_port = port_handle(&input);
    let input = set_buffers(&m, &input, 6);
    let input_size = w(&input, info_port(offset_of!(mmal_msg_port, buffer_size)));
    assert_eq!(m.port_action(sink, input_port, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, Some(&input)), 0);
    m.send(&buffer_msg(camera, video, 0xD6_0001, size, 0));
    let frame = m.next_message();
    assert_eq!((w(&frame, COOKIE), w(&frame, LENGTH)), (0xD6_0001, size));
    let all_sent = AtomicBool::new(false);
    std::thread::scope(|s| {
        let (m, all_sent) = (&m, &all_sent);
        let disable = s.spawn(move || {
            let status = m.port_action(camera, video, MMAL_MSG_PORT_ACTION_TYPE_DISABLE, None);
            (status, all_sent.load(SeqCst))
        });
        // Time for the DISABLE to be taken first (else the inputs' data
        // would be taken with their messages, and this proves nothing).
        std::thread::sleep(std::time::Duration::from_millis(300));
        // Six inputs with their data by bulk, their messages behind the
        // DISABLE: the fifth transfer needs a slot the VideoCore frees.
        let sent: Vec<_> = (0..6)
            .map(|i| {
                m.send(&buffer_msg(sink, input_port, 0xD6_0100 + i, input_size, 64));
                m.svc.bulk_transmit(vec![i as u8; 64]).unwrap()
            })
            .collect();
        all_sent.store(true, SeqCst);
        m.svc.bulk_receive(vec![0; size as usize], size as usize).unwrap().wait().unwrap();
        assert_eq!(disable.join().unwrap(), (0, true), "every transfer queued before the DISABLE was answered");
        for t in sent {
            t.wait_timeout(std::time::Duration::from_secs(10)).expect("each input's data taken");
        }
    });
    let mut back: Vec<u32> = (0..6).map(|_| w(&m.next_message(), COOKIE)).collect();
    back.sort_unstable();
    assert_eq!(back, (0..6).map(|i| 0xD6_0100 + i).collect::<Vec<u32>>(), "every input back, in its own data's place");
    for comp in [camera, sink] {
        assert_eq!(m.component(MMAL_MSG_TYPE_COMPONENT_DESTROY, comp), 0);
    }
    m.svc.close().unwrap();
    assert_nothing_left();
}
