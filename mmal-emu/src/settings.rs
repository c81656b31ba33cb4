//! The process-wide emulator settings: the sensor cameras emulate, the
//! scene they see, an injected camera fault and the frame pacing, each
//! from its environment variable unless a setter overrides it. A leaf
//! below the components: they read the settings here, and a scene change
//! reaches running cameras through [`scene_generation`], which they check
//! for every frame.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::scene::Scene;
use crate::sensor::Sensor;

/// Environment variable choosing the emulated sensor.
pub const SENSOR_VAR: &str = "VIDEOCORE_EMU_SENSOR";
/// Environment variable choosing the scene.
pub const SCENE_VAR: &str = "VIDEOCORE_EMU_SCENE";
/// Environment variable injecting a camera fault.
pub const CAMERA_VAR: &str = "VIDEOCORE_EMU_CAMERA";
/// Environment variable choosing how fast cameras produce frames.
pub const PACING_VAR: &str = "VIDEOCORE_EMU_PACING";
/// Environment variable naming the programs whose cameras contend for the
/// sensor (by default the user's), or `off`.
pub const CAMERA_LOCK_VAR: &str = "VIDEOCORE_EMU_CAMERA_LOCK";

/// A camera failure to reproduce, as seen on real Raspberry Pis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CameraFault {
    /// The camera is not enabled in the firmware (`start_x=0`, or the
    /// legacy camera switched off): creating `vc.ril.camera` fails with
    /// `MMAL_ENOMEM`.
    Disabled,
    /// No sensor answers (cable, power, or another process using it):
    /// enabling the camera fails with `MMAL_ENOSPC`, and an error event is
    /// sent on its control port.
    Missing,
}

/// How fast the emulated camera produces frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Pacing {
    /// At the port's frame rate, as a sensor does (the default).
    FrameRate,
    /// As fast as the client returns buffers: for measuring throughput.
    Unlimited,
}

struct Settings {
    sensor: Option<Sensor>,
    scene: Option<Arc<Scene>>,
    fault: Option<Option<CameraFault>>,
}

static SETTINGS: Mutex<Settings> = Mutex::new(Settings { sensor: None, scene: None, fault: None });
static PACING: AtomicU8 = AtomicU8::new(0);
/// Bumped when the scene changes, so every camera prepares its picture anew.
static SCENE_GENERATION: AtomicU64 = AtomicU64::new(0);

/// Chooses the sensor that cameras created from now on emulate, overriding
/// `VIDEOCORE_EMU_SENSOR`; `None` goes back to the variable.
pub fn set_sensor(sensor: Option<Sensor>) {
    SETTINGS.lock().sensor = sensor;
}

/// The sensor a camera created now emulates.
///
/// An unknown `VIDEOCORE_EMU_SENSOR` value is logged and the default
/// (IMX219) is used.
pub fn sensor() -> Sensor {
    if let Some(sensor) = SETTINGS.lock().sensor {
        return sensor;
    }
    match std::env::var(SENSOR_VAR) {
        Ok(name) => Sensor::from_name(&name).unwrap_or_else(|| {
            log::warn!("{SENSOR_VAR}={name:?} is not imx219, ov5647 or imx477; emulating an imx219");
            Sensor::Imx219
        }),
        Err(_) => Sensor::Imx219,
    }
}

/// Sets the scene every emulated camera sees from its next frame on,
/// overriding `VIDEOCORE_EMU_SCENE`; `None` goes back to the variable.
pub fn set_scene(scene: Option<Scene>) {
    SETTINGS.lock().scene = scene.map(Arc::new);
    SCENE_GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// The scene the cameras see.
///
/// A `VIDEOCORE_EMU_SCENE` image that cannot be read is logged and the
/// chart is used.
pub fn scene() -> Arc<Scene> {
    let mut settings = SETTINGS.lock();
    if let Some(scene) = &settings.scene {
        return scene.clone();
    }
    let scene = match std::env::var(SCENE_VAR) {
        Ok(value) => Scene::from_env_value(&value).unwrap_or_else(|e| {
            log::warn!("{SCENE_VAR}={value:?}: {e}; showing the test chart");
            Scene::Chart
        }),
        Err(_) => Scene::Chart,
    };
    let scene = Arc::new(scene);
    settings.scene = Some(scene.clone());
    scene
}

/// Injects a camera fault for cameras created or enabled from now on,
/// overriding `VIDEOCORE_EMU_CAMERA`: `Some(None)` forces a healthy camera,
/// `None` goes back to the variable.
pub fn set_camera_fault(fault: Option<Option<CameraFault>>) {
    SETTINGS.lock().fault = fault;
}

/// The camera fault in effect.
pub fn camera_fault() -> Option<CameraFault> {
    if let Some(fault) = SETTINGS.lock().fault {
        return fault;
    }
    match std::env::var(CAMERA_VAR).as_deref() {
        Ok("disabled") => Some(CameraFault::Disabled),
        Ok("missing") => Some(CameraFault::Missing),
        Ok("ok") | Ok("") | Err(_) => None,
        Ok(other) => {
            log::warn!("{CAMERA_VAR}={other:?} is not ok, disabled or missing; the camera works");
            None
        }
    }
}

/// Sets how fast cameras produce frames, overriding `VIDEOCORE_EMU_PACING`.
pub fn set_pacing(pacing: Pacing) {
    PACING.store(if pacing == Pacing::Unlimited { 2 } else { 1 }, Ordering::Relaxed);
}

/// How fast cameras produce frames: as set, else as `VIDEOCORE_EMU_PACING`
/// says (read once).
pub fn pacing() -> Pacing {
    static FROM_ENV: std::sync::OnceLock<Pacing> = std::sync::OnceLock::new();
    match PACING.load(Ordering::Relaxed) {
        2 => Pacing::Unlimited,
        1 => Pacing::FrameRate,
        _ => *FROM_ENV.get_or_init(|| match std::env::var(PACING_VAR).as_deref().map(str::trim) {
            Ok("unlimited") => Pacing::Unlimited,
            Ok("frame-rate") | Ok("") | Err(_) => Pacing::FrameRate,
            Ok(other) => {
                log::warn!("{PACING_VAR}={other:?} is not frame-rate or unlimited; frames come at the frame rate");
                Pacing::FrameRate
            }
        }),
    }
}

/// How many times the scene was set: a camera whose picture was prepared
/// under another count prepares it anew.
pub(crate) fn scene_generation() -> u64 {
    SCENE_GENERATION.load(Ordering::SeqCst)
}

/// Whose camera components contend for a sensor, as `VIDEOCORE_EMU_CAMERA_LOCK`
/// says (read at each enable): `None` when it is `off`; by default, the
/// user's programs (as on a Pi, where they share one VideoCore).
pub(crate) fn camera_lock_scope() -> Option<String> {
    match std::env::var(CAMERA_LOCK_VAR) {
        Ok(value) if value.trim() == "off" => None,
        Ok(value) if !value.trim().is_empty() => Some(value.trim().to_owned()),
        _ => {
            use std::os::unix::fs::MetadataExt;
            let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(0);
            Some(format!("uid{uid}"))
        }
    }
}
