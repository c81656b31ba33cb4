//! A typed host-side MMAL client over VCHIQ: how a process talks MMAL to
//! the VideoCore firmware through `/dev/vchiq` without libmmal, from 32-
//! and 64-bit processes alike.
//!
//! A [`Client`] opens the firmware's `mmal` service on a
//! [`vchiq::Connection`] and makes the MMAL requests as typed calls, each
//! with a timeout and a clear [`Error`]: components (create, destroy,
//! enable, disable), ports ([`PortInfo`] get and set, enable, disable,
//! flush, connect into tunnels), parameters (raw, as MMAL lays them out, or
//! typed). Buffers go to ports with [`Client::send_buffer`]; they come back,
//! with events, through the [`Handler`] given at open.
//!
//! # Design
//!
//! * **Cookies, never pointers.** The context the VideoCore echoes for a
//!   buffer is a 32-bit [`Cookie`] from a slab: a slot and a 12-bit
//!   generation. A cookie is freed only when its buffer comes back, or when
//!   the client releases it after its port is disabled (or the client
//!   closes); a buffer that comes back with a cookie that is not out (stale,
//!   unknown, or for another port) is logged and dropped, its data received
//!   and discarded so that the bulk order holds, never trusted
//!   ([`Stats::stale_buffers`]). The absence of this rule is what sank
//!   userland's 64-bit libmmal.
//! * **Threads.** The VCHIQ completion thread only routes: replies to the
//!   calls waiting for them (matched by the header's context), the rest
//!   into a queue. One delivery thread per client takes that queue in
//!   order, receives each buffer's data (the bulk transfer that follows its
//!   message; inline data; none for zero copy) and calls the handler. No
//!   synchronous call is made on the completion thread, and the handler may
//!   make any call (send a buffer again, get a parameter, disable a port):
//!   while such a call waits for its reply, the delivery thread goes on
//!   receiving the data of the buffers queued behind, in order (the
//!   VideoCore may answer a disable only once it is taken), and hands them
//!   to the handler once its current call has returned (a disable waiting
//!   for its port's buffers hands them over itself).
//! * **Disable.** [`Client::port_disable`] returns once every buffer of
//!   the port has been through the handler (the VideoCore's, or released
//!   by the client after [`Options::drain_timeout`]), as
//!   `mmal_port_disable` guarantees.
//! * **Close.** [`Client::close`] (or dropping the last handle) fails the
//!   calls waiting, closes the service, releases every buffer still out
//!   through the handler, calls [`Handler::closed`] and joins the delivery
//!   thread (from the handler itself it is left to end on its own).
//!
//! # Example
//!
//! The camera's video port in I420 at 640×480, three buffers, frames
//! received and sent again from the handler, on the emulated VideoCore
//! (`vchiq-emu`; on a Raspberry Pi, `vchiq::Connection::open()`):
//!
//! ```
//! use std::sync::{mpsc, Arc, Mutex};
//! use mmal_vchiq::{BufferToSend, Client, Handler, PortType, Returned};
//!
//! struct Frames(Mutex<mpsc::Sender<usize>>);
//! impl Handler for Frames {
//!     fn buffer(&self, client: &Client, b: Returned) {
//!         if b.released || b.length == 0 {
//!             return;
//!         }
//!         let _ = self.0.lock().unwrap().send(b.length as usize);
//!         let mmal_vchiq::Memory::Host(data) = b.memory else { return };
//!         // Back to the camera for the next frame (fails once disabled).
//!         let _ = client.send_buffer(&b.port, BufferToSend::output(data, b.alloc_size));
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let device = Arc::new(vchiq_emu::EmulatedVchiq::new());
//! let connection = vchiq::Connection::with_device(device, vchiq::Options::default())?;
//! let (tx, frames) = mpsc::channel();
//! let client = Client::open(&connection, Frames(Mutex::new(tx)))?;
//!
//! let camera = client.component_create("vc.ril.camera")?;
//! client.component_enable(camera.handle)?;
//! let mut video = client.port_info_get(camera.handle, PortType::Output, 1)?;
//! video.format.encoding = mmal_sys::MMAL_ENCODING_I420;
//! video.format.video.width = 640;
//! video.format.video.height = 480;
//! video.format.video.crop = mmal_vchiq::Rect { x: 0, y: 0, width: 640, height: 480 };
//! let video = client.port_info_set(&video)?;
//! let size = video.buffer_size_min;
//! assert_eq!(size, 640 * 480 * 3 / 2);
//! client.parameter_set_u32(&video.port, mmal_sys::MMAL_PARAMETER_CAPTURE, 1)?;
//! client.port_enable(&video.port, 3, size)?;
//! for _ in 0..3 {
//!     client.send_buffer(&video.port, BufferToSend::output(Vec::new(), size))?;
//! }
//! for _ in 0..5 {
//!     assert_eq!(frames.recv_timeout(std::time::Duration::from_secs(30))?, size as usize);
//! }
//! client.port_disable(&video.port)?;
//! assert_eq!(client.stats().buffers_in_flight, 0);
//! client.component_destroy(camera.handle)?;
//! client.close()?;
//! # Ok(()) }
//! ```
//!
//! # As libmmal sends it
//!
//! Where the order of data and messages matters, the client sends what
//! libmmal's VC client sends: an input's payload goes by bulk transfer
//! right behind its message (in the message itself only when
//! [`BufferToSend::inline`] asks, as libmmal does for opaque and clock
//! ports); an empty EOS buffer goes as `BUFFER_FROM_HOST_ZEROLEN` with an
//! 8-byte dummy bulk behind it (MMAL 12.2 on), and a flush of a port that
//! has sent data by bulk as PORT_FLUSH with the same dummy (MMAL 15 on), so
//! that neither overtakes data still on its way.
//! [`Client::port_set_requirements`] (PORT_ACTION SET_REQUIREMENTS) tells
//! a tunnel's input its buffer numbers, which libmmal does before enabling
//! the tunnel from its output (as the `mmal` crate's VCHIQ provider does).
//! The VideoCore is kept awake (its use count held) from a request to its
//! reply and for each component's life, as libmmal keeps it, and around
//! each bulk transfer.
//!
//! # Not here
//!
//! No C objects (`MMAL_PORT_T`, pools): the C `Api` builds those on top of
//! this crate. Not sent by this client: reference buffers
//! (`has_reference`), GET_STATS and the other debugging messages.
#![forbid(unsafe_code)]

mod client;
mod core;
mod error;
mod slab;
mod types;
mod wire;

pub use client::{Client, Handler, Options};
pub use error::{Error, Result, Status};
pub use types::{
    BufferToSend, Component, Cookie, Event, Format, Memory, PortInfo, PortRef, PortType, Rational, Rect, Returned,
    Stats, VideoFormat, VideoPlanes,
};
