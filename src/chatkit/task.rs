//! Tasks and workflows (protocol §6.2).
//!
//! A task is shown on its own (`task` item) or as a step of a workflow (`workflow` item).
//! Every task has `status_indicator` (`none` by default, `loading`, `complete`) and a `type`:
//! `custom {title?, icon?, content?}`, `web_search {title?, title_query?, queries, sources}`,
//! `thought {title?, content}`, `file {title?, sources}`, `image {title?}`.
//!
//! A workflow is `{"type":"custom"|"reasoning","tasks":[...],"summary"?,"expanded":bool}`,
//! where `summary` is `{"title","icon"?}` or `{"duration":seconds}`.

use serde::{Deserialize, Serialize};

use super::content::{FileSource, UrlSource, typed_sources};
use super::serde_util::null_as_default;

/// A task: the common `status_indicator` plus the type-specific body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Progress indicator shown next to the task.
    #[serde(default, deserialize_with = "null_as_default")]
    pub status_indicator: StatusIndicator,
    /// The typed body (carries `type`).
    #[serde(flatten)]
    pub kind: TaskKind,
}

impl Task {
    /// A task with `status_indicator: none`.
    pub fn new(kind: TaskKind) -> Self {
        Task {
            status_indicator: StatusIndicator::None,
            kind,
        }
    }

    /// A `thought` task with the given text.
    pub fn thought(content: impl Into<String>) -> Self {
        Task::new(TaskKind::Thought {
            title: None,
            content: content.into(),
        })
    }
}

/// `status_indicator` of a task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusIndicator {
    /// No indicator (the default).
    #[default]
    None,
    /// A spinner.
    Loading,
    /// A check mark.
    Complete,
}

/// The type-specific part of a task, discriminated by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskKind {
    /// A free-form step.
    Custom {
        /// Optional title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// Optional icon name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        icon: Option<String>,
        /// Optional markdown body.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<String>,
    },
    /// A web search with its queries and sources.
    WebSearch {
        /// Optional title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// Optional query shown in the title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title_query: Option<String>,
        /// Queries run (default `[]`).
        #[serde(default, deserialize_with = "null_as_default")]
        queries: Vec<String>,
        /// URL sources found (default `[]`).
        #[serde(default, with = "typed_sources::url")]
        sources: Vec<UrlSource>,
    },
    /// A reasoning step.
    Thought {
        /// Optional title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// The thought text.
        #[serde(default, deserialize_with = "null_as_default")]
        content: String,
    },
    /// Files consulted.
    File {
        /// Optional title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// File sources (default `[]`).
        #[serde(default, with = "typed_sources::file")]
        sources: Vec<FileSource>,
    },
    /// An image step.
    Image {
        /// Optional title.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
    },
}

/// A workflow: a collapsible list of tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workflow {
    /// `custom` or `reasoning`.
    #[serde(rename = "type", default, deserialize_with = "null_as_default")]
    pub kind: WorkflowKind,
    /// The steps (default `[]`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub tasks: Vec<Task>,
    /// Shown when collapsed; omitted when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<WorkflowSummary>,
    /// Whether the workflow starts expanded (default `false`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub expanded: bool,
}

impl Workflow {
    /// An empty, collapsed workflow of the given kind.
    pub fn new(kind: WorkflowKind) -> Self {
        Workflow {
            kind,
            tasks: Vec::new(),
            summary: None,
            expanded: false,
        }
    }
}

/// The `type` of a workflow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowKind {
    /// Integration-defined steps (the default).
    #[default]
    Custom,
    /// Model reasoning.
    Reasoning,
}

/// A workflow summary: `{"title","icon"?}` or `{"duration":seconds}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WorkflowSummary {
    /// A titled summary.
    Custom {
        /// Summary title.
        title: String,
        /// Optional icon name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        icon: Option<String>,
    },
    /// "Thought for N seconds".
    Duration {
        /// Whole seconds.
        duration: u64,
    },
}
