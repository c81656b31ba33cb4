//! Tests of the emulator's inside that go through its C entry points: the
//! core's races, laid out with pause points, and the worker's failure
//! containment. Above every module they use (a crate-level module, so
//! that no module below imports the table above it).

mod races;
mod worker;
