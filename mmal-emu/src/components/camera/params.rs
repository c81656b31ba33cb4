//! The camera's parameters: what each output and the control port take
//! (kept values, the picture controls, exposure, white balance, the lens
//! shading override, raw capture), and what they answer, `CAMERA_SETTINGS`
//! and `SYSTEM_TIME` among them.

use std::sync::Arc;
use std::time::Instant;

use mmal_sys as sys;
use sys::param::ParameterStruct;

use super::kept;
use super::{Camera, STILL};
use crate::components::PortId;
use crate::core::params::{ratio, rational, read, read_bool, read_u32, reply, reply_bool, reply_u32};
use crate::objects::Status;
use crate::sensor::{self, Sensor, Settings, ShadingTable};

/// The control port's kept parameters that change the picture.
const PICTURE_CONTROLS: [u32; 9] = [
    sys::MMAL_PARAMETER_BRIGHTNESS,
    sys::MMAL_PARAMETER_CONTRAST,
    sys::MMAL_PARAMETER_SATURATION,
    sys::MMAL_PARAMETER_SHARPNESS,
    sys::MMAL_PARAMETER_EXPOSURE_COMP,
    sys::MMAL_PARAMETER_IMAGE_EFFECT,
    sys::MMAL_PARAMETER_IMAGE_EFFECT_PARAMETERS,
    sys::MMAL_PARAMETER_COLOUR_EFFECT,
    sys::MMAL_PARAMETER_DYNAMIC_RANGE_COMPRESSION,
];

/// Kept per output besides [`kept::CAMERA_OUTPUT`]: the stereoscopic mode,
/// which raspistill, raspiyuv and raspivid set on each of the three outputs
/// (and give up if refused); none, side by side or top and bottom.
static OUTPUT_STEREO: &[kept::Spec] = &[kept::Spec {
    id: sys::MMAL_PARAMETER_STEREOSCOPIC_MODE,
    sizes: kept::exactly::<sys::MMAL_PARAMETER_STEREOSCOPIC_MODE_T>(),
    default: kept::words!(sys::MMAL_STEREOSCOPIC_MODE_NONE, 0, 0),
    valid: Some(stereo_mode),
}];

/// Kept on the control port besides [`kept::CAMERA_CONTROL`]: the boxes
/// drawn round faces and the focus region, which the apps turn off (the
/// software VideoCore finds no faces, so it draws none either way).
static CONTROL_DRAW_BOX: &[kept::Spec] = &[kept::Spec {
    id: sys::MMAL_PARAMETER_DRAW_BOX_FACES_AND_FOCUS,
    sizes: kept::exactly::<sys::MMAL_PARAMETER_BOOLEAN_T>(),
    default: kept::words!(0),
    valid: None,
}];

/// A stereoscopic mode the header names.
fn stereo_mode(w: [u32; 4]) -> Result<(), &'static str> {
    match w[0] {
        sys::MMAL_STEREOSCOPIC_MODE_NONE
        | sys::MMAL_STEREOSCOPIC_MODE_SIDE_BY_SIDE
        | sys::MMAL_STEREOSCOPIC_MODE_TOP_BOTTOM => Ok(()),
        _ => Err("stereoscopic mode is none, side by side or top and bottom"),
    }
}

impl Camera {
    pub(super) fn set_output_parameter(&mut self, index: usize, id: u32, data: &[u8]) -> Result<(), Status> {
        if let Some(result) = self.kept[1 + index].set(kept::CAMERA_OUTPUT, id, data) {
            // Mirror and rotation change the picture.
            if result.is_ok() && matches!(id, sys::MMAL_PARAMETER_MIRROR | sys::MMAL_PARAMETER_ROTATION) {
                self.generation += 1;
            }
            return result;
        }
        if let Some(result) = self.kept[1 + index].set(OUTPUT_STEREO, id, data) {
            return result;
        }
        let o = &mut self.outputs[index];
        match id {
            sys::MMAL_PARAMETER_CAPTURE => {
                let on = read_bool(data)?;
                // Each set of the still port's CAPTURE takes one picture (as
                // raspistill's timelapse sets it again for every frame).
                if index == STILL && on {
                    o.stills += 1;
                }
                o.capture = on;
                if index == STILL && !on {
                    o.stills = 0;
                }
            }
            sys::MMAL_PARAMETER_ENABLE_RAW_CAPTURE if index == STILL => {
                o.raw = read_bool(data)?;
                o.prepared = None;
            }
            sys::MMAL_PARAMETER_FPS_RANGE => {
                let range = read::<sys::MMAL_PARAMETER_FPS_RANGE_T>(data)?;
                let (low, high) = (ratio(range.fps_low)?, ratio(range.fps_high)?);
                if low < 0.0 || high < low {
                    return Err(sys::MMAL_EINVAL);
                }
                o.fps_range = (low, high);
                o.prepared = None;
            }
            sys::MMAL_PARAMETER_FRAME_RATE => {
                // A live change of rate, as picamera's `framerate_delta`
                // makes; 0 hands the rate back to the format and FPS range.
                let rate = ratio(read::<sys::MMAL_PARAMETER_FRAME_RATE_T>(data)?.frame_rate)?;
                if !(0.0..=1000.0).contains(&rate) {
                    return Err(sys::MMAL_EINVAL);
                }
                o.frame_rate = (rate > 0.0).then_some(rate);
                o.prepared = None;
            }
            _ => return Err(sys::MMAL_ENOSYS),
        }
        Ok(())
    }

    pub(super) fn set_control_parameter(&mut self, id: u32, data: &[u8], enabled: bool) -> Result<(), Status> {
        if let Some(result) = self.kept[0].set(kept::CAMERA_CONTROL, id, data) {
            // The picture controls change the picture; the others only read back.
            if result.is_ok() && PICTURE_CONTROLS.contains(&id) {
                if id == sys::MMAL_PARAMETER_IMAGE_EFFECT {
                    let effect = self.kept[0].words(kept::CAMERA_CONTROL, id)[0];
                    if !sensor::effect_is_drawn(effect) {
                        log::info!("image effect {effect} is kept; the software VideoCore does not draw it");
                    }
                }
                if id == sys::MMAL_PARAMETER_EXPOSURE_COMP {
                    // The exposure changes: report the settings anew.
                    self.changed();
                } else {
                    self.generation += 1;
                }
            }
            return result;
        }
        if let Some(result) = self.kept[0].set(CONTROL_DRAW_BOX, id, data) {
            return result;
        }
        let sensor = self.sensor;
        let p = &mut self.params;
        match id {
            sys::MMAL_PARAMETER_CAMERA_NUM => {
                let n = read::<sys::MMAL_PARAMETER_INT32_T>(data)?.value;
                if !(0..4).contains(&n) {
                    return Err(sys::MMAL_EINVAL);
                }
                p.camera_num = n;
            }
            sys::MMAL_PARAMETER_CAMERA_CUSTOM_SENSOR_CONFIG => {
                let mode = read_u32(data)?;
                if mode as usize > sensor.modes().len() {
                    return Err(sys::MMAL_EINVAL);
                }
                p.sensor_mode = mode;
            }
            sys::MMAL_PARAMETER_CAMERA_CONFIG => {
                let config = read::<sys::MMAL_PARAMETER_CAMERA_CONFIG_T>(data)?;
                if enabled {
                    log::error!("camera config cannot change while the camera is enabled");
                    return Err(sys::MMAL_EINVAL);
                }
                p.config = config;
            }
            sys::MMAL_PARAMETER_SHUTTER_SPEED => p.shutter_us = read_u32(data)?,
            sys::MMAL_PARAMETER_ISO => {
                let iso = read_u32(data)?;
                if iso > 1600 {
                    return Err(sys::MMAL_EINVAL);
                }
                p.iso = iso;
            }
            sys::MMAL_PARAMETER_EXPOSURE_MODE => {
                let mode = read::<sys::MMAL_PARAMETER_EXPOSUREMODE_T>(data)?.value;
                if mode > sys::MMAL_PARAM_EXPOSUREMODE_FIREWORKS {
                    return Err(sys::MMAL_EINVAL);
                }
                p.exposure_mode = mode;
            }
            sys::MMAL_PARAMETER_AWB_MODE => {
                let mode = read::<sys::MMAL_PARAMETER_AWBMODE_T>(data)?.value;
                if mode > sys::MMAL_PARAM_AWBMODE_GREYWORLD {
                    return Err(sys::MMAL_EINVAL);
                }
                p.awb_mode = mode;
            }
            sys::MMAL_PARAMETER_CUSTOM_AWB_GAINS => {
                let gains = read::<sys::MMAL_PARAMETER_AWB_GAINS_T>(data)?;
                let (r, b) = (ratio(gains.r_gain)?, ratio(gains.b_gain)?);
                if !(0.0..=8.0).contains(&r) || !(0.0..=8.0).contains(&b) {
                    return Err(sys::MMAL_EINVAL);
                }
                p.awb_gains = (r, b);
            }
            sys::MMAL_PARAMETER_ANALOG_GAIN | sys::MMAL_PARAMETER_DIGITAL_GAIN => {
                let g = ratio(read::<sys::MMAL_PARAMETER_RATIONAL_T>(data)?.value)?;
                let max = if id == sys::MMAL_PARAMETER_DIGITAL_GAIN {
                    64.0
                } else if sensor == Sensor::Ov5647 {
                    8.0
                } else {
                    12.0
                };
                if g != 0.0 && !(1.0..=max).contains(&g) {
                    return Err(sys::MMAL_EINVAL);
                }
                if id == sys::MMAL_PARAMETER_ANALOG_GAIN {
                    p.analog_gain = g;
                } else {
                    p.digital_gain = g;
                }
            }
            sys::MMAL_PARAMETER_LENS_SHADING_OVERRIDE => p.lens_shading = read_lens_shading(sensor, data)?,
            sys::MMAL_PARAMETER_BLACK_LEVEL => {
                let level = read_u32(data)?;
                let (_, bits, _) = sensor.raw_layout();
                if level >= (1 << bits) - 1 {
                    log::error!("black level {level}: the {}-bit sensor's levels end at {}", bits, (1 << bits) - 1);
                    return Err(sys::MMAL_EINVAL);
                }
                p.black_level = Some(level);
            }
            _ => return Err(sys::MMAL_ENOSYS),
        }
        self.changed();
        Ok(())
    }

    /// `mmal_port_parameter_get` on `port`.
    pub(super) fn parameter(&self, port: PortId, id: u32, out: &mut [u8]) -> Result<usize, Status> {
        let gain = |out: &mut [u8], value: f32| {
            let mut p = sys::MMAL_PARAMETER_RATIONAL_T::with_id(id);
            p.value = rational(value);
            Ok(reply(out, &p))
        };
        if id == sys::MMAL_PARAMETER_SYSTEM_TIME {
            let mut p = sys::MMAL_PARAMETER_UINT64_T::with_id(id);
            p.value = system_time_us();
            return Ok(reply(out, &p));
        }
        if port.is_output() {
            let o = &self.outputs[port.index];
            return match id {
                sys::MMAL_PARAMETER_CAPTURE => Ok(reply_bool(out, id, o.capture)),
                sys::MMAL_PARAMETER_ENABLE_RAW_CAPTURE if port.index == STILL => Ok(reply_bool(out, id, o.raw)),
                sys::MMAL_PARAMETER_FPS_RANGE => {
                    let mut p = sys::MMAL_PARAMETER_FPS_RANGE_T::with_id(id);
                    (p.fps_low, p.fps_high) = (rational(o.fps_range.0), rational(o.fps_range.1));
                    Ok(reply(out, &p))
                }
                sys::MMAL_PARAMETER_FRAME_RATE => {
                    let mut p = sys::MMAL_PARAMETER_FRAME_RATE_T::with_id(id);
                    p.frame_rate = rational(self.fps(port.index));
                    Ok(reply(out, &p))
                }
                _ => (self.kept[1 + port.index].get(kept::CAMERA_OUTPUT, id, out))
                    .or_else(|| self.kept[1 + port.index].get(OUTPUT_STEREO, id, out))
                    .ok_or(sys::MMAL_ENOSYS),
            };
        }
        let q = &self.params;
        match id {
            sys::MMAL_PARAMETER_CAMERA_NUM => {
                let mut p = sys::MMAL_PARAMETER_INT32_T::with_id(id);
                p.value = q.camera_num;
                Ok(reply(out, &p))
            }
            sys::MMAL_PARAMETER_CAMERA_CUSTOM_SENSOR_CONFIG => Ok(reply_u32(out, id, q.sensor_mode)),
            sys::MMAL_PARAMETER_SHUTTER_SPEED => Ok(reply_u32(out, id, self.shutter_speed())),
            sys::MMAL_PARAMETER_ISO => Ok(reply_u32(out, id, q.iso)),
            sys::MMAL_PARAMETER_EXPOSURE_MODE => {
                let mut p = sys::MMAL_PARAMETER_EXPOSUREMODE_T::with_id(id);
                p.value = q.exposure_mode;
                Ok(reply(out, &p))
            }
            sys::MMAL_PARAMETER_AWB_MODE => {
                let mut p = sys::MMAL_PARAMETER_AWBMODE_T::with_id(id);
                p.value = q.awb_mode;
                Ok(reply(out, &p))
            }
            sys::MMAL_PARAMETER_CAMERA_CONFIG => Ok(reply(out, &q.config)),
            sys::MMAL_PARAMETER_CUSTOM_AWB_GAINS => {
                let mut p = sys::MMAL_PARAMETER_AWB_GAINS_T::with_id(id);
                (p.r_gain, p.b_gain) = (rational(q.awb_gains.0), rational(q.awb_gains.1));
                Ok(reply(out, &p))
            }
            sys::MMAL_PARAMETER_ANALOG_GAIN => gain(out, q.analog_gain),
            sys::MMAL_PARAMETER_DIGITAL_GAIN => gain(out, q.digital_gain),
            sys::MMAL_PARAMETER_CAMERA_SETTINGS => Ok(write_settings(out, &self.setup(1).settings())),
            sys::MMAL_PARAMETER_BLACK_LEVEL => {
                Ok(reply_u32(out, id, q.black_level.unwrap_or(u32::from(self.sensor.raw_layout().2))))
            }
            _ => (self.kept[0].get(kept::CAMERA_CONTROL, id, out))
                .or_else(|| self.kept[0].get(CONTROL_DRAW_BOX, id, out))
                .ok_or(sys::MMAL_ENOSYS),
        }
    }
}

/// Checks a lens shading override as the firmware does and copies the table
/// out of VCSM: `None` turns the override off.
fn read_lens_shading(sensor: Sensor, data: &[u8]) -> Result<Option<Arc<ShadingTable>>, Status> {
    let p = read::<sys::MMAL_PARAMETER_LENS_SHADING_T>(data)?;
    let (cell, width, stride, height, handle) =
        (p.grid_cell_size, p.grid_width, p.grid_stride, p.grid_height, p.mem_handle_table);
    // VC_IMAGE_TRANSFORM_T: flips are bits 0 and 1; a transpose (bit 2)
    // has no sensor readout to match and is taken as none.
    if p.ref_transform & !3 != 0 {
        log::warn!("lens shading: ref_transform {:#x}: only the flips (bits 0 and 1) are used", p.ref_transform);
    }
    let ref_transform = (p.ref_transform & 3) as u8;
    if p.enabled == 0 {
        return Ok(None);
    }
    let (w, h) = sensor.resolution();
    if cell != 64 {
        log::error!("lens shading: grid cell size {cell}, the camera supports 64");
        return Err(sys::MMAL_EINVAL);
    }
    // Widened: every value here comes from the client.
    let covers = u64::from(width) * 64 >= u64::from(w) && u64::from(height) * 64 >= u64::from(h);
    if width == 0 || height == 0 || stride < width || !covers || width > 256 || height > 256 || stride > 4096 {
        log::error!("lens shading: a {width}x{height} grid (stride {stride}) does not cover the {w}x{h} sensor");
        return Err(sys::MMAL_EINVAL);
    }
    // At most 4096 * 256 * 4 bytes: no overflow even with a 32-bit usize.
    let len = stride as usize * height as usize * 4;
    let mut gains = vec![0u8; len];
    match vcsm::emulated::lookup(handle) {
        Ok(info) if info.size >= len => {}
        Ok(info) => {
            log::error!("lens shading: VCSM block {handle:#x} holds {} bytes, the table needs {len}", info.size);
            return Err(sys::MMAL_EINVAL);
        }
        Err(e) => {
            log::error!("lens shading: mem_handle_table {handle:#x} is not a VCSM VideoCore handle: {e}");
            return Err(sys::MMAL_EINVAL);
        }
    }
    vcsm::emulated::read(handle, 0, &mut gains).map_err(|e| {
        log::error!("lens shading: cannot read VCSM block {handle:#x}: {e}");
        sys::MMAL_EINVAL
    })?;
    Ok(Some(Arc::new(ShadingTable {
        width: width as usize,
        height: height as usize,
        stride: stride as usize,
        gains,
        ref_transform,
    })))
}

/// `SYSTEM_TIME`, which every port of the camera answers (picamera's
/// `timestamp`): microseconds since the system booted, as the VideoCore's
/// clock counts. The boot time is read once from `/proc/uptime` (to the
/// hundredth of a second); the count then follows the monotonic clock.
fn system_time_us() -> u64 {
    static BASE: std::sync::OnceLock<(Instant, u64)> = std::sync::OnceLock::new();
    let (at, uptime) = *BASE.get_or_init(|| {
        let uptime = std::fs::read_to_string("/proc/uptime")
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()))
            .unwrap_or(0.0);
        (Instant::now(), (uptime * 1e6) as u64)
    });
    uptime.saturating_add(at.elapsed().as_micros() as u64)
}

/// `MMAL_PARAMETER_CAMERA_SETTINGS_T` after its header.
pub(super) fn write_settings(out: &mut [u8], s: &Settings) -> usize {
    let mut p = sys::MMAL_PARAMETER_CAMERA_SETTINGS_T::with_id(sys::MMAL_PARAMETER_CAMERA_SETTINGS);
    p.exposure = s.exposure_us;
    p.analog_gain = rational(s.analog_gain);
    p.digital_gain = rational(s.digital_gain);
    p.awb_red_gain = rational(s.awb_gains.0);
    p.awb_blue_gain = rational(s.awb_gains.1);
    reply(out, &p)
}
