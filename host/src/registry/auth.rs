//! Admin bearer tokens for registry writes. Tokens come from a file (one per line; blank lines
//! and `#` comments ignored), never from argv where `ps` would show them. Only SHA-256 digests
//! are kept, and a presented token is compared against every digest in constant time, so
//! neither the length nor a prefix of a token leaks through timing.

use std::path::Path;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::RegistryError;

pub struct AdminTokens {
    digests: Vec<[u8; 32]>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl AdminTokens {
    /// No token file: every write is refused (403), never open.
    pub fn none() -> Self {
        Self {
            digests: Vec::new(),
        }
    }

    pub fn from_file(path: &Path) -> Result<Self, RegistryError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            RegistryError::Unavailable(format!("cannot read token file {}: {e}", path.display()))
        })?;
        let digests: Vec<[u8; 32]> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(digest)
            .collect();
        if digests.is_empty() {
            return Err(RegistryError::Unavailable(format!(
                "token file {} holds no token",
                path.display()
            )));
        }
        Ok(Self { digests })
    }

    /// Checks an `Authorization` header value.
    pub fn authorize(&self, header: Option<&str>) -> Result<(), RegistryError> {
        if self.digests.is_empty() {
            return Err(RegistryError::WritesDisabled);
        }
        let token = header
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or(RegistryError::Unauthorized)?;
        let presented = digest(token.trim());
        let matched = self.digests.iter().fold(subtle::Choice::from(0), |any, d| {
            any | d[..].ct_eq(&presented[..])
        });
        if bool::from(matched) {
            Ok(())
        } else {
            Err(RegistryError::Unauthorized)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_from_file_and_refusals() {
        let dir = std::env::temp_dir().join(format!("tollgate-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokens");
        std::fs::write(&path, "# admins\nalpha\n\n  beta  \n").unwrap();
        let tokens = AdminTokens::from_file(&path).unwrap();
        assert!(tokens.authorize(Some("Bearer alpha")).is_ok());
        assert!(tokens.authorize(Some("Bearer beta")).is_ok());
        for bad in [
            None,
            Some("alpha"),
            Some("Bearer alph"),
            Some("Bearer gamma"),
            Some("Basic alpha"),
        ] {
            assert!(matches!(
                tokens.authorize(bad),
                Err(RegistryError::Unauthorized)
            ));
        }
        assert!(matches!(
            AdminTokens::none().authorize(Some("Bearer alpha")),
            Err(RegistryError::WritesDisabled)
        ));
        std::fs::write(&path, "# nothing\n").unwrap();
        assert!(AdminTokens::from_file(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
