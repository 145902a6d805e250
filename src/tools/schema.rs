//! A small JSON-schema validator for the subset the tool schemas use: `type` (object,
//! string, integer, number, boolean), `properties`, `required`, `additionalProperties:
//! false`, `enum`, `minLength`/`maxLength`, `minimum`/`maximum`, and the string formats
//! `date` (YYYY-MM-DD), `date-time` (RFC 3339) and `email`. Model arguments are checked
//! against it before any handler runs, so handlers see well-typed input.

use serde_json::{Map, Value};

/// Checks `value` against `schema`; the error names the offending path.
pub fn validate(schema: &Value, value: &Value) -> Result<(), String> {
    check(schema, value, "arguments")
}

fn type_ok(ty: &str, v: &Value) -> bool {
    match ty {
        "object" => v.is_object(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        _ => false,
    }
}

fn check(schema: &Value, v: &Value, path: &str) -> Result<(), String> {
    let Some(s) = schema.as_object() else {
        return Ok(());
    };
    if let Some(ty) = s.get("type").and_then(Value::as_str)
        && !type_ok(ty, v)
    {
        return Err(format!("{path} must be of type {ty}"));
    }
    if let Some(allowed) = s.get("enum").and_then(Value::as_array)
        && !allowed.contains(v)
    {
        let list: Vec<String> = allowed.iter().map(ToString::to_string).collect();
        return Err(format!("{path} must be one of {}", list.join(", ")));
    }
    if let Some(text) = v.as_str() {
        check_string(s, text, path)?;
    }
    if let Some(n) = v.as_f64() {
        if s.get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n < m)
        {
            return Err(format!("{path} must be ≥ {}", s["minimum"]));
        }
        if s.get("maximum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n > m)
        {
            return Err(format!("{path} must be ≤ {}", s["maximum"]));
        }
    }
    if let Some(obj) = v.as_object() {
        check_object(s, obj, path)?;
    }
    Ok(())
}

fn check_string(s: &Map<String, Value>, text: &str, path: &str) -> Result<(), String> {
    let len = text.chars().count() as u64;
    if s.get("minLength")
        .and_then(Value::as_u64)
        .is_some_and(|m| len < m)
    {
        return Err(format!(
            "{path} must have at least {} characters",
            s["minLength"]
        ));
    }
    if s.get("maxLength")
        .and_then(Value::as_u64)
        .is_some_and(|m| len > m)
    {
        return Err(format!(
            "{path} must have at most {} characters",
            s["maxLength"]
        ));
    }
    let ok = match s.get("format").and_then(Value::as_str) {
        Some("date") => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
        Some("date-time") => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        Some("email") => crate::domain::guests::valid_email(text),
        _ => true,
    };
    if !ok {
        return Err(format!(
            "{path} is not a valid {}",
            s["format"].as_str().unwrap_or("value")
        ));
    }
    Ok(())
}

fn check_object(
    s: &Map<String, Value>,
    obj: &Map<String, Value>,
    path: &str,
) -> Result<(), String> {
    let props = s.get("properties").and_then(Value::as_object);
    if let Some(required) = s.get("required").and_then(Value::as_array) {
        for r in required.iter().filter_map(Value::as_str) {
            if !obj.contains_key(r) {
                return Err(format!("{path}.{r} is required"));
            }
        }
    }
    let closed = s.get("additionalProperties") == Some(&Value::Bool(false));
    for (k, v) in obj {
        match props.and_then(|p| p.get(k)) {
            Some(sub) => check(sub, v, &format!("{path}.{k}"))?,
            None if closed => return Err(format!("{path}.{k} is not a known parameter")),
            None => {}
        }
    }
    Ok(())
}

/// Is `schema` a well-formed object schema of the kind tools use?
pub fn is_object_schema(schema: &Value) -> bool {
    let Some(s) = schema.as_object() else {
        return false;
    };
    let props = s.get("properties").and_then(Value::as_object);
    s.get("type") == Some(&Value::String("object".into()))
        && s.get("additionalProperties") == Some(&Value::Bool(false))
        && props.is_some_and(|p| {
            p.values().all(|v| {
                v.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(type_ok_name)
                    && v.get("description").is_some_and(Value::is_string)
            })
        })
        && s.get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| {
                r.iter().all(|k| {
                    k.as_str()
                        .is_some_and(|k| props.is_some_and(|p| p.contains_key(k)))
                })
            })
}

fn type_ok_name(t: &str) -> bool {
    ["object", "string", "integer", "number", "boolean", "array"].contains(&t)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validates_subset() {
        let s = json!({"type": "object", "additionalProperties": false, "required": ["a"],
            "properties": {"a": {"type": "string", "minLength": 1}, "n": {"type": "integer", "minimum": 1},
            "d": {"type": "string", "format": "date"}, "e": {"type": "string", "enum": ["x", "y"]}}});
        assert!(validate(&s, &json!({"a": "ok", "n": 2, "d": "2030-01-01", "e": "x"})).is_ok());
        for bad in [
            json!({}),
            json!({"a": ""}),
            json!({"a": "x", "n": 0}),
            json!({"a": "x", "n": 1.5}),
            json!({"a": "x", "d": "tomorrow"}),
            json!({"a": "x", "e": "z"}),
            json!({"a": "x", "zz": 1}),
            json!([1]),
        ] {
            assert!(validate(&s, &bad).is_err(), "{bad}");
        }
        assert!(is_object_schema(
            &json!({"type": "object", "additionalProperties": false, "required": [], "properties": {}})
        ));
    }
}
