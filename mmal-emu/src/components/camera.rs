//! `vc.ril.camera`: a sensor looking at the scene through a vignetting
//! lens, with outputs 0 preview (always running while enabled), 1 video
//! (while `CAPTURE` is on) and 2 still (one frame per `CAPTURE`). The
//! picture itself comes from [`crate::sensor`].

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mmal_sys as sys;
use sys::param::ParameterStruct;

use super::kept::{self, Kept};
use super::{Component, Fill, Job, PortId, Produce, Requirements};
use crate::core::params::{ratio, rational, read, read_bool, read_u32, reply, reply_bool, reply_u32};
use crate::core::{Io, PendingEvent};
use crate::format::VideoFormat;
use crate::objects::Status;
use crate::sensor::{self, CameraParams, Look, Prepared, Sensor, Settings, Setup, ShadingTable};
use crate::settings::{self, CameraFault, Pacing};

const STILL: usize = 2;

/// The smallest picture an output gives, a side.
const MIN_SIZE: u32 = 16;

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

    fn set_output_parameter(&mut self, index: usize, id: u32, data: &[u8]) -> Result<(), Status> {
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

    fn set_control_parameter(&mut self, id: u32, data: &[u8], enabled: bool) -> Result<(), Status> {
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
}

/// A sensor held by one camera component: the firmware lets one camera
/// component at a time run on a sensor, and answers the enable of a
/// second, or of one of its outputs, with ENOSPC ("Out of resources" to
/// picamera), from the same program or another. Across processes: an
/// abstract Unix socket named for the camera, bound while held, which the
/// kernel frees when the socket is closed or its process dies (no file
/// left behind; close-on-exec).
///
/// `VIDEOCORE_EMU_CAMERA_LOCK` names the set of programs that contend for
/// the cameras (by default the user's); `off` lets every camera component
/// run at once.
struct SensorLock {
    _held: Held,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
type Held = std::os::unix::net::UnixListener;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
type Held = local::Held;

impl SensorLock {
    /// Takes camera `camera_num`'s sensor: `None` with the lock off,
    /// ENOSPC while another camera component holds it.
    fn take(camera_num: i32) -> Result<Option<SensorLock>, Status> {
        let Some(scope) = settings::camera_lock_scope() else { return Ok(None) };
        let name = format!("videocore-emu/camera{camera_num}/{scope}");
        match bind(&name) {
            Ok(held) => Ok(Some(SensorLock { _held: held })),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(sys::MMAL_ENOSPC),
            Err(e) => {
                // Not the sensor being busy: the emulator cannot tell, and
                // lets the camera run.
                log::warn!("camera {camera_num}: cannot take the sensor's lock {name:?}: {e}; running without it");
                Ok(None)
            }
        }
    }
}

#[cfg(target_os = "linux")]
fn bind(name: &str) -> std::io::Result<Held> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    std::os::unix::net::UnixListener::bind_addr(&addr)
}

#[cfg(target_os = "android")]
fn bind(name: &str) -> std::io::Result<Held> {
    use std::os::android::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    std::os::unix::net::UnixListener::bind_addr(&addr)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
use local::bind;

/// Without abstract sockets: the cameras of this process only.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod local {
    use parking_lot::Mutex;

    static HELD: Mutex<Vec<String>> = Mutex::new(Vec::new());

    pub(super) struct Held(String);

    impl Drop for Held {
        fn drop(&mut self) {
            HELD.lock().retain(|n| *n != self.0);
        }
    }

    pub(super) fn bind(name: &str) -> std::io::Result<Held> {
        let mut held = HELD.lock();
        if held.iter().any(|n| n == name) {
            return Err(std::io::ErrorKind::AddrInUse.into());
        }
        held.push(name.to_owned());
        Ok(Held(name.to_owned()))
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
fn write_settings(out: &mut [u8], s: &Settings) -> usize {
    let mut p = sys::MMAL_PARAMETER_CAMERA_SETTINGS_T::with_id(sys::MMAL_PARAMETER_CAMERA_SETTINGS);
    p.exposure = s.exposure_us;
    p.analog_gain = rational(s.analog_gain);
    p.digital_gain = rational(s.digital_gain);
    p.awb_red_gain = rational(s.awb_gains.0);
    p.awb_blue_gain = rational(s.awb_gains.1);
    reply(out, &p)
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
