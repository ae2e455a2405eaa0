//! Passkeys: the two WebAuthn ceremonies, checked by hand (Level 2, §7.1 and §7.2).
//!
//! Registration ("create") and sign-in ("get") both start with a challenge the server made
//! (random, single-use, expiring: see `crate::state`), and end here. What is checked, in the
//! spec's order: the client data's type, challenge and origin (and that it was not made in a
//! cross-origin frame); the authenticator data's relying-party hash, user-present and
//! user-verified flags; at registration the credential and its public key; at sign-in the
//! signature over the authenticator data and the client data's hash, and the signature counter.
//!
//! Attestation statements are not verified: no authenticator's maker is trusted or distrusted
//! here. What ties a passkey to an operator is the one-time enrollment code an administrator
//! issued, and the page asks for attestation "none".

mod authdata;
mod cbor;
mod cose;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::digest::{digest, SHA256};
use serde::Deserialize;

pub(crate) use cose::ALGORITHMS;

use authdata::{AuthData, USER_PRESENT, USER_VERIFIED};

/// Who the passkeys are for: the page's host name and its origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RelyingParty {
    pub(crate) id: String,
    pub(crate) origin: String,
}

/// Why a passkey ceremony failed. Shown to the operator, recorded in the audit chain.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WebAuthnError {
    #[error("the browser's client data is not valid JSON")]
    ClientData,
    #[error("the client data is for {0:?}, not this ceremony")]
    WrongType(String),
    #[error("the challenge is not the one this page issued (or it was used or expired)")]
    WrongChallenge,
    #[error("the passkey was used for {0:?}, not this page's origin")]
    WrongOrigin(String),
    #[error("the passkey was used inside a frame of another site")]
    CrossOrigin,
    #[error("the passkey is for another site")]
    WrongRelyingParty,
    #[error("the authenticator saw no user present")]
    UserNotPresent,
    #[error("the authenticator did not verify the user (PIN or biometrics)")]
    UserNotVerified,
    #[error("the authenticator data: {0}")]
    AuthData(#[from] authdata::AuthDataError),
    #[error("the attestation object: {0}")]
    Attestation(String),
    #[error("the public key: {0}")]
    Key(#[from] cose::CoseError),
    #[error("the signature does not verify with the enrolled passkey")]
    BadSignature,
    #[error("the authenticator's counter went from {stored} to {got}: it may have been cloned")]
    CounterWentBackwards { stored: u32, got: u32 },
}

#[derive(Deserialize)]
struct ClientData {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
    #[serde(rename = "topOrigin", default)]
    top_origin: Option<String>,
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks the client data of a ceremony; returns its SHA-256 (what the authenticator signed).
fn check_client_data(
    rp: &RelyingParty,
    json: &[u8],
    ceremony: &str,
    challenge: &[u8],
) -> Result<[u8; 32], WebAuthnError> {
    let cd: ClientData = serde_json::from_slice(json).map_err(|_| WebAuthnError::ClientData)?;
    if cd.kind != ceremony {
        return Err(WebAuthnError::WrongType(cd.kind));
    }
    let sent = URL_SAFE_NO_PAD
        .decode(cd.challenge.trim_end_matches('='))
        .map_err(|_| WebAuthnError::WrongChallenge)?;
    if !constant_time_eq(&sent, challenge) {
        return Err(WebAuthnError::WrongChallenge);
    }
    if cd.origin != rp.origin {
        return Err(WebAuthnError::WrongOrigin(cd.origin));
    }
    if cd.cross_origin == Some(true) || cd.top_origin.is_some() {
        return Err(WebAuthnError::CrossOrigin);
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(digest(&SHA256, json).as_ref());
    Ok(hash)
}

/// Checks the authenticator data's relying party and flags.
fn check_auth_data(rp: &RelyingParty, data: &AuthData) -> Result<(), WebAuthnError> {
    if !constant_time_eq(&data.rp_id_hash, digest(&SHA256, rp.id.as_bytes()).as_ref()) {
        return Err(WebAuthnError::WrongRelyingParty);
    }
    if data.flags & USER_PRESENT == 0 {
        return Err(WebAuthnError::UserNotPresent);
    }
    if data.flags & USER_VERIFIED == 0 {
        return Err(WebAuthnError::UserNotVerified);
    }
    Ok(())
}

/// A passkey just created, ready to be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Registration {
    pub(crate) credential_id: Vec<u8>,
    /// The COSE key as the authenticator encoded it.
    pub(crate) public_key: Vec<u8>,
    pub(crate) alg: i64,
    pub(crate) sign_count: u32,
}

/// Verifies `navigator.credentials.create()`'s answer to `challenge`.
pub(crate) fn verify_registration(
    rp: &RelyingParty,
    challenge: &[u8],
    client_data_json: &[u8],
    attestation_object: &[u8],
) -> Result<Registration, WebAuthnError> {
    check_client_data(rp, client_data_json, "webauthn.create", challenge)?;
    let object = cbor::decode(attestation_object).map_err(|e| WebAuthnError::Attestation(e.to_string()))?;
    object
        .get_text("fmt")
        .and_then(cbor::Value::as_text)
        .ok_or_else(|| WebAuthnError::Attestation("no fmt".into()))?;
    let raw = object
        .get_text("authData")
        .and_then(cbor::Value::as_bytes)
        .ok_or_else(|| WebAuthnError::Attestation("no authData".into()))?;
    let data = AuthData::parse(raw)?;
    check_auth_data(rp, &data)?;
    let attested = data
        .attested
        .ok_or_else(|| WebAuthnError::Attestation("no credential in authData".into()))?;
    let (_, alg) = cose::PublicKey::from_cose(&attested.public_key)?;
    Ok(Registration {
        credential_id: attested.credential_id,
        public_key: attested.public_key,
        alg,
        sign_count: data.sign_count,
    })
}

/// `navigator.credentials.get()`'s answer, decoded from base64url.
#[derive(Clone, Debug, Default)]
pub(crate) struct Assertion {
    pub(crate) client_data_json: Vec<u8>,
    pub(crate) authenticator_data: Vec<u8>,
    pub(crate) signature: Vec<u8>,
}

/// Verifies a sign-in against the stored passkey; returns the authenticator's new counter (the
/// caller stores it with a compare-and-set, so two racing sign-ins cannot both pass).
pub(crate) fn verify_assertion(
    rp: &RelyingParty,
    challenge: &[u8],
    assertion: &Assertion,
    public_key: &[u8],
    stored_count: u32,
) -> Result<u32, WebAuthnError> {
    let client_hash = check_client_data(rp, &assertion.client_data_json, "webauthn.get", challenge)?;
    let data = AuthData::parse(&assertion.authenticator_data)?;
    check_auth_data(rp, &data)?;
    let (key, _) = cose::PublicKey::from_cose(public_key)?;
    let signed = [assertion.authenticator_data.as_slice(), &client_hash].concat();
    if !key.verify(&signed, &assertion.signature) {
        return Err(WebAuthnError::BadSignature);
    }
    if (data.sign_count != 0 || stored_count != 0) && data.sign_count <= stored_count {
        return Err(WebAuthnError::CounterWentBackwards {
            stored: stored_count,
            got: data.sign_count,
        });
    }
    Ok(data.sign_count)
}

#[cfg(test)]
mod tests {
    use super::authdata::{build, Attested};
    use super::cbor::{encode, Value};
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

    /// A software authenticator: what Chromium's virtual authenticator does, in a few lines.
    struct Authenticator {
        key: EcdsaKeyPair,
        id: Vec<u8>,
        count: u32,
        rng: SystemRandom,
    }

    fn rp() -> RelyingParty {
        RelyingParty {
            id: "localhost".into(),
            origin: "http://localhost:7458".into(),
        }
    }

    fn client_data(kind: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
        serde_json::json!({ "type": kind, "challenge": URL_SAFE_NO_PAD.encode(challenge), "origin": origin, "crossOrigin": false })
            .to_string()
            .into_bytes()
    }

    impl Authenticator {
        fn new() -> Authenticator {
            let rng = SystemRandom::new();
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
            let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
            Authenticator {
                key,
                id: vec![0xc7; 32],
                count: 0,
                rng,
            }
        }

        fn cose(&self) -> Vec<u8> {
            cose::es256_cose(self.key.public_key().as_ref())
        }

        fn create(&self, rp_id: &str, flags: u8) -> Vec<u8> {
            let attested = Attested {
                credential_id: self.id.clone(),
                public_key: self.cose(),
            };
            let data = build(digest(&SHA256, rp_id.as_bytes()).as_ref(), flags, 0, Some(&attested));
            encode(&Value::Map(vec![
                (Value::Text("fmt".into()), Value::Text("none".into())),
                (Value::Text("attStmt".into()), Value::Map(vec![])),
                (Value::Text("authData".into()), Value::Bytes(data)),
            ]))
        }

        fn get(&mut self, rp_id: &str, flags: u8, client_data_json: Vec<u8>) -> Assertion {
            self.count += 1;
            let data = build(digest(&SHA256, rp_id.as_bytes()).as_ref(), flags, self.count, None);
            let hash = digest(&SHA256, &client_data_json);
            let signature = self
                .key
                .sign(&self.rng, &[data.as_slice(), hash.as_ref()].concat())
                .unwrap()
                .as_ref()
                .to_vec();
            Assertion {
                client_data_json,
                authenticator_data: data,
                signature,
            }
        }
    }

    const UP_UV: u8 = USER_PRESENT | USER_VERIFIED;

    #[test]
    fn a_passkey_registers_and_signs_in() {
        let mut a = Authenticator::new();
        let challenge = [1u8; 32];
        let reg = verify_registration(
            &rp(),
            &challenge,
            &client_data("webauthn.create", &challenge, &rp().origin),
            &a.create("localhost", UP_UV),
        )
        .unwrap();
        assert_eq!(reg.credential_id, a.id);
        assert_eq!(reg.alg, cose::ES256);
        let challenge2 = [2u8; 32];
        let assertion = a.get(
            "localhost",
            UP_UV,
            client_data("webauthn.get", &challenge2, &rp().origin),
        );
        assert_eq!(
            verify_assertion(&rp(), &challenge2, &assertion, &reg.public_key, 0),
            Ok(1)
        );
    }

    #[test]
    fn registrations_for_the_wrong_page_or_without_verification_are_refused() {
        let a = Authenticator::new();
        let c = [3u8; 32];
        let origin = rp().origin;
        let cases: Vec<(Vec<u8>, Vec<u8>, WebAuthnError)> = vec![
            (
                client_data("webauthn.create", &c, "http://evil.localhost:7458"),
                a.create("localhost", UP_UV),
                WebAuthnError::WrongOrigin("http://evil.localhost:7458".into()),
            ),
            (
                client_data("webauthn.get", &c, &origin),
                a.create("localhost", UP_UV),
                WebAuthnError::WrongType("webauthn.get".into()),
            ),
            (
                client_data("webauthn.create", &[4u8; 32], &origin),
                a.create("localhost", UP_UV),
                WebAuthnError::WrongChallenge,
            ),
            (
                client_data("webauthn.create", &c, &origin),
                a.create("evil.example", UP_UV),
                WebAuthnError::WrongRelyingParty,
            ),
            (
                client_data("webauthn.create", &c, &origin),
                a.create("localhost", USER_PRESENT),
                WebAuthnError::UserNotVerified,
            ),
            (
                client_data("webauthn.create", &c, &origin),
                a.create("localhost", USER_VERIFIED),
                WebAuthnError::UserNotPresent,
            ),
            (b"{".to_vec(), a.create("localhost", UP_UV), WebAuthnError::ClientData),
        ];
        for (cd, obj, want) in cases {
            assert_eq!(verify_registration(&rp(), &c, &cd, &obj), Err(want));
        }
        let framed = serde_json::json!({ "type": "webauthn.create", "challenge": URL_SAFE_NO_PAD.encode(c), "origin": origin, "crossOrigin": true }).to_string();
        assert_eq!(
            verify_registration(&rp(), &c, framed.as_bytes(), &a.create("localhost", UP_UV)),
            Err(WebAuthnError::CrossOrigin)
        );
        assert!(matches!(
            verify_registration(&rp(), &c, &client_data("webauthn.create", &c, &origin), &[0xa0]),
            Err(WebAuthnError::Attestation(_))
        ));
    }

    #[test]
    fn sign_ins_with_a_wrong_key_signature_origin_challenge_or_counter_are_refused() {
        let mut a = Authenticator::new();
        let other = Authenticator::new();
        let c = [5u8; 32];
        let origin = rp().origin;
        let good = a.get("localhost", UP_UV, client_data("webauthn.get", &c, &origin));
        assert_eq!(
            verify_assertion(&rp(), &c, &good, &other.cose(), 0),
            Err(WebAuthnError::BadSignature),
            "another passkey's key"
        );
        let mut forged = good.clone();
        let last = forged.signature.len() - 1;
        forged.signature[last] ^= 0x55;
        assert_eq!(
            verify_assertion(&rp(), &c, &forged, &a.cose(), 0),
            Err(WebAuthnError::BadSignature)
        );
        let mut tampered = good.clone();
        tampered.authenticator_data[36] ^= 0x10; // the counter, after signing
        assert_eq!(
            verify_assertion(&rp(), &c, &tampered, &a.cose(), 0),
            Err(WebAuthnError::BadSignature)
        );
        // A replayed assertion is answered to a new challenge: the old one is gone.
        assert_eq!(
            verify_assertion(&rp(), &[6u8; 32], &good, &a.cose(), 0),
            Err(WebAuthnError::WrongChallenge)
        );
        let elsewhere = a.get(
            "localhost",
            UP_UV,
            client_data("webauthn.get", &c, "https://phish.example"),
        );
        assert!(matches!(
            verify_assertion(&rp(), &c, &elsewhere, &a.cose(), 0),
            Err(WebAuthnError::WrongOrigin(_))
        ));
        let unverified = a.get("localhost", USER_PRESENT, client_data("webauthn.get", &c, &origin));
        assert_eq!(
            verify_assertion(&rp(), &c, &unverified, &a.cose(), 0),
            Err(WebAuthnError::UserNotVerified)
        );
        let next = a.get("localhost", UP_UV, client_data("webauthn.get", &c, &origin));
        let got = verify_assertion(&rp(), &c, &next, &a.cose(), 0).unwrap();
        assert_eq!(
            verify_assertion(&rp(), &c, &next, &a.cose(), got + 3),
            Err(WebAuthnError::CounterWentBackwards { stored: got + 3, got })
        );
        assert_eq!(
            verify_assertion(&rp(), &c, &next, &a.cose(), got),
            Err(WebAuthnError::CounterWentBackwards { stored: got, got }),
            "the same counter twice"
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_answers_never_panic(
            cd in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120),
            obj in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            sig in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
        ) {
            let _ = verify_registration(&rp(), &[0; 32], &cd, &obj);
            let assertion = Assertion { client_data_json: cd, authenticator_data: obj, signature: sig };
            let _ = verify_assertion(&rp(), &[0; 32], &assertion, &cose::es256_cose(&[4; 65]), 0);
        }

        #[test]
        fn any_flipped_bit_of_a_good_assertion_is_refused(byte in 0usize..300, bit in 0u8..8) {
            let mut a = Authenticator::new();
            let c = [8u8; 32];
            let good = a.get("localhost", UP_UV, client_data("webauthn.get", &c, &rp().origin));
            let mut bad = good.clone();
            let total = bad.authenticator_data.len() + bad.client_data_json.len() + bad.signature.len();
            let i = byte % total;
            if i < bad.authenticator_data.len() {
                bad.authenticator_data[i] ^= 1 << bit;
            } else if i < bad.authenticator_data.len() + bad.client_data_json.len() {
                bad.client_data_json[i - bad.authenticator_data.len()] ^= 1 << bit;
            } else {
                bad.signature[i - bad.authenticator_data.len() - bad.client_data_json.len()] ^= 1 << bit;
            }
            proptest::prop_assert!(verify_assertion(&rp(), &c, &bad, &a.cose(), 0).is_err());
        }
    }
}
