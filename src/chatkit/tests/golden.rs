//! Golden round-trips: every usable JSON example of the protocol file is parsed into the
//! Rust types and serialized back, and must equal the original key for key.

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use super::golden_data as data;
use crate::chatkit::*;

/// True for the reference's naive timestamps: `YYYY-MM-DDTHH:MM:SS.ffffff`.
fn is_naive_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 26
        && b[10] == b'T'
        && b[19] == b'.'
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            _ => c.is_ascii_digit(),
        })
}

/// The only permitted normalisation: the reference writes naive timestamps
/// (`"2026-11-24T18:13:35.562910"`), this server writes the same instant in UTC with a `Z`.
/// Append the `Z` to every naive `created_at` of the expected value.
fn expect_utc_timestamps(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match child {
                    Value::String(text) if key == "created_at" && is_naive_timestamp(text) => {
                        text.push('Z');
                    }
                    _ => expect_utc_timestamps(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(expect_utc_timestamps),
        _ => {}
    }
}

/// Parses `json` as `T`, serializes it back and compares with the (normalised) original.
fn round_trip<T: DeserializeOwned + Serialize>(json: &str) -> T {
    let parsed: T =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("cannot parse {json}: {e}"));
    let back = serde_json::to_value(&parsed).unwrap();
    let mut expected: Value = serde_json::from_str(json).unwrap();
    expect_utc_timestamps(&mut expected);
    assert_eq!(back, expected, "round trip changed {json}");
    parsed
}

#[test]
fn requests_round_trip() {
    for json in data::REQUESTS {
        let envelope =
            parse_request(json.as_bytes()).unwrap_or_else(|e| panic!("cannot parse {json}: {e}"));
        let back = serde_json::to_value(&envelope).unwrap();
        let expected: Value = serde_json::from_str(json).unwrap();
        assert_eq!(back, expected, "request round trip changed {json}");
    }
    assert_eq!(data::REQUESTS.len(), 16);
    let mut names: Vec<&str> = data::REQUESTS
        .iter()
        .map(|j| parse_request(j.as_bytes()).unwrap().request.type_name())
        .collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 16, "one example per request type");
}

#[test]
fn events_round_trip() {
    for json in data::EVENTS {
        let event: ThreadStreamEvent = round_trip(json);
        // The SSE frame carries the same JSON.
        let frame = encode_event(&event);
        let text = std::str::from_utf8(&frame).unwrap();
        let body = text
            .strip_prefix("data: ")
            .unwrap()
            .strip_suffix("\n\n")
            .unwrap();
        let mut expected: Value = serde_json::from_str(json).unwrap();
        expect_utc_timestamps(&mut expected);
        assert_eq!(serde_json::from_str::<Value>(body).unwrap(), expected);
    }
    let mut kinds: Vec<&str> = data::EVENTS
        .iter()
        .map(|j| {
            serde_json::from_str::<ThreadStreamEvent>(j)
                .unwrap()
                .type_name()
        })
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    // Every one of the 12 event kinds is covered by at least one capture.
    assert_eq!(kinds.len(), 12, "covered kinds: {kinds:?}");
}

#[test]
fn update_captures_cover_every_update_type() {
    let mut kinds: Vec<&str> = data::EVENTS
        .iter()
        .filter_map(
            |j| match serde_json::from_str::<ThreadStreamEvent>(j).unwrap() {
                ThreadStreamEvent::ItemUpdated { update, .. } => Some(update.type_name()),
                _ => None,
            },
        )
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(kinds.len(), 10, "covered update types: {kinds:?}");
}

#[test]
fn threads_round_trip() {
    for json in data::THREADS {
        round_trip::<Thread>(json);
    }
    let thread: Thread = round_trip(data::THREAD_GET_BY_ID);
    assert_eq!(thread.items.data.len(), 1);
    assert_eq!(
        thread.status,
        ThreadStatus::Locked {
            reason: Some("Escalated".into())
        }
    );
    let page: Page<Thread> = round_trip(data::THREADS_PAGE);
    assert_eq!(page.after.as_deref(), Some("thr_e8f64083"));
}

#[test]
fn thread_metadata_is_always_empty() {
    let json = r#"{"id":"thr_1","created_at":"2026-01-01T00:00:00Z","metadata":{"secret":1}}"#;
    let thread: Thread = serde_json::from_str(json).unwrap();
    let back = serde_json::to_value(&thread).unwrap();
    assert_eq!(back["metadata"], serde_json::json!({}));
    assert_eq!(back["status"], serde_json::json!({"type":"active"}));
    assert_eq!(
        back["items"],
        serde_json::json!({"data":[],"has_more":false})
    );
    assert!(back.get("title").is_none());
}

#[test]
fn items_round_trip() {
    let page: Page<ThreadItem> = round_trip(data::ITEMS_PAGE);
    assert!(page.has_more);
    for json in data::ITEMS {
        round_trip::<ThreadItem>(json);
    }
    let body: ItemBody = round_trip(data::SDK_HIDDEN_CONTEXT_BODY);
    assert!(body.is_hidden());
}

#[test]
fn attachments_and_responses_round_trip() {
    for json in data::ATTACHMENTS {
        round_trip::<Attachment>(json);
    }
    let sync: SyncCustomActionResponse = round_trip(data::SYNC_ACTION_RESPONSE);
    assert!(sync.updated_item.is_some());
    round_trip::<TranscriptionResponse>(data::TRANSCRIBE_RESPONSE);
    round_trip::<UserMessageInput>(data::USER_MESSAGE_INPUT);
    round_trip::<Annotation>(data::ENTITY_ANNOTATION);
    assert_eq!(serde_json::to_string(&EmptyResponse {}).unwrap(), "{}");
    assert_eq!(
        serde_json::to_string(&SyncCustomActionResponse::default()).unwrap(),
        "{}"
    );
}

#[test]
fn attachment_metadata_is_never_serialized() {
    let json = r#"{"id":"atc_1","name":"a.pdf","mime_type":"application/pdf","type":"file","metadata":{"k":"v"}}"#;
    let attachment: Attachment = serde_json::from_str(json).unwrap();
    assert_eq!(attachment.metadata.get("k"), Some(&Value::from("v")));
    let back = serde_json::to_value(&attachment).unwrap();
    assert_eq!(
        back,
        serde_json::json!({"id":"atc_1","name":"a.pdf","mime_type":"application/pdf","type":"file"})
    );
}
