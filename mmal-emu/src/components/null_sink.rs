//! `vc.null_sink`: one input that takes buffers and gives them back, and
//! reports the end of a stream.

use mmal_sys as sys;

use super::{Component, PortId, Requirements};
use crate::core::{Io, PendingEvent};
use crate::format::VideoFormat;
use crate::objects::Status;

pub(crate) struct NullSink;

impl Component for NullSink {
    fn ports(&self) -> (usize, usize) {
        (1, 0)
    }

    fn commit(&mut self, _port: PortId, format: &VideoFormat) -> Result<Requirements, Status> {
        let size = format.frame_size() as u32;
        Ok([1, size, 1, size])
    }

    fn consumed(&mut self, port: PortId, flags: u32, io: &mut Io<'_>) {
        if flags & sys::MMAL_BUFFER_HEADER_FLAG_EOS != 0 {
            io.post(PendingEvent::Eos { port_type: port.kind, port_index: port.index as u32 });
        }
    }
}
