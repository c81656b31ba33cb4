//! Raw ABI of the Raspberry Pi's `/dev/vchiq` and of the MMAL messages
//! spoken over it.
//!
//! Two parts, both from the project's own header (`include/vchiq_abi.h`)
//! through `cargo xtask bindgen`, committed once per ABI (32-bit ARM and
//! 64-bit LP64), each generated struct carrying compile-time assertions of
//! its size, alignment and field offsets, pinned again by the crate's tests:
//!
//! * **`/dev/vchiq`** (ioctl magic `0xC4`): the `vchiq_*` structs of
//!   CONNECT, CREATE_SERVICE, QUEUE_MESSAGE, QUEUE_BULK_TRANSMIT/RECEIVE,
//!   AWAIT_COMPLETION, GET_CONFIG, LIB_VERSION, USE/RELEASE_SERVICE,
//!   CLOSE/REMOVE_SERVICE and the rest. They carry user-space pointers, so
//!   their layout is the ILP32 one on 32-bit ARM and the LP64 one on 64-bit
//!   targets; a 64-bit kernel accepts both. Request numbers are `u32`
//!   constants computed from the `_IOC` encoding ([`VCHIQ_IOC_CONNECT`] …).
//! * **MMAL over VCHIQ** (the `mmal` service, [`VC_MMAL_SERVICE_FOURCC`]):
//!   the `mmal_msg_*` wire messages, all 32-bit fields and integer handles,
//!   identical under both ABIs: the 24-byte [`mmal_msg_header`], the 64-byte
//!   [`mmal_msg_port`], messages of at most [`MMAL_MSG_MAX_SIZE`] bytes.
//!
//! This crate has no dependencies and is `no_std`. The safe connection is
//! the `vchiq` crate.
//!
//! ```
//! use vchiq_sys::*;
//!
//! // The 4CC of the MMAL service, packed as VCHIQ_MAKE_FOURCC does.
//! assert_eq!(make_fourcc(*b"mmal"), VC_MMAL_SERVICE_FOURCC);
//! assert_eq!(core::mem::size_of::<mmal_msg_header>(), MMAL_MSG_HEADER_SIZE as usize);
//! // CONNECT carries no argument: the same number under every ABI.
//! assert_eq!(VCHIQ_IOC_CONNECT, 0xC400);
//! ```
//!
//! # Request numbers
//!
//! Pass them to `ioctl(2)` converted to the C library's request type
//! (`c_ulong` on glibc, `c_int` on musl). The ones whose argument is a
//! struct differ between ABIs because the struct's size is part of the
//! number.
#![no_std]
#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case)]

#[cfg(target_arch = "arm")]
#[allow(missing_docs, unreachable_pub, unsafe_op_in_unsafe_fn, clippy::all, clippy::undocumented_unsafe_blocks)]
#[rustfmt::skip]
mod bindings {
    include!("bindings/arm.rs");
}

#[cfg(all(not(target_arch = "arm"), target_pointer_width = "64"))]
#[allow(missing_docs, unreachable_pub, unsafe_op_in_unsafe_fn, clippy::all, clippy::undocumented_unsafe_blocks)]
#[rustfmt::skip]
mod bindings {
    include!("bindings/lp64.rs");
}

#[cfg(not(any(target_arch = "arm", target_pointer_width = "64")))]
compile_error!(
    "vchiq-sys has bindings for 32-bit ARM and for 64-bit targets only; \
     add a target to xtask/src/main.rs and run `cargo xtask bindgen`"
);

pub use bindings::*;

mod ioctl;
pub use ioctl::*;

/// `VCHIQ_MAKE_FOURCC(a, b, c, d)`: a service's 4CC, first character in the
/// most significant byte.
///
/// ```
/// assert_eq!(vchiq_sys::make_fourcc(*b"mmal"), 0x6D6D_616C);
/// ```
pub const fn make_fourcc(c: [u8; 4]) -> u32 {
    u32::from_be_bytes(c)
}

/// `MMAL_FOURCC(a, b, c, d)`: an MMAL 4CC (magic, events, encodings), first
/// character in the least significant byte.
///
/// ```
/// assert_eq!(vchiq_sys::mmal_fourcc(*b"mmal"), vchiq_sys::MMAL_MAGIC);
/// assert_eq!(vchiq_sys::mmal_fourcc(*b"ERRO"), vchiq_sys::MMAL_MSG_EVENT_ERROR);
/// ```
pub const fn mmal_fourcc(c: [u8; 4]) -> u32 {
    u32::from_le_bytes(c)
}
