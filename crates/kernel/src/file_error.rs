//! The one error type of the data files the platform reads — station files, water sample files, the generic
//! readings CSV: what is wrong, located by file, line and column, so that whoever prepared the file can find it.

use std::collections::VecDeque;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A problem in a data file.
///
/// Shown as `file, line 3, column 6 (PM2.5): "abc": not a decimal number`; without a line (the file cannot be
/// opened or read) as `file: cannot open: …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub file: PathBuf,
    /// 1-based line (the header is line 1); 0 when the problem is the whole file.
    pub line: u64,
    /// 1-based column and its header, when the problem is in one cell.
    pub column: Option<(usize, String)>,
    pub why: String,
}

impl FileError {
    /// The file cannot be opened.
    pub fn cannot_open(file: &Path, error: &std::io::Error) -> FileError {
        FileError {
            file: file.to_path_buf(),
            line: 0,
            column: None,
            why: format!("cannot open: {error}"),
        }
    }

    /// A problem with one line as a whole.
    pub fn line(file: &Path, line: u64, why: impl Into<String>) -> FileError {
        FileError {
            file: file.to_path_buf(),
            line,
            column: None,
            why: why.into(),
        }
    }

    /// A problem with one cell: `column` is 1-based, `column_name` its header.
    pub fn cell(
        file: &Path,
        line: u64,
        column: usize,
        column_name: impl Into<String>,
        why: impl Into<String>,
    ) -> FileError {
        FileError {
            file: file.to_path_buf(),
            line,
            column: Some((column, column_name.into())),
            why: why.into(),
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ", line {}", self.line)?;
        }
        if let Some((number, name)) = &self.column {
            write!(f, ", column {number} ({name})")?;
        }
        write!(f, ": {}", self.why)
    }
}

impl std::error::Error for FileError {}

/// A reader that remembers where the file's lines break, so that a CSV record is located on the line an editor
/// shows it on. The csv crate's record position is where its parser resumed, which is not that line: in a file
/// with CRLF line ends (Excel's, Windows') the `\n` of the previous line is still unread there, so every record
/// was reported one line early (a bad row on line 5 as "line 4"), and blank lines before a record moved it too.
///
/// Wrap the file before the CSV reader takes it, and ask [`LineIndex::line_at`] with the record's
/// `position().byte()` (through `csv::Reader::get_mut`), in the order the records are read.
pub struct LineIndex<R> {
    inner: R,
    /// Bytes read so far.
    offset: u64,
    /// Offsets of the `\r` and `\n` bytes read and not yet passed by [`LineIndex::line_at`].
    breaks: VecDeque<(u64, u8)>,
    /// `\n` bytes already passed.
    newlines_passed: u64,
}

impl<R> LineIndex<R> {
    pub fn new(inner: R) -> Self {
        LineIndex {
            inner,
            offset: 0,
            breaks: VecDeque::new(),
            newlines_passed: 0,
        }
    }

    /// The 1-based line of the first byte at or after `start` that is not a line break: the line a record
    /// that the parser began reading at `start` starts on (it skips the line breaks of blank lines first).
    /// Calls must come with non-decreasing `start`.
    pub fn line_at(&mut self, start: u64) -> u64 {
        while let Some(&(at, byte)) = self.breaks.front() {
            if at >= start {
                break;
            }
            if byte == b'\n' {
                self.newlines_passed += 1;
            }
            self.breaks.pop_front();
        }
        // The breaks right at `start`, one after another, are the blank lines the parser skips.
        let skipped_newlines = (start..)
            .zip(self.breaks.iter())
            .take_while(|(position, (at, _))| at == position)
            .filter(|(_, (_, byte))| *byte == b'\n')
            .count() as u64;
        self.newlines_passed + skipped_newlines + 1
    }
}

impl<R: Read> Read for LineIndex<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, byte) in buf[..n].iter().enumerate() {
            if matches!(byte, b'\n' | b'\r') {
                self.breaks.push_back((self.offset + i as u64, *byte));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_as_an_editor_counts_them() {
        // Line 1 header, line 2 a row, line 3 blank, line 4 a row; CRLF line ends.
        let text = b"a,b\r\n1,2\r\n\r\n3,4\r\n";
        let mut index = LineIndex::new(&text[..]);
        let mut sink = Vec::new();
        index.read_to_end(&mut sink).unwrap();
        assert_eq!(index.line_at(0), 1);
        // The parser resumes after the header's \r, before its \n.
        assert_eq!(index.line_at(3), 2);
        // After row 1's \r: its \n, then the blank line's \r\n, then row 2 on line 4.
        assert_eq!(index.line_at(8), 4);
        let lf = b"a,b\n1,2\n3,4\n";
        let mut index = LineIndex::new(&lf[..]);
        index.read_to_end(&mut sink).unwrap();
        assert_eq!((index.line_at(4), index.line_at(8)), (2, 3));
    }

    #[test]
    fn the_message_says_where_as_precisely_as_known() {
        let file = Path::new("data/PRSA_Data_Dongsi.csv");
        let missing = std::io::Error::new(std::io::ErrorKind::NotFound, "not found");
        assert_eq!(
            FileError::cannot_open(file, &missing).to_string(),
            "data/PRSA_Data_Dongsi.csv: cannot open: not found"
        );
        assert_eq!(
            FileError::line(file, 7, "24 columns, expected 18").to_string(),
            "data/PRSA_Data_Dongsi.csv, line 7: 24 columns, expected 18"
        );
        assert_eq!(
            FileError::cell(file, 9, 6, "PM2.5", "\"abc\": not a decimal number").to_string(),
            "data/PRSA_Data_Dongsi.csv, line 9, column 6 (PM2.5): \"abc\": not a decimal number"
        );
    }
}
