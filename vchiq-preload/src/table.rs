//! The descriptors of emulated devices, and what a fork does to them.
//!
//! One lock guards the table, held only to look up, add or remove an entry
//! (never across a device call, which may block). A fork copies the table
//! but none of the threads behind its instances, and a lock another thread
//! held at the fork would stay held in the child for ever; so the fork's
//! prepare handler takes the table's lock (the child starts with a
//! consistent table and releases it), and every entry records the process
//! generation it was made in: the child counts one more, and an entry it
//! inherited is never used (its ioctls fail with `EIO`: the emulated
//! VideoCore lives in the parent's memory, and the kernel's sharing of one
//! instance between the two processes cannot be emulated) nor dropped (its
//! drop would join threads that do not exist here): its `close` forgets it.

use std::collections::BTreeMap;
use std::ffi::c_int;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::Instance;

struct Entry {
    generation: u64,
    instance: Arc<Instance>,
}

static TABLE: Mutex<BTreeMap<c_int, Entry>> = Mutex::new(BTreeMap::new());
/// Entries in the table: with none, a `close` or `ioctl` takes no lock.
static ENTRIES: AtomicUsize = AtomicUsize::new(0);
/// Forks since the library was loaded, in this process's line.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// What a descriptor is.
pub(crate) enum Lookup {
    /// An emulated device opened in this process.
    Live(Arc<Instance>),
    /// One inherited across a fork: unusable here.
    Inherited,
}

/// Ends an entry taken out of the table: shut down and dropped if it is
/// this process's, forgotten if it was inherited.
fn retire(entry: Entry) {
    if entry.generation == GENERATION.load(Ordering::SeqCst) {
        entry.instance.shut_down();
        drop(entry);
    } else {
        std::mem::forget(entry);
    }
}

/// Adds the instance behind a new descriptor. An entry already there is a
/// descriptor closed behind the library's back (`dup2` over it,
/// `close_range`): it ends now.
pub(crate) fn insert(fd: c_int, instance: Arc<Instance>) {
    let entry = Entry { generation: GENERATION.load(Ordering::SeqCst), instance };
    let old = TABLE.lock().insert(fd, entry);
    match old {
        Some(old) => retire(old),
        None => {
            ENTRIES.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// The instance behind `fd`, if it is an emulated device's.
pub(crate) fn get(fd: c_int) -> Option<Lookup> {
    if ENTRIES.load(Ordering::SeqCst) == 0 {
        return None;
    }
    let table = TABLE.lock();
    let entry = table.get(&fd)?;
    if entry.generation == GENERATION.load(Ordering::SeqCst) {
        Some(Lookup::Live(Arc::clone(&entry.instance)))
    } else {
        Some(Lookup::Inherited)
    }
}

/// Takes `fd` out of the table and ends its instance (outside the lock:
/// ending joins the VideoCore's threads).
pub(crate) fn remove(fd: c_int) {
    if ENTRIES.load(Ordering::SeqCst) == 0 {
        return;
    }
    let entry = TABLE.lock().remove(&fd);
    if let Some(entry) = entry {
        ENTRIES.fetch_sub(1, Ordering::SeqCst);
        retire(entry);
    }
}

/// The fork's prepare handler: hold the table still across the fork.
pub(crate) fn fork_prepare() {
    std::mem::forget(TABLE.lock());
}

/// The fork's handler in the parent.
pub(crate) fn fork_parent() {
    crate::sys::force_unlock(&TABLE);
}

/// The fork's handler in the child: every entry so far is inherited.
pub(crate) fn fork_child() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    crate::sys::force_unlock(&TABLE);
}
