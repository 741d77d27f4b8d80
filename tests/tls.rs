//! TLS to PostgreSQL and to the mail relay, with certificates this test
//! makes: a PostgreSQL that refuses every connection without TLS, reached
//! with each `sslmode`; an SMTP relay that requires STARTTLS with a
//! certificate of a company CA that only the system's store knows.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{expect_code, stderr, stdout, SmtpSink};

/// A CA and a certificate it signed, made with the openssl command.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    /// A CA named `ca` and a server certificate `server` for `sans`
    /// (e.g. "DNS:localhost,IP:127.0.0.1").
    fn new(sans: &str) -> Pki {
        let pki = Pki {
            dir: tempfile::tempdir().unwrap(),
        };
        pki.ca("ca");
        pki.ca("other-ca");
        let d = pki.dir.path();
        openssl(&[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            &pki.path("server.key"),
            "-out",
            &pki.path("server.csr"),
        ]);
        std::fs::write(d.join("ext.cnf"), format!("subjectAltName={sans}\n")).unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            &pki.path("server.csr"),
            "-CA",
            &pki.path("ca.pem"),
            "-CAkey",
            &pki.path("ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &pki.path("ext.cnf"),
            "-out",
            &pki.path("server.pem"),
        ]);
        pki
    }

    fn ca(&self, name: &str) {
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN=retentiond test {name}"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            &self.path(&format!("{name}.key")),
            "-out",
            &self.path(&format!("{name}.pem")),
        ]);
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A private PostgreSQL 15 (scripts/lib/pg.sh) that accepts TCP only over
/// TLS, with the certificate of `pki`; stopped when dropped.
struct TlsServer {
    dir: PathBuf,
    port: String,
}

impl TlsServer {
    fn start(pki: &Pki) -> TlsServer {
        let dir = tempfile::Builder::new()
            .prefix("retentiond-tls-pg.")
            .tempdir_in("/tmp")
            .unwrap()
            .keep();
        for f in ["server.pem", "server.key"] {
            std::fs::copy(pki.dir.path().join(f), dir.join(f)).unwrap();
        }
        std::fs::write(
            dir.join("hba.conf"),
            "local all all trust\n\
             hostssl all all 127.0.0.1/32 trust\n\
             hostnossl all all 127.0.0.1/32 reject\n",
        )
        .unwrap();
        let d = dir.display();
        let script = format!(
            ". scripts/lib/pg.sh && chmod 600 {d}/server.key && pg_start {d} ssl=on \
             ssl_cert_file={d}/server.pem ssl_key_file={d}/server.key hba_file={d}/hba.conf \
             && cat {d}/port"
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "start PostgreSQL with TLS: {}",
            stderr(&out)
        );
        TlsServer {
            port: stdout(&out).trim().to_string(),
            dir,
        }
    }

    fn url(&self, host: &str, tls: &str) -> String {
        format!(
            "host={host} port={} user=postgres dbname=postgres {tls}",
            self.port
        )
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg("-c")
            .arg(format!(
                ". scripts/lib/pg.sh && pg_stop {}",
                self.dir.display()
            ))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn retentiond(url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retentiond"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RETENTIOND__DATABASE__URL", url)
        .env("RETENTIOND__DATABASE__CONNECT_TIMEOUT", "5s")
        .env("RETENTIOND__LOG__LEVEL", "warn")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn postgres_over_tls_honours_every_sslmode_and_sslrootcert() {
    let pki = Pki::new("DNS:localhost");
    let server = TlsServer::start(&pki);
    let ca = pki.path("ca.pem");
    let other = pki.path("other-ca.pem");

    // verify-full with the CA that signed the certificate: connects (the
    // server refuses anything but TLS, so this is TLS)
    let full = server.url(
        "localhost",
        &format!("sslmode=verify-full sslrootcert={ca}"),
    );
    expect_code(&retentiond(&full, &["migrate"], &[]), 0);
    expect_code(&retentiond(&full, &["protocol", "verify"], &[]), 0);
    // the URL form too
    let url_form = format!(
        "postgres://postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        server.port,
        ca.replace('/', "%2F")
    );
    expect_code(&retentiond(&url_form, &["protocol", "verify"], &[]), 0);

    // the server refuses plain connections
    let out = retentiond(
        &server.url("localhost", "sslmode=disable"),
        &["protocol", "verify"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // a certificate from a CA we were not told to trust
    let wrong = server.url(
        "localhost",
        &format!("sslmode=verify-full sslrootcert={other}"),
    );
    let out = retentiond(&wrong, &["protocol", "verify"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).to_lowercase().contains("certificate"),
        "{}",
        stderr(&out)
    );
    // nor does the system's store know the test CA
    let system = server.url("localhost", "sslmode=verify-full");
    assert_ne!(
        retentiond(&system, &["protocol", "verify"], &[])
            .status
            .code(),
        Some(0)
    );
    // ...unless the system's store is pointed at it (SSL_CERT_FILE)
    expect_code(
        &retentiond(&system, &["protocol", "verify"], &[("SSL_CERT_FILE", &ca)]),
        0,
    );

    // the certificate names localhost, not 127.0.0.1: verify-full refuses,
    // verify-ca checks only the chain
    let by_ip = |mode: &str| server.url("127.0.0.1", &format!("sslmode={mode} sslrootcert={ca}"));
    let out = retentiond(&by_ip("verify-full"), &["protocol", "verify"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    expect_code(
        &retentiond(&by_ip("verify-ca"), &["protocol", "verify"], &[]),
        0,
    );
    let wrong_ca = server.url(
        "127.0.0.1",
        &format!("sslmode=verify-ca sslrootcert={other}"),
    );
    assert_eq!(
        retentiond(&wrong_ca, &["protocol", "verify"], &[])
            .status
            .code(),
        Some(1)
    );

    // require and prefer encrypt without checking, as libpq does; require
    // with a root file checks the chain
    for mode in ["require", "prefer"] {
        let url = server.url("127.0.0.1", &format!("sslmode={mode}"));
        expect_code(&retentiond(&url, &["protocol", "verify"], &[]), 0);
    }
    let require_other = server.url("localhost", &format!("sslmode=require sslrootcert={other}"));
    assert_eq!(
        retentiond(&require_other, &["protocol", "verify"], &[])
            .status
            .code(),
        Some(1)
    );

    // settings: shown redacted with their TLS part; a missing root file is
    // a settings error naming it
    let shown = expect_code(&retentiond(&full, &["check-config"], &[]), 0);
    assert!(
        shown.contains("sslmode=verify-full") && shown.contains(&format!("sslrootcert={ca}")),
        "{shown}"
    );
    let missing = server.url(
        "localhost",
        "sslmode=verify-full sslrootcert=/nonexistent/ca.pem",
    );
    let out = retentiond(&missing, &["status"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("sslrootcert=/nonexistent/ca.pem"),
        "{}",
        stderr(&out)
    );
    let out = retentiond(&server.url("localhost", "sslmode=allow"), &["status"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("verify-full"), "{}", stderr(&out));
}

#[test]
fn the_mail_relay_is_trusted_through_the_systems_roots() {
    let pki = Pki::new("DNS:localhost,IP:127.0.0.1");
    let sink = SmtpSink::start_tls(
        Path::new(&pki.path("server.pem")),
        Path::new(&pki.path("server.key")),
    );
    let env = |extra: Option<&str>| {
        let mut env = vec![
            (
                "RETENTIOND__MAIL__TRANSPORT".to_string(),
                "smtp".to_string(),
            ),
            (
                "RETENTIOND__MAIL__SMTP_URL".to_string(),
                format!("smtp://127.0.0.1:{}?tls=required", sink.port),
            ),
            (
                "RETENTIOND__MAIL__FROM".to_string(),
                "retention@example.net".to_string(),
            ),
            ("RETENTIOND__MAIL__TIMEOUT".to_string(), "5s".to_string()),
        ];
        if let Some(ca) = extra {
            env.push(("SSL_CERT_FILE".to_string(), ca.to_string()));
        }
        env
    };
    let send = |extra: Option<&str>| {
        let env = env(extra);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        // mail-test needs no database connection
        retentiond(
            "host=127.0.0.1 port=1 user=nobody",
            &["mail-test", "--to", "ops@example.org"],
            &env,
        )
    };
    // a company CA the system does not know: refused, nothing delivered
    let out = send(None);
    assert_ne!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(sink.messages().is_empty());
    // the same CA in the system's store (SSL_CERT_FILE): delivered over TLS
    let out = send(Some(&pki.path("ca.pem")));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn with_starttls_required_the_password_travels_inside_tls_and_needs_no_permission() {
    let pki = Pki::new("DNS:localhost,IP:127.0.0.1");
    let mut sink = SmtpSink::down();
    sink.tls = Some((pki.path("server.pem").into(), pki.path("server.key").into()));
    sink.auth = Some(("mailer".into(), "s3cret".into()));
    sink.restart();
    let url = format!("smtp://mailer:s3cret@127.0.0.1:{}?tls=required", sink.port);
    let out = retentiond(
        "host=127.0.0.1 port=1 user=nobody",
        &["mail-test", "--to", "ops@example.org"],
        &[
            ("RETENTIOND__MAIL__TRANSPORT", "smtp"),
            ("RETENTIOND__MAIL__SMTP_URL", &url),
            ("RETENTIOND__MAIL__FROM", "retention@example.net"),
            ("RETENTIOND__MAIL__TIMEOUT", "5s"),
            ("SSL_CERT_FILE", &pki.path("ca.pem")),
        ],
    );
    expect_code(&out, 0);
    assert_eq!(sink.auth_log(), ["PLAIN mailer accepted tls"]);
    assert_eq!(sink.messages().len(), 1);
}
