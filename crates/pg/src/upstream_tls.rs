//! TLS to the database, as the resource's URL asks: `sslmode=require` encrypts without checking the
//! server's certificate (as libpq does), `verify-full` checks it against `sslrootcert` and the host
//! name, `prefer` (the default) uses TLS when the server offers it, `disable` never does.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::PgError;

/// What the URL asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpstreamTls {
    Disable,
    Prefer,
    Require,
    VerifyFull { root_cert: std::path::PathBuf },
}

impl UpstreamTls {
    /// From `sslmode` and `sslrootcert`.
    pub fn from_params(mode: Option<&str>, root_cert: Option<&str>) -> Result<UpstreamTls, PgError> {
        Ok(match mode.unwrap_or("prefer") {
            "disable" | "allow" => UpstreamTls::Disable,
            "prefer" => UpstreamTls::Prefer,
            "require" => UpstreamTls::Require,
            "verify-full" => UpstreamTls::VerifyFull {
                root_cert: root_cert
                    .ok_or_else(|| {
                        PgError::Setup(
                            "sslmode=verify-full needs sslrootcert=PATH (the CA that signed the server's certificate)"
                                .into(),
                        )
                    })?
                    .into(),
            },
            "verify-ca" => {
                return Err(PgError::Setup(
                    "sslmode=verify-ca is not supported; use verify-full (it checks the host name as well)".into(),
                ))
            }
            other => return Err(PgError::Setup(format!("sslmode={other:?} is not a PostgreSQL sslmode"))),
        })
    }

    pub fn connector(&self) -> Result<Option<tokio_rustls::TlsConnector>, PgError> {
        let provider = Arc::new(ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| PgError::Setup(format!("TLS: {e}")))?;
        let config = match self {
            UpstreamTls::Disable => return Ok(None),
            UpstreamTls::Prefer | UpstreamTls::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
                .with_no_client_auth(),
            UpstreamTls::VerifyFull { root_cert } => {
                let mut roots = rustls::RootCertStore::empty();
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(root_cert)
                    .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| PgError::Setup(format!("sslrootcert {}: {e}", root_cert.display())))?;
                for c in certs {
                    roots
                        .add(c)
                        .map_err(|e| PgError::Setup(format!("sslrootcert {}: {e}", root_cert.display())))?;
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
        };
        Ok(Some(tokio_rustls::TlsConnector::from(Arc::new(config))))
    }
}

/// `sslmode=require`: the channel is encrypted and its handshake signed, the certificate unchecked.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The connection to the database, in plain text or TLS.
#[derive(Debug)]
pub enum UpstreamStream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl UpstreamStream {
    pub fn tcp(&self) -> &TcpStream {
        match self {
            UpstreamStream::Plain(s) => s,
            UpstreamStream::Tls(s) => s.get_ref().0,
        }
    }

    /// Open and quiet: nothing to read and not closed (a pooled session fit to hand out).
    pub fn is_quiet(&self) -> bool {
        let mut probe = [0u8; 1];
        let mut buf = ReadBuf::new(&mut probe);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        matches!(self.tcp().poll_peek(&mut cx, &mut buf), Poll::Pending)
    }
}

impl AsyncRead for UpstreamStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpstreamStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            UpstreamStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for UpstreamStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            UpstreamStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            UpstreamStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpstreamStream::Plain(s) => Pin::new(s).poll_flush(cx),
            UpstreamStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpstreamStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            UpstreamStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmodes_parse_and_verify_full_needs_a_root() {
        assert_eq!(UpstreamTls::from_params(None, None).unwrap(), UpstreamTls::Prefer);
        assert_eq!(
            UpstreamTls::from_params(Some("require"), None).unwrap(),
            UpstreamTls::Require
        );
        assert!(UpstreamTls::from_params(Some("verify-full"), None).is_err());
        assert!(UpstreamTls::from_params(Some("verify-ca"), Some("/x")).is_err());
        assert!(UpstreamTls::from_params(Some("nonsense"), None).is_err());
    }
}
