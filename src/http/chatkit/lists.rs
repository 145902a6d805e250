//! Caps on the lists a ChatKit request carries (issue #20, item 6).
//!
//! Every list in `params` is bounded before it reaches a query, so that one request costs a
//! bounded number of rows and lookups: `items.feedback` `item_ids`
//! (`limits.max_feedback_items`), a user message's `attachments`
//! (`limits.max_message_attachments`) and `content` parts (`limits.max_content_parts`), a
//! structured-input submission's `answers` and each answer's `values`
//! (`limits.max_structured_answers`). A list over its cap is a 400 that names the field and
//! the cap, before anything is read or written. Lists of ids are deduplicated first (the
//! first occurrence keeps its place), so a repeated id is stored and counted once.
//!
//! The other values a request carries are bounded elsewhere: `metadata` and an action's
//! `payload` by `limits.max_metadata_bytes`, text by `limits.max_message_chars`, and the
//! whole body by `server.body_limit_bytes`.

use std::collections::HashSet;

use crate::chatkit::UserMessageInput;
use crate::chatkit::structured::StructuredInputSubmission;
use crate::config::LimitSettings;
use crate::error::ApiError;

/// The ids of an `items.feedback`, each once, at most `limits.max_feedback_items` of them.
pub(super) fn feedback_ids(
    limits: &LimitSettings,
    ids: Vec<String>,
) -> Result<Vec<String>, ApiError> {
    let ids = dedup(ids);
    let max = limits.max_feedback_items;
    cap("params.item_ids", ids.len(), max, "max_feedback_items")?;
    Ok(ids)
}

/// Bounds a user message's lists; a repeated attachment id is kept once.
pub(super) fn check_message(
    limits: &LimitSettings,
    input: &mut UserMessageInput,
) -> Result<(), ApiError> {
    input.attachments = dedup(std::mem::take(&mut input.attachments));
    cap(
        "params.input.attachments",
        input.attachments.len(),
        limits.max_message_attachments,
        "max_message_attachments",
    )?;
    cap(
        "params.input.content",
        input.content.len(),
        limits.max_content_parts,
        "max_content_parts",
    )
}

/// Bounds a structured-input submission: its answers, and the values of each answer.
pub(super) fn check_submission(
    limits: &LimitSettings,
    input: &StructuredInputSubmission,
) -> Result<(), ApiError> {
    let (max, setting) = (limits.max_structured_answers, "max_structured_answers");
    cap("params.input.answers", input.answers.len(), max, setting)?;
    for (id, answer) in &input.answers {
        if answer.values.len() > max {
            // The id is the client's text: it is named only when it looks like an id.
            let plausible = id.len() <= 64
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            let field = if plausible {
                format!("params.input.answers.{id}.values")
            } else {
                "params.input.answers[].values".to_owned()
            };
            cap(&field, answer.values.len(), max, setting)?;
        }
    }
    Ok(())
}

/// A 400 when `len` entries of `field` exceed `max` (the value of `setting`).
fn cap(field: &str, len: usize, max: usize, setting: &str) -> Result<(), ApiError> {
    if len > max {
        return Err(ApiError::bad_request(format!(
            "{field} has {len} entries; at most {max} are accepted (limits.{setting})"
        )));
    }
    Ok(())
}

/// `ids` without repeats, each at its first place.
fn dedup(ids: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn repeats_go_and_the_order_stays() {
        let ids = ["b", "a", "b", "c", "a"].map(String::from).to_vec();
        assert_eq!(dedup(ids), ["b", "a", "c"]);
    }

    #[test]
    fn the_cap_names_the_field_and_the_setting() {
        assert!(cap("params.item_ids", 100, 100, "max_feedback_items").is_ok());
        let err = cap("params.item_ids", 101, 100, "max_feedback_items").unwrap_err();
        assert_eq!(actix_web::ResponseError::status_code(&err), 400);
        assert_eq!(
            err.to_string(),
            "params.item_ids has 101 entries; at most 100 are accepted (limits.max_feedback_items)"
        );
    }
}
