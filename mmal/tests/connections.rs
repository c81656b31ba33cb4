//! Tunnelled connections: buffers move between emulated components with no
//! client callback.

mod common;

use common::{serial, WAIT};
use mmal::params::Capture;
use mmal::{Component, Connection, ConnectionFlags, Encoding, Error, Format};

#[test]
fn camera_to_splitter_to_two_streams() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let splitter = Component::new("vc.ril.video_splitter").unwrap();
    let video = camera.output(1).unwrap();
    video.set_format(&Format::video(Encoding::I420, 160, 120).with_frame_rate(60)).unwrap();
    let link = Connection::new(&video, &splitter.input(0).unwrap(), ConnectionFlags::default()).unwrap();
    assert!(link.is_enabled());
    // The splitter took the camera's format.
    assert_eq!(splitter.input(0).unwrap().format().visible(), (160, 120));
    let a = splitter.output(0).unwrap().enable_stream(3).unwrap();
    let b = splitter.output(1).unwrap().enable_stream(3).unwrap();
    splitter.enable().unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    for _ in 0..5 {
        let fa = a.next_timeout(WAIT).unwrap();
        let fb = b.next_timeout(WAIT).unwrap();
        assert_eq!(fa.len(), 160 * 128 * 3 / 2, "rows aligned to 16");
        assert_eq!(fb.len(), fa.len());
    }
    // Connecting a connected port again is refused.
    let other = Component::new("vc.null_sink").unwrap();
    let e = Connection::new(&video, &other.input(0).unwrap(), ConnectionFlags::default()).unwrap_err();
    assert!(matches!(e, Error::State(_)), "{e}");
    link.disable().unwrap();
    link.enable().unwrap();
    a.next_timeout(WAIT).unwrap();
}

#[test]
fn preview_into_a_null_sink_while_the_video_port_streams() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let sink = Component::new("vc.null_sink").unwrap();
    let preview = camera.output(0).unwrap();
    preview.set_format(&Format::video(Encoding::OPAQUE, 320, 240).with_frame_rate(30)).unwrap();
    let _link = Connection::new(&preview, &sink.input(0).unwrap(), ConnectionFlags::default()).unwrap();
    sink.enable().unwrap();
    let video = camera.output(1).unwrap();
    video.set_format(&Format::video(Encoding::I420, 64, 48).with_frame_rate(30)).unwrap();
    let frames = video.enable_stream(2).unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    for _ in 0..3 {
        frames.next_timeout(WAIT).unwrap();
    }
}

#[test]
fn output_to_input_only_and_buffer_numbers_as_libmmal_sets_them() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let sink = Component::new("vc.null_sink").unwrap();
    let out = camera.output(0).unwrap();
    let input = sink.input(0).unwrap();
    assert!(matches!(Connection::new(&input, &out, ConnectionFlags::default()), Err(Error::State(_))));
    // As libmmal: the connection sets each port to its recommended buffers,
    // then both take the larger of the two.
    let size = out.buffer_requirements().size_recommended;
    out.set_buffers(7, size + 4096).unwrap();
    let link = Connection::new(&out, &input, ConnectionFlags::default()).unwrap();
    let (o, i) = (out.buffer_requirements(), input.buffer_requirements());
    assert_eq!((o.num, o.size), (o.num_recommended.max(i.num_recommended), size), "{o:?} {i:?}");
    assert_eq!((i.num, i.size), (o.num, o.size));
    drop(link);
    // KEEP_BUFFER_REQUIREMENTS keeps what the ports had (still the larger).
    out.set_buffers(7, size + 4096).unwrap();
    let flags = ConnectionFlags::default() | ConnectionFlags::KEEP_BUFFER_REQUIREMENTS;
    let _link = Connection::new(&out, &input, flags).unwrap();
    let (o, i) = (out.buffer_requirements(), input.buffer_requirements());
    assert_eq!((o.num, o.size, i.num, i.size), (7, size + 4096, 7, size + 4096));
}

/// `vc.ril.resize` after the camera, beside a direct copy through the
/// splitter: the resized picture is the camera's, scaled and converted.
#[test]
fn resize_scales_and_converts_the_camera_picture() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let splitter = Component::new("vc.ril.video_splitter").unwrap();
    let resize = Component::new("vc.ril.resize").unwrap();
    let video = camera.output(1).unwrap();
    let source = Format::video(Encoding::RGB24, 320, 240).with_frame_rate(30);
    video.set_format(&source).unwrap();
    let _to_splitter = Connection::new(&video, &splitter.input(0).unwrap(), ConnectionFlags::default()).unwrap();
    let direct = splitter.output(0).unwrap().enable_stream(4).unwrap();
    let _to_resize =
        Connection::new(&splitter.output(1).unwrap(), &resize.input(0).unwrap(), ConnectionFlags::default()).unwrap();
    let out = resize.output(0).unwrap();
    let small = Format::video(Encoding::I420, 160, 120);
    out.set_format(&small).unwrap();
    assert_eq!(out.buffer_requirements().size_min as usize, 160 * 128 * 3 / 2);
    let resized = out.enable_stream(4).unwrap();
    for c in [&resize, &splitter, &camera] {
        c.enable().unwrap();
    }
    video.set(&Capture(true)).unwrap();
    // Pair frames by timestamp: the splitter sends each frame both ways.
    let (a, b) = loop {
        let a = direct.next_timeout(WAIT).unwrap();
        let b = resized.next_timeout(WAIT).unwrap();
        if a.pts() == b.pts() {
            break (a, b);
        }
    };
    assert_eq!(b.len(), 160 * 128 * 3 / 2);
    let stride = source.stride();
    let mut worst = 0.0f64;
    for (x, y) in [(10, 10), (80, 60), (150, 100), (40, 90), (120, 20)] {
        let p = &a[(2 * y) * stride + (2 * x) * 3..][..3];
        let luma = 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]);
        worst = worst.max((luma - f64::from(b[y * 160 + x])).abs());
    }
    assert!(worst <= 2.0, "Y differs from the source's luma by up to {worst}");
    drop((a, b));
    video.set(&Capture(false)).unwrap();
    drop(resized);
    // Every output encoding it offers.
    for encoding in [Encoding::RGB24, Encoding::BGR24, Encoding::RGBA, Encoding::BGRA, Encoding::I420] {
        out.set_format(&Format::video(encoding, 96, 64)).unwrap();
        let frames = out.enable_stream(2).unwrap();
        video.set(&Capture(true)).unwrap();
        let frame = frames.next_timeout(WAIT).unwrap();
        let expected = match encoding {
            Encoding::I420 => 96 * 64 * 3 / 2,
            Encoding::RGB24 | Encoding::BGR24 => 96 * 3 * 64,
            _ => 96 * 4 * 64,
        };
        assert_eq!(frame.len(), expected, "{encoding}");
        assert_eq!(out.buffer_requirements().size_min as usize, expected);
        video.set(&Capture(false)).unwrap();
    }
    assert!(out.set_format(&Format::video(Encoding::OPAQUE, 96, 64)).is_err(), "the resizer takes no OPAQUE");
}

/// The camera's OPAQUE pictures resized show what the camera delivered:
/// the same field of view as its own pixels at that size (IMX219 1080p is
/// a crop of the sensor's middle; the whole 4:3 sensor, which a 640x480
/// picture of its own would see, is not what the resizer is given).
#[test]
fn resizing_opaque_keeps_the_cameras_field_of_view() {
    let _s = serial();
    // A 1080p picture through the ISP takes seconds under qemu.
    const SLOW: std::time::Duration = std::time::Duration::from_secs(60);
    // A white band over the sensor's left 15% (outside the 1080p crop), the
    // rest dark grey.
    let (w, h) = (328usize, 246usize);
    let mut ppm = format!("P6\n{w} {h}\n255\n").into_bytes();
    for _ in 0..h {
        for x in 0..w {
            ppm.extend_from_slice(&[if x < w * 15 / 100 { 250 } else { 40 }; 3]);
        }
    }
    let path = std::env::temp_dir().join(format!("fov-scene-{}.ppm", std::process::id()));
    std::fs::write(&path, &ppm).unwrap();
    common::emu::set_sensor(Some(mmal::emulator::Sensor::Imx219));
    common::emu::set_scene(Some(path.to_str().unwrap()));
    // The left twentieth's mean luma of an I420 picture `width` wide.
    let left = |frame: &[u8], width: usize, height: usize| {
        let stride = width.div_ceil(32) * 32;
        let cols = width / 20;
        let sum: u64 = (0..height).flat_map(|y| (0..cols).map(move |x| u64::from(frame[y * stride + x]))).sum();
        sum as f64 / (cols * height) as f64
    };
    let direct = {
        let camera = Component::new("vc.ril.camera").unwrap();
        let video = camera.output(1).unwrap();
        video.set_format(&Format::video(Encoding::I420, 1920, 1080).with_frame_rate(30)).unwrap();
        let frames = video.enable_stream(2).unwrap();
        camera.enable().unwrap();
        video.set(&Capture(true)).unwrap();
        let frame = frames.next_timeout(SLOW).unwrap();
        left(&frame, 1920, 1080)
    };
    let resized = {
        let camera = Component::new("vc.ril.camera").unwrap();
        let resize = Component::new("vc.ril.resize").unwrap();
        let video = camera.output(1).unwrap();
        video.set_format(&Format::video(Encoding::OPAQUE, 1920, 1080).with_frame_rate(30)).unwrap();
        let _link = Connection::new(&video, &resize.input(0).unwrap(), ConnectionFlags::default()).unwrap();
        let out = resize.output(0).unwrap();
        out.set_format(&Format::video(Encoding::I420, 640, 480)).unwrap();
        let frames = out.enable_stream(2).unwrap();
        resize.enable().unwrap();
        camera.enable().unwrap();
        video.set(&Capture(true)).unwrap();
        let frame = frames.next_timeout(SLOW).unwrap();
        left(&frame, 640, 480)
    };
    common::emu::set_scene(None);
    common::emu::set_sensor(None);
    let _ = std::fs::remove_file(&path);
    // Exposure lifts the grey to mid-grey; the band would be near white.
    assert!(direct < 190.0, "the 1080p crop shows no band: {direct}");
    assert!((resized - direct).abs() < 20.0, "resized {resized}, the camera's own {direct}");
}

/// A connection through the client: every frame passes through a closure,
/// which may change it, on its way from the camera to the resizer.
#[test]
fn buffers_pass_through_the_client_on_a_callback_connection() {
    let _s = serial();
    for zero_copy in [false, true] {
        let camera = Component::new("vc.ril.camera").unwrap();
        let resize = Component::new("vc.ril.resize").unwrap();
        let video = camera.output(1).unwrap();
        let input = resize.input(0).unwrap();
        if zero_copy {
            video.set(&mmal::params::ZeroCopy(true)).unwrap();
            input.set(&mmal::params::ZeroCopy(true)).unwrap();
        }
        video.set_format(&Format::video(Encoding::I420, 160, 120).with_frame_rate(60)).unwrap();
        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = order.clone();
        let port = video.clone();
        let link = Connection::through_client(&video, &input, move |buffer| {
            assert!(!buffer.data().is_empty());
            buffer.data_mut().fill(200);
            seen.lock().unwrap().push(buffer.pts());
            // Reconfiguring from here would wait for this very callback.
            assert!(matches!(port.set_buffers(3, 1 << 20), Err(Error::WouldDeadlock(_))));
        })
        .unwrap();
        // The port belongs to the connection.
        assert!(matches!(video.enable_stream(2), Err(Error::State(_))));
        // The connection copied the format across.
        assert_eq!(input.format().visible(), (160, 120));
        let out = resize.output(0).unwrap();
        out.set_format(&Format::video(Encoding::I420, 80, 60)).unwrap();
        let frames = out.enable_stream(3).unwrap();
        resize.enable().unwrap();
        camera.enable().unwrap();
        video.set(&Capture(true)).unwrap();
        for _ in 0..3 {
            let frame = frames.next_timeout(WAIT).unwrap();
            // The closure's change reached the resizer.
            assert!(
                frame[..96 * 60].chunks(96).all(|row| row[..80].iter().all(|&y| y == 200)),
                "zero copy {zero_copy}"
            );
        }
        assert!(link.passed() >= 3);
        link.check().unwrap();
        let order = order.lock().unwrap().clone();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "frames out of order: {order:?}");
        // Still the connection's while it is disabled.
        link.disable().unwrap();
        assert!(matches!(video.enable_stream(2), Err(Error::State(_))));
        link.enable().unwrap();
        video.set(&Capture(false)).unwrap();
        // Dropping it stops the flow and gives every buffer back.
        drop(link);
        assert!(!video.is_enabled() && !input.is_enabled());
    }
}

/// A closure that panics stops being called, and buffers keep flowing.
#[test]
fn a_panicking_connection_closure_is_reported() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let sink = Component::new("vc.null_sink").unwrap();
    let video = camera.output(1).unwrap();
    video.set_format(&Format::video(Encoding::I420, 64, 48).with_frame_rate(60)).unwrap();
    let link = Connection::through_client(&video, &sink.input(0).unwrap(), |_| panic!("no thanks")).unwrap();
    sink.enable().unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    let start = std::time::Instant::now();
    while link.check().is_ok() {
        assert!(start.elapsed() < WAIT, "the panic was not reported");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(matches!(link.check(), Err(Error::CallbackPanicked { .. })));
    assert_eq!(link.passed(), 1, "called once, then not again");
}

/// On a Pi a splitter processes buffers without `mmal_component_enable`
/// (picamera never enables it); `mmal_component_disable` pauses it until
/// it is enabled again. Its outputs convert the camera's OPAQUE images to
/// I420 and RGB, as picamera's captures from the video port need.
#[test]
fn a_splitter_converts_opaque_images_without_being_enabled() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let splitter = Component::new("vc.ril.video_splitter").unwrap();
    let video = camera.output(1).unwrap();
    video.set_format(&Format::video(Encoding::OPAQUE, 320, 240).with_frame_rate(30)).unwrap();
    let link = Connection::new(&video, &splitter.input(0).unwrap(), ConnectionFlags::default()).unwrap();
    let yuv = splitter.output(0).unwrap();
    yuv.set_format(&Format::video(Encoding::I420, 320, 240)).unwrap();
    let rgb = splitter.output(1).unwrap();
    rgb.set_format(&Format::video(Encoding::RGB24, 160, 120)).unwrap();
    let (a, b) = (yuv.enable_stream(2).unwrap(), rgb.enable_stream(2).unwrap());
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    let frame = a.next_timeout(WAIT).unwrap();
    assert_eq!(frame.len(), 320 * 240 * 3 / 2);
    let luma = frame[..320 * 240].iter().map(|&v| u64::from(v)).sum::<u64>() / (320 * 240);
    assert!((20..235).contains(&luma), "a picture, not a blank: mean luma {luma}");
    let frame = b.next_timeout(WAIT).unwrap();
    assert_eq!(frame.len(), 160 * 3 * 128, "rows aligned to 16");
    drop(frame);
    // Disabling one never enabled does nothing (as libmmal); enabled, then
    // disabled: paused, nothing comes; enabled again: frames again.
    splitter.disable().unwrap();
    a.next_timeout(WAIT).unwrap();
    splitter.enable().unwrap();
    splitter.disable().unwrap();
    a.flush().unwrap();
    // What the splitter finished before it paused may still be on its way
    // (over VCHIQ a frame sent before the disable's reply reaches the
    // stream after it, as with libmmal): at most the stream's 2 buffers.
    // A splitter that went on would fill them again and again.
    let mut late = 0;
    while late <= 2 && a.next_timeout(std::time::Duration::from_millis(300)).is_ok() {
        late += 1;
    }
    assert!(late <= 2, "frames keep coming from a disabled splitter");
    assert!(matches!(a.next_timeout(std::time::Duration::from_millis(300)), Err(Error::Timeout { .. })));
    splitter.enable().unwrap();
    a.next_timeout(WAIT).unwrap();
    drop((a, b, link));
}
