//! What `--help` shows after the options and the manual pages show in
//! EXAMPLES and EXIT STATUS, defined once per command.

/// Examples and exit codes of one command.
pub struct Page {
    /// The command's words after `retentiond` (`""`: the program itself).
    pub command: &'static str,
    /// Whole command lines.
    pub examples: &'static [&'static str],
    /// Exit codes and what each means; empty: [`EXIT_CODES`].
    pub exit: &'static [(u8, &'static str)],
}

/// The exit codes of a command that has none of its own.
pub const EXIT_CODES: &[(u8, &str)] = &[
    (0, "success"),
    (
        1,
        "failure: the database is unreachable, its schema does not match, a mail was not \
         delivered, or another operation failed",
    ),
    (2, "bad usage, bad input or invalid settings"),
];

/// Every command with examples or exit codes of its own.
pub static PAGES: &[Page] = &[
    Page {
        command: "",
        examples: &[
            "retentiond migrate",
            "retentiond policy set --branch 1 --type guest --period '3 years'",
            "retentiond settings set --branch 1 --auto-delete on --notify manager@example.com",
            "retentiond pending --branch 1",
            "retentiond classify --guest 4711 --format json",
            "retentiond protocol --branch 1 --since 2026-11-01",
            "retentiond run --branch 1 --dry-run",
            "retentiond serve",
            "retentiond status --format json",
            "retentiond export --guest 4711 --out guest-4711.zip",
            "retentiond erasure request --guest 4711 --reason 'e-mail of 2026-11-20'",
            "retentiond notify pending --branch 1",
            "retentiond outbox",
            "retentiond mail-test --to manager@example.com",
        ],
        exit: &[
            (0, "success"),
            (
                1,
                "failure: the database is unreachable, its schema does not match, a run \
                 failed or was interrupted, a mail was not delivered, or another operation \
                 failed",
            ),
            (2, "bad usage, bad input or invalid settings"),
            (
                3,
                "status found something that needs attention, or protocol verify found the \
                 protocol tampered with",
            ),
        ],
    },
    Page {
        command: "serve",
        examples: &[
            "systemctl enable --now retentiond",
            "systemctl enable --now retentiond@eu",
            "retentiond serve --config /etc/retentiond/eu.toml",
        ],
        exit: &[
            (
                0,
                "stopped by SIGTERM or SIGINT (also while it waited for the database)",
            ),
            (
                1,
                "it could not start: the metrics address is in use, the async runtime or the \
                 scheduler failed",
            ),
            (
                2,
                "invalid settings or a bad WATCHDOG_USEC; the unit does not restart it \
                 (RestartPreventExitStatus=2)",
            ),
        ],
    },
    Page {
        command: "migrate",
        examples: &["RETENTIOND__DATABASE__URL=postgres://owner@db/guests retentiond migrate"],
        exit: &[],
    },
    Page {
        command: "grant",
        examples: &["retentiond grant --role retentiond"],
        exit: &[],
    },
    Page {
        command: "check-config",
        examples: &[
            "retentiond check-config",
            "retentiond check-config --quiet --config /etc/retentiond/eu.toml",
        ],
        exit: &[
            (0, "the settings are valid"),
            (2, "they are not; every problem is named with its key"),
        ],
    },
    Page {
        command: "man",
        examples: &["retentiond man --dir /usr/share/man"],
        exit: &[
            (0, "written"),
            (1, "a page could not be written"),
            (2, "bad usage"),
        ],
    },
    Page {
        command: "completions",
        examples: &[
            "retentiond completions bash > /usr/share/bash-completion/completions/retentiond",
        ],
        exit: &[(0, "written"), (2, "bad usage")],
    },
    Page {
        command: "demo-data",
        examples: &["retentiond demo-data --guests 100000 --branches 4"],
        exit: &[],
    },
    Page {
        command: "policy set",
        examples: &["retentiond policy set --branch 1 --type company_guest --period '10 years'"],
        exit: &[],
    },
    Page {
        command: "policy unset",
        examples: &["retentiond policy unset --branch 2 --type guest --actor alice"],
        exit: &[],
    },
    Page {
        command: "policy show",
        examples: &["retentiond policy show --branch 2 --format json"],
        exit: &[],
    },
    Page {
        command: "settings set",
        examples: &[
            "retentiond settings set --branch 2 --auto-delete on --notify \
             'a@example.com,b@example.com'",
        ],
        exit: &[],
    },
    Page {
        command: "settings show",
        examples: &[
            "retentiond settings show",
            "retentiond settings show --branch 2 --format json",
        ],
        exit: &[],
    },
    Page {
        command: "classify",
        examples: &["retentiond classify --guest 4711 --format json"],
        exit: &[],
    },
    Page {
        command: "pending",
        examples: &[
            "retentiond pending",
            "retentiond pending --branch 2 --within 30d --guests",
            "retentiond pending --at 2027-01-01 --format json",
        ],
        exit: &[],
    },
    Page {
        command: "run",
        examples: &[
            "retentiond run --dry-run",
            "retentiond run --branch 2",
            "retentiond run --branch 2 --yes --actor alice",
        ],
        exit: &[
            (0, "done, nothing due, or declined at the prompt"),
            (
                1,
                "failed, interrupted, or a branch was skipped because another run held it",
            ),
            (
                2,
                "bad usage or settings; also no terminal to confirm on and no --yes",
            ),
        ],
    },
    Page {
        command: "export",
        examples: &["retentiond export --guest 4711 --out guest-4711.zip"],
        exit: &[],
    },
    Page {
        command: "erasure request",
        examples: &[
            "retentiond erasure request --guest 4711 --reason 'e-mail of 2026-11-20' --actor alice",
        ],
        exit: &[],
    },
    Page {
        command: "erasure list",
        examples: &[
            "retentiond erasure list",
            "retentiond erasure list --all --format json",
        ],
        exit: &[],
    },
    Page {
        command: "erasure withdraw",
        examples: &["retentiond erasure withdraw --request 3 --actor alice"],
        exit: &[],
    },
    Page {
        command: "erasure reject",
        examples: &[
            "retentiond erasure reject --request 3 --reason 'invoice still open' --actor bob",
        ],
        exit: &[],
    },
    Page {
        command: "erasure approve",
        examples: &["retentiond erasure approve --request 3 --actor bob"],
        exit: &[
            (0, "approved: the guest is anonymized"),
            (1, "a blocker stands (named), or the database failed"),
            (
                2,
                "bad usage, no such request, or the login that asked tried to decide it",
            ),
        ],
    },
    Page {
        command: "pause",
        examples: &[
            "retentiond pause --reason 'incident 2026-12-02, see ticket 4711' --until 2026-12-09",
            "retentiond pause --branch 3 --reason 'POS migration' --until 2026-12-05T06:00:00+01:00",
        ],
        exit: &[],
    },
    Page {
        command: "resume",
        examples: &["retentiond resume", "retentiond resume --branch 3 --actor alice"],
        exit: &[],
    },
    Page {
        command: "columns show",
        examples: &["retentiond columns show", "retentiond columns show --format json"],
        exit: &[],
    },
    Page {
        command: "columns set",
        examples: &[
            "retentiond columns set --column guests.allergies --handling anonymize",
            "retentiond columns set --column reservations.table_no --handling keep --actor alice",
        ],
        exit: &[],
    },
    Page {
        command: "hold add",
        examples: &[
            "retentiond hold add --guest 4711 --reason 'tax audit 2026/17' --until 2027-06-30",
            "retentiond hold add --branch 3 --reason 'lawsuit LG Köln 12 O 345/26' --actor alice",
        ],
        exit: &[],
    },
    Page {
        command: "hold list",
        examples: &[
            "retentiond hold list",
            "retentiond hold list --all --format json",
        ],
        exit: &[],
    },
    Page {
        command: "hold release",
        examples: &["retentiond hold release --hold 2 --actor alice"],
        exit: &[],
    },
    Page {
        command: "replay",
        examples: &[
            "retentiond replay --dry-run",
            "retentiond replay --format json",
            "retentiond replay --confirm-restore --actor alice",
        ],
        exit: &[
            (0, "nothing left to replay, or all replayed"),
            (1, "the database cannot be read or written"),
            (
                2,
                "bad usage or settings, a ledger of another database, or one whose seals the \
                 database holds none of (without --confirm-restore)",
            ),
            (
                3,
                "the ledger is broken, the protocol was rewritten, or an erasure could not be \
                 replayed yet (blocked, paused, locked): it is tried again",
            ),
        ],
    },
    Page {
        command: "status",
        examples: &["retentiond status --format json"],
        exit: &[
            (0, "all well"),
            (1, "the state cannot be read (database unreachable)"),
            (2, "bad usage or settings"),
            (
                3,
                "something needs attention: a failed or interrupted last run, a run that \
                 died, a missed night, a branch held by the guard, mails given up in the last \
                 7 days, an unknown time zone, a schema that does not match, a database behind \
                 the ledger, a broken ledger or one 15 minutes behind the newest seal, guests a \
                 restore brought back that are overdue",
            ),
        ],
    },
    Page {
        command: "notify pending",
        examples: &["retentiond notify pending --branch 2"],
        exit: &[],
    },
    Page {
        command: "outbox",
        examples: &[
            "retentiond outbox",
            "retentiond outbox --all --format json",
            "retentiond outbox flush",
        ],
        exit: &[],
    },
    Page {
        command: "outbox list",
        examples: &["retentiond outbox list --all --limit 20"],
        exit: &[],
    },
    Page {
        command: "outbox flush",
        examples: &["retentiond outbox flush --format json"],
        exit: &[],
    },
    Page {
        command: "mail-test",
        examples: &["retentiond mail-test --to manager@example.com"],
        exit: &[],
    },
    Page {
        command: "protocol",
        examples: &[
            "retentiond protocol --guest 4711",
            "retentiond protocol --since 2026-11-01 --format ndjson > protocol.ndjson",
        ],
        exit: &[],
    },
    Page {
        command: "protocol verify",
        examples: &[
            "retentiond protocol verify",
            "retentiond protocol verify --seal \
             4711:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "retentiond protocol verify --ledger /mnt/backup/var/lib/retentiond/ledger",
        ],
        exit: &[
            (0, "the chain holds (and carries the seal given)"),
            (1, "the protocol cannot be read"),
            (
                2,
                "bad usage, a seal that does not parse, or a ledger of another database (or \
                 one whose seals the database holds none of)",
            ),
            (
                3,
                "tampered with or lost: the first problem is named (a row changed, removed, \
                 doubled or inserted outside the chain, a seal or the head removed or forged, a \
                 seal of the ledger missing or different, seals lost with a restore, a replay \
                 the ledger does not hold, a broken ledger); no row is vouched for unless the \
                 seal given matched",
            ),
        ],
    },
    Page {
        command: "report",
        examples: &[
            "retentiond report --year 2026 --out retention-2026.html",
            "retentiond report --year 2026 --branch 2 --locale en --out branch-2.html --format json",
        ],
        exit: &[
            (0, "written"),
            (
                1,
                "the database is unreachable, its schema does not match, or the file could not \
                 be written",
            ),
            (2, "bad usage, an unknown branch, or the file exists and --force was not given"),
            (
                3,
                "written, but the protocol's hash chain does not hold (the report says where it \
                 breaks)",
            ),
        ],
    },
];

/// The page of `command`, if it has one.
pub fn page(command: &str) -> Option<&'static Page> {
    PAGES.iter().find(|p| p.command == command)
}

/// The exit codes of `command`.
pub fn exit_codes(command: &str) -> &'static [(u8, &'static str)] {
    match page(command) {
        Some(p) if !p.exit.is_empty() => p.exit,
        _ => EXIT_CODES,
    }
}

/// What `--help` shows after the options: the examples, and the exit codes
/// where the command has its own.
pub fn epilogue(command: &str) -> String {
    let mut text = String::new();
    if let Some(p) = page(command) {
        if !p.examples.is_empty() {
            text.push_str(if p.examples.len() == 1 {
                "Example:\n"
            } else {
                "Examples:\n"
            });
            for e in p.examples {
                text.push_str(&format!("  {e}\n"));
            }
        }
        if !p.exit.is_empty() {
            text.push_str("\nExit codes:\n");
            for (code, meaning) in p.exit {
                text.push_str(&format!("  {code}  {meaning}\n"));
            }
        }
    }
    if command.is_empty() {
        text.push_str(
            "\nSettings come from --config (default /etc/retentiond/retentiond.toml) and\n\
             RETENTIOND__SECTION__KEY environment variables, e.g. RETENTIOND__DATABASE__URL.\n\
             Manual: man retentiond, man retentiond.toml, man retentiond-COMMAND.",
        );
    }
    text.trim_end().to_string()
}
