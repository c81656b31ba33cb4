//! Bytes to and from the MMAL wire structs of `vchiq-sys` (all 32- and
//! 64-bit integers, no pointers, no padding that matters), read and written
//! unaligned. The crate's only `unsafe` outside `emu`.
#![allow(unsafe_code)]

use std::mem::size_of;

use vchiq_sys::*;

/// A wire struct: plain integers (and arrays and unions of them), valid for
/// every bit pattern.
///
/// # Safety
///
/// Implement only for `repr(C)` types made of integers, for which every bit
/// pattern of `size_of::<Self>()` bytes is a valid value.
/// `WIRE` is the number of leading bytes that are fields (no padding):
/// what goes on the wire.
pub(crate) unsafe trait Pod: Copy {
    /// Bytes sent: the struct without its trailing padding.
    const WIRE: usize = size_of::<Self>();
}

macro_rules! pod {
    ($($t:ty),*) => { $(
        // SAFETY: a vchiq-sys MMAL wire struct: repr(C), integers, arrays
        // and unions of integers only (the bindings' field lists), with no
        // padding between fields (the bindings' offset assertions).
        unsafe impl Pod for $t {}
    )* };
}

// SAFETY: as above; its 4 bytes of trailing padding (after `short_data`,
// to align the 64-bit timestamps) are excluded from WIRE, which is the 268
// bytes the firmware sends (BUFFER_TO_HOST is 292 bytes with its header).
unsafe impl Pod for mmal_msg_buffer_from_host {
    const WIRE: usize = MMAL_MSG_BUFFER_TO_HOST_WIRE_SIZE as usize - MMAL_MSG_HEADER_SIZE as usize;
}

pod!(
    mmal_msg_header,
    mmal_msg_version,
    mmal_msg_component_create,
    mmal_msg_component_create_reply,
    mmal_msg_port_info_get,
    mmal_msg_port_info_get_reply,
    mmal_msg_port_info_set,
    mmal_msg_port_action_port,
    mmal_msg_port_action_handle,
    mmal_msg_port_parameter_set,
    mmal_msg_port_parameter_get,
    mmal_msg_event_to_host,
    mmal_msg_port,
    mmal_msg_es_format,
    mmal_msg_es_specific_format
);

/// A `T` from the first bytes of `bytes`, missing bytes read as zero.
pub(crate) fn read<T: Pod>(bytes: &[u8]) -> T {
    let mut buf = vec![0u8; size_of::<T>()];
    let n = bytes.len().min(buf.len());
    buf[..n].copy_from_slice(&bytes[..n]);
    // SAFETY: `buf` holds size_of::<T>() initialised bytes, and every bit
    // pattern is a valid T (Pod); read_unaligned needs no alignment.
    unsafe { buf.as_ptr().cast::<T>().read_unaligned() }
}

/// The wire bytes of `value` (its first `T::WIRE` bytes).
pub(crate) fn bytes<T: Pod>(value: &T) -> Vec<u8> {
    const { assert!(T::WIRE <= size_of::<T>()) };
    // SAFETY: `value` is a live T; its first T::WIRE bytes are fields (no
    // padding, Pod's contract), hence initialised, and u8 has no alignment.
    unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), T::WIRE) }.to_vec()
}

/// A zeroed `T`.
pub(crate) fn zeroed<T: Pod>() -> T {
    read(&[])
}
