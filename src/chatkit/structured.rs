//! Structured input (protocol §3.7, §6.2; ChatKit 1.6.4+).
//!
//! A `structured_input` item asks the user questions. Its `status` is `pending`,
//! `answered` or `skipped`; its `inputs` are `multiple_choice`
//! (`{"id","question","answer"?,"options":[{"value"}],"multiple":bool}`) or `freeform`
//! (`{"id","question","answer"?,"description"?}`) questions. An answer is
//! `{"values":[...],"skipped":bool}` (both always written on items).
//!
//! The client answers with `threads.add_structured_input`, whose `input` is a
//! [`StructuredInputSubmission`]: `{"status":"answered"|"skipped","answers":{id:{values,skipped}}}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::serde_util::{is_default, null_as_default};

/// Status of a structured input item (and of a submission).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StructuredInputStatus {
    /// Waiting for the user.
    #[default]
    Pending,
    /// The user answered.
    Answered,
    /// The user skipped the whole form.
    Skipped,
}

/// One question of a structured input item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructuredInputQuestion {
    /// Question id (the key of the submitted answers).
    pub id: String,
    /// The question text.
    #[serde(default, deserialize_with = "null_as_default")]
    pub question: String,
    /// The recorded answer; omitted while unanswered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<StructuredInputAnswer>,
    /// The question kind (carries `type`).
    #[serde(flatten)]
    pub kind: QuestionKind,
}

/// The kind of a question, discriminated by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionKind {
    /// Pick one (or several, with `multiple`) of `options`.
    MultipleChoice {
        /// The choices.
        #[serde(default, deserialize_with = "null_as_default")]
        options: Vec<ChoiceOption>,
        /// Whether several values may be chosen (default `false`).
        #[serde(default, deserialize_with = "null_as_default")]
        multiple: bool,
    },
    /// Free text.
    Freeform {
        /// Optional help text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
}

/// One choice of a multiple-choice question: `{"value"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceOption {
    /// The value, also its label.
    pub value: String,
}

/// An answer as recorded on the item: `{"values":[...],"skipped":bool}`, both always written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StructuredInputAnswer {
    /// The chosen or typed values.
    #[serde(default, deserialize_with = "null_as_default")]
    pub values: Vec<String>,
    /// Whether the question was skipped.
    #[serde(default, deserialize_with = "null_as_default")]
    pub skipped: bool,
}

impl StructuredInputAnswer {
    /// The answer recorded for a skipped question: `{"values":[],"skipped":true}`.
    pub fn skipped() -> Self {
        StructuredInputAnswer {
            values: Vec::new(),
            skipped: true,
        }
    }
}

/// The `input` of `threads.add_structured_input`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StructuredInputSubmission {
    /// `answered` (default) or `skipped`.
    #[serde(
        default = "StructuredInputSubmission::default_status",
        deserialize_with = "status_or_answered"
    )]
    pub status: StructuredInputStatus,
    /// Answers by question id (default `{}`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub answers: BTreeMap<String, SubmittedAnswer>,
}

impl StructuredInputSubmission {
    fn default_status() -> StructuredInputStatus {
        StructuredInputStatus::Answered
    }
}

fn status_or_answered<'de, D>(deserializer: D) -> Result<StructuredInputStatus, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Ok(Option::<StructuredInputStatus>::deserialize(deserializer)?
        .unwrap_or(StructuredInputStatus::Answered))
}

/// A submitted answer: `{"values":[...],"skipped":bool}`. As sent by the client, defaults
/// (`[]`, `false`) are omitted when this is serialized.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmittedAnswer {
    /// The chosen or typed values (default `[]`).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub values: Vec<String>,
    /// Whether this question was skipped (default `false`).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "is_default"
    )]
    pub skipped: bool,
}
