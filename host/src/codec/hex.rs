//! `0x`-prefixed hex, the API's only byte encoding.

use super::ItemError;

/// Decodes a `0x`-prefixed hex string (either letter case). `"0x"` is the empty byte string.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, ItemError> {
    let digits = text.strip_prefix("0x").ok_or(ItemError::MalformedHex)?;
    hex::decode(digits).map_err(|_| ItemError::MalformedHex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_prefixed_hex_and_refuses_the_rest() {
        assert_eq!(parse_hex("0x"), Ok(vec![]));
        assert_eq!(parse_hex("0x00ffAB"), Ok(vec![0, 0xff, 0xab]));
        for bad in ["", "00", "0X00", "0x0", "0xzz", "0x 00", " 0x00", "0x00\n"] {
            assert_eq!(parse_hex(bad), Err(ItemError::MalformedHex), "{bad:?}");
        }
    }
}
