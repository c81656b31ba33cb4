//! How long the connection waits, and what a service is opened with.

use std::time::Duration;

use crate::device::{Fourcc, ServiceParams};
use crate::event::ServiceEvent;

/// How long the connection waits for the VideoCore, and how many message
/// buffers its completion thread keeps.
///
/// ```
/// use std::time::Duration;
/// let mut options = vchiq::Options::default();
/// options.reply_timeout = Duration::from_secs(1);
/// assert_eq!(options.message_buffers, 8);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// How long [`Service::request`](crate::Service::request) waits for its
    /// reply (3 s, as the kernel's own MMAL client), and
    /// [`Connection::open_service`](crate::Connection::open_service) for the
    /// VideoCore to accept the service.
    pub reply_timeout: Duration,
    /// How long a bulk transfer may take, and how long queuing one waits for
    /// a free slot.
    pub bulk_timeout: Duration,
    /// How long closing a service, or the connection, waits.
    pub close_timeout: Duration,
    /// Message buffers per AWAIT_COMPLETION call (userland uses 8).
    pub message_buffers: usize,
    /// Completions per AWAIT_COMPLETION call (userland uses 8).
    pub completions_per_call: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            reply_timeout: Duration::from_secs(3),
            bulk_timeout: Duration::from_secs(5),
            close_timeout: Duration::from_secs(3),
            message_buffers: 8,
            completions_per_call: 8,
        }
    }
}

/// Finds the context of a reply in a message from the VideoCore: `Some` only
/// for replies to requests.
pub(crate) type ReplyContext = dyn Fn(&[u8]) -> Option<u32> + Send + Sync;
/// Receives a service's events on the completion thread.
pub(crate) type EventCallback = dyn Fn(ServiceEvent) + Send + Sync;

/// What to open, and how to hand over what arrives.
///
/// ```
/// use vchiq::{Fourcc, ServiceOptions};
/// // MMAL: the context is the header's fourth word; replies are the
/// // message types that are not BUFFER_TO_HOST (12) or EVENT_TO_HOST (16).
/// let options = ServiceOptions::new(Fourcc::MMAL, 15, 10).reply_context(|m| {
///     let word = |i: usize| Some(u32::from_le_bytes(m.get(i * 4..i * 4 + 4)?.try_into().ok()?));
///     match word(1)? {
///         12 | 16 => None,
///         _ => word(3),
///     }
/// });
/// ```
pub struct ServiceOptions {
    pub(crate) fourcc: Fourcc,
    pub(crate) version: i16,
    pub(crate) version_min: i16,
    pub(crate) reply_context: Option<Box<ReplyContext>>,
    pub(crate) callback: Option<Box<EventCallback>>,
}

impl std::fmt::Debug for ServiceOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceOptions")
            .field("fourcc", &self.fourcc)
            .field("version", &self.version)
            .field("version_min", &self.version_min)
            .field("reply_context", &self.reply_context.is_some())
            .field("callback", &self.callback.is_some())
            .finish()
    }
}

impl ServiceOptions {
    /// The service `fourcc`, offering protocol `version` and accepting
    /// `version_min` and later. Without [`reply_context`], every message is
    /// an event; without [`on_event`], events queue for
    /// [`Service::next_event`](crate::Service::next_event).
    ///
    /// [`reply_context`]: ServiceOptions::reply_context
    /// [`on_event`]: ServiceOptions::on_event
    ///
    /// ```
    /// let options = vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10);
    /// ```
    pub fn new(fourcc: Fourcc, version: i16, version_min: i16) -> ServiceOptions {
        ServiceOptions { fourcc, version, version_min, reply_context: None, callback: None }
    }

    /// How to find the context of a reply: `f` returns it for a message that
    /// answers a request sent with [`Service::request`](crate::Service::request), `None` for any other.
    ///
    /// ```
    /// let options = vchiq::ServiceOptions::new(vchiq::Fourcc::new(*b"echo"), 1, 1)
    ///     .reply_context(|m| Some(u32::from_le_bytes(m.get(..4)?.try_into().ok()?)));
    /// ```
    pub fn reply_context(mut self, f: impl Fn(&[u8]) -> Option<u32> + Send + Sync + 'static) -> ServiceOptions {
        self.reply_context = Some(Box::new(f));
        self
    }

    /// Hands events to `f` on the connection's completion thread, in the
    /// order they arrive. `f` must not wait: calls that wait for the
    /// VideoCore fail there with [`Error::OnCompletionThread`](crate::Error::OnCompletionThread). A panic in
    /// `f` is caught and logged.
    ///
    /// ```
    /// let options = vchiq::ServiceOptions::new(vchiq::Fourcc::MMAL, 15, 10)
    ///     .on_event(|event| println!("{event:?}"));
    /// ```
    pub fn on_event(mut self, f: impl Fn(ServiceEvent) + Send + Sync + 'static) -> ServiceOptions {
        self.callback = Some(Box::new(f));
        self
    }

    pub(crate) fn params(&self, userdata: u32) -> ServiceParams {
        ServiceParams { fourcc: self.fourcc, userdata, version: self.version, version_min: self.version_min }
    }
}
