//! Windows bitmap: the 14-byte file header, a `BITMAPINFOHEADER`, then
//! 24-bit pixels as B, G, R, bottom row first, each row padded to four
//! bytes (what every reader takes).

/// The BMP of the packed RGB24 picture `rgb`, `width` x `height`; `None`
/// when it is too large for the format's 32-bit sizes.
pub(super) fn encode(rgb: &[u8], width: u32, height: u32) -> Option<Vec<u8>> {
    let (w, h) = (width as usize, height as usize);
    debug_assert_eq!(rgb.len(), w * h * 3);
    let row = (w * 3).next_multiple_of(4);
    let image_size = u32::try_from(row * h).ok()?;
    let file_size = image_size.checked_add(HEADERS)?;
    let (width, height) = (i32::try_from(width).ok()?, i32::try_from(height).ok()?);
    let mut out = Vec::with_capacity(file_size as usize);
    out.extend_from_slice(b"BM");
    out.extend_from_slice(&file_size.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // reserved
    out.extend_from_slice(&HEADERS.to_le_bytes()); // where the pixels start
    out.extend_from_slice(&40u32.to_le_bytes()); // BITMAPINFOHEADER
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes()); // positive: bottom-up
    out.extend_from_slice(&1u16.to_le_bytes()); // planes
    out.extend_from_slice(&24u16.to_le_bytes()); // bits per pixel
    out.extend_from_slice(&0u32.to_le_bytes()); // BI_RGB: uncompressed
    out.extend_from_slice(&image_size.to_le_bytes());
    out.extend_from_slice(&PIXELS_PER_METRE.to_le_bytes());
    out.extend_from_slice(&PIXELS_PER_METRE.to_le_bytes());
    out.extend_from_slice(&[0; 8]); // no palette, all colours important
    debug_assert_eq!(out.len(), HEADERS as usize);
    for line in rgb.chunks_exact(w * 3).rev() {
        let start = out.len();
        out.extend(line.chunks_exact(3).flat_map(|p| [p[2], p[1], p[0]]));
        out.resize(start + row, 0);
    }
    Some(out)
}

/// The file header and the info header.
const HEADERS: u32 = 14 + 40;

/// 72 dpi.
const PIXELS_PER_METRE: u32 = 2835;

#[cfg(test)]
mod tests {
    #[test]
    fn bottom_up_bgr_rows_padded_to_four_bytes() {
        // 1x2: a red pixel over a blue one.
        let bmp = super::encode(&[255, 0, 0, 0, 0, 255], 1, 2).unwrap();
        assert_eq!(&bmp[..2], b"BM");
        assert_eq!(bmp.len(), 54 + 2 * 4);
        assert_eq!(u32::from_le_bytes(bmp[2..6].try_into().unwrap()) as usize, bmp.len());
        assert_eq!(i32::from_le_bytes(bmp[18..22].try_into().unwrap()), 1);
        assert_eq!(i32::from_le_bytes(bmp[22..26].try_into().unwrap()), 2);
        assert_eq!(&bmp[54..], &[255, 0, 0, 0, 0, 0, 255, 0]);
    }
}
