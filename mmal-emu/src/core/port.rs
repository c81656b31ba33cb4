//! Ports as libmmal's core drives them: format commit, enable and disable
//! (tunnels included), sending buffers, connecting.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mmal_sys as sys;

use parking_lot::MutexGuard;

use super::state::{announce_format, PortState, Requirements, Shared, SharedOf, State};
use crate::format::VideoFormat;
use crate::objects::{BufPtr, Callback, Live, PoolPtr, PortPtr, Status};

/// Ports whose format a commit set: the port, and any that follow it.
pub(crate) type Committed = Vec<(usize, VideoFormat, Requirements)>;

/// Commits `format` on port `port` under the component's lock.
pub(crate) fn commit_locked(st: &mut State, port: usize, format: VideoFormat) -> Result<Committed, Status> {
    let id = st.ports[port].id;
    // The control port has no format. An enabled port may commit (libmmal
    // does not check), and its requirements follow.
    if id.is_control() {
        return Err(sys::MMAL_ENOSYS);
    }
    let name = st.ports[port].ptr.name().to_owned();
    if format.encoding == 0 || format.width == 0 || format.height == 0 || format.width > 8192 || format.height > 8192 {
        log::error!("mmal_port_format_commit: {name}: invalid format");
        return Err(sys::MMAL_EINVAL);
    }
    if !st.component.encodings(id).contains(&format.encoding) {
        log::error!("mmal_port_format_commit: {name}: encoding {:#x} not supported", format.encoding);
        return Err(sys::MMAL_EINVAL);
    }
    let mut changed = vec![(port, format, st.component.commit(id, &format)?)];
    // The outputs an input's format reaches: a component whose outputs
    // follow its input (splitter, resizer) gives it to those not enabled;
    // one that derives its outputs' formats (an encoder) gives them what it
    // derives, with FORMAT_CHANGED on those enabled.
    if !id.is_output() {
        let follows = st.component.outputs_follow_input();
        for i in 0..st.ports.len() {
            let (out, current, enabled) = (st.ports[i].id, st.ports[i].format, st.ports[i].enabled);
            if !out.is_output() {
                continue;
            }
            let derived = if follows && !enabled {
                Some(format)
            } else {
                st.component.output_for_input(out, &format, &current).filter(|f| *f != current)
            };
            let Some(f) = derived else { continue };
            let Ok(requirements) = st.component.commit(out, &f) else { continue };
            if enabled {
                // The client's port keeps its format until it takes this
                // one, as after a component's own change.
                let State { ports, events, .. } = &mut *st;
                announce_format(ports, events, i, f, requirements);
            } else {
                changed.push((i, f, requirements));
            }
        }
    }
    for &(i, f, requirements) in &changed {
        st.ports[i].format = f;
        st.ports[i].requirements = requirements;
    }
    Ok(changed)
}

/// Writes committed formats (except the client's own port's, which it
/// wrote itself) and their buffer requirements into the C structs.
pub(crate) fn apply(st: &State, changed: &Committed, committed: usize) {
    for &(i, f, [num_min, size_min, num_rec, size_rec]) in changed {
        let ptr = st.ports[i].ptr;
        if i != committed {
            ptr.write_format(&f);
        }
        ptr.set_requirements(num_min, size_min, num_rec, size_rec);
    }
}

/// `mmal_port_format_commit`.
pub(crate) fn port_format_commit(port: PortPtr) -> Status {
    let format = match port.read_format() {
        Ok(f) => f,
        Err(status) => return status,
    };
    let shared = port.shared();
    let mut st = shared.state.lock();
    match commit_locked(&mut st, port.index_all(), format) {
        Ok(changed) => {
            apply(&st, &changed, port.index_all());
            // The client took the format (the one the component set, or
            // another): the port fills buffers again.
            st.ports[port.index_all()].awaiting_commit = false;
            drop(st);
            shared.wake.notify_all();
            sys::MMAL_SUCCESS
        }
        Err(status) => status,
    }
}

/// `mmal_port_enable`.
pub(crate) fn port_enable(port: PortPtr, cb: Option<Callback>) -> Status {
    let shared = port.shared();
    let index = port.index_all();
    let mut st = shared.state.lock();
    if st.destroyed {
        return sys::MMAL_EINVAL;
    }
    let p = &st.ports[index];
    if p.enabled && !p.disabling {
        log::error!("mmal_port_enable: {}: port is already enabled", port.name());
        return sys::MMAL_EINVAL;
    }
    // A disable under way: libmmal's enable would wait for it on the port
    // lock; this one refuses, as for an enabled port.
    if p.disabling {
        log::error!("mmal_port_enable: {}: port is being disabled", port.name());
        return sys::MMAL_EINVAL;
    }
    // A connection being made on the port is decided first, as libmmal's
    // connection lock orders the two.
    if p.connecting {
        log::error!("mmal_port_enable: {}: a connection is being made on the port", port.name());
        return sys::MMAL_EINVAL;
    }
    // A connected port takes no callback; any other may have none (what it
    // returns is then released, and its events lost).
    if p.peer.is_some() && cb.is_some() {
        log::error!("mmal_port_enable: {}: a connected port takes no callback", port.name());
        return sys::MMAL_EINVAL;
    }
    // Enabling either end of a tunnel enables both; the other end is
    // reached pinned (its component may be being destroyed).
    if let Some((peer, peer_index)) = p.peer.clone() {
        let is_output = p.id.is_output();
        drop(st);
        let Some(other) = pinned(&peer, peer_index, "mmal_port_enable") else {
            log::error!("mmal_port_enable: {}: the component it is tunnelled to is destroyed", port.name());
            return sys::MMAL_EINVAL;
        };
        if is_output {
            return enable_tunnel(&shared, port, &peer, *other);
        }
        return enable_tunnel(&peer, *other, &shared, port);
    }
    let (num, size, num_min, size_min) = port.buffers();
    let (id, format) = (p.id, p.format);
    if !id.is_control() && (num < num_min || size < size_min) {
        log::error!(
            "mmal_port_enable: {}: {num} buffers of {size} bytes, below the minimum {num_min} of {size_min}",
            port.name()
        );
        return sys::MMAL_EINVAL;
    }
    if !id.is_control() {
        if let Err(status) = st.component.port_enabling(id, &format) {
            return status;
        }
    }
    st.stalled = false;
    let p = &mut st.ports[index];
    p.enabled = true;
    p.cb = cb;
    // Room for the usual number of buffers; more grow the queue.
    p.queue.reserve((num as usize).clamp(1, 64));
    port.set_enabled(true);
    sys::MMAL_SUCCESS
}

/// Enables the tunnel from `out` (of `shared`) to `input` (of `peer`); the
/// caller holds a pin on both ports.
fn enable_tunnel(shared: &Arc<Shared>, out: PortPtr, peer: &Arc<Shared>, input: PortPtr) -> Status {
    let peer_index = input.index_all();
    for (s, port) in [(shared, out), (peer, input)] {
        let st = s.state.lock();
        let p = &st.ports[port.index_all()];
        if p.enabled || p.disabling {
            log::error!("mmal_port_enable: {}: port is already enabled", port.name());
            return sys::MMAL_EINVAL;
        }
    }
    // As libmmal's core: both ports take the larger of their two values.
    let (out_num, out_size, out_num_min, out_size_min) = out.buffers();
    let (in_num, in_size, in_num_min, in_size_min) = input.buffers();
    let (num, size) = (out_num.max(in_num), out_size.max(in_size));
    out.set_buffers(num, size);
    input.set_buffers(num, size);
    if num < out_num_min.max(in_num_min) || size < out_size_min.max(in_size_min) {
        log::error!("mmal_port_enable: {}: {num} buffers of {size} bytes, below a port's minimum", out.name());
        return sys::MMAL_EINVAL;
    }
    {
        let mut st = shared.state.lock();
        let p = &st.ports[out.index_all()];
        let (id, format) = (p.id, p.format);
        if let Err(status) = st.component.port_enabling(id, &format) {
            return status;
        }
    }
    let zero_copy = shared.state.lock().ports[out.index_all()].zero_copy;
    let pool = match PoolPtr::create(num as usize, size as usize, zero_copy) {
        Ok(pool) => pool,
        Err(status) => return status,
    };
    {
        let mut st = peer.state.lock();
        // Destroyed, or enabled by another caller, since the checks above.
        if st.destroyed || st.ports[peer_index].enabled || st.ports[peer_index].disabling {
            drop(st);
            log::error!("mmal_port_enable: {}: the tunnel changed while it was being enabled", out.name());
            pool.destroy();
            return sys::MMAL_EINVAL;
        }
        let p = &mut st.ports[peer_index];
        p.enabled = true;
        p.cb = None;
        p.queue.reserve(pool.len());
        input.set_enabled(true);
    }
    let target = Arc::downgrade(shared);
    let out_index = out.index_all();
    pool.set_hook(Some(Box::new(move |b| match target.upgrade() {
        Some(s) => s.accept(out_index, b).is_err(),
        None => true,
    })));
    let mut st = shared.state.lock();
    let p = &mut st.ports[out_index];
    p.enabled = true;
    p.cb = None;
    p.tunnel_pool = Some(pool);
    p.queue.reserve(pool.len());
    while let Some(b) = pool.queue().get() {
        p.queue.push_back(b);
    }
    out.set_enabled(true);
    drop(st);
    shared.wake.notify_all();
    sys::MMAL_SUCCESS
}

/// Port `index` of `shared`'s component, pinned (its memory stays while
/// the answer lives), or `None` once the component is destroyed. The other
/// end of a tunnel is reached only this way: a `PortPtr` read from a
/// peer's state says nothing of whether its box is still there.
pub(super) fn pinned(shared: &Shared, index: usize, func: &str) -> Option<Live<PortPtr>> {
    let st = shared.state.lock();
    if st.destroyed {
        return None;
    }
    // Not destroyed, under the lock: the component's destroy has not begun
    // freeing it (it marks the state destroyed first), so the port is still
    // listed, and pinned before this lock is dropped.
    PortPtr::live(st.ports.get(index)?.ptr.as_raw(), func)
}

/// `mmal_port_disable`.
pub(crate) fn port_disable(port: PortPtr) -> Status {
    disable(port, false)
}

/// Disables `port`. The input end of a tunnel disables the whole tunnel
/// (output first), unless `by_output`: the tunnel's output disabling its
/// input, after itself.
///
/// Refused (`MMAL_EINVAL`, nothing changed) on the worker of the port's
/// component, or of the component at the other end of a tunnel: a disable
/// waits for the buffers that worker holds, and a tunnel's output frees
/// the tunnel's pool only once its input has given every buffer back.
///
/// `is_enabled` reads 0 from the start, as in libmmal, which clears it
/// first and then gives the port's buffers back through its callback:
/// picamera's callbacks read it there to tell a port being disabled
/// (whose `mmal_port_send_buffer` is refused) from a real error. While it
/// waits for those buffers, the port is *disabling*: it takes no buffer,
/// no enable and no connection until no callback of it can run any more
/// (the buffers it held given back, a tunnel's input disabled too).
/// libmmal holds the port's locks throughout, so that an enable waits for
/// the disable to end; here an enable is refused instead, so it can never
/// install a callback that the disable would then take.
fn disable(port: PortPtr, by_output: bool) -> Status {
    let shared = port.shared();
    if shared.in_callback() {
        log::error!("mmal_port_disable: {} disabled from its own callback would deadlock", port.name());
        return sys::MMAL_EINVAL;
    }
    let index = port.index_all();
    let mut st = shared.state.lock();
    if !st.ports[index].enabled || st.ports[index].disabling {
        let why = if st.ports[index].disabling { "is being disabled" } else { "is not enabled" };
        log::error!("mmal_port_disable: {}: port {why}", port.name());
        return sys::MMAL_EINVAL;
    }
    if let Some((peer, _)) = &st.ports[index].peer {
        if peer.on_worker() {
            log::error!(
                "mmal_port_disable: {}: disabled from a callback of the component it is tunnelled to ({}), \
                 which could not give the tunnel's buffers back",
                port.name(),
                peer.name
            );
            return sys::MMAL_EINVAL;
        }
    }
    // The input end of a tunnel: libmmal disables the whole tunnel, output
    // first (a connection over it still says it is enabled).
    if let (false, Some((peer, peer_index)), false) = (st.ports[index].id.is_output(), &st.ports[index].peer, by_output)
    {
        let (peer, peer_index) = (peer.clone(), *peer_index);
        drop(st);
        return disable_from_input(port, &peer, peer_index);
    }
    // The fault is the public call's: a tunnel's input, disabled by its
    // output, does not take it.
    if !by_output && take_port_disable_fault() {
        log::error!("mmal_vc_port_disable: {}: the VideoCore did not answer (EIO)", port.name());
        return sys::MMAL_EIO;
    }
    // Claimed (a second disable is refused, an enable, a send or a
    // connection too, and a tunnel's input waits for it), and `is_enabled`
    // reads 0, as libmmal clears it first; then the events queued on the
    // port go out while it can still deliver them.
    st.ports[index].disabling = true;
    port.set_enabled(false);
    deliver_queued_events(&shared, &mut st, index);
    let p = &mut st.ports[index];
    // What an encoder made before the disable still goes out, in the
    // buffers the port holds: a Pi's firmware fills a buffer as it arrives,
    // so one sent back before the disable takes the picture waiting for it
    // (the stream does not end on headers whose picture was dropped).
    let filled = if p.cb.is_some() && !p.awaiting_commit { fill_queued(p) } else { Vec::new() };
    p.enabled = false;
    p.awaiting_commit = false;
    p.pending.clear();
    // The tunnel as it is now: a disconnect meanwhile must not make its
    // pool look free while the input may still hold its buffers.
    let peer = p.peer.clone();
    super::pause::at("disable: draining", port.as_raw() as usize);
    while st.ports[index].in_flight > 0 || st.ports[index].events_handed_back > 0 {
        shared.wait(&mut st);
    }
    let p = &mut st.ports[index];
    let cb = p.cb.take();
    let pool = p.tunnel_pool.take();
    let returned = take_held(p);
    drop(st);
    let status = match pool {
        None => {
            give_back(&shared, port, cb, filled, returned);
            sys::MMAL_SUCCESS
        }
        Some(pool) => {
            // A tunnel: the buffers belong to the connection's pool, which
            // the input holds too until it is disabled.
            give_back(&shared, port, None, filled, returned);
            disable_input_and_free(port, peer, pool)
        }
    };
    // No callback of the port runs after this: it may be enabled again.
    let mut st = shared.state.lock();
    st.ports[index].disabling = false;
    drop(st);
    shared.wake.notify_all();
    status
}

/// How long a disable waits for the events queued on its port: the
/// worker takes events first, so only a callback that never returns (one
/// waiting for the disabling thread) holds it this long.
const EVENTS_WAIT: Duration = Duration::from_secs(5);

/// Waits until the worker has taken the events queued on port `index`
/// now, if the port can deliver them (a callback, or a tunnel); the port
/// is still enabled, and claimed by its disable. libmmal's disable runs
/// the callbacks queued for the component before it returns
/// (`mmal_vc_port_disable`), and an event the VideoCore sent before it
/// answered a call (the camera's error with its failed enable) is queued
/// by the time the call returns: a program that disables the port next
/// still hears of it (picamera's "No data received from sensor"). Events
/// posted meanwhile are not waited for; nor, past [`EVENTS_WAIT`], those
/// of a worker held in a callback (logged).
fn deliver_queued_events(shared: &Shared, st: &mut MutexGuard<'_, State>, index: usize) {
    let p = &st.ports[index];
    if p.cb.is_none() && p.peer.is_none() {
        return;
    }
    let Some(last) = st.events.iter().rposition(|&(port, _)| port == index) else { return };
    let until = st.events_taken + last as u64 + 1;
    let deadline = Instant::now() + EVENTS_WAIT;
    // The worker takes events before any other work, and wakes waiters
    // after each one.
    while st.events_taken < until && !st.shutdown {
        if shared.wake.wait_until(st, deadline).timed_out() && st.events_taken < until {
            log::error!(
                "mmal_port_disable: {}: its component's thread did not take the port's events within {EVENTS_WAIT:?} \
                 (held in a callback?); disabled without them",
                st.ports[index].ptr.name()
            );
            return;
        }
    }
}

/// The second half of a tunnel output's disable: its input (reached
/// pinned), then the tunnel's pool, kept if the input stays enabled.
fn disable_input_and_free(out: PortPtr, peer: Option<(Arc<Shared>, usize)>, pool: PoolPtr) -> Status {
    let Some((peer, peer_index)) = peer else {
        pool.destroy();
        return sys::MMAL_SUCCESS;
    };
    super::pause::at("disable: tunnel output reaches its input", out.as_raw() as usize);
    // A destroyed input component cannot hold the pool's buffers: its
    // destroy disables the tunnel, through this output, before it marks
    // itself destroyed (see `component::destroy`).
    let input = pinned(&peer, peer_index, "mmal_port_disable").filter(|_| peer.state.lock().ports[peer_index].enabled);
    let status = match &input {
        Some(input) => disable(**input, true),
        None => sys::MMAL_SUCCESS,
    };
    if peer.state.lock().ports[peer_index].enabled {
        // Not expected (the checks above cover the known causes): the
        // input may still hold the pool's buffers, so the pool is leaked
        // rather than freed under it.
        let name = input.as_ref().map_or("?", |i| i.name());
        log::error!(
            "mmal_port_disable: {}: its tunnelled input {name} stays enabled; the tunnel's pool is kept",
            out.name()
        );
        return if status == sys::MMAL_SUCCESS { sys::MMAL_EIO } else { status };
    }
    pool.destroy();
    sys::MMAL_SUCCESS
}

/// `mmal_port_disable` of a tunnel's input: disables the tunnel through its
/// output (reached pinned). If the output is being disabled already, this
/// waits for that to end (it disables the input too), then answers as
/// libmmal's second disable does once the first has ended: `MMAL_EINVAL`,
/// not enabled.
fn disable_from_input(input: PortPtr, peer: &Arc<Shared>, peer_index: usize) -> Status {
    let mut st = peer.state.lock();
    if !st.destroyed && st.ports[peer_index].disabling {
        super::pause::at("disable: input waits for its output", input.as_raw() as usize);
        while !st.destroyed && st.ports[peer_index].disabling {
            peer.wait(&mut st);
        }
    }
    let out_enabled = !st.destroyed && st.ports[peer_index].enabled;
    drop(st);
    let out = if out_enabled { pinned(peer, peer_index, "mmal_port_disable") } else { None };
    match out {
        Some(out) => port_disable(*out),
        None => {
            let shared = input.shared();
            let enabled = shared.state.lock().ports[input.index_all()].enabled;
            if enabled {
                log::error!("mmal_port_disable: {}: the tunnel's output is not enabled", input.name());
            } else {
                log::error!("mmal_port_disable: {}: port is not enabled", input.name());
            }
            sys::MMAL_EINVAL
        }
    }
}

/// Every buffer a port holds: queued, and refused (kept until now).
fn take_held(p: &mut PortState) -> Vec<BufPtr> {
    p.queue.drain(..).chain(p.rejected.drain(..)).collect()
}

/// Takes the buffers queued on `p` that its pending output fills, filled,
/// in order: whole parts only, and headers (`CONFIG`) only with the part
/// after them (the picture they open), so the stream never ends on a cut
/// part or on headers alone; what the buffers cannot take is dropped.
fn fill_queued(p: &mut PortState) -> Vec<BufPtr> {
    let mut filled = Vec::new();
    while let Some(&(ref data, sent, flags, _)) = p.pending.front() {
        let mut unit = vec![data.len() - sent];
        if flags & sys::MMAL_BUFFER_HEADER_FLAG_CONFIG != 0 {
            match p.pending.get(1) {
                Some((next, _, _, _)) => unit.push(next.len()),
                None => break,
            }
        }
        let Some(need) = buffers_for(&unit, p.queue.iter().map(|b| b.alloc_size())) else { break };
        for _ in 0..need {
            let buffer = p.queue.pop_front().expect("counted by buffers_for");
            p.fill_pending(buffer);
            filled.push(buffer);
        }
    }
    filled
}

/// How many of the buffers (their sizes, in order) the parts of `sizes`
/// take, each part starting a buffer of its own (an empty one takes one):
/// `None` if they do not all fit. A buffer with no room takes nothing.
fn buffers_for(sizes: &[usize], mut buffers: impl Iterator<Item = usize>) -> Option<usize> {
    let mut need = 0;
    for &size in sizes {
        let mut left = size;
        loop {
            let room = buffers.next()?;
            if room == 0 {
                return None;
            }
            need += 1;
            left = left.saturating_sub(room);
            if left == 0 {
                break;
            }
        }
    }
    Some(need)
}

/// Gives buffers a port held back to their owner: those `filled` as they
/// are, then the rest empty, through the port's callback under the action
/// lock; without a callback (a tunnel's ends, a port enabled without one)
/// to their pool.
fn give_back(shared: &Shared, port: PortPtr, cb: Option<Callback>, filled: Vec<BufPtr>, returned: Vec<BufPtr>) {
    match cb {
        Some(cb) => {
            let _action = shared.action.lock();
            for b in filled {
                port.call(cb, b);
            }
            for b in returned {
                b.set(0, 0, 0, sys::MMAL_TIME_UNKNOWN);
                port.call(cb, b);
            }
        }
        None => filled.into_iter().chain(returned).for_each(BufPtr::release),
    }
}

/// `mmal_port_flush`: an enabled port gives back the buffers it holds
/// (through its callback, empty) and stays enabled; a disabled port does
/// nothing, as in libmmal.
pub(crate) fn port_flush(port: PortPtr) -> Status {
    let shared = port.shared();
    if shared.on_worker() {
        log::error!("mmal_port_flush: {} flushed from its own callback would deadlock", port.name());
        return sys::MMAL_EINVAL;
    }
    let index = port.index_all();
    let mut st = shared.state.lock();
    if st.ports[index].id.is_control() {
        return sys::MMAL_ENOSYS;
    }
    // A port being disabled: its disable gives everything back.
    if !st.ports[index].enabled || st.ports[index].disabling {
        return sys::MMAL_SUCCESS;
    }
    let p = &mut st.ports[index];
    let cb = p.cb;
    let returned = take_held(p);
    drop(st);
    // A tunnel's buffers go back to its pool, whose hook sends them to the
    // output again.
    give_back(&shared, port, cb, Vec::new(), returned);
    sys::MMAL_SUCCESS
}

/// `mmal_port_send_buffer`.
pub(crate) fn port_send_buffer(port: PortPtr, buffer: BufPtr) -> Status {
    match port.shared().take(port.index_all(), buffer, true) {
        Ok(()) => sys::MMAL_SUCCESS,
        Err(status) => status,
    }
}

/// Whether a port is in zero-copy mode (its pools come from VCSM).
pub(crate) fn zero_copy(port: PortPtr) -> bool {
    port.shared().state.lock().ports[port.index_all()].zero_copy
}

impl Shared {
    /// A buffer a tunnel sends to port `index`.
    pub(crate) fn accept(&self, index: usize, buffer: BufPtr) -> Result<(), Status> {
        self.take(index, buffer, false)
    }

    /// A buffer sent to port `index`: by the client (`from_client`: counted
    /// in the port's statistics, as libmmal's core counts each buffer
    /// `mmal_port_send_buffer` takes), or by a tunnel.
    fn take(&self, index: usize, buffer: BufPtr, from_client: bool) -> Result<(), Status> {
        let mut st = self.state.lock();
        if st.destroyed {
            return Err(sys::MMAL_EINVAL);
        }
        let Some(p) = st.ports.get_mut(index) else { return Err(sys::MMAL_EINVAL) };
        if p.id.is_control() {
            return Err(sys::MMAL_ENOSYS);
        }
        if !p.enabled || p.disabling {
            return Err(sys::MMAL_EINVAL);
        }
        if buffer.cmd() != 0 && (from_client || !p.id.is_output()) {
            // An event sent to a port (by the client: a connection hands a
            // FORMAT_CHANGED on to its input; by a tunnel): a format change
            // is taken as committed, any other event dropped. A tunnel's
            // buffer goes back to its pool; the client's comes back at
            // once, empty, through the port's callback (to its pool without
            // one), as libmmal's VideoCore client hands it back, on the
            // sender's thread; counted meanwhile, so that a disable waits
            // for that callback (and one from inside it is refused).
            let back = if from_client && p.peer.is_none() { p.cb.map(|cb| (p.ptr, cb)) } else { None };
            if from_client {
                count(&mut p.stats[sys::MMAL_CORE_STATS_RX as usize]);
            }
            if back.is_some() {
                p.events_handed_back += 1;
            }
            match crate::objects::read_format_changed(buffer) {
                Some((format, _)) => match commit_locked(&mut st, index, format) {
                    Ok(changed) => {
                        apply(&st, &changed, usize::MAX);
                        // Committed, as by `mmal_port_format_commit`.
                        st.ports[index].awaiting_commit = false;
                    }
                    Err(_) => log::error!("mmal_port_send_buffer: the format an event carried was not taken"),
                },
                None => log::error!(
                    "mmal_port_send_buffer: event {:#x} dropped (a port takes only a format change)",
                    buffer.cmd()
                ),
            }
            drop(st);
            // An output's format may have followed, with an event to send.
            self.wake.notify_all();
            buffer.set(buffer.cmd(), 0, buffer.flags(), buffer.pts());
            match back {
                Some((port, cb)) => {
                    self.handing_back(|| port.call(cb, buffer));
                    self.state.lock().ports[index].events_handed_back -= 1;
                    self.wake.notify_all();
                }
                None => buffer.release(),
            }
            return Ok(());
        }
        p.queue.push_back(buffer);
        if from_client {
            count(&mut p.stats[sys::MMAL_CORE_STATS_RX as usize]);
        }
        drop(st);
        self.wake.notify_all();
        Ok(())
    }
}

/// One more buffer in `stats`, now: libmmal's clock (`vcos_getmicrosecs`:
/// on Linux, vcos's pthreads port reads `gettimeofday`, in microseconds,
/// as 32 bits), with the longest gap between two buffers.
fn count(stats: &mut sys::MMAL_CORE_STATISTICS_T) {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    // Never 0: a first time of 0 means no buffer yet.
    let now = (since_epoch.as_micros() as u32).max(1);
    stats.buffer_count = stats.buffer_count.wrapping_add(1);
    if stats.first_buffer_time == 0 {
        stats.first_buffer_time = now;
    } else {
        stats.max_delay = stats.max_delay.max(now.wrapping_sub(stats.last_buffer_time));
    }
    stats.last_buffer_time = now;
}

static FAIL_NEXT_PORT_DISABLE: AtomicBool = AtomicBool::new(false);

/// Makes the next `mmal_port_disable` of an enabled port fail with
/// `MMAL_EIO` and leave the port enabled, as when the VideoCore stops
/// answering: for testing what a client does then. The disable a
/// component's last release makes counts: that release then fails with
/// `MMAL_EIO` and frees nothing (for a component of this VideoCore; one
/// reached over VCHIQ, whose firmware this is, is destroyed there anyway).
pub fn fail_next_port_disable() {
    FAIL_NEXT_PORT_DISABLE.store(true, Ordering::SeqCst);
}

/// Consumes the fault [`fail_next_port_disable`] injected, if any.
fn take_port_disable_fault() -> bool {
    FAIL_NEXT_PORT_DISABLE.swap(false, Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::buffers_for;

    #[test]
    fn parts_are_counted_whole_each_from_a_buffer_of_its_own() {
        // Headers of 26 bytes and a picture of 300, in buffers of 100.
        assert_eq!(buffers_for(&[26, 300], [100; 5].into_iter()), Some(4));
        assert_eq!(buffers_for(&[26, 300], [100; 3].into_iter()), None, "the picture would be cut");
        assert_eq!(buffers_for(&[26], [64].into_iter()), Some(1));
        // An empty part (an EOS) takes a buffer.
        assert_eq!(buffers_for(&[0], [64].into_iter()), Some(1));
        assert_eq!(buffers_for(&[0], std::iter::empty()), None);
        // A buffer with no room cannot take a part (its filler drops it).
        assert_eq!(buffers_for(&[5, 20], [0, 10].into_iter()), None);
        assert_eq!(buffers_for(&[5], [8, 0].into_iter()), Some(1));
    }
}
