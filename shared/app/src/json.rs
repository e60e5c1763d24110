//! JSON input with errors that name the field: `serde_path_to_error` supplies the path.

use serde::de::DeserializeOwned;
use serde_json::Value;
use tidings_domain::FieldError;

/// Parses a request body into `T`.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, FieldError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize(de);
    parsed.map_err(|e| field_error(e.path().to_string(), e.into_inner()))
}

/// Converts a JSON value (a stored record merged with a PATCH body) into `T`.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| field_error(e.path().to_string(), e.into_inner()))
}

/// Applies a JSON merge patch (RFC 7396): present keys replace, `null` clears, nested objects
/// merge. The patch must be a JSON object.
pub fn merge_patch(target: &mut Value, patch: &Value) -> Result<(), FieldError> {
    if !patch.is_object() {
        return Err(FieldError::new(
            "body",
            "invalid_json",
            "the body must be a JSON object",
        ));
    }
    json_patch::merge(target, patch);
    Ok(())
}

fn field_error(path: String, err: serde_json::Error) -> FieldError {
    use serde_json::error::Category;
    let msg = err.to_string();
    match err.classify() {
        Category::Data => {
            let at_root = path == "." || path.is_empty();
            // An unknown key's path already ends with the key; the message names it too.
            if let Some(rest) = msg.strip_prefix("unknown field `") {
                let name = rest.split('`').next().unwrap_or_default();
                let field = if at_root { name.to_owned() } else { path };
                let message = format!("unknown field '{field}'");
                return FieldError::new(field, "unknown_field", message);
            }
            let field = if at_root { "body".to_owned() } else { path };
            let clean = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
            FieldError::new(field.clone(), "invalid", format!("{field}: {clean}"))
        }
        Category::Eof | Category::Syntax | Category::Io => FieldError::new(
            "body",
            "invalid_json",
            format!("the body is not valid JSON: {msg}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        sms: Option<bool>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: Option<String>,
        prefs: Option<Inner>,
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            from_slice::<Outer>(br#"{"name": 3}"#).unwrap_err().field,
            "name"
        );
        assert_eq!(
            from_slice::<Outer>(br#"{"prefs": {"sms": "yes"}}"#)
                .unwrap_err()
                .field,
            "prefs.sms"
        );
        assert_eq!(
            from_slice::<Outer>(br#"{"nmae": "x"}"#).unwrap_err().field,
            "nmae"
        );
        assert_eq!(
            from_slice::<Outer>(br#"{"prefs": {"fax": true}}"#)
                .unwrap_err()
                .field,
            "prefs.fax"
        );
        let syntax = from_slice::<Outer>(b"{").unwrap_err();
        assert_eq!(
            (syntax.field.as_str(), syntax.code),
            ("body", "invalid_json")
        );
        assert_eq!(from_slice::<Outer>(b"[]").unwrap_err().field, "body");
    }

    #[test]
    fn merge_patch_replaces_and_clears() {
        let mut v = serde_json::json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge_patch(&mut v, &serde_json::json!({"a": null, "b": {"c": 5}})).unwrap();
        assert_eq!(v, serde_json::json!({"b": {"c": 5, "d": 3}}));
        assert!(merge_patch(&mut v, &serde_json::json!([1])).is_err());
    }
}
