//! Key ids: 1–128 characters of `[A-Za-z0-9._:-]`, enough for DIDs such as
//! `did:example:meter-0001` and safe in a URL path segment without escaping.

use super::RegistryError;

/// The longest key id accepted.
pub const MAX_KEY_ID_LEN: usize = 128;

/// Checks a key id's syntax.
pub fn check_key_id(id: &str) -> Result<(), RegistryError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
    if id.is_empty() || id.len() > MAX_KEY_ID_LEN || !id.chars().all(allowed) {
        return Err(RegistryError::InvalidKeyId(id.chars().take(160).collect()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dids_and_refuses_the_rest() {
        for good in ["a", "did:example:meter-0001", "A.b_c-9", &"x".repeat(128)] {
            assert!(check_key_id(good).is_ok(), "{good}");
        }
        for bad in ["", &"x".repeat(129), "a/b", "a b", "é", "a%20", "a?b"] {
            assert!(check_key_id(bad).is_err(), "{bad}");
        }
    }
}
