//! The camera, camera_info and component basics, against the software
//! VideoCore (linked in, or its C library through the loader).

mod common;

use std::time::Duration;

use common::emu;
use common::{serial, video_stream, WAIT};
use mmal::emulator::{CameraFault, Sensor, TestEvent};
use mmal::params::*;
use mmal::{Component, Encoding, Error, Event, Format, PortKind, Status};

#[test]
fn camera_info_reports_the_emulated_sensor() {
    let _s = serial();
    for (sensor, name, size) in [
        (Sensor::Imx219, "imx219", (3280, 2464)),
        (Sensor::Ov5647, "ov5647", (2592, 1944)),
        (Sensor::Imx477, "imx477", (4056, 3040)),
    ] {
        emu::set_sensor(Some(sensor));
        let info = Component::new("vc.camera_info").unwrap();
        let cameras = info.control().get::<CameraInfo>().unwrap();
        assert_eq!(cameras.cameras.len(), 1);
        let cam = &cameras.cameras[0];
        assert_eq!(cam.name, name);
        assert_eq!((cam.max_width, cam.max_height), size);
        assert_eq!(cameras.num_flashes, 0);
    }
    emu::set_sensor(None);
}

#[test]
fn ports_and_names() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    assert_eq!(camera.output_count(), 3);
    assert_eq!(camera.input_count(), 0);
    assert_eq!(camera.control().kind(), PortKind::Control);
    assert_eq!(camera.output(2).unwrap().kind(), PortKind::Output);
    assert_eq!(camera.output(2).unwrap().index(), 2);
    assert!(camera.output(2).unwrap().name().starts_with("vc.ril.camera:out:2"));
    match camera.output(3) {
        Err(Error::NoSuchPort { count: 3, index: 3, .. }) => {}
        other => panic!("{other:?}"),
    }
    assert!(camera.input(0).is_err());
    match Component::new("vc.ril.no_such_thing") {
        Err(e @ Error::UnknownComponent { .. }) => assert_eq!(e.status(), Some(Status::NotImplemented)),
        other => panic!("{other:?}"),
    }
    let splitter = Component::new("vc.ril.video_splitter").unwrap();
    assert_eq!((splitter.input_count(), splitter.output_count()), (1, 4));
    let sink = Component::new("vc.null_sink").unwrap();
    assert_eq!((sink.input_count(), sink.output_count()), (1, 0));
}

#[test]
fn i420_frames_from_the_video_port() {
    let _s = serial();
    let format = Format::video(Encoding::I420, 320, 240).with_frame_rate(60);
    let (camera, frames) = video_stream(&format, 3);
    let port = camera.output(1).unwrap();
    let req = port.buffer_requirements();
    assert_eq!(req.size_min as usize, 320 * 240 * 3 / 2);
    assert!(req.num_min >= 1);
    let mut last = None;
    let mut first = None;
    for _ in 0..5 {
        let frame = frames.next_timeout(WAIT).unwrap();
        assert_eq!(frame.len(), 320 * 240 * 3 / 2);
        assert!(frame.is_frame_end());
        let pts = frame.pts().expect("timestamped");
        if let Some(prev) = last {
            assert!(pts > prev, "timestamps must increase: {prev} then {pts}");
        }
        last = Some(pts);
        let y_mean: f64 = frame[..320 * 240].iter().map(|&v| f64::from(v)).sum::<f64>() / (320.0 * 240.0);
        assert!((20.0..235.0).contains(&y_mean), "mean level {y_mean}");
        match &first {
            None => first = Some(frame.to_vec()),
            Some(f) => assert_ne!(f, &frame.to_vec(), "noise makes every frame different"),
        }
    }
    // 1088 rows: the height is aligned to 16.
    let odd = Format::video(Encoding::I420, 1920, 1080);
    assert_eq!((odd.width, odd.height), (1920, 1088));
}

#[test]
fn packed_formats_and_opaque() {
    let _s = serial();
    let mut images = Vec::new();
    for (encoding, bpp) in [(Encoding::RGB24, 3), (Encoding::BGR24, 3), (Encoding::RGBA, 4), (Encoding::BGRA, 4)] {
        let format = Format::video(encoding, 128, 96).with_frame_rate(30);
        let (_camera, frames) = video_stream(&format, 2);
        let frame = frames.next_timeout(WAIT).unwrap();
        assert_eq!(frame.len(), 128 * 96 * bpp, "{encoding}");
        images.push(frame.to_vec());
    }
    // A colour patch of the chart: RGB and BGR hold the same pixel in
    // reverse order (within noise).
    let px = |img: &[u8], bpp: usize| {
        let (x, y) = (20usize, 70usize);
        let p = &img[y * 128 * bpp + x * bpp..];
        [p[0] as i32, p[1] as i32, p[2] as i32]
    };
    let (rgb, bgr) = (px(&images[0], 3), px(&images[1], 3));
    assert!(rgb[0] - rgb[2] > 30, "the patch is red: {rgb:?}");
    for c in 0..3 {
        assert!((rgb[c] - bgr[2 - c]).abs() < 25, "rgb {rgb:?} bgr {bgr:?}");
    }
    assert_eq!(images[2][3], 255, "alpha is opaque");
    let opaque = Format::video(Encoding::OPAQUE, 640, 480).with_frame_rate(30);
    let (_camera, frames) = video_stream(&opaque, 2);
    let frame = frames.next_timeout(WAIT).unwrap();
    assert_eq!(&frame[..4], b"OPQV");
}

#[test]
fn still_port_gives_one_frame_per_capture() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let still = camera.output(2).unwrap();
    still.set_format(&Format::video(Encoding::RGB24, 328, 246)).unwrap();
    let frames = still.enable_stream(1).unwrap();
    camera.enable().unwrap();
    assert!(frames.next_timeout(Duration::from_millis(200)).is_err(), "no capture, no frame");
    for _ in 0..2 {
        still.set(&Capture(true)).unwrap();
        let frame = frames.next_timeout(WAIT).unwrap();
        assert_eq!(frame.len(), 352 * 3 * 256);
        drop(frame);
        assert!(matches!(frames.next_timeout(Duration::from_millis(200)), Err(Error::Timeout { .. })));
        still.set(&Capture(false)).unwrap();
    }
}

#[test]
fn formats_are_committed_or_refused_whole() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let video = camera.output(1).unwrap();
    let good = Format::video(Encoding::RGB24, 640, 480).with_frame_rate(25);
    video.set_format(&good).unwrap();
    assert_eq!(video.format(), good);
    assert_eq!(video.buffer_requirements().size_min as usize, 640 * 3 * 480);
    // Larger than the sensor: refused, and the port keeps its format.
    match video.set_format(&Format::video(Encoding::I420, 8000, 6000)) {
        Err(e) => assert_eq!(e.status(), Some(Status::Invalid), "{e}"),
        Ok(()) => panic!("accepted a format larger than the sensor"),
    }
    assert_eq!(video.format(), good);
    match video.set_format(&Format::video(Encoding::H264, 640, 480)) {
        Err(e) => assert_eq!(e.status(), Some(Status::Invalid), "{e}"),
        Ok(()) => panic!("the camera does not encode H.264"),
    }
    let supported = video.get::<SupportedEncodings>().unwrap().0;
    assert!(supported.contains(&Encoding::I420) && supported.contains(&Encoding::OPAQUE));
    let _frames = video.enable_stream(2).unwrap();
    assert!(matches!(video.set_format(&good), Err(Error::State(_))));
    assert!(matches!(video.enable_stream(2), Err(Error::State(_))));
}

#[test]
fn camera_parameters_round_trip_and_bad_values_are_refused() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let control = camera.control();
    control.set(&CameraNum(0)).unwrap();
    control.set(&SensorMode(4)).unwrap();
    assert_eq!(control.get::<SensorMode>().unwrap(), SensorMode(4));
    control.set(&CameraConfig::for_size(1640, 1232)).unwrap();
    assert_eq!(control.get::<CameraConfig>().unwrap(), CameraConfig::for_size(1640, 1232));
    control.set(&ShutterSpeed(20_000)).unwrap();
    assert_eq!(control.get::<ShutterSpeed>().unwrap(), ShutterSpeed(20_000));
    control.set(&Iso(400)).unwrap();
    assert_eq!(control.get::<Iso>().unwrap(), Iso(400));
    control.set(&ExposureMode::Off).unwrap();
    assert_eq!(control.get::<ExposureMode>().unwrap(), ExposureMode::Off);
    control.set(&AwbMode::Off).unwrap();
    control.set(&AwbGains { red: 1.5, blue: 1.25 }).unwrap();
    assert_eq!(control.get::<AwbGains>().unwrap(), AwbGains { red: 1.5, blue: 1.25 });
    control.set(&AnalogGain(2.0)).unwrap();
    assert_eq!(control.get::<AnalogGain>().unwrap(), AnalogGain(2.0));
    control.set(&DigitalGain(1.5)).unwrap();
    camera.output(1).unwrap().set(&FpsRange::new(1.0, 30.0)).unwrap();
    assert_eq!(camera.output(1).unwrap().get::<FpsRange>().unwrap(), FpsRange::new(1.0, 30.0));
    camera.output(1).unwrap().set(&ZeroCopy(true)).unwrap();
    assert_eq!(camera.output(1).unwrap().get::<ZeroCopy>().unwrap(), ZeroCopy(true));

    let invalid = |r: mmal::Result<()>| assert_eq!(r.unwrap_err().status(), Some(Status::Invalid));
    invalid(control.set(&SensorMode(9)));
    invalid(control.set(&CameraNum(7)));
    invalid(control.set(&AnalogGain(40.0)));
    invalid(control.set(&AwbMode::Other(99)));
    // The camera has no JPEG encoder: not its parameter.
    assert_eq!(control.set(&JpegQuality(90)).unwrap_err().status(), Some(Status::NotImplemented));
    assert!(matches!(control.set(&AnalogGain(f64::NAN)), Err(Error::InvalidParameter(_))));
    // Still set to what was accepted.
    assert_eq!(control.get::<SensorMode>().unwrap(), SensorMode(4));
}

#[test]
fn exposure_and_white_balance_change_the_picture() {
    let _s = serial();
    emu::set_scene(Some("flat"));
    let level = |shutter: u32, gains: Option<(f64, f64)>| {
        let camera = Component::new("vc.ril.camera").unwrap();
        camera.control().set(&ShutterSpeed(shutter)).unwrap();
        if let Some((red, blue)) = gains {
            camera.control().set(&AwbMode::Off).unwrap();
            camera.control().set(&AwbGains { red, blue }).unwrap();
        }
        let format = common::rgb(96, 64);
        let camera_video = camera.output(1).unwrap();
        camera_video.set_format(&format).unwrap();
        let frames = camera_video.enable_stream(2).unwrap();
        camera.enable().unwrap();
        camera_video.set(&Capture(true)).unwrap();
        let frame = frames.next_timeout(WAIT).unwrap();
        let stride = format.stride();
        [0, 1, 2].map(|c| common::window_mean(&frame, stride, 3, c, 48, 32, 8))
    };
    let short = level(2_000, None);
    let long = level(4_000, None);
    // Twice the light, through the ISP's gamma (2.2): 2^(1/2.2) = 1.37.
    let ratio = long[1] / short[1];
    assert!((1.3..1.45).contains(&ratio), "doubling the shutter: {short:?} -> {long:?}");
    let auto = level(0, None);
    assert!((auto[0] - auto[1]).abs() < 12.0 && (auto[2] - auto[1]).abs() < 12.0, "AWB neutral: {auto:?}");
    let warm = level(0, Some((3.0, 1.0)));
    assert!(warm[0] > warm[2] + 30.0, "a high red gain: {warm:?}");
    emu::set_scene(None);
}

#[test]
fn camera_settings_arrive_as_parameter_changed_events() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let events = camera.events().unwrap();
    camera.control().set(&ChangeEventRequest::of::<CameraSettings>()).unwrap();
    camera.control().set(&ShutterSpeed(12_345)).unwrap();
    let (_camera, _frames) = (camera.clone(), {
        let video = camera.output(1).unwrap();
        video.set_format(&Format::video(Encoding::I420, 64, 48).with_frame_rate(30)).unwrap();
        let frames = video.enable_stream(2).unwrap();
        camera.enable().unwrap();
        video.set(&Capture(true)).unwrap();
        frames
    });
    let event = events.next_timeout(WAIT).expect("a settings event");
    let settings = event.camera_settings().expect("camera settings");
    assert_eq!(settings.exposure_us, 12_345);
    let read = camera.control().get::<CameraSettings>().unwrap();
    assert_eq!(read.exposure_us, 12_345);
    assert!(events.try_next().is_none() || events.try_next().is_none());
    assert!(matches!(camera.events(), Err(Error::State(_))), "the control port is taken");
}

#[test]
fn posted_events_decode() {
    let _s = serial();
    let splitter = Component::new("vc.ril.video_splitter").unwrap();
    let input = splitter.input(0).unwrap();
    input.set_format(&Format::video(Encoding::RGB24, 200, 100)).unwrap();
    // The splitter's outputs follow its input.
    assert_eq!(splitter.output(3).unwrap().format().encoding, Encoding::RGB24);
    let events = splitter.events().unwrap();
    assert!(emu::post_event(splitter.id(), TestEvent::Error(mmal_sys::MMAL_EIO)));
    assert!(emu::post_event(splitter.id(), TestEvent::EndOfStream { port_type: 3, port_index: 1 }));
    assert!(emu::post_event(splitter.id(), TestEvent::FormatChanged { output: 2 }));
    assert_eq!(events.next_timeout(WAIT).ok(), Some(Event::Error(Status::Io)));
    assert_eq!(events.next_timeout(WAIT).ok(), Some(Event::EndOfStream { port_kind: PortKind::Output, port_index: 1 }));
    match events.next_timeout(WAIT).ok() {
        Some(Event::FormatChanged { format, buffer_size_min, .. }) => {
            assert_eq!(format.encoding, Encoding::RGB24);
            assert_eq!(format.visible(), (200, 100));
            assert_eq!(buffer_size_min as usize, 224 * 3 * 112);
        }
        other => panic!("{other:?}"),
    }
    assert!(!emu::post_event(u32::MAX, TestEvent::Error(1)));
}

#[test]
fn camera_faults_carry_advice() {
    let _s = serial();
    emu::set_camera_fault(Some(Some(CameraFault::Disabled)));
    let e = Component::new("vc.ril.camera").unwrap_err();
    assert!(matches!(e, Error::CameraNotEnabled { .. }), "{e}");
    assert_eq!(e.status(), Some(Status::NoMemory));
    assert!(e.to_string().contains("Legacy Camera") && e.to_string().contains("gpu_mem"), "{e}");
    // Other components are unaffected.
    Component::new("vc.null_sink").unwrap();

    emu::set_camera_fault(Some(Some(CameraFault::Missing)));
    let camera = Component::new("vc.ril.camera").unwrap();
    let events = camera.events().unwrap();
    let e = camera.enable().unwrap_err();
    assert!(matches!(e, Error::CameraNotDetected { .. }), "{e}");
    assert!(e.to_string().contains("ribbon cable"), "{e}");
    assert_eq!(events.next_timeout(WAIT).ok(), Some(Event::Error(Status::NoSpace)));
    assert!(!camera.is_enabled());

    emu::set_camera_fault(None);
    camera.enable().unwrap();
    assert!(camera.is_enabled());
}

#[test]
fn camera_config_limits_the_video_size() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    camera.control().set(&CameraConfig::for_size(640, 480)).unwrap();
    let video = camera.output(1).unwrap();
    video.set_format(&Format::video(Encoding::I420, 1280, 720)).unwrap();
    let e = video.enable_stream(2).unwrap_err();
    assert_eq!(e.status(), Some(Status::NoSpace), "{e}");
    assert!(!video.is_enabled());
    // Nothing is left half-done: a smaller format works on the same port.
    video.set_format(&Format::video(Encoding::I420, 640, 480).with_frame_rate(30)).unwrap();
    let frames = video.enable_stream(2).unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    frames.next_timeout(WAIT).unwrap();
}

#[test]
fn flush_drops_waiting_frames_and_the_stream_goes_on() {
    let _s = serial();
    let (_camera, frames) = video_stream(&Format::video(Encoding::I420, 64, 48).with_frame_rate(30), 4);
    let first = frames.next_timeout(WAIT).unwrap().pts().unwrap();
    // Frames pile up unread.
    std::thread::sleep(Duration::from_millis(300));
    frames.flush().unwrap();
    let next = frames.next_timeout(WAIT).unwrap();
    assert!(next.pts().unwrap() - first > 250_000, "a frame from before the flush: {first} then {:?}", next.pts());
    assert_eq!(next.len(), 64 * 48 * 3 / 2);
    drop(next);
    frames.next_timeout(WAIT).unwrap();
    frames.disable().unwrap();
    assert!(matches!(frames.flush(), Err(Error::StreamEnded(_))));
}

#[test]
fn image_controls_are_kept_with_the_firmware_defaults() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let control = camera.control();
    assert_eq!(control.get::<Brightness>().unwrap(), Brightness(50));
    assert_eq!(control.get::<Contrast>().unwrap(), Contrast(0));
    control.set(&Brightness(70)).unwrap();
    control.set(&Contrast(-20)).unwrap();
    control.set(&Saturation(15)).unwrap();
    control.set(&Sharpness(100)).unwrap();
    control.set(&ExposureCompensation(-6)).unwrap();
    control.set(&StatsPass(true)).unwrap();
    assert_eq!(control.get::<Brightness>().unwrap(), Brightness(70));
    assert_eq!(control.get::<Contrast>().unwrap(), Contrast(-20));
    assert_eq!(control.get::<Saturation>().unwrap(), Saturation(15));
    assert_eq!(control.get::<Sharpness>().unwrap(), Sharpness(100));
    assert_eq!(control.get::<ExposureCompensation>().unwrap(), ExposureCompensation(-6));
    assert_eq!(control.get::<StatsPass>().unwrap(), StatsPass(true));
    let still = camera.output(2).unwrap();
    assert_eq!(still.get::<Rotation>().unwrap(), Rotation(0));
    still.set(&Rotation(180)).unwrap();
    assert_eq!(still.get::<Rotation>().unwrap(), Rotation(180));
    // Each output keeps its own.
    assert_eq!(camera.output(1).unwrap().get::<Rotation>().unwrap(), Rotation(0));
    assert_eq!(still.get::<Mirror>().unwrap(), Mirror::None);
    still.set(&Mirror::Both).unwrap();
    assert_eq!(still.get::<Mirror>().unwrap(), Mirror::Both);
    for (set, expected) in [(MeteringMode::Spot, MeteringMode::Spot), (MeteringMode::Matrix, MeteringMode::Matrix)] {
        control.set(&set).unwrap();
        assert_eq!(control.get::<MeteringMode>().unwrap(), expected);
    }
    assert_eq!(control.get::<ImageEffect>().unwrap(), ImageEffect::None);
    control.set(&ImageEffect::Cartoon).unwrap();
    assert_eq!(control.get::<ImageEffect>().unwrap(), ImageEffect::Cartoon);
    control.set(&FlickerAvoid::Hz50).unwrap();
    assert_eq!(control.get::<FlickerAvoid>().unwrap(), FlickerAvoid::Hz50);
    control.set(&Drc::Medium).unwrap();
    assert_eq!(control.get::<Drc>().unwrap(), Drc::Medium);
}
