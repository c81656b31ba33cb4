//! `vc.ril.image_encode` in every output format the firmware's encoder
//! lists (JPEG, GIF, PNG, BMP, PPM, TGA), driven through the C API as a
//! client that sends its own pictures: each file is taken apart here from
//! the formats' specifications (the JPEG by `jpeg-decoder`), and the
//! lossless ones must give back the picture sent, pixel for pixel.
//! (Pillow reads them all in the picamerax suite's `test_formats.py`.)

use std::sync::Mutex;
use std::time::{Duration, Instant};

use mmal_sys as sys;

/// One encoder at a time: the output callback gathers into one place.
static SERIAL: Mutex<()> = Mutex::new(());

/// What the output callback gathered: the bytes, and whether the buffer
/// with `FRAME_END` came (and with `EOS`).
static OUTPUT: Mutex<(Vec<u8>, Option<u32>)> = Mutex::new((Vec::new(), None));

unsafe extern "C" fn gather(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    // SAFETY: the header and its payload are handed to the callback until
    // it releases the header.
    unsafe {
        let data = std::slice::from_raw_parts((*b).data.add((*b).offset as usize), (*b).length as usize);
        let mut out = OUTPUT.lock().unwrap();
        out.0.extend_from_slice(data);
        if (*b).flags & sys::MMAL_BUFFER_HEADER_FLAG_FRAME_END != 0 {
            out.1 = Some((*b).flags);
        }
        (mmal_emu::api().buffer_header_release)(b);
    }
}

unsafe extern "C" fn release(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    // SAFETY: the header is handed to the callback.
    unsafe { (mmal_emu::api().buffer_header_release)(b) };
}

/// The buffers: 64x48 (a multiple of the firmware's 32x16 alignment); the
/// picture: the 50x37 crop of it, so BMP rows need padding.
const BUFFER: (u32, u32) = (64, 48);
const PICTURE: (usize, usize) = (50, 37);

/// Every output encoding, as picamera's table of the firmware's lists it.
const FORMATS: [(u32, &str); 6] = [
    (sys::MMAL_ENCODING_JPEG, "JPEG"),
    (sys::MMAL_ENCODING_GIF, "GIF"),
    (sys::MMAL_ENCODING_PNG, "PNG"),
    (sys::MMAL_ENCODING_BMP, "BMP"),
    (sys::MMAL_ENCODING_PPM, "PPM"),
    (sys::MMAL_ENCODING_TGA, "TGA"),
];

/// A picture of many colours: ramps in two channels, a pattern in the
/// third. Packed RGB24, `PICTURE` in size.
fn picture() -> Vec<u8> {
    let (w, h) = PICTURE;
    (0..w * h).flat_map(|i| [(i % w * 5) as u8, (i / w * 7) as u8, ((i * 37) % 256) as u8]).collect()
}

/// The encoder's output for `data` (a frame of `encoding` at `BUFFER`
/// size cropped to `PICTURE`) in `output`; `Err` with the status of the
/// output's format commit.
fn encode(encoding: u32, data: &[u8], output: u32) -> Result<Vec<u8>, sys::MMAL_STATUS_T> {
    if std::env::var_os("VIDEOCORE").is_none() {
        std::env::set_var("VIDEOCORE", "emulated");
    }
    let api = mmal_emu::api();
    *OUTPUT.lock().unwrap() = (Vec::new(), None);
    let mut c = std::ptr::null_mut();
    // SAFETY: every pointer comes from the live component and its pools,
    // used as a C client would; all is disabled and released at the end.
    unsafe {
        assert_eq!((api.component_create)(c"vc.ril.image_encode".as_ptr(), &mut c), sys::MMAL_SUCCESS);
        let (input, out) = (*(*c).input, *(*c).output);
        let format = (*input).format;
        (*format).encoding = encoding;
        (*(*format).es).video.width = BUFFER.0;
        (*(*format).es).video.height = BUFFER.1;
        (*(*format).es).video.crop = sys::MMAL_RECT_T { x: 0, y: 0, width: PICTURE.0 as i32, height: PICTURE.1 as i32 };
        assert_eq!((api.port_format_commit)(input), sys::MMAL_SUCCESS);
        (*(*out).format).encoding = output;
        let status = (api.port_format_commit)(out);
        if status != sys::MMAL_SUCCESS {
            assert_eq!((api.component_release)(c), sys::MMAL_SUCCESS);
            return Err(status);
        }
        (*out).buffer_num = (*out).buffer_num_recommended;
        (*out).buffer_size = (*out).buffer_size_recommended;
        let out_pool = (api.port_pool_create)(out, (*out).buffer_num, (*out).buffer_size);
        let in_pool = (api.port_pool_create)(input, 1, (*input).buffer_size_min);
        assert!(!out_pool.is_null() && !in_pool.is_null());
        assert_eq!((api.port_enable)(out, Some(gather)), sys::MMAL_SUCCESS);
        assert_eq!((api.port_enable)(input, Some(release)), sys::MMAL_SUCCESS);
        assert_eq!((api.component_enable)(c), sys::MMAL_SUCCESS);
        let b = (api.queue_get)((*in_pool).queue);
        assert!(data.len() <= (*b).alloc_size as usize);
        std::ptr::copy_nonoverlapping(data.as_ptr(), (*b).data, data.len());
        (*b).length = data.len() as u32;
        (*b).flags = sys::MMAL_BUFFER_HEADER_FLAG_FRAME_END;
        assert_eq!((api.port_send_buffer)(input, b), sys::MMAL_SUCCESS);
        // Output buffers back to the port as the callback frees them, until
        // the last part.
        let deadline = Instant::now() + Duration::from_secs(30);
        while OUTPUT.lock().unwrap().1.is_none() {
            assert!(Instant::now() < deadline, "no FRAME_END within 30 s");
            loop {
                let b = (api.queue_get)((*out_pool).queue);
                if b.is_null() {
                    break;
                }
                assert_eq!((api.port_send_buffer)(out, b), sys::MMAL_SUCCESS);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!((api.component_disable)(c), sys::MMAL_SUCCESS);
        assert_eq!((api.port_disable)(input), sys::MMAL_SUCCESS);
        assert_eq!((api.port_disable)(out), sys::MMAL_SUCCESS);
        (api.port_pool_destroy)(input, in_pool);
        (api.port_pool_destroy)(out, out_pool);
        assert_eq!((api.component_release)(c), sys::MMAL_SUCCESS);
    }
    let (bytes, flags) = std::mem::take(&mut *OUTPUT.lock().unwrap());
    assert_ne!(flags.unwrap() & sys::MMAL_BUFFER_HEADER_FLAG_EOS, 0, "EOS with FRAME_END, as a still ends");
    Ok(bytes)
}

/// The packed picture in an RGB24 frame of `BUFFER` size.
fn rgb24_frame(rgb: &[u8]) -> Vec<u8> {
    let stride = BUFFER.0 as usize * 3;
    let mut frame = vec![0u8; stride * BUFFER.1 as usize];
    for (y, row) in rgb.chunks_exact(PICTURE.0 * 3).enumerate() {
        frame[y * stride..y * stride + row.len()].copy_from_slice(row);
    }
    frame
}

fn u16_le(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

fn u32_le(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

fn u32_be(b: &[u8], at: usize) -> usize {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

/// Binary PPM: `P6`, width, height, 255, one whitespace, the samples.
fn read_ppm(file: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while file[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !file[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(std::str::from_utf8(&file[start..at]).unwrap().to_owned());
    }
    assert_eq!((fields[0].as_str(), fields[3].as_str()), ("P6", "255"));
    (fields[1].parse().unwrap(), fields[2].parse().unwrap(), file[at + 1..].to_vec())
}

/// BMP: `BM`, the pixels' offset, a BITMAPINFOHEADER; 24-bit BGR rows
/// padded to 4 bytes, bottom-up when the height is positive.
fn read_bmp(file: &[u8]) -> (usize, usize, Vec<u8>) {
    assert_eq!(&file[..2], b"BM");
    assert_eq!(u32_le(file, 2), file.len(), "the file size field");
    let (offset, header) = (u32_le(file, 10), u32_le(file, 14));
    assert!(header >= 40);
    let (w, h) =
        (i32::from_le_bytes(file[18..22].try_into().unwrap()), i32::from_le_bytes(file[22..26].try_into().unwrap()));
    assert_eq!((u16_le(file, 26), u16_le(file, 28), u32_le(file, 30)), (1, 24, 0), "planes, bits, BI_RGB");
    let (w, h_abs) = (w as usize, h.unsigned_abs() as usize);
    let row = (w * 3).next_multiple_of(4);
    assert_eq!(file.len(), offset + row * h_abs);
    let mut rgb = Vec::new();
    for y in 0..h_abs {
        let stored = if h > 0 { h_abs - 1 - y } else { y };
        let line = &file[offset + stored * row..offset + stored * row + w * 3];
        rgb.extend(line.chunks_exact(3).flat_map(|p| [p[2], p[1], p[0]]));
    }
    (w, h_abs, rgb)
}

/// TGA: type 2 (uncompressed true colour), 24 bits of BGR, rows top-down
/// when the descriptor's bit 5 is set.
fn read_tga(file: &[u8]) -> (usize, usize, Vec<u8>) {
    let id = usize::from(file[0]);
    assert_eq!((file[1], file[2], file[16]), (0, 2, 24), "no colour map, true colour, 24 bits");
    let (w, h) = (u16_le(file, 12), u16_le(file, 14));
    let pixels = &file[18 + id..18 + id + w * h * 3];
    let mut rows: Vec<&[u8]> = pixels.chunks_exact(w * 3).collect();
    if file[17] & 0x20 == 0 {
        rows.reverse();
    }
    assert_eq!(file[17] & 0x10, 0, "left to right");
    (w, h, rows.concat().chunks_exact(3).flat_map(|p| [p[2], p[1], p[0]]).collect())
}

/// PNG: signature, chunks (IHDR first, IDATs, IEND last), 8-bit RGB; the
/// IDAT data inflated and unfiltered (specification, sections 9 and 10).
fn read_png(file: &[u8]) -> (usize, usize, Vec<u8>) {
    assert_eq!(&file[..8], b"\x89PNG\r\n\x1a\n");
    let (mut at, mut ihdr, mut idat, mut ended) = (8, None, Vec::new(), false);
    while at < file.len() {
        let len = u32_be(file, at);
        let (kind, data) = (&file[at + 4..at + 8], &file[at + 8..at + 8 + len]);
        match kind {
            b"IHDR" => ihdr = Some(data.to_vec()),
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => ended = true,
            _ => {}
        }
        at += 12 + len;
    }
    assert!(ended && at == file.len(), "IEND last");
    let ihdr = ihdr.unwrap();
    let (w, h) = (u32_be(&ihdr, 0), u32_be(&ihdr, 4));
    assert_eq!(&ihdr[8..], &[8, 2, 0, 0, 0], "8-bit RGB, deflate, adaptive filters, not interlaced");
    let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&idat).expect("a zlib stream");
    let line = w * 3;
    assert_eq!(raw.len(), h * (line + 1));
    let mut rgb: Vec<u8> = Vec::with_capacity(w * h * 3);
    for (y, row) in raw.chunks_exact(line + 1).enumerate() {
        let start = rgb.len();
        for i in 0..line {
            let a = if i >= 3 { i32::from(rgb[start + i - 3]) } else { 0 };
            let b = if y > 0 { i32::from(rgb[start - line + i]) } else { 0 };
            let c = if y > 0 && i >= 3 { i32::from(rgb[start - line + i - 3]) } else { 0 };
            let predicted = match row[0] {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("filter type {f}"),
            };
            rgb.push((i32::from(row[1 + i]) + predicted) as u8);
        }
    }
    (w, h, rgb)
}

/// GIF: the screen and the one image's sizes, the global palette; the
/// pixels are for Pillow (`test_formats.py`).
fn read_gif_header(file: &[u8]) -> (usize, usize, Vec<[u8; 3]>) {
    assert_eq!(&file[..6], b"GIF89a");
    let (w, h) = (u16_le(file, 6), u16_le(file, 8));
    assert_eq!(file[10] & 0x80, 0x80, "a global colour table");
    let entries = 2usize << (file[10] & 7);
    let palette: Vec<[u8; 3]> = file[13..13 + 3 * entries].chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
    let image = 13 + 3 * entries;
    assert_eq!(file[image], 0x2C, "the image descriptor");
    assert_eq!((u16_le(file, image + 5), u16_le(file, image + 7)), (w, h));
    // The data's sub-blocks, then the trailer.
    let mut at = image + 10;
    assert!((2..=8).contains(&file[at]), "LZW minimum code size");
    at += 1;
    while file[at] != 0 {
        at += 1 + usize::from(file[at]);
    }
    assert_eq!(&file[at..], &[0, 0x3B]);
    (w, h, palette)
}

#[test]
fn every_format_the_firmware_lists_is_offered_and_accepted() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rgb = picture();
    let frame = rgb24_frame(&rgb);
    for (encoding, name) in FORMATS {
        let file = encode(sys::MMAL_ENCODING_RGB24, &frame, encoding)
            .unwrap_or_else(|status| panic!("the output's format commit of {name} answered {status}"));
        assert!(!file.is_empty(), "{name}");
    }
    // What the output port lists: these six, in the firmware's order.
    let api = mmal_emu::api();
    let mut c = std::ptr::null_mut();
    // SAFETY: the component is live until released at the end; the
    // parameter is read into a buffer of the size its header gives.
    unsafe {
        assert_eq!((api.component_create)(c"vc.ril.image_encode".as_ptr(), &mut c), sys::MMAL_SUCCESS);
        let mut p = [0u32; 2 + 16];
        p[0] = sys::MMAL_PARAMETER_SUPPORTED_ENCODINGS;
        p[1] = std::mem::size_of_val(&p) as u32;
        assert_eq!((api.port_parameter_get)(*(*c).output, p.as_mut_ptr().cast()), sys::MMAL_SUCCESS);
        let n = (p[1] as usize - 8) / 4;
        assert_eq!(&p[2..2 + n], FORMATS.map(|(e, _)| e).as_slice());
        assert_eq!((api.component_release)(c), sys::MMAL_SUCCESS);
    }
    // Still refused: an encoding the image encoder does not write.
    assert_eq!(encode(sys::MMAL_ENCODING_RGB24, &frame, sys::MMAL_ENCODING_H264), Err(sys::MMAL_EINVAL));
}

#[test]
fn lossless_formats_give_back_the_picture_sent() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rgb = picture();
    let frame = rgb24_frame(&rgb);
    type Reader = fn(&[u8]) -> (usize, usize, Vec<u8>);
    let readers: [(u32, &str, Reader); 4] = [
        (sys::MMAL_ENCODING_PNG, "PNG", read_png),
        (sys::MMAL_ENCODING_BMP, "BMP", read_bmp),
        (sys::MMAL_ENCODING_PPM, "PPM", read_ppm),
        (sys::MMAL_ENCODING_TGA, "TGA", read_tga),
    ];
    for (encoding, name, read) in readers {
        let file = encode(sys::MMAL_ENCODING_RGB24, &frame, encoding).unwrap();
        let (w, h, pixels) = read(&file);
        assert_eq!((w, h), PICTURE, "{name}: the picture's size, not the buffer's");
        assert!(pixels == rgb, "{name}: not the picture sent");
    }
    // The picture has more than 256 colours: the GIF's palette is full,
    // and the file has the picture's size.
    let gif = encode(sys::MMAL_ENCODING_RGB24, &frame, sys::MMAL_ENCODING_GIF).unwrap();
    let (w, h, palette) = read_gif_header(&gif);
    assert_eq!((w, h), PICTURE);
    assert_eq!(palette.len(), 256);
    // PNG compresses: a flat picture is far smaller than its samples.
    let flat = encode(sys::MMAL_ENCODING_RGB24, &vec![100; frame.len()], sys::MMAL_ENCODING_PNG).unwrap();
    assert!(flat.len() < PICTURE.0 * PICTURE.1 / 4, "{} bytes", flat.len());
    assert_eq!(read_png(&flat).2, vec![100; rgb.len()]);
}

#[test]
fn every_format_has_the_colours_the_jpeg_has() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // An I420 frame of smooth colour: converted once to RGB for every
    // format, so the lossless ones agree exactly and the JPEG nearly.
    let (stride, rows) = (BUFFER.0 as usize, BUFFER.1 as usize);
    let mut i420 = vec![0u8; stride * rows * 3 / 2];
    for y in 0..rows {
        for x in 0..stride {
            i420[y * stride + x] = (40 + x * 2 + y) as u8;
        }
    }
    let (chroma, half) = (stride * rows, stride / 2);
    for y in 0..rows / 2 {
        for x in 0..half {
            i420[chroma + y * half + x] = (90 + x * 3) as u8;
            i420[chroma + chroma / 4 + y * half + x] = (170 - y * 2) as u8;
        }
    }
    let (_, _, png) = read_png(&encode(sys::MMAL_ENCODING_I420, &i420, sys::MMAL_ENCODING_PNG).unwrap());
    for (encoding, read) in [(sys::MMAL_ENCODING_BMP, read_bmp as fn(&[u8]) -> _), (sys::MMAL_ENCODING_TGA, read_tga)] {
        assert!(read(&encode(sys::MMAL_ENCODING_I420, &i420, encoding).unwrap()).2 == png);
    }
    let jpeg = encode(sys::MMAL_ENCODING_I420, &i420, sys::MMAL_ENCODING_JPEG).unwrap();
    let mut decoder = jpeg_decoder::Decoder::new(&jpeg[..]);
    let decoded = decoder.decode().unwrap();
    let info = decoder.info().unwrap();
    assert_eq!((usize::from(info.width), usize::from(info.height)), PICTURE);
    let mean_error = png.iter().zip(&decoded).map(|(&a, &b)| (i32::from(a) - i32::from(b)).unsigned_abs()).sum::<u32>()
        as f64
        / png.len() as f64;
    assert!(mean_error < 3.0, "JPEG and PNG differ by {mean_error:.2} a sample");
    // The GIF's palette holds the picture's colours within a small error.
    let gif = encode(sys::MMAL_ENCODING_I420, &i420, sys::MMAL_ENCODING_GIF).unwrap();
    let (_, _, palette) = read_gif_header(&gif);
    let worst = png
        .chunks_exact(3)
        .map(|p| {
            palette
                .iter()
                .map(|e| (0..3).map(|k| (i32::from(e[k]) - i32::from(p[k])).abs()).max().unwrap())
                .min()
                .unwrap()
        })
        .max()
        .unwrap();
    assert!(worst <= 16, "a colour {worst} from its nearest palette entry");
}
