//! Truevision TGA: an 18-byte header, then uncompressed 24-bit pixels as
//! B, G, R, top row first (the descriptor's top-left origin bit).

/// The TGA of the packed RGB24 picture `rgb`, `width` x `height`; `None`
/// when a side is beyond the format's 16 bits.
pub(super) fn encode(rgb: &[u8], width: u32, height: u32) -> Option<Vec<u8>> {
    debug_assert_eq!(rgb.len(), width as usize * height as usize * 3);
    let (w, h) = (u16::try_from(width).ok()?, u16::try_from(height).ok()?);
    let mut out = Vec::with_capacity(18 + rgb.len());
    // No image ID, no colour map, type 2 (uncompressed true colour), an
    // empty colour map specification, origin (0, 0).
    out.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&w.to_le_bytes());
    out.extend_from_slice(&h.to_le_bytes());
    out.push(24); // bits per pixel
    out.push(0x20); // top-left origin, no alpha bits
    out.extend(rgb.chunks_exact(3).flat_map(|p| [p[2], p[1], p[0]]));
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_header_then_top_down_bgr() {
        let tga = super::encode(&[255, 0, 0, 0, 0, 255], 1, 2).unwrap();
        assert_eq!(tga.len(), 18 + 6);
        assert_eq!(tga[2], 2);
        assert_eq!(&tga[12..18], &[1, 0, 2, 0, 24, 0x20]);
        assert_eq!(&tga[18..], &[0, 0, 255, 255, 0, 0]);
        assert!(super::encode(&vec![0; 70_000 * 3], 70_000, 1).is_none());
    }
}
