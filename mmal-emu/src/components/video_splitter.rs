//! `vc.ril.video_splitter`: one input copied to each of four outputs. The
//! outputs take the input's format when it is committed, and each may be
//! set to another encoding or size, which the splitter converts to (from
//! an OPAQUE input too, rendering the image it refers to), as picamera's
//! captures from the video port use it.

use std::sync::Arc;

use mmal_sys as sys;

use super::{Component, PortId, Process, Processor, Requirements};
use crate::core::Delivery;
use crate::format::VideoFormat;
use crate::objects::{BufPtr, Status};

const OUTPUTS: usize = 4;

pub(crate) struct VideoSplitter {
    input: VideoFormat,
    outputs: [VideoFormat; OUTPUTS],
    copy: Arc<dyn Process>,
}

impl VideoSplitter {
    pub(crate) fn new() -> VideoSplitter {
        let f = VideoFormat::default();
        VideoSplitter { input: f, outputs: [f; OUTPUTS], copy: Arc::new(Copy { input: f, outputs: [f; OUTPUTS] }) }
    }
}

/// Fills each output buffer from the input buffer (data, flags,
/// timestamps), converting where the output's format differs; one that
/// cannot be filled is marked corrupted.
struct Copy {
    input: VideoFormat,
    outputs: [VideoFormat; OUTPUTS],
}

impl Process for Copy {
    fn process(&self, input: BufPtr, output: &Delivery) {
        let index = output.port.saturating_sub(2).min(OUTPUTS - 1);
        match crate::convert::transfer(input, &self.input, output.buffer, &self.outputs[index]) {
            Some(length) => output.buffer.set(0, length, input.flags(), input.pts()),
            None => output.buffer.set(0, 0, sys::MMAL_BUFFER_HEADER_FLAG_CORRUPTED, sys::MMAL_TIME_UNKNOWN),
        }
    }
}

impl Component for VideoSplitter {
    fn ports(&self) -> (usize, usize) {
        (1, OUTPUTS)
    }

    fn commit(&mut self, port: PortId, format: &VideoFormat) -> Result<Requirements, Status> {
        if port.is_output() {
            // From an OPAQUE input any encoding; otherwise conversion
            // between the uncompressed ones.
            if format.encoding == sys::MMAL_ENCODING_OPAQUE && self.input.encoding != sys::MMAL_ENCODING_OPAQUE {
                return Err(sys::MMAL_EINVAL);
            }
            self.outputs[port.index] = *format;
        } else {
            self.input = *format;
        }
        self.copy = Arc::new(Copy { input: self.input, outputs: self.outputs });
        let size = format.frame_size() as u32;
        Ok([1, size, if port.is_output() { 3 } else { 1 }, size])
    }

    fn outputs_follow_input(&self) -> bool {
        true
    }

    fn processor(&self) -> Option<Processor> {
        Some(Processor::Filter(self.copy.clone()))
    }
}
