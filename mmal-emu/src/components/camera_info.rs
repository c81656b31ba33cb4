//! `vc.camera_info`: which cameras are attached (`MMAL_PARAMETER_CAMERA_INFO`
//! on its control port): the one emulated sensor.

use mmal_sys as sys;

use super::{Component, PortId, Requirements};
use crate::core::params::put_u32;
use crate::format::VideoFormat;
use crate::objects::Status;
use crate::sensor::Sensor;

pub(crate) struct CameraInfo {
    sensor: Sensor,
}

impl CameraInfo {
    pub(crate) fn new() -> CameraInfo {
        CameraInfo { sensor: crate::sensor() }
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
        put_u32(out, 0, 1); // num_cameras
        put_u32(out, 4, 0); // num_flashes
        put_u32(out, 8, 0); // port_id
        put_u32(out, 12, w);
        put_u32(out, 16, h);
        put_u32(out, 20, 0); // lens_present
        let name = self.sensor.name().as_bytes();
        out[24..24 + 16].fill(0);
        out[24..24 + name.len()].copy_from_slice(name);
        Ok(std::mem::size_of::<sys::MMAL_PARAMETER_CAMERA_INFO_T>() - 8)
    }
}
