//! `vc.test.panics_producing`, in unit tests only: an output-only
//! component that takes a buffer to fill and then panics, every time, for
//! testing the worker's containment.

use super::{Component, PortId, Produce, Requirements};
use crate::core::Io;
use crate::format::VideoFormat;
use crate::objects::Status;

pub(crate) struct PanicsProducing;

impl Component for PanicsProducing {
    fn ports(&self) -> (usize, usize) {
        (0, 1)
    }

    fn commit(&mut self, _port: PortId, format: &VideoFormat) -> Result<Requirements, Status> {
        let size = format.frame_size() as u32;
        Ok([1, size, 1, size])
    }

    fn produce(&mut self, io: &mut Io<'_>) -> Produce {
        if io.is_enabled(1) && io.take(1).is_some() {
            panic!("injected failure after taking a buffer");
        }
        Produce::Idle
    }
}
