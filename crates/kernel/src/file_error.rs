//! The one error type of the data files the platform reads — station files, water sample files, the generic
//! readings CSV: what is wrong, located by file, line and column, so that whoever prepared the file can find it.

use std::fmt;
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

#[cfg(test)]
mod tests {
    use super::*;

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
