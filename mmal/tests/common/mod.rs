//! Helpers shared by the integration tests.
//!
//! The camera (with its events), callback, connection and leak tests run twice in CI:
//! against the software VideoCore linked in (`VIDEOCORE=emulated`, the
//! default here), and through the loader against its C library
//! (`VIDEOCORE=hardware MMAL_LIB_DIR=target/videocore/<triple>/lib`), as a
//! Pi program loads libmmal. [`emu`] reaches the software VideoCore's
//! settings either way.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use mmal::{params, Component, Encoding, Format, FrameStream};

/// Tests run against the software VideoCore unless told otherwise.
pub(crate) fn emulated() {
    if std::env::var_os("VIDEOCORE").is_none() {
        std::env::set_var("VIDEOCORE", "emulated");
    }
}

/// The system allocator, counting the bytes live: a leak test makes it
/// its binary's `#[global_allocator]` and reads [`live_bytes`].
pub(crate) struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: forwards to the system allocator and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's layout is passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Bytes this program has allocated through [`Counting`] and not freed.
pub(crate) fn live_bytes() -> i64 {
    LIVE.load(Ordering::SeqCst)
}

/// Entries of a `/proc/self` directory (`task`: threads, `fd`: open files).
pub(crate) fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// The process's mappings of VCSM blocks (the emulated memory's memfds
/// are named after the driver), the client's and the VideoCore's.
#[allow(dead_code)] // Not every test binary counts them.
pub(crate) fn vcsm_mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps").map(|m| m.lines().filter(|l| l.contains("vcsm")).count()).unwrap_or(0)
}

/// A small xorshift generator, reproducible from its seed (not zero),
/// for the tests that pick steps or orders at random.
#[allow(dead_code)] // Not every test binary draws numbers.
pub(crate) struct Rng(pub(crate) u64);

#[allow(dead_code)]
impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (not zero).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `items` in a random order (Fisher-Yates).
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// Waits up to `limit` for `done`; whether it came.
pub(crate) fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while !done() {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Whether a thread of the client's short-lived kinds (a release or a
/// format change handed off a callback) is running.
fn short_lived_thread_running() -> bool {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return false };
    tasks.flatten().any(|task| {
        std::fs::read_to_string(task.path().join("comm"))
            .is_ok_and(|name| name.starts_with("mmal-release") || name.starts_with("mmal-apply"))
    })
}

/// This process's threads once they have settled: no short-lived client
/// thread running, and the same count twice, 20 ms apart. A joined thread
/// can stay listed in `/proc/self/task` for a moment after `join` returns
/// (the kernel wakes the joiner before it reaps the thread), longer under
/// load or qemu; waits up to 10 s, then counts as it is.
pub(crate) fn settled_threads() -> usize {
    let mut last = count("/proc/self/task");
    eventually(Duration::from_secs(10), || {
        std::thread::sleep(Duration::from_millis(20));
        let now = count("/proc/self/task");
        let settled = now == last && !short_lived_thread_running();
        last = now;
        settled
    });
    last
}

/// This process's threads, once any beyond `expected` have had up to 10 s
/// to finish leaving (see [`settled_threads`]): a thread that never ends
/// still shows.
pub(crate) fn threads_back_to(expected: usize) -> usize {
    eventually(Duration::from_secs(10), || count("/proc/self/task") <= expected);
    count("/proc/self/task")
}

static SERIAL: Mutex<()> = Mutex::new(());

/// Serialises tests that change the emulator's process-wide settings.
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    emulated();
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// A camera streaming `format` from its video port.
pub(crate) fn video_stream(format: &Format, buffers: u32) -> (Component, FrameStream) {
    let camera = Component::new("vc.ril.camera").expect("camera");
    let video = camera.output(1).unwrap();
    video.set_format(format).expect("format");
    let stream = video.enable_stream(buffers).expect("stream");
    camera.enable().expect("enable");
    video.set(&params::Capture(true)).expect("capture");
    (camera, stream)
}

/// Mean of a `size`×`size` window of the Y plane (or one channel of a
/// packed RGB image) centred on (`x`, `y`).
pub(crate) fn window_mean(
    data: &[u8],
    stride: usize,
    bpp: usize,
    channel: usize,
    x: usize,
    y: usize,
    size: usize,
) -> f64 {
    let mut sum = 0.0;
    for yy in y - size / 2..y + size / 2 {
        for xx in x - size / 2..x + size / 2 {
            sum += f64::from(data[yy * stride + xx * bpp + channel]);
        }
    }
    sum / (size * size) as f64
}

/// Corner-to-centre level of one channel: the mean of the four corner
/// windows over the centre window.
pub(crate) fn corner_ratio(data: &[u8], format: &Format, bpp: usize, channel: usize) -> f64 {
    let (w, h) = format.visible();
    let (w, h) = (w as usize, h as usize);
    let stride = format.stride();
    let s = (w / 40).max(4);
    let centre = window_mean(data, stride, bpp, channel, w / 2, h / 2, s);
    let m = s;
    let corners = [(m, m), (w - m, m), (m, h - m), (w - m, h - m)];
    let corner: f64 = corners.iter().map(|&(x, y)| window_mean(data, stride, bpp, channel, x, y, s)).sum::<f64>() / 4.0;
    corner / centre
}

pub(crate) fn rgb(width: u32, height: u32) -> Format {
    Format::video(Encoding::RGB24, width, height).with_frame_rate(30)
}

/// The software VideoCore's settings and counters, in whichever form this
/// process uses it: linked in, the C library the loader opened, or the one
/// behind the preload library's `/dev/vchiq` (under any libmmal).
pub(crate) mod emu {
    use std::ffi::{c_char, c_int, CString};
    use std::sync::OnceLock;

    use mmal::emulator::{self, CameraFault, Pacing, Sensor, TestEvent, Usage};
    use mmal::Provider;

    /// The control functions of a software VideoCore the tests reach
    /// through a library: the C library's (`videocore_emu_*`, see the
    /// `videocore-c` crate), or, in a process that runs with the preload
    /// library, that library's (`vchiq_preload_emu_*`). The preload
    /// library's VideoCore is then the one the components are made on,
    /// whichever libmmal the loader opened: ours over VCHIQ, or userland's.
    struct Library {
        _library: libloading::Library,
        usage: unsafe extern "C" fn(*mut u64),
        set_sensor: unsafe extern "C" fn(*const c_char) -> c_int,
        set_scene: unsafe extern "C" fn(*const c_char) -> c_int,
        set_camera_fault: unsafe extern "C" fn(c_int),
        set_pacing: unsafe extern "C" fn(c_int),
        vcsm_usage: unsafe extern "C" fn(*mut u64),
        /// The C library's own (`None` behind the preload library).
        own: Option<Own>,
    }

    /// The controls only the C library has: its components' events go by
    /// the ids its `MMAL_COMPONENT_T`s show (the preload library's
    /// VideoCore knows its components by their VideoCore handles, which
    /// no libmmal shows), and it counts its own initialisation.
    struct Own {
        post_event: unsafe extern "C" fn(u32, u32, u32, u32) -> c_int,
        change_output_format: unsafe extern "C" fn(u32, u32, u32, u32, u32) -> c_int,
        init_calls: unsafe extern "C" fn(*mut u32),
        fail_next_port_disable: unsafe extern "C" fn(),
    }

    /// The preload library's controls if it is in the process, else the C
    /// library's: opening that again gives the instance the loader loaded
    /// (same file), whose functions these are.
    fn library() -> &'static Library {
        static LIBRARY: OnceLock<Library> = OnceLock::new();
        LIBRARY.get_or_init(|| {
            let this = libloading::os::unix::Library::this();
            // SAFETY: only looks the symbol up; nothing is called.
            let preload = unsafe { this.get::<unsafe extern "C" fn(*mut u64)>(b"vchiq_preload_emu_usage") }.is_ok();
            let (library, prefix) = if preload {
                (libloading::Library::from(this), "vchiq_preload_emu_")
            } else {
                let dir = std::env::var_os("MMAL_LIB_DIR").expect("the loader tests set MMAL_LIB_DIR");
                let path = std::path::Path::new(&dir).join("libmmal_core.so");
                // SAFETY: the library is already loaded (by the mmal
                // loader); opening it again only takes a reference.
                (
                    unsafe { libloading::Library::new(&path) }.expect("the software VideoCore's library"),
                    "videocore_emu_",
                )
            };
            macro_rules! get {
                ($name:literal) => {{
                    let name = format!("{prefix}{}", $name);
                    // SAFETY: the field's type is the C signature exported
                    // under this name (`mmal_emu::export_controls!`, and the
                    // videocore-c crate's own).
                    *unsafe { library.get(name.as_bytes()) }.expect(&name)
                }};
            }
            let own = (!preload).then(|| Own {
                post_event: get!("post_event"),
                change_output_format: get!("change_output_format"),
                init_calls: get!("init_calls"),
                fail_next_port_disable: get!("fail_next_port_disable"),
            });
            Library {
                usage: get!("usage"),
                set_sensor: get!("set_sensor"),
                set_scene: get!("set_scene"),
                set_camera_fault: get!("set_camera_fault"),
                set_pacing: get!("set_pacing"),
                vcsm_usage: get!("vcsm_usage"),
                own,
                _library: library,
            }
        })
    }

    /// The C library's own controls, for a test that needs them.
    fn own(what: &str) -> &'static Own {
        library().own.as_ref().unwrap_or_else(|| {
            panic!(
                "{what} needs the software VideoCore linked in or as the C library: behind the preload library, \
                 components are known by VideoCore handles that a libmmal does not show"
            )
        })
    }

    /// The emulator's id of a component the tests hold: over VCHIQ a
    /// component's id is the VideoCore's handle of it (in the firmware's
    /// form), which the emulated firmware maps to its own (`None`: no
    /// such component).
    fn emulator_id(component_id: u32) -> Option<u32> {
        match mmal::provider().expect("an MMAL provider") {
            #[cfg(feature = "vchiq")]
            Provider::Vchiq => vchiq_emu::component_id(component_id),
            _ => Some(component_id),
        }
    }

    /// Whether the software VideoCore is linked in (else it is the C
    /// library behind the loader).
    pub(crate) fn linked() -> bool {
        match mmal::provider().expect("an MMAL provider") {
            // Over VCHIQ, the tests' device is the emulated one, in this
            // process (VIDEOCORE_VCHIQ_DEVICE=emulated).
            Provider::Emulated | Provider::Vchiq => true,
            _ => {
                assert!(
                    mmal::is_software_videocore().unwrap() || library().own.is_none(),
                    "these tests need the software VideoCore: linked in, as the C library, or behind the \
                     preload library's /dev/vchiq (LD_PRELOAD)"
                );
                false
            }
        }
    }

    /// Blocks and bytes of the emulated VCSM memory in use, the components'
    /// (zero-copy payloads) included: one memory per process, linked in,
    /// the C library's, or the preload library's.
    pub(crate) fn vcsm_usage() -> (u64, u64) {
        if linked() {
            let stats = mmal::vcsm::ServiceManager::get().expect("VCSM").stats();
            return (stats.live_allocations, stats.live_bytes);
        }
        let mut out = [0u64; 2];
        // SAFETY: room for the two counts.
        unsafe { (library().vcsm_usage)(out.as_mut_ptr()) };
        (out[0], out[1])
    }

    fn c_string(text: Option<&str>) -> Option<CString> {
        text.map(|t| CString::new(t).expect("no NUL"))
    }

    fn ptr(text: &Option<CString>) -> *const c_char {
        text.as_ref().map_or(std::ptr::null(), |t| t.as_ptr())
    }

    pub(crate) fn usage() -> Usage {
        if linked() {
            return emulator::usage();
        }
        let mut out = [0u64; 4];
        // SAFETY: room for the four counts.
        unsafe { (library().usage)(out.as_mut_ptr()) };
        let mut usage = Usage::default();
        usage.components = out[0] as usize;
        usage.threads = out[1] as usize;
        usage.pools = out[2] as usize;
        usage.connections = out[3] as usize;
        usage
    }

    /// Puts the sensor and scene back to the environment's when dropped,
    /// so a test that fails half-way leaves them as it found them.
    pub(crate) struct Restore;

    impl Drop for Restore {
        fn drop(&mut self) {
            set_sensor(None);
            set_scene(None);
        }
    }

    pub(crate) fn set_sensor(sensor: Option<Sensor>) {
        if linked() {
            return emulator::set_sensor(sensor);
        }
        let name = c_string(sensor.map(Sensor::name));
        // SAFETY: NULL or a C string that outlives the call.
        assert_eq!(unsafe { (library().set_sensor)(ptr(&name)) }, 0);
    }

    /// `chart`, `flat`, or `None` for `VIDEOCORE_EMU_SCENE`.
    pub(crate) fn set_scene(scene: Option<&str>) {
        if linked() {
            return emulator::set_scene(scene.map(|s| emulator::Scene::from_env_value(s).expect("a scene")));
        }
        let value = c_string(scene);
        // SAFETY: NULL or a C string that outlives the call.
        assert_eq!(unsafe { (library().set_scene)(ptr(&value)) }, 0);
    }

    pub(crate) fn set_camera_fault(fault: Option<Option<CameraFault>>) {
        if linked() {
            return emulator::set_camera_fault(fault);
        }
        let code = match fault {
            Some(None) => 0,
            Some(Some(CameraFault::Disabled)) => 1,
            Some(Some(CameraFault::Missing)) => 2,
            _ => -1,
        };
        // SAFETY: takes a plain int.
        unsafe { (library().set_camera_fault)(code) };
    }

    pub(crate) fn set_pacing(pacing: Pacing) {
        if linked() {
            return emulator::set_pacing(pacing);
        }
        // SAFETY: takes a plain int.
        unsafe { (library().set_pacing)(c_int::from(pacing == Pacing::Unlimited)) };
    }

    pub(crate) fn post_event(component_id: u32, event: TestEvent) -> bool {
        if linked() {
            return emulator_id(component_id).is_some_and(|id| emulator::post_event(id, event));
        }
        let (kind, a, b) = match event {
            TestEvent::Error(status) => (0, status, 0),
            TestEvent::EndOfStream { port_type, port_index } => (1, port_type, port_index),
            TestEvent::FormatChanged { output } => (2, output, 0),
            TestEvent::OutputFormatChanged { output, encoding, width, height } => {
                // SAFETY: plain integers.
                return unsafe {
                    (own("posting an event").change_output_format)(component_id, output, encoding, width, height) != 0
                };
            }
            _ => unreachable!("an event the tests do not post"),
        };
        // SAFETY: plain integers.
        unsafe { (own("posting an event").post_event)(component_id, kind, a, b) != 0 }
    }

    pub(crate) fn fail_next_port_disable() {
        if linked() {
            return emulator::fail_next_port_disable();
        }
        // SAFETY: takes nothing.
        unsafe { (own("a port disable's fault").fail_next_port_disable)() };
    }

    /// `[bcm_host_init, mmal_vc_init]` calls seen by the C library.
    pub(crate) fn init_calls() -> [u32; 2] {
        let mut out = [0u32; 2];
        // SAFETY: room for two counts.
        unsafe { (own("the count of initialisations").init_calls)(out.as_mut_ptr()) };
        out
    }
}
