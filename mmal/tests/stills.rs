//! Stills: the camera's still port tunnelled to `vc.ril.image_encode`, one
//! JPEG per capture, checked with an independent decoder (`jpeg-decoder`).

mod common;

use std::time::Duration;

use common::{emu, serial, WAIT};
use mmal::params::{Capture, Exif, ExifDisable, JpegQuality, JpegRestartInterval, RawCapture};
use mmal::raw::{BayerOrder, RawImage};
use mmal::{Component, Connection, ConnectionFlags, Encoding, Format, FrameStream};

/// The camera and encoder, tunnelled, with the encoder's output streaming.
struct Still {
    camera: Component,
    encoder: Component,
    _link: Connection,
    jpegs: FrameStream,
}

fn still(width: u32, height: u32, input: Encoding) -> Still {
    let camera = Component::new("vc.ril.camera").unwrap();
    let encoder = Component::new("vc.ril.image_encode").unwrap();
    let port = camera.output(2).unwrap();
    port.set_format(&Format::video(input, width, height)).unwrap();
    let link = Connection::new(&port, &encoder.input(0).unwrap(), ConnectionFlags::default()).unwrap();
    let output = encoder.output(0).unwrap();
    output.set_format(&Format::video(Encoding::JPEG, width, height)).unwrap();
    let jpegs = output.enable_stream(3).unwrap();
    camera.enable().unwrap();
    Still { camera, encoder, _link: link, jpegs }
}

impl Still {
    /// Captures once and gathers the JPEG's buffers up to the last, whose
    /// flags say the still is over.
    fn capture(&self) -> Vec<u8> {
        self.camera.output(2).unwrap().set(&Capture(true)).unwrap();
        let mut jpeg = Vec::new();
        loop {
            let buffer = self.jpegs.next_timeout(WAIT).unwrap();
            jpeg.extend_from_slice(&buffer);
            if buffer.is_frame_end() {
                assert_ne!(buffer.flags() & mmal_sys::MMAL_BUFFER_HEADER_FLAG_EOS, 0, "EOS ends a still");
                return jpeg;
            }
            assert_eq!(buffer.flags() & mmal_sys::MMAL_BUFFER_HEADER_FLAG_EOS, 0, "EOS only on the last");
        }
    }
}

fn decode(jpeg: &[u8]) -> (Vec<u8>, u16, u16) {
    let mut decoder = jpeg_decoder::Decoder::new(jpeg);
    let pixels = decoder.decode().expect("a JPEG an independent decoder reads");
    let info = decoder.info().unwrap();
    assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::RGB24);
    (pixels, info.width, info.height)
}

#[test]
fn one_jpeg_per_capture_from_opaque_and_i420() {
    let _s = serial();
    for input in [Encoding::OPAQUE, Encoding::I420] {
        let s = still(640, 480, input);
        for _ in 0..2 {
            let jpeg = s.capture();
            assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
            let (pixels, w, h) = decode(&jpeg);
            assert_eq!((w, h), (640, 480));
            let mean = pixels.iter().map(|&v| u64::from(v)).sum::<u64>() / pixels.len() as u64;
            assert!((30..220).contains(&mean), "a picture: mean {mean}");
            // More than one 80 KiB buffer for a detailed 640x480 at 85? At
            // least it was gathered whole, and nothing more came.
        }
        assert!(matches!(s.jpegs.next_timeout(Duration::from_millis(200)), Err(mmal::Error::Timeout { .. })));
    }
}

#[test]
fn quality_exif_and_restart_markers_are_honoured() {
    let _s = serial();
    let s = still(640, 480, Encoding::OPAQUE);
    let output = s.encoder.output(0).unwrap();
    // The stream is enabled: these apply to the next picture.
    output.set(&JpegQuality(10)).unwrap();
    let small = s.capture();
    output.set(&JpegQuality(95)).unwrap();
    let large = s.capture();
    assert!(large.len() > 2 * small.len(), "quality 95 {} bytes, 10 {}", large.len(), small.len());
    assert_eq!(output.get::<JpegQuality>().unwrap(), JpegQuality(95));
    // EXIF: the Pi's Make and Model (RP_ and the sensor).
    let has = |jpeg: &[u8], text: &[u8]| jpeg.windows(text.len()).any(|w| w == text);
    assert!(has(&large, b"Exif\0\0") && has(&large, b"RaspberryPi") && has(&large, b"RP_imx219"));
    // A tag of the client's, and the Model replaced.
    output.set(&Exif::new("IFD0.Artist", "the suite")).unwrap();
    output.set(&Exif::new("IFD0.Model", "RP_custom")).unwrap();
    let tagged = s.capture();
    assert!(has(&tagged, b"the suite") && has(&tagged, b"RP_custom") && !has(&tagged, b"RP_imx219"));
    output.set(&ExifDisable(true)).unwrap();
    let bare = s.capture();
    assert!(!has(&bare, b"Exif\0\0"));
    decode(&bare);
    // Restart markers (FFD0..FFD7) every 4 MCUs.
    output.set(&JpegRestartInterval(4)).unwrap();
    let restarts = s.capture();
    assert!(restarts.windows(2).any(|w| w == [0xFF, 0xD0]), "restart markers");
    assert!(has(&restarts, &[0xFF, 0xDD]), "a DRI segment");
    decode(&restarts);
}

#[test]
fn raw_capture_appends_the_bayer_block_before_the_isp() {
    let _s = serial();
    emu::set_scene(Some("flat"));
    let s = still(640, 480, Encoding::OPAQUE);
    let port = s.camera.output(2).unwrap();
    port.set(&RawCapture(true)).unwrap();
    assert_eq!(port.get::<RawCapture>().unwrap(), RawCapture(true));
    let file = s.capture();
    // The JPEG still decodes (its decoder stops at the end of image).
    assert_eq!(decode(&file).1, 640);
    let start = mmal::raw::find(&file).unwrap();
    // The tail a Pi appends for the IMX219 at full resolution.
    assert_eq!(file.len() - start, 10_270_208);
    let raw = RawImage::parse(&file).unwrap();
    let h = raw.header();
    assert_eq!((h.width, h.height, h.bit_depth, h.bayer_order), (3280, 2464, 10, BayerOrder::Rggb));
    // Before the ISP: above the black level, and the lens's vignetting is
    // all there (no lens shading applied), in every plane.
    let planes = raw.planes();
    for (name, plane) in [("R", &planes.r), ("Gr", &planes.gr), ("Gb", &planes.gb), ("B", &planes.b)] {
        let (ph, pw) = plane.dim();
        let mean = |y: usize, x: usize| {
            let w = plane.slice(mmal::vcsm::ndarray::s![y..y + 16, x..x + 16]);
            w.iter().map(|&v| f64::from(v)).sum::<f64>() / 256.0 - 64.0
        };
        let centre = mean(ph / 2 - 8, pw / 2 - 8);
        let corner = mean(4, 4);
        assert!(centre > 100.0, "{name}: centre {centre} above black");
        assert!(corner / centre < 0.75, "{name}: corner/centre {}", corner / centre);
    }
    // Without raw capture, no block.
    port.set(&RawCapture(false)).unwrap();
    let plain = s.capture();
    assert!(matches!(RawImage::parse(&plain), Err(mmal::Error::NoRawData { .. })));
    emu::set_scene(None);
}

/// The headline recipe: a raw flat field, a table from it, uploaded, and
/// the processed picture comes out flat.
#[test]
fn a_table_from_a_raw_flat_field_flattens_the_picture() {
    use mmal::params::SensorMode;
    use mmal::{LensShadingTable, Normalise};
    let _s = serial();
    emu::set_scene(Some("flat"));
    let file = {
        let s = still(640, 480, Encoding::OPAQUE);
        s.camera.output(2).unwrap().set(&RawCapture(true)).unwrap();
        s.capture()
    };
    let raw = RawImage::parse(&file).unwrap();
    for normalise in [Normalise::Centre, Normalise::Brightest] {
        let table = LensShadingTable::from_raw(&raw, normalise, None).unwrap();
        assert_eq!((table.width(), table.height()), LensShadingTable::grid_for(3280, 2464));
        // Corners need more gain than the centre, red most.
        let (w, h) = (table.width(), table.height());
        let corner = |c| table.gain(c, 0, 0).unwrap();
        let centre = |c| table.gain(c, w / 2, h / 2).unwrap();
        assert!(corner(0) > centre(0) + 20 && corner(0) >= corner(3), "R {} B {}", corner(0), corner(3));
        if normalise == Normalise::Centre {
            assert!((31..=33).contains(&centre(1)), "x1.0 at the centre: {}", centre(1));
        }
    }
    // Uploaded, the processed picture over the same field is flat.
    let table = LensShadingTable::from_raw(&raw, Normalise::Centre, None).unwrap();
    let camera = Component::new("vc.ril.camera").unwrap();
    camera.control().set(&SensorMode(4)).unwrap();
    let uploaded = table.upload().unwrap();
    camera.control().set(&uploaded.parameter()).unwrap();
    let format = common::rgb(410, 308);
    let video = camera.output(1).unwrap();
    video.set_format(&format).unwrap();
    let frames = video.enable_stream(2).unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    let frame = frames.next_timeout(WAIT).unwrap();
    for channel in 0..3 {
        let ratio = common::corner_ratio(&frame, &video.format(), 3, channel);
        assert!((0.9..1.1).contains(&ratio), "channel {channel}: corner/centre {ratio}");
    }
    emu::set_scene(None);
}
