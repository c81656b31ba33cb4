//! 100 000 allocate -> copy -> lock -> free cycles leave descriptors,
//! mappings and the emulated pool exactly as they were. Alone in its binary,
//! so the process-wide mapping count is stable too.

mod common;

use common::{emulated, mapping_count, resources};
use vcsm::ndarray::Array3;
use vcsm::SharedMemory;

#[test]
fn hundred_thousand_cycles_leak_nothing() {
    emulated();
    let table = Array3::<u8>::from_shape_fn((4, 39, 52), |(c, y, x)| (c + y + x) as u8);
    // Warm up lazily created state (the emulator, logging) before measuring.
    drop(SharedMemory::new(1, "warm-up").unwrap());
    let before = resources();
    let mappings_before = mapping_count();
    for i in 0..100_000usize {
        let size = table.len() + (i * 4099) % (64 << 10);
        let mut mem = SharedMemory::new(size, "cycle").unwrap();
        mem.copy_from_array(&table).unwrap();
        let mut lock = mem.lock().unwrap();
        // Past the table (blocks are page-rounded, so there is room).
        let spare = lock.len() - table.len();
        lock[table.len() + i % spare] = i as u8;
        assert_eq!(lock[0], table[[0, 0, 0]]);
        drop(lock);
        drop(mem);
    }
    assert_eq!(resources(), before);
    assert_eq!(mapping_count(), mappings_before);
}
