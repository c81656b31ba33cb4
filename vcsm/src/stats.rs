//! Memory statistics: what this process holds, and what the pool has left.

use std::fmt;

use crate::DriverKind;

/// A snapshot of VideoCore memory use.
///
/// The live figures count blocks this process allocated through this crate
/// and has not freed. The pool figures describe the memory the driver
/// allocates from, where it can be told:
///
/// | driver | pool | `pool_total` / `pool_free` | `largest_free_block` |
/// | --- | --- | --- | --- |
/// | [`Cma`](DriverKind::Cma) | the kernel's CMA area | `CmaTotal` / `CmaFree` of `/proc/meminfo` | `None` |
/// | [`Legacy`](DriverKind::Legacy) | the firmware's `gpu_mem` heap | `None` (not visible to Linux) | `None` |
/// | [`Emulated`](DriverKind::Emulated) | the emulated pool | exact | exact |
///
/// Free bytes that are plentiful while `largest_free_block` is small mean the
/// pool is fragmented; free bytes that fall while nothing is live elsewhere
/// mean a leak.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// The driver in use.
    pub driver: DriverKind,
    /// Blocks allocated and not yet freed.
    pub live_allocations: u64,
    /// Bytes (page-rounded) of those blocks.
    pub live_bytes: u64,
    /// Blocks allocated since the driver was opened.
    pub total_allocations: u64,
    /// Allocations that failed since the driver was opened.
    pub failed_allocations: u64,
    /// Size of the pool, in bytes.
    pub pool_total: Option<u64>,
    /// Free bytes in the pool.
    pub pool_free: Option<u64>,
    /// The largest contiguous free block, in bytes.
    pub largest_free_block: Option<u64>,
}

impl Stats {
    pub(crate) fn new(driver: DriverKind) -> Stats {
        Stats {
            driver,
            live_allocations: 0,
            live_bytes: 0,
            total_allocations: 0,
            failed_allocations: 0,
            pool_total: None,
            pool_free: None,
            largest_free_block: None,
        }
    }
}

/// Formats a byte count for people: `1.5 MiB`.
pub(crate) struct Bytes(pub(crate) u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut value = self.0 as f64 / 1024.0;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        write!(f, "{value:.2} {}", UNITS[unit])
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} driver: {} live block(s), {} live", self.driver, self.live_allocations, Bytes(self.live_bytes))?;
        match (self.pool_total, self.pool_free) {
            (Some(total), Some(free)) => write!(f, "; pool {} total, {} free", Bytes(total), Bytes(free))?,
            _ => write!(f, "; pool size not visible to Linux")?,
        }
        if let Some(largest) = self.largest_free_block {
            write!(f, ", largest free block {}", Bytes(largest))?;
        }
        Ok(())
    }
}

/// `CmaTotal` and `CmaFree` from `/proc/meminfo` text, in bytes.
pub(crate) fn parse_meminfo_cma(text: &str) -> (Option<u64>, Option<u64>) {
    let field = |name: &str| {
        text.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            let mut parts = rest.split_whitespace();
            let value: u64 = parts.next()?.parse().ok()?;
            match parts.next() {
                Some("kB") => value.checked_mul(1024),
                None => Some(value),
                Some(_) => None,
            }
        })
    };
    (field("CmaTotal"), field("CmaFree"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_with_and_without_cma() {
        let text = "MemTotal:        3884328 kB\nCmaTotal:         524288 kB\nCmaFree:          412000 kB\n";
        assert_eq!(parse_meminfo_cma(text), (Some(524288 * 1024), Some(412000 * 1024)));
        assert_eq!(parse_meminfo_cma("MemTotal: 100 kB\nCmaFreeX: 5 kB\n"), (None, None));
        assert_eq!(parse_meminfo_cma("CmaTotal: bogus kB\n"), (None, None));
    }

    #[test]
    fn human_bytes() {
        assert_eq!(Bytes(512).to_string(), "512 B");
        assert_eq!(Bytes(1536).to_string(), "1.50 KiB");
        assert_eq!(Bytes(256 << 20).to_string(), "256.00 MiB");
    }

    #[test]
    fn display_mentions_fragmentation_figures() {
        let mut s = Stats::new(DriverKind::Emulated);
        s.pool_total = Some(64 << 20);
        s.pool_free = Some(32 << 20);
        s.largest_free_block = Some(4096);
        let text = s.to_string();
        assert!(text.contains("32.00 MiB free"), "{text}");
        assert!(text.contains("largest free block 4.00 KiB"), "{text}");
        s.pool_total = None;
        assert!(s.to_string().contains("not visible"));
    }
}
