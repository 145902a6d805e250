use crate::llm::text_calls::markup::MarkupFilter;

/// Feeds `deltas` one by one; returns everything shown, the end included.
fn shown(deltas: &[&str]) -> String {
    let mut filter = MarkupFilter::default();
    let mut out: String = deltas.iter().map(|d| filter.push(d)).collect();
    out.push_str(&filter.finish());
    out
}

/// Every way of cutting `text` into two deltas shows the same.
fn every_split(text: &str) -> Vec<String> {
    (0..=text.len())
        .filter(|&i| text.is_char_boundary(i))
        .map(|i| shown(&[&text[..i], &text[i..]]))
        .collect()
}

#[test]
fn an_echoed_tool_response_is_not_shown() {
    let text = "<tool_response>\n{\"id\": \"evt_1\", \"name\": \"Gala\"}\n</tool_response>\nYour event is the Gala.";
    for out in every_split(text) {
        assert_eq!(out, "\nYour event is the Gala.");
    }
    // Left open, it runs to the end.
    assert_eq!(shown(&["Here: <tool_response>{\"id\"", ": 1}"]), "Here: ");
}

#[test]
fn hidden_context_tags_go_and_their_text_stays() {
    let text = "<HiddenContext>The florist has not confirmed yet.</HiddenContext>";
    for out in every_split(text) {
        assert_eq!(out, "The florist has not confirmed yet.");
    }
}

#[test]
fn ordinary_text_and_near_misses_pass_untouched() {
    for text in [
        "Plain answer with a < sign and <b>html</b>.",
        "A partial tag at the end <tool_resp",
        "<Hidden treasure>",
        "Ünïcödé <tool_call> stays (another filter's job)",
    ] {
        for out in every_split(text) {
            assert_eq!(out, text);
        }
    }
}

#[test]
fn text_streams_at_once_unless_it_may_be_a_tag() {
    let mut filter = MarkupFilter::default();
    assert_eq!(filter.push("Hello "), "Hello ");
    assert_eq!(filter.push("wor<"), "wor", "a possible tag is held");
    assert_eq!(filter.push("ld"), "<ld");
    assert!(!filter.removed());
    assert_eq!(filter.push("<HiddenContext>x"), "x");
    assert!(filter.removed());
}
