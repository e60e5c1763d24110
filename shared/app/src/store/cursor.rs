//! Opaque pagination cursors. A cursor holds only the id of the last item returned: the
//! partition always comes from the caller's credential, so a cursor cannot cross clinics.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tidings_domain::FieldError;

pub fn encode(last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_id)
}

/// Decodes a cursor back to the id it was made from, or a 400 naming `cursor`.
pub fn decode(cursor: &str) -> Result<String, FieldError> {
    let bad = || {
        FieldError::new(
            "cursor",
            "invalid_cursor",
            "cursor is not one this API returned",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    let id = String::from_utf8(bytes).map_err(|_| bad())?;
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(bad());
    }
    Ok(id)
}

/// Decodes a cursor that holds a position in a sorted read (an index sort key), or a 400
/// naming `cursor`. The partition still comes from the credential.
pub fn decode_position(cursor: &str) -> Result<String, FieldError> {
    let bad = || {
        FieldError::new(
            "cursor",
            "invalid_cursor",
            "cursor is not one this API returned",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| bad())?;
    let pos = String::from_utf8(bytes).map_err(|_| bad())?;
    if pos.is_empty() || pos.len() > 200 || !pos.chars().all(|c| c.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_forgeries() {
        assert_eq!(decode(&encode("0190-ab")).unwrap(), "0190-ab");
        assert_eq!(decode("!!").unwrap_err().field, "cursor");
        assert!(decode(&URL_SAFE_NO_PAD.encode("CLINIC#x")).is_err());
    }
}
