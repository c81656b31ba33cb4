//! Eight threads allocate, write, read back and free at once.

mod common;

use std::sync::Barrier;

use common::{block_mapping_count, emulated, fd_count, pool_free, serial};
use vcsm::{BufferPool, SharedMemory};

#[test]
fn eight_threads_at_once() {
    let _serial = serial();
    emulated();
    drop(SharedMemory::new(1, "warm-up").unwrap());
    // Thread stacks and malloc arenas stay mapped after threads exit, so
    // count descriptors, block mappings and pool space.
    let before = (fd_count(), block_mapping_count(), pool_free());
    let live_before = vcsm::ServiceManager::get().unwrap().stats().live_allocations;
    let barrier = Barrier::new(8);
    let pool = BufferPool::new().unwrap();
    std::thread::scope(|scope| {
        for t in 0..8u8 {
            let barrier = &barrier;
            let pool = &pool;
            scope.spawn(move || {
                barrier.wait();
                let mut kept = Vec::new();
                for i in 0..2000usize {
                    let size = 1 + (i * 977 + usize::from(t) * 131) % 50_000;
                    let mut mem = SharedMemory::new(size, "thread").unwrap();
                    let pattern = vec![t ^ i as u8; size];
                    mem.copy_from_slice(&pattern).unwrap();
                    assert_eq!(&mem.to_vec().unwrap()[..size], &pattern[..], "thread {t} saw another's bytes");
                    if i % 10 == 0 {
                        kept.push(mem);
                    }
                    let mut pooled = pool.acquire(4096 * (1 + i % 3), "pooled").unwrap();
                    pooled.copy_from_slice(&[t; 64]).unwrap();
                }
                // Blocks move between threads: free them on another one.
                kept
            });
        }
    });
    let idle = pool.stats().idle_blocks;
    assert!((3..=24).contains(&idle), "{idle} idle blocks");
    assert!(block_mapping_count() > before.1, "idle pool blocks are mapped");
    pool.trim();
    assert_eq!((fd_count(), block_mapping_count(), pool_free()), before);
    assert_eq!(vcsm::ServiceManager::get().unwrap().stats().live_allocations, live_before);
}

#[test]
fn blocks_can_be_freed_on_another_thread() {
    let _serial = serial();
    emulated();
    let live_before = vcsm::ServiceManager::get().unwrap().stats().live_allocations;
    let mem = SharedMemory::new(1, "moved").unwrap();
    let _handle = mem.vc_handle().get();
    std::thread::spawn(move || drop(mem)).join().unwrap();
    assert_eq!(vcsm::ServiceManager::get().unwrap().stats().live_allocations, live_before);
    #[cfg(feature = "device-access")]
    assert!(vcsm::emulated::lookup(_handle).is_err());
}
