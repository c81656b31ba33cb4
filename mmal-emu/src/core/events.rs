//! Events: what the core and components post, how each is written into a
//! buffer of the component's event pool, and where it goes (the control
//! port's callback for most; an output port's for a format the component
//! set on it).

use mmal_sys as sys;

use super::state::{EventTarget, PendingEvent, Shared};
use crate::objects::{BufPtr, PortPtr};

/// Event payloads are plain 32-bit words (`MMAL_EVENT_END_OF_STREAM_T`,
/// the error's status, a parameter's header).
fn put_u32(out: &mut [u8], offset: usize, v: u32) {
    out[offset..offset + 4].copy_from_slice(&v.to_ne_bytes());
}

impl Shared {
    /// Writes `event` into a buffer of the component's event pool and hands
    /// it to `target`. Without a free buffer the event is lost, as libmmal
    /// loses it.
    pub(crate) fn send_event(&self, event: PendingEvent, target: EventTarget) {
        let port = match &target {
            EventTarget::Callback(port, _) => *port,
            EventTarget::Tunnel { output, .. } => *output,
        };
        let (cmd, name) = match event {
            PendingEvent::Error(_) => (sys::MMAL_EVENT_ERROR, "ERRO"),
            PendingEvent::Eos { .. } => (sys::MMAL_EVENT_EOS, "EEOS"),
            PendingEvent::FormatChanged { .. } => (sys::MMAL_EVENT_FORMAT_CHANGED, "EFCH"),
            PendingEvent::ParameterChanged { .. } => (sys::MMAL_EVENT_PARAMETER_CHANGED, "EPCH"),
        };
        let Some(buffer) = self.event_pool.queue().get() else {
            log::error!("mmal_port_event_get: {}: no event buffer left for {name}", port.name());
            return;
        };
        let length = match event {
            PendingEvent::Error(status) => buffer.with_payload(|b| {
                put_u32(b, 0, status);
                4
            }),
            PendingEvent::Eos { port_type, port_index } => buffer.with_payload(|b| {
                put_u32(b, 0, port_type);
                put_u32(b, 4, port_index);
                8
            }),
            PendingEvent::ParameterChanged { id, payload, len } => buffer.with_payload(|b| {
                put_u32(b, 0, id);
                put_u32(b, 4, 8 + len as u32);
                b[8..8 + len].copy_from_slice(&payload[..len]);
                8 + len
            }),
            PendingEvent::FormatChanged { port } => {
                let (format, [num_min, size_min, num_rec, size_rec]) = {
                    let st = self.state.lock();
                    let p = &st.ports[port];
                    (p.format, p.requirements)
                };
                match crate::objects::write_format_changed(buffer, [size_min, num_min, size_rec, num_rec], &format) {
                    Some(n) => n,
                    None => {
                        buffer.release();
                        return;
                    }
                }
            }
        };
        buffer.set(cmd, length, 0, sys::MMAL_TIME_UNKNOWN);
        match target {
            EventTarget::Callback(port, cb) => {
                let _action = self.action.lock();
                port.call(cb, buffer);
            }
            EventTarget::Tunnel { output, peer, index } => self.forward_event(output, buffer, &peer, index),
        }
    }

    /// A tunnelled output's event, as libmmal's core handles it: a format
    /// change is applied to the output (its format written and committed)
    /// and the event goes on to the input, which takes the format; if
    /// either step fails, the component reports an error event.
    fn forward_event(&self, output: PortPtr, buffer: BufPtr, peer: &Shared, index: usize) {
        let Some((format, _)) = crate::objects::read_format_changed(buffer) else {
            // Other events stop here.
            buffer.release();
            return;
        };
        output.write_format(&format);
        let status = super::port::port_format_commit(output);
        let status = if status == sys::MMAL_SUCCESS {
            match peer.accept(index, buffer) {
                Ok(()) => sys::MMAL_SUCCESS,
                Err(status) => {
                    buffer.release();
                    status
                }
            }
        } else {
            buffer.release();
            status
        };
        if status != sys::MMAL_SUCCESS {
            log::error!("{}: the format change did not reach the tunnelled input: status {status}", output.name());
            self.state.lock().events.push_back((0, PendingEvent::Error(status)));
            self.wake.notify_all();
        }
    }
}

/// An event to post on a component's control port, as the firmware would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TestEvent {
    /// `MMAL_EVENT_ERROR` with this status.
    Error(u32),
    /// `MMAL_EVENT_EOS` for a port.
    EndOfStream {
        /// `MMAL_PORT_TYPE_T`.
        port_type: u32,
        /// Index of the port among those of its type.
        port_index: u32,
    },
    /// `MMAL_EVENT_FORMAT_CHANGED` carrying the current format of an output
    /// port and its buffer requirements.
    FormatChanged {
        /// Output port index.
        output: u32,
    },
    /// The component sets the format of an output itself, as decoders,
    /// encoders and the ISP do, and sends `MMAL_EVENT_FORMAT_CHANGED` on
    /// that output port (not the control port): `encoding` at
    /// `width`x`height` (the port's width and height are aligned up to 32
    /// and 16, the crop is the size given). It produces in the new format
    /// at once; if the port's buffers are too few or too small for it, the
    /// port fills none until the client commits a format on it or disables
    /// it. A tunnelled output applies the change and forwards the event to
    /// the input it is tunnelled to, as libmmal's core does.
    OutputFormatChanged {
        /// Output port index.
        output: u32,
        /// The new encoding (a FourCC the port supports).
        encoding: u32,
        /// Visible width.
        width: u32,
        /// Visible height.
        height: u32,
    },
}
