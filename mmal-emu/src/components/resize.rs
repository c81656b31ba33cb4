//! `vc.ril.resize`: scales its input to the size of its output and converts
//! between I420, RGB24, BGR24, RGBA and BGRA (from OPAQUE images too), as
//! picamera's `resize=` uses it. Nearest-neighbour sampling; I420 ↔ RGB
//! with the full-range BT.601 matrix the camera uses (`crate::convert`).

use std::sync::Arc;

use mmal_sys as sys;

use super::{Component, PortId, Process, Processor, Requirements};
use crate::core::Delivery;
use crate::format::{VideoFormat, VIDEO_ENCODINGS};
use crate::objects::{BufPtr, Status};

/// What the resizer takes and gives.
const ENCODINGS: [u32; 5] = [
    sys::MMAL_ENCODING_I420,
    sys::MMAL_ENCODING_RGB24,
    sys::MMAL_ENCODING_BGR24,
    sys::MMAL_ENCODING_RGBA,
    sys::MMAL_ENCODING_BGRA,
];

pub(crate) struct Resize {
    input: VideoFormat,
    output: VideoFormat,
    /// The conversion for the committed formats.
    scale: Arc<dyn Process>,
}

impl Resize {
    pub(crate) fn new() -> Resize {
        let f = VideoFormat::default();
        Resize { input: f, output: f, scale: Arc::new(Scale { input: f, output: f }) }
    }
}

impl Component for Resize {
    fn ports(&self) -> (usize, usize) {
        (1, 1)
    }

    fn encodings(&self, port: PortId) -> &'static [u32] {
        if port.is_output() {
            &ENCODINGS
        } else {
            // OPAQUE images too (from the camera or the splitter).
            &VIDEO_ENCODINGS
        }
    }

    fn commit(&mut self, port: PortId, format: &VideoFormat) -> Result<Requirements, Status> {
        if port.is_output() {
            self.output = *format;
        } else {
            self.input = *format;
        }
        self.scale = Arc::new(Scale { input: self.input, output: self.output });
        let size = format.frame_size() as u32;
        Ok([1, size, if port.is_output() { 3 } else { 1 }, size])
    }

    fn processor(&self) -> Option<Processor> {
        Some(Processor::Filter(self.scale.clone()))
    }
}

/// Scales and converts one picture.
struct Scale {
    input: VideoFormat,
    output: VideoFormat,
}

impl Process for Scale {
    fn process(&self, input: BufPtr, output: &Delivery) {
        let out = output.buffer;
        match crate::convert::transfer(input, &self.input, out, &self.output) {
            Some(length) => out.set(0, length, input.flags(), input.pts()),
            None => {
                log::error!("vc.ril.resize: a buffer does not hold its picture");
                out.set(0, 0, sys::MMAL_BUFFER_HEADER_FLAG_CORRUPTED, input.pts());
            }
        }
    }
}
