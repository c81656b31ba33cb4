//! A panic on the delivery thread outside the handler (here: in the
//! program's logger) does not kill the thread: buffers keep coming back and
//! the close still reaches the handler.

mod common;

use std::sync::Arc;

use common::*;
use mmal_sys as sys;
use mmal_vchiq::{BufferToSend, Client};
use vchiq::Connection;

/// A logger that panics on the client's stale-buffer warning.
struct Panicky;

impl log::Log for Panicky {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if record.args().to_string().contains("stale or unknown") {
            panic!("the logger panics");
        }
    }
    fn flush(&self) {}
}

#[test]
fn a_panic_outside_the_handler_does_not_stop_delivery() {
    let _s = serial();
    log::set_logger(&Panicky).unwrap();
    log::set_max_level(log::LevelFilter::Warn);
    let device = Faulty::new();
    let connection = Connection::with_device(Arc::clone(&device), vchiq_options()).unwrap();
    let recorder = Recorder::new();
    let client = Client::open_with(&connection, client_options(), recorder.clone()).unwrap();
    let input = sink_input(&client, 256);
    client.port_enable(&input.port, 0, 0).unwrap();

    // A buffer message with a cookie never given out: its warning panics.
    device.inject(buffer_to_host(&input.port, 0xFFF0_0FFF, 0));
    client.parameter_get_u32(&input.port, sys::MMAL_PARAMETER_ZERO_COPY).ok();
    wait_until("the stale buffer", || client.stats().stale_buffers == 1);

    // The thread goes on.
    client.send_buffer(&input.port, BufferToSend::input(vec![6; 16], input.buffer_size)).unwrap();
    recorder.wait("the next buffer", |s| s.buffers.len() == 1);
    client.port_disable(&input.port).unwrap();
    client.close().unwrap();
    recorder.wait("the close", |s| s.closed);
}
