//! The vocabulary every layer shares: guest types, protocol actions, run
//! kinds and statuses, pending actions and statuses, blockers, mail kinds,
//! locales, erasure request statuses, and the daemon's actor. Each is an
//! enum with one `as_str` for JSON and the protocol; `src/db` parses what
//! the database holds into them. In Rust the strings appear nowhere else
//! (the SQL of `sql/` spells them where it must, e.g. in CHECK constraints).

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::error::Error;

/// Defines a unit enum whose variants have one fixed name each, with
/// `ALL`, `as_str`, `Display`, `FromStr` and `Serialize` (as the name).
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, in the order reports list them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name used in SQL, JSON and the protocol.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self, Error> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| {
                        Error::Invalid(format!(
                            "unknown {} {s:?}: expected one of {}",
                            $what,
                            $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                        ))
                    })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

/// The actor of what the daemon does by itself in the protocol (scheduled
/// runs, runs found dead, mails given up); people's commands record their
/// `--actor` label and their database login.
pub const DAEMON_ACTOR: &str = "retentiond";

named_enum! {
    /// The five kinds of guest data, each with its own retention period.
    GuestType, "guest type" {
        /// Active newsletter subscription, no sale, not verified.
        NewsletterSubscriber => "newsletter_subscriber",
        /// No newsletter, no sale, not verified.
        GuestWithoutSale => "guest_without_sale",
        /// At least one sale, no company, not verified.
        Guest => "guest",
        /// Marked verified.
        RegularGuest => "regular_guest",
        /// At least one sale and a company entered.
        CompanyGuest => "company_guest",
    }
}

named_enum! {
    /// What a row of the action protocol records.
    Action, "action" {
        /// A guest's personal data was anonymized.
        GuestAnonymized => "guest_anonymized",
        /// A newsletter subscription ended with the anonymization or a request.
        NewsletterUnsubscribed => "newsletter_unsubscribed",
        /// A company guest's fiscal data was erased at its fiscal deadline.
        FiscalDataErased => "fiscal_data_erased",
        /// A retention period was set or removed.
        PolicyChanged => "policy_changed",
        /// A branch's settings changed.
        SettingsChanged => "settings_changed",
        /// A run started.
        RunStarted => "run_started",
        /// A run ended.
        RunFinished => "run_finished",
        /// The guard held a branch.
        RunHeld => "run_held",
        /// A mail was given up.
        MailFailed => "mail_failed",
        /// A data subject export was handed out.
        ExportCreated => "export_created",
        /// A guest asked to be erased.
        ErasureRequested => "erasure_requested",
        /// A second person approved an erasure request.
        ErasureApproved => "erasure_approved",
        /// An erasure request was rejected.
        ErasureRejected => "erasure_rejected",
        /// The requester withdrew an erasure request.
        ErasureWithdrawn => "erasure_withdrawn",
        /// A legal hold was placed on a guest or a branch.
        HoldPlaced => "hold_placed",
        /// A legal hold was released.
        HoldReleased => "hold_released",
        /// Deleting work was paused (for a branch or every branch).
        Paused => "paused",
        /// A pause was ended by hand.
        Resumed => "resumed",
        /// A pause reached its time and ended by itself.
        PauseEnded => "pause_ended",
        /// How anonymization treats a column of the guest data was decided.
        ColumnDecided => "column_decided",
        /// The database was found behind the ledger (a restore or a rewind).
        RestoreDetected => "restore_detected",
        /// An approved erasure lost with a restore was applied again.
        ErasureReplayed => "erasure_replayed",
    }
}

named_enum! {
    /// Who started a run.
    RunKind, "run kind" {
        /// The daemon's nightly run.
        Scheduled => "scheduled",
        /// An admin's catch-up run (`retentiond run`).
        Manual => "manual",
    }
}

named_enum! {
    /// How a run ended (or that it is still going).
    RunStatus, "run status" {
        /// Still working, or ended by a crash nobody has noticed yet.
        Running => "running",
        /// Everything due was done.
        Completed => "completed",
        /// The window ended or rows were locked: the rest waits for the next run.
        Partial => "partial",
        /// The guard held every branch of the run; nothing was changed.
        Held => "held",
        /// Shutdown was asked, or the run died: the rest waits for the next run.
        Interrupted => "interrupted",
        /// An error ended the run.
        Failed => "failed",
    }
}

named_enum! {
    /// The two things that can be due for a guest.
    PendingAction, "pending action" {
        /// Personal data is anonymized.
        Anonymize => "anonymize",
        /// A company guest's fiscal data is erased.
        EraseFiscal => "erase_fiscal",
    }
}

named_enum! {
    /// Where a due action stands in the pending report.
    PendingStatus, "pending status" {
        /// The deadline has passed.
        Overdue => "overdue",
        /// The deadline falls inside the window.
        DueSoon => "due_soon",
        /// Due, but a blocker stops it.
        Blocked => "blocked",
        /// No period is configured: never done.
        NotConfigured => "not_configured",
    }
}

named_enum! {
    /// Why a due guest may not be touched.
    BlockReason, "blocker" {
        /// The guest, or its branch, is under a legal hold.
        LegalHold => "legal_hold",
        /// The guest has an invoice that is not paid.
        UnpaidInvoice => "unpaid_invoice",
    }
}

named_enum! {
    /// The mails the outbox carries.
    MailKind, "mail kind" {
        /// The daily pending summary of a branch.
        PendingSummary => "pending_summary",
        /// The summary of a run, per branch.
        CompletedSummary => "completed_summary",
        /// `mail-test`.
        Test => "test",
    }
}

named_enum! {
    /// The language of a branch's mails.
    Locale, "locale" {
        /// German.
        De => "de",
        /// English.
        En => "en",
    }
}

named_enum! {
    /// Where an erasure request stands.
    RequestStatus, "request status" {
        /// Waiting for a second person.
        Open => "open",
        /// Approved: the guest was anonymized.
        Approved => "approved",
        /// Rejected: no guest data changed.
        Rejected => "rejected",
        /// Withdrawn by its requester: no decision.
        Withdrawn => "withdrawn",
    }
}

/// A seal of the protocol's hash chain (migration 12), named by the
/// highest protocol row id it covers: `ROW:SHA256-HEX`. Published in the
/// completed-run mails and log lines; `protocol verify --seal` checks one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seal {
    /// The highest protocol row id the seal covers.
    pub row_id: i64,
    /// The chain's SHA-256 after that row.
    pub hash: [u8; 32],
}

impl fmt::Display for Seal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.row_id)?;
        self.hash.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl Serialize for Seal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl FromStr for Seal {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || {
            Error::Invalid(format!(
                "{s:?} is not a seal: expected ROW:HASH as printed in a completed-run mail, \
                 e.g. 4711:{}",
                "0f".repeat(32)
            ))
        };
        let (row, hex) = s.trim().split_once(':').ok_or_else(bad)?;
        let row_id = row.parse::<i64>().map_err(|_| bad())?;
        if hex.len() != 64 || !hex.is_ascii() {
            return Err(bad());
        }
        let mut hash = [0u8; 32];
        for (i, byte) in hash.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Seal { row_id, hash })
    }
}

impl Seal {
    /// A seal from a row id and the hash as the database stores it.
    pub fn new(row_id: i64, hash: &[u8]) -> Option<Seal> {
        Some(Seal {
            row_id,
            hash: hash.try_into().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_its_variant() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), *a);
        }
        for t in GuestType::ALL {
            assert_eq!(t.to_string().parse::<GuestType>().unwrap(), *t);
        }
    }

    #[test]
    fn unknown_name_lists_the_allowed_ones() {
        let e = "visitor".parse::<GuestType>().unwrap_err().to_string();
        assert!(e.contains("unknown guest type \"visitor\""), "{e}");
        assert!(e.contains("company_guest"), "{e}");
    }

    #[test]
    fn enums_serialize_as_their_names() {
        assert_eq!(
            serde_json::to_string(&RunStatus::Interrupted).unwrap(),
            "\"interrupted\""
        );
        let mut counts = std::collections::BTreeMap::new();
        counts.insert(Action::GuestAnonymized, 1);
        assert_eq!(
            serde_json::to_string(&counts).unwrap(),
            r#"{"guest_anonymized":1}"#
        );
    }

    #[test]
    fn a_seal_prints_and_parses_back() {
        let seal = Seal {
            row_id: 4711,
            hash: [0xab; 32],
        };
        let text = seal.to_string();
        assert_eq!(text, format!("4711:{}", "ab".repeat(32)));
        assert_eq!(text.parse::<Seal>().unwrap(), seal);
        for bad in [
            "4711",
            "x:ab",
            "4711:abc",
            &format!("4711:{}", "zz".repeat(32)),
        ] {
            let e = bad.parse::<Seal>().unwrap_err().to_string();
            assert!(e.contains("is not a seal"), "{e}");
        }
    }
}
