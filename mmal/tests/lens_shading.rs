//! Lens shading: a flat field vignettes, a table computed from it flattens
//! it, and the override is checked like the firmware checks it.

mod common;

use common::{corner_ratio, serial, WAIT};
use mmal::emulator::{self, Scene};
use mmal::params::{Capture, LensShading, SensorMode};
use mmal::vcsm::SharedMemory;
use mmal::{Component, Encoding, Error, Format, LensShadingTable, Status};

/// One RGB24 frame of the flat scene over the IMX219's whole field of view
/// (sensor mode 4, 1640x1232 binned), with `table` uploaded if given.
fn flat_capture(table: Option<&LensShadingTable>) -> (Vec<u8>, Format) {
    let camera = Component::new("vc.ril.camera").unwrap();
    camera.control().set(&SensorMode(4)).unwrap();
    if let Some(table) = table {
        let uploaded = table.upload().unwrap();
        camera.control().set(uploaded.parameter()).unwrap();
        // The firmware copied the table: the block can go now.
        drop(uploaded);
    }
    let format = Format::video(Encoding::RGB24, 410, 308).with_frame_rate(30);
    let video = camera.output(1).unwrap();
    video.set_format(&format).unwrap();
    let frames = video.enable_stream(2).unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    let frame = frames.next_timeout(WAIT).unwrap();
    (frame.to_vec(), format)
}

#[test]
fn a_table_from_a_flat_capture_flattens_the_field() {
    let _s = serial();
    emulator::set_scene(Some(Scene::flat()));
    let (before, format) = flat_capture(None);
    let ratios_before = [0, 1, 2].map(|c| corner_ratio(&before, &format, 3, c));
    for r in ratios_before {
        assert!(r < 0.6, "without a table the corners are dark: {ratios_before:?}");
    }
    let table = LensShadingTable::from_flat_field(&before, &format, (3280, 2464)).unwrap();
    assert_eq!((table.width(), table.height()), (52, 39));
    let (after, _) = flat_capture(Some(&table));
    let ratios_after = [0, 1, 2].map(|c| corner_ratio(&after, &format, 3, c));
    for r in ratios_after {
        assert!(r > 0.95 && r < 1.05, "with the table the field is flat: {ratios_after:?}");
    }
    emulator::set_scene(None);
}

#[test]
fn the_override_is_checked_like_the_firmware_does() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let control = camera.control();
    let (w, h) = LensShadingTable::grid_for(3280, 2464);

    // Too small a block is caught before anything is sent.
    let small = SharedMemory::new(100, "ls_grid").unwrap();
    assert!(matches!(LensShading::new(&small, w, h), Err(Error::LensShading(_))));

    // A grid that does not cover the sensor is refused by the camera.
    let memory = SharedMemory::new((w * h * 4) as usize, "ls_grid").unwrap();
    let short = LensShading::new(&memory, 10, 10).unwrap();
    assert_eq!(control.set(&short).unwrap_err().status(), Some(Status::Invalid));

    // A handle whose block was freed does not resolve.
    let param = LensShading::new(&memory, w, h).unwrap();
    drop(memory);
    assert_eq!(control.set(&param).unwrap_err().status(), Some(Status::Invalid));

    // A good one, and switching it off.
    let uploaded = LensShadingTable::unity(w, h).upload().unwrap();
    control.set(uploaded.parameter()).unwrap();
    control.set(&LensShading::off()).unwrap();
    assert_eq!(uploaded.parameter().vc_handle(), Some(uploaded.memory().vc_handle()));
}
