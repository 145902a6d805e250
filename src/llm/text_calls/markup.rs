//! The markup filter: prompt markup a small model copies into its answer, removed before the
//! user sees it. Text deltas in, the text that may be shown now out. Plain data, no I/O.
//!
//! What is removed (seen from Qwen2.5 0.5B and 1.5B in the evaluation of the local model):
//! - a `<tool_response>…</tool_response>` block, whole: the model echoes a tool's raw result
//!   (JSON with ids) as its answer, in the form the chat template showed it that result. A
//!   block left open runs to the end of the answer.
//! - the `<HiddenContext>` and `</HiddenContext>` tags, not the text between them: the system
//!   prompt names the tag, and the model wraps an ordinary sentence in it.
//!
//! A tag may be split over deltas at any byte, so a partial tag at the end of the text is held
//! until the next delta shows what it is (as `stream` does for `<tool_call>`). Every tag is
//! ASCII and starts with `<`, so every cut is on a char boundary.

const RESPONSE_OPEN: &str = "<tool_response>";
const RESPONSE_CLOSE: &str = "</tool_response>";
/// Tags dropped with the text between them kept.
const DROPPED_TAGS: [&str; 2] = ["<HiddenContext>", "</HiddenContext>"];

/// The filter over one answer's text deltas.
#[derive(Debug, Default)]
pub struct MarkupFilter {
    held: String,
    /// Inside a `<tool_response>` block: everything up to its close is dropped.
    in_response: bool,
    removed: bool,
}

/// Bytes at the end of `text` that are a proper prefix of one of `tags`.
fn partial_tag(text: &str, tags: &[&str]) -> usize {
    tags.iter()
        .filter_map(|tag| (1..tag.len()).rev().find(|&k| text.ends_with(&tag[..k])))
        .max()
        .unwrap_or(0)
}

/// The first of `tags` in `text`: where, and which.
fn first_tag<'t>(text: &str, tags: &[&'t str]) -> Option<(usize, &'t str)> {
    tags.iter()
        .filter_map(|tag| text.find(tag).map(|at| (at, *tag)))
        .min_by_key(|(at, _)| *at)
}

impl MarkupFilter {
    /// Feeds one delta; returns the text that may be shown now.
    pub fn push(&mut self, delta: &str) -> String {
        self.held.push_str(delta);
        let mut out = String::new();
        loop {
            if self.in_response {
                if let Some(at) = self.held.find(RESPONSE_CLOSE) {
                    self.held.drain(..at + RESPONSE_CLOSE.len());
                    self.in_response = false;
                    continue;
                }
                let keep = partial_tag(&self.held, &[RESPONSE_CLOSE]);
                self.held.drain(..self.held.len() - keep);
                return out;
            }
            let tags = [RESPONSE_OPEN, DROPPED_TAGS[0], DROPPED_TAGS[1]];
            if let Some((at, tag)) = first_tag(&self.held, &tags) {
                out.push_str(&self.held[..at]);
                self.held.drain(..at + tag.len());
                self.in_response = tag == RESPONSE_OPEN;
                self.removed = true;
                continue;
            }
            let keep = partial_tag(&self.held, &tags);
            let rest = self.held.split_off(self.held.len() - keep);
            out.push_str(&std::mem::replace(&mut self.held, rest));
            return out;
        }
    }

    /// The answer ended: a held partial tag was text after all; an open tool-response block
    /// is dropped.
    pub fn finish(&mut self) -> String {
        let held = std::mem::take(&mut self.held);
        if std::mem::take(&mut self.in_response) {
            return String::new();
        }
        held
    }

    /// Whether anything was removed from this answer.
    pub fn removed(&self) -> bool {
        self.removed
    }
}
