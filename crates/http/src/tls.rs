//! TLS to providers: certificates are always verified — against the public web roots (the
//! Mozilla set that webpki-roots ships), or the resource's own `tls_ca` file (a private CA). There
//! is no way to switch verification off: a gateway that sends real credentials to whoever answers
//! would be the leak it exists to stop.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::ring;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::HttpError;

/// A connector that verifies the upstream's certificate and host name.
pub fn connector(ca_file: Option<&Path>) -> Result<tokio_rustls::TlsConnector, HttpError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| HttpError::Setup(format!("tls_ca {}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(HttpError::Setup(format!(
                    "tls_ca {}: no certificate in it",
                    path.display()
                )));
            }
            for c in certs {
                roots
                    .add(c)
                    .map_err(|e| HttpError::Setup(format!("tls_ca {}: {e}", path.display())))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Setup(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}
