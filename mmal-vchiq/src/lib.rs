//! A typed host-side MMAL client over one VCHIQ service.
#![forbid(unsafe_code)]
