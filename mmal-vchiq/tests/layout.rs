//! The messages each call puts on the wire, checked against the layouts
//! the kernel's MMAL client documents (research/vchiq.md §1.2: sizes and
//! offsets written out there, not taken from this crate's `wire` module or
//! from `vchiq-sys`): header, type, size, and the fields each call sets.

mod common;

use std::sync::Arc;

use common::*;
use mmal_sys as sys;
use mmal_vchiq::{BufferToSend, Client, PortType};
use vchiq::Connection;

/// The header, before every payload.
const H: usize = 24;
/// `MMAL_MAGIC`: MMAL_FOURCC('m','m','a','l'), little-endian.
const MAGIC: u32 = 0x6C61_6D6D;

fn word(m: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(m[at..at + 4].try_into().expect("4 bytes"))
}

fn word64(m: &[u8], at: usize) -> i64 {
    i64::from_le_bytes(m[at..at + 8].try_into().expect("8 bytes"))
}

/// The messages of type `ty` sent since `from`.
fn of_type(device: &Faulty, from: usize, ty: u32) -> Vec<Vec<u8>> {
    device.sent.lock()[from..].iter().filter(|m| word(m, 4) == ty).cloned().collect()
}

/// The one message of type `ty` a call sent (`from`: messages before it).
fn one(device: &Faulty, from: usize, ty: u32) -> Vec<u8> {
    let mut all = of_type(device, from, ty);
    assert_eq!(all.len(), 1, "one message of type {ty}");
    let m = all.remove(0);
    assert_eq!(word(&m, 0), MAGIC, "magic");
    m
}

#[test]
fn each_call_sends_the_documented_message() {
    let _s = serial();
    let device = Faulty::new();
    let connection = Connection::with_device(Arc::clone(&device), vchiq_options()).unwrap();
    let recorder = Recorder::new();
    let mut n = device.sent.lock().len();
    let client = Client::open_with(&connection, client_options(), recorder.clone()).unwrap();

    // GET_VERSION (3): the header alone, with a context the reply echoes.
    let version = one(&device, n, 3);
    assert_eq!(version.len(), H + 16, "header and the version words' room");
    assert_ne!(word(&version, 12), 0, "a context to match the reply by");

    // COMPONENT_CREATE (4): 160 bytes; the name without "vc." at 28.
    n = device.sent.lock().len();
    let sink = client.component_create("vc.null_sink").unwrap();
    let create = one(&device, n, 4);
    assert_eq!(create.len(), 160);
    assert_eq!(&create[H + 4..H + 4 + 10], b"null_sink\0");
    assert_ne!(word(&create, H), 0, "client_component");

    // COMPONENT_ENABLE (6): the component's handle.
    n = device.sent.lock().len();
    client.component_enable(sink.handle).unwrap();
    assert_eq!(word(&one(&device, n, 6), H), sink.handle);

    // PORT_INFO_GET (8): 36 bytes: handle, port type, index.
    n = device.sent.lock().len();
    let input = client.port_info_get(sink.handle, PortType::Input, 0).unwrap();
    let get = one(&device, n, 8);
    assert_eq!(get.len(), H + 12);
    assert_eq!((word(&get, H), word(&get, H + 4), word(&get, H + 8)), (sink.handle, 2, 0));

    // PORT_INFO_SET (9): 304 bytes; the port struct at 36 (buffer_num at
    // +44, buffer_size at +48), the format at 100 (encoding at +4), its
    // video at 132 (width, height).
    n = device.sent.lock().len();
    let mut wanted = input.clone();
    wanted.buffer_num = wanted.buffer_num.max(2);
    wanted.buffer_size = wanted.buffer_size.max(4096);
    let input = client.port_info_set(&wanted).unwrap();
    let set = one(&device, n, 9);
    assert_eq!(set.len(), H + 280);
    assert_eq!((word(&set, H), word(&set, H + 4), word(&set, H + 8)), (sink.handle, 2, 0));
    let port = H + 12;
    assert_eq!((word(&set, port + 44), word(&set, port + 48)), (wanted.buffer_num, wanted.buffer_size));
    let format = port + 64;
    assert_eq!(word(&set, format + 4), wanted.format.encoding);
    let video = format + 32;
    assert_eq!((word(&set, video), word(&set, video + 4)), (wanted.format.video.width, wanted.format.video.height));

    // PORT_PARAMETER_SET (14): handle, port, id, size (8 + value), value.
    n = device.sent.lock().len();
    let _ = client.parameter_set_u32(&input.port, sys::MMAL_PARAMETER_ZERO_COPY, 0);
    let param = one(&device, n, 14);
    assert_eq!(param.len(), H + 16 + 4);
    assert_eq!((word(&param, H), word(&param, H + 4)), (sink.handle, input.port.handle));
    assert_eq!(
        (word(&param, H + 8), word(&param, H + 12), word(&param, H + 16)),
        (sys::MMAL_PARAMETER_ZERO_COPY, 12, 0)
    );

    // PORT_ACTION (10) ENABLE: 100 bytes: handle, port, action 1, the port.
    n = device.sent.lock().len();
    client.port_enable(&input.port, 0, 0).unwrap();
    let action = one(&device, n, 10);
    assert_eq!(action.len(), H + 76);
    assert_eq!((word(&action, H), word(&action, H + 4), word(&action, H + 8)), (sink.handle, input.port.handle, 1));

    // BUFFER_FROM_HOST (11): 292 bytes. The driver buffer at 24 (magic,
    // component, port, context), the header at 56 (alloc_size +16, length
    // +20, flags +28, pts +32), is_zero_copy at 152, payload_in_message at
    // 160, short data at 164.
    n = device.sent.lock().len();
    let mut b = BufferToSend::input(vec![7; 16], input.buffer_size);
    b.flags = sys::MMAL_BUFFER_HEADER_FLAG_EOS;
    b.pts = 1234;
    b.inline = true;
    let cookie = client.send_buffer(&input.port, b).unwrap();
    let buffer = one(&device, n, 11);
    assert_eq!(buffer.len(), H + 268);
    assert_eq!(word(&buffer, H), MAGIC, "drvbuf.magic");
    assert_eq!((word(&buffer, H + 4), word(&buffer, H + 8)), (sink.handle, input.port.handle));
    assert_eq!(word(&buffer, H + 12), cookie.to_u32(), "the cookie is the client context");
    let header = H + 32;
    assert_eq!(word(&buffer, header + 16), input.buffer_size, "alloc_size");
    assert_eq!(word(&buffer, header + 20), 16, "length");
    assert_eq!(word(&buffer, header + 28), sys::MMAL_BUFFER_HEADER_FLAG_EOS, "flags");
    assert_eq!(word64(&buffer, header + 32), 1234, "pts");
    assert_eq!(word(&buffer, H + 128), 0, "is_zero_copy");
    assert_eq!(word(&buffer, H + 136), 16, "payload_in_message: 16 bytes inline");
    assert_eq!(&buffer[H + 140..H + 156], &[7; 16], "the short data");
    recorder.wait("the buffer back", |s| s.buffers.len() == 1);

    // The same bytes without `inline` (libmmal inlines only for opaque and
    // clock ports): payload_in_message 0, and a bulk transmit of 16
    // bytes right behind the message.
    n = device.sent.lock().len();
    client.send_buffer(&input.port, BufferToSend::input(vec![7; 16], input.buffer_size)).unwrap();
    let buffer = one(&device, n, 11);
    assert_eq!((word(&buffer, header + 20), word(&buffer, H + 136)), (16, 0), "length 16, none inline");
    assert!(device.transmits.lock().contains(&(n + 1, 16)), "16 bytes by bulk behind the message");

    // An empty EOS: BUFFER_FROM_HOST_ZEROLEN (24), the buffer message's
    // layout with length 0, and an 8-byte dummy bulk behind it.
    n = device.sent.lock().len();
    let mut eos = BufferToSend::input(Vec::new(), input.buffer_size);
    eos.flags = sys::MMAL_BUFFER_HEADER_FLAG_EOS;
    client.send_buffer(&input.port, eos).unwrap();
    let zerolen = one(&device, n, 24);
    assert_eq!(zerolen.len(), H + 268);
    assert_eq!((word(&zerolen, H + 4), word(&zerolen, H + 8)), (sink.handle, input.port.handle));
    assert_eq!(word(&zerolen, header + 20), 0, "length");
    assert_eq!(word(&zerolen, header + 28), sys::MMAL_BUFFER_HEADER_FLAG_EOS, "flags");
    assert!(device.transmits.lock().contains(&(n + 1, 8)), "the 8-byte dummy behind it");
    recorder.wait("both back", |s| s.buffers.len() == 3);

    // A flush of a port that has sent data by bulk: PORT_FLUSH (25), the
    // buffer message's size with the driver buffer naming the port, and
    // an 8-byte dummy bulk behind it.
    n = device.sent.lock().len();
    client.port_flush(&input.port).unwrap();
    let flush = one(&device, n, 25);
    assert_eq!(flush.len(), H + 268);
    assert_eq!(word(&flush, H), MAGIC, "drvbuf.magic");
    assert_eq!((word(&flush, H + 4), word(&flush, H + 8)), (sink.handle, input.port.handle));
    assert!(device.transmits.lock().contains(&(n + 1, 8)), "the 8-byte dummy behind it");

    // PORT_ACTION DISABLE (2), SET_REQUIREMENTS (6: the port struct's
    // buffer_num and buffer_size, on the disabled port),
    // COMPONENT_DISABLE (7), COMPONENT_DESTROY (5).
    n = device.sent.lock().len();
    client.port_disable(&input.port).unwrap();
    assert_eq!(word(&one(&device, n, 10), H + 8), 2);
    n = device.sent.lock().len();
    client.port_set_requirements(&input.port, input.buffer_num + 1, input.buffer_size).unwrap();
    let requirements = one(&device, n, 10);
    assert_eq!(requirements.len(), H + 76);
    assert_eq!((word(&requirements, H + 4), word(&requirements, H + 8)), (input.port.handle, 6));
    assert_eq!(
        (word(&requirements, port + 44), word(&requirements, port + 48)),
        (input.buffer_num + 1, input.buffer_size)
    );
    assert_eq!(client.port_info_get(sink.handle, PortType::Input, 0).unwrap().buffer_num, input.buffer_num + 1);
    n = device.sent.lock().len();
    client.component_disable(sink.handle).unwrap();
    assert_eq!(word(&one(&device, n, 7), H), sink.handle);
    n = device.sent.lock().len();
    client.component_destroy(sink.handle).unwrap();
    assert_eq!(word(&one(&device, n, 5), H), sink.handle);

    // Every message: at most 512 bytes, a header of 24, a known type.
    for m in device.sent.lock().iter() {
        assert!((H..=512).contains(&m.len()), "{} bytes", m.len());
        assert!((1..=27).contains(&word(m, 4)), "type {}", word(m, 4));
    }
    client.close().unwrap();
}
