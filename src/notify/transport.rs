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
use crate::settings::{MailSettings, MailTransport};

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
            MailTransport::Smtp => {
                let url = mail
                    .smtp_url
                    .as_deref()
                    .ok_or_else(|| Error::Invalid("mail.smtp_url is not set".into()))?;
                let mut builder =
                    AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| {
                        Error::Invalid(format!(
                            "mail.smtp_url = {:?} cannot be used: {e}",
                            crate::settings::redact_url(url)
                        ))
                    })?;
                let password = match (&mail.password_file, &mail.password) {
                    (Some(file), _) => Some(
                        std::fs::read_to_string(file)
                            .map_err(|e| {
                                Error::io(
                                    format!("cannot read mail.password_file {}", file.display()),
                                    e,
                                )
                            })?
                            .trim_end_matches(['\n', '\r'])
                            .to_string(),
                    ),
                    (None, Some(p)) => Some(p.clone()),
                    (None, None) => None,
                }
                // the package ships an empty password file: no AUTH then
                .filter(|p| !p.is_empty());
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
    use super::smtp_user;

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
