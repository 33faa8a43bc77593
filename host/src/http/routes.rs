//! The endpoint table: one list that registers the handlers and that the OpenAPI test checks.

/// (method, path) of every endpoint the server answers.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/verify"),
    ("post", "/v1/aggregate"),
    ("post", "/v1/aggregate-verify"),
    ("post", "/v1/fast-aggregate-verify"),
    // Before /v1/keys/{key_id}, which would match "batch" too.
    ("post", "/v1/keys/batch"),
    ("put", "/v1/keys/{key_id}"),
    ("get", "/v1/keys/{key_id}"),
    ("delete", "/v1/keys/{key_id}"),
    ("get", "/v1/info"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];
