//! Typed components: each firmware component the crate uses, with its
//! ports by role (`camera.still()`, `encoder.output()`), so that a wrong
//! port index or a misspelt component name does not compile.
//!
//! Each wraps a [`Component`] (reachable through `Deref`, for
//! [`enable`](Component::enable), [`control`](Component::control),
//! [`events`](Component::events)…) and holds its ports, checked to exist
//! when it is made.
//!
//! ```
//! use mmal::components::{CameraComponent, ImageEncoder};
//! use mmal::{Connection, ConnectionFlags, Encoding, Format};
//!
//! let camera = CameraComponent::new()?;
//! let encoder = ImageEncoder::new()?;
//! camera.still().set_format(&Format::video(Encoding::OPAQUE, 640, 480))?;
//! let _link = Connection::new(camera.still(), encoder.input(), ConnectionFlags::default())?;
//! encoder.output().set_format(&Format::video(Encoding::JPEG, 640, 480))?;
//! # Ok::<(), mmal::Error>(())
//! ```

use std::ops::Deref;

use crate::component::{Component, Port};
use crate::error::{Error, Result};

fn ports(component: &Component, inputs: usize, outputs: usize) -> Result<(Vec<Port>, Vec<Port>)> {
    if component.input_count() < inputs || component.output_count() < outputs {
        return Err(Error::State(format!(
            "{} has {} input(s) and {} output(s); the firmware's has {inputs} and {outputs}",
            component.name(),
            component.input_count(),
            component.output_count()
        )));
    }
    let ins = (0..inputs).map(|i| component.input(i)).collect::<Result<_>>()?;
    let outs = (0..outputs).map(|i| component.output(i)).collect::<Result<_>>()?;
    Ok((ins, outs))
}

macro_rules! typed_component {
    ($(#[$doc:meta])* $ty:ident, $name:literal, inputs: $ni:literal, outputs: $no:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $ty {
            component: Component,
            inputs: [Port; $ni],
            outputs: [Port; $no],
        }

        impl $ty {
            /// The firmware's name for the component.
            pub const NAME: &'static str = $name;

            /// Creates the component.
            ///
            /// # Errors
            ///
            /// As [`Component::new`]; [`Error::State`] if the provider's
            /// component lacks a port the firmware's has.
            pub fn new() -> Result<$ty> {
                let component = Component::new($name)?;
                let (ins, outs) = ports(&component, $ni, $no)?;
                let inputs: [Port; $ni] = ins.try_into().expect("counted above");
                let outputs: [Port; $no] = outs.try_into().expect("counted above");
                Ok($ty { component, inputs, outputs })
            }

            /// The component, for what every component has.
            pub fn component(&self) -> &Component {
                &self.component
            }

            /// Its inputs, in order.
            pub fn inputs(&self) -> &[Port] {
                &self.inputs
            }

            /// Its outputs, in order.
            pub fn outputs(&self) -> &[Port] {
                &self.outputs
            }
        }

        impl Deref for $ty {
            type Target = Component;
            fn deref(&self) -> &Component {
                &self.component
            }
        }

        impl From<$ty> for Component {
            fn from(c: $ty) -> Component {
                c.component
            }
        }
    };
}

typed_component!(
    /// `vc.ril.camera`: the camera, with its preview, video and still
    /// outputs.
    CameraComponent, "vc.ril.camera", inputs: 0, outputs: 3
);

impl CameraComponent {
    /// Output 0: frames for a preview (a renderer, or a null sink so that
    /// exposure and white balance keep running).
    pub fn preview(&self) -> &Port {
        &self.outputs[0]
    }

    /// Output 1: video frames (to record, or read).
    pub fn video(&self) -> &Port {
        &self.outputs[1]
    }

    /// Output 2: stills, one per `Capture`.
    pub fn still(&self) -> &Port {
        &self.outputs[2]
    }
}

typed_component!(
    /// `vc.ril.image_encode`: pictures to JPEG, PNG, GIF, BMP, PPM or TGA.
    ImageEncoder, "vc.ril.image_encode", inputs: 1, outputs: 1
);
typed_component!(
    /// `vc.ril.video_encode`: frames to H.264 or MJPEG.
    VideoEncoder, "vc.ril.video_encode", inputs: 1, outputs: 1
);
typed_component!(
    /// `vc.ril.resize`: scales its input to its output's size, and converts
    /// between I420, RGB24, BGR24, RGBA and BGRA.
    Resizer, "vc.ril.resize", inputs: 1, outputs: 1
);
typed_component!(
    /// `vc.null_sink`: takes frames and discards them (the camera's
    /// preview output goes to one when nothing shows it).
    NullSink, "vc.null_sink", inputs: 1, outputs: 0
);
typed_component!(
    /// `vc.ril.video_render`: shows frames on the display (its place and
    /// layer through `MMAL_PARAMETER_DISPLAYREGION`).
    Renderer, "vc.ril.video_render", inputs: 1, outputs: 0
);
typed_component!(
    /// `vc.ril.video_splitter`: one input copied to four outputs, each in
    /// its own encoding.
    Splitter, "vc.ril.video_splitter", inputs: 1, outputs: 4
);
typed_component!(
    /// `vc.camera_info`: what cameras are attached (read
    /// [`CameraInfo`](crate::params::CameraInfo) on its control port).
    CameraInfoComponent, "vc.camera_info", inputs: 0, outputs: 0
);

macro_rules! one_input {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// The input.
            pub fn input(&self) -> &Port {
                &self.inputs[0]
            }
        }
    )*};
}
one_input!(ImageEncoder, VideoEncoder, Resizer, NullSink, Renderer, Splitter);

macro_rules! one_output {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// The output.
            pub fn output(&self) -> &Port {
                &self.outputs[0]
            }
        }
    )*};
}
one_output!(ImageEncoder, VideoEncoder, Resizer);

/// One of a [`Splitter`]'s four outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SplitterOutput {
    /// Output 0.
    First,
    /// Output 1.
    Second,
    /// Output 2.
    Third,
    /// Output 3.
    Fourth,
}

impl SplitterOutput {
    /// All four, in order.
    pub const ALL: [SplitterOutput; 4] =
        [SplitterOutput::First, SplitterOutput::Second, SplitterOutput::Third, SplitterOutput::Fourth];

    /// The port's index.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl Splitter {
    /// The output `which`.
    pub fn output(&self, which: SplitterOutput) -> &Port {
        &self.outputs[which.index()]
    }
}

impl CameraInfoComponent {
    /// The cameras attached, as the firmware reports them.
    ///
    /// # Errors
    ///
    /// As [`Port::get`].
    pub fn info(&self) -> Result<crate::params::CameraInfo> {
        self.control().get()
    }
}
