//! The API gateway's overhead per request: a GraphQL read sent through the gateway against the
//! same call sent straight to the upstream, interleaved in the same run, p50 and p99 of each. The
//! upstream is an in-process TLS stand-in (hyper and rustls, its certificate from a throwaway CA
//! made with openssl); both clients keep their connections alive, so each sample is one request
//! and its answer. Through the gateway a call is also authenticated, classified, decided by
//! policy and queued for the audit chain.
//!
//! `cargo bench -p airlock-http --bench gateway` (a release build; about 20 s).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

const ROUNDS: usize = 3000;
const WARMUP: usize = 300;
const SECRET: &str = "bench-upstream-secret-4f9a";
const QUERY: &str = r#"{"query":"query { me { name } }"}"#;
const ANSWER: &[u8] = br#"{"data":{"me":{"name":"stand-in"}}}"#;

fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pki(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=bench ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    std::fs::write(dir.join("san.cnf"), "subjectAltName = DNS:localhost\n").unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "san.cnf",
            "-out",
            "server.pem",
        ],
    );
}

/// The upstream: answers every request with the same small JSON, over TLS.
async fn standin(dir: &Path) -> u16 {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                    let _ = req.into_body().collect().await;
                    Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from_static(ANSWER))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    port
}

async fn connect_tls(dir: &Path, port: u16) -> SendRequest<Full<Bytes>> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(dir.join("ca.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.unwrap();
    tokio::spawn(conn);
    sender
}

async fn connect_plain(port: u16) -> SendRequest<Full<Bytes>> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.unwrap();
    tokio::spawn(conn);
    sender
}

/// One request and its whole answer; its duration.
async fn once(sender: &mut SendRequest<Full<Bytes>>, path: &str, host: &str, auth: &str) -> Duration {
    let req = Request::post(path)
        .header("host", host)
        .header("content-type", "application/json")
        .header("authorization", auth)
        .body(Full::new(Bytes::from_static(QUERY.as_bytes())))
        .unwrap();
    let started = Instant::now();
    sender.ready().await.unwrap();
    let answer = sender.send_request(req).await.unwrap();
    assert_eq!(answer.status(), 200);
    let body = answer.into_body().collect().await.unwrap().to_bytes();
    let took = started.elapsed();
    assert_eq!(&body[..], ANSWER);
    took
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let dir = std::env::temp_dir().join(format!("airlock-http-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    pki(&dir);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let upstream = runtime.block_on(standin(&dir));
    let gateway_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::env::set_var("AIRLOCK_BENCH_UPSTREAM_TOKEN", SECRET);
    let config = format!(
        "[server]\nlisten = \"\"\n[http]\nlisten = \"127.0.0.1:{gateway_port}\"\n[[environment]]\nname = \"production\"\n[[resource]]\nname = \"railway\"\nkind = \"http\"\nenvironment = \"production\"\nurl = \"https://localhost:{upstream}/graphql/v2\"\nsecret_env = \"AIRLOCK_BENCH_UPSTREAM_TOKEN\"\ntls_ca = \"{}\"\nprovider = \"railway\"\n",
        dir.join("ca.pem").display()
    );
    let config = airlock_config::Config::parse(&config, &dir).unwrap();
    let airlock = Arc::new(airlock_server::Airlock::open(config).unwrap());
    let (token, _) = airlock.create_token("bench", false, vec![], None, None).unwrap();
    let gateway = airlock_http::Gateway::start(airlock).unwrap();
    let (direct, through) = runtime.block_on(async {
        let mut d = connect_tls(&dir, upstream).await;
        let mut g = connect_plain(gateway.local_addr().port()).await;
        let upstream_auth = format!("Bearer {SECRET}");
        let agent_auth = format!("Bearer {token}");
        let host = format!("localhost:{upstream}");
        for _ in 0..WARMUP {
            once(&mut d, "/graphql/v2", &host, &upstream_auth).await;
            once(&mut g, "/railway", "gateway", &agent_auth).await;
        }
        let (mut direct, mut through) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
        for _ in 0..ROUNDS {
            direct.push(once(&mut d, "/graphql/v2", &host, &upstream_auth).await);
            through.push(once(&mut g, "/railway", "gateway", &agent_auth).await);
        }
        (direct, through)
    });
    let mut direct = direct;
    let mut through = through;
    direct.sort();
    through.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let (d50, d99, t50, t99) = (
        percentile(&direct, 0.5),
        percentile(&direct, 0.99),
        percentile(&through, 0.5),
        percentile(&through, 0.99),
    );
    println!("API gateway, a GraphQL read, {ROUNDS} requests each, interleaved, keep-alive:");
    println!(
        "  direct to the TLS upstream: p50 {:.0} µs  p99 {:.0} µs",
        us(d50),
        us(d99)
    );
    println!(
        "  through the gateway:        p50 {:.0} µs  p99 {:.0} µs",
        us(t50),
        us(t99)
    );
    println!(
        "  overhead per request:       p50 {:.0} µs  p99 {:.0} µs  (ratio p50 {:.2}x, p99 {:.2}x)",
        us(t50) - us(d50),
        us(t99) - us(d99),
        us(t50) / us(d50),
        us(t99) / us(d99)
    );
    drop(gateway);
    let _ = std::fs::remove_dir_all(&dir);
}
