//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::{Mutex, MutexGuard, Once, PoisonError};

use vcsm::{DriverKind, ServiceManager};

/// The emulated VideoCore's manager. These tests describe the emulator, so
/// they select it unless the environment already chose.
pub fn emulated() -> &'static ServiceManager {
    static SELECT: Once = Once::new();
    SELECT.call_once(|| {
        if std::env::var_os("VIDEOCORE").is_none() {
            std::env::set_var("VIDEOCORE", "emulated");
        }
    });
    let manager = ServiceManager::get().expect("the emulated VideoCore opens");
    assert_eq!(
        manager.driver(),
        DriverKind::Emulated,
        "these tests need the emulated VideoCore: unset VIDEOCORE or set VIDEOCORE=emulated"
    );
    manager
}

/// Serialises tests that read process-wide counts (descriptors, mappings,
/// the emulated pool) within one test binary.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Open descriptors of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

/// Memory mappings of this process.
pub fn mapping_count() -> usize {
    std::fs::read_to_string("/proc/self/maps").expect("/proc/self/maps").lines().count()
}

/// Free bytes of the emulated pool.
pub fn pool_free() -> u64 {
    emulated().stats().pool_free.expect("the emulated pool reports its free bytes")
}

/// Descriptors, block mappings, pool free bytes and live blocks, for
/// before/after comparisons. (The process's total mapping count also moves
/// when the test harness starts or ends a thread, so it is only compared by
/// tests that are alone in their binary.)
#[derive(Debug, PartialEq, Eq)]
pub struct Resources {
    pub fds: usize,
    pub block_mappings: usize,
    pub pool_free: u64,
    pub live: u64,
}

pub fn resources() -> Resources {
    Resources {
        fds: fd_count(),
        block_mappings: block_mapping_count(),
        pool_free: pool_free(),
        live: emulated().stats().live_allocations,
    }
}

/// Mappings of emulated blocks (their memfds are named `vcsm:<name>`).
/// Unlike [`mapping_count`], unaffected by the thread stacks and malloc
/// arenas the C library keeps after threads exit.
pub fn block_mapping_count() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .expect("/proc/self/maps")
        .lines()
        .filter(|line| line.contains("/memfd:vcsm:"))
        .count()
}
