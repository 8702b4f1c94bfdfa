//! Incremental snapshots: a delta against a named base snapshot.
//! (Stub with the agreed API; being implemented under issue #2.)

use serde::{Deserialize, Serialize};

use crate::model::Snapshot;

/// SHA-256 over a snapshot's canonical encoding (objects in key order), used to name bases and to verify results.
pub type ContentHash = [u8; 32];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Delta {
    /// Sequence (in the snapshots stream) of the base this delta applies to.
    pub base_seq: u64,
    pub base_hash: ContentHash,
    /// Hash of the snapshot the delta produces; the receiver verifies it.
    pub target_hash: ContentHash,
    pub taken_at: i64,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeltaError {
    #[error("delta is against base seq {want_seq} ({want_hash}), but the held base is {have_hash}")]
    BaseMismatch { want_seq: u64, want_hash: String, have_hash: String },
    #[error("delta result hashes to {actual}, the sender said {expected}")]
    ResultMismatch { expected: String, actual: String },
    #[error("malformed delta: {0}")]
    Malformed(String),
}

/// The content hash of a snapshot.
pub fn content_hash(snapshot: &Snapshot) -> ContentHash {
    use sha2::{Digest, Sha256};
    let bytes = rmp_serde::to_vec(&snapshot.objects).unwrap_or_default();
    Sha256::digest(&bytes).into()
}

/// Builds the delta that turns `base` (seq `base_seq`) into `current`.
pub fn make(base: &Snapshot, base_seq: u64, current: &Snapshot) -> Delta {
    Delta {
        base_seq,
        base_hash: content_hash(base),
        target_hash: content_hash(current),
        taken_at: current.taken_at,
        body: rmp_serde::to_vec(current).unwrap_or_default(),
    }
}

/// Applies a delta to `base`, verifying the base and the result; never half-applies.
pub fn apply(base: &Snapshot, delta: &Delta) -> Result<Snapshot, DeltaError> {
    let have = content_hash(base);
    if have != delta.base_hash {
        return Err(DeltaError::BaseMismatch {
            want_seq: delta.base_seq,
            want_hash: hex::encode(delta.base_hash),
            have_hash: hex::encode(have),
        });
    }
    let snap: Snapshot = rmp_serde::from_slice(&delta.body).map_err(|e| DeltaError::Malformed(e.to_string()))?;
    let actual = content_hash(&snap);
    if actual != delta.target_hash {
        return Err(DeltaError::ResultMismatch {
            expected: hex::encode(delta.target_hash),
            actual: hex::encode(actual),
        });
    }
    Ok(snap)
}
