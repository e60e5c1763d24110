//! Opaque pagination cursors. A cursor holds the position after the last item returned,
//! bound to the clinic and the route that gave it: a cursor another clinic (or another list)
//! was given, or one tampered with, is a 400 `invalid_cursor`, never a read. The partition
//! always comes from the caller's credential, so even a forged binding reads only the
//! caller's own items.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tidings_domain::FieldError;

/// The longest cursor read; a longer one is refused before it is decoded.
const MAX_CURSOR_CHARS: usize = 512;

/// What a cursor is bound to: the clinic and the route (e.g. `/patients`).
pub fn scope(clinic_id: &str, route: &str) -> String {
    let digest = Sha256::digest(format!("{clinic_id}\n{route}").as_bytes());
    hex::encode(&digest[..8])
}

/// The cursor for `position` under `scope`.
pub fn encode(scope: &str, position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{scope}.{position}"))
}

fn invalid() -> FieldError {
    FieldError::new(
        "cursor",
        "invalid_cursor",
        "cursor is not one this list gave this clinic",
    )
}

/// The position a cursor of `scope` holds.
fn open(scope: &str, cursor: &str) -> Result<String, FieldError> {
    let cursor = cursor.trim();
    if cursor.is_empty() || cursor.len() > MAX_CURSOR_CHARS {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    match text.split_once('.') {
        Some((s, position)) if s == scope => Ok(position.to_owned()),
        _ => Err(invalid()),
    }
}

/// Decodes a cursor back to the id it was made from, or a 400 naming `cursor`.
pub fn decode(scope: &str, cursor: &str) -> Result<String, FieldError> {
    let id = open(scope, cursor)?;
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(invalid());
    }
    Ok(id)
}

/// Decodes a cursor that holds a position in a sorted read (an index sort key), or a 400
/// naming `cursor`. The reader still checks the position lies in what it reads.
pub fn decode_position(scope: &str, cursor: &str) -> Result<String, FieldError> {
    let pos = open(scope, cursor)?;
    if pos.is_empty() || pos.len() > 200 || !pos.chars().all(|c| c.is_ascii_graphic()) {
        return Err(invalid());
    }
    Ok(pos)
}

/// The 400 a reader answers for a position outside what it reads.
pub fn out_of_range() -> FieldError {
    invalid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_within_their_scope_only() {
        let mine = scope("clinic-a", "/patients");
        assert_eq!(decode(&mine, &encode(&mine, "0190-ab")).unwrap(), "0190-ab");
        assert_eq!(decode(&mine, "!!").unwrap_err().code, "invalid_cursor");
        assert!(decode(&mine, &encode(&mine, "CLINIC#x")).is_err());
        let theirs = scope("clinic-b", "/patients");
        assert!(decode(&mine, &encode(&theirs, "0190-ab")).is_err());
        let other_list = scope("clinic-a", "/templates");
        assert!(decode(&mine, &encode(&other_list, "0190-ab")).is_err());
        assert!(decode(&mine, &URL_SAFE_NO_PAD.encode("0190-ab")).is_err());
        assert!(decode(&mine, &"A".repeat(10_000)).is_err());
    }
}
