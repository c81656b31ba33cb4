//! libmmal's core behaviour as a table: each row is a call sequence and
//! what the real core answers (observed on libmmal built from Raspberry
//! Pi's userland sources, and read from them; see
//! `research/libmmal-core-behaviour.md`). Every row runs against the
//! software VideoCore, and every mismatch is reported at once.

use std::ffi::CString;
use std::ptr;

use mmal_sys as sys;

/// One fact about the core: a call sequence, and what it gives.
struct Row {
    call: &'static str,
    real_core: &'static str,
    run: fn() -> String,
}

const ROWS: &[Row] = &[
    Row {
        call: "component_create of an unknown or empty name",
        real_core: "ENOSYS, NULL; ENOSYS, NULL",
        run: || {
            let (a, pa) = create_raw("vc.ril.teapot");
            let (b, pb) = create_raw("");
            format!("{}, {}; {}, {}", name(a), null(pa), name(b), null(pb))
        },
    },
    Row {
        call: "format commit after replacing port->format with another pointer",
        real_core: "EFAULT, original pointer back",
        run: || {
            let c = create("vc.ril.camera");
            // SAFETY: a live component's port, used as a C client would.
            let (status, restored) = unsafe {
                let port = output(c, 1);
                let original = (*port).format;
                let mut copy = *original;
                (*port).format = &mut copy;
                let status = (sys_api().port_format_commit)(port);
                (status, ptr::eq((*port).format, original))
            };
            release(c);
            format!("{}, {}", name(status), if restored { "original pointer back" } else { "pointer left replaced" })
        },
    },
    Row {
        call: "port_enable(output, NULL) on an unconnected output",
        real_core: "SUCCESS, enabled",
        run: || {
            let c = create("vc.ril.camera");
            // SAFETY: as above.
            let (status, enabled) = unsafe {
                let port = output(c, 1);
                let status = (sys_api().port_enable)(port, None);
                let enabled = (*port).is_enabled != 0;
                (sys_api().port_disable)(port);
                (status, enabled)
            };
            release(c);
            format!("{}, {}", name(status), if enabled { "enabled" } else { "disabled" })
        },
    },
    Row {
        call: "format commit while the port is enabled (I420 640x480 -> 320x240)",
        real_core: "SUCCESS, size_min 115200",
        run: || {
            let c = create("vc.ril.camera");
            // SAFETY: as above.
            let (status, size_min) = unsafe {
                let port = output(c, 1);
                set_video(port, sys::MMAL_ENCODING_I420, 640, 480);
                (sys_api().port_format_commit)(port);
                (sys_api().port_enable)(port, Some(release_cb));
                set_video(port, sys::MMAL_ENCODING_I420, 320, 240);
                let status = (sys_api().port_format_commit)(port);
                let size_min = (*port).buffer_size_min;
                (sys_api().port_disable)(port);
                (status, size_min)
            };
            release(c);
            format!("{}, size_min {size_min}", name(status))
        },
    },
    Row {
        call: "buffer_alignment_min of every port of a camera and a splitter",
        real_core: "0 0 0 0; 0 0 0 0 0 0",
        run: || {
            let alignments = |c: *mut sys::MMAL_COMPONENT_T| {
                // SAFETY: a live component's port array.
                let all = unsafe { std::slice::from_raw_parts((*c).port, (*c).port_num as usize) };
                // SAFETY: live ports.
                all.iter().map(|&p| unsafe { (*p).buffer_alignment_min }.to_string()).collect::<Vec<_>>().join(" ")
            };
            let (camera, splitter) = (create("vc.ril.camera"), create("vc.ril.video_splitter"));
            let text = format!("{}; {}", alignments(camera), alignments(splitter));
            release(camera);
            release(splitter);
            text
        },
    },
    Row {
        call: "I420 commits: 640x480 and 100x100 (size_min, size_recommended)",
        real_core: "460800 460800; 21504 21504",
        run: || {
            let c = create("vc.ril.camera");
            // SAFETY: as above.
            let text = unsafe {
                let port = output(c, 1);
                let mut parts = Vec::new();
                for (w, h) in [(640, 480), (100, 100)] {
                    set_video(port, sys::MMAL_ENCODING_I420, w, h);
                    (sys_api().port_format_commit)(port);
                    parts.push(format!("{} {}", (*port).buffer_size_min, (*port).buffer_size_recommended));
                }
                parts.join("; ")
            };
            release(c);
            text
        },
    },
    Row {
        call: "a failed commit (encoding 0)",
        real_core: "EINVAL, new format left in the port",
        run: || {
            let c = create("vc.ril.camera");
            // SAFETY: as above.
            let (status, kept) = unsafe {
                let port = output(c, 1);
                (*(*port).format).encoding = 0;
                let status = (sys_api().port_format_commit)(port);
                (status, (*(*port).format).encoding == 0)
            };
            release(c);
            format!("{}, {}", name(status), if kept { "new format left in the port" } else { "format restored" })
        },
    },
    Row {
        call: "port enable with buffer_num 0; enable twice; disable a disabled port; send to a disabled port",
        real_core: "EINVAL; EINVAL; EINVAL; EINVAL",
        run: || {
            let c = create("vc.ril.camera");
            // SAFETY: as above; the pool is destroyed before the component.
            let text = unsafe {
                let port = output(c, 1);
                let num = (*port).buffer_num;
                (*port).buffer_num = 0;
                let zero = (sys_api().port_enable)(port, Some(release_cb));
                (*port).buffer_num = num;
                (sys_api().port_enable)(port, Some(release_cb));
                let twice = (sys_api().port_enable)(port, Some(release_cb));
                (sys_api().port_disable)(port);
                let again = (sys_api().port_disable)(port);
                let pool = (sys_api().port_pool_create)(port, 1, (*port).buffer_size_min);
                let b = (sys_api().queue_get)((*pool).queue);
                let send = (sys_api().port_send_buffer)(port, b);
                (sys_api().buffer_header_release)(b);
                (sys_api().port_pool_destroy)(port, pool);
                [zero, twice, again, send].map(name).join("; ")
            };
            release(c);
            text
        },
    },
    Row {
        call: "disable returns every queued buffer; pool_create(0, 0)",
        real_core: "3 of 3 back; pool with 0 headers",
        run: || {
            let c = create("vc.ril.camera");
            // SAFETY: as above.
            let text = unsafe {
                let port = output(c, 1);
                let pool = (sys_api().port_pool_create)(port, 3, (*port).buffer_size_min);
                (sys_api().port_enable)(port, Some(release_cb));
                for _ in 0..3 {
                    (sys_api().port_send_buffer)(port, (sys_api().queue_get)((*pool).queue));
                }
                (sys_api().port_disable)(port);
                let back = (sys_api().queue_length)((*pool).queue);
                (sys_api().port_pool_destroy)(port, pool);
                let empty = (sys_api().port_pool_create)(port, 0, 0);
                let headers = if empty.is_null() { "NULL".to_owned() } else { (*empty).headers_num.to_string() };
                if !empty.is_null() {
                    (sys_api().port_pool_destroy)(port, empty);
                }
                format!("{back} of 3 back; pool with {headers} headers")
            };
            release(c);
            text
        },
    },
    Row {
        call: "component enable twice; disable twice; an unknown parameter id",
        real_core: "SUCCESS SUCCESS; SUCCESS SUCCESS; ENOSYS",
        run: || {
            let c = create("vc.null_sink");
            // SAFETY: as above.
            let text = unsafe {
                let e = [(sys_api().component_enable)(c), (sys_api().component_enable)(c)];
                let d = [(sys_api().component_disable)(c), (sys_api().component_disable)(c)];
                let mut p = [0u32; 4];
                p[0] = 0x7fff_0001;
                p[1] = 16;
                let unknown = (sys_api().port_parameter_get)((*c).control, p.as_mut_ptr().cast());
                format!("{} {}; {} {}; {}", name(e[0]), name(e[1]), name(d[0]), name(d[1]), name(unknown))
            };
            release(c);
            text
        },
    },
    Row {
        call: "the control port: buffer_num_min, buffer_size_min; commit; send",
        real_core: "4, format + format-specific + FORMAT_CHANGED sizes; ENOSYS; ENOSYS",
        run: || {
            let c = create("vc.ril.camera");
            // SAFETY: as above.
            let text = unsafe {
                let control = (*c).control;
                let sizes = std::mem::size_of::<sys::MMAL_ES_FORMAT_T>()
                    + std::mem::size_of::<sys::MMAL_ES_SPECIFIC_FORMAT_T>()
                    + std::mem::size_of::<sys::MMAL_EVENT_FORMAT_CHANGED_T>();
                let size = if (*control).buffer_size_min as usize == sizes {
                    "format + format-specific + FORMAT_CHANGED sizes".to_owned()
                } else {
                    (*control).buffer_size_min.to_string()
                };
                let commit = (sys_api().port_format_commit)(control);
                let pool = (sys_api().port_pool_create)(control, 1, 64);
                (sys_api().port_enable)(control, Some(release_cb));
                let b = (sys_api().queue_get)((*pool).queue);
                let send = (sys_api().port_send_buffer)(control, b);
                (sys_api().buffer_header_release)(b);
                (sys_api().port_disable)(control);
                (sys_api().port_pool_destroy)(control, pool);
                format!("{}, {size}; {}; {}", (*control).buffer_num_min, name(commit), name(send))
            };
            release(c);
            text
        },
    },
    Row {
        call: "tunnelled connection_create: input format, both ports' userdata",
        real_core: "SUCCESS, input RGB3 320x240, userdata = connection on both",
        run: || {
            let (camera, sink) = (create("vc.ril.camera"), create("vc.null_sink"));
            // SAFETY: live ports; the connection is destroyed before them.
            let text = unsafe {
                let (out, input) = (output(camera, 0), *(*sink).input);
                set_video(out, sys::MMAL_ENCODING_RGB24, 320, 240);
                (sys_api().port_format_commit)(out);
                let (status, conn) = connect(out, input, sys::MMAL_CONNECTION_FLAG_TUNNELLING);
                // Read through the raw pointers: no reference to a struct
                // the emulator writes.
                let f = (*input).format;
                let v = (*(*f).es).video;
                let fourcc = String::from_utf8_lossy(&(*f).encoding.to_le_bytes()).into_owned();
                let userdata = ptr::eq((*out).userdata.cast(), conn) && ptr::eq((*input).userdata.cast(), conn);
                (sys_api().connection_destroy)(conn);
                format!(
                    "{}, input {fourcc} {}x{}, userdata = {}",
                    name(status),
                    v.width,
                    v.height,
                    if userdata { "connection on both" } else { "not the connection" }
                )
            };
            release(camera);
            release(sink);
            text
        },
    },
    Row {
        call: "connection_enable (tunnelled, out buffer_num 1, in buffer_num 9): buffer_num of both",
        real_core: "SUCCESS, out 3 = in 3 (each its recommended, then the larger)",
        run: || {
            let (camera, sink) = (create("vc.ril.camera"), create("vc.null_sink"));
            // SAFETY: as above.
            let text = unsafe {
                let (out, input) = (output(camera, 0), *(*sink).input);
                let (_, conn) = connect(out, input, sys::MMAL_CONNECTION_FLAG_TUNNELLING);
                (*out).buffer_num = 1;
                (*input).buffer_num = 9;
                let status = (sys_api().connection_enable)(conn);
                let (o, i) = ((*out).buffer_num, (*input).buffer_num);
                let (ro, ri) = ((*out).buffer_num_recommended, (*input).buffer_num_recommended);
                (sys_api().connection_destroy)(conn);
                let rule = if o == ro.max(ri) && i == o { " (each its recommended, then the larger)" } else { "" };
                format!("{}, out {o} = in {i}{rule}", name(status))
            };
            release(camera);
            release(sink);
            text
        },
    },
    Row {
        call: "port_enable with a callback on a connected port; port_disable on the input of an enabled tunnel, \
               then connection_disable, connection_destroy, and a new connection on the same ports",
        real_core:
            "EINVAL; SUCCESS, both ports disabled, connection still enabled; EINVAL; EINVAL; EISCONN with an object",
        run: || {
            let (camera, sink) = (create("vc.ril.camera"), create("vc.null_sink"));
            // SAFETY: as above. The real core leaks the first connection
            // here; so does this row, deliberately.
            let text = unsafe {
                let (out, input) = (output(camera, 0), *(*sink).input);
                let (_, conn) = connect(out, input, sys::MMAL_CONNECTION_FLAG_TUNNELLING);
                let with_cb = (sys_api().port_enable)(input, Some(release_cb));
                (sys_api().connection_enable)(conn);
                let disable = (sys_api().port_disable)(input);
                let both = (*out).is_enabled == 0 && (*input).is_enabled == 0;
                let still = (*conn).is_enabled != 0;
                let cd = (sys_api().connection_disable)(conn);
                let destroy = (sys_api().connection_destroy)(conn);
                let (again, second) = connect(out, input, sys::MMAL_CONNECTION_FLAG_TUNNELLING);
                format!(
                    "{}; {}, {}, {}; {}; {}; {} {}",
                    name(with_cb),
                    name(disable),
                    if both { "both ports disabled" } else { "one port disabled" },
                    if still { "connection still enabled" } else { "connection disabled" },
                    name(cd),
                    name(destroy),
                    name(again),
                    if second.is_null() { "and NULL" } else { "with an object" },
                )
            };
            // The ports stay connected in both cores: the components are
            // left to the process's end, as the real core leaves them.
            text
        },
    },
    Row {
        call: "connection_create without tunnelling: pool, queue, userdata; connection_enable: buffer_num of both",
        real_core: "SUCCESS, an empty pool and a queue, userdata = connection on both; SUCCESS, out 3 = in 3",
        run: || {
            let (camera, sink) = (create("vc.ril.camera"), create("vc.null_sink"));
            // SAFETY: as above; the connection is destroyed before the
            // components.
            let text = unsafe {
                let (out, input) = (output(camera, 1), *(*sink).input);
                let (status, conn) = connect(out, input, sys::MMAL_CONNECTION_FLAG_ALLOCATION_ON_INPUT);
                let pool = (*conn).pool;
                let empty = !pool.is_null() && (*pool).headers_num == 0 && !(*conn).queue.is_null();
                let userdata = ptr::eq((*out).userdata.cast(), conn) && ptr::eq((*input).userdata.cast(), conn);
                let enabled = (sys_api().connection_enable)(conn);
                let (o, i) = ((*out).buffer_num, (*input).buffer_num);
                (sys_api().connection_destroy)(conn);
                format!(
                    "{}, {}, userdata = {}; {}, out {o} = in {i}",
                    name(status),
                    if empty { "an empty pool and a queue" } else { "no pool or queue" },
                    if userdata { "connection on both" } else { "not the connection" },
                    name(enabled),
                )
            };
            release(camera);
            release(sink);
            text
        },
    },
    Row {
        call: "port_flush of a disabled port; of an enabled port holding 3 buffers; of the control port",
        real_core: "SUCCESS; SUCCESS, 3 back, still enabled; ENOSYS",
        run: || {
            let c = create("vc.ril.camera");
            // SAFETY: as above.
            let text = unsafe {
                let port = output(c, 1);
                let idle = (sys_api().port_flush)(port);
                let pool = (sys_api().port_pool_create)(port, 3, (*port).buffer_size_min);
                (sys_api().port_enable)(port, Some(release_cb));
                for _ in 0..3 {
                    (sys_api().port_send_buffer)(port, (sys_api().queue_get)((*pool).queue));
                }
                let flushed = (sys_api().port_flush)(port);
                let back = (sys_api().queue_length)((*pool).queue);
                let enabled = (*port).is_enabled != 0;
                let control = (sys_api().port_flush)((*c).control);
                (sys_api().port_disable)(port);
                (sys_api().port_pool_destroy)(port, pool);
                format!(
                    "{}; {}, {back} back, {}; {}",
                    name(idle),
                    name(flushed),
                    if enabled { "still enabled" } else { "disabled" },
                    name(control)
                )
            };
            release(c);
            text
        },
    },
];

fn sys_api() -> &'static sys::Api {
    mmal_emu::api()
}

fn name(status: u32) -> &'static str {
    match status {
        sys::MMAL_SUCCESS => "SUCCESS",
        sys::MMAL_ENOMEM => "ENOMEM",
        sys::MMAL_ENOSPC => "ENOSPC",
        sys::MMAL_EINVAL => "EINVAL",
        sys::MMAL_ENOSYS => "ENOSYS",
        sys::MMAL_EIO => "EIO",
        sys::MMAL_EISCONN => "EISCONN",
        sys::MMAL_EFAULT => "EFAULT",
        _ => "another status",
    }
}

fn null<T>(p: *mut T) -> &'static str {
    if p.is_null() {
        "NULL"
    } else {
        "a component"
    }
}

fn create_raw(component: &str) -> (u32, *mut sys::MMAL_COMPONENT_T) {
    let name = CString::new(component).unwrap();
    let mut c = ptr::null_mut();
    // SAFETY: a NUL-terminated name and a valid out-pointer.
    let status = unsafe { (sys_api().component_create)(name.as_ptr(), &mut c) };
    (status, c)
}

fn create(component: &str) -> *mut sys::MMAL_COMPONENT_T {
    let (status, c) = create_raw(component);
    assert_eq!(status, sys::MMAL_SUCCESS, "creating {component}");
    c
}

fn release(c: *mut sys::MMAL_COMPONENT_T) {
    // SAFETY: a live component, released once.
    assert_eq!(unsafe { (sys_api().component_release)(c) }, sys::MMAL_SUCCESS);
}

/// Output `i` of a live component.
///
/// # Safety
///
/// `c` is live and has that output.
unsafe fn output(c: *mut sys::MMAL_COMPONENT_T, i: usize) -> *mut sys::MMAL_PORT_T {
    // SAFETY: as the caller promises.
    unsafe { *(*c).output.add(i) }
}

/// Writes a video format into a port's own format (in place).
///
/// # Safety
///
/// `port` is live and not a control port.
unsafe fn set_video(port: *mut sys::MMAL_PORT_T, encoding: u32, width: u32, height: u32) {
    // SAFETY: as the caller promises; `es` points at the port's video part.
    // Written field by field through the raw pointers, never through a
    // reference to a struct the emulator also writes.
    unsafe {
        let f = (*port).format;
        (*f).encoding = encoding;
        let v = &raw mut (*(*f).es).video;
        (*v).width = width;
        (*v).height = height;
        (*v).crop = sys::MMAL_RECT_T { x: 0, y: 0, width: width as i32, height: height as i32 };
    }
}

/// `mmal_connection_create`: the status and the object handed back.
///
/// # Safety
///
/// Both ports are live.
unsafe fn connect(
    out: *mut sys::MMAL_PORT_T,
    input: *mut sys::MMAL_PORT_T,
    flags: u32,
) -> (u32, *mut sys::MMAL_CONNECTION_T) {
    let mut conn = ptr::null_mut();
    // SAFETY: as the caller promises, and a valid out-pointer.
    let status = unsafe { (sys_api().connection_create)(&mut conn, out, input, flags) };
    (status, conn)
}

unsafe extern "C" fn release_cb(_: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    // SAFETY: the header is handed to the callback.
    unsafe { (sys_api().buffer_header_release)(b) };
}

#[test]
fn the_emulator_behaves_as_libmmals_core() {
    if std::env::var_os("VIDEOCORE").is_none() {
        std::env::set_var("VIDEOCORE", "emulated");
    }
    let mut mismatches = Vec::new();
    for row in ROWS {
        let got = (row.run)();
        if got != row.real_core {
            mismatches.push(format!("{}\n    real core: {}\n    emulator:  {got}", row.call, row.real_core));
        }
    }
    assert!(mismatches.is_empty(), "{} of {} rows differ:\n{}", mismatches.len(), ROWS.len(), mismatches.join("\n"));
}

// Beyond the table: refusals that keep a C caller's memory valid where
// libmmal would hand it a dangling pointer.

fn emulated() {
    if std::env::var_os("VIDEOCORE").is_none() {
        std::env::set_var("VIDEOCORE", "emulated");
    }
}

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[test]
fn connecting_an_enabled_port_is_refused_and_leaves_its_userdata() {
    emulated();
    let (camera, sink) = (create("vc.ril.camera"), create("vc.null_sink"));
    // What the client's stream keeps in the port's userdata.
    let mut stream_state = 0u64;
    let mine: *mut std::ffi::c_void = (&raw mut stream_state).cast();
    // SAFETY: live ports of live components, used as a C client would;
    // the port is disabled and the components released at the end.
    unsafe {
        let (out, input) = (output(camera, 1), *(*sink).input);
        (*out).userdata = mine;
        assert_eq!((sys_api().port_enable)(out, Some(release_cb)), sys::MMAL_SUCCESS);
        for flags in [
            sys::MMAL_CONNECTION_FLAG_TUNNELLING,
            sys::MMAL_CONNECTION_FLAG_TUNNELLING | sys::MMAL_CONNECTION_FLAG_KEEP_PORT_FORMATS,
            0,
            sys::MMAL_CONNECTION_FLAG_ALLOCATION_ON_INPUT,
        ] {
            let (status, conn) = connect(out, input, flags);
            assert_eq!(name(status), "EINVAL", "connection_create (flags {flags:#x}) on an enabled output");
            assert!(conn.is_null(), "a refused connection hands back no object");
            assert!(ptr::eq((*out).userdata, mine), "the enabled port's userdata was overwritten");
            assert!((*input).userdata.is_null(), "the input's userdata was written");
            assert_ne!((*out).is_enabled, 0);
        }
        assert_eq!((sys_api().port_disable)(out), sys::MMAL_SUCCESS);

        // The same for an enabled input.
        (*input).userdata = mine;
        (*out).userdata = ptr::null_mut();
        assert_eq!((sys_api().port_enable)(input, Some(release_cb)), sys::MMAL_SUCCESS);
        for flags in [sys::MMAL_CONNECTION_FLAG_TUNNELLING, 0] {
            let (status, conn) = connect(out, input, flags);
            assert_eq!(name(status), "EINVAL", "connection_create (flags {flags:#x}) on an enabled input");
            assert!(conn.is_null());
            assert!(ptr::eq((*input).userdata, mine));
            assert!((*out).userdata.is_null());
        }
        assert_eq!((sys_api().port_disable)(input), sys::MMAL_SUCCESS);

        // Once disabled, the ports connect.
        let (status, conn) = connect(out, input, sys::MMAL_CONNECTION_FLAG_TUNNELLING);
        assert_eq!(name(status), "SUCCESS");
        assert_eq!((sys_api().connection_destroy)(conn), sys::MMAL_SUCCESS);
    }
    release(camera);
    release(sink);
}

/// What a client callback on the tunnelled input's component does, once.
struct Probe {
    action: Action,
    /// The status the call gave, once made.
    status: std::sync::atomic::AtomicU32,
    done: std::sync::atomic::AtomicBool,
}

#[derive(Clone, Copy)]
enum Action {
    /// `mmal_port_disable` of the tunnel's output.
    DisableTunnelOutput(*mut sys::MMAL_PORT_T),
    /// `mmal_component_release` of the tunnel's output component (its last
    /// reference).
    ReleaseOutputComponent(*mut sys::MMAL_COMPONENT_T),
}

/// The splitter's output callback: runs on the splitter's worker while the
/// splitter's input still holds the tunnel's buffer the frame came in.
unsafe extern "C" fn probe_cb(port: *mut sys::MMAL_PORT_T, b: *mut sys::MMAL_BUFFER_HEADER_T) {
    use std::sync::atomic::Ordering;
    // SAFETY: the port's userdata is the test's `Probe`, which outlives the
    // port's enabled time; the header is handed to the callback.
    unsafe {
        let probe = &*(*port).userdata.cast::<Probe>();
        if !probe.done.load(Ordering::SeqCst) {
            let status = match probe.action {
                Action::DisableTunnelOutput(out) => (sys_api().port_disable)(out),
                Action::ReleaseOutputComponent(c) => (sys_api().component_release)(c),
            };
            probe.status.store(status, Ordering::SeqCst);
            probe.done.store(true, Ordering::SeqCst);
        }
        (sys_api().buffer_header_release)(b);
    }
}

/// camera preview → tunnel → splitter input; splitter output 0 to
/// `probe_cb`, which runs `action` on the splitter's worker. Returns the
/// status the action gave, after tearing everything down (each teardown
/// step checked).
fn tunnel_probe(action: impl FnOnce(*mut sys::MMAL_COMPONENT_T) -> Action) -> u32 {
    use std::sync::atomic::Ordering;
    emulated();
    let (camera, splitter) = (create("vc.ril.camera"), create("vc.ril.video_splitter"));
    let probe = Probe {
        action: action(camera),
        status: std::sync::atomic::AtomicU32::new(u32::MAX),
        done: std::sync::atomic::AtomicBool::new(false),
    };
    // SAFETY: live ports, used as a C client would; everything is torn
    // down before `probe` goes out of scope.
    unsafe {
        let (out, input) = (output(camera, 0), *(*splitter).input);
        set_video(out, sys::MMAL_ENCODING_I420, 64, 48);
        assert_eq!((sys_api().port_format_commit)(out), sys::MMAL_SUCCESS);
        let (status, conn) = connect(out, input, sys::MMAL_CONNECTION_FLAG_TUNNELLING);
        assert_eq!(name(status), "SUCCESS");
        let split = output(splitter, 0);
        (*split).buffer_num = 2;
        (*split).buffer_size = (*split).buffer_size_min;
        let pool = (sys_api().port_pool_create)(split, 2, (*split).buffer_size_min);
        (*split).userdata = (&raw const probe).cast_mut().cast();
        assert_eq!((sys_api().port_enable)(split, Some(probe_cb)), sys::MMAL_SUCCESS);
        for _ in 0..2 {
            assert_eq!((sys_api().port_send_buffer)(split, (sys_api().queue_get)((*pool).queue)), sys::MMAL_SUCCESS);
        }
        assert_eq!((sys_api().connection_enable)(conn), sys::MMAL_SUCCESS);
        assert_eq!((sys_api().component_enable)(camera), sys::MMAL_SUCCESS);
        wait_for("the splitter's output callback", || probe.done.load(Ordering::SeqCst));

        // The tunnel is as it was, and tears down from this thread.
        assert_ne!((*out).is_enabled, 0, "the tunnel's output was disabled");
        assert_ne!((*input).is_enabled, 0, "the tunnel's input was disabled");
        assert_eq!((sys_api().connection_destroy)(conn), sys::MMAL_SUCCESS);
        assert_eq!((sys_api().port_disable)(split), sys::MMAL_SUCCESS);
        assert_eq!((sys_api().queue_length)((*pool).queue), 2);
        (sys_api().port_pool_destroy)(split, pool);
    }
    release(camera);
    release(splitter);
    probe.status.load(Ordering::SeqCst)
}

#[test]
fn disabling_a_tunnel_from_a_callback_of_its_input_component_is_refused() {
    // SAFETY: a live component's output.
    let status = tunnel_probe(|camera| Action::DisableTunnelOutput(unsafe { output(camera, 0) }));
    assert_eq!(name(status), "EINVAL", "mmal_port_disable of the tunnel's output on the input's worker");
}

#[test]
fn destroying_a_component_from_a_callback_of_the_component_it_is_tunnelled_to_is_refused() {
    let status = tunnel_probe(Action::ReleaseOutputComponent);
    assert_eq!(name(status), "EINVAL", "mmal_component_release of the tunnel's output component on the input's worker");
}

#[test]
fn a_format_change_too_large_to_align_is_refused_not_a_panic() {
    emulated();
    let camera = create("vc.ril.camera");
    // SAFETY: a live component.
    let id = unsafe { (*camera).id };
    for (width, height) in [(u32::MAX, 480), (640, u32::MAX), (u32::MAX - 1, u32::MAX - 1), (9000, 480)] {
        let event =
            mmal_emu::TestEvent::OutputFormatChanged { output: 1, encoding: sys::MMAL_ENCODING_I420, width, height };
        assert!(!mmal_emu::post_event(id, event), "{width}x{height} was taken");
    }
    release(camera);
}
