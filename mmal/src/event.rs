//! What a component's control port reports: errors, end of stream, format
//! and parameter changes, read from an event buffer.

use mmal_sys as sys;

use crate::component::PortKind;
use crate::error::Status;
use crate::ffi::RawBuffer;
use crate::format::Format;
use crate::params::{CameraSettings, Parameter};

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
