//! The emulated VideoCore memory: what the `Emulated` driver allocates from,
//! and what the emulated MMAL components read and write through.
//!
//! It behaves like vc-sm-cma so that a program developed against it behaves
//! the same on a Pi:
//!
//! * sizes are rounded up to whole pages, size 0 is refused;
//! * every block is a real file descriptor (a memfd) mapped exactly as a
//!   dma-buf is, so descriptor and mapping leaks show up as they would; it
//!   is sealed at its size (`F_SEAL_SHRINK | F_SEAL_GROW`), as a dma-buf
//!   cannot be resized, so no holder of its descriptor can truncate it
//!   under a mapping;
//! * importing memory this process already maps is refused, and only
//!   dma-bufs and memfds that can be sealed against shrinking are imported;
//! * VideoCore handles come from their own number space (`0x4000_0001` on),
//!   disjoint from file descriptors, so passing an fd where a handle belongs
//!   is caught; a handle is not reused while the process runs (up to 2³⁰
//!   allocations);
//! * bus addresses are in the `0xC000_0000` uncached alias;
//! * blocks come from a contiguous pool (256 MiB unless `VIDEOCORE_EMU_CMA`
//!   says otherwise, e.g. `64M`; at most 1 GiB, the size of the alias) with a
//!   page-granular first-fit allocator, so exhaustion and fragmentation are
//!   real and reported with the same `OutOfMemory` error as on hardware.
//!
//! Failures can be injected to test error paths: `VIDEOCORE_EMU_FAIL_EVERY=N`
//! or [`set_fail_every`] makes every Nth allocation fail, cycling through the
//! steps where a real allocation can fail (pool exhausted, no descriptor
//! left, mapping refused).
//!
//! The VideoCore side of a block is reached by handle, as the firmware does
//! with `mem_handle_table` and zero-copy buffers. That part is for the
//! software VideoCore's components (the `mmal-emu` crate), not for
//! applications, and is compiled only with the `device-access` feature.

pub mod library;
pub(crate) mod pool;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::lock;
use crate::sys::RawRegion;
use crate::{Error, Result};

/// Bus address of the first byte of the emulated pool (the VideoCore's
/// uncached alias).
pub const BUS_BASE: u32 = 0xC000_0000;

/// Pool size when `VIDEOCORE_EMU_CMA` is not set: 256 MiB.
pub const DEFAULT_POOL_SIZE: u64 = 256 << 20;

/// Largest pool: the 1 GiB the `0xC000_0000` alias can address.
pub const MAX_POOL_SIZE: u64 = 1 << 30;

/// First VideoCore handle handed out.
pub(crate) const FIRST_HANDLE: u32 = 0x4000_0001;

/// Environment variable with the pool size (`64M`, `1G`, `268435456`…).
pub const POOL_SIZE_VAR: &str = "VIDEOCORE_EMU_CMA";

/// Environment variable that makes every Nth allocation fail.
pub const FAIL_EVERY_VAR: &str = "VIDEOCORE_EMU_FAIL_EVERY";

/// What the VideoCore knows about one emulated block.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlockInfo {
    /// The VideoCore handle.
    pub handle: u32,
    /// Size in bytes (page-rounded).
    pub size: usize,
    /// Bus address of the first byte.
    pub bus_address: u32,
    /// The name given at allocation.
    pub name: String,
}

// Without `device-access` nothing reads a block through its entry.
#[cfg_attr(not(feature = "device-access"), allow(dead_code))]
struct Entry {
    region: RawRegion,
    /// The block's descriptor (its memfd or dma-buf), open while the entry
    /// is listed: the registration goes before the block's descriptor
    /// closes. The device side maps it for itself ([`device::map`]).
    fd: std::os::fd::RawFd,
    info: BlockInfo,
    /// CPU accesses in progress (locks, copies, reads back). The device side
    /// refuses the block while any is, so the two never touch the bytes at
    /// the same time: both sides change or check this under the registry
    /// mutex, and the device copies while holding it.
    cpu_accesses: u32,
    /// The device side works in the block itself (a zero-copy buffer it
    /// holds, see [`device::hold`]): the CPU side keeps off it meanwhile.
    device_holds: u32,
}

/// The emulated VideoCore's memory state (one per process, like the
/// hardware).
pub(crate) struct VideoCore {
    pub(crate) pool: Mutex<pool::FirstFit>,
    registry: Mutex<HashMap<u32, Entry>>,
    next_handle: AtomicU32,
}

static VIDEOCORE: OnceLock<VideoCore> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// 0 = off.
static FAIL_EVERY: AtomicU32 = AtomicU32::new(0);
static ATTEMPTS: AtomicU64 = AtomicU64::new(0);

/// Parses a size such as `64M`, `512k`, `1G`, `1GiB` or `268435456`.
pub(crate) fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let t = t.strip_suffix("iB").or_else(|| t.strip_suffix('B')).unwrap_or(t);
    let (digits, shift) = match t.char_indices().last()? {
        (i, 'k' | 'K') => (&t[..i], 10),
        (i, 'm' | 'M') => (&t[..i], 20),
        (i, 'g' | 'G') => (&t[..i], 30),
        _ => (t, 0),
    };
    let value: u64 = digits.trim().parse().ok()?;
    value.checked_mul(1u64 << shift)
}

fn env_pool_size(page: u64) -> Result<u64> {
    const EXPECTED: &str = "a size such as 64M or 256M: whole pages, at most 1G";
    let Ok(value) = std::env::var(POOL_SIZE_VAR) else {
        return Ok(DEFAULT_POOL_SIZE);
    };
    match parse_size(&value) {
        Some(size) if size >= page && size <= MAX_POOL_SIZE && size % page == 0 => Ok(size),
        _ => Err(Error::InvalidEnvironment { name: POOL_SIZE_VAR, value, expected: EXPECTED }),
    }
}

fn env_fail_every() -> Result<Option<NonZeroU32>> {
    match std::env::var(FAIL_EVERY_VAR) {
        Err(_) => Ok(None),
        Ok(value) => match value.trim().parse::<u32>() {
            Ok(n) => Ok(NonZeroU32::new(n)),
            Err(_) => Err(Error::InvalidEnvironment {
                name: FAIL_EVERY_VAR,
                value,
                expected: "a whole number N (every Nth allocation fails; 0 = never)",
            }),
        },
    }
}

/// The emulated VideoCore, created on first use from the environment.
pub(crate) fn videocore() -> Result<&'static VideoCore> {
    if let Some(vc) = VIDEOCORE.get() {
        return Ok(vc);
    }
    let _guard = lock(&INIT);
    if let Some(vc) = VIDEOCORE.get() {
        return Ok(vc);
    }
    let size = env_pool_size(crate::sys::page_size() as u64)?;
    if let Some(n) = env_fail_every()? {
        set_fail_every(Some(n));
    }
    Ok(VIDEOCORE.get_or_init(|| VideoCore {
        pool: Mutex::new(pool::FirstFit::new(size)),
        registry: Mutex::new(HashMap::new()),
        next_handle: AtomicU32::new(FIRST_HANDLE),
    }))
}

/// Makes every `n`th allocation of the emulated driver fail (`None`: never),
/// counting from this call. Overrides `VIDEOCORE_EMU_FAIL_EVERY`.
///
/// Injected failures cycle through the ways a real allocation fails: the pool
/// is exhausted ([`Error::OutOfMemory`]), no file descriptor is left
/// (`memfd_create` fails with `EMFILE`), the mapping is refused (`mmap` fails
/// with `ENOMEM`). Each is cleaned up like its real counterpart, so a test
/// can show that its own error paths leak nothing.
///
/// The setting is process-wide: tests that use it should not run beside tests
/// that expect every allocation to succeed.
pub fn set_fail_every(n: Option<NonZeroU32>) {
    FAIL_EVERY.store(n.map_or(0, NonZeroU32::get), Ordering::SeqCst);
    ATTEMPTS.store(0, Ordering::SeqCst);
}

/// The current fault-injection period, if any.
pub fn fail_every() -> Option<NonZeroU32> {
    NonZeroU32::new(FAIL_EVERY.load(Ordering::SeqCst))
}

/// Where an injected failure strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    Pool,
    Descriptor,
    Mapping,
}

/// Counts one allocation attempt and says whether (and where) it must fail.
pub(crate) fn next_fault() -> Option<Fault> {
    let every = u64::from(FAIL_EVERY.load(Ordering::SeqCst));
    if every == 0 {
        return None;
    }
    let attempt = ATTEMPTS.fetch_add(1, Ordering::SeqCst) + 1;
    if attempt % every != 0 {
        return None;
    }
    Some(match (attempt / every) % 3 {
        1 => Fault::Pool,
        2 => Fault::Descriptor,
        _ => Fault::Mapping,
    })
}

impl VideoCore {
    /// Puts a mapped block in the registry under a fresh handle.
    pub(crate) fn register(
        &'static self,
        region: RawRegion,
        fd: std::os::fd::BorrowedFd<'_>,
        size: usize,
        bus_address: u32,
        name: &str,
    ) -> Registration {
        let mut registry = lock(&self.registry);
        let handle = loop {
            let h = self.next_handle.fetch_add(1, Ordering::Relaxed);
            if h < FIRST_HANDLE {
                // Wrapped after 2^30 allocations: restart the handle space.
                self.next_handle.store(FIRST_HANDLE, Ordering::Relaxed);
                continue;
            }
            if !registry.contains_key(&h) {
                break h;
            }
        };
        let info = BlockInfo { handle, size, bus_address, name: name.to_owned() };
        let fd = std::os::fd::AsRawFd::as_raw_fd(&fd);
        registry.insert(handle, Entry { region, fd, info, cpu_accesses: 0, device_holds: 0 });
        Registration { vc: self, handle }
    }

    #[cfg(feature = "device-access")]
    fn with_entry<R>(&self, handle: u32, f: impl FnOnce(&Entry) -> Result<R>) -> Result<R> {
        let registry = lock(&self.registry);
        let entry = registry.get(&handle).ok_or(Error::UnknownHandle { handle })?;
        f(entry)
    }
}

/// A block's place in the registry; removed on drop, before its mapping goes.
#[derive(Debug)]
pub(crate) struct Registration {
    vc: &'static VideoCore,
    handle: u32,
}

impl Registration {
    pub(crate) fn handle(&self) -> u32 {
        self.handle
    }

    /// The CPU starts using the block: the device side keeps off it until
    /// [`end_cpu`](Self::end_cpu).
    ///
    /// # Errors
    ///
    /// [`Error::DeviceBusy`] while the device side works in the block.
    pub(crate) fn begin_cpu(&self) -> Result<()> {
        if let Some(entry) = lock(&self.vc.registry).get_mut(&self.handle) {
            if entry.device_holds > 0 {
                return Err(Error::DeviceBusy { handle: self.handle });
            }
            entry.cpu_accesses += 1;
        }
        Ok(())
    }

    /// Ends one [`begin_cpu`](Self::begin_cpu).
    pub(crate) fn end_cpu(&self) {
        if let Some(entry) = lock(&self.vc.registry).get_mut(&self.handle) {
            entry.cpu_accesses = entry.cpu_accesses.saturating_sub(1);
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&self.vc.registry).remove(&self.handle);
    }
}

impl std::fmt::Debug for VideoCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoCore").finish_non_exhaustive()
    }
}

#[cfg(feature = "device-access")]
mod device;
#[cfg(feature = "device-access")]
pub use device::{begin_cpu, end_cpu, hold, lookup, map, read, write, DeviceHold, DeviceMapping};

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("512k"), Some(512 << 10));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size(" 8 M "), Some(8 << 20));
        assert_eq!(parse_size("M"), None);
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("99999999999999999999G"), None);
        assert_eq!(parse_size(""), None);
    }
}
