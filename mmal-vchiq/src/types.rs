//! What the client's calls take and give: components, ports, formats,
//! buffers, events. Plain data, no pointers.

use vchiq_sys as sys;

/// A port's kind, as the wire numbers it.
///
/// ```
/// use mmal_vchiq::PortType;
/// assert_eq!(PortType::Output.to_u32(), 3);
/// assert_eq!(PortType::from_u32(2), Some(PortType::Input));
/// assert_eq!(PortType::from_u32(9), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortType {
    /// The component's control port (index 0): events, parameters.
    Control,
    /// An input port.
    Input,
    /// An output port.
    Output,
    /// A clock port.
    Clock,
}

impl PortType {
    /// The wire value (`MMAL_MSG_PORT_TYPE_*`).
    ///
    /// ```
    /// assert_eq!(mmal_vchiq::PortType::Control.to_u32(), 1);
    /// ```
    pub fn to_u32(self) -> u32 {
        match self {
            PortType::Control => sys::MMAL_MSG_PORT_TYPE_CONTROL,
            PortType::Input => sys::MMAL_MSG_PORT_TYPE_INPUT,
            PortType::Output => sys::MMAL_MSG_PORT_TYPE_OUTPUT,
            PortType::Clock => sys::MMAL_MSG_PORT_TYPE_CLOCK,
        }
    }

    /// The type of a wire value; `None` for an unknown one.
    ///
    /// ```
    /// assert_eq!(mmal_vchiq::PortType::from_u32(4), Some(mmal_vchiq::PortType::Clock));
    /// ```
    pub fn from_u32(value: u32) -> Option<PortType> {
        match value {
            sys::MMAL_MSG_PORT_TYPE_CONTROL => Some(PortType::Control),
            sys::MMAL_MSG_PORT_TYPE_INPUT => Some(PortType::Input),
            sys::MMAL_MSG_PORT_TYPE_OUTPUT => Some(PortType::Output),
            sys::MMAL_MSG_PORT_TYPE_CLOCK => Some(PortType::Clock),
            _ => None,
        }
    }
}

/// A component on the VideoCore, as COMPONENT_CREATE answered.
///
/// ```
/// let c = mmal_vchiq::Component { handle: 7, inputs: 0, outputs: 3, clocks: 0 };
/// assert_eq!(c.outputs, 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Component {
    /// The VideoCore's handle of the component.
    pub handle: u32,
    /// Its input ports.
    pub inputs: u32,
    /// Its output ports.
    pub outputs: u32,
    /// Its clock ports.
    pub clocks: u32,
}

/// A port: its component, the VideoCore's handle of it, its kind and
/// index. Obtained from [`PortInfo::port`].
///
/// ```
/// use mmal_vchiq::{PortRef, PortType};
/// let p = PortRef { component: 7, handle: 9, kind: PortType::Output, index: 1 };
/// assert_eq!(p.kind, PortType::Output);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRef {
    /// The component's handle.
    pub component: u32,
    /// The port's handle (from PORT_INFO_GET).
    pub handle: u32,
    /// Control, input, output or clock.
    pub kind: PortType,
    /// Its index among the ports of its kind.
    pub index: u32,
}

/// A rectangle (`MMAL_RECT_T`).
///
/// ```
/// let r = mmal_vchiq::Rect { x: 0, y: 0, width: 640, height: 480 };
/// assert_eq!(r.width, 640);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rect {
    /// Left.
    pub x: i32,
    /// Top.
    pub y: i32,
    /// Width.
    pub width: i32,
    /// Height.
    pub height: i32,
}

/// A fraction (`MMAL_RATIONAL_T`).
///
/// ```
/// let r = mmal_vchiq::Rational { num: 30, den: 1 };
/// assert_eq!(r.num, 30);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rational {
    /// Numerator.
    pub num: i32,
    /// Denominator.
    pub den: i32,
}

/// The elementary-stream-specific part of a format, read as video (the
/// wire's union is 44 bytes, and this view covers all of them, so an audio
/// or subpicture format survives a round trip unchanged: audio's channels,
/// sample rate, bits per sample and block align are `width`, `height`,
/// `crop.x` and `crop.y`).
///
/// ```
/// let v = mmal_vchiq::VideoFormat { width: 640, height: 480, ..Default::default() };
/// assert_eq!(v.height, 480);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VideoFormat {
    /// Width in pixels (a multiple of the port's alignment).
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The visible part.
    pub crop: Rect,
    /// Frames per second (0/0 for variable).
    pub frame_rate: Rational,
    /// Pixel aspect ratio.
    pub par: Rational,
    /// Colour space (`MMAL_COLOR_SPACE_*`).
    pub color_space: u32,
}

/// A port's format (`MMAL_ES_FORMAT_T` and its specific part and
/// extradata, as the wire carries them).
///
/// ```
/// let f = mmal_vchiq::Format { encoding: mmal_sys::MMAL_ENCODING_I420, ..Default::default() };
/// assert!(f.extradata.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Format {
    /// The stream's type (`MMAL_ES_TYPE_*`).
    pub es_type: u32,
    /// The encoding (`MMAL_ENCODING_*`).
    pub encoding: u32,
    /// Its variant.
    pub encoding_variant: u32,
    /// Bits per second (0 if unknown).
    pub bitrate: u32,
    /// `MMAL_ES_FORMAT_FLAG_*`.
    pub flags: u32,
    /// The specific part (see [`VideoFormat`]).
    pub video: VideoFormat,
    /// Codec configuration data, at most 128 bytes.
    pub extradata: Vec<u8>,
}

/// A port as the VideoCore describes it (PORT_INFO_GET, or PORT_INFO_SET's
/// answer). Change `buffer_num`, `buffer_size`, `userdata` and `format`,
/// then give it to [`Client::port_info_set`](crate::Client::port_info_set):
/// the VideoCore takes only those.
///
/// ```no_run
/// # fn f(client: &mmal_vchiq::Client, camera: &mmal_vchiq::Component) -> mmal_vchiq::Result<()> {
/// let mut info = client.port_info_get(camera.handle, mmal_vchiq::PortType::Output, 1)?;
/// info.format.video.width = 1280;
/// let committed = client.port_info_set(&info)?;
/// println!("{} bytes a buffer", committed.buffer_size_min);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PortInfo {
    /// Which port.
    pub port: PortRef,
    /// Its index among all the component's ports.
    pub index_all: u16,
    /// Whether it is enabled.
    pub is_enabled: bool,
    /// Fewest buffers it works with.
    pub buffer_num_min: u32,
    /// Smallest buffer it takes.
    pub buffer_size_min: u32,
    /// Alignment its buffers need.
    pub buffer_alignment_min: u32,
    /// Buffers it works best with.
    pub buffer_num_recommended: u32,
    /// Buffer size it works best with.
    pub buffer_size_recommended: u32,
    /// Buffers it is set up for (writable).
    pub buffer_num: u32,
    /// Buffer size it is set up for (writable).
    pub buffer_size: u32,
    /// `MMAL_PORT_CAPABILITY_*`.
    pub capabilities: u32,
    /// The host's word about the port (writable; the VideoCore keeps it).
    pub userdata: u32,
    /// Its format (writable).
    pub format: Format,
}

/// Where a buffer's payload lives.
///
/// ```
/// let host = mmal_vchiq::Memory::Host(vec![0; 4096]);
/// let vc = mmal_vchiq::Memory::VideoCore { handle: 0x1234 };
/// assert!(matches!(host, mmal_vchiq::Memory::Host(_)) && matches!(vc, mmal_vchiq::Memory::VideoCore { .. }));
/// ```
#[derive(Debug, PartialEq, Eq)]
pub enum Memory {
    /// In this process: data moves by bulk transfer (or inline, at most 128
    /// bytes). An input's payload is `data[..length]`; an output's data is
    /// received into it (it grows as needed).
    Host(Vec<u8>),
    /// Memory in this process that its owner lends for an output buffer
    /// (see [`vchiq::BulkBuffer::lend`]), such as a C buffer header's
    /// payload: the VideoCore's data is received into it in place, from
    /// its start (the buffer comes back with offset 0), and the client
    /// copies nothing. It comes back as `Lent` in [`Returned::memory`].
    /// If its data transfer fails, the buffer comes back with empty `Host`
    /// memory instead, and the lent memory is dropped when nothing can
    /// write it any more: at once if the receive was never queued, else
    /// when the driver is done with it (for good, if the driver never
    /// says); its owner learns that from its token being dropped. Input
    /// buffers take `Host` or `VideoCore` memory.
    Lent(vchiq::BulkBuffer),
    /// Zero copy: a VCSM block the VideoCore reads or writes itself, named
    /// by its VideoCore handle. Nothing is copied by the client. The
    /// firmware takes a buffer as its port makes it, so this goes exactly
    /// to the ports this client turned `MMAL_PARAMETER_ZERO_COPY` on for,
    /// and `Host` and `Lent` memory to the others
    /// ([`Client::send_buffer`](crate::Client::send_buffer) refuses a
    /// mismatch).
    VideoCore {
        /// The block's VideoCore handle.
        handle: u32,
    },
}

/// A buffer to hand to a port (BUFFER_FROM_HOST).
///
/// ```
/// let empty = mmal_vchiq::BufferToSend::output(vec![0; 460_800], 460_800);
/// assert_eq!(empty.length, 0);
/// let full = mmal_vchiq::BufferToSend::input(vec![1, 2, 3], 4096);
/// assert_eq!(full.length, 3);
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct BufferToSend {
    /// The payload's memory.
    pub memory: Memory,
    /// The buffer's size (at least the port's `buffer_size`).
    pub alloc_size: u32,
    /// Bytes of payload (inputs; 0 for an output port, whatever is said).
    pub length: u32,
    /// Where an input's payload starts in its VideoCore block (zero copy:
    /// `offset + length` is at most `alloc_size`); 0 for any other buffer
    /// (host memory's payload is `data[..length]`).
    pub offset: u32,
    /// `MMAL_BUFFER_HEADER_FLAG_*`.
    pub flags: u32,
    /// Presentation time, µs (`MMAL_TIME_UNKNOWN` if none).
    pub pts: i64,
    /// Decode time, µs.
    pub dts: i64,
    /// The host's own word about the buffer, never sent to the VideoCore:
    /// it comes back in [`Returned::tag`].
    pub tag: u64,
    /// An input's payload of at most 128 bytes goes in the message itself
    /// instead of by bulk transfer. libmmal does this only for a port
    /// whose format is `MMAL_ENCODING_OPAQUE` (an opaque image handle) and
    /// for clock ports; false by default.
    pub inline: bool,
    /// The video part of the header (planes, their offsets and pitches),
    /// sent as libmmal sends its header's `type->video`; zero by default.
    pub video: VideoPlanes,
}

impl BufferToSend {
    /// An empty host buffer for an output port: the data is received into
    /// `data`.
    ///
    /// ```
    /// let b = mmal_vchiq::BufferToSend::output(Vec::new(), 1024);
    /// assert_eq!(b.alloc_size, 1024);
    /// ```
    pub fn output(data: Vec<u8>, alloc_size: u32) -> BufferToSend {
        BufferToSend {
            memory: Memory::Host(data),
            alloc_size,
            length: 0,
            offset: 0,
            flags: 0,
            pts: sys::MMAL_MSG_TIME_UNKNOWN,
            dts: sys::MMAL_MSG_TIME_UNKNOWN,
            tag: 0,
            inline: false,
            video: VideoPlanes::default(),
        }
    }

    /// A full host buffer for an input port: its payload is all of `data`.
    ///
    /// ```
    /// let b = mmal_vchiq::BufferToSend::input(vec![0; 10], 64);
    /// assert_eq!((b.length, b.alloc_size), (10, 64));
    /// ```
    pub fn input(data: Vec<u8>, alloc_size: u32) -> BufferToSend {
        let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
        BufferToSend { length, ..BufferToSend::output(data, alloc_size) }
    }
}

/// A buffer cookie: the 32-bit context the VideoCore echoes for a buffer,
/// a slot of the client's slab and its generation (never a pointer, never
/// 0).
///
/// ```
/// # let cookie: Option<mmal_vchiq::Cookie> = None;
/// if let Some(c) = cookie { println!("{:#x}", c.to_u32()); }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cookie(pub(crate) u32);

impl Cookie {
    /// The value on the wire.
    ///
    /// ```
    /// # fn f(c: mmal_vchiq::Cookie) { assert_ne!(c.to_u32(), 0); }
    /// ```
    pub fn to_u32(self) -> u32 {
        self.0
    }
}

/// The video part of a buffer header (`MMAL_BUFFER_HEADER_VIDEO_SPECIFIC_T`).
///
/// ```
/// let v = mmal_vchiq::VideoPlanes::default();
/// assert_eq!(v.planes, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VideoPlanes {
    /// Planes in the frame.
    pub planes: u32,
    /// Offset of each plane.
    pub offset: [u32; 4],
    /// Pitch of each plane.
    pub pitch: [u32; 4],
    /// `MMAL_BUFFER_HEADER_VIDEO_FLAG_*`.
    pub flags: u32,
}

/// From a C buffer header's type-specific part, field for field.
///
/// ```
/// let c = mmal_sys::MMAL_BUFFER_HEADER_VIDEO_SPECIFIC_T { planes: 3, ..Default::default() };
/// let v = mmal_vchiq::VideoPlanes::from(c);
/// assert_eq!(v.planes, 3);
/// assert_eq!(mmal_sys::MMAL_BUFFER_HEADER_VIDEO_SPECIFIC_T::from(v), c);
/// ```
impl From<mmal_sys::MMAL_BUFFER_HEADER_VIDEO_SPECIFIC_T> for VideoPlanes {
    fn from(v: mmal_sys::MMAL_BUFFER_HEADER_VIDEO_SPECIFIC_T) -> VideoPlanes {
        VideoPlanes { planes: v.planes, offset: v.offset, pitch: v.pitch, flags: v.flags }
    }
}

/// Into a C buffer header's type-specific part, field for field.
impl From<VideoPlanes> for mmal_sys::MMAL_BUFFER_HEADER_VIDEO_SPECIFIC_T {
    fn from(v: VideoPlanes) -> mmal_sys::MMAL_BUFFER_HEADER_VIDEO_SPECIFIC_T {
        mmal_sys::MMAL_BUFFER_HEADER_VIDEO_SPECIFIC_T {
            planes: v.planes,
            offset: v.offset,
            pitch: v.pitch,
            flags: v.flags,
        }
    }
}

/// A buffer back from the VideoCore (BUFFER_TO_HOST), or released by the
/// client because its port was disabled or the client closed without the
/// VideoCore returning it.
///
/// ```
/// fn on_buffer(b: mmal_vchiq::Returned) {
///     if let mmal_vchiq::Memory::Host(data) = &b.memory {
///         let frame = &data[b.offset as usize..(b.offset + b.length) as usize];
///         println!("{} bytes", frame.len());
///     }
/// }
/// ```
#[derive(Debug, PartialEq, Eq)]
pub struct Returned {
    /// The port it was sent to.
    pub port: PortRef,
    /// Its cookie (free again by the time the handler sees it).
    pub cookie: Cookie,
    /// [`BufferToSend::tag`].
    pub tag: u64,
    /// The VideoCore's status for the buffer (not success: it was refused,
    /// and comes back empty).
    pub status: crate::Status,
    /// The memory it was sent with: for a host output buffer, the data is
    /// at `offset..offset + length`; an input's memory comes back as it went.
    pub memory: Memory,
    /// The buffer's size.
    pub alloc_size: u32,
    /// Bytes of payload. For host memory, `offset + length` never exceeds
    /// the memory's length: an answer claiming more comes back with length
    /// 0 and `TRANSMISSION_FAILED`.
    pub length: u32,
    /// Where the payload starts.
    pub offset: u32,
    /// `MMAL_BUFFER_HEADER_FLAG_*` (`TRANSMISSION_FAILED` if its data could
    /// not be received).
    pub flags: u32,
    /// Presentation time, µs.
    pub pts: i64,
    /// Decode time, µs.
    pub dts: i64,
    /// The command (0 for data buffers).
    pub cmd: u32,
    /// The video part of the header.
    pub video: VideoPlanes,
    /// The VideoCore never returned it: the client released it when the
    /// port was disabled or the client closed (length 0).
    pub released: bool,
}

/// An event from a port (EVENT_TO_HOST): an error, an end of stream, a
/// format change, a parameter change.
///
/// ```
/// fn on_event(e: mmal_vchiq::Event) {
///     if e.cmd == vchiq_sys::MMAL_MSG_EVENT_ERROR { eprintln!("error event on {:?}", e.port_type); }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The component's handle.
    pub component: u32,
    /// The port's kind.
    pub port_type: PortType,
    /// The port's index.
    pub port_index: u32,
    /// The event (`MMAL_EVENT_*` 4CC).
    pub cmd: u32,
    /// Its payload (for FORMAT_CHANGED: the buffer requirements and the new
    /// format, as the firmware lays them out).
    pub data: Vec<u8>,
}

/// Counters of the client, for tests and leak checks.
///
/// ```
/// let s = mmal_vchiq::Stats::default();
/// assert_eq!(s.buffers_in_flight, 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Cookies in use (buffers with the VideoCore, or being delivered).
    pub buffers_in_flight: usize,
    /// Buffers the VideoCore returned with a cookie the client did not
    /// give out (or no longer had out): logged and dropped.
    pub stale_buffers: u64,
    /// Buffers released by the client because the VideoCore did not return
    /// them in time (port disable, close).
    pub released_buffers: u64,
    /// Components created and not yet destroyed.
    pub components: usize,
    /// Bytes of data the client received by bulk transfer (an output's
    /// frames, events' overflow, data dropped to keep the order): what it
    /// copied in. Zero-copy buffers add nothing.
    pub bytes_received: u64,
    /// Bytes of input data the client sent, inline or by bulk transfer:
    /// what it copied out. Zero-copy buffers add nothing.
    pub bytes_sent: u64,
}
