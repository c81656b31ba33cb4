//! Lists the cameras the VideoCore sees, and with `--modes` each one's
//! sensor modes.
//!
//! `cargo run --example camera_info -- [--modes]` (set
//! `VIDEOCORE_EMU_SENSOR=imx477` to emulate an HQ camera).

use examples::lexopt::prelude::*;
use examples::{Error, Result};
use mmal::{Camera, CameraOptions};

const HELP: &str = "\
camera_info: lists the cameras the VideoCore sees (name, full resolution,
lens control), through vc.camera_info.

usage: camera_info [--modes]

options:
  --modes     also open each camera and list its sensor modes (size,
              frame rates, binning, field of view)
  -h, --help  print this help

environment: VIDEOCORE=emulated|hardware chooses the provider (by default
libmmal on a Pi, the software VideoCore elsewhere); on the software
VideoCore, VIDEOCORE_EMU_SENSOR=imx219|ov5647|imx477 chooses the sensor.
";

fn main() -> Result<()> {
    let mut modes = false;
    let mut args = lexopt::Parser::from_env();
    while let Some(arg) = args.next()? {
        match arg {
            Short('h') | Long("help") => examples::print_help(HELP),
            Long("modes") => modes = true,
            _ => return Err(arg.unexpected().into()),
        }
    }
    examples::check_environment()?;
    examples::outln!("MMAL provider: {}", mmal::provider()?);
    let info = mmal::components::CameraInfoComponent::new()?.info()?;
    if info.cameras.is_empty() {
        examples::outln!("no camera detected: check the cable, and that the camera is enabled (raspi-config)");
    }
    for (i, cam) in info.cameras.iter().enumerate() {
        let lens = if cam.lens_present { "yes" } else { "no" };
        examples::outln!("camera {i}: {} ({}x{}), lens control: {lens}", cam.name, cam.max_width, cam.max_height);
        if modes {
            let camera = Camera::open(i as u32, &CameraOptions::default())
                .map_err(|e| Error::new(format!("camera {i}: {e}")))?;
            for m in camera.sensor_modes() {
                let (x, y, w, h) = m.field_of_view;
                examples::outln!(
                    "  mode {}: {}x{} at {} to {} fps, binning {}x{}, field of view {w}x{h} at ({x}, {y})",
                    m.mode,
                    m.size.0,
                    m.size.1,
                    m.fps.0,
                    m.fps.1,
                    m.binning.0,
                    m.binning.1
                );
            }
        }
    }
    Ok(())
}
