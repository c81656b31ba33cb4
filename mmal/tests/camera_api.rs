//! `mmal::Camera`: open, settings, stills by extension, frames as views
//! over the buffer, recordings, several outputs at once, and clear errors
//! that leave nothing behind.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{emu, serial};
use mmal::emulator::Pacing;
use mmal::params::AwbMode;
use mmal::{Camera, CameraOptions, CircularBuffer, Encoding, Error, RecorderConfig, Settings, StillOptions};

const WAIT: Duration = Duration::from_secs(20);

fn setup() -> std::sync::MutexGuard<'static, ()> {
    let guard = serial();
    common::emulated();
    emu::set_pacing(Pacing::FrameRate);
    guard
}

fn small() -> CameraOptions {
    CameraOptions::new().resolution(320, 240)
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mmal-camera-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn a_jpeg_is_taken_at_the_camera_resolution() {
    let _s = setup();
    let camera = Camera::open(0, &small()).unwrap();
    let jpeg = camera.capture_jpeg().unwrap();
    let mut decoder = jpeg_decoder::Decoder::new(&jpeg[..]);
    decoder.decode().unwrap();
    let info = decoder.info().unwrap();
    assert_eq!((info.width, info.height), (320, 240));
    // From the video port too, with options.
    let jpeg = camera.capture_as(Encoding::JPEG, &StillOptions::new().use_video_port(true).quality(50)).unwrap();
    assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
}

#[test]
fn captures_follow_the_extension() {
    let _s = setup();
    let camera = Camera::open(0, &small()).unwrap();
    let signatures: [(&str, &[u8]); 5] =
        [("a.png", b"\x89PNG"), ("a.gif", b"GIF8"), ("a.bmp", b"BM"), ("a.ppm", b"P6"), ("a.JPG", b"\xff\xd8")];
    for (name, signature) in signatures {
        let path = temp(name);
        camera.capture(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(signature), "{name}: {:?}", &bytes[..4]);
    }
    // Whole files: a BMP as long as its header says.
    let bmp = std::fs::read(temp("a.bmp")).unwrap();
    assert_eq!(u32::from_le_bytes(bmp[2..6].try_into().unwrap()) as usize, bmp.len());
    camera.capture(temp("a.tga")).unwrap();
    for (name, len) in [("a.yuv", 320 * 240 * 3 / 2), ("a.rgb", 320 * 240 * 3), ("a.bgra", 320 * 240 * 4)] {
        let path = temp(name);
        camera.capture(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len, "{name}: rows packed without padding");
        let from_video = temp(&format!("video-{name}"));
        camera.capture_with(&from_video, &StillOptions::new().use_video_port(true)).unwrap();
        assert_eq!(std::fs::metadata(&from_video).unwrap().len(), len, "{name} from the video port");
    }
    // The same scene from either port.
    let mean = |name: &str| {
        let y = &std::fs::read(temp(name)).unwrap()[..320 * 240];
        y.iter().map(|&v| f64::from(v)).sum::<f64>() / y.len() as f64
    };
    let (still, video) = (mean("a.yuv"), mean("video-a.yuv"));
    assert!(still > 16.0 && (still - video).abs() < 24.0, "luma {still} from the still port, {video} from the video's");
    // The still port's tunnel is back after raw stills.
    camera.capture(temp("b.jpg")).unwrap();
    assert_eq!(&std::fs::read(temp("b.jpg")).unwrap()[..2], &[0xff, 0xd8]);
}

/// The image encoder's files come in several buffers, none of which a slow
/// reader may lose. Before, a stream kept only JPEG, H.264 and MJPEG whole:
/// a BMP's buffers were pictures to it, and all but the last two waiting
/// were dropped.
#[test]
fn a_slow_reader_gets_every_buffer_of_an_image_file() {
    let _s = setup();
    use mmal::components::{CameraComponent, ImageEncoder};
    use mmal::{Connection, ConnectionFlags, Format};
    let camera = CameraComponent::new().unwrap();
    let encoder = ImageEncoder::new().unwrap();
    camera.still().set_format(&Format::video(Encoding::OPAQUE, 640, 480)).unwrap();
    let _link = Connection::new(camera.still(), encoder.input(), ConnectionFlags::default()).unwrap();
    encoder.output().set_format(&Format::video(Encoding::BMP, 640, 480)).unwrap();
    let files = encoder.output().enable_stream(3).unwrap();
    camera.enable().unwrap();
    camera.still().set(&mmal::params::Capture(true)).unwrap();
    // The reader comes late: the encoder has filled every buffer it had.
    std::thread::sleep(Duration::from_millis(500));
    let mut bmp = Vec::new();
    loop {
        let buffer = files.next_timeout(WAIT).unwrap();
        bmp.extend_from_slice(&buffer);
        if buffer.is_frame_end() {
            break;
        }
    }
    assert_eq!(files.dropped(), 0);
    assert_eq!(&bmp[..2], b"BM");
    assert_eq!(u32::from_le_bytes(bmp[2..6].try_into().unwrap()) as usize, bmp.len());
}

#[test]
fn a_bad_extension_or_path_is_a_clear_error_and_writes_nothing() {
    let _s = setup();
    let camera = Camera::open(0, &small()).unwrap();
    let path = temp("picture.xyz");
    let e = camera.capture(&path).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter(_)), "{e}");
    assert!(e.to_string().contains("png") && e.to_string().contains(".xyz"), "{e}");
    assert!(!path.exists());
    let e = camera.capture(temp("noextension")).unwrap_err();
    assert!(e.to_string().contains("no extension"), "{e}");
    // A folder that is not there: an I/O error, with the path.
    let e = camera.capture(temp("missing/folder/a.jpg")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("missing/folder/a.jpg"), "{e}");
    let e = camera.capture_as(Encoding::I420, &StillOptions::new()).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter(_)), "{e}");
    let e = camera.capture_as(Encoding::JPEG, &StillOptions::new().quality(0)).unwrap_err();
    assert!(e.to_string().contains("quality"), "{e}");
}

#[test]
fn frames_are_views_over_the_buffer_itself() {
    let _s = setup();
    let camera = Camera::open(0, &small()).unwrap();
    let (shared_blocks, _) = emu::vcsm_usage();
    // Resized on the VideoCore, and not a multiple of 32 wide: rows padded.
    let frames = camera.frames(Encoding::RGB24, 100, 74).unwrap();
    // The buffers are memory shared with the VideoCore (zero copy).
    assert!(emu::vcsm_usage().0 >= shared_blocks + 4, "{:?}", emu::vcsm_usage());
    let frame = frames.next_timeout(WAIT).unwrap();
    let rgb = frame.as_array().unwrap();
    assert_eq!(rgb.shape(), &[74, 100, 3]);
    assert_eq!(rgb.strides(), &[128 * 3, 3, 1]);
    assert_eq!(rgb.as_ptr(), frame.data().as_ptr());
    assert_eq!(rgb[[1, 2, 1]], frame.data()[128 * 3 + 2 * 3 + 1]);
    drop(frames);
    let frames = camera.frames(Encoding::I420, 320, 240).unwrap();
    let frame = frames.next_timeout(WAIT).unwrap();
    let planes = frame.planes().unwrap();
    let (u, v) = (planes.u.unwrap(), planes.v.unwrap());
    assert_eq!((planes.y.width(), planes.y.height(), planes.y.stride()), (320, 240, 320));
    assert_eq!((u.width(), u.height(), u.stride()), (160, 120, 160));
    let base = frame.data().as_ptr() as usize;
    assert_eq!(u.data().as_ptr() as usize - base, 320 * 240);
    assert_eq!(v.data().as_ptr() as usize - base, 320 * 240 + 160 * 120);
    assert_eq!(u.as_array().dim(), (120, 160));
    assert_eq!(frame.as_array().unwrap().shape(), &[240, 320, 1], "the luma plane");
}

#[test]
fn frames_carry_their_index_time_and_settings() {
    let _s = setup();
    let opened = mmal_monotonic();
    let camera = Camera::open(0, &small()).unwrap();
    let mut last: Option<(u64, Duration)> = None;
    for frame in camera.frames(Encoding::I420, 320, 240).unwrap().take(10) {
        let frame = frame.unwrap();
        let taken = frame.monotonic_time().expect("a camera frame has a time");
        let now = mmal_monotonic();
        assert!(taken >= opened && taken <= now, "taken {taken:?}, opened {opened:?}, now {now:?}");
        let wall = frame.wall_time().unwrap();
        let age = SystemTime::now().duration_since(wall).expect("taken before now");
        assert!(age < Duration::from_secs(5), "{age:?}");
        if let Some((index, time)) = last {
            assert!(frame.index() > index && taken > time);
        }
        last = Some((frame.index(), taken));
        let used = frame.settings().expect("the camera reports what it used");
        assert!(used.exposure_us > 0 && used.analog_gain >= 1.0, "{used:?}");
    }
    assert!(camera.used_settings().unwrap().exposure_us > 0);
}

/// A frame carries the settings it was taken with, not the latest: one
/// taken before a change and read after the camera reported the change
/// still says the old exposure. Before, frames took the latest report at
/// the moment they were read.
#[test]
fn a_frame_read_late_carries_the_settings_it_was_taken_with() {
    let _s = setup();
    let camera = Camera::open(0, &small().frame_rate(5)).unwrap();
    let mut settings = Settings::default();
    settings.exposure_mode = mmal::params::ExposureMode::Off;
    settings.shutter_speed_us = 10_000;
    camera.set_settings(&settings).unwrap();
    let frames = camera.frames(Encoding::I420, 320, 240).unwrap();
    let exposure = |f: &mmal::Frame| f.settings().map(|s| s.exposure_us);
    // Until the frames are taken at 10 ms.
    while exposure(&frames.next_timeout(WAIT).unwrap()) != Some(10_000) {}
    // A frame taken at 10 ms waits unread while the change is reported.
    let read = frames.next_timeout(WAIT).unwrap();
    assert_eq!(exposure(&read), Some(10_000));
    drop(read);
    std::thread::sleep(Duration::from_millis(250));
    settings.shutter_speed_us = 20_000;
    camera.set_settings(&settings).unwrap();
    assert!(common::eventually(WAIT, || camera.used_settings().unwrap().exposure_us == 20_000));
    let late = frames.next_timeout(WAIT).unwrap();
    assert_eq!(exposure(&late), Some(10_000), "taken before the change");
    assert!(late.arrival_time() >= late.monotonic_time().unwrap());
    // And the frames after it say 20 ms.
    while exposure(&frames.next_timeout(WAIT).unwrap()) != Some(20_000) {}
}

/// `CLOCK_MONOTONIC`, as `Instant` reads it.
fn mmal_monotonic() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec to write.
    assert_eq!(unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) }, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[test]
fn settings_apply_together_and_read_back() {
    let _s = setup();
    let camera = Camera::open(0, &small()).unwrap();
    let mut settings = Settings::default();
    settings.brightness = 60;
    settings.contrast = 10;
    settings.saturation = -20;
    settings.exposure_compensation = 6;
    settings.awb_mode = AwbMode::Off;
    settings.awb_gains = Some((1.5, 1.25));
    camera.set_settings(&settings).unwrap();
    assert_eq!(camera.settings().unwrap(), settings);
    // A bad value: refused before anything is sent.
    let mut bad = settings;
    bad.brightness = 20;
    bad.contrast = 500;
    let e = camera.set_settings(&bad).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter(_)) && e.to_string().contains("CONTRAST"), "{e}");
    assert_eq!(camera.settings().unwrap(), settings, "nothing half applied");
}

#[test]
fn bad_options_are_refused_clearly_and_leave_nothing() {
    let _s = setup();
    let cases = [
        (CameraOptions::new().resolution(0, 0), "even width and height"),
        (CameraOptions::new().resolution(99_998, 480), "full resolution"),
        (CameraOptions::new().frame_rate(0), "frames per second"),
        (CameraOptions::new().frame_rate(1000), "frames per second"),
        (CameraOptions::new().sensor_mode(99), "sensor mode 99"),
        (CameraOptions::new().rotation(45), "rotation 45"),
        (CameraOptions::new().sensor_mode(2).frame_rate(30), "in sensor mode 2"),
    ];
    for (options, says) in cases {
        let e = Camera::open(0, &options).unwrap_err();
        assert!(matches!(e, Error::InvalidParameter(_)), "{e}");
        assert!(e.to_string().contains(says), "{e}");
    }
    let e = Camera::open(7, &CameraOptions::default()).unwrap_err();
    assert!(e.to_string().contains("camera 7"), "{e}");
    let camera = Camera::open(0, &small()).unwrap();
    for (encoding, w, h) in [(Encoding::JPEG, 64, 64), (Encoding::RGB24, 0, 10), (Encoding::I420, 63, 64)] {
        let e = camera.frames(encoding, w, h).unwrap_err();
        assert!(matches!(e, Error::InvalidParameter(_)), "{e}");
    }
    // Four video outputs at most, then a clear error.
    let held: Vec<_> = (0..4).map(|_| camera.frames(Encoding::I420, 320, 240).unwrap()).collect();
    let e = camera.frames(Encoding::I420, 320, 240).unwrap_err();
    assert!(matches!(e, Error::State(_)) && e.to_string().contains("four"), "{e}");
    drop(held);
    camera.frames(Encoding::I420, 320, 240).unwrap();
    drop(camera);
    let usage = emu::usage();
    assert_eq!((usage.components, usage.pools, usage.connections), (0, 0, 0), "{usage:?}");
}

/// Mean luma of a raw still, and the left and right halves' difference.
fn still_luma(camera: &Camera, name: &str) -> (f64, Vec<f64>) {
    camera.capture(temp(name)).unwrap();
    let y = std::fs::read(temp(name)).unwrap();
    let (w, h) = camera.options().size();
    let y = &y[..(w * h) as usize];
    let columns: Vec<f64> = (0..w as usize)
        .map(|x| (0..h as usize).map(|r| f64::from(y[r * w as usize + x])).sum::<f64>() / f64::from(h))
        .collect();
    (y.iter().map(|&v| f64::from(v)).sum::<f64>() / y.len() as f64, columns)
}

#[test]
fn options_and_settings_reach_the_picture() {
    let _s = setup();
    let mut camera = Camera::open(0, &small()).unwrap();
    // A still taken after the call has the settings set before it.
    let mut settings = Settings::default();
    settings.brightness = 20;
    camera.set_settings(&settings).unwrap();
    let (dark, columns) = still_luma(&camera, "dark.yuv");
    settings.brightness = 80;
    camera.set_settings(&settings).unwrap();
    let (bright, _) = still_luma(&camera, "bright.yuv");
    assert!(bright > dark + 40.0, "brightness 20: {dark}, 80: {bright}");
    // Mirrored left to right.
    settings.brightness = 20;
    camera.set_settings(&settings).unwrap();
    camera.reconfigure(&small().hflip(true)).unwrap();
    let (_, mirrored) = still_luma(&camera, "mirrored.yuv");
    let differ = |a: &[f64], b: &mut dyn Iterator<Item = f64>| {
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64
    };
    let as_mirror = differ(&columns, &mut mirrored.iter().rev().copied());
    let as_is = differ(&columns, &mut mirrored.iter().copied());
    assert!(as_mirror * 2.0 < as_is, "columns mirrored differ by {as_mirror}, as they are by {as_is}");
}

#[test]
fn the_preview_is_shown_where_asked_and_stopped() {
    let _s = setup();
    let camera = Camera::open(0, &small()).unwrap();
    assert_eq!(camera.preview_region().unwrap(), None);
    let region = mmal::params::DisplayRegion {
        fullscreen: Some(false),
        dest_rect: Some(mmal::Rect { x: 10, y: 20, width: 320, height: 240 }),
        layer: Some(3),
        alpha: Some(200),
        ..Default::default()
    };
    camera.start_preview(&region).unwrap();
    let shown = camera.preview_region().unwrap().expect("a preview");
    assert_eq!(
        (shown.fullscreen, shown.dest_rect, shown.layer, shown.alpha),
        (region.fullscreen, region.dest_rect, region.layer, region.alpha)
    );
    // Moved, and the camera goes on meanwhile.
    camera.start_preview(&mmal::params::DisplayRegion { layer: Some(5), ..Default::default() }).unwrap();
    assert_eq!(camera.preview_region().unwrap().unwrap().layer, Some(5));
    camera.capture_jpeg().unwrap();
    camera.stop_preview().unwrap();
    assert_eq!(camera.preview_region().unwrap(), None);
    camera.capture_jpeg().unwrap();
}

#[test]
fn waits_time_out_with_an_error() {
    let _s = setup();
    let camera = Camera::open(0, &small().frame_rate(1)).unwrap();
    let frames = camera.frames(Encoding::I420, 320, 240).unwrap();
    frames.next_timeout(WAIT).unwrap();
    let e = frames.next_timeout(Duration::from_millis(20)).unwrap_err();
    assert!(matches!(e, Error::Timeout { waited, .. } if waited == Duration::from_millis(20)), "{e}");
}

#[test]
fn reconfigure_changes_the_size_and_keeps_settings_and_lens_shading() {
    let _s = setup();
    let mut camera = Camera::open(0, &small()).unwrap();
    let mut settings = Settings::default();
    settings.sharpness = 33;
    camera.set_settings(&settings).unwrap();
    let (gw, gh) = mmal::LensShadingTable::grid_for(camera.full_resolution().0, camera.full_resolution().1);
    let table = mmal::LensShadingTable::unity(gw, gh).unwrap();
    camera.set_lens_shading(&table).unwrap();
    camera.reconfigure(&CameraOptions::new().resolution(640, 480).vflip(true)).unwrap();
    assert_eq!(camera.options().size(), (640, 480));
    assert_eq!(camera.settings().unwrap().sharpness, 33);
    assert_eq!(camera.lens_shading(), Some(&table));
    let mut decoder = jpeg_decoder::Decoder::new(std::io::Cursor::new(camera.capture_jpeg().unwrap()));
    decoder.read_info().unwrap();
    assert_eq!(decoder.info().map(|i| (i.width, i.height)), Some((640, 480)));
    // A bad one: refused, and the camera runs as before.
    assert!(camera.reconfigure(&CameraOptions::new().resolution(1, 1)).is_err());
    assert_eq!(camera.options().size(), (640, 480));
    camera.capture_jpeg().unwrap();
}

#[test]
fn several_outputs_run_at_once() {
    let _s = setup();
    let camera = Camera::open(0, &small()).unwrap();
    let frames = camera.frames(Encoding::RGB24, 160, 120).unwrap();
    let counted = Arc::new(AtomicU64::new(0));
    let seen = counted.clone();
    let callback = camera
        .on_frames(Encoding::BGR24, 64, 48, move |frame| {
            assert_eq!(frame.as_array().unwrap().shape(), &[48, 64, 3]);
            seen.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
    let mut recording = camera.start_recording(Vec::new(), &RecorderConfig::h264(320, 240)).unwrap();
    recording.wait(Duration::from_millis(300)).unwrap();
    let still = camera.capture_as(Encoding::JPEG, &StillOptions::new().use_video_port(true)).unwrap();
    assert_eq!(&still[..2], &[0xff, 0xd8]);
    let jpeg = camera.capture_jpeg().unwrap();
    assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
    for _ in 0..3 {
        assert_eq!(frames.next_timeout(WAIT).unwrap().as_array().unwrap().shape(), &[120, 160, 3]);
    }
    let h264 = recording.stop().unwrap();
    assert_eq!(&h264[..4], &[0, 0, 0, 1]);
    assert!(common::eventually(WAIT, || counted.load(Ordering::Relaxed) >= 3));
    callback.stop().unwrap();
}

#[test]
fn recordings_split_at_keyframes_and_the_circular_buffer_keeps_the_last_seconds() {
    let _s = setup();
    emu::set_pacing(Pacing::Unlimited);
    let camera = Camera::open(0, &small()).unwrap();
    let config = RecorderConfig::h264(320, 240).intra_period(10);
    let mut recording = camera.start_recording(Vec::new(), &config).unwrap();
    recording.wait(Duration::from_millis(500)).unwrap();
    let first = recording.split(Vec::new()).unwrap();
    recording.wait(Duration::from_millis(500)).unwrap();
    let second = recording.stop().unwrap();
    for part in [&first, &second] {
        assert_eq!((&part[..4], part[4] & 0x1f), (&[0, 0, 0, 1][..], 7), "each part starts with the SPS");
    }
    let last = CircularBuffer::new(Duration::from_secs(1));
    let mut recording = camera.start_recording(last.clone(), &config).unwrap();
    recording.wait(Duration::from_secs(3)).unwrap();
    drop(recording);
    let held = last.duration();
    // At least the second asked for, from a keyframe: less than the whole
    // recording (how much more than a second depends on where the last
    // keyframe fell, later in time on a slow machine).
    assert!(held >= Duration::from_secs(1) && held < Duration::from_millis(2900), "{held:?}");
    let mut saved = Vec::new();
    last.save(&mut saved).unwrap();
    assert_eq!((&saved[..4], saved[4] & 0x1f), (&[0, 0, 0, 1][..], 7));
    // At another size than the camera's, scaled on the VideoCore.
    let mut smaller = camera.start_recording(Vec::new(), &RecorderConfig::h264(160, 120)).unwrap();
    smaller.wait(Duration::from_millis(100)).unwrap();
    let h264 = smaller.stop().unwrap();
    assert_eq!((&h264[..4], h264[4] & 0x1f), (&[0, 0, 0, 1][..], 7));
    // A size no encoder takes: a clear error, and the video output free.
    let e = camera.start_recording(Vec::new(), &RecorderConfig::h264(2048, 1536)).unwrap_err();
    assert!(e.to_string().contains("1920"), "{e}");
    // A file in a folder that is not there: an I/O error.
    let e = camera.record(temp("missing/v.h264"), Duration::from_millis(100)).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    emu::set_pacing(Pacing::FrameRate);
}

#[test]
fn motion_vectors_go_to_their_own_output() {
    let _s = setup();
    emu::set_pacing(Pacing::Unlimited);
    let camera = Camera::open(0, &small()).unwrap();
    let config = RecorderConfig::h264(320, 240).motion_vectors(true);
    let output = mmal::WithMotion { video: Vec::new(), motion: Vec::new() };
    let mut recording = camera.start_recording(output, &config).unwrap();
    // Nine pictures or more, however slow the machine (qemu under load).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while recording.pictures() < 9 && std::time::Instant::now() < deadline {
        recording.wait(Duration::from_millis(100)).unwrap();
    }
    let pictures = recording.pictures();
    let mmal::WithMotion { video, motion } = recording.stop().unwrap();
    emu::set_pacing(Pacing::FrameRate);
    // One (x, y, sad) per macroblock, with an extra column on each row.
    let per_picture = (320 / 16 + 1) * (240 / 16) * 4;
    assert!(pictures >= 9 && !motion.is_empty(), "{pictures} pictures, {} bytes of vectors", motion.len());
    assert_eq!(motion.len() % per_picture, 0, "{}", motion.len());
    assert_eq!((&video[..4], video[4] & 0x1f), (&[0, 0, 0, 1][..], 7), "the stream without vectors");
    // Read in place, one per macroblock.
    struct Vectors(usize);
    impl mmal::VideoOutput for Vectors {
        fn write_buffer(&mut self, buffer: &mmal::Frame) -> std::io::Result<()> {
            if let Some(vectors) = buffer.motion_vectors() {
                assert_eq!(vectors.len(), 21 * 15);
                self.0 += 1;
            }
            Ok(())
        }
    }
    emu::set_pacing(Pacing::Unlimited);
    let mut recording = camera.start_recording(Vectors(0), &config).unwrap();
    recording.wait(Duration::from_millis(100)).unwrap();
    assert!(recording.stop().unwrap().0 > 0);
    emu::set_pacing(Pacing::FrameRate);
}

#[test]
fn a_raw_capture_parses_and_sensor_modes_are_listed() {
    let _s = setup();
    let camera = Camera::open(0, &small()).unwrap();
    let (jpeg, raw) = camera.capture_raw().unwrap();
    assert_eq!(&jpeg[..2], &[0xff, 0xd8]);
    assert!(raw.pixels().dim().0 > 0);
    let modes = camera.sensor_modes();
    assert!(modes.len() >= 4);
    let full = camera.full_resolution();
    assert!(modes.iter().any(|m| m.size == full && m.binning == (1, 1)));
    assert!(modes.iter().any(|m| m.binning.0 >= 2 && m.is_full_field_of_view(full)));
    // The next JPEG has no raw block.
    assert!(mmal::raw::find(&camera.capture_jpeg().unwrap()).is_err());
}

#[test]
fn typed_components_name_their_ports() {
    let _s = setup();
    use mmal::components::{CameraComponent, ImageEncoder, NullSink, Resizer, Splitter, SplitterOutput, VideoEncoder};
    let camera = CameraComponent::new().unwrap();
    assert_eq!(camera.preview().name(), "vc.ril.camera:out:0");
    assert_eq!(camera.video().index(), 1);
    assert_eq!(camera.still().index(), 2);
    let splitter = Splitter::new().unwrap();
    assert_eq!(splitter.output(SplitterOutput::Fourth).index(), 3);
    assert_eq!(ImageEncoder::new().unwrap().output().kind(), mmal::PortKind::Output);
    assert_eq!(VideoEncoder::new().unwrap().input().kind(), mmal::PortKind::Input);
    assert_eq!(Resizer::new().unwrap().name(), "vc.ril.resize");
    let sink = NullSink::new().unwrap();
    assert_eq!(sink.inputs().len(), 1);
    // Every wait is a Result: no event in time is an error that says so.
    let events = sink.events().unwrap();
    let e = events.next_timeout(Duration::from_millis(10)).unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    // Streams are iterators, that end with their port.
    assert!(matches!(events.iter(Duration::from_millis(10)).next(), Some(Err(Error::Timeout { .. }))));
    events.disable().unwrap();
    assert!(events.iter(Duration::from_millis(10)).next().is_none());
    let mut recorder = mmal::Recorder::new(&RecorderConfig::h264(320, 240)).unwrap();
    recorder.start().unwrap();
    assert_eq!(recorder.iter(WAIT).take(5).filter(|b| b.is_ok()).count(), 5);
}
