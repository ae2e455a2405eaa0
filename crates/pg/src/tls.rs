//! TLS for clients, when `[postgres] tls_cert` and `tls_key` are set (rustls, TLS 1.2 and 1.3).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::PgError;

/// Loads the certificate chain and key; errors name the file and what is wrong with it.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, PgError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| PgError::Setup(format!("postgres.tls_cert {}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(PgError::Setup(format!(
            "postgres.tls_cert {}: no PEM certificate in it",
            cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| PgError::Setup(format!("postgres.tls_key {}: {e}", key.display())))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| PgError::Setup(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| PgError::Setup(format!("postgres.tls_cert and tls_key do not make a usable pair: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
