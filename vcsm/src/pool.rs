//! Reusing blocks across allocations, keyed by layout.

use std::collections::HashMap;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::{manager::check_name, CacheMode, Result, ServiceManager, SharedMemory};

/// The layout a pool keys blocks by: page-rounded size and cache mode.
type Layout = (usize, CacheMode);

/// Keeps freed blocks and hands them out again for the same layout.
///
/// A program that switches camera modes forever then allocates once per
/// distinct layout instead of once per switch, so the contiguous pool cannot
/// fragment under it (the failure mode of allocating and freeing per switch).
///
/// ```
/// # fn main() -> vcsm::Result<()> {
/// let pool = vcsm::BufferPool::new()?;
/// for _ in 0..100 {
///     let video = pool.acquire(1920 * 1088 * 3 / 2, "video")?;
///     drop(video); // back to the pool
///     let still = pool.acquire(3280 * 2464 * 3 / 2, "still")?;
///     drop(still);
/// }
/// assert_eq!(pool.stats().misses, 2); // two allocations in all
/// # Ok(()) }
/// ```
///
/// Idle blocks stay allocated until [`trim`](Self::trim) or until the last
/// clone of the pool and every block taken from it are dropped. A reused
/// block keeps its contents and the name it was first allocated with.
#[derive(Clone)]
pub struct BufferPool {
    inner: Arc<Inner>,
}

struct Inner {
    manager: &'static ServiceManager,
    idle: Mutex<HashMap<Layout, Vec<SharedMemory>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Inner {
    fn idle(&self) -> std::sync::MutexGuard<'_, HashMap<Layout, Vec<SharedMemory>>> {
        crate::lock(&self.idle)
    }
}

/// Counters of a [`BufferPool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PoolStats {
    /// Acquisitions served by an idle block.
    pub hits: u64,
    /// Acquisitions that allocated a new block.
    pub misses: u64,
    /// Blocks waiting in the pool.
    pub idle_blocks: u64,
    /// Bytes of those blocks.
    pub idle_bytes: u64,
}

impl fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferPool").field("stats", &self.stats()).finish()
    }
}

impl BufferPool {
    /// A pool over the process's [`ServiceManager`].
    ///
    /// # Errors
    ///
    /// Any error of [`ServiceManager::get`].
    pub fn new() -> Result<BufferPool> {
        Ok(BufferPool::with_manager(ServiceManager::get()?))
    }

    /// A pool over a given manager.
    pub fn with_manager(manager: &'static ServiceManager) -> BufferPool {
        BufferPool {
            inner: Arc::new(Inner {
                manager,
                idle: Mutex::new(HashMap::new()),
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
            }),
        }
    }

    /// An uncached block of at least `size` bytes, reused if one of the same
    /// layout is idle.
    ///
    /// # Errors
    ///
    /// As for [`SharedMemory::with_cache`]; the size and name are checked
    /// even when an idle block is reused.
    pub fn acquire(&self, size: usize, name: &str) -> Result<PooledMemory> {
        self.acquire_with_cache(size, name, CacheMode::None)
    }

    /// As [`acquire`](Self::acquire), with a cache mode.
    ///
    /// # Errors
    ///
    /// As for [`acquire`](Self::acquire).
    pub fn acquire_with_cache(&self, size: usize, name: &str, cache: CacheMode) -> Result<PooledMemory> {
        check_name(name)?;
        let layout = (self.inner.manager.rounded_size(size)?, cache);
        let reused = self.inner.idle().get_mut(&layout).and_then(Vec::pop);
        let mem = match reused {
            Some(mut mem) => {
                self.inner.hits.fetch_add(1, Ordering::Relaxed);
                mem.set_requested_size(size);
                mem
            }
            None => {
                let mem = self.inner.manager.allocate(size, name, cache)?;
                self.inner.misses.fetch_add(1, Ordering::Relaxed);
                mem
            }
        };
        Ok(PooledMemory { mem: Some(mem), pool: self.inner.clone() })
    }

    /// The pool's counters.
    pub fn stats(&self) -> PoolStats {
        let idle = self.inner.idle();
        let blocks = idle.values().flatten();
        PoolStats {
            hits: self.inner.hits.load(Ordering::Relaxed),
            misses: self.inner.misses.load(Ordering::Relaxed),
            idle_blocks: idle.values().map(|v| v.len() as u64).sum(),
            idle_bytes: blocks.map(|m| m.size() as u64).sum(),
        }
    }

    /// Frees every idle block; returns how many were freed.
    pub fn trim(&self) -> usize {
        let drained: Vec<SharedMemory> = self.inner.idle().drain().flat_map(|(_, v)| v).collect();
        drained.len()
    }
}

/// A block on loan from a [`BufferPool`]; derefs to [`SharedMemory`] and goes
/// back to the pool when dropped.
pub struct PooledMemory {
    /// `Some` until drop or [`into_inner`](Self::into_inner).
    mem: Option<SharedMemory>,
    pool: Arc<Inner>,
}

impl fmt::Debug for PooledMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PooledMemory").field(&**self).finish()
    }
}

impl PooledMemory {
    /// Takes the block out of the pool's care: it is freed when dropped.
    pub fn into_inner(mut self) -> SharedMemory {
        self.mem.take().unwrap_or_else(|| unreachable!("present until drop"))
    }
}

impl Deref for PooledMemory {
    type Target = SharedMemory;

    fn deref(&self) -> &SharedMemory {
        self.mem.as_ref().unwrap_or_else(|| unreachable!("present until drop"))
    }
}

impl DerefMut for PooledMemory {
    fn deref_mut(&mut self) -> &mut SharedMemory {
        self.mem.as_mut().unwrap_or_else(|| unreachable!("present until drop"))
    }
}

impl Drop for PooledMemory {
    fn drop(&mut self) {
        if let Some(mem) = self.mem.take() {
            let layout = (mem.size(), mem.cache_mode());
            self.pool.idle().entry(layout).or_default().push(mem);
        }
    }
}
