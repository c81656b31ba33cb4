//! Failures injected at every 7th allocation never leak, whatever step
//! fails, and the program can carry on.

mod common;

use std::num::NonZeroU32;

use common::{emulated, resources, serial};
use vcsm::{emulated as emu, BufferPool, Error, SharedMemory};

#[test]
fn every_seventh_allocation_fails_without_leaking() {
    let _serial = serial();
    let manager = emulated();
    drop(SharedMemory::new(1, "warm-up").unwrap());
    let before = resources();
    let failed_before = manager.stats().failed_allocations;
    emu::set_fail_every(NonZeroU32::new(7));
    assert_eq!(emu::fail_every(), NonZeroU32::new(7));

    let (mut ok, mut oom, mut no_fd, mut no_map) = (0, 0, 0, 0);
    let mut live = Vec::new();
    for i in 1..=7 * 300 {
        match SharedMemory::new(4096 * (1 + i % 5), "inject") {
            Ok(mut mem) => {
                assert!(i % 7 != 0, "allocation {i} should have failed");
                mem.copy_from_slice(&[1, 2, 3]).unwrap();
                ok += 1;
                // Keep some alive across failures, as a real program would.
                if i % 3 == 0 {
                    live.push(mem);
                }
            }
            Err(e) => {
                assert_eq!(i % 7, 0, "allocation {i} failed unexpectedly: {e}");
                match &e {
                    Error::OutOfMemory { stats, .. } => {
                        assert!(stats.pool_free.is_some());
                        oom += 1
                    }
                    Error::Syscall { operation, .. } if operation.starts_with("memfd_create") => no_fd += 1,
                    Error::Syscall { operation, .. } if operation.starts_with("mmap") => no_map += 1,
                    other => panic!("unexpected error {other}"),
                }
            }
        }
    }
    emu::set_fail_every(None);
    assert_eq!(ok, 6 * 300);
    assert_eq!((oom, no_fd, no_map), (100, 100, 100), "failures cycle through the three steps");
    assert_eq!(manager.stats().failed_allocations - failed_before, 300);
    drop(live);
    assert_eq!(resources(), before);
}

#[test]
fn a_pool_survives_injected_failures() {
    let _serial = serial();
    emulated();
    let pool = BufferPool::new().unwrap();
    drop(pool.acquire(1, "warm-up").unwrap());
    pool.trim();
    let before = resources();
    emu::set_fail_every(NonZeroU32::new(2));
    let mut failures = 0;
    for i in 0..100 {
        match pool.acquire(4096 * (1 + i % 4), "p") {
            Ok(block) => drop(block),
            Err(_) => failures += 1,
        }
    }
    emu::set_fail_every(None);
    assert!(failures > 0, "misses allocate, and some of those fail");
    assert_eq!(pool.stats().idle_blocks, 4, "one idle block per layout once allocated");
    pool.trim();
    assert_eq!(resources(), before);
}
