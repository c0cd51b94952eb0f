//! The outputs of `qingshan hj212 decode` and `qingshan assess air` on the repository's fixtures, pinned byte for
//! byte (files in `tests/pinned/`, written by the version before the streaming rewrite of both commands), and the
//! quiet end of `hj212 decode` when its reader goes away (`| head`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the binary from the repository root; its stdout, after checking that it succeeded without a word on stderr.
fn qingshan(args: &[&str]) -> Vec<u8> {
    let output = Command::new(env!("CARGO_BIN_EXE_qingshan"))
        .args(args)
        .current_dir(repository())
        .env("QINGSHAN_LOG", "warn")
        .output()
        .expect("run qingshan");
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "qingshan {args:?}: exit {:?}, stderr {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn pinned(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/pinned")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn assert_same(name: &str, actual: &[u8]) {
    let expected = pinned(name);
    if actual != expected {
        let first = actual
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(actual.len().min(expected.len()));
        let around = |bytes: &[u8]| {
            String::from_utf8_lossy(&bytes[first.saturating_sub(80)..(first + 80).min(bytes.len())])
                .into_owned()
        };
        panic!(
            "{name}: output differs from the pinned file at byte {first} ({} vs {} bytes)\nnow:    {}\npinned: {}",
            actual.len(),
            expected.len(),
            around(actual),
            around(&expected)
        );
    }
}

#[test]
fn hj212_decode_json_is_unchanged() {
    let out = qingshan(&["hj212", "decode", "--json", "fixtures/hj212/samples.txt"]);
    assert_same("hj212-samples.jsonl", &out);
}

#[test]
fn hj212_decode_json_strict_from_stdin_is_unchanged() {
    let samples = std::fs::read(repository().join("fixtures/hj212/samples.txt")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_qingshan"))
        .args(["hj212", "decode", "--json", "--crc-mode", "strict"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&samples));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success() && output.stderr.is_empty());
    assert_same("hj212-samples-strict.jsonl", &output.stdout);
}

#[test]
fn hj212_decode_text_is_unchanged() {
    let out = qingshan(&["hj212", "decode", "fixtures/hj212/samples.txt"]);
    assert_same("hj212-samples.txt", &out);
}

/// `qingshan hj212 decode --json big.txt | head -c 1000`: the command stops at the closed pipe, quietly and
/// successfully, as a Unix filter does.
#[test]
fn hj212_decode_ends_quietly_when_the_reader_goes_away() {
    let samples = std::fs::read(repository().join("fixtures/hj212/samples.txt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("packets.txt");
    // ~6 MB of output, far beyond any pipe buffer.
    std::fs::write(&big, samples.repeat(200)).unwrap();
    for json in [true, false] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_qingshan"));
        command.args(["hj212", "decode"]);
        if json {
            command.arg("--json");
        }
        let mut child = command
            .arg(&big)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 1000];
        child.stdout.take().unwrap().read_exact(&mut first).unwrap();
        // The read end is dropped here: the next write of the command meets a closed pipe.
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            (
                output.status.code(),
                String::from_utf8_lossy(&output.stderr).as_ref()
            ),
            (Some(0), ""),
            "json {json}"
        );
    }
}

const DONGSI_2015: &str = "fixtures/beijing/PRSA_Data_Dongsi_2015.csv";

#[test]
fn assess_air_json_on_a_station_year_is_unchanged() {
    let out = qingshan(&[
        "assess",
        "air",
        "--input",
        DONGSI_2015,
        "--from",
        "2015-01-01",
        "--to",
        "2015-12-31",
        "--per-station",
        "--json",
    ]);
    assert_same("assess-dongsi-2015.json", &out);
}

#[test]
fn assess_air_text_on_part_of_a_year_is_unchanged() {
    // A period inside the file (rows before and after it are skipped) whose year before is not in the file.
    let out = qingshan(&[
        "assess",
        "air",
        "--input",
        DONGSI_2015,
        "--from",
        "2015-03-15",
        "--to",
        "2015-07-20",
        "--per-station",
    ]);
    assert_same("assess-dongsi-2015-03-15-07-20.txt", &out);
}

#[test]
fn assess_air_json_with_settings_and_the_year_before_is_unchanged() {
    // 2016 with 2015 as the year before (the fixture holds 2015 only), sand-dust days and the AQI validity rule.
    let out = qingshan(&[
        "assess",
        "air",
        "--input",
        DONGSI_2015,
        "--from",
        "2015-11-01",
        "--to",
        "2016-02-29",
        "--sand-dust",
        "exclude-from-denominator",
        "--sand-dust-dates",
        "2015-11-05,2015-12-24",
        "--day-validity",
        "publishable-aqi",
        "--json",
    ]);
    assert_same("assess-dongsi-2015-11-2016-02.json", &out);
}
