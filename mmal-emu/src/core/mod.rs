//! The core of the software VideoCore: what libmmal's core does for every
//! component.
//!
//! | file | what it holds |
//! | --- | --- |
//! | `state.rs` | what a component's callers, worker and peers share: `Shared`, its `State` and `PortState`, [`Io`] (what a component reaches of the core), the [`PendingEvent`]s and [`Delivery`]s that travel between them; and the [`Component`] trait the firmware components implement, with the work they hand the worker ([`Processor`], [`Produce`], [`Job`], [`Fill`]) |
//! | `component.rs` | the registry; create, destroy, enable, disable |
//! | `port.rs` | format commit, port enable and disable (tunnels included), sending buffers, the ports' statistics |
//! | `connect.rs` | connecting and disconnecting ports, the reservation a connection being made holds, a connection's ends |
//! | `params.rs` | the parameters the core answers itself, the hand-off to the component, byte helpers |
//! | `worker.rs` | the per-component thread: events, input buffers, production; failure containment |
//! | `events.rs` | events and their payloads: on the control port, and FORMAT_CHANGED on an output (forwarded across a tunnel) |
//! | `pause.rs` | pause points, which tests use to lay a race out step by step, and failures they inject into the worker (nothing outside tests) |
//!
//! Imports point one way: `state` imports no other module of the core;
//! `port` and `worker` import `state` and `pause`; `connect` imports
//! `state` and `port`; `events` imports
//! `state` and `port`; `component` imports `state`, `port` and `events`;
//! `params` imports `state`; `pause` imports none of them.
//!
//! Below the core are the C-visible objects (`crate::objects`), which hold
//! the core's state of a component only as an opaque `CoreState` (a
//! component's [`Shared`], got back through [`SharedOf`]). Above it are
//! the components (`crate::components`, one per file, made by name there:
//! the core never names one) and the C entry points (`crate::abi`,
//! `crate::c_api`), which ask `components::create` for a component and
//! hand it to [`create`]. The core's races and the worker's failure
//! containment are tested from above too, through the C table
//! (`crate::tests`).
//!
//! Locks (`parking_lot`'s: no poisoning; a timed wait waits until a
//! deadline): each component has a state mutex and an action mutex. Client port
//! callbacks run on the component's worker thread with the action mutex
//! held and the state mutex released, as in libmmal; no code holds two
//! components' state mutexes at once. The other end of a tunnel is reached
//! through its component's shared state and a port index, and its port
//! struct only pinned (looked up among the live objects while its
//! component is not marked destroyed), never through a `PortPtr` kept
//! from before: that component may be destroyed meanwhile. A connection through the client calls
//! its callback from the output's port callback, and from the release of a
//! pool buffer, on whichever thread releases it.

mod component;
mod connect;
mod events;
pub(crate) mod params;
pub(crate) mod pause;
mod port;
mod state;
mod worker;

pub(crate) use component::{component_disable, component_enable, create, destroy, post_test_event};
pub(crate) use connect::{connect, connection_ends, disconnect, disconnect_port, Reservation};
pub use events::TestEvent;
pub(crate) use params::{parameter_get, parameter_set};
pub use port::fail_next_port_disable;
pub(crate) use port::{port_disable, port_enable, port_flush, port_format_commit, port_send_buffer, zero_copy};
pub(crate) use state::{
    Component, Delivery, Encode, Encoded, Fill, Io, Job, PendingEvent, PortId, Process, Processor, Produce,
    Requirements, SharedOf,
};
