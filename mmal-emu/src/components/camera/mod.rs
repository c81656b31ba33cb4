//! `vc.ril.camera`: a sensor looking at the scene through a vignetting
//! lens, with outputs 0 preview (always running while enabled), 1 video
//! (while `CAPTURE` is on) and 2 still (one frame per `CAPTURE`). The
//! picture itself comes from [`crate::sensor`].

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mmal_sys as sys;

use super::kept::{self, Kept};
use super::{Component, Fill, Job, PortId, Produce, Requirements};
use crate::core::{Io, PendingEvent};
use crate::format::VideoFormat;
use crate::objects::Status;
use crate::sensor::{self, CameraParams, Look, Prepared, Sensor, Settings, Setup};
use crate::settings::{self, CameraFault, Pacing};

mod lock;
mod params;

use lock::SensorLock;
use params::write_settings;

const STILL: usize = 2;

/// The smallest picture an output gives, a side.
const MIN_SIZE: u32 = 16;

pub(crate) struct Camera {
    sensor: Sensor,
    params: CameraParams,
    /// Bumped by anything that changes the picture.
    generation: u64,
    /// The settings last reported in a change event.
    reported: Option<Settings>,
    outputs: [Output; 3],
    /// Parameters kept as given, the picture controls among them (see
    /// [`Camera::look`]): the control port's, then each output's.
    kept: [Kept; 4],
    /// Names this camera's OPAQUE images (`crate::opaque`), which go with it.
    images: u64,
    /// The sensor, held from the first enable (of the camera or an output)
    /// until the camera goes.
    sensor_lock: Option<SensorLock>,
}

impl Drop for Camera {
    fn drop(&mut self) {
        crate::opaque::forget(self.images);
    }
}

/// What the camera keeps per output.
#[derive(Default)]
struct Output {
    format: VideoFormat,
    capture: bool,
    /// Stills asked for and not yet taken.
    stills: u32,
    fps_range: (f32, f32),
    /// `FRAME_RATE` set on the port since its format was committed.
    frame_rate: Option<f32>,
    next_due: Option<Instant>,
    prepared: Option<(u64, Arc<Prepared>)>,
    /// The generation being prepared.
    preparing: Option<u64>,
    /// The generation whose preparation failed: no frames until a change.
    broken: Option<u64>,
    frames: u64,
    /// The still port's `ENABLE_RAW_CAPTURE`.
    raw: bool,
}

impl Camera {
    pub(crate) fn new() -> Result<Camera, Status> {
        if settings::camera_fault() == Some(CameraFault::Disabled) {
            log::error!("mmal_vc_component_create: failed to create component 'vc.ril.camera' (1:ENOMEM)");
            return Err(sys::MMAL_ENOMEM);
        }
        let sensor = settings::sensor();
        Ok(Camera {
            sensor,
            params: CameraParams::new(sensor),
            generation: 0,
            reported: None,
            kept: Default::default(),
            outputs: Default::default(),
            images: crate::opaque::new_owner(),
            sensor_lock: None,
        })
    }

    fn changed(&mut self) {
        self.generation += 1;
        self.reported = None;
    }

    fn setup(&self, index: usize) -> Setup {
        Setup {
            images: self.images,
            raw: index == STILL && self.outputs[index].raw,
            sensor: self.sensor,
            params: self.params.clone(),
            look: self.look(index),
            format: self.outputs[index].format,
            fps: self.fps(index),
            scene: settings::scene(),
        }
    }

    /// The picture controls set on the control port and output `index`'s
    /// orientation (`MIRROR`, and `ROTATION` 180 as both flips).
    fn look(&self, index: usize) -> Look {
        let control = |id| self.kept[0].words(kept::CAMERA_CONTROL, id);
        let output = |id| self.kept[1 + index].words(kept::CAMERA_OUTPUT, id);
        let rational = |id| {
            let w = control(id);
            let (num, den) = (w[0] as i32, w[1] as i32);
            if den == 0 {
                0.0
            } else {
                num as f32 / den as f32
            }
        };
        let colour = control(sys::MMAL_PARAMETER_COLOUR_EFFECT);
        let effect = control(sys::MMAL_PARAMETER_IMAGE_EFFECT)[0];
        // The parameters act on the effect they were set for.
        let fx: [u32; 8] = self.kept[0].words_n(kept::CAMERA_CONTROL, sys::MMAL_PARAMETER_IMAGE_EFFECT_PARAMETERS);
        let effect_params = if fx[0] == effect && fx[1] > 0 {
            (fx[1].min(6), [fx[2], fx[3], fx[4], fx[5], fx[6], fx[7]])
        } else {
            (0, [0; 6])
        };
        let mirror = output(sys::MMAL_PARAMETER_MIRROR)[0];
        // As a transform, bit 0 is horizontal and bit 1 vertical.
        let mut transform = match mirror {
            sys::MMAL_PARAM_MIRROR_VERTICAL => 2,
            sys::MMAL_PARAM_MIRROR_HORIZONTAL => 1,
            sys::MMAL_PARAM_MIRROR_BOTH => 3,
            _ => 0,
        };
        // Rotation by 90 or 270 degrees is kept, not drawn.
        if (output(sys::MMAL_PARAMETER_ROTATION)[0] as i32).rem_euclid(360) == 180 {
            transform ^= 3;
        }
        Look {
            brightness: rational(sys::MMAL_PARAMETER_BRIGHTNESS).clamp(0.0, 1.0),
            contrast: rational(sys::MMAL_PARAMETER_CONTRAST).clamp(-1.0, 1.0),
            saturation: rational(sys::MMAL_PARAMETER_SATURATION).clamp(-1.0, 1.0),
            sharpness: rational(sys::MMAL_PARAMETER_SHARPNESS).clamp(-1.0, 1.0),
            exposure_comp: control(sys::MMAL_PARAMETER_EXPOSURE_COMP)[0] as i32,
            effect,
            effect_params,
            colour: (colour[0] != 0).then(|| (colour[1].min(255) as u8, colour[2].min(255) as u8)),
            drc: control(sys::MMAL_PARAMETER_DYNAMIC_RANGE_COMPRESSION)[0],
            transform,
        }
    }

    /// The frame rate an output runs at: its format's, else the top of its
    /// FPS range, else 30.
    fn fps(&self, index: usize) -> f32 {
        let o = &self.outputs[index];
        let f = o.frame_rate.unwrap_or_else(|| o.format.fps());
        if f > 0.0 {
            f
        } else if o.fps_range.1 > 0.0 {
            o.fps_range.1
        } else {
            30.0
        }
    }

    /// Takes the sensor for this camera, if it has not got it: ENOSPC while
    /// another camera component holds it (`what` failed, the log says).
    fn take_sensor(&mut self, what: &str) -> Result<(), Status> {
        if self.sensor_lock.is_none() {
            self.sensor_lock = SensorLock::take(self.params.camera_num).inspect_err(|_| {
                log::error!(
                    "{what}: ENOSPC (camera {} is in use by another camera component, in this program or another)",
                    self.params.camera_num
                )
            })?;
        }
        Ok(())
    }

    /// `SHUTTER_SPEED` as the firmware answers it: the value set, bounded
    /// by the frame period the sensor runs at (the preview port's rate),
    /// as the exposure is; 0 (automatic) stays 0.
    fn shutter_speed(&self) -> u32 {
        let period = (1e6 / f64::from(self.fps(0))).floor();
        self.params.shutter_us.min(period.clamp(1.0, f64::from(u32::MAX)) as u32)
    }

    fn current_generation(&self) -> u64 {
        self.generation.wrapping_add(settings::scene_generation() << 32)
    }
}

/// Preparing an output's picture for one generation of the settings.
struct Prepare {
    generation: u64,
    setup: Setup,
}

impl Job for Prepare {
    fn run(self: Box<Self>) -> Box<dyn Any + Send> {
        Box::new((self.generation, sensor::prepare(&self.setup)))
    }
}

impl Fill for Prepared {
    fn fill(&self, frame: u64, payload: &mut [u8]) -> (usize, u32) {
        let length = if self.opaque {
            // A handle to the frame's image, which stays on the VideoCore.
            match self.me.upgrade() {
                Some(me) => crate::opaque::write(payload, me, frame),
                None => 0,
            }
        } else {
            sensor::render(self, frame, payload);
            self.length.min(payload.len())
        };
        (length, sys::MMAL_BUFFER_HEADER_FLAG_FRAME_END)
    }
}

impl Component for Camera {
    fn ports(&self) -> (usize, usize) {
        (0, 3)
    }

    fn commit(&mut self, port: PortId, format: &VideoFormat) -> Result<Requirements, Status> {
        let (w, h) = self.sensor.resolution();
        let (vw, vh) = format.visible();
        if vw > w || vh > h {
            log::error!("mmal_port_format_commit: camera output {}: {vw}x{vh} is larger than the sensor", port.index);
            return Err(sys::MMAL_EINVAL);
        }
        // The firmware's camera works in blocks of 16 rows: smaller
        // pictures are refused (picamera's tests: 15x15).
        if vw < MIN_SIZE || vh < MIN_SIZE {
            log::error!(
                "mmal_port_format_commit: camera output {}: {vw}x{vh} is smaller than {MIN_SIZE}x{MIN_SIZE}",
                port.index
            );
            return Err(sys::MMAL_EINVAL);
        }
        let o = &mut self.outputs[port.index];
        o.format = *format;
        o.frame_rate = None;
        o.prepared = None;
        self.generation += 1;
        let size = format.frame_size() as u32;
        Ok([1, size, if port.index == STILL { 1 } else { 3 }, size])
    }

    fn enable(&mut self, io: &mut Io<'_>) -> Result<(), Status> {
        let missing = settings::camera_fault() == Some(CameraFault::Missing);
        if missing || self.params.camera_num != 0 {
            log::error!("mmal_vc_component_enable: failed to enable component: ENOSPC");
            io.post(PendingEvent::Error(sys::MMAL_ENOSPC));
            return Err(sys::MMAL_ENOSPC);
        }
        self.take_sensor("mmal_vc_component_enable: failed to enable component")?;
        for o in &mut self.outputs {
            o.next_due = None;
        }
        Ok(())
    }

    fn port_enabling(&mut self, port: PortId, format: &VideoFormat) -> Result<(), Status> {
        // An output runs on the sensor: picamera enables the preview's
        // connection before the camera, and a busy camera refuses it
        // ("Failed to enable connection: Out of resources").
        self.take_sensor(&format!("mmal_vc_port_enable: failed to enable camera output {}", port.index))?;
        let (w, h) = format.visible();
        let c = &self.params.config;
        let limit = if port.index == STILL {
            (c.max_stills_w, c.max_stills_h)
        } else {
            (c.max_preview_video_w, c.max_preview_video_h)
        };
        if w > limit.0 || h > limit.1 {
            log::error!(
                "mmal_vc_port_enable: camera output {}: {w}x{h} is larger than the camera config allows ({}x{}): \
                 ENOSPC",
                port.index,
                limit.0,
                limit.1
            );
            return Err(sys::MMAL_ENOSPC);
        }
        self.outputs[port.index].next_due = None;
        Ok(())
    }

    fn set_parameter(&mut self, port: PortId, id: u32, data: &[u8], enabled: bool) -> Result<(), Status> {
        if port.is_output() {
            self.set_output_parameter(port.index, id, data)
        } else {
            self.set_control_parameter(id, data, enabled)
        }
    }

    fn get_parameter(&self, port: PortId, id: u32, out: &mut [u8]) -> Result<usize, Status> {
        self.parameter(port, id, out)
    }

    fn change_events_changed(&mut self) {
        self.reported = None;
    }

    fn produce(&mut self, io: &mut Io<'_>) -> Produce {
        let generation = self.current_generation();
        let unlimited = settings::pacing() == Pacing::Unlimited;
        let now = io.now;
        let mut deadline: Option<Instant> = None;
        for index in 0..self.outputs.len() {
            let port = 1 + index;
            let o = &self.outputs[index];
            let active = io.is_enabled(port)
                && match index {
                    0 => true,
                    1 => o.capture,
                    _ => o.stills > 0,
                };
            if !active || o.broken == Some(generation) {
                continue;
            }
            let prepared = match &o.prepared {
                Some((g, prepared)) if *g == generation => prepared.clone(),
                _ => {
                    self.outputs[index].preparing = Some(generation);
                    let job = Box::new(Prepare { generation, setup: self.setup(index) });
                    return Produce::Prepare { port, job };
                }
            };
            let fps = self.fps(index).clamp(0.005, 1000.0);
            let period = Duration::from_secs_f32(1.0 / fps);
            let o = &mut self.outputs[index];
            let due = if unlimited || index == STILL { now } else { o.next_due.unwrap_or(now) };
            if now < due {
                deadline = Some(deadline.map_or(due, |d| d.min(due)));
                continue;
            }
            let next = due + period;
            o.next_due = Some(if next < now { now + period } else { next });
            let Some(size) = io.front_size(port) else {
                // The sensor's frame finds no buffer: it is lost.
                if !unlimited && index != STILL {
                    deadline = Some(deadline.map_or(next, |d| d.min(next)));
                }
                continue;
            };
            if size < prepared.buffer_len() {
                // As the firmware does with a buffer shorter than the frame:
                // an error event, and the buffer stays with the port until it
                // is disabled.
                log::error!(
                    "camera output {index}: a buffer of {size} bytes cannot hold a {}-byte frame",
                    prepared.buffer_len()
                );
                io.reject_front(port);
                io.post(PendingEvent::Error(sys::MMAL_EINVAL));
                return Produce::Until(now);
            }
            o.frames += 1;
            if index == STILL {
                o.stills -= 1;
            }
            let frame = o.frames;
            let pts = now.duration_since(io.started).as_micros() as i64;
            let to = io.take(port).expect("a buffer was queued");
            return Produce::Fill { to, fill: prepared, frame, pts };
        }
        deadline.map_or(Produce::Idle, Produce::Until)
    }

    fn job_done(&mut self, port: usize, result: Box<dyn Any + Send>, io: &mut Io<'_>) {
        let Ok(done) = result.downcast::<(u64, Arc<Prepared>)>() else { return };
        let (generation, prepared) = *done;
        let settings = prepared.settings;
        let o = &mut self.outputs[port - 1];
        o.preparing = None;
        o.prepared = Some((generation, prepared));
        if io.wants(sys::MMAL_PARAMETER_CAMERA_SETTINGS) && self.reported != Some(settings) {
            self.reported = Some(settings);
            let mut payload = [0u8; 64];
            let len = write_settings(&mut payload, &settings);
            io.post(PendingEvent::ParameterChanged { id: sys::MMAL_PARAMETER_CAMERA_SETTINGS, payload, len });
        }
    }

    fn job_failed(&mut self, port: usize) {
        let o = &mut self.outputs[port - 1];
        o.broken = o.preparing.take();
    }
}
