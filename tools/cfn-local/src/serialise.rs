//! The real service serialises changes to an account's delivery configuration: a mutating call
//! that overlaps another one in the same account and region is refused with the transient
//! ConflictException "Requested resource is currently being updated. Please try again later."
//! (seen on CreateDelivery: terraform-provider-aws#42194, #42947, PR #48158; on sixteen
//! PutDeliverySource calls for different resources in parallel: awslabs/nx-plugin-for-aws#1272;
//! see docs/SERVICE-RULES.md, "Account-wide serialisation"). moto answers every call at once.
//!
//! The layer plays it with a window: an accepted mutating call holds its account and region for
//! the window (the time the service takes to apply it) and is answered when the window ends; a
//! mutating call arriving meanwhile is refused at once. A caller that waits for each answer never
//! meets its own window, so only overlapping calls are refused.

use crate::http::Headers;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long an accepted mutating call holds its account and region by default: the service
/// applies a change in a fraction of a second to a few seconds ("it clears within seconds").
pub const DEFAULT_WINDOW: Duration = Duration::from_millis(200);

/// The refusal's text, as the real service words it (terraform-provider-aws#42194, PR #48158).
pub const BUSY_MESSAGE: &str = "Requested resource is currently being updated. Please try again later.";

/// The calls that change the delivery configuration: those the service model lists
/// ConflictException for. TagResource / UntagResource are not among them.
const MUTATING: &[&str] = &[
    "PutDeliverySource",
    "PutDeliveryDestination",
    "PutDeliveryDestinationPolicy",
    "CreateDelivery",
    "UpdateDeliveryConfiguration",
    "DeleteDeliverySource",
    "DeleteDeliveryDestination",
    "DeleteDeliveryDestinationPolicy",
    "DeleteDelivery",
];

/// True for a call the service serialises.
pub fn is_mutating(operation: &str) -> bool {
    MUTATING.contains(&operation)
}

/// Mutating calls seen while the window was on: `accepted × window` is the least time they can
/// take (the serialised floor).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpdateCounts {
    pub accepted: usize,
    pub refused: usize,
}

/// Whose configuration a call changes: (access key, region), from the SigV4 credential scope
/// (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`), as moto keeps its state per account and
/// region. Empty parts when the request is not signed that way.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Scope {
    pub access_key: String,
    pub region: String,
}

impl Scope {
    pub fn of(headers: &Headers) -> Scope {
        let authorization = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let credential = authorization
            .split("Credential=")
            .nth(1)
            .and_then(|c| c.split([',', ' ']).next())
            .unwrap_or_default();
        let mut parts = credential.split('/');
        let access_key = parts.next().unwrap_or_default().to_owned();
        Scope {
            access_key,
            region: parts.nth(1).unwrap_or_default().to_owned(),
        }
    }
}

/// What the serialiser decided for one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Not a mutating call, or the window is off: answer as usual.
    Free,
    /// Accepted: it holds its scope until then; answer no earlier.
    Until(Instant),
    /// Another mutating call holds the scope: answer [`BUSY_MESSAGE`] now.
    Refused,
}

/// The busy scopes and the counts.
#[derive(Debug)]
pub struct Serialiser {
    window: Duration,
    busy_until: HashMap<Scope, Instant>,
    counts: UpdateCounts,
}

impl Default for Serialiser {
    fn default() -> Self {
        Serialiser::new(DEFAULT_WINDOW)
    }
}

impl Serialiser {
    /// `window` zero: no call is ever refused or held.
    pub fn new(window: Duration) -> Self {
        Serialiser {
            window,
            busy_until: HashMap::new(),
            counts: UpdateCounts::default(),
        }
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// A new window; the counts start again.
    pub fn set_window(&mut self, window: Duration) {
        *self = Serialiser::new(window);
    }

    pub fn counts(&self) -> UpdateCounts {
        self.counts
    }

    /// Decides on `operation` arriving `now` for `scope`.
    pub fn admit(&mut self, operation: &str, scope: Scope, now: Instant) -> Admission {
        if self.window.is_zero() || !is_mutating(operation) {
            return Admission::Free;
        }
        let busy_until = self.busy_until.entry(scope).or_insert(now);
        if now < *busy_until {
            self.counts.refused += 1;
            return Admission::Refused;
        }
        self.counts.accepted += 1;
        *busy_until = now + self.window;
        Admission::Until(*busy_until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(key: &str, region: &str) -> Scope {
        Scope {
            access_key: key.into(),
            region: region.into(),
        }
    }

    #[test]
    fn the_scope_is_the_credentials_access_key_and_region() {
        let mut headers = Headers::new();
        assert_eq!(Scope::of(&headers), Scope::default());
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/logs/aws4_request, SignedHeaders=host, Signature=0";
        headers.insert("authorization", auth.parse().unwrap());
        assert_eq!(Scope::of(&headers), scope("AKIDEXAMPLE", "eu-west-1"));
    }

    #[test]
    fn an_overlapping_change_in_the_same_scope_is_refused() {
        let window = Duration::from_millis(100);
        let (mut s, t0) = (Serialiser::new(window), Instant::now());
        assert_eq!(
            s.admit("PutDeliverySource", scope("a", "us-east-1"), t0),
            Admission::Until(t0 + window)
        );
        let inside = t0 + window / 2;
        assert_eq!(
            s.admit("CreateDelivery", scope("a", "us-east-1"), inside),
            Admission::Refused
        );
        // Reads, tags, other regions and other accounts are not held up.
        for op in [
            "GetDeliverySource",
            "DescribeDeliveries",
            "ListTagsForResource",
            "TagResource",
            "UntagResource",
        ] {
            assert_eq!(s.admit(op, scope("a", "us-east-1"), inside), Admission::Free, "{op}");
        }
        assert!(matches!(
            s.admit("DeleteDelivery", scope("a", "eu-west-1"), inside),
            Admission::Until(_)
        ));
        assert!(matches!(
            s.admit("DeleteDelivery", scope("b", "us-east-1"), inside),
            Admission::Until(_)
        ));
        // A refusal does not extend the window.
        assert_eq!(
            s.admit("DeleteDeliverySource", scope("a", "us-east-1"), t0 + window),
            Admission::Until(t0 + 2 * window)
        );
        assert_eq!(
            s.counts(),
            UpdateCounts {
                accepted: 4,
                refused: 1
            }
        );
    }

    #[test]
    fn a_zero_window_holds_nothing() {
        let (mut s, t0) = (Serialiser::new(Duration::ZERO), Instant::now());
        for _ in 0..3 {
            assert_eq!(s.admit("PutDeliverySource", Scope::default(), t0), Admission::Free);
        }
        assert_eq!(s.counts(), UpdateCounts::default());
        s.set_window(DEFAULT_WINDOW);
        assert_eq!(s.window(), DEFAULT_WINDOW);
    }
}
