//! `vc.ril.video_splitter`: one input copied to each of four outputs, which
//! take the input's format.

use std::sync::Arc;

use mmal_sys as sys;

use super::{Component, PortId, Process, Requirements};
use crate::core::Delivery;
use crate::format::VideoFormat;
use crate::objects::{BufPtr, Status};

pub(crate) struct VideoSplitter {
    copy: Arc<dyn Process>,
}

impl VideoSplitter {
    pub(crate) fn new() -> VideoSplitter {
        VideoSplitter { copy: Arc::new(Copy) }
    }
}

/// Copies the input buffer (data, flags, timestamps) into every output
/// buffer; one too small is marked corrupted.
struct Copy;

impl Process for Copy {
    fn process(&self, input: BufPtr, output: &Delivery) {
        if !output.buffer.copy_from(input) {
            output.buffer.set(0, 0, sys::MMAL_BUFFER_HEADER_FLAG_CORRUPTED, sys::MMAL_TIME_UNKNOWN);
        }
    }
}

impl Component for VideoSplitter {
    fn ports(&self) -> (usize, usize) {
        (1, 4)
    }

    fn commit(&mut self, port: PortId, format: &VideoFormat) -> Result<Requirements, Status> {
        let size = format.frame_size() as u32;
        Ok([1, size, if port.is_output() { 3 } else { 1 }, size])
    }

    fn outputs_follow_input(&self) -> bool {
        true
    }

    fn processor(&self) -> Option<Arc<dyn Process>> {
        Some(self.copy.clone())
    }
}
