//! PNG: 8-bit RGB, not interlaced; each row filtered with the filter that
//! leaves the smallest sum of magnitudes (libpng's heuristic), the rows
//! deflated (`miniz_oxide`) into one `IDAT`.

/// How hard deflate works: 0 stores, 10 is slowest. At 3 a 5-megapixel
/// still takes well under a second and compresses nearly as well as at 6
/// (the camera's noise dominates what is left).
const LEVEL: u8 = 3;

/// The PNG of the packed RGB24 picture `rgb`, `width` x `height`; `None`
/// when a side is beyond the format's 31 bits.
pub(crate) fn encode(rgb: &[u8], width: u32, height: u32) -> Option<Vec<u8>> {
    let (w, h) = (width as usize, height as usize);
    debug_assert_eq!(rgb.len(), w * h * 3);
    if width == 0 || height == 0 || width > i32::MAX as u32 || height > i32::MAX as u32 {
        return None;
    }
    let filtered = filter(rgb, w * 3);
    let mut out = Vec::with_capacity(filtered.len() / 2 + 64);
    out.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // 8 bits, colour type 2 (RGB), deflate, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &miniz_oxide::deflate::compress_to_vec_zlib(&filtered, LEVEL));
    chunk(&mut out, b"IEND", &[]);
    Some(out)
}

/// Rows of `line` bytes, each after its filter type byte.
fn filter(rgb: &[u8], line: usize) -> Vec<u8> {
    const BPP: usize = 3;
    let mut out = Vec::with_capacity(rgb.len() + rgb.len() / line);
    let zero = vec![0u8; line];
    let mut candidates = vec![vec![0u8; line]; 5];
    for (y, row) in rgb.chunks_exact(line).enumerate() {
        let up = if y == 0 { &zero[..] } else { &rgb[(y - 1) * line..y * line] };
        for (i, &x) in row.iter().enumerate() {
            let (a, b) = if i >= BPP { (row[i - BPP], up[i]) } else { (0, up[i]) };
            let c = if i >= BPP { up[i - BPP] } else { 0 };
            candidates[0][i] = x;
            candidates[1][i] = x.wrapping_sub(a);
            candidates[2][i] = x.wrapping_sub(b);
            candidates[3][i] = x.wrapping_sub(((u16::from(a) + u16::from(b)) / 2) as u8);
            candidates[4][i] = x.wrapping_sub(paeth(a, b, c));
        }
        // Bytes read as signed: small differences either way cost little.
        let cost = |bytes: &[u8]| bytes.iter().map(|&v| u64::from((v as i8).unsigned_abs())).sum::<u64>();
        let best = (0..5).min_by_key(|&f| cost(&candidates[f])).unwrap_or(0);
        out.push(best as u8);
        out.extend_from_slice(&candidates[best]);
    }
    out
}

/// The neighbour closest to `a + b - c` (left, above, above left).
fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = ((p - i16::from(a)).abs(), (p - i16::from(b)).abs(), (p - i16::from(c)).abs());
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// Appends a chunk: length, type, data, and the CRC of type and data.
fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// The CRC-32 of ISO 3309 (polynomial 0xEDB88320, reflected), as PNG
/// checks its chunks.
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &b| CRC_TABLE[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8))
}

static CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Reverses the filters (PNG's specification, section 9).
    fn unfilter(data: &[u8], line: usize) -> Vec<u8> {
        let mut out: Vec<u8> = Vec::new();
        for (y, row) in data.chunks_exact(line + 1).enumerate() {
            let start = out.len();
            for i in 0..line {
                let a = if i >= 3 { out[start + i - 3] } else { 0 };
                let b = if y > 0 { out[start - line + i] } else { 0 };
                let c = if y > 0 && i >= 3 { out[start - line + i - 3] } else { 0 };
                let x = row[1 + i];
                out.push(match row[0] {
                    0 => x,
                    1 => x.wrapping_add(a),
                    2 => x.wrapping_add(b),
                    3 => x.wrapping_add(((u16::from(a) + u16::from(b)) / 2) as u8),
                    4 => x.wrapping_add(paeth(a, b, c)),
                    f => panic!("filter {f}"),
                });
            }
        }
        out
    }

    #[test]
    fn crc_of_the_iend_chunk() {
        // Every PNG ends with these bytes.
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn chunks_inflate_and_unfilter_to_the_picture() {
        let (w, h) = (37usize, 23usize);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| ((i * 7919) % 251) as u8 ^ (i / (w * 3)) as u8).collect();
        let png = encode(&rgb, w as u32, h as u32).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let mut at = 8;
        let mut chunks = Vec::new();
        while at < png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let (kind, data) = (&png[at + 4..at + 8], &png[at + 8..at + 8 + len]);
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(crc, crc32(&png[at + 4..at + 8 + len]));
            chunks.push((kind.to_vec(), data.to_vec()));
            at += 12 + len;
        }
        let kinds: Vec<&[u8]> = chunks.iter().map(|(k, _)| &k[..]).collect();
        assert_eq!(kinds, [&b"IHDR"[..], b"IDAT", b"IEND"]);
        assert_eq!(&chunks[0].1[..8], &[0, 0, 0, 37, 0, 0, 0, 23]);
        let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&chunks[1].1).unwrap();
        assert_eq!(unfilter(&raw, w * 3), rgb);
    }
}
