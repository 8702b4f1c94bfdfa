//! Outpost's shared language: the object model, the event model, the wire format and the snapshot diff.
//!
//! This crate is pure: no async runtime, no filesystem, no sockets.
//! Only this crate defines what crosses the wire between a satellite and the NOC, and every frame carries a version.

mod compact_decode;
mod compat;
pub mod delta;
pub mod event;
pub mod frame;
#[doc(hidden)]
pub mod fuzzing;
pub mod model;
pub mod naming;
pub mod object_map;
pub mod ops;
pub mod perfdata;
pub mod plugin_output;
pub mod sitegen;
pub(crate) mod snapshot_decode;

pub use event::{Event, EventKind};
pub use frame::{Frame, FrameKind, Limits};
pub use model::{Object, ObjectKey, Snapshot, Stream, UnixMillis};
pub use object_map::ObjectMap;
