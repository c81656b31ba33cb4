//! The heavy end of `tests/video.rs`: the video encoder's rate control over
//! 10 s of 1080p30, checked with ffprobe, and MJPEG frames larger than a
//! buffer. It is built for 64-bit
//! targets only: under qemu-arm a single 1080p frame takes more than 5 s,
//! so 300 of them would take most of CI's time. Rate control is the codec's
//! own arithmetic, the same on every target; the armv7 run covers the
//! encoder's ABI paths through `tests/video.rs`.
#![cfg(target_pointer_width = "64")]

mod common;

use std::process::Command;

use common::{emu, serial, WAIT};
use mmal::emulator::Pacing;
use mmal::params::{CameraConfig, Capture};
use mmal::{Component, Connection, ConnectionFlags, EncodedKind, Encoding, Format};
use mmal_sys as sys;

#[test]
fn the_average_bitrate_over_10_s_of_1080p30_is_within_25_percent_of_the_target() {
    let _s = serial();
    emu::set_pacing(Pacing::Unlimited);
    for target in [4_000_000u32, 17_000_000] {
        let camera = Component::new("vc.ril.camera").unwrap();
        let encoder = Component::new("vc.ril.video_encode").unwrap();
        let video = camera.output(1).unwrap();
        video.set_format(&Format::video(Encoding::OPAQUE, 1920, 1080).with_frame_rate(30)).unwrap();
        let _link = Connection::new(&video, &encoder.input(0).unwrap(), ConnectionFlags::default()).unwrap();
        let out = encoder.output(0).unwrap();
        out.set_format(&Format::video(Encoding::H264, 1920, 1080).with_frame_rate(30).with_bitrate(target)).unwrap();
        let stream = out.enable_stream(3).unwrap();
        camera.enable().unwrap();
        video.set(&Capture(true)).unwrap();
        let mut bytes = Vec::new();
        let mut frames = 0;
        while frames < 300 {
            let b = stream.next_timeout(WAIT).unwrap();
            frames += usize::from(b.ends_picture());
            bytes.extend_from_slice(&b);
        }
        video.set(&Capture(false)).unwrap();
        let path = std::env::temp_dir().join(format!("videocore-rate-{}-{target}.h264", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        // ffprobe's count of what it decodes, and the stream's size over 10 s.
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames"])
            .args(["-of", "default=nw=1:nk=1"])
            .arg(&path)
            .output()
            .expect("ffprobe (apt-get install ffmpeg)");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "300");
        let rate = bytes.len() as f64 * 8.0 / 10.0;
        let ratio = rate / f64::from(target);
        eprintln!("target {target} bit/s: {rate:.0} bit/s ({ratio:.2})");
        assert!((0.75..=1.25).contains(&ratio), "target {target} bit/s, got {rate:.0} ({ratio:.2})");
        std::fs::remove_file(&path).ok();
    }
    emu::set_pacing(Pacing::FrameRate);
}

#[test]
fn a_part_larger_than_a_buffer_keeps_its_kind_on_every_buffer() {
    let _s = serial();
    emu::set_pacing(Pacing::Unlimited);
    let camera = Component::new("vc.ril.camera").unwrap();
    let encoder = Component::new("vc.ril.video_encode").unwrap();
    let video = camera.output(1).unwrap();
    camera.control().set(&CameraConfig::for_size(2592, 1944)).unwrap();
    video.set_format(&Format::video(Encoding::OPAQUE, 2592, 1944).with_frame_rate(30)).unwrap();
    let _link = Connection::new(&video, &encoder.input(0).unwrap(), ConnectionFlags::default()).unwrap();
    let out = encoder.output(0).unwrap();
    out.set_format(&Format::video(Encoding::MJPEG, 2592, 1944).with_frame_rate(30)).unwrap();
    // A 5-megapixel JPEG of the chart is larger than a buffer.
    let stream = out.enable_stream(3).unwrap();
    let size = out.buffer_requirements().size;
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    let mut jpeg = Vec::new();
    let mut pieces = 0;
    loop {
        let b = stream.next_timeout(WAIT).unwrap();
        assert!(b.len() <= size as usize);
        assert_ne!(b.flags().bits() & sys::MMAL_BUFFER_HEADER_FLAG_KEYFRAME, 0, "every piece says keyframe");
        jpeg.extend_from_slice(&b);
        pieces += 1;
        if b.is_frame_end() {
            break;
        }
        assert_eq!(b.kind(), EncodedKind::Partial);
    }
    video.set(&Capture(false)).unwrap();
    assert!(pieces >= 2, "{pieces} pieces of up to {size} bytes: {} in all", jpeg.len());
    assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
    assert_eq!(&jpeg[jpeg.len() - 2..], &[0xff, 0xd9], "one whole JPEG, ended where FRAME_END said");
    emu::set_pacing(Pacing::FrameRate);
}
