//! Threads and handles: no thread outlives the client, dropping the last
//! handle on the delivery thread detaches it, every call works from any
//! thread.

mod common;

use std::sync::Arc;

use common::*;
use mmal_sys as sys;
use mmal_vchiq::{BufferToSend, Client};
use parking_lot::Mutex;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn the_client_is_send_and_sync() {
    assert_send_sync::<Client>();
}

/// Opens, streams a little, closes, many times: the thread count comes back
/// to where it was (the connection's completion thread, the client's
/// delivery thread, the emulated VideoCore's threads all end).
#[test]
fn open_stream_close_cycles_leave_no_thread() {
    let _s = serial();
    let before = threads();
    for round in 0..3 {
        let connection = connect();
        let recorder = Recorder::resending();
        let client = Client::open_with(&connection, client_options(), recorder.clone()).unwrap();
        let camera = client.component_create("ril.camera").unwrap();
        client.component_enable(camera.handle).unwrap();
        let video = video_port(&client, camera.handle, 64, 48);
        let size = video.buffer_size_min;
        client.parameter_set_u32(&video.port, sys::MMAL_PARAMETER_CAPTURE, 1).unwrap();
        client.port_enable(&video.port, 2, size).unwrap();
        for _ in 0..2 {
            client.send_buffer(&video.port, BufferToSend::output(Vec::new(), size)).unwrap();
        }
        recorder.wait("frames", |s| s.buffers.len() >= 4);
        if round == 1 {
            // Closed with the port streaming and the component alive: the
            // buffers still out are released through the handler.
            drop(client);
        } else {
            client.port_disable(&video.port).unwrap();
            client.component_destroy(camera.handle).unwrap();
            client.close().unwrap();
        }
        recorder.wait("the close", |s| s.closed);
        drop(connection);
    }
    wait_until("the threads to end", || threads() == before);
    assert_eq!(vchiq_emu::threads(), 0);
    assert_eq!(mmal_emu::usage().components, 0);
}

/// The handler holds the last handle and drops it: the client closes from
/// its own delivery thread, which then ends by itself.
#[test]
fn the_last_handle_dropped_in_the_handler_detaches_the_delivery_thread() {
    let _s = serial();
    let before = threads();
    let connection = connect();
    let slot: Arc<Mutex<Option<Client>>> = Arc::new(Mutex::new(None));
    let in_handler = Arc::clone(&slot);
    let recorder = Recorder::on_buffer(move |_, _, seen| {
        if let Some(client) = in_handler.lock().take() {
            drop(client);
            seen.notes.push("dropped".into());
        }
    });
    let client = Client::open_with(&connection, client_options(), recorder.clone()).unwrap();
    let sink = client.component_create("null_sink").unwrap();
    client.component_enable(sink.handle).unwrap();
    let mut input = client.port_info_get(sink.handle, mmal_vchiq::PortType::Input, 0).unwrap();
    input.buffer_size = input.buffer_size.max(64);
    let input = client.port_info_set(&input).unwrap();
    client.port_enable(&input.port, 0, 0).unwrap();
    client.send_buffer(&input.port, BufferToSend::input(vec![1; 8], input.buffer_size)).unwrap();
    *slot.lock() = Some(client);
    // The buffer's return runs the handler, which drops the last handle.
    recorder.wait("the close", |s| s.closed && s.notes.iter().any(|n| n == "dropped"));
    drop(connection);
    wait_until("the threads to end", || threads() == before);
}

/// Calls from several threads at once, while frames stream.
#[test]
fn calls_from_many_threads_at_once() {
    let _s = serial();
    let connection = connect();
    let client = Client::open_with(&connection, client_options(), Recorder::new()).unwrap();
    let camera = client.component_create("ril.camera").unwrap();
    let control = client.port_info_get(camera.handle, mmal_vchiq::PortType::Control, 0).unwrap().port;
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    assert_eq!(client.parameter_get_u32(&control, sys::MMAL_PARAMETER_CAMERA_NUM).unwrap(), 0);
                    client.port_info_get(camera.handle, mmal_vchiq::PortType::Output, 2).unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    client.close().unwrap();
}

/// A call made on the connection's completion thread (from the callback of
/// another service on the same connection) fails at once: its reply could
/// only come through that very thread.
#[test]
fn a_call_from_the_completion_thread_fails_at_once() {
    let _s = serial();
    let connection = connect();
    let client = Client::open_with(&connection, client_options(), Recorder::new()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let in_callback = client.clone();
    let tx = Mutex::new(tx);
    let other = connection
        .open_service(vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10).on_event(move |_| {
            let _ = tx.lock().send(in_callback.component_create("ril.camera").map(|c| c.handle));
        }))
        .unwrap();
    // Any message: the VideoCore answers it on the other service.
    let mut get_version = vec![0u8; 24 + 16];
    get_version[..4].copy_from_slice(&vchiq_sys::MMAL_MAGIC.to_le_bytes());
    get_version[4..8].copy_from_slice(&vchiq_sys::MMAL_MSG_TYPE_GET_VERSION.to_le_bytes());
    other.send(&[&get_version]).unwrap();
    let r = rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap();
    assert!(matches!(r, Err(mmal_vchiq::Error::Vchiq(vchiq::Error::OnCompletionThread(_)))), "{r:?}");
    drop(rx);
    other.close().unwrap();
    client.close().unwrap();
}
