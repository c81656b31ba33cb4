//! The firmware camera's parameters and behaviours that picamera and
//! raspistill rely on, through the C ABI as a C client calls it: FLASH,
//! CAMERA_BURST_CAPTURE and IMAGE_EFFECT_PARAMETERS kept and read back (the
//! effect's parameters acting on the picture), the shutter speed bounded by
//! the frame period, one enabled camera component per sensor (in this
//! process or another), pictures under 16x16 refused, and SYSTEM_TIME
//! answered (picamera's `timestamp`).
//!
//! The tests run one at a time (they contend for the one sensor), with the
//! camera lock scoped to this test run (`VIDEOCORE_EMU_CAMERA_LOCK`), so
//! other programs using the emulator meanwhile are not in the way; a child
//! process started by a test inherits the scope.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::ptr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use mmal_sys as sys;
use sys::param::ParameterStruct;

/// Set in the child process [`a_camera_enabled_in_another_process_keeps_the_sensor`] starts.
const CHILD_VAR: &str = "CAMERA_FIRMWARE_CHILD";

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs tests one at a time, in the emulator, with this run's lock scope.
fn serial() -> MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    if std::env::var_os("VIDEOCORE").is_none() {
        std::env::set_var("VIDEOCORE", "emulated");
    }
    if std::env::var_os(CHILD_VAR).is_none() {
        std::env::set_var("VIDEOCORE_EMU_CAMERA_LOCK", format!("camera-firmware-test-{}", std::process::id()));
    }
    guard
}

fn api() -> &'static sys::Api {
    mmal_emu::api()
}

/// A camera component, released when dropped.
struct Camera(*mut sys::MMAL_COMPONENT_T);

impl Camera {
    fn new() -> Camera {
        let mut c = ptr::null_mut();
        // SAFETY: a NUL-terminated name and a valid out-pointer.
        assert_eq!(unsafe { (api().component_create)(c"vc.ril.camera".as_ptr(), &mut c) }, sys::MMAL_SUCCESS);
        Camera(c)
    }

    fn control(&self) -> *mut sys::MMAL_PORT_T {
        // SAFETY: a live component.
        unsafe { (*self.0).control }
    }

    fn output(&self, index: usize) -> *mut sys::MMAL_PORT_T {
        // SAFETY: a live component with three outputs.
        unsafe { *(*self.0).output.add(index) }
    }

    fn enable(&self) -> sys::MMAL_STATUS_T {
        // SAFETY: a live component.
        unsafe { (api().component_enable)(self.0) }
    }

    fn disable(&self) -> sys::MMAL_STATUS_T {
        // SAFETY: a live component.
        unsafe { (api().component_disable)(self.0) }
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        // SAFETY: the component is live and released once.
        let status = unsafe { (api().component_release)(self.0) };
        if !std::thread::panicking() {
            assert_eq!(status, sys::MMAL_SUCCESS);
        }
    }
}

fn set<T: ParameterStruct>(port: *mut sys::MMAL_PORT_T, p: &mut T) -> sys::MMAL_STATUS_T {
    // SAFETY: a live port and a whole parameter whose header starts it.
    unsafe { (api().port_parameter_set)(port, ptr::from_mut(p).cast()) }
}

fn get<T: ParameterStruct>(port: *mut sys::MMAL_PORT_T, id: u32) -> Result<T, sys::MMAL_STATUS_T> {
    let mut p = T::with_id(id);
    // SAFETY: as above.
    match unsafe { (api().port_parameter_get)(port, ptr::from_mut(&mut p).cast()) } {
        sys::MMAL_SUCCESS => Ok(p),
        status => Err(status),
    }
}

fn set_bool(port: *mut sys::MMAL_PORT_T, id: u32, on: bool) -> sys::MMAL_STATUS_T {
    let mut p = sys::MMAL_PARAMETER_BOOLEAN_T::with_id(id);
    p.enable = i32::from(on);
    set(port, &mut p)
}

fn get_bool(port: *mut sys::MMAL_PORT_T, id: u32) -> bool {
    get::<sys::MMAL_PARAMETER_BOOLEAN_T>(port, id).expect("a boolean read back").enable != 0
}

fn set_u32(port: *mut sys::MMAL_PORT_T, id: u32, value: u32) -> sys::MMAL_STATUS_T {
    let mut p = sys::MMAL_PARAMETER_UINT32_T::with_id(id);
    p.value = value;
    set(port, &mut p)
}

fn get_u32(port: *mut sys::MMAL_PORT_T, id: u32) -> u32 {
    get::<sys::MMAL_PARAMETER_UINT32_T>(port, id).expect("a value read back").value
}

/// Commits `encoding` at `w`x`h` and `fps` on `port`.
fn commit(port: *mut sys::MMAL_PORT_T, encoding: u32, (w, h): (u32, u32), fps: i32) -> sys::MMAL_STATUS_T {
    // SAFETY: a live port's format, edited and committed as a C client does.
    unsafe {
        let format = (*port).format;
        (*format).encoding = encoding;
        let video = &mut (*(*format).es).video;
        video.width = w.div_ceil(32) * 32;
        video.height = h.div_ceil(16) * 16;
        video.crop = sys::MMAL_RECT_T { x: 0, y: 0, width: w as i32, height: h as i32 };
        video.frame_rate = sys::MMAL_RATIONAL_T { num: fps, den: 1 };
        (api().port_format_commit)(port)
    }
}

fn effect_parameters(effect: u32, params: &[u32]) -> sys::MMAL_PARAMETER_IMAGEFX_PARAMETERS_T {
    let mut p = sys::MMAL_PARAMETER_IMAGEFX_PARAMETERS_T::with_id(sys::MMAL_PARAMETER_IMAGE_EFFECT_PARAMETERS);
    p.effect = effect;
    p.num_effect_params = params.len() as u32;
    p.effect_parameter[..params.len()].copy_from_slice(params);
    p
}

#[test]
fn flash_is_kept_and_read_back() {
    let _s = serial();
    let camera = Camera::new();
    let control = camera.control();
    let flash = |c| get::<sys::MMAL_PARAMETER_FLASH_T>(c, sys::MMAL_PARAMETER_FLASH).map(|p| p.value);
    assert_eq!(flash(control), Ok(sys::MMAL_PARAM_FLASH_OFF), "off until set");
    for mode in [sys::MMAL_PARAM_FLASH_AUTO, sys::MMAL_PARAM_FLASH_TORCH, sys::MMAL_PARAM_FLASH_REDEYE] {
        let mut p = sys::MMAL_PARAMETER_FLASH_T::with_id(sys::MMAL_PARAMETER_FLASH);
        p.value = mode;
        assert_eq!(set(control, &mut p), sys::MMAL_SUCCESS);
        assert_eq!(flash(control), Ok(mode));
    }
    // Not a flash mode: refused, the mode stays.
    let mut p = sys::MMAL_PARAMETER_FLASH_T::with_id(sys::MMAL_PARAMETER_FLASH);
    p.value = sys::MMAL_PARAM_FLASH_TORCH + 1;
    assert_eq!(set(control, &mut p), sys::MMAL_EINVAL);
    assert_eq!(flash(control), Ok(sys::MMAL_PARAM_FLASH_REDEYE));
}

#[test]
fn burst_capture_is_kept_on_the_control_and_still_ports() {
    let _s = serial();
    let camera = Camera::new();
    // raspistill's burst mode sets it on the control port, picamera's
    // capture_sequence(burst=True) on the still port.
    for port in [camera.control(), camera.output(2)] {
        assert!(!get_bool(port, sys::MMAL_PARAMETER_CAMERA_BURST_CAPTURE), "off until set");
        assert_eq!(set_bool(port, sys::MMAL_PARAMETER_CAMERA_BURST_CAPTURE, true), sys::MMAL_SUCCESS);
        assert!(get_bool(port, sys::MMAL_PARAMETER_CAMERA_BURST_CAPTURE));
    }
    assert_eq!(set_bool(camera.output(2), sys::MMAL_PARAMETER_CAMERA_BURST_CAPTURE, false), sys::MMAL_SUCCESS);
    assert!(!get_bool(camera.output(2), sys::MMAL_PARAMETER_CAMERA_BURST_CAPTURE));
    assert!(get_bool(camera.control(), sys::MMAL_PARAMETER_CAMERA_BURST_CAPTURE), "each port keeps its own");
}

#[test]
fn image_effect_parameters_are_kept_and_read_back() {
    let _s = serial();
    let camera = Camera::new();
    let control = camera.control();
    let read = || {
        get::<sys::MMAL_PARAMETER_IMAGEFX_PARAMETERS_T>(control, sys::MMAL_PARAMETER_IMAGE_EFFECT_PARAMETERS).unwrap()
    };
    assert_eq!(read().num_effect_params, 0, "none until set");
    let mut p = effect_parameters(sys::MMAL_PARAM_IMAGEFX_SOLARIZE, &[1, 100, 90, 200, 10]);
    assert_eq!(set(control, &mut p), sys::MMAL_SUCCESS);
    let back = read();
    assert_eq!((back.effect, back.num_effect_params), (sys::MMAL_PARAM_IMAGEFX_SOLARIZE, 5));
    assert_eq!(back.effect_parameter, [1, 100, 90, 200, 10, 0]);
    // More than six parameters, or not an effect of the camera: refused,
    // the parameters stay.
    let mut p = effect_parameters(sys::MMAL_PARAM_IMAGEFX_POSTERISE, &[8]);
    p.num_effect_params = 7;
    assert_eq!(set(control, &mut p), sys::MMAL_EINVAL);
    let mut p = effect_parameters(sys::MMAL_PARAM_IMAGEFX_DEINTERLACE_FAST, &[]);
    assert_eq!(set(control, &mut p), sys::MMAL_EINVAL);
    assert_eq!(read().effect_parameter, [1, 100, 90, 200, 10, 0]);
}

static FRAME: Mutex<Option<Vec<u8>>> = Mutex::new(None);

unsafe extern "C" fn keep_frame(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    // SAFETY: the header and its payload are handed to the callback.
    unsafe {
        if (*b).length > 0 {
            let data = std::slice::from_raw_parts((*b).data.add((*b).offset as usize), (*b).length as usize);
            FRAME.lock().unwrap().get_or_insert_with(|| data.to_vec());
        }
        (api().buffer_header_release)(b);
    }
}

/// One RGB24 frame (`W`x`H`, rows padded to 32 pixels) from the video port
/// of a camera set up by `setup` on its control port.
fn frame(setup: impl Fn(*mut sys::MMAL_PORT_T)) -> Vec<Vec<[u8; 3]>> {
    const W: usize = 96;
    const H: usize = 64;
    let camera = Camera::new();
    setup(camera.control());
    let video = camera.output(1);
    assert_eq!(commit(video, sys::MMAL_ENCODING_RGB24, (W as u32, H as u32), 30), sys::MMAL_SUCCESS);
    *FRAME.lock().unwrap() = None;
    // SAFETY: the live port, its pool and buffers, as a C client uses them;
    // all given back before the camera goes.
    unsafe {
        (*video).buffer_num = 2;
        (*video).buffer_size = (*video).buffer_size_min;
        let pool = (api().port_pool_create)(video, 2, (*video).buffer_size_min);
        assert!(!pool.is_null());
        assert_eq!((api().port_enable)(video, Some(keep_frame)), sys::MMAL_SUCCESS);
        for _ in 0..2 {
            assert_eq!((api().port_send_buffer)(video, (api().queue_get)((*pool).queue)), sys::MMAL_SUCCESS);
        }
        assert_eq!(camera.enable(), sys::MMAL_SUCCESS);
        assert_eq!(set_bool(video, sys::MMAL_PARAMETER_CAPTURE, true), sys::MMAL_SUCCESS);
        let deadline = Instant::now() + Duration::from_secs(20);
        while FRAME.lock().unwrap().is_none() {
            assert!(Instant::now() < deadline, "no frame");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!((api().port_disable)(video), sys::MMAL_SUCCESS);
        (api().port_pool_destroy)(video, pool);
    }
    let data = FRAME.lock().unwrap().take().unwrap();
    let stride = W * 3;
    (0..H).map(|y| (0..W).map(|x| std::array::from_fn(|c| data[y * stride + x * 3 + c])).collect()).collect()
}

fn set_effect(control: *mut sys::MMAL_PORT_T, effect: u32, params: Option<&[u32]>) {
    assert_eq!(set_u32(control, sys::MMAL_PARAMETER_IMAGE_EFFECT, effect), sys::MMAL_SUCCESS);
    if let Some(params) = params {
        assert_eq!(set(control, &mut effect_parameters(effect, params)), sys::MMAL_SUCCESS);
    }
}

fn channel_mean(img: &[Vec<[u8; 3]>], c: usize) -> f64 {
    let n = img.len() * img[0].len();
    img.iter().flatten().map(|p| f64::from(p[c])).sum::<f64>() / n as f64
}

#[test]
fn image_effect_parameters_change_the_picture() {
    let _s = serial();
    mmal_emu::set_scene(None);
    // Posterise in 2 steps: every level near black or white (the
    // sensor's noise aside); in the default 4, many in between.
    let levels_between = |img: &[Vec<[u8; 3]>]| {
        img.iter().flatten().flatten().filter(|&&v| (12..=243).contains(&v)).count() as f64
            / (img.len() * img[0].len() * 3) as f64
    };
    let four = frame(|c| set_effect(c, sys::MMAL_PARAM_IMAGEFX_POSTERISE, None));
    let two = frame(|c| set_effect(c, sys::MMAL_PARAM_IMAGEFX_POSTERISE, Some(&[2])));
    assert!(levels_between(&four) > 0.2, "4 steps: {}", levels_between(&four));
    assert!(levels_between(&two) < 0.01, "2 steps: {}", levels_between(&two));

    // Colour swap direction 1 (RGB to BRG) puts red where direction 0
    // (RGB to BGR) puts it on blue... in green.
    let bgr = frame(|c| set_effect(c, sys::MMAL_PARAM_IMAGEFX_COLOURSWAP, Some(&[0])));
    let brg = frame(|c| set_effect(c, sys::MMAL_PARAM_IMAGEFX_COLOURSWAP, Some(&[1])));
    assert!((channel_mean(&brg, 1) - channel_mean(&bgr, 2)).abs() < 2.0);
    assert!((channel_mean(&brg, 2) - channel_mean(&bgr, 1)).abs() < 2.0);
    assert!((channel_mean(&brg, 0) - channel_mean(&bgr, 0)).abs() < 2.0);

    // Solarize: by default the levels above the middle fold back down;
    // with x0 = y0 = y1 = y2 = 255 the curve is level for level.
    let folded = frame(|c| set_effect(c, sys::MMAL_PARAM_IMAGEFX_SOLARIZE, None));
    let straight = frame(|c| set_effect(c, sys::MMAL_PARAM_IMAGEFX_SOLARIZE, Some(&[255, 255, 255, 255])));
    let max = |img: &[Vec<[u8; 3]>]| img.iter().flatten().flatten().copied().max().unwrap();
    assert!(max(&folded) < 150, "folded: {}", max(&folded));
    assert!(max(&straight) > 200, "straight: {}", max(&straight));

    // Parameters set for another effect leave this one as it is.
    let other = frame(|c| {
        set_effect(c, sys::MMAL_PARAM_IMAGEFX_COLOURSWAP, Some(&[1]));
        set_effect(c, sys::MMAL_PARAM_IMAGEFX_POSTERISE, None);
    });
    assert!(levels_between(&other) > 0.2);
}

#[test]
fn the_shutter_speed_reads_back_bounded_by_the_frame_period() {
    let _s = serial();
    let camera = Camera::new();
    let (control, preview) = (camera.control(), camera.output(0));
    assert_eq!(commit(preview, sys::MMAL_ENCODING_OPAQUE, (640, 480), 1), sys::MMAL_SUCCESS);
    assert_eq!(get_u32(control, sys::MMAL_PARAMETER_SHUTTER_SPEED), 0, "automatic until set");
    assert_eq!(set_u32(control, sys::MMAL_PARAMETER_SHUTTER_SPEED, 100_000), sys::MMAL_SUCCESS);
    assert_eq!(get_u32(control, sys::MMAL_PARAMETER_SHUTTER_SPEED), 100_000, "within a 1 s frame");
    // The frame rate rises to 30: at most a frame period, 33,333 us.
    assert_eq!(commit(preview, sys::MMAL_ENCODING_OPAQUE, (640, 480), 30), sys::MMAL_SUCCESS);
    let bounded = get_u32(control, sys::MMAL_PARAMETER_SHUTTER_SPEED);
    assert!((33_000..=33_333).contains(&bounded), "{bounded}");
    let settings = get::<sys::MMAL_PARAMETER_CAMERA_SETTINGS_T>(control, sys::MMAL_PARAMETER_CAMERA_SETTINGS).unwrap();
    assert!(settings.exposure <= 33_334, "the exposure too: {}", settings.exposure);
    // The value set is kept: back at 1 fps it reads as set.
    assert_eq!(commit(preview, sys::MMAL_ENCODING_OPAQUE, (640, 480), 1), sys::MMAL_SUCCESS);
    assert_eq!(get_u32(control, sys::MMAL_PARAMETER_SHUTTER_SPEED), 100_000);
}

#[test]
fn pictures_under_16x16_are_refused() {
    let _s = serial();
    let camera = Camera::new();
    for index in 0..3 {
        let port = camera.output(index);
        for (size, expected) in [
            ((15, 15), sys::MMAL_EINVAL),
            ((640, 15), sys::MMAL_EINVAL),
            ((15, 480), sys::MMAL_EINVAL),
            ((0, 0), sys::MMAL_EINVAL),
            ((16, 16), sys::MMAL_SUCCESS),
            ((100, 100), sys::MMAL_SUCCESS),
        ] {
            assert_eq!(commit(port, sys::MMAL_ENCODING_I420, size, 30), expected, "output {index}, {size:?}");
        }
        // A refused size leaves the format committed before.
        // SAFETY: the live port's committed format.
        let crop = unsafe { (*(*(*port).format).es).video.crop };
        assert_eq!((crop.width, crop.height), (100, 100));
    }
}

#[test]
fn a_second_camera_is_refused_while_the_first_is_enabled() {
    let _s = serial();
    let first = Camera::new();
    let second = Camera::new();
    assert_eq!(first.enable(), sys::MMAL_SUCCESS);
    assert_eq!(second.enable(), sys::MMAL_ENOSPC, "the sensor is the first camera's");
    // Nor can its outputs run (picamera enables the preview's connection
    // before the camera).
    let video = second.output(1);
    assert_eq!(commit(video, sys::MMAL_ENCODING_I420, (64, 48), 30), sys::MMAL_SUCCESS);
    // SAFETY: a live port, enabled as a C client does.
    unsafe {
        (*video).buffer_num = (*video).buffer_num_min;
        (*video).buffer_size = (*video).buffer_size_min;
        assert_eq!((api().port_enable)(video, Some(keep_frame)), sys::MMAL_ENOSPC);
    }
    // Enabling the first again (after a disable too) keeps it.
    assert_eq!(first.enable(), sys::MMAL_SUCCESS);
    assert_eq!(first.disable(), sys::MMAL_SUCCESS);
    assert_eq!(first.enable(), sys::MMAL_SUCCESS);
    assert_eq!(second.enable(), sys::MMAL_ENOSPC);
    drop(first);
    assert_eq!(second.enable(), sys::MMAL_SUCCESS, "released with the first camera");
    let third = Camera::new();
    assert_eq!(third.enable(), sys::MMAL_ENOSPC);
}

/// This test binary run again as the child that holds a camera, and the
/// status its enable gave. Started directly, or, where that runs nothing
/// (an armv7 binary under qemu-user with no binfmt handler, as CI runs the
/// armv7 tests: the exec fails in the child, which says nothing), through
/// the runner `.cargo/config.toml` names for armv7.
fn start_camera_child() -> (std::process::Child, String) {
    let exe = std::env::current_exe().unwrap();
    let mut ways = vec![Command::new(&exe)];
    if cfg!(target_arch = "arm") {
        let mut runner = Command::new("qemu-arm");
        runner.args(["-L", "/usr/arm-linux-gnueabihf"]).arg(&exe);
        ways.push(runner);
    }
    let last = ways.len() - 1;
    for (i, mut way) in ways.into_iter().enumerate() {
        way.args(["--exact", "child_holds_a_camera", "--nocapture", "--test-threads", "1"])
            .env(CHILD_VAR, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = match way.spawn() {
            Ok(child) => child,
            Err(e) if i < last => {
                eprintln!("starting the child: {e}; trying the next way");
                continue;
            }
            Err(e) => panic!("starting the child: {e}"),
        };
        // The child's lines, read on a thread so that the wait is bounded.
        let out = BufReader::new(child.stdout.take().unwrap());
        let (lines, said) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        // The test harness may print the test's name on the same line.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match said.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    if let Some((_, status)) = line.split_once("enabled ") {
                        return (child, status.trim().to_owned());
                    }
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    if i < last && e == std::sync::mpsc::RecvTimeoutError::Disconnected {
                        break;
                    }
                    panic!("the child did not enable its camera: {e}");
                }
            }
        }
    }
    unreachable!("the last way panics or returns")
}

/// In the child process only: enables a camera, says so, and keeps it
/// until killed or its input closes.
#[test]
fn child_holds_a_camera() {
    if std::env::var_os(CHILD_VAR).is_none() {
        return;
    }
    let _s = serial();
    let camera = Camera::new();
    println!("enabled {}", camera.enable());
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    drop(camera);
}

#[test]
fn a_camera_enabled_in_another_process_keeps_the_sensor() {
    let _s = serial();
    let (mut child, status) = start_camera_child();
    assert_eq!(status, sys::MMAL_SUCCESS.to_string(), "the child's camera enabled");
    let camera = Camera::new();
    let refused = camera.enable();
    // The child dies holding the camera: the kernel releases the sensor.
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(refused, sys::MMAL_ENOSPC, "the other process's camera holds the sensor");
    assert_eq!(camera.enable(), sys::MMAL_SUCCESS, "released when that process died");
}

/// A scope too long for an abstract socket's name still makes cameras
/// exclusive (it is hashed), rather than turning the lock off.
#[test]
fn a_long_lock_scope_still_locks() {
    let _s = serial();
    let scope = std::env::var("VIDEOCORE_EMU_CAMERA_LOCK").unwrap();
    std::env::set_var("VIDEOCORE_EMU_CAMERA_LOCK", format!("{scope}-{}", "x".repeat(200)));
    let first = Camera::new();
    let second = Camera::new();
    let (a, b) = (first.enable(), second.enable());
    drop((first, second));
    std::env::set_var("VIDEOCORE_EMU_CAMERA_LOCK", scope);
    assert_eq!((a, b), (sys::MMAL_SUCCESS, sys::MMAL_ENOSPC));
}

/// A child forked while the camera is enabled (as Python's
/// multiprocessing forks) does not hold the sensor: the parent's release
/// frees it, the child still running.
#[test]
fn a_forked_child_does_not_keep_the_sensor() {
    let _s = serial();
    let first = Camera::new();
    assert_eq!(first.enable(), sys::MMAL_SUCCESS);
    // The child says when it runs (its fork handlers have run by then),
    // so that the parent releases the camera after that, not in the
    // instant before the child gives its copy up.
    let mut started = [0i32; 2];
    // SAFETY: a valid array of two descriptors.
    assert_eq!(unsafe { libc::pipe(started.as_mut_ptr()) }, 0);
    // SAFETY: the child only writes a byte, sleeps and exits, all
    // async-signal-safe.
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork failed");
    if child == 0 {
        // SAFETY: as above; the pipe's descriptors are this process's.
        unsafe {
            libc::write(started[1], [1u8].as_ptr().cast(), 1);
            libc::sleep(5);
            libc::_exit(0);
        }
    }
    let mut byte = 0u8;
    // SAFETY: our pipe's descriptors; one byte into a byte.
    unsafe {
        libc::close(started[1]);
        assert_eq!(libc::read(started[0], (&raw mut byte).cast(), 1), 1, "the child did not start");
        libc::close(started[0]);
    }
    drop(first);
    let second = Camera::new();
    let status = second.enable();
    // SAFETY: our child; its status is not needed.
    unsafe {
        libc::kill(child, libc::SIGKILL);
        libc::waitpid(child, ptr::null_mut(), 0);
    }
    assert_eq!(status, sys::MMAL_SUCCESS, "the forked child kept the sensor");
}

#[test]
fn system_time_counts_microseconds_on_every_port() {
    let _s = serial();
    let camera = Camera::new();
    // picamera's `timestamp` reads it on the control port.
    let time = |port| get::<sys::MMAL_PARAMETER_UINT64_T>(port, sys::MMAL_PARAMETER_SYSTEM_TIME).map(|p| p.value);
    let first = time(camera.control()).expect("SYSTEM_TIME on the control port");
    std::thread::sleep(Duration::from_millis(20));
    let second = time(camera.output(1)).expect("SYSTEM_TIME on an output");
    assert!(second >= first + 20_000, "{first} then {second}");
    assert!(second < first + 20_000_000, "{first} then {second}");
}
