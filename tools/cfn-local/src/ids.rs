//! Fresh identifiers (random, version 4 UUIDs) and the epoch time Lambda's headers carry.

use std::time::{SystemTime, UNIX_EPOCH};

/// A version 4 UUID, e.g. `3f2a…-…-4…-8…-…`.
pub fn fresh_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `n` lowercase hex digits (n <= 32).
pub fn fresh_hex(n: usize) -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    hex[..n.min(32)].to_string()
}

/// Milliseconds since the Unix epoch (what Lambda's deadline header carries).
pub fn epoch_millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
