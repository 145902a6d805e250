//! Timestamps (`created_at`) on the wire (protocol §2.4).
//!
//! The reference server writes naive local time without a zone
//! (`"2026-11-24T18:13:35.562910"`); the hosted backend writes UTC with `Z`. The client
//! accepts both. This server always **writes** UTC with exactly six fraction digits and a `Z`
//! (`"2026-11-24T18:13:35.562910Z"`), and **reads** RFC 3339 with any offset as well as the
//! naive form, which is taken to be UTC.
//!
//! Use as `#[serde(with = "crate::chatkit::time")]` on a `DateTime<Utc>` field.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// The output format: six fraction digits and a literal `Z`.
pub const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// Formats a timestamp the way the wire expects it.
pub fn format(value: &DateTime<Utc>) -> String {
    value.format(FORMAT).to_string()
}

/// Parses RFC 3339 (any offset, converted to UTC) or a naive ISO-8601 timestamp (taken as
/// UTC, `T` or space separator, optional fraction).
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(value) = DateTime::parse_from_rfc3339(text) {
        return Some(value.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|fmt| NaiveDateTime::parse_from_str(text, fmt).ok())
        .map(|naive| naive.and_utc())
}

/// `Utc::now()` truncated to microseconds, so it round-trips through the database and the
/// wire format exactly.
pub fn now_micros() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// serde `serialize_with` half.
pub fn serialize<S: Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&value.format(FORMAT))
}

/// serde `deserialize_with` half.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text).ok_or_else(|| {
        serde::de::Error::custom(format_args!(
            "invalid timestamp `{text}`: expected RFC 3339 or `YYYY-MM-DDTHH:MM:SS[.ffffff]`"
        ))
    })
}
