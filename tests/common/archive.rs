//! Reading an export: the ZIP's names and files (with `unzip`) and its CSVs.

use std::path::Path;
use std::process::Command;

pub fn unzip_list(zip: &Path) -> Vec<String> {
    let out = Command::new("unzip").arg("-Z1").arg(zip).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

pub fn unzip_file(zip: &Path, name: &str) -> Vec<u8> {
    let out = Command::new("unzip")
        .arg("-p")
        .arg(zip)
        .arg(name)
        .output()
        .unwrap();
    assert!(out.status.success(), "{name}");
    out.stdout
}

/// Parses one CSV of the export: BOM, header, records.
pub fn csv_of(zip: &Path, name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = unzip_file(zip, name);
    assert!(
        bytes.starts_with("\u{feff}".as_bytes()),
        "{name} starts with a BOM"
    );
    let text = String::from_utf8(bytes[3..].to_vec()).expect("UTF-8");
    assert!(text.ends_with("\r\n"), "{name}: CRLF line ends (RFC 4180)");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

pub fn field(header: &[String], row: &[String], name: &str) -> String {
    let i = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    row[i].clone()
}
