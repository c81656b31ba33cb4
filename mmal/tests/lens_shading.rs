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

/// The tempting method, a table from a processed flat capture, fails: the
/// picture has been through the ISP (the built-in lens shading, white
/// balance, colour matrix, gamma), so its levels are not the light's. The
/// raw method (`LensShadingTable::from_raw`, tests/stills.rs) is the one
/// that works, on a Pi as here.
#[test]
fn a_table_from_a_processed_flat_capture_does_not_flatten_it() {
    let _s = serial();
    emu::set_scene(Some("flat"));
    let (before, format) = flat_capture(None);
    let ratios_before = [0, 1, 2].map(|c| corner_ratio(&before, &format, 3, c));
    for r in ratios_before {
        assert!(r < 0.85, "without a table the corners are visibly dark: {ratios_before:?}");
    }
    // Gains from the processed levels: the brightest cell over each cell.
    let (gw, gh) = LensShadingTable::grid_for(3280, 2464);
    let (w, h) = format.visible();
    let stride = format.stride();
    let level = |c: usize, gx: u32, gy: u32| {
        let x = ((gx as f64 + 0.5) / gw as f64 * w as f64).min(w as f64 - 1.0) as usize;
        let y = ((gy as f64 + 0.5) / gh as f64 * h as f64).min(h as f64 - 1.0) as usize;
        f64::from(before[y * stride + x * 3 + c]).max(1.0)
    };
    let mut gains = Vec::new();
    for c in [0, 1, 1, 2] {
        let max = (0..gh).flat_map(|y| (0..gw).map(move |x| (x, y))).map(|(x, y)| level(c, x, y)).fold(0.0, f64::max);
        gains.extend(
            (0..gh)
                .flat_map(|y| (0..gw).map(move |x| (x, y)))
                .map(|(x, y)| (max / level(c, x, y) * 32.0).round().clamp(32.0, 255.0) as u8),
        );
    }
    let table = LensShadingTable::from_planes(gw, gh, gains).unwrap();
    let (after, _) = flat_capture(Some(&table));
    let ratios_after = [0, 1, 2].map(|c| corner_ratio(&after, &format, 3, c));
    assert!(
        ratios_after.iter().any(|r| (r - 1.0).abs() > 0.1),
        "a table from processed levels leaves the field uneven: {ratios_after:?}"
    );
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
