//! Lenient request parsing and the exact `RequestError` messages.

use serde_json::json;

use crate::chatkit::*;

fn parse(json: &str) -> Request {
    parse_request(json.as_bytes())
        .unwrap_or_else(|e| panic!("{json}: {e}"))
        .request
}

fn error(json: &str) -> String {
    parse_request(json.as_bytes()).unwrap_err().to_string()
}

#[test]
fn nulls_missing_lists_and_unknown_fields_are_accepted() {
    let request = parse(
        r#"{"type":"threads.create","extra":1,"metadata":null,"params":{"input":{
            "content":[{"type":"input_tag","id":"t_1","text":"x","data":null,"group":null,
                        "interactive":null,"future":true},{"type":"input_text","text":"hi"}],
            "attachments":null,"quoted_text":null,"inference_options":null,"more":{}}}}"#,
    );
    let Request::CreateThread(params) = &request else {
        panic!("{request:?}")
    };
    assert!(params.input.attachments.is_empty());
    assert_eq!(params.input.inference_options, InferenceOptions::default());
    assert_eq!(
        serde_json::to_value(&params.input).unwrap(),
        json!({"content":[
            {"type":"input_tag","id":"t_1","text":"x","data":{},"interactive":false},
            {"type":"input_text","text":"hi"}],
            "attachments":[],"inference_options":{}})
    );
    // Missing lists and objects default too.
    let request =
        parse(r#"{"type":"threads.add_user_message","params":{"thread_id":"thr_1","input":{}}}"#);
    assert_eq!(request.thread_id(), Some("thr_1"));
    assert!(request.is_streaming());
    let request = parse(
        r#"{"type":"items.feedback","params":{"thread_id":"thr_1","kind":"negative","item_ids":null}}"#,
    );
    assert!(matches!(request, Request::Feedback(ref p) if p.item_ids.is_empty()));
}

#[test]
fn list_defaults() {
    for json in [
        r#"{"type":"threads.list"}"#,
        r#"{"type":"threads.list","params":null}"#,
        r#"{"type":"threads.list","params":{}}"#,
        r#"{"type":"threads.list","params":{"limit":0,"order":null,"after":null}}"#,
        r#"{"type":"threads.list","params":{"limit":null}}"#,
    ] {
        assert_eq!(
            parse(json),
            Request::ListThreads(ListThreadsParams::default()),
            "{json}"
        );
    }
    let Request::ListItems(p) = parse(
        r#"{"type":"items.list","params":{"thread_id":"thr_1","limit":9999,"order":"asc","after":"msg_1"}}"#,
    ) else {
        panic!()
    };
    assert_eq!(
        (p.limit, p.order, p.after.as_deref()),
        (9999, Order::Asc, Some("msg_1"))
    );
    let Request::ListItems(p) = parse(r#"{"type":"items.list","params":{"thread_id":"thr_1"}}"#)
    else {
        panic!()
    };
    assert_eq!((p.limit, p.order), (DEFAULT_PAGE_SIZE, Order::Desc));
}

#[test]
fn metadata_and_other_params() {
    let envelope = parse_request(
        br#"{"type":"threads.delete","params":{"thread_id":"thr_1"},"metadata":{"k":"v"}}"#,
    )
    .unwrap();
    assert_eq!(envelope.metadata.get("k"), Some(&json!("v")));
    assert!(!envelope.request.is_streaming());
    let envelope =
        parse_request(br#"{"type":"threads.delete","params":{"thread_id":"thr_1"}}"#).unwrap();
    assert!(envelope.metadata.is_empty());

    let Request::CustomAction(p) = parse(
        r#"{"type":"threads.custom_action","params":{"thread_id":"thr_1","item_id":null,"action":{"type":"go"}}}"#,
    ) else {
        panic!()
    };
    assert_eq!(
        (p.item_id, p.action.kind.as_str(), p.action.payload),
        (None, "go", serde_json::Value::Null)
    );

    let Request::AddStructuredInput(p) = parse(
        r#"{"type":"threads.add_structured_input","params":{"thread_id":"thr_1","item_id":"msg_1","input":{"status":null,"answers":{"a":{"values":null,"skipped":null}}}}}"#,
    ) else {
        panic!()
    };
    assert_eq!(p.input.status, StructuredInputStatus::Answered);
    assert_eq!(p.input.answers.get("a"), Some(&SubmittedAnswer::default()));

    let Request::Transcribe(p) = parse(
        r#"{"type":"input.transcribe","params":{"audio_base64":"","mime_type":"audio/ogg;codecs=opus"}}"#,
    ) else {
        panic!()
    };
    assert_eq!(p.media_type(), "audio/ogg");
    let r = parse(r#"{"type":"threads.add_client_tool_output","params":{"thread_id":"thr_1"}}"#);
    assert!(matches!(r, Request::AddClientToolOutput(ref p) if p.result.is_null()));
    let r = parse(r#"{"type":"threads.update","params":{"thread_id":"thr_1","title":null}}"#);
    assert!(matches!(r, Request::UpdateThread(ref p) if p.title.is_none()));
}

#[test]
fn type_names_and_streaming_flags() {
    let streaming = [
        "threads.create",
        "threads.add_user_message",
        "threads.add_client_tool_output",
        "threads.retry_after_item",
        "threads.custom_action",
        "threads.add_structured_input",
    ];
    for json in super::golden_data::REQUESTS {
        let request = parse(json);
        assert_eq!(
            request.is_streaming(),
            streaming.contains(&request.type_name()),
            "{json}"
        );
        assert!(REQUEST_TYPES.contains(&request.type_name()));
        let has_thread = !matches!(
            request.type_name(),
            "threads.create"
                | "threads.list"
                | "attachments.create"
                | "attachments.delete"
                | "input.transcribe"
        );
        assert_eq!(request.thread_id().is_some(), has_thread, "{json}");
    }
}

#[test]
fn error_messages() {
    assert_eq!(
        error("{\"type\": \n tru}"),
        "invalid JSON at line 2, column 5: expected ident"
    );
    assert_eq!(
        error(""),
        "invalid JSON at line 1, column 0: EOF while parsing a value"
    );
    assert_eq!(
        error("[1]"),
        "request body must be a JSON object, got an array"
    );
    assert_eq!(
        error("\"x\""),
        "request body must be a JSON object, got a string"
    );
    assert_eq!(error("{}"), "missing request `type`");
    assert_eq!(
        error(r#"{"type":null,"params":{}}"#),
        "missing request `type`"
    );
    assert_eq!(
        error(r#"{"type":7}"#),
        "request `type` must be a string, got a number"
    );
    assert_eq!(
        error(r#"{"type":"threads.cancel"}"#),
        "unknown request type `threads.cancel`"
    );
    assert_eq!(
        error(r#"{"type":"threads.list","metadata":[1]}"#),
        "request `metadata` must be an object, got an array"
    );
    assert_eq!(
        error(r#"{"type":"threads.get_by_id","params":{}}"#),
        "invalid params for `threads.get_by_id`: missing field `thread_id`"
    );
    assert_eq!(
        error(r#"{"type":"threads.get_by_id","params":"thr_1"}"#),
        "invalid params for `threads.get_by_id`: `params` must be an object, got a string"
    );
    assert_eq!(
        error(
            r#"{"type":"items.feedback","params":{"thread_id":"thr_1","item_ids":[],"kind":"meh"}}"#
        ),
        "invalid params for `items.feedback`: unknown variant `meh`, expected `positive` or `negative`"
    );
    assert_eq!(
        error(r#"{"type":"threads.list","params":{"limit":-1}}"#),
        "invalid params for `threads.list`: invalid value: integer `-1`, expected u64"
    );
    assert_eq!(
        error(
            r#"{"type":"threads.create","params":{"input":{"content":[{"type":"input_video"}]}}}"#
        ),
        "invalid params for `threads.create`: unknown variant `input_video`, expected `input_text` or `input_tag`"
    );
}

/// U+0000 anywhere is refused with the field's path; the envelope is the root.
#[test]
fn nul_is_refused_with_the_field_path() {
    assert_eq!(
        error(
            r#"{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"a\u0000b"}]}}}"#
        ),
        "`params.input.content[0].text` contains U+0000 (NUL), which is not allowed in text"
    );
    assert_eq!(
        error(r#"{"type":"threads.update","params":{"thread_id":"thr_1","title":"\u0000"}}"#),
        "`params.title` contains U+0000 (NUL), which is not allowed in text"
    );
    assert_eq!(
        error(r#"{"type":"threads.list","metadata":{"eventId":"e\u0000"}}"#),
        "`metadata.eventId` contains U+0000 (NUL), which is not allowed in text"
    );
    // Even where the request would ignore it: the rule is one rule for the whole body.
    assert_eq!(
        error(r#"{"type":"threads.list","params":{"unknown":["x","\u0000"]}}"#),
        "`params.unknown[1]` contains U+0000 (NUL), which is not allowed in text"
    );
    // An escaped backslash followed by `u0000` is text, not NUL.
    let Request::UpdateThread(p) =
        parse(r#"{"type":"threads.update","params":{"thread_id":"thr_1","title":"\\u0000"}}"#)
    else {
        panic!("not an update");
    };
    assert_eq!(p.title.as_deref(), Some("\\u0000"));
}

/// A lone surrogate escape is read as U+FFFD instead of failing the whole body; a pair is
/// the character it encodes.
#[test]
fn lone_surrogates_become_the_replacement_character() {
    let Request::UpdateThread(p) = parse(
        r#"{"type":"threads.update","params":{"thread_id":"thr_1","title":"a\ud800b\ude00\ud83d\ude00"}}"#,
    ) else {
        panic!("not an update");
    };
    assert_eq!(p.title.as_deref(), Some("a\u{FFFD}b\u{FFFD}\u{1F600}"));
}

#[test]
fn garbage_never_panics() {
    let samples: [&[u8]; 8] = [
        b"\xff\xfe",
        b"{",
        b"null",
        b"{\"type\":\"threads.create\",\"params\":{\"input\":7}}",
        b"{\"type\":\"items.list\",\"params\":{\"thread_id\":1e400}}",
        b"{\"type\":\"\"}",
        b"{\"type\":\"threads.list\",\"params\":{\"limit\":1.5}}",
        b"   ",
    ];
    for sample in samples {
        assert!(parse_request(sample).is_err());
    }
    let deep = "[".repeat(10_000);
    assert!(parse_request(deep.as_bytes()).is_err());
}
