//! The `BRCM` raw block: the Bayer data the Pi's camera appends to a JPEG
//! with raw capture on (`MMAL_PARAMETER_ENABLE_RAW_CAPTURE`). Not a C type:
//! a byte layout, written here once for the `mmal` client, which reads
//! blocks, and the software VideoCore, which writes them.
//!
//! A block is a header of [`HEADER_SIZE`] bytes (its fields at the offsets
//! in [`at`], little-endian), then the sensor's rows, each `stride` bytes:
//! RAW10 packs four pixels in five bytes (their high eight bits, then one
//! byte of their low two bits, the first pixel's in bits 1:0), RAW12 two in
//! three (their high eight bits, then their low nibbles, the first's low).
//! The camera pads each row to 32 bytes and adds at least one row, then
//! rounds the rows to 16 ([`stride`], [`camera_rows`]).

/// The block's tag, its first four bytes.
pub const TAG: &[u8; 4] = b"BRCM";

/// Bytes of header before the pixels (where the header's `data_offset`
/// is 0).
pub const HEADER_SIZE: usize = 32768;

/// Where the header's fields are, from the tag.
pub mod at {
    /// `u32`: the header's version.
    pub const VERSION: usize = 4;
    /// `u32`: where the pixels start, from the tag (0: [`HEADER_SIZE`](super::HEADER_SIZE)).
    pub const DATA_OFFSET: usize = 8;
    /// [`NAME_LEN`] bytes: the sensor mode's name, NUL-terminated.
    pub const NAME: usize = 176;
    /// `u16`: pixels per row with picture.
    pub const WIDTH: usize = 208;
    /// `u16`: rows with picture.
    pub const HEIGHT: usize = 210;
    /// `u16`: padding pixels after each row's picture.
    pub const PADDING_RIGHT: usize = 212;
    /// `u16`: padding rows after the picture.
    pub const PADDING_DOWN: usize = 214;
    /// `u16`: the sensor's flips (bit 0 horizontal, bit 1 vertical).
    pub const TRANSFORM: usize = 240;
    /// `u16`: the image format ([`FORMAT_BAYER`](super::FORMAT_BAYER)).
    pub const FORMAT: usize = 242;
    /// `u8`: the top-left cell's colours (0 RGGB, 1 GBRG, 2 BGGR, 3 GRBG).
    pub const BAYER_ORDER: usize = 244;
    /// `u8`: the packing ([`BAYER_FORMAT_RAW10`](super::BAYER_FORMAT_RAW10)
    /// or [`BAYER_FORMAT_RAW12`](super::BAYER_FORMAT_RAW12)).
    pub const BAYER_FORMAT: usize = 245;
    /// The header's fields end here.
    pub const END: usize = 246;
    /// Bytes of the name field.
    pub const NAME_LEN: usize = 32;
}

/// A `bayer_order`: the top-left 2x2 cell is R G / G B.
pub const BAYER_ORDER_RGGB: u8 = 0;
/// A `bayer_order`: G B / R G.
pub const BAYER_ORDER_GBRG: u8 = 1;
/// A `bayer_order`: B G / G R.
pub const BAYER_ORDER_BGGR: u8 = 2;
/// A `bayer_order`: G R / B G.
pub const BAYER_ORDER_GRBG: u8 = 3;

/// The `format` of a Bayer image.
pub const FORMAT_BAYER: u16 = 33;
/// The `bayer_format` of RAW10.
pub const BAYER_FORMAT_RAW10: u8 = 3;
/// The `bayer_format` of RAW12.
pub const BAYER_FORMAT_RAW12: u8 = 4;

/// Bits per pixel of a `bayer_format` byte: 10, 12, or `None`.
pub const fn bit_depth(bayer_format: u8) -> Option<u8> {
    match bayer_format {
        BAYER_FORMAT_RAW10 => Some(10),
        BAYER_FORMAT_RAW12 => Some(12),
        _ => None,
    }
}

/// The `bayer_format` byte of a bit depth: RAW10 for 10, RAW12 otherwise.
pub const fn bayer_format(bit_depth: u8) -> u8 {
    if bit_depth == 10 {
        BAYER_FORMAT_RAW10
    } else {
        BAYER_FORMAT_RAW12
    }
}

/// Bytes per four pixels: 5 for RAW10, 6 (two groups of three) otherwise.
const fn bytes_per_4(bit_depth: u8) -> usize {
    if bit_depth == 10 {
        5
    } else {
        6
    }
}

// The geometry below stays within 32 bits for any `u16` fields (at most
// 131070 pixels of 1.5 bytes, 131072 rows), and mmal-sys builds for 32-
// and 64-bit targets only: none of it can overflow `usize`. Only the
// block's size, rows times stride, needs checking ([`block_len`]).

/// Bytes that hold a row of `pixels` pixels, unpadded.
pub const fn packed_len(pixels: u32, bit_depth: u8) -> usize {
    (pixels as usize * bytes_per_4(bit_depth)).div_ceil(4)
}

/// Bytes per stored row as the camera pads them: a row of `width` pixels
/// and `padding_right` more, packed, to a multiple of 32 (IMX219 3280
/// pixels of RAW10: 4128).
pub const fn stride(width: u16, padding_right: u16, bit_depth: u8) -> usize {
    packed_len(width as u32 + padding_right as u32, bit_depth).next_multiple_of(32)
}

/// Stored rows as a header says them: `height` and `padding_down`, to a
/// multiple of 16.
pub const fn rows(height: u16, padding_down: u16) -> usize {
    (height as usize + padding_down as usize).next_multiple_of(16)
}

/// Stored rows as the camera writes a picture `height` rows high: at
/// least one padding row, then to a multiple of 16 (IMX219 2464: 2480).
pub const fn camera_rows(height: u16) -> usize {
    rows(height, 1)
}

/// Bytes of a whole block, header and stored rows; `None` if they cannot
/// be addressed (a crafted header, on a 32-bit target).
pub const fn block_len(data_offset: usize, stride: usize, rows: usize) -> Option<usize> {
    match stride.checked_mul(rows) {
        Some(pixels) => pixels.checked_add(data_offset),
        None => None,
    }
}

/// The header's fields, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fields {
    /// The header's version (1).
    pub version: u32,
    /// Where the pixels start, from the tag; 0 for [`HEADER_SIZE`].
    pub data_offset: u32,
    /// The sensor mode's name, NUL-terminated ([`Fields::name`]).
    pub name: [u8; at::NAME_LEN],
    /// Pixels per row with picture.
    pub width: u16,
    /// Rows with picture.
    pub height: u16,
    /// Padding pixels after each row's picture.
    pub padding_right: u16,
    /// Padding rows after the picture.
    pub padding_down: u16,
    /// The sensor's flips (bit 0 horizontal, bit 1 vertical).
    pub transform: u16,
    /// The image format ([`FORMAT_BAYER`]).
    pub format: u16,
    /// The top-left cell's colours (0 RGGB, 1 GBRG, 2 BGGR, 3 GRBG).
    pub bayer_order: u8,
    /// [`BAYER_FORMAT_RAW10`] or [`BAYER_FORMAT_RAW12`].
    pub bayer_format: u8,
}

/// A block too short for its header: `needed` bytes, `have`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncated {
    /// Bytes the header takes.
    pub needed: usize,
    /// Bytes there are.
    pub have: usize,
}

impl Fields {
    /// The fields at the start of `block`, which starts with the tag;
    /// `None` if it does not, or is shorter than [`at::END`].
    pub fn read(block: &[u8]) -> Option<Fields> {
        let head = block.get(..at::END)?;
        if &head[..4] != TAG {
            return None;
        }
        let u16_at = |o: usize| u16::from_le_bytes([head[o], head[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes([head[o], head[o + 1], head[o + 2], head[o + 3]]);
        let mut name = [0u8; at::NAME_LEN];
        name.copy_from_slice(&head[at::NAME..at::NAME + at::NAME_LEN]);
        Some(Fields {
            version: u32_at(at::VERSION),
            data_offset: u32_at(at::DATA_OFFSET),
            name,
            width: u16_at(at::WIDTH),
            height: u16_at(at::HEIGHT),
            padding_right: u16_at(at::PADDING_RIGHT),
            padding_down: u16_at(at::PADDING_DOWN),
            transform: u16_at(at::TRANSFORM),
            format: u16_at(at::FORMAT),
            bayer_order: head[at::BAYER_ORDER],
            bayer_format: head[at::BAYER_FORMAT],
        })
    }

    /// Writes the tag and the fields at the start of `block`; the bytes
    /// between the fields are left as they are.
    ///
    /// # Errors
    ///
    /// [`Truncated`] if `block` is shorter than [`at::END`] (nothing is
    /// written).
    pub fn write(&self, block: &mut [u8]) -> Result<(), Truncated> {
        let have = block.len();
        let head = block.get_mut(..at::END).ok_or(Truncated { needed: at::END, have })?;
        head[..4].copy_from_slice(TAG);
        let mut put = |o: usize, bytes: &[u8]| head[o..o + bytes.len()].copy_from_slice(bytes);
        put(at::VERSION, &self.version.to_le_bytes());
        put(at::DATA_OFFSET, &self.data_offset.to_le_bytes());
        put(at::NAME, &self.name);
        put(at::WIDTH, &self.width.to_le_bytes());
        put(at::HEIGHT, &self.height.to_le_bytes());
        put(at::PADDING_RIGHT, &self.padding_right.to_le_bytes());
        put(at::PADDING_DOWN, &self.padding_down.to_le_bytes());
        put(at::TRANSFORM, &self.transform.to_le_bytes());
        put(at::FORMAT, &self.format.to_le_bytes());
        put(at::BAYER_ORDER, &[self.bayer_order]);
        put(at::BAYER_FORMAT, &[self.bayer_format]);
        Ok(())
    }

    /// The name's bytes, up to its NUL.
    pub fn name(&self) -> &[u8] {
        let end = self.name.iter().position(|&b| b == 0).unwrap_or(at::NAME_LEN);
        &self.name[..end]
    }

    /// A name field holding the first 31 bytes of `name` and a NUL.
    pub fn name_field(name: &[u8]) -> [u8; at::NAME_LEN] {
        let mut field = [0u8; at::NAME_LEN];
        let n = name.len().min(at::NAME_LEN - 1);
        field[..n].copy_from_slice(&name[..n]);
        field
    }
}

/// Packs `pixels` (10 or 12 bits each) into `row`, a stored row whose
/// bytes are zero: as many whole groups as both hold (five bytes per four
/// pixels for RAW10, three per two for RAW12; the last group of a row
/// whose width is not a multiple of four or two holds the pixels there
/// are).
pub fn pack_row(bit_depth: u8, pixels: &[u16], row: &mut [u8]) {
    if bit_depth == 10 {
        // Four high bytes, then one of low bits: pixel A in bits 1:0.
        for (group, px) in row.chunks_exact_mut(5).zip(pixels.chunks(4)) {
            for (i, &v) in px.iter().enumerate() {
                group[i] = (v >> 2) as u8;
                group[4] |= ((v & 0b11) as u8) << (2 * i);
            }
        }
    } else {
        // Two high bytes, then one whose low nibble is the first pixel's.
        for (group, px) in row.chunks_exact_mut(3).zip(pixels.chunks(2)) {
            for (i, &v) in px.iter().enumerate() {
                group[i] = (v >> 4) as u8;
                group[2] |= ((v & 0x0f) as u8) << (4 * i);
            }
        }
    }
}

/// Unpacks a stored `row` into `out` (10 or 12 bits each): as many pixels
/// as both hold, in whole groups of four (RAW10) or two (RAW12).
pub fn unpack_row(bit_depth: u8, row: &[u8], out: &mut [u16]) {
    if bit_depth == 10 {
        for (group, px) in row.chunks_exact(5).zip(out.chunks_mut(4)) {
            for (i, p) in px.iter_mut().enumerate() {
                *p = (u16::from(group[i]) << 2) | u16::from((group[4] >> (2 * i)) & 0b11);
            }
        }
    } else {
        for (group, px) in row.chunks_exact(3).zip(out.chunks_mut(2)) {
            for (i, p) in px.iter_mut().enumerate() {
                *p = (u16::from(group[i]) << 4) | u16::from((group[2] >> (4 * i)) & 0x0f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_short_blocks_are_refused() {
        let fields = Fields {
            version: 1,
            data_offset: HEADER_SIZE as u32,
            name: Fields::name_field(b"a name longer than thirty-one bytes"),
            width: 3280,
            height: 2464,
            padding_right: 0,
            padding_down: 16,
            transform: 3,
            format: FORMAT_BAYER,
            bayer_order: 2,
            bayer_format: BAYER_FORMAT_RAW10,
        };
        let mut block = [0u8; at::END];
        fields.write(&mut block).unwrap();
        assert_eq!(&block[..4], TAG);
        assert_eq!(Fields::read(&block), Some(fields));
        assert_eq!(fields.name(), b"a name longer than thirty-one b");
        assert_eq!(fields.write(&mut [0u8; at::END - 1]), Err(Truncated { needed: at::END, have: at::END - 1 }));
        assert_eq!(Fields::read(&block[..at::END - 1]), None);
        block[0] = b'X';
        assert_eq!(Fields::read(&block), None);
    }

    #[test]
    fn geometry_and_sizes() {
        assert_eq!((stride(3280, 0, 10), camera_rows(2464)), (4128, 2480));
        assert_eq!((stride(4056, 0, 12), camera_rows(3040)), (6112, 3056));
        assert_eq!(rows(u16::MAX, u16::MAX), 131072);
        assert_eq!(stride(u16::MAX, u16::MAX, 12), 196608);
        assert_eq!(block_len(HEADER_SIZE, 4128, 2480), Some(10270208));
        assert_eq!(block_len(1, usize::MAX / 2 + 1, 2), None);
        assert_eq!(block_len(1, usize::MAX, 1), None);
        assert_eq!((bit_depth(3), bit_depth(4), bit_depth(5)), (Some(10), Some(12), None));
        assert_eq!((bayer_format(10), bayer_format(12)), (3, 4));
    }

    #[test]
    fn rows_round_trip() {
        let px = [0b11_1111_1101u16, 0b10, 0b01_0000_0011, 0b1000, 0x3ff, 1];
        let mut row = [0u8; 10];
        pack_row(10, &px, &mut row);
        assert_eq!(&row[..5], &[0b1111_1111, 0b0000_0000, 0b0100_0000, 0b0000_0010, 0b00_11_10_01]);
        let mut back = [0u16; 8];
        unpack_row(10, &row, &mut back);
        assert_eq!(&back[..6], &px);
        let mut row = [0u8; 3];
        pack_row(12, &[0xABC, 0x123], &mut row);
        assert_eq!(row, [0xAB, 0x12, 0x3C]);
        let mut back = [0u16; 2];
        unpack_row(12, &row, &mut back);
        assert_eq!(back, [0xABC, 0x123]);
    }
}
