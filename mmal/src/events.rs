//! Control-port events: the [`Events`] handle that reads them.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::component::{Component, Port};
use crate::error::Result;
use crate::event::Event;
use crate::stream::{Sink, SinkKind};

/// Events from a component's control port; see
/// [`Component::events`](crate::Component::events). Dropping it disables
/// the control port.
pub struct Events {
    sink: Arc<Sink>,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events").field("port", &self.sink.port_name).finish()
    }
}

/// The control port's events; here rather than in `component`, which the
/// events build on.
impl Component {
    /// Enables the control port and returns its events (errors, end of
    /// stream, format and parameter changes). Event buffers are released as
    /// soon as they are copied, so the component never runs short of them.
    ///
    /// # Errors
    ///
    /// [`Error::State`](crate::Error::State) if the control port is already enabled.
    pub fn events(&self) -> Result<Events> {
        Events::new(self.control())
    }
}

impl Events {
    pub(crate) fn new(control: Port) -> Result<Events> {
        let kind = SinkKind::Events { queue: Mutex::new(VecDeque::with_capacity(16)), ready: Condvar::new() };
        Ok(Events { sink: Sink::enable(control, 0, kind)? })
    }

    fn parts(&self) -> (&Mutex<VecDeque<Event>>, &Condvar) {
        match &self.sink.kind {
            SinkKind::Events { queue, ready } => (queue, ready),
            _ => unreachable!("an event sink"),
        }
    }

    /// The next event, waiting up to `timeout`.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`](crate::Error::Timeout) if none came;
    /// [`Error::StreamEnded`](crate::Error::StreamEnded) once the control
    /// port is disabled and no event is left.
    pub fn next_timeout(&self, timeout: Duration) -> Result<Event> {
        let (queue, ready) = self.parts();
        let deadline = Instant::now() + timeout;
        let mut q = queue.lock();
        loop {
            if let Some(e) = q.pop_front() {
                return Ok(e);
            }
            if self.sink.ended.load(std::sync::atomic::Ordering::Acquire) {
                return Err(crate::Error::StreamEnded(self.sink.port_name.clone()));
            }
            if Instant::now() >= deadline {
                return Err(crate::Error::Timeout { port: self.sink.port_name.clone(), waited: timeout });
            }
            ready.wait_until(&mut q, deadline);
        }
    }

    /// The events as an iterator, each waited for up to `timeout`; it ends
    /// when the control port is disabled, and yields the error of a wait
    /// that fails ([`Error::Timeout`](crate::Error::Timeout)).
    pub fn iter(&self, timeout: Duration) -> impl Iterator<Item = Result<Event>> + '_ {
        std::iter::from_fn(move || match self.next_timeout(timeout) {
            Err(crate::Error::StreamEnded(_)) => None,
            other => Some(other),
        })
    }

    /// An event if one is waiting.
    pub fn try_next(&self) -> Option<Event> {
        self.parts().0.lock().pop_front()
    }

    /// Disables the control port now.
    ///
    /// # Errors
    ///
    /// As for [`FrameStream::disable`](crate::FrameStream::disable).
    pub fn disable(&self) -> Result<()> {
        self.sink.disable()
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        self.sink.disable_on_drop();
    }
}
