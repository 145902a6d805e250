//! Applying a structured-input submission to its item (protocol §3.7).
//!
//! For each question: a skipped submission, a missing answer, an answer marked skipped or
//! one with no values becomes `{"values":[],"skipped":true}`; otherwise the values are kept,
//! only the first for a single-choice question. Answers to unknown questions are ignored
//! with a warning. The item's status becomes the submission's.

use crate::chatkit::item::{ItemBody, ThreadItem};
use crate::chatkit::structured::{
    QuestionKind, StructuredInputAnswer, StructuredInputStatus, StructuredInputSubmission,
};

/// The answered copy of a pending structured-input item; `None` if the item is not a
/// pending structured input.
pub fn answer_structured_input(
    item: &ThreadItem,
    sub: &StructuredInputSubmission,
) -> Option<ThreadItem> {
    let ItemBody::StructuredInput { status, inputs } = &item.body else {
        return None;
    };
    if *status != StructuredInputStatus::Pending {
        return None;
    }
    for id in sub.answers.keys() {
        if !inputs.iter().any(|q| &q.id == id) {
            let question = crate::telemetry::bounded(id, 64);
            tracing::warn!(%question, "answer for an unknown question ignored");
        }
    }
    let skipped_all = sub.status == StructuredInputStatus::Skipped;
    let inputs = inputs
        .iter()
        .map(|q| {
            let mut q = q.clone();
            let given = sub.answers.get(&q.id);
            q.answer = Some(match given {
                Some(a) if !skipped_all && !a.skipped && !a.values.is_empty() => {
                    let values = match q.kind {
                        QuestionKind::MultipleChoice {
                            multiple: false, ..
                        } => a.values[..1].to_vec(),
                        _ => a.values.clone(),
                    };
                    StructuredInputAnswer {
                        values,
                        skipped: false,
                    }
                }
                _ => StructuredInputAnswer::skipped(),
            });
            q
        })
        .collect();
    let mut out = item.clone();
    out.body = ItemBody::StructuredInput {
        status: sub.status,
        inputs,
    };
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn follows_the_reference_rules() {
        let item: ThreadItem = serde_json::from_value(json!({"id":"msg_si","thread_id":"thr_1","created_at":"2026-11-24T18:13:35.715497","type":"structured_input","status":"pending","inputs":[{"id":"priority","question":"Priority?","type":"multiple_choice","options":[{"value":"Low"},{"value":"High"}],"multiple":false},{"id":"notes","question":"Notes?","type":"freeform","description":"Optional"}]})).unwrap();
        let sub: StructuredInputSubmission = serde_json::from_value(json!({"status":"answered","answers":{"priority":{"values":["High","Low"]},"ghost":{"values":["x"]}}})).unwrap();
        let done = answer_structured_input(&item, &sub).unwrap();
        let v = serde_json::to_value(&done).unwrap();
        assert_eq!(v["status"], "answered");
        assert_eq!(
            v["inputs"][0]["answer"],
            json!({"values":["High"],"skipped":false})
        );
        assert_eq!(
            v["inputs"][1]["answer"],
            json!({"values":[],"skipped":true})
        );
        // Answered items cannot be answered again.
        assert!(answer_structured_input(&done, &sub).is_none());
        let skip: StructuredInputSubmission =
            serde_json::from_value(json!({"status":"skipped"})).unwrap();
        let v = serde_json::to_value(answer_structured_input(&item, &skip).unwrap()).unwrap();
        assert_eq!(v["status"], "skipped");
        assert_eq!(v["inputs"][0]["answer"]["skipped"], true);
    }
}
