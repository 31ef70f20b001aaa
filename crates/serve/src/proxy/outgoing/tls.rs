//! TLS for `https` requests: rustls (with `ring`), the system's trusted
//! roots (`rustls-native-certs`, which honours `SSL_CERT_FILE` and
//! `SSL_CERT_DIR`) loaded once per process, HTTP/1.1 by ALPN. Failures
//! are `wasi:http` error codes: `TLS-certificate-error` for a certificate
//! the roots do not vouch for (or for another name), `TLS-protocol-error`
//! otherwise.

use std::sync::{Arc, OnceLock};

use hayate_component::Val;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::code;

/// The client configuration, made on first use: an error if the system
/// has no trusted roots at all.
fn config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(format!(
                    "no trusted root certificates ({} errors loading them)",
                    found.errors.len()
                ));
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(Arc::new(config))
        })
        .clone()
}

/// Speaks TLS to `host` over `stream`, checking its certificate.
pub(super) async fn connect(host: &str, stream: TcpStream) -> Result<TlsStream<TcpStream>, Val> {
    let config = config().map_err(super::internal)?;
    let name =
        ServerName::try_from(host.to_string()).map_err(|_| code("HTTP-request-URI-invalid"))?;
    TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| {
            let certificate = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .is_some_and(|e| matches!(e, rustls::Error::InvalidCertificate(_)));
            match certificate {
                true => code("TLS-certificate-error"),
                false => code("TLS-protocol-error"),
            }
        })
}
