//! `vc.camera_info`: which cameras are attached (`MMAL_PARAMETER_CAMERA_INFO`
//! on its control port): the one emulated sensor.

use mmal_sys as sys;
use sys::param::ParameterStruct;

use super::{Component, PortId, Requirements};
use crate::core::params::reply;
use crate::format::VideoFormat;
use crate::objects::Status;
use crate::sensor::Sensor;

pub(crate) struct CameraInfo {
    sensor: Sensor,
}

impl CameraInfo {
    pub(crate) fn new() -> CameraInfo {
        CameraInfo { sensor: crate::settings::sensor() }
    }
}

impl Component for CameraInfo {
    fn ports(&self) -> (usize, usize) {
        (0, 0)
    }

    fn commit(&mut self, _port: PortId, _format: &VideoFormat) -> Result<Requirements, Status> {
        Err(sys::MMAL_EINVAL)
    }

    fn get_parameter(&self, port: PortId, id: u32, out: &mut [u8]) -> Result<usize, Status> {
        if !port.is_control() || id != sys::MMAL_PARAMETER_CAMERA_INFO {
            return Err(sys::MMAL_ENOSYS);
        }
        let (w, h) = self.sensor.resolution();
        let mut info = sys::MMAL_PARAMETER_CAMERA_INFO_T::with_id(id);
        info.num_cameras = 1;
        let camera = &mut info.cameras[0];
        (camera.max_width, camera.max_height) = (w, h);
        for (to, &from) in camera.camera_name.iter_mut().zip(self.sensor.name().as_bytes()) {
            *to = from as std::ffi::c_char;
        }
        Ok(reply(out, &info))
    }
}
