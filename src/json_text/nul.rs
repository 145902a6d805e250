//! U+0000: found in a client's JSON (to refuse it, naming the field) and replaced in a
//! model's output (which cannot be refused).
//!
//! Paths are written the way a client would address the field in JavaScript: object keys
//! joined with `.` (`params.input.content[0].text`), array indexes in brackets, and a key
//! that is not a plain identifier quoted in brackets (`metadata["a b"]`).

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;

use super::surrogates::rewrite_escapes;

/// Where a JSON value holds U+0000.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NulAt {
    /// The field's path from the document's root (empty for the root itself).
    pub path: String,
    /// The U+0000 is in an object key at `path`, not in a string value.
    pub in_key: bool,
}

impl fmt::Display for NulAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "the body"
        } else {
            &self.path
        };
        if self.in_key {
            write!(
                f,
                "a key of `{path}` contains U+0000 (NUL), which is not allowed"
            )
        } else {
            write!(
                f,
                "`{path}` contains U+0000 (NUL), which is not allowed in text"
            )
        }
    }
}

/// The first string (or key) of `value` that holds U+0000, in document order.
pub fn find_nul(value: &Value) -> Option<NulAt> {
    let mut path = String::new();
    walk(value, &mut path)
}

fn walk(value: &Value, path: &mut String) -> Option<NulAt> {
    match value {
        Value::String(s) if s.contains('\0') => Some(NulAt {
            path: path.clone(),
            in_key: false,
        }),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = walk(item, path);
            path.truncate(len);
            found
        }),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                return Some(NulAt {
                    path: path.clone(),
                    in_key: true,
                });
            }
            let len = path.len();
            push_key(path, key);
            let found = walk(item, path);
            path.truncate(len);
            found
        }),
        _ => None,
    }
}

fn push_key(path: &mut String, key: &str) {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        // A `String` always serializes.
        path.push_str(&serde_json::to_string(key).unwrap_or_default());
        path.push(']');
    }
}

/// Text a model wrote, with U+FFFD in place of each U+0000.
pub fn replace_nul(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// JSON text a model wrote (tool-call arguments): U+0000, as a character or as the escape
/// `\u0000`, and lone surrogate escapes become U+FFFD, so the arguments parse and store on
/// both databases. Anything else, valid JSON or not, is left as the model wrote it.
pub fn sanitize_model_json(json: &str) -> Cow<'_, str> {
    let text = replace_nul(json);
    match rewrite_escapes(text.as_bytes(), true) {
        Cow::Borrowed(_) => text,
        // The scanner swaps ASCII hex digits for ASCII hex digits: still UTF-8.
        Cow::Owned(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(path: &str) -> Option<NulAt> {
        Some(NulAt {
            path: path.into(),
            in_key: false,
        })
    }

    #[test]
    fn the_path_names_the_field() {
        let v = json!({"type": "threads.create", "params": {"input": {"content": [
            {"type": "input_text", "text": "fine"},
            {"type": "input_text", "text": "a\u{0}b"},
        ]}}});
        assert_eq!(find_nul(&v), at("params.input.content[1].text"));
        assert_eq!(
            find_nul(&v).unwrap().to_string(),
            "`params.input.content[1].text` contains U+0000 (NUL), which is not allowed in text"
        );
        assert_eq!(find_nul(&json!({"a": ["x", ["\u{0}"]]})), at("a[1][0]"));
        assert_eq!(find_nul(&json!("\u{0}")), at(""));
        assert_eq!(
            find_nul(&json!({"metadata": {"odd key": "\u{0}"}})),
            at(r#"metadata["odd key"]"#)
        );
    }

    #[test]
    fn a_key_with_nul_is_named_by_its_object() {
        let found = find_nul(&json!({"metadata": {"k\u{0}": 1}})).unwrap();
        assert_eq!(
            found,
            NulAt {
                path: "metadata".into(),
                in_key: true
            }
        );
        assert!(found.to_string().starts_with("a key of `metadata`"));
    }

    #[test]
    fn clean_values_have_no_nul() {
        let v = json!({"a": [1, true, null, "\u{FFFD}", {"b": "\\u0000"}]});
        assert_eq!(find_nul(&v), None);
    }

    #[test]
    fn model_text_gets_the_replacement_character() {
        assert_eq!(replace_nul("a\u{0}b\u{0}"), "a\u{FFFD}b\u{FFFD}");
        assert!(matches!(replace_nul("clean"), Cow::Borrowed(_)));
    }

    #[test]
    fn model_json_parses_without_nul_or_lone_surrogates() {
        let args = r#"{"name":"a\u0000b","note":"\ud800","path":"C:\\u0000","raw":"x"}"#
            .replace('x', "x\u{0}");
        let clean = sanitize_model_json(&args);
        let v: Value = serde_json::from_str(&clean).unwrap();
        assert_eq!(v["name"], "a\u{FFFD}b");
        assert_eq!(v["note"], "\u{FFFD}");
        assert_eq!(v["path"], "C:\\u0000", "an escaped backslash is text");
        assert_eq!(find_nul(&v), None);
        // Invalid JSON stays the model's own (the tool round reports it back).
        assert_eq!(sanitize_model_json("{\"a\":"), "{\"a\":");
        assert!(matches!(sanitize_model_json("{}"), Cow::Borrowed(_)));
    }
}
