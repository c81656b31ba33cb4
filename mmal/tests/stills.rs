//! Stills: the camera's still port tunnelled to `vc.ril.image_encode`, one
//! JPEG per capture, checked with an independent decoder (`jpeg-decoder`).

mod common;

use std::time::Duration;

use common::{emu, serial, WAIT};
use mmal::emulator::Sensor;
use mmal::params::{
    Annotate, AnnotateV4, BlackLevel, Brightness, Capture, Exif, ExifDisable, JpegQuality, JpegRestartInterval,
    Justify, Mirror, RawCapture, Thumbnail,
};
use mmal::raw::{BayerOrder, RawImage};
use mmal::{Component, Connection, ConnectionFlags, Encoding, Format, FrameStream};

/// How long a still may take: a full-resolution raw is 12 megapixels on
/// the IMX477, made and packed on the CPU (under qemu, slowly).
const STILL_WAIT: Duration = Duration::from_secs(60);

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
            let buffer = self.jpegs.next_timeout(STILL_WAIT).unwrap();
            jpeg.extend_from_slice(&buffer);
            if buffer.is_frame_end() {
                assert_ne!(buffer.flags().bits() & mmal_sys::MMAL_BUFFER_HEADER_FLAG_EOS, 0, "EOS ends a still");
                return jpeg;
            }
            assert_eq!(buffer.flags().bits() & mmal_sys::MMAL_BUFFER_HEADER_FLAG_EOS, 0, "EOS only on the last");
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
    let _restore = emu::Restore;
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
}

/// The headline recipe: a raw flat field, a table from it, uploaded, and
/// the processed picture comes out flat.
#[test]
fn a_table_from_a_raw_flat_field_flattens_the_picture() {
    use mmal::params::SensorMode;
    use mmal::{LensShadingTable, Normalise};
    let _s = serial();
    let _restore = emu::Restore;
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
}

/// Each cell of a `cols` x `rows` grid over a decoded RGB picture, per
/// channel, as a ratio to the centre cell.
fn cell_ratios(pixels: &[u8], w: usize, h: usize, cols: usize, rows: usize) -> Vec<[f64; 3]> {
    let cell = |cx: usize, cy: usize| -> [f64; 3] {
        let (x0, x1, y0, y1) = (cx * w / cols, (cx + 1) * w / cols, cy * h / rows, (cy + 1) * h / rows);
        let mut sum = [0.0; 3];
        for y in y0..y1 {
            for px in pixels[(y * w + x0) * 3..(y * w + x1) * 3].chunks_exact(3) {
                for c in 0..3 {
                    sum[c] += f64::from(px[c]);
                }
            }
        }
        sum.map(|v| v / ((x1 - x0) * (y1 - y0)) as f64)
    };
    let centre = cell(cols / 2, rows / 2);
    (0..rows)
        .flat_map(|cy| (0..cols).map(move |cx| (cx, cy)))
        .map(|(cx, cy)| {
            let c = cell(cx, cy);
            std::array::from_fn(|i| c[i] / centre[i])
        })
        .collect()
}

/// The target: a table calibrated from the raw of a flat field
/// makes every cell of the decoded JPEG within 5% of the centre, on each
/// of the three sensors (before it, the corners are far darker).
#[test]
fn after_calibration_every_cell_of_the_jpeg_is_within_5_percent_on_each_sensor() {
    use mmal::{LensShadingTable, Normalise};
    let _s = serial();
    let _restore = emu::Restore;
    emu::set_scene(Some("flat"));
    for sensor in [Sensor::Ov5647, Sensor::Imx219, Sensor::Imx477] {
        emu::set_sensor(Some(sensor));
        let (fw, fh) = sensor.resolution();
        let (w, h) = (fw / 4 / 32 * 32, fh / 4 / 16 * 16);
        let s = still(w, h, Encoding::OPAQUE);
        s.camera.output(2).unwrap().set(&RawCapture(true)).unwrap();
        let file = s.capture();
        drop(s);
        let raw = RawImage::parse(&file).unwrap();
        assert_eq!((u32::from(raw.header().width), u32::from(raw.header().height)), (fw, fh));
        let (before, bw, bh) = decode(&file);
        let worst = |ratios: &[[f64; 3]]| ratios.iter().flatten().map(|r| (r - 1.0).abs()).fold(0.0, f64::max);
        let uncorrected = worst(&cell_ratios(&before, bw.into(), bh.into(), 16, 12));
        assert!(uncorrected > 0.15, "{sensor:?}: uncorrected, the corners are dark ({uncorrected:.3})");

        let table = LensShadingTable::from_raw(&raw, Normalise::Centre, None).unwrap();
        let uploaded = table.upload().unwrap();
        let s = {
            // The override is set on the control port before enabling.
            let camera = Component::new("vc.ril.camera").unwrap();
            camera.control().set(&uploaded.parameter()).unwrap();
            let encoder = Component::new("vc.ril.image_encode").unwrap();
            let port = camera.output(2).unwrap();
            port.set_format(&Format::video(Encoding::OPAQUE, w, h)).unwrap();
            let link = Connection::new(&port, &encoder.input(0).unwrap(), ConnectionFlags::default()).unwrap();
            let output = encoder.output(0).unwrap();
            output.set_format(&Format::video(Encoding::JPEG, w, h)).unwrap();
            let jpegs = output.enable_stream(3).unwrap();
            camera.enable().unwrap();
            Still { camera, encoder, _link: link, jpegs }
        };
        let (after, aw, ah) = decode(&s.capture());
        let ratios = cell_ratios(&after, aw.into(), ah.into(), 16, 12);
        let corrected = worst(&ratios);
        assert!(corrected <= 0.05, "{sensor:?}: a cell is {:.1}% off the centre after calibration", corrected * 100.0);
        eprintln!("{sensor:?}: worst cell {:.1}% before, {:.1}% after", uncorrected * 100.0, corrected * 100.0);
    }
}

/// Flips are the sensor's: the raw reads out mirrored, its header's Bayer
/// order and transform say so, and a table measured in one orientation
/// (its `ref_transform`) still flattens the picture in another.
#[test]
fn flips_change_the_raw_order_and_a_table_follows_its_ref_transform() {
    use mmal::{LensShadingTable, Normalise};
    let _s = serial();
    let _restore = emu::Restore;
    emu::set_scene(Some("flat"));
    // The IMX219 reads out RGGB; research §7's OV5647 observations give
    // the flipped orders.
    let mut calibration = None;
    for (mirror, transform, order) in [
        (Mirror::None, 0, BayerOrder::Rggb),
        (Mirror::Horizontal, 1, BayerOrder::Grbg),
        (Mirror::Vertical, 2, BayerOrder::Gbrg),
        (Mirror::Both, 3, BayerOrder::Bggr),
    ] {
        let s = still(640, 480, Encoding::OPAQUE);
        let port = s.camera.output(2).unwrap();
        port.set(&mirror).unwrap();
        port.set(&RawCapture(true)).unwrap();
        let raw = RawImage::parse(&s.capture()).unwrap();
        assert_eq!((raw.header().transform, raw.header().bayer_order), (transform, order), "{mirror:?}");
        // The planes still sort out the colours: the IMX219 sees white as
        // G > B > R.
        let planes = raw.planes();
        let centre = |p: &mmal::vcsm::ndarray::Array2<u16>| {
            let (h, w) = p.dim();
            p.slice(mmal::vcsm::ndarray::s![h / 2 - 8..h / 2 + 8, w / 2 - 8..w / 2 + 8]).mapv(f64::from).mean().unwrap()
        };
        let (r, g, b) = (centre(&planes.r), centre(&planes.gr), centre(&planes.b));
        assert!(r < b && b < g, "{mirror:?}: R {r} G {g} B {b}");
        if mirror == Mirror::Horizontal {
            calibration = Some(raw);
        }
    }
    // Calibrated mirrored left to right, used unflipped and upside down.
    let table = LensShadingTable::from_raw(&calibration.unwrap(), Normalise::Centre, None).unwrap();
    let uploaded = table.upload().unwrap();
    for mirror in [Mirror::None, Mirror::Vertical] {
        let camera = Component::new("vc.ril.camera").unwrap();
        camera.control().set(&uploaded.parameter()).unwrap();
        let video = camera.output(1).unwrap();
        video.set(&mirror).unwrap();
        let format = common::rgb(640, 480);
        video.set_format(&format).unwrap();
        let frames = video.enable_stream(2).unwrap();
        camera.enable().unwrap();
        video.set(&Capture(true)).unwrap();
        let frame = frames.next_timeout(WAIT).unwrap();
        // The optics' axis is off the centre, so a table mapped the wrong
        // way leaves one side darker than the other.
        let ratios = cell_ratios(&frame, 640, 480, 8, 6);
        for (i, r) in ratios.iter().enumerate() {
            for (channel, ratio) in r.iter().enumerate() {
                assert!(
                    (0.95..1.05).contains(ratio),
                    "{mirror:?}, cell {i}, channel {channel}: {ratio:.3} of the centre"
                );
            }
        }
    }
}

#[test]
fn a_thumbnail_rides_in_the_exif_block_and_the_black_level_reads_back() {
    let _s = serial();
    let _restore = emu::Restore;
    let s = still(640, 480, Encoding::OPAQUE);
    assert_eq!(s.encoder.control().get::<Thumbnail>().unwrap(), Thumbnail::OFF);
    s.encoder.control().set(&Thumbnail::new(64, 48, 35)).unwrap();
    assert_eq!(s.encoder.control().get::<Thumbnail>().unwrap(), Thumbnail::new(64, 48, 35));
    let jpeg = s.capture();
    // The EXIF block's TIFF, IFD0's next pointer, IFD1's JPEG.
    let tiff = jpeg.windows(6).position(|w| w == b"Exif\0\0").expect("an EXIF block") + 6;
    let t = &jpeg[tiff..];
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([t[at], t[at + 1]]));
    let u32_at = |at: usize| u32::from_le_bytes([t[at], t[at + 1], t[at + 2], t[at + 3]]) as usize;
    let ifd1 = u32_at(10 + 12 * u16_at(8));
    let entries: Vec<(usize, usize)> =
        (0..u16_at(ifd1)).map(|i| (u16_at(ifd1 + 2 + 12 * i), u32_at(ifd1 + 10 + 12 * i))).collect();
    let find = |tag| entries.iter().find(|e| e.0 == tag).map(|e| e.1).unwrap();
    let (offset, len) = (find(0x0201), find(0x0202));
    let (thumb, w, h) = decode(&t[offset..offset + len]);
    assert_eq!((w, h), (64, 48));
    // A picture of the same scene: the main picture's mean, roughly.
    let mean = |p: &[u8]| p.iter().map(|&v| f64::from(v)).sum::<f64>() / p.len() as f64;
    let (main, _, _) = decode(&jpeg);
    assert!((mean(&thumb) - mean(&main)).abs() < 10.0, "thumbnail {} picture {}", mean(&thumb), mean(&main));
    // Off again: no IFD1.
    s.encoder.control().set(&Thumbnail::OFF).unwrap();
    let plain = s.capture();
    let tiff = plain.windows(6).position(|w| w == b"Exif\0\0").unwrap() + 6;
    let t = &plain[tiff..];
    let count = usize::from(u16::from_le_bytes([t[8], t[9]]));
    assert_eq!(&t[10 + 12 * count..14 + 12 * count], &[0; 4]);
    // The sensor's black level: 64 of the IMX219's 10 bits.
    assert_eq!(s.camera.control().get::<BlackLevel>().unwrap(), BlackLevel(64));
    drop(s);
    emu::set_sensor(Some(Sensor::Imx477));
    let camera = Component::new("vc.ril.camera").unwrap();
    assert_eq!(camera.control().get::<BlackLevel>().unwrap(), BlackLevel(256));
    assert!(camera.control().set(&BlackLevel(4095)).is_err(), "the top of the 12-bit range is no black level");
    camera.control().set(&BlackLevel(240)).unwrap();
    assert_eq!(camera.control().get::<BlackLevel>().unwrap(), BlackLevel(240));
}

/// The camera keeps what it does not draw and checks what it acts on.
#[test]
fn annotations_read_back_in_either_revision_and_bad_controls_are_refused() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let control = camera.control();
    // Nothing set: the third revision's defaults, in either type.
    assert_eq!(control.get::<Annotate>().unwrap(), Annotate::default());
    assert_eq!(control.get::<AnnotateV4>().unwrap(), AnnotateV4::default());
    let note = Annotate { show_frame_num: true, text_size: 32, ..Annotate::text("bench 3") };
    let placed = AnnotateV4 { annotate: note.clone(), justify: Justify::Left, x_offset: 8, y_offset: 16 };
    control.set(&placed).unwrap();
    assert_eq!(control.get::<AnnotateV4>().unwrap(), placed);
    // The fourth revision starts with the third.
    assert_eq!(control.get::<Annotate>().unwrap(), note);
    control.set(&Annotate::text("again")).unwrap();
    assert_eq!(control.get::<AnnotateV4>().unwrap().annotate, Annotate::text("again"));
    // Brightness is checked by the camera too, past the client's checks.
    struct UncheckedBrightness(i32, i32);
    impl mmal::params::Parameter for UncheckedBrightness {
        const ID: u32 = mmal_sys::MMAL_PARAMETER_BRIGHTNESS;
        const NAME: &'static str = "BRIGHTNESS";
    }
    impl mmal::params::SetParameter for UncheckedBrightness {
        type C = mmal_sys::MMAL_PARAMETER_RATIONAL_T;
        fn to_c(&self) -> mmal::Result<Self::C> {
            use mmal_sys::param::ParameterStruct;
            let mut c = Self::C::with_id(mmal_sys::MMAL_PARAMETER_BRIGHTNESS);
            c.value = mmal_sys::MMAL_RATIONAL_T { num: self.0, den: self.1 };
            Ok(c)
        }
    }
    assert!(control.set(&UncheckedBrightness(150, 100)).is_err());
    assert!(control.set(&UncheckedBrightness(50, 0)).is_err());
    control.set(&UncheckedBrightness(3, 4)).unwrap();
    assert_eq!(control.get::<Brightness>().unwrap(), Brightness(75));
    control.set(&Brightness(50)).unwrap();
    assert_eq!(control.get::<Brightness>().unwrap(), Brightness(50), "the value stays");
}
