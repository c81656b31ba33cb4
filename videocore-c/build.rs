//! Compiles the variadic half of libvcos's logging (`src/vcos/varargs.c`):
//! stable Rust can neither define a C-variadic function nor read a
//! `va_list` (see `src/vcos/trampolines.rs`).

fn main() {
    println!("cargo:rerun-if-changed=src/vcos/varargs.c");
    cc::Build::new().file("src/vcos/varargs.c").warnings(true).extra_warnings(true).compile("videocore_vcos_varargs");
}
