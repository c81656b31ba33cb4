//! Raw Bayer data as the Pi's camera appends it to a JPEG: with raw capture
//! on (`params::RawCapture`, `raspistill -r`, picamera's `bayer=True`) the
//! last bytes of the file are a block that starts with `BRCM`: a 32768-byte
//! header, then the sensor's pixels packed as RAW10 or RAW12, row by row,
//! padded. This module finds the block, reads its header, unpacks the
//! pixels to 16 bits and splits them into the four Bayer planes (R, Gr, Gb,
//! B, the order a lens shading table wants).
//!
//! ```
//! # fn block() -> Vec<u8> { mmal::raw::test_block(8, 4) }
//! let jpeg_and_raw: Vec<u8> = block(); // a file from raspistill -r
//! let raw = mmal::raw::RawImage::parse(&jpeg_and_raw)?;
//! let header = raw.header();
//! println!("{}x{} {:?} {}-bit", header.width, header.height, header.bayer_order, header.bit_depth);
//! let planes = raw.planes();
//! assert_eq!(planes.r.dim(), (header.height as usize / 2, header.width as usize / 2));
//! # Ok::<(), mmal::Error>(())
//! ```

use mmal_sys::raw::{self as brcm, at};
use vcsm::ndarray::{s, Array2};

use crate::error::{Error, Result};

/// The block's tag.
pub const TAG: &[u8; 4] = brcm::TAG;

/// Bytes of header before the pixels (where the header does not say).
pub const HEADER_SIZE: usize = brcm::HEADER_SIZE;

/// The `format` value of a Bayer image.
const FORMAT_BAYER: u16 = brcm::FORMAT_BAYER;

/// The colour of the top-left 2x2 cell, row by row: `Rggb` is R G / G B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BayerOrder {
    /// R G / G B.
    Rggb = brcm::BAYER_ORDER_RGGB as isize,
    /// G B / R G.
    Gbrg = brcm::BAYER_ORDER_GBRG as isize,
    /// B G / G R.
    Bggr = brcm::BAYER_ORDER_BGGR as isize,
    /// G R / B G.
    Grbg = brcm::BAYER_ORDER_GRBG as isize,
}

impl BayerOrder {
    /// From the header's `bayer_order` byte (0 RGGB, 1 GBRG, 2 BGGR, 3 GRBG).
    pub fn from_raw(value: u8) -> Option<BayerOrder> {
        Some(match value {
            brcm::BAYER_ORDER_RGGB => BayerOrder::Rggb,
            brcm::BAYER_ORDER_GBRG => BayerOrder::Gbrg,
            brcm::BAYER_ORDER_BGGR => BayerOrder::Bggr,
            brcm::BAYER_ORDER_GRBG => BayerOrder::Grbg,
            _ => return None,
        })
    }

    /// The header's byte.
    pub fn to_raw(self) -> u8 {
        self as u8
    }

    /// Where R, Gr (the green on red rows), Gb and B sit in a 2x2 cell, as
    /// (row, column).
    pub fn positions(self) -> [(usize, usize); 4] {
        match self {
            BayerOrder::Rggb => [(0, 0), (0, 1), (1, 0), (1, 1)],
            BayerOrder::Gbrg => [(1, 0), (1, 1), (0, 0), (0, 1)],
            BayerOrder::Bggr => [(1, 1), (1, 0), (0, 1), (0, 0)],
            BayerOrder::Grbg => [(0, 1), (0, 0), (1, 1), (1, 0)],
        }
    }
}

/// What the `BRCM` header says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RawHeader {
    /// Header version.
    pub version: u32,
    /// The sensor mode's name.
    pub mode_name: String,
    /// Pixels per row with picture.
    pub width: u16,
    /// Rows with picture.
    pub height: u16,
    /// Padding pixels after each row's picture.
    pub padding_right: u16,
    /// Padding rows after the picture.
    pub padding_down: u16,
    /// The sensor's transform (flips): a lens shading table's
    /// `ref_transform`.
    pub transform: u16,
    /// The image format (33: Bayer).
    pub format: u16,
    /// The colour order of the top-left cell.
    pub bayer_order: BayerOrder,
    /// Bits per pixel: 10 (RAW10) or 12 (RAW12).
    pub bit_depth: u8,
    /// Where the pixels start, from the tag.
    pub data_offset: usize,
    /// Bytes per stored row.
    pub stride: usize,
    /// Stored rows.
    pub rows: usize,
}

impl RawHeader {
    /// Reads the header at the start of `block` (which starts with the tag);
    /// the pixel geometry comes from the header and, where the sensor pads
    /// otherwise, from the block's size.
    pub fn parse(block: &[u8]) -> Result<RawHeader> {
        let fields = brcm::Fields::read(block).ok_or(Error::RawTruncated { needed: at::END, have: block.len() })?;
        let name = String::from_utf8_lossy(fields.name()).into_owned();
        let format = fields.format;
        if format != FORMAT_BAYER {
            return Err(Error::RawFormat(format!("image format {format}, not Bayer ({FORMAT_BAYER})")));
        }
        let order = fields.bayer_order;
        let bayer_order =
            BayerOrder::from_raw(order).ok_or_else(|| Error::RawFormat(format!("unknown Bayer order {order}")))?;
        let bit_depth = match brcm::bit_depth(fields.bayer_format) {
            Some(bits) => bits,
            None => {
                let other = fields.bayer_format;
                return Err(Error::RawFormat(format!("unknown Bayer packing {other} (3 is RAW10, 4 RAW12)")));
            }
        };
        let (width, height) = (fields.width, fields.height);
        let (padding_right, padding_down) = (fields.padding_right, fields.padding_down);
        if width == 0 || height == 0 || width % 2 != 0 || height % 2 != 0 {
            return Err(Error::RawFormat(format!("a {width}x{height} picture")));
        }
        let data_offset = match fields.data_offset as usize {
            0 => HEADER_SIZE,
            o if o >= at::END => o,
            o => return Err(Error::RawFormat(format!("pixels at offset {o}, inside the header"))),
        };
        let mut stride = brcm::stride(width, padding_right, bit_depth);
        let rows = brcm::rows(height, padding_down);
        // Some modes pad their rows otherwise: the block's size says how.
        let stored = block.len().saturating_sub(data_offset);
        let min_stride = brcm::packed_len(u32::from(width), bit_depth);
        // Checked: on a 32-bit target a crafted header's rows (up to 128 Ki
        // of up to 192 KiB) do not fit in `usize`.
        if brcm::block_len(data_offset, stride, rows).is_none() {
            return Err(Error::RawFormat(format!(
                "a {width}x{height} picture (+{padding_right}x{padding_down} padding) at offset {data_offset}: \
                 too large to address"
            )));
        }
        if stored != stride * rows && stored % rows == 0 && stored / rows >= min_stride {
            stride = stored / rows;
        }
        Ok(RawHeader {
            version: fields.version,
            mode_name: name,
            width,
            height,
            padding_right,
            padding_down,
            transform: fields.transform,
            format,
            bayer_order,
            bit_depth,
            data_offset,
            stride,
            rows,
        })
    }

    /// Bytes of the whole block: header and stored rows. `usize::MAX` for
    /// a header whose block could not be addressed (which
    /// [`parse`](Self::parse) refuses).
    pub fn block_len(&self) -> usize {
        self.checked_block_len().unwrap_or(usize::MAX)
    }

    /// Bytes of the whole block, if they can be addressed.
    fn checked_block_len(&self) -> Option<usize> {
        brcm::block_len(self.data_offset, self.stride, self.rows)
    }
}

/// The four Bayer planes, each half the picture's width and height.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BayerPlanes {
    /// Red.
    pub r: Array2<u16>,
    /// Green on red rows.
    pub gr: Array2<u16>,
    /// Green on blue rows.
    pub gb: Array2<u16>,
    /// Blue.
    pub b: Array2<u16>,
}

/// A raw Bayer picture: its header and its pixels, unpacked.
#[derive(Debug, Clone)]
pub struct RawImage {
    header: RawHeader,
    pixels: Array2<u16>,
}

/// Where the `BRCM` block starts in `data`: a JPEG with raw appended (the
/// block is its last bytes) or a bare raw file (it starts there).
///
/// # Errors
///
/// [`Error::NoRawData`] if there is none; [`Error::RawTruncated`] if the
/// last one found is cut short.
pub fn find(data: &[u8]) -> Result<usize> {
    let mut closest = None;
    // From the end: a JPEG's bytes may contain the tag by chance, the
    // block (at the end) is the one whose size reaches the end exactly.
    // Otherwise the last tag with a header says what is wrong.
    let mut end = data.len();
    while let Some(pos) = data[..end].windows(4).rposition(|w| w == TAG) {
        match RawHeader::parse(&data[pos..]) {
            Ok(header) => {
                let needed = header.block_len();
                let have = data.len() - pos;
                if have == needed {
                    return Ok(pos);
                }
                if have < needed && closest.is_none() {
                    closest = Some(Error::RawTruncated { needed, have });
                }
            }
            Err(e @ Error::RawFormat(_)) if closest.is_none() => closest = Some(e),
            Err(_) => {}
        }
        end = pos + 3;
        if pos == 0 {
            break;
        }
    }
    Err(closest.unwrap_or(Error::NoRawData { len: data.len() }))
}

impl RawImage {
    /// Finds the raw block in `data` (a JPEG with raw, or a bare raw file)
    /// and unpacks its pixels.
    ///
    /// # Errors
    ///
    /// [`Error::NoRawData`] for data without a raw block (a JPEG captured
    /// without raw); [`Error::RawTruncated`] for a block cut short;
    /// [`Error::RawFormat`] for a format other than RAW10 or RAW12 Bayer.
    pub fn parse(data: &[u8]) -> Result<RawImage> {
        let start = find(data)?;
        let block = &data[start..];
        let header = RawHeader::parse(block)?;
        let pixels = unpack(&header, &block[header.data_offset..])?;
        Ok(RawImage { header, pixels })
    }

    /// The header.
    pub fn header(&self) -> &RawHeader {
        &self.header
    }

    /// The picture's pixels (`height × width`, padding left out), at the
    /// sensor's bit depth.
    pub fn pixels(&self) -> &Array2<u16> {
        &self.pixels
    }

    /// The picture split by colour, by the header's Bayer order.
    pub fn planes(&self) -> BayerPlanes {
        let [r, gr, gb, b] = self
            .header
            .bayer_order
            .positions()
            .map(|(row, col)| self.pixels.slice(s![row as isize..;2, col as isize..;2]).to_owned());
        BayerPlanes { r, gr, gb, b }
    }
}

/// Unpacks the stored rows of `data` into `height × width` pixels.
fn unpack(header: &RawHeader, data: &[u8]) -> Result<Array2<u16>> {
    let (w, h) = (usize::from(header.width), usize::from(header.height));
    let needed =
        header.checked_block_len().ok_or_else(|| Error::RawFormat(String::from("a block too large to address")))?;
    let have = header.data_offset.saturating_add(data.len());
    if have < needed || header.rows < h {
        return Err(Error::RawTruncated { needed, have });
    }
    let mut pixels = Array2::<u16>::zeros((h, w));
    for (y, mut row_out) in pixels.rows_mut().into_iter().enumerate() {
        let row = &data[y * header.stride..(y + 1) * header.stride];
        let out = row_out.as_slice_mut().expect("a standard-layout array's rows are contiguous");
        brcm::unpack_row(header.bit_depth, row, out);
    }
    Ok(pixels)
}

/// Packs `pixels` (`height × width`, 10 or 12 bits) into a `BRCM` block
/// with `header`'s fields, as the camera writes one (the header's
/// geometry is taken from `pixels` and its padding fields).
///
/// # Errors
///
/// [`Error::RawFormat`] if `header`'s rows cannot hold `pixels` (too few,
/// too short, pixels starting inside the header, a picture wider or taller
/// than a header can say) or its block is too large to address.
pub fn pack(header: &RawHeader, pixels: &Array2<u16>) -> Result<Vec<u8>> {
    let (h, w) = pixels.dim();
    let fits = u16::try_from(w).is_ok()
        && u16::try_from(h).is_ok()
        && header.rows >= h
        // Whole groups: a RAW10 row of 6 pixels packs into two of five
        // bytes. (`w` fits in a `u16` here.)
        && header.stride >= brcm::packed_len(w.div_ceil(4) as u32 * 4, header.bit_depth)
        && header.data_offset >= at::END;
    if !fits {
        return Err(Error::RawFormat(format!(
            "{w}x{h} pixels do not fit {} rows of {} bytes at offset {}",
            header.rows, header.stride, header.data_offset
        )));
    }
    let len =
        header.checked_block_len().ok_or_else(|| Error::RawFormat(String::from("a block too large to address")))?;
    let mut block = Vec::new();
    block.try_reserve_exact(len).map_err(|e| Error::RawFormat(format!("a block of {len} bytes: {e}")))?;
    block.resize(len, 0u8);
    let fields = brcm::Fields {
        version: header.version,
        data_offset: header.data_offset as u32,
        name: brcm::Fields::name_field(header.mode_name.as_bytes()),
        width: w as u16,
        height: h as u16,
        padding_right: header.padding_right,
        padding_down: header.padding_down,
        transform: header.transform,
        format: FORMAT_BAYER,
        bayer_order: header.bayer_order.to_raw(),
        bayer_format: brcm::bayer_format(header.bit_depth),
    };
    fields.write(&mut block).map_err(|e| Error::RawFormat(format!("a block of {} bytes: too short", e.have)))?;
    let data = &mut block[header.data_offset..];
    for (y, row_in) in pixels.rows().into_iter().enumerate() {
        let row = &mut data[y * header.stride..(y + 1) * header.stride];
        match row_in.as_slice() {
            Some(px) => brcm::pack_row(header.bit_depth, px, row),
            None => brcm::pack_row(header.bit_depth, &row_in.iter().copied().collect::<Vec<u16>>(), row),
        }
    }
    Ok(block)
}

/// A header for a `width × height` picture in `order`, `bit_depth` bits,
/// laid out as the Pi's camera stores one: rows padded to 32 bytes, and at
/// least one padding row, then to a multiple of 16 (IMX219 3280x2464:
/// 4128 bytes by 2480 rows).
pub fn header_for(width: u16, height: u16, order: BayerOrder, bit_depth: u8, mode_name: &str) -> RawHeader {
    let stride = brcm::stride(width, 0, bit_depth);
    let rows = brcm::camera_rows(height);
    RawHeader {
        version: 1,
        mode_name: mode_name.to_owned(),
        width,
        height,
        padding_right: 0,
        padding_down: (rows - usize::from(height)) as u16,
        transform: 0,
        format: FORMAT_BAYER,
        bayer_order: order,
        bit_depth,
        data_offset: HEADER_SIZE,
        stride,
        rows,
    }
}

/// A small RAW10 RGGB block of a gradient, for examples.
#[doc(hidden)]
pub fn test_block(width: u16, height: u16) -> Vec<u8> {
    let header = header_for(width, height, BayerOrder::Rggb, 10, "test");
    let pixels =
        Array2::from_shape_fn((usize::from(height), usize::from(width)), |(y, x)| (100 + (y * 4 + x * 2) % 900) as u16);
    pack(&header, &pixels).expect("a header made for these pixels")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixels(w: usize, h: usize, bits: u32) -> Array2<u16> {
        // Asymmetric values: a packing that swaps pixels or bit pairs fails.
        Array2::from_shape_fn((h, w), |(y, x)| ((y * 131 + x * 17 + (x % 4) * 3 + 1) % (1 << bits)) as u16)
    }

    #[test]
    fn raw10_packing_puts_pixel_a_in_the_low_bits() {
        let header = header_for(4, 2, BayerOrder::Rggb, 10, "t");
        let px =
            Array2::from_shape_vec((2, 4), vec![0b11_1111_1101, 0b10, 0b01_0000_0011, 0b1000, 4, 5, 6, 7]).unwrap();
        let block = pack(&header, &px).unwrap();
        let row = &block[HEADER_SIZE..HEADER_SIZE + 5];
        // High bytes of A..D, then DDCCBBAA.
        assert_eq!(row, &[0b1111_1111, 0b0000_0000, 0b0100_0000, 0b0000_0010, 0b00_11_10_01]);
        let raw = RawImage::parse(&block).unwrap();
        assert_eq!(raw.pixels(), &px);
    }

    #[test]
    fn raw12_packing_puts_the_first_pixel_in_the_low_nibble() {
        let header = header_for(2, 2, BayerOrder::Rggb, 12, "t");
        let px = Array2::from_shape_vec((2, 2), vec![0xABC, 0x123, 0, 0]).unwrap();
        let block = pack(&header, &px).unwrap();
        assert_eq!(&block[HEADER_SIZE..HEADER_SIZE + 3], &[0xAB, 0x12, 0x3C]);
        assert_eq!(RawImage::parse(&block).unwrap().pixels(), &px);
    }

    #[test]
    fn round_trips_behind_a_jpeg_that_contains_the_tag() {
        for bits in [10u8, 12] {
            let header = header_for(64, 48, BayerOrder::Gbrg, bits, "mode");
            let px = pixels(64, 48, u32::from(bits));
            let mut file = vec![0xFF, 0xD8];
            file.extend_from_slice(b"....BRCM....BRCM..");
            file.extend_from_slice(&[0xFF, 0xD9]);
            let jpeg_len = file.len();
            file.extend_from_slice(&pack(&header, &px).unwrap());
            assert_eq!(find(&file).unwrap(), jpeg_len);
            let raw = RawImage::parse(&file).unwrap();
            assert_eq!(raw.pixels(), &px);
            assert_eq!(raw.header().bayer_order, BayerOrder::Gbrg);
            assert_eq!(raw.header().bit_depth, bits);
            assert_eq!(raw.header().mode_name, "mode");
        }
    }

    #[test]
    fn planes_follow_the_bayer_order() {
        // A 2x2 picture whose four pixels say which colour they are.
        let [r, gr, gb, b] = [100u16, 200, 300, 400];
        for order in [BayerOrder::Rggb, BayerOrder::Gbrg, BayerOrder::Bggr, BayerOrder::Grbg] {
            let mut px = Array2::zeros((2, 2));
            for (value, (row, col)) in [r, gr, gb, b].into_iter().zip(order.positions()) {
                px[[row, col]] = value;
            }
            let raw = RawImage::parse(&pack(&header_for(2, 2, order, 10, "t"), &px).unwrap()).unwrap();
            let planes = raw.planes();
            assert_eq!((planes.r[[0, 0]], planes.gr[[0, 0]], planes.gb[[0, 0]], planes.b[[0, 0]]), (r, gr, gb, b));
        }
        // Red is where the order says: RGGB top-left, BGGR bottom-right.
        assert_eq!(BayerOrder::Rggb.positions()[0], (0, 0));
        assert_eq!(BayerOrder::Bggr.positions()[0], (1, 1));
    }

    #[test]
    fn clear_errors() {
        assert!(matches!(RawImage::parse(&[0xFF, 0xD8, 0xFF, 0xD9]), Err(Error::NoRawData { len: 4 })));
        let block = test_block(16, 16);
        let cut = &block[..block.len() - 100];
        let e = RawImage::parse(cut).unwrap_err();
        assert!(matches!(e, Error::RawTruncated { .. }), "{e}");
        let mut odd = block.clone();
        odd[at::BAYER_FORMAT] = 9;
        let e = RawImage::parse(&odd).unwrap_err();
        assert!(e.to_string().contains("unknown Bayer packing 9"), "{e}");
        assert!(Error::NoRawData { len: 1 }.to_string().contains("raspistill -r"));
    }

    #[test]
    fn the_stride_follows_the_pi_formula() {
        // IMX219 full resolution: 4128 bytes per row, 2480 rows.
        let h = header_for(3280, 2464, BayerOrder::Bggr, 10, "imx219");
        assert_eq!((h.stride, h.rows), (4128, 2480));
        let h = header_for(2592, 1944, BayerOrder::Gbrg, 10, "ov5647");
        assert_eq!((h.stride, h.rows), (3264, 1952));
        let h = header_for(4056, 3040, BayerOrder::Bggr, 12, "imx477");
        assert_eq!((h.stride, h.rows), (6112, 3056));
        // The raw tails a Pi appends at full resolution (header and data).
        for ((w, hgt, bits), tail) in
            [((2592, 1944, 10), 6404096), ((3280, 2464, 10), 10270208), ((4056, 3040, 12), 18711040)]
        {
            assert_eq!(header_for(w, hgt, BayerOrder::Rggb, bits, "").block_len(), tail, "{w}x{hgt}");
        }
    }

    /// A crafted header: the largest geometry a block can say. Its rows do
    /// not fit in a 32-bit `usize`, where the size once overflowed (a panic
    /// in a debug build, a wrong size in a release one): a clear error
    /// everywhere.
    #[test]
    fn a_crafted_header_too_large_to_address_is_an_error() {
        let mut block = test_block(16, 16);
        block.truncate(HEADER_SIZE);
        for (field, value) in
            [(at::WIDTH, 65534u16), (at::HEIGHT, 65534), (at::PADDING_RIGHT, 65535), (at::PADDING_DOWN, 65535)]
        {
            block[field..field + 2].copy_from_slice(&value.to_le_bytes());
        }
        block[at::BAYER_FORMAT] = 4;
        block[at::DATA_OFFSET..at::DATA_OFFSET + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = RawImage::parse(&block).unwrap_err();
        assert!(matches!(e, Error::RawTruncated { .. } | Error::RawFormat(_)), "{e}");
        assert!(find(&block).is_err());
        // A header with fields set by hand: sizes saturate, packing refuses.
        let mut header = header_for(16, 16, BayerOrder::Rggb, 10, "t");
        header.stride = usize::MAX / 2 + 1;
        assert_eq!(header.block_len(), usize::MAX);
        let e = pack(&header, &pixels(16, 16, 10)).unwrap_err();
        assert!(e.to_string().contains("too large"), "{e}");
        // and rows that cannot hold the pixels.
        let header = header_for(16, 16, BayerOrder::Rggb, 10, "t");
        let e = pack(&header, &pixels(64, 16, 10)).unwrap_err();
        assert!(matches!(e, Error::RawFormat(_)), "{e}");
        let e = pack(&header, &pixels(16, 64, 10)).unwrap_err();
        assert!(matches!(e, Error::RawFormat(_)), "{e}");
    }
}
