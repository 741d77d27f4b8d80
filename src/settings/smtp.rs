//! The SMTP password and TLS: which protection an SMTP URL asks lettre for,
//! where the password comes from, and the rule that it never goes over a
//! connection that may end up without TLS unless
//! `mail.allow_auth_without_tls` says so. Validation applies the rule at
//! start-up, the transport again where it hands the password to lettre.

use super::redact_url;

/// The protection lettre gives a connection made from an SMTP URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// `smtps://`: TLS from the first byte.
    Implicit,
    /// `smtp://…?tls=required`: STARTTLS, or no mail and no password at all.
    StartTlsRequired,
    /// `smtp://…?tls=opportunistic`: STARTTLS when the server offers it,
    /// plain text when it does not, or when an attacker on the path removes
    /// the offer (lettre's own documentation: not safe against a man in the
    /// middle).
    StartTlsOpportunistic,
    /// `smtp://` without `tls=`: plain text throughout.
    Plain,
}

impl SmtpTls {
    /// The protection of `url` as lettre's `from_url` reads it (the scheme,
    /// the first `tls` parameter); `None` where lettre refuses the URL,
    /// which the URL's own rule reports.
    pub fn of(url: &str) -> Option<SmtpTls> {
        let url = url::Url::parse(url).ok()?;
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        match (url.scheme(), tls.as_deref()) {
            ("smtps", _) => Some(SmtpTls::Implicit),
            ("smtp", None) => Some(SmtpTls::Plain),
            ("smtp", Some("required")) => Some(SmtpTls::StartTlsRequired),
            ("smtp", Some("opportunistic")) => Some(SmtpTls::StartTlsOpportunistic),
            _ => None,
        }
    }

    /// Whether what is sent may go in plain text: lettre sends AUTH on
    /// whatever connection it ended up with, it does not refuse it itself.
    pub fn may_be_plain(self) -> bool {
        matches!(self, SmtpTls::Plain | SmtpTls::StartTlsOpportunistic)
    }
}

/// The key the SMTP password comes from, if one will be sent, in the order
/// the transport takes them: `mail.password_file` when set (an empty file
/// is no password, and `mail.password` is then not read), else
/// `mail.password`, else the password in `mail.smtp_url` itself.
/// `file_holds_password` is `None` when no file is set.
pub fn password_key(
    url: &str,
    file_holds_password: Option<bool>,
    password_set: bool,
) -> Option<&'static str> {
    let url_has_password = url::Url::parse(url).is_ok_and(|u| u.password().is_some());
    match file_holds_password {
        Some(true) => Some("mail.password_file"),
        None if password_set => Some("mail.password"),
        _ if url_has_password => Some("mail.smtp_url"),
        _ => None,
    }
}

/// Refuses a password (from `password_key`) over a connection that may end
/// up without TLS, unless `allowed`. The message names the keys and what to
/// do, and shows the URL without its password.
pub fn require_tls_for_password(
    url: &str,
    password_key: Option<&str>,
    allowed: bool,
) -> Result<(), String> {
    let (Some(key), Some(tls)) = (password_key, SmtpTls::of(url)) else {
        return Ok(());
    };
    if allowed || !tls.may_be_plain() {
        return Ok(());
    }
    let why = if tls == SmtpTls::Plain {
        "smtp:// without tls= is plain text"
    } else {
        "tls=opportunistic falls back to plain text when the server does not offer \
         STARTTLS or an attacker on the path removes the offer"
    };
    Err(format!(
        "mail.smtp_url = {:?} would send the SMTP password (from {key}) without TLS: {why}. \
         Use smtps://HOST:465 (implicit TLS) or add ?tls=required (STARTTLS, else no \
         connection); or, only for a relay on a network nobody else can read, set \
         mail.allow_auth_without_tls = true",
        redact_url(url)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protection_is_read_as_lettre_reads_the_url() {
        for (url, tls) in [
            ("smtps://u:p@host:465", Some(SmtpTls::Implicit)),
            ("smtps://host?tls=opportunistic", Some(SmtpTls::Implicit)),
            (
                "smtp://host:587?tls=required",
                Some(SmtpTls::StartTlsRequired),
            ),
            (
                "SMTP://host:587?tls=re%71uired",
                Some(SmtpTls::StartTlsRequired),
            ),
            (
                "smtp://host?tls=opportunistic&tls=required",
                Some(SmtpTls::StartTlsOpportunistic),
            ),
            ("smtp://host:25", Some(SmtpTls::Plain)),
            ("smtp://host:25?other=1", Some(SmtpTls::Plain)),
            ("smtp://host?tls=Required", None),
            ("http://host", None),
        ] {
            assert_eq!(SmtpTls::of(url), tls, "{url}");
            // the same URLs lettre refuses
            let lettre =
                lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url).is_ok();
            assert_eq!(lettre, tls.is_some(), "{url}");
        }
    }

    #[test]
    fn the_password_is_taken_in_the_transports_order() {
        let url = "smtp://u:in-url@host";
        assert_eq!(
            password_key(url, Some(true), true),
            Some("mail.password_file")
        );
        assert_eq!(password_key(url, None, true), Some("mail.password"));
        // an empty file shadows mail.password; the URL's password remains
        assert_eq!(password_key(url, Some(false), true), Some("mail.smtp_url"));
        assert_eq!(password_key("smtp://u@host", Some(false), true), None);
        assert_eq!(password_key("smtp://u:@host", None, false), None);
    }

    #[test]
    fn a_password_without_tls_is_refused_unless_allowed() {
        let key = Some("mail.password");
        for url in [
            "smtp://u:s3cret@host:25",
            "smtp://u:s3cret@host?tls=opportunistic",
        ] {
            let e = require_tls_for_password(url, key, false).unwrap_err();
            for needle in [
                "mail.smtp_url",
                "mail.password)",
                "mail.allow_auth_without_tls = true",
                "smtps://",
                "tls=required",
            ] {
                assert!(e.contains(needle), "{needle} not in {e}");
            }
            assert!(!e.contains("s3cret"), "{e}");
            require_tls_for_password(url, key, true).unwrap();
            require_tls_for_password(url, None, false).unwrap();
        }
        for url in ["smtps://u:s3cret@host", "smtp://u:s3cret@host?tls=required"] {
            require_tls_for_password(url, key, false).unwrap();
        }
    }
}
