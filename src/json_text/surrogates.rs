//! The escape scanner: finds the `\uXXXX` escapes of a JSON text and rewrites the ones that
//! must not reach the parser (or the database) as `\ufffd`.
//!
//! In valid JSON a backslash appears only inside a string and always starts an escape, so
//! the scanner needs no string state: it walks backslash to backslash, and an escape's
//! length tells it where the next character starts (`\\` is two bytes, so the `u` after
//! `\\` is plain text). An escape of a high surrogate (`D800`-`DBFF`) immediately followed by
//! an escape of a low one (`DC00`-`DFFF`) is a pair and is kept; any other surrogate escape
//! is lone. Every rewrite replaces four hex digits with `fffd`, so the text keeps its length
//! and a later parse error its position. Text that is not JSON is left to the parser to
//! refuse: a truncated or malformed escape is skipped, never repaired.

use std::borrow::Cow;

/// `json` with every lone surrogate escape replaced by `\ufffd`; borrowed when there is none.
pub fn repair_lone_surrogates(json: &[u8]) -> Cow<'_, [u8]> {
    rewrite_escapes(json, false)
}

/// The scanner: lone surrogate escapes, and `\u0000` too when `nul_too`, become `\ufffd`.
pub(super) fn rewrite_escapes(json: &[u8], nul_too: bool) -> Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while let Some(offset) = json[i..].iter().position(|&b| b == b'\\') {
        let at = i + offset;
        let Some(unit) = hex_escape(json, at) else {
            // `\\`, `\"`, `\n`, ... (or a broken escape): two bytes, whatever the second is.
            i = at + 2;
            if i >= json.len() {
                break;
            }
            continue;
        };
        let replace = match unit {
            0xD800..=0xDBFF => match hex_escape(json, at + 6) {
                Some(0xDC00..=0xDFFF) => {
                    // A pair: both escapes are kept.
                    i = at + 12;
                    continue;
                }
                _ => true,
            },
            0xDC00..=0xDFFF => true,
            0 => nul_too,
            _ => false,
        };
        if replace {
            out.get_or_insert_with(|| json.to_vec())[at + 2..at + 6].copy_from_slice(b"fffd");
        }
        i = at + 6;
    }
    match out {
        Some(fixed) => Cow::Owned(fixed),
        None => Cow::Borrowed(json),
    }
}

/// The code unit of the `\uXXXX` escape starting at `at`, if there is one.
fn hex_escape(json: &[u8], at: usize) -> Option<u16> {
    let escape = json.get(at..at + 6)?;
    if escape[0] != b'\\' || escape[1] != b'u' {
        return None;
    }
    let hex = std::str::from_utf8(&escape[2..]).ok()?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repaired(json: &str) -> String {
        String::from_utf8(repair_lone_surrogates(json.as_bytes()).into_owned()).unwrap()
    }

    fn parsed(json: &str) -> String {
        let fixed = repair_lone_surrogates(json.as_bytes());
        serde_json::from_slice::<String>(&fixed).unwrap()
    }

    #[test]
    fn a_valid_pair_stays_an_emoji() {
        assert_eq!(repaired(r#""\ud83d\ude00""#), r#""\ud83d\ude00""#);
        assert_eq!(parsed(r#""a\ud83d\ude00b""#), "a\u{1F600}b");
        // Upper-case hex is a pair too.
        assert_eq!(parsed(r#""\uD83D\uDE00""#), "\u{1F600}");
        assert!(matches!(
            repair_lone_surrogates(br#"{"t":"\ud83d\ude00 ok"}"#),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_lone_high_surrogate_becomes_the_replacement_character() {
        assert_eq!(repaired(r#""a\ud800b""#), r#""a\ufffdb""#);
        assert_eq!(parsed(r#""a\ud800b""#), "a\u{FFFD}b");
        // Followed by something that is not a low surrogate: still lone.
        assert_eq!(parsed(r#""\ud800\u0041""#), "\u{FFFD}A");
        assert_eq!(parsed(r#""\ud800\n""#), "\u{FFFD}\n");
        // Two highs in a row: both lone; a high, then a pair: the pair survives.
        assert_eq!(parsed(r#""\ud800\udbff""#), "\u{FFFD}\u{FFFD}");
        assert_eq!(parsed(r#""\ud800\ud83d\ude00""#), "\u{FFFD}\u{1F600}");
    }

    #[test]
    fn a_lone_low_surrogate_becomes_the_replacement_character() {
        assert_eq!(parsed(r#""\ude00""#), "\u{FFFD}");
        // A low before a high is not a pair: both lone.
        assert_eq!(parsed(r#""\ude00\ud83d""#), "\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn an_escaped_backslash_is_not_an_escape() {
        // `\\ud800` is a backslash, then the text `ud800`.
        assert_eq!(repaired(r#""\\ud800""#), r#""\\ud800""#);
        assert_eq!(parsed(r#""\\ud800""#), r"\ud800");
        // Three backslashes: an escaped backslash, then a real (lone) escape.
        assert_eq!(parsed(r#""\\\ud800""#), "\\\u{FFFD}");
        // An escaped backslash between the halves breaks the pair.
        assert_eq!(parsed(r#""\ud83d\\ude00""#), "\u{FFFD}\\ude00");
        // Other escapes are skipped whole.
        assert_eq!(parsed(r#""\"\ud800\t""#), "\"\u{FFFD}\t");
    }

    #[test]
    fn at_the_end_of_the_input() {
        // A lone high as the very last escape, with nothing after it.
        assert_eq!(repaired(r"\ud800"), r"\ufffd");
        assert_eq!(parsed(r#""\ud800""#), "\u{FFFD}");
        // Truncated escapes are left for the parser to refuse, and never read past the end.
        for cut in [
            r"\",
            r"\u",
            r"\ud8",
            r"\ud80",
            r#""\ud800\"#,
            r#""\ud800\ud"#,
        ] {
            assert_eq!(repaired(cut), cut.replace(r"\ud800", r"\ufffd"));
        }
        assert_eq!(repaired(r"\ud83d\ude00"), r"\ud83d\ude00");
    }

    #[test]
    fn nul_escapes_are_rewritten_only_when_asked() {
        let json = br#""a\u0000b\\u0000""#;
        assert!(matches!(rewrite_escapes(json, false), Cow::Borrowed(_)));
        let fixed = rewrite_escapes(json, true);
        assert_eq!(fixed.as_ref(), br#""a\ufffdb\\u0000""#);
    }

    #[test]
    fn malformed_escapes_are_left_to_the_parser() {
        assert_eq!(repaired(r#""\uzzzz\ud800""#), r#""\uzzzz\ufffd""#);
        assert!(serde_json::from_slice::<String>(&repair_lone_surrogates(br#""\uzz""#)).is_err());
        // Non-ASCII text around escapes is untouched.
        assert_eq!(parsed(r#""é\ud800ü""#), "é\u{FFFD}ü");
    }
}
