//! Parameters that carry a VideoCore handle cannot outlive the memory it
//! names. (trybuild drives cargo, so this runs on the build host, not under
//! qemu.)
#![cfg(not(target_arch = "arm"))]

#[test]
fn handles_cannot_outlive_their_memory_and_ports_are_named() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
