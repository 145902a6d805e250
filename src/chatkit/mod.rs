//! The ChatKit wire protocol: types, ids, SSE framing. Pure serde, no I/O.
//!
//! ChatKit.js talks to a self-hosted backend through **one** URL: every operation is a
//! `POST` of `{"type", "params", "metadata"?}` ([`request`]). Six request types answer with
//! a stream of server-sent events ([`event`], framed by [`sse`]); the others answer with one
//! JSON document (a [`Thread`], a [`Page`], an [`Attachment`] or a [`response`] body).
//! The widget is a black box, so the bytes must match the reference server
//! (`docs/protocol.md`, whose section numbers the "protocol §N" references in the code
//! use).
//!
//! Invariants every type here keeps (protocol §2):
//! * **nulls are omitted**: every `Option` is `skip_serializing_if = "Option::is_none"`;
//!   inputs may carry explicit `null`, read as "unset";
//! * **defaults are written**: `[]`, `{}`, `false`, `"none"`, `{"type":"active"}` appear in
//!   output even when nothing was set;
//! * **every union has a `type` discriminator** (internally tagged enums);
//! * **timestamps** are written in UTC with microseconds and `Z`
//!   (`2026-11-24T18:13:35.562910Z`) and read in any RFC 3339 or naive form ([`time`]);
//! * thread `metadata` is always `{}` and attachment `metadata` is never written;
//! * unknown input fields are ignored everywhere.
//!
//! Layout: [`ids`] (id generation/validation), [`time`], [`thread`] (Thread, status, Page),
//! [`item`] (the 11 item types), [`content`] (message parts, annotations, sources),
//! [`task`] (tasks, workflows), [`attachment`], [`structured`] (structured input),
//! [`update`] (item updates and their application), [`event`] (the 12 stream events),
//! [`params`] and [`request`] (the 16 requests), [`response`], [`sse`].
//!
//! This module imports nothing else of the crate but the leaf modules `vocab` and
//! `json_text` (the text rules every layer shares): the request routing lives in
//! `http::chatkit`, the turn pipeline in `conversation`.

pub mod attachment;
pub mod content;
pub mod event;
pub mod ids;
pub mod item;
pub mod params;
pub mod request;
pub mod response;
pub mod serde_util;
pub mod sse;
pub mod structured;
pub mod task;
pub mod thread;
pub mod time;
pub mod update;

#[cfg(test)]
mod tests;

pub use attachment::{Attachment, AttachmentKind, UploadDescriptor, UploadMethod};
pub use content::{
    Annotation, EntitySource, FileSource, OutputText, Source, UrlSource, UserMessageContent,
};
pub use event::{ErrorCode, NoticeLevel, StreamOptions, ThreadStreamEvent};
pub use ids::{IdPrefix, item_prefix_for, new_id, validate_id};
pub use item::{
    ClientToolCallStatus, GeneratedImage, InferenceOptions, ItemBody, ThreadItem, ToolChoice,
};
pub use params::*;
pub use request::{Envelope, REQUEST_TYPES, Request, RequestError, parse_request};
pub use response::{EmptyResponse, SyncCustomActionResponse, TranscriptionResponse};
pub use serde_util::{EmptyObject, null_as_default};
pub use sse::{KEEP_ALIVE, STREAM_ERROR_FRAME, encode_event};
pub use structured::{
    ChoiceOption, QuestionKind, StructuredInputAnswer, StructuredInputQuestion,
    StructuredInputStatus, StructuredInputSubmission, SubmittedAnswer,
};
pub use task::{StatusIndicator, Task, TaskKind, Workflow, WorkflowKind, WorkflowSummary};
pub use thread::{Page, Thread, ThreadStatus};
pub use time::now_micros;
pub use update::ThreadItemUpdate;
