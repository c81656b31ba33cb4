//! Queues (`MMAL_QUEUE_T`): FIFOs of headers that never allocate on a put.

use std::collections::VecDeque;
use std::ptr::NonNull;
use std::sync::atomic::AtomicUsize;

use mmal_sys as sys;
use parking_lot::{Condvar, Mutex};

use super::buffers::BufPtr;
use super::live::{list, pin, unlist, Kind, Owner, Pin, Pinned};

/// `MMAL_QUEUE_T`: a FIFO of headers. Its capacity is reserved up front for
/// every header that can be in it (a pool's, a connection's), so putting
/// never allocates.
#[repr(C)]
pub(crate) struct QueueBox {
    pub(super) items: Mutex<QueueItems>,
    /// Signalled on a put while a thread waits (`mmal_queue_wait`).
    ready: Condvar,
}

pub(super) struct QueueItems {
    pub(super) items: VecDeque<BufPtr>,
    /// Threads waiting for a header: a put signals only when there are.
    waiters: usize,
}

impl QueueBox {
    pub(crate) fn with_capacity(n: usize) -> QueueBox {
        QueueBox {
            items: Mutex::new(QueueItems { items: VecDeque::with_capacity(n), waiters: 0 }),
            ready: Condvar::new(),
        }
    }

    pub(crate) fn put(&self, b: BufPtr) {
        let mut q = self.items.lock();
        q.items.push_back(b);
        if q.waiters > 0 {
            self.ready.notify_one();
        }
    }

    /// `mmal_queue_put_back`: at the front, to be taken next.
    pub(crate) fn put_back(&self, b: BufPtr) {
        let mut q = self.items.lock();
        q.items.push_front(b);
        if q.waiters > 0 {
            self.ready.notify_one();
        }
    }

    pub(crate) fn get(&self) -> Option<BufPtr> {
        self.items.lock().items.pop_front()
    }

    /// `mmal_queue_wait` (`None`) and `mmal_queue_timedwait`: the next
    /// header, waiting for one up to `timeout`.
    pub(crate) fn wait(&self, timeout: Option<std::time::Duration>) -> Option<BufPtr> {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        let mut q = self.items.lock();
        loop {
            if let Some(b) = q.items.pop_front() {
                return Some(b);
            }
            q.waiters += 1;
            match deadline {
                None => self.ready.wait(&mut q),
                Some(d) => {
                    if std::time::Instant::now() >= d {
                        q.waiters -= 1;
                        return None;
                    }
                    // Whether it timed out is seen on the next turn.
                    let _ = self.ready.wait_until(&mut q, d);
                }
            }
            q.waiters -= 1;
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.items.lock().items.len()
    }

    /// Makes room for `n` headers, so that putting them never allocates.
    pub(crate) fn reserve(&self, n: usize) {
        let mut q = self.items.lock();
        let more = n.saturating_sub(q.items.len());
        q.items.reserve(more);
    }

    /// A queue for a client (`mmal_queue_create`), freed by
    /// [`destroy`](Self::destroy).
    pub(crate) fn create() -> *mut sys::MMAL_QUEUE_T {
        let q = Box::new(ClientQueue { queue: QueueBox::with_capacity(8), pins: AtomicUsize::new(1) });
        let q = NonNull::from(Box::leak(q));
        list(&[(q.as_ptr() as usize, Kind::Queue { client: true })], Owner::new(q, Kind::Queue { client: true }));
        q.as_ptr().cast()
    }

    /// `mmal_queue_destroy` of a queue from [`create`](Self::create); any
    /// other pointer (a pool's or a connection's queue, one destroyed
    /// already) is refused and logged.
    pub(crate) fn destroy(raw: *mut sys::MMAL_QUEUE_T) {
        let Some(_pin) = pin(raw.cast(), "mmal_queue_destroy", "queue from mmal_queue_create", |k| {
            k == Kind::Queue { client: true }
        }) else {
            return;
        };
        unlist(&[raw as usize]);
    }

    /// The live queue behind a client's `MMAL_QUEUE_T` pointer (a pool's,
    /// a connection's, or one from `mmal_queue_create`), pinned while the
    /// answer lives; `None` (logged, as `func`) for any other pointer.
    pub(crate) fn live(raw: *mut sys::MMAL_QUEUE_T, func: &str) -> Option<LiveQueue> {
        let pin = pin(raw.cast(), func, "queue", |k| matches!(k, Kind::Queue { .. }))?;
        Some(LiveQueue { queue: NonNull::new(raw.cast())?, _pin: pin })
    }
}

/// A queue from `mmal_queue_create`, with its pin count.
#[repr(C)]
pub(super) struct ClientQueue {
    queue: QueueBox,
    pub(super) pins: AtomicUsize,
}

// SAFETY: `pins` is a field of the box, and the box is reached only
// through pins once listed.
unsafe impl Pinned for ClientQueue {
    fn pins(&self) -> &AtomicUsize {
        &self.pins
    }
}

/// A live queue a C caller named, pinned while this value lives.
pub(crate) struct LiveQueue {
    queue: NonNull<QueueBox>,
    _pin: Pin,
}

impl std::ops::Deref for LiveQueue {
    type Target = QueueBox;
    fn deref(&self) -> &QueueBox {
        // SAFETY: listed as a queue and pinned: its memory lives as long as
        // `self`; a `QueueBox` is shared only through its lock.
        unsafe { self.queue.as_ref() }
    }
}
