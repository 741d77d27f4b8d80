//! The keys' table against validation and check-config.

use super::*;
use crate::settings::Settings;

/// A settings file with `name = value` and the required URL.
fn with(name: &str, value: &str) -> String {
    let (section, key) = name.split_once('.').unwrap();
    let mut text = String::from("[database]\nurl = \"postgres://app@db/guests\"\n");
    if section == "database" {
        text.push_str(&format!("{key} = {value:?}\n"));
    } else {
        text.push_str(&format!("[{section}]\n{key} = {value:?}\n"));
    }
    text
}

fn refused(name: &str, value: &str) -> String {
    match Settings::from_toml(&with(name, value)) {
        Ok(_) => panic!("{name} = {value:?} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_default_is_valid_as_written() {
    for k in KEYS {
        if let Some(default) = k.default {
            Settings::from_toml(&with(k.name, default))
                .unwrap_or_else(|e| panic!("{} = {default:?}: {e}", k.name));
        }
    }
}

#[test]
fn check_config_prints_exactly_the_defined_keys() {
    let settings = Settings::from_toml(&with("batch.size", "1000")).unwrap();
    let mut section = "";
    let mut printed = Vec::new();
    for line in settings.to_redacted_toml().lines() {
        if let Some(s) = line.strip_prefix('[') {
            section = s.trim_end_matches(']');
        } else if let Some((key, _)) = line.split_once(" = ") {
            printed.push(format!("{section}.{key}"));
        }
    }
    let defined: Vec<String> = KEYS.iter().map(|k| k.name.to_string()).collect();
    printed.sort();
    let mut sorted = defined.clone();
    sorted.sort();
    assert_eq!(printed, sorted);
    for k in KEYS {
        assert!(SECTIONS.contains(&k.section()), "{}", k.name);
    }
}

#[test]
fn validation_refuses_what_the_ranges_exclude() {
    for k in KEYS {
        match k.kind {
            Kind::Integer { min, max } => {
                assert!(refused(k.name, &(max + 1).to_string()).contains(k.name));
                assert!(refused(k.name, &(min - 1).to_string()).contains(k.name));
                Settings::from_toml(&with(k.name, &max.to_string())).unwrap();
                Settings::from_toml(&with(k.name, &min.to_string())).unwrap();
            }
            Kind::Duration { min, max } => {
                if let Some(max) = max {
                    let over = short(max + Duration::from_secs(1));
                    assert!(refused(k.name, &over).contains(k.name), "{}", k.name);
                }
                if min.is_zero() {
                    Settings::from_toml(&with(k.name, "0s")).unwrap();
                } else {
                    assert!(refused(k.name, "0s").contains(k.name), "{}", k.name);
                }
            }
            Kind::Choice(words) => {
                for w in words {
                    // smtp needs a URL, file a directory: other keys' problems
                    if let Err(e) = Settings::from_toml(&with(k.name, w)) {
                        assert!(!e.to_string().contains(&format!("- {} = ", k.name)), "{e}");
                    }
                }
                let e = refused(k.name, "nonsense");
                assert!(e.contains(&one_of(words)), "{e}");
            }
            Kind::Boolean => {
                Settings::from_toml(&with(k.name, "true")).unwrap();
                Settings::from_toml(&with(k.name, "false")).unwrap();
                let e = refused(k.name, "yes");
                assert!(e.contains(k.name) && e.contains("true or false"), "{e}");
            }
            _ => {}
        }
    }
}

#[test]
fn an_undefined_key_is_refused() {
    assert!(refused("batch.sise", "10").contains("sise"));
}
