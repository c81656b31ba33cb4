//! The state a component's callers, its worker and its peers share: the
//! [`Shared`] part of a component, its [`State`] under the state mutex, the
//! per-port [`PortState`], what a component reaches of it ([`Io`]), and the
//! values that travel between them ([`PendingEvent`], [`Delivery`],
//! [`EventTarget`]); and the [`Component`] trait each firmware component
//! implements, whose object the state holds and whose methods take an
//! [`Io`] (the two refer to each other, so they live together). The other
//! modules of the core import these; this one imports none of them.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::thread::{JoinHandle, ThreadId};
use std::time::Instant;

use mmal_sys as sys;
use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::format::{VideoFormat, VIDEO_ENCODINGS};
use crate::objects::{BufPtr, Callback, ComponentPtr, PoolPtr, PortPtr, Status};

/// An event waiting to go out.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PendingEvent {
    /// `MMAL_EVENT_ERROR` with a status.
    Error(u32),
    /// `MMAL_EVENT_EOS` of a port.
    Eos { port_type: u32, port_index: u32 },
    /// `MMAL_EVENT_FORMAT_CHANGED` carrying port `port`'s format.
    FormatChanged { port: usize },
    /// `MMAL_EVENT_PARAMETER_CHANGED`: parameter `id` with the first `len`
    /// bytes of `payload` after its header.
    ParameterChanged { id: u32, payload: [u8; 64], len: usize },
}

/// A buffer taken from an output port, and where it goes once filled.
pub(crate) struct Delivery {
    pub(crate) port: usize,
    pub(crate) ptr: PortPtr,
    pub(crate) buffer: BufPtr,
    pub(crate) cb: Option<Callback>,
    pub(crate) peer: Option<(Arc<Shared>, usize)>,
}

/// Where an event goes: the client's callback on a port, or, from an
/// output tunnelled to an input, across the tunnel.
pub(crate) enum EventTarget {
    Callback(PortPtr, Callback),
    Tunnel { output: PortPtr, peer: Arc<Shared>, index: usize },
}

/// What the core keeps per port.
pub(crate) struct PortState {
    pub(crate) ptr: PortPtr,
    pub(crate) id: PortId,
    pub(crate) enabled: bool,
    pub(crate) cb: Option<Callback>,
    pub(crate) queue: VecDeque<BufPtr>,
    /// Buffers the component refused (too small for a frame): kept, as the
    /// firmware keeps them, until the port is disabled.
    pub(crate) rejected: Vec<BufPtr>,
    /// Buffers of this port the worker is handling right now.
    pub(crate) in_flight: u32,
    /// Events the client sent to this port whose callback runs right now
    /// (on the sender's thread): a disable waits for them too.
    pub(crate) events_handed_back: u32,
    pub(crate) format: VideoFormat,
    /// The committed format's requirements.
    pub(crate) requirements: Requirements,
    pub(crate) zero_copy: bool,
    /// The other end of a tunnel: its component and port.
    pub(crate) peer: Option<(Arc<Shared>, usize)>,
    /// `mmal_connection_create` is connecting the port: it takes no
    /// enable and no other connection until that is done (see
    /// `port::connect`).
    pub(crate) connecting: bool,
    /// A disable has begun and not ended (the C struct's `is_enabled`
    /// reads 0; `enabled` stays true while the port's queued events go
    /// out, then turns false while its buffers come back): the port takes
    /// no enable, no buffer and no connection, and a second disable is
    /// refused (see `port::disable`).
    pub(crate) disabling: bool,
    /// A tunnel's pool, owned by its output port while enabled.
    pub(crate) tunnel_pool: Option<PoolPtr>,
    /// The component changed the format and the port's buffers do not fit
    /// it: nothing is filled until the client commits or disables.
    pub(crate) awaiting_commit: bool,
    /// An encoder's output waiting for buffers: the bytes, how many went
    /// out, the flags of the last buffer and the timestamp.
    pub(crate) pending: VecDeque<(Vec<u8>, usize, u32, i64)>,
    /// `MMAL_PARAMETER_CORE_STATISTICS`, indexed by `MMAL_CORE_STATS_DIR`:
    /// the buffers the client sent the port (received), and those it gave
    /// back (sent), which libmmal's core counts only when built with
    /// `MMAL_COLLECT_PORT_STATS` (its releases are not): always zero here.
    pub(crate) stats: [sys::MMAL_CORE_STATISTICS_T; 2],
}

/// Flags that end a part: on its last buffer only. The others (what the
/// part is: `CONFIG`, `KEYFRAME`, `CODECSIDEINFO`) go on every buffer of
/// it, as a Pi's encoder sends them (raspivid takes a buffer with no flags
/// at all for the middle of a frame).
const ENDING_FLAGS: u32 =
    sys::MMAL_BUFFER_HEADER_FLAG_FRAME_END | sys::MMAL_BUFFER_HEADER_FLAG_NAL_END | sys::MMAL_BUFFER_HEADER_FLAG_EOS;

impl PortState {
    /// Fills `buffer` with the next part of the port's first pending
    /// output, and drops that once all of it went out; the last buffer of a
    /// part ends it.
    pub(crate) fn fill_pending(&mut self, buffer: BufPtr) {
        let pending = &mut self.pending;
        let Some((data, sent, flags, pts)) = pending.front_mut() else { return };
        let n = (data.len() - *sent).min(buffer.alloc_size());
        if n == 0 && *sent < data.len() {
            log::error!("an encoder's output buffer has no room: the picture is dropped");
            buffer.set(0, 0, sys::MMAL_BUFFER_HEADER_FLAG_CORRUPTED, *pts);
            pending.pop_front();
            return;
        }
        buffer.with_payload(|out| out[..n].copy_from_slice(&data[*sent..*sent + n]));
        *sent += n;
        let last = *sent == data.len();
        buffer.set(0, n, if last { *flags } else { *flags & !ENDING_FLAGS }, *pts);
        if last {
            pending.pop_front();
        }
    }
}

pub(crate) struct State {
    pub(crate) enabled: bool,
    /// `mmal_component_disable` pauses the inputs (their buffers wait) until
    /// the next enable. A component never enabled is not paused: as on a
    /// Pi, where a splitter or an encoder processes buffers without
    /// `mmal_component_enable` (picamera never enables its splitter); a
    /// source (the camera) makes nothing until enabled.
    pub(crate) paused: bool,
    /// The component panicked while the worker asked it what to do next:
    /// it is asked nothing more (its events still go out, its ports still
    /// disable) until the client enables it, or one of its ports, again.
    pub(crate) stalled: bool,
    pub(crate) shutdown: bool,
    pub(crate) destroyed: bool,
    pub(crate) ports: Vec<PortState>,
    pub(crate) component: Box<dyn Component>,
    /// Events waiting to go out, each with the port it goes out on (0,
    /// the control port, for most).
    pub(crate) events: VecDeque<(usize, PendingEvent)>,
    /// Events the worker has taken from `events` so far: a disable waits
    /// for those queued before it (see `port::disable`).
    pub(crate) events_taken: u64,
    /// Parameters whose changes the client asked to hear of.
    pub(crate) change_events: Vec<u32>,
    pub(crate) started: Instant,
    /// What [`Io`] lends each call to note the buffers it takes: kept, so
    /// that a frame's call allocates nothing.
    pub(crate) taken: Vec<(usize, BufPtr)>,
}

impl State {
    /// The component and a view of everything else, for calling it.
    pub(crate) fn split(&mut self, now: Instant) -> (&mut dyn Component, Io<'_>) {
        let State { component, ports, events, change_events, started, taken, .. } = self;
        taken.clear();
        (&mut **component, Io { ports, events, change_events, now, started: *started, taken })
    }
}

/// What a component reaches of the core while the core calls it.
pub(crate) struct Io<'a> {
    ports: &'a mut [PortState],
    events: &'a mut VecDeque<(usize, PendingEvent)>,
    change_events: &'a [u32],
    /// The time of this call.
    pub(crate) now: Instant,
    /// When the component was last enabled.
    pub(crate) started: Instant,
    /// The buffers [`Io::take`] took, so that a call that panics can give
    /// them back (see [`Io::put_back_taken`]).
    taken: &'a mut Vec<(usize, BufPtr)>,
}

impl Io<'_> {
    /// Whether port `port` (index among all ports) is enabled.
    pub(crate) fn is_enabled(&self, port: usize) -> bool {
        self.ports[port].enabled
    }

    /// The size of the next buffer queued on `port`, if any.
    pub(crate) fn front_size(&self, port: usize) -> Option<usize> {
        self.ports[port].queue.front().map(|b| b.alloc_size())
    }

    /// Keeps the next buffer queued on `port` aside until the port is
    /// disabled (the firmware's answer to a buffer it cannot use).
    pub(crate) fn reject_front(&mut self, port: usize) {
        let p = &mut self.ports[port];
        if let Some(b) = p.queue.pop_front() {
            p.rejected.push(b);
        }
    }

    /// Takes the next buffer queued on output `port`, to be filled and
    /// delivered by the worker.
    pub(crate) fn take(&mut self, port: usize) -> Option<Delivery> {
        let delivery = take(self.ports, port)?;
        self.taken.push((port, delivery.buffer));
        Some(delivery)
    }

    /// Undoes every [`take`](Self::take) of this call: the buffers go back
    /// to the front of their ports' queues, no longer in flight. For a
    /// component that panicked after taking them.
    pub(crate) fn put_back_taken(&mut self) {
        while let Some((port, buffer)) = self.taken.pop() {
            let p = &mut self.ports[port];
            p.in_flight -= 1;
            p.queue.push_front(buffer);
        }
    }

    /// Sends an event on the control port.
    pub(crate) fn post(&mut self, event: PendingEvent) {
        self.events.push_back((0, event));
    }

    /// Whether the client asked for change events of parameter `id`.
    pub(crate) fn wants(&self, id: u32) -> bool {
        self.change_events.contains(&id)
    }
}

/// The component set output `port`'s format itself (as decoders, encoders
/// and the ISP do): the port takes it, with `requirements`, and a
/// `FORMAT_CHANGED` event goes out on the port. If the port's buffers no
/// longer fit, it fills none until the client commits a format on it (or
/// disables it), as the firmware waits for the client to reconfigure.
pub(crate) fn announce_format(
    ports: &mut [PortState],
    events: &mut VecDeque<(usize, PendingEvent)>,
    port: usize,
    format: VideoFormat,
    requirements: Requirements,
) {
    let p = &mut ports[port];
    p.format = format;
    p.requirements = requirements;
    let (num, size, _, _) = p.ptr.buffers();
    let [num_min, size_min, _, _] = requirements;
    p.awaiting_commit = size < size_min || num < num_min;
    events.push_back((port, PendingEvent::FormatChanged { port }));
}

/// Takes the next buffer queued on `port` for the worker (none while the
/// port waits for the client to take a format the component set).
pub(crate) fn take(ports: &mut [PortState], port: usize) -> Option<Delivery> {
    let p = &mut ports[port];
    if p.awaiting_commit {
        return None;
    }
    let buffer = p.queue.pop_front()?;
    p.in_flight += 1;
    Some(Delivery { port, ptr: p.ptr, buffer, cb: p.cb, peer: p.peer.clone() })
}

/// The part of a component its worker thread and its peers share.
pub(crate) struct Shared {
    pub(crate) name: String,
    pub(crate) state: Mutex<State>,
    pub(crate) wake: Condvar,
    /// Held while a client callback runs, as libmmal's action lock.
    pub(crate) action: Mutex<()>,
    pub(crate) worker: Mutex<Option<JoinHandle<()>>>,
    pub(crate) worker_id: OnceLock<ThreadId>,
    pub(crate) event_pool: PoolPtr,
}

thread_local! {
    /// The components (their `Shared`'s address) for which this thread runs
    /// the callback of an event the client sent, innermost last.
    static HANDING_BACK: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Shared {
    pub(crate) fn on_worker(&self) -> bool {
        self.worker_id.get() == Some(&std::thread::current().id())
    }

    /// Whether this thread runs one of the component's callbacks: on its
    /// worker, or the callback of an event the client sent to one of its
    /// ports (see [`handing_back`](Self::handing_back)). A port disable or
    /// destroy from there would wait for itself.
    pub(crate) fn in_callback(&self) -> bool {
        let me = self as *const Shared as usize;
        self.on_worker() || HANDING_BACK.with(|h| h.borrow().contains(&me))
    }

    /// Runs `f`, the callback of an event the client sent to one of the
    /// component's ports, on this thread.
    pub(crate) fn handing_back(&self, f: impl FnOnce()) {
        let me = self as *const Shared as usize;
        HANDING_BACK.with(|h| h.borrow_mut().push(me));
        f();
        HANDING_BACK.with(|h| {
            let mut h = h.borrow_mut();
            if let Some(i) = h.iter().rposition(|&s| s == me) {
                h.remove(i);
            }
        });
    }

    pub(crate) fn wait(&self, guard: &mut MutexGuard<'_, State>) {
        self.wake.wait(guard);
    }
}

/// The core's state of a component, from its C struct or one of its ports.
pub(crate) trait SharedOf {
    fn shared(self) -> Arc<Shared>;
}

/// The [`Shared`] the core gave a component's C struct when it made it
/// (`component::create`: every component is made there).
fn downcast(core: crate::objects::CoreState) -> Arc<Shared> {
    core.downcast::<Shared>().unwrap_or_else(|_| unreachable!("a component's core state is always a `Shared`"))
}

impl SharedOf for ComponentPtr {
    fn shared(self) -> Arc<Shared> {
        downcast(self.core())
    }
}

impl SharedOf for PortPtr {
    fn shared(self) -> Arc<Shared> {
        downcast(self.core())
    }
}

// ---------------------------------------------------------------------------
// What a component is to the core: the trait each firmware component
// implements (`crate::components`), and the work it hands the worker.

/// A port, as a component sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PortId {
    /// Position among all the component's ports (the control port is 0).
    pub(crate) all: usize,
    /// `MMAL_PORT_TYPE_*`.
    pub(crate) kind: u32,
    /// Index among the ports of its kind.
    pub(crate) index: usize,
}

impl PortId {
    pub(crate) fn is_control(self) -> bool {
        self.kind == sys::MMAL_PORT_TYPE_CONTROL
    }

    pub(crate) fn is_output(self) -> bool {
        self.kind == sys::MMAL_PORT_TYPE_OUTPUT
    }
}

/// A committed format's buffer needs: `num_min`, `size_min`,
/// `num_recommended`, `size_recommended`.
pub(crate) type Requirements = [u32; 4];

/// Work a component runs on its worker thread without the component's
/// lock (preparing a picture, say); its result goes to
/// [`Component::job_done`].
pub(crate) trait Job: Send {
    fn run(self: Box<Self>) -> Box<dyn Any + Send>;
}

/// Fills output buffers with frames, without the component's lock.
pub(crate) trait Fill: Send + Sync {
    /// Writes frame `frame` into `payload`; returns its length and the
    /// buffer flags.
    fn fill(&self, frame: u64, payload: &mut [u8]) -> (usize, u32);
}

/// Turns an input buffer into output buffers, without the component's
/// lock: called once for each enabled output that had a buffer queued.
pub(crate) trait Process: Send + Sync {
    fn process(&self, input: BufPtr, output: &Delivery);
}

/// An encoder's result for one input buffer: parts the core delivers in
/// turn across its first output's buffers, each part starting a buffer of
/// its own and its flags on its last buffer (`CONFIG` for stream headers,
/// `FRAME_END`, `KEYFRAME`, `EOS` for a still...), `pts` on each.
pub(crate) struct Encoded {
    pub(crate) parts: Vec<(Vec<u8>, u32)>,
    pub(crate) pts: i64,
}

/// Turns an input buffer into a stream of bytes, without the component's
/// lock (an encoder).
pub(crate) trait Encode: Send + Sync {
    /// `None` if the buffer holds nothing to encode (an error is logged).
    fn encode(&self, input: BufPtr) -> Option<Encoded>;
}

/// What a component does with its input buffers, without its lock
/// ([`Component::processor`]).
#[derive(Clone)]
pub(crate) enum Processor {
    /// Each input buffer goes into a buffer of each enabled output that had
    /// one queued (an output without one misses it): a converter.
    Filter(Arc<dyn Process>),
    /// Each input buffer becomes parts on the first output, which the core
    /// delivers across as many of its buffers as they take, one picture at
    /// a time: an encoder.
    Encoder(Arc<dyn Encode>),
}

/// What a component wants done next on its own account.
pub(crate) enum Produce {
    /// Nothing until something changes.
    Idle,
    /// Nothing before this time.
    Until(Instant),
    /// Run `job` for port `port` (see [`Job`]).
    Prepare { port: usize, job: Box<dyn Job> },
    /// Fill the buffer of `to` with frame `frame` at time `pts`.
    Fill { to: Delivery, fill: Arc<dyn Fill>, frame: u64, pts: i64 },
}

/// An emulated firmware component. Every method runs with the component's
/// lock held, so none may block; heavy work goes into a [`Job`], a
/// [`Fill`] or a [`Processor`].
pub(crate) trait Component: Send {
    /// Numbers of input and output ports.
    fn ports(&self) -> (usize, usize);

    /// The encodings `port` takes (`MMAL_PARAMETER_SUPPORTED_ENCODINGS`).
    fn encodings(&self, _port: PortId) -> &'static [u32] {
        &VIDEO_ENCODINGS
    }

    /// Accepts or refuses `format` on `port` (an input or output), and says
    /// what buffers it then needs. The core has already checked that the
    /// format is a video format of a supported encoding and a sane size.
    fn commit(&mut self, port: PortId, format: &VideoFormat) -> Result<Requirements, Status>;

    /// Whether the outputs take the input's format when it is committed
    /// (those not enabled).
    fn outputs_follow_input(&self) -> bool {
        false
    }

    /// The format the component gives output `output` itself when `input`
    /// is committed on its input, if it sets it (an encoder's output takes
    /// the input's size and rate). The core commits it, silently while the
    /// output is disabled, and with `MMAL_EVENT_FORMAT_CHANGED` on the
    /// output while it is enabled.
    fn output_for_input(&self, _output: PortId, _input: &VideoFormat, _current: &VideoFormat) -> Option<VideoFormat> {
        None
    }

    /// `mmal_component_enable`. A refusal may post an event through `io`.
    fn enable(&mut self, _io: &mut Io<'_>) -> Result<(), Status> {
        Ok(())
    }

    /// `mmal_port_enable` of an unconnected port with `format`: the last
    /// chance to refuse.
    fn port_enabling(&mut self, _port: PortId, _format: &VideoFormat) -> Result<(), Status> {
        Ok(())
    }

    /// `mmal_port_parameter_set` of a parameter the core does not handle
    /// itself; `data` is the whole parameter, header included.
    /// `component_enabled` says whether the component is enabled.
    fn set_parameter(&mut self, _port: PortId, _id: u32, _data: &[u8], _component_enabled: bool) -> Result<(), Status> {
        Err(sys::MMAL_ENOSYS)
    }

    /// `mmal_port_parameter_get`: writes the payload (after the header) into
    /// `out` and returns its full length.
    fn get_parameter(&self, _port: PortId, _id: u32, _out: &mut [u8]) -> Result<usize, Status> {
        Err(sys::MMAL_ENOSYS)
    }

    /// The client asked for (or stopped asking for) a change event.
    fn change_events_changed(&mut self) {}

    /// How input buffers are turned into output buffers; `None`: they are
    /// consumed (a sink).
    fn processor(&self) -> Option<Processor> {
        None
    }

    /// Which stream a [`Processor::Encoder`]'s output is on: a picture
    /// encoded for an earlier one (the output was enabled again meanwhile)
    /// is dropped.
    fn output_stream(&self) -> u64 {
        0
    }

    /// An input buffer with `flags` was handled.
    fn consumed(&mut self, _port: PortId, _flags: u32, _io: &mut Io<'_>) {}

    /// What to do next, when no event or input is waiting and the
    /// component is enabled.
    fn produce(&mut self, _io: &mut Io<'_>) -> Produce {
        Produce::Idle
    }

    /// The result of a [`Job`] for `port`.
    fn job_done(&mut self, _port: usize, _result: Box<dyn Any + Send>, _io: &mut Io<'_>) {}

    /// A [`Job`] for `port` failed (panicked).
    fn job_failed(&mut self, _port: usize) {}
}
