//! Snippets as safe HTML.
//!
//! The database highlights matches with two private-use characters, [`START`] and
//! [`STOP`] (the index strips both from the text it stores, so they can only come from the
//! highlighter). [`to_html`] escapes everything else and turns the markers into
//! `<mark>`/`</mark>`, always balanced: a stray or repeated marker cannot open an element
//! that is never closed, and user text never becomes markup.

/// Start of a highlighted match (U+E000).
pub const START: char = '\u{E000}';
/// End of a highlighted match (U+E001).
pub const STOP: char = '\u{E001}';

/// The highlighted snippet as HTML: text escaped, matches in `<mark>`.
pub fn to_html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 16);
    let mut open = false;
    for c in raw.chars() {
        match c {
            START if !open => {
                out.push_str("<mark>");
                open = true;
            }
            STOP if open => {
                out.push_str("</mark>");
                open = false;
            }
            START | STOP => {}
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    if open {
        out.push_str("</mark>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_marks_matches() {
        let raw = format!("a <script>alert('x')</script> & {START}flowers{STOP} \"now\"");
        assert_eq!(
            to_html(&raw),
            "a &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; <mark>flowers</mark> &quot;now&quot;"
        );
    }

    #[test]
    fn markers_stay_balanced() {
        let raw = format!("{STOP}x{START}{START}y{STOP}{STOP}z{START}w");
        assert_eq!(to_html(&raw), "x<mark>y</mark>z<mark>w</mark>");
    }
}
