//! libmmal's helpers that work on plain structs and on the parameter calls,
//! rather than on the emulator's objects:
//!
//! * formats: `mmal_format_alloc`/`_free`/`_extradata_alloc`/`_copy`/
//!   `_full_copy`/`_compare`;
//! * names: `mmal_status_to_string`, `mmal_port_type_to_string`,
//!   `mmal_4cc_to_string`;
//! * the pixel sizes of the raw encodings: `mmal_encoding_width_to_stride`
//!   and `mmal_encoding_stride_to_width`;
//! * typed parameters: `mmal_port_parameter_set_uint32` and the rest of the
//!   family, `mmal_port_parameter_alloc_get`/`_free`, and the
//!   `mmal_util_*` helpers (URI, display region, STC timestamps, core
//!   statistics, ports by type, the firmware's RGB order). They build the
//!   parameter struct and call `mmal_port_parameter_set`/`_get` of
//!   [`mmal_emu::api()`], which checks the port and answers for it;
//! * `mmal_log_dump_port`/`_format`, which describe a port or a format in
//!   the debug log (the `log` crate, level debug).
//!
//! Every function answers NULL pointers as libmmal answers bad arguments
//! (`MMAL_EINVAL`, NULL, or nothing) instead of dereferencing them, and none
//! lets a panic reach C: nothing here unwraps, indexes or overflows, and
//! the logger is called under `catch_unwind`.
//!
//! Memory this module hands out is recorded by address, so that freeing
//! (`mmal_format_free`, `mmal_port_parameter_free`) only ever releases its
//! own blocks, with the layout they were made with, and ignores any other
//! pointer. A format keeps the extradata it owns (32 bytes built in, a heap
//! buffer beyond) until it is freed. A format this module did not make,
//! such as a port's, cannot be given a new buffer: extradata that does not
//! fit the one it has is refused with `MMAL_ENOSPC`.
//!
//! One module per idea: [`format`], [`names`], [`params`] and [`logging`];
//! every function is also named here, where it has always been.

mod format;
mod logging;
mod names;
mod params;

pub use format::*;
pub use logging::*;
pub use names::*;
pub use params::*;
