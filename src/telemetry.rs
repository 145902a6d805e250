//! Tracing setup: `RUST_LOG`-style filtering (default `info`), pretty or JSON output; and
//! [`bounded`], which every log field holding text a request chose goes through, so no
//! client can make one line long.

use std::borrow::Cow;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// The longest request-provided text a log field keeps, in bytes (a header value, a path,
/// an error message that quotes the request).
pub const MAX_LOGGED_TEXT: usize = 256;

/// `text` cut to at most `max` bytes at a character boundary, with the length of the rest:
/// `"abc…(+1234 bytes)"`.
pub fn bounded(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…(+{} bytes)", &text[..end], text.len() - end))
}

use crate::config::LogFormat;

/// Installs the global subscriber once; later calls are ignored (tests start many apps).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(fmt::layer().json().with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Pretty => registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_at_a_character_boundary() {
        assert_eq!(bounded("short", 10), "short");
        assert_eq!(bounded("abcdef", 3), "abc…(+3 bytes)");
        // "é" is two bytes: a cut inside it moves back before it.
        assert_eq!(bounded("aéb", 2), "a…(+3 bytes)");
        let long = "x".repeat(100_000);
        assert!(bounded(&long, MAX_LOGGED_TEXT).len() < MAX_LOGGED_TEXT + 32);
    }
}
