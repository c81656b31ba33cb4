//! On a Raspberry Pi with the legacy camera stack:
//! `VIDEOCORE=hardware cargo test -p mmal --features hardware-tests --test hardware`
//! (32-bit, through libmmal), or
//! `VIDEOCORE=vchiq cargo test -p mmal --features hardware-tests --test hardware`
//! (64-bit Raspberry Pi OS, or 32-bit: MMAL over `/dev/vchiq` without
//! libmmal).
#![cfg(feature = "hardware-tests")]

use std::time::Duration;

use mmal::params::{CameraInfo, Capture};
use mmal::{Component, Encoding, Format, LensShadingTable, Provider};

#[test]
fn libmmal_streams_and_takes_a_lens_shading_table() {
    let provider = mmal::provider().unwrap();
    assert!(matches!(provider, Provider::Hardware | Provider::Vchiq), "{provider}");
    assert!(!mmal::is_software_videocore().unwrap(), "this test needs a Raspberry Pi");
    let info = Component::new("vc.camera_info").unwrap().control().get::<CameraInfo>().unwrap();
    let cam = info.cameras.first().expect("a camera is attached");
    let camera = Component::new("vc.ril.camera").unwrap();
    let (gw, gh) = LensShadingTable::grid_for(cam.max_width, cam.max_height);
    let uploaded = LensShadingTable::unity(gw, gh).unwrap().upload().unwrap();
    camera.control().set(&uploaded.parameter()).unwrap();
    let video = camera.output(1).unwrap();
    video.set_format(&Format::video(Encoding::I420, 640, 480).with_frame_rate(30)).unwrap();
    let frames = video.enable_stream(3).unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    for _ in 0..10 {
        assert_eq!(frames.next_timeout(Duration::from_secs(5)).unwrap().len(), 640 * 480 * 3 / 2);
    }
}
