//! Authenticator data (WebAuthn §6.1): what the authenticator signs about itself.

use super::cbor;

pub(crate) const USER_PRESENT: u8 = 0x01;
pub(crate) const USER_VERIFIED: u8 = 0x04;
const ATTESTED: u8 = 0x40;
const EXTENSIONS: u8 = 0x80;
/// The longest credential id the spec allows.
const MAX_CREDENTIAL_ID: usize = 1023;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AuthDataError {
    #[error("authenticator data is shorter than 37 bytes")]
    Short,
    #[error("the attested credential is cut off")]
    Truncated,
    #[error("credential id of {0} bytes (1 to 1023 allowed)")]
    CredentialIdLength(usize),
    #[error("the credential's public key: {0}")]
    Key(cbor::CborError),
    #[error("the extensions: {0}")]
    Extensions(cbor::CborError),
    #[error("{0} unexplained bytes at the end")]
    Trailing(usize),
}

/// A credential created at registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Attested {
    pub(crate) credential_id: Vec<u8>,
    /// The COSE key, exactly as encoded.
    pub(crate) public_key: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AuthData {
    pub(crate) rp_id_hash: [u8; 32],
    pub(crate) flags: u8,
    pub(crate) sign_count: u32,
    pub(crate) attested: Option<Attested>,
}

impl AuthData {
    pub(crate) fn parse(data: &[u8]) -> Result<AuthData, AuthDataError> {
        if data.len() < 37 {
            return Err(AuthDataError::Short);
        }
        let mut rp_id_hash = [0u8; 32];
        rp_id_hash.copy_from_slice(&data[..32]);
        let flags = data[32];
        let sign_count = u32::from_be_bytes([data[33], data[34], data[35], data[36]]);
        let mut rest = &data[37..];
        let attested = if flags & ATTESTED != 0 {
            // aaguid (16 bytes), then the credential id's length and the id.
            let len_at = rest.get(16..18).ok_or(AuthDataError::Truncated)?;
            let len = usize::from(u16::from_be_bytes([len_at[0], len_at[1]]));
            if len == 0 || len > MAX_CREDENTIAL_ID {
                return Err(AuthDataError::CredentialIdLength(len));
            }
            let credential_id = rest.get(18..18 + len).ok_or(AuthDataError::Truncated)?.to_vec();
            rest = &rest[18 + len..];
            let (_, used) = cbor::decode_prefix(rest).map_err(AuthDataError::Key)?;
            let public_key = rest[..used].to_vec();
            rest = &rest[used..];
            Some(Attested {
                credential_id,
                public_key,
            })
        } else {
            None
        };
        if flags & EXTENSIONS != 0 {
            let (_, used) = cbor::decode_prefix(rest).map_err(AuthDataError::Extensions)?;
            rest = &rest[used..];
        }
        if !rest.is_empty() {
            return Err(AuthDataError::Trailing(rest.len()));
        }
        Ok(AuthData {
            rp_id_hash,
            flags,
            sign_count,
            attested,
        })
    }
}

/// Authenticator data as an authenticator writes it (the tests' authenticator).
#[cfg(test)]
pub(crate) fn build(rp_id_hash: &[u8], flags: u8, count: u32, attested: Option<&Attested>) -> Vec<u8> {
    let mut out = rp_id_hash.to_vec();
    out.push(flags | if attested.is_some() { ATTESTED } else { 0 });
    out.extend(count.to_be_bytes());
    if let Some(a) = attested {
        out.extend([0u8; 16]);
        out.extend((a.credential_id.len() as u16).to_be_bytes());
        out.extend(&a.credential_id);
        out.extend(&a.public_key);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attested() -> Attested {
        Attested {
            credential_id: vec![9; 16],
            public_key: vec![0xa1, 0x01, 0x02],
        }
    }

    #[test]
    fn parses_what_an_authenticator_writes() {
        let data = build(&[7; 32], USER_PRESENT | USER_VERIFIED, 42, Some(&attested()));
        let a = AuthData::parse(&data).unwrap();
        assert_eq!(a.rp_id_hash, [7; 32]);
        assert_eq!(a.sign_count, 42);
        assert_eq!(a.flags & (USER_PRESENT | USER_VERIFIED), USER_PRESENT | USER_VERIFIED);
        assert_eq!(a.attested, Some(attested()));
        let plain = build(&[7; 32], USER_PRESENT, 1, None);
        assert_eq!(AuthData::parse(&plain).unwrap().attested, None);
        let mut with_ext = plain.clone();
        with_ext[32] |= EXTENSIONS;
        with_ext.extend([0xa0]);
        assert!(AuthData::parse(&with_ext).is_ok());
    }

    #[test]
    fn malformed_data_is_refused() {
        assert_eq!(AuthData::parse(&[0; 36]), Err(AuthDataError::Short));
        let mut trailing = build(&[7; 32], USER_PRESENT, 1, None);
        trailing.push(0);
        assert_eq!(AuthData::parse(&trailing), Err(AuthDataError::Trailing(1)));
        let full = build(&[7; 32], USER_PRESENT, 1, Some(&attested()));
        for cut in 37..full.len() {
            assert!(AuthData::parse(&full[..cut]).is_err(), "cut at {cut}");
        }
        let mut zero_id = full.clone();
        zero_id[37 + 16] = 0;
        zero_id[37 + 17] = 0;
        assert_eq!(AuthData::parse(&zero_id), Err(AuthDataError::CredentialIdLength(0)));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = AuthData::parse(&bytes);
        }
    }
}
