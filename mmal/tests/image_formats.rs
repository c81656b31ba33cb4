//! Stills from the camera's still port, tunnelled to `vc.ril.image_encode`
//! in each output format the firmware's encoder lists: each file has its
//! format's signature and the picture's size, and the lossless ones the
//! same pixels as a JPEG of the same scene, near enough for the noise.
//! (`mmal-emu`'s `image_formats` test reads each format back exactly from
//! a client's picture; Pillow reads them in the picamerax suite.)

mod common;

use std::time::Duration;

use common::serial;
use mmal::params::{Capture, JpegQuality, JpegRestartInterval, RawCapture, Thumbnail};
use mmal::{Component, Connection, ConnectionFlags, Encoding, Format, FrameStream};

/// How long a still may take (under qemu, slowly).
const STILL_WAIT: Duration = Duration::from_secs(60);

/// The picture: not a multiple of the 32x16 blocks, so rows are cropped.
const SIZE: (u32, u32) = (200, 150);

/// The camera and encoder, tunnelled, with the encoder's output streaming
/// files of `output`.
struct Still {
    camera: Component,
    _encoder: Component,
    _link: Connection,
    files: FrameStream,
}

fn still(output: Encoding) -> Still {
    let camera = Component::new("vc.ril.camera").unwrap();
    let encoder = Component::new("vc.ril.image_encode").unwrap();
    let port = camera.output(2).unwrap();
    port.set_format(&Format::video(Encoding::OPAQUE, SIZE.0, SIZE.1)).unwrap();
    let link = Connection::new(&port, &encoder.input(0).unwrap(), ConnectionFlags::default()).unwrap();
    let out = encoder.output(0).unwrap();
    out.set_format(&Format::video(output, SIZE.0, SIZE.1)).unwrap();
    // raspistill sets these whatever the encoding (`-e png` too), and
    // gives up if one is refused: the firmware takes them.
    out.set(&JpegQuality(85)).unwrap();
    out.set(&JpegRestartInterval(0)).unwrap();
    encoder.control().set(&Thumbnail::new(64, 48, 35)).unwrap();
    let files = out.enable_stream(3).unwrap();
    camera.enable().unwrap();
    Still { camera, _encoder: encoder, _link: link, files }
}

impl Still {
    /// One capture, gathered up to the buffer that ends it.
    fn capture(&self) -> Vec<u8> {
        self.camera.output(2).unwrap().set(&Capture(true)).unwrap();
        let mut file = Vec::new();
        loop {
            let buffer = self.files.next_timeout(STILL_WAIT).unwrap();
            file.extend_from_slice(&buffer);
            if buffer.is_frame_end() {
                assert_ne!(buffer.flags().bits() & mmal_sys::MMAL_BUFFER_HEADER_FLAG_EOS, 0, "EOS ends a still");
                return file;
            }
        }
    }
}

fn le16(b: &[u8], at: usize) -> u32 {
    u32::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// Mean of each channel over the picture, from a file's pixels.
fn means(rgb: impl Iterator<Item = [u8; 3]>) -> [f64; 3] {
    let (mut sum, mut n) = ([0f64; 3], 0f64);
    for p in rgb {
        for k in 0..3 {
            sum[k] += f64::from(p[k]);
        }
        n += 1.0;
    }
    sum.map(|s| s / n)
}

#[test]
fn each_format_from_the_camera_has_its_signature_and_the_pictures_size() {
    let _s = serial();
    let (w, h) = (SIZE.0 as usize, SIZE.1 as usize);
    let jpeg = still(Encoding::JPEG).capture();
    let mut decoder = jpeg_decoder::Decoder::new(&jpeg[..]);
    let pixels = decoder.decode().unwrap();
    let reference = means(pixels.chunks_exact(3).map(|p| [p[0], p[1], p[2]]));

    let png = still(Encoding::from_fourcc(b"PNG ")).capture();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    assert_eq!(
        (u32::from_be_bytes(png[16..20].try_into().unwrap()), u32::from_be_bytes(png[20..24].try_into().unwrap())),
        SIZE
    );
    assert!(png.ends_with(b"IEND\xae\x42\x60\x82"));
    assert!(png.len() < w * h * 3, "deflated: {} bytes", png.len());

    let gif = still(Encoding::from_fourcc(b"GIF ")).capture();
    assert_eq!(&gif[..6], b"GIF89a");
    assert_eq!((le16(&gif, 6), le16(&gif, 8)), SIZE);
    assert!(gif.ends_with(&[0, 0x3B]));

    // The uncompressed ones: their pixels give the JPEG's colours, within
    // the noise of another frame and the JPEG's loss.
    let bmp = still(Encoding::from_fourcc(b"BMP ")).capture();
    assert_eq!(&bmp[..2], b"BM");
    assert_eq!((le32(&bmp, 18), le32(&bmp, 22)), SIZE);
    let row = (w * 3).next_multiple_of(4);
    assert_eq!(bmp.len(), 54 + row * h);
    let bmp_means = means((0..h).flat_map(|y| {
        let line = &bmp[54 + y * row..54 + y * row + w * 3];
        line.chunks_exact(3).map(|p| [p[2], p[1], p[0]]).collect::<Vec<_>>()
    }));

    let ppm = still(Encoding::from_fourcc(b"PPM ")).capture();
    let header = format!("P6\n{w} {h}\n255\n");
    assert!(ppm.starts_with(header.as_bytes()));
    assert_eq!(ppm.len(), header.len() + w * h * 3);
    let ppm_means = means(ppm[header.len()..].chunks_exact(3).map(|p| [p[0], p[1], p[2]]));

    let tga = still(Encoding::from_fourcc(b"TGA ")).capture();
    assert_eq!((tga[2], le16(&tga, 12), le16(&tga, 14), tga[16]), (2, SIZE.0, SIZE.1, 24));
    assert_eq!(tga.len(), 18 + w * h * 3);
    let tga_means = means(tga[18..].chunks_exact(3).map(|p| [p[2], p[1], p[0]]));

    for (name, m) in [("BMP", bmp_means), ("PPM", ppm_means), ("TGA", tga_means)] {
        for k in 0..3 {
            assert!((m[k] - reference[k]).abs() < 3.0, "{name}: channel {k} {:.1}, JPEG {:.1}", m[k], reference[k]);
        }
    }
}

#[test]
fn raw_capture_rides_only_with_a_jpeg() {
    let _s = serial();
    // raspistill -r appends the Bayer block to JPEGs; the firmware's other
    // formats are files of the picture alone.
    let s = still(Encoding::from_fourcc(b"PPM "));
    s.camera.output(2).unwrap().set(&RawCapture(true)).unwrap();
    let ppm = s.capture();
    let (w, h) = (SIZE.0 as usize, SIZE.1 as usize);
    assert_eq!(ppm.len(), format!("P6\n{w} {h}\n255\n").len() + w * h * 3);
    assert!(mmal::raw::find(&ppm).is_err(), "no raw block");
}
