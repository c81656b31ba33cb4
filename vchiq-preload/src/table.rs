//! The descriptors of emulated devices, and what a fork does to them.
//!
//! One lock guards the table, held only to look up, add or remove an entry
//! (never across a device call, which may block, nor while an entry ends).
//! A fork copies the table but none of the threads behind its instances,
//! and a lock another thread held at the fork would stay held in the child
//! for ever; so the fork's prepare handler takes the table's lock (the
//! child starts with a consistent table and releases it), and every entry
//! records the process generation it was made in: the child counts one
//! more, and an entry it inherited is never used (its ioctls fail with
//! `EIO`: the emulated VideoCore lives in the parent's memory, and the
//! kernel's sharing of one instance between the two processes cannot be
//! emulated) nor ended (its drop would join threads that do not exist
//! here): its `close` forgets it.

use std::collections::BTreeMap;
use std::ffi::c_int;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::sys;

/// What a table holds: something that ends when its descriptor closes.
pub(crate) trait End {
    /// The descriptor is closing (the value is dropped after, once no
    /// other thread uses it).
    fn end(&self);
}

struct Entry<T> {
    generation: u64,
    value: Arc<T>,
}

/// Forks since the library was loaded, in this process's line.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// What a descriptor is.
pub(crate) enum Lookup<T> {
    /// An emulated device opened in this process.
    Live(Arc<T>),
    /// One inherited across a fork: unusable here.
    Inherited,
}

/// Descriptors and what is behind them.
pub(crate) struct Table<T> {
    map: Mutex<BTreeMap<c_int, Entry<T>>>,
    /// Entries in the table: with none, a `close` or `ioctl` takes no lock.
    entries: AtomicUsize,
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
        Table { map: Mutex::new(BTreeMap::new()), entries: AtomicUsize::new(0) }
    }

    /// Adds what is behind a new descriptor. An entry already there is a
    /// descriptor closed behind the library's back (`dup2` over it,
    /// `close_range`): it ends now.
    pub(crate) fn insert(&self, fd: c_int, value: Arc<T>) {
        let entry = Entry { generation: GENERATION.load(Ordering::SeqCst), value };
        let old = self.map.lock().insert(fd, entry);
        match old {
            Some(old) => retire(old),
            None => {
                self.entries.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    /// What is behind `fd`, if it is an emulated device's.
    pub(crate) fn get(&self, fd: c_int) -> Option<Lookup<T>> {
        if self.entries.load(Ordering::SeqCst) == 0 {
            return None;
        }
        let map = self.map.lock();
        let entry = map.get(&fd)?;
        if entry.generation == GENERATION.load(Ordering::SeqCst) {
            Some(Lookup::Live(Arc::clone(&entry.value)))
        } else {
            Some(Lookup::Inherited)
        }
    }

    /// Takes `fd` out of the table and ends what was behind it (outside
    /// the lock: ending may join the VideoCore's threads, or close
    /// descriptors, which comes back here).
    pub(crate) fn remove(&self, fd: c_int) {
        if self.entries.load(Ordering::SeqCst) == 0 {
            return;
        }
        let entry = self.map.lock().remove(&fd);
        if let Some(entry) = entry {
            self.entries.fetch_sub(1, Ordering::SeqCst);
            retire(entry);
        }
    }

    /// The fork's prepare handler: hold the table still across the fork.
    pub(crate) fn fork_prepare(&self) {
        std::mem::forget(self.map.lock());
    }

    /// The fork's handler in the parent.
    pub(crate) fn fork_parent(&self) {
        sys::force_unlock(&self.map);
    }

    /// The fork's handler in the child: every entry so far is inherited.
    pub(crate) fn fork_child(&self) {
        GENERATION.fetch_add(1, Ordering::SeqCst);
        sys::force_unlock(&self.map);
    }
}
