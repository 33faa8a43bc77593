//! The OpenAPI 3 description of the API, served at `GET /openapi.json`. A unit test keeps its
//! operations equal to the route table, and the integration tests send every documented
//! operation to a real server and check the answers against the documented statuses.

use serde_json::{json, Value};

use crate::codec::ItemError;

/// Request-level error codes, for the schema's enum.
pub const REQUEST_ERROR_CODES: &[&str] = &[
    "malformed_json",
    "invalid_request",
    "unknown_scheme",
    "unknown_variant",
    "unsupported_scheme",
    "empty_batch",
    "batch_too_large",
    "length_mismatch",
    "unknown_priority",
    "interactive_too_large",
    "body_too_large",
    "body_timeout",
    "queue_full",
    "shutting_down",
    "deadline_exceeded",
    "engine_failure",
    "client_gone",
    "not_found",
    "method_not_allowed",
    "not_ready",
    "registration_required",
    "invalid_key_id",
    "unknown_key",
    "key_id_taken",
    "invalid_proof_of_possession",
    "unauthorized",
    "writes_disabled",
    "registry_unavailable",
];

fn error_responses(with_queue: bool) -> Value {
    let mut responses = json!({
        "400": {"description": "Request-level error (bad JSON, shape, scheme, sizes, or an invalid input of /v1/aggregate)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "408": {"description": "Body not received within body_timeout_ms (body_timeout)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "413": {"description": "Body larger than max_body_bytes (body_too_large)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "503": {"description": "Shutting down, engine failure, or no answer within request_deadline_ms (deadline_exceeded)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    });
    if with_queue {
        responses["429"] = json!({"description": "Over budget (queue_full): admission (the server's or the client's share, before decoding) or the verification queue; retry after the Retry-After header's seconds", "headers": {"Retry-After": {"schema": {"type": "integer"}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    }
    responses
}

fn post(summary: &str, request: &str, response: &str, with_queue: bool) -> Value {
    let mut responses = error_responses(with_queue);
    responses["200"] = json!({"description": "Answer", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{response}")}}}});
    json!({"post": {
        "summary": summary,
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{request}")}}}},
        "responses": responses,
    }})
}

fn get(summary: &str, content_type: &str, schema: Value, extra: Value) -> Value {
    let mut responses =
        json!({"200": {"description": "OK", "content": {content_type: {"schema": schema}}}});
    if let Value::Object(extra) = extra {
        for (status, response) in extra {
            responses[status] = response;
        }
    }
    json!({"get": {"summary": summary, "responses": responses}})
}

/// The reusable schemas (`#/components/schemas/...`).
fn schemas() -> serde_json::Map<String, Value> {
    let hex = json!({"type": "string", "pattern": "^0x([0-9a-fA-F]{2})*$"});
    let scheme = json!({"type": "string", "enum": ["basic", "aug", "pop"], "description": "default: the server's (pop unless configured)"});
    let variant = json!({"type": "string", "enum": ["min_pk", "min_sig"], "description": "default: the server's (min_pk unless configured)"});
    let item_codes: Vec<&str> = ItemError::ALL_CODES.to_vec();
    let mut schemas = serde_json::Map::new();
    schemas.insert("Hex".into(), hex);
    schemas.insert("Scheme".into(), scheme);
    schemas.insert("Variant".into(), variant);
    schemas.insert("Priority".into(), json!({"type": "string", "enum": ["interactive", "bulk"], "default": "bulk", "description": "latency class (docs/API.md, Latency classes); interactive: at most interactive_max_items items or keys"}));
    schemas.insert(
        "Item".into(),
        json!({"type": "object", "required": ["message", "signature"], "description": "exactly one of public_key and key_id", "properties": {
                "public_key": {"$ref": "#/components/schemas/Hex"},
                "key_id": {"$ref": "#/components/schemas/KeyId"},
                "message": {"$ref": "#/components/schemas/Hex"},
                "signature": {"$ref": "#/components/schemas/Hex"}}}),
    );
    schemas.insert(
        "VerifyRequest".into(),
        json!({"type": "object", "required": ["items"], "properties": {
                "scheme": {"$ref": "#/components/schemas/Scheme"},
                "variant": {"$ref": "#/components/schemas/Variant"},
                "priority": {"$ref": "#/components/schemas/Priority"},
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}}),
    );
    schemas.insert(
        "Verdict".into(),
        json!({"type": "object", "required": ["valid"], "properties": {
                "valid": {"type": "boolean"},
                "error": {"$ref": "#/components/schemas/ItemErrorCode"}}}),
    );
    schemas.insert(
        "VerifyResponse".into(),
        json!({"type": "object", "required": ["results", "valid", "invalid"], "properties": {
                "results": {"type": "array", "items": {"$ref": "#/components/schemas/Verdict"}},
                "valid": {"type": "integer"},
                "invalid": {"type": "integer"}}}),
    );
    schemas.insert("AggregateRequest".into(), json!({"type": "object", "description": "exactly one of signatures or public_keys", "properties": {
                "variant": {"$ref": "#/components/schemas/Variant"},
                "signatures": {"type": "array", "items": {"$ref": "#/components/schemas/Hex"}},
                "public_keys": {"type": "array", "items": {"$ref": "#/components/schemas/Hex"}}}}));
    schemas.insert(
        "AggregateResponse".into(),
        json!({"type": "object", "properties": {
                "signature": {"$ref": "#/components/schemas/Hex"},
                "public_key": {"$ref": "#/components/schemas/Hex"}}}),
    );
    schemas.insert("AggregateVerifyRequest".into(), json!({"type": "object", "required": ["messages", "signature"], "description": "exactly one of public_keys and key_ids", "properties": {
                "scheme": {"$ref": "#/components/schemas/Scheme"},
                "variant": {"$ref": "#/components/schemas/Variant"},
                "priority": {"$ref": "#/components/schemas/Priority"},
                "public_keys": {"type": "array", "items": {"$ref": "#/components/schemas/Hex"}},
                "key_ids": {"type": "array", "items": {"$ref": "#/components/schemas/KeyId"}},
                "messages": {"type": "array", "items": {"$ref": "#/components/schemas/Hex"}},
                "signature": {"$ref": "#/components/schemas/Hex"}}}));
    schemas.insert("FastAggregateVerifyRequest".into(), json!({"type": "object", "required": ["message", "signature"], "description": "exactly one of public_keys and key_ids (key_ids only with --require-registered-keys)", "properties": {
                "scheme": {"type": "string", "enum": ["pop"]},
                "variant": {"$ref": "#/components/schemas/Variant"},
                "priority": {"$ref": "#/components/schemas/Priority"},
                "public_keys": {"type": "array", "items": {"$ref": "#/components/schemas/Hex"}},
                "key_ids": {"type": "array", "items": {"$ref": "#/components/schemas/KeyId"}},
                "message": {"$ref": "#/components/schemas/Hex"},
                "signature": {"$ref": "#/components/schemas/Hex"}}}));
    schemas.insert(
        "VerdictResponse".into(),
        json!({"type": "object", "required": ["valid"], "properties": {
                "valid": {"type": "boolean"},
                "error": {"$ref": "#/components/schemas/ItemErrorCode"}}}),
    );
    schemas.insert(
        "ItemErrorCode".into(),
        json!({"type": "string", "enum": item_codes}),
    );
    schemas.insert("Error".into(), json!({"type": "object", "required": ["error", "detail"], "properties": {
                "error": {"type": "string", "description": "a request-level code, or for /v1/aggregate an item code", "enum": REQUEST_ERROR_CODES.iter().chain(ItemError::ALL_CODES.iter()).collect::<Vec<_>>()},
                "detail": {"type": "string"}}}));
    schemas.insert(
        "KeyId".into(),
        json!({"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"}),
    );
    schemas.insert(
        "KeyRegistration".into(),
        json!({"type": "object", "required": ["public_key", "proof_of_possession"], "properties": {
                "key_id": {"$ref": "#/components/schemas/KeyId"},
                "public_key": {"$ref": "#/components/schemas/Hex"},
                "proof_of_possession": {"$ref": "#/components/schemas/Hex"},
                "variant": {"$ref": "#/components/schemas/Variant"}}}),
    );
    schemas.insert(
        "KeyEvent".into(),
        json!({"type": "object", "required": ["event", "at"], "properties": {
                "event": {"type": "string", "enum": ["registered", "revoked"]},
                "at": {"type": "string", "format": "date-time"}}}),
    );
    schemas.insert("KeyRecord".into(), json!({"type": "object", "required": ["key_id", "public_key", "variant", "revoked", "registered_at", "events"], "properties": {
                "key_id": {"$ref": "#/components/schemas/KeyId"},
                "public_key": {"$ref": "#/components/schemas/Hex"},
                "variant": {"$ref": "#/components/schemas/Variant"},
                "revoked": {"type": "boolean"},
                "registered_at": {"type": "string", "format": "date-time"},
                "revoked_at": {"type": "string", "format": "date-time"},
                "events": {"type": "array", "items": {"$ref": "#/components/schemas/KeyEvent"}}}}));
    schemas.insert("KeyBatchRequest".into(), json!({"type": "array", "description": "also accepted as JSON lines (one registration per line); every entry needs key_id", "items": {"$ref": "#/components/schemas/KeyRegistration"}}));
    schemas.insert("KeyBatchResult".into(), json!({"type": "object", "required": ["key_id"], "description": "status, or error", "properties": {
                "key_id": {"type": "string"},
                "status": {"type": "string", "enum": ["created", "exists"]},
                "error": {"type": "string"}}}));
    schemas.insert("KeyBatchResponse".into(), json!({"type": "object", "required": ["results", "created", "existing", "failed"], "properties": {
                "results": {"type": "array", "items": {"$ref": "#/components/schemas/KeyBatchResult"}},
                "created": {"type": "integer"}, "existing": {"type": "integer"}, "failed": {"type": "integer"}}}));
    schemas.insert("Status".into(), json!({"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}));
    schemas.insert("Info".into(), json!({"type": "object", "required": ["name", "version", "backend", "backends", "schemes", "variants", "default_scheme", "default_variant", "limits", "cached_keys"], "properties": {
                "name": {"type": "string"}, "version": {"type": "string"}, "backend": {"type": "string"},
                "backends": {"type": "array", "items": {"type": "string"}},
                "schemes": {"type": "array", "items": {"type": "string"}},
                "variants": {"type": "array", "items": {"type": "string"}},
                "default_scheme": {"$ref": "#/components/schemas/Scheme"},
                "default_variant": {"$ref": "#/components/schemas/Variant"},
                "limits": {"type": "object", "required": ["max_body_bytes", "max_items", "max_batch_size", "max_queue_delay_ms", "queue_capacity", "key_cache_capacity", "interactive_max_items", "interactive_capacity"], "properties": {
                    "max_body_bytes": {"type": "integer"}, "max_items": {"type": "integer"}, "max_batch_size": {"type": "integer"},
                    "max_queue_delay_ms": {"type": "integer"}, "queue_capacity": {"type": "integer"}, "key_cache_capacity": {"type": "integer"},
                    "interactive_max_items": {"type": "integer"}, "interactive_capacity": {"type": "integer"}}},
                "cached_keys": {"type": "integer"}}}));
    schemas
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The answers every registry write may get besides its own.
fn write_errors() -> Value {
    json!({
        "401": error_response("Missing or wrong bearer token (unauthorized)"),
        "403": error_response("No --admin-token-file configured: writes disabled (writes_disabled)"),
        "503": error_response("Registry store unavailable (registry_unavailable)"),
    })
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(base), Value::Object(extra)) = (&mut base, extra) {
        base.extend(extra);
    }
    base
}

fn record(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KeyRecord"}}}})
}

/// `/v1/keys/{key_id}`: register, read, revoke.
fn key_operations() -> Value {
    let key_id = json!([{"name": "key_id", "in": "path", "required": true, "schema": {"$ref": "#/components/schemas/KeyId"}}]);
    let security = json!([{"bearer": []}]);
    json!({
        "put": {
            "summary": "Register a public key with its proof of possession under key_id",
            "parameters": key_id, "security": security,
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KeyRegistration"}}}},
            "responses": with(write_errors(), json!({
                "201": record("Registered now"),
                "200": record("The id already holds this key (idempotent)"),
                "400": error_response("invalid_key_id, invalid_proof_of_possession, a key or proof decoding code, or a request-level code"),
                "409": error_response("The id holds another key or was revoked (key_id_taken)"),
            })),
        },
        "get": {
            "summary": "A registered key with its revocation state and audit events",
            "parameters": key_id,
            "responses": {
                "200": record("The key"),
                "400": error_response("invalid_key_id"),
                "404": error_response("unknown_key"),
                "503": error_response("registry_unavailable"),
            },
        },
        "delete": {
            "summary": "Revoke a key for good (idempotent); the id is never reused",
            "parameters": key_id, "security": security,
            "responses": with(write_errors(), json!({
                "200": record("Revoked"),
                "400": error_response("invalid_key_id"),
                "404": error_response("unknown_key"),
            })),
        },
    })
}

/// The document.
pub fn document() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Tollgate",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Batch verification of BLS12-381 signatures with per-item verdicts. See docs/API.md."
        },
        "paths": {
            "/v1/verify": post("Verify a batch of independent signatures; one verdict per item, in order", "VerifyRequest", "VerifyResponse", true),
            "/v1/aggregate": post("Aggregate signatures or public keys", "AggregateRequest", "AggregateResponse", false),
            "/v1/aggregate-verify": post("Verify one aggregate signature over (public key, message) pairs", "AggregateVerifyRequest", "VerdictResponse", true),
            "/v1/fast-aggregate-verify": post("Verify one aggregate signature by many keys over one message (pop only)", "FastAggregateVerifyRequest", "VerdictResponse", true),
            "/v1/keys/batch": {"post": {
                "summary": "Register many keys; proofs checked as one randomized batch with bisection",
                "security": [{"bearer": []}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KeyBatchRequest"}}}},
                "responses": with(with(write_errors(), error_responses(false)), json!({
                    "200": {"description": "One result per entry", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KeyBatchResponse"}}}},
                })),
            }},
            "/v1/keys/{key_id}": key_operations(),
            "/v1/info": get("Version, backends, schemes and limits", "application/json", json!({"$ref": "#/components/schemas/Info"}), json!({})),
            "/healthz": get("Liveness", "application/json", json!({"$ref": "#/components/schemas/Status"}), json!({})),
            "/readyz": get("Readiness: 503 while the queue is full or the server drains", "application/json", json!({"$ref": "#/components/schemas/Status"}),
                json!({"503": {"description": "Not ready (not_ready)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}})),
            "/metrics": get("Prometheus metrics (text exposition format)", "text/plain", json!({"type": "string"}), json!({})),
            "/openapi.json": get("This document", "application/json", json!({"type": "object"}), json!({})),
        },
        "components": {
            "schemas": schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "a token of --admin-token-file"}},
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ROUTES;
    use std::collections::BTreeSet;

    #[test]
    fn operations_equal_the_route_table() {
        let doc = document();
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .unwrap()
                    .keys()
                    .map(move |m| (m.clone(), path.clone()))
            })
            .collect();
        let served: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        assert_eq!(documented, served);
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &reference[..reference.find('"').unwrap()];
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "dangling $ref {name}"
            );
        }
    }
}
