//! How mails leave: SMTP (lettre, STARTTLS or implicit TLS, AUTH), one
//! `.eml` file per mail, or the log. Every send is bounded by
//! `mail.timeout` as a whole: lettre's own timeout covers only the
//! connection, and a dropped network can hang a send.

use std::path::PathBuf;
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::address::{mask_all, mask_in_text};
use crate::error::{Error, Result};
use crate::settings::{password_key, require_tls_for_password, MailSettings, MailTransport};

/// A failed delivery.
#[derive(Debug, Clone)]
pub struct SendError {
    /// A 5xx answer: retrying cannot help.
    pub permanent: bool,
    /// What went wrong, with addresses masked.
    pub message: String,
}

/// The configured transport.
pub enum Transport {
    /// Through an SMTP server.
    Smtp {
        /// The lettre transport (small pool, short idle time).
        mailer: AsyncSmtpTransport<Tokio1Executor>,
        /// Upper bound for one whole send.
        timeout: Duration,
    },
    /// One `.eml` per mail into a directory.
    File(PathBuf),
    /// Into the log.
    Log,
}

impl Transport {
    /// Builds the transport of the settings; reads the SMTP password file.
    pub fn from_settings(mail: &MailSettings) -> Result<Transport> {
        match mail.transport {
            MailTransport::Log => Ok(Transport::Log),
            MailTransport::File => {
                let dir = mail
                    .file_dir
                    .clone()
                    .ok_or_else(|| Error::Invalid("mail.file_dir is not set".into()))?;
                std::fs::create_dir_all(&dir).map_err(|e| {
                    Error::io(format!("cannot create mail.file_dir {}", dir.display()), e)
                })?;
                Ok(Transport::File(dir))
            }
            MailTransport::Smtp => smtp(mail),
        }
    }

    /// A name for logs and the test mail.
    pub fn name(&self) -> &'static str {
        match self {
            Transport::Smtp { .. } => "smtp",
            Transport::File(_) => "file",
            Transport::Log => "log",
        }
    }

    /// Delivers one message; returns the server's answer (or where it went).
    #[tracing::instrument(skip_all, fields(mail.transport = self.name(), mail.file = file_name))]
    pub async fn send(
        &self,
        message: &Message,
        file_name: &str,
        recipients: &[String],
    ) -> std::result::Result<String, SendError> {
        match self {
            Transport::Smtp { mailer, timeout } => {
                match tokio::time::timeout(*timeout, mailer.send(message.clone())).await {
                    Ok(Ok(response)) => Ok(mask_in_text(&format!(
                        "{} {}",
                        response.code(),
                        response.message().collect::<Vec<_>>().join(" ")
                    ))),
                    Ok(Err(e)) => Err(SendError {
                        permanent: e.is_permanent(),
                        message: mask_in_text(&describe(&e)),
                    }),
                    Err(_) => Err(SendError {
                        permanent: false,
                        message: format!(
                            "no answer from the SMTP server within {}",
                            humantime::format_duration(*timeout)
                        ),
                    }),
                }
            }
            Transport::File(dir) => {
                let path = dir.join(format!("{file_name}.eml"));
                let tmp = dir.join(format!(".{file_name}.eml.tmp"));
                // on disk before it has a name a reader might pick up
                let write = write_synced(&tmp, &message.formatted())
                    .and_then(|()| std::fs::rename(&tmp, &path));
                write
                    .map(|()| format!("written to {}", path.display()))
                    .map_err(|e| SendError {
                        permanent: false,
                        message: format!("cannot write {}: {e}", path.display()),
                    })
            }
            Transport::Log => {
                let text = String::from_utf8_lossy(&message.formatted()).into_owned();
                tracing::info!(
                    recipients = %mask_all(recipients),
                    "mail (log transport):\n{}",
                    mask_in_text(text_part(&text))
                );
                Ok("logged".to_string())
            }
        }
    }
}

/// The SMTP transport of `mail.smtp_url`, with the password if one is set;
/// refuses (again, as validation did) to send it where the connection may
/// end up without TLS, since the password file is read anew here.
fn smtp(mail: &MailSettings) -> Result<Transport> {
    let url = mail
        .smtp_url
        .as_deref()
        .ok_or_else(|| Error::Invalid("mail.smtp_url is not set".into()))?;
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| {
        Error::Invalid(format!(
            "mail.smtp_url = {:?} cannot be used: {e}",
            crate::settings::redact_url(url)
        ))
    })?;
    let password = smtp_password(mail)?;
    let holds = mail.password_file.as_ref().map(|_| password.is_some());
    let from = password_key(url, holds, mail.password.is_some());
    require_tls_for_password(url, from, mail.allow_auth_without_tls).map_err(Error::Invalid)?;
    if let Some(password) = password {
        let user = smtp_user(url).ok_or_else(|| {
            Error::Invalid(
                "an SMTP password is set but mail.smtp_url names no user: expected \
                 e.g. smtps://user@mail.example.com:465"
                    .into(),
            )
        })?;
        builder = builder.credentials(Credentials::new(user, password));
    }
    let mailer = builder
        .timeout(Some(mail.timeout))
        .pool_config(
            PoolConfig::new()
                .max_size(2)
                .idle_timeout(Duration::from_secs(30)),
        )
        .build();
    Ok(Transport::Smtp {
        mailer,
        timeout: mail.timeout,
    })
}

/// The password of `mail.password_file` if set, else of `mail.password`;
/// none when empty (the package ships an empty file: no AUTH then).
fn smtp_password(mail: &MailSettings) -> Result<Option<String>> {
    let password = match (&mail.password_file, &mail.password) {
        (Some(file), _) => std::fs::read_to_string(file)
            .map_err(|e| {
                Error::io(
                    format!("cannot read mail.password_file {}", file.display()),
                    e,
                )
            })?
            .trim_end_matches(['\n', '\r'])
            .to_string(),
        (None, Some(p)) => p.clone(),
        (None, None) => return Ok(None),
    };
    Ok(Some(password).filter(|p| !p.is_empty()))
}

fn write_synced(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn describe(e: &lettre::transport::smtp::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The user of `smtp://user@host` or `smtps://user:pass@host`.
fn smtp_user(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let user = userinfo.split(':').next()?;
    (!user.is_empty()).then(|| user.replace("%40", "@"))
}

/// The log shows the headers and the plain-text part, not the HTML.
fn text_part(formatted: &str) -> &str {
    match formatted.find("Content-Type: text/html") {
        Some(i) => &formatted[..i],
        None => formatted,
    }
}

#[cfg(test)]
mod tests {
    use super::{smtp_user, Transport};
    use crate::settings::Settings;

    #[tokio::test]
    async fn a_password_written_to_the_file_after_start_up_is_refused_without_tls() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("smtp-password");
        std::fs::write(&file, "").unwrap();
        let settings = Settings::from_toml(&format!(
            "[database]\nurl = \"postgres://app@db/guests\"\n[mail]\ntransport = \"smtp\"\n\
             smtp_url = \"smtp://mailer@127.0.0.1:2525\"\npassword_file = {:?}\n",
            file.display().to_string()
        ))
        .expect("an empty password file is no password");
        assert!(Transport::from_settings(&settings.mail).is_ok());
        std::fs::write(&file, "s3cret\n").unwrap();
        let Err(e) = Transport::from_settings(&settings.mail) else {
            panic!("the password would go without TLS");
        };
        let e = e.to_string();
        assert!(e.contains("(from mail.password_file)"), "{e}");
        assert!(e.contains("mail.allow_auth_without_tls = true"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
    }

    #[test]
    fn smtp_user_is_read_from_the_url() {
        assert_eq!(
            smtp_user("smtps://alice@mail.example.com:465").as_deref(),
            Some("alice")
        );
        assert_eq!(
            smtp_user("smtp://bob:pw@host:25?tls=required").as_deref(),
            Some("bob")
        );
        assert_eq!(smtp_user("smtp://127.0.0.1:2525"), None);
    }
}
