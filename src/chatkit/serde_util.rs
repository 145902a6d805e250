//! Small serde helpers shared by the protocol types.
//!
//! The wire rules they implement (protocol §2):
//! * inputs may carry an explicit `null` for any optional or defaulted field, which means
//!   "unset": [`null_as_default`] turns `null` into the field's `Default`;
//! * some objects are always written as `{}` whatever the server holds (thread `metadata`):
//!   [`EmptyObject`] serializes as `{}` and accepts (and discards) anything on input.

use serde::{Deserialize, Deserializer, Serialize, Serializer, de::IgnoredAny, ser::SerializeMap};

/// Deserializes a field that may be `null`, mapping `null` to `T::default()`.
///
/// Use together with `#[serde(default)]` so a missing key also defaults.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A JSON object that is always `{}` on the wire.
///
/// Serializes as an empty object; deserializes from any value and forgets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EmptyObject;

impl Serialize for EmptyObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_map(Some(0))?.end()
    }
}

impl<'de> Deserialize<'de> for EmptyObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer)?;
        Ok(EmptyObject)
    }
}

/// `true` when the value equals its type's default (for `skip_serializing_if`).
pub(crate) fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// An empty JSON object, the default for `data`-like fields.
pub(crate) fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// Deserializes an object-typed `serde_json::Value` field: `null` or missing gives `{}`.
pub(crate) fn null_as_empty_object<'de, D>(deserializer: D) -> Result<serde_json::Value, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<serde_json::Value>::deserialize(deserializer)?
        .filter(|v| !v.is_null())
        .unwrap_or_else(empty_object))
}
