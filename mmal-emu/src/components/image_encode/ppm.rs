//! Binary PPM (`P6`, netpbm): a text header, then the RGB samples as they
//! are, top row first.

/// The PPM of the packed RGB24 picture `rgb`, `width` x `height`.
pub(super) fn encode(rgb: &[u8], width: u32, height: u32) -> Vec<u8> {
    debug_assert_eq!(rgb.len(), width as usize * height as usize * 3);
    let header = format!("P6\n{width} {height}\n255\n");
    let mut out = Vec::with_capacity(header.len() + rgb.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(rgb);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_header_then_the_samples() {
        let rgb = [1, 2, 3, 4, 5, 6];
        assert_eq!(super::encode(&rgb, 2, 1), b"P6\n2 1\n255\n\x01\x02\x03\x04\x05\x06");
    }
}
