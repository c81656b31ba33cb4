//! A page-granular first-fit allocator over the emulated contiguous pool.
//!
//! It only hands out offsets: the bytes themselves live in one memfd per
//! block. What it models is the part of CMA that users feel: a fixed-size
//! contiguous area where freed holes must be reused and large blocks fail
//! once the free space is scattered.

use std::collections::BTreeMap;

#[derive(Debug)]
pub(crate) struct FirstFit {
    total: u64,
    free_bytes: u64,
    /// Free extents: offset -> length, never adjacent (merged on free).
    free: BTreeMap<u64, u64>,
}

impl FirstFit {
    pub(crate) fn new(total: u64) -> FirstFit {
        let mut free = BTreeMap::new();
        if total > 0 {
            free.insert(0, total);
        }
        FirstFit { total, free_bytes: total, free }
    }

    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    pub(crate) fn free_bytes(&self) -> u64 {
        self.free_bytes
    }

    pub(crate) fn largest_free(&self) -> u64 {
        self.free.values().copied().max().unwrap_or(0)
    }

    /// Takes `len` bytes from the lowest extent that holds them.
    pub(crate) fn allocate(&mut self, len: u64) -> Option<u64> {
        if len == 0 {
            return None;
        }
        let (&offset, &extent) = self.free.iter().find(|(_, &extent)| extent >= len)?;
        self.free.remove(&offset);
        if extent > len {
            self.free.insert(offset + len, extent - len);
        }
        self.free_bytes -= len;
        Some(offset)
    }

    /// Returns an extent taken by [`allocate`](Self::allocate).
    pub(crate) fn release(&mut self, offset: u64, len: u64) {
        debug_assert!(offset + len <= self.total);
        let mut start = offset;
        let mut length = len;
        if let Some((&prev, &prev_len)) = self.free.range(..offset).next_back() {
            debug_assert!(prev + prev_len <= offset, "double free in emulated pool");
            if prev + prev_len == offset {
                self.free.remove(&prev);
                start = prev;
                length += prev_len;
            }
        }
        if let Some(&next_len) = self.free.get(&(offset + len)) {
            self.free.remove(&(offset + len));
            length += next_len;
        }
        self.free.insert(start, length);
        self.free_bytes += len;
    }
}

#[cfg(test)]
mod tests {
    use super::FirstFit;

    const P: u64 = 4096;

    #[test]
    fn first_fit_reuses_the_lowest_hole_and_merges() {
        let mut pool = FirstFit::new(10 * P);
        let a = pool.allocate(2 * P).unwrap();
        let b = pool.allocate(3 * P).unwrap();
        let c = pool.allocate(P).unwrap();
        assert_eq!((a, b, c), (0, 2 * P, 5 * P));
        assert_eq!(pool.free_bytes(), 4 * P);
        pool.release(b, 3 * P);
        // A 2-page block goes into the 3-page hole, the lowest that fits.
        assert_eq!(pool.allocate(2 * P), Some(2 * P));
        pool.release(2 * P, 2 * P);
        pool.release(a, 2 * P);
        pool.release(c, P);
        assert_eq!(pool.free_bytes(), 10 * P);
        assert_eq!(pool.largest_free(), 10 * P, "all holes merged back into one extent");
    }

    #[test]
    fn fragmentation_defeats_a_large_block() {
        let mut pool = FirstFit::new(8 * P);
        let blocks: Vec<u64> = (0..8).map(|_| pool.allocate(P).unwrap()).collect();
        for off in blocks.iter().step_by(2) {
            pool.release(*off, P);
        }
        assert_eq!(pool.free_bytes(), 4 * P);
        assert_eq!(pool.largest_free(), P);
        assert_eq!(pool.allocate(2 * P), None);
        assert_eq!(pool.allocate(0), None);
    }
}
