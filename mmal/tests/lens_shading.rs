//! Lens shading: a flat field vignettes, a table computed from it flattens
//! it, and the override is checked like the firmware checks it. Zero copy.
//! Both need this process's VCSM memory to be the components': so it is,
//! with the software VideoCore linked in or loaded as the C library (the
//! loader suite runs these too).

mod common;

use common::{corner_ratio, emu, serial, WAIT};
use mmal::params::{Capture, LensShading, SensorMode, ZeroCopy};
use mmal::vcsm::SharedMemory;
use mmal::{Component, Encoding, Error, Format, LensShadingTable, Status};

/// One RGB24 frame of the flat scene over the IMX219's whole field of view
/// (sensor mode 4, 1640x1232 binned), with `table` uploaded if given.
fn flat_capture(table: Option<&LensShadingTable>) -> (Vec<u8>, Format) {
    let camera = Component::new("vc.ril.camera").unwrap();
    camera.control().set(&SensorMode(4)).unwrap();
    if let Some(table) = table {
        let uploaded = table.upload().unwrap();
        camera.control().set(&uploaded.parameter()).unwrap();
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
    emu::set_scene(Some("flat"));
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
    emu::set_scene(None);
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

    // A freed block cannot be named: the parameter borrows it (see
    // tests/ui/lens_shading_outlives_memory.rs; the emulator's own check of
    // a stale handle is in mmal-emu's C-ABI tests).

    // Grid sizes are checked before any arithmetic can wrap, on 32 bits too.
    let e = LensShading::new(&memory, 0x1_0000, 0x1_0000).unwrap_err();
    assert!(matches!(&e, Error::LensShading(m) if m.contains("1 to 256")), "{e}");
    assert!(matches!(LensShadingTable::unity(u32::MAX, 2), Err(Error::LensShading(_))));
    assert!(matches!(LensShadingTable::from_planes(1 << 16, 1 << 16, Vec::new()), Err(Error::LensShading(_))));

    // A good one, and switching it off.
    let uploaded = LensShadingTable::unity(w, h).unwrap().upload().unwrap();
    control.set(&uploaded.parameter()).unwrap();
    control.set(&LensShading::off()).unwrap();
    assert_eq!(uploaded.parameter().vc_handle(), Some(uploaded.memory().vc_handle()));
}

#[test]
fn zero_copy_payloads_live_in_vcsm() {
    let _s = serial();
    let (_, before) = emu::vcsm_usage();
    let camera = Component::new("vc.ril.camera").unwrap();
    let video = camera.output(1).unwrap();
    video.set(&ZeroCopy(true)).unwrap();
    let format = Format::video(Encoding::I420, 320, 240).with_frame_rate(30);
    video.set_format(&format).unwrap();
    let frames = video.enable_stream(3).unwrap();
    let (_, during) = emu::vcsm_usage();
    assert!(during >= before + 3 * 320 * 240 * 3 / 2, "{before} -> {during} bytes");
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    assert_eq!(frames.next_timeout(WAIT).unwrap().len(), 320 * 240 * 3 / 2);
    drop(frames);
    drop(video);
    drop(camera);
    assert_eq!(emu::vcsm_usage().1, before);
}
