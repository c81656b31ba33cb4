//! The descriptors of emulated devices, and what a fork does to them.
//!
//! One lock guards the table, held only to look up, add or remove an entry
//! (never across a device call, which may block, nor while an entry ends).
//! A fork copies the table but none of the threads behind its instances,
//! and a lock another thread held at the fork would stay held in the child
//! for ever; so the fork's prepare handler takes the table's lock (the
//! child starts with a consistent table and releases it: `std`'s futex
//! lock, whose release wakes no one there and touches nothing the
//! parent's other threads shared, as releasing a `parking_lot` lock with
//! parked waiters would: a child could hang on that), and every entry
//! records the process generation it was made in: the child counts one
//! more, and an entry it inherited is never used (its ioctls fail with
//! `EIO`: the emulated VideoCore lives in the parent's memory, and the
//! kernel's sharing of one instance between the two processes cannot be
//! emulated) nor ended (its drop would join threads that do not exist
//! here): its `close` forgets it. A child forked without the handlers
//! (glibc's `_Fork`, or a `vfork`) is told apart by its process id: every
//! entry is inherited, it never waits for the lock (a `try_lock`, to tell a
//! reused descriptor number apart; when that fails, the entry counts as
//! inherited), and it ends nothing.
//!
//! Whether a descriptor is in the table at all is answered without the
//! lock, so that `close` and `ioctl` on every other descriptor (a pipe
//! closed in a signal handler, a socket's ioctl) never wait on it: one bit
//! per descriptor below [`BITMAP_FDS`], set and cleared under the lock with
//! the entry, and a count of the entries at or above it (any of those and a
//! larger descriptor takes the lock to find out). A descriptor's bit
//! changes only through that descriptor's own open and close (or a
//! `dup2`, `close_range` over it), which the program orders with its uses
//! of it, so a clear bit is a final answer.

use std::collections::BTreeMap;
use std::ffi::c_int;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use crate::sys;

/// What a table holds: something that ends when its descriptor closes.
pub(crate) trait End {
    /// The descriptor is closing (the value is dropped after, once no
    /// other thread uses it).
    fn end(&self);
}

struct Entry<T> {
    generation: u64,
    /// The open file behind the descriptor when it was added
    /// ([`sys::identity`]): another one there now is a descriptor closed
    /// behind the library's back and its number reused.
    identity: Option<(u64, u64)>,
    value: Arc<T>,
}

/// Forks since the library was loaded, in this process's line.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Forks (with the handlers) since the library was loaded, in this
/// process's line: a child's count is its parent's and one more.
pub(crate) fn generation() -> u64 {
    GENERATION.load(Ordering::SeqCst)
}

/// The process the table belongs to (0 until the first entry): a `vfork`
/// child (or a `clone` sharing the memory) runs in it without the fork
/// handlers, with descriptors of its own, and must not end the parent's
/// instances when it closes its copies.
static OWNER: AtomicI32 = AtomicI32::new(0);

/// Whether this process owns the table (the `vfork` child does not).
fn owned_here() -> bool {
    OWNER.load(Ordering::SeqCst) == sys::pid()
}

/// What a descriptor is.
pub(crate) enum Lookup<T> {
    /// An emulated device opened in this process.
    Live(Arc<T>),
    /// One inherited across a fork: unusable here.
    Inherited,
}

/// Descriptors below this have a bit each (65536: a process's default
/// hard limit is far below it).
const BITMAP_FDS: usize = 1 << 16;

/// The table's map.
type Map<T> = BTreeMap<c_int, Entry<T>>;

/// The table's lock held across a fork, from the prepare handler to the
/// parent's or child's (on the forking thread): releasing it is a plain
/// release of `std`'s futex lock (in the child, a wake-up no thread
/// waits for), never a lookup in a table shared with threads that do not
/// exist in the child, as `parking_lot`'s release of a lock with parked
/// waiters is.
pub(crate) struct ForkHold<T: 'static> {
    /// Released when the hold is dropped.
    _guard: MutexGuard<'static, Map<T>>,
}

/// Descriptors and what is behind them.
pub(crate) struct Table<T> {
    map: Mutex<Map<T>>,
    /// Bit `fd % 64` of word `fd / 64`: `fd` (below [`BITMAP_FDS`]) is in
    /// the map. Written under the lock only.
    bits: [AtomicU64; BITMAP_FDS / 64],
    /// Entries at or above [`BITMAP_FDS`]. Written under the lock only.
    high: AtomicUsize,
}

/// Ends an entry taken out of a table: ended and dropped if it is this
/// process's, forgotten if it was inherited.
fn retire<T: End>(entry: Entry<T>) {
    if entry.generation == GENERATION.load(Ordering::SeqCst) {
        entry.value.end();
        drop(entry);
    } else {
        std::mem::forget(entry);
    }
}

impl<T: End> Table<T> {
    pub(crate) const fn new() -> Table<T> {
        Table {
            map: Mutex::new(BTreeMap::new()),
            bits: [const { AtomicU64::new(0) }; BITMAP_FDS / 64],
            high: AtomicUsize::new(0),
        }
    }

    /// The lock (a panic while it was held, which nothing here does,
    /// leaves the map as it was: every change is one insert or remove).
    fn lock(&self) -> MutexGuard<'_, Map<T>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `fd` may be in the table (false: it is not), without the
    /// lock: no lock, no allocation, so safe in a signal handler.
    pub(crate) fn may_hold(&self, fd: c_int) -> bool {
        match usize::try_from(fd) {
            Err(_) => false,
            Ok(i) if i < BITMAP_FDS => self.bits[i / 64].load(Ordering::Acquire) & (1 << (i % 64)) != 0,
            Ok(_) => self.high.load(Ordering::Acquire) != 0,
        }
    }

    /// Marks `fd` present or absent (with the lock held).
    fn mark(&self, fd: c_int, present: bool) {
        match usize::try_from(fd) {
            Err(_) => {}
            Ok(i) if i < BITMAP_FDS => {
                let bit = 1 << (i % 64);
                if present {
                    self.bits[i / 64].fetch_or(bit, Ordering::Release);
                } else {
                    self.bits[i / 64].fetch_and(!bit, Ordering::Release);
                }
            }
            Ok(_) => {
                if present {
                    self.high.fetch_add(1, Ordering::Release);
                } else {
                    self.high.fetch_sub(1, Ordering::Release);
                }
            }
        }
    }

    /// Adds what is behind a new descriptor. An entry already there is a
    /// descriptor closed behind the library's back (an `fclose` of an
    /// `fdopen`ed stream, a `closefrom`): it ends now.
    pub(crate) fn insert(&self, fd: c_int, value: Arc<T>) {
        let entry = Entry { generation: GENERATION.load(Ordering::SeqCst), identity: sys::identity(fd), value };
        let _ = OWNER.compare_exchange(0, sys::pid(), Ordering::SeqCst, Ordering::SeqCst);
        let old = {
            let mut map = self.lock();
            let old = map.insert(fd, entry);
            if old.is_none() {
                self.mark(fd, true);
            }
            old
        };
        if let Some(old) = old {
            retire(old);
        }
    }

    /// What is behind `fd`, if it is an emulated device's.
    pub(crate) fn get(&self, fd: c_int) -> Option<Lookup<T>> {
        if !self.may_hold(fd) {
            return None;
        }
        if !owned_here() {
            // A child forked without the fork handlers (glibc's `_Fork`),
            // whose copy of the lock may be held for good (then every
            // entry counts as the parent's): every entry is the parent's,
            // and a descriptor that is another file now (closed here, its
            // number reused) is the real call's.
            let map = match self.map.try_lock() {
                Ok(map) => map,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => return Some(Lookup::Inherited),
            };
            let identity = map.get(&fd)?.identity;
            drop(map);
            return (identity.is_none() || sys::identity(fd) == identity).then_some(Lookup::Inherited);
        }
        let (lookup, identity) = {
            let map = self.lock();
            let entry = map.get(&fd)?;
            let lookup = if entry.generation == GENERATION.load(Ordering::SeqCst) {
                Lookup::Live(Arc::clone(&entry.value))
            } else {
                Lookup::Inherited
            };
            (lookup, entry.identity)
        };
        // The descriptor still the one added (one system call, for the
        // emulated devices' descriptors only)? If not, it was closed
        // behind the library's back (an `fclose` of an `fdopen`ed stream, a
        // `closefrom`) and its number is something else's now: the stale
        // entry ends, and the call is the real one's.
        if identity.is_some() && sys::identity(fd) != identity {
            drop(lookup);
            self.remove_stale(fd, identity);
            return None;
        }
        Some(lookup)
    }

    /// Takes `fd`'s entry out and ends it if it is still the one added for
    /// the open file `identity` (another thread may have replaced it).
    fn remove_stale(&self, fd: c_int, identity: Option<(u64, u64)>) {
        if !owned_here() {
            return;
        }
        let entry = {
            let mut map = self.lock();
            if map.get(&fd).is_none_or(|e| e.identity != identity) {
                return;
            }
            self.mark(fd, false);
            map.remove(&fd)
        };
        if let Some(entry) = entry {
            retire(entry);
        }
    }

    /// Takes `fd` out of the table and ends what was behind it (outside
    /// the lock: ending may join the VideoCore's threads, or close
    /// descriptors, which comes back here). Nothing in a `vfork` child.
    pub(crate) fn remove(&self, fd: c_int) {
        if !self.may_hold(fd) || !owned_here() {
            return;
        }
        let entry = {
            let mut map = self.lock();
            let entry = map.remove(&fd);
            if entry.is_some() {
                self.mark(fd, false);
            }
            entry
        };
        if let Some(entry) = entry {
            retire(entry);
        }
    }

    /// Takes every descriptor in `fds` out of the table and ends what was
    /// behind them (`close_range`).
    pub(crate) fn remove_range(&self, fds: RangeInclusive<c_int>) {
        if fds.is_empty() || !owned_here() {
            return;
        }
        let taken = {
            let mut map = self.lock();
            let keys: Vec<c_int> = map.range(fds).map(|(&fd, _)| fd).collect();
            let mut taken = Vec::with_capacity(keys.len());
            for fd in keys {
                if let Some(entry) = map.remove(&fd) {
                    self.mark(fd, false);
                    taken.push(entry);
                }
            }
            taken
        };
        for entry in taken {
            retire(entry);
        }
    }

    /// The fork's prepare handler: hold the table still across the fork.
    pub(crate) fn fork_prepare(&'static self) -> ForkHold<T> {
        ForkHold { _guard: self.lock() }
    }

    /// The fork's handler in the parent: the lock goes back.
    pub(crate) fn fork_parent(&self, hold: ForkHold<T>) {
        drop(hold);
    }

    /// The fork's handler in the child: every entry so far is inherited,
    /// and the lock goes back.
    pub(crate) fn fork_child(&self, hold: ForkHold<T>) {
        GENERATION.fetch_add(1, Ordering::SeqCst);
        OWNER.store(sys::pid(), Ordering::SeqCst);
        drop(hold);
    }
}
