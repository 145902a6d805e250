use serde_json::{Value, json};

use super::tools;
use crate::llm::text_calls::parser::rejected_call;
use crate::llm::text_calls::{NotACall, Recovered, parse};

fn recovered(text: &str) -> Recovered {
    parse(text, &tools()).unwrap_or_else(|e| panic!("{text:?} was not recovered: {e}"))
}

/// (name, arguments as JSON) of each call.
fn calls(r: &Recovered) -> Vec<(String, Value)> {
    r.calls
        .iter()
        .map(|c| (c.name.clone(), serde_json::from_str(&c.arguments).unwrap()))
        .collect()
}

fn details(id: &str) -> (String, Value) {
    ("getEventDetails".to_owned(), json!({"eventId": id}))
}

#[test]
fn tag_form() {
    let r = recovered(
        "<tool_call>\n{\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"e1\"}}\n</tool_call>",
    );
    assert_eq!(calls(&r), [details("e1")]);
    assert_eq!(r.text, "");
    assert!(r.calls[0].id.starts_with("call_") && r.calls[0].id.len() == 17);
}

#[test]
fn several_tags_with_text_around() {
    let r = recovered(
        "Let me check.\n<tool_call>\n{\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"e1\"}}\n</tool_call>\n\
         <tool_call>\n{\"name\": \"listEvents\", \"arguments\": {}}\n</tool_call>\n",
    );
    assert_eq!(
        calls(&r),
        [details("e1"), ("listEvents".to_owned(), json!({}))]
    );
    assert_eq!(r.text, "Let me check.");
    assert_ne!(r.calls[0].id, r.calls[1].id);
}

#[test]
fn unterminated_last_tag() {
    let r = recovered(
        "<tool_call>{\"name\": \"listEvents\"}</tool_call><tool_call>\n{\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"e2\"}}\n",
    );
    assert_eq!(
        calls(&r),
        [("listEvents".to_owned(), json!({})), details("e2")]
    );
    // An open tag followed by another tag ends there.
    let r = recovered(
        "<tool_call>{\"name\": \"listEvents\"}\n<tool_call>{\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"e2\"}}</tool_call>",
    );
    assert_eq!(r.calls.len(), 2);
}

/// The same call twice in one answer runs once (a write would otherwise happen twice).
#[test]
fn a_repeated_call_in_one_answer_runs_once() {
    let call = r#"{"name": "getEventDetails", "arguments": {"eventId": "e1"}}"#;
    let r = recovered(&format!(
        "<tool_call>{call}</tool_call>\n<tool_call>{call}</tool_call>"
    ));
    assert_eq!(calls(&r), [details("e1")]);
    let r = recovered(&format!("[{call}, {call}]"));
    assert_eq!(calls(&r), [details("e1")]);
}

#[test]
fn fenced_json() {
    let r = recovered(
        "```json\n{\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"e1\"}}\n```",
    );
    assert_eq!(calls(&r), [details("e1")]);
    // An array in the fence, and prose after it kept as text.
    let r = recovered(
        "  ```json\n[{\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"e1\"}}, {\"name\": \"listEvents\"}]\n```\nOne moment.",
    );
    assert_eq!(r.calls.len(), 2);
    assert_eq!(r.text, "One moment.");
}

#[test]
fn fenced_without_language() {
    let r = recovered(
        "```\n{\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"e1\"}}\n```",
    );
    assert_eq!(calls(&r), [details("e1")]);
    let r = recovered("```{\"name\": \"listEvents\"}```");
    assert_eq!(r.calls.len(), 1);
}

#[test]
fn bare_object_and_array() {
    let r = recovered("  {\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"e1\"}}\n");
    assert_eq!(calls(&r), [details("e1")]);
    let r = recovered(
        "[{\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"e1\"}}, {\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"e2\"}}]",
    );
    assert_eq!(calls(&r), [details("e1"), details("e2")]);
    assert_eq!(r.text, "");
}

#[test]
fn arguments_as_a_string_parameters_and_missing() {
    let r = recovered(r#"{"name": "getEventDetails", "arguments": "{\"eventId\": \"e1\"}"}"#);
    assert_eq!(calls(&r), [details("e1")]);
    let r = recovered(r#"{"name": "getEventDetails", "parameters": {"eventId": "e1"}}"#);
    assert_eq!(calls(&r), [details("e1")]);
    let r = recovered(r#"{"name": "listEvents"}"#);
    assert_eq!(calls(&r), [("listEvents".to_owned(), json!({}))]);
    // What the tool runner receives is the arguments object as JSON text.
    assert_eq!(r.calls[0].arguments, "{}");
}

#[test]
fn malformed_json_is_text() {
    for text in [
        "{\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"e1\"}",
        "```json\n{\"name\": \"getEventDetails\" \"arguments\": {}}\n```",
        "<tool_call>{name: getEventDetails}</tool_call>",
        "<tool_call></tool_call>",
        "[]",
        "{\"name\": \"listEvents\"} and then some prose",
        r#"{"name": "getEventDetails", "arguments": "eventId=e1"}"#,
        r#"{"name": "listEvents", "arguments": {}, "parameters": {}}"#,
        r#"{"arguments": {"eventId": "e1"}}"#,
    ] {
        assert!(
            matches!(
                parse(text, &tools()),
                Err(NotACall::Malformed(_) | NotACall::NotJson(_))
            ),
            "{text:?}: {:?}",
            parse(text, &tools())
        );
    }
}

#[test]
fn unknown_tool_is_text() {
    let text = "```json\n{\"name\": \"deleteEverything\", \"arguments\": {}}\n```";
    assert_eq!(
        parse(text, &tools()),
        Err(NotACall::UnknownTool("deleteEverything".into()))
    );
    // An invented call after a good one: the good one runs, the invented one is dropped.
    let text = "<tool_call>{\"name\": \"listEvents\"}</tool_call><tool_call>{\"name\": \"viewContract\", \"arguments\": {\"eventId\": \"e1\"}}</tool_call>";
    let recovered = parse(text, &tools()).expect("the first call is kept");
    assert_eq!(recovered.calls.len(), 1);
    assert_eq!(recovered.calls[0].name, "listEvents");
    assert_eq!(recovered.text, "");
}

/// What Qwen2.5 0.5B wrote for "Show me my event details": the asked call, then invented
/// ones, one JSON object per line.
#[test]
fn invented_calls_after_a_valid_one_are_dropped() {
    let text = "{\"name\": \"listEvents\", \"arguments\": {}}\n{\"name\": \"listEvents\", \"arguments\": {\"colour\": \"red\"}}\n{\"name\": \"nope\"}";
    let recovered = parse(text, &tools()).expect("the first call is kept");
    assert_eq!(recovered.calls.len(), 1);
    let text =
        r#"[{"name": "listEvents"}, {"name": "listEvents", "arguments": {"colour": "red"}}]"#;
    assert_eq!(parse(text, &tools()).map(|r| r.calls.len()), Ok(1));
    // Cut off by the token limit inside the echo: still the call.
    let text = "{\"name\": \"listEvents\", \"arguments\": {}}\n{\"client\": \"Emily";
    assert_eq!(parse(text, &tools()).map(|r| r.calls.len()), Ok(1));
    // The call repeated, then the tool's result echoed: the call is kept, the echo dropped.
    let text = "{\"name\": \"listEvents\", \"arguments\": {}}\n{\"client\": \"Emily Parker\"}";
    assert_eq!(parse(text, &tools()).map(|r| r.calls.len()), Ok(1));
}

#[test]
fn schema_violation_is_text() {
    for text in [
        r#"{"name": "getEventDetails", "arguments": {}}"#,
        r#"{"name": "getEventDetails", "arguments": {"eventId": 7}}"#,
        r#"{"name": "addGuest", "arguments": {"eventId": "e1", "name": "Ana", "email": "not an email"}}"#,
        r#"{"name": "listEvents", "arguments": {"from": "tomorrow"}}"#,
    ] {
        assert!(
            matches!(
                parse(text, &tools()),
                Err(NotACall::InvalidArguments { .. })
            ),
            "{text:?}"
        );
    }
}

/// What Qwen2.5 0.5B wrote in the evaluation: the right call with a `null` optional value, or
/// with a schema keyword copied into the arguments. Without those keys the call is valid, so
/// it runs with exactly the rest.
#[test]
fn null_and_unknown_arguments_are_dropped_when_the_rest_is_valid() {
    let r = recovered(
        r#"{"name": "addGuest", "arguments": {"eventId": "e1", "name": "Jane Doe", "tableNumber": null, "required": []}}"#,
    );
    assert_eq!(
        calls(&r),
        [(
            "addGuest".to_owned(),
            json!({"eventId": "e1", "name": "Jane Doe"})
        )]
    );
    let r = recovered(
        r#"<tool_call>{"name": "listEvents", "arguments": {"required": [], "additionalProperties": false}}</tool_call>"#,
    );
    assert_eq!(calls(&r), [("listEvents".to_owned(), json!({}))]);
}

/// Dropping keys never makes an invalid call valid by removing what it needs, and a wrong
/// value of a known key is not repaired.
#[test]
fn a_repair_does_not_hide_a_real_violation() {
    for text in [
        // The required id is null: dropped, it is still missing.
        r#"{"name": "getEventDetails", "arguments": {"eventId": null}}"#,
        // A known key with a wrong value, next to an unknown one.
        r#"{"name": "addGuest", "arguments": {"eventId": "e1", "name": "Ana", "email": "not an email", "extra": 1}}"#,
    ] {
        assert!(
            matches!(
                parse(text, &tools()),
                Err(NotACall::InvalidArguments { .. })
            ),
            "{text:?}"
        );
    }
}

#[test]
fn prose_about_json_stays_text() {
    for text in [
        "Your event {\"name\": \"getEventDetails\"} is on Saturday.",
        "Here is the call I would make:\n```json\n{\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"e1\"}}\n```",
        "Use braces { like this } in templates.",
        "I can wrap things in <tool_call> tags if you like.",
        "[Your contract](https://example.com/contract) is signed.",
        "```python\nprint({\"name\": 1})\n```",
        "",
        "   ",
    ] {
        assert!(parse(text, &tools()).is_err(), "{text:?}");
    }
    assert_eq!(parse("Hello!", &tools()), Err(NotACall::NoCandidate));
}

/// A call written as text carries `\u0000` as six plain characters until it is parsed; the
/// recovered arguments hold U+FFFD instead, as a real call's would (protocol §2.10).
#[test]
fn nul_in_a_text_call_becomes_the_replacement_character() {
    let r = recovered(
        "<tool_call>{\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"e\\u00001\"}}</tool_call>",
    );
    assert_eq!(calls(&r), [details("e\u{FFFD}1")]);
    assert!(!r.calls[0].arguments.contains("\\u0000"));
}

/// An invalid first call that is plainly a call goes to the tool round as written (which
/// refuses it and tells the model why); JSON that is data, not a call, stays text.
#[test]
fn a_call_like_invalid_call_is_handed_on_and_data_is_not() {
    let invented = r#"{"name": "checkEvent", "arguments": {"eventId": "e1"}}"#;
    let r = rejected_call(invented).expect("call-like");
    assert_eq!(
        calls(&r),
        [("checkEvent".to_owned(), json!({"eventId": "e1"}))]
    );
    let schema_copy = r#"<tool_call>{"name": "requestElementChange", "arguments": {"description": "The change", "maxLength": 2000}}</tool_call>"#;
    let r = rejected_call(&format!("Sure.\n{schema_copy}")).expect("call-like");
    assert_eq!(r.text, "Sure.");
    assert_eq!(r.calls[0].name, "requestElementChange");
    for data in [
        r#"{"name": "Parker Rehearsal Dinner", "arguments": {}}"#,
        r#"{"name": "listEvents"}"#,
        r#"{"tool": "listEvents", "arguments": {}}"#,
        "plain prose",
    ] {
        assert_eq!(rejected_call(data), None, "{data}");
    }
}
