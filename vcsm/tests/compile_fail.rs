//! The type system keeps CPU access inside a block's lifetime, and the
//! device side's writes behind `unsafe` (the `device-access` feature is on
//! for this crate's tests through its dev-dependency on itself, and trybuild
//! builds the cases with the test's features).
//! (trybuild drives cargo, so this runs on the build host, not under qemu.)
#![cfg(not(target_arch = "arm"))]

#[test]
fn lifetimes_are_enforced() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
