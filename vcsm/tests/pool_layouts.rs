//! A program alternating two buffer layouts 10 000 times allocates exactly
//! twice through a BufferPool.

mod common;

use common::emulated;
use vcsm::BufferPool;

#[test]
fn two_layouts_ten_thousand_times_allocate_twice() {
    let manager = emulated();
    let pool = BufferPool::with_manager(manager);
    let allocations_before = manager.stats().total_allocations;
    let video = 1920 * 1088 * 3 / 2;
    let still = 3280 * 2464 * 3 / 2;
    for i in 0..10_000 {
        let size = if i % 2 == 0 { video } else { still };
        let mut block = pool.acquire(size, "mode switch").unwrap();
        block.copy_from_slice(&[i as u8; 16]).unwrap();
    }
    assert_eq!(manager.stats().total_allocations - allocations_before, 2);
    let stats = pool.stats();
    assert_eq!((stats.misses, stats.hits, stats.idle_blocks), (2, 9_998, 2));
}
