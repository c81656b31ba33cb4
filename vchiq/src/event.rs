//! What a service receives.

/// What a service receives from the VideoCore, other than replies to its
/// requests.
///
/// ```
/// let event = vchiq::ServiceEvent::Message(vec![1, 2, 3]);
/// assert!(matches!(event, vchiq::ServiceEvent::Message(ref m) if m.len() == 3));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceEvent {
    /// A message that is not a reply (for MMAL: a buffer or an event).
    Message(Vec<u8>),
    /// A reply whose request is no longer waiting (it timed out): its
    /// context is free again.
    LateReply {
        /// The context the reply carries.
        context: u32,
        /// The reply.
        message: Vec<u8>,
    },
    /// The service closed (by the VideoCore, by [`Service::close`](crate::Service::close), or
    /// because the connection failed). Nothing follows.
    Closed,
}
