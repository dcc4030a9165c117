//! The client over TLS (`https://`, `wss://`, and the upgrade between them), against both
//! fixture servers behind a TLS-terminating proxy, with a certificate authority made for
//! the test and given to the client with `tls_config`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod client_support;

use std::{net::SocketAddr, path::PathBuf, process::Command, sync::Arc};

use client_support::{Fixture, next_event, next_manager};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use socketio_client::{Manager, ManagerEvent, Transports};
use tokio::net::{TcpListener, TcpStream};

/// A certificate authority and a certificate it signed for `localhost`, made by the
/// `openssl` command in a fresh folder: (CA certificate, leaf certificate, leaf key).
fn certificates() -> (PathBuf, PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "socketio-client-tls-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(&dir)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("the openssl command");
        assert!(status.success(), "openssl {args:?}");
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=socketio test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("leaf.pem"),
        dir.join("leaf.key"),
    )
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default()
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Terminates TLS on a free port and passes the bytes to `backend`.
async fn tls_proxy(cert: &PathBuf, key: &PathBuf, backend: SocketAddr) -> u16 {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

fn client_tls(ca: &PathBuf) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

async fn over_tls(fixture: Fixture) {
    let server = fixture.start(&[]).await;
    let (ca, cert, key) = certificates();
    let port = tls_proxy(&cert, &key, SocketAddr::from(([127, 0, 0, 1], server.port))).await;
    for transports in [Transports::Polling, Transports::WebSocket, Transports::Both] {
        let manager = Manager::builder(format!("https://localhost:{port}"))
            .tls_config(client_tls(&ca))
            .transports(transports)
            .build()
            .unwrap();
        let mut manager_events = manager.events();
        let socket = manager.socket("/").connect().await.unwrap();
        let mut events = socket.events();
        if transports == Transports::Both {
            next_manager(&mut manager_events, "the upgrade to wss", |event| {
                *event == ManagerEvent::Upgrade
            })
            .await;
        }
        socket.emit("message", &"secret").unwrap();
        let text: String = next_event(&mut events, "message-back")
            .await
            .deserialize()
            .unwrap();
        assert_eq!(text, "secret", "{transports:?}");
    }
    // Without the test's authority, the certificate is refused.
    let err = Manager::builder(format!("https://localhost:{port}"))
        .reconnection(false)
        .build()
        .unwrap()
        .socket("/")
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            socketio_client::ConnectError::Disconnected(_)
                | socketio_client::ConnectError::Connection(_)
        ),
        "{err:?}"
    );
    if let Some(dir) = ca.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

both! {
    https_wss_and_the_upgrade_over_tls => over_tls;
}
