//! Tests of the unsafe layer on its own: callback marks that nest and
//! survive panics. (Its trampolines with the layers above it, a stream's
//! sink and real components, are tested in `crate::callback_tests`.)

use super::callbacks::as_callback_of;
use super::*;

#[test]
fn the_callback_mark_is_restored_when_a_callback_panics() {
    let component = RawComponent(NonNull::dangling());
    let mut port = sys::MMAL_PORT_T { component: component.0.as_ptr(), ..Default::default() };
    let port = RawPort(NonNull::from(&mut port));
    let result = std::panic::catch_unwind(|| {
        as_callback_of(port, || {
            assert!(in_callback_of(component));
            panic!("a callback fails");
        })
    });
    assert!(result.is_err());
    assert!(!in_callback_of(component), "the mark outlived the callback");
}

#[test]
fn a_connection_closure_is_inside_both_components() {
    // Two addresses, never dereferenced.
    let component = |addr: usize| RawComponent(NonNull::new(addr as *mut sys::MMAL_COMPONENT_T).unwrap());
    let (a, b) = (component(0x1000), component(0x2000));
    let mut out = sys::MMAL_PORT_T { component: a.0.as_ptr(), ..Default::default() };
    let mut input = sys::MMAL_PORT_T { component: b.0.as_ptr(), ..Default::default() };
    let (out, input) = (RawPort(NonNull::from(&mut out)), RawPort(NonNull::from(&mut input)));
    as_callback_of_both(out, input, || {
        assert!(in_callback_of(a) && in_callback_of(b));
        // A callback inside it keeps both marks.
        as_callback_of(out, || assert!(in_callback_of(a) && in_callback_of(b)));
        assert!(in_callback_of(a) && in_callback_of(b));
    });
    assert!(!in_callback_of(a) && !in_callback_of(b));
    // Nested callbacks of other components add their marks, and take
    // them away when they return.
    as_callback_of(out, || {
        as_callback_of(input, || assert!(in_callback_of(a) && in_callback_of(b)));
        assert!(in_callback_of(a) && !in_callback_of(b));
    });
    assert!(!in_callback_of(a));
}

/// More marks than any provider nests: none is lost. Before, the marks
/// were four slots, and a fifth component overwrote the fourth: from
/// then on the thread was not inside it, and configuring it was a
/// deadlock instead of `WouldDeadlock`.
#[test]
fn deeply_nested_callbacks_keep_every_mark() {
    // Addresses, never dereferenced.
    let components: Vec<RawComponent> =
        (1..=9).map(|i| RawComponent(NonNull::new((i * 0x1000) as *mut sys::MMAL_COMPONENT_T).unwrap())).collect();
    let mut ports: Vec<sys::MMAL_PORT_T> =
        components.iter().map(|c| sys::MMAL_PORT_T { component: c.0.as_ptr(), ..Default::default() }).collect();
    let ports: Vec<RawPort> = ports.iter_mut().map(|p| RawPort(NonNull::from(p))).collect();
    fn nest(ports: &[RawPort], components: &[RawComponent], depth: usize) {
        if depth == ports.len() {
            assert!(components.iter().all(|&c| in_callback_of(c)), "a mark was lost");
            return;
        }
        as_callback_of(ports[depth], || nest(ports, components, depth + 1));
        // Back out of the deeper ones: only the outer marks remain.
        assert!(components[..depth].iter().all(|&c| in_callback_of(c)));
        assert!(components[depth..].iter().all(|&c| !in_callback_of(c)));
    }
    nest(&ports, &components, 0);
    // Two at a time too (connections' closures).
    as_callback_of_both(ports[0], ports[1], || {
        as_callback_of_both(ports[2], ports[3], || {
            as_callback_of_both(ports[4], ports[5], || {
                assert!(components[..6].iter().all(|&c| in_callback_of(c)));
            });
        });
    });
    assert!(components.iter().all(|&c| !in_callback_of(c)));
}
