//! Message content: user parts, assistant `output_text` parts, annotations and sources
//! (protocol §3.1, §6.2).
//!
//! * User content is a list of `input_text` (`text`) and `input_tag` (`id`, `text`,
//!   `data` default `{}`, `group?`, `interactive` default `false`) parts; tags are
//!   @-mentions from `entities.onTagSearch`.
//! * Assistant content is a list of `{"annotations":[...],"text":"...","type":"output_text"}`.
//! * An annotation is `{"type":"annotation","source":Source,"index"?}` where `index` is the
//!   character offset of the inline citation marker.
//! * A source is `url`, `file` or `entity`; all carry `title`, `description?`,
//!   `timestamp?`, `group?`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::serde_util::{empty_object, null_as_default, null_as_empty_object};

/// One part of a user message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UserMessageContent {
    /// Plain text.
    InputText {
        /// The text.
        #[serde(default, deserialize_with = "null_as_default")]
        text: String,
    },
    /// An @-mention tag.
    InputTag {
        /// Tag id chosen by the integration.
        id: String,
        /// Display text.
        #[serde(default, deserialize_with = "null_as_default")]
        text: String,
        /// Arbitrary integration data; `{}` by default.
        #[serde(default = "empty_object", deserialize_with = "null_as_empty_object")]
        data: Value,
        /// Optional group label.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        /// Whether the tag is clickable.
        #[serde(default, deserialize_with = "null_as_default")]
        interactive: bool,
    },
}

/// An assistant `output_text` part. Always written with `"type":"output_text"`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "output_text")]
pub struct OutputText {
    /// Citations for this part.
    #[serde(default, deserialize_with = "null_as_default")]
    pub annotations: Vec<Annotation>,
    /// Markdown text.
    #[serde(default, deserialize_with = "null_as_default")]
    pub text: String,
}

impl OutputText {
    /// A part with the given text and no annotations.
    pub fn new(text: impl Into<String>) -> Self {
        OutputText {
            annotations: Vec::new(),
            text: text.into(),
        }
    }
}

/// A citation. Always written with `"type":"annotation"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "annotation")]
pub struct Annotation {
    /// What is cited.
    pub source: Source,
    /// Character offset of the citation marker in the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
}

/// A citation source, discriminated by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Source {
    /// A web page.
    Url(UrlSource),
    /// A file.
    File(FileSource),
    /// An application entity.
    Entity(EntitySource),
}

/// `{"type":"url","title","url","attribution"?,...}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UrlSource {
    /// Title shown to the user.
    #[serde(default, deserialize_with = "null_as_default")]
    pub title: String,
    /// Optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Optional timestamp text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Optional group label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The URL.
    pub url: String,
    /// Optional attribution text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<String>,
}

/// `{"type":"file","title","filename",...}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileSource {
    /// Title shown to the user.
    #[serde(default, deserialize_with = "null_as_default")]
    pub title: String,
    /// Optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Optional timestamp text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Optional group label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The file name.
    pub filename: String,
}

/// `{"type":"entity","title","id","icon"?,"label"?,"inline_label"?,"interactive","data"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntitySource {
    /// Title shown to the user.
    #[serde(default, deserialize_with = "null_as_default")]
    pub title: String,
    /// Optional description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Optional timestamp text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Optional group label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Entity id.
    pub id: String,
    /// Optional icon name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// Optional label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Optional short inline label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_label: Option<String>,
    /// Whether the entity is clickable (default `false`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub interactive: bool,
    /// Integration data (default `{}`).
    #[serde(default = "empty_object", deserialize_with = "null_as_empty_object")]
    pub data: Value,
}

/// Typed source lists (`Vec<UrlSource>`, `Vec<FileSource>`) that still carry their
/// `"type"` on the wire; used by the `web_search` and `file` tasks.
pub(crate) mod typed_sources {
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

    use super::{FileSource, Source, UrlSource};

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum SourceRef<'a> {
        Url(&'a UrlSource),
        File(&'a FileSource),
    }

    fn sources<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Source>, D::Error> {
        Ok(Option::<Vec<Source>>::deserialize(deserializer)?.unwrap_or_default())
    }

    /// `with` module for `Vec<UrlSource>`.
    pub mod url {
        use super::*;

        pub fn serialize<S: Serializer>(v: &[UrlSource], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(SourceRef::Url))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<UrlSource>, D::Error> {
            sources(d)?
                .into_iter()
                .map(|source| match source {
                    Source::Url(url) => Ok(url),
                    _ => Err(D::Error::custom("expected a source of type `url`")),
                })
                .collect()
        }
    }

    /// `with` module for `Vec<FileSource>`.
    pub mod file {
        use super::*;

        pub fn serialize<S: Serializer>(v: &[FileSource], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(SourceRef::File))
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<FileSource>, D::Error> {
            sources(d)?
                .into_iter()
                .map(|source| match source {
                    Source::File(file) => Ok(file),
                    _ => Err(D::Error::custom("expected a source of type `file`")),
                })
                .collect()
        }
    }
}
