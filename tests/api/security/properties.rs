//! Property tests of the parser and encoder that see untrusted bytes (`parse_request`,
//! `encode_event`).

use eventchat::chatkit::{NoticeLevel, REQUEST_TYPES, ThreadStreamEvent, encode_event};
use proptest::prelude::*;
use serde_json::{Value, json};

// Property tests: the parsers and encoders that see untrusted input.

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "type",
            "params",
            "metadata",
            "thread_id",
            "item_id",
            "input",
            "content",
            "text",
            "attachments",
            "inference_options",
            "limit",
            "order",
            "after",
            "action",
            "payload",
            "result",
            "title",
            "name",
            "size",
            "mime_type",
            "kind",
            "item_ids",
            "attachment_id",
            "audio_base64",
            "quoted_text",
            "tool_choice",
            "model",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{0,8}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
        prop::sample::select(REQUEST_TYPES.to_vec()).prop_map(Value::from),
        prop::sample::select(vec![
            "input_text",
            "input_tag",
            "asc",
            "desc",
            "positive",
            "thr_0"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn any_event() -> impl Strategy<Value = ThreadStreamEvent> {
    let s = || ".{0,40}";
    prop_oneof![
        (prop::option::of(s()), s())
            .prop_map(|(icon, text)| ThreadStreamEvent::progress(icon, text)),
        (s(), any::<bool>()).prop_map(|(m, r)| ThreadStreamEvent::error_custom(m, r)),
        (
            prop::sample::select(vec![
                NoticeLevel::Info,
                NoticeLevel::Warning,
                NoticeLevel::Danger
            ]),
            s(),
            prop::option::of(s())
        )
            .prop_map(|(l, m, t)| ThreadStreamEvent::notice(l, m, t)),
        (s(), s(), s()).prop_map(|(name, k, v)| ThreadStreamEvent::ClientEffect {
            name,
            data: json!({ k: v }),
        }),
        s().prop_map(|item_id| ThreadStreamEvent::ItemRemoved { item_id }),
        any::<bool>().prop_map(ThreadStreamEvent::stream_options),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_request_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = eventchat::chatkit::parse_request(&bytes);
    }

    #[test]
    fn parse_request_never_panics_on_json(value in json_value()) {
        let bytes = serde_json::to_vec(&value).unwrap();
        let _ = eventchat::chatkit::parse_request(&bytes);
    }

    #[test]
    fn parse_request_never_panics_on_envelopes(
        t in prop::sample::select(REQUEST_TYPES.to_vec()),
        params in json_value(),
        metadata in json_value(),
    ) {
        let body = json!({"type": t, "params": params, "metadata": metadata});
        if let Ok(env) = eventchat::chatkit::parse_request(&serde_json::to_vec(&body).unwrap()) {
            prop_assert_eq!(env.request.type_name(), t);
        }
    }

    #[test]
    fn encode_event_is_one_data_line_that_round_trips(event in any_event()) {
        let frame = encode_event(&event);
        let text = std::str::from_utf8(&frame).unwrap();
        prop_assert!(text.starts_with("data: "), "{text:?}");
        prop_assert!(text.ends_with("\n\n"), "{text:?}");
        let json = &text["data: ".len()..text.len() - 2];
        prop_assert!(!json.contains('\n') && !json.contains('\r'), "one line: {text:?}");
        let parsed: Value = serde_json::from_str(json).unwrap();
        prop_assert_eq!(&parsed, &serde_json::to_value(&event).unwrap());
        let back: ThreadStreamEvent = serde_json::from_value(parsed).unwrap();
        prop_assert_eq!(back, event);
    }
}
