//! vcos's exports, called in process through their C ABI.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_uint};
use std::mem::{offset_of, size_of};

use super::*;

thread_local! {
    /// Lines written on this thread while a test captures them.
    static CAPTURED: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// Takes `line` if this thread is capturing (see [`captured`]).
pub(super) fn capture(line: &[u8]) -> bool {
    CAPTURED.with(|c| match c.borrow_mut().as_mut() {
        Some(out) => {
            out.extend_from_slice(line);
            true
        }
        None => false,
    })
}

/// What `f` writes through the log, on this thread.
fn captured(f: impl FnOnce()) -> String {
    CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
    f();
    let out = CAPTURED.with(|c| c.borrow_mut().take()).unwrap_or_default();
    String::from_utf8(out).unwrap()
}

// The exported names, as a C program declares them (the variadic ones
// reach the naked trampolines and varargs.c).
extern "C" {
    #[link_name = "vcos_log_impl"]
    fn c_vcos_log_impl(cat: *const VcosLogCat, level: u32, fmt: *const c_char, ...);
    #[link_name = "vcos_log_register"]
    fn c_vcos_log_register(name: *const c_char, cat: *mut VcosLogCat);
    #[link_name = "vcos_log_unregister"]
    fn c_vcos_log_unregister(cat: *mut VcosLogCat);
    #[link_name = "vcos_pthreads_map_error"]
    fn c_vcos_pthreads_map_error(error: c_int) -> u32;
    #[link_name = "vcos_string_to_log_level"]
    fn c_vcos_string_to_log_level(text: *const c_char, level: *mut u32) -> u32;
}

#[test]
fn category_layout_is_vcos_logging_h() {
    // level, name, next, flags (one unsigned int of bit fields), refcount,
    // platform_data: 24 bytes with 4-byte pointers, 40 with 8-byte ones.
    #[cfg(target_pointer_width = "32")]
    let expected = (0, 4, 8, 12, 16, 20, 24);
    #[cfg(target_pointer_width = "64")]
    let expected = (0, 8, 16, 24, 28, 32, 40);
    assert_eq!(
        (
            offset_of!(VcosLogCat, level),
            offset_of!(VcosLogCat, name),
            offset_of!(VcosLogCat, next),
            offset_of!(VcosLogCat, flags),
            offset_of!(VcosLogCat, refcount),
            offset_of!(VcosLogCat, platform_data),
            size_of::<VcosLogCat>(),
        ),
        expected
    );
    assert_eq!(size_of::<Category>(), size_of::<VcosLogCat>());
}

#[test]
fn level_words_are_vcos_string_to_log_level() {
    for (word, level) in [
        (&b"never"[..], VCOS_LOG_NEVER),
        (b"error", VCOS_LOG_ERROR),
        (b"warn", VCOS_LOG_WARN),
        (b"warning", VCOS_LOG_WARN),
        (b"info", VCOS_LOG_INFO),
        (b"trace", VCOS_LOG_TRACE),
    ] {
        assert_eq!(level_from_name(word), Some(level));
    }
    for word in [&b""[..], b"uninit", b"Error", b"debug", b"trace "] {
        assert_eq!(level_from_name(word), None);
    }
    let mut level = 0;
    // SAFETY: NUL-terminated strings and a writable level.
    unsafe {
        assert_eq!(c_vcos_string_to_log_level(c"warning".as_ptr(), &mut level), status::VCOS_SUCCESS);
        assert_eq!(level, VCOS_LOG_WARN);
        assert_eq!(c_vcos_string_to_log_level(c"loud".as_ptr(), &mut level), status::VCOS_EINVAL);
        assert_eq!(level, VCOS_LOG_WARN);
        assert_eq!(c_vcos_string_to_log_level(std::ptr::null(), &mut level), status::VCOS_EINVAL);
    }
    let names: Vec<_> = (0..7).map(|l| level_name(l).to_str().unwrap()).collect();
    assert_eq!(names, ["uninit", "never", "error", "warn", "info", "trace", "???"]);
}

#[test]
fn vc_loglevel_is_read_as_vcos_reads_it() {
    use EnvLevel::*;
    let read = |env: &str, name: &str| level_from_env(env.as_bytes(), name.as_bytes());
    assert_eq!(read("mmal:trace", "mmal"), Set(VCOS_LOG_TRACE));
    assert_eq!(read("ilcs:info,mmal:warn", "mmal"), Set(VCOS_LOG_WARN));
    assert_eq!(read("ilcs:info,mmal:warn", "ilcs"), Set(VCOS_LOG_INFO));
    assert_eq!(read("ilcs:info,mmal:warn", "RaspiStill"), Unmentioned);
    // White space before each token; a trailing comma ends the list.
    assert_eq!(read(" ilcs:info, mmal: never,", "mmal"), Set(VCOS_LOG_NEVER));
    // The first entry for a name wins, and what follows it is not read.
    assert_eq!(read("mmal:error,mmal:trace", "mmal"), Set(VCOS_LOG_ERROR));
    assert_eq!(read("mmal:error,!!", "mmal"), Set(VCOS_LOG_ERROR));
    // Names are letters, digits and `_`; case matters.
    assert_eq!(read("Raspi_Vid2:info", "Raspi_Vid2"), Set(VCOS_LOG_INFO));
    assert_eq!(read("MMAL:info", "mmal"), Unmentioned);
    // Malformed before the entry: the level stays.
    assert_eq!(read("mmal", "mmal"), Invalid { at: vec![], level: Some(vec![]) });
    assert_eq!(read("", "mmal"), Invalid { at: vec![], level: Some(vec![]) });
    assert_eq!(read("mmal:loud,x:info", "mmal"), Invalid { at: b"x:info".to_vec(), level: Some(b"loud".to_vec()) });
    assert_eq!(read("mm-al:info", "mm-al"), Invalid { at: b"mm-al:info".to_vec(), level: None });
    assert_eq!(read("ilcs:info;mmal:trace", "mmal"), Invalid { at: b"info;mmal:trace".to_vec(), level: None });
    // A name of 63 characters is read, one of 64 is not; a level word of 16
    // is not either.
    let long = "a".repeat(63);
    assert_eq!(read(&format!("{long}:info"), &long), Set(VCOS_LOG_INFO));
    let longer = "a".repeat(64);
    assert!(matches!(read(&format!("{longer}:info"), &longer), Invalid { level: None, .. }));
    assert!(matches!(read("mmal:tracetracetracetr", "mmal"), Invalid { level: None, .. }));
}

#[test]
fn registration_names_links_counts_and_applies_vc_loglevel() {
    // The only test that sets VC_LOGLEVEL (the others do not read it).
    std::env::set_var(LOG_LEVEL_VAR, "other:info,test_cat:warn");
    let mut cat = VcosLogCat::ZERO;
    let mut quiet = VcosLogCat::ZERO;
    quiet.level = VCOS_LOG_NEVER;
    // SAFETY: live categories and static names, unregistered before they
    // go.
    unsafe {
        c_vcos_log_register(c"test_cat".as_ptr(), &mut cat);
        c_vcos_log_register(c"test_quiet".as_ptr(), &mut quiet);
    }
    assert_eq!(cat.level, VCOS_LOG_WARN, "VC_LOGLEVEL's entry");
    assert_eq!(quiet.level, VCOS_LOG_NEVER, "a level set before stays without an entry");
    assert_eq!(cat.flags & WANT_PREFIX, WANT_PREFIX);
    assert_eq!(cat.refcount, 1);
    // SAFETY: a live, registered category.
    unsafe { c_vcos_log_register(c"test_cat".as_ptr(), &mut cat) };
    assert_eq!(cat.refcount, 2);
    {
        let head = REGISTRY.lock();
        let mut names = Vec::new();
        let mut at = head.0;
        while !at.is_null() {
            // SAFETY: registered categories are live.
            unsafe {
                names.push(CStr::from_ptr((*at).name).to_str().unwrap().to_owned());
                at = (*at).next;
            }
        }
        assert_eq!(names.iter().filter(|n| *n == "test_cat").count(), 1);
        assert!(names.contains(&"default".to_owned()));
    }
    // SAFETY: as above.
    unsafe {
        c_vcos_log_unregister(&mut cat);
        assert_eq!(cat.refcount, 1);
        c_vcos_log_unregister(&mut cat);
        assert_eq!(cat.refcount, 0);
        c_vcos_log_unregister(&mut cat);
        assert_eq!(cat.refcount, 0, "unregistering again does nothing");
        c_vcos_log_unregister(&mut quiet);
    }
    let head = REGISTRY.lock();
    let mut at = head.0;
    while !at.is_null() {
        assert!(!std::ptr::eq(at, &cat) && !std::ptr::eq(at, &quiet));
        // SAFETY: registered categories are live.
        at = unsafe { (*at).next };
    }
    drop(head);
    // NULLs are refused without a crash.
    // SAFETY: NULL arguments.
    unsafe {
        c_vcos_log_register(std::ptr::null(), &mut cat);
        c_vcos_log_register(c"x".as_ptr(), std::ptr::null_mut());
        c_vcos_log_unregister(std::ptr::null_mut());
    }
    assert_eq!(cat.refcount, 0);
}

#[test]
fn the_default_category_has_no_prefix() {
    let cat = vcos_log_get_default_category();
    // SAFETY: the library's static.
    let cat = unsafe { &*cat };
    // SAFETY: its name is a static C string.
    assert_eq!(unsafe { CStr::from_ptr(cat.name) }, c"default");
    assert_eq!(cat.flags & WANT_PREFIX, 0);
    assert!(cat.level >= VCOS_LOG_ERROR);
}

#[test]
fn messages_are_formatted_by_c_and_prefixed_with_the_category() {
    let mut cat = VcosLogCat::ZERO;
    cat.name = c"RaspiStill".as_ptr();
    cat.flags = WANT_PREFIX;
    let out = captured(|| {
        // SAFETY: a live category, a NUL-terminated format and arguments
        // of the types it names (more than the argument registers hold,
        // and a double, so some travel on the stack and in FP registers).
        unsafe {
            c_vcos_log_impl(
                &cat,
                VCOS_LOG_ERROR,
                c"%s: %d %u %.2f %c %x %ld %s %d %d".as_ptr(),
                c"main".as_ptr(),
                -7 as c_int,
                42 as c_uint,
                2.5f64,
                b'z' as c_int,
                255 as c_uint,
                -1_000_000_000_i64 as std::ffi::c_long,
                c"end".as_ptr(),
                8 as c_int,
                9 as c_int,
            );
        }
    });
    assert_eq!(out, "RaspiStill: main: -7 42 2.50 z ff -1000000000 end 8 9\n");
    cat.flags = 0;
    // SAFETY: as above; no arguments; then NULL category and format.
    let out = captured(|| unsafe {
        c_vcos_log_impl(&cat, VCOS_LOG_TRACE, c"no prefix, 100%% plain".as_ptr());
        c_vcos_log_impl(std::ptr::null(), VCOS_LOG_ERROR, c"dropped".as_ptr());
        c_vcos_log_impl(&cat, VCOS_LOG_ERROR, std::ptr::null());
    });
    assert_eq!(out, "no prefix, 100% plain\n");
    // Long messages are not cut.
    let long = "x".repeat(5000);
    let text = std::ffi::CString::new(long.clone()).unwrap();
    // SAFETY: as above.
    let out = captured(|| unsafe { c_vcos_log_impl(&cat, VCOS_LOG_ERROR, c"%s".as_ptr(), text.as_ptr()) });
    assert_eq!(out, format!("{long}\n"));
}

#[test]
fn errno_values_map_as_vcos_pthreads_does() {
    for (errno, status) in [
        (errno::ENOMEM, status::VCOS_ENOMEM),
        (errno::ENXIO, status::VCOS_ENXIO),
        (errno::EAGAIN, status::VCOS_EAGAIN),
        (errno::ENOSPC, status::VCOS_ENOSPC),
        (0, status::VCOS_EINVAL),
        (1, status::VCOS_EINVAL),
        (22, status::VCOS_EINVAL),
        (-1, status::VCOS_EINVAL),
    ] {
        // SAFETY: a plain value.
        assert_eq!(unsafe { c_vcos_pthreads_map_error(errno) }, status, "errno {errno}");
    }
    // The calling thread's errno, as the inline vcos_semaphore_create
    // leaves it when sem_init fails.
    for (errno, status) in
        [(errno::ENOSPC, status::VCOS_ENOSPC), (errno::ENOMEM, status::VCOS_ENOMEM), (2, status::VCOS_EINVAL)]
    {
        // SAFETY: glibc's errno of this thread, a live int.
        unsafe { *__errno_location() = errno };
        assert_eq!(vcos_pthreads_map_errno(), status, "errno {errno}");
    }
}

extern "C" {
    /// glibc's `errno`.
    fn __errno_location() -> *mut c_int;
}

#[test]
fn microseconds_are_the_wall_clock() {
    let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as u64;
    let now = vcos_getmicrosecs64_internal();
    // The same clock, in microseconds (not milliseconds or seconds): within
    // an hour of the wall clock read just before, whatever the machine's
    // load.
    assert!(now.abs_diff(wall) < 3_600_000_000, "{now} against {wall}");
}
