//! Refused requests leave nothing behind.

mod common;

use common::{emulated, mapping_count, resources};
use vcsm::SharedMemory;

#[test]
fn error_paths_leak_nothing() {
    emulated();
    drop(SharedMemory::new(1, "warm-up").unwrap());
    let before = resources();
    let mappings_before = mapping_count();
    for _ in 0..1000 {
        assert!(SharedMemory::new(0, "zero").is_err());
        assert!(SharedMemory::new(1, &"x".repeat(64)).is_err());
        assert!(SharedMemory::new(usize::MAX, "huge").is_err());
        // Larger than the whole pool: the driver refuses after validation.
        assert!(SharedMemory::new(2 << 30, "pool").is_err());
        let mut mem = SharedMemory::new(1, "copy").unwrap();
        assert!(mem.copy_from_slice(&[0; 1 << 16]).is_err());
    }
    assert_eq!(resources(), before);
    assert_eq!(mapping_count(), mappings_before);
}
