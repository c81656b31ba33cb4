//! libvcsm's API (`libvcsm.so`), backed by the software VideoCore's
//! emulated VCSM memory: the same memory its components read, so a handle
//! from `vcsm_malloc` works as a lens shading table or a zero-copy payload.
//!
//! User handles are this library's own numbers (from 1); VideoCore handles
//! are the emulated memory's. `vcsm_lock` maps nothing new: every block is
//! mapped while it lives, and the pointer is the same for each lock. Cache
//! calls succeed and do nothing (the emulated memory is coherent).
//! `vcsm_exit` with the last `vcsm_init` frees the blocks still allocated,
//! as closing the driver does on a Pi.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::os::fd::{BorrowedFd, IntoRawFd};

use parking_lot::Mutex;
use vcsm::{CacheMode, SharedMemory};

struct Block {
    memory: SharedMemory,
    /// Where the block is mapped.
    addr: usize,
    /// `vcsm_lock` calls not yet unlocked.
    locks: u32,
}

#[derive(Default)]
struct Blocks {
    by_handle: HashMap<c_uint, Block>,
    next: c_uint,
    /// `vcsm_init` calls not yet matched by `vcsm_exit`.
    users: u32,
}

static BLOCKS: Mutex<Option<Blocks>> = Mutex::new(None);

fn with_blocks<R>(f: impl FnOnce(&mut Blocks) -> R) -> R {
    let mut guard = BLOCKS.lock();
    f(guard.get_or_insert_with(Blocks::default))
}

// No panic crosses into C: the emulator's guard, shared by every export.
use mmal_emu::c_api::guarded;

/// A block's name as the driver keeps it: at most 31 bytes, no NUL.
fn block_name(name: *const c_char) -> String {
    if name.is_null() {
        return String::new();
    }
    // SAFETY: a non-null name is a NUL-terminated C string (libvcsm's
    // contract).
    let name = unsafe { CStr::from_ptr(name) }.to_string_lossy();
    let mut end = name.len().min(31);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

fn add(memory: SharedMemory) -> c_uint {
    with_blocks(|b| {
        let mut memory = memory;
        let addr = memory.as_mut_ptr() as usize;
        b.next = b.next.checked_add(1).unwrap_or(1);
        while b.by_handle.contains_key(&b.next) || b.next == 0 {
            b.next = b.next.wrapping_add(1);
        }
        let handle = b.next;
        b.by_handle.insert(handle, Block { memory, addr, locks: 0 });
        handle
    })
}

/// The handle of the block mapped at `ptr` (its start, or inside it).
fn handle_of(b: &Blocks, ptr: *const c_void) -> Option<c_uint> {
    let p = ptr as usize;
    b.by_handle.iter().find(|(_, blk)| p >= blk.addr && p < blk.addr + blk.memory.size()).map(|(&h, _)| h)
}

fn init() -> c_int {
    guarded("vcsm_init", -1, || match crate::provider::memory() {
        Ok(_) => {
            with_blocks(|b| b.users += 1);
            0
        }
        Err(e) => {
            log::error!("vcsm_init: {e}");
            -1
        }
    })
}

/// `vcsm_init`: 0 once the emulated memory is open, -1 if not.
#[no_mangle]
pub extern "C" fn vcsm_init() -> c_int {
    init()
}

/// `vcsm_init_ex(want_export, fd)`: as [`vcsm_init`]; the emulated memory
/// exports dma-bufs either way, and `fd` is not used.
#[no_mangle]
pub extern "C" fn vcsm_init_ex(_want_export: c_int, _fd: c_int) -> c_int {
    init()
}

/// `vcsm_exit`: the last one frees the blocks still allocated.
#[no_mangle]
pub extern "C" fn vcsm_exit() {
    let freed = with_blocks(|b| {
        if b.users == 0 {
            log::error!("vcsm_exit without vcsm_init");
            return HashMap::new();
        }
        b.users -= 1;
        if b.users == 0 {
            std::mem::take(&mut b.by_handle)
        } else {
            HashMap::new()
        }
    });
    if !freed.is_empty() {
        log::debug!("vcsm_exit: freeing {} blocks still allocated", freed.len());
    }
    drop(freed);
}

/// `vcsm_status`: logs the blocks allocated (at debug level).
#[no_mangle]
pub extern "C" fn vcsm_status(_status: c_int, _pid: c_int) {
    with_blocks(|b| {
        for (h, blk) in &b.by_handle {
            log::debug!("vcsm block {h}: {} bytes, {:?}, {} locks", blk.memory.size(), blk.memory.name(), blk.locks);
        }
    });
}

/// `vcsm_malloc_cache(size, cache, name)`: a new block (`cache`: 0 none,
/// 1 host, 2 VideoCore, 3 both); its user handle, or 0.
///
/// # Safety
///
/// `name` is null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn vcsm_malloc_cache(size: c_uint, cache: c_int, name: *const c_char) -> c_uint {
    let cache = match cache {
        1 => CacheMode::Host,
        2 => CacheMode::VideoCore,
        3 => CacheMode::Both,
        _ => CacheMode::None,
    };
    let name = block_name(name);
    guarded("vcsm_malloc", 0, || {
        match crate::provider::memory().and_then(|_| SharedMemory::with_cache(size as usize, &name, cache)) {
            Ok(memory) => add(memory),
            Err(e) => {
                log::error!("vcsm_malloc: {size} bytes ({name:?}): {e}");
                0
            }
        }
    })
}

/// `vcsm_malloc(size, name)`: [`vcsm_malloc_cache`] without caching.
///
/// # Safety
///
/// As for [`vcsm_malloc_cache`].
#[no_mangle]
pub unsafe extern "C" fn vcsm_malloc(size: c_uint, name: *const c_char) -> c_uint {
    // SAFETY: the caller's contract.
    unsafe { vcsm_malloc_cache(size, 0, name) }
}

/// `vcsm_malloc_share`: sharing another process's block is not offered by
/// the vc-sm-cma driver, and not here: 0.
#[no_mangle]
pub extern "C" fn vcsm_malloc_share(_handle: c_uint) -> c_uint {
    log::error!("vcsm_malloc_share: not supported (as with vc-sm-cma)");
    0
}

/// `vcsm_free`: frees the block (a locked one too).
#[no_mangle]
pub extern "C" fn vcsm_free(handle: c_uint) {
    let block = with_blocks(|b| b.by_handle.remove(&handle));
    if block.is_none() {
        log::error!("vcsm_free: no block with handle {handle}");
    }
}

/// `vcsm_vc_hdl_from_hdl`: the VideoCore handle of a block, or 0.
#[no_mangle]
pub extern "C" fn vcsm_vc_hdl_from_hdl(handle: c_uint) -> c_uint {
    with_blocks(|b| b.by_handle.get(&handle).map_or(0, |blk| blk.memory.vc_handle().get()))
}

/// `vcsm_vc_hdl_from_ptr`: the VideoCore handle of the block mapped at
/// `ptr`, or 0.
#[no_mangle]
pub extern "C" fn vcsm_vc_hdl_from_ptr(ptr: *const c_void) -> c_uint {
    with_blocks(|b| handle_of(b, ptr).and_then(|h| b.by_handle.get(&h)).map_or(0, |blk| blk.memory.vc_handle().get()))
}

/// `vcsm_vc_addr_from_hdl`: the bus address of a block, or 0.
#[no_mangle]
pub extern "C" fn vcsm_vc_addr_from_hdl(handle: c_uint) -> c_uint {
    with_blocks(|b| b.by_handle.get(&handle).map_or(0, |blk| blk.memory.bus_address()))
}

/// `vcsm_usr_handle`: the user handle of the block mapped at `ptr`, or 0.
#[no_mangle]
pub extern "C" fn vcsm_usr_handle(ptr: *const c_void) -> c_uint {
    with_blocks(|b| handle_of(b, ptr).unwrap_or(0))
}

/// `vcsm_lock`: the block's address, or NULL for an unknown handle.
#[no_mangle]
pub extern "C" fn vcsm_lock(handle: c_uint) -> *mut c_void {
    with_blocks(|b| match b.by_handle.get_mut(&handle) {
        Some(blk) => {
            blk.locks += 1;
            blk.addr as *mut c_void
        }
        None => {
            log::error!("vcsm_lock: no block with handle {handle}");
            std::ptr::null_mut()
        }
    })
}

/// `vcsm_lock_cache`: as [`vcsm_lock`]; the cache setting is not used.
#[no_mangle]
pub extern "C" fn vcsm_lock_cache(handle: c_uint, _cache_update: c_int, _cache_result: *mut c_int) -> *mut c_void {
    vcsm_lock(handle)
}

fn unlock(handle: Option<c_uint>) -> c_int {
    with_blocks(|b| match handle.and_then(|h| b.by_handle.get_mut(&h)) {
        Some(blk) if blk.locks > 0 => {
            blk.locks -= 1;
            0
        }
        Some(_) => {
            log::error!("vcsm_unlock: the block is not locked");
            -1
        }
        None => -1,
    })
}

/// `vcsm_unlock_hdl`: 0, or -1 for a block unknown or not locked.
#[no_mangle]
pub extern "C" fn vcsm_unlock_hdl(handle: c_uint) -> c_int {
    unlock(Some(handle))
}

/// `vcsm_unlock_hdl_sp`: as [`vcsm_unlock_hdl`].
#[no_mangle]
pub extern "C" fn vcsm_unlock_hdl_sp(handle: c_uint, _cache_no_flush: c_int) -> c_int {
    unlock(Some(handle))
}

/// `vcsm_unlock_ptr`: as [`vcsm_unlock_hdl`] for the block at `ptr`.
#[no_mangle]
pub extern "C" fn vcsm_unlock_ptr(ptr: *mut c_void) -> c_int {
    let handle = with_blocks(|b| handle_of(b, ptr));
    unlock(handle)
}

/// `vcsm_unlock_ptr_sp`: as [`vcsm_unlock_ptr`].
#[no_mangle]
pub extern "C" fn vcsm_unlock_ptr_sp(ptr: *mut c_void, _cache_no_flush: c_int) -> c_int {
    vcsm_unlock_ptr(ptr)
}

/// `vcsm_clean_invalid`: the emulated memory is coherent: 0.
#[no_mangle]
pub extern "C" fn vcsm_clean_invalid(_structure: *mut c_void) -> c_int {
    0
}

/// `vcsm_clean_invalid2`: as [`vcsm_clean_invalid`].
#[no_mangle]
pub extern "C" fn vcsm_clean_invalid2(_structure: *mut c_void) -> c_int {
    0
}

/// `vcsm_export_dmabuf`: a new dma-buf descriptor for the block (the
/// caller closes it), or -1.
#[no_mangle]
pub extern "C" fn vcsm_export_dmabuf(handle: c_uint) -> c_int {
    guarded("vcsm_export_dmabuf", -1, || {
        with_blocks(|b| match b.by_handle.get(&handle).map(|blk| blk.memory.export_dmabuf()) {
            Some(Ok(fd)) => fd.into_raw_fd(),
            Some(Err(e)) => {
                log::error!("vcsm_export_dmabuf: {e}");
                -1
            }
            None => -1,
        })
    })
}

/// `vcsm_import_dmabuf(fd, name)`: a block for a dma-buf this memory
/// exported; its user handle, or 0.
///
/// # Safety
///
/// `name` is null or a NUL-terminated string; `fd` is open for the call.
#[no_mangle]
pub unsafe extern "C" fn vcsm_import_dmabuf(fd: c_int, name: *const c_char) -> c_uint {
    if fd < 0 {
        return 0;
    }
    let name = block_name(name);
    // SAFETY: the caller keeps `fd` open for the call; it is only borrowed.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    guarded("vcsm_import_dmabuf", 0, || {
        match crate::provider::memory().and_then(|_| SharedMemory::import_dmabuf(fd, &name)) {
            Ok(memory) => add(memory),
            Err(e) => {
                log::error!("vcsm_import_dmabuf: {e}");
                0
            }
        }
    })
}

// ---------------------------------------------------------------------------
// The memory table: this library's emulated memory for the `vcsm` crate of
// a program that loaded it (see `vcsm::emulated::library`).

use vcsm::emulated::library::{LibraryBlock, LibraryTable, TABLE_VERSION};

/// Blocks allocated or imported through the table, by VideoCore handle.
static TABLE_BLOCKS: Mutex<Option<HashMap<u32, SharedMemory>>> = Mutex::new(None);

fn keep(memory: SharedMemory, out: *mut LibraryBlock) -> c_int {
    let fd = match memory.export_dmabuf() {
        Ok(fd) => fd.into_raw_fd(),
        Err(e) => {
            log::error!("vcsm table: cannot duplicate the block's descriptor: {e}");
            return libc_errno(&e);
        }
    };
    let block = LibraryBlock {
        handle: memory.vc_handle().get(),
        bus_address: memory.bus_address(),
        size: memory.size() as u64,
        fd,
    };
    // SAFETY: the caller passes a block to fill (the table's contract).
    unsafe { out.write(block) };
    let mut blocks = TABLE_BLOCKS.lock();
    blocks.get_or_insert_with(HashMap::new).insert(block.handle, memory);
    0
}

/// An `errno` value for a failed allocation.
fn libc_errno(e: &vcsm::Error) -> c_int {
    match e {
        vcsm::Error::OutOfMemory { .. } => 12,
        _ => 5,
    }
}

unsafe extern "C" fn table_alloc(size: u64, name: *const c_char, cache: u32, out: *mut LibraryBlock) -> c_int {
    if out.is_null() {
        return 22;
    }
    let name = block_name(name);
    let cache = match cache {
        1 => CacheMode::Host,
        2 => CacheMode::VideoCore,
        3 => CacheMode::Both,
        _ => CacheMode::None,
    };
    guarded("vcsm table alloc", 5, || {
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        match crate::provider::memory().and_then(|_| SharedMemory::with_cache(size, &name, cache)) {
            Ok(memory) => keep(memory, out),
            Err(e) => {
                log::debug!("vcsm table alloc: {e}");
                libc_errno(&e)
            }
        }
    })
}

unsafe extern "C" fn table_import(fd: c_int, name: *const c_char, out: *mut LibraryBlock) -> c_int {
    if out.is_null() || fd < 0 {
        return 22;
    }
    let name = block_name(name);
    // SAFETY: the caller keeps `fd` open for the call; it is only borrowed.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    guarded("vcsm table import", 5, || {
        match crate::provider::memory().and_then(|_| SharedMemory::import_dmabuf(fd, &name)) {
            Ok(memory) => keep(memory, out),
            Err(e) => {
                log::debug!("vcsm table import: {e}");
                libc_errno(&e)
            }
        }
    })
}

unsafe extern "C" fn table_free(handle: u32) {
    let block = TABLE_BLOCKS.lock().as_mut().and_then(|b| b.remove(&handle));
    if block.is_none() {
        log::error!("vcsm table free: no block {handle:#x}");
    }
}

unsafe extern "C" fn table_begin_cpu(handle: u32) {
    // SAFETY: the table's contract (`LibraryTable::begin_cpu`): the program's
    // `vcsm` calls it once per CPU access to a block it got from this table,
    // and `table_end_cpu` once when that access ends.
    if let Err(e) = unsafe { vcsm::emulated::begin_cpu(handle) } {
        log::error!("vcsm table: {e}");
    }
}

unsafe extern "C" fn table_end_cpu(handle: u32) {
    // SAFETY: the table's contract: called once per `table_begin_cpu`, when
    // the program's CPU access to the block has ended.
    if let Err(e) = unsafe { vcsm::emulated::end_cpu(handle) } {
        log::error!("vcsm table: {e}");
    }
}

unsafe extern "C" fn table_pool(out: *mut u64) {
    if out.is_null() {
        return;
    }
    let stats = crate::provider::memory().map(|m| m.stats()).ok();
    let values = stats
        .map_or([0; 3], |s| [s.pool_total.unwrap_or(0), s.pool_free.unwrap_or(0), s.largest_free_block.unwrap_or(0)]);
    // SAFETY: the caller passes room for three values (checked non-null).
    unsafe { std::ptr::copy_nonoverlapping(values.as_ptr(), out, 3) };
}

static TABLE: LibraryTable = LibraryTable {
    version: TABLE_VERSION,
    alloc: table_alloc,
    import: table_import,
    free: table_free,
    begin_cpu: table_begin_cpu,
    end_cpu: table_end_cpu,
    pool: table_pool,
};

/// This library's emulated memory as C functions, for the `vcsm` crate of
/// a program that loaded the library: one emulated memory per process.
#[no_mangle]
pub extern "C" fn videocore_emu_vcsm_table() -> *const LibraryTable {
    &TABLE
}
