//! Exact accounting: pool figures, live counts, exhaustion and fragmentation.
//! Every test here takes the file's lock, since they read process-wide figures.

mod common;

use common::{emulated, serial};
use vcsm::{Error, SharedMemory, Stats};

fn page() -> usize {
    emulated().rounded_size(1).unwrap()
}

#[test]
fn exhaustion_and_fragmentation_are_real_and_explained() {
    let _serial = serial();
    let manager = emulated();
    let total = manager.stats().pool_total.unwrap();
    // Fill the pool with 1 MiB blocks, then free every other one.
    let mut blocks = Vec::new();
    loop {
        match SharedMemory::new(1 << 20, "fill") {
            Ok(b) => blocks.push(b),
            Err(Error::OutOfMemory { .. }) => break,
            Err(other) => panic!("unexpected {other}"),
        }
        assert!(blocks.len() as u64 <= total >> 20, "the pool must run out");
    }
    let mut kept = Vec::new();
    for (i, b) in blocks.into_iter().enumerate() {
        if i % 2 == 0 {
            kept.push(b);
        }
    }
    let stats = manager.stats();
    assert!(stats.pool_free.unwrap() >= total / 2 - (2 << 20), "{stats}");
    assert_eq!(stats.largest_free_block, Some(1 << 20), "{stats}");
    // Plenty free, but not 2 MiB in one piece.
    let err = SharedMemory::new(2 << 20, "big").unwrap_err();
    let Error::OutOfMemory { requested, stats, .. } = &err else { panic!("expected OutOfMemory, got {err}") };
    assert_eq!(*requested, 2 << 20);
    let stats: &Stats = stats;
    assert_eq!(stats.largest_free_block, Some(1 << 20));
    assert_eq!(stats.live_allocations, manager.stats().live_allocations);
    let text = err.to_string();
    assert!(text.contains("largest free block 1.00 MiB") && text.contains("VIDEOCORE_EMU_CMA"), "{text}");
    assert_eq!(err.raw_os_error(), Some(libc_enomem()));
    // A 1 MiB block still fits a hole.
    assert!(SharedMemory::new(1 << 20, "hole").is_ok());
    drop(kept);
    assert_eq!(manager.stats().pool_free, Some(total), "everything is back");
    assert_eq!(manager.stats().largest_free_block, Some(total), "and merged");
}

fn libc_enomem() -> i32 {
    std::io::Error::from(std::io::ErrorKind::OutOfMemory).raw_os_error().unwrap_or(12)
}

#[test]
fn stats_count_live_blocks() {
    let _serial = serial();
    let manager = emulated();
    let before = manager.stats();
    let a = SharedMemory::new(1, "a").unwrap();
    let b = SharedMemory::new(page() + 1, "b").unwrap();
    let during = manager.stats();
    assert_eq!(during.live_allocations, before.live_allocations + 2);
    assert_eq!(during.live_bytes, before.live_bytes + 3 * page() as u64);
    assert_eq!(during.total_allocations, before.total_allocations + 2);
    assert_eq!(during.pool_free.unwrap(), before.pool_free.unwrap() - 3 * page() as u64);
    drop((a, b));
    let after = manager.stats();
    assert_eq!(
        (after.live_allocations, after.live_bytes, after.pool_free),
        (before.live_allocations, before.live_bytes, before.pool_free)
    );
}
