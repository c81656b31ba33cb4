//! Parameters of any port: capture, zero copy, change events, supported encodings.

use super::prelude::*;

scalar!(
    /// `MMAL_PARAMETER_CAPTURE`, on the video or still port: the video port
    /// streams while it is set; the still port takes one picture each time
    /// it is set.
    Capture(bool), sys::MMAL_PARAMETER_CAPTURE, "CAPTURE", sys::MMAL_PARAMETER_BOOLEAN_T, enable,
    |v| v != 0, |v: bool| v as i32
);
scalar!(
    /// `MMAL_PARAMETER_ZERO_COPY`: payloads in VCSM memory shared with the
    /// VideoCore instead of copied. Set it before enabling the port.
    ZeroCopy(bool), sys::MMAL_PARAMETER_ZERO_COPY, "ZERO_COPY", sys::MMAL_PARAMETER_BOOLEAN_T, enable,
    |v| v != 0, |v: bool| v as i32
);

/// `MMAL_PARAMETER_CHANGE_EVENT_REQUEST`: ask for (or stop) an
/// [`Event::ParameterChanged`](crate::Event::ParameterChanged) each time
/// parameter `id` changes. raspistill asks for
/// [`CameraSettings`](super::CameraSettings) this way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeEventRequest {
    /// The parameter to watch.
    pub id: u32,
    /// Start (`true`) or stop.
    pub enable: bool,
}

impl ChangeEventRequest {
    /// Watch parameter `P`.
    pub fn of<P: Parameter>() -> ChangeEventRequest {
        ChangeEventRequest { id: P::ID, enable: true }
    }
}

impl Parameter for ChangeEventRequest {
    const ID: u32 = sys::MMAL_PARAMETER_CHANGE_EVENT_REQUEST;
    const NAME: &'static str = "CHANGE_EVENT_REQUEST";
}

impl SetParameter for ChangeEventRequest {
    type C = sys::MMAL_PARAMETER_CHANGE_EVENT_REQUEST_T;
    fn to_c(&self) -> Result<Self::C> {
        Ok(Self::C::with_id(Self::ID).tap(|c| (c.change_id, c.enable) = (self.id, self.enable as i32)))
    }
}

/// `MMAL_PARAMETER_SUPPORTED_ENCODINGS`: what a port accepts, in the
/// firmware's order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportedEncodings(pub Vec<Encoding>);

impl Parameter for SupportedEncodings {
    const ID: u32 = sys::MMAL_PARAMETER_SUPPORTED_ENCODINGS;
    const NAME: &'static str = "SUPPORTED_ENCODINGS";
}

impl GetParameter for SupportedEncodings {
    type C = sys::param::MaxParameter;
    const MIN_SIZE: usize = 8;
    fn from_c(c: &Self::C, size: usize) -> Result<Self> {
        let n = ((size - 8) / 4).min(c.words.len());
        Ok(SupportedEncodings(c.words[..n].iter().map(|&e| Encoding::from_raw(e)).collect()))
    }
}
