//! The tidy checks (in the manner of rust-analyzer's `tidy.rs`): tests that read the repository's own source
//! and fail the build when a rule ARCHITECTURE.md states is broken. The checks are in `tests/tidy.rs`; this
//! library is the small Rust lexer they share, so that comments, strings and test code are told apart.

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// Every `.rs` file under `dir`, sorted, skipping build output.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    files_ending_with(dir, ".rs")
}

/// Every file under `dir` whose name ends with `suffix`, sorted, skipping build output, `node_modules` and
/// hidden directories.
pub fn files_ending_with(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') && name != "node_modules" {
                    stack.push(path);
                }
            } else if name.ends_with(suffix) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// What a byte of source is part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Code,
    Comment,
    /// Inside a string or character literal (the quotes included).
    Literal,
}

/// The kind of every byte of `text` (a light lexer: line and nested block comments, normal, byte and raw
/// strings with any number of `#`, character literals told apart from lifetimes).
pub fn classify(text: &str) -> Vec<Kind> {
    let bytes = text.as_bytes();
    let mut kinds = vec![Kind::Code; bytes.len()];
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        if rest.starts_with(b"//") {
            let end = memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |n| i + n);
            kinds[i..end].fill(Kind::Comment);
            i = end;
        } else if rest.starts_with(b"/*") {
            let mut depth = 0usize;
            let start = i;
            while i < bytes.len() {
                if bytes[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if bytes[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            kinds[start..i.min(bytes.len())].fill(Kind::Comment);
        } else if let Some(hashes) = raw_string_start(bytes, i) {
            let start = i;
            let quote = bytes[i..]
                .iter()
                .position(|&b| b == b'"')
                .map_or(i, |n| i + n);
            let closing: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            i = find(&bytes[quote + 1..], &closing)
                .map_or(bytes.len(), |n| quote + 1 + n + closing.len());
            kinds[start..i].fill(Kind::Literal);
        } else if bytes[i] == b'"' {
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(bytes.len());
            kinds[start..i].fill(Kind::Literal);
        } else if bytes[i] == b'\'' {
            // A character literal ('a', '\n', '\u{..}', '"'), or a lifetime ('a without a closing quote).
            let close = if bytes.get(i + 1) == Some(&b'\\') {
                bytes[i + 2..]
                    .iter()
                    .position(|&b| b == b'\'')
                    .map(|n| i + 2 + n)
            } else {
                let width = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                (bytes.get(i + 1 + width) == Some(&b'\'')).then_some(i + 1 + width)
            };
            match close {
                Some(end) => {
                    kinds[i..=end].fill(Kind::Literal);
                    i = end + 1;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    kinds
}

fn is_ident_byte_before(bytes: &[u8], i: usize) -> bool {
    i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')
}

/// `r"`, `r#"`, `br##"`…: the number of `#`.
fn raw_string_start(bytes: &[u8], i: usize) -> Option<usize> {
    if is_ident_byte_before(bytes, i) {
        return None;
    }
    let mut j = i;
    if bytes.get(j) == Some(&b'b') {
        j += 1;
    }
    if bytes.get(j) != Some(&b'r') {
        return None;
    }
    j += 1;
    let hashes = bytes[j..].iter().take_while(|&&b| b == b'#').count();
    (bytes.get(j + hashes) == Some(&b'"')).then_some(hashes)
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The byte ranges of `#[cfg(test)]` items written inline (`#[cfg(test)] mod tests { … }`, a test-only
/// `fn` or `impl`), and the names of test-only modules declared as files (`#[cfg(test)] mod props;`).
pub fn test_only(text: &str, kinds: &[Kind]) -> (Vec<std::ops::Range<usize>>, Vec<String>) {
    let mut ranges = Vec::new();
    let mut files = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("#[cfg(test)]") {
        let start = from + at;
        from = start + 1;
        if kinds[start] != Kind::Code {
            continue;
        }
        let after = &text[start + "#[cfg(test)]".len()..];
        let item = after.trim_start();
        let item_start = text.len() - item.len();
        // `mod name;`: a file of its own.
        if let Some(declared) = item
            .strip_prefix("pub ")
            .unwrap_or(item)
            .strip_prefix("mod ")
            .and_then(|rest| rest.split_once(';'))
            .filter(|(name, _)| name.chars().all(|c| c.is_alphanumeric() || c == '_'))
        {
            files.push(declared.0.to_string());
            continue;
        }
        // Otherwise the item runs to its matching closing brace (or its `;`).
        let mut depth = 0usize;
        let mut end = text.len();
        for (offset, byte) in text.as_bytes()[item_start..].iter().enumerate() {
            let at = item_start + offset;
            if kinds[at] != Kind::Code {
                continue;
            }
            match byte {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = at + 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    end = at + 1;
                    break;
                }
                _ => {}
            }
        }
        ranges.push(start..end);
    }
    (ranges, files)
}

/// The line (1-based) of byte `at`.
pub fn line_of(text: &str, at: usize) -> usize {
    text[..at].bytes().filter(|&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds_of(text: &str) -> String {
        classify(text)
            .iter()
            .map(|k| match k {
                Kind::Code => 'c',
                Kind::Comment => '/',
                Kind::Literal => '"',
            })
            .collect()
    }

    #[test]
    fn tells_comments_strings_and_code_apart() {
        assert_eq!(kinds_of(r#"a // b"#), "cc////");
        assert_eq!(kinds_of(r#"x("//")"#), "cc\"\"\"\"c");
        assert_eq!(kinds_of("'a' 'b"), "\"\"\"ccc");
        assert_eq!(kinds_of(r##"r#"a"b"#;"##), "\"\"\"\"\"\"\"\"c");
        assert_eq!(kinds_of(r#"/* /* */ */x"#), "///////////c");
        assert_eq!(kinds_of(r#""\"" c"#), "\"\"\"\"cc");
    }

    #[test]
    fn finds_test_only_code() {
        let text = "fn a() {}\n#[cfg(test)]\nmod tests {\n fn b() { x.unwrap(); }\n}\nfn c() {}\n#[cfg(test)]\nmod props;\n";
        let kinds = classify(text);
        let (ranges, files) = test_only(text, &kinds);
        assert_eq!(ranges.len(), 1);
        assert!(text[ranges[0].clone()].ends_with("}\n}"));
        assert_eq!(files, ["props"]);
    }
}
