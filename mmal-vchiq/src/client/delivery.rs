//! The delivery thread: takes what the VCHIQ callback queued, in order,
//! receives each buffer's data (the bulk transfer that follows its
//! message), and calls the handler. While a call from the handler waits for
//! its reply, the thread goes on receiving ([`stage`]), and hands what it
//! received to the handler once the call is done.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::time::Instant;

use vchiq_sys as sys;

use super::Client;
use crate::core::{key, Core, Held, InFlight, Item, Ready};
use crate::error::{Error, Result};
use crate::types::{Cookie, Event, Memory, PortType, Returned, VideoPlanes};
use crate::wire::{self, BufferIn};

/// The most bytes received for data nobody will read (a stale buffer's):
/// more than any frame the VideoCore makes.
const MAX_STRAY: usize = 64 << 20;
/// The most bytes of an event received by bulk.
const MAX_EVENT: usize = 1 << 20;

/// The thread's body: until the client closes (or the service does).
pub(super) fn run(client: Client) {
    let core = &client.core;
    let _ = core.delivery_thread.set(std::thread::current().id());
    loop {
        if hand_over_staged(&client) {
            continue;
        }
        let item = {
            let mut st = core.router.state.lock();
            loop {
                if let Some(item) = st.queue.pop_front() {
                    break Some(item);
                }
                if st.stop {
                    break None;
                }
                core.router.cond.wait(&mut st);
            }
        };
        match item {
            Some(Item::Closed) | None => break,
            Some(item) => process_guarded(&client, item),
        }
    }
    finish(&client);
}

/// From inside the handler (a port disable waiting for its buffers): takes
/// and delivers the next item, waiting for one until `deadline`. Leaves a
/// close for the thread's loop. Returns whether it delivered something.
pub(super) fn pump(client: &Client, deadline: Instant) -> bool {
    let core = &client.core;
    if hand_over_staged(client) {
        return true;
    }
    let item = {
        let mut st = core.router.state.lock();
        loop {
            match st.queue.front() {
                Some(Item::Closed) => return false,
                Some(_) => break st.queue.pop_front().expect("not empty"),
                None if st.stop => return false,
                None => {
                    if core.router.cond.wait_until(&mut st, deadline).timed_out() && st.queue.is_empty() {
                        return false;
                    }
                }
            }
        }
    };
    process_guarded(client, item);
    true
}

/// Receives what `item` comes to and hands it to the handler, a panic
/// caught: the thread goes on (a dead delivery thread would never finish:
/// no close, no drain). A buffer taken out of the slab when it panicked is
/// lost; its port is no longer counted as delivering.
fn process_guarded(client: &Client, item: Item) {
    guarded(&client.core, || {
        if let Some(ready) = prepare(&client.core, item) {
            hand_over(client, ready);
        }
    });
}

/// Hands the oldest staged item to the handler, a panic caught (as
/// [`process_guarded`]); `false` if nothing is staged.
fn hand_over_staged(client: &Client) -> bool {
    let mut staged = false;
    guarded(&client.core, || {
        if let Some(ready) = unstage(&client.core) {
            staged = true;
            hand_over(client, ready);
        }
    });
    staged
}

/// Runs `f`, a panic caught: the ports `f` marked as delivering are no
/// longer counted.
fn guarded(core: &Core, f: impl FnOnce()) {
    let depth = core.buffers.lock().delivering.len();
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        log::error!("mmal-vchiq: the delivery thread panicked on a message from the VideoCore; it goes on");
        core.buffers.lock().delivering.truncate(depth);
        core.buffers_cond.notify_all();
    }
}

/// A call from the handler is waiting for its reply (on this thread): the
/// next queued item's data is received, and what it comes to kept for the
/// handler, in order ([`crate::core::Buffers::staged`]). `false` if nothing
/// but a close was queued. Given to the client's core at construction.
pub(crate) fn stage(core: &Core) -> bool {
    let item = {
        let mut st = core.router.state.lock();
        match st.queue.front() {
            None | Some(Item::Closed) => return false,
            Some(_) => st.queue.pop_front().expect("not empty"),
        }
    };
    guarded(core, || {
        if let Some(ready) = prepare(core, item) {
            let mut b = core.buffers.lock();
            if let Ready::Buffer(r) = &ready {
                // Counted as staged from here on, no longer as delivering.
                if let Some(i) = b.delivering.iter().rposition(|p| key(p) == key(&r.port)) {
                    b.delivering.remove(i);
                }
            }
            b.staged.push_back(ready);
        }
    });
    true
}

/// The oldest staged item, counted as delivering again (for its port).
fn unstage(core: &Core) -> Option<Ready> {
    let mut b = core.buffers.lock();
    let ready = b.staged.pop_front()?;
    if let Ready::Buffer(r) = &ready {
        b.delivering.push(r.port);
    }
    Some(ready)
}

/// Receives the data of `item`: what it comes to for the handler, if
/// anything. A buffer's port is counted as delivering from here.
fn prepare(core: &Core, item: Item) -> Option<Ready> {
    match item {
        Item::Message(m) => match wire::message_type(&m) {
            Some(sys::MMAL_MSG_TYPE_BUFFER_TO_HOST) => buffer(core, &m),
            Some(sys::MMAL_MSG_TYPE_EVENT_TO_HOST) => {
                // Done with unless it goes to the handler, also by a panic.
                let ready = catch_unwind(AssertUnwindSafe(|| event(core, &m)));
                if let (Ok(None) | Err(_), Some(cookie)) = (&ready, wire::event_cookie(&m)) {
                    core.router.event_done(cookie, false);
                }
                ready.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }
            Some(ty) => {
                log::warn!("mmal-vchiq: unexpected {} (type {ty}) from the VideoCore; dropped", wire::type_name(ty));
                None
            }
            None => {
                log::warn!("mmal-vchiq: a message of {} bytes without an MMAL header; dropped", m.len());
                None
            }
        },
        Item::Released(cookie) => {
            let entry = take(core, cookie, true, |e| e.released);
            entry.map(|e| Ready::Buffer(released(cookie, e)))
        }
        Item::Closed => None,
    }
}

/// Gives `ready` to the handler.
fn hand_over(client: &Client, ready: Ready) {
    match ready {
        Ready::Buffer(returned) => deliver(client, returned),
        Ready::Event(event, cookie) => {
            let handler = &client.handler;
            client.core.router.event_handing(cookie);
            if catch_unwind(AssertUnwindSafe(|| handler.event(client, event))).is_err() {
                log::error!("mmal-vchiq: the event handler panicked");
            }
            client.core.router.event_done(cookie, true);
        }
    }
}

/// Takes the entry under `cookie` out of the slab if `ok` accepts it,
/// marking its port as being delivered. An entry whose message is still
/// being sent is waited for (bounded: the sender's waits are); if it is
/// still pending then, it is taken only if `pending_too`.
fn take(core: &Core, cookie: Cookie, pending_too: bool, ok: impl FnOnce(&InFlight) -> bool) -> Option<InFlight> {
    let mut b = core.buffers.lock();
    let deadline = Instant::now() + core.bulk_timeout + core.reply_timeout;
    let pending = |b: &crate::core::Buffers| b.slab.get(cookie).is_some_and(|e| matches!(e.memory, Held::Pending));
    while pending(&b) {
        if core.buffers_cond.wait_until(&mut b, deadline).timed_out() && pending(&b) {
            log::warn!("mmal-vchiq: buffer {:#x} is still being sent", cookie.to_u32());
            if !pending_too {
                return None;
            }
            break;
        }
    }
    if !b.slab.get(cookie).is_some_and(ok) {
        return None;
    }
    let e = b.slab.remove(cookie)?;
    b.delivering.push(e.port);
    Some(e)
}

/// Hands a buffer to the handler; then its port is no longer delivering.
fn deliver(client: &Client, returned: Returned) {
    let handler = &client.handler;
    if catch_unwind(AssertUnwindSafe(|| handler.buffer(client, returned))).is_err() {
        log::error!("mmal-vchiq: the buffer handler panicked; the buffer is lost");
    }
    client.core.buffers.lock().delivering.pop();
    client.core.buffers_cond.notify_all();
}

fn released(cookie: Cookie, e: InFlight) -> Returned {
    let memory = match e.memory {
        Held::Host(v) => Memory::Host(v),
        Held::VideoCore(handle) => Memory::VideoCore { handle },
        Held::Lent(b) => Memory::Lent(b),
        // Done by now if the VideoCore took the data; if not, the
        // transfer is abandoned (the driver drops the memory).
        Held::Sending(t, length) if t.is_done() => {
            let mut v = t.wait().ok().and_then(vchiq::BulkBuffer::into_vec).unwrap_or_default();
            v.truncate(length);
            Memory::Host(v)
        }
        Held::Sending(..) | Held::Pending => Memory::Host(Vec::new()),
    };
    Returned {
        port: e.port,
        cookie,
        tag: e.tag,
        status: crate::Status::Success,
        memory,
        alloc_size: e.alloc_size,
        length: 0,
        offset: 0,
        flags: 0,
        pts: sys::MMAL_MSG_TIME_UNKNOWN,
        dts: sys::MMAL_MSG_TIME_UNKNOWN,
        cmd: 0,
        video: VideoPlanes::default(),
        released: true,
    }
}

/// Receives `size` bytes (rounded up to a word) by bulk into `buffer`.
/// The VideoCore sends them whatever happens here: a receive not queued,
/// or queued and not completed in time (it cannot be withdrawn, and would
/// take the next buffer's data), loses the data order, which is fatal for
/// the client.
fn receive(core: &Core, mut buffer: Vec<u8>, size: usize) -> Result<Vec<u8>> {
    buffer.resize(size.next_multiple_of(4), 0);
    receive_into(core, buffer.into(), size).map(|b| b.into_vec().unwrap_or_default())
}

/// [`receive`] into `buffer`, which holds at least `size` rounded up to a
/// word. Only a transfer that completed gives the buffer back; otherwise
/// it is dropped at once if the receive was never queued, or kept by the
/// driver until it is done with it.
fn receive_into(core: &Core, buffer: vchiq::BulkBuffer, size: usize) -> Result<vchiq::BulkBuffer> {
    let n = size.next_multiple_of(4);
    let received = core
        .with_service(|s| s.bulk_receive(buffer, n).map_err(Error::from))
        .and_then(|t| t.wait_timeout(core.bulk_timeout).map_err(Error::from));
    match &received {
        Ok(_) => {
            core.bytes_received.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        }
        Err(_) => core.fail_data_order("a bulk receive of the VideoCore's data failed or timed out"),
    }
    received
}

/// Whether the VideoCore sends this buffer's data by bulk, and how much.
fn bulk_size(b: &BufferIn) -> Option<usize> {
    if !b.status.is_success() || b.zero_copy || b.inline.is_some() {
        return None;
    }
    match b.length {
        // An empty EOS buffer comes with an 8-byte dummy, to keep the bulk
        // order.
        0 if b.flags & sys::MMAL_MSG_BUFFER_FLAG_EOS != 0 => Some(8),
        0 => None,
        n => Some(n as usize),
    }
}

/// Receives and drops data nobody will read, to keep the bulk order.
fn discard(core: &Core, size: usize, why: &str) {
    if size > MAX_STRAY {
        log::error!("mmal-vchiq: {why}: {size} bytes of data follow, too many to skip");
        core.fail_data_order("data too large to skip followed a buffer");
        return;
    }
    if let Err(e) = receive(core, Vec::new(), size) {
        log::warn!("mmal-vchiq: {why}: skipping its data: {e}");
    }
}

fn buffer(core: &Core, m: &[u8]) -> Option<Ready> {
    let b = match wire::buffer_to_host(m) {
        Ok(b) => b,
        Err(e) => {
            log::error!("mmal-vchiq: {e}; dropped");
            return None;
        }
    };
    let cookie = Cookie(b.cookie);
    let entry = take(core, cookie, false, |e| !e.released && key(&e.port) == (b.component, b.port));
    let Some(e) = entry else {
        core.stale.fetch_add(1, Ordering::Relaxed);
        log::warn!(
            "mmal-vchiq: a buffer came back with cookie {:#x}, which is not out (stale or unknown); dropped",
            b.cookie
        );
        if let Some(size) = bulk_size(&b) {
            discard(core, size, "a stale buffer");
        }
        return None;
    };
    let (memory, length, offset, flags) = data(core, &b, e.memory, e.alloc_size);
    let returned = Returned {
        port: e.port,
        cookie,
        tag: e.tag,
        status: b.status,
        memory,
        alloc_size: e.alloc_size,
        length,
        offset,
        flags,
        pts: b.pts,
        dts: b.dts,
        cmd: b.cmd,
        video: b.video,
        released: false,
    };
    Some(Ready::Buffer(returned))
}

/// The data of a buffer back from the VideoCore, into the memory it went
/// with: that memory, and the data's length, offset and flags.
fn data(core: &Core, b: &BufferIn, held: Held, alloc_size: u32) -> (Memory, u32, u32, u32) {
    let mut flags = b.flags;
    let mut length = b.length;
    let mut offset = b.offset;
    let mut v = match held {
        Held::Lent(lent) => {
            let (memory, got, failed) = into_lent(core, b, lent);
            if failed {
                flags |= sys::MMAL_MSG_BUFFER_FLAG_TRANSMISSION_FAILED;
            }
            return (memory, got, 0, flags);
        }
        Held::Host(v) => v,
        // Back from the VideoCore, which took its data before: the
        // transmit is done, or about to be reported done.
        Held::Sending(t, sent) => t.wait_timeout(core.bulk_timeout).map_or_else(
            |err| {
                log::warn!("mmal-vchiq: an input buffer's data transfer: {err}");
                // Still queued: the VideoCore would take it as another
                // buffer's data.
                core.fail_data_order("an input buffer came back before its data was taken");
                Vec::new()
            },
            // The memory as it went, without the transfer's padding.
            |v| {
                let mut v = v.into_vec().unwrap_or_default();
                v.truncate(sent);
                v
            },
        ),
        Held::VideoCore(handle) => {
            if let Some(size) = bulk_size(b) {
                discard(core, size, "a zero-copy buffer answered by bulk");
            }
            return (Memory::VideoCore { handle }, length, offset, flags);
        }
        Held::Pending => Vec::new(),
    };
    if let Some(d) = &b.inline {
        v.clear();
        v.extend_from_slice(d);
        (length, offset) = (d.len() as u32, 0);
    } else if let Some(size) = bulk_size(b) {
        let fits = b.length == 0 || u64::from(b.offset) + u64::from(b.length) <= u64::from(alloc_size);
        if !fits {
            log::warn!(
                "mmal-vchiq: a buffer of {} bytes came back with {} at offset {}; its data is dropped",
                alloc_size,
                b.length,
                b.offset
            );
            discard(core, size, "an oversized buffer");
            (length, offset) = (0, 0);
            flags |= sys::MMAL_MSG_BUFFER_FLAG_TRANSMISSION_FAILED;
        } else if b.length == 0 {
            discard(core, size, "an empty EOS buffer");
        } else {
            match receive(core, v, size) {
                Ok(mut d) => {
                    d.truncate(length as usize);
                    if offset > 0 {
                        d.splice(0..0, std::iter::repeat_n(0, offset as usize));
                    }
                    v = d;
                }
                Err(err) => {
                    log::warn!("mmal-vchiq: receiving a buffer's data: {err}");
                    v = Vec::new();
                    (length, offset) = (0, 0);
                    flags |= sys::MMAL_MSG_BUFFER_FLAG_TRANSMISSION_FAILED;
                }
            }
        }
    }
    // Otherwise no data: an input comes back consumed (its memory as it
    // went), a refused buffer empty. A length the memory does not hold (an
    // answer claiming zero copy for a host buffer, a refused buffer with a
    // length): no data.
    if u64::from(offset) + u64::from(length) > v.len() as u64 {
        log::warn!(
            "mmal-vchiq: a buffer came back with {length} bytes at offset {offset} and {} bytes of data; \
             delivered empty",
            v.len()
        );
        (length, offset) = (0, 0);
        flags |= sys::MMAL_MSG_BUFFER_FLAG_TRANSMISSION_FAILED;
    }
    (Memory::Host(v), length, offset, flags)
}

/// The data of an output buffer sent with lent memory, received into it
/// in place from its start: the memory to hand back, the data's length,
/// and whether data was lost. Data that does not fit is dropped. If the
/// transfer fails, the memory is not handed back (the driver keeps it
/// while it may still write it) and empty host memory comes back instead.
fn into_lent(core: &Core, b: &BufferIn, mut lent: vchiq::BulkBuffer) -> (Memory, u32, bool) {
    if let Some(d) = &b.inline {
        return match lent.get_mut(..d.len()) {
            Some(to) => {
                to.copy_from_slice(d);
                (Memory::Lent(lent), d.len() as u32, false)
            }
            None => (Memory::Lent(lent), 0, true),
        };
    }
    let Some(size) = bulk_size(b) else {
        // No data: refused, or empty; a length with no data (zero copy
        // claimed for host memory) is data lost.
        let lost = b.status.is_success() && b.length > 0;
        return (Memory::Lent(lent), 0, lost);
    };
    if b.length == 0 {
        discard(core, size, "an empty EOS buffer");
        return (Memory::Lent(lent), 0, false);
    }
    if b.length as usize > lent.len() {
        log::warn!(
            "mmal-vchiq: a buffer of {} bytes came back with {} bytes of data; its data is dropped",
            lent.len(),
            b.length
        );
        discard(core, size, "an oversized buffer");
        return (Memory::Lent(lent), 0, true);
    }
    if size.next_multiple_of(4) > lent.len() {
        // The transfer's padding does not fit: through host memory.
        return match receive(core, Vec::new(), size) {
            Ok(d) => {
                lent[..size].copy_from_slice(&d[..size]);
                (Memory::Lent(lent), size as u32, false)
            }
            Err(err) => {
                log::warn!("mmal-vchiq: receiving a buffer's data: {err}");
                (Memory::Lent(lent), 0, true)
            }
        };
    }
    match receive_into(core, lent, size) {
        Ok(back) => (Memory::Lent(back), size as u32, false),
        Err(err) => {
            log::warn!("mmal-vchiq: receiving a buffer's data: {err}; its memory stays with the driver");
            (Memory::Host(Vec::new()), 0, true)
        }
    }
}

fn event(core: &Core, m: &[u8]) -> Option<Ready> {
    let e = match wire::event_to_host(m) {
        Ok(e) => e,
        Err(err) => {
            log::error!("mmal-vchiq: {err}; dropped");
            return None;
        }
    };
    let data = match e.data {
        Some(d) => d,
        None => {
            let size = e.length as usize;
            if size > MAX_EVENT {
                log::error!("mmal-vchiq: an event of {size} bytes; dropped");
                core.fail_data_order("an event's data was too large to receive");
                return None;
            }
            match receive(core, Vec::new(), size) {
                Ok(mut d) => {
                    d.truncate(size);
                    d
                }
                Err(err) => {
                    log::warn!("mmal-vchiq: receiving an event's data: {err}; dropped");
                    return None;
                }
            }
        }
    };
    let component = core.components.lock().get(&e.client_component).copied();
    let (Some(component), Some(port_type)) = (component, PortType::from_u32(e.port_type)) else {
        log::warn!(
            "mmal-vchiq: an event {:#x} for component cookie {:#x}, port type {}, which are not known; dropped",
            e.cmd,
            e.client_component,
            e.port_type
        );
        return None;
    };
    Some(Ready::Event(Event { component, port_type, port_index: e.port_num, cmd: e.cmd, data }, e.client_component))
}

/// The client closed: what is still queued is delivered (its data can no
/// longer be received), every buffer still out is released, then the
/// handler hears of the close.
fn finish(client: &Client) {
    let core = &client.core;
    // Closed by the VideoCore: no more buffers go into the slab either.
    core.buffers.lock().closing = true;
    loop {
        if hand_over_staged(client) {
            continue;
        }
        let item = core.router.state.lock().queue.pop_front();
        match item {
            Some(item) => process_guarded(client, item),
            None => break,
        }
    }
    loop {
        let cookies = core.buffers.lock().slab.cookies_where(|_| true);
        if cookies.is_empty() {
            break;
        }
        core.released.fetch_add(cookies.len() as u64, Ordering::Relaxed);
        for c in cookies {
            if let Some(e) = take(core, c, true, |_| true) {
                deliver(client, released(c, e));
            }
        }
    }
    let handler = &client.handler;
    if catch_unwind(AssertUnwindSafe(|| handler.closed())).is_err() {
        log::error!("mmal-vchiq: the close handler panicked");
    }
}
