//! The one error type of the handler. Its `Display` *is* the Reason CloudFormation shows the user,
//! so every variant says what went wrong, on what, and what to do about it.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The event is not a well-formed CloudFormation custom-resource request.
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    #[error("unsupported ResourceType '{0}': supported types are {supported}", supported = crate::resources::SUPPORTED_TYPES.join(", "))]
    UnsupportedResourceType(String),

    /// A property value the API would refuse, caught before any AWS call.
    #[error("{property}: {message}")]
    InvalidProperty { property: String, message: String },

    /// Create found a resource of that name or pairing that this stack resource did not create.
    #[error("{kind} '{id}' already exists and was not created by this stack resource; it was left untouched. Choose another {property}, or delete the existing one first")]
    AlreadyExists { kind: &'static str, id: String, property: &'static str },

    /// An update asks to change a property the service cannot change in place.
    #[error("{property} cannot change on an existing {kind} ('{current}' -> '{desired}'); change Name as well so CloudFormation replaces the resource")]
    CreateOnlyChange { kind: &'static str, property: &'static str, current: String, desired: String },

    /// CloudWatch Logs refused the call.
    #[error("{operation} failed{attempts}: {code}: {message}", attempts = attempts_note(*.attempts))]
    Aws { operation: &'static str, code: String, message: String, attempts: u32 },

    /// CloudWatch Logs could not be reached at all.
    #[error("{operation} failed{attempts}: could not reach CloudWatch Logs: {detail}", attempts = attempts_note(*.attempts))]
    Unreachable { operation: &'static str, detail: String, attempts: u32 },

    /// The operation was abandoned so that CloudFormation gets an answer before the Lambda deadline.
    #[error("timed out after {:.1} s waiting for CloudWatch Logs; the operation was abandoned to answer before the Lambda deadline (raise the function's Timeout if this persists)", .0.as_secs_f64())]
    TimedOut(Duration),

    #[error("internal error: the handler panicked ({0}); nothing more was attempted")]
    Panic(String),
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

impl Error {
    pub fn invalid(property: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidProperty { property: property.into(), message: message.into() }
    }

    /// The service says the target does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Aws { code, .. } if code == "ResourceNotFoundException")
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Aws { code, .. } if code == "ConflictException")
    }
}

/// For reads and deletes where "not found" is an answer, not a failure.
pub trait OrAbsent<T> {
    /// `ResourceNotFoundException` becomes `Ok(None)`.
    fn or_absent(self) -> Result<Option<T>, Error>;
}

impl<T> OrAbsent<T> for Result<T, Error> {
    fn or_absent(self) -> Result<Option<T>, Error> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}
