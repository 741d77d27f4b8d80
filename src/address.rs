//! Mail addresses: checking a list an admin typed, and masking addresses for
//! logs, the protocol and `outbox list` (`m***@example.com`).

use crate::error::{Error, Result};

/// Splits and checks a comma-separated address list. A bad address is named
/// with its 1-based position.
pub fn parse_list(list: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    if list.trim().is_empty() {
        return Ok(out);
    }
    for (i, raw) in list.split(',').enumerate() {
        let address = raw.trim();
        match address.parse::<lettre::message::Mailbox>() {
            Ok(m) if !address.is_empty() => out.push(m.to_string()),
            Ok(_) | Err(_) => {
                return Err(Error::Invalid(format!(
                    "notification address {} of {} ({address:?}) is not a valid mailbox: \
                     expected e.g. manager@example.com; nothing was saved",
                    i + 1,
                    list.split(',').count()
                )))
            }
        }
    }
    Ok(out)
}

/// Shortens an address: `m***@example.com`.
pub fn mask(address: &str) -> String {
    let bare = address
        .rsplit_once('<')
        .map(|(_, a)| a.trim_end_matches('>'))
        .unwrap_or(address);
    match bare.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

/// `a***@example.com, b***@example.org`.
pub fn mask_all(addresses: &[String]) -> String {
    addresses
        .iter()
        .map(|a| mask(a))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Masks every mail address in a text (server answers may quote them).
pub fn mask_in_text(text: &str) -> String {
    text.split_inclusive(|c: char| c.is_whitespace())
        .map(|word| {
            let trimmed = word.trim_end();
            let core = trimmed.trim_matches(|c: char| {
                matches!(c, '<' | '>' | ',' | ';' | '(' | ')' | '"' | '\'')
            });
            if core.contains('@') {
                word.replace(core, &mask(core))
            } else {
                word.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_split_and_trimmed() {
        let a = parse_list("a@example.com, b@example.org").unwrap();
        assert_eq!(a, vec!["a@example.com", "b@example.org"]);
    }

    #[test]
    fn bad_address_is_named_with_its_position() {
        let e = parse_list("a@example.com,not-an-address,c@example.com").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("address 2 of 3"), "{text}");
        assert!(text.contains("not-an-address"), "{text}");
    }

    #[test]
    fn empty_entry_in_the_list_is_rejected() {
        assert!(parse_list("a@example.com,,b@example.com").is_err());
    }

    #[test]
    fn masked_address_keeps_first_letter_and_domain() {
        assert_eq!(mask("manager@example.com"), "m***@example.com");
        assert_eq!(mask("Max <max@example.com>"), "m***@example.com");
    }

    #[test]
    fn addresses_in_server_answers_are_masked() {
        assert_eq!(
            mask_in_text("550 5.1.1 <manager@example.com>: Recipient address rejected"),
            "550 5.1.1 <m***@example.com>: Recipient address rejected"
        );
        assert_eq!(mask_in_text("no address here"), "no address here");
    }
}
