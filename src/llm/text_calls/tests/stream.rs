use super::tools;
use crate::llm::text_calls::{HOLD_LIMIT, Resolution, TextCallFilter};

/// Feeds `deltas`; returns what each push released and the resolution at the end.
fn run(deltas: &[&str]) -> (Vec<String>, Resolution) {
    let mut filter = TextCallFilter::default();
    let released = deltas.iter().map(|d| filter.push(d)).collect();
    (released, filter.finish(&tools()))
}

const TAGGED: &str = "<tool_call>\n{\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"e1\"}}\n</tool_call>";

#[test]
fn prose_streams_through_unchanged() {
    let deltas = [
        "Your wedding",
        " is on",
        " Saturday.",
        " The florist {Bloom}",
        " confirmed",
        " <b>",
        "a",
        " `x`",
        "\n",
    ];
    let (released, end) = run(&deltas);
    assert_eq!(released, deltas, "every delta is shown as it arrives");
    assert_eq!(end, Resolution::default());
}

#[test]
fn a_tag_split_at_every_byte_is_detected() {
    let text = format!("Let me check.\n{TAGGED}");
    let start = text.find('<').unwrap();
    for cut in 1..text.len() {
        if !text.is_char_boundary(cut) {
            continue;
        }
        let (released, end) = run(&[&text[..cut], &text[cut..]]);
        let shown = released.concat();
        assert_eq!(shown, "Let me check.\n", "cut at {cut}");
        assert_eq!(end.calls.len(), 1, "cut at {cut}");
        assert_eq!(end.text, "", "cut at {cut}");
        if cut <= start {
            assert_eq!(
                released[0],
                &text[..cut],
                "prose before the tag is not held"
            );
        }
    }
    // One byte per delta.
    let bytes: Vec<String> = text.chars().map(String::from).collect();
    let refs: Vec<&str> = bytes.iter().map(String::as_str).collect();
    let (released, end) = run(&refs);
    assert_eq!(released.concat(), "Let me check.\n");
    assert_eq!(end.calls[0].name, "getEventDetails");
}

#[test]
fn a_partial_tag_that_is_not_one_is_released() {
    let (released, end) = run(&["a <tool", "box> b"]);
    assert_eq!(released, ["a ", "<toolbox> b"]);
    assert_eq!(end, Resolution::default());
    // Still held at the end: shown as text.
    let (released, end) = run(&["x <tool_c"]);
    assert_eq!(released, ["x "]);
    assert_eq!(end.text, "<tool_c");
    assert!(end.calls.is_empty());
}

#[test]
fn openings_that_may_be_calls_are_held() {
    let fenced = [
        "\n",
        "``",
        "`js",
        "on\n{\"name\": \"getEvent",
        "Details\", \"arguments\": {\"eventId\": \"e1\"}}\n```",
    ];
    let (released, end) = run(&fenced);
    assert!(released.iter().all(String::is_empty), "{released:?}");
    assert_eq!(end.calls.len(), 1);
    let bare = ["  [", "{\"name\": \"listEvents\"}", "]"];
    let (released, end) = run(&bare);
    assert!(released.iter().all(String::is_empty), "{released:?}");
    assert_eq!(end.calls[0].name, "listEvents");
}

#[test]
fn openings_that_cannot_be_calls_stream() {
    let (released, _) = run(&["[Your contract]", "(https://x)"]);
    assert_eq!(released, ["[Your contract]", "(https://x)"]);
    let (released, _) = run(&["```", "python\nprint(1)", "\n```"]);
    assert_eq!(released, ["", "```python\nprint(1)", "\n```"]);
    let (released, _) = run(&["{", " like this }"]);
    assert_eq!(released, ["", "{ like this }"]);
}

#[test]
fn held_text_that_is_not_a_call_is_released_at_the_end() {
    let deltas = ["{\"name\": ", "\"deleteEverything\"}"];
    let (released, end) = run(&deltas);
    assert!(released.iter().all(String::is_empty));
    assert_eq!(end.text, deltas.concat(), "exactly as the model wrote it");
    assert!(end.calls.is_empty());
    let (_, end) = run(&["Checking ", "<tool_call>{\"name\": \"listEvents\"", " oops"]);
    assert_eq!(end.text, "<tool_call>{\"name\": \"listEvents\" oops");
    assert!(end.calls.is_empty());
    // An invented tool, written as a call: handed on as a call (the tool round refuses it),
    // never shown.
    let (released, end) = run(&["{\"name\": \"checkEv", "ent\", \"arguments\": {}}"]);
    assert!(released.iter().all(String::is_empty));
    assert_eq!(end.text, "");
    assert_eq!(end.calls.len(), 1);
    assert_eq!(end.calls[0].name, "checkEvent");
}

#[test]
fn held_text_is_bounded() {
    let mut filter = TextCallFilter::default();
    let opening = "{\"name\": \"listEvents\", \"x\": \"";
    assert_eq!(filter.push(opening), "");
    let fill = "a".repeat(HOLD_LIMIT - opening.len());
    assert_eq!(filter.push(&fill), "", "held up to the bound");
    assert!(filter.is_holding());
    let released = filter.push("a");
    assert_eq!(
        released.len(),
        HOLD_LIMIT + 1,
        "past the bound, all of it is shown"
    );
    assert!(released.starts_with(opening));
    assert!(!filter.is_holding());
    // From then on, everything passes through, even a tag.
    assert_eq!(filter.push("<tool_call>"), "<tool_call>");
    assert_eq!(filter.finish(&tools()), Resolution::default());
}

#[test]
fn abandoning_drops_a_call_in_progress_but_not_text() {
    let mut filter = TextCallFilter::default();
    assert_eq!(filter.push("Hi <tool_call>{\"name\": \"listE"), "Hi ");
    assert_eq!(filter.abandon(), "");
    assert_eq!(filter.push("more"), "more");
    // A partial tag is text until it is a tag.
    let mut filter = TextCallFilter::default();
    assert_eq!(filter.push("See <tool"), "See ");
    assert_eq!(filter.abandon(), "<tool");
}

#[test]
fn the_first_complete_valid_call_resolves_at_once() {
    for (pieces, calls) in [
        (
            &["{\"name\": \"listEvents\", \"argu", "ments\": {}}"][..],
            1,
        ),
        (
            &["<tool_call>\n{\"name\": \"listEvents\"}", "\n</tool_call>"][..],
            1,
        ),
        (
            &[
                "```json\n[{\"name\": \"listEvents\"}, {\"name\": \"getEventDetails\", \"arguments\": {\"eventId\": \"e1\"}}]",
            ][..],
            2,
        ),
        // The model's chain after its first call is never read.
        (
            &["{\"name\": \"listEvents\"}\n{\"name\": \"deleteEverything\""][..],
            1,
        ),
    ] {
        let mut filter = TextCallFilter::default();
        let mut resolved = None;
        for piece in pieces {
            assert_eq!(filter.push(piece), "");
            if let Some(r) = filter.complete_calls(&tools()) {
                resolved = Some(r);
                break;
            }
        }
        let resolved = resolved.unwrap_or_else(|| panic!("{pieces:?} did not resolve"));
        assert_eq!(resolved.calls.len(), calls, "{pieces:?}");
        assert!(resolved.text.is_empty());
        assert!(!filter.is_holding());
    }
    // Unfinished, or not a valid call: nothing yet; `finish` decides at the end.
    for held in [
        "{\"name\": \"listEvents\", \"arguments\": {",
        "{\"name\": \"deleteEverything\"}",
        "{\"a\": 1}",
    ] {
        let mut filter = TextCallFilter::default();
        assert_eq!(filter.push(held), "");
        assert_eq!(filter.complete_calls(&tools()), None, "{held}");
        assert!(filter.is_holding());
    }
}
