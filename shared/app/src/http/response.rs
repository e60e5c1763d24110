//! Response builders.

use http::StatusCode;
use http::header::CONTENT_TYPE;
use lambda_http::{Body, Response};
use serde::Serialize;

/// A JSON response. Serialising our own types cannot fail; if it ever did, the client gets a
/// plain 500 rather than a panic.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_string(value) {
        Ok(text) => build(status, "application/json", Body::Text(text)),
        Err(e) => {
            tracing::error!(error = %e, "response serialisation failed");
            build(StatusCode::INTERNAL_SERVER_ERROR, "application/json", Body::Text(r#"{"error":{"code":"internal","message":"something went wrong on our side; it has been logged","field":null}}"#.into()))
        }
    }
}

/// A page of a list: `{"items": [...], "next_cursor": "..."}` (`null` on the last page); the
/// cursor from [`crate::http::ApiRequest::next_cursor`].
pub fn page<T: Serialize>(items: &[T], next_cursor: Option<String>) -> Response<Body> {
    json(StatusCode::OK, &Page { items, next_cursor })
}

/// A page of a list, as [`page`] writes it.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(rename = "PageOf{T}")]
pub struct Page<'a, T> {
    pub items: &'a [T],
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// A whole list in one answer.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(rename = "ListOf{T}")]
pub struct Items<'a, T> {
    pub items: &'a [T],
}

/// The answer to a request made with an `Idempotency-Key`: 201 the first time; 200 with
/// `Idempotent-Replayed: true` when it repeats an earlier one.
pub fn created_or_replayed<T: Serialize>(replayed: bool, value: &T) -> Response<Body> {
    if !replayed {
        return json(StatusCode::CREATED, value);
    }
    let mut res = json(StatusCode::OK, value);
    res.headers_mut().insert(
        "idempotent-replayed",
        http::HeaderValue::from_static("true"),
    );
    res
}

pub fn no_content() -> Response<Body> {
    build(StatusCode::NO_CONTENT, "application/json", Body::Empty)
}

pub fn build(status: StatusCode, content_type: &str, body: Body) -> Response<Body> {
    let mut res = Response::new(body);
    *res.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        res.headers_mut().insert(CONTENT_TYPE, v);
    }
    res
}
