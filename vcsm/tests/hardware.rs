//! Tests for a real Raspberry Pi with /dev/vcsm-cma or /dev/vcsm:
//! `VIDEOCORE=hardware cargo test -p vcsm --features hardware-tests --test hardware`
#![cfg(feature = "hardware-tests")]

use vcsm::{DriverKind, ServiceManager, SharedMemory};

fn hardware() -> &'static ServiceManager {
    let manager = ServiceManager::get().expect("a VideoCore driver opens (is the user in the `video` group?)");
    assert_ne!(manager.driver(), DriverKind::Emulated, "run with VIDEOCORE=hardware on a Raspberry Pi");
    manager
}

#[test]
fn round_trip_through_real_videocore_memory() {
    hardware();
    let mut mem = SharedMemory::new(100_000, "hardware-test").unwrap();
    assert_ne!(mem.vc_handle().get(), 0);
    assert!(mem.bus_address() != 0);
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 13) as u8).collect();
    mem.copy_from_slice(&data).unwrap();
    assert_eq!(&mem.to_vec().unwrap()[..data.len()], &data[..]);
}

#[test]
fn allocation_cycles_return_the_pool() {
    let manager = hardware();
    drop(SharedMemory::new(1 << 20, "warm-up").unwrap());
    let before = manager.stats();
    for _ in 0..2000 {
        let mut mem = SharedMemory::new(1 << 20, "cycle").unwrap();
        mem.copy_from_slice(&[7; 4096]).unwrap();
    }
    let after = manager.stats();
    assert_eq!(after.live_allocations, before.live_allocations);
    if let (Some(a), Some(b)) = (after.pool_free, before.pool_free) {
        // Other processes share CMA; allow 4 MiB of drift from them.
        assert!(a + (4 << 20) >= b, "CmaFree fell from {b} to {a}: a leak");
    }
}

#[test]
fn dmabuf_export_import_on_cma() {
    let manager = hardware();
    if manager.driver() != DriverKind::Cma {
        return;
    }
    let mut mem = SharedMemory::new(8192, "export").unwrap();
    mem.copy_from_slice(b"dma-buf").unwrap();
    let fd = mem.export_dmabuf().unwrap();
    // Not while this process maps it: the two blocks would alias.
    let err = SharedMemory::import_dmabuf(std::os::fd::AsFd::as_fd(&fd), "import").unwrap_err();
    assert!(matches!(err, vcsm::Error::AlreadyMapped { .. }), "{err}");
    // The descriptor keeps the dma-buf alive; imported, it is one block again.
    drop(mem);
    let imported = SharedMemory::import_dmabuf(std::os::fd::AsFd::as_fd(&fd), "import").unwrap();
    assert_eq!(&imported.to_vec().unwrap()[..7], b"dma-buf");
}
