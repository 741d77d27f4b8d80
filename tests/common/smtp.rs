//! The SMTP sink the mail tests deliver to.

use std::process::Command;

use super::free_port;

/// A real SMTP server on loopback (aiosmtpd, see tests/smtp_sink.py) that
/// stores every message it accepts.
pub struct SmtpSink {
    child: Option<std::process::Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// Certificate and key (PEM): STARTTLS is required.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// User and password: a mail is taken only after AUTH as this user.
    pub auth: Option<(String, String)>,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        let mut sink = SmtpSink::down();
        sink.restart();
        sink
    }

    /// A sink that requires STARTTLS with this certificate and key.
    pub fn start_tls(cert: &std::path::Path, key: &std::path::Path) -> SmtpSink {
        let mut sink = SmtpSink::down();
        sink.tls = Some((cert.to_path_buf(), key.to_path_buf()));
        sink.restart();
        sink
    }

    /// A sink that takes a mail only after AUTH as `user` with `password`,
    /// over TLS or not: it protects nothing itself, so what arrives is what
    /// the client sent. See [`SmtpSink::auth_log`].
    pub fn start_auth(user: &str, password: &str) -> SmtpSink {
        let mut sink = SmtpSink::down();
        sink.auth = Some((user.to_string(), password.to_string()));
        sink.restart();
        sink
    }

    /// A sink that is not running yet (the server is "down").
    pub fn down() -> SmtpSink {
        SmtpSink {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            tls: None,
            auth: None,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port and directory.
    pub fn restart(&mut self) {
        use std::io::BufRead;
        let python = std::env::var("RETENTIOND_TEST_PYTHON").expect(
            "RETENTIOND_TEST_PYTHON is not set: run the tests with scripts/test, which \
             installs aiosmtpd for the SMTP sink",
        );
        let mut child = Command::new(python)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_sink.py"))
            .arg(self.port.to_string())
            .arg(self.dir.path())
            .args(self.tls.iter().flat_map(|(c, k)| [c, k]))
            .args(
                self.auth
                    .iter()
                    .flat_map(|(u, p)| ["--auth", u.as_str(), p.as_str()]),
            )
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the SMTP sink");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "SMTP sink did not start");
        self.child = Some(child);
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every AUTH the sink saw, oldest first, as `MECHANISM USER
    /// accepted|refused tls|plain` (never the password).
    pub fn auth_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("auth.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// The messages received so far, oldest first, raw.
    pub fn messages(&self) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}
