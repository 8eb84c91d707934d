//! Looking inside files: every file under a directory, canaries in them, CSV rows.

use std::path::{Path, PathBuf};

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Which canaries appear anywhere in the files under `dir`, in UTF-8 or UTF-16LE.
pub fn canaries_found(dir: &Path, canaries: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files_under(dir) {
        let bytes = std::fs::read(&file).unwrap();
        for canary in canaries {
            for needle in [canary.as_bytes().to_vec(), utf16le(canary)] {
                if bytes.windows(needle.len()).any(|w| w == needle.as_slice()) {
                    found.push(format!("{canary:?} in {}", file.display()));
                }
            }
        }
    }
    found
}

/// Parses CSV bytes with a standard reader into rows of strings.
pub fn parse_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}
