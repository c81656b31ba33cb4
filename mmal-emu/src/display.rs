//! The off-screen display `vc.ril.video_render` shows on, for tests and
//! tools to look at: what a Pi's HDMI monitor would show of the preview
//! and the overlays, pixel for pixel.
//!
//! Every renderer component is a plane of the display, showing the last
//! picture it was given, placed by its `MMAL_PARAMETER_DISPLAYREGION`:
//! planes in increasing `layer`, each blended with its opacity, cropped,
//! transformed, in its window or full screen, letterboxed unless
//! `noaspect`, over a black background. Nothing is composited while the
//! camera runs: [`snapshot`] composites the display when it is called
//! (drawing each plane's picture then), so a preview costs the camera's
//! frames nothing.
//!
//! The display is 1920x1080 unless `VIDEOCORE_EMU_DISPLAY` says
//! `WIDTHxHEIGHT` (or [`set_size`] overrides it). With
//! `VIDEOCORE_EMU_DISPLAY_PNG` naming a file, the display is written
//! there as a PNG when a renderer shows a picture, at most once a second
//! (on that renderer's thread); [`dump_png`] writes it on request.

use crate::components::video_render::display as imp;

/// Environment variable setting the display's size, `WIDTHxHEIGHT`.
pub const DISPLAY_VAR: &str = imp::DISPLAY_VAR;

/// Environment variable naming a file the display is written to as a PNG
/// when a renderer shows a picture (at most once a second).
pub const DISPLAY_PNG_VAR: &str = imp::DISPLAY_PNG_VAR;

/// The display's width and height when `VIDEOCORE_EMU_DISPLAY` does not
/// set them.
pub const DEFAULT_SIZE: (u32, u32) = imp::DEFAULT_SIZE;

/// The largest side [`set_size`] and `VIDEOCORE_EMU_DISPLAY` take.
pub const MAX_SIDE: u32 = imp::MAX_SIDE;

/// The display now, composited from every renderer: its width, height,
/// and packed RGB24 rows (`width * height * 3` bytes).
pub fn snapshot() -> (u32, u32, Vec<u8>) {
    imp::snapshot()
}

/// The display's width and height: as [`set_size`] set them, else as
/// `VIDEOCORE_EMU_DISPLAY` says (read once; a value that is not
/// `WIDTHxHEIGHT` with sides from 1 to [`MAX_SIDE`] is logged and the
/// default used).
pub fn size() -> (u32, u32) {
    imp::size()
}

/// Sets the display's size for the whole process, overriding
/// `VIDEOCORE_EMU_DISPLAY`; `None` goes back to the variable. Returns
/// `false`, changing nothing, for a side of 0 or over [`MAX_SIDE`].
pub fn set_size(size: Option<(u32, u32)>) -> bool {
    imp::set_size(size)
}

/// `WIDTHxHEIGHT` as `VIDEOCORE_EMU_DISPLAY` takes it; `None` if it is not
/// one.
pub fn parse_size(value: &str) -> Option<(u32, u32)> {
    imp::parse_size(value)
}

/// Writes the display, composited now, to `path` as a PNG.
pub fn dump_png(path: &std::path::Path) -> std::io::Result<()> {
    imp::dump_png(path)
}
