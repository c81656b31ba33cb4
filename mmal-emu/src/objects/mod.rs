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
//!
//! | file | what it holds |
//! | --- | --- |
//! | `live.rs` | the live-object registry: listing, lookup and pins |
//! | `buffers.rs` | buffer headers and [`BufPtr`] |
//! | `queues.rs` | queues ([`QueueBox`]), the client's included |
//! | `pools.rs` | pools ([`PoolPtr`]), payload allocation, the cap on heap payload bytes |
//! | `ports.rs` | ports ([`PortPtr`]) and their formats |
//! | `components.rs` | components ([`ComponentPtr`]) and client port callbacks |
//! | `connections.rs` | connections ([`ConnectionPtr`]) |
//! | `events.rs` | event payloads that hold C structs (FORMAT_CHANGED) |
//!
//! The emulator's `unsafe` code is in these private modules (all but
//! `mod.rs` itself), each block with its `// SAFETY:` comment; in `abi.rs`
//! and `c_api.rs` (the C entry points); and in the few places that declare
//! it (`core/worker.rs`, `components/video_encode.rs`). Other modules reach
//! the objects through the re-exports below, never their fields.
#![allow(unsafe_code)]

mod buffers;
mod components;
mod connections;
mod events;
mod live;
mod pools;
mod ports;
mod queues;

pub(crate) use buffers::{BufPtr, PreReleaseCb};
pub(crate) use components::{Callback, ComponentPtr};
pub(crate) use connections::{connection_input_cb, connection_output_cb, ConnectionPtr};
pub(crate) use events::{format_changed_payload, read_format_changed, write_format_changed};
pub(crate) use live::Live;
pub(crate) use pools::{
    payload_limit, AllocFn, Allocator, ClientAllocator, FreeFn, HeapCharge, PoolCb, PoolPtr, ZeroedBlock,
};
pub(crate) use ports::PortPtr;
pub(crate) use queues::QueueBox;

use std::sync::atomic::{AtomicUsize, Ordering};

use mmal_sys as sys;

use crate::Usage;

pub(crate) type Status = sys::MMAL_STATUS_T;

static COMPONENTS: AtomicUsize = AtomicUsize::new(0);
pub(crate) static THREADS: AtomicUsize = AtomicUsize::new(0);
static POOLS: AtomicUsize = AtomicUsize::new(0);
static CONNECTIONS: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn usage() -> Usage {
    Usage {
        components: COMPONENTS.load(Ordering::SeqCst),
        threads: THREADS.load(Ordering::SeqCst),
        pools: POOLS.load(Ordering::SeqCst),
        connections: CONNECTIONS.load(Ordering::SeqCst),
    }
}
