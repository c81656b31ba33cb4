//! The type system keeps CPU access inside a block's lifetime.
//! (trybuild drives cargo, so this runs on the build host, not under qemu.)
#![cfg(not(target_arch = "arm"))]

#[test]
fn lifetimes_are_enforced() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
