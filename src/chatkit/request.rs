//! Requests (protocol §1, §3): the body envelope `{"type","params","metadata"?}`, the 16
//! request types, and lenient parsing with precise errors.
//!
//! Six types stream SSE (`threads.create`, `threads.add_user_message`,
//! `threads.add_client_tool_output`, `threads.add_structured_input`,
//! `threads.retry_after_item`, `threads.custom_action`); the ten others answer one JSON
//! document. [`parse_request`] accepts unknown keys anywhere, a missing or `null` `params`
//! (treated as `{}`) and a missing or `null` `metadata` (treated as `{}`).
//!
//! Text is made safe once, here, for every request type (protocol §2.10, `crate::json_text`):
//! a lone UTF-16 surrogate escape is read as U+FFFD, and a request that holds U+0000 in any
//! string or key is refused with the field's JSON path ([`RequestError::Nul`]), before any
//! handler sees it.

use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

use super::params::*;

/// Every request `type`, in protocol order.
pub const REQUEST_TYPES: [&str; 16] = [
    "threads.create",
    "threads.add_user_message",
    "threads.add_client_tool_output",
    "threads.retry_after_item",
    "threads.custom_action",
    "threads.add_structured_input",
    "threads.sync_custom_action",
    "threads.get_by_id",
    "threads.list",
    "items.list",
    "attachments.create",
    "attachments.delete",
    "items.feedback",
    "threads.update",
    "threads.delete",
    "input.transcribe",
];

/// A parsed request body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope {
    /// The request (`type` + `params`).
    #[serde(flatten)]
    pub request: Request,
    /// Integration data; `{}` when missing or `null` (omitted on output when empty).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
}

/// One request, by `type`, with its params.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "params")]
pub enum Request {
    /// `threads.create` (streaming).
    #[serde(rename = "threads.create")]
    CreateThread(CreateThreadParams),
    /// `threads.add_user_message` (streaming).
    #[serde(rename = "threads.add_user_message")]
    AddUserMessage(AddUserMessageParams),
    /// `threads.add_client_tool_output` (streaming).
    #[serde(rename = "threads.add_client_tool_output")]
    AddClientToolOutput(AddClientToolOutputParams),
    /// `threads.retry_after_item` (streaming).
    #[serde(rename = "threads.retry_after_item")]
    RetryAfterItem(RetryAfterItemParams),
    /// `threads.custom_action` (streaming).
    #[serde(rename = "threads.custom_action")]
    CustomAction(CustomActionParams),
    /// `threads.add_structured_input` (streaming).
    #[serde(rename = "threads.add_structured_input")]
    AddStructuredInput(AddStructuredInputParams),
    /// `threads.sync_custom_action`.
    #[serde(rename = "threads.sync_custom_action")]
    SyncCustomAction(CustomActionParams),
    /// `threads.get_by_id`.
    #[serde(rename = "threads.get_by_id")]
    GetThread(ThreadIdParams),
    /// `threads.list`.
    #[serde(rename = "threads.list")]
    ListThreads(ListThreadsParams),
    /// `items.list`.
    #[serde(rename = "items.list")]
    ListItems(ListItemsParams),
    /// `attachments.create`.
    #[serde(rename = "attachments.create")]
    CreateAttachment(CreateAttachmentParams),
    /// `attachments.delete`.
    #[serde(rename = "attachments.delete")]
    DeleteAttachment(DeleteAttachmentParams),
    /// `items.feedback`.
    #[serde(rename = "items.feedback")]
    Feedback(FeedbackParams),
    /// `threads.update`.
    #[serde(rename = "threads.update")]
    UpdateThread(UpdateThreadParams),
    /// `threads.delete`.
    #[serde(rename = "threads.delete")]
    DeleteThread(ThreadIdParams),
    /// `input.transcribe`.
    #[serde(rename = "input.transcribe")]
    Transcribe(TranscribeParams),
}

/// Why a request body was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The body is not valid JSON.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    InvalidJson {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// serde_json's description.
        message: String,
    },
    /// The body is JSON but not an object.
    #[error("request body must be a JSON object, got {found}")]
    NotAnObject {
        /// The JSON kind found.
        found: &'static str,
    },
    /// No `type` key (or `null`).
    #[error("missing request `type`")]
    MissingType,
    /// `type` is not a string.
    #[error("request `type` must be a string, got {found}")]
    TypeNotString {
        /// The JSON kind found.
        found: &'static str,
    },
    /// `type` names no known request.
    #[error("unknown request type `{0}`")]
    UnknownType(String),
    /// `metadata` is present but not an object.
    #[error("request `metadata` must be an object, got {found}")]
    InvalidMetadata {
        /// The JSON kind found.
        found: &'static str,
    },
    /// A string (or key) holds U+0000, which PostgreSQL cannot store.
    #[error("{0}")]
    Nul(crate::json_text::NulAt),
    /// `params` do not fit the request type.
    #[error("invalid params for `{request_type}`: {message}")]
    InvalidParams {
        /// The request type.
        request_type: &'static str,
        /// serde's description (names the field).
        message: String,
    },
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses a request body.
pub fn parse_request(body: &[u8]) -> Result<Envelope, RequestError> {
    let body = crate::json_text::repair_lone_surrogates(body);
    let value: Value = serde_json::from_slice(&body).map_err(|err| {
        let (line, column) = (err.line(), err.column());
        let full = err.to_string();
        let suffix = format!(" at line {line} column {column}");
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
        RequestError::InvalidJson {
            line,
            column,
            message,
        }
    })?;
    if let Some(at) = crate::json_text::find_nul(&value) {
        return Err(RequestError::Nul(at));
    }
    let Value::Object(mut object) = value else {
        return Err(RequestError::NotAnObject {
            found: kind_of(&value),
        });
    };
    let type_name = match object.remove("type") {
        None | Some(Value::Null) => return Err(RequestError::MissingType),
        Some(Value::String(name)) => name,
        Some(other) => {
            return Err(RequestError::TypeNotString {
                found: kind_of(&other),
            });
        }
    };
    let metadata = match object.remove("metadata") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(RequestError::InvalidMetadata {
                found: kind_of(&other),
            });
        }
    };
    let params = object.remove("params").unwrap_or(Value::Null);
    let request = Request::from_parts(&type_name, params)?;
    Ok(Envelope { request, metadata })
}

fn params<T: DeserializeOwned>(
    request_type: &'static str,
    value: Value,
) -> Result<T, RequestError> {
    let value = match value {
        Value::Null => Value::Object(Map::new()),
        Value::Object(map) => Value::Object(map),
        other => {
            return Err(RequestError::InvalidParams {
                request_type,
                message: format!("`params` must be an object, got {}", kind_of(&other)),
            });
        }
    };
    serde_json::from_value(value).map_err(|err| RequestError::InvalidParams {
        request_type,
        message: err.to_string(),
    })
}

impl Request {
    /// Builds a request from its `type` and `params` (`null` params count as `{}`).
    pub fn from_parts(type_name: &str, value: Value) -> Result<Request, RequestError> {
        let Some(name) = REQUEST_TYPES.iter().copied().find(|t| *t == type_name) else {
            return Err(RequestError::UnknownType(type_name.to_owned()));
        };
        Ok(match name {
            "threads.create" => Request::CreateThread(params(name, value)?),
            "threads.add_user_message" => Request::AddUserMessage(params(name, value)?),
            "threads.add_client_tool_output" => Request::AddClientToolOutput(params(name, value)?),
            "threads.retry_after_item" => Request::RetryAfterItem(params(name, value)?),
            "threads.custom_action" => Request::CustomAction(params(name, value)?),
            "threads.add_structured_input" => Request::AddStructuredInput(params(name, value)?),
            "threads.sync_custom_action" => Request::SyncCustomAction(params(name, value)?),
            "threads.get_by_id" => Request::GetThread(params(name, value)?),
            "threads.list" => Request::ListThreads(params(name, value)?),
            "items.list" => Request::ListItems(params(name, value)?),
            "attachments.create" => Request::CreateAttachment(params(name, value)?),
            "attachments.delete" => Request::DeleteAttachment(params(name, value)?),
            "items.feedback" => Request::Feedback(params(name, value)?),
            "threads.update" => Request::UpdateThread(params(name, value)?),
            "threads.delete" => Request::DeleteThread(params(name, value)?),
            _ => Request::Transcribe(params(name, value)?),
        })
    }

    /// The wire `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Request::CreateThread(_) => "threads.create",
            Request::AddUserMessage(_) => "threads.add_user_message",
            Request::AddClientToolOutput(_) => "threads.add_client_tool_output",
            Request::RetryAfterItem(_) => "threads.retry_after_item",
            Request::CustomAction(_) => "threads.custom_action",
            Request::AddStructuredInput(_) => "threads.add_structured_input",
            Request::SyncCustomAction(_) => "threads.sync_custom_action",
            Request::GetThread(_) => "threads.get_by_id",
            Request::ListThreads(_) => "threads.list",
            Request::ListItems(_) => "items.list",
            Request::CreateAttachment(_) => "attachments.create",
            Request::DeleteAttachment(_) => "attachments.delete",
            Request::Feedback(_) => "items.feedback",
            Request::UpdateThread(_) => "threads.update",
            Request::DeleteThread(_) => "threads.delete",
            Request::Transcribe(_) => "input.transcribe",
        }
    }

    /// `true` for the six types answered with an SSE stream.
    pub fn is_streaming(&self) -> bool {
        matches!(
            self,
            Request::CreateThread(_)
                | Request::AddUserMessage(_)
                | Request::AddClientToolOutput(_)
                | Request::RetryAfterItem(_)
                | Request::CustomAction(_)
                | Request::AddStructuredInput(_)
        )
    }

    /// The thread whose live actor serves this request, if any: the streaming requests on
    /// an existing thread and the ones that change its row or items through the actor. The
    /// other requests read the store and may be answered by any cluster node.
    pub fn actor_thread_id(&self) -> Option<&str> {
        match self {
            Request::SyncCustomAction(_) | Request::UpdateThread(_) | Request::DeleteThread(_) => {
                self.thread_id()
            }
            r if r.is_streaming() => r.thread_id(),
            _ => None,
        }
    }

    /// The thread the request targets, if it names one.
    pub fn thread_id(&self) -> Option<&str> {
        match self {
            Request::AddUserMessage(p) => Some(&p.thread_id),
            Request::AddClientToolOutput(p) => Some(&p.thread_id),
            Request::RetryAfterItem(p) => Some(&p.thread_id),
            Request::CustomAction(p) | Request::SyncCustomAction(p) => Some(&p.thread_id),
            Request::AddStructuredInput(p) => Some(&p.thread_id),
            Request::GetThread(p) | Request::DeleteThread(p) => Some(&p.thread_id),
            Request::ListItems(p) => Some(&p.thread_id),
            Request::Feedback(p) => Some(&p.thread_id),
            Request::UpdateThread(p) => Some(&p.thread_id),
            Request::CreateThread(_)
            | Request::ListThreads(_)
            | Request::CreateAttachment(_)
            | Request::DeleteAttachment(_)
            | Request::Transcribe(_) => None,
        }
    }
}
