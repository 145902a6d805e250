//! Ids, timestamps and SSE framing.

use chrono::{TimeZone, Timelike, Utc};

use crate::chatkit::time::{format, parse};
use crate::chatkit::*;

#[test]
fn ids_are_prefixed_unique_and_sortable() {
    let ids: Vec<String> = (0..2000).map(|_| new_id(IdPrefix::Message)).collect();
    for id in &ids {
        assert!(id.starts_with("msg_"), "{id}");
        assert_eq!(id.len(), 4 + 32);
        assert!(
            id[4..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert!(validate_id(id, Some(IdPrefix::Message)));
    }
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, ids, "ids sort by creation order");
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len(), "ids are unique");
    let prefixes = [
        (IdPrefix::Thread, "thr_"),
        (IdPrefix::ToolCall, "tc_"),
        (IdPrefix::Workflow, "wf_"),
        (IdPrefix::Task, "tsk_"),
        (IdPrefix::Attachment, "atc_"),
        (IdPrefix::SdkHiddenContext, "shcx_"),
    ];
    for (prefix, text) in prefixes {
        assert!(new_id(prefix).starts_with(text));
    }
}

#[test]
fn item_prefixes_follow_the_reference() {
    assert_eq!(item_prefix_for("message"), IdPrefix::Message);
    assert_eq!(item_prefix_for("user_message"), IdPrefix::Message);
    assert_eq!(item_prefix_for("widget"), IdPrefix::Message);
    assert_eq!(item_prefix_for("tool_call"), IdPrefix::ToolCall);
    assert_eq!(item_prefix_for("client_tool_call"), IdPrefix::ToolCall);
    assert_eq!(item_prefix_for("workflow"), IdPrefix::Workflow);
    assert_eq!(item_prefix_for("task"), IdPrefix::Task);
    assert_eq!(item_prefix_for("attachment"), IdPrefix::Attachment);
    assert_eq!(
        item_prefix_for("sdk_hidden_context"),
        IdPrefix::SdkHiddenContext
    );
    assert_eq!(item_prefix_for("thread"), IdPrefix::Thread);
}

#[test]
fn id_validation() {
    for ok in [
        "thr_e74751ae",
        "msg_asst0001",
        "cthr_abc",
        "tc_abc",
        "msg_a-b_c",
        "x_1",
    ] {
        assert!(validate_id(ok, None), "{ok}");
    }
    let long_ok = format!("msg_{}", "a".repeat(64));
    assert!(validate_id(&long_ok, None));
    let too_long = format!("msg_{}", "a".repeat(65));
    for bad in [
        "",
        "_abc",
        "msg_",
        "msg",
        "MSG_abc",
        "msg abc",
        "msg_a b",
        "msg_\"x",
        "msg_'x",
        "msg_é",
        "msg_a/b",
        "1_abc",
        too_long.as_str(),
    ] {
        assert!(!validate_id(bad, None), "{bad:?}");
    }
    assert!(validate_id("thr_e74751ae", Some(IdPrefix::Thread)));
    assert!(!validate_id("thr_e74751ae", Some(IdPrefix::Message)));
    assert!(!validate_id("thread_e74751ae", Some(IdPrefix::Thread)));
}

#[test]
fn timestamps_are_written_with_six_digits_and_z() {
    let t = Utc.with_ymd_and_hms(2026, 11, 24, 18, 13, 35).unwrap();
    assert_eq!(format(&t), "2026-11-24T18:13:35.000000Z");
    let t = t.with_nanosecond(562_910_123).unwrap();
    assert_eq!(format(&t), "2026-11-24T18:13:35.562910Z");
    let now = now_micros();
    assert_eq!(now.nanosecond() % 1000, 0, "truncated to microseconds");
    assert_eq!(parse(&format(&now)), Some(now), "round-trips exactly");
}

#[test]
fn timestamps_parse_both_forms() {
    let expected = Utc
        .with_ymd_and_hms(2026, 11, 24, 18, 13, 35)
        .unwrap()
        .with_nanosecond(562_910_000)
        .unwrap();
    for text in [
        "2026-11-24T18:13:35.562910",
        "2026-11-24T18:13:35.562910Z",
        "2026-11-24T19:13:35.562910+01:00",
        "2026-11-24 18:13:35.562910",
    ] {
        assert_eq!(parse(text), Some(expected), "{text}");
    }
    assert_eq!(
        parse("2026-01-01T00:00:00"),
        Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap())
    );
    for bad in ["", "yesterday", "2026-13-01T00:00:00", "2026-11-24"] {
        assert_eq!(parse(bad), None, "{bad}");
    }
    let err = serde_json::from_str::<ThreadItem>(
        r#"{"id":"m_1","thread_id":"t_1","created_at":"soon","type":"end_of_turn"}"#,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("invalid timestamp `soon`"),
        "{err}"
    );
}

#[test]
fn sse_framing_is_exact() {
    let frame = encode_event(&ThreadStreamEvent::stream_options(true));
    assert_eq!(
        &frame[..],
        b"data: {\"type\":\"stream_options\",\"stream_options\":{\"allow_cancel\":true}}\n\n"
    );
    let frame = encode_event(&ThreadStreamEvent::error_stream(true));
    assert_eq!(
        &frame[..],
        b"data: {\"type\":\"error\",\"code\":\"stream.error\",\"allow_retry\":true}\n\n"
    );
    let frame = encode_event(&ThreadStreamEvent::error_custom("line1\nline2", false));
    let text = std::str::from_utf8(&frame).unwrap();
    assert_eq!(
        text,
        "data: {\"type\":\"error\",\"code\":\"custom\",\"message\":\"line1\\nline2\",\"allow_retry\":false}\n\n"
    );
    assert_eq!(text.matches('\n').count(), 2, "one data line per event");
    assert_eq!(KEEP_ALIVE, b": keep-alive\n\n");
}

#[test]
fn event_constructors_and_defaults() {
    let notice = ThreadStreamEvent::notice(NoticeLevel::Danger, "m", None);
    assert_eq!(
        serde_json::to_value(&notice).unwrap(),
        serde_json::json!({"type":"notice","level":"danger","message":"m"})
    );
    let progress = ThreadStreamEvent::progress(None, "Working");
    assert_eq!(
        serde_json::to_value(&progress).unwrap(),
        serde_json::json!({"type":"progress_update","text":"Working"})
    );
    // Defaults on input: `code` custom, `allow_retry` false, `data` {}.
    let error: ThreadStreamEvent =
        serde_json::from_str(r#"{"type":"error","message":null}"#).unwrap();
    assert_eq!(
        serde_json::to_value(&error).unwrap(),
        serde_json::json!({"type":"error","code":"custom","allow_retry":false})
    );
    let effect: ThreadStreamEvent =
        serde_json::from_str(r#"{"type":"client_effect","name":"x","data":null}"#).unwrap();
    assert_eq!(
        serde_json::to_value(&effect).unwrap(),
        serde_json::json!({"type":"client_effect","name":"x","data":{}})
    );
}
