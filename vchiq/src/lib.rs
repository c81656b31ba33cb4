//! A VCHIQ connection in safe Rust: how a Raspberry Pi program talks to the
//! VideoCore firmware through `/dev/vchiq`, from 32- and 64-bit processes
//! alike.
//!
//! A [`Connection`] opens the device, checks the driver's protocol versions
//! and runs one completion thread, which receives every message, bulk
//! completion and close from the driver. On it, [`Service`]s (by 4CC, for
//! example MMAL's) send messages, make requests whose replies are matched by
//! a context the caller gives, move data by bulk transfer in order (at most
//! four queued per direction; [`Service::send_with_bulk`] sends a message
//! and the bulk data it announces as one ordered step), and hold the VideoCore's use count around
//! their traffic so it stays powered while it works. Every wait has a
//! timeout and every failure a clear [`Error`].
//!
//! The crate knows nothing of what the messages mean; the MMAL provider
//! builds on it with `vchiq-sys`'s message layouts.
//!
//! ```no_run
//! use std::time::Duration;
//! use vchiq::{Connection, Fourcc, ServiceOptions};
//!
//! # fn main() -> vchiq::Result<()> {
//! let connection = Connection::open()?;
//! let service = connection.open_service(
//!     ServiceOptions::new(Fourcc::MMAL, 15, 10)
//!         // The reply's context is the MMAL header's fourth word.
//!         .reply_context(|m| Some(u32::from_le_bytes(m.get(12..16)?.try_into().ok()?))),
//! )?;
//! let mut request = [0u8; 24];
//! request[12..16].copy_from_slice(&1u32.to_le_bytes());
//! let reply = service.request(&[&request], 1)?;
//! let frame = service.bulk_receive(vec![0; 4096], 4096)?.wait()?;
//! # let _ = (reply, frame, Duration::ZERO);
//! # Ok(()) }
//! ```
//!
//! # Testing without a VideoCore
//!
//! The connection speaks to the driver only through the [`Device`] trait,
//! one method per ioctl; [`Connection::with_device`] takes any
//! implementation, so tests can play the kernel's side and inject faults
//! (`EINTR` is retried, other errors surface as [`Error`]s).
#![deny(unsafe_code)]

mod buffer;
mod connection;
mod device;
mod error;
mod event;
mod kernel;
mod options;
mod service;
mod shared;

pub use buffer::BulkBuffer;
pub use connection::{Connection, DEVICE_PATH};
pub use device::{
    Bulk, BulkDirection, Completion, Config, Device, Fourcc, MessageBuffers, ServiceHandle, ServiceParams,
};
pub use error::{Error, Result};
pub use event::ServiceEvent;
pub use options::{Options, ServiceOptions};
pub use service::{BulkTransfer, Service, UseGuard};
