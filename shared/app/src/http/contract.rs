//! What an endpoint takes and answers, as the OpenAPI document (`api::openapi`) states it. The
//! schemas come from the types the handler reads and writes, so a field cannot be in one and
//! not the other; the statuses are the ones the handler's own errors produce (the dispatcher's
//! 400, 401, 403, 404, 413 and 415 are added for every endpoint they apply to).

use schemars::{JsonSchema, Schema, SchemaGenerator};

/// The schema of one type, from the generator of the document being built.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// [`SchemaFn`] of `T`.
pub fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// The request body an endpoint reads.
#[derive(Clone, Copy)]
pub enum Takes {
    Nothing,
    /// A JSON body of this type.
    Json(SchemaFn),
    /// A JSON merge patch (RFC 7396) of this type: every member optional, `null` clears.
    Patch(SchemaFn),
    /// A CSV file (`text/csv`).
    Csv,
}

/// One answer an endpoint gives on success.
#[derive(Clone, Copy)]
pub enum Gives {
    Json(u16, SchemaFn),
    /// 204, no body.
    NoContent,
    /// 200, a CSV file.
    Csv,
}

/// An endpoint's part of the OpenAPI document.
pub struct Doc {
    pub summary: &'static str,
    pub takes: Takes,
    pub gives: &'static [Gives],
    /// The statuses of the handler's own errors (409, 402, 503 ...), beyond the dispatcher's.
    pub errors: &'static [u16],
    /// Reads an `Idempotency-Key` header.
    pub idempotency_key: bool,
}

impl Doc {
    /// An endpoint that takes `takes` and answers `gives`, with the dispatcher's errors only.
    pub const fn new(summary: &'static str, takes: Takes, gives: &'static [Gives]) -> Self {
        Self {
            summary,
            takes,
            gives,
            errors: &[],
            idempotency_key: false,
        }
    }

    /// A read: no body.
    pub const fn get(summary: &'static str, gives: &'static [Gives]) -> Self {
        Self::new(summary, Takes::Nothing, gives)
    }

    /// A removal: no body, 204.
    pub const fn delete(summary: &'static str) -> Self {
        Self::new(summary, Takes::Nothing, &[Gives::NoContent])
    }

    /// The statuses of the handler's own errors.
    pub const fn errors(self, errors: &'static [u16]) -> Self {
        Self { errors, ..self }
    }

    /// It reads an `Idempotency-Key` header.
    pub const fn idempotent(self) -> Self {
        Self {
            idempotency_key: true,
            ..self
        }
    }
}
