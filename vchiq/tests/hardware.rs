//! Tests for a real Raspberry Pi with /dev/vchiq and the firmware's MMAL
//! service (32- or 64-bit Raspberry Pi OS, `start_x=1`):
//! `cargo test -p vchiq --features hardware-tests --test hardware`
#![cfg(feature = "hardware-tests")]

use std::mem::size_of;

use vchiq::{Connection, Fourcc, ServiceOptions};
use vchiq_sys::{
    mmal_msg_header, mmal_msg_version, MMAL_MAGIC, MMAL_MSG_TYPE_GET_VERSION, VC_MMAL_MIN_VER, VC_MMAL_VER,
};

fn word(m: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_le_bytes(m.get(i * 4..i * 4 + 4)?.try_into().ok()?))
}

#[test]
fn the_firmware_answers_mmal_get_version() {
    let connection = Connection::open().expect("/dev/vchiq opens (is the user in the `video` group?)");
    let config = connection.config();
    assert!(config.version >= 3 && config.max_msg_size >= 512, "{config:?}");
    let mmal = connection
        .open_service(
            ServiceOptions::new(Fourcc::MMAL, VC_MMAL_VER as i16, VC_MMAL_MIN_VER as i16)
                .reply_context(|m| (word(m, 0)? == MMAL_MAGIC).then(|| word(m, 3)).flatten()),
        )
        .expect("the firmware offers MMAL (start_x=1, gpu_mem>=128)");
    let context = 0x1234_5678u32;
    let mut request = vec![0u8; size_of::<mmal_msg_header>() + size_of::<mmal_msg_version>()];
    request[0..4].copy_from_slice(&MMAL_MAGIC.to_le_bytes());
    request[4..8].copy_from_slice(&MMAL_MSG_TYPE_GET_VERSION.to_le_bytes());
    request[12..16].copy_from_slice(&context.to_le_bytes());
    let reply = mmal.request(&[&request], context).expect("a reply within 3 s");
    assert_eq!(word(&reply, 1), Some(MMAL_MSG_TYPE_GET_VERSION));
    let major = word(&reply, 7).expect("a version in the reply");
    assert!(major >= VC_MMAL_MIN_VER, "firmware MMAL version {major}");
    mmal.close().unwrap();
}
