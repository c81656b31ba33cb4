//! How a camera's timestamps (microseconds since it was enabled) map to the
//! host's clocks: what [`Camera`](crate::Camera) learns when it starts, and
//! every frame it hands out carries.

use std::time::{Duration, SystemTime};

/// How the camera's timestamps (microseconds since it was enabled) map to
/// the host's clocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Clock {
    /// `CLOCK_MONOTONIC` when the camera's clock read 0.
    monotonic_at_zero: Duration,
    /// The wall clock at that moment.
    wall_at_zero: SystemTime,
}

impl Clock {
    /// The clock whose 0 was at `monotonic_at_zero` on `CLOCK_MONOTONIC`
    /// and `wall_at_zero` on the wall clock.
    pub(crate) fn new(monotonic_at_zero: Duration, wall_at_zero: SystemTime) -> Clock {
        Clock { monotonic_at_zero, wall_at_zero }
    }

    pub(crate) fn monotonic(&self, timestamp: Duration) -> Duration {
        self.monotonic_at_zero + timestamp
    }

    pub(crate) fn wall(&self, timestamp: Duration) -> SystemTime {
        self.wall_at_zero + timestamp
    }
}
