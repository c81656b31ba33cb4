//! The off-screen display the renderers show on: each renderer is a plane
//! holding the last picture it showed and its `MMAL_DISPLAYREGION_T`; the
//! framebuffer is composited from the planes only when someone asks for it
//! (a snapshot, a PNG dump), so a camera's preview costs a renderer no
//! more than keeping a handle to its last picture.
//!
//! Compositing follows the firmware's renderer (a wrapper of DispmanX):
//! planes in increasing `layer` (the one made later above on a tie), each
//! blended with its opacity (`alpha`'s low byte; the flag bits are kept,
//! and a picture's own alpha channel is not used: the firmware's renderer
//! takes RGBA as XRGB and has only a global alpha, raspberrypi/firmware
//! #581), its `src_rect` crop, its `transform`, into `dest_rect` or the
//! whole display (`fullscreen`), letterboxed unless `noaspect`. The
//! letterbox's bars are not drawn: what is below shows through them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use mmal_sys as sys;
use parking_lot::Mutex;

use crate::convert::{convert, Picture};
use crate::format::VideoFormat;
use crate::opaque::Image;

/// Environment variable setting the display's size, `WIDTHxHEIGHT`.
pub(crate) const DISPLAY_VAR: &str = "VIDEOCORE_EMU_DISPLAY";
/// Environment variable naming a PNG file the display is written to while
/// renderers show pictures.
pub(crate) const DISPLAY_PNG_VAR: &str = "VIDEOCORE_EMU_DISPLAY_PNG";
/// The display's size when the variable does not set one: a 1080p HDMI
/// monitor.
pub(crate) const DEFAULT_SIZE: (u32, u32) = (1920, 1080);
/// Largest side of the display.
pub(crate) const MAX_SIDE: u32 = 8192;
/// The display's refresh rate: a renderer shows at most one picture of a
/// client's per refresh.
const REFRESH: Duration = Duration::from_nanos(1_000_000_000 / 60);
/// Least time between two writes of `VIDEOCORE_EMU_DISPLAY_PNG`.
const DUMP_PERIOD: Duration = Duration::from_secs(1);

/// A picture a renderer shows: an OPAQUE image (drawn when the display is
/// composited) or a client's pixels.
#[derive(Clone)]
pub(crate) enum Pixels {
    Opaque(Image),
    Bytes(Arc<[u8]>),
}

#[derive(Clone)]
struct Shown {
    format: VideoFormat,
    pixels: Pixels,
}

struct PlaneState {
    region: sys::MMAL_DISPLAYREGION_T,
    shown: Option<Shown>,
    /// The display refresh its last picture went out on.
    refresh: Option<u64>,
}

/// A renderer's plane.
pub(crate) struct Plane {
    /// Order of creation: among planes of one layer, the later is above.
    seq: u64,
    state: Mutex<PlaneState>,
}

static NEXT_SEQ: AtomicU64 = AtomicU64::new(0);
static PLANES: Mutex<Vec<Weak<Plane>>> = Mutex::new(Vec::new());
/// The size set by [`set_size`], over the variable's.
static SIZE: Mutex<Option<(u32, u32)>> = Mutex::new(None);
static LAST_DUMP: Mutex<Option<Instant>> = Mutex::new(None);

/// The time refreshes count from.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// A new plane with `region`, on the display until [`remove`]d.
pub(crate) fn add(region: sys::MMAL_DISPLAYREGION_T) -> Arc<Plane> {
    let plane = Arc::new(Plane {
        seq: NEXT_SEQ.fetch_add(1, Ordering::Relaxed),
        state: Mutex::new(PlaneState { region, shown: None, refresh: None }),
    });
    let mut planes = PLANES.lock();
    planes.retain(|p| p.strong_count() > 0);
    planes.push(Arc::downgrade(&plane));
    plane
}

/// Takes `plane` off the display.
pub(crate) fn remove(plane: &Arc<Plane>) {
    PLANES.lock().retain(|p| p.strong_count() > 0 && !std::ptr::eq(p.as_ptr(), Arc::as_ptr(plane)));
}

impl Plane {
    pub(crate) fn set_region(&self, region: sys::MMAL_DISPLAYREGION_T) {
        self.state.lock().region = region;
    }

    /// Waits for the next display refresh if this plane already showed a
    /// picture on the current one: a client's pictures go out at most one
    /// per refresh, and the buffer stays with the renderer until then.
    pub(crate) fn wait_for_refresh(&self) {
        let since = epoch().elapsed();
        let now = (since.as_nanos() / REFRESH.as_nanos()) as u64;
        let last = self.state.lock().refresh;
        let next = match last {
            Some(last) if last >= now => {
                let next = last + 1;
                let at = REFRESH * u32::try_from(next).unwrap_or(u32::MAX);
                std::thread::sleep(at.saturating_sub(epoch().elapsed()));
                next
            }
            _ => now,
        };
        self.state.lock().refresh = Some(next);
    }

    /// Shows `pixels` (in `format`) from now on.
    pub(crate) fn show(&self, format: VideoFormat, pixels: Pixels) {
        let old = self.state.lock().shown.replace(Shown { format, pixels });
        // The old picture is freed outside the lock.
        drop(old);
        dump_if_asked();
    }
}

/// The display's size: as set, else as `VIDEOCORE_EMU_DISPLAY` says.
pub(crate) fn size() -> (u32, u32) {
    if let Some(size) = *SIZE.lock() {
        return size;
    }
    static FROM_ENV: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();
    *FROM_ENV.get_or_init(|| match std::env::var(DISPLAY_VAR) {
        Ok(value) => parse_size(&value).unwrap_or_else(|| {
            log::warn!(
                "{DISPLAY_VAR}={value:?} is not WIDTHxHEIGHT with sides from 1 to {MAX_SIDE}; the display is {}x{}",
                DEFAULT_SIZE.0,
                DEFAULT_SIZE.1
            );
            DEFAULT_SIZE
        }),
        Err(_) => DEFAULT_SIZE,
    })
}

/// `WIDTHxHEIGHT`, each side from 1 to [`MAX_SIDE`].
pub(crate) fn parse_size(value: &str) -> Option<(u32, u32)> {
    let (w, h) = value.trim().split_once(['x', 'X'])?;
    let side = |s: &str| s.trim().parse::<u32>().ok().filter(|v| (1..=MAX_SIDE).contains(v));
    Some((side(w)?, side(h)?))
}

/// Sets the display's size (`None`: back to the variable's); a side of 0
/// or over [`MAX_SIDE`] is refused.
pub(crate) fn set_size(size: Option<(u32, u32)>) -> bool {
    if let Some((w, h)) = size {
        if !(1..=MAX_SIDE).contains(&w) || !(1..=MAX_SIDE).contains(&h) {
            return false;
        }
    }
    *SIZE.lock() = size;
    true
}

/// Packed RGB24 rows of `shown`'s visible picture, and its size.
fn rgb_of(shown: &Shown) -> (Vec<u8>, u32, u32) {
    let drawn;
    let (format, data): (VideoFormat, &[u8]) = match &shown.pixels {
        Pixels::Opaque(image) => {
            let format = image.format();
            let mut pixels = vec![0u8; format.frame_size()];
            image.render(&mut pixels);
            drawn = pixels;
            (format, &drawn)
        }
        Pixels::Bytes(bytes) => (shown.format, bytes),
    };
    let (w, h) = format.visible();
    if w == 0 || h == 0 || data.len() < format.frame_size() {
        return (Vec::new(), 0, 0);
    }
    let packed = VideoFormat { encoding: sys::MMAL_ENCODING_RGB24, width: w, height: h, crop: (0, 0, w, h), ..format };
    let mut rgb = vec![0u8; packed.frame_size()];
    convert(&Picture::new(&format, data), &packed, &mut rgb);
    let (stride, _) = packed.geometry();
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for row in rgb.chunks(stride).take(h as usize) {
        out.extend_from_slice(&row[..w as usize * 3]);
    }
    (out, w, h)
}

/// The display now: its width, height and packed RGB24 rows.
pub(crate) fn snapshot() -> (u32, u32, Vec<u8>) {
    let (fw, fh) = size();
    let planes: Vec<Arc<Plane>> = PLANES.lock().iter().filter_map(Weak::upgrade).collect();
    let mut shown: Vec<(i32, u64, sys::MMAL_DISPLAYREGION_T, Shown)> = planes
        .iter()
        .filter_map(|p| {
            let st = p.state.lock();
            st.shown.clone().map(|s| (st.region.layer, p.seq, st.region, s))
        })
        .collect();
    drop(planes);
    shown.sort_by_key(|&(layer, seq, ..)| (layer, seq));
    let mut fb = vec![0u8; fw as usize * fh as usize * 3];
    for (_, _, region, picture) in &shown {
        if region.alpha & 0xff == 0 {
            continue;
        }
        let (rgb, w, h) = rgb_of(picture);
        draw(&mut fb, (fw, fh), region, &rgb, (w, h));
    }
    (fw, fh, fb)
}

/// Where a plane lands: the rectangle its transformed picture fills.
fn placement(display: (u32, u32), region: &sys::MMAL_DISPLAYREGION_T, picture: (u32, u32)) -> (i64, i64, i64, i64) {
    let (tw, th) = (i64::from(picture.0), i64::from(picture.1));
    let (dx, dy, dw, dh) = if region.fullscreen != 0 {
        (0, 0, i64::from(display.0), i64::from(display.1))
    } else {
        let r = region.dest_rect;
        // No size: the picture's own.
        let (w, h) = if r.width > 0 && r.height > 0 { (i64::from(r.width), i64::from(r.height)) } else { (tw, th) };
        (i64::from(r.x), i64::from(r.y), w, h)
    };
    if region.noaspect != 0 {
        return (dx, dy, dw, dh);
    }
    // Letterboxed: the largest rectangle of the picture's shape that fits,
    // centred.
    if tw * dh <= th * dw {
        let w = (tw * dh / th).max(1);
        (dx + (dw - w) / 2, dy, w, dh)
    } else {
        let h = (th * dw / tw).max(1);
        (dx, dy + (dh - h) / 2, dw, h)
    }
}

/// Blends one plane's picture (`rgb`, `size`) into `fb`.
fn draw(fb: &mut [u8], display: (u32, u32), region: &sys::MMAL_DISPLAYREGION_T, rgb: &[u8], size: (u32, u32)) {
    let (w, h) = (i64::from(size.0), i64::from(size.1));
    if w == 0 || h == 0 {
        return;
    }
    // The crop, within the picture (none, or empty: all of it).
    let s = region.src_rect;
    let (cx, cy, cw, ch) = if s.width > 0 && s.height > 0 {
        let x0 = i64::from(s.x).clamp(0, w);
        let y0 = i64::from(s.y).clamp(0, h);
        let x1 = (i64::from(s.x) + i64::from(s.width)).clamp(0, w);
        let y1 = (i64::from(s.y) + i64::from(s.height)).clamp(0, h);
        (x0, y0, x1 - x0, y1 - y0)
    } else {
        (0, 0, w, h)
    };
    if cw <= 0 || ch <= 0 {
        return;
    }
    // The transform: bit 0 mirrors (left to right), bit 1 turns upside
    // down, bit 2 then swaps rows and columns; so ROT90 (6) is a clockwise
    // quarter turn, ROT270 (5) an anticlockwise one, ROT180 (3) both flips.
    let t = region.transform & 7;
    let (hflip, vflip, transpose) = (t & 1 != 0, t & 2 != 0, t & 4 != 0);
    let (tw, th) = if transpose { (ch, cw) } else { (cw, ch) };
    let (rx, ry, rw, rh) = placement(display, region, (tw as u32, th as u32));
    if rw <= 0 || rh <= 0 {
        return;
    }
    let (fw, fh) = (i64::from(display.0), i64::from(display.1));
    let a = u32::from((region.alpha & 0xff) as u8);
    for y in ry.max(0)..(ry + rh).min(fh) {
        let v = (y - ry) * th / rh;
        let row = (y * fw) as usize * 3;
        for x in rx.max(0)..(rx + rw).min(fw) {
            let u = (x - rx) * tw / rw;
            let (px, py) = if transpose { (v, u) } else { (u, v) };
            let sx = cx + if hflip { cw - 1 - px } else { px };
            let sy = cy + if vflip { ch - 1 - py } else { py };
            let src = &rgb[((sy * w + sx) * 3) as usize..][..3];
            let dst = &mut fb[row + x as usize * 3..][..3];
            for c in 0..3 {
                let blended = (u32::from(src[c]) * a + u32::from(dst[c]) * (255 - a) + 127) / 255;
                dst[c] = blended as u8;
            }
        }
    }
}

/// The display as a PNG file.
pub(crate) fn dump_png(path: &std::path::Path) -> std::io::Result<()> {
    let (w, h, rgb) = snapshot();
    let png = super::super::image_encode::png::encode(&rgb, w, h)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "the display cannot be a PNG"))?;
    std::fs::write(path, png)
}

/// Writes the display to `VIDEOCORE_EMU_DISPLAY_PNG` if it is set and the
/// last write ended more than [`DUMP_PERIOD`] ago. (A 1920x1080 PNG takes
/// the better part of a second to make: counting from the end keeps the
/// writes to at most half of one core's time, on the thread of the
/// renderer showing a picture, whose buffer waits meanwhile.)
fn dump_if_asked() {
    let Some(path) = std::env::var_os(DISPLAY_PNG_VAR).filter(|p| !p.is_empty()) else { return };
    {
        let mut last = LAST_DUMP.lock();
        if last.is_some_and(|t| t.elapsed() < DUMP_PERIOD) {
            return;
        }
        // No other renderer starts a write meanwhile.
        *last = Some(Instant::now() + Duration::from_secs(3600));
    }
    if let Err(e) = dump_png(std::path::Path::new(&path)) {
        log::error!("{DISPLAY_PNG_VAR}={path:?}: the display cannot be written: {e}");
    }
    *LAST_DUMP.lock() = Some(Instant::now());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("640x480"), Some((640, 480)));
        assert_eq!(parse_size(" 1920X1080 "), Some((1920, 1080)));
        for bad in ["", "640", "0x480", "640x0", "x", "640x480x3", "9000x10", "-1x5", "axb"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn letterbox_centres_the_picture() {
        let mut region = sys::MMAL_DISPLAYREGION_T { fullscreen: 1, ..Default::default() };
        // 4:3 on 16:9: bars left and right.
        assert_eq!(placement((1920, 1080), &region, (640, 480)), (240, 0, 1440, 1080));
        region.noaspect = 1;
        assert_eq!(placement((1920, 1080), &region, (640, 480)), (0, 0, 1920, 1080));
        region.noaspect = 0;
        region.fullscreen = 0;
        region.dest_rect = sys::MMAL_RECT_T { x: 10, y: 20, width: 100, height: 300 };
        assert_eq!(placement((1920, 1080), &region, (100, 100)), (10, 120, 100, 100));
    }

    /// Each transform, on a 2x2 picture whose pixels are numbered in
    /// their red byte: where each lands.
    #[test]
    fn transforms_map_as_named() {
        let rgb: Vec<u8> = (1..=4).flat_map(|v| [v, 0, 0]).collect();
        let at = |transform: u32| {
            let mut fb = vec![0u8; 2 * 2 * 3];
            let region = sys::MMAL_DISPLAYREGION_T { fullscreen: 1, transform, alpha: 255, ..Default::default() };
            draw(&mut fb, (2, 2), &region, &rgb, (2, 2));
            [fb[0], fb[3], fb[6], fb[9]]
        };
        // 1 2 / 3 4
        assert_eq!(at(sys::MMAL_DISPLAY_ROT0), [1, 2, 3, 4]);
        assert_eq!(at(sys::MMAL_DISPLAY_MIRROR_ROT0), [2, 1, 4, 3]);
        assert_eq!(at(sys::MMAL_DISPLAY_MIRROR_ROT180), [3, 4, 1, 2]);
        assert_eq!(at(sys::MMAL_DISPLAY_ROT180), [4, 3, 2, 1]);
        assert_eq!(at(sys::MMAL_DISPLAY_ROT90), [3, 1, 4, 2]);
        assert_eq!(at(sys::MMAL_DISPLAY_ROT270), [2, 4, 1, 3]);
        assert_eq!(at(sys::MMAL_DISPLAY_MIRROR_ROT90), [1, 3, 2, 4]);
        assert_eq!(at(sys::MMAL_DISPLAY_MIRROR_ROT270), [4, 2, 3, 1]);
    }
}
