//! Lists the cameras the VideoCore sees.
//!
//! `cargo run --example camera_info` (set `VIDEOCORE_EMU_SENSOR=imx477` to
//! emulate an HQ camera).

use mmal::params::CameraInfo;
use mmal::Component;

fn run() -> mmal::Result<()> {
    let software = if mmal::is_software_videocore()? { " (the software VideoCore)" } else { "" };
    println!("MMAL provider: {}{software}", mmal::provider()?);
    let info = Component::new("vc.camera_info")?;
    let cameras = info.control().get::<CameraInfo>()?;
    if cameras.cameras.is_empty() {
        println!("no camera detected");
    }
    for (i, cam) in cameras.cameras.iter().enumerate() {
        println!("camera {i}: {} ({}x{}), lens control: {}", cam.name, cam.max_width, cam.max_height, cam.lens_present);
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
