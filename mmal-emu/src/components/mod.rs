//! The emulated firmware components, one per file behind the core's
//! [`Component`] trait.
//!
//! The core (`crate::core`) owns what libmmal's core owns: ports and their
//! state, queues, tunnels, the worker thread and events. A component says
//! what is particular to it: its ports, the formats and parameters it
//! accepts, and what it does with buffers. Adding a component is a file
//! here and a line in [`create`], which `mmal_component_create` asks (the
//! core never names a component, as libmmal's core finds its components
//! through the suppliers registered with it).

mod camera;
mod camera_info;
#[cfg(test)]
mod faulty;
mod image_encode;
mod kept;
mod null_sink;
mod resize;
mod video_encode;
pub(crate) mod video_render;
mod video_splitter;

use crate::objects::Status;

pub(crate) use crate::core::{
    Component, Encode, Encoded, Fill, Job, PortId, Process, Processor, Produce, Requirements,
};

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
        "vc.ril.video_render" => Ok(Box::new(video_render::VideoRender::new())),
        #[cfg(test)]
        "vc.test.panics_producing" => Ok(Box::new(faulty::PanicsProducing)),
        _ => return None,
    })
}
