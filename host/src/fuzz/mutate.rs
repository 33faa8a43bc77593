//! Typed edits of byte strings (compressed points above all) and of JSON request bodies.

use arbitrary::{Arbitrary, Unstructured};
use serde_json::{Map, Number, Value};

use super::Corpus;

/// The field modulus p, big-endian: edits aim at the x < p boundary.
const P: [u8; 48] = [
    0x1a, 0x01, 0x11, 0xea, 0x39, 0x7f, 0xe6, 0x9a, 0x4b, 0x1b, 0xa7, 0xb6, 0x43, 0x4b, 0xac, 0xd7,
    0x64, 0x77, 0x4b, 0x84, 0xf3, 0x85, 0x12, 0xbf, 0x67, 0x30, 0xd2, 0xa0, 0xf6, 0xb0, 0xf6, 0x24,
    0x1e, 0xab, 0xff, 0xfe, 0xb1, 0x53, 0xff, 0xff, 0xb9, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xaa, 0xab,
];

/// One edit of a byte string; positions wrap around its length.
#[derive(Arbitrary, Debug)]
enum ByteEdit {
    FlipBit {
        at: usize,
        bit: u8,
    },
    SetByte {
        at: usize,
        value: u8,
    },
    /// The three flag bits of a compressed point (compression, infinity, sign).
    Flags(u8),
    /// A 48-byte x limb set to a value at the edge of the field.
    Limb {
        second: bool,
        value: Edge,
    },
    Truncate(usize),
    Append(Vec<u8>),
    /// The tail of another seed point from this position on.
    Splice {
        seed: usize,
        at: usize,
    },
    Replace(Vec<u8>),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Edge {
    Zero,
    One,
    PMinusOne,
    P,
    PPlusOne,
    AllOnes,
}

impl Edge {
    fn bytes(self) -> [u8; 48] {
        let mut limb = [0u8; 48];
        match self {
            Edge::Zero => {}
            Edge::One => limb[47] = 1,
            Edge::PMinusOne => {
                limb = P;
                limb[47] -= 1;
            }
            Edge::P => limb = P,
            Edge::PPlusOne => {
                limb = P;
                limb[47] += 1;
            }
            Edge::AllOnes => limb = [0xff; 48],
        }
        limb
    }
}

impl ByteEdit {
    fn apply(self, bytes: &mut Vec<u8>, corpus: &Corpus) {
        let len = bytes.len().max(1);
        match self {
            ByteEdit::FlipBit { at, bit } => {
                if let Some(b) = bytes.get_mut(at % len) {
                    *b ^= 1 << (bit % 8);
                }
            }
            ByteEdit::SetByte { at, value } => {
                if let Some(b) = bytes.get_mut(at % len) {
                    *b = value;
                }
            }
            ByteEdit::Flags(flags) => {
                if let Some(b) = bytes.first_mut() {
                    *b = (*b & 0x1f) | (flags & 0xe0);
                }
            }
            ByteEdit::Limb { second, value } => {
                let start = if second { 48 } else { 0 };
                if bytes.len() >= start + 48 {
                    let flags = bytes[0] & 0xe0;
                    bytes[start..start + 48].copy_from_slice(&value.bytes());
                    // The edge value is x's; keep the flags the seed had (masking them off
                    // the top byte of p, which has none set).
                    bytes[0] = (bytes[0] & 0x1f) | flags;
                }
            }
            ByteEdit::Truncate(n) => bytes.truncate(n % len),
            ByteEdit::Append(tail) => bytes.extend_from_slice(&tail),
            ByteEdit::Splice { seed, at } => {
                let seeds = [&corpus.g1, &corpus.g2];
                let pool = seeds[seed % 2];
                if !pool.is_empty() {
                    let other = &pool[seed % pool.len()];
                    let at = at % len;
                    bytes.truncate(at);
                    bytes.extend_from_slice(other.get(at..).unwrap_or_default());
                }
            }
            ByteEdit::Replace(new) => *bytes = new,
        }
    }
}

/// `seed` changed by one to four typed edits chosen from `u`.
pub fn mutate_bytes(
    u: &mut Unstructured,
    seed: &[u8],
    corpus: &Corpus,
) -> arbitrary::Result<Vec<u8>> {
    let mut bytes = seed.to_vec();
    for _ in 0..u.int_in_range(1..=4)? {
        ByteEdit::arbitrary(u)?.apply(&mut bytes, corpus);
    }
    Ok(bytes)
}

/// Any JSON value, nested as deep as the input bytes allow.
#[derive(Arbitrary, Debug)]
enum AnyJson {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Hex(Vec<u8>),
    Array(Vec<AnyJson>),
    Object(Vec<(String, AnyJson)>),
}

impl From<AnyJson> for Value {
    fn from(any: AnyJson) -> Value {
        match any {
            AnyJson::Null => Value::Null,
            AnyJson::Bool(b) => Value::Bool(b),
            AnyJson::Int(i) => Value::Number(i.into()),
            AnyJson::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
            AnyJson::Text(s) => Value::String(s),
            AnyJson::Hex(bytes) => Value::String(crate::api::wire::to_hex(&bytes)),
            AnyJson::Array(values) => Value::Array(values.into_iter().map(Value::from).collect()),
            AnyJson::Object(fields) => Value::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| (k, Value::from(v)))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

/// One edit of a JSON body, at the `node`-th value of a pre-order walk (wrapping).
#[derive(Arbitrary, Debug)]
enum JsonEdit {
    Replace {
        node: usize,
        value: AnyJson,
    },
    Remove {
        node: usize,
    },
    Duplicate {
        node: usize,
        times: u8,
    },
    /// A hex string's bytes edited (a point's flags, limbs, length) and re-encoded.
    HexBytes {
        node: usize,
        edits: Vec<ByteEdit>,
    },
    /// A hex string broken as text: prefix, case, odd length, a foreign character.
    HexText {
        node: usize,
        edit: TextEdit,
    },
    AddField {
        key: String,
        value: AnyJson,
    },
}

/// Edits of serialized text: what a broken client or a proxy might send.
#[derive(Arbitrary, Debug)]
enum TextEdit {
    Truncate(usize),
    Insert { at: usize, bytes: Vec<u8> },
    Delete { at: usize, len: u8 },
    Nest(u16),
}

impl TextEdit {
    fn apply(self, text: &mut Vec<u8>) {
        let len = text.len().max(1);
        match self {
            TextEdit::Truncate(n) => text.truncate(n % len),
            TextEdit::Insert { at, bytes } => {
                let at = at % (text.len() + 1);
                text.splice(at..at, bytes);
            }
            TextEdit::Delete { at, len: n } => {
                let at = at % len;
                let end = (at + n as usize).min(text.len());
                if at < end {
                    text.drain(at..end);
                }
            }
            TextEdit::Nest(depth) => {
                let depth = depth as usize % 100_000;
                let mut nested = vec![b'['; depth];
                nested.append(text);
                nested.extend(std::iter::repeat_n(b']', depth));
                *text = nested;
            }
        }
    }
}

fn count(value: &Value) -> usize {
    1 + match value {
        Value::Array(values) => values.iter().map(count).sum(),
        Value::Object(fields) => fields.values().map(count).sum(),
        _ => 0,
    }
}

/// The `n`-th node of a pre-order walk, with its parent's handle for removal.
fn nth<'a>(value: &'a mut Value, n: &mut usize) -> Option<&'a mut Value> {
    if *n == 0 {
        return Some(value);
    }
    *n -= 1;
    match value {
        Value::Array(values) => values.iter_mut().find_map(|v| nth(v, n)),
        Value::Object(fields) => fields.values_mut().find_map(|v| nth(v, n)),
        _ => None,
    }
}

fn node(body: &mut Value, index: usize) -> &mut Value {
    let mut n = index % count(body);
    // The walk covers exactly `count` nodes, so the index is always found.
    nth(body, &mut n).expect("index below the node count")
}

impl JsonEdit {
    fn apply(
        self,
        body: &mut Value,
        u: &mut Unstructured,
        corpus: &Corpus,
    ) -> arbitrary::Result<()> {
        match self {
            JsonEdit::Replace { node: i, value } => *node(body, i) = value.into(),
            JsonEdit::Remove { node: i } => match node(body, i) {
                Value::Array(values) if !values.is_empty() => {
                    let at = u.choose_index(values.len())?;
                    values.remove(at);
                }
                Value::Object(fields) if !fields.is_empty() => {
                    let key = fields.keys().nth(u.choose_index(fields.len())?).cloned();
                    key.map(|k| fields.remove(&k));
                }
                other => *other = Value::Null,
            },
            JsonEdit::Duplicate { node: i, times } => {
                if let Value::Array(values) = node(body, i) {
                    if let Some(first) = values.first().cloned() {
                        // Up to 2,000 copies: past max_items (1,024) and towards the body limit.
                        let copies = times as usize * 8;
                        values.extend(std::iter::repeat_n(first, copies));
                    }
                }
            }
            JsonEdit::HexBytes { node: i, edits } => {
                if let Value::String(text) = node(body, i) {
                    if let Some(mut bytes) =
                        text.strip_prefix("0x").and_then(|h| hex::decode(h).ok())
                    {
                        for edit in edits.into_iter().take(4) {
                            edit.apply(&mut bytes, corpus);
                        }
                        *text = crate::api::wire::to_hex(&bytes);
                    }
                }
            }
            JsonEdit::HexText { node: i, edit } => {
                if let Value::String(text) = node(body, i) {
                    let mut bytes = std::mem::take(text).into_bytes();
                    edit.apply(&mut bytes);
                    *text = String::from_utf8_lossy(&bytes).into_owned();
                }
            }
            JsonEdit::AddField { key, value } => {
                if let Value::Object(fields) = body {
                    fields.insert(key, value.into());
                }
            }
        }
        Ok(())
    }
}

/// A request body derived from `seed`: one to three JSON edits, then sometimes a text edit
/// that breaks the JSON itself.
pub fn mutate_body(
    u: &mut Unstructured,
    seed: &Value,
    corpus: &Corpus,
) -> arbitrary::Result<Vec<u8>> {
    let mut body = seed.clone();
    for _ in 0..u.int_in_range(1..=3)? {
        JsonEdit::arbitrary(u)?.apply(&mut body, u, corpus)?;
    }
    let mut text = serde_json::to_vec(&body).expect("a Value always serializes");
    if u.ratio(1, 4)? {
        TextEdit::arbitrary(u)?.apply(&mut text);
    }
    Ok(text)
}
