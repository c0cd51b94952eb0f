//! The rules ARCHITECTURE.md states, checked on the source (see `tidy`'s lib for the lexer). Each check lists
//! every offender with its file and line.

use std::path::{Path, PathBuf};

use tidy::{Kind, classify, line_of, root, rust_files, test_only};

/// Crates that exist for tests only: their code is test code.
const TEST_SUPPORT_CRATES: &[&str] = &["testkit", "webtest", "tidy"];

/// Where SQL may be written besides the areas' `repo.rs` (or `repo/`) files: the database layer itself, the
/// audit log every area writes through, and the readings store, whose modules are its repository
/// (ARCHITECTURE.md, "Storage").
const SQL_HOMES: &[&str] = &[
    "crates/kernel/src/db.rs",
    "crates/kernel/src/audit.rs",
    "crates/readings/src/store.rs",
    "crates/readings/src/store/postgres.rs",
    "crates/readings/src/rollup.rs",
    "crates/readings/src/audit.rs",
    "crates/readings/src/retention.rs",
];

/// A source file with what of it is code that serves users (not tests).
struct Source {
    path: PathBuf,
    relative: String,
    text: String,
    kinds: Vec<Kind>,
    /// Byte ranges that are test-only code.
    test_ranges: Vec<std::ops::Range<usize>>,
    /// The whole file is test code (a test-only module file, a test-support crate, tests/, benches/, …).
    test_file: bool,
}

impl Source {
    fn is_production(&self, at: usize) -> bool {
        !self.test_file && !self.test_ranges.iter().any(|r| r.contains(&at))
    }

    fn line(&self, at: usize) -> usize {
        line_of(&self.text, at)
    }

    fn crate_dir(&self) -> PathBuf {
        let mut parts = self.relative.split('/');
        match (parts.next(), parts.next()) {
            (Some("crates"), Some(name)) => root().join("crates").join(name),
            _ => root(),
        }
    }
}

/// Every Rust file of the workspace (crates/ and fuzz/), classified.
fn sources() -> Vec<Source> {
    let root = root();
    let mut files: Vec<PathBuf> = rust_files(&root.join("crates"));
    files.extend(rust_files(&root.join("fuzz")));
    let mut sources: Vec<Source> = files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let kinds = classify(&text);
            let relative = path
                .strip_prefix(&root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let parts: Vec<&str> = relative.split('/').collect();
            let test_file = relative.starts_with("fuzz/")
                || parts
                    .get(1)
                    .is_some_and(|c| TEST_SUPPORT_CRATES.contains(c))
                || parts
                    .iter()
                    .any(|p| matches!(*p, "tests" | "benches" | "examples"))
                || relative.ends_with("/build.rs");
            let (test_ranges, _) = test_only(&text, &kinds);
            Source {
                path,
                relative,
                text,
                kinds,
                test_ranges,
                test_file,
            }
        })
        .collect();
    // Files declared as `#[cfg(test)] mod name;` are test code too.
    let mut test_modules = Vec::new();
    for source in &sources {
        let (_, declared) = test_only(&source.text, &source.kinds);
        let dir = source.path.parent().unwrap_or(Path::new("")).to_path_buf();
        let stem = source
            .path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy();
        let module_dir = if matches!(stem.as_ref(), "lib" | "main" | "mod") {
            dir
        } else {
            dir.join(stem.as_ref())
        };
        for name in declared {
            test_modules.push(module_dir.join(format!("{name}.rs")));
            test_modules.push(module_dir.join(&name).join("mod.rs"));
        }
    }
    for source in &mut sources {
        if test_modules.contains(&source.path) {
            source.test_file = true;
        }
    }
    sources
}

/// The byte offsets where `needle` occurs in `kind` bytes of the source.
fn occurrences(source: &Source, needle: &str, kind: Kind) -> Vec<usize> {
    source
        .text
        .match_indices(needle)
        .map(|(at, _)| at)
        .filter(|&at| source.kinds[at] == kind)
        .collect()
}

fn report(rule: &str, offenders: &[String]) {
    assert!(
        offenders.is_empty(),
        "{rule}\n{} offender(s):\n  {}",
        offenders.len(),
        offenders.join("\n  ")
    );
}

/// ARCHITECTURE.md, "Storage": write transactions start with `Db::begin_write` (`BEGIN IMMEDIATE` on SQLite),
/// never a deferred `BEGIN`, which fails instead of queueing when two writers meet.
#[test]
fn write_transactions_begin_with_begin_write() {
    let mut offenders = Vec::new();
    for source in sources() {
        if source.relative == "crates/kernel/src/db.rs" {
            continue;
        }
        for needle in ["pool().begin()", "pool.begin()", ".begin().await"] {
            for at in occurrences(&source, needle, Kind::Code) {
                if source.is_production(at) {
                    offenders.push(format!("{}:{}", source.relative, source.line(at)));
                }
            }
        }
    }
    offenders.dedup();
    report("open write transactions with Db::begin_write", &offenders);
}

/// The first words of an SQL statement.
fn is_sql(literal: &str) -> bool {
    let body = literal
        .trim_start_matches(['r', 'b', '#'])
        .trim_start_matches('"')
        .trim_start();
    let upper: String = body
        .chars()
        .take(40)
        .collect::<String>()
        .to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    matches!(
        words.as_slice(),
        ["SELECT", ..]
            | ["INSERT", "INTO", ..]
            | ["DELETE", "FROM", ..]
            | ["UPDATE", _, "SET", ..]
            | ["WITH", _, "AS", ..]
            | ["WITH", "RECURSIVE", ..]
            | [
                "CREATE" | "ALTER" | "DROP",
                "TABLE" | "INDEX" | "SCHEMA",
                ..
            ]
    )
}

/// ARCHITECTURE.md, "Storage": SQL lives only in the areas' `repo.rs` files and the few homes listed there,
/// so that every query of a table is found in one place and areas read each other's data through services.
#[test]
fn sql_lives_only_in_repositories() {
    let mut offenders = Vec::new();
    for source in sources() {
        let file = source.relative.rsplit('/').next().unwrap_or_default();
        if file == "repo.rs"
            || source.relative.contains("/repo/")
            || SQL_HOMES.contains(&source.relative.as_str())
        {
            continue;
        }
        let mut lines = Vec::new();
        for at in occurrences(&source, "sqlx::query", Kind::Code) {
            lines.push(at);
        }
        let mut at = 0;
        while at < source.text.len() {
            if source.kinds[at] == Kind::Literal {
                let end = (at..source.text.len())
                    .find(|&i| source.kinds[i] != Kind::Literal)
                    .unwrap_or(source.text.len());
                if source.text.is_char_boundary(at)
                    && source.text.is_char_boundary(end)
                    && is_sql(&source.text[at..end])
                {
                    lines.push(at);
                }
                at = end;
            } else {
                at += 1;
            }
        }
        let mut seen = Vec::new();
        for at in lines {
            let line = source.line(at);
            if source.is_production(at) && !seen.contains(&line) {
                seen.push(line);
                offenders.push(format!("{}:{line}", source.relative));
            }
        }
    }
    offenders.sort();
    report(
        "SQL outside repo.rs and the homes ARCHITECTURE.md lists (move it into the area's repo, or read the other area's data through its service)",
        &offenders,
    );
}

/// ARCHITECTURE.md, "Errors": nothing panics on input. An `unwrap()` or `expect(…)` in code that serves users
/// says why it cannot fail, in a comment on its line or just above containing "cannot fail".
#[test]
fn unwrap_and_expect_say_why_they_cannot_fail() {
    let mut offenders = Vec::new();
    for source in sources() {
        let lines: Vec<&str> = source.text.lines().collect();
        let mut calls: Vec<usize> = occurrences(&source, ".unwrap()", Kind::Code);
        calls.extend(occurrences(&source, ".expect(", Kind::Code));
        calls.sort_unstable();
        for at in calls {
            if !source.is_production(at) {
                continue;
            }
            let line = source.line(at);
            // The statement's lines (a call chain continues on lines starting with `.`, or after a line
            // ending in `(`, `,`, `=` or `.`), then the comment lines directly above it.
            let mut start = line - 1;
            while start > 0
                && !lines[start - 1].trim_start().starts_with("//")
                && (lines[start].trim_start().starts_with('.')
                    || lines[start - 1].trim_end().ends_with(['(', ',', '=', '.']))
            {
                start -= 1;
            }
            let says = |text: &str| text.to_ascii_lowercase().contains("cannot fail");
            let mut justified = lines[start..line].iter().any(|l| says(l));
            let mut above = start;
            while !justified && above > 0 && lines[above - 1].trim_start().starts_with("//") {
                justified = says(lines[above - 1]);
                above -= 1;
            }
            if !justified {
                offenders.push(format!(
                    "{}:{line}: {}",
                    source.relative,
                    lines[line - 1].trim()
                ));
            }
        }
    }
    report(
        "unwrap()/expect() in code that serves users: handle the error, or say in a comment why it cannot fail",
        &offenders,
    );
}

/// The file extensions a cited path may have.
const CITED_EXTENSIONS: &[&str] = &[
    "md", "rs", "toml", "txt", "csv", "json", "html", "js", "mjs", "sh", "sql", "geojson", "py",
    "yml", "yaml", "xlsx",
];

/// Comments cite the standard itself, or a file of this repository; a cited file must exist, and notes kept
/// outside the repository (`../shared/…`) are not cited at all.
#[test]
fn comments_cite_files_that_exist() {
    let root = root();
    let markdown_names = markdown_file_names(&root);
    let mut offenders = Vec::new();
    for source in sources() {
        let mut at = 0;
        while at < source.text.len() {
            if source.kinds[at] != Kind::Comment {
                at += 1;
                continue;
            }
            let end = (at..source.text.len())
                .find(|&i| source.kinds[i] != Kind::Comment)
                .unwrap_or(source.text.len());
            let comment = &source.text[at..end];
            for word in comment.split(|c: char| {
                c.is_whitespace() || "`'\"()[]<>,;|!?".contains(c) || !c.is_ascii()
            }) {
                let word = word.trim_end_matches(['.', ':']);
                // URLs, patterns, and paths of the web API (`/api/v1/…`) or of the data directory are not files.
                if word.contains("://")
                    || word.contains(['{', '*', '$', '…'])
                    || word.starts_with('/') && !word.contains("shared/")
                {
                    continue;
                }
                // A bare Markdown name must be one of the repository's documents.
                if !word.contains('/') {
                    if word.ends_with(".md") && !markdown_names.iter().any(|name| name == word) {
                        offenders.push(format!(
                            "{}:{}: {word}",
                            source.relative,
                            source.line(at + comment.find(word).unwrap_or(0))
                        ));
                    }
                    continue;
                }
                let outside = word.contains("shared/reference") || word.contains("shared/data");
                let extension = word.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
                if !outside && !CITED_EXTENSIONS.contains(&extension) {
                    continue;
                }
                let candidates = [
                    root.join(word),
                    source.crate_dir().join(word),
                    source.path.parent().unwrap_or(&root).join(word),
                    root.join("crates").join(word),
                    source.crate_dir().join("src").join(word),
                ];
                if outside || !candidates.iter().any(|c| c.exists()) {
                    offenders.push(format!(
                        "{}:{}: {word}",
                        source.relative,
                        source.line(at + comment.find(word).unwrap_or(0))
                    ));
                }
            }
            at = end;
        }
    }
    report(
        "a comment cites a file that is not in the repository (cite the standard itself, or a file that exists)",
        &offenders,
    );
}

/// The names of the repository's Markdown files (README.md, docs/*.md, crates' READMEs, …).
fn markdown_file_names(root: &Path) -> Vec<String> {
    tidy::files_ending_with(root, ".md")
        .iter()
        .filter_map(|path| path.file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .collect()
}
