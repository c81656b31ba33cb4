//! A buffer's flags (`MMAL_BUFFER_HEADER_FLAG_*`), typed.

use std::fmt;
use std::ops::{BitAnd, BitOr};

use mmal_sys as sys;

/// What a buffer's flags say: where it sits in a frame, whether it is a
/// keyframe, headers or side information. A set of bits, tested with
/// [`contains`](Self::contains).
///
/// ```
/// use mmal::BufferFlags;
/// let f = BufferFlags::FRAME_END | BufferFlags::KEYFRAME;
/// assert!(f.contains(BufferFlags::KEYFRAME));
/// assert!(!f.contains(BufferFlags::EOS));
/// assert_eq!(format!("{f:?}"), "BufferFlags(FRAME_END | KEYFRAME)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BufferFlags(u32);

const NAMES: [(BufferFlags, &str); 13] = [
    (BufferFlags::EOS, "EOS"),
    (BufferFlags::FRAME_START, "FRAME_START"),
    (BufferFlags::FRAME_END, "FRAME_END"),
    (BufferFlags::KEYFRAME, "KEYFRAME"),
    (BufferFlags::DISCONTINUITY, "DISCONTINUITY"),
    (BufferFlags::CONFIG, "CONFIG"),
    (BufferFlags::ENCRYPTED, "ENCRYPTED"),
    (BufferFlags::CODEC_SIDE_INFO, "CODEC_SIDE_INFO"),
    (BufferFlags::SNAPSHOT, "SNAPSHOT"),
    (BufferFlags::CORRUPTED, "CORRUPTED"),
    (BufferFlags::TRANSMISSION_FAILED, "TRANSMISSION_FAILED"),
    (BufferFlags::DECODE_ONLY, "DECODE_ONLY"),
    (BufferFlags::NAL_END, "NAL_END"),
];

impl BufferFlags {
    /// No flags.
    pub const EMPTY: BufferFlags = BufferFlags(0);
    /// The last buffer of the stream (a still's last buffer has it).
    pub const EOS: BufferFlags = BufferFlags(sys::MMAL_BUFFER_HEADER_FLAG_EOS);
    /// The first buffer of a frame.
    pub const FRAME_START: BufferFlags = BufferFlags(sys::MMAL_BUFFER_HEADER_FLAG_FRAME_START);
    /// The last buffer of a frame.
    pub const FRAME_END: BufferFlags = BufferFlags(sys::MMAL_BUFFER_HEADER_FLAG_FRAME_END);
    /// A keyframe (an IDR in H.264), or part of one.
    pub const KEYFRAME: BufferFlags = BufferFlags(sys::MMAL_BUFFER_HEADER_FLAG_KEYFRAME);
    /// Data was lost before this buffer.
    pub const DISCONTINUITY: BufferFlags = BufferFlags(sys::MMAL_BUFFER_HEADER_FLAG_DISCONTINUITY);
    /// Codec configuration (H.264's SPS and PPS).
    pub const CONFIG: BufferFlags = BufferFlags(sys::MMAL_BUFFER_HEADER_FLAG_CONFIG);
    /// Encrypted data.
    pub const ENCRYPTED: BufferFlags = BufferFlags(sys::MMAL_BUFFER_HEADER_FLAG_ENCRYPTED);
    /// Side information (H.264 motion vectors), not part of the stream.
    pub const CODEC_SIDE_INFO: BufferFlags = BufferFlags(sys::MMAL_BUFFER_HEADER_FLAG_CODECSIDEINFO);
    /// A snapshot taken while recording.
    pub const SNAPSHOT: BufferFlags = BufferFlags(sys::MMAL_BUFFER_HEADER_FLAG_SNAPSHOT);
    /// The data is corrupt (a conversion that failed).
    pub const CORRUPTED: BufferFlags = BufferFlags(sys::MMAL_BUFFER_HEADER_FLAG_CORRUPTED);
    /// Transmission failed.
    pub const TRANSMISSION_FAILED: BufferFlags = BufferFlags(sys::MMAL_BUFFER_HEADER_FLAG_TRANSMISSION_FAILED);
    /// Decode, do not display.
    pub const DECODE_ONLY: BufferFlags = BufferFlags(sys::MMAL_BUFFER_HEADER_FLAG_DECODEONLY);
    /// The end of a NAL unit.
    pub const NAL_END: BufferFlags = BufferFlags(sys::MMAL_BUFFER_HEADER_FLAG_NAL_END);

    /// The flags of raw `MMAL_BUFFER_HEADER_FLAG_*` bits (unknown bits kept).
    pub const fn from_bits(bits: u32) -> BufferFlags {
        BufferFlags(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: BufferFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for BufferFlags {
    type Output = BufferFlags;
    fn bitor(self, rhs: BufferFlags) -> BufferFlags {
        BufferFlags(self.0 | rhs.0)
    }
}

impl BitAnd for BufferFlags {
    type Output = BufferFlags;
    fn bitand(self, rhs: BufferFlags) -> BufferFlags {
        BufferFlags(self.0 & rhs.0)
    }
}

impl fmt::Debug for BufferFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BufferFlags(")?;
        let mut rest = self.0;
        let mut first = true;
        for (flag, name) in NAMES {
            if self.contains(flag) && !flag.is_empty() {
                f.write_str(if first { "" } else { " | " })?;
                f.write_str(name)?;
                rest &= !flag.0;
                first = false;
            }
        }
        if rest != 0 {
            write!(f, "{}{rest:#x}", if first { "" } else { " | " })?;
        }
        f.write_str(")")
    }
}
