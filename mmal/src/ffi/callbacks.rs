//! The callbacks the crate hands to C, and what they find their state in:
//! the per-type [`Registry`] of port and connection states, the
//! [`PortHandler`] and [`ConnectionHandler`] traits those states implement,
//! the generic trampolines [`port_callback`] and [`relay_callback`], and the
//! thread's marks of the components whose callbacks it is running
//! ([`in_callback_of`]).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ptr::NonNull;
use std::sync::Arc;

use mmal_sys as sys;
use parking_lot::Mutex;

use super::{RawBuffer, RawComponent, RawConnection, RawPort};

/// The callback type the crate hands to `port_enable`.
pub(crate) type PortCallback = unsafe extern "C" fn(*mut sys::MMAL_PORT_T, *mut sys::MMAL_BUFFER_HEADER_T);

/// The state of every port (or connection) the crate enabled, by the
/// port's (or connection's) address: what [`port_callback`] hands each
/// buffer to, what [`relay_callback`] pumps. An entry holds a strong
/// reference to its state, and through it to the port's component (a
/// connection's: both components), so the port cannot be freed (and its
/// address reused) while the entry exists. A callback clones its entry's
/// reference out under the lock and drops it with [`let_go`].
///
/// One static per state type, declared beside the type (the stream's sinks,
/// the connections' relays) and handed out by its trait's `registry`.
pub(crate) struct Registry<T>(pub(super) Mutex<BTreeMap<usize, Arc<T>>>);

impl<T> Registry<T> {
    pub(crate) const fn new() -> Registry<T> {
        Registry(Mutex::new(BTreeMap::new()))
    }
}

/// What a port's callback hands its buffers to (the stream's `Sink`).
pub(crate) trait PortHandler: Send + Sync + Sized + 'static {
    /// The registry of this type's states, by port.
    fn registry() -> &'static Registry<Self>;
    /// Takes a buffer the port returned, inside the component's callback
    /// mark.
    fn on_buffer(self: &Arc<Self>, buffer: RawBuffer);
    /// Records that `on_buffer` panicked (the buffer is lost to its pool).
    fn note_panic(&self, message: String);
}

/// What a connection's callback pumps (the connection's `Relay`).
pub(crate) trait ConnectionHandler: Send + Sync + Sized + 'static {
    /// The registry of this type's states, by connection.
    fn registry() -> &'static Registry<Self>;
    /// The connection's output and input ports, whose components' callback
    /// marks the pump runs inside.
    fn ports(&self) -> (RawPort, RawPort);
    /// Moves what is waiting in the connection.
    fn pump(self: &Arc<Self>, connection: RawConnection);
    /// Records that `pump` panicked.
    fn note_panic(&self, message: String);
}

thread_local! {
    /// The components whose callbacks this thread is running, innermost
    /// last: as many as nest (a connection's closure is inside two, and a
    /// callback that runs inside another, a provider calling back
    /// synchronously, adds its own). None is ever dropped to make room: a
    /// lost mark would turn `WouldDeadlock` into a deadlock.
    static IN_CALLBACK: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Whether the current thread is inside a callback of `component`.
pub(crate) fn in_callback_of(component: RawComponent) -> bool {
    let component = component.0.as_ptr() as usize;
    IN_CALLBACK.with(|c| c.borrow().contains(&component))
}

/// Marks this thread as running a callback of one or two more components
/// (those it is already inside stay marked) until dropped, when the
/// previous marks come back: also when the callback panics. Marks nest
/// (each is dropped before the one outside it), so dropping one takes the
/// list back to the length it had.
struct CallbackMark {
    previous: usize,
}

impl CallbackMark {
    fn new(components: [usize; 2]) -> CallbackMark {
        IN_CALLBACK.with(|c| {
            let mut marks = c.borrow_mut();
            let previous = marks.len();
            for component in components {
                if component != 0 && !marks.contains(&component) {
                    marks.push(component);
                }
            }
            CallbackMark { previous }
        })
    }
}

impl Drop for CallbackMark {
    fn drop(&mut self) {
        IN_CALLBACK.with(|c| c.borrow_mut().truncate(self.previous));
    }
}

/// Runs `f` marked as a callback of `port`'s component.
pub(crate) fn as_callback_of<R>(port: RawPort, f: impl FnOnce() -> R) -> R {
    let _mark = CallbackMark::new([port.component_addr(), 0]);
    f()
}

/// Runs `f` marked as a callback of both ports' components: a connection's
/// closure, which runs inside the output's callback while the connection
/// holds the input too, so that configuring either from it is
/// `WouldDeadlock` (a thread dropping the connection holds both
/// configuration mutexes while it waits for the closure).
pub(crate) fn as_callback_of_both<R>(output: RawPort, input: RawPort, f: impl FnOnce() -> R) -> R {
    let _mark = CallbackMark::new([output.component_addr(), input.component_addr()]);
    f()
}

/// The callback given to every port the crate enables: the port's sink
/// (its [`PortHandler`]) is the one registered for it (see [`RawPort::give_sink`]), registered
/// before the port was enabled and removed only after it is disabled. The
/// port's `userdata` is never read: C writes it (libmmal's connections do).
pub(crate) unsafe extern "C" fn port_callback<T: PortHandler>(
    port: *mut sys::MMAL_PORT_T,
    buffer: *mut sys::MMAL_BUFFER_HEADER_T,
) {
    let (Some(port), Some(buffer)) = (NonNull::new(port), RawBuffer::from_raw(buffer)) else { return };
    let port = RawPort(port);
    let Some(sink) = port.sink::<T>() else {
        // Not one of the crate's ports any more: give the buffer back.
        log::error!("a buffer arrived on {} after its stream or callback was released", port.name());
        if let Some(backend) = crate::backend::chosen() {
            buffer.release(&backend.api);
        }
        return;
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        as_callback_of(port, || sink.on_buffer(buffer));
    }));
    if result.is_err() {
        // The buffer is lost to its pool; the stream reports the panic.
        sink.note_panic(String::from("panic while handling a buffer"));
    }
    let_go("a stream's last reference, from its callback", sink);
}

/// Drops a callback's own reference to its sink or relay. The
/// registry keeps its reference until no callback can come, so this one is
/// normally not the last; but a provider that reports a port disabled while
/// a callback still runs (or C that disables the crate's port behind its
/// back) lets the registry's and the user's references go first. The last
/// reference must not be dropped here, on MMAL's thread and outside the
/// callback's mark: its drop destroys pools and may release the component,
/// which from the component's own thread the provider refuses (the
/// component is leaked) or waits for forever. Another thread drops it; if
/// none can be started, it is leaked (`ManuallyDrop`), never dropped here.
fn let_go<T: Send + 'static>(what: &str, reference: Arc<T>) {
    if let Some(last) = Arc::into_inner(reference) {
        let last = std::mem::ManuallyDrop::new(last);
        crate::release_later(what, move || drop(std::mem::ManuallyDrop::into_inner(last)));
    }
}

/// The callback of a connection through the client: its relay (its
/// [`ConnectionHandler`]) is the one registered for the connection (see [`RawConnection::give_relay`]),
/// registered before it was enabled and removed only once it is disabled.
pub(super) unsafe extern "C" fn relay_callback<T: ConnectionHandler>(connection: *mut sys::MMAL_CONNECTION_T) {
    let Some(connection) = NonNull::new(connection) else { return };
    let connection = RawConnection(connection);
    let Some(relay) = T::registry().0.lock().get(&connection.addr()).cloned() else {
        log::error!("a connection called back after its relay was released");
        return;
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // Inside both components: the closure must not configure either
        // (a thread dropping the connection holds both while it waits).
        let (output, input) = relay.ports();
        as_callback_of_both(output, input, || relay.pump(connection));
    }));
    if result.is_err() {
        relay.note_panic(String::from("panic while passing a buffer"));
    }
    let_go("a connection's last reference, from its callback", relay);
}
