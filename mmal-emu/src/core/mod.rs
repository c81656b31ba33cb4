//! The core of the software VideoCore: what libmmal's core does for every
//! component.
//!
//! | file | what it holds |
//! | --- | --- |
//! | `state.rs` | what a component's callers, worker and peers share: [`Shared`], its `State` and `PortState`, [`Io`] (what a component reaches of the core), and the [`PendingEvent`]s and [`Delivery`]s that travel between them |
//! | `component.rs` | the registry; create, destroy, enable, disable |
//! | `port.rs` | format commit, port enable and disable (tunnels included), sending buffers, connecting |
//! | `params.rs` | the parameters the core answers itself, the hand-off to the component, byte helpers |
//! | `worker.rs` | the per-component thread: events, input buffers, production; failure containment |
//! | `events.rs` | events and their payloads: on the control port, and FORMAT_CHANGED on an output (forwarded across a tunnel) |
//! | `pause.rs` | pause points, which tests use to lay a race out step by step (nothing outside tests) |
//! | `races.rs` | tests: races between the core's calls, with pause points |
//!
//! Imports point one way: `state` imports no other module of the core;
//! `port` imports `state` (and `pause`); `component` imports `state` and
//! `port`; `events` imports `state` and `port`; `worker` imports `state`;
//! `params` and `pause` import none of them.
//!
//! The components themselves are in `crate::components`, one per file; the
//! C-visible objects in `crate::objects`; the C entry points in
//! `crate::abi` and `crate::c_api`.
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
mod events;
pub(crate) mod params;
pub(crate) mod pause;
mod port;
#[cfg(test)]
mod races;
mod state;
mod worker;

pub(crate) use component::{component_disable, component_enable, create, destroy, post_test_event};
pub(crate) use params::{parameter_get, parameter_set};
pub(crate) use port::{
    connect, disconnect, disconnect_port, port_disable, port_enable, port_flush, port_format_commit, port_send_buffer,
    zero_copy,
};
pub(crate) use state::{Delivery, Io, PendingEvent, Shared};
