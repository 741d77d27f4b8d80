//! retentiond.toml(5), written from [`KEYS`], the definitions validation
//! takes its defaults and ranges from: the page cannot list a key, a
//! default or a range the binary does not have.

use super::roff::{bold, italic, Roff};
use super::{see_also, title, Page};
use crate::settings::keys::{Key, Kind, KEYS, SECTIONS};
use crate::settings::DEFAULT_CONFIG_PATH;

const DESCRIPTION: &str = "\
retentiond reads its settings from one TOML file, --config PATH or the default path \
(a missing default file is fine), overlaid by environment variables \
RETENTIOND__SECTION__KEY, which win. Values are TOML strings, numbers or booleans. \
Every value is validated at start-up: each problem names the key, the value and what \
is expected, all problems at once, and the process exits with 2. Unknown keys are errors.

retentiond check-config prints the effective settings with every secret replaced by \
***; retentiond check-config --quiet only validates (systemctl reload runs it before \
it signals the daemon). The daemon re-reads the file on SIGHUP; log settings and \
metrics.listen take effect at the next start.

Durations are written as a number with a unit: 200ms, 5s, 10m, 1h 30m, 14d. Secrets \
(the database and SMTP passwords) belong in files handed over by systemd \
(LoadCredential=), not in this file, which admins in the group retentiond may read.";

const EXAMPLE: &[&str] = &[
    "[database]",
    "url = \"postgres://retentiond@db.example.com/guests?sslmode=verify-full\"",
    "password_file = \"/etc/retentiond/db-password\"",
    "",
    "[schedule]",
    "nightly_at = \"02:30\"",
    "window = \"3h\"",
    "",
    "[mail]",
    "transport = \"smtp\"",
    "smtp_url = \"smtps://retentiond@mail.example.com:465\"",
    "from = \"Retention <retention@example.com>\"",
    "",
    "[metrics]",
    "listen = \"127.0.0.1:9464\"",
];

/// retentiond.toml(5).
pub(super) fn page() -> Page {
    let mut r = Roff::default();
    title(&mut r, "retentiond.toml", "5");
    r.section("NAME");
    r.text("retentiond.toml - settings of retentiond");
    r.section("SYNOPSIS");
    r.formatted(&format!(
        "{}, {}",
        italic(DEFAULT_CONFIG_PATH),
        italic("/etc/retentiond/INSTANCE.toml")
    ));
    r.section("DESCRIPTION");
    r.paragraphs(DESCRIPTION);
    r.section("SETTINGS");
    for section in SECTIONS {
        r.request("SS", &[&format!("[{section}]")]);
        for key in KEYS.iter().filter(|k| k.section() == *section) {
            setting(&mut r, key);
        }
    }
    r.section("ENVIRONMENT");
    r.item(
        &bold("RETENTIOND_CONFIG"),
        "The settings file, when --config is not given.",
    );
    r.item(
        &format!(
            "{}{}{}{}",
            bold("RETENTIOND__"),
            italic("SECTION"),
            bold("__"),
            italic("KEY")
        ),
        "One key, in upper case: RETENTIOND__BATCH__SIZE=500 sets batch.size.",
    );
    r.item(
        &bold("RUST_LOG"),
        "A tracing filter that wins over log.level.",
    );
    r.section("FILES");
    r.item(
        &italic(DEFAULT_CONFIG_PATH),
        "The settings of the daemon retentiond.service and of the commands (0640 \
         root:retentiond).",
    );
    r.item(
        &italic("/etc/retentiond/INSTANCE.toml"),
        "The settings of retentiond@INSTANCE.service, one daemon per database on a host, \
         each with its own metrics.listen port.",
    );
    r.section("EXAMPLES");
    r.verbatim(EXAMPLE.iter().copied());
    see_also(
        &mut r,
        &[
            "retentiond(1)".into(),
            "retentiond-serve(1)".into(),
            "retentiond-check-config(1)".into(),
        ],
    );
    Page {
        name: "retentiond.toml".into(),
        section: 5,
        source: r.finish(),
    }
}

/// One key: its name and type, what it does, its default and variable.
fn setting(r: &mut Roff, key: &Key) {
    r.request("TP", &[]);
    r.formatted(&format!(
        "{} ({})",
        bold(key.short()),
        italic(&key.kind.describe())
    ));
    r.text(key.doc);
    let default = match (key.default, key.kind) {
        (Some(d), _) => format!("Default: {}.", bold(d)),
        (None, Kind::DatabaseUrl) => "Required.".to_string(),
        (None, _) => "Not set by default.".to_string(),
    };
    r.formatted(&format!("{default} Environment: {}.", bold(&key.env())));
}
