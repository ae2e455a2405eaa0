//! A small CBOR reader (RFC 8949) for what WebAuthn sends: attestation objects and COSE keys.
//!
//! Only definite lengths, no tags (WebAuthn uses neither), at most [`MAX_DEPTH`] levels, no
//! duplicate map keys. Every length is checked against the bytes that are left before anything is
//! allocated, so a hostile length costs nothing.

/// Nesting deeper than this is refused (a COSE key is two levels deep, an attestation object three).
pub(crate) const MAX_DEPTH: usize = 16;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// Major types 0 and 1: every CBOR integer fits an i128.
    Int(i128),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Bool(bool),
    Null,
    Undefined,
    Float(f64),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CborError {
    #[error("CBOR ends in the middle of an item")]
    Truncated,
    #[error("CBOR with indefinite lengths is not accepted")]
    Indefinite,
    #[error("CBOR nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("CBOR item 0x{0:02x} is not accepted here")]
    Unsupported(u8),
    #[error("CBOR text is not UTF-8")]
    NotUtf8,
    #[error("CBOR map repeats a key")]
    DuplicateKey,
    #[error("{0} bytes follow the CBOR item")]
    Trailing(usize),
}

impl Value {
    /// The value under `key` in a map (keys compared as CBOR values).
    pub(crate) fn get(&self, key: &Value) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn get_int(&self, key: i128) -> Option<&Value> {
        self.get(&Value::Int(key))
    }

    pub(crate) fn get_text(&self, key: &str) -> Option<&Value> {
        self.get(&Value::Text(key.to_owned()))
    }

    pub(crate) fn as_int(&self) -> Option<i128> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub(crate) fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub(crate) fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// Decodes exactly one item that fills `input`.
pub(crate) fn decode(input: &[u8]) -> Result<Value, CborError> {
    let (value, used) = decode_prefix(input)?;
    match input.len() - used {
        0 => Ok(value),
        n => Err(CborError::Trailing(n)),
    }
}

/// Decodes one item at the start of `input`; returns it and how many bytes it took.
pub(crate) fn decode_prefix(input: &[u8]) -> Result<(Value, usize), CborError> {
    let mut r = Reader { input, pos: 0 };
    let value = r.item(0)?;
    Ok((value, r.pos))
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], CborError> {
        let end = self.pos.checked_add(n).ok_or(CborError::Truncated)?;
        let bytes = self.input.get(self.pos..end).ok_or(CborError::Truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    fn uint(&mut self, n: usize) -> Result<u64, CborError> {
        Ok(self.take(n)?.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// The argument of an initial byte: a value, or a length.
    fn argument(&mut self, initial: u8) -> Result<u64, CborError> {
        match initial & 0x1f {
            n @ 0..=23 => Ok(u64::from(n)),
            24 => self.uint(1),
            25 => self.uint(2),
            26 => self.uint(4),
            27 => self.uint(8),
            31 => Err(CborError::Indefinite),
            _ => Err(CborError::Unsupported(initial)),
        }
    }

    /// A length that the remaining input can hold, `unit` bytes at least per element.
    fn length(&mut self, initial: u8, unit: usize) -> Result<usize, CborError> {
        let n = self.argument(initial)?;
        let left = (self.input.len() - self.pos) / unit;
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= left)
            .ok_or(CborError::Truncated)
    }

    fn item(&mut self, depth: usize) -> Result<Value, CborError> {
        if depth > MAX_DEPTH {
            return Err(CborError::TooDeep);
        }
        let initial = self.take(1)?[0];
        Ok(match initial >> 5 {
            0 => Value::Int(i128::from(self.argument(initial)?)),
            1 => Value::Int(-1 - i128::from(self.argument(initial)?)),
            2 => {
                let n = self.length(initial, 1)?;
                Value::Bytes(self.take(n)?.to_vec())
            }
            3 => {
                let n = self.length(initial, 1)?;
                let bytes = self.take(n)?.to_vec();
                Value::Text(String::from_utf8(bytes).map_err(|_| CborError::NotUtf8)?)
            }
            4 => {
                let n = self.length(initial, 1)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.item(depth + 1)?);
                }
                Value::Array(items)
            }
            5 => {
                let n = self.length(initial, 2)?;
                let mut entries: Vec<(Value, Value)> = Vec::with_capacity(n);
                for _ in 0..n {
                    let key = self.item(depth + 1)?;
                    if entries.iter().any(|(k, _)| *k == key) {
                        return Err(CborError::DuplicateKey);
                    }
                    let value = self.item(depth + 1)?;
                    entries.push((key, value));
                }
                Value::Map(entries)
            }
            6 => return Err(CborError::Unsupported(initial)),
            _ => self.simple(initial)?,
        })
    }

    fn simple(&mut self, initial: u8) -> Result<Value, CborError> {
        Ok(match initial & 0x1f {
            20 => Value::Bool(false),
            21 => Value::Bool(true),
            22 => Value::Null,
            23 => Value::Undefined,
            25 => Value::Float(half(self.uint(2)? as u16)),
            26 => Value::Float(f64::from(f32::from_bits(self.uint(4)? as u32))),
            27 => Value::Float(f64::from_bits(self.uint(8)?)),
            31 => return Err(CborError::Indefinite),
            _ => return Err(CborError::Unsupported(initial)),
        })
    }
}

/// IEEE 754 half precision, as RFC 8949 appendix D decodes it.
fn half(bits: u16) -> f64 {
    let exp = (bits >> 10) & 0x1f;
    let mant = f64::from(bits & 0x3ff);
    let magnitude = match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (mant + 1024.0) * 2f64.powi(i32::from(e) - 25),
    };
    if bits & 0x8000 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// The encoder the tests use to build authenticators' answers (and to round-trip the reader).
#[cfg(test)]
pub(crate) fn encode(v: &Value) -> Vec<u8> {
    fn head(out: &mut Vec<u8>, major: u8, n: u64) {
        let m = major << 5;
        match n {
            0..=23 => out.push(m | n as u8),
            24..=0xff => out.extend([m | 24, n as u8]),
            0x100..=0xffff => {
                out.push(m | 25);
                out.extend((n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(m | 26);
                out.extend((n as u32).to_be_bytes());
            }
            _ => {
                out.push(m | 27);
                out.extend(n.to_be_bytes());
            }
        }
    }
    let mut out = Vec::new();
    match v {
        Value::Int(i) if *i >= 0 => head(&mut out, 0, *i as u64),
        Value::Int(i) => head(&mut out, 1, (-1 - *i) as u64),
        Value::Bytes(b) => {
            head(&mut out, 2, b.len() as u64);
            out.extend(b);
        }
        Value::Text(t) => {
            head(&mut out, 3, t.len() as u64);
            out.extend(t.as_bytes());
        }
        Value::Array(items) => {
            head(&mut out, 4, items.len() as u64);
            items.iter().for_each(|i| out.extend(encode(i)));
        }
        Value::Map(entries) => {
            head(&mut out, 5, entries.len() as u64);
            for (k, v) in entries {
                out.extend(encode(k));
                out.extend(encode(v));
            }
        }
        Value::Bool(b) => out.push(0xf4 | u8::from(*b)),
        Value::Null => out.push(0xf6),
        Value::Undefined => out.push(0xf7),
        Value::Float(f) => {
            out.push(0xfb);
            out.extend(f.to_bits().to_be_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc_8949_examples_decode() {
        let cases: &[(&[u8], Value)] = &[
            (&[0x00], Value::Int(0)),
            (&[0x17], Value::Int(23)),
            (&[0x18, 0x18], Value::Int(24)),
            (&[0x19, 0x03, 0xe8], Value::Int(1000)),
            (
                &[0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                Value::Int(u64::MAX.into()),
            ),
            (
                &[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                Value::Int(-1 - i128::from(u64::MAX)),
            ),
            (&[0x20], Value::Int(-1)),
            (&[0x38, 0x63], Value::Int(-100)),
            (&[0x44, 1, 2, 3, 4], Value::Bytes(vec![1, 2, 3, 4])),
            (&[0x62, 0x22, 0x5c], Value::Text("\"\\".into())),
            (&[0xf9, 0x3c, 0x00], Value::Float(1.0)),
            (&[0xf9, 0xc4, 0x00], Value::Float(-4.0)),
            (&[0xfa, 0x47, 0xc3, 0x50, 0x00], Value::Float(100000.0)),
            (&[0xf5], Value::Bool(true)),
            (&[0xf6], Value::Null),
            (
                &[0xa2, 0x01, 0x02, 0x03, 0x04],
                Value::Map(vec![(Value::Int(1), Value::Int(2)), (Value::Int(3), Value::Int(4))]),
            ),
            (
                &[0x82, 0x01, 0x82, 0x02, 0x03],
                Value::Array(vec![Value::Int(1), Value::Array(vec![Value::Int(2), Value::Int(3)])]),
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(&decode(bytes).unwrap(), want, "{bytes:02x?}");
        }
    }

    #[test]
    fn hostile_shapes_are_refused_without_allocating() {
        assert_eq!(
            decode(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(CborError::Truncated)
        );
        assert_eq!(
            decode(&[0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(CborError::Truncated)
        );
        assert_eq!(
            decode(&[0xbb, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0]),
            Err(CborError::Truncated)
        );
        assert_eq!(decode(&[0x5f, 0x41, 0x00, 0xff]), Err(CborError::Indefinite));
        assert_eq!(decode(&[0xc2, 0x41, 0x00]), Err(CborError::Unsupported(0xc2)));
        assert_eq!(decode(&[0x62, 0xff, 0xfe]), Err(CborError::NotUtf8));
        assert_eq!(decode(&[0xa2, 0x01, 0x02, 0x01, 0x03]), Err(CborError::DuplicateKey));
        assert_eq!(decode(&[0x01, 0x02]), Err(CborError::Trailing(1)));
        assert_eq!(decode(&[]), Err(CborError::Truncated));
        assert_eq!(decode(&[0x1c]), Err(CborError::Unsupported(0x1c)));
        let deep = [vec![0x81u8; MAX_DEPTH + 1], vec![0x00]].concat();
        assert_eq!(decode(&deep), Err(CborError::TooDeep));
        let ok = [vec![0x81u8; MAX_DEPTH], vec![0x00]].concat();
        assert!(decode(&ok).is_ok());
        assert_eq!(decode_prefix(&[0x01, 0xff]).unwrap(), (Value::Int(1), 1));
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i64>().prop_map(|i| Value::Int(i.into())),
            any::<u64>().prop_map(|i| Value::Int(i.into())),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
            ".{0,20}".prop_map(Value::Text),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(any::<i32>(), inner, 0..6)
                    .prop_map(|m| Value::Map(m.into_iter().map(|(k, v)| (Value::Int(k.into()), v)).collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes);
            let _ = decode_prefix(&bytes);
        }

        #[test]
        fn what_is_encoded_decodes_the_same(v in value()) {
            let bytes = encode(&v);
            prop_assert_eq!(decode(&bytes).unwrap(), v.clone());
            // Any cut of a valid item is refused, never misread.
            for cut in 0..bytes.len() {
                prop_assert!(decode(&bytes[..cut]).is_err());
            }
        }
    }
}
