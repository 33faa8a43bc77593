//! `tollgate::signer` against the external Ethereum `sign` vectors (POP scheme, min_pk).

use std::path::PathBuf;

use serde::Deserialize;
use tollgate::signer::SecretKey;
use tollgate::suite::{Scheme, Suite, Variant};

#[derive(Deserialize)]
struct Case {
    input: Input,
    output: Option<String>,
}

#[derive(Deserialize)]
struct Input {
    privkey: String,
    message: String,
}

fn vectors_dir() -> PathBuf {
    crate::common::vectors_dir().join("sign")
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.strip_prefix("0x").expect("0x prefix")).expect("hex")
}

#[test]
fn sign_vectors_match() {
    let dir = vectors_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the 10 sign cases, found {}",
        files.len()
    );

    let suite = Suite::new(Scheme::Pop, Variant::MinPk);
    let (mut signed, mut rejected) = (0, 0);
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read case");
        let case: Case = serde_json::from_str(&text).expect("parse case");
        let key = SecretKey::from_bytes(&unhex(&case.input.privkey));
        match case.output {
            Some(expected) => {
                let key = key.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                let sig = key.sign(suite, &unhex(&case.input.message));
                assert_eq!(sig, unhex(&expected), "{}", file.display());
                signed += 1;
            }
            None => {
                assert!(key.is_err(), "{}: key should be rejected", file.display());
                rejected += 1;
            }
        }
    }
    assert_eq!(signed + rejected, files.len());
    assert!(
        signed > 0 && rejected > 0,
        "both kinds of case must be exercised"
    );
}
