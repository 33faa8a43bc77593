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
    "queue_full",
    "shutting_down",
    "engine_failure",
    "not_found",
    "method_not_allowed",
    "not_ready",
];

fn error_responses(with_queue: bool) -> Value {
    let mut responses = json!({
        "400": {"description": "Request-level error (bad JSON, shape, scheme, sizes, or an invalid input of /v1/aggregate)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "413": {"description": "Body larger than max_body_bytes (body_too_large)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    });
    if with_queue {
        responses["429"] = json!({"description": "Verification queue full (queue_full); retry after the Retry-After header's seconds", "headers": {"Retry-After": {"schema": {"type": "integer"}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
        responses["503"] = json!({"description": "Shutting down or engine failure", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
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
        json!({"type": "object", "required": ["public_key", "message", "signature"], "properties": {
                "public_key": {"$ref": "#/components/schemas/Hex"},
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
    schemas.insert("AggregateVerifyRequest".into(), json!({"type": "object", "required": ["public_keys", "messages", "signature"], "properties": {
                "scheme": {"$ref": "#/components/schemas/Scheme"},
                "variant": {"$ref": "#/components/schemas/Variant"},
                "priority": {"$ref": "#/components/schemas/Priority"},
                "public_keys": {"type": "array", "items": {"$ref": "#/components/schemas/Hex"}},
                "messages": {"type": "array", "items": {"$ref": "#/components/schemas/Hex"}},
                "signature": {"$ref": "#/components/schemas/Hex"}}}));
    schemas.insert("FastAggregateVerifyRequest".into(), json!({"type": "object", "required": ["public_keys", "message", "signature"], "properties": {
                "scheme": {"type": "string", "enum": ["pop"]},
                "variant": {"$ref": "#/components/schemas/Variant"},
                "priority": {"$ref": "#/components/schemas/Priority"},
                "public_keys": {"type": "array", "items": {"$ref": "#/components/schemas/Hex"}},
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
            "/v1/info": get("Version, backends, schemes and limits", "application/json", json!({"$ref": "#/components/schemas/Info"}), json!({})),
            "/healthz": get("Liveness", "application/json", json!({"$ref": "#/components/schemas/Status"}), json!({})),
            "/readyz": get("Readiness: 503 while the queue is full or the server drains", "application/json", json!({"$ref": "#/components/schemas/Status"}),
                json!({"503": {"description": "Not ready (not_ready)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}})),
            "/metrics": get("Prometheus metrics (text exposition format)", "text/plain", json!({"type": "string"}), json!({})),
            "/openapi.json": get("This document", "application/json", json!({"type": "object"}), json!({})),
        },
        "components": {"schemas": schemas()}
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
