//! The worker: one thread per component that sends its events, runs its
//! input buffers through it, and lets it produce (a sensor's frames), with
//! client callbacks called under the component's action lock, as libmmal's
//! action thread does. Each unit of work is contained: a panic becomes an
//! error event, and what the work held is given back. So is asking the
//! component for the next unit: a panic there also stalls the component
//! until the client enables it again, rather than failing in a loop.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use mmal_sys as sys;

use super::state::{
    take, Delivery, Encode, EventTarget, Fill, Job, PendingEvent, Process, Processor, Produce, Shared, State,
};
use crate::objects::BufPtr;

/// Most outputs that take a buffer for one input buffer.
const MAX_OUTPUTS: usize = 4;

/// Most ports (and buffers) one unit of work holds: an input and outputs.
const MAX_HELD: usize = 1 + MAX_OUTPUTS;

enum Work {
    /// An event for port `port`, and where it goes (`None`: it is lost, as
    /// libmmal loses events of a port without a callback).
    Event {
        port: usize,
        event: PendingEvent,
        target: Option<EventTarget>,
    },
    /// An input buffer, a buffer from each enabled output that had one (by
    /// output index), and what turns the one into the others.
    Input {
        port: usize,
        buffer: BufPtr,
        outputs: [Option<Delivery>; MAX_OUTPUTS],
        process: Option<Arc<dyn Process>>,
    },
    Prepare {
        port: usize,
        job: Box<dyn Job>,
    },
    /// An input buffer for an encoder, whose bytes go to output `output`.
    Encode {
        port: usize,
        buffer: BufPtr,
        output: usize,
        encode: Arc<dyn Encode>,
        /// The component's output stream when the work began.
        stream: u64,
    },
    /// An output buffer filled with the next part of an encoder's bytes.
    Deliver(Delivery),
    Fill {
        to: Delivery,
        fill: Arc<dyn Fill>,
        frame: u64,
        pts: i64,
    },
    Wait(Option<Instant>),
}

impl Work {
    /// The ports whose `in_flight` count [`State::next_work`] raised for
    /// this work, and the buffer it holds of each, if any.
    fn held(&self) -> ([(usize, Option<BufPtr>); MAX_HELD], usize) {
        let mut held = [(0, None); MAX_HELD];
        let mut n = 0;
        match self {
            Work::Event { port, target: Some(_), .. } => {
                held[0] = (*port, None);
                n = 1;
            }
            Work::Input { port, buffer, outputs, .. } => {
                held[0] = (*port, Some(*buffer));
                n = 1;
                for out in outputs.iter().flatten() {
                    held[n] = (out.port, Some(out.buffer));
                    n += 1;
                }
            }
            Work::Fill { to, .. } | Work::Deliver(to) => {
                held[0] = (to.port, Some(to.buffer));
                n = 1;
            }
            Work::Encode { port, buffer, .. } => {
                held[0] = (*port, Some(*buffer));
                n = 1;
            }
            Work::Event { target: None, .. } | Work::Prepare { .. } | Work::Wait(_) => {}
        }
        (held, n)
    }
}

/// What a unit of work holds, given back when it ends, also by a panic:
/// buffers it did not hand on are released to their pools, and the
/// `in_flight` counts it raised are lowered, waking anyone waiting for them.
struct InFlight<'a> {
    shared: &'a Shared,
    held: [(usize, Option<BufPtr>); MAX_HELD],
    len: usize,
    /// Bit `i` set: `held[i]`'s buffer was handed on.
    handed: std::cell::Cell<u8>,
}

impl<'a> InFlight<'a> {
    fn new(shared: &'a Shared, work: &Work) -> InFlight<'a> {
        let (held, len) = work.held();
        InFlight { shared, held, len, handed: std::cell::Cell::new(0) }
    }

    /// Records that the work handed `buffer` on (delivered or released).
    fn handed(&self, buffer: BufPtr) {
        if let Some(i) = self.held[..self.len].iter().position(|&(_, b)| b == Some(buffer)) {
            self.handed.set(self.handed.get() | 1 << i);
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.len == 0 {
            return;
        }
        for (i, &(_, buffer)) in self.held[..self.len].iter().enumerate() {
            if let Some(b) = buffer.filter(|_| self.handed.get() & (1 << i) == 0) {
                b.release();
            }
        }
        let mut st = self.shared.state.lock();
        for &(port, _) in &self.held[..self.len] {
            st.ports[port].in_flight -= 1;
        }
        drop(st);
        self.shared.wake.notify_all();
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("?")
}

impl State {
    fn next_work(&mut self, now: Instant) -> Work {
        if let Some((port, event)) = self.events.pop_front() {
            self.events_taken += 1;
            let p = &mut self.ports[port];
            let target = match (p.enabled, p.cb, &p.peer) {
                (true, Some(cb), _) => Some(EventTarget::Callback(p.ptr, cb)),
                (true, None, Some((peer, index))) if p.id.is_output() => {
                    Some(EventTarget::Tunnel { output: p.ptr, peer: peer.clone(), index: *index })
                }
                _ => None,
            };
            if target.is_some() {
                p.in_flight += 1;
            }
            return Work::Event { port, event, target };
        }
        // An encoder's bytes go out as buffers come.
        if let Some(o) = self
            .ports
            .iter()
            .position(|p| p.id.is_output() && p.enabled && !p.pending.is_empty() && !p.queue.is_empty())
        {
            if let Some(to) = take(&mut self.ports, o) {
                self.ports[o].fill_pending(to.buffer);
                return Work::Deliver(to);
            }
        }
        // What is left asks the component; one that panicked doing so is
        // asked nothing more until the client enables it again.
        if self.stalled {
            return Work::Wait(None);
        }
        let processor = self.component.processor();
        for i in 0..self.ports.len() {
            let p = &self.ports[i];
            if p.id.is_output() || p.id.is_control() || !p.enabled || p.queue.is_empty() || self.paused {
                continue;
            }
            if let Some(Processor::Encoder(encode)) = processor.clone() {
                let output = self.ports.iter().position(|p| p.id.is_output()).unwrap_or(i);
                // One picture at a time: the next waits until the last one's
                // bytes went out in buffers the client gave back, so a slow
                // reader holds the encoder back (and the camera drops
                // frames), as on a Pi, instead of bytes piling up here.
                // (The input's `in_flight` counts the picture being encoded.)
                let out = &self.ports[output];
                if out.enabled && (!out.pending.is_empty() || self.ports[i].in_flight > 0) {
                    continue;
                }
                // The component is asked before anything is taken, so that
                // a panic leaves the ports as they were.
                let stream = self.component.output_stream();
                let Some(buffer) = self.ports[i].queue.pop_front() else { continue };
                self.ports[i].in_flight += 1;
                return Work::Encode { port: i, buffer, output, encode, stream };
            }
            let process = match &processor {
                Some(Processor::Filter(process)) => Some(process.clone()),
                _ => None,
            };
            let Some(buffer) = self.ports[i].queue.pop_front() else { continue };
            self.ports[i].in_flight += 1;
            let mut outputs: [Option<Delivery>; MAX_OUTPUTS] = Default::default();
            if process.is_some() {
                for o in 0..self.ports.len() {
                    let (id, enabled) = (self.ports[o].id, self.ports[o].enabled);
                    if id.is_output() && enabled && id.index < MAX_OUTPUTS {
                        outputs[id.index] = take(&mut self.ports, o);
                    }
                }
            }
            return Work::Input { port: i, buffer, outputs, process };
        }
        if !self.enabled {
            return Work::Wait(None);
        }
        let (component, mut io) = self.split(now);
        let produced = match catch_unwind(AssertUnwindSafe(|| component.produce(&mut io))) {
            Ok(produced) => produced,
            Err(payload) => {
                // What it took goes back to its ports, then the worker
                // reports the failure (see `Shared::run`).
                io.put_back_taken();
                std::panic::resume_unwind(payload);
            }
        };
        match produced {
            Produce::Idle => Work::Wait(None),
            Produce::Until(when) => Work::Wait(Some(when)),
            Produce::Prepare { port, job } => Work::Prepare { port, job },
            Produce::Fill { to, fill, frame, pts } => Work::Fill { to, fill, frame, pts },
        }
    }
}

impl Shared {
    pub(crate) fn run(self: Arc<Shared>) {
        let _ = self.worker_id.set(std::thread::current().id());
        let mut st = self.state.lock();
        loop {
            if st.shutdown {
                break;
            }
            // Asking the component what to do next is contained as the work
            // is: a panic is an error event, and the component is stalled.
            let work = match catch_unwind(AssertUnwindSafe(|| st.next_work(Instant::now()))) {
                Ok(work) => work,
                Err(payload) => {
                    log::error!("{}: the component failed: {}", self.name, panic_text(payload.as_ref()));
                    if st.stalled {
                        // Failing again while stalled: not the component
                        // then; wait for a change rather than spin.
                        self.wait(&mut st);
                    } else {
                        st.stalled = true;
                        st.events.push_back((0, PendingEvent::Error(sys::MMAL_EFAULT)));
                    }
                    continue;
                }
            };
            if let Work::Wait(deadline) = work {
                match deadline {
                    // Timed out or woken, the loop asks again.
                    Some(d) => {
                        let _ = self.wake.wait_until(&mut st, d);
                    }
                    None => self.wait(&mut st),
                }
                continue;
            }
            drop(st);
            let preparing = match &work {
                Work::Prepare { port, .. } => Some(*port),
                _ => None,
            };
            // What this unit of work holds: given back by the guard whatever
            // happens, so a disable never waits forever.
            let in_flight = InFlight::new(&self, &work);
            let outcome = catch_unwind(AssertUnwindSafe(|| self.perform(work, &in_flight)));
            drop(in_flight);
            st = self.state.lock();
            if let Err(payload) = outcome {
                log::error!("{}: the component failed: {}", self.name, panic_text(payload.as_ref()));
                st.events.push_back((0, PendingEvent::Error(sys::MMAL_EFAULT)));
                if let Some(port) = preparing {
                    st.component.job_failed(port);
                }
            }
        }
    }

    /// One unit of work, run without the state lock; it tells `held` of
    /// every buffer it hands on.
    fn perform(&self, work: Work, held: &InFlight<'_>) {
        match work {
            Work::Wait(_) => {}
            Work::Event { event, target, .. } => match target {
                Some(target) => self.send_event(event, target),
                // Dropped: a disable waiting for the events queued before
                // it hears of it here (a delivered one wakes it when its
                // `in_flight` drops).
                None => {
                    self.wake.notify_all();
                }
            },
            Work::Input { port, buffer, outputs, process } => {
                let flags = buffer.flags();
                for out in outputs.iter().flatten() {
                    if let Some(process) = &process {
                        process.process(buffer, out);
                    }
                    held.handed(out.buffer);
                    self.deliver(out);
                }
                held.handed(buffer);
                self.give_back_input(port, buffer);
                let mut st = self.state.lock();
                let id = st.ports[port].id;
                let (component, mut io) = st.split(Instant::now());
                component.consumed(id, flags, &mut io);
            }
            Work::Encode { port, buffer, output, encode, stream } => {
                let flags = buffer.flags();
                let encoded = encode.encode(buffer);
                held.handed(buffer);
                self.give_back_input(port, buffer);
                let mut st = self.state.lock();
                // Only into the stream it was encoded for: if the output was
                // disabled and enabled meanwhile, a new stream has begun
                // (headers, then an IDR) and this picture is not part of it.
                if let Some(e) = encoded.filter(|_| st.component.output_stream() == stream) {
                    if st.ports[output].enabled {
                        for (data, flags) in e.parts {
                            st.ports[output].pending.push_back((data, 0, flags, e.pts));
                        }
                    }
                }
                let id = st.ports[port].id;
                let (component, mut io) = st.split(Instant::now());
                component.consumed(id, flags, &mut io);
            }
            Work::Deliver(to) => {
                held.handed(to.buffer);
                self.deliver(&to);
            }
            Work::Prepare { port, job } => {
                #[cfg(test)]
                if super::pause::PANIC_NEXT_PREPARE.swap(false, std::sync::atomic::Ordering::SeqCst) {
                    panic!("injected failure");
                }
                let result = job.run();
                let mut st = self.state.lock();
                let (component, mut io) = st.split(Instant::now());
                component.job_done(port, result, &mut io);
            }
            Work::Fill { to, fill, frame, pts } => {
                let buffer = to.buffer;
                #[cfg(test)]
                if super::pause::PANIC_NEXT_FRAME.swap(false, std::sync::atomic::Ordering::SeqCst) {
                    panic!("injected failure");
                }
                let (length, flags) = buffer.with_payload(|payload| fill.fill(frame, payload));
                buffer.set(0, length, flags, pts);
                drop(fill);
                held.handed(buffer);
                self.deliver(&to);
            }
        }
    }

    /// Gives a consumed input buffer back as libmmal does: to the client
    /// through the input port's callback (a tunnel's to its pool).
    fn give_back_input(&self, port: usize, buffer: BufPtr) {
        let back = {
            let st = self.state.lock();
            let p = &st.ports[port];
            if p.peer.is_none() {
                p.cb.map(|cb| (p.ptr, cb))
            } else {
                None
            }
        };
        match back {
            Some((ptr, cb)) => {
                let _action = self.action.lock();
                ptr.call(cb, buffer);
            }
            None => buffer.release(),
        }
    }

    /// Hands a filled buffer on: to the connected input, or to the client.
    fn deliver(&self, to: &Delivery) {
        let buffer = to.buffer;
        if let Some((peer, index)) = &to.peer {
            if peer.accept(*index, buffer).is_err() {
                buffer.release();
            }
        } else if let Some(cb) = to.cb {
            let _action = self.action.lock();
            to.ptr.call(cb, buffer);
        } else {
            buffer.release();
        }
    }
}
