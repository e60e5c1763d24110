//! API key authentication. The clinic comes only from the credential, never from the request.

use super::ApiError;
use crate::store::Store;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use tidings_domain::actor::Actor;
use tidings_domain::api_key::{self, Role};

/// Who is calling: the clinic and role of a live API key.
#[derive(Debug, Clone)]
pub struct Caller {
    pub clinic_id: String,
    pub role: Role,
    pub key_id: String,
}

impl Caller {
    /// The key, as what it causes records it (`sent_by`, `consent_changed_by`).
    pub fn actor(&self) -> Actor {
        Actor::key(&self.key_id)
    }
}

/// Checks `Authorization: Bearer <key>` against the stored hash, in constant time.
/// Missing, malformed, unknown and revoked keys are all the same 401.
pub async fn authenticate(store: &Store, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let header = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let token = match header.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return Err(ApiError::unauthenticated()),
    };
    let presented = api_key::parse(token).ok_or_else(ApiError::unauthenticated)?;
    let record = store.get_api_key(presented.key_id).await.map_err(|e| {
        tracing::error!(error = %e, "api key lookup failed");
        ApiError::internal()
    })?;
    let Some(record) = record else {
        // Same work as a real check, so timing does not tell which key ids exist.
        let _ = api_key::verify(presented.secret, "");
        return Err(ApiError::unauthenticated());
    };
    if !api_key::verify(presented.secret, &record.secret_hash) || record.revoked_at.is_some() {
        return Err(ApiError::unauthenticated());
    }
    Ok(Caller {
        clinic_id: record.clinic_id,
        role: record.role,
        key_id: record.key_id,
    })
}
