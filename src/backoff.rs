//! Jittered exponential backoff shared by the Logs retries and the ResponseURL PUT retries.

use std::time::{Duration, Instant};

/// Delay before retry number `attempt` (1-based): "full jitter" over an exponential ceiling,
/// so concurrent stacks that were throttled together do not retry in lockstep.
pub fn delay(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let ceiling = base.saturating_mul(1u32 << attempt.min(16)).min(cap);
    // Never below half the ceiling: a retry storm of near-zero sleeps helps nobody.
    let half = ceiling / 2;
    half + half.mul_f64(random_unit())
}

/// The delay, or `None` when sleeping it would run past `deadline`.
pub fn delay_within(attempt: u32, base: Duration, cap: Duration, deadline: Instant) -> Option<Duration> {
    let d = delay(attempt, base, cap);
    (Instant::now() + d < deadline).then_some(d)
}

/// A uniform number in [0, 1) without a rand dependency: hashing the clock through the std hasher
/// (randomly keyed per process) is plenty for jitter.
fn random_unit() -> f64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_capped() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(2);
        for attempt in 1..40 {
            let d = delay(attempt, base, cap);
            let ceiling = base.saturating_mul(1u32 << attempt.min(16)).min(cap);
            assert!(d >= ceiling / 2 && d <= ceiling, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn no_delay_past_the_deadline() {
        let soon = Instant::now() + Duration::from_millis(10);
        assert_eq!(
            delay_within(5, Duration::from_millis(100), Duration::from_secs(5), soon),
            None
        );
    }
}
