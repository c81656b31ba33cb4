//! The emulated VideoCore behaves like vc-sm-cma.

mod common;

use std::os::fd::AsRawFd;

use common::emulated;
use vcsm::ndarray::{s, Array, Array2, Array3, ArrayD, IxDyn};
use vcsm::{
    emulated as emu, BufferPool, CacheMode, DriverKind, Error, Lock, PooledMemory, SharedMemory, Stats, VcHandle,
};

fn page() -> usize {
    // What the emulator rounds to.
    emulated().rounded_size(1).unwrap()
}

#[test]
fn sizes_are_page_rounded() {
    emulated();
    let mem = SharedMemory::new(4 * 39 * 52, "lens shading").unwrap();
    assert_eq!(mem.requested_size(), 8112);
    assert_eq!(mem.size(), 8112usize.next_multiple_of(page()));
    assert_eq!(mem.name(), "lens shading");
    assert_eq!(mem.driver(), DriverKind::Emulated);
    assert_eq!(mem.cache_mode(), CacheMode::None);
    let exact = SharedMemory::new(page(), "").unwrap();
    assert_eq!(exact.size(), page());
}

#[test]
fn bad_sizes_and_names_are_refused() {
    emulated();
    assert!(matches!(SharedMemory::new(0, "x"), Err(Error::ZeroSize)));
    let err = SharedMemory::new(usize::MAX, "x").unwrap_err();
    assert!(matches!(err, Error::SizeTooLarge { driver: DriverKind::Emulated, .. }), "{err}");
    // Beyond the drivers' 32-bit size field (only expressible on 64-bit).
    if let Ok(size) = usize::try_from(u64::from(u32::MAX) + 1) {
        let err = SharedMemory::new(size, "x").unwrap_err();
        assert!(matches!(err, Error::SizeTooLarge { .. }), "{err}");
    }
    // Rounds past the 32-bit field on every target.
    let err = SharedMemory::new(u32::MAX as usize, "x").unwrap_err();
    assert!(matches!(err, Error::SizeTooLarge { .. }), "{err}");
    let err = SharedMemory::new(16, &"n".repeat(32)).unwrap_err();
    assert!(err.to_string().contains("31 bytes"), "{err}");
    assert!(matches!(SharedMemory::new(16, "nul\0name"), Err(Error::InvalidName { .. })));
    assert!(SharedMemory::new(16, &"n".repeat(31)).is_ok());
}

#[test]
fn handles_are_distinct_from_descriptors_and_bus_addresses_in_the_uncached_alias() {
    emulated();
    let blocks: Vec<SharedMemory> = (0..8).map(|i| SharedMemory::new(1000 * (i + 1), "h").unwrap()).collect();
    let mut handles: Vec<u32> = blocks.iter().map(|b| b.vc_handle().get()).collect();
    handles.sort_unstable();
    handles.dedup();
    assert_eq!(handles.len(), 8, "handles are unique");
    for b in &blocks {
        let fd = b.export_dmabuf().unwrap();
        assert!(b.vc_handle().get() >= 0x4000_0001, "handle {} looks like a descriptor", b.vc_handle());
        assert_ne!(b.vc_handle().get() as i32, fd.as_raw_fd());
        assert!(b.bus_address() >= emu::BUS_BASE, "bus address {:#x}", b.bus_address());
        assert_eq!(b.bus_address() % page() as u32, 0);
    }
    // Blocks occupy disjoint extents of the pool.
    let mut extents: Vec<(u32, u32)> =
        blocks.iter().map(|b| (b.bus_address(), b.bus_address() + b.size() as u32)).collect();
    extents.sort_unstable();
    assert!(extents.windows(2).all(|w| w[0].1 <= w[1].0), "{extents:x?}");
}

#[test]
fn new_memory_is_zeroed_and_round_trips() {
    emulated();
    let mut mem = SharedMemory::new(10_000, "rt").unwrap();
    assert!(mem.to_vec().unwrap().iter().all(|&b| b == 0));
    let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
    mem.copy_from_slice(&data).unwrap();
    let back = mem.to_vec().unwrap();
    assert_eq!(back.len(), mem.size());
    assert_eq!(&back[..data.len()], &data[..]);
    let mut part = [0u8; 5];
    mem.read_into(10, &mut part).unwrap();
    assert_eq!(part, data[10..15]);
    assert!(matches!(mem.read_into(mem.size() - 2, &mut part), Err(Error::OutOfBounds { .. })));
    assert!(matches!(mem.read_into(usize::MAX, &mut part), Err(Error::OutOfBounds { .. })));
}

#[test]
fn a_copy_larger_than_the_block_copies_nothing() {
    emulated();
    let mut mem = SharedMemory::new(1, "small").unwrap();
    let too_big = vec![0xAA; mem.size() + 1];
    let err = mem.copy_from_slice(&too_big).unwrap_err();
    assert!(
        matches!(err, Error::CopyTooLarge { len, capacity } if len == too_big.len() as u64 && capacity == mem.size() as u64)
    );
    assert!(mem.to_vec().unwrap().iter().all(|&b| b == 0), "nothing was written");
    let array = Array2::<u32>::zeros((mem.size() / 4 + 1, 1));
    assert!(matches!(mem.copy_from_array(&array), Err(Error::CopyTooLarge { .. })));
    assert!(matches!(mem.copy_from_array(&array.t()), Err(Error::CopyTooLarge { .. })));
}

// The device side is the software VideoCore's (feature `device-access`,
// which `cargo test --workspace` turns on through mmal-emu).
#[cfg(feature = "device-access")]
#[test]
fn lock_gives_the_whole_block_and_writes_are_seen_by_the_videocore() {
    emulated();
    let mut mem = SharedMemory::new(100, "lock").unwrap();
    {
        let mut lock: Lock<'_> = mem.lock().unwrap();
        assert_eq!(lock.len(), page());
        lock[..3].copy_from_slice(b"abc");
        lock.finish().unwrap();
    }
    let mut seen = [0u8; 3];
    emu::read(mem.vc_handle().get(), 0, &mut seen).unwrap();
    assert_eq!(&seen, b"abc");
    // And the other way: what the VideoCore writes, the CPU reads.
    // SAFETY: no reference to the block's bytes is live (nothing is locked
    // and no slice of it was taken), and no begin/end_cpu is unbalanced.
    unsafe { emu::write(mem.vc_handle().get(), 1, b"XY") }.unwrap();
    assert_eq!(&mem.to_vec().unwrap()[..3], b"aXY");
}

// The device side is the software VideoCore's (feature `device-access`,
// which `cargo test --workspace` turns on through mmal-emu).
#[cfg(feature = "device-access")]
#[test]
fn registry_is_bounds_checked_and_forgets_freed_blocks() {
    emulated();
    let mem = SharedMemory::new(1, "reg").unwrap();
    let handle = mem.vc_handle().get();
    let info = emu::lookup(handle).unwrap();
    assert_eq!(
        (info.handle, info.size, info.bus_address, info.name.as_str()),
        (handle, mem.size(), mem.bus_address(), "reg")
    );
    let mut buf = vec![0u8; mem.size() + 1];
    assert!(matches!(emu::read(handle, 0, &mut buf), Err(Error::OutOfBounds { .. })));
    // SAFETY: the range is refused before anything is written.
    assert!(matches!(unsafe { emu::write(handle, usize::MAX, b"x") }, Err(Error::OutOfBounds { .. })));
    assert!(emu::read(handle, mem.size() - 1, &mut buf[..1]).is_ok());
    drop(mem);
    assert!(matches!(emu::lookup(handle), Err(Error::UnknownHandle { handle: h }) if h == handle));
    assert!(matches!(emu::read(handle, 0, &mut buf[..1]), Err(Error::UnknownHandle { .. })));
    // A file descriptor is not a handle.
    let other = SharedMemory::new(1, "fd").unwrap();
    let fd = other.export_dmabuf().unwrap();
    assert!(matches!(emu::lookup(fd.as_raw_fd() as u32), Err(Error::UnknownHandle { .. })));
}

#[test]
fn an_exported_block_outlives_its_block_and_imports_with_its_bytes() {
    emulated();
    let mut original = SharedMemory::new(5000, "orig").unwrap();
    original.copy_from_slice(b"shared bytes").unwrap();
    let (size, handle) = (original.size(), original.vc_handle());
    let fd = original.export_dmabuf().unwrap();
    drop(original);
    // The descriptor holds the memory; imported, it is one block again.
    let imported = SharedMemory::import_dmabuf(std::os::fd::AsFd::as_fd(&fd), "imported").unwrap();
    drop(fd);
    assert_ne!(imported.vc_handle(), handle);
    assert_eq!(imported.size(), size);
    assert_eq!(&imported.to_vec().unwrap()[..12], b"shared bytes");
}

/// Two blocks over the same pages would let one `Lock`'s `&mut [u8]` and
/// another's `&[u8]` alias: importing memory this process already maps is
/// refused, whichever descriptor of it is given.
#[test]
fn importing_memory_this_process_maps_is_refused() {
    use std::os::fd::AsFd;
    emulated();
    let mut original = SharedMemory::new(5000, "orig").unwrap();
    original.copy_from_slice(b"mine").unwrap();
    let fd = original.export_dmabuf().unwrap();
    let err = SharedMemory::import_dmabuf(fd.as_fd(), "again").unwrap_err();
    assert!(
        matches!(&err, Error::AlreadyMapped { handle: Some(h), name } if *h == original.vc_handle().get() && name == "orig"),
        "{err}"
    );
    assert!(err.to_string().contains("already mapped by this process"), "{err}");
    assert_eq!(err.raw_os_error(), Some(libc::EBUSY));
    {
        // The refusal left the block whole, and it still locks.
        let lock = original.lock().unwrap();
        assert_eq!(&lock[..4], b"mine");
    }
    // Once the block is gone its memory may be imported, once.
    drop(original);
    let imported = SharedMemory::import_dmabuf(fd.as_fd(), "imported").unwrap();
    assert!(matches!(SharedMemory::import_dmabuf(fd.as_fd(), "twice"), Err(Error::AlreadyMapped { .. })));
    let exported_again = imported.export_dmabuf().unwrap();
    assert!(matches!(
        SharedMemory::import_dmabuf(exported_again.as_fd(), "via export"),
        Err(Error::AlreadyMapped { name, .. }) if name == "imported"
    ));
    assert_eq!(&imported.to_vec().unwrap()[..4], b"mine");
    drop(imported);
    assert!(SharedMemory::import_dmabuf(exported_again.as_fd(), "after").is_ok());
}

/// A dma-buf cannot change size; neither can the emulated one, whoever
/// holds its descriptor (a truncated memfd would make the next access
/// through a `Lock` die with SIGBUS).
#[test]
fn an_exported_block_cannot_be_resized() {
    emulated();
    let mut mem = SharedMemory::new(5000, "sealed").unwrap();
    mem.copy_from_slice(b"still here").unwrap();
    let file = std::fs::File::from(mem.export_dmabuf().unwrap());
    // Checked before the memory is touched again, so that without the seal
    // this fails as an assertion, not as SIGBUS.
    let err = file.set_len(0).expect_err("a VideoCore block cannot be truncated");
    assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
    let err = file.set_len(mem.size() as u64 * 2).expect_err("nor grown");
    assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
    assert_eq!(file.metadata().unwrap().len(), mem.size() as u64);
    let mut lock = mem.lock().unwrap();
    assert_eq!(&lock[..10], b"still here");
    let last = lock.len() - 1;
    lock[last] = 1;
    lock.finish().unwrap();
}

/// What can be truncated under the mapping is not imported.
#[test]
fn a_plain_file_is_not_imported() {
    emulated();
    let path = std::env::temp_dir().join(format!("vcsm-import-test-{}", std::process::id()));
    let file = std::fs::File::options().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    file.set_len(4096).unwrap();
    let err = SharedMemory::import_dmabuf(std::os::fd::AsFd::as_fd(&file), "file").unwrap_err();
    assert!(matches!(err, Error::Unsupported { driver: DriverKind::Emulated, .. }), "{err}");
    assert!(err.to_string().contains("neither a dma-buf nor a memfd"), "{err}");
}

#[test]
fn copy_from_array_follows_logical_order_for_every_layout() {
    emulated();
    let mut mem = SharedMemory::new(1 << 20, "arrays").unwrap();
    fn check<T: vcsm::bytemuck::Pod + std::fmt::Debug + PartialEq, D: vcsm::ndarray::Dimension>(
        mem: &mut SharedMemory,
        view: vcsm::ndarray::ArrayView<'_, T, D>,
    ) {
        mem.copy_from_array(&view).unwrap();
        let expected: Vec<T> = view.iter().copied().collect();
        let bytes = mem.to_vec().unwrap();
        let got: &[T] = vcsm::bytemuck::cast_slice(&bytes[..expected.len() * std::mem::size_of::<T>()]);
        assert_eq!(got, &expected[..], "shape {:?} strides {:?}", view.shape(), view.strides());
    }
    let table = Array3::<u8>::from_shape_fn((4, 39, 52), |(c, y, x)| (c * 64 + y + x) as u8);
    check(&mut mem, table.view());
    check(&mut mem, table.view().permuted_axes([2, 0, 1]));
    check(&mut mem, table.slice(s![.., ..;2, ..;-3]));
    check(&mut mem, table.slice(s![1, .., 5]));
    let grid = Array2::<u16>::from_shape_fn((70, 45), |(y, x)| (y * 1000 + x) as u16);
    check(&mut mem, grid.view());
    check(&mut mem, grid.t());
    check(&mut mem, grid.slice(s![..;-1, 3..40;2]));
    let floats = Array::from_shape_fn((3, 5, 7, 2), |(a, b, c, d)| (a * 1000 + b * 100 + c * 10 + d) as f32);
    check(&mut mem, floats.view());
    check(&mut mem, floats.view().reversed_axes());
    // Single bytes over a contiguous axis take the 8 x 8 register transpose:
    // sizes with ragged edges, tiny ones, more than one 256 x 256 tile, and a
    // negative column stride.
    for (rows, cols) in [(8, 8), (37, 21), (3, 5), (9, 300), (300, 517)] {
        let bytes = Array2::<u8>::from_shape_fn((rows, cols), |(r, c)| (r * 131 + c * 7 + r / 3) as u8);
        check(&mut mem, bytes.t());
        check(&mut mem, bytes.t().slice_move(s![.., ..;-1]));
        check(&mut mem, bytes.t().slice_move(s![1.., 2..;2]));
    }
    let scalar = ArrayD::<u64>::from_elem(IxDyn(&[]), 0xDEAD_BEEF);
    check(&mut mem, scalar.view());
    let empty = Array2::<u8>::zeros((0, 9));
    mem.copy_from_array(&empty).unwrap();
}

#[test]
fn pool_hands_back_blocks_of_the_same_layout() {
    let manager = emulated();
    let pool = BufferPool::with_manager(manager);
    let a = pool.acquire(1000, "a").unwrap();
    let handle = a.vc_handle();
    drop(a);
    let b = pool.acquire(page(), "b").unwrap();
    assert_eq!(b.vc_handle(), handle, "same page-rounded size: reused");
    assert_eq!(b.requested_size(), page());
    assert_eq!(b.name(), "a", "a reused block keeps its first name");
    let c = pool.acquire_with_cache(1000, "c", CacheMode::Host).unwrap();
    assert_ne!(c.vc_handle(), handle, "another cache mode is another layout");
    let stats = pool.stats();
    assert_eq!((stats.hits, stats.misses, stats.idle_blocks), (1, 2, 0));
    drop((b, c));
    let stats = pool.stats();
    assert_eq!((stats.idle_blocks, stats.idle_bytes), (2, 2 * page() as u64));
    assert!(matches!(pool.acquire(0, "z"), Err(Error::ZeroSize)));
    assert!(matches!(pool.acquire(1000, &"n".repeat(40)), Err(Error::InvalidName { .. })));
    let kept: SharedMemory = pool.acquire(1000, "kept").unwrap().into_inner();
    assert_eq!(pool.stats().idle_blocks, 1);
    drop(kept);
    assert_eq!(pool.stats().idle_blocks, 1, "a detached block does not come back");
    assert_eq!(pool.trim(), 1);
    assert_eq!(pool.stats().idle_blocks, 0);
}

#[test]
fn handle_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<SharedMemory>();
    send_sync::<Lock<'static>>();
    send_sync::<VcHandle>();
    send_sync::<BufferPool>();
    send_sync::<PooledMemory>();
    send_sync::<vcsm::ServiceManager>();
    send_sync::<Stats>();
    send_sync::<Error>();
}

#[test]
fn errors_explain_what_to_do() {
    emulated();
    let err = SharedMemory::new(0, "x").unwrap_err();
    assert!(err.to_string().contains("at least one byte"), "{err}");
    let mut mem = SharedMemory::new(1, "x").unwrap();
    let err = mem.copy_from_slice(&vec![0; 1 << 20]).unwrap_err();
    assert!(err.to_string().contains("allocate a block of at least 1048576 bytes"), "{err}");
}
