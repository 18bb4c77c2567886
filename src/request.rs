//! What a request asks and what answering it takes: the vocabulary the protocol (which reads the
//! event and answers it) and the resource kinds (which do the work) share, so that neither needs
//! the other. Reading the event into a [`Request`] is protocol work (`protocol::parse_request`).

use serde_json::Value;

/// What CloudFormation asks; Update and Delete name the resource by the physical id answered before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Create,
    Update { physical_id: String },
    Delete { physical_id: String },
}

/// A well-formed request; its properties are still unchecked (each resource kind does that).
#[derive(Debug, Clone)]
pub struct Request {
    pub action: Action,
    pub resource_type: String,
    pub properties: Value,
    /// Update only: the properties the resource had before (`OldResourceProperties`), what the
    /// template asked for last time (not what the service made of it).
    pub old_properties: Option<Value>,
    pub stack_id: String,
    pub request_id: String,
    pub logical_id: String,
}

/// What a successful request answers with: the physical id and, for Create and Update, the
/// `Fn::GetAtt` attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub physical_id: String,
    /// Fn::GetAtt attributes; every value a string.
    pub data: Vec<(&'static str, String)>,
}
