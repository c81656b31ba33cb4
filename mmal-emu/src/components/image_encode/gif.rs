//! GIF (89a): one frame with a global palette of 256 colours and LZW
//! codes. A picture of at most 256 colours keeps them exactly; any other
//! gets a palette by median cut over its colours at 5 bits a channel, and
//! each pixel the palette entry nearest its colour.

use std::collections::HashMap;

/// The GIF of the packed RGB24 picture `rgb`, `width` x `height`; `None`
/// when a side is beyond the format's 16 bits.
pub(super) fn encode(rgb: &[u8], width: u32, height: u32) -> Option<Vec<u8>> {
    debug_assert_eq!(rgb.len(), width as usize * height as usize * 3);
    let (w, h) = (u16::try_from(width).ok()?, u16::try_from(height).ok()?);
    let (palette, indices) = match exact_palette(rgb) {
        Some(exact) => exact,
        None => quantize(rgb),
    };
    let mut out = Vec::with_capacity(indices.len() / 2 + 1024);
    out.extend_from_slice(b"GIF89a");
    out.extend_from_slice(&w.to_le_bytes());
    out.extend_from_slice(&h.to_le_bytes());
    // A global colour table of 2^(7+1) entries, 8 bits of colour
    // resolution; background colour 0, square pixels.
    out.extend_from_slice(&[0xF7, 0, 0]);
    for i in 0..256 {
        out.extend_from_slice(&palette.get(i).copied().unwrap_or([0; 3]));
    }
    // The image: at (0, 0), the whole screen, no local table, not
    // interlaced.
    out.push(0x2C);
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&w.to_le_bytes());
    out.extend_from_slice(&h.to_le_bytes());
    out.push(0);
    out.push(MIN_CODE_SIZE);
    for block in lzw(&indices).chunks(255) {
        out.push(block.len() as u8);
        out.extend_from_slice(block);
    }
    out.push(0); // the end of the image's data
    out.push(0x3B); // trailer
    Some(out)
}

/// Palette indices are 8 bits.
const MIN_CODE_SIZE: u8 = 8;

/// The picture's own colours and each pixel's index, if it has at most 256.
fn exact_palette(rgb: &[u8]) -> Option<(Vec<[u8; 3]>, Vec<u8>)> {
    let mut index: HashMap<[u8; 3], u8> = HashMap::new();
    let mut palette = Vec::new();
    let mut indices = Vec::with_capacity(rgb.len() / 3);
    for p in rgb.chunks_exact(3) {
        let colour = [p[0], p[1], p[2]];
        let i = match index.get(&colour) {
            Some(&i) => i,
            None if palette.len() < 256 => {
                let i = palette.len() as u8;
                index.insert(colour, i);
                palette.push(colour);
                i
            }
            None => return None,
        };
        indices.push(i);
    }
    Some((palette, indices))
}

/// A cell of the 5-bit-a-channel histogram.
fn cell(p: &[u8]) -> usize {
    (usize::from(p[0] >> 3) << 10) | (usize::from(p[1] >> 3) << 5) | usize::from(p[2] >> 3)
}

/// A palette of up to 256 colours by median cut, and each pixel's index.
fn quantize(rgb: &[u8]) -> (Vec<[u8; 3]>, Vec<u8>) {
    // Per cell: pixels, and the sums of their channels (for the mean).
    let mut count = vec![0u64; 1 << 15];
    let mut sum = vec![[0u64; 3]; 1 << 15];
    for p in rgb.chunks_exact(3) {
        let c = cell(p);
        count[c] += 1;
        for k in 0..3 {
            sum[c][k] += u64::from(p[k]);
        }
    }
    let used: Vec<usize> = (0..1 << 15).filter(|&c| count[c] > 0).collect();
    let mut means = vec![[0u8; 3]; 1 << 15];
    for &c in &used {
        means[c] = sum[c].map(|s| ((s + count[c] / 2) / count[c]) as u8);
    }
    let mean = |c: usize| means[c];
    // Boxes of cells; each round splits the box with the widest channel
    // (weighted by its pixels) at the median pixel of that channel.
    let mut boxes: Vec<Vec<usize>> = vec![used.clone()];
    while boxes.len() < 256 {
        let widest = boxes
            .iter()
            .enumerate()
            .filter(|(_, b)| b.len() > 1)
            .map(|(i, b)| {
                let (channel, range) = widest_channel(b, &mean);
                let pixels: u64 = b.iter().map(|&c| count[c]).sum();
                (i, channel, u64::from(range) * pixels)
            })
            .max_by_key(|&(_, _, score)| score);
        let Some((i, channel, _)) = widest else { break };
        let mut cells = std::mem::take(&mut boxes[i]);
        cells.sort_unstable_by_key(|&c| mean(c)[channel]);
        let total: u64 = cells.iter().map(|&c| count[c]).sum();
        let mut seen = 0;
        let mut at = 1;
        for (k, &c) in cells.iter().enumerate() {
            seen += count[c];
            if seen * 2 >= total {
                at = (k + 1).clamp(1, cells.len() - 1);
                break;
            }
        }
        let upper = cells.split_off(at);
        boxes[i] = cells;
        boxes.push(upper);
    }
    let palette: Vec<[u8; 3]> = boxes
        .iter()
        .map(|b| {
            let pixels: u64 = b.iter().map(|&c| count[c]).sum();
            let mut total = [0u64; 3];
            for &c in b {
                for k in 0..3 {
                    total[k] += sum[c][k];
                }
            }
            total.map(|s| ((s + pixels / 2) / pixels) as u8)
        })
        .collect();
    // Each cell's nearest palette entry, by its mean colour.
    let mut nearest = vec![0u8; 1 << 15];
    for &c in &used {
        let m = mean(c);
        let distance = |e: &[u8; 3]| (0..3).map(|k| (i32::from(e[k]) - i32::from(m[k])).pow(2)).sum::<i32>();
        nearest[c] = (0..palette.len()).min_by_key(|&i| distance(&palette[i])).unwrap_or(0) as u8;
    }
    let indices = rgb.chunks_exact(3).map(|p| nearest[cell(p)]).collect();
    (palette, indices)
}

/// The channel over which the cells' means spread widest, and the spread.
fn widest_channel(cells: &[usize], mean: &impl Fn(usize) -> [u8; 3]) -> (usize, u8) {
    let (mut lo, mut hi) = ([255u8; 3], [0u8; 3]);
    for &c in cells {
        let m = mean(c);
        for k in 0..3 {
            lo[k] = lo[k].min(m[k]);
            hi[k] = hi[k].max(m[k]);
        }
    }
    (0..3).map(|k| (k, hi[k] - lo[k])).max_by_key(|&(_, r)| r).unwrap_or((0, 0))
}

/// GIF's variable-length LZW of 8-bit `indices`, packed least significant
/// bit first: a clear code first, a code one bit wider each time the
/// table's next entry needs it, a clear code when the table is full (4096
/// codes), the end code last.
fn lzw(indices: &[u8]) -> Vec<u8> {
    const CLEAR: u16 = 1 << MIN_CODE_SIZE;
    const END: u16 = CLEAR + 1;
    let mut bits = Bits::default();
    let mut table = Table::new();
    let mut size = u32::from(MIN_CODE_SIZE) + 1;
    let mut last = END; // the last code given out
    bits.put(CLEAR, size);
    let Some((&first, rest)) = indices.split_first() else {
        bits.put(END, size);
        return bits.finish();
    };
    let mut current = u16::from(first);
    for &index in rest {
        if let Some(code) = table.get(current, index) {
            current = code;
            continue;
        }
        bits.put(current, size);
        last += 1;
        table.insert(current, index, last);
        if u32::from(last) >= 1 << size {
            size += 1;
        }
        if last == 4095 {
            bits.put(CLEAR, size);
            table.clear();
            size = u32::from(MIN_CODE_SIZE) + 1;
            last = END;
        }
        current = u16::from(index);
    }
    bits.put(current, size);
    bits.put(END, size);
    bits.finish()
}

/// The LZW strings as (prefix code, next index) -> code, in an open
/// addressed table twice the size of the most codes it holds.
struct Table {
    keys: Vec<u32>,
    codes: Vec<u16>,
}

impl Table {
    const SLOTS: usize = 8192;

    fn new() -> Table {
        Table { keys: vec![0; Self::SLOTS], codes: vec![0; Self::SLOTS] }
    }

    /// The key, never 0 (an empty slot).
    fn key(prefix: u16, index: u8) -> u32 {
        ((u32::from(prefix) << 8) | u32::from(index)) + 1
    }

    fn slot(key: u32) -> usize {
        (key.wrapping_mul(0x9E37_79B1) >> 19) as usize & (Self::SLOTS - 1)
    }

    fn get(&self, prefix: u16, index: u8) -> Option<u16> {
        let key = Self::key(prefix, index);
        let mut at = Self::slot(key);
        loop {
            match self.keys[at] {
                0 => return None,
                k if k == key => return Some(self.codes[at]),
                _ => at = (at + 1) & (Self::SLOTS - 1),
            }
        }
    }

    fn insert(&mut self, prefix: u16, index: u8, code: u16) {
        let key = Self::key(prefix, index);
        let mut at = Self::slot(key);
        while self.keys[at] != 0 {
            at = (at + 1) & (Self::SLOTS - 1);
        }
        self.keys[at] = key;
        self.codes[at] = code;
    }

    fn clear(&mut self) {
        self.keys.fill(0);
    }
}

/// Codes packed least significant bit first.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl Bits {
    fn put(&mut self, code: u16, size: u32) {
        self.acc |= u32::from(code) << self.n;
        self.n += size;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GIF's LZW decoding, written from the specification (appendix F).
    fn unlzw(data: &[u8]) -> Vec<u8> {
        let (clear, end) = (256usize, 257usize);
        let mut table: Vec<Vec<u8>> = Vec::new();
        let reset = |table: &mut Vec<Vec<u8>>| {
            table.clear();
            table.extend((0..256).map(|i| vec![i as u8]));
            table.extend([vec![], vec![]]);
        };
        reset(&mut table);
        let (mut size, mut acc, mut n, mut at) = (9u32, 0u32, 0u32, 0usize);
        let mut out = Vec::new();
        let mut previous: Option<usize> = None;
        loop {
            while n < size {
                acc |= u32::from(data[at]) << n;
                at += 1;
                n += 8;
            }
            let code = (acc & ((1 << size) - 1)) as usize;
            acc >>= size;
            n -= size;
            if code == clear {
                reset(&mut table);
                size = 9;
                previous = None;
                continue;
            }
            if code == end {
                return out;
            }
            let entry = match (code < table.len(), previous) {
                (true, _) => table[code].clone(),
                (false, Some(p)) => {
                    let mut e = table[p].clone();
                    e.push(table[p][0]);
                    e
                }
                (false, None) => panic!("code {code} before any string"),
            };
            if let Some(p) = previous {
                let mut e = table[p].clone();
                e.push(entry[0]);
                table.push(e);
            }
            out.extend_from_slice(&entry);
            previous = Some(code);
            if table.len() == 1 << size && size < 12 {
                size += 1;
            }
        }
    }

    #[test]
    fn lzw_round_trips_through_table_resets() {
        // Long enough to fill the table several times, with runs and noise.
        let mut x = 12345u32;
        let indices: Vec<u8> = (0..200_000)
            .map(|i| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                if i % 1000 < 500 {
                    (i / 97) as u8
                } else {
                    (x >> 24) as u8
                }
            })
            .collect();
        assert_eq!(unlzw(&lzw(&indices)), indices);
        assert_eq!(unlzw(&lzw(&[7])), [7]);
        assert_eq!(unlzw(&lzw(&[])), Vec::<u8>::new());
    }

    #[test]
    fn few_colours_stay_exact_and_many_come_near() {
        let rgb = [10, 20, 30, 200, 100, 0, 10, 20, 30];
        let (palette, indices) = exact_palette(&rgb).unwrap();
        assert_eq!(palette, [[10, 20, 30], [200, 100, 0]]);
        assert_eq!(indices, [0, 1, 0]);
        // A smooth field of 4096 colours.
        let rgb: Vec<u8> = (0..64u32 * 64).flat_map(|i| [(i % 64 * 4) as u8, (i / 64 * 4) as u8, 128]).collect();
        assert!(exact_palette(&rgb).is_none());
        let (palette, indices) = quantize(&rgb);
        assert_eq!(palette.len(), 256);
        for (p, &i) in rgb.chunks_exact(3).zip(&indices) {
            let e = palette[usize::from(i)];
            for k in 0..3 {
                assert!((i32::from(e[k]) - i32::from(p[k])).abs() <= 16, "{p:?} as {e:?}");
            }
        }
    }

    #[test]
    fn a_file_with_the_screen_palette_and_image() {
        let gif = encode(&[255, 0, 0, 0, 0, 255], 2, 1).unwrap();
        assert_eq!(&gif[..6], b"GIF89a");
        assert_eq!(&gif[6..10], &[2, 0, 1, 0]);
        assert_eq!(&gif[13..19], &[255, 0, 0, 0, 0, 255]);
        let image = 13 + 768;
        assert_eq!(gif[image], 0x2C);
        assert_eq!(gif[image + 10], MIN_CODE_SIZE);
        let len = usize::from(gif[image + 11]);
        assert_eq!(unlzw(&gif[image + 12..image + 12 + len]), [0, 1]);
        assert_eq!(&gif[gif.len() - 2..], &[0, 0x3B]);
    }
}
