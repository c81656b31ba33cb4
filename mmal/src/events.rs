//! Control-port events.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mmal_sys as sys;
use parking_lot::{Condvar, Mutex};

use crate::component::{Port, PortKind};
use crate::error::{Result, Status};
use crate::ffi::RawBuffer;
use crate::format::Format;
use crate::params::{CameraSettings, Parameter};
use crate::stream::{Sink, SinkKind};

/// An event from a component's control port.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// `MMAL_EVENT_ERROR`: the component failed (the camera sends this
    /// when no data comes from the sensor).
    Error(Status),
    /// `MMAL_EVENT_EOS`: a port reached the end of its stream.
    EndOfStream {
        /// The port's kind.
        port_kind: PortKind,
        /// The port's index among its kind.
        port_index: u32,
    },
    /// `MMAL_EVENT_FORMAT_CHANGED`: an output's format changed. On the
    /// output port itself (decoders, encoders and the ISP send it there),
    /// a [`FrameStream`](crate::FrameStream), a
    /// [`CallbackPort`](crate::CallbackPort) and a connection apply the new
    /// format as libmmal's connections do; on the control port it is only
    /// news.
    FormatChanged {
        /// The new format.
        format: Format,
        /// Fewest buffers now.
        buffer_num_min: u32,
        /// Smallest buffer now.
        buffer_size_min: u32,
        /// Recommended buffers.
        buffer_num_recommended: u32,
        /// Recommended size.
        buffer_size_recommended: u32,
    },
    /// `MMAL_EVENT_PARAMETER_CHANGED`: a parameter asked for with
    /// [`ChangeEventRequest`](crate::params::ChangeEventRequest) changed.
    ParameterChanged {
        /// The parameter ID.
        id: u32,
        /// Its payload, after the header.
        payload: Vec<u8>,
    },
    /// An event this crate does not decode.
    Other {
        /// Its FourCC.
        cmd: u32,
    },
}

fn u32_at(data: &[u8], offset: usize) -> Option<u32> {
    data.get(offset..offset + 4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

impl Event {
    pub(crate) fn from_buffer(api: &sys::Api, buffer: &mut RawBuffer) -> Option<Event> {
        let data = buffer.data();
        Some(match buffer.cmd() {
            0 => return None,
            sys::MMAL_EVENT_ERROR => {
                let raw = u32_at(data, 0).unwrap_or(sys::MMAL_EIO);
                Event::Error(Status::from_raw(raw).unwrap_or(Status::Unknown(raw)))
            }
            sys::MMAL_EVENT_EOS => Event::EndOfStream {
                port_kind: PortKind::from_raw(u32_at(data, 0).unwrap_or(0)),
                port_index: u32_at(data, 4).unwrap_or(0),
            },
            sys::MMAL_EVENT_FORMAT_CHANGED => {
                let ([num_min, size_min, num_rec, size_rec], format, _) = buffer.format_changed(api)?;
                Event::FormatChanged {
                    format,
                    buffer_num_min: num_min,
                    buffer_size_min: size_min,
                    buffer_num_recommended: num_rec,
                    buffer_size_recommended: size_rec,
                }
            }
            sys::MMAL_EVENT_PARAMETER_CHANGED => {
                let id = u32_at(data, 0)?;
                let size = (u32_at(data, 4)? as usize).clamp(8, data.len());
                Event::ParameterChanged { id, payload: data[8..size].to_vec() }
            }
            cmd => Event::Other { cmd },
        })
    }

    /// The camera settings, if this reports them.
    pub fn camera_settings(&self) -> Option<CameraSettings> {
        match self {
            Event::ParameterChanged { id, payload } if *id == CameraSettings::ID => {
                crate::params::from_payload::<CameraSettings>(payload).ok()
            }
            _ => None,
        }
    }
}

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

    /// The next event, waiting up to `timeout`; `None` if none came.
    pub fn next_timeout(&self, timeout: Duration) -> Option<Event> {
        let (queue, ready) = self.parts();
        let deadline = Instant::now() + timeout;
        let mut q = queue.lock();
        loop {
            if let Some(e) = q.pop_front() {
                return Some(e);
            }
            let now = Instant::now();
            if now >= deadline || self.sink.ended.load(std::sync::atomic::Ordering::Acquire) {
                return None;
            }
            ready.wait_until(&mut q, deadline);
        }
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
