//! Fresh identifiers without a uuid crate: time, process id and a counter, mixed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// splitmix64: spreads nearby inputs (consecutive counters) over the whole 64-bit range.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 128 fresh random-looking bits; unique within and across processes on this machine.
pub fn fresh_u128() -> u128 {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let pid = u64::from(std::process::id());
    let hi = mix(nanos ^ (pid << 40) ^ n);
    let lo = mix(hi ^ n.rotate_left(29) ^ pid);
    (u128::from(hi) << 64) | u128::from(lo)
}

/// A version-4-shaped UUID string, e.g. `3f2a…-…-4…-8…-…`.
pub fn fresh_uuid() -> String {
    let mut v = fresh_u128();
    v = (v & !(0xF << 76)) | (0x4 << 76); // version 4
    v = (v & !(0x3 << 62)) | (0x2 << 62); // RFC 4122 variant
    let h = format!("{v:032x}");
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// `n` lowercase hex digits (n <= 32).
pub fn fresh_hex(n: usize) -> String {
    let h = format!("{:032x}", fresh_u128());
    h[..n.min(32)].to_string()
}

/// Milliseconds since the Unix epoch (what Lambda's deadline header carries).
pub fn epoch_millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_distinct_and_well_formed() {
        let a = fresh_uuid();
        let b = fresh_uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(a.split('-').map(str::len).eq([8, 4, 4, 4, 12]));
    }
}
