//! How a request names a public key: its bytes, or the id it was registered under.

use crate::api::wire::Item;
use crate::service::RequestError;

/// One key of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRef<'a> {
    /// `0x` hex of the compressed key.
    Bytes(&'a str),
    /// A registered key id.
    Id(&'a str),
}

impl<'a> KeyRef<'a> {
    /// The key of a /v1/verify item: exactly one of `public_key` and `key_id`.
    pub fn of_item(index: usize, item: &'a Item) -> Result<Self, RequestError> {
        match (item.public_key.is_empty(), &item.key_id) {
            (false, None) => Ok(KeyRef::Bytes(&item.public_key)),
            (true, Some(id)) => Ok(KeyRef::Id(id)),
            (false, Some(_)) => Err(RequestError::InvalidRequest(format!(
                "items[{index}]: give either \"public_key\" or \"key_id\", not both"
            ))),
            (true, None) => Err(RequestError::InvalidRequest(format!(
                "items[{index}]: missing field `public_key` (or `key_id`)"
            ))),
        }
    }
}

/// The keys of an aggregate request: `public_keys` or `key_ids`, exactly one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRefs {
    Bytes(Vec<String>),
    Ids(Vec<String>),
}

impl KeyRefs {
    pub fn of_request(
        public_keys: Vec<String>,
        key_ids: Option<Vec<String>>,
    ) -> Result<Self, RequestError> {
        match (public_keys.is_empty(), key_ids) {
            (_, None) => Ok(KeyRefs::Bytes(public_keys)),
            (true, Some(ids)) => Ok(KeyRefs::Ids(ids)),
            (false, Some(_)) => Err(RequestError::InvalidRequest(
                "give either \"public_keys\" or \"key_ids\", not both".into(),
            )),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            KeyRefs::Bytes(keys) | KeyRefs::Ids(keys) => keys.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, index: usize) -> KeyRef<'_> {
        match self {
            KeyRefs::Bytes(keys) => KeyRef::Bytes(&keys[index]),
            KeyRefs::Ids(ids) => KeyRef::Id(&ids[index]),
        }
    }
}
