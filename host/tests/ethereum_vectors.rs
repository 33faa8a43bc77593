//! The Ethereum BLS test suite (../shared/vectors/bls12-381-tests, 104 JSON cases) through a
//! real `tollgate serve` on a loopback socket, plus `sign` through the library's signer and
//! `hash_to_G2` at the library level (blst, which the engine hashes with, and arkworks, the
//! cross-check reference). Every case file must be present and read.

use crate::common;

use std::collections::BTreeMap;
use std::fs;

use ark_ff::{BigInteger, PrimeField};
use common::{reference, vectors_dir, Server};
use serde_json::{json, Value};
use tollgate::api::wire::to_hex;
use tollgate::signer::SecretKey;
use tollgate::suite::Suite;

const EXPECTED: &[(&str, usize)] = &[
    ("aggregate", 6),
    ("aggregate_verify", 5),
    ("batch_verify", 4),
    ("deserialization_G1", 16),
    ("deserialization_G2", 18),
    ("fast_aggregate_verify", 12),
    ("hash_to_G2", 4),
    ("sign", 10),
    ("verify", 29),
];

/// Deserialization cases whose failure has one definite cause, and the code we must give.
fn expected_code(file: &str) -> Option<&'static str> {
    let table = [
        ("too_few_bytes", "bad_length"),
        ("too_many_bytes", "bad_length"),
        ("equal_to_modulus", "coordinate_out_of_range"),
        ("greater_than_modulus", "coordinate_out_of_range"),
        ("wrong_c_flag", "bad_encoding_flags"),
        ("mask_bits", "bad_encoding_flags"),
        ("b_flag_and_a_flag_true", "bad_encoding_flags"),
        ("b_flag_and_x_nonzero", "bad_encoding_flags"),
        ("not_in_curve", "not_on_curve"),
        ("not_in_G1", "not_in_subgroup"),
        ("not_in_G2", "not_in_subgroup"),
    ];
    table
        .iter()
        .find(|(part, _)| file.contains(part))
        .map(|(_, code)| *code)
}

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.trim_start_matches("0x")).expect("vector hex")
}

fn run_case(server: &Server, dir: &str, file: &str, case: &Value) {
    let input = &case["input"];
    let output = &case["output"];
    let context = format!("{dir}/{file}");
    match dir {
        "verify" => {
            let r = server.post(
                "/v1/verify",
                &json!({"items": [{"public_key": input["pubkey"], "message": input["message"], "signature": input["signature"]}]}),
            );
            assert_eq!(r.status, 200, "{context}: {}", r.body);
            assert_eq!(
                r.json()["results"][0]["valid"],
                *output,
                "{context}: {}",
                r.body
            );
        }
        "batch_verify" => {
            let items: Vec<Value> = (0..input["pubkeys"].as_array().unwrap().len())
                .map(|i| json!({"public_key": input["pubkeys"][i], "message": input["messages"][i], "signature": input["signatures"][i]}))
                .collect();
            let r = server.post("/v1/verify", &json!({"items": items}));
            assert_eq!(r.status, 200, "{context}: {}", r.body);
            let body = r.json();
            assert_eq!(
                body["invalid"] == 0,
                output.as_bool().unwrap(),
                "{context}: {}",
                r.body
            );
        }
        "aggregate" => {
            let r = server.post("/v1/aggregate", &json!({"signatures": input}));
            if output.is_null() {
                assert_eq!(
                    (r.status, r.error_code().as_str()),
                    (400, "empty_batch"),
                    "{context}"
                );
            } else {
                assert_eq!(r.status, 200, "{context}: {}", r.body);
                assert_eq!(r.json()["signature"], *output, "{context}");
            }
        }
        "aggregate_verify" | "fast_aggregate_verify" => {
            let (path, body) = if dir == "aggregate_verify" {
                (
                    "/v1/aggregate-verify",
                    json!({"public_keys": input["pubkeys"], "messages": input["messages"], "signature": input["signature"]}),
                )
            } else {
                (
                    "/v1/fast-aggregate-verify",
                    json!({"public_keys": input["pubkeys"], "message": input["message"], "signature": input["signature"]}),
                )
            };
            let r = server.post(path, &body);
            let valid = match r.status {
                200 => r.json()["valid"].as_bool().unwrap(),
                400 => {
                    // Only an empty key list is refused as a request; the suite expects false.
                    assert_eq!(r.error_code(), "empty_batch", "{context}");
                    false
                }
                other => panic!("{context}: status {other}: {}", r.body),
            };
            assert_eq!(json!(valid), *output, "{context}: {}", r.body);
        }
        "deserialization_G1" | "deserialization_G2" => {
            // The API decodes a G1 point as a min_sig signature and a G2 point as a min_pk one:
            // the same strict decoder as every key and signature, with the subgroup check.
            let (variant, point) = if dir.ends_with("G1") {
                ("min_sig", &input["pubkey"])
            } else {
                ("min_pk", &input["signature"])
            };
            let r = server.post(
                "/v1/aggregate",
                &json!({"variant": variant, "signatures": [point]}),
            );
            if output.as_bool().unwrap() {
                assert_eq!(r.status, 200, "{context}: {}", r.body);
                assert_eq!(
                    r.json()["signature"],
                    *point,
                    "{context}: a single point aggregates to itself"
                );
            } else {
                assert_eq!(r.status, 400, "{context}: {}", r.body);
                if let Some(code) = expected_code(file) {
                    assert_eq!(r.error_code(), code, "{context}");
                }
            }
        }
        "sign" => {
            let signed =
                SecretKey::from_bytes(&hex(input["privkey"].as_str().unwrap())).map(|sk| {
                    to_hex(&sk.sign(Suite::default(), &hex(input["message"].as_str().unwrap())))
                });
            match output.as_str() {
                Some(expected) => assert_eq!(signed.expect("valid key"), expected, "{context}"),
                None => assert!(signed.is_err(), "{context}: the zero key must be refused"),
            }
        }
        "hash_to_G2" => {
            const DST: &[u8] = b"QUUX-V01-CS02-with-BLS12381G2_XMD:SHA-256_SSWU_RO_";
            let msg = input["msg"].as_str().unwrap().as_bytes();
            let coords = |name: &str| -> Vec<Vec<u8>> {
                output[name].as_str().unwrap().split(',').map(hex).collect()
            };
            let (x, y) = (coords("x"), coords("y")); // each [c0, c1]
                                                     // blst, as the CPU engine hashes.
            let mut point = blst::blst_p2::default();
            let mut affine = blst::blst_p2_affine::default();
            let mut serialized = [0u8; 192];
            unsafe {
                blst::blst_hash_to_g2(
                    &mut point,
                    msg.as_ptr(),
                    msg.len(),
                    DST.as_ptr(),
                    DST.len(),
                    std::ptr::null(),
                    0,
                );
                blst::blst_p2_to_affine(&mut affine, &point);
                blst::blst_p2_affine_serialize(serialized.as_mut_ptr(), &affine);
            }
            // Serialized order: x.c1, x.c0, y.c1, y.c0.
            assert_eq!(serialized[..48], x[1][..], "{context} blst x.c1");
            assert_eq!(serialized[48..96], x[0][..], "{context} blst x.c0");
            assert_eq!(serialized[96..144], y[1][..], "{context} blst y.c1");
            assert_eq!(serialized[144..], y[0][..], "{context} blst y.c0");
            // arkworks, the reference the cross-check tests trust.
            let h = reference::hash_to_g2(msg, DST);
            let be = |f: ark_bls12_381::Fq| f.into_bigint().to_bytes_be();
            assert_eq!(
                (be(h.x.c0), be(h.x.c1)),
                (x[0].clone(), x[1].clone()),
                "{context} arkworks x"
            );
            assert_eq!(
                (be(h.y.c0), be(h.y.c1)),
                (y[0].clone(), y[1].clone()),
                "{context} arkworks y"
            );
        }
        other => panic!("unexpected directory {other}"),
    }
}

#[test]
fn ethereum_suite_through_the_service() {
    let root = vectors_dir();
    assert!(root.is_dir(), "test vectors missing at {}", root.display());
    let server = Server::start(&[]);
    let mut counts = BTreeMap::new();
    for (dir, expected) in EXPECTED {
        let mut files: Vec<String> = fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("missing case directory {dir}: {e}"))
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        assert_eq!(
            files.len(),
            *expected,
            "{dir}: expected {expected} case files, found {}",
            files.len()
        );
        for file in &files {
            let text = fs::read_to_string(root.join(dir).join(file)).unwrap();
            let case: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{dir}/{file}: {e}"));
            run_case(&server, dir, file, &case);
            *counts.entry(*dir).or_insert(0) += 1;
        }
    }
    let total: usize = counts.values().sum();
    assert_eq!(total, 104, "cases run per directory: {counts:?}");
    // Every directory of the suite is one we run.
    let dirs = fs::read_dir(&root)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    assert_eq!(
        dirs,
        EXPECTED.len(),
        "the suite has directories this harness does not run"
    );
}
