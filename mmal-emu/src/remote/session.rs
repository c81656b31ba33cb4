//! The process's MMAL client over VCHIQ, the remote components it serves,
//! and the handler through which the VideoCore's buffers and events come
//! back.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use mmal_vchiq::{Client, Event, Handler, Returned};
use parking_lot::Mutex;

use super::Remote;

/// The client every remote component is made on: installed once per
/// process by [`vchiq_api`], kept until the process exits (its components
/// and buffers point into it, as libmmal's do into its connection).
static CLIENT: Mutex<Option<Client>> = Mutex::new(None);

/// The live remote components, by the VideoCore's handle.
static COMPONENTS: Mutex<Option<HashMap<u32, Weak<Remote>>>> = Mutex::new(None);

/// The installed client, if any.
pub(crate) fn client() -> Option<Client> {
    CLIENT.lock().clone()
}

pub(super) fn register(handle: u32, remote: &Arc<Remote>) {
    COMPONENTS.lock().get_or_insert_with(HashMap::new).insert(handle, Arc::downgrade(remote));
}

/// Forgets `remote` (and not a newer component the VideoCore gave the
/// same handle).
pub(super) fn unregister(handle: u32, remote: &Remote) {
    if let Some(map) = COMPONENTS.lock().as_mut() {
        if map.get(&handle).is_some_and(|w| std::ptr::eq(w.as_ptr(), remote)) {
            map.remove(&handle);
        }
    }
}

/// Set once the service has closed and every buffer it held has been
/// handed back ([`Handler::closed`] ran).
static CLOSED: Mutex<bool> = Mutex::new(false);
static CLOSED_CHANGED: parking_lot::Condvar = parking_lot::Condvar::new();

/// Whether this is the thread that runs the client's callbacks (told by
/// the client, not by a thread name a program could give its own).
pub(super) fn on_delivery_thread() -> bool {
    client().is_some_and(|c| c.on_delivery_thread())
}

/// Waits until the closed service has handed back every buffer; `false` on
/// the delivery thread itself (which does that work) or if it takes more
/// than a minute.
pub(super) fn wait_closed() -> bool {
    if on_delivery_thread() {
        return false;
    }
    let mut closed = CLOSED.lock();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !*closed {
        if CLOSED_CHANGED.wait_until(&mut closed, deadline).timed_out() {
            return *closed;
        }
    }
    true
}

fn component(handle: u32) -> Option<Arc<Remote>> {
    COMPONENTS.lock().as_ref()?.get(&handle)?.upgrade()
}

thread_local! {
    /// The components whose buffers or events this thread is handing to
    /// the client's callbacks, innermost last (a callback's disable hands
    /// over more, nested, while it waits).
    static DELIVERING: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f`, a delivery to component `handle`, as one this thread is in
/// ([`delivering_to`]) until it returns or unwinds.
fn delivering<R>(handle: u32, f: impl FnOnce() -> R) -> R {
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            DELIVERING.with(|d| d.borrow_mut().pop());
        }
    }
    DELIVERING.with(|d| d.borrow_mut().push(handle));
    let _done = Done;
    f()
}

/// Whether this thread is inside a callback of component `handle` (it
/// holds a buffer or event of it).
pub(super) fn delivering_to(handle: u32) -> bool {
    DELIVERING.with(|d| d.borrow().contains(&handle))
}

/// Hands the VideoCore's buffers to the remote components they belong to.
struct Router;

impl Handler for Router {
    fn buffer(&self, _client: &Client, buffer: Returned) {
        match component(buffer.port.component) {
            Some(remote) => delivering(remote.handle, || remote.returned(buffer)),
            None => log::error!("mmal_vc: a buffer for component {:#x}, which is gone", buffer.port.component),
        }
    }

    fn event(&self, _client: &Client, event: Event) {
        match component(event.component) {
            Some(remote) => delivering(remote.handle, || remote.event(event)),
            None => log::debug!("mmal_vc: an event for component {:#x}, which is gone", event.component),
        }
    }

    fn closed(&self) {
        // Every buffer the client held has come back through `buffer`
        // already; a token still entered is a send that is failing, whose
        // caller takes its header back.
        let n = COMPONENTS.lock().as_ref().map_or(0, |m| m.values().filter(|w| w.strong_count() > 0).count());
        log::error!("mmal_vc: the MMAL service is closed; {n} components can no longer be used");
        *CLOSED.lock() = true;
        CLOSED_CHANGED.notify_all();
    }
}

/// Bytes the VCHIQ provider copied between buffer headers' payloads and
/// the host memory its client sends and receives (an output's frame into
/// its header, an input's data out of it): on top of the client's own
/// `bytes_received` and `bytes_sent`. Zero-copy buffers add nothing.
///
/// ```
/// let _copied: u64 = mmal_emu::vchiq_payload_copies();
/// ```
pub fn vchiq_payload_copies() -> u64 {
    PAYLOAD_COPIES.load(std::sync::atomic::Ordering::Relaxed)
}

/// See [`vchiq_payload_copies`].
pub(crate) static PAYLOAD_COPIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The VCHIQ provider's client counters (buffers out under cookies, stale
/// and released ones, components), if its client is installed: for leak
/// checks.
pub fn vchiq_stats() -> Option<mmal_vchiq::Stats> {
    client().map(|c| c.stats())
}

/// Installs a client on `connection` unless one is installed already.
pub(crate) fn install(connection: &vchiq::Connection) -> Result<(), mmal_vchiq::Error> {
    let mut slot = CLIENT.lock();
    if slot.is_none() {
        *slot = Some(Client::open(connection, Router)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_is_unregistered_only_by_itself() {
        // The VideoCore may give a new component the handle of one being
        // destroyed: the destroy must not forget the new one.
        let (old, new) = (Remote::detached(7), Remote::detached(7));
        register(7, &old);
        register(7, &new);
        unregister(7, &old);
        assert!(component(7).is_some_and(|r| Arc::ptr_eq(&r, &new)), "the newer component stays");
        unregister(7, &new);
        assert!(component(7).is_none());
    }
}
