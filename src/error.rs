//! The one error type of the handler. Its `Display` *is* the Reason CloudFormation shows the user,
//! so every variant says what went wrong, on what, and what to do about it.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The event is not a well-formed CloudFormation custom-resource request.
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// `supported`: the types the provider handles, given by whoever refuses (error knows no kinds).
    #[error("unsupported ResourceType '{resource_type}': supported types are {}", .supported.join(", "))]
    UnsupportedResourceType {
        resource_type: String,
        supported: &'static [&'static str],
    },

    /// A property value the API would refuse, caught before any AWS call.
    #[error("{property}: {message}")]
    InvalidProperty { property: String, message: String },

    /// Every property problem validation found, all reported at once (most important first).
    #[error("{0}")]
    InvalidProperties(crate::props::Problems),

    /// Create found a resource of that name or pairing that this stack resource did not create
    /// (`owner`: the stack resource whose ownership tags it carries, if any), and may not take it.
    #[error("{kind} '{id}' already exists and was not created by this stack resource; it was left untouched. {}", already_exists_advice(.property, .owner.as_deref()))]
    AlreadyExists {
        kind: &'static str,
        id: String,
        property: &'static str,
        owner: Option<String>,
    },

    /// Update found the resource under its id, but its ownership tags name another stack resource
    /// (deleted and re-made by someone else): it is not modified.
    #[error("{kind} '{id}' exists but was not created by this stack resource (its ownership tags name another); it was left untouched. Delete it or let its owner manage it, then update the stack again")]
    NotOurs { kind: &'static str, id: String },

    /// A rename that keeps the source's ResourceArn and LogType: the service allows one delivery
    /// source per resource and log type, and CloudFormation creates the new one first.
    #[error("ResourceArn: renaming the delivery source '{old_name}' to '{new_name}' while keeping ResourceArn '{resource_arn}' and LogType '{log_type}' cannot work: CloudWatch Logs lets a resource back only one delivery source per log type, and CloudFormation creates the new source before deleting the old one. Keep the old Name, or replace the source in two updates (remove it and its deliveries, then add the renamed one); nothing was changed")]
    RenameKeepsResourceArn {
        old_name: String,
        new_name: String,
        resource_arn: String,
        log_type: String,
    },

    /// The service refused a second delivery source for the same resource and log type.
    #[error("ResourceArn: '{resource_arn}' already backs another delivery source with LogType '{log_type}' in this account (CloudWatch Logs allows one per resource and log type: {message}). Delete that source first, or use it instead of creating a new one")]
    ResourceArnTaken {
        resource_arn: String,
        log_type: String,
        message: String,
    },

    /// Delete refused because a delivery still uses the source or destination.
    #[error("{kind} '{id}' is still used by a delivery, so CloudWatch Logs refused to delete it ({operation}: {message}); delete the deliveries that use it first (a delivery made outside this stack must be removed by hand), then delete again")]
    InUse {
        kind: &'static str,
        id: String,
        operation: &'static str,
        message: String,
    },

    /// CreateDelivery refused because the source or destination it names does not exist (yet):
    /// often one named by text, which gives CloudFormation no order to create them in.
    #[error("{property}: the delivery {what} '{name}' does not exist in {region} (CreateDelivery: {message}). If this stack makes it, name it with {fix} (or add DependsOn on it) so that CloudFormation creates it before this delivery and deletes it after; otherwise check the name, and the delivery's Region and AssumeRoleArn")]
    MissingForDelivery {
        property: &'static str,
        what: &'static str,
        name: String,
        region: String,
        fix: &'static str,
        message: String,
    },

    /// A successful answer of the service lacked a field the handler needs.
    #[error("{operation} answered without {what}; nothing more was attempted (retry the stack operation; if it persists, this is a CloudWatch Logs API change)")]
    Incomplete {
        operation: &'static str,
        what: &'static str,
    },

    /// An update asks to change a property the service cannot change in place.
    #[error("{property} cannot change on an existing {kind} ('{current}' -> '{desired}'); change Name as well so CloudFormation replaces the resource")]
    CreateOnlyChange {
        kind: &'static str,
        property: &'static str,
        current: String,
        desired: String,
    },

    /// CloudWatch Logs refused the call.
    #[error("{operation} failed{attempts}: {code}: {message}", attempts = attempts_note(*.attempts))]
    Aws {
        operation: &'static str,
        code: String,
        message: String,
        attempts: u32,
    },

    /// The resource's `AssumeRoleArn` could not be assumed (STS refused, or could not be reached).
    #[error("AssumeRoleArn: '{role}' could not be assumed, so {operation} was not called: {detail}. Check that the role exists, that its trust policy lets the provider's role assume it (with the ExternalId it asks for, if any), and that the provider may call sts:AssumeRole on it (the AssumableRoleArns parameter of the provider's stack)")]
    AssumeRole {
        role: String,
        operation: &'static str,
        detail: String,
    },

    /// CloudWatch Logs could not be reached at all.
    #[error("{operation} failed{attempts}: could not reach CloudWatch Logs: {detail}", attempts = attempts_note(*.attempts))]
    Unreachable {
        operation: &'static str,
        detail: String,
        attempts: u32,
    },

    /// The operation was abandoned so that CloudFormation gets an answer before the Lambda deadline.
    #[error("timed out after {:.1} s waiting for CloudWatch Logs; the operation was abandoned to answer before the Lambda deadline (raise the function's Timeout if this persists)", .0.as_secs_f64())]
    TimedOut(Duration),

    #[error("internal error: the handler panicked ({0}); nothing more was attempted")]
    Panic(String),
}

fn already_exists_advice(property: &str, owner: Option<&str>) -> String {
    match owner {
        Some(owner) => format!(
            "It belongs to {owner}, and AdoptExisting never takes what another stack resource owns: choose another {property}, or remove it from that stack first"
        ),
        None => format!(
            "Choose another {property}, delete the existing one first, or set AdoptExisting: \"true\" to take it over with this stack (it is then updated and deleted with the stack)"
        ),
    }
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
        Error::InvalidProperty {
            property: property.into(),
            message: message.into(),
        }
    }

    /// The service says the target does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Aws { code, .. } if code == "ResourceNotFoundException")
    }

    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Aws { code, .. } if code == "ConflictException")
    }

    /// The service's message, for errors that carry one.
    pub fn service_message(&self) -> &str {
        match self {
            Error::Aws { message, .. } => message,
            _ => "",
        }
    }
}

impl From<crate::props::Problems> for Error {
    fn from(problems: crate::props::Problems) -> Self {
        Error::InvalidProperties(problems)
    }
}

impl From<crate::props::Problem> for Error {
    fn from(problem: crate::props::Problem) -> Self {
        Error::InvalidProperties(problem.into())
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
