//! The exported names of libvcos's variadic functions. Stable Rust cannot
//! define a C-variadic function (nor read a `va_list`), so each of these
//! is a naked function whose whole body is one jump to the C function of
//! the same signature in `varargs.c`: no prologue, so the arguments (in
//! registers and on the stack, however many the caller passed) reach the C
//! function as the caller laid them out, and it returns straight to the
//! caller. The C functions are hidden; these names are the library's.
//!
//! For the architectures the software VideoCore is built for: x86-64,
//! 32-bit ARM and AArch64.

extern "C" {
    fn videocore_vcos_log_impl();
    fn videocore_vcos_vlog_impl();
    fn videocore_vcos_logging_assert();
}

/// Emits a naked function `$name` that jumps to `$target`.
macro_rules! trampoline {
    ($(#[$doc:meta])* $name:ident => $target:ident) => {
        $(#[$doc])*
        ///
        /// # Safety
        ///
        /// Called from C with the C signature above; never from Rust.
        #[no_mangle]
        // SAFETY (naked): the body is one jump and nothing else, which
        // keeps every argument register, the stack and the return address
        // as the caller left them for the C function of the same signature.
        #[unsafe(naked)]
        pub unsafe extern "C" fn $name() {
            #[cfg(target_arch = "x86_64")]
            core::arch::naked_asm!("jmp {f}", f = sym $target);
            #[cfg(any(target_arch = "arm", target_arch = "aarch64"))]
            core::arch::naked_asm!("b {f}", f = sym $target);
        }
    };
}

trampoline! {
    /// `void vcos_log_impl(const VCOS_LOG_CAT_T *cat, VCOS_LOG_LEVEL_T level,
    /// const char *fmt, ...)`: writes the message `fmt` and its arguments
    /// make to standard error, after `cat`'s name and ": " if the category
    /// wants a prefix (every registered category but the default one), and
    /// a newline, as vcos's default log function on Linux does. The level
    /// is not checked (vcos's logging macros check it before calling);
    /// nothing is written for a NULL category or format.
    vcos_log_impl => videocore_vcos_log_impl
}

trampoline! {
    /// `void vcos_vlog_impl(const VCOS_LOG_CAT_T *cat, VCOS_LOG_LEVEL_T level,
    /// const char *fmt, va_list args)`: [`vcos_log_impl`] with the
    /// arguments in a `va_list`.
    vcos_vlog_impl => videocore_vcos_vlog_impl
}

trampoline! {
    /// `void vcos_pthreads_logging_assert(const char *file, const char *func,
    /// unsigned int line, const char *fmt, ...)`, which vcos's `vcos_assert`
    /// and `vcos_demand` call when their condition fails: writes
    /// `assertion failure:FILE:LINE:FUNC():MESSAGE` and a newline to
    /// standard error and aborts the process, as vcos on Linux does.
    vcos_pthreads_logging_assert => videocore_vcos_logging_assert
}
