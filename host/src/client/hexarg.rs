//! Byte arguments on the command line: hex with or without the `0x` the API uses.

use super::ClientError;

pub(crate) fn parse(what: &'static str, text: &str) -> Result<Vec<u8>, ClientError> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    hex::decode(digits).map_err(|source| ClientError::Hex { what, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_spellings_and_rejects_odd_or_non_hex() {
        assert_eq!(parse("x", "0x0aff").unwrap(), vec![0x0a, 0xff]);
        assert_eq!(parse("x", "0aff").unwrap(), vec![0x0a, 0xff]);
        assert_eq!(parse("x", "").unwrap(), Vec::<u8>::new());
        assert!(parse("x", "0x0af").is_err());
        assert!(parse("x", "0xzz").is_err());
    }
}
