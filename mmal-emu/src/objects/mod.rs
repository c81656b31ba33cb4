//! The C-visible objects (components, ports, formats, pools, queues, buffer
//! headers, connections) and the raw pointers between them.
//!
//! Every object a client sees is a `#[repr(C)]` box whose first field is
//! the public MMAL struct, so the pointer the client holds is also the
//! pointer to the box. Components, ports, pools, queues and connections are
//! listed while live, and every pointer a C caller passes is looked up and
//! pinned before it is used (`live.rs`); buffer headers are
//! trusted, as libmmal trusts them. The public structs are read and written
//! one field at a time through raw pointers, never through a reference to
//! the whole (the client writes them too, from its own threads).
//!
//! | file | what it holds |
//! | --- | --- |
//! | `live.rs` | the live-object registry: listing, lookup and pins |
//! | `buffers.rs` | buffer headers and [`BufPtr`] |
//! | `queues.rs` | queues ([`QueueBox`]), the client's included |
//! | `pools.rs` | pools ([`PoolPtr`]), payload allocation, the cap on heap payload bytes |
//! | `components.rs` | components ([`ComponentPtr`]) with their ports ([`PortPtr`]), formats and client port callbacks |
//! | `connections.rs` | connections ([`ConnectionPtr`]) |
//! | `events.rs` | event payloads that hold C structs (FORMAT_CHANGED) |
//!
//! Imports point one way: `live` knows no kind of object (a box it lists
//! is only `Pinned`: a pin count and how to free it); a buffer header goes
//! home through the function its pool set in it, so `buffers` imports none
//! of the others; `queues` imports `buffers` and `live`; `pools` imports
//! those three; `components` imports `buffers` and `live`; `connections`
//! imports all but `events`; `events` imports `buffers`. Above them all,
//! the core's state of a component is held as an opaque [`CoreState`].
//!
//! The emulator's `unsafe` code is in these private modules (all but
//! `mod.rs` itself), each block with its `// SAFETY:` comment; in `abi.rs`
//! and `c_api.rs` (the C entry points); in the video encoder's calls into
//! OpenH264 (`components/video_encode.rs`); and in the crate's tests
//! (`tests/`), which play a C caller. Other modules reach
//! the objects through the re-exports below, never their fields.
#![allow(unsafe_code)]

mod buffers;
mod components;
mod connections;
mod events;
mod live;
mod pools;
mod queues;

pub(crate) use buffers::{BufPtr, PreReleaseCb};
pub(crate) use components::{Callback, ComponentPtr, CoreState, PortPtr};
#[cfg(feature = "vchiq")]
pub(crate) use components::{EsFormat, PortFields};
pub(crate) use connections::{connection_input_cb, connection_output_cb, ConnectionPtr};
#[cfg(feature = "vchiq")]
pub(crate) use events::read_format_changed_es;
pub(crate) use events::{format_changed_payload, read_format_changed, write_format_changed};
pub(crate) use live::Live;
pub(crate) use pools::{
    free_port_payload, keep_port_payload, payload_limit, vcsm_block, AllocFn, Allocator, ClientAllocator, FreeFn,
    HeapCharge, PoolCb, PoolPtr, PortPayload, ZeroedBlock,
};
#[cfg(feature = "vchiq")]
pub(crate) use pools::{lend_payload, read_payload, vcsm_handle, Loan, LoanTicket, Read};
pub(crate) use queues::QueueBox;

use std::sync::atomic::{AtomicUsize, Ordering};

use mmal_sys as sys;

pub(crate) type Status = sys::MMAL_STATUS_T;

static COMPONENTS: AtomicUsize = AtomicUsize::new(0);
pub(crate) static THREADS: AtomicUsize = AtomicUsize::new(0);
static POOLS: AtomicUsize = AtomicUsize::new(0);
static CONNECTIONS: AtomicUsize = AtomicUsize::new(0);

/// What the emulator holds right now: for leak checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Usage {
    /// Components created and not yet destroyed.
    pub components: usize,
    /// Worker threads running.
    pub threads: usize,
    /// Buffer pools (client pools, tunnel pools and event pools).
    pub pools: usize,
    /// Connections.
    pub connections: usize,
    /// Bytes of payload on the heap: pools' (the client's, the ports', the
    /// connections') and `mmal_port_payload_alloc`'s, which count against
    /// the emulated VideoCore's memory. VCSM blocks are not counted here
    /// (see `vcsm::ServiceManager::stats`).
    pub heap_payload_bytes: usize,
}

/// Counts the emulator's live objects.
pub(crate) fn usage() -> Usage {
    Usage {
        components: COMPONENTS.load(Ordering::SeqCst),
        threads: THREADS.load(Ordering::SeqCst),
        pools: POOLS.load(Ordering::SeqCst),
        connections: CONNECTIONS.load(Ordering::SeqCst),
        heap_payload_bytes: pools::heap_payload_bytes(),
    }
}
