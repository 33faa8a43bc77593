//! The endpoint table: one list that registers the handlers and that the OpenAPI test checks.

/// (method, path) of every endpoint the server answers.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/verify"),
    ("post", "/v1/aggregate"),
    ("post", "/v1/aggregate-verify"),
    ("post", "/v1/fast-aggregate-verify"),
    ("get", "/v1/info"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];
