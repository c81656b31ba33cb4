//! The loader, as a Pi program uses it, run against the software
//! VideoCore's C libraries: CI runs this file (with the camera, callback,
//! connection and leak tests) with `VIDEOCORE=hardware
//! MMAL_LIB_DIR=target/videocore/<triple>/lib`, after
//! `cargo xtask videocore-libs`. Without `MMAL_LIB_DIR` it checks that
//! nothing is loaded.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{emu, video_stream, WAIT};
use mmal::{Component, Encoding, Error, Format, Provider};

/// The file the library names in `MMAL_LIB_DIR` resolve to, if set.
fn library_file() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os(mmal::MMAL_LIB_DIR_VAR)?);
    Some(std::fs::canonicalize(dir.join("libmmal_core.so")).expect("the software VideoCore's libraries are laid out"))
}

fn mapped(file: &std::path::Path) -> bool {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines().any(|l| l.ends_with(file.to_str().unwrap()))
}

/// One test, as the provider is chosen once per process.
#[test]
fn the_loader_loads_initialises_and_keeps_libmmal() {
    let _s = common::serial();
    let Some(file) = library_file() else {
        // Linked in, or MMAL over VCHIQ: nothing is loaded.
        assert!(matches!(mmal::provider().unwrap(), Provider::Emulated | Provider::Vchiq));
        assert!(mmal::is_software_videocore().unwrap());
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        assert!(!maps.contains("libmmal"), "a libmmal was loaded");
        return;
    };

    // mmal_vc_init fails as it does without /dev/vchiq: the loader says why,
    // and a later call tries again.
    std::env::set_var("VIDEOCORE_EMU_VCHIQ", "missing");
    let e = mmal::provider().unwrap_err();
    std::env::remove_var("VIDEOCORE_EMU_VCHIQ");
    // bcm_host_init may have started threads in it: it stays loaded.
    assert!(mapped(&file), "a failed load unloaded {}", file.display());
    match &e {
        Error::VchiqAccess { .. } => assert!(e.to_string().contains("Legacy Camera"), "{e}"),
        Error::VideoCoreInit { .. } => assert!(std::path::Path::new("/dev/vchiq").exists(), "{e}"),
        other => panic!("{other}"),
    }

    assert_eq!(mmal::provider().unwrap(), Provider::Hardware);
    assert!(mmal::is_software_videocore().unwrap(), "the library says what it is");
    assert!(mapped(&file), "{} is not loaded", file.display());
    // bcm_host_init and mmal_vc_init ran for the failed load and for this
    // one, and not again once the provider is chosen.
    assert_eq!(emu::init_calls(), [2, 2], "bcm_host_init, mmal_vc_init");
    mmal::provider().unwrap();
    assert_eq!(emu::init_calls(), [2, 2], "initialised once per load");

    // The first thing a program does, and then everything made from the
    // library gone: the library stays (its pointers are in the table).
    let before = emu::usage();
    let (camera, frames) = video_stream(&Format::video(Encoding::I420, 160, 120).with_frame_rate(30), 3);
    let frame = frames.next_timeout(WAIT).unwrap();
    assert_eq!(frame.len(), 160 * 128 * 3 / 2);
    drop(frame);
    drop(frames);
    drop(camera);
    assert_eq!(emu::usage(), before);
    assert!(mapped(&file), "the library was unloaded");
    let camera = Component::new("vc.ril.camera").unwrap();
    assert_eq!(camera.output_count(), 3);
    drop(camera);
    std::thread::sleep(Duration::from_millis(10));
    assert!(mapped(&file));
}
