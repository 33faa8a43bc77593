//! The seeds fuzzing starts from: valid requests of every endpoint and suite (signed here, so
//! that edits start from inputs that reach the deepest checks), request shapes the
//! malformed-input tests use, and every hex string of the Ethereum BLS test suite.

use std::path::Path;

use serde_json::{json, Value};

use crate::api::wire::to_hex;
use crate::signer::SecretKey;
use crate::suite::{Scheme, Suite, Variant};

/// A request body and the endpoint it is for.
#[derive(Clone, Debug)]
pub struct Seed {
    pub path: &'static str,
    pub body: Value,
}

/// Seeds by kind: hex strings, compressed points of each group, request bodies.
#[derive(Clone, Debug, Default)]
pub struct Corpus {
    pub hex: Vec<String>,
    pub g1: Vec<Vec<u8>>,
    pub g2: Vec<Vec<u8>>,
    pub bodies: Vec<Seed>,
}

impl Corpus {
    /// Valid requests of every endpoint under every scheme and variant, and malformed shapes.
    pub fn generated() -> Self {
        let mut corpus = Corpus::default();
        let keys: Vec<SecretKey> = (1..=3u8)
            .map(|i| SecretKey::from_ikm(&[i; 32]).expect("32-byte ikm"))
            .collect();
        for variant in [Variant::MinPk, Variant::MinSig] {
            for scheme in [Scheme::Basic, Scheme::Aug, Scheme::Pop] {
                corpus.add_suite(Suite::new(scheme, variant), &keys);
            }
        }
        for body in [
            json!({"items": []}),
            json!({"items": "0x00"}),
            json!({"items": [{}]}),
            json!({"items": [{"public_key": 1, "message": null, "signature": []}]}),
            json!({"scheme": "nope", "variant": "min_pk", "items": []}),
            json!({"scheme": 3, "variant": ["min_sig"]}),
            json!([]),
            json!("items"),
            json!({"signatures": [], "public_keys": []}),
            json!({"public_keys": ["0x"], "messages": [], "signature": "0x"}),
        ] {
            for path in ENDPOINTS {
                corpus.bodies.push(Seed {
                    path,
                    body: body.clone(),
                });
            }
        }
        corpus
    }

    fn add_suite(&mut self, suite: Suite, keys: &[SecretKey]) {
        let (scheme, variant) = (
            serde_json::to_value(suite.scheme).expect("scheme name"),
            serde_json::to_value(suite.variant).expect("variant name"),
        );
        let items: Vec<Value> = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let message = format!("payment {i}").into_bytes();
                let public_key = key.public_key(suite.variant);
                let signature = key.sign(suite, &message);
                self.add_point(&public_key);
                self.add_point(&signature);
                self.hex.push(to_hex(&message));
                json!({
                    "public_key": to_hex(&public_key),
                    "message": to_hex(&message),
                    "signature": to_hex(&signature),
                })
            })
            .collect();
        let field = |name: &str| -> Vec<Value> { items.iter().map(|i| i[name].clone()).collect() };
        let first = &items[0];
        let mut push = |path: &'static str, body: Value| self.bodies.push(Seed { path, body });
        push(
            "/v1/verify",
            json!({"scheme": scheme, "variant": variant, "items": items}),
        );
        push(
            "/v1/aggregate",
            json!({"variant": variant, "signatures": field("signature")}),
        );
        push(
            "/v1/aggregate",
            json!({"variant": variant, "public_keys": field("public_key")}),
        );
        push(
            "/v1/aggregate-verify",
            json!({"scheme": scheme, "variant": variant, "public_keys": [first["public_key"]],
                   "messages": [first["message"]], "signature": first["signature"]}),
        );
        if suite.scheme == Scheme::Pop {
            push(
                "/v1/fast-aggregate-verify",
                json!({"variant": variant, "public_keys": [first["public_key"]],
                       "message": first["message"], "signature": first["signature"]}),
            );
        }
    }

    fn add_point(&mut self, bytes: &[u8]) {
        match bytes.len() {
            48 => self.g1.push(bytes.to_vec()),
            96 => self.g2.push(bytes.to_vec()),
            _ => {}
        }
    }

    /// Adds every `0x` string of the JSON files under `dir` (the Ethereum suite: valid and
    /// invalid points, messages, keys). Returns how many strings were added.
    pub fn add_vectors(&mut self, dir: &Path) -> std::io::Result<usize> {
        let mut added = 0;
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                added += self.add_vectors(&path)?;
            } else if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path)?;
                if let Ok(value) = serde_json::from_str::<Value>(&text) {
                    added += self.add_strings(&value);
                }
            }
        }
        Ok(added)
    }

    fn add_strings(&mut self, value: &Value) -> usize {
        match value {
            Value::String(s) if s.starts_with("0x") => {
                if let Ok(bytes) = hex::decode(&s[2..]) {
                    self.add_point(&bytes);
                }
                self.hex.push(s.clone());
                1
            }
            Value::Array(values) => values.iter().map(|v| self.add_strings(v)).sum(),
            Value::Object(fields) => fields.values().map(|v| self.add_strings(v)).sum(),
            _ => 0,
        }
    }
}

/// The endpoints that take a JSON body.
pub const ENDPOINTS: [&str; 4] = [
    "/v1/verify",
    "/v1/aggregate",
    "/v1/aggregate-verify",
    "/v1/fast-aggregate-verify",
];
