//! The emulated firmware components, one per file behind [`Component`].
//!
//! The core (`crate::core`) owns what libmmal's core owns: ports and their
//! state, queues, tunnels, the worker thread and events. A component says
//! what is particular to it: its ports, the formats and parameters it
//! accepts, and what it does with buffers. Adding a component is a file
//! here and a line in [`create`].

mod camera;
mod camera_info;
#[cfg(test)]
mod faulty;
mod image_encode;
mod kept;
mod null_sink;
mod resize;
mod video_encode;
mod video_splitter;

use std::any::Any;
use std::sync::Arc;
use std::time::Instant;

use mmal_sys as sys;

use crate::core::{Delivery, Io};
use crate::format::{VideoFormat, VIDEO_ENCODINGS};
use crate::objects::{BufPtr, Status};

/// Makes the component called `name`, or `None` if there is none. A
/// component may refuse to be made (the camera, when it is disabled).
pub(crate) fn create(name: &str) -> Option<Result<Box<dyn Component>, Status>> {
    Some(match name {
        "vc.camera_info" => Ok(Box::new(camera_info::CameraInfo::new())),
        "vc.ril.camera" => camera::Camera::new().map(|c| Box::new(c) as Box<dyn Component>),
        "vc.null_sink" => Ok(Box::new(null_sink::NullSink)),
        "vc.ril.video_splitter" => Ok(Box::new(video_splitter::VideoSplitter::new())),
        "vc.ril.resize" => Ok(Box::new(resize::Resize::new())),
        "vc.ril.image_encode" => Ok(Box::new(image_encode::ImageEncode::new())),
        "vc.ril.video_encode" => Ok(Box::new(video_encode::VideoEncode::new())),
        #[cfg(test)]
        "vc.test.panics_producing" => Ok(Box::new(faulty::PanicsProducing)),
        _ => return None,
    })
}

/// A port, as a component sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PortId {
    /// Position among all the component's ports (the control port is 0).
    pub(crate) all: usize,
    /// `MMAL_PORT_TYPE_*`.
    pub(crate) kind: u32,
    /// Index among the ports of its kind.
    pub(crate) index: usize,
}

impl PortId {
    pub(crate) fn is_control(self) -> bool {
        self.kind == sys::MMAL_PORT_TYPE_CONTROL
    }

    pub(crate) fn is_output(self) -> bool {
        self.kind == sys::MMAL_PORT_TYPE_OUTPUT
    }
}

/// A committed format's buffer needs: `num_min`, `size_min`,
/// `num_recommended`, `size_recommended`.
pub(crate) type Requirements = [u32; 4];

/// Work a component runs on its worker thread without the component's
/// lock (preparing a picture, say); its result goes to
/// [`Component::job_done`].
pub(crate) trait Job: Send {
    fn run(self: Box<Self>) -> Box<dyn Any + Send>;
}

/// Fills output buffers with frames, without the component's lock.
pub(crate) trait Fill: Send + Sync {
    /// Writes frame `frame` into `payload`; returns its length and the
    /// buffer flags.
    fn fill(&self, frame: u64, payload: &mut [u8]) -> (usize, u32);
}

/// Turns an input buffer into output buffers, without the component's
/// lock: called once for each enabled output that had a buffer queued.
pub(crate) trait Process: Send + Sync {
    fn process(&self, input: BufPtr, output: &Delivery);
}

/// An encoder's result for one input buffer: parts the core delivers in
/// turn across its first output's buffers, each part starting a buffer of
/// its own and its flags on its last buffer (`CONFIG` for stream headers,
/// `FRAME_END`, `KEYFRAME`, `EOS` for a still...), `pts` on each.
pub(crate) struct Encoded {
    pub(crate) parts: Vec<(Vec<u8>, u32)>,
    pub(crate) pts: i64,
}

/// Turns an input buffer into a stream of bytes, without the component's
/// lock (an encoder).
pub(crate) trait Encode: Send + Sync {
    /// `None` if the buffer holds nothing to encode (an error is logged).
    fn encode(&self, input: BufPtr) -> Option<Encoded>;
}

/// What a component does with its input buffers, without its lock
/// ([`Component::processor`]).
#[derive(Clone)]
pub(crate) enum Processor {
    /// Each input buffer goes into a buffer of each enabled output that had
    /// one queued (an output without one misses it): a converter.
    Filter(Arc<dyn Process>),
    /// Each input buffer becomes parts on the first output, which the core
    /// delivers across as many of its buffers as they take, one picture at
    /// a time: an encoder.
    Encoder(Arc<dyn Encode>),
}

/// What a component wants done next on its own account.
pub(crate) enum Produce {
    /// Nothing until something changes.
    Idle,
    /// Nothing before this time.
    Until(Instant),
    /// Run `job` for port `port` (see [`Job`]).
    Prepare { port: usize, job: Box<dyn Job> },
    /// Fill the buffer of `to` with frame `frame` at time `pts`.
    Fill { to: Delivery, fill: Arc<dyn Fill>, frame: u64, pts: i64 },
}

/// An emulated firmware component. Every method runs with the component's
/// lock held, so none may block; heavy work goes into a [`Job`], a
/// [`Fill`] or a [`Processor`].
pub(crate) trait Component: Send {
    /// Numbers of input and output ports.
    fn ports(&self) -> (usize, usize);

    /// The encodings `port` takes (`MMAL_PARAMETER_SUPPORTED_ENCODINGS`).
    fn encodings(&self, _port: PortId) -> &'static [u32] {
        &VIDEO_ENCODINGS
    }

    /// Accepts or refuses `format` on `port` (an input or output), and says
    /// what buffers it then needs. The core has already checked that the
    /// format is a video format of a supported encoding and a sane size.
    fn commit(&mut self, port: PortId, format: &VideoFormat) -> Result<Requirements, Status>;

    /// Whether the outputs take the input's format when it is committed
    /// (those not enabled).
    fn outputs_follow_input(&self) -> bool {
        false
    }

    /// The format the component gives output `output` itself when `input`
    /// is committed on its input, if it sets it (an encoder's output takes
    /// the input's size and rate). The core commits it, silently while the
    /// output is disabled, and with `MMAL_EVENT_FORMAT_CHANGED` on the
    /// output while it is enabled.
    fn output_for_input(&self, _output: PortId, _input: &VideoFormat, _current: &VideoFormat) -> Option<VideoFormat> {
        None
    }

    /// `mmal_component_enable`. A refusal may post an event through `io`.
    fn enable(&mut self, _io: &mut Io<'_>) -> Result<(), Status> {
        Ok(())
    }

    /// `mmal_port_enable` of an unconnected port with `format`: the last
    /// chance to refuse.
    fn port_enabling(&mut self, _port: PortId, _format: &VideoFormat) -> Result<(), Status> {
        Ok(())
    }

    /// `mmal_port_parameter_set` of a parameter the core does not handle
    /// itself; `data` is the whole parameter, header included.
    /// `component_enabled` says whether the component is enabled.
    fn set_parameter(&mut self, _port: PortId, _id: u32, _data: &[u8], _component_enabled: bool) -> Result<(), Status> {
        Err(sys::MMAL_ENOSYS)
    }

    /// `mmal_port_parameter_get`: writes the payload (after the header) into
    /// `out` and returns its full length.
    fn get_parameter(&self, _port: PortId, _id: u32, _out: &mut [u8]) -> Result<usize, Status> {
        Err(sys::MMAL_ENOSYS)
    }

    /// The client asked for (or stopped asking for) a change event.
    fn change_events_changed(&mut self) {}

    /// How input buffers are turned into output buffers; `None`: they are
    /// consumed (a sink).
    fn processor(&self) -> Option<Processor> {
        None
    }

    /// Which stream a [`Processor::Encoder`]'s output is on: a picture
    /// encoded for an earlier one (the output was enabled again meanwhile)
    /// is dropped.
    fn output_stream(&self) -> u64 {
        0
    }

    /// An input buffer with `flags` was handled.
    fn consumed(&mut self, _port: PortId, _flags: u32, _io: &mut Io<'_>) {}

    /// What to do next, when no event or input is waiting and the
    /// component is enabled.
    fn produce(&mut self, _io: &mut Io<'_>) -> Produce {
        Produce::Idle
    }

    /// The result of a [`Job`] for `port`.
    fn job_done(&mut self, _port: usize, _result: Box<dyn Any + Send>, _io: &mut Io<'_>) {}

    /// A [`Job`] for `port` failed (panicked).
    fn job_failed(&mut self, _port: usize) {}
}
