//! The client against the emulated VideoCore (`vchiq-emu`): requests,
//! streams, cookies, the handler's calls, disable, close, tunnels, faults.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use mmal_sys as sys;
use mmal_vchiq::{BufferToSend, Client, Error, Memory, PortType, Returned, Status};
use parking_lot::{Condvar, Mutex};
use vchiq::Connection;
use vchiq_sys::{
    MMAL_MSG_TYPE_BUFFER_FROM_HOST, MMAL_MSG_TYPE_COMPONENT_CREATE, MMAL_MSG_TYPE_COMPONENT_DESTROY,
    MMAL_MSG_TYPE_PORT_FLUSH, MMAL_MSG_TYPE_PORT_PARAMETER_GET,
};

const FRAME: u32 = 640 * 480 * 3 / 2;

#[test]
fn version_and_components() {
    let _s = serial();
    let connection = connect();
    let client = Client::open_with(&connection, client_options(), Recorder::new()).unwrap();
    assert_eq!(client.version(), (16, 1, 10), "the emulated firmware's MMAL version");

    // With libmmal's "vc." prefix or without: the wire takes it without.
    for name in ["ril.camera", "vc.ril.camera"] {
        let camera = client.component_create(name).unwrap();
        assert_ne!(camera.handle, 0);
        assert_eq!((camera.inputs, camera.outputs, camera.clocks), (0, 3, 0), "{name}");
        client.component_enable(camera.handle).unwrap();
        client.component_disable(camera.handle).unwrap();
        client.component_destroy(camera.handle).unwrap();
    }
    let sink = client.component_create("vc.null_sink").unwrap();
    assert_eq!((sink.inputs, sink.outputs), (1, 0));
    assert_eq!(client.stats().components, 1);
    client.component_destroy(sink.handle).unwrap();
    assert_eq!(client.stats().components, 0);

    for bad in ["", "vc.", &"x".repeat(128), "a\0b"] {
        assert!(matches!(client.component_create(bad), Err(Error::InvalidArgument(_))), "{bad:?}");
    }
    assert!(matches!(client.component_create("ril.nothing"), Err(Error::Mmal { .. })));
    assert!(matches!(client.component_destroy(0x7FFF_FFFF), Err(Error::Mmal { status: Status::Einval, .. })));
    client.close().unwrap();
    assert!(matches!(client.component_create("ril.camera"), Err(Error::Closed)));
    assert_eq!(mmal_emu::usage().components, 0);
}

#[test]
fn port_info_and_parameters() {
    let _s = serial();
    let connection = connect();
    let client = Client::open_with(&connection, client_options(), Recorder::new()).unwrap();
    let camera = client.component_create("ril.camera").unwrap();

    let info = video_port(&client, camera.handle, 640, 480);
    assert_eq!(info.port.kind, PortType::Output);
    assert_eq!((info.port.component, info.port.index), (camera.handle, 1));
    assert_eq!(info.format.encoding, sys::MMAL_ENCODING_I420);
    assert_eq!((info.format.video.width, info.format.video.height), (640, 480));
    assert_eq!(info.buffer_size_min, FRAME, "I420 640x480");
    let again = client.port_info_get(camera.handle, PortType::Output, 1).unwrap();
    assert_eq!(again, info, "read back as committed");

    // Buffer counts and userdata are the host's to write.
    let mut set = info.clone();
    set.buffer_num = 3;
    set.buffer_size = FRAME;
    set.userdata = 0xDA7A;
    let set = client.port_info_set(&set).unwrap();
    assert_eq!((set.buffer_num, set.buffer_size, set.userdata), (3, FRAME, 0xDA7A));

    // A format the port refuses; a port that does not exist.
    let mut bad = info.clone();
    bad.format.encoding = sys::MMAL_ENCODING_OPAQUE ^ 0x5A5A;
    assert!(matches!(client.port_info_set(&bad), Err(Error::Mmal { .. })));
    bad.format.extradata = vec![0; 129];
    assert!(matches!(client.port_info_set(&bad), Err(Error::InvalidArgument(_))));
    assert!(matches!(
        client.port_info_get(camera.handle, PortType::Output, 7),
        Err(Error::Mmal { status: Status::Enoent, .. })
    ));

    // Parameters: typed and raw, on the control port and the video port.
    let control = client.port_info_get(camera.handle, PortType::Control, 0).unwrap().port;
    client.parameter_set_u32(&control, sys::MMAL_PARAMETER_CAMERA_NUM, 0).unwrap();
    assert_eq!(client.parameter_get_u32(&control, sys::MMAL_PARAMETER_CAMERA_NUM).unwrap(), 0);
    client.parameter_set_u32(&info.port, sys::MMAL_PARAMETER_CAPTURE, 1).unwrap();
    let mut raw = sys::MMAL_PARAMETER_CAPTURE.to_le_bytes().to_vec();
    raw.extend_from_slice(&12u32.to_le_bytes());
    let got = client.parameter_get(&info.port, &raw).unwrap();
    assert_eq!(got.len(), 12);
    assert_eq!(got[..4], sys::MMAL_PARAMETER_CAPTURE.to_le_bytes());
    assert_eq!(got[4..8], 12u32.to_le_bytes());
    assert_eq!(got[8..], 1u32.to_le_bytes());
    let mut set_raw = raw.clone();
    set_raw.extend_from_slice(&0u32.to_le_bytes());
    client.parameter_set(&info.port, &set_raw).unwrap();
    assert_eq!(client.parameter_get_u32(&info.port, sys::MMAL_PARAMETER_CAPTURE).unwrap(), 0);

    // Too little room: the size needed comes back.
    match client.parameter_get_value(&info.port, sys::MMAL_PARAMETER_CAPTURE, 0) {
        Err(Error::ParameterTooSmall { id, needed }) => {
            assert_eq!((id, needed), (sys::MMAL_PARAMETER_CAPTURE, 12));
        }
        other => panic!("{other:?}"),
    }
    // Bad headers are refused before anything is sent.
    assert!(matches!(client.parameter_set(&info.port, &raw[..4]), Err(Error::InvalidArgument(_))));
    assert!(matches!(client.parameter_set(&info.port, &raw), Err(Error::InvalidArgument(_))), "size 12, 8 given");
    assert!(matches!(client.parameter_set_value(&info.port, 1, &[0; 385]), Err(Error::InvalidArgument(_))));
    // A parameter the port does not know.
    assert!(matches!(client.parameter_get_u32(&info.port, 0x7FFF_0000), Err(Error::Mmal { .. })));

    client.component_destroy(camera.handle).unwrap();
    client.close().unwrap();
}

/// Streams the camera's video port with three buffers sent again from the
/// handler, and makes a synchronous call from the handler.
#[test]
fn frames_stream_with_buffers_sent_again_from_the_handler() {
    let _s = serial();
    let connection = connect();
    let recorder = Recorder::on_buffer(|client, b, seen| {
        if b.released || !b.status.is_success() {
            return;
        }
        if seen.buffers.is_empty() {
            // A synchronous call from the handler: no deadlock.
            let capture = client.parameter_get_u32(&b.port, sys::MMAL_PARAMETER_CAPTURE);
            seen.notes.push(format!("{capture:?}"));
        }
        if let Memory::Host(data) = &b.memory {
            let again = BufferToSend { tag: b.tag, ..BufferToSend::output(data.clone(), b.alloc_size) };
            if let Err(e) = client.send_buffer(&b.port, again) {
                seen.notes.push(format!("send: {e}"));
            }
        }
    });
    let client = Client::open_with(&connection, client_options(), recorder.clone()).unwrap();
    let camera = client.component_create("ril.camera").unwrap();
    client.component_enable(camera.handle).unwrap();
    let video = video_port(&client, camera.handle, 640, 480);
    client.parameter_set_u32(&video.port, sys::MMAL_PARAMETER_CAPTURE, 1).unwrap();

    // Not enabled yet: refused, no cookie used.
    let early = client.send_buffer(&video.port, BufferToSend::output(Vec::new(), FRAME));
    assert!(matches!(early, Err(Error::PortNotEnabled { .. })), "{early:?}");
    client.port_enable(&video.port, 3, FRAME).unwrap();
    let mut cookies = Vec::new();
    for tag in 0..3u64 {
        let b = BufferToSend { tag, ..BufferToSend::output(Vec::new(), FRAME) };
        cookies.push(client.send_buffer(&video.port, b).unwrap());
    }
    assert_eq!(client.stats().buffers_in_flight, 3);
    recorder.wait("ten frames", |s| s.buffers.len() >= 10);

    // Disable mid-stream: every buffer comes back before it returns.
    client.port_disable(&video.port).unwrap();
    assert_eq!(client.stats().buffers_in_flight, 0, "every cookie freed");
    let seen = recorder.lock();
    assert_eq!(seen.notes.first().map(String::as_str), Some("Ok(1)"), "the handler's call");
    let frames: Vec<_> = seen.buffers.iter().filter(|b| b.length > 0).collect();
    assert!(frames.len() >= 10);
    let mut sums = Vec::new();
    for f in &frames {
        assert!(f.status.is_success() && !f.released);
        assert_eq!(f.length, FRAME, "a whole frame");
        let Memory::Host(data) = &f.memory else { panic!("host memory") };
        let frame = &data[f.offset as usize..(f.offset + f.length) as usize];
        assert!(frame.iter().any(|&b| b != 0), "a picture, not zeros");
        sums.push(frame.iter().map(|&b| u64::from(b)).sum::<u64>());
        assert!(f.tag < 3);
    }
    sums.dedup();
    assert!(sums.len() > 1, "the frames vary");
    // Three buffers out at the end, each back once the port was disabled:
    // the last three deliveries hold the three tags.
    let mut last: Vec<u64> = seen.buffers.iter().rev().take(3).map(|b| b.tag).collect();
    last.sort_unstable();
    assert_eq!(last, [0, 1, 2]);
    assert!(seen.notes.iter().skip(1).all(|n| n.contains("not enabled")), "{:?}", seen.notes);
    drop(seen);
    assert_eq!(client.stats().stale_buffers, 0);
    assert_eq!(client.stats().released_buffers, 0, "the VideoCore returned them all");

    client.component_destroy(camera.handle).unwrap();
    client.close().unwrap();
    assert!(recorder.lock().closed);
}

#[test]
fn input_buffers_go_inline_or_by_bulk_and_come_back_with_their_memory() {
    let _s = serial();
    let connection = connect();
    let recorder = Recorder::new();
    let client = Client::open_with(&connection, client_options(), recorder.clone()).unwrap();
    let sink = client.component_create("null_sink").unwrap();
    client.component_enable(sink.handle).unwrap();
    let mut input = client.port_info_get(sink.handle, PortType::Input, 0).unwrap();
    input.buffer_num = 3;
    input.buffer_size = input.buffer_size_recommended.max(4096);
    let input = client.port_info_set(&input).unwrap();
    let size = input.buffer_size;
    client.port_enable(&input.port, 3, size).unwrap();
    let small = vec![7u8; 100];
    let big = vec![9u8; 3001];
    let inline = BufferToSend { tag: 1, inline: true, ..BufferToSend::input(small.clone(), size) };
    client.send_buffer(&input.port, inline).unwrap();
    client.send_buffer(&input.port, BufferToSend { tag: 2, ..BufferToSend::input(big.clone(), size) }).unwrap();
    let eos = BufferToSend { tag: 3, flags: sys::MMAL_BUFFER_HEADER_FLAG_EOS, ..BufferToSend::input(Vec::new(), size) };
    client.send_buffer(&input.port, eos).unwrap();
    recorder.wait("three inputs back", |s| s.buffers.len() == 3);
    let seen = recorder.lock();
    for b in &seen.buffers {
        assert!(b.status.is_success(), "{b:?}");
        assert_eq!(b.length, 0, "consumed");
        match b.tag {
            1 => assert_eq!(b.memory, Memory::Host(small.clone())),
            2 => {
                let Memory::Host(v) = &b.memory else { panic!() };
                assert_eq!(v[..3001], big[..], "the memory as it went");
            }
            _ => assert_ne!(b.flags & sys::MMAL_BUFFER_HEADER_FLAG_EOS, 0),
        }
    }
    drop(seen);
    // Refused before sending: too long for its memory or its size, a
    // control port.
    let bad = BufferToSend { length: 10, ..BufferToSend::input(vec![0; 4], size) };
    assert!(matches!(client.send_buffer(&input.port, bad), Err(Error::InvalidArgument(_))));
    let bad = BufferToSend::input(vec![0; 64], 32);
    assert!(matches!(client.send_buffer(&input.port, bad), Err(Error::InvalidArgument(_))));
    let control = client.port_info_get(sink.handle, PortType::Control, 0).unwrap();
    assert!(matches!(
        client.send_buffer(&control.port, BufferToSend::input(vec![], 0)),
        Err(Error::InvalidArgument(_))
    ));
    // A buffer smaller than the port's: the VideoCore refuses it and it
    // comes back with the status.
    client.send_buffer(&input.port, BufferToSend { tag: 4, ..BufferToSend::input(vec![1; 8], 8) }).unwrap();
    recorder.wait("the refused buffer", |s| s.buffers.len() == 4);
    let refused = recorder.lock().buffers.get(3).map(|b| (b.tag, b.status));
    assert_eq!(refused, Some((4, Status::Einval)));
    // The dummy bulks keep the data in step: an empty EOS
    // (BUFFER_FROM_HOST_ZEROLEN) and a flush of a port that has sent data
    // by bulk (PORT_FLUSH) each put 8 bytes behind their message, which
    // the VideoCore takes; data sent after them is still its buffer's own
    // (a misplaced dummy would be taken as the next buffer's data, which
    // the VideoCore refuses as too short).
    let eos = BufferToSend { tag: 5, flags: sys::MMAL_BUFFER_HEADER_FLAG_EOS, ..BufferToSend::input(Vec::new(), size) };
    client.send_buffer(&input.port, eos).unwrap();
    client.send_buffer(&input.port, BufferToSend { tag: 6, ..BufferToSend::input(big.clone(), size) }).unwrap();
    recorder.wait("the EOS and the data after it", |s| s.buffers.len() == 6);
    client.port_flush(&input.port).unwrap();
    client.send_buffer(&input.port, BufferToSend { tag: 7, ..BufferToSend::input(big.clone(), size) }).unwrap();
    recorder.wait("the data after the flush", |s| s.buffers.len() == 7);
    for b in &recorder.lock().buffers[4..] {
        assert!(b.status.is_success(), "{b:?}");
    }
    client.port_disable(&input.port).unwrap();
    assert_eq!(client.stats().buffers_in_flight, 0);
    client.close().unwrap();
}

#[test]
fn cookies_run_out_with_a_clear_error_and_come_back() {
    let _s = serial();
    let connection = connect();
    let recorder = Recorder::new();
    let mut options = client_options();
    options.cookies = 2;
    let client = Client::open_with(&connection, options, recorder.clone()).unwrap();
    let camera = client.component_create("ril.camera").unwrap();
    let video = video_port(&client, camera.handle, 64, 48);
    let size = video.buffer_size_min;
    // Capture off: the buffers stay with the VideoCore.
    client.port_enable(&video.port, 3, size).unwrap();
    let a = client.send_buffer(&video.port, BufferToSend::output(Vec::new(), size)).unwrap();
    let b = client.send_buffer(&video.port, BufferToSend::output(Vec::new(), size)).unwrap();
    assert_ne!(a, b);
    let third = client.send_buffer(&video.port, BufferToSend::output(Vec::new(), size));
    assert!(matches!(third, Err(Error::NoCookies { capacity: 2 })), "{third:?}");
    // Disabled: both back, their cookies free again.
    client.port_disable(&video.port).unwrap();
    assert_eq!(client.stats().buffers_in_flight, 0);
    let mut back: Vec<_> = recorder.lock().buffers.iter().map(|r| r.cookie).collect();
    back.sort();
    let mut sent = vec![a, b];
    sent.sort();
    assert_eq!(back, sent);
    client.port_enable(&video.port, 3, size).unwrap();
    let c = client.send_buffer(&video.port, BufferToSend::output(Vec::new(), size)).unwrap();
    assert!(c != a && c != b, "a slot reused under a new generation");
    client.port_disable(&video.port).unwrap();
    client.close().unwrap();
}

/// A buffer message naming a cookie that is no longer out (its buffer came
/// back already) is dropped, never delivered.
#[test]
fn a_stale_cookie_is_logged_and_dropped() {
    let _s = serial();
    let (device, _connection, recorder, client) = recorded_over_faulty(client_options());
    let input = sink_input(&client, 256);
    client.port_enable(&input.port, 0, 0).unwrap();
    let cookie = client.send_buffer(&input.port, BufferToSend::input(vec![5; 16], input.buffer_size)).unwrap();
    recorder.wait("the buffer back", |s| s.buffers.len() == 1);

    // The same message again, as a confused VideoCore would send it, and
    // one with a cookie never given out.
    device.inject(buffer_to_host(&input.port, cookie.to_u32(), 0));
    device.inject(buffer_to_host(&input.port, 0xFFF0_0FFF, 0));
    // Traffic brings the injected messages in, after its reply.
    client.parameter_get_u32(&input.port, sys::MMAL_PARAMETER_ZERO_COPY).ok();
    wait_until("two stale buffers", || client.stats().stale_buffers == 2);
    client.parameter_get_u32(&input.port, sys::MMAL_PARAMETER_ZERO_COPY).ok();
    assert_eq!(recorder.lock().buffers.len(), 1, "not delivered");

    // The client goes on.
    client.send_buffer(&input.port, BufferToSend::input(vec![6; 16], input.buffer_size)).unwrap();
    recorder.wait("the next buffer", |s| s.buffers.len() == 2);
    client.port_disable(&input.port).unwrap();
    client.close().unwrap();
}

#[test]
fn the_service_closed_under_a_request_fails_it() {
    let _s = serial();
    let device = Faulty::new();
    let connection = Connection::with_device(Arc::clone(&device), vchiq_options()).unwrap();
    let recorder = Recorder::new();
    let mut options = client_options();
    // A timeout would take a minute: the close must come first.
    options.reply_timeout = Duration::from_secs(60);
    let client = Client::open_with(&connection, options, recorder.clone()).unwrap();
    let camera = client.component_create("ril.camera").unwrap();
    let control = client.port_info_get(camera.handle, PortType::Control, 0).unwrap().port;
    device.arm(MMAL_MSG_TYPE_PORT_PARAMETER_GET, Fault::BreakMagic);
    let r = client.parameter_get_u32(&control, sys::MMAL_PARAMETER_CAMERA_NUM);
    assert!(matches!(r, Err(Error::ServiceClosed)), "{r:?}");
    recorder.wait("the handler told", |s| s.closed);
    assert!(matches!(client.component_create("ril.camera"), Err(Error::ServiceClosed)));
    drop(client);
    assert_eq!(device.inner.open_services(), 0);
}

/// A client over the fault-injecting device, with this reply timeout (and
/// bulk timeout).
fn faulty_client(reply_timeout: Duration) -> (Arc<Faulty>, Connection, Client) {
    let device = Faulty::new();
    let connection = Connection::with_device(Arc::clone(&device), vchiq_options()).unwrap();
    let mut options = client_options();
    options.reply_timeout = reply_timeout;
    options.bulk_timeout = reply_timeout;
    let client = Client::open_with(&connection, options, Recorder::new()).unwrap();
    (device, connection, client)
}

#[test]
fn a_flush_whose_dummy_is_never_taken_closes_the_client_for_the_data_order() {
    let _s = serial();
    let (device, _connection, client) = faulty_client(Duration::from_secs(2));
    let input = sink_input(&client, 4096);
    client.port_enable(&input.port, 0, 0).unwrap();
    // Data by bulk: the port's flush is PORT_FLUSH, with its dummy.
    client.send_buffer(&input.port, BufferToSend::input(vec![3; 1000], input.buffer_size)).unwrap();
    wait_until("the buffer back", || client.stats().buffers_in_flight == 0);
    // The message never reaches the VideoCore, so neither its reply nor
    // the taking of its dummy comes: left queued, the dummy would be the
    // next buffer's data, so the client closes.
    device.arm(MMAL_MSG_TYPE_PORT_FLUSH, Fault::Swallow);
    let r = client.port_flush(&input.port);
    assert!(matches!(r, Err(Error::Timeout { .. })), "{r:?}");
    let r = client.send_buffer(&input.port, BufferToSend::input(vec![3; 1000], input.buffer_size));
    assert!(matches!(r, Err(Error::DataOrderLost { .. })), "{r:?}");
}

#[test]
fn a_destroy_without_an_answer_gives_the_components_use_back() {
    let _s = serial();
    let (device, _connection, client) = faulty_client(Duration::from_secs(2));
    let camera = client.component_create("ril.camera").unwrap();
    assert_eq!(device.inner.uses(), 1);
    device.arm(MMAL_MSG_TYPE_COMPONENT_DESTROY, Fault::Swallow);
    let r = client.component_destroy(camera.handle);
    assert!(matches!(r, Err(Error::Timeout { .. })), "{r:?}");
    assert_eq!(device.inner.uses(), 0, "given back, as libmmal gives it back on every path");
    client.close().unwrap();
}

#[test]
fn close_fails_a_request_waiting_on_another_thread() {
    let _s = serial();
    let (device, _connection, client) = faulty_client(Duration::from_secs(60));
    let camera = client.component_create("ril.camera").unwrap();
    let control = client.port_info_get(camera.handle, PortType::Control, 0).unwrap().port;
    device.arm(MMAL_MSG_TYPE_PORT_PARAMETER_GET, Fault::Swallow);
    let waiting = {
        let client = client.clone();
        std::thread::spawn(move || client.parameter_get_u32(&control, sys::MMAL_PARAMETER_CAMERA_NUM))
    };
    wait_until("the request to be sent", || device.faulted.load(std::sync::atomic::Ordering::SeqCst));
    client.close().unwrap();
    let r = waiting.join().unwrap();
    assert!(matches!(r, Err(Error::Closed)), "{r:?}");
}

#[test]
fn the_videocore_is_kept_awake_for_a_component_and_from_a_request_to_its_reply() {
    let _s = serial();
    let (device, _connection, client) = faulty_client(Duration::from_secs(2));
    assert_eq!(device.inner.uses(), 0, "none held between calls");
    // A component holds one for its life, as libmmal's do.
    let camera = client.component_create("ril.camera").unwrap();
    assert_eq!(device.inner.uses(), 1, "the component's");
    client.component_destroy(camera.handle).unwrap();
    assert_eq!(device.inner.uses(), 0, "given back at the destroy");
    // A request holds one until its reply (here, one that never comes).
    device.arm(MMAL_MSG_TYPE_COMPONENT_CREATE, Fault::Swallow);
    let waiting = {
        let client = client.clone();
        std::thread::spawn(move || client.component_create("ril.camera"))
    };
    wait_until("the request to be sent", || device.faulted.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(device.inner.uses(), 1, "held while the reply is awaited");
    let r = waiting.join().unwrap();
    assert!(matches!(r, Err(Error::Timeout { .. })), "{r:?}");
    assert_eq!(device.inner.uses(), 0, "given back when the wait ends");
    client.close().unwrap();
}

#[test]
fn a_tunnel_carries_frames_on_the_videocore() {
    let _s = serial();
    let connection = connect();
    let recorder = Recorder::resending();
    let client = Client::open_with(&connection, client_options(), recorder.clone()).unwrap();
    let camera = client.component_create("ril.camera").unwrap();
    let resize = client.component_create("ril.resize").unwrap();
    client.component_enable(camera.handle).unwrap();
    client.component_enable(resize.handle).unwrap();
    let video = video_port(&client, camera.handle, 640, 480);
    // The input takes the output's format, as the kernel's client does.
    let mut input = client.port_info_get(resize.handle, PortType::Input, 0).unwrap();
    input.format = video.format.clone();
    let input = client.port_info_set(&input).unwrap();
    let mut out = client.port_info_get(resize.handle, PortType::Output, 0).unwrap();
    out.format.encoding = sys::MMAL_ENCODING_I420;
    out.format.video.width = 320;
    out.format.video.height = 240;
    out.format.video.crop = mmal_vchiq::Rect { x: 0, y: 0, width: 320, height: 240 };
    let out = client.port_info_set(&out).unwrap();
    let small = 320 * 240 * 3 / 2;
    assert_eq!(out.buffer_size_min, small);

    client.port_connect(&video.port, &input.port).unwrap();
    let twice = client.port_connect(&video.port, &input.port);
    assert!(matches!(twice, Err(Error::Mmal { .. })), "{twice:?}");
    client.port_enable(&out.port, 2, small).unwrap();
    for _ in 0..2 {
        client.send_buffer(&out.port, BufferToSend::output(Vec::new(), small)).unwrap();
    }
    client.port_enable(&video.port, 0, 0).unwrap();
    client.parameter_set_u32(&video.port, sys::MMAL_PARAMETER_CAPTURE, 1).unwrap();
    recorder.wait("resized frames", |s| s.buffers.iter().filter(|b| b.length == small).count() >= 3);
    // The camera's frames never came to the host: only the resized ones.
    assert!(recorder.lock().buffers.iter().all(|b| b.port == out.port));

    client.port_disable(&video.port).unwrap();
    client.port_disable(&out.port).unwrap();
    client.port_disconnect(&video.port).unwrap();
    assert!(matches!(client.port_disconnect(&video.port), Err(Error::Mmal { status: Status::Enotconn, .. })));
    assert_eq!(client.stats().buffers_in_flight, 0);
    client.close().unwrap();
    assert_eq!(mmal_emu::usage().connections, 0);
}

#[test]
fn events_reach_the_handler() {
    let _s = serial();
    let connection = connect();
    let recorder = Recorder::new();
    let client = Client::open_with(&connection, client_options(), recorder.clone()).unwrap();
    let camera = client.component_create("ril.camera").unwrap();
    let control = client.port_info_get(camera.handle, PortType::Control, 0).unwrap();
    client.port_enable(&control.port, 0, 0).unwrap();
    let id = vchiq_emu::component_id(camera.handle).expect("live");
    assert!(mmal_emu::post_event(id, mmal_emu::TestEvent::Error(sys::MMAL_EIO)));
    recorder.wait("the event", |s| !s.events.is_empty());
    let e = recorder.lock().events[0].clone();
    assert_eq!((e.component, e.port_type, e.port_index), (camera.handle, PortType::Control, 0));
    assert_eq!(e.cmd, sys::MMAL_EVENT_ERROR);
    client.close().unwrap();
}

#[test]
fn zero_copy_frames_land_in_vcsm_blocks_without_a_copy() {
    let _s = serial();
    vcsm::ServiceManager::emulated().unwrap();
    let connection = connect();
    let recorder = Recorder::new();
    let client = Client::open_with(&connection, client_options(), recorder.clone()).unwrap();
    let camera = client.component_create("ril.camera").unwrap();
    client.component_enable(camera.handle).unwrap();
    let video = video_port(&client, camera.handle, 64, 48);
    let size = video.buffer_size_min;
    let mut blocks: Vec<vcsm::SharedMemory> =
        (0..2).map(|_| vcsm::SharedMemory::new(size as usize, "zero copy").unwrap()).collect();
    let zero_copy = |b: &vcsm::SharedMemory| BufferToSend {
        memory: Memory::VideoCore { handle: b.vc_handle().get() },
        ..BufferToSend::output(Vec::new(), size)
    };

    // The firmware takes a buffer as its port makes it (libmmal leaves the
    // message's `is_zero_copy` unset): without ZERO_COPY on the port, a
    // block is refused before it is sent; with it, any other memory is.
    client.port_enable(&video.port, 2, size).unwrap();
    let refused = |r: mmal_vchiq::Result<_>| assert!(matches!(r, Err(Error::InvalidArgument(_))), "{r:?}");
    refused(client.send_buffer(&video.port, zero_copy(&blocks[0])));
    client.port_disable(&video.port).unwrap();

    client.parameter_set_u32(&video.port, sys::MMAL_PARAMETER_ZERO_COPY, 1).unwrap();
    client.parameter_set_u32(&video.port, sys::MMAL_PARAMETER_CAPTURE, 1).unwrap();
    client.port_enable(&video.port, 2, size).unwrap();
    refused(client.send_buffer(&video.port, BufferToSend::output(vec![0; size as usize], size)));
    assert_eq!(client.stats().buffers_in_flight, 0, "nothing was sent");
    for b in &blocks {
        client.send_buffer(&video.port, zero_copy(b)).unwrap();
    }
    recorder.wait("two frames", |s| s.buffers.len() == 2);
    client.port_disable(&video.port).unwrap();
    let seen = recorder.lock();
    for r in &seen.buffers {
        assert!(r.status.is_success(), "{r:?}");
        assert_eq!(r.length, size);
        let Memory::VideoCore { handle } = r.memory else { panic!("{r:?}") };
        let block = blocks.iter_mut().find(|b| b.vc_handle().get() == handle).expect("one of ours");
        assert!(block.lock().unwrap().iter().any(|&x| x != 0), "the frame is in the block");
    }
    drop(seen);
    client.close().unwrap();
}

/// A buffer the VideoCore never returns is released by the client once the
/// port is disabled (after the drain timeout), and by the close.
#[test]
fn buffers_the_videocore_keeps_are_released_by_disable_and_close() {
    let _s = serial();
    let device = Faulty::new();
    let connection = Connection::with_device(Arc::clone(&device), vchiq_options()).unwrap();
    let recorder = Recorder::new();
    let mut options = client_options();
    options.drain_timeout = Duration::from_millis(500);
    let client = Client::open_with(&connection, options, recorder.clone()).unwrap();
    let camera = client.component_create("ril.camera").unwrap();
    let video = video_port(&client, camera.handle, 64, 48);
    let size = video.buffer_size_min;
    client.port_enable(&video.port, 2, size).unwrap();
    let kept = BufferToSend { tag: 7, ..BufferToSend::output(vec![0; 16], size) };
    device.arm(MMAL_MSG_TYPE_BUFFER_FROM_HOST, Fault::Swallow);
    let lost = client.send_buffer(&video.port, kept).unwrap();
    client.send_buffer(&video.port, BufferToSend { tag: 8, ..BufferToSend::output(Vec::new(), size) }).unwrap();
    client.port_disable(&video.port).unwrap();
    let stats = client.stats();
    assert_eq!((stats.buffers_in_flight, stats.released_buffers), (0, 1));
    {
        let seen = recorder.lock();
        assert_eq!(seen.buffers.len(), 2);
        let released: Vec<_> = seen.buffers.iter().filter(|b| b.released).collect();
        assert_eq!(released.len(), 1);
        assert_eq!((released[0].cookie, released[0].tag), (lost, 7));
        assert_eq!(released[0].memory, Memory::Host(vec![0; 16]), "its memory comes back");
    }

    // Out when the client closes: released through the handler too.
    client.port_enable(&video.port, 2, size).unwrap();
    device.arm(MMAL_MSG_TYPE_BUFFER_FROM_HOST, Fault::Swallow);
    client.send_buffer(&video.port, BufferToSend { tag: 9, ..BufferToSend::output(Vec::new(), size) }).unwrap();
    client.close().unwrap();
    let seen = recorder.lock();
    assert!(seen.closed);
    let last = seen.buffers.last().unwrap();
    assert!(last.released && last.tag == 9, "{last:?}");
}

/// The handler disables the port it streams from: the disable delivers
/// the port's other buffers itself (to the same handler, nested), then
/// returns with none left out.
#[test]
fn a_port_disabled_from_the_handler_returns_every_buffer() {
    struct Disabler {
        calls: Mutex<Vec<String>>,
        done: Condvar,
    }
    impl mmal_vchiq::Handler for Disabler {
        fn buffer(&self, client: &Client, b: mmal_vchiq::Returned) {
            let first = {
                let mut calls = self.calls.lock();
                calls.push(format!("buffer {}", b.tag));
                calls.len() == 1
            };
            if first {
                let r = client.port_disable(&b.port);
                let line = format!("disabled {r:?}, {} out", client.stats().buffers_in_flight);
                self.calls.lock().push(line);
                self.done.notify_all();
            }
        }
    }
    let _s = serial();
    let connection = connect();
    let handler = Arc::new(Disabler { calls: Mutex::new(Vec::new()), done: Condvar::new() });
    let client = Client::open_with(&connection, client_options(), Arc::clone(&handler)).unwrap();
    let (_, video) = capturing_video(&client, 3);
    let size = video.buffer_size_min;
    for tag in 0..3 {
        client.send_buffer(&video.port, BufferToSend { tag, ..BufferToSend::output(Vec::new(), size) }).unwrap();
    }
    let mut calls = handler.calls.lock();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !calls.iter().any(|c| c.starts_with("disabled")) {
        assert!(!handler.done.wait_until(&mut calls, deadline).timed_out(), "{calls:?}");
    }
    // The first buffer's handler delivered the other two before its
    // disable returned.
    assert_eq!(calls.len(), 4, "{calls:?}");
    assert_eq!(calls[3], "disabled Ok(()), 0 out");
    drop(calls);
    client.close().unwrap();
}

/// A stale buffer whose data follows by bulk: the data is received and
/// dropped, so the next buffer gets its own data, not the stale one's.
#[test]
fn a_stale_buffers_data_is_received_and_dropped() {
    let _s = serial();
    let (device, _connection, recorder, client) = recorded_over_faulty(client_options());
    let (_, video) = idle_video(&client, 1);
    let size = video.buffer_size_min;

    // A BUFFER_TO_HOST for a cookie never given out, 100 bytes of data
    // following it by bulk: the next bulk the host receives.
    let m = buffer_to_host(&video.port, 0x0FF0_0001, 100);
    device.fake_bulk(vec![0xEE; 100]);
    device.inject(m);
    // Requests wake the completion thread: the message, then its data.
    wait_until("the stale data received", || {
        client.parameter_get_u32(&video.port, sys::MMAL_PARAMETER_CAPTURE).unwrap();
        device.fakes_taken.load(std::sync::atomic::Ordering::SeqCst) == 1 && client.stats().stale_buffers == 1
    });

    // A real frame now: its own data.
    client.parameter_set_u32(&video.port, sys::MMAL_PARAMETER_CAPTURE, 1).unwrap();
    client.send_buffer(&video.port, BufferToSend::output(Vec::new(), size)).unwrap();
    recorder.wait("a frame", |s| s.buffers.len() == 1);
    let frame = recorder.lock().buffers.remove(0);
    assert_eq!(frame.length, size);
    let Memory::Host(data) = &frame.memory else { panic!() };
    assert_ne!(data[..100], [0xEE; 100], "not the stale buffer's data");
    client.port_disable(&video.port).unwrap();
    client.close().unwrap();
}

/// A cookie of an earlier generation of a slot now holding another buffer
/// names nothing: that buffer stays out until the VideoCore returns it.
#[test]
fn an_old_generation_of_a_reused_slot_is_stale() {
    let _s = serial();
    let (device, _connection, recorder, client) = recorded_over_faulty(client_options());
    let camera = client.component_create("ril.camera").unwrap();
    let video = video_port(&client, camera.handle, 64, 48);
    let size = video.buffer_size_min;
    // Capture off: buffers stay with the VideoCore until the disable.
    client.port_enable(&video.port, 1, size).unwrap();
    let old =
        client.send_buffer(&video.port, BufferToSend { tag: 1, ..BufferToSend::output(Vec::new(), size) }).unwrap();
    client.port_disable(&video.port).unwrap();
    client.port_enable(&video.port, 1, size).unwrap();
    let new =
        client.send_buffer(&video.port, BufferToSend { tag: 2, ..BufferToSend::output(Vec::new(), size) }).unwrap();
    assert_eq!(old.to_u32() & 0xF_FFFF, new.to_u32() & 0xF_FFFF, "the same slot");
    assert_ne!(old, new, "another generation");

    device.inject(buffer_to_host(&video.port, old.to_u32(), 0));
    client.parameter_get_u32(&video.port, sys::MMAL_PARAMETER_CAPTURE).unwrap();
    wait_until("the stale buffer", || client.stats().stale_buffers == 1);
    assert_eq!(client.stats().buffers_in_flight, 1, "the new buffer is still out");
    assert_eq!(recorder.lock().buffers.len(), 1, "only the first, at its disable");

    client.port_disable(&video.port).unwrap();
    let seen = recorder.lock();
    assert_eq!(seen.buffers.len(), 2);
    assert_eq!((seen.buffers[1].cookie, seen.buffers[1].tag, seen.buffers[1].released), (new, 2, false));
    drop(seen);
    client.close().unwrap();
}

/// A buffer of the port still in the handler (blocked) when the disable
/// has waited twice its drain timeout: the disable says so instead of
/// claiming that every buffer has been through the handler.
#[test]
fn a_disable_with_a_buffer_still_in_the_handler_says_so() {
    let _s = serial();
    let connection = connect();
    let gate = Arc::new((Mutex::new((false, false)), Condvar::new()));
    let in_handler = Arc::clone(&gate);
    let recorder = Recorder::on_buffer(move |_, _, _| {
        let (lock, cond) = &*in_handler;
        let mut g = lock.lock();
        g.0 = true;
        cond.notify_all();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !g.1 && !cond.wait_until(&mut g, deadline).timed_out() {}
    });
    let mut options = client_options();
    options.drain_timeout = Duration::from_millis(50);
    let client = Client::open_with(&connection, options, recorder.clone()).unwrap();
    let input = sink_input(&client, 64);
    client.port_enable(&input.port, 0, 0).unwrap();
    client.send_buffer(&input.port, BufferToSend::input(vec![1; 8], input.buffer_size)).unwrap();
    {
        let (lock, cond) = &*gate;
        let mut g = lock.lock();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while !g.0 {
            assert!(!cond.wait_until(&mut g, deadline).timed_out(), "the buffer never reached the handler");
        }
    }
    let err = client.port_disable(&input.port).unwrap_err();
    assert!(matches!(err, Error::HandlerBusy { .. }), "{err:?}");
    assert!(err.to_string().contains("still in the handler"), "{err}");
    {
        let (lock, cond) = &*gate;
        lock.lock().1 = true;
        cond.notify_all();
    }
    recorder.wait("the buffer delivered", |s| s.buffers.len() == 1);
    assert_eq!(client.stats().buffers_in_flight, 0);
    // Once the handler has returned, the disable can be finished: the port
    // is not disabled on the VideoCore a second time (which refuses it).
    client.port_disable(&input.port).unwrap();
    client.port_disable(&input.port).unwrap();
    client.close().unwrap();
}

/// A buffer's length never runs past the memory it comes back with: a host
/// buffer answered as if zero copy (no data), and an input sent by bulk
/// (padded to a word for the transfer) comes back as it went.
#[test]
fn a_returned_length_never_exceeds_its_memory() {
    use std::mem::{offset_of, size_of};
    let _s = serial();
    let (device, _connection, recorder, client) = recorded_over_faulty(client_options());
    let camera = client.component_create("ril.camera").unwrap();
    let video = video_port(&client, camera.handle, 64, 48);
    let size = video.buffer_size_min;
    // Capture off: the buffer stays with the VideoCore.
    client.port_enable(&video.port, 1, size).unwrap();
    let cookie = client.send_buffer(&video.port, BufferToSend::output(Vec::new(), size)).unwrap();
    // Answered with 100 bytes "in the buffer's VideoCore memory": it has none.
    let mut m = buffer_to_host(&video.port, cookie.to_u32(), 100);
    let zc = size_of::<vchiq_sys::mmal_msg_header>() + offset_of!(vchiq_sys::mmal_msg_buffer_from_host, is_zero_copy);
    m[zc..zc + 4].copy_from_slice(&1u32.to_le_bytes());
    device.inject(m);
    client.parameter_get_u32(&video.port, sys::MMAL_PARAMETER_CAPTURE).unwrap();
    recorder.wait("the answer", |s| s.buffers.len() == 1);
    let b = recorder.lock().buffers.remove(0);
    let Memory::Host(v) = &b.memory else { panic!("{b:?}") };
    assert!((b.offset + b.length) as usize <= v.len(), "{b:?}");
    assert_ne!(b.flags & sys::MMAL_BUFFER_HEADER_FLAG_TRANSMISSION_FAILED, 0, "{b:?}");
    client.port_disable(&video.port).unwrap();

    let sink = client.component_create("null_sink").unwrap();
    client.component_enable(sink.handle).unwrap();
    let mut input = client.port_info_get(sink.handle, PortType::Input, 0).unwrap();
    input.buffer_size = input.buffer_size_recommended.max(4096);
    let input = client.port_info_set(&input).unwrap();
    client.port_enable(&input.port, 1, input.buffer_size).unwrap();
    let data = vec![9u8; 3001];
    client.send_buffer(&input.port, BufferToSend::input(data.clone(), input.buffer_size)).unwrap();
    recorder.wait("the input back", |s| s.buffers.iter().any(|b| b.port == input.port));
    let back = {
        let mut s = recorder.lock();
        let at = s.buffers.iter().position(|b| b.port == input.port).unwrap();
        s.buffers.remove(at)
    };
    assert_eq!(back.memory, Memory::Host(data), "the memory as it went, unpadded");
    client.port_disable(&input.port).unwrap();
    client.close().unwrap();
}

/// Lent memory (a C header's payload, say) receives its frame in place,
/// from its start, and comes back as lent memory; the owner's lease ends
/// only when the returned buffer is dropped. An input cannot be lent:
/// refused, with the lease given back at once and no cookie used.
#[test]
fn lent_memory_receives_its_frame_in_place() {
    let _s = serial();
    let connection = connect();
    let recorder = Recorder::new();
    let client = Client::open_with(&connection, client_options(), recorder.clone()).unwrap();
    let (_, video) = capturing_video(&client, 1);
    let size = video.buffer_size_min;
    let received = client.stats().bytes_received;

    let (memory, held) = lent(size as usize);
    let sent = BufferToSend { tag: 7, memory: Memory::Lent(memory), ..BufferToSend::output(Vec::new(), size) };
    client.send_buffer(&video.port, sent).unwrap();
    recorder.wait("a frame", |s| s.buffers.len() == 1);
    let frame = recorder.lock().buffers.remove(0);
    assert_eq!((frame.tag, frame.length, frame.offset), (7, size, 0), "{frame:?}");
    assert_eq!(frame.flags & sys::MMAL_BUFFER_HEADER_FLAG_TRANSMISSION_FAILED, 0);
    let Memory::Lent(data) = &frame.memory else { panic!("lent memory back: {frame:?}") };
    assert!(data.is_lent() && data.len() == size as usize);
    assert!(data.iter().any(|&b| b != 0), "the frame was written into the lent memory");
    assert!(client.stats().bytes_received - received >= u64::from(size), "by bulk transfer");
    assert!(held.load(std::sync::atomic::Ordering::SeqCst), "lent until the buffer is dropped");
    drop(frame);
    assert!(!held.load(std::sync::atomic::Ordering::SeqCst));

    let sink = sink_input(&client, 4096);
    client.port_enable(&sink.port, 1, sink.buffer_size).unwrap();
    let (memory, held) = lent(4096);
    let input = BufferToSend { memory: Memory::Lent(memory), ..BufferToSend::input(Vec::new(), sink.buffer_size) };
    let err = client.send_buffer(&sink.port, input).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
    assert!(!held.load(std::sync::atomic::Ordering::SeqCst), "given back with the refusal");
    assert_eq!(client.stats().buffers_in_flight, 0);
    client.port_disable(&sink.port).unwrap();
    client.port_disable(&video.port).unwrap();
    client.close().unwrap();
}

/// Lent memory gets exactly the data that came for its buffer, from its
/// start, whatever the VideoCore says: data whose transfer's padding does
/// not fit goes through host memory; data larger than the memory is
/// dropped (and flagged); an empty EOS buffer's dummy is skipped. Each
/// case's data is the bulk the client receives next, so a case that took
/// too little or too much would give the next one the wrong bytes.
#[test]
fn lent_memory_gets_exactly_its_data() {
    use std::mem::{offset_of, size_of};
    let _s = serial();
    let (device, _connection, recorder, client) = recorded_over_faulty(client_options());
    // Capture off: the VideoCore keeps the buffers; their returns are
    // played here instead.
    let (_, video) = idle_video(&client, 8);
    let size = video.buffer_size_min;
    let flags_at = size_of::<vchiq_sys::mmal_msg_header>()
        + offset_of!(vchiq_sys::mmal_msg_buffer_from_host, buffer_header)
        + offset_of!(vchiq_sys::mmal_msg_buffer_header, flags);
    let zero_copy_at =
        size_of::<vchiq_sys::mmal_msg_header>() + offset_of!(vchiq_sys::mmal_msg_buffer_from_host, is_zero_copy);
    // `bulk` empty: no data follows.
    let deliver = |lent_len: usize, length: u32, flags: u32, bulk: Vec<u8>| -> Returned {
        let (memory, _held) = lent(lent_len);
        let sent = BufferToSend { memory: Memory::Lent(memory), ..BufferToSend::output(Vec::new(), size) };
        let cookie = client.send_buffer(&video.port, sent).unwrap();
        let before = recorder.lock().buffers.len();
        let mut m = buffer_to_host(&video.port, cookie.to_u32(), length);
        m[flags_at..flags_at + 4].copy_from_slice(&flags.to_le_bytes());
        if bulk.is_empty() {
            m[zero_copy_at..zero_copy_at + 4].copy_from_slice(&1u32.to_le_bytes());
        } else {
            device.fake_bulk(bulk);
        }
        device.inject(m);
        wait_until("the buffer back", || {
            client.parameter_get_u32(&video.port, sys::MMAL_PARAMETER_CAPTURE).unwrap();
            recorder.lock().buffers.len() > before
        });
        recorder.lock().buffers.pop().unwrap()
    };
    let failed = |b: &Returned| b.flags & sys::MMAL_BUFFER_HEADER_FLAG_TRANSMISSION_FAILED != 0;
    let bytes = |b: &Returned| match &b.memory {
        Memory::Lent(m) => m.to_vec(),
        other => panic!("lent memory back: {other:?}"),
    };

    // In place: 40 bytes, the rest of the memory untouched.
    let data: Vec<u8> = (1..=40).collect();
    let b = deliver(64, 40, 0, data.clone());
    assert_eq!((b.length, b.offset, failed(&b)), (40, 0, false), "{b:?}");
    assert_eq!(bytes(&b)[..40], data[..]);
    assert!(bytes(&b)[40..].iter().all(|&x| x == 0), "nothing written past the data");

    // 10 bytes into 10: the transfer moves 12, through host memory.
    let b = deliver(10, 10, 0, (101..=112).collect());
    assert_eq!((b.length, failed(&b)), (10, false), "{b:?}");
    assert_eq!(bytes(&b), (101..=110).collect::<Vec<u8>>());

    // 20 bytes for 16: dropped, flagged, the memory untouched.
    let b = deliver(16, 20, 0, vec![0xAB; 20]);
    assert_eq!((b.length, failed(&b)), (0, true), "{b:?}");
    assert_eq!(bytes(&b), vec![0; 16]);

    // An empty EOS buffer: its 8-byte dummy is skipped.
    let b = deliver(16, 0, sys::MMAL_BUFFER_HEADER_FLAG_EOS, vec![0xCD; 8]);
    assert_eq!((b.length, failed(&b)), (0, false), "{b:?}");
    assert_ne!(b.flags & sys::MMAL_BUFFER_HEADER_FLAG_EOS, 0);
    assert_eq!(bytes(&b), vec![0; 16]);

    // Zero copy claimed for lent memory, with a length: no data came, and
    // that is flagged.
    let b = deliver(16, 8, 0, Vec::new());
    assert_eq!((b.length, failed(&b)), (0, true), "{b:?}");
    assert_eq!(bytes(&b), vec![0; 16]);

    // And the data order held: the next buffer gets its own data.
    let b = deliver(8, 8, 0, vec![7; 8]);
    assert_eq!(bytes(&b), vec![7; 8]);
    assert_eq!(client.stats().stale_buffers, 0);
    client.port_disable(&video.port).unwrap();
    client.close().unwrap();
}
