//! The parts of a request a handler reads: path parameters, query, JSON body, page.

use super::ApiError;
use crate::store::cursor;
use http::StatusCode;
use http::header::CONTENT_TYPE;
use lambda_http::{Request, RequestExt};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tidings_domain::FieldError;

/// The largest JSON body an endpoint accepts; larger is a 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Page sizes of list endpoints.
pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 200;

/// A request, checked against its endpoint: known query parameters, bounded body.
#[derive(Debug)]
pub struct ApiRequest {
    params: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body: Vec<u8>,
    content_type: Option<String>,
    idempotency_key: Option<String>,
    /// What this request's cursors are bound to: the caller's clinic and the route.
    cursor_scope: String,
}

impl ApiRequest {
    /// Reads `req` for an endpoint at `template` (e.g. `/patients/{id}`) that accepts the query
    /// parameters `allowed`, made by a key of `clinic_id`.
    pub fn read(
        endpoint: &super::Endpoint,
        req: &Request,
        clinic_id: &str,
    ) -> Result<Self, ApiError> {
        let (template, allowed, max_body) = (endpoint.path, endpoint.query, endpoint.max_body);
        let params =
            match_path(template, req.uri().path()).ok_or_else(|| ApiError::not_found("route"))?;
        let query: Vec<(String, String)> = match req.uri().query() {
            Some(q) => form_urlencoded::parse(q.as_bytes()).into_owned().collect(),
            None => req
                .query_string_parameters()
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        };
        if let Some((name, _)) = query.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            let known = if allowed.is_empty() {
                "none".to_owned()
            } else {
                allowed.join(", ")
            };
            return Err(FieldError::new(
                name.clone(),
                "unknown_parameter",
                format!("unknown query parameter '{name}'; accepted: {known}"),
            )
            .into());
        }
        let body = req.body().as_ref();
        if body.len() > max_body {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body must be at most {max_body} bytes"),
            ));
        }
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let idempotency_key = match req.headers().get("idempotency-key") {
            None => None,
            Some(v) => Some(v.to_str().map(str::to_owned).map_err(|_| {
                FieldError::new(
                    "Idempotency-Key",
                    "invalid",
                    "Idempotency-Key must be visible ASCII",
                )
            })?),
        };
        Ok(Self {
            params,
            query,
            body: body.to_vec(),
            content_type,
            idempotency_key,
            cursor_scope: cursor::scope(clinic_id, template),
        })
    }

    /// A path parameter of the endpoint's template.
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The raw `Idempotency-Key` header.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    /// The raw body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as `T`, with errors naming the field.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        self.check_json()?;
        Ok(crate::json::from_slice(&self.body)?)
    }

    /// The body as a JSON object (a merge patch).
    pub fn json_object(&self) -> Result<Value, ApiError> {
        let v: Value = self.json()?;
        if !v.is_object() {
            return Err(
                FieldError::new("body", "invalid_json", "the body must be a JSON object").into(),
            );
        }
        Ok(v)
    }

    fn check_json(&self) -> Result<(), ApiError> {
        if self.body.is_empty() {
            return Err(FieldError::new("body", "required", "a JSON body is required").into());
        }
        match &self.content_type {
            Some(ct) if !ct.to_ascii_lowercase().starts_with("application/json") => {
                Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send the body as application/json",
                ))
            }
            _ => Ok(()),
        }
    }

    /// `cursor` and `limit` of a list endpoint: the id to continue after, and the page size.
    pub fn page(&self) -> Result<(Option<String>, usize), ApiError> {
        let after = self
            .query("cursor")
            .map(|c| cursor::decode(&self.cursor_scope, c))
            .transpose()?;
        Ok((after, self.limit()?))
    }

    /// The cursor that continues after `next_after` (an id or a position) on this list.
    pub fn next_cursor(&self, next_after: Option<&str>) -> Option<String> {
        next_after.map(|p| cursor::encode(&self.cursor_scope, p))
    }

    /// `cursor` and `limit` of a list read in a sort order other than ids (a position).
    pub fn position_page(&self) -> Result<(Option<String>, usize), ApiError> {
        let after = self
            .query("cursor")
            .map(|c| cursor::decode_position(&self.cursor_scope, c))
            .transpose()?;
        Ok((after, self.limit()?))
    }

    /// `limit`: the page size.
    pub fn limit(&self) -> Result<usize, ApiError> {
        let limit = match self.query("limit") {
            None => DEFAULT_PAGE,
            Some(l) => l
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| {
                    FieldError::new(
                        "limit",
                        "invalid",
                        format!("limit must be a number from 1 to {MAX_PAGE}"),
                    )
                })?,
        };
        Ok(limit)
    }
}

/// Matches `path` against `template` (`{name}` segments capture), allowing a leading prefix
/// such as an API Gateway stage name.
pub fn match_path(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let t: Vec<&str> = template
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let p: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let p = p.get(p.len().checked_sub(t.len())?..)?;
    let mut params = Vec::new();
    for (ts, ps) in t.iter().zip(p) {
        match ts.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
            Some(name) => params.push((name.to_owned(), ps.to_string())),
            None if ts == ps => {}
            None => return None,
        }
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::match_path;

    #[test]
    fn path_templates() {
        let p = match_path(
            "/patients/{id}/contacts/{contact_id}",
            "/patients/a/contacts/b",
        )
        .unwrap();
        assert_eq!(
            p,
            vec![("id".into(), "a".into()), ("contact_id".into(), "b".into())]
        );
        assert_eq!(match_path("/patients", "/prod/patients").unwrap(), vec![]);
        assert!(match_path("/patients/{id}", "/practitioners/x").is_none());
        assert!(match_path("/patients/{id}/contacts", "/contacts").is_none());
    }
}
