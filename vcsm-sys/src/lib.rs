//! Raw kernel ABI of the Raspberry Pi VideoCore shared memory (VCSM) drivers.
//!
//! Two drivers exist:
//!
//! * **vc-sm-cma** (`/dev/vcsm-cma`, ioctl magic `'J'`): every kernel from 5.4
//!   on, 32- and 64-bit. An allocation *is* a dma-buf file descriptor; CPU
//!   access is `mmap` plus [`DMA_BUF_IOCTL_SYNC`].
//! * **legacy vc-sm** (`/dev/vcsm`, ioctl magic `'I'`): kernels up to 5.4,
//!   usable from 32-bit user space only (its structs carry 32-bit addresses).
//!
//! The items keep the kernel's names. Structs come from the project's own
//! header (`include/vcsm_abi.h`) through `cargo xtask bindgen`, committed once
//! per ABI: 32-bit ARM and 64-bit (LP64). Each generated struct carries
//! compile-time assertions of its size, alignment and field offsets, and the
//! crate's tests pin them again to the published figures. Request numbers are
//! computed from the `_IOC` encoding in [`ioctl`](crate#request-numbers).
//!
//! This crate has no dependencies and is `no_std`. The safe API is the `vcsm`
//! crate.
//!
//! # Request numbers
//!
//! [`VC_SM_CMA_IOCTL_MEM_ALLOC`], [`VMCS_SM_IOCTL_MEM_ALLOC`],
//! [`DMA_BUF_IOCTL_SYNC`] and the rest are `u32` constants named like the
//! kernel macros. Pass them to `ioctl(2)` converted to the C library's request
//! type (`c_ulong` on glibc, `c_int` on musl).
#![no_std]
#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case)]

#[cfg(target_arch = "arm")]
#[allow(missing_docs, unreachable_pub, unsafe_op_in_unsafe_fn, clippy::all, clippy::undocumented_unsafe_blocks)]
#[rustfmt::skip]
mod bindings {
    include!("bindings/arm.rs");
}

#[cfg(all(not(target_arch = "arm"), target_pointer_width = "64"))]
#[allow(missing_docs, unreachable_pub, unsafe_op_in_unsafe_fn, clippy::all, clippy::undocumented_unsafe_blocks)]
#[rustfmt::skip]
mod bindings {
    include!("bindings/lp64.rs");
}

#[cfg(not(any(target_arch = "arm", target_pointer_width = "64")))]
compile_error!(
    "vcsm-sys has bindings for 32-bit ARM and for 64-bit targets only; \
     add a target to xtask/src/main.rs and run `cargo xtask bindgen`"
);

pub use bindings::*;

mod ioctl;
pub use ioctl::*;
