//! Item updates (protocol §4.13): the 10 `ThreadItemUpdate` types carried by
//! `thread.item.updated`, and their server-side application.
//!
//! The server applies updates to its copy of a pending (added, not yet done) item so that it
//! can persist the latest state if the stream is cancelled. Rules, per
//! [`ThreadItem::apply_update`]:
//! * content updates for an index past the end first pad `content` with empty
//!   `output_text` parts;
//! * `text_delta` appends to the part's text;
//! * `annotation_added` inserts at `annotation_index`, or appends when out of range;
//! * `content_part.added` / `content_part.done` replace the part;
//! * `workflow.task.added` inserts at `task_index` (clamped to the end);
//!   `workflow.task.updated` replaces the task at `task_index` (appends when out of range);
//! * widget updates replace the root, replace the component with the given `id`, or append
//!   to its `value`; `generated_image.updated` sets the image.
//!
//! An update that does not fit the item's type is ignored.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::content::{Annotation, OutputText};
use super::item::{GeneratedImage, ItemBody, ThreadItem};
use super::serde_util::null_as_default;
use super::task::Task;

/// An incremental change to a pending item, discriminated by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ThreadItemUpdate {
    /// A new assistant content part (usually empty).
    #[serde(rename = "assistant_message.content_part.added")]
    ContentPartAdded {
        /// Part index.
        content_index: usize,
        /// The part.
        content: OutputText,
    },
    /// Text appended to an assistant content part.
    #[serde(rename = "assistant_message.content_part.text_delta")]
    ContentPartTextDelta {
        /// Part index.
        content_index: usize,
        /// The text to append.
        delta: String,
    },
    /// An annotation added to an assistant content part.
    #[serde(rename = "assistant_message.content_part.annotation_added")]
    ContentPartAnnotationAdded {
        /// Part index.
        content_index: usize,
        /// Position in the part's annotations.
        annotation_index: usize,
        /// The annotation.
        annotation: Annotation,
    },
    /// The final state of an assistant content part.
    #[serde(rename = "assistant_message.content_part.done")]
    ContentPartDone {
        /// Part index.
        content_index: usize,
        /// The full part.
        content: OutputText,
    },
    /// Text appended to the `value` of a Text/Markdown widget component.
    #[serde(rename = "widget.streaming_text.value_delta")]
    WidgetStreamingTextValueDelta {
        /// The component's `id`.
        component_id: String,
        /// The text to append.
        delta: String,
        /// Whether the text is complete.
        #[serde(default, deserialize_with = "null_as_default")]
        done: bool,
    },
    /// A whole new widget root.
    #[serde(rename = "widget.root.updated")]
    WidgetRootUpdated {
        /// The root.
        widget: Value,
    },
    /// One widget component replaced.
    #[serde(rename = "widget.component.updated")]
    WidgetComponentUpdated {
        /// The component's `id`.
        component_id: String,
        /// The new component.
        component: Value,
    },
    /// A task added to a workflow.
    #[serde(rename = "workflow.task.added")]
    WorkflowTaskAdded {
        /// Position.
        task_index: usize,
        /// The task.
        task: Task,
    },
    /// A workflow task replaced (the whole task, not a delta).
    #[serde(rename = "workflow.task.updated")]
    WorkflowTaskUpdated {
        /// Position.
        task_index: usize,
        /// The task.
        task: Task,
    },
    /// A (partial) generated image.
    #[serde(rename = "generated_image.updated")]
    GeneratedImageUpdated {
        /// The image so far.
        image: GeneratedImage,
        /// Progress in `0..=1`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        progress: Option<f64>,
    },
}

impl ThreadItemUpdate {
    /// The wire `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::ContentPartAdded { .. } => "assistant_message.content_part.added",
            Self::ContentPartTextDelta { .. } => "assistant_message.content_part.text_delta",
            Self::ContentPartAnnotationAdded { .. } => {
                "assistant_message.content_part.annotation_added"
            }
            Self::ContentPartDone { .. } => "assistant_message.content_part.done",
            Self::WidgetStreamingTextValueDelta { .. } => "widget.streaming_text.value_delta",
            Self::WidgetRootUpdated { .. } => "widget.root.updated",
            Self::WidgetComponentUpdated { .. } => "widget.component.updated",
            Self::WorkflowTaskAdded { .. } => "workflow.task.added",
            Self::WorkflowTaskUpdated { .. } => "workflow.task.updated",
            Self::GeneratedImageUpdated { .. } => "generated_image.updated",
        }
    }
}

/// Returns the part at `index`, padding with empty parts first.
fn part_at(content: &mut Vec<OutputText>, index: usize) -> Option<&mut OutputText> {
    if content.len() <= index {
        content.resize_with(index.saturating_add(1), OutputText::default);
    }
    content.get_mut(index)
}

impl ThreadItem {
    /// Applies an update to this (pending) item following the rules of §4.13.
    /// Returns `false` when the update does not apply to the item's type (nothing changes).
    pub fn apply_update(&mut self, update: &ThreadItemUpdate) -> bool {
        use ThreadItemUpdate as U;
        match (&mut self.body, update) {
            (
                ItemBody::AssistantMessage { content },
                U::ContentPartAdded {
                    content_index,
                    content: part,
                },
            )
            | (
                ItemBody::AssistantMessage { content },
                U::ContentPartDone {
                    content_index,
                    content: part,
                },
            ) => {
                if let Some(slot) = part_at(content, *content_index) {
                    *slot = part.clone();
                }
                true
            }
            (
                ItemBody::AssistantMessage { content },
                U::ContentPartTextDelta {
                    content_index,
                    delta,
                },
            ) => {
                if let Some(slot) = part_at(content, *content_index) {
                    slot.text.push_str(delta);
                }
                true
            }
            (
                ItemBody::AssistantMessage { content },
                U::ContentPartAnnotationAdded {
                    content_index,
                    annotation_index,
                    annotation,
                },
            ) => {
                if let Some(slot) = part_at(content, *content_index) {
                    let at = (*annotation_index).min(slot.annotations.len());
                    slot.annotations.insert(at, annotation.clone());
                }
                true
            }
            (ItemBody::Workflow { workflow }, U::WorkflowTaskAdded { task_index, task }) => {
                let at = (*task_index).min(workflow.tasks.len());
                workflow.tasks.insert(at, task.clone());
                true
            }
            (ItemBody::Workflow { workflow }, U::WorkflowTaskUpdated { task_index, task }) => {
                match workflow.tasks.get_mut(*task_index) {
                    Some(slot) => *slot = task.clone(),
                    None => workflow.tasks.push(task.clone()),
                }
                true
            }
            (ItemBody::Widget { widget, .. }, U::WidgetRootUpdated { widget: root }) => {
                *widget = root.clone();
                true
            }
            (
                ItemBody::Widget { widget, .. },
                U::WidgetComponentUpdated {
                    component_id,
                    component,
                },
            ) => {
                if let Some(node) = find_component(widget, component_id) {
                    *node = component.clone();
                }
                true
            }
            (
                ItemBody::Widget { widget, .. },
                U::WidgetStreamingTextValueDelta {
                    component_id,
                    delta,
                    done,
                },
            ) => {
                if let Some(Value::Object(node)) = find_component(widget, component_id) {
                    let mut value = match node.get("value") {
                        Some(Value::String(text)) => text.clone(),
                        _ => String::new(),
                    };
                    value.push_str(delta);
                    node.insert("value".to_owned(), Value::String(value));
                    node.insert("streaming".to_owned(), Value::Bool(!*done));
                }
                true
            }
            (ItemBody::GeneratedImage { image }, U::GeneratedImageUpdated { image: new, .. }) => {
                *image = Some(new.clone());
                true
            }
            _ => false,
        }
    }
}

/// Finds the widget node (depth first) whose `id` is `component_id`.
fn find_component<'a>(node: &'a mut Value, component_id: &str) -> Option<&'a mut Value> {
    let is_match = node.get("id").and_then(Value::as_str) == Some(component_id);
    if is_match {
        return Some(node);
    }
    match node {
        Value::Object(map) => map
            .values_mut()
            .filter(|v| v.is_object() || v.is_array())
            .find_map(|child| find_component(child, component_id)),
        Value::Array(items) => items
            .iter_mut()
            .find_map(|child| find_component(child, component_id)),
        _ => None,
    }
}
