//! A preload library that serves `/dev/vchiq` and `/dev/vcsm-cma` from the
//! software VideoCore to any program.
//!
//! ```text
//! LD_PRELOAD=target/debug/libvchiq_preload.so my-mmal-program
//! ```
//!
//! The library defines `open`, `open64`, `openat`, `openat64` (and glibc's
//! fortified `__open_2`, `__open64_2`, `__openat_2`, `__openat64_2`),
//! `ioctl` (and on 32-bit targets `__ioctl_time64`, glibc's `ioctl` for a
//! program built with 64-bit `time_t`), `close`, and the other calls that
//! close a descriptor, `dup2`, `dup3` and `close_range`; besides those only
//! the `vchiq_preload_emu_*` controls of its software VideoCore, for test
//! suites (see `controls`): no MMAL or VCSM symbol, so a program's own
//! libraries are never displaced. An open of `/dev/vchiq` or `/dev/vcsm-cma` (the path
//! exactly as given, or absolute under `openat`) returns a real, unique
//! descriptor (of an empty, sealed memfd named after the device, so
//! `/proc/self/fd` shows `/memfd:/dev/vchiq (deleted)`, with the caller's
//! `O_CLOEXEC`; `/dev/null` where the kernel has no memfd), behind which
//! the emulated device answers every ioctl. Each ioctl is decoded for the ABI the library is
//! built for (the `vchiq-sys` and `vcsm-sys` request numbers and structs:
//! LP64 on x86_64 and aarch64, ILP32 on 32-bit ARM), and its results are
//! written into the caller's structs as the kernel writes them; errors are
//! `-1` with `errno`, an unknown request `ENOTTY`. The requests the kernel
//! answers for any file (`FIOCLEX`, `FIONCLEX`, `FIONBIO`, `FIOASYNC`) go
//! to the real file behind the descriptor. A thread
//! cancelled in `open` or `close` (cancellation points) is cancelled as
//! without the library: libc's call is made outside the library's own
//! panic guard, through `"C-unwind"` frames; inside it, cancellation is
//! off (a pending cancel acts at the caller's next cancellation point, as
//! after the kernel's own answer). Every other path,
//! descriptor and request goes to libc's own function (looked up once with
//! `dlsym(RTLD_NEXT)`), untouched.
//!
//! * `/dev/vchiq`: one emulated driver instance per open
//!   ([`vchiq_emu::EmulatedVchiq`], serving the firmware's MMAL service
//!   from the `mmal-emu` components), as the kernel gives each open its
//!   own; `close` ends it (its services closed, their components
//!   destroyed, a thread waiting in AWAIT_COMPLETION woken).
//! * `/dev/vcsm-cma`: ALLOC and IMPORT_DMABUF give dma-bufs of the emulated
//!   VideoCore memory, the memory the emulated VideoCore's zero copy reads
//!   and writes by VideoCore handle; the program's `mmap` of a dma-buf maps
//!   the block itself (it is the block's memfd), and `close` frees it.
//!
//! Not emulated: VCHI-style and listening services, blocking bulk
//! transfers (`EINVAL`), GET_CLIENT_ID and SET_SERVICE_OPTION (`ENOTTY`); a
//! `dup` of a descriptor is a duplicate of the placeholder (or of the
//! block's memfd), not of the instance; an open the C library makes internally (`fopen`)
//! and a `stat` of the node are not seen (so a program that looks for the
//! node before opening it does not find it); a descriptor closed by the C
//! library itself (`fclose` of an `fdopen`ed stream, `closefrom`) keeps its
//! instance until the next `ioctl` or `close` of its number, which finds
//! another file there (each placeholder is a file of its own) and ends it.
//! A
//! descriptor inherited across `fork` is unusable in the child (`EIO`; the
//! emulated VideoCore lives in the parent's memory) and its `close` only
//! closes it; a process forked after its parent's first open of either
//! device cannot open one itself (`ENODEV`, and a line on the standard
//! error that says why: the parent's threads, which the VideoCore's state
//! and locks belong to, are not in the child), where a Pi would let it.
//! Fork before the first open, or exec (Python's `multiprocessing`: the
//! `spawn` or `forkserver` start method).
//!
//! `close` and `ioctl` on any other descriptor take no lock (they are
//! async-signal-safe, as POSIX makes them), and a `vfork` child's `close`
//! of its copy leaves the parent's instance alone. A size the caller gives
//! (a bulk receive's, the message buffers') allocates nothing that cannot
//! be had: a receive too large to allocate fails with `ENOMEM`, and the
//! message buffers are the caller's own. The caller's memory is read and
//! written as the kernel's user copies do it, through `process_vm_readv` and
//! `process_vm_writev`: a pointer to memory that is not there (or not
//! writable) gives `EFAULT`, not a crash (where those calls are not to be
//! had, as under qemu-user, only a null pointer is caught).
//!
//! This crate has no Rust API: it is built as a `cdylib` (its rlib exists
//! only so that cargo builds it before the tests).
#![deny(unsafe_code)]

// The modules, each using only those above it: the unsafe primitives, the
// descriptor table, the two devices, the dispatch, the exported functions
// and the emulated VideoCore's controls.
mod cma;
mod controls;
mod dispatch;
mod exports;
mod sys;
mod table;
mod vchiq;
