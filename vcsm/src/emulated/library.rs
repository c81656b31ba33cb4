//! One emulated memory per process. The software VideoCore's C library
//! (`cargo xtask videocore-libs`) carries its own copy of this crate, and
//! so of the emulated memory its components read. A program that loads that
//! library (through `MMAL_LIB_DIR`, as the `mmal` loader does) and also uses
//! this crate must allocate from the library's memory, or the components
//! would not know its blocks. The library therefore exports a table of C
//! functions, [`LibraryTable`], under [`TABLE_SYMBOL`]; the `Emulated`
//! driver allocates through it when the process has such a library, and
//! maps the blocks itself from the descriptors it hands back.
//!
//! The table is C, not Rust, because the two copies of this crate are
//! compiled apart and share no Rust types.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::OnceLock;

/// The symbol a software VideoCore library exports: a function taking
/// nothing and returning a pointer to its [`LibraryTable`].
pub const TABLE_SYMBOL: &CStr = c"videocore_emu_vcsm_table";

/// The table's version: a library whose table says otherwise is not used.
pub const TABLE_VERSION: u32 = 1;

/// A block the library allocated or imported.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct LibraryBlock {
    /// The VideoCore handle.
    pub handle: u32,
    /// The bus address of the first byte.
    pub bus_address: u32,
    /// Size in bytes (page-rounded).
    pub size: u64,
    /// A new descriptor of the block's memory, which the caller owns.
    pub fd: c_int,
}

/// The software VideoCore library's emulated memory, as C functions. Each
/// returning `c_int` answers 0, or an `errno` value (`ENOMEM` when the pool
/// is exhausted).
#[repr(C)]
pub struct LibraryTable {
    /// [`TABLE_VERSION`].
    pub version: u32,
    /// Allocates `size` bytes (already page-rounded) named `name`, with a
    /// `CacheMode` as its number.
    pub alloc: unsafe extern "C" fn(size: u64, name: *const c_char, cache: u32, out: *mut LibraryBlock) -> c_int,
    /// Imports a descriptor of shareable memory (the library duplicates it).
    pub import: unsafe extern "C" fn(fd: c_int, name: *const c_char, out: *mut LibraryBlock) -> c_int,
    /// Frees a block by VideoCore handle.
    pub free: unsafe extern "C" fn(handle: u32),
    /// The CPU begins using a block: the components keep off it until
    /// `end_cpu`. Called once per CPU access, each matched by one `end_cpu`
    /// (the library's components trust the count to keep off bytes the
    /// caller is using).
    pub begin_cpu: unsafe extern "C" fn(handle: u32),
    /// Ends one `begin_cpu`, once the caller holds no reference to the
    /// block's bytes.
    pub end_cpu: unsafe extern "C" fn(handle: u32),
    /// Writes the pool's total, free and largest free bytes into `out[0..3]`.
    pub pool: unsafe extern "C" fn(out: *mut u64),
}

// SAFETY: the table holds function pointers only, into a library that is
// never unloaded (opened with RTLD_NODELETE, or already loaded for good);
// the functions are thread-safe (the library's memory has its own locks).
unsafe impl Sync for LibraryTable {}

/// The table of the software VideoCore library this process uses, if any:
/// the one in `MMAL_LIB_DIR` (opened here as the `mmal` loader opens it),
/// else one already loaded into the process. Looked up once.
pub(crate) fn find() -> Option<&'static LibraryTable> {
    static TABLE: OnceLock<Option<usize>> = OnceLock::new();
    let addr = *TABLE.get_or_init(|| lookup().map(|t| t as *const LibraryTable as usize));
    // SAFETY: a non-zero address came from `lookup`, which checked it.
    addr.map(|a| unsafe { &*(a as *const LibraryTable) })
}

fn lookup() -> Option<&'static LibraryTable> {
    let from_dir = std::env::var_os("MMAL_LIB_DIR").and_then(|dir| {
        let path = std::path::Path::new(&dir).join("libvcsm.so");
        let path = CString::new(path.into_os_string().into_encoded_bytes()).ok()?;
        // SAFETY: a NUL-terminated path; the library is kept loaded for the
        // life of the process (RTLD_NODELETE), so what it exports stays valid.
        let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL | libc::RTLD_NODELETE) };
        (!handle.is_null()).then_some(handle)
    });
    let handle = from_dir.unwrap_or(libc::RTLD_DEFAULT);
    // SAFETY: `handle` is a library handle or RTLD_DEFAULT; the name is
    // NUL-terminated.
    let symbol = unsafe { libc::dlsym(handle, TABLE_SYMBOL.as_ptr()) };
    if symbol.is_null() {
        return None;
    }
    // SAFETY: the symbol is a software VideoCore library's table function,
    // `const LibraryTable *(void)`, which returns a pointer to a table that
    // lives as long as the library (for good).
    let table = unsafe {
        let get: unsafe extern "C" fn() -> *const LibraryTable = std::mem::transmute(symbol);
        get().as_ref()
    }?;
    if table.version != TABLE_VERSION {
        log::warn!("the software VideoCore library's memory table is version {}, not {TABLE_VERSION}", table.version);
        return None;
    }
    log::debug!("VideoCore shared memory: the software VideoCore library's emulated memory");
    Some(table)
}
