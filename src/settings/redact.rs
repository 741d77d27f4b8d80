//! The settings without their secrets: `check-config`, `Debug`, and every
//! message that quotes a URL.

use std::fmt;
use std::time::Duration;

use super::{DatabaseSettings, LogFormat, MailSettings, MailTransport, Settings};

impl Settings {
    /// The effective settings as TOML, with every secret replaced by `***`.
    pub fn to_redacted_toml(&self) -> String {
        let d = |d: Duration| humantime::format_duration(d).to_string();
        let opt = |o: Option<String>| match o {
            Some(s) => format!("{s:?}"),
            None => "\"\" # not set".to_string(),
        };
        let transport = match self.mail.transport {
            MailTransport::Smtp => "smtp",
            MailTransport::File => "file",
            MailTransport::Log => "log",
        };
        let format = match self.log.format {
            LogFormat::Auto => "auto",
            LogFormat::Journal => "journal",
            LogFormat::Pretty => "pretty",
            LogFormat::Json => "json",
        };
        format!(
            "# settings file: {source}\n\
             [database]\nurl = {url:?}\npassword_file = {dbpwf}\npool_size = {pool}\nconnect_timeout = {ct:?}\nowner_role = {owner:?}\n\n\
             [log]\nformat = {format:?}\nlevel = {level:?}\nidentifier = {ident:?}\n\n\
             [mail]\ntransport = {transport:?}\nsmtp_url = {smtp}\nfrom = {from:?}\n\
             file_dir = {dir}\npassword_file = {pwf}\npassword = {pw}\nallow_auth_without_tls = {aat}\nlocale = {locale:?}\ntimeout = {mt:?}\n\
             template_dir = {td}\nmax_attempts = {mma}\nretry_base = {rb:?}\n\n\
             [batch]\nsize = {size}\nmax_size = {bms}\nmax_lock_hold = {bmlh:?}\npause = {pause:?}\nlock_timeout = {lt:?}\nstatement_timeout = {st:?}\n\n\
             [schedule]\nnightly_at = {na:?}\ntime_zone = {tz:?}\ntick = {tick:?}\nwindow = {window:?}\n\
             guard = {guard}\nmax_attempts = {ma}\npending_at = {pa:?}\n\n\
             [gdpr]\ntrade_secrets = {ts:?}\nanswer_within = {aw:?}\n\n\
             [metrics]\nlisten = {ml}\n\n\
             [ledger]\npath = {lp:?}\nreplay = {lr:?}\n",
            source = self
                .source
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "none (defaults and environment only)".to_string()),
            url = redact_database_url(&self.database.url),
            dbpwf = opt(self
                .database
                .password_file
                .as_ref()
                .map(|p| p.display().to_string())),
            pool = self.database.pool_size,
            ct = d(self.database.connect_timeout),
            owner = self.database.owner_role,
            level = self.log.level,
            ident = self.log.identifier,
            smtp = opt(self.mail.smtp_url.as_deref().map(redact_url)),
            from = self.mail.from,
            dir = opt(self.mail.file_dir.as_ref().map(|p| p.display().to_string())),
            pwf = opt(self.mail.password_file.as_ref().map(|p| p.display().to_string())),
            pw = if self.mail.password.is_some() {
                "\"***\""
            } else {
                "\"\" # not set"
            },
            aat = self.mail.allow_auth_without_tls,
            locale = self.mail.locale,
            mt = d(self.mail.timeout),
            size = self.batch.size,
            bms = self.batch.max_size,
            bmlh = d(self.batch.max_lock_hold),
            pause = d(self.batch.pause),
            lt = d(self.batch.lock_timeout),
            st = d(self.batch.statement_timeout),
            na = self.schedule.nightly_at.format("%H:%M").to_string(),
            tz = self.schedule.time_zone.name(),
            tick = d(self.schedule.tick),
            window = d(self.schedule.window),
            guard = self.schedule.guard,
            ma = self.schedule.max_attempts,
            pa = self.schedule.pending_at.format("%H:%M").to_string(),
            td = opt(self.mail.template_dir.as_ref().map(|p| p.display().to_string())),
            mma = self.mail.max_attempts,
            rb = d(self.mail.retry_base),
            ts = self.gdpr.trade_secrets.join(","),
            aw = d(self.gdpr.answer_within),
            ml = opt(self.metrics.listen.map(|a| a.to_string())),
            lp = self.ledger.path.display().to_string(),
            lr = if self.ledger.auto_replay { "auto" } else { "manual" },
        )
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_redacted_toml())
    }
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_database_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("owner_role", &self.owner_role)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailSettings")
            .field("transport", &self.transport)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// A database URL or key/value string as the driver reads it, rendered
/// again without its password: whatever form it was written in (spaces
/// around `=`, quoted values, percent-encoding), the secret never shows.
/// A string the driver cannot read is not shown at all.
pub fn redact_database_url(url: &str) -> String {
    // the driver fills in the default port; shown only when it differs
    const DEFAULT_PORT: u16 = 5432;
    use std::str::FromStr;
    use tokio_postgres::config::Host;
    let not_shown = || "(not a valid connection string; not shown)".to_string();
    let Ok((rest, tls)) = super::split_tls(url) else {
        return not_shown();
    };
    let Ok(c) = tokio_postgres::Config::from_str(&rest) else {
        return not_shown();
    };
    let mut out = String::from("postgres://");
    let password = if c.get_password().is_some() {
        ":***"
    } else {
        ""
    };
    match c.get_user() {
        Some(user) => out.push_str(&format!("{user}{password}@")),
        None if !password.is_empty() => out.push_str(&format!("{password}@")),
        None => {}
    }
    let ports = c.get_ports();
    let mut params = Vec::new();
    let mut tcp = Vec::new();
    for (i, host) in c.get_hosts().iter().enumerate() {
        let port = ports.get(i).or(ports.first());
        match host {
            Host::Tcp(name) => tcp.push(match port {
                Some(p) if *p != DEFAULT_PORT => format!("{name}:{p}"),
                _ => name.clone(),
            }),
            Host::Unix(dir) => params.push(format!("host={}", dir.display())),
        }
    }
    out.push_str(&tcp.join(","));
    if let Some(db) = c.get_dbname() {
        out.push_str(&format!("/{db}"));
    }
    if let Some(options) = c.get_options() {
        params.push(format!("options={options}"));
    }
    if let Some(name) = c.get_application_name() {
        params.push(format!("application_name={name}"));
    }
    if tls.mode != super::SslMode::Prefer {
        params.push(format!("sslmode={}", tls.mode.as_str()));
    }
    match &tls.roots {
        super::RootCerts::File(path) => params.push(format!("sslrootcert={}", path.display())),
        super::RootCerts::System if tls.roots_given => params.push("sslrootcert=system".into()),
        super::RootCerts::System => {}
    }
    if !params.is_empty() {
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// Replaces the password in a URL (`scheme://user:pass@host`) or in a
/// key/value connection string (`password=…`) with `***`.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        // The user information ends at the last `@`: a password may hold
        // `/`, `?`, `#` or `:` unencoded, and must never show in part.
        let (userinfo, rest) = match rest.rsplit_once('@') {
            Some((userinfo, host)) => (Some(userinfo), host),
            None => (None, rest),
        };
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (host, tail) = rest.split_at(authority_end);
        let authority = match userinfo {
            Some(userinfo) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***@{host}"),
                None => format!("{userinfo}@{host}"),
            },
            None => host.to_string(),
        };
        let tail = redact_password_params(tail, '&');
        format!("{scheme}://{authority}{tail}")
    } else {
        redact_password_params(url, ' ')
    }
}

fn redact_password_params(text: &str, separator: char) -> String {
    text.split(separator)
        .map(|part| {
            let (prefix, kv) = match part.split_once('?') {
                Some((p, kv)) if separator == '&' => (format!("{p}?"), kv),
                _ => (String::new(), part),
            };
            match kv.split_once('=') {
                Some((k, _)) if k.trim().eq_ignore_ascii_case("password") => {
                    format!("{prefix}{k}=***")
                }
                _ => format!("{prefix}{kv}"),
            }
        })
        .collect::<Vec<_>>()
        .join(&separator.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_secrets_never_show_in_any_form() {
        for url in [
            "host=db user=app password=s3cret dbname=guests",
            "host=db user=app password = s3cret dbname=guests",
            "host=db user=app password='s3cret and more' dbname=guests",
            "host=db user=app password = 's3cret\\' x' dbname=guests",
            "postgres://app:s3cret@db:5432/guests",
            "postgres://app:s3%63ret@db/guests",
            "postgres://db/guests?user=app&password=s3cret",
            "postgresql://app@db/guests?password=s3cret&application_name=x",
        ] {
            let shown = redact_database_url(url);
            assert!(!shown.contains("s3c"), "{url} -> {shown}");
            assert!(shown.contains("***"), "{url} -> {shown}");
            assert!(shown.contains("db"), "{url} -> {shown}");
        }
        assert_eq!(
            redact_database_url("postgres://app@db:5433/guests"),
            "postgres://app@db:5433/guests"
        );
        assert!(!redact_database_url("host=db password='unterminated s3cret").contains("s3c"));
    }

    #[test]
    fn redact_url_hides_password_in_userinfo() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/guests"),
            "postgres://app:***@db:5432/guests"
        );
    }

    #[test]
    fn redact_url_hides_password_query_parameter() {
        assert_eq!(
            redact_url("postgres://db/guests?user=app&password=s3cret"),
            "postgres://db/guests?user=app&password=***"
        );
    }

    #[test]
    fn redact_url_hides_password_in_key_value_form() {
        assert_eq!(
            redact_url("host=db user=app password=s3cret dbname=guests"),
            "host=db user=app password=*** dbname=guests"
        );
    }

    #[test]
    fn redact_url_keeps_urls_without_password() {
        assert_eq!(redact_url("smtp://127.0.0.1:2525"), "smtp://127.0.0.1:2525");
        assert_eq!(redact_url("smtps://user@host:465"), "smtps://user@host:465");
    }
}
