//! `vc.ril.video_render` through the C API, as a client (picamera's
//! overlays) drives it, and the off-screen display it shows on, read back
//! pixel by pixel: `MMAL_PARAMETER_DISPLAYREGION` round trips and partial
//! updates, where a window lands, opacity, layers, mirrors, letterboxing,
//! the camera's preview through a tunnel, and a client's pool starving
//! when it sends faster than the display refreshes.

use std::ptr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mmal_sys as sys;

/// One test at a time: the display is the process's.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

unsafe extern "C" fn release(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    // SAFETY: the header is handed to the callback.
    unsafe { (mmal_emu::api().buffer_header_release)(b) };
}

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const BLACK: [u8; 3] = [0, 0, 0];

/// Buffers in a renderer's pool here.
const POOL: u32 = 3;

/// A renderer taking RGB24 pictures of `w` x `h` (a multiple of 32x16, so
/// rows are not padded), its input enabled with a pool of [`POOL`].
struct Renderer {
    c: *mut sys::MMAL_COMPONENT_T,
    input: *mut sys::MMAL_PORT_T,
    pool: *mut sys::MMAL_POOL_T,
    size: (u32, u32),
}

fn create(name: &std::ffi::CStr) -> *mut sys::MMAL_COMPONENT_T {
    if std::env::var_os("VIDEOCORE").is_none() {
        std::env::set_var("VIDEOCORE", "emulated");
    }
    let mut c = ptr::null_mut();
    // SAFETY: a valid name and out pointer.
    let status = unsafe { (mmal_emu::api().component_create)(name.as_ptr(), &mut c) };
    assert_eq!(status, sys::MMAL_SUCCESS, "{name:?}");
    c
}

fn region_param() -> sys::MMAL_DISPLAYREGION_T {
    sys::MMAL_DISPLAYREGION_T {
        hdr: sys::MMAL_PARAMETER_HEADER_T {
            id: sys::MMAL_PARAMETER_DISPLAYREGION,
            size: std::mem::size_of::<sys::MMAL_DISPLAYREGION_T>() as u32,
        },
        ..Default::default()
    }
}

/// The region port `port` reads back.
fn get_region(port: *mut sys::MMAL_PORT_T) -> sys::MMAL_DISPLAYREGION_T {
    let mut r = region_param();
    // SAFETY: a live port and a whole struct.
    assert_eq!(unsafe { (mmal_emu::api().port_parameter_get)(port, &mut r.hdr) }, sys::MMAL_SUCCESS);
    r
}

fn set_region(port: *mut sys::MMAL_PORT_T, r: &sys::MMAL_DISPLAYREGION_T) -> sys::MMAL_STATUS_T {
    // SAFETY: a live port and a whole struct.
    unsafe { (mmal_emu::api().port_parameter_set)(port, &r.hdr) }
}

impl Renderer {
    fn new(w: u32, h: u32) -> Renderer {
        let api = mmal_emu::api();
        let c = create(c"vc.ril.video_render");
        // SAFETY: the component's ports and pools, used as a client would.
        unsafe {
            assert_eq!((*c).input_num, 1);
            assert_eq!((*c).output_num, 0);
            let input = *(*c).input;
            let format = (*input).format;
            (*format).encoding = sys::MMAL_ENCODING_RGB24;
            let video = &mut (*(*format).es).video;
            video.width = w;
            video.height = h;
            video.crop = sys::MMAL_RECT_T { x: 0, y: 0, width: w as i32, height: h as i32 };
            // As picamera's overlays: no frame rate.
            video.frame_rate = sys::MMAL_RATIONAL_T { num: 0, den: 1 };
            assert_eq!((api.port_format_commit)(input), sys::MMAL_SUCCESS);
            assert_eq!((*input).buffer_size_min, w * h * 3);
            let pool = (api.port_pool_create)(input, POOL, (*input).buffer_size_min);
            assert!(!pool.is_null());
            assert_eq!((api.port_enable)(input, Some(release)), sys::MMAL_SUCCESS);
            Renderer { c, input, pool, size: (w, h) }
        }
    }

    /// Sets the fields `set` names.
    fn set(&self, set: u32, f: impl FnOnce(&mut sys::MMAL_DISPLAYREGION_T)) {
        let mut r = region_param();
        r.set = set;
        f(&mut r);
        assert_eq!(set_region(self.input, &r), sys::MMAL_SUCCESS);
    }

    /// A free buffer of the pool, waiting up to 10 s for one.
    fn buffer(&self) -> *mut sys::MMAL_BUFFER_HEADER_T {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // SAFETY: the pool is live.
            let b = unsafe { (mmal_emu::api().queue_get)((*self.pool).queue) };
            if !b.is_null() {
                return b;
            }
            assert!(Instant::now() < deadline, "no buffer came back within 10 s");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Sends `rgb` (packed, the renderer's size) without waiting for it
    /// to be shown.
    fn send(&self, rgb: &[u8]) {
        let b = self.buffer();
        // SAFETY: a free header of the port's pool, its payload large
        // enough (checked).
        unsafe {
            assert!(rgb.len() <= (*b).alloc_size as usize);
            ptr::copy_nonoverlapping(rgb.as_ptr(), (*b).data, rgb.len());
            (*b).offset = 0;
            (*b).length = rgb.len() as u32;
            assert_eq!((mmal_emu::api().port_send_buffer)(self.input, b), sys::MMAL_SUCCESS);
        }
    }

    /// Sends an empty buffer (as picamerax's callback sends one back for
    /// each buffer returned).
    fn send_empty(&self) {
        let b = self.buffer();
        // SAFETY: a free header of the port's pool.
        unsafe {
            (*b).length = 0;
            assert_eq!((mmal_emu::api().port_send_buffer)(self.input, b), sys::MMAL_SUCCESS);
        }
    }

    /// Waits until every buffer is back: each picture sent was shown.
    fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        // SAFETY: the pool is live.
        while unsafe { (mmal_emu::api().queue_length)((*self.pool).queue) } < POOL {
            assert!(Instant::now() < deadline, "the renderer kept a buffer for 10 s");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Shows `rgb` and waits until it is on the display.
    fn show(&self, rgb: &[u8]) {
        self.send(rgb);
        self.settle();
    }

    /// Shows the renderer's whole picture in one colour.
    fn fill(&self, colour: [u8; 3]) {
        let (w, h) = self.size;
        self.show(&colour.repeat((w * h) as usize));
    }
}

impl Drop for Renderer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // A failed test: left as it is (a panic here would abort the
            // whole run).
            return;
        }
        let api = mmal_emu::api();
        // SAFETY: the objects made in `new`, each given back once.
        unsafe {
            assert_eq!((api.port_disable)(self.input), sys::MMAL_SUCCESS);
            (api.port_pool_destroy)(self.input, self.pool);
            assert_eq!((api.component_release)(self.c), sys::MMAL_SUCCESS);
        }
    }
}

/// The display's pixel at `(x, y)`.
fn pixel(snapshot: &(u32, u32, Vec<u8>), x: u32, y: u32) -> [u8; 3] {
    let (w, _, rgb) = snapshot;
    let i = ((y * w + x) * 3) as usize;
    [rgb[i], rgb[i + 1], rgb[i + 2]]
}

/// A small display, for the test's length.
fn small_display(w: u32, h: u32) {
    assert!(mmal_emu::display::set_size(Some((w, h))));
    assert_eq!(mmal_emu::display::size(), (w, h));
}

#[test]
fn the_region_reads_back_whole_and_a_set_changes_only_what_its_mask_names() {
    let _serial = serial();
    let c = create(c"vc.ril.video_render");
    // SAFETY: the component's ports while it lives.
    let (input, control) = unsafe { (*(*c).input, (*c).control) };
    // The firmware's defaults, as picamera reads them back before setting.
    let r = get_region(input);
    assert_eq!(r.hdr.size as usize, std::mem::size_of::<sys::MMAL_DISPLAYREGION_T>());
    assert_eq!((r.fullscreen, r.alpha, r.layer, r.transform), (1, 255, 0, sys::MMAL_DISPLAY_ROT0));
    assert_eq!((r.noaspect, r.display_num, r.mode), (0, 0, sys::MMAL_DISPLAY_MODE_LETTERBOX));
    assert_eq!(r.set, 0);

    // A set of the alpha alone, every other field garbage: only the alpha
    // (its flag bits too) changes.
    let mut garbage = region_param();
    garbage.set = sys::MMAL_DISPLAY_SET_ALPHA;
    garbage.alpha = 77 | sys::MMAL_DISPLAY_ALPHA_FLAGS_MIX | sys::MMAL_DISPLAY_ALPHA_FLAGS_DISCARD_LOWER_LAYERS;
    garbage.fullscreen = 0;
    garbage.layer = 99;
    garbage.transform = 5;
    garbage.dest_rect = sys::MMAL_RECT_T { x: 1, y: 2, width: 3, height: 4 };
    assert_eq!(set_region(input, &garbage), sys::MMAL_SUCCESS);
    let mut expected = r;
    expected.alpha = garbage.alpha;
    expected.set = sys::MMAL_DISPLAY_SET_ALPHA;
    assert_eq!(get_region(input), expected);

    // Every field at once.
    let mut all = region_param();
    all.set = 0x7ff;
    all.display_num = 2;
    all.fullscreen = 0;
    all.transform = sys::MMAL_DISPLAY_MIRROR_ROT90;
    all.dest_rect = sys::MMAL_RECT_T { x: 960, y: 480, width: 320, height: 240 };
    all.src_rect = sys::MMAL_RECT_T { x: 10, y: 20, width: 30, height: 40 };
    all.noaspect = 1;
    all.mode = sys::MMAL_DISPLAY_MODE_FILL;
    all.pixel_x = 4;
    all.pixel_y = 3;
    all.layer = -5;
    all.copyprotect_required = 1;
    all.alpha = 128 | sys::MMAL_DISPLAY_ALPHA_FLAGS_PREMULT;
    assert_eq!(set_region(input, &all), sys::MMAL_SUCCESS);
    assert_eq!(get_region(input), all);

    // Then the layer and the window alone.
    let mut some = region_param();
    some.set = sys::MMAL_DISPLAY_SET_LAYER | sys::MMAL_DISPLAY_SET_DEST_RECT;
    some.layer = 3;
    some.dest_rect = sys::MMAL_RECT_T { x: 0, y: 0, width: 640, height: 360 };
    some.alpha = 1;
    assert_eq!(set_region(input, &some), sys::MMAL_SUCCESS);
    let mut expected = all;
    expected.layer = 3;
    expected.dest_rect = some.dest_rect;
    assert_eq!(get_region(input), expected);

    // A transform or a mode the firmware does not have: EINVAL, nothing
    // changes (not even the fields set with it).
    let mut bad = region_param();
    bad.set = sys::MMAL_DISPLAY_SET_TRANSFORM | sys::MMAL_DISPLAY_SET_LAYER;
    bad.transform = 8;
    bad.layer = 7;
    assert_eq!(set_region(input, &bad), sys::MMAL_EINVAL);
    bad.set = sys::MMAL_DISPLAY_SET_MODE;
    bad.mode = 6;
    assert_eq!(set_region(input, &bad), sys::MMAL_EINVAL);
    // A struct shorter than the firmware's: EINVAL.
    let mut short = region_param();
    short.hdr.size = 40;
    short.set = sys::MMAL_DISPLAY_SET_LAYER;
    assert_eq!(set_region(input, &short), sys::MMAL_EINVAL);
    // Read into too little room: ENOSPC and the size it needs.
    let mut small = region_param();
    small.hdr.size = 40;
    // SAFETY: a live port; the struct is whole, the header says less.
    assert_eq!(unsafe { (mmal_emu::api().port_parameter_get)(input, &mut small.hdr) }, sys::MMAL_ENOSPC);
    assert_eq!(small.hdr.size as usize, std::mem::size_of::<sys::MMAL_DISPLAYREGION_T>());
    assert_eq!(get_region(input), expected);
    // Not a parameter of the control port.
    let mut on_control = region_param();
    // SAFETY: a live port and a whole struct.
    assert_eq!(unsafe { (mmal_emu::api().port_parameter_get)(control, &mut on_control.hdr) }, sys::MMAL_ENOSYS);

    // picamera sets zero copy on the renderer's input.
    let zero_copy = sys::MMAL_PARAMETER_BOOLEAN_T {
        hdr: sys::MMAL_PARAMETER_HEADER_T {
            id: sys::MMAL_PARAMETER_ZERO_COPY,
            size: std::mem::size_of::<sys::MMAL_PARAMETER_BOOLEAN_T>() as u32,
        },
        enable: 1,
    };
    // SAFETY: a live port and a whole struct; the component is released
    // once.
    unsafe {
        assert_eq!((mmal_emu::api().port_parameter_set)(input, &zero_copy.hdr), sys::MMAL_SUCCESS);
        assert_eq!((mmal_emu::api().component_release)(c), sys::MMAL_SUCCESS);
    }
}

#[test]
fn a_window_lands_where_asked_and_alpha_zero_shows_nothing() {
    let _serial = serial();
    small_display(64, 48);
    let r = Renderer::new(32, 16);
    r.set(sys::MMAL_DISPLAY_SET_FULLSCREEN | sys::MMAL_DISPLAY_SET_DEST_RECT | sys::MMAL_DISPLAY_SET_NOASPECT, |r| {
        r.fullscreen = 0;
        r.noaspect = 1;
        r.dest_rect = sys::MMAL_RECT_T { x: 8, y: 4, width: 16, height: 8 };
    });
    r.fill(RED);
    let s = mmal_emu::display::snapshot();
    assert_eq!((s.0, s.1, s.2.len()), (64, 48, 64 * 48 * 3));
    for y in 0..48 {
        for x in 0..64 {
            let inside = (8..24).contains(&x) && (4..12).contains(&y);
            assert_eq!(pixel(&s, x, y), if inside { RED } else { BLACK }, "({x}, {y})");
        }
    }
    // Half opacity over black: half the red.
    r.set(sys::MMAL_DISPLAY_SET_ALPHA, |r| r.alpha = 128);
    let s = mmal_emu::display::snapshot();
    assert_eq!(pixel(&s, 10, 6), [128, 0, 0]);
    // Opacity 0 with flags: nothing.
    r.set(sys::MMAL_DISPLAY_SET_ALPHA, |r| r.alpha = sys::MMAL_DISPLAY_ALPHA_FLAGS_MIX);
    let s = mmal_emu::display::snapshot();
    assert!(s.2.iter().all(|&v| v == 0), "an invisible renderer shows");
    // Gone with its component.
    r.set(sys::MMAL_DISPLAY_SET_ALPHA, |r| r.alpha = 255);
    assert_eq!(pixel(&mmal_emu::display::snapshot(), 10, 6), RED);
    drop(r);
    assert!(mmal_emu::display::snapshot().2.iter().all(|&v| v == 0), "a destroyed renderer still shows");
    assert!(mmal_emu::display::set_size(None));
}

#[test]
fn a_higher_layer_covers_a_lower_one_whatever_the_order_of_creation() {
    let _serial = serial();
    small_display(64, 48);
    let top = Renderer::new(32, 16);
    top.set(sys::MMAL_DISPLAY_SET_LAYER | sys::MMAL_DISPLAY_SET_FULLSCREEN | sys::MMAL_DISPLAY_SET_DEST_RECT, |r| {
        r.layer = 5;
        r.fullscreen = 0;
        r.dest_rect = sys::MMAL_RECT_T { x: 0, y: 0, width: 32, height: 16 };
    });
    top.fill(BLUE);
    let bottom = Renderer::new(32, 16);
    bottom.set(sys::MMAL_DISPLAY_SET_LAYER | sys::MMAL_DISPLAY_SET_NOASPECT, |r| {
        r.layer = 2;
        r.noaspect = 1;
    });
    bottom.fill(GREEN);
    let s = mmal_emu::display::snapshot();
    assert_eq!(pixel(&s, 5, 5), BLUE);
    assert_eq!(pixel(&s, 40, 30), GREEN, "the lower layer fills the display");
    // Half opacity on top: the two mixed.
    top.set(sys::MMAL_DISPLAY_SET_ALPHA, |r| r.alpha = 128);
    assert_eq!(pixel(&mmal_emu::display::snapshot(), 5, 5), [0, 127, 128]);
    // Layers swapped: the green covers all.
    top.set(sys::MMAL_DISPLAY_SET_LAYER | sys::MMAL_DISPLAY_SET_ALPHA, |r| {
        r.layer = 1;
        r.alpha = 255;
    });
    let s = mmal_emu::display::snapshot();
    assert_eq!(pixel(&s, 5, 5), GREEN);
    // A new picture replaces the old one.
    bottom.fill(RED);
    assert_eq!(pixel(&mmal_emu::display::snapshot(), 40, 30), RED);
    drop((top, bottom));
    assert!(mmal_emu::display::set_size(None));
}

#[test]
fn mirrors_crops_and_letterboxing() {
    let _serial = serial();
    small_display(64, 32);
    let r = Renderer::new(32, 16);
    // Left half red, right half green.
    let picture: Vec<u8> = (0..32 * 16).flat_map(|i| if i % 32 < 16 { RED } else { GREEN }).collect();
    r.show(&picture);
    // 2:1 on 2:1: all of the display, as it is.
    let s = mmal_emu::display::snapshot();
    assert_eq!((pixel(&s, 2, 2), pixel(&s, 60, 30)), (RED, GREEN));
    // Mirrored.
    r.set(sys::MMAL_DISPLAY_SET_TRANSFORM, |r| r.transform = sys::MMAL_DISPLAY_MIRROR_ROT0);
    let s = mmal_emu::display::snapshot();
    assert_eq!((pixel(&s, 2, 2), pixel(&s, 60, 30)), (GREEN, RED));
    // Turned a quarter: 1:2 on 2:1, letterboxed in the middle quarter...
    r.set(sys::MMAL_DISPLAY_SET_TRANSFORM, |r| r.transform = sys::MMAL_DISPLAY_ROT90);
    let s = mmal_emu::display::snapshot();
    assert_eq!((pixel(&s, 10, 16), pixel(&s, 54, 16)), (BLACK, BLACK), "bars");
    // ... clockwise: the left (red) half on top.
    assert_eq!((pixel(&s, 32, 2), pixel(&s, 32, 30)), (RED, GREEN));
    // Stretched when the aspect ratio is ignored.
    r.set(sys::MMAL_DISPLAY_SET_NOASPECT, |r| r.noaspect = 1);
    let s = mmal_emu::display::snapshot();
    assert_eq!((pixel(&s, 0, 2), pixel(&s, 63, 30)), (RED, GREEN));
    // Cropped to the green half, untransformed: all green.
    r.set(sys::MMAL_DISPLAY_SET_TRANSFORM | sys::MMAL_DISPLAY_SET_SRC_RECT, |r| {
        r.transform = sys::MMAL_DISPLAY_ROT0;
        r.src_rect = sys::MMAL_RECT_T { x: 16, y: 0, width: 16, height: 16 };
    });
    let s = mmal_emu::display::snapshot();
    assert!((0..64).all(|x| pixel(&s, x, 10) == GREEN));
    drop(r);
    assert!(mmal_emu::display::set_size(None));
}

#[test]
fn a_client_sending_faster_than_the_display_refreshes_waits_for_its_buffers() {
    let _serial = serial();
    small_display(32, 16);
    let r = Renderer::new(32, 16);
    // Seven pictures, each sent as soon as a buffer is free: each after
    // the first waits for a refresh of its own, so the last comes back at
    // least five whole refreshes (60 Hz) after the first was sent. (A lower
    // bound the renderer guarantees, whatever the machine's load.)
    let start = Instant::now();
    for i in 0..7u8 {
        r.send(&[i * 30, 0, 0].repeat(32 * 16));
    }
    r.settle();
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(5 * 1000 / 60), "7 pictures shown in {took:?}");
    assert_eq!(pixel(&mmal_emu::display::snapshot(), 0, 0), [180, 0, 0], "the last picture shows");
    // Empty buffers too go back one per refresh (on a Pi they come back at
    // once, and picamerax's callback keeps a core busy sending them back),
    // and show nothing new.
    let start = Instant::now();
    for _ in 0..7 {
        r.send_empty();
    }
    r.settle();
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(5 * 1000 / 60), "7 empty buffers back in {took:?}");
    assert_eq!(pixel(&mmal_emu::display::snapshot(), 0, 0), [180, 0, 0]);
    drop(r);
    assert!(mmal_emu::display::set_size(None));
}

#[test]
fn the_cameras_preview_shows_through_a_tunnel() {
    let _serial = serial();
    small_display(160, 90);
    // The camera is this process's alone: other programs' cameras (test
    // suites running alongside) do not contend for it.
    std::env::set_var("VIDEOCORE_EMU_CAMERA_LOCK", format!("renderer-test-{}", std::process::id()));
    let api = mmal_emu::api();
    let camera = create(c"vc.ril.camera");
    let render = create(c"vc.ril.video_render");
    // SAFETY: live components' ports, connected and torn down in order.
    unsafe {
        let preview = *(*camera).output;
        (*(*preview).format).encoding = sys::MMAL_ENCODING_OPAQUE;
        let video = &mut (*(*(*preview).format).es).video;
        video.width = 320;
        video.height = 240;
        video.crop = sys::MMAL_RECT_T { x: 0, y: 0, width: 320, height: 240 };
        assert_eq!((api.port_format_commit)(preview), sys::MMAL_SUCCESS);
        let mut conn = ptr::null_mut();
        let status =
            (api.connection_create)(&mut conn, preview, *(*render).input, sys::MMAL_CONNECTION_FLAG_TUNNELLING);
        assert_eq!(status, sys::MMAL_SUCCESS);
        assert_eq!((*(**(*render).input).format).encoding, sys::MMAL_ENCODING_OPAQUE);
        assert_eq!((api.connection_enable)(conn), sys::MMAL_SUCCESS);
        assert_eq!((api.component_enable)(camera), sys::MMAL_SUCCESS);
        // 4:3 on 16:9: letterboxed (bars left and right), the chart in the
        // middle.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = mmal_emu::display::snapshot();
            if (0..90).any(|y| pixel(&s, 80, y) != BLACK) {
                assert!((0..90).all(|y| pixel(&s, 5, y) == BLACK && pixel(&s, 154, y) == BLACK), "no bars");
                break;
            }
            assert!(Instant::now() < deadline, "no preview on the display within 20 s");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!((api.connection_disable)(conn), sys::MMAL_SUCCESS);
        assert_eq!((api.connection_destroy)(conn), sys::MMAL_SUCCESS);
        assert_eq!((api.component_release)(render), sys::MMAL_SUCCESS);
        assert_eq!((api.component_release)(camera), sys::MMAL_SUCCESS);
    }
    assert!(mmal_emu::display::snapshot().2.iter().all(|&v| v == 0), "the preview outlived its renderer");
    assert!(mmal_emu::display::set_size(None));
}

#[test]
fn the_display_is_written_as_a_png_on_request() {
    let _serial = serial();
    small_display(40, 20);
    let r = Renderer::new(32, 16);
    r.fill(BLUE);
    let path = std::env::temp_dir().join(format!("renderer-test-{}.png", std::process::id()));
    mmal_emu::display::dump_png(&path).unwrap();
    let png = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: the display's size, 8-bit RGB.
    assert_eq!(&png[12..16], b"IHDR");
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 40);
    assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 20);
    assert_eq!(&png[24..26], &[8, 2]);
    drop(r);
    // Sizes past the display's limits are refused.
    assert!(!mmal_emu::display::set_size(Some((0, 10))));
    assert!(!mmal_emu::display::set_size(Some((10, 9000))));
    assert_eq!(mmal_emu::display::size(), (40, 20));
    assert_eq!(mmal_emu::display::parse_size("800x600"), Some((800, 600)));
    assert!(mmal_emu::display::set_size(None));
}

#[test]
fn the_display_is_written_where_the_variable_says_when_a_picture_shows() {
    let _serial = serial();
    small_display(32, 16);
    let path = std::env::temp_dir().join(format!("renderer-test-env-{}.png", std::process::id()));
    let _ = std::fs::remove_file(&path);
    // No other test sets the variable, and they run one at a time: the
    // first picture shown writes the file (at most once a second after).
    std::env::set_var(mmal_emu::display::DISPLAY_PNG_VAR, &path);
    let r = Renderer::new(32, 16);
    r.fill(GREEN);
    std::env::remove_var(mmal_emu::display::DISPLAY_PNG_VAR);
    let png = std::fs::read(&path).expect("no PNG written");
    let _ = std::fs::remove_file(&path);
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 32);
    drop(r);
    assert!(mmal_emu::display::set_size(None));
}
