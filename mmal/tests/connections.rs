//! Tunnelled connections: buffers move between emulated components with no
//! client callback.

mod common;

use common::{serial, WAIT};
use mmal::params::Capture;
use mmal::{Component, Connection, ConnectionFlags, Encoding, Error, Format};

#[test]
fn camera_to_splitter_to_two_streams() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let splitter = Component::new("vc.ril.video_splitter").unwrap();
    let video = camera.output(1).unwrap();
    video.set_format(&Format::video(Encoding::I420, 160, 120).with_frame_rate(60)).unwrap();
    let link = Connection::new(&video, &splitter.input(0).unwrap(), ConnectionFlags::default()).unwrap();
    assert!(link.is_enabled());
    // The splitter took the camera's format.
    assert_eq!(splitter.input(0).unwrap().format().visible(), (160, 120));
    let a = splitter.output(0).unwrap().enable_stream(3).unwrap();
    let b = splitter.output(1).unwrap().enable_stream(3).unwrap();
    splitter.enable().unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    for _ in 0..5 {
        let fa = a.next_timeout(WAIT).unwrap();
        let fb = b.next_timeout(WAIT).unwrap();
        assert_eq!(fa.len(), 160 * 128 * 3 / 2, "rows aligned to 16");
        assert_eq!(fb.len(), fa.len());
    }
    // Connecting a connected port again is refused.
    let other = Component::new("vc.null_sink").unwrap();
    let e = Connection::new(&video, &other.input(0).unwrap(), ConnectionFlags::default()).unwrap_err();
    assert!(matches!(e, Error::State(_)), "{e}");
    link.disable().unwrap();
    link.enable().unwrap();
    a.next_timeout(WAIT).unwrap();
}

#[test]
fn preview_into_a_null_sink_while_the_video_port_streams() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let sink = Component::new("vc.null_sink").unwrap();
    let preview = camera.output(0).unwrap();
    preview.set_format(&Format::video(Encoding::OPAQUE, 320, 240).with_frame_rate(30)).unwrap();
    let _link = Connection::new(&preview, &sink.input(0).unwrap(), ConnectionFlags::default()).unwrap();
    sink.enable().unwrap();
    let video = camera.output(1).unwrap();
    video.set_format(&Format::video(Encoding::I420, 64, 48).with_frame_rate(30)).unwrap();
    let frames = video.enable_stream(2).unwrap();
    camera.enable().unwrap();
    video.set(&Capture(true)).unwrap();
    for _ in 0..3 {
        frames.next_timeout(WAIT).unwrap();
    }
}

#[test]
fn only_tunnels_and_output_to_input() {
    let _s = serial();
    let camera = Component::new("vc.ril.camera").unwrap();
    let sink = Component::new("vc.null_sink").unwrap();
    let out = camera.output(0).unwrap();
    let input = sink.input(0).unwrap();
    assert!(matches!(Connection::new(&out, &input, ConnectionFlags::ALLOCATION_ON_INPUT), Err(Error::Unsupported(_))));
    assert!(matches!(Connection::new(&input, &out, ConnectionFlags::default()), Err(Error::State(_))));
    // As libmmal: the connection sets each port to its recommended buffers,
    // then both take the larger of the two.
    let size = out.buffer_requirements().size_recommended;
    out.set_buffers(7, size + 4096).unwrap();
    let link = Connection::new(&out, &input, ConnectionFlags::default()).unwrap();
    let (o, i) = (out.buffer_requirements(), input.buffer_requirements());
    assert_eq!((o.num, o.size), (o.num_recommended.max(i.num_recommended), size), "{o:?} {i:?}");
    assert_eq!((i.num, i.size), (o.num, o.size));
    drop(link);
    // KEEP_BUFFER_REQUIREMENTS keeps what the ports had (still the larger).
    out.set_buffers(7, size + 4096).unwrap();
    let flags = ConnectionFlags::default() | ConnectionFlags::KEEP_BUFFER_REQUIREMENTS;
    let _link = Connection::new(&out, &input, flags).unwrap();
    let (o, i) = (out.buffer_requirements(), input.buffer_requirements());
    assert_eq!((o.num, o.size, i.num, i.size), (7, size + 4096, 7, size + 4096));
}
