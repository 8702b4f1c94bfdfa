//! Location IDs and location-prefixed object names.
//! (Stub: being implemented under issue #2.)
