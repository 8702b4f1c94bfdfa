//! NOC-side diff: a snapshot or delta applied to the stored object set becomes explicit create/update/delete operations.
//! (Stub: being implemented under issue #2.)
