//! The preload library under a real program: this test binary, run again
//! as a child with `LD_PRELOAD` naming the library, opens `/dev/vchiq`
//! through libc (`vchiq::Connection::open`, the kernel path: `open`,
//! `ioctl`, `close`) and speaks MMAL to the software VideoCore behind it;
//! unrelated files, descriptors and ioctls pass through untouched.
//!
//! Each `child_*` test does nothing unless it is that child (the variable
//! [`CHILD`] set); its parent test starts it and checks it passed. Under
//! qemu-user without a binfmt handler (CI's armv7 run) the child runs
//! through `qemu-arm` (or `qemu-aarch64`), the library given to the guest
//! with `-E LD_PRELOAD=…` (the host's `LD_PRELOAD` would reach the
//! emulator itself).

use std::ffi::CString;
use std::mem::{offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use mmal_sys as mmal;
use vchiq::{Connection, Fourcc, Options, Service, ServiceEvent, ServiceOptions};
use vchiq_sys::*;
use vcsm_sys as vcsm;

/// Set in a child to the name of the test it runs.
const CHILD: &str = "VCHIQ_PRELOAD_TEST_CHILD";

/// Whether this process is the child running `test`.
fn is_child(test: &str) -> bool {
    std::env::var(CHILD).is_ok_and(|v| v == test)
}

/// The library: `target/[<triple>/]<profile>/deps/libvchiq_preload.so`,
/// beside this test's binary (cargo builds the package's library, both its
/// crate types, before its integration tests).
fn library() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let deps = exe.parent().expect("target/<profile>/deps");
    // `deps` holds the one this build made; the copy beside it is the last
    // `cargo build`'s.
    let candidates = [Some(deps.join("libvchiq_preload.so")), deps.parent().map(|d| d.join("libvchiq_preload.so"))];
    candidates.into_iter().flatten().find(|p| p.exists()).unwrap_or_else(|| {
        panic!("libvchiq_preload.so not found near {}: `cargo build -p vchiq-preload`", deps.display())
    })
}

/// The qemu-user runner and its sysroot, for a cross-built test.
fn qemu() -> Option<(&'static str, &'static str)> {
    if cfg!(target_arch = "arm") {
        Some(("qemu-arm", "/usr/arm-linux-gnueabihf"))
    } else if cfg!(target_arch = "aarch64") {
        Some(("qemu-aarch64", "/usr/aarch64-linux-gnu"))
    } else {
        None
    }
}

/// Runs this binary's test `name` as the child, under the library.
fn run_child(name: &str) -> Output {
    let exe = std::env::current_exe().unwrap();
    let lib = library();
    // Started directly where that works (the host, or qemu-user with a
    // binfmt handler); under qemu-user without one the exec fails in the
    // child, which the spawn may not report: a probe's failure tells.
    let direct = || {
        Command::new(&exe)
            .args(["--list", "--exact", name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut command = match qemu() {
        Some((runner, sysroot)) if !direct() => {
            let mut c = Command::new(runner);
            c.args(["-L", sysroot, "-E"]).arg(format!("LD_PRELOAD={}", lib.display())).arg(&exe);
            c
        }
        _ => {
            let mut c = Command::new(&exe);
            c.env("LD_PRELOAD", &lib);
            c
        }
    };
    command
        .args(["--exact", name, "--nocapture", "--test-threads", "1"])
        .env(CHILD, name)
        .env("VIDEOCORE_EMU_CAMERA_LOCK", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = bounded(command.spawn().expect("the child runs"), name);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child {name} failed: {}\n{stdout}\n{stderr}", out.status);
    // The harness ran the test (not zero tests), and the test its body.
    assert!(stdout.contains("1 passed"), "child {name} ran no test:\n{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("{name}: done")), "child {name} did not run its body:\n{stdout}\n{stderr}");
    out
}

/// The child's output once it ends, or a failure if it has not ended in
/// two minutes (a hang: it is killed).
fn bounded(mut child: std::process::Child, name: &str) -> Output {
    let (done, finished) = std::sync::mpsc::channel();
    let pid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || {
        let mut e = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut e).ok();
        e
    });
    std::thread::spawn(move || {
        let mut o = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut o).ok();
        let _ = done.send(o);
    });
    match finished.recv_timeout(Duration::from_secs(120)) {
        Ok(stdout) => {
            let status = child.wait().unwrap();
            Output { status, stdout, stderr: err.join().unwrap() }
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("child {name} (pid {pid}) still running after 120 s: killed");
        }
    }
}

// ---------------------------------------------------------------------------
// MMAL messages (the vchiq-sys layouts).

const H: usize = size_of::<mmal_msg_header>();

fn w(m: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(m[off..off + 4].try_into().unwrap())
}

fn put(m: &mut [u8], off: usize, v: u32) {
    m[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn options() -> Options {
    let mut o = Options::default();
    o.reply_timeout = Duration::from_secs(30);
    o.bulk_timeout = Duration::from_secs(30);
    o.close_timeout = Duration::from_secs(30);
    o
}

fn mmal_service(conn: &Connection) -> Service {
    let options = ServiceOptions::new(Fourcc::MMAL, VC_MMAL_VER as i16, VC_MMAL_MIN_VER as i16).reply_context(|m| {
        let ty = w(m, offset_of!(mmal_msg_header, type_));
        (ty != MMAL_MSG_TYPE_BUFFER_TO_HOST && ty != MMAL_MSG_TYPE_EVENT_TO_HOST)
            .then(|| w(m, offset_of!(mmal_msg_header, context)))
    });
    conn.open_service(options).expect("the MMAL service opens")
}

/// A request and its reply (same magic, type and context).
fn request(svc: &Service, ty: u32, context: u32, payload: &[u8]) -> Vec<u8> {
    let mut m = vec![0u8; H];
    put(&mut m, offset_of!(mmal_msg_header, magic), MMAL_MAGIC);
    put(&mut m, offset_of!(mmal_msg_header, type_), ty);
    put(&mut m, offset_of!(mmal_msg_header, context), context);
    m.extend_from_slice(payload);
    let r = svc.request(&[&m], context).expect("a reply");
    assert_eq!(w(&r, 0), MMAL_MAGIC);
    assert_eq!(w(&r, offset_of!(mmal_msg_header, type_)), ty);
    assert_eq!(w(&r, offset_of!(mmal_msg_header, context)), context);
    r
}

fn status(r: &[u8]) -> u32 {
    w(r, offset_of!(mmal_msg_header, status))
}

fn create(svc: &Service, name: &str) -> Vec<u8> {
    let mut p = vec![0u8; size_of::<mmal_msg_component_create>()];
    let n = offset_of!(mmal_msg_component_create, name);
    p[n..n + name.len()].copy_from_slice(name.as_bytes());
    request(svc, MMAL_MSG_TYPE_COMPONENT_CREATE, 2, &p)
}

fn port_info(svc: &Service, comp: u32, ty: u32, index: u32) -> Vec<u8> {
    let mut p = vec![0u8; size_of::<mmal_msg_port_info_get>()];
    put(&mut p, offset_of!(mmal_msg_port_info_get, component_handle), comp);
    put(&mut p, offset_of!(mmal_msg_port_info_get, port_type), ty);
    put(&mut p, offset_of!(mmal_msg_port_info_get, index), index);
    request(svc, MMAL_MSG_TYPE_PORT_INFO_GET, 3, &p)
}

fn next_message(svc: &Service) -> Vec<u8> {
    match svc.next_event(Duration::from_secs(60)).expect("a message from the VideoCore") {
        ServiceEvent::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

/// Descriptors open in this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Threads running in this process.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// The thread count once it is down to `expected`, or after 10 s: a thread
/// joined may still be listed for a moment while the kernel (or qemu-user)
/// finishes its exit.
fn settled_threads(expected: usize) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let n = threads();
        if n <= expected || std::time::Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether this process's thread `tid` is asleep (state `S`).
fn thread_sleeps(tid: libc::pid_t) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap_or_default();
    // After the command's parenthesis: the state.
    stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('S'))
}

/// Where descriptor `fd` leads.
fn fd_target(fd: i32) -> PathBuf {
    std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap_or_default()
}

/// Whether a descriptor leading to `target` is the library's placeholder
/// for the device at `path` (a memfd named after it).
fn is_placeholder(target: &Path, path: &str) -> bool {
    target.to_str().is_some_and(|t| t.starts_with(&format!("/memfd:{path} ")))
}

/// The descriptors of the emulated `/dev/vchiq`.
fn device_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|p| is_placeholder(p, vchiq::DEVICE_PATH))
        .count()
}

// ---------------------------------------------------------------------------

#[test]
fn mmal_over_the_kernel_path() {
    run_child("child_mmal_over_the_kernel_path");
}

#[test]
fn child_mmal_over_the_kernel_path() {
    if !is_child("child_mmal_over_the_kernel_path") {
        return;
    }
    let devices = device_fds();
    // The kernel path: `open("/dev/vchiq")`, GET_CONFIG, LIB_VERSION,
    // CONNECT, a completion thread in AWAIT_COMPLETION.
    let conn = Connection::open_path(vchiq::DEVICE_PATH, options()).expect("/dev/vchiq opens under the library");
    assert_eq!(device_fds(), devices + 1, "the device is a descriptor of its own");
    let config = conn.config();
    assert_eq!(config.version, VCHIQ_VERSION as i16);
    assert_eq!(config.max_msg_size, VCHIQ_MAX_MSG_SIZE);
    let svc = mmal_service(&conn);

    // GET_VERSION: 16.1, minimum 10.
    let r = request(&svc, MMAL_MSG_TYPE_GET_VERSION, 1, &[]);
    assert_eq!(r.len(), H + size_of::<mmal_msg_version>());
    assert_eq!(w(&r, H + offset_of!(mmal_msg_version, major)), 16);
    assert_eq!(w(&r, H + offset_of!(mmal_msg_version, minor)), 1);
    assert_eq!(w(&r, H + offset_of!(mmal_msg_version, minimum)), 10);

    // vc.ril.camera (named without "vc." on the wire).
    let r = create(&svc, "ril.camera");
    assert_eq!(status(&r), MMAL_MSG_STATUS_SUCCESS);
    let comp = w(&r, H + offset_of!(mmal_msg_component_create_reply, component_handle));
    assert_ne!(comp, 0);
    assert_eq!(w(&r, H + offset_of!(mmal_msg_component_create_reply, output_num)), 3);
    let e = request(&svc, MMAL_MSG_TYPE_COMPONENT_ENABLE, 4, &comp.to_le_bytes());
    assert_eq!(status(&e), MMAL_MSG_STATUS_SUCCESS);

    // The video port's info, through the whole reply.
    let info = port_info(&svc, comp, MMAL_MSG_PORT_TYPE_OUTPUT, 1);
    assert_eq!(info.len(), H + size_of::<mmal_msg_port_info_get_reply>());
    assert_eq!(status(&info), MMAL_MSG_STATUS_SUCCESS);
    let port = w(&info, H + offset_of!(mmal_msg_port_info_get_reply, port_handle));
    assert_ne!(port, 0);
    let at = |f: usize| H + offset_of!(mmal_msg_port_info_get_reply, port) + f;
    assert_eq!(w(&info, at(offset_of!(mmal_msg_port, type_))), MMAL_MSG_PORT_TYPE_OUTPUT);
    assert_eq!(w(&info, at(offset_of!(mmal_msg_port, component))), comp);

    // A frame by bulk: 640x480 I420, three buffers, CAPTURE on.
    let (info, frame) = set_video_i420(&svc, comp, &info, 3);
    assert_eq!(status(&info), MMAL_MSG_STATUS_SUCCESS);
    assert_eq!(w(&info, at(offset_of!(mmal_msg_port, buffer_size))), frame);
    assert_eq!(parameter_set(&svc, comp, port, mmal::MMAL_PARAMETER_CAPTURE, 1), MMAL_MSG_STATUS_SUCCESS);

    let from = H + offset_of!(mmal_msg_port_info_get_reply, port);
    let mut a = vec![0u8; size_of::<mmal_msg_port_action_port>()];
    put(&mut a, offset_of!(mmal_msg_port_action_port, component_handle), comp);
    put(&mut a, offset_of!(mmal_msg_port_action_port, port_handle), port);
    put(&mut a, offset_of!(mmal_msg_port_action_port, action), MMAL_MSG_PORT_ACTION_TYPE_ENABLE);
    let pa = offset_of!(mmal_msg_port_action_port, port);
    a[pa..pa + size_of::<mmal_msg_port>()].copy_from_slice(&info[from..from + size_of::<mmal_msg_port>()]);
    assert_eq!(status(&request(&svc, MMAL_MSG_TYPE_PORT_ACTION, 7, &a)), MMAL_MSG_STATUS_SUCCESS);

    let mut b = vec![0u8; MMAL_MSG_BUFFER_TO_HOST_WIRE_SIZE as usize];
    put(&mut b, offset_of!(mmal_msg_header, magic), MMAL_MAGIC);
    put(&mut b, offset_of!(mmal_msg_header, type_), MMAL_MSG_TYPE_BUFFER_FROM_HOST);
    let d = H + offset_of!(mmal_msg_buffer_from_host, drvbuf);
    put(&mut b, d + offset_of!(mmal_msg_driver_buffer, magic), MMAL_MAGIC);
    put(&mut b, d + offset_of!(mmal_msg_driver_buffer, component_handle), comp);
    put(&mut b, d + offset_of!(mmal_msg_driver_buffer, port_handle), port);
    let bh = H + offset_of!(mmal_msg_buffer_from_host, buffer_header);
    put(&mut b, bh + offset_of!(mmal_msg_buffer_header, alloc_size), frame);
    for cookie in [0xC0DE, 0xC0DF, 0xC0E0] {
        put(&mut b, d + offset_of!(mmal_msg_driver_buffer, client_context), cookie);
        svc.send(&[&b]).unwrap();
    }
    let r = next_message(&svc);
    assert_eq!(w(&r, offset_of!(mmal_msg_header, type_)), MMAL_MSG_TYPE_BUFFER_TO_HOST);
    assert_eq!(status(&r), MMAL_MSG_STATUS_SUCCESS);
    assert_eq!(w(&r, d + offset_of!(mmal_msg_driver_buffer, client_context)), 0xC0DE, "the first buffer first");
    let len = w(&r, bh + offset_of!(mmal_msg_buffer_header, length));
    assert_eq!(len, frame);
    let size = len.next_multiple_of(4) as usize;
    // QUEUE_BULK_RECEIVE into this buffer; the data lands in it by the
    // time AWAIT_COMPLETION reports the transfer done.
    let data = svc.bulk_receive(vec![0; size], size).unwrap().wait().unwrap();
    assert!(data[..len as usize].iter().any(|&b| b != 0), "a picture, not zeros");

    // Disable (the other buffers come back, with a frame's data by bulk
    // if one was finished), destroy, close.
    put(&mut a, offset_of!(mmal_msg_port_action_port, action), MMAL_MSG_PORT_ACTION_TYPE_DISABLE);
    assert_eq!(status(&request(&svc, MMAL_MSG_TYPE_PORT_ACTION, 8, &a)), MMAL_MSG_STATUS_SUCCESS);
    for _ in 0..2 {
        let r = next_message(&svc);
        assert_eq!(w(&r, offset_of!(mmal_msg_header, type_)), MMAL_MSG_TYPE_BUFFER_TO_HOST);
        let len = w(&r, bh + offset_of!(mmal_msg_buffer_header, length));
        if len != 0 {
            let size = len.next_multiple_of(4) as usize;
            svc.bulk_receive(vec![0; size], size).unwrap().wait().unwrap();
        }
    }
    let destroyed = request(&svc, MMAL_MSG_TYPE_COMPONENT_DESTROY, 9, &comp.to_le_bytes());
    assert_eq!(status(&destroyed), MMAL_MSG_STATUS_SUCCESS);
    svc.close().expect("CLOSE_SERVICE, CLOSE_DELIVERED");
    drop(conn);
    assert_eq!(device_fds(), devices, "the device's descriptor closed with the connection");
    println!("child_mmal_over_the_kernel_path: done");
}

#[test]
fn services_and_connections_leak_no_descriptor() {
    run_child("child_services_and_connections_leak_no_descriptor");
}

#[test]
fn child_services_and_connections_leak_no_descriptor() {
    if !is_child("child_services_and_connections_leak_no_descriptor") {
        return;
    }
    // A first cycle starts what the software VideoCore keeps for the
    // process; counted from then.
    let conn = Connection::open_path(vchiq::DEVICE_PATH, options()).unwrap();
    let svc = mmal_service(&conn);
    let r = create(&svc, "ril.camera");
    let comp = w(&r, H + offset_of!(mmal_msg_component_create_reply, component_handle));
    assert_eq!(status(&request(&svc, MMAL_MSG_TYPE_COMPONENT_DESTROY, 9, &comp.to_le_bytes())), 0);
    svc.close().unwrap();
    drop(conn);
    let before = open_fds();
    let threads = self::threads();
    let conn = Connection::open_path(vchiq::DEVICE_PATH, options()).unwrap();
    mmal_service(&conn).close().unwrap();
    let with_connection = open_fds();
    assert_eq!(with_connection, before + 1, "one descriptor for the device");
    for _ in 0..3 {
        let svc = mmal_service(&conn);
        assert_eq!(status(&request(&svc, MMAL_MSG_TYPE_GET_VERSION, 1, &[])), MMAL_MSG_STATUS_SUCCESS);
        let r = create(&svc, "ril.camera");
        assert_eq!(status(&r), MMAL_MSG_STATUS_SUCCESS);
        // Closed with its component alive: the service destroys it.
        svc.close().unwrap();
        assert_eq!(open_fds(), with_connection, "a service opened and closed leaks no descriptor");
    }
    drop(conn);
    assert_eq!(open_fds(), before);
    // Two connections at once: two instances, each its own descriptor.
    let a = Connection::open_path(vchiq::DEVICE_PATH, options()).unwrap();
    let b = Connection::open_path(vchiq::DEVICE_PATH, options()).unwrap();
    let (sa, sb) = (mmal_service(&a), mmal_service(&b));
    assert_eq!(open_fds(), before + 2);
    assert_eq!(status(&request(&sb, MMAL_MSG_TYPE_GET_VERSION, 1, &[])), MMAL_MSG_STATUS_SUCCESS);
    sb.close().unwrap();
    drop(b);
    assert_eq!(status(&request(&sa, MMAL_MSG_TYPE_GET_VERSION, 2, &[])), MMAL_MSG_STATUS_SUCCESS);
    sa.close().unwrap();
    drop(a);
    assert_eq!(open_fds(), before);
    assert_eq!(settled_threads(threads), threads, "no thread left behind");
    println!("child_services_and_connections_leak_no_descriptor: done");
}

/// `value` alone in a fresh private page, then made read-only (a struct
/// the driver reads but cannot write back into); the caller unmaps it.
fn read_only_page<T>(value: T) -> *mut T {
    let page = 4096;
    assert!(size_of::<T>() <= page);
    // SAFETY: a fresh private page, written (`T` fits in it, and a page is
    // aligned for any `T` here), then made read-only.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        p.cast::<T>().write(value);
        assert_eq!(libc::mprotect(p, page, libc::PROT_READ), 0);
        p.cast()
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap()
}

fn open_device(flags: i32) -> i32 {
    let path = CString::new(vchiq::DEVICE_PATH).unwrap();
    // SAFETY: a NUL-terminated path; the flags take no mode.
    let fd = unsafe { libc::open(path.as_ptr(), flags) };
    assert!(fd >= 0, "open /dev/vchiq: errno {}", errno());
    fd
}

/// `ioctl` with a pointer argument: its result and errno.
fn ioctl_ptr<T>(fd: i32, request: u32, arg: *mut T) -> (i32, i32) {
    // SAFETY: `arg` is null or a live `T` matching `request` (or a request
    // the device refuses before reading anything).
    let rc = unsafe { libc::ioctl(fd, request as _, arg) };
    (rc, if rc < 0 { errno() } else { 0 })
}

/// A libc request number (`c_ulong`) as the kernel's `unsigned int`.
#[allow(clippy::unnecessary_cast)] // `c_ulong` is `u32` on 32-bit ARM.
fn libc_request(number: libc::c_ulong) -> u32 {
    number as u32
}

fn ioctl_value(fd: i32, request: u32, value: u32) -> (i32, i32) {
    // SAFETY: `_IO` requests take their argument by value.
    let rc = unsafe { libc::ioctl(fd, request as _, value as libc::c_ulong) };
    (rc, if rc < 0 { errno() } else { 0 })
}

/// The system call itself, past any library: what a request on a
/// descriptor that is not the emulated device's must give (under qemu-user,
/// ENOSYS for a request qemu does not know, where a kernel gives ENOTTY).
fn syscall_value(fd: i32, request: u32, value: u32) -> (i32, i32) {
    // SAFETY: `_IO` requests take their argument by value.
    let rc = unsafe { libc::syscall(libc::SYS_ioctl, fd, request as libc::c_ulong, value as libc::c_ulong) } as i32;
    (rc, if rc < 0 { errno() } else { 0 })
}

fn close_fd(fd: i32) -> i32 {
    // SAFETY: closing a descriptor this test opened.
    unsafe { libc::close(fd) }
}

/// The padding in a completion: on LP64, 4 bytes between `reason` and
/// `header`; none on ILP32.
const PADDING: usize = offset_of!(vchiq_completion_data, header) - size_of::<u32>();

/// Fills `completions` with a pattern: padding the driver leaves unwritten
/// shows it.
fn scribble(completions: &mut [vchiq_completion_data]) {
    // SAFETY: the completions' own bytes; their pointers are only read once
    // the ioctl has written them.
    unsafe { std::ptr::write_bytes(completions.as_mut_ptr().cast::<u8>(), 0xAA, size_of_val(completions)) };
}

/// The padding bytes of a completion AWAIT_COMPLETION wrote, which must be
/// zero (as the kernel's zeroed struct has them), never bytes of the
/// library's stack.
fn padding(c: &vchiq_completion_data) -> [u8; PADDING] {
    // SAFETY: a completion in place (not a copy, which need not keep its
    // padding), every byte written by `scribble` and then the ioctl.
    let bytes = unsafe { std::slice::from_raw_parts((c as *const vchiq_completion_data).cast::<u8>(), size_of_val(c)) };
    bytes[size_of::<u32>()..][..PADDING].try_into().expect("PADDING bytes")
}

#[test]
fn raw_ioctls_answer_as_the_kernel_does() {
    run_child("child_raw_ioctls_answer_as_the_kernel_does");
}

#[test]
fn child_raw_ioctls_answer_as_the_kernel_does() {
    if !is_child("child_raw_ioctls_answer_as_the_kernel_does") {
        return;
    }
    // Close-on-exec as asked, a descriptor of its own (a memfd named after
    // the device).
    let fd = open_device(libc::O_RDWR | libc::O_CLOEXEC);
    // SAFETY: F_GETFD on an open descriptor.
    assert_ne!(unsafe { libc::fcntl(fd, libc::F_GETFD) } & libc::FD_CLOEXEC, 0);
    assert!(is_placeholder(&fd_target(fd), vchiq::DEVICE_PATH), "{}", fd_target(fd).display());
    let plain = open_device(libc::O_RDWR);
    // SAFETY: as above.
    assert_eq!(unsafe { libc::fcntl(plain, libc::F_GETFD) } & libc::FD_CLOEXEC, 0);
    assert_ne!(plain, fd);
    assert_eq!(close_fd(plain), 0);

    // GET_CONFIG: as many bytes as asked for, no more; too many EINVAL.
    let mut config = vchiq_config { max_msg_size: 0xAAAA_AAAA, bulk_threshold: 0xBBBB_BBBB, ..Default::default() };
    let mut arg = vchiq_get_config { config_size: 4, pconfig: &mut config };
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_GET_CONFIG, &mut arg), (0, 0));
    assert_eq!((config.max_msg_size, config.bulk_threshold), (VCHIQ_MAX_MSG_SIZE, 0xBBBB_BBBB));
    arg.config_size = size_of::<vchiq_config>() as u32;
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_GET_CONFIG, &mut arg), (0, 0));
    assert_eq!(config.max_outstanding_bulks, VCHIQ_NUM_SERVICE_BULKS);
    assert_eq!((config.version, config.version_min), (VCHIQ_VERSION as i16, VCHIQ_VERSION_MIN as i16));
    arg.config_size += 4;
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_GET_CONFIG, &mut arg).1, libc::EINVAL);
    // A null argument: EFAULT.
    assert_eq!(ioctl_ptr::<vchiq_get_config>(fd, VCHIQ_IOC_GET_CONFIG, std::ptr::null_mut()).1, libc::EFAULT);

    // LIB_VERSION below the minimum; AWAIT_COMPLETION and CREATE_SERVICE
    // before CONNECT; a second CONNECT.
    assert_eq!(ioctl_value(fd, VCHIQ_IOC_LIB_VERSION, VCHIQ_VERSION_MIN - 1).1, libc::EINVAL);
    assert_eq!(ioctl_value(fd, VCHIQ_IOC_LIB_VERSION, VCHIQ_VERSION), (0, 0));
    let mut completions = [vchiq_completion_data::default(); 4];
    let mut await_arg = vchiq_await_completion {
        count: 4,
        buf: completions.as_mut_ptr(),
        msgbufsize: 0,
        msgbufcount: 0,
        msgbufs: std::ptr::null_mut(),
    };
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_AWAIT_COMPLETION, &mut await_arg).1, libc::ENOTCONN);
    let mut create = vchiq_create_service {
        params: vchiq_service_params {
            fourcc: make_fourcc(*b"mmal") as i32,
            callback: std::ptr::null_mut(),
            userdata: 0x5EED as *mut libc::c_void,
            version: VC_MMAL_VER as i16,
            version_min: VC_MMAL_MIN_VER as i16,
        },
        is_open: 1,
        is_vchi: 0,
        handle: 0,
    };
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_CREATE_SERVICE, &mut create).1, libc::ENOTCONN);
    assert_eq!(ioctl_value(fd, VCHIQ_IOC_CONNECT, 0), (0, 0));
    assert_eq!(ioctl_value(fd, VCHIQ_IOC_CONNECT, 0).1, libc::EINVAL);

    // A service the VideoCore does not have: EIO; MMAL: a handle.
    let mut nope = create;
    nope.params.fourcc = make_fourcc(*b"nope") as i32;
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_CREATE_SERVICE, &mut nope).1, libc::EIO);
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_CREATE_SERVICE, &mut create), (0, 0));
    assert_ne!(create.handle, 0);

    // GET_VERSION by QUEUE_MESSAGE in two elements; the reply by
    // AWAIT_COMPLETION: SERVICE_OPENED first (the caller's userdata), then
    // the message in the LAST of the message buffers, their count written
    // back.
    let mut m = vec![0u8; H];
    put(&mut m, offset_of!(mmal_msg_header, magic), MMAL_MAGIC);
    put(&mut m, offset_of!(mmal_msg_header, type_), MMAL_MSG_TYPE_GET_VERSION);
    put(&mut m, offset_of!(mmal_msg_header, context), 77);
    let elements = [
        vchiq_element { data: m.as_ptr().cast(), size: 8 },
        vchiq_element { data: m[8..].as_ptr().cast(), size: (H - 8) as u32 },
    ];
    let mut queue = vchiq_queue_message { handle: create.handle, count: 2, elements: elements.as_ptr() };
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_QUEUE_MESSAGE, &mut queue), (0, 0));
    let mut too_many = vchiq_queue_message { count: VCHIQ_MAX_ELEMENTS + 1, ..queue };
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_QUEUE_MESSAGE, &mut too_many).1, libc::EINVAL);
    let mut bufs = [[0u8; 256]; 3];
    let mut pointers: Vec<*mut libc::c_void> = bufs.iter_mut().map(|b| b.as_mut_ptr().cast()).collect();
    await_arg.msgbufsize = 256;
    await_arg.msgbufcount = 3;
    await_arg.msgbufs = pointers.as_mut_ptr();
    let mut got = Vec::new();
    while got.len() < 2 {
        let (n, e) = ioctl_ptr(fd, VCHIQ_IOC_AWAIT_COMPLETION, &mut await_arg);
        assert!(n > 0, "AWAIT_COMPLETION: {n} errno {e}");
        got.extend_from_slice(&completions[..n as usize]);
    }
    assert_eq!(got[0].reason, VCHIQ_SERVICE_OPENED);
    assert_eq!(got[0].service_userdata as usize, 0x5EED);
    assert_eq!(got[1].reason, VCHIQ_MESSAGE_AVAILABLE);
    assert_eq!(got[1].service_userdata as usize, 0x5EED);
    assert_eq!(await_arg.msgbufcount, 2, "one message buffer taken");
    assert_eq!(got[1].header.cast::<libc::c_void>(), pointers[2], "the last one");
    let reply = &bufs[2];
    let size = u32::from_ne_bytes(reply[4..8].try_into().unwrap()) as usize;
    assert_eq!(size, H + size_of::<mmal_msg_version>());
    let r = &reply[8..8 + size];
    assert_eq!(w(r, offset_of!(mmal_msg_header, context)), 77);
    assert_eq!(w(r, H + offset_of!(mmal_msg_version, major)), 16);

    // A message buffer too small: EMSGSIZE.
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_QUEUE_MESSAGE, &mut queue), (0, 0));
    await_arg.msgbufsize = 16;
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_AWAIT_COMPLETION, &mut await_arg).1, libc::EMSGSIZE);
    await_arg.msgbufsize = 256;
    scribble(&mut completions);
    let (n, _) = ioctl_ptr(fd, VCHIQ_IOC_AWAIT_COMPLETION, &mut await_arg);
    assert_eq!((n, completions[0].reason), (1, VCHIQ_MESSAGE_AVAILABLE));
    assert_eq!(padding(&completions[0]), [0; PADDING], "the message's completion's padding");

    // A count of 0: waits until there is a completion, and takes none.
    let waiter = std::thread::spawn(move || {
        let mut none = vchiq_await_completion {
            count: 0,
            buf: std::ptr::null_mut(),
            msgbufsize: 0,
            msgbufcount: 0,
            msgbufs: std::ptr::null_mut(),
        };
        ioctl_ptr(fd, VCHIQ_IOC_AWAIT_COMPLETION, &mut none)
    });
    std::thread::sleep(Duration::from_millis(100));
    assert!(!waiter.is_finished(), "nothing there: a count of 0 waits");
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_QUEUE_MESSAGE, &mut queue), (0, 0));
    assert_eq!(waiter.join().unwrap(), (0, 0));
    let (n, _) = ioctl_ptr(fd, VCHIQ_IOC_AWAIT_COMPLETION, &mut await_arg);
    assert_eq!((n, completions[0].reason), (1, VCHIQ_MESSAGE_AVAILABLE), "the reply is still there");

    // Bulk transfers: a zero size EINVAL, a blocking one not emulated.
    let mut data = [0u8; 64];
    let mut bulk = vchiq_queue_bulk_transfer {
        handle: create.handle,
        data: data.as_mut_ptr().cast(),
        size: 0,
        userdata: 0xB0 as *mut libc::c_void,
        mode: VCHIQ_BULK_MODE_CALLBACK,
    };
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_QUEUE_BULK_RECEIVE, &mut bulk).1, libc::EINVAL);
    bulk.size = 64;
    bulk.mode = VCHIQ_BULK_MODE_BLOCKING;
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_QUEUE_BULK_RECEIVE, &mut bulk).1, libc::EINVAL);
    // Two receives queued, then aborted by the close: the one without
    // callback is not reported, the other is with the caller's userdata,
    // then SERVICE_CLOSED.
    bulk.mode = VCHIQ_BULK_MODE_NOCALLBACK;
    let mut silent = [0u8; 64];
    let mut quiet = vchiq_queue_bulk_transfer { data: silent.as_mut_ptr().cast(), userdata: 0xB1 as *mut _, ..bulk };
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_QUEUE_BULK_RECEIVE, &mut quiet), (0, 0));
    bulk.mode = VCHIQ_BULK_MODE_CALLBACK;
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_QUEUE_BULK_RECEIVE, &mut bulk), (0, 0));
    let closer = std::thread::spawn(move || ioctl_value(fd, VCHIQ_IOC_CLOSE_SERVICE, create.handle));
    let mut got = Vec::new();
    while got.len() < 2 {
        scribble(&mut completions);
        let (n, e) = ioctl_ptr(fd, VCHIQ_IOC_AWAIT_COMPLETION, &mut await_arg);
        assert!(n > 0, "AWAIT_COMPLETION: {n} errno {e}");
        for c in &completions[..n as usize] {
            assert_eq!(padding(c), [0; PADDING], "completion {}'s padding", c.reason);
        }
        got.extend_from_slice(&completions[..n as usize]);
    }
    assert_eq!(got.len(), 2, "no completion for the NOCALLBACK receive");
    assert_eq!(got[0].reason, VCHIQ_BULK_RECEIVE_ABORTED);
    assert_eq!(got[0].bulk_userdata as usize, 0xB0);
    assert_eq!(got[1].reason, VCHIQ_SERVICE_CLOSED);
    assert_eq!(got[1].service_userdata as usize, 0x5EED);
    assert_eq!(ioctl_value(fd, VCHIQ_IOC_CLOSE_DELIVERED, create.handle), (0, 0));
    assert_eq!(closer.join().unwrap(), (0, 0));
    assert_eq!(ioctl_value(fd, VCHIQ_IOC_USE_SERVICE, create.handle).1, libc::EINVAL, "freed");

    // Requests the driver does not know, or not in this ABI: ENOTTY (a
    // terminal's request, and CREATE_SERVICE sized for the other ABI).
    let mut termios = std::mem::MaybeUninit::<libc::termios>::zeroed();
    assert_eq!(ioctl_ptr(fd, libc_request(libc::TCGETS), termios.as_mut_ptr()).1, libc::ENOTTY);
    let other_abi = if size_of::<usize>() == 8 { 0xC01C_C402 } else { 0xC030_C402 };
    assert_ne!(other_abi, VCHIQ_IOC_CREATE_SERVICE);
    assert_eq!(ioctl_ptr(fd, other_abi, &mut create).1, libc::ENOTTY);

    // SHUTDOWN wakes a waiter, which returns with nothing.
    let waiter = std::thread::spawn(move || {
        let mut completions = [vchiq_completion_data::default(); 1];
        let mut a = vchiq_await_completion {
            count: 1,
            buf: completions.as_mut_ptr(),
            msgbufsize: 0,
            msgbufcount: 0,
            msgbufs: std::ptr::null_mut(),
        };
        ioctl_ptr(fd, VCHIQ_IOC_AWAIT_COMPLETION, &mut a)
    });
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(ioctl_value(fd, VCHIQ_IOC_SHUTDOWN, 0), (0, 0));
    assert_eq!(waiter.join().unwrap(), (0, 0));
    assert_eq!(close_fd(fd), 0);
    // Closed: the descriptor is gone, as any other (EBADF from a kernel).
    let after = ioctl_value(fd, VCHIQ_IOC_CONNECT, 0);
    assert_eq!(after.0, -1);
    assert_eq!(after, syscall_value(fd, VCHIQ_IOC_CONNECT, 0));
    println!("child_raw_ioctls_answer_as_the_kernel_does: done");
}

/// Whether the library's copies to and from the caller are checked: it
/// copies through process_vm_readv/writev where the system has them;
/// under qemu-user (ENOSYS) it falls back to plain accesses and a wild
/// pointer faults, as the crate docs say.
fn copies_are_checked() -> bool {
    let probe = [7u8; 4];
    let mut into = [0u8; 4];
    let local = libc::iovec { iov_base: into.as_mut_ptr().cast(), iov_len: 4 };
    let remote = libc::iovec { iov_base: probe.as_ptr().cast_mut().cast(), iov_len: 4 };
    // SAFETY: copies 4 bytes between two live arrays of this process.
    let n = unsafe { libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0) };
    if n != 4 {
        println!("process_vm_readv is not available here (errno {}): wild pointers are not checked", errno());
    }
    n == 4
}

#[test]
fn bad_pointers_are_efault_as_from_the_kernel() {
    run_child("child_bad_pointers_are_efault_as_from_the_kernel");
}

#[test]
fn child_bad_pointers_are_efault_as_from_the_kernel() {
    if !is_child("child_bad_pointers_are_efault_as_from_the_kernel") {
        return;
    }
    if !copies_are_checked() {
        println!("child_bad_pointers_are_efault_as_from_the_kernel: done");
        return;
    }
    let page = 4096;
    // SAFETY: a fresh private read-only page, unmapped at the end.
    let read_only = unsafe {
        libc::mmap(std::ptr::null_mut(), page, libc::PROT_READ, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
    };
    assert_ne!(read_only, libc::MAP_FAILED);
    let wild = 8usize as *mut vchiq_config;

    let fd = open_device(libc::O_RDWR);
    // An argument, or a pointer inside it, that is not mapped; a struct the
    // driver would write in memory it cannot write.
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_GET_CONFIG, wild.cast::<vchiq_get_config>()), (-1, libc::EFAULT));
    let mut arg = vchiq_get_config { config_size: size_of::<vchiq_config>() as u32, pconfig: wild };
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_GET_CONFIG, &mut arg), (-1, libc::EFAULT));
    arg.pconfig = read_only.cast();
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_GET_CONFIG, &mut arg), (-1, libc::EFAULT));
    // The device answers on.
    let mut config = vchiq_config::default();
    arg.pconfig = &mut config;
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_GET_CONFIG, &mut arg), (0, 0));
    assert_eq!(config.max_msg_size, VCHIQ_MAX_MSG_SIZE);
    // A service whose handle cannot be written back is removed again, as
    // the kernel removes it (the caller could never name it): its thread
    // ends.
    assert_eq!(ioctl_value(fd, VCHIQ_IOC_CONNECT, 0), (0, 0));
    let threads_before = threads();
    let create = read_only_page(vchiq_create_service {
        params: vchiq_service_params {
            fourcc: make_fourcc(*b"mmal") as i32,
            callback: std::ptr::null_mut(),
            userdata: 0x5EED as *mut libc::c_void,
            version: VC_MMAL_VER as i16,
            version_min: VC_MMAL_MIN_VER as i16,
        },
        is_open: 1,
        is_vchi: 0,
        handle: 0,
    });
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_CREATE_SERVICE, create), (-1, libc::EFAULT));
    assert_eq!(settled_threads(threads_before), threads_before, "the service was removed");
    // Its close is reported with the caller's userdata, as the kernel's.
    let mut completions = [vchiq_completion_data::default(); 4];
    let (n, e, _) = await_into(fd, &mut completions, 256, &mut []);
    assert!(n >= 1 && e == 0, "{n} completions, errno {e}");
    let closed = completions[..n as usize].iter().find(|c| c.reason == VCHIQ_SERVICE_CLOSED);
    assert_eq!(closed.map(|c| c.service_userdata as usize), Some(0x5EED));
    // SAFETY: the page mapped above.
    assert_eq!(unsafe { libc::munmap(create.cast(), page) }, 0);
    assert_eq!(close_fd(fd), 0);

    // vc-sm-cma: an allocation whose answer cannot be written back is
    // taken back (no descriptor left behind).
    let cma = open_path("/dev/vcsm-cma", libc::O_RDWR);
    let fds = open_fds();
    let request = read_only_page(vcsm::vc_sm_cma_ioctl_alloc { size: 4096, num: 1, handle: -1, ..Default::default() });
    assert_eq!(ioctl_ptr(cma, vcsm::VC_SM_CMA_IOCTL_MEM_ALLOC, request), (-1, libc::EFAULT));
    assert_eq!(open_fds(), fds, "the allocation was taken back");
    // SAFETY: the page mapped above.
    assert_eq!(unsafe { libc::munmap(request.cast(), page) }, 0);
    let (e, a) = alloc(cma, 4096, b"after");
    assert_eq!(e, 0);
    assert_eq!(close_fd(a.handle), 0);
    assert_eq!(close_fd(cma), 0);
    // SAFETY: the page mapped above.
    assert_eq!(unsafe { libc::munmap(read_only, page) }, 0);
    println!("child_bad_pointers_are_efault_as_from_the_kernel: done");
}

#[test]
fn other_files_and_ioctls_pass_through() {
    run_child("child_other_files_and_ioctls_pass_through");
}

#[test]
fn child_other_files_and_ioctls_pass_through() {
    if !is_child("child_other_files_and_ioctls_pass_through") {
        return;
    }
    // A regular file through std (open64) and through openat with a mode
    // (the variadic argument forwarded).
    let dir = std::env::temp_dir().join(format!("vchiq-preload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("plain");
    std::fs::write(&file, b"hello").unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), b"hello");
    let made = CString::new(dir.join("made").to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path and a mode, as O_CREAT takes.
    let fd =
        unsafe { libc::openat(libc::AT_FDCWD, made.as_ptr(), libc::O_CREAT | libc::O_WRONLY, 0o640 as libc::c_uint) };
    assert!(fd >= 0);
    assert_eq!(close_fd(fd), 0);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("made")).unwrap().permissions().mode() & 0o777;
    // SAFETY: umask only reads and resets the process's mask.
    let mask = unsafe {
        let m = libc::umask(0);
        libc::umask(m);
        m
    };
    assert_eq!(mode, 0o640 & !mask);
    // A missing file: the real errno.
    let missing = CString::new(dir.join("missing").to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::open(missing.as_ptr(), libc::O_RDONLY) }, -1);
    assert_eq!(errno(), libc::ENOENT);
    std::fs::remove_dir_all(&dir).unwrap();

    // ioctls on other descriptors: FIONREAD on a pipe, a terminal's request
    // on a pipe (ENOTTY from the kernel), a pseudo-terminal's number.
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: writing 5 bytes of a static string to the pipe.
    assert_eq!(unsafe { libc::write(fds[1], b"12345".as_ptr().cast(), 5) }, 5);
    let mut pending: libc::c_int = 0;
    assert_eq!(ioctl_ptr(fds[0], libc_request(libc::FIONREAD), &mut pending), (0, 0));
    assert_eq!(pending, 5);
    let mut termios = std::mem::MaybeUninit::<libc::termios>::zeroed();
    assert_eq!(ioctl_ptr(fds[0], libc_request(libc::TCGETS), termios.as_mut_ptr()).1, libc::ENOTTY);
    // A vchiq request on a pipe is the kernel's business too (ENOTTY from
    // a kernel).
    let piped = ioctl_value(fds[0], VCHIQ_IOC_CONNECT, 0);
    assert_eq!(piped.0, -1);
    assert_eq!(piped, syscall_value(fds[0], VCHIQ_IOC_CONNECT, 0));
    assert_eq!(close_fd(fds[0]), 0);
    assert_eq!(close_fd(fds[1]), 0);
    // SAFETY: posix_openpt takes flags only.
    let master = unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY) };
    if master >= 0 {
        let mut n: libc::c_uint = u32::MAX;
        assert_eq!(ioctl_ptr(master, libc_request(libc::TIOCGPTN), &mut n), (0, 0));
        assert_ne!(n, u32::MAX, "the kernel wrote the terminal's number");
        assert_eq!(close_fd(master), 0);
    }
    // Closing what is not open: the real EBADF.
    assert_eq!(close_fd(9999), -1);
    assert_eq!(errno(), libc::EBADF);

    // The requests the kernel answers for any file, on the devices'
    // descriptors too: close-on-exec set and cleared, non-blocking set.
    for path in [vchiq::DEVICE_PATH, "/dev/vcsm-cma"] {
        let fd = open_path(path, libc::O_RDWR);
        // SAFETY: F_GETFD and F_GETFL take no argument.
        let flags = || unsafe { (libc::fcntl(fd, libc::F_GETFD), libc::fcntl(fd, libc::F_GETFL)) };
        assert_eq!(flags().0 & libc::FD_CLOEXEC, 0, "{path}");
        assert_eq!(ioctl_value(fd, libc_request(libc::FIOCLEX), 0), (0, 0), "{path}");
        assert_ne!(flags().0 & libc::FD_CLOEXEC, 0, "{path}");
        assert_eq!(ioctl_value(fd, libc_request(libc::FIONCLEX), 0), (0, 0), "{path}");
        assert_eq!(flags().0 & libc::FD_CLOEXEC, 0, "{path}");
        let mut on: libc::c_int = 1;
        assert_eq!(ioctl_ptr(fd, libc_request(libc::FIONBIO), &mut on), (0, 0), "{path}");
        assert_ne!(flags().1 & libc::O_NONBLOCK, 0, "{path}");
        assert_eq!(close_fd(fd), 0);
    }
    println!("child_other_files_and_ioctls_pass_through: done");
}

#[test]
fn a_forked_child_cannot_use_the_parents_instance() {
    run_child("child_a_forked_child_cannot_use_the_parents_instance");
}

#[test]
fn child_a_forked_child_cannot_use_the_parents_instance() {
    if !is_child("child_a_forked_child_cannot_use_the_parents_instance") {
        return;
    }
    let conn = Connection::open_path(vchiq::DEVICE_PATH, options()).unwrap();
    let svc = mmal_service(&conn);
    let fd = open_device(libc::O_RDWR);
    // SAFETY: the child runs only the async-signal-safe calls below (the
    // library's ioctl and close take a lock its fork handler released, and
    // the VideoCore's threads are not touched) and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let mut config = vchiq_config::default();
        let mut arg = vchiq_get_config { config_size: size_of::<vchiq_config>() as u32, pconfig: &mut config };
        let (rc, e) = ioctl_ptr(fd, VCHIQ_IOC_GET_CONFIG, &mut arg);
        let code = if (rc, e) != (-1, libc::EIO) {
            1
        } else if close_fd(fd) != 0 {
            2
        } else if ioctl_value(fd, VCHIQ_IOC_CONNECT, 0) != syscall_value(fd, VCHIQ_IOC_CONNECT, 0) {
            3
        } else {
            0
        };
        // SAFETY: ends the forked child without running the parent's
        // destructors or atexit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut wait = 0;
    // SAFETY: waits for the child just forked.
    assert_eq!(unsafe { libc::waitpid(pid, &mut wait, 0) }, pid);
    assert!(libc::WIFEXITED(wait), "the forked child ended: {wait:#x}");
    assert_eq!(libc::WEXITSTATUS(wait), 0, "the forked child's checks");
    // The parent's instance works on.
    assert_eq!(status(&request(&svc, MMAL_MSG_TYPE_GET_VERSION, 1, &[])), MMAL_MSG_STATUS_SUCCESS);
    let mut config = vchiq_config::default();
    let mut arg = vchiq_get_config { config_size: size_of::<vchiq_config>() as u32, pconfig: &mut config };
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_GET_CONFIG, &mut arg), (0, 0));
    assert_eq!(close_fd(fd), 0);
    svc.close().unwrap();
    drop(conn);
    println!("child_a_forked_child_cannot_use_the_parents_instance: done");
}

#[test]
fn a_child_forked_without_the_handlers_cannot_use_the_parents_instance() {
    run_child("child_a_child_forked_without_the_handlers_cannot_use_the_parents_instance");
}

#[test]
fn child_a_child_forked_without_the_handlers_cannot_use_the_parents_instance() {
    if !is_child("child_a_child_forked_without_the_handlers_cannot_use_the_parents_instance") {
        return;
    }
    // glibc's fork without the fork handlers (since 2.34), looked up so
    // that an older C library only leaves this check out.
    // SAFETY: a NUL-terminated name; RTLD_DEFAULT searches every library.
    let found = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"_Fork".as_ptr()) };
    if found.is_null() {
        println!("no _Fork in this C library (glibc before 2.34): nothing to check");
        println!("child_a_child_forked_without_the_handlers_cannot_use_the_parents_instance: done");
        return;
    }
    // SAFETY: `_Fork` is `pid_t _Fork(void)`.
    let fork_without_handlers: unsafe extern "C" fn() -> libc::pid_t = unsafe { std::mem::transmute(found) };
    let fd = open_device(libc::O_RDWR);
    // SAFETY: as `fork`, without the handlers; the child runs only the
    // library's `ioctl` and `close` and leaves with `_exit`.
    let pid = unsafe { fork_without_handlers() };
    assert!(pid >= 0, "_Fork");
    if pid == 0 {
        let mut config = vchiq_config::default();
        let mut arg = vchiq_get_config { config_size: size_of::<vchiq_config>() as u32, pconfig: &mut config };
        // The parent's instance is not the child's, told by the process
        // id (the generation did not change, and the table's lock may not
        // be waited for).
        let code = if ioctl_ptr(fd, VCHIQ_IOC_GET_CONFIG, &mut arg) != (-1, libc::EIO) {
            1
        } else if close_fd(fd) != 0 {
            2
        } else {
            0
        };
        // SAFETY: ends the child without the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    assert_eq!(wait_child(pid, Duration::from_secs(10)), Some(0), "the child's ioctl is EIO, its close closes");
    let mut config = vchiq_config::default();
    let mut arg = vchiq_get_config { config_size: size_of::<vchiq_config>() as u32, pconfig: &mut config };
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_GET_CONFIG, &mut arg), (0, 0), "the parent's instance works on");
    assert_eq!(close_fd(fd), 0);
    println!("child_a_child_forked_without_the_handlers_cannot_use_the_parents_instance: done");
}

/// `open` without a check: its result and errno (for a forked child).
fn try_open(path: &std::ffi::CStr, flags: i32) -> (i32, i32) {
    // SAFETY: a NUL-terminated path; the flags take no mode.
    let fd = unsafe { libc::open(path.as_ptr(), flags) };
    (fd, if fd < 0 { errno() } else { 0 })
}

/// Waits up to `limit` for the forked child `pid`: its exit code, or
/// `None` if it hung (it is killed) or did not exit.
fn wait_child(pid: libc::pid_t, limit: Duration) -> Option<i32> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let mut wait = 0;
        // SAFETY: polls the child this test forked.
        let rc = unsafe { libc::waitpid(pid, &mut wait, libc::WNOHANG) };
        if rc == pid {
            return libc::WIFEXITED(wait).then(|| libc::WEXITSTATUS(wait));
        }
        if std::time::Instant::now() > deadline {
            // SAFETY: kills and reaps the hung child this test forked.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut wait, 0);
            }
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_child_forked_after_the_first_open_is_refused_the_videocore() {
    let out = run_child("child_a_child_forked_after_the_first_open_is_refused_the_videocore");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("forked after its parent opened the emulated VideoCore") && stderr.contains("'spawn'"),
        "the refused child says why and what to do:\n{stderr}"
    );
}

#[test]
fn child_a_child_forked_after_the_first_open_is_refused_the_videocore() {
    if !is_child("child_a_child_forked_after_the_first_open_is_refused_the_videocore") {
        return;
    }
    use std::sync::atomic::{AtomicBool, Ordering};
    let vchiq_path = CString::new(vchiq::DEVICE_PATH).unwrap();
    let cma_path = c"/dev/vcsm-cma";
    let cma = open_path("/dev/vcsm-cma", libc::O_RDWR);
    // A thread allocating and freeing blocks all along: the forks land
    // while it holds the emulated memory's locks (a child that went on to
    // use them would hang for ever).
    let (stop, started) = (AtomicBool::new(false), AtomicBool::new(false));
    let (allocations, children) = std::thread::scope(|scope| {
        let churn = scope.spawn(|| {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let (e, a) = alloc(cma, 4096, b"fork");
                assert_eq!(e, 0, "ALLOC");
                assert_eq!(close_fd(a.handle), 0);
                n += 1;
                started.store(true, Ordering::Relaxed);
            }
            n
        });
        while !started.load(Ordering::Relaxed) {
            std::thread::yield_now();
        }
        let mut children = Vec::new();
        for _ in 0..50 {
            // SAFETY: the child calls only `open` (the library's: a
            // getpid, atomics and a write) and `_exit`.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork");
            if pid == 0 {
                let code = match (try_open(&vchiq_path, libc::O_RDWR), try_open(cma_path, libc::O_RDWR)) {
                    ((-1, libc::ENODEV), (-1, libc::ENODEV)) => 0,
                    ((-1, libc::ENODEV), _) => 2,
                    _ => 1,
                };
                // SAFETY: ends the child without the parent's destructors.
                unsafe { libc::_exit(code) };
            }
            children.push(wait_child(pid, Duration::from_secs(10)));
            if children.last() != Some(&Some(0)) {
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        (churn.join().unwrap(), children)
    });
    // 1: a child opened the parent's VideoCore; None: it hung.
    assert_eq!(children, vec![Some(0); 50], "every child's opens are ENODEV, promptly");
    assert!(allocations > 0, "the blocks churned while forking");
    // The parent's VideoCore is untouched.
    let (e, a) = alloc(cma, 4096, b"after");
    assert_eq!(e, 0);
    assert_eq!(close_fd(a.handle), 0);
    assert_eq!(close_fd(cma), 0);
    let fd = open_device(libc::O_RDWR);
    assert_eq!(close_fd(fd), 0);
    println!("child_a_child_forked_after_the_first_open_is_refused_the_videocore: done");
}

#[test]
fn a_child_forked_before_the_first_open_has_a_videocore_of_its_own() {
    run_child("child_a_child_forked_before_the_first_open_has_a_videocore_of_its_own");
}

#[test]
fn child_a_child_forked_before_the_first_open_has_a_videocore_of_its_own() {
    if !is_child("child_a_child_forked_before_the_first_open_has_a_videocore_of_its_own") {
        return;
    }
    let vchiq_path = CString::new(vchiq::DEVICE_PATH).unwrap();
    // SAFETY: the child opens the device, reads its configuration and
    // closes it (the library's calls, in a process whose emulated VideoCore
    // has not started: none of its locks can be held), then `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        let code = match try_open(&vchiq_path, libc::O_RDWR) {
            (fd, 0) => {
                let mut config = vchiq_config::default();
                let mut arg = vchiq_get_config { config_size: size_of::<vchiq_config>() as u32, pconfig: &mut config };
                if ioctl_ptr(fd, VCHIQ_IOC_GET_CONFIG, &mut arg) != (0, 0) || config.version == 0 {
                    2
                } else if close_fd(fd) != 0 {
                    3
                } else {
                    0
                }
            }
            _ => 1,
        };
        // SAFETY: ends the child without the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    assert_eq!(wait_child(pid, Duration::from_secs(30)), Some(0), "the child opened and used its own VideoCore");
    // And the parent, which had not opened it either, still can.
    let fd = open_device(libc::O_RDWR);
    let mut config = vchiq_config::default();
    let mut arg = vchiq_get_config { config_size: size_of::<vchiq_config>() as u32, pconfig: &mut config };
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_GET_CONFIG, &mut arg), (0, 0));
    assert_eq!(close_fd(fd), 0);
    println!("child_a_child_forked_before_the_first_open_has_a_videocore_of_its_own: done");
}

/// Sends a camera's video port (640x480 I420, `buffers` buffers) a
/// PORT_INFO_SET and returns (component, port, reply, frame size).
fn camera_video_port(svc: &Service, buffers: u32) -> (u32, u32, Vec<u8>, u32) {
    let r = create(svc, "ril.camera");
    assert_eq!(status(&r), MMAL_MSG_STATUS_SUCCESS);
    let comp = w(&r, H + offset_of!(mmal_msg_component_create_reply, component_handle));
    assert_eq!(status(&request(svc, MMAL_MSG_TYPE_COMPONENT_ENABLE, 4, &comp.to_le_bytes())), 0);
    let info = port_info(svc, comp, MMAL_MSG_PORT_TYPE_OUTPUT, 1);
    let port = w(&info, H + offset_of!(mmal_msg_port_info_get_reply, port_handle));
    let (info, frame) = set_video_i420(svc, comp, &info, buffers);
    assert_eq!(status(&info), MMAL_MSG_STATUS_SUCCESS);
    (comp, port, info, frame)
}

/// Sends the camera `comp`'s video port a PORT_INFO_SET: the port as `info`
/// (its PORT_INFO_GET reply) describes it, with a 640x480 I420 format and
/// `buffers` buffers of a frame each. Returns the reply and the frame size.
fn set_video_i420(svc: &Service, comp: u32, info: &[u8], buffers: u32) -> (Vec<u8>, u32) {
    let mut set = vec![0u8; size_of::<mmal_msg_port_info_set>()];
    put(&mut set, offset_of!(mmal_msg_port_info_set, component_handle), comp);
    put(&mut set, offset_of!(mmal_msg_port_info_set, port_type), MMAL_MSG_PORT_TYPE_OUTPUT);
    put(&mut set, offset_of!(mmal_msg_port_info_set, port_index), 1);
    let from = H + offset_of!(mmal_msg_port_info_get_reply, port);
    let to = offset_of!(mmal_msg_port_info_set, port);
    let n = set.len() - to;
    set[to..].copy_from_slice(&info[from..from + n]);
    let fmt = offset_of!(mmal_msg_port_info_set, format);
    let es = offset_of!(mmal_msg_port_info_set, es);
    put(&mut set, fmt + offset_of!(mmal_msg_es_format, encoding), mmal::MMAL_ENCODING_I420);
    put(&mut set, es + offset_of!(mmal_msg_video_format, width), 640);
    put(&mut set, es + offset_of!(mmal_msg_video_format, height), 480);
    let crop = es + offset_of!(mmal_msg_video_format, crop);
    put(&mut set, crop + offset_of!(mmal_msg_rect, x), 0);
    put(&mut set, crop + offset_of!(mmal_msg_rect, y), 0);
    put(&mut set, crop + offset_of!(mmal_msg_rect, width), 640);
    put(&mut set, crop + offset_of!(mmal_msg_rect, height), 480);
    let frame = 640 * 480 * 3 / 2;
    put(&mut set, to + offset_of!(mmal_msg_port, buffer_num), buffers);
    put(&mut set, to + offset_of!(mmal_msg_port, buffer_size), frame);
    (request(svc, MMAL_MSG_TYPE_PORT_INFO_SET, 5, &set), frame)
}

fn parameter_set(svc: &Service, comp: u32, port: u32, id: u32, value: u32) -> u32 {
    let mut p = vec![0u8; 16];
    put(&mut p, 0, comp);
    put(&mut p, 4, port);
    put(&mut p, 8, id);
    put(&mut p, 12, 12);
    p.extend_from_slice(&value.to_le_bytes());
    status(&request(svc, MMAL_MSG_TYPE_PORT_PARAMETER_SET, 6, &p))
}

fn port_action(svc: &Service, comp: u32, port: u32, action: u32, info: &[u8]) -> u32 {
    let mut a = vec![0u8; size_of::<mmal_msg_port_action_port>()];
    put(&mut a, offset_of!(mmal_msg_port_action_port, component_handle), comp);
    put(&mut a, offset_of!(mmal_msg_port_action_port, port_handle), port);
    put(&mut a, offset_of!(mmal_msg_port_action_port, action), action);
    let pa = offset_of!(mmal_msg_port_action_port, port);
    let from = H + offset_of!(mmal_msg_port_info_get_reply, port);
    a[pa..pa + size_of::<mmal_msg_port>()].copy_from_slice(&info[from..from + size_of::<mmal_msg_port>()]);
    status(&request(svc, MMAL_MSG_TYPE_PORT_ACTION, 7, &a))
}

/// A zero-copy BUFFER_FROM_HOST naming VideoCore block `vc_handle`.
fn zero_copy_buffer(comp: u32, port: u32, cookie: u32, vc_handle: u32, alloc_size: u32) -> Vec<u8> {
    let mut b = vec![0u8; MMAL_MSG_BUFFER_TO_HOST_WIRE_SIZE as usize];
    put(&mut b, offset_of!(mmal_msg_header, magic), MMAL_MAGIC);
    put(&mut b, offset_of!(mmal_msg_header, type_), MMAL_MSG_TYPE_BUFFER_FROM_HOST);
    let d = H + offset_of!(mmal_msg_buffer_from_host, drvbuf);
    put(&mut b, d + offset_of!(mmal_msg_driver_buffer, magic), MMAL_MAGIC);
    put(&mut b, d + offset_of!(mmal_msg_driver_buffer, component_handle), comp);
    put(&mut b, d + offset_of!(mmal_msg_driver_buffer, port_handle), port);
    put(&mut b, d + offset_of!(mmal_msg_driver_buffer, client_context), cookie);
    let bh = H + offset_of!(mmal_msg_buffer_from_host, buffer_header);
    put(&mut b, bh + offset_of!(mmal_msg_buffer_header, data), vc_handle);
    put(&mut b, bh + offset_of!(mmal_msg_buffer_header, alloc_size), alloc_size);
    put(&mut b, H + offset_of!(mmal_msg_buffer_from_host, is_zero_copy), 1);
    b
}

fn open_path(path: &str, flags: i32) -> i32 {
    let c = CString::new(path).unwrap();
    // SAFETY: a NUL-terminated path; the flags take no mode.
    let fd = unsafe { libc::open(c.as_ptr(), flags) };
    assert!(fd >= 0, "open {path}: errno {}", errno());
    fd
}

fn alloc(cma: i32, size: u32, name: &[u8]) -> (i32, vcsm::vc_sm_cma_ioctl_alloc) {
    let mut a = vcsm::vc_sm_cma_ioctl_alloc { size, num: 1, handle: -1, ..Default::default() };
    for (d, &c) in a.name.iter_mut().zip(name) {
        *d = c as libc::c_char;
    }
    let (rc, e) = ioctl_ptr(cma, vcsm::VC_SM_CMA_IOCTL_MEM_ALLOC, &mut a);
    (if rc < 0 { e } else { 0 }, a)
}

fn sync(fd: i32, flags: u32) -> (i32, i32) {
    let mut s = vcsm::dma_buf_sync { flags: u64::from(flags) };
    ioctl_ptr(fd, vcsm::DMA_BUF_IOCTL_SYNC, &mut s)
}

#[test]
fn vcsm_cma_blocks_are_the_videocores_zero_copy_memory() {
    run_child("child_vcsm_cma_blocks_are_the_videocores_zero_copy_memory");
}

#[test]
fn child_vcsm_cma_blocks_are_the_videocores_zero_copy_memory() {
    if !is_child("child_vcsm_cma_blocks_are_the_videocores_zero_copy_memory") {
        return;
    }
    let cma = open_path("/dev/vcsm-cma", libc::O_RDWR | libc::O_CLOEXEC);
    assert!(is_placeholder(&fd_target(cma), "/dev/vcsm-cma"), "{}", fd_target(cma).display());
    // The emulated memory's pool keeps a descriptor of its own from the
    // first allocation on: counted from then.
    let (e, warm) = alloc(cma, 4096, b"warm up");
    assert_eq!((e, close_fd(warm.handle)), (0, 0));
    let before = open_fds();

    // ALLOC: a dma-buf descriptor (close-on-exec), a VideoCore handle, a
    // bus address; size 0 refused.
    assert_eq!(alloc(cma, 0, b"zero").0, libc::EINVAL);
    let (e, a) = alloc(cma, 640 * 480 * 3 / 2, b"frame");
    assert_eq!(e, 0);
    assert!(a.handle >= 0);
    // SAFETY: F_GETFD on the descriptor the driver returned.
    assert_ne!(unsafe { libc::fcntl(a.handle, libc::F_GETFD) } & libc::FD_CLOEXEC, 0);
    assert_ne!(a.vc_handle, 0);
    assert!(a.dma_addr >= 0xC000_0000, "{:#x}", a.dma_addr);
    // The caller's dma-buf, and the emulated memory's own descriptor of the
    // block (which a kernel keeps out of the process): both go with the
    // dma-buf's close, checked below.
    assert_eq!(open_fds(), before + 2);

    // The dma-buf maps; DMA_BUF_IOCTL_SYNC checks its flags.
    let size = (640 * 480 * 3 / 2usize).next_multiple_of(4096);
    // SAFETY: a shared mapping of the dma-buf's `size` bytes, unmapped below.
    let map = unsafe {
        libc::mmap(std::ptr::null_mut(), size, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, a.handle, 0)
    };
    assert_ne!(map, libc::MAP_FAILED, "mmap of the dma-buf: errno {}", errno());
    // SAFETY: the mapping is `size` bytes, readable and writable, and this
    // test's only view of them while the VideoCore is not using the block.
    let bytes = unsafe { std::slice::from_raw_parts_mut(map.cast::<u8>(), size) };
    assert_eq!(sync(a.handle, vcsm::DMA_BUF_SYNC_START | vcsm::DMA_BUF_SYNC_WRITE), (0, 0));
    bytes.fill(0);
    assert_eq!(sync(a.handle, vcsm::DMA_BUF_SYNC_END | vcsm::DMA_BUF_SYNC_WRITE), (0, 0));
    assert_eq!(sync(a.handle, vcsm::DMA_BUF_SYNC_START).1, libc::EINVAL, "no direction");
    assert_eq!(sync(a.handle, 8 | vcsm::DMA_BUF_SYNC_READ).1, libc::EINVAL, "an unknown flag");

    // The camera writes a frame into the block (zero copy): no bulk, the
    // picture in this process's mapping.
    let conn = Connection::open_path(vchiq::DEVICE_PATH, options()).unwrap();
    let svc = mmal_service(&conn);
    let (comp, port, info, frame) = camera_video_port(&svc, 1);
    assert_eq!(parameter_set(&svc, comp, port, mmal::MMAL_PARAMETER_ZERO_COPY, 1), 0);
    assert_eq!(parameter_set(&svc, comp, port, mmal::MMAL_PARAMETER_CAPTURE, 1), 0);
    assert_eq!(port_action(&svc, comp, port, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, &info), 0);
    // A handle no block has is refused.
    svc.send(&[&zero_copy_buffer(comp, port, 0x2C, 0xDEAD_BEEF, frame)]).unwrap();
    let r = next_message(&svc);
    assert_eq!(status(&r), MMAL_MSG_STATUS_EINVAL);
    svc.send(&[&zero_copy_buffer(comp, port, 0x2D, a.vc_handle, frame)]).unwrap();
    let r = next_message(&svc);
    assert_eq!(w(&r, offset_of!(mmal_msg_header, type_)), MMAL_MSG_TYPE_BUFFER_TO_HOST);
    assert_eq!(status(&r), MMAL_MSG_STATUS_SUCCESS);
    assert_eq!(w(&r, H + offset_of!(mmal_msg_buffer_from_host, is_zero_copy)), 1);
    let bh = H + offset_of!(mmal_msg_buffer_from_host, buffer_header);
    assert_eq!(w(&r, bh + offset_of!(mmal_msg_buffer_header, length)), frame);
    assert_eq!(sync(a.handle, vcsm::DMA_BUF_SYNC_START | vcsm::DMA_BUF_SYNC_READ), (0, 0));
    assert!(bytes[..frame as usize].iter().any(|&b| b != 0), "the VideoCore's picture in the mapping");
    assert_eq!(sync(a.handle, vcsm::DMA_BUF_SYNC_END | vcsm::DMA_BUF_SYNC_READ), (0, 0));

    // Closing the dma-buf frees the block: its handle is refused.
    assert_eq!(port_action(&svc, comp, port, MMAL_MSG_PORT_ACTION_TYPE_DISABLE, &info), 0);
    // SAFETY: unmapping the mapping made above; `bytes` is not used after.
    assert_eq!(unsafe { libc::munmap(map, size) }, 0);
    assert_eq!(close_fd(a.handle), 0);
    assert_eq!(port_action(&svc, comp, port, MMAL_MSG_PORT_ACTION_TYPE_ENABLE, &info), 0);
    svc.send(&[&zero_copy_buffer(comp, port, 0x2E, a.vc_handle, frame)]).unwrap();
    let r = next_message(&svc);
    assert_eq!(
        (status(&r), w(&r, H + offset_of!(mmal_msg_buffer_from_host, is_zero_copy))),
        (MMAL_MSG_STATUS_EINVAL, 1)
    );
    svc.close().unwrap();
    drop(conn);

    // IMPORT_DMABUF of a memfd: a new descriptor and handle, the size.
    let memfd = {
        // SAFETY: a NUL-terminated name and flags.
        let fd = unsafe { libc::memfd_create(c"import".as_ptr(), libc::MFD_ALLOW_SEALING | libc::MFD_CLOEXEC) };
        assert!(fd >= 0);
        // SAFETY: sizing the memfd just made.
        assert_eq!(unsafe { libc::ftruncate(fd, 8192) }, 0);
        fd
    };
    let mut import = vcsm::vc_sm_cma_ioctl_import_dmabuf { dmabuf_fd: memfd, handle: -1, ..Default::default() };
    assert_eq!(ioctl_ptr(cma, vcsm::VC_SM_CMA_IOCTL_MEM_IMPORT_DMABUF, &mut import), (0, 0));
    assert!(import.handle >= 0 && import.handle != memfd);
    assert_ne!(import.vc_handle, 0);
    assert_eq!(import.size, 8192);
    import.dmabuf_fd = 9999;
    assert_eq!(ioctl_ptr(cma, vcsm::VC_SM_CMA_IOCTL_MEM_IMPORT_DMABUF, &mut import).1, libc::EBADF);
    assert_eq!(close_fd(import.handle), 0);
    assert_eq!(close_fd(memfd), 0);
    // Requests vc-sm-cma does not know: ENOTTY.
    assert_eq!(ioctl_value(cma, VCHIQ_IOC_CONNECT, 0).1, libc::ENOTTY);
    assert_eq!(open_fds(), before, "no descriptor left");
    assert_eq!(close_fd(cma), 0);
    println!("child_vcsm_cma_blocks_are_the_videocores_zero_copy_memory: done");
}

extern "C" {
    // glibc's fortified opens (`_FORTIFY_SOURCE` routes two-argument opens
    // here), which the library takes over too.
    fn __open_2(path: *const libc::c_char, flags: libc::c_int) -> libc::c_int;
    fn __open64_2(path: *const libc::c_char, flags: libc::c_int) -> libc::c_int;
    fn __openat_2(dirfd: libc::c_int, path: *const libc::c_char, flags: libc::c_int) -> libc::c_int;
    fn __openat64_2(dirfd: libc::c_int, path: *const libc::c_char, flags: libc::c_int) -> libc::c_int;
}

#[test]
fn every_open_reaches_the_emulated_device() {
    run_child("child_every_open_reaches_the_emulated_device");
}

#[test]
fn child_every_open_reaches_the_emulated_device() {
    if !is_child("child_every_open_reaches_the_emulated_device") {
        return;
    }
    let path = CString::new(vchiq::DEVICE_PATH).unwrap();
    let p = path.as_ptr();
    let flags = libc::O_RDWR | libc::O_CLOEXEC;
    // SAFETY: each is called with a NUL-terminated path and flags that take
    // no mode (a mode given anyway is ignored).
    let fds = unsafe {
        [
            libc::open(p, flags),
            libc::open64(p, flags),
            libc::openat(libc::AT_FDCWD, p, flags),
            libc::openat64(libc::AT_FDCWD, p, flags),
            // An absolute path ignores the directory, even a bad one.
            libc::openat(-1, p, flags),
            __open_2(p, flags),
            __open64_2(p, flags),
            __openat_2(libc::AT_FDCWD, p, flags),
            __openat64_2(libc::AT_FDCWD, p, flags),
        ]
    };
    for (i, fd) in fds.into_iter().enumerate() {
        assert!(fd >= 0, "open #{i}: errno {}", errno());
        // The emulated device answers.
        let mut config = vchiq_config::default();
        let mut arg = vchiq_get_config { config_size: size_of::<vchiq_config>() as u32, pconfig: &mut config };
        assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_GET_CONFIG, &mut arg), (0, 0), "open #{i}");
        assert_eq!(config.version, VCHIQ_VERSION as i16);
        assert_eq!(close_fd(fd), 0);
    }
    // A relative path is the file system's, not the library's (where this
    // machine has no /dev/vchiq of its own: `stat` is not taken over).
    if !Path::new(vchiq::DEVICE_PATH).exists() {
        let dev = CString::new("/dev").unwrap();
        // SAFETY: a NUL-terminated path.
        let dir = unsafe { libc::open(dev.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) };
        assert!(dir >= 0);
        let name = CString::new("vchiq").unwrap();
        // SAFETY: a directory descriptor and a NUL-terminated name.
        assert_eq!(unsafe { libc::openat(dir, name.as_ptr(), libc::O_RDWR) }, -1);
        assert_eq!(errno(), libc::ENOENT);
        assert_eq!(close_fd(dir), 0);
    }
    println!("child_every_open_reaches_the_emulated_device: done");
}

#[test]
fn closing_wakes_a_waiter_and_threads_open_and_close_at_once() {
    run_child("child_closing_wakes_a_waiter_and_threads_open_and_close_at_once");
}

#[test]
fn child_closing_wakes_a_waiter_and_threads_open_and_close_at_once() {
    if !is_child("child_closing_wakes_a_waiter_and_threads_open_and_close_at_once") {
        return;
    }
    let before = open_fds();
    // A thread waiting in AWAIT_COMPLETION when another closes the
    // descriptor returns (with nothing) instead of waiting for ever.
    let fd = open_device(libc::O_RDWR | libc::O_CLOEXEC);
    assert_eq!(ioctl_value(fd, VCHIQ_IOC_CONNECT, 0), (0, 0));
    let (started, waiting) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let mut completions = [vchiq_completion_data::default(); 1];
        let mut a = vchiq_await_completion {
            count: 1,
            buf: completions.as_mut_ptr(),
            msgbufsize: 0,
            msgbufcount: 0,
            msgbufs: std::ptr::null_mut(),
        };
        // SAFETY: gettid has no preconditions.
        started.send(unsafe { libc::gettid() }).unwrap();
        ioctl_ptr(fd, VCHIQ_IOC_AWAIT_COMPLETION, &mut a)
    });
    // The waiter asleep (in the device's wait: it sleeps nowhere else), on
    // a loaded machine too.
    let tid = waiting.recv().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !thread_sleeps(tid) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(close_fd(fd), 0);
    assert_eq!(waiter.join().unwrap(), (0, 0));

    // Threads opening, using and closing devices at once: each descriptor
    // its own instance, none left.
    let workers: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..10 {
                    let fd = open_device(libc::O_RDWR | libc::O_CLOEXEC);
                    let mut config = vchiq_config::default();
                    let mut arg =
                        vchiq_get_config { config_size: size_of::<vchiq_config>() as u32, pconfig: &mut config };
                    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_GET_CONFIG, &mut arg), (0, 0));
                    assert_eq!(ioctl_value(fd, VCHIQ_IOC_CONNECT, 0), (0, 0));
                    // A second CONNECT on the same descriptor is refused:
                    // this one is not shared with another thread's.
                    assert_eq!(ioctl_value(fd, VCHIQ_IOC_CONNECT, 0).1, libc::EINVAL);
                    assert_eq!(close_fd(fd), 0);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(open_fds(), before);
    println!("child_closing_wakes_a_waiter_and_threads_open_and_close_at_once: done");
}

// ---------------------------------------------------------------------------
// Descriptors, signals, completions and sizes.

/// A pipe: (read end, write end).
fn pipe() -> (i32, i32) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    (fds[0], fds[1])
}

/// FIONREAD: the result, errno and the count.
fn fionread(fd: i32) -> (i32, i32, libc::c_int) {
    let mut n: libc::c_int = -1;
    let (rc, e) = ioctl_ptr(fd, libc_request(libc::FIONREAD), &mut n);
    (rc, e, n)
}

/// GET_CONFIG on `fd`: the result and errno (the config checked on success).
fn get_config(fd: i32) -> (i32, i32) {
    let mut config = vchiq_config::default();
    let mut arg = vchiq_get_config { config_size: size_of::<vchiq_config>() as u32, pconfig: &mut config };
    let r = ioctl_ptr(fd, VCHIQ_IOC_GET_CONFIG, &mut arg);
    if r.0 == 0 {
        assert_eq!(config.max_msg_size, VCHIQ_MAX_MSG_SIZE);
    }
    r
}

/// LIB_VERSION `version`, CONNECT and CREATE_SERVICE of MMAL (userdata
/// 0x5EED) on `fd`: the service's handle (its VideoCore thread running).
fn open_mmal(fd: i32, version: u32) -> u32 {
    assert_eq!(ioctl_value(fd, VCHIQ_IOC_LIB_VERSION, version), (0, 0));
    assert_eq!(ioctl_value(fd, VCHIQ_IOC_CONNECT, 0), (0, 0));
    let mut create = vchiq_create_service {
        params: vchiq_service_params {
            fourcc: make_fourcc(*b"mmal") as i32,
            callback: std::ptr::null_mut(),
            userdata: 0x5EED as *mut libc::c_void,
            version: VC_MMAL_VER as i16,
            version_min: VC_MMAL_MIN_VER as i16,
        },
        is_open: 1,
        is_vchi: 0,
        handle: 0,
    };
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_CREATE_SERVICE, &mut create), (0, 0));
    create.handle
}

#[test]
fn ioctl_time64_reaches_the_emulated_device() {
    run_child("child_ioctl_time64_reaches_the_emulated_device");
}

#[test]
fn child_ioctl_time64_reaches_the_emulated_device() {
    if !is_child("child_ioctl_time64_reaches_the_emulated_device") {
        return;
    }
    // What a program built with `_TIME_BITS=64` calls for `ioctl` on a
    // 32-bit target: the first definition, the library's.
    // SAFETY: a NUL-terminated name; RTLD_DEFAULT is a valid handle.
    let symbol = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"__ioctl_time64".as_ptr()) };
    if size_of::<usize>() == 8 {
        // No such function on a 64-bit target, in libc or the library.
        assert!(symbol.is_null());
    } else {
        assert!(!symbol.is_null(), "__ioctl_time64 is defined");
        type IoctlFn = unsafe extern "C" fn(libc::c_int, libc::c_ulong, ...) -> libc::c_int;
        // SAFETY: `__ioctl_time64` has `ioctl`'s C signature.
        let ioctl_time64 = unsafe { std::mem::transmute::<*mut libc::c_void, IoctlFn>(symbol) };
        let fd = open_device(libc::O_RDWR | libc::O_CLOEXEC);
        let mut config = vchiq_config::default();
        let mut arg = vchiq_get_config { config_size: size_of::<vchiq_config>() as u32, pconfig: &mut config };
        // SAFETY: GET_CONFIG's argument, live for the call.
        let rc = unsafe { ioctl_time64(fd, VCHIQ_IOC_GET_CONFIG as libc::c_ulong, &mut arg as *mut vchiq_get_config) };
        assert_eq!((rc, if rc < 0 { errno() } else { 0 }), (0, 0), "the emulated device answers");
        assert_eq!(config.version, VCHIQ_VERSION as i16);
        assert_eq!(close_fd(fd), 0);
        // Any other descriptor: libc's own.
        let (r, wr) = pipe();
        // SAFETY: writing 3 bytes of a static string to the pipe.
        assert_eq!(unsafe { libc::write(wr, b"abc".as_ptr().cast(), 3) }, 3);
        let mut n: libc::c_int = -1;
        // SAFETY: FIONREAD's argument, live for the call.
        let rc = unsafe { ioctl_time64(r, libc::FIONREAD as libc::c_ulong, &mut n as *mut libc::c_int) };
        assert_eq!((rc, n), (0, 3));
        assert_eq!((close_fd(r), close_fd(wr)), (0, 0));
    }
    println!("child_ioctl_time64_reaches_the_emulated_device: done");
}

/// The read end of the pipe the signal handler duplicates and closes.
static SIGNAL_PIPE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);
/// Signals the handler has run for.
static SIGNALS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Closes a descriptor, as a SIGCHLD or SIGTERM handler may: `close` is
/// async-signal-safe.
extern "C" fn close_a_duplicate(_: libc::c_int) {
    use std::sync::atomic::Ordering;
    // SAFETY: errno is the interrupted thread's; dup and close are
    // async-signal-safe; the duplicate is this handler's own.
    unsafe {
        let saved = *libc::__errno_location();
        let d = libc::dup(SIGNAL_PIPE.load(Ordering::Relaxed));
        if d >= 0 {
            libc::close(d);
        }
        *libc::__errno_location() = saved;
    }
    SIGNALS.fetch_add(1, Ordering::Relaxed);
}

#[test]
fn a_signal_handler_may_close_while_the_device_is_in_use() {
    run_child("child_a_signal_handler_may_close_while_the_device_is_in_use");
}

#[test]
fn child_a_signal_handler_may_close_while_the_device_is_in_use() {
    use std::sync::atomic::{AtomicBool, Ordering};
    if !is_child("child_a_signal_handler_may_close_while_the_device_is_in_use") {
        return;
    }
    let fd = open_device(libc::O_RDWR | libc::O_CLOEXEC);
    let (r, wr) = pipe();
    SIGNAL_PIPE.store(r, Ordering::Relaxed);
    close_a_duplicate(0);
    // SAFETY: a zeroed sigaction with a handler of the right signature and
    // an empty mask; SIGUSR1 is this test's.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = close_a_duplicate as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()), 0);
    }
    // This thread, signalled every 50 µs or so while it makes ioctls on
    // the device (which look it up in the library's table) and on the pipe.
    // SAFETY: pthread_self has no preconditions.
    let target = unsafe { libc::pthread_self() };
    static STOP: AtomicBool = AtomicBool::new(false);
    let signaller = std::thread::spawn(move || {
        while !STOP.load(Ordering::Relaxed) {
            // SAFETY: `target` is the test's thread, alive until it has
            // stopped this loop and joined this thread.
            unsafe { libc::pthread_kill(target, libc::SIGUSR1) };
            std::thread::sleep(Duration::from_micros(50));
        }
    });
    // A deadlock (the handler waiting for the lock this thread holds) ends
    // the run here: the parent's bound fails the test.
    for _ in 0..200_000 {
        assert_eq!(get_config(fd), (0, 0));
        assert_eq!(fionread(r), (0, 0, 0));
    }
    STOP.store(true, Ordering::Relaxed);
    signaller.join().unwrap();
    assert!(SIGNALS.load(Ordering::Relaxed) > 1, "signals were handled");
    // SAFETY: back to the default action.
    unsafe { libc::signal(libc::SIGUSR1, libc::SIG_DFL) };
    assert_eq!((close_fd(fd), close_fd(r), close_fd(wr)), (0, 0, 0));
    println!("child_a_signal_handler_may_close_while_the_device_is_in_use: done");
}

/// AWAIT_COMPLETION into `completions`, with these message buffers.
fn await_into(
    fd: i32,
    completions: &mut [vchiq_completion_data],
    msgbufsize: u32,
    msgbufs: &mut [*mut libc::c_void],
) -> (i32, i32, u32) {
    let mut a = vchiq_await_completion {
        count: completions.len() as u32,
        buf: completions.as_mut_ptr(),
        msgbufsize,
        msgbufcount: msgbufs.len() as u32,
        msgbufs: msgbufs.as_mut_ptr(),
    };
    let (rc, e) = ioctl_ptr(fd, VCHIQ_IOC_AWAIT_COMPLETION, &mut a);
    (rc, e, a.msgbufcount)
}

#[test]
fn a_completion_that_cannot_be_copied_out_is_kept() {
    run_child("child_a_completion_that_cannot_be_copied_out_is_kept");
}

#[test]
fn child_a_completion_that_cannot_be_copied_out_is_kept() {
    if !is_child("child_a_completion_that_cannot_be_copied_out_is_kept") {
        return;
    }
    let fd = open_device(libc::O_RDWR | libc::O_CLOEXEC);
    // A client of version 6 (before CLOSE_DELIVERED): CLOSE_SERVICE returns
    // at once, its completions queued.
    let handle = open_mmal(fd, 6);
    let mut completions = [vchiq_completion_data::default(); 4];
    let (n, e, _) = await_into(fd, &mut completions, 256, &mut []);
    assert_eq!((n, e, completions[0].reason), (1, 0, VCHIQ_SERVICE_OPENED));
    // GET_VERSION; its reply pending once a call with no message buffer
    // stalls on it (returns nothing, as the kernel does).
    let mut m = vec![0u8; H];
    put(&mut m, offset_of!(mmal_msg_header, magic), MMAL_MAGIC);
    put(&mut m, offset_of!(mmal_msg_header, type_), MMAL_MSG_TYPE_GET_VERSION);
    put(&mut m, offset_of!(mmal_msg_header, context), 78);
    let elements = [vchiq_element { data: m.as_ptr().cast(), size: H as u32 }];
    let mut queue = vchiq_queue_message { handle, count: 1, elements: elements.as_ptr() };
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_QUEUE_MESSAGE, &mut queue), (0, 0));
    assert_eq!(await_into(fd, &mut completions, 256, &mut []), (0, 0, 0));
    // A count of message buffers the kernel reads as a negative `int`: no
    // buffer, a stall, and the count not written back (nothing is read
    // from the array, which would be read far past its end).
    let mut one: [*mut libc::c_void; 1] = [std::ptr::null_mut()];
    let mut negative = vchiq_await_completion {
        count: completions.len() as u32,
        buf: completions.as_mut_ptr(),
        msgbufsize: 256,
        msgbufcount: 0x8000_0000,
        msgbufs: one.as_mut_ptr(),
    };
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_AWAIT_COMPLETION, &mut negative), (0, 0));
    assert_eq!(negative.msgbufcount, 0x8000_0000);
    // A receive, then the close: three completions pending, in order (the
    // message, the receive aborted, the service closed).
    let mut data = [0u8; 64];
    let mut bulk = vchiq_queue_bulk_transfer {
        handle,
        data: data.as_mut_ptr().cast(),
        size: 64,
        userdata: 0xB0 as *mut libc::c_void,
        mode: VCHIQ_BULK_MODE_CALLBACK,
    };
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_QUEUE_BULK_RECEIVE, &mut bulk), (0, 0));
    assert_eq!(ioctl_value(fd, VCHIQ_IOC_CLOSE_SERVICE, handle), (0, 0));

    // The last message buffer (the one the message takes) is null: EFAULT,
    // and no buffer counted as used.
    let mut bufs = [[0u8; 256]; 2];
    let mut pointers: Vec<*mut libc::c_void> = bufs.iter_mut().map(|b| b.as_mut_ptr().cast()).collect();
    let mut bad = [pointers[0], std::ptr::null_mut()];
    assert_eq!(await_into(fd, &mut completions, 256, &mut bad), (-1, libc::EFAULT, 2));
    // The next calls get every completion, in order, two at most per call.
    let (n, e, left) = await_into(fd, &mut completions[..2], 256, &mut pointers);
    assert_eq!((n, e, left), (2, 0, 1), "the message and the receive");
    assert_eq!(completions[0].reason, VCHIQ_MESSAGE_AVAILABLE);
    assert_eq!(completions[0].service_userdata as usize, 0x5EED);
    assert_eq!(completions[0].header.cast::<libc::c_void>(), pointers[1], "the last buffer");
    let size = u32::from_ne_bytes(bufs[1][4..8].try_into().unwrap()) as usize;
    assert_eq!(size, H + size_of::<mmal_msg_version>());
    assert_eq!(w(&bufs[1][8..8 + size], offset_of!(mmal_msg_header, context)), 78);
    assert_eq!(completions[1].reason, VCHIQ_BULK_RECEIVE_ABORTED);
    assert_eq!(completions[1].bulk_userdata as usize, 0xB0);
    let (n, e, _) = await_into(fd, &mut completions, 256, &mut pointers);
    assert_eq!((n, e, completions[0].reason), (1, 0, VCHIQ_SERVICE_CLOSED));
    assert_eq!(completions[0].service_userdata as usize, 0x5EED);
    assert_eq!(close_fd(fd), 0);
    println!("child_a_completion_that_cannot_be_copied_out_is_kept: done");
}

/// Limits this process's address space to what it uses now and `extra`
/// bytes more, and tells whether the limit holds (qemu-user ignores it: a
/// 32-bit guest has its own, a 64-bit guest none).
fn limit_address_space(extra: u64) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let limit = kib * 1024 + extra;
    let rlimit = libc::rlimit { rlim_cur: limit as libc::rlim_t, rlim_max: libc::RLIM_INFINITY };
    // SAFETY: setrlimit reads the struct.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &rlimit) }, 0);
    // A reservation of more than `extra` is refused where the limit holds.
    let probe = (extra + (1 << 30)) as usize;
    // SAFETY: an anonymous reservation, unmapped at once if made.
    unsafe {
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        let p = libc::mmap(std::ptr::null_mut(), probe, libc::PROT_NONE, flags, -1, 0);
        if p == libc::MAP_FAILED {
            return true;
        }
        libc::munmap(p, probe);
    }
    false
}

#[test]
fn sizes_from_the_caller_allocate_nothing_they_cannot() {
    run_child("child_sizes_from_the_caller_allocate_nothing_they_cannot");
}

#[test]
fn child_sizes_from_the_caller_allocate_nothing_they_cannot() {
    if !is_child("child_sizes_from_the_caller_allocate_nothing_they_cannot") {
        return;
    }
    let fd = open_device(libc::O_RDWR | libc::O_CLOEXEC);
    let handle = open_mmal(fd, VCHIQ_VERSION);
    let limited = limit_address_space(2 << 30);
    println!("address space limit in force: {limited}");
    // 65536 message buffers of 1 MiB (64 GiB): the caller's, nothing
    // allocated for them; SERVICE_OPENED comes back.
    let mut completions = [vchiq_completion_data::default(); 4];
    let mut a = vchiq_await_completion {
        count: 4,
        buf: completions.as_mut_ptr(),
        msgbufsize: 1 << 20,
        msgbufcount: 1 << 16,
        msgbufs: std::ptr::null_mut(),
    };
    assert_eq!(ioctl_ptr(fd, VCHIQ_IOC_AWAIT_COMPLETION, &mut a), (1, 0));
    assert_eq!(completions[0].reason, VCHIQ_SERVICE_OPENED);
    assert_eq!(a.msgbufcount, 1 << 16, "no buffer used");
    // A receive of almost 4 GiB, more than the process may map (or, on a
    // 32-bit target, more than an allocation can be): ENOMEM. Where the
    // limit does not hold it may be had, and is queued.
    let mut data = [0u8; 64];
    let mut bulk = vchiq_queue_bulk_transfer {
        handle,
        data: data.as_mut_ptr().cast(),
        size: u32::MAX - 15,
        userdata: 0xB0 as *mut libc::c_void,
        mode: VCHIQ_BULK_MODE_CALLBACK,
    };
    let queued = ioctl_ptr(fd, VCHIQ_IOC_QUEUE_BULK_RECEIVE, &mut bulk);
    if limited || size_of::<usize>() == 4 {
        assert_eq!(queued, (-1, libc::ENOMEM));
    } else {
        assert!(queued == (0, 0) || queued == (-1, libc::ENOMEM), "{queued:?}");
    }
    // The instance works on.
    assert_eq!(get_config(fd), (0, 0));
    assert_eq!(close_fd(fd), 0);
    println!("child_sizes_from_the_caller_allocate_nothing_they_cannot: done");
}

#[test]
fn a_descriptor_closed_by_dup2_dup3_or_close_range_ends_its_instance() {
    run_child("child_a_descriptor_closed_by_dup2_dup3_or_close_range_ends_its_instance");
}

#[test]
fn child_a_descriptor_closed_by_dup2_dup3_or_close_range_ends_its_instance() {
    if !is_child("child_a_descriptor_closed_by_dup2_dup3_or_close_range_ends_its_instance") {
        return;
    }
    let (r, wr) = pipe();
    let threads = self::threads();
    // Each way of closing a descriptor behind `close`: the number then
    // leads to the pipe, whose ioctls are the kernel's, and the instance
    // that was there has ended (its VideoCore thread gone).
    for way in ["dup2", "dup3", "close_range"] {
        let fd = open_device(libc::O_RDWR | libc::O_CLOEXEC);
        open_mmal(fd, VCHIQ_VERSION);
        assert_eq!(settled_threads(threads + 1), threads + 1, "{way}: the service's thread");
        // SAFETY: descriptors this test opened; `fd` is replaced or closed.
        let got = unsafe {
            match way {
                "dup2" => libc::dup2(r, fd),
                "dup3" => libc::dup3(r, fd, libc::O_CLOEXEC),
                _ => {
                    // Marking close-on-exec closes nothing.
                    assert_eq!(libc::close_range(fd as u32, fd as u32, libc::CLOSE_RANGE_CLOEXEC as i32), 0);
                    assert_eq!(get_config(fd), (0, 0), "close_range(CLOEXEC) keeps the device");
                    assert_eq!(libc::close_range(fd as u32, fd as u32, 0), 0);
                    // The lowest free number from `fd` on: `fd` itself.
                    libc::fcntl(r, libc::F_DUPFD, fd)
                }
            }
        };
        assert_eq!(got, fd, "{way}");
        assert_eq!(fionread(fd), (0, 0, 0), "{way}: the pipe answers");
        assert_eq!(settled_threads(threads), threads, "{way}: the instance ended");
        assert_eq!(close_fd(fd), 0);
    }
    // dup2 of a descriptor onto itself changes nothing.
    let fd = open_device(libc::O_RDWR | libc::O_CLOEXEC);
    // SAFETY: a descriptor this test opened.
    assert_eq!(unsafe { libc::dup2(fd, fd) }, fd);
    assert_eq!(get_config(fd), (0, 0));
    // A failed dup2 (a bad source) leaves the device in place.
    // SAFETY: as above; 9999 is not open.
    assert_eq!(unsafe { libc::dup2(9999, fd) }, -1);
    assert_eq!(errno(), libc::EBADF);
    assert_eq!(get_config(fd), (0, 0));
    assert_eq!((close_fd(fd), close_fd(r), close_fd(wr)), (0, 0, 0));
    println!("child_a_descriptor_closed_by_dup2_dup3_or_close_range_ends_its_instance: done");
}

#[test]
fn a_descriptor_closed_behind_the_library_is_told_apart() {
    run_child("child_a_descriptor_closed_behind_the_library_is_told_apart");
}

#[test]
fn child_a_descriptor_closed_behind_the_library_is_told_apart() {
    if !is_child("child_a_descriptor_closed_behind_the_library_is_told_apart") {
        return;
    }
    let (r, wr) = pipe();
    // SAFETY: writing 2 bytes of a static string to the pipe.
    assert_eq!(unsafe { libc::write(wr, b"ab".as_ptr().cast(), 2) }, 2);
    let threads = self::threads();
    let fd = open_device(libc::O_RDWR | libc::O_CLOEXEC);
    open_mmal(fd, VCHIQ_VERSION);
    assert_eq!(settled_threads(threads + 1), threads + 1, "the service's thread");
    // The placeholder reads as empty and refuses writes.
    let mut byte = 0u8;
    // SAFETY: reading into and writing from one live byte.
    unsafe {
        assert_eq!(libc::read(fd, (&mut byte as *mut u8).cast(), 1), 0);
        assert_eq!(libc::write(fd, (&byte as *const u8).cast(), 1), -1);
    }
    // A stream over the descriptor, closed: the C library closes the
    // descriptor itself, past the library.
    // SAFETY: a descriptor this test opened; the stream owns it from here,
    // and fclose ends both.
    unsafe {
        let stream = libc::fdopen(fd, c"r".as_ptr());
        assert!(!stream.is_null());
        assert_eq!(libc::fclose(stream), 0);
    }
    // The number reused (the lowest free from `fd` on is `fd`): its ioctls
    // are the pipe's, and the instance that was there ends.
    // SAFETY: duplicating the pipe's read end.
    assert_eq!(unsafe { libc::fcntl(r, libc::F_DUPFD, fd) }, fd);
    assert_eq!(fionread(fd), (0, 0, 2), "the pipe answers");
    assert_eq!(settled_threads(threads), threads, "the instance ended");
    assert_eq!((close_fd(fd), close_fd(r), close_fd(wr)), (0, 0, 0));
    println!("child_a_descriptor_closed_behind_the_library_is_told_apart: done");
}

/// A `vfork`-style child (sharing this process's memory): closes its copy
/// of the descriptor `arg` points to, as a spawning library's child closes
/// what it does not pass on.
extern "C" fn close_in_vfork_child(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's `i32`, alive while the parent waits.
    let fd = unsafe { *arg.cast::<i32>() };
    close_fd(fd)
}

#[test]
fn a_vfork_childs_close_leaves_the_parents_instance() {
    run_child("child_a_vfork_childs_close_leaves_the_parents_instance");
}

#[test]
fn child_a_vfork_childs_close_leaves_the_parents_instance() {
    if !is_child("child_a_vfork_childs_close_leaves_the_parents_instance") {
        return;
    }
    let mut fd = open_device(libc::O_RDWR | libc::O_CLOEXEC);
    assert_eq!(get_config(fd), (0, 0));
    let mut stack = vec![0u8; 256 * 1024];
    // SAFETY: the child runs on `stack` (its top, 16-byte aligned), shares
    // this memory and this process's descriptors' copies, and only closes
    // one; the parent is suspended until it has exited.
    let pid = unsafe {
        let top = stack.as_mut_ptr().add(stack.len()) as usize & !15;
        libc::clone(
            close_in_vfork_child,
            top as *mut libc::c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&mut fd as *mut i32).cast(),
        )
    };
    assert!(pid > 0, "clone: errno {}", errno());
    let mut status = 0;
    // SAFETY: waits for the child just made.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "the child closed its copy: {status:#x}");
    // This process's descriptor is still the device.
    assert_eq!(get_config(fd), (0, 0));
    assert_eq!(close_fd(fd), 0);
    println!("child_a_vfork_childs_close_leaves_the_parents_instance: done");
}

#[test]
fn a_thread_cancelled_in_open_is_cancelled() {
    run_child("child_a_thread_cancelled_in_open_is_cancelled");
}

// libc's `open`, which the library's takes over, declared as it may
// unwind: glibc cancels a thread blocked in it by a forced unwind.
extern "C-unwind" {
    #[link_name = "open"]
    fn open_unwinding(path: *const libc::c_char, flags: libc::c_int, ...) -> libc::c_int;
}

/// A thread's body: opens the FIFO `path` for reading, which blocks until
/// a writer comes (none does).
extern "C-unwind" fn open_fifo(path: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: `path` is a NUL-terminated path the test keeps alive.
    let fd = unsafe { open_unwinding(path.cast(), libc::O_RDONLY) };
    fd as isize as *mut libc::c_void
}

#[test]
fn child_a_thread_cancelled_in_open_is_cancelled() {
    if !is_child("child_a_thread_cancelled_in_open_is_cancelled") {
        return;
    }
    // The library's `open` calls libc's, a cancellation point, outside its
    // own `catch_unwind`, through "C-unwind" frames: the cancelled thread
    // ends as without the library, where under `catch_unwind` glibc's
    // forced unwind would abort the process.
    let dir = std::env::temp_dir().join(format!("vchiq-preload-cancel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = CString::new(dir.join("fifo").to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path and a mode.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let mut thread: libc::pthread_t = 0;
    // SAFETY: `open_fifo` has the start routine's signature, its unwind
    // ABI aside (a start routine may be cancelled); `fifo` outlives the
    // thread, which is joined below.
    let started = unsafe {
        let start: extern "C" fn(*mut libc::c_void) -> *mut libc::c_void =
            std::mem::transmute(open_fifo as extern "C-unwind" fn(*mut libc::c_void) -> *mut libc::c_void);
        libc::pthread_create(&mut thread, std::ptr::null(), start, fifo.as_ptr().cast_mut().cast())
    };
    assert_eq!(started, 0);
    // Cancelled in its open: blocked there, or (cancellation being
    // deferred) on entering it.
    std::thread::sleep(Duration::from_millis(50));
    // SAFETY: `thread` is the thread made above, not yet joined.
    assert_eq!(unsafe { libc::pthread_cancel(thread) }, 0);
    let mut result: *mut libc::c_void = std::ptr::null_mut();
    // SAFETY: as above; joined once.
    assert_eq!(unsafe { libc::pthread_join(thread, &mut result) }, 0);
    // PTHREAD_CANCELED is ((void *) -1).
    assert_eq!(result as isize, -1, "the thread was cancelled in its open");
    std::fs::remove_dir_all(&dir).unwrap();
    println!("child_a_thread_cancelled_in_open_is_cancelled: done");
}

#[test]
fn a_cancel_pending_in_the_librarys_own_part_waits_for_the_callers_next_cancellation_point() {
    run_child("child_a_cancel_pending_in_the_librarys_own_part_waits_for_the_callers_next_cancellation_point");
}

// glibc's, which the `libc` crate does not declare (the states are
// glibc's enum); `pthread_testcancel` may unwind (a forced unwind).
extern "C-unwind" {
    fn pthread_setcancelstate(state: libc::c_int, oldstate: *mut libc::c_int) -> libc::c_int;
    fn pthread_testcancel();
}
const PTHREAD_CANCEL_ENABLE: libc::c_int = 0;
const PTHREAD_CANCEL_DISABLE: libc::c_int = 1;

/// A thread's body: with a cancel pending (deferred, so far held off),
/// asks `/dev/vcsm-cma` (the descriptor in `arg`'s first word) for an
/// allocation whose answer cannot be written back: the library takes the
/// block back, closing its descriptor (a cancellation point). Returns
/// the ioctl's errno, unless cancelled at `pthread_testcancel` after it.
extern "C-unwind" fn alloc_with_a_cancel_pending(arg: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: `arg` points at the descriptor and the read-only request,
    // which the test keeps alive until it has joined this thread.
    let (cma, request) = unsafe { *arg.cast::<(i32, *mut vcsm::vc_sm_cma_ioctl_alloc)>() };
    let mut old = 0;
    // SAFETY: this thread's own cancel state.
    unsafe { pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &mut old) };
    // SAFETY: this thread, not yet joined.
    unsafe { libc::pthread_cancel(libc::pthread_self()) };
    // SAFETY: as above: deferred, so the pending cancel waits for the
    // next cancellation point.
    unsafe { pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &mut old) };
    let (_, e) = ioctl_ptr(cma, vcsm::VC_SM_CMA_IOCTL_MEM_ALLOC, request);
    // SAFETY: a cancellation point of this thread.
    unsafe { pthread_testcancel() };
    e as isize as *mut libc::c_void
}

#[test]
fn child_a_cancel_pending_in_the_librarys_own_part_waits_for_the_callers_next_cancellation_point() {
    if !is_child("child_a_cancel_pending_in_the_librarys_own_part_waits_for_the_callers_next_cancellation_point") {
        return;
    }
    // The library's part runs with cancellation off: its `close` of the
    // block it takes back does not unwind into its `catch_unwind` (which
    // aborted the process); the ioctl answers EFAULT, and the cancel acts
    // at the thread's next cancellation point.
    if !copies_are_checked() {
        println!("child_a_cancel_pending_in_the_librarys_own_part_waits_for_the_callers_next_cancellation_point: done");
        return;
    }
    let cma = open_path("/dev/vcsm-cma", libc::O_RDWR);
    let fds = open_fds();
    let request = read_only_page(vcsm::vc_sm_cma_ioctl_alloc { size: 4096, num: 1, handle: -1, ..Default::default() });
    let mut arg = (cma, request);
    let mut thread: libc::pthread_t = 0;
    // SAFETY: the start routine's signature, its unwind ABI aside (a start
    // routine may be cancelled); `arg` outlives the thread, joined below.
    let started = unsafe {
        let start: extern "C" fn(*mut libc::c_void) -> *mut libc::c_void = std::mem::transmute(
            alloc_with_a_cancel_pending as extern "C-unwind" fn(*mut libc::c_void) -> *mut libc::c_void,
        );
        libc::pthread_create(&mut thread, std::ptr::null(), start, (&raw mut arg).cast())
    };
    assert_eq!(started, 0);
    let mut result: *mut libc::c_void = std::ptr::null_mut();
    // SAFETY: the thread made above, joined once.
    assert_eq!(unsafe { libc::pthread_join(thread, &mut result) }, 0);
    // PTHREAD_CANCELED is ((void *) -1).
    assert_eq!(result as isize, -1, "cancelled after the ioctl, at pthread_testcancel");
    assert_eq!(open_fds(), fds, "the allocation was taken back");
    // SAFETY: the page `read_only_page` mapped.
    assert_eq!(unsafe { libc::munmap(request.cast(), 4096) }, 0);
    assert_eq!(close_fd(cma), 0);
    println!("child_a_cancel_pending_in_the_librarys_own_part_waits_for_the_callers_next_cancellation_point: done");
}
