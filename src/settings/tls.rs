//! libpq's `sslmode` and `sslrootcert` in `database.url`. The driver knows
//! only `disable`, `prefer` and `require` and no root certificate, so both
//! are taken out of the string here (URL query or key/value form) and the
//! rest goes to the driver as written.

use std::path::PathBuf;

/// How strictly the connection to PostgreSQL is protected (libpq's names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SslMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it, the certificate unchecked (libpq's default).
    #[default]
    Prefer,
    /// TLS or no connection; the certificate is checked only against a
    /// `sslrootcert` when one is given (as libpq does).
    Require,
    /// TLS, the certificate chain checked against the roots.
    VerifyCa,
    /// TLS, the chain and the host name checked.
    VerifyFull,
}

impl SslMode {
    /// libpq's name of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    fn parse(value: &str) -> Result<SslMode, String> {
        match value {
            "disable" => Ok(SslMode::Disable),
            "prefer" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa),
            "verify-full" => Ok(SslMode::VerifyFull),
            other => Err(format!(
                "database.url has sslmode={other:?}: expected disable, prefer, require, \
                 verify-ca or verify-full"
            )),
        }
    }
}

/// Where the roots that vouch for the server's certificate come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum RootCerts {
    /// The system's store (`SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured).
    #[default]
    System,
    /// A PEM file (`sslrootcert=PATH`).
    File(PathBuf),
}

/// The TLS part of `database.url`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// `sslmode`.
    pub mode: SslMode,
    /// `sslrootcert`; `sslrootcert=system` (as in libpq 16) means the
    /// system's store and implies `verify-full` unless a mode is given.
    pub roots: RootCerts,
    /// Whether `sslrootcert` was given at all.
    pub roots_given: bool,
}

impl TlsSettings {
    /// The mode as the driver knows it.
    pub fn driver_mode(&self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as Driver;
        match self.mode {
            SslMode::Disable => Driver::Disable,
            SslMode::Prefer => Driver::Prefer,
            _ => Driver::Require,
        }
    }

    /// Whether the server's certificate chain is checked.
    pub fn verifies_chain(&self) -> bool {
        match self.mode {
            SslMode::VerifyCa | SslMode::VerifyFull => true,
            SslMode::Require => self.roots_given,
            SslMode::Disable | SslMode::Prefer => false,
        }
    }
}

/// Takes `sslmode` and `sslrootcert` out of a connection string; returns
/// the rest (for the driver) and the TLS settings.
pub fn split_tls(url: &str) -> Result<(String, TlsSettings), String> {
    let (rest, pairs) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        split_url(url)?
    } else {
        split_key_value(url)?
    };
    let mut mode = None;
    let mut root = None;
    for (key, value) in pairs {
        match key.as_str() {
            "sslmode" => mode = Some(SslMode::parse(&value)?),
            _ => root = Some(value),
        }
    }
    let roots = match root.as_deref() {
        None | Some("system") => RootCerts::System,
        Some("") => return Err("database.url has an empty sslrootcert: give a PEM file".into()),
        Some(path) => RootCerts::File(PathBuf::from(path)),
    };
    let mode = match (mode, root.as_deref()) {
        (Some(m), _) => m,
        (None, Some("system")) => SslMode::VerifyFull,
        (None, _) => SslMode::Prefer,
    };
    Ok((
        rest,
        TlsSettings {
            mode,
            roots,
            roots_given: root.is_some(),
        },
    ))
}

fn is_tls_key(key: &str) -> bool {
    key == "sslmode" || key == "sslrootcert"
}

fn split_url(url: &str) -> Result<(String, Vec<(String, String)>), String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), Vec::new()));
    };
    let mut kept = Vec::new();
    let mut taken = Vec::new();
    for part in query.split('&') {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        let key = percent_decode(key)?;
        if is_tls_key(&key) {
            taken.push((key, percent_decode(value)?));
        } else {
            kept.push(part);
        }
    }
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rest, taken))
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("database.url has a bad percent-encoding in its parameters")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "database.url parameters are not UTF-8".to_string())
}

/// libpq's key/value form: `key = value` pairs separated by spaces, a value
/// either bare (backslash escapes) or in single quotes (`\'`, `\\`).
fn split_key_value(text: &str) -> Result<(String, Vec<(String, String)>), String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let offset = |i: usize| chars.get(i).map_or(text.len(), |&(o, _)| o);
    let mut kept = String::new();
    let mut taken = Vec::new();
    let mut i = 0;
    loop {
        while at(i).is_some_and(char::is_whitespace) {
            i += 1;
        }
        if at(i).is_none() {
            break;
        }
        let start = i;
        let mut key = String::new();
        while let Some(c) = at(i).filter(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
            i += 1;
        }
        while at(i).is_some_and(char::is_whitespace) {
            i += 1;
        }
        if at(i) != Some('=') {
            // the driver says what is wrong with it
            return Ok((text.to_string(), Vec::new()));
        }
        i += 1;
        while at(i).is_some_and(char::is_whitespace) {
            i += 1;
        }
        let mut value = String::new();
        if at(i) == Some('\'') {
            i += 1;
            loop {
                match at(i) {
                    None => return Ok((text.to_string(), Vec::new())),
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some('\\') if at(i + 1).is_some() => {
                        value.extend(at(i + 1));
                        i += 2;
                    }
                    Some(c) => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
        } else {
            while let Some(c) = at(i).filter(|c| !c.is_whitespace()) {
                if c == '\\' && at(i + 1).is_some() {
                    value.extend(at(i + 1));
                    i += 2;
                } else {
                    value.push(c);
                    i += 1;
                }
            }
        }
        if is_tls_key(&key) {
            taken.push((key, value));
        } else {
            if !kept.is_empty() {
                kept.push(' ');
            }
            kept.push_str(&text[offset(start)..offset(i)]);
        }
    }
    Ok((kept, taken))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_keys_are_taken_from_both_forms_and_the_rest_is_kept_as_written() {
        let (rest, tls) = split_tls(
            "postgres://u:p%40ss@db.example.com/guests?sslmode=verify-full&application_name=x\
             &sslrootcert=%2Fetc%2Fca.pem",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgres://u:p%40ss@db.example.com/guests?application_name=x"
        );
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.roots, RootCerts::File("/etc/ca.pem".into()));

        let (rest, tls) = split_tls(
            "host=db port=5432 sslmode = 'verify-ca' password='a b\\'c' sslrootcert=/etc/my\\ ca.pem",
        )
        .unwrap();
        assert_eq!(rest, "host=db port=5432 password='a b\\'c'");
        assert_eq!(tls.mode, SslMode::VerifyCa);
        assert_eq!(tls.roots, RootCerts::File("/etc/my ca.pem".into()));

        let (rest, tls) = split_tls("postgres://u@h/db").unwrap();
        assert_eq!(rest, "postgres://u@h/db");
        assert_eq!(tls, TlsSettings::default());
        assert!(!tls.verifies_chain());
    }

    #[test]
    fn system_roots_imply_verify_full_and_a_bad_mode_is_named() {
        let (_, tls) = split_tls("host=db sslrootcert=system").unwrap();
        assert_eq!(
            (tls.mode, tls.roots),
            (SslMode::VerifyFull, RootCerts::System)
        );
        let (_, tls) = split_tls("host=db sslmode=require sslrootcert=/ca.pem").unwrap();
        assert!(
            tls.verifies_chain(),
            "require with a root file checks the chain, as libpq"
        );
        let e = split_tls("host=db sslmode=allow").unwrap_err();
        assert!(
            e.contains("sslmode=\"allow\"") && e.contains("verify-full"),
            "{e}"
        );
    }
}
