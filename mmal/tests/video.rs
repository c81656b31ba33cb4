//! Video: the camera's video port tunnelled to `vc.ril.video_encode`, the
//! H.264 and MJPEG it makes checked by an independent decoder, ffmpeg's
//! (`ffprobe` and `ffmpeg` from Debian's packages; `.ci/run` installs them).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{emu, serial, WAIT};
use mmal::emulator::{Pacing, TestEvent};
use mmal::params::{
    Capture, H264Profile, InlineHeader, InlineVectors, IntraPeriod, RequestIFrame, SpsTiming, VideoProfile,
};
use mmal::{
    Component, Connection, ConnectionFlags, EncodedKind, Encoding, Error, Event, Format, FrameStream, Recorder,
    RecorderConfig, StreamItem,
};
use mmal_sys as sys;

/// The camera and encoder, tunnelled, with the encoder's output streaming.
struct Tunnel {
    camera: Component,
    encoder: Component,
    _link: Connection,
    stream: Option<FrameStream>,
}

fn recorder(input: Encoding, output: Format, configure: impl FnOnce(&mmal::Port)) -> Tunnel {
    let camera = Component::new("vc.ril.camera").unwrap();
    let encoder = Component::new("vc.ril.video_encode").unwrap();
    let video = camera.output(1).unwrap();
    let (w, h) = output.visible();
    // The camera runs at the rate the output names.
    let mut camera_format = Format::video(input, w, h);
    camera_format.frame_rate = output.frame_rate;
    video.set_format(&camera_format).unwrap();
    let link = Connection::new(&video, &encoder.input(0).unwrap(), ConnectionFlags::default()).unwrap();
    let out = encoder.output(0).unwrap();
    out.set_format(&output).unwrap();
    configure(&out);
    let stream = out.enable_stream(3).unwrap();
    camera.enable().unwrap();
    Tunnel { camera, encoder, _link: link, stream: Some(stream) }
}

impl Tunnel {
    /// Records `frames` frames: every buffer, with its flags.
    fn record(&self, frames: usize) -> Vec<(Vec<u8>, u32)> {
        let video = self.camera.output(1).unwrap();
        video.set(&Capture(true)).unwrap();
        let stream = self.stream.as_ref().unwrap();
        let mut buffers = Vec::new();
        let mut done = 0;
        while done < frames {
            let b = stream.next_timeout(WAIT).unwrap();
            if b.ends_picture() {
                done += 1;
            }
            buffers.push((b.to_vec(), b.flags().bits()));
        }
        video.set(&Capture(false)).unwrap();
        buffers
    }
}

fn write(buffers: &[(Vec<u8>, u32)], name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("videocore-video-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let bytes: Vec<u8> = buffers.iter().flat_map(|(d, _)| d.iter().copied()).collect();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// An ffmpeg tool, without the preload library this suite may run with
/// (under qemu-user, a guest's `LD_PRELOAD` names a library of the
/// guest's ABI, which the host's tool would warn about on its stderr).
fn tool(name: &str) -> Command {
    let mut command = Command::new(name);
    command.env_remove("LD_PRELOAD");
    command
}

/// Runs an ffmpeg tool, with a clear failure when it is not installed.
fn run(name: &str, args: &[&str]) -> String {
    let out = tool(name).args(args).output().unwrap_or_else(|e| {
        panic!("{name}: {e}: these tests check streams with ffmpeg's tools (apt-get install ffmpeg)")
    });
    assert!(out.status.success(), "{name} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Decodes the whole file: no errors.
fn decodes_cleanly(path: &Path) {
    let out = tool("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg (apt-get install ffmpeg)");
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && errors.trim().is_empty(), "{}: {errors}", path.display());
    if path.extension().is_some_and(|e| e == "h264") {
        // ffmpeg's strict parser of the H.264 syntax (its decoder forgives
        // trailing bits and more): every header field where it belongs.
        let out = tool("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(path)
            .args(["-c", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"])
            .output()
            .expect("ffmpeg");
        let errors = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && errors.trim().is_empty(), "{}: {errors}", path.display());
    }
}

/// The stream's `key=value` facts from ffprobe.
fn probe(path: &Path, entries: &str) -> Vec<(String, String)> {
    let path = path.to_str().unwrap();
    let text = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            entries,
            "-of",
            "default=nw=1",
            path,
        ],
    );
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

fn fact<'a>(facts: &'a [(String, String)], key: &str) -> &'a str {
    facts.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {key} in {facts:?}"))
}

/// Each decoded frame's `entries` (`frame=...`), one line per frame.
fn per_frame(path: &Path, entries: &str) -> Vec<String> {
    let args = ["-v", "error", "-select_streams", "v:0", "-show_entries", entries, "-of", "csv=p=0"];
    let text = run("ffprobe", &[&args[..], &[path.to_str().unwrap()]].concat());
    text.lines().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect()
}

/// The NAL unit types of an Annex B stream, in order.
fn nal_types(stream: &[u8]) -> Vec<u8> {
    stream.windows(4).filter(|w| w[..3] == [0, 0, 1]).map(|w| w[3] & 0x1f).collect()
}

/// Which decoded frames are keyframes.
fn keyframes(path: &Path) -> Vec<bool> {
    per_frame(path, "frame=key_frame").iter().map(|l| l == "1").collect()
}

#[test]
fn h264_decodes_with_ffmpeg_with_its_profile_level_and_intra_period() {
    let _s = serial();
    emu::set_pacing(Pacing::Unlimited);
    let format = Format::video(Encoding::H264, 640, 480).with_frame_rate(30).with_bitrate(2_000_000);
    let r = recorder(Encoding::OPAQUE, format, |out| {
        out.set(&IntraPeriod(10)).unwrap();
        out.set(&VideoProfile { profile: H264Profile::High, level: 40 }).unwrap();
    });
    assert_eq!(r.encoder.output(0).unwrap().get::<IntraPeriod>().unwrap(), IntraPeriod(10));
    let buffers = r.record(25);
    // The stream opens with its headers, in a buffer of their own.
    assert_eq!(buffers[0].1 & sys::MMAL_BUFFER_HEADER_FLAG_CONFIG, sys::MMAL_BUFFER_HEADER_FLAG_CONFIG);
    // ...and end a "frame" of their own, as picamera counts them.
    assert_ne!(buffers[0].1 & sys::MMAL_BUFFER_HEADER_FLAG_FRAME_END, 0);
    assert_ne!(buffers[1].1 & sys::MMAL_BUFFER_HEADER_FLAG_KEYFRAME, 0, "then an IDR");
    let configs = buffers.iter().filter(|b| b.1 & sys::MMAL_BUFFER_HEADER_FLAG_CONFIG != 0).count();
    assert_eq!(configs, 1, "headers once without inline headers");
    let path = write(&buffers, "intra.h264");
    decodes_cleanly(&path);
    let facts = probe(&path, "stream=codec_name,width,height,profile,level,nb_read_frames");
    assert_eq!(fact(&facts, "codec_name"), "h264");
    assert_eq!((fact(&facts, "width"), fact(&facts, "height")), ("640", "480"));
    assert_eq!(fact(&facts, "profile"), "High");
    assert_eq!(fact(&facts, "level"), "40");
    assert_eq!(fact(&facts, "nb_read_frames"), "25");
    let keys = keyframes(&path);
    let at: Vec<usize> = keys.iter().enumerate().filter(|(_, &k)| k).map(|(i, _)| i).collect();
    assert_eq!(at, [0, 10, 20], "an IDR every 10 frames");
    // The encoder's flags agree with the decoder.
    let flagged: Vec<bool> = buffers
        .iter()
        .filter(|b| b.1 & sys::MMAL_BUFFER_HEADER_FLAG_FRAME_END != 0)
        .filter(|b| b.1 & sys::MMAL_BUFFER_HEADER_FLAG_CONFIG == 0)
        .map(|b| b.1 & sys::MMAL_BUFFER_HEADER_FLAG_KEYFRAME != 0)
        .collect();
    assert_eq!(flagged, keys);
    emu::set_pacing(Pacing::FrameRate);
}

#[test]
fn inline_headers_precede_every_idr_and_an_i_frame_comes_when_asked() {
    let _s = serial();
    emu::set_pacing(Pacing::Unlimited);
    let format = Format::video(Encoding::H264, 320, 240).with_frame_rate(25).with_bitrate(1_000_000);
    let r = recorder(Encoding::I420, format, |out| {
        // Only the first frame, unless asked (picamera's intra_period=0).
        out.set(&IntraPeriod(0)).unwrap();
        out.set(&InlineHeader(true)).unwrap();
        out.set(&SpsTiming(true)).unwrap();
        out.set(&VideoProfile { profile: H264Profile::Main, level: 31 }).unwrap();
    });
    let mut buffers = r.record(5);
    r.encoder.output(0).unwrap().set(&RequestIFrame(true)).unwrap();
    buffers.extend(r.record(12));
    for (i, b) in buffers.iter().enumerate() {
        if b.1 & sys::MMAL_BUFFER_HEADER_FLAG_KEYFRAME != 0 {
            assert_ne!(buffers[i - 1].1 & sys::MMAL_BUFFER_HEADER_FLAG_CONFIG, 0, "headers before the IDR at {i}");
        }
    }
    let path = write(&buffers, "inline.h264");
    decodes_cleanly(&path);
    // In the bytes themselves, not only the flags: SPS (7) and PPS (8)
    // right before each IDR slice (5).
    let types = nal_types(&std::fs::read(&path).unwrap());
    let idrs: Vec<usize> = (0..types.len()).filter(|&i| types[i] == 5).collect();
    assert_eq!(idrs.len(), 2, "{types:?}");
    assert!(idrs.iter().all(|&i| i >= 2 && types[i - 2..i] == [7, 8]), "{types:?}");
    let keys = keyframes(&path);
    assert_eq!(keys.len(), 17);
    // The first frame; then the next the encoder takes after the request
    // (frames captured before it come first: at most the camera's three
    // buffers and the one being encoded); no other.
    assert!(keys[0], "{keys:?}");
    let asked = (1..keys.len()).find(|&i| keys[i]).expect("an IDR after the request");
    assert!((5..=9).contains(&asked), "the IDR asked for after frame 5 came at {asked}: {keys:?}");
    assert_eq!(keys.iter().filter(|&&k| k).count(), 2, "{keys:?}");
    let facts = probe(&path, "stream=profile,level,r_frame_rate");
    assert_eq!(fact(&facts, "profile"), "Main");
    assert_eq!(fact(&facts, "level"), "31");
    // SPS timing: the frame rate is in the stream itself.
    assert_eq!(fact(&facts, "r_frame_rate"), "25/1");
    emu::set_pacing(Pacing::FrameRate);
}

#[test]
fn mjpeg_frames_are_jpegs_and_motion_vectors_follow_h264_frames() {
    let _s = serial();
    emu::set_pacing(Pacing::Unlimited);
    let r = recorder(Encoding::I420, Format::video(Encoding::MJPEG, 320, 240).with_frame_rate(30), |_| {});
    let buffers = r.record(3);
    let frames: Vec<&(Vec<u8>, u32)> =
        buffers.iter().filter(|b| b.1 & sys::MMAL_BUFFER_HEADER_FLAG_FRAME_END != 0).collect();
    assert_eq!(frames.len(), 3);
    let path = write(&buffers, "frames.mjpeg");
    let text = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-f",
            "mjpeg",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,width,nb_read_frames",
            "-of",
            "default=nw=1",
            path.to_str().unwrap(),
        ],
    );
    assert!(
        text.contains("codec_name=mjpeg") && text.contains("width=320") && text.contains("nb_read_frames=3"),
        "{text}"
    );
    drop(r);

    let format = Format::video(Encoding::H264, 320, 240).with_frame_rate(30).with_bitrate(1_000_000);
    let r = recorder(Encoding::I420, format, |out| out.set(&InlineVectors(true)).unwrap());
    let buffers = r.record(4);
    let vectors: Vec<&(Vec<u8>, u32)> =
        buffers.iter().filter(|b| b.1 & sys::MMAL_BUFFER_HEADER_FLAG_CODECSIDEINFO != 0).collect();
    // 320x240: 15 rows of 20 macroblocks and one more, 4 bytes each.
    assert!(vectors.len() >= 3, "{} vector buffers", vectors.len());
    assert!(vectors.iter().all(|v| v.0.len() == 15 * 21 * 4));
    // The H.264 around them still decodes (the vectors are not part of it).
    let video: Vec<(Vec<u8>, u32)> =
        buffers.iter().filter(|b| b.1 & sys::MMAL_BUFFER_HEADER_FLAG_CODECSIDEINFO == 0).cloned().collect();
    decodes_cleanly(&write(&video, "vectors.h264"));
    emu::set_pacing(Pacing::FrameRate);
}

#[test]
fn a_recorder_started_and_stopped_makes_parts_that_each_decode_on_their_own() {
    let _s = serial();
    emu::set_pacing(Pacing::Unlimited);
    let config = RecorderConfig::h264(320, 240).bitrate(1_000_000).intra_period(100).motion_vectors(true);
    let mut recorder = Recorder::new(&config).unwrap();
    assert!(!recorder.is_recording());
    // Three recordings; each later one opens with headers, so the stream
    // splits at them (frames still on their way after a stop come first).
    let mut kinds = Vec::new();
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut vectors = 0;
    for _ in 0..3 {
        recorder.start().unwrap();
        assert!(recorder.is_recording());
        let mut pictures = 0;
        while pictures < 6 {
            let b = recorder.next_timeout(WAIT).unwrap();
            kinds.push(b.kind());
            match b.kind() {
                EncodedKind::Headers => parts.push(b.to_vec()),
                EncodedKind::MotionVectors => {
                    assert_eq!(b.len(), 15 * 21 * 4);
                    vectors += 1;
                }
                _ => parts.last_mut().expect("headers first").extend_from_slice(&b),
            }
            pictures += usize::from(b.ends_picture());
        }
        recorder.stop().unwrap();
    }
    assert_eq!(&kinds[..2], &[EncodedKind::Headers, EncodedKind::Keyframe]);
    assert_eq!(parts.len(), 3, "{kinds:?}");
    assert!(vectors >= 17, "a vector buffer after each of 18 frames, got {vectors}");
    let mut decoded = 0;
    for (i, part) in parts.iter().enumerate() {
        let path = write(&[(part.clone(), 0)], &format!("part{i}.h264"));
        decodes_cleanly(&path);
        let keys = keyframes(&path);
        // Frames still on their way at a stop are read in the next loop,
        // but land in their own part, before the next headers.
        assert!(keys[0] && keys.len() >= 3, "part {i}: {keys:?}");
        decoded += keys.len();
        assert_eq!(keys.iter().filter(|&&k| k).count(), 1, "part {i}: one IDR, at its start");
    }
    assert_eq!(decoded, 18, "every picture read decodes, in its part");
    drop(recorder);
    emu::set_pacing(Pacing::FrameRate);
}

#[test]
fn a_recorder_refuses_what_no_encoder_takes_and_says_why() {
    let _s = serial();
    let refused = |config: RecorderConfig| match Recorder::new(&config) {
        Err(Error::InvalidParameter(why)) => why,
        other => panic!("{config:?}: {other:?}"),
    };
    assert!(refused(RecorderConfig::h264(641, 480)).contains("even width and height"));
    assert!(refused(RecorderConfig::h264(0, 480)).contains("even width and height"));
    assert!(refused(RecorderConfig::h264(640, 480).frame_rate(0)).contains("frame rate 0"));
    assert!(refused(RecorderConfig::h264(640, 480).quantiser(52)).contains("0 to 51"));
    let profile = VideoProfile { profile: H264Profile::Main, level: 31 };
    assert!(refused(RecorderConfig::mjpeg(640, 480).profile(profile)).contains("MJPEG"));
    let why = refused(RecorderConfig::mjpeg(640, 480).intra_period(10).motion_vectors(true));
    assert!(why.contains("intra_period, motion_vectors for an MJPEG recording"), "{why}");
    assert!(refused(RecorderConfig::h264(2592, 1944)).contains("widths up to 1920"));
    // A level no encoder knows: the error names the ones it does.
    let profile = VideoProfile { profile: H264Profile::Main, level: 33 };
    assert!(refused(RecorderConfig::h264(640, 480).profile(profile)).contains("H.264 level 33"));
}

/// Each decoded frame's size.
fn frame_sizes(path: &Path) -> Vec<String> {
    per_frame(path, "frame=width,height")
}

#[test]
fn a_camera_mode_change_mid_recording_changes_the_stream_with_a_format_change() {
    let _s = serial();
    emu::set_pacing(Pacing::Unlimited);
    let format = Format::video(Encoding::H264, 320, 240).with_frame_rate(30).with_bitrate(1_000_000);
    // Without inline headers: the new size brings its own SPS all the same.
    let r = recorder(Encoding::OPAQUE, format, |_| {});
    let stream = r.stream.as_ref().unwrap();
    let video = r.camera.output(1).unwrap();
    video.set(&Capture(true)).unwrap();
    let mut bytes = Vec::new();
    let mut pictures = 0;
    while pictures < 5 {
        let b = stream.next_timeout(WAIT).unwrap();
        pictures += usize::from(b.ends_picture());
        bytes.extend_from_slice(&b);
    }
    // The camera changes mode (as the firmware may): the tunnel carries
    // the new format to the encoder's input, and its output follows with a
    // FORMAT_CHANGED of its own.
    let event =
        TestEvent::OutputFormatChanged { output: 1, encoding: Encoding::OPAQUE.to_raw(), width: 640, height: 480 };
    assert!(emu::post_event(r.camera.id(), event));
    let mut changed = None;
    let mut after = 0;
    while after < 5 {
        match stream.next_item_timeout(WAIT).unwrap() {
            StreamItem::Frame(b) => {
                after += usize::from(changed.is_some() && b.ends_picture());
                bytes.extend_from_slice(&b);
            }
            StreamItem::Event(Event::FormatChanged { format, .. }) => changed = Some(format),
            StreamItem::Event(other) => panic!("unexpected event {other:?}"),
            other => panic!("unexpected item {other:?}"),
        }
    }
    video.set(&Capture(false)).unwrap();
    let format = changed.expect("a FORMAT_CHANGED on the encoder's output");
    assert_eq!((format.encoding, format.visible()), (Encoding::H264, (640, 480)));
    assert_eq!(r.encoder.output(0).unwrap().format().visible(), (640, 480), "the stream took it");
    let path = write(&[(bytes, 0)], "mode-change.h264");
    decodes_cleanly(&path);
    let sizes = frame_sizes(&path);
    assert_eq!(sizes.first().map(String::as_str), Some("320,240"), "{sizes:?}");
    assert_eq!(sizes.last().map(String::as_str), Some("640,480"), "{sizes:?}");
    emu::set_pacing(Pacing::FrameRate);
}

#[test]
fn a_reader_that_holds_buffers_holds_the_encoder_back_and_frames_are_dropped_not_queued() {
    let _s = serial();
    // Paced as a sensor: 30 fps.
    let format = Format::video(Encoding::H264, 320, 240).with_frame_rate(30).with_bitrate(1_000_000);
    let r = recorder(Encoding::OPAQUE, format, |_| {});
    let stream = r.stream.as_ref().unwrap();
    r.camera.output(1).unwrap().set(&Capture(true)).unwrap();
    let first = stream.next_timeout(WAIT).unwrap();
    let start = first.pts().expect("a pts");
    // Hold every buffer the stream has for a second: the encoder cannot
    // send anything, so it stops taking pictures, and the camera drops them.
    let mut held = vec![first];
    while held.len() < 3 {
        held.push(stream.next_timeout(WAIT).unwrap());
    }
    std::thread::sleep(Duration::from_secs(1));
    drop(held);
    // Within a few pictures (those already on their way) the stream is back
    // to the present: nothing from the second held piled up.
    let mut pts = Vec::new();
    while pts.len() < 8 {
        let b = stream.next_timeout(WAIT).unwrap();
        if b.ends_picture() {
            pts.push(b.pts().unwrap() - start);
        }
    }
    r.camera.output(1).unwrap().set(&Capture(false)).unwrap();
    assert!(pts[7] >= 900_000, "picture pts after the hold, from the start: {pts:?}");
}
