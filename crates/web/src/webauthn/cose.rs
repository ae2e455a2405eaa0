//! COSE public keys (RFC 9053) as authenticators give them, and signature checks with ring.

use ring::signature::{self, UnparsedPublicKey};

use super::cbor::{self, Value};

/// ES256: ECDSA on P-256 with SHA-256 (what nearly every passkey uses).
pub(crate) const ES256: i64 = -7;
/// EdDSA (Ed25519).
pub(crate) const EDDSA: i64 = -8;
/// RS256: RSASSA-PKCS1-v1_5 with SHA-256 (Windows Hello).
pub(crate) const RS256: i64 = -257;
/// What the page asks authenticators for, in order of preference.
pub(crate) const ALGORITHMS: [i64; 3] = [ES256, EDDSA, RS256];

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CoseError {
    #[error("the public key is not CBOR: {0}")]
    Cbor(#[from] cbor::CborError),
    #[error("the public key lacks {0}")]
    Missing(&'static str),
    #[error("algorithm {0} is not accepted (ES256, EdDSA and RS256 are)")]
    Algorithm(i128),
    #[error("the public key does not match its algorithm: {0}")]
    Shape(&'static str),
}

/// A public key that checks signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PublicKey {
    /// The uncompressed SEC1 point (0x04 ‖ x ‖ y).
    Es256(Vec<u8>),
    Ed25519(Vec<u8>),
    Rs256 {
        n: Vec<u8>,
        e: Vec<u8>,
    },
}

// COSE labels.
const KTY: i128 = 1;
const ALG: i128 = 3;
const CRV: i128 = -1;
const X_OR_N: i128 = -2;
const Y_OR_E: i128 = -3;
const KTY_OKP: i128 = 1;
const KTY_EC2: i128 = 2;
const KTY_RSA: i128 = 3;
const CRV_P256: i128 = 1;
const CRV_ED25519: i128 = 6;

fn bytes<'a>(key: &'a Value, label: i128, what: &'static str) -> Result<&'a [u8], CoseError> {
    key.get_int(label)
        .and_then(Value::as_bytes)
        .ok_or(CoseError::Missing(what))
}

impl PublicKey {
    /// Reads a COSE_Key; returns the key and its algorithm.
    pub(crate) fn from_cose(encoded: &[u8]) -> Result<(PublicKey, i64), CoseError> {
        let key = cbor::decode(encoded)?;
        let kty = key
            .get_int(KTY)
            .and_then(Value::as_int)
            .ok_or(CoseError::Missing("kty"))?;
        let alg = key
            .get_int(ALG)
            .and_then(Value::as_int)
            .ok_or(CoseError::Missing("alg"))?;
        let crv = key.get_int(CRV).and_then(Value::as_int);
        let public = match i64::try_from(alg) {
            Ok(ES256) => {
                if kty != KTY_EC2 || crv != Some(CRV_P256) {
                    return Err(CoseError::Shape("ES256 needs an EC2 key on P-256"));
                }
                let (x, y) = (bytes(&key, X_OR_N, "x")?, bytes(&key, Y_OR_E, "y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(CoseError::Shape("P-256 coordinates are 32 bytes"));
                }
                PublicKey::Es256([&[4u8][..], x, y].concat())
            }
            Ok(EDDSA) => {
                if kty != KTY_OKP || crv != Some(CRV_ED25519) {
                    return Err(CoseError::Shape("EdDSA needs an OKP key on Ed25519"));
                }
                let x = bytes(&key, X_OR_N, "x")?;
                if x.len() != 32 {
                    return Err(CoseError::Shape("an Ed25519 key is 32 bytes"));
                }
                PublicKey::Ed25519(x.to_vec())
            }
            Ok(RS256) => {
                if kty != KTY_RSA {
                    return Err(CoseError::Shape("RS256 needs an RSA key"));
                }
                let (n, e) = (bytes(&key, X_OR_N, "n")?, bytes(&key, Y_OR_E, "e")?);
                if !(256..=1024).contains(&n.len()) || e.is_empty() || e.len() > 4 {
                    return Err(CoseError::Shape("RSA keys are 2048 to 8192 bits"));
                }
                PublicKey::Rs256 {
                    n: n.to_vec(),
                    e: e.to_vec(),
                }
            }
            _ => return Err(CoseError::Algorithm(alg)),
        };
        Ok((public, alg as i64))
    }

    /// Whether `sig` is this key's signature of `message`.
    pub(crate) fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match self {
            // WebAuthn's ES256 signatures are ASN.1 DER, as ring's *_ASN1 verifier expects.
            PublicKey::Es256(point) => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point)
                .verify(message, sig)
                .is_ok(),
            PublicKey::Ed25519(x) => UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(message, sig)
                .is_ok(),
            PublicKey::Rs256 { n, e } => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok(),
        }
    }
}

/// The COSE encoding of an ES256 key from its uncompressed point (the tests' authenticator).
#[cfg(test)]
pub(crate) fn es256_cose(point: &[u8]) -> Vec<u8> {
    cbor::encode(&Value::Map(vec![
        (Value::Int(KTY), Value::Int(KTY_EC2)),
        (Value::Int(ALG), Value::Int(ES256.into())),
        (Value::Int(CRV), Value::Int(CRV_P256)),
        (Value::Int(X_OR_N), Value::Bytes(point[1..33].to_vec())),
        (Value::Int(Y_OR_E), Value::Bytes(point[33..65].to_vec())),
    ]))
}

#[cfg(test)]
pub(crate) fn ed25519_cose(x: &[u8]) -> Vec<u8> {
    cbor::encode(&Value::Map(vec![
        (Value::Int(KTY), Value::Int(KTY_OKP)),
        (Value::Int(ALG), Value::Int(EDDSA.into())),
        (Value::Int(CRV), Value::Int(CRV_ED25519)),
        (Value::Int(X_OR_N), Value::Bytes(x.to_vec())),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

    #[test]
    fn es256_and_ed25519_signatures_verify_and_others_do_not() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let (key, alg) = PublicKey::from_cose(&es256_cose(kp.public_key().as_ref())).unwrap();
        assert_eq!(alg, ES256);
        let sig = kp.sign(&rng, b"hello").unwrap();
        assert!(key.verify(b"hello", sig.as_ref()));
        assert!(!key.verify(b"hellO", sig.as_ref()));
        let mut bad = sig.as_ref().to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(!key.verify(b"hello", &bad));

        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let ed = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let (key2, alg) = PublicKey::from_cose(&ed25519_cose(ed.public_key().as_ref())).unwrap();
        assert_eq!(alg, EDDSA);
        assert!(key2.verify(b"m", ed.sign(b"m").as_ref()));
        assert!(!key.verify(b"m", ed.sign(b"m").as_ref()), "another key's signature");
    }

    #[test]
    fn malformed_keys_are_refused() {
        let map = |entries: Vec<(i128, Value)>| {
            cbor::encode(&Value::Map(
                entries.into_iter().map(|(k, v)| (Value::Int(k), v)).collect(),
            ))
        };
        let p = Value::Bytes(vec![1; 32]);
        assert_eq!(
            PublicKey::from_cose(&map(vec![(KTY, Value::Int(2)), (ALG, Value::Int(-35))])),
            Err(CoseError::Algorithm(-35))
        );
        assert!(matches!(
            PublicKey::from_cose(&map(vec![
                (KTY, Value::Int(1)),
                (ALG, Value::Int(-7)),
                (CRV, Value::Int(1))
            ])),
            Err(CoseError::Shape(_))
        ));
        assert_eq!(
            PublicKey::from_cose(&map(vec![
                (KTY, Value::Int(2)),
                (ALG, Value::Int(-7)),
                (CRV, Value::Int(1)),
                (X_OR_N, p.clone())
            ])),
            Err(CoseError::Missing("y"))
        );
        assert!(matches!(
            PublicKey::from_cose(&map(vec![
                (KTY, Value::Int(2)),
                (ALG, Value::Int(-7)),
                (CRV, Value::Int(1)),
                (X_OR_N, p),
                (Y_OR_E, Value::Bytes(vec![1; 31]))
            ])),
            Err(CoseError::Shape(_))
        ));
        assert!(PublicKey::from_cose(&[0xa0]).is_err());
        // A point that is not on the curve parses but never verifies anything.
        let (key, _) = PublicKey::from_cose(&es256_cose(&[4; 65])).unwrap();
        assert!(!key.verify(b"x", &[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_keys_and_signatures_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200), sig in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)) {
            if let Ok((key, _)) = PublicKey::from_cose(&bytes) {
                let _ = key.verify(b"m", &sig);
            }
        }
    }
}
