//! [`load_csv`]: numeric CSV files with one integer class label per row (the digits
//! format by default), plain or gzip-compressed; [`parse_csv`], the same from bytes in
//! memory; and [`digits`], the copy of the UCI digits data that ships inside the crate.

use std::borrow::Cow;
use std::path::Path;

use gradflow_autograd::DType;

use super::Dataset;
use super::dataset::tensor_from_f64;
use super::source::{data_error, dataset_name, gunzip, is_gzip, read_file};
use crate::{Error, Result};

/// The largest class count [`load_csv`] infers from the labels when
/// [`CsvOptions::num_classes`] is not given; a larger label is more likely a wrong
/// label column than a real class.
pub const MAX_INFERRED_CLASSES: usize = 65_536;

/// Which column holds the class label.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LabelColumn {
    /// The last column (the digits format).
    #[default]
    Last,
    /// The first column (the format of the popular MNIST CSV exports).
    First,
    /// The column with this 0-based index.
    Index(usize),
}

/// How [`load_csv`] reads a file. The default reads the digits format: no header,
/// comma-separated, the label in the last column, the class count inferred, f32.
///
/// ```
/// use gradflow_autograd::DType;
/// use gradflow_nn::data::{CsvOptions, LabelColumn};
/// let mnist_csv = CsvOptions::default()
///     .header(true)
///     .label_column(LabelColumn::First)
///     .num_classes(10)
///     .dtype(DType::F64);
/// # let _ = mnist_csv;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CsvOptions {
    header: bool,
    label_column: LabelColumn,
    num_classes: Option<usize>,
    delimiter: u8,
    dtype: DType,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            header: false,
            label_column: LabelColumn::Last,
            num_classes: None,
            delimiter: b',',
            dtype: DType::F32,
        }
    }
}

impl CsvOptions {
    /// Whether the first line is a header to skip (default: no).
    pub fn header(mut self, header: bool) -> Self {
        self.header = header;
        self
    }

    /// The label column (default: the last).
    pub fn label_column(mut self, column: LabelColumn) -> Self {
        self.label_column = column;
        self
    }

    /// The number of classes: every label must be below it, and a data set whose
    /// labels miss a class still has it. Default: inferred as the largest label plus
    /// one (at most [`MAX_INFERRED_CLASSES`]).
    pub fn num_classes(mut self, num_classes: usize) -> Self {
        self.num_classes = Some(num_classes);
        self
    }

    /// The field separator (default: `b','`).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// The dtype of the features (default: f32).
    pub fn dtype(mut self, dtype: DType) -> Self {
        self.dtype = dtype;
        self
    }
}

/// Loads a CSV file of numbers, one sample per line: every column a feature except
/// the label column, which holds a non-negative integer class label.
///
/// Gzip compression is recognised by the file's first two bytes, whatever its name.
/// Blank lines are skipped; spaces around a cell and a `\r` before the newline are
/// ignored. The data set is named after the file (its name up to the first `.`).
/// [`parse_csv`] does the same for bytes in memory.
///
/// ```
/// use gradflow_nn::data::{load_csv, CsvOptions};
/// let dir = std::env::temp_dir().join("gradflow-doc-load-csv");
/// std::fs::create_dir_all(&dir).map_err(|source| gradflow_nn::Error::Io { path: dir.clone(), source })?;
/// let path = dir.join("tiny.csv");
/// std::fs::write(&path, "0.5,1,0\n2,3.25,1\n").map_err(|source| gradflow_nn::Error::Io { path: path.clone(), source })?;
/// let data = load_csv(&path, &CsvOptions::default())?;
/// assert_eq!((data.name(), data.len(), data.num_features()), ("tiny", 2, 2));
/// assert_eq!(data.labels(), Some(&[0, 1][..]));
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] if the file cannot be read. [`Error::Data`] naming the file and the
/// 1-based line (and column, in the reason) for: an empty file (no data row), a ragged
/// row (expected and found column counts), a cell that is not a finite number (quoted)
/// or, for f32 features, is beyond f32's range (it would be stored as an infinity), a
/// label that is not a non-negative integer or is out of range, a label column
/// outside the rows, a row with no feature column, and a truncated or corrupt gzip
/// stream (the line it broke off in).
pub fn load_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Dataset> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    parse_csv(&bytes, path, options)
}

/// The digits data as [`load_csv`] reads it from a file: the compressed bytes are
/// embedded in the library with `include_bytes!`, so this works from any working
/// directory and needs no download.
static DIGITS_CSV_GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");

/// The UCI "Optical Recognition of Handwritten Digits" test set (E. Alpaydin and
/// C. Kaynak, 1998; licence CC BY 4.0): 1,797 images of 8x8 pixels with integer
/// intensities 0..16 (64 features, unscaled: standardise them, see
/// [`standardize`](crate::data::standardize)) and the digit 0..9 as the label.
///
/// The crate carries its own copy (`crates/nn/data/digits.csv.gz`, attribution in the
/// README beside it), embedded in the library with `include_bytes!`, so this needs no
/// path, no download, and works from any working directory.
///
/// ```
/// let digits = gradflow_nn::data::digits()?;
/// assert_eq!((digits.len(), digits.num_features(), digits.num_classes()), (1797, 64, Some(10)));
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
///
/// # Errors
/// None in practice: the shipped file is checked by the tests; a corrupt build would
/// give the [`Error::Data`] of [`load_csv`].
pub fn digits() -> Result<Dataset> {
    parse_csv(
        DIGITS_CSV_GZ,
        "<embedded>/digits.csv.gz",
        &CsvOptions::default().num_classes(10),
    )
}

fn line_error(path: &Path, line: usize, reason: impl Into<String>) -> Error {
    data_error(path, format!("line {line}"), reason)
}

/// Parses the bytes of a CSV file (plain or gzip-compressed) exactly as [`load_csv`]
/// parses the file's content, without touching the file system: for data that arrives
/// over a network, from an archive or from a fuzzer. `load_csv` reads the file and
/// calls this.
///
/// `source_name` stands for the file: errors name it where `load_csv` names the path
/// (`"upload.csv:line 3: ..."`), and the data set is named after it (its file name up
/// to the first `.`).
///
/// ```
/// use gradflow_nn::data::{parse_csv, CsvOptions};
/// let data = parse_csv(b"0.5,1,0\n2,3.25,1\n", "tiny.csv", &CsvOptions::default())?;
/// assert_eq!((data.name(), data.len(), data.num_features()), ("tiny", 2, 2));
/// let ragged = parse_csv(b"1,2,0\n3,1\n", "upload.csv", &CsvOptions::default());
/// assert_eq!(
///     ragged.err().map(|e| e.to_string()).as_deref(),
///     Some("upload.csv:line 2: expected 3 columns (as on line 1), found 2")
/// );
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
///
/// # Errors
/// [`Error::Data`] naming `source_name`, for every problem listed under [`load_csv`].
pub fn parse_csv(
    bytes: &[u8],
    source_name: impl AsRef<Path>,
    options: &CsvOptions,
) -> Result<Dataset> {
    let path = source_name.as_ref();
    let (text, gzip_failure): (Cow<'_, [u8]>, _) = if is_gzip(bytes) {
        match gunzip(bytes) {
            Ok(text) => (Cow::Owned(text), None),
            Err(f) => (Cow::Owned(f.partial), Some(f.reason)),
        }
    } else {
        (Cow::Borrowed(bytes), None)
    };
    // A truncated gzip stream: report it at the line it broke off in, before any
    // complaint about that (partial) line itself.
    if let Some(reason) = gzip_failure {
        let line = text.iter().filter(|&&b| b == b'\n').count() + 1;
        return Err(line_error(path, line, reason));
    }

    let mut features: Vec<f64> = Vec::new();
    let mut labels: Vec<usize> = Vec::new();
    // (column count, line it was set by)
    let mut columns: Option<(usize, usize)> = None;
    let mut label_index = 0;
    let mut max_label = 0;

    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        if i == 0 && options.header {
            continue;
        }
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let cells: Vec<&[u8]> = line.split(|&b| b == options.delimiter).collect();
        let (expected, label_at) = match columns {
            Some((count, _)) => (count, label_index),
            None => {
                let count = cells.len();
                if count < 2 {
                    return Err(line_error(
                        path,
                        line_no,
                        format!(
                            "a row needs at least one feature and a label, found {count} column"
                        ),
                    ));
                }
                let label_at = match options.label_column {
                    LabelColumn::Last => count - 1,
                    LabelColumn::First => 0,
                    LabelColumn::Index(c) if c < count => c,
                    LabelColumn::Index(c) => {
                        return Err(line_error(
                            path,
                            line_no,
                            format!(
                                "the label column (index {c}, column {}) does not exist: the \
                                 row has {count} columns",
                                // Widened: an index of usize::MAX still has a column number.
                                c as u128 + 1
                            ),
                        ));
                    }
                };
                columns = Some((count, line_no));
                label_index = label_at;
                (count, label_at)
            }
        };
        if cells.len() != expected {
            let first = columns.map_or(line_no, |(_, l)| l);
            return Err(line_error(
                path,
                line_no,
                format!(
                    "expected {expected} columns (as on line {first}), found {}",
                    cells.len()
                ),
            ));
        }
        for (c, cell) in cells.iter().enumerate() {
            let text = String::from_utf8_lossy(cell);
            let text = text.trim();
            if c == label_at {
                let label = parse_label(text, options.num_classes).map_err(|reason| {
                    line_error(path, line_no, format!("column {}: {reason}", c + 1))
                })?;
                max_label = max_label.max(label);
                labels.push(label);
            } else {
                match text.parse::<f64>() {
                    // A value beyond f32's range (about 3.4e38) would be stored as an
                    // infinity: refused like "inf" itself, naming the dtype.
                    Ok(v) if v.is_finite() && options.dtype == DType::F32 && !fits_f32(v) => {
                        return Err(line_error(
                            path,
                            line_no,
                            format!(
                                "column {}: {text:?} is out of range for f32 (at most {:e} in \
                                 magnitude; load as f64 for more)",
                                c + 1,
                                f32::MAX
                            ),
                        ));
                    }
                    Ok(v) if v.is_finite() => features.push(v),
                    _ => {
                        return Err(line_error(
                            path,
                            line_no,
                            format!("column {}: {text:?} is not a finite number", c + 1),
                        ));
                    }
                }
            }
        }
    }

    let Some((count, _)) = columns else {
        let lines = text.split(|&b| b == b'\n').count();
        return Err(line_error(
            path,
            if options.header { lines.min(2) } else { 1 },
            if text.is_empty() {
                "the file is empty".to_string()
            } else {
                "the file has no data rows".to_string()
            },
        ));
    };
    let num_classes = match options.num_classes {
        Some(k) => k,
        None => max_label + 1,
    };
    let n = labels.len();
    let x = tensor_from_f64(features, n, count - 1, options.dtype)?;
    Dataset::classification(dataset_name(path), x, labels, num_classes)
}

/// Whether `v` (finite) stays finite when stored as an f32. Values that round to
/// `f32::MAX` fit; the conversion rounds to nearest, so this is the conversion's own test.
fn fits_f32(v: f64) -> bool {
    (v as f32).is_finite()
}

/// A label cell as a class index: a non-negative integer (`"3"` or `"3.0"`), below
/// `num_classes` when given, else at most [`MAX_INFERRED_CLASSES`] - 1.
fn parse_label(text: &str, num_classes: Option<usize>) -> std::result::Result<usize, String> {
    let label = match text.parse::<u64>() {
        Ok(v) => v,
        Err(_) => match text.parse::<f64>() {
            Ok(v) if v.is_finite() && v.fract() == 0.0 && v >= 0.0 && v < 2f64.powi(63) => v as u64,
            Ok(v) if v.is_finite() && v.fract() == 0.0 => {
                return Err(format!("label {text:?} is out of range (negative)"));
            }
            Ok(_) => return Err(format!("label {text:?} is not an integer")),
            Err(_) => return Err(format!("label {text:?} is not a number")),
        },
    };
    let limit = num_classes.unwrap_or(MAX_INFERRED_CLASSES);
    match usize::try_from(label) {
        Ok(l) if l < limit => Ok(l),
        _ => Err(match num_classes {
            Some(k) => format!(
                "label {label} is out of range for {k} classes (0..={})",
                k.saturating_sub(1)
            ),
            None => format!(
                "label {label} is out of range: more than {MAX_INFERRED_CLASSES} classes \
                 (set CsvOptions::num_classes if that is intended)"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, options: &CsvOptions) -> Result<Dataset> {
        parse_csv(text.as_bytes(), "t.csv", options)
    }

    #[test]
    fn the_shipped_digits_load_with_their_documented_shape_and_range() {
        let d = digits().unwrap();
        assert_eq!(d.name(), "digits");
        assert_eq!(d.len(), 1797);
        assert_eq!(d.num_features(), 64);
        assert_eq!(d.num_classes(), Some(10));
        let x = d.features().to_vec::<f32>().unwrap();
        assert!(
            x.iter()
                .all(|&v| (0.0..=16.0).contains(&v) && v.fract() == 0.0)
        );
        assert_eq!(x.iter().copied().fold(0.0, f32::max), 16.0);
        // Every digit is represented, roughly 180 times each.
        let counts = d.class_counts().unwrap();
        assert!(
            counts.iter().all(|&c| (170..=185).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn options_choose_header_label_column_delimiter_and_dtype() {
        let d = parse(
            "label;a;b\n1;0.5;2\n0;1.5;-3\n",
            &CsvOptions::default()
                .header(true)
                .label_column(LabelColumn::First)
                .delimiter(b';')
                .dtype(DType::F64),
        )
        .unwrap();
        assert_eq!(d.labels().unwrap(), [1, 0]);
        assert_eq!(d.features().to_vec::<f64>().unwrap(), [0.5, 2.0, 1.5, -3.0]);
        let mid = parse(
            "1,7,2\n3,8,4\n",
            &CsvOptions::default().label_column(LabelColumn::Index(1)),
        )
        .unwrap();
        assert_eq!(mid.labels().unwrap(), [7, 8]);
        assert_eq!(mid.num_classes(), Some(9));
        assert_eq!(
            mid.features().to_vec::<f32>().unwrap(),
            [1.0, 2.0, 3.0, 4.0]
        );
    }

    #[test]
    fn blank_lines_crlf_and_integral_float_labels_are_accepted() {
        let d = parse("\r\n1, 2 ,3.0\r\n\n4,5,0\n\n", &CsvOptions::default()).unwrap();
        assert_eq!(d.labels().unwrap(), [3, 0]);
        assert_eq!(d.num_classes(), Some(4));
    }

    #[test]
    fn a_declared_class_count_is_kept_even_if_unused() {
        let d = parse("1,0\n2,1\n", &CsvOptions::default().num_classes(10)).unwrap();
        assert_eq!(d.num_classes(), Some(10));
    }

    #[test]
    fn labels_are_checked_as_non_negative_integers() {
        assert_eq!(parse_label("7", Some(10)), Ok(7));
        assert_eq!(parse_label("7.0", None), Ok(7));
        assert!(
            parse_label("7.5", None)
                .unwrap_err()
                .contains("not an integer")
        );
        assert!(
            parse_label("-1", None)
                .unwrap_err()
                .contains("out of range")
        );
        assert!(parse_label("x", None).unwrap_err().contains("not a number"));
        assert!(
            parse_label("10", Some(10))
                .unwrap_err()
                .contains("for 10 classes")
        );
        assert!(
            parse_label("1e30", None)
                .unwrap_err()
                .contains("out of range")
        );
        assert!(parse_label("inf", None).is_err());
        assert!(
            parse_label("70000", None)
                .unwrap_err()
                .contains("num_classes")
        );
    }

    /// Found by the `csv` fuzz target (fuzz/regressions/csv/crash-8cca787c…): a number
    /// within f64's range but beyond f32's was loaded as f32 infinity.
    #[test]
    fn a_feature_beyond_f32_range_is_an_error_for_f32_and_kept_for_f64() {
        let text = format!("1,2{},0\n", "1".repeat(46));
        let e = parse(&text, &CsvOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.csv:line 1: column 2: \"2111") && e.contains("out of range for f32"),
            "{e}"
        );
        let d = parse(&text, &CsvOptions::default().dtype(DType::F64)).unwrap();
        assert!(d.features().to_vec::<f64>().unwrap()[1] > 2e46);
        // f32::MAX itself, and a value that rounds down to it, still load.
        let edge = format!("{:e},1,0\n3.4028235e38,-3.4028235e38,1\n", f32::MAX);
        assert!(parse(&edge, &CsvOptions::default()).is_ok());
    }

    /// Found by the `csv` fuzz target (fuzz/regressions/csv/crash-94603b99…): a label
    /// column index of usize::MAX overflowed while naming the column in the error.
    #[test]
    fn a_label_column_index_of_usize_max_is_an_error_not_an_overflow() {
        let options = CsvOptions::default().label_column(LabelColumn::Index(usize::MAX));
        let e = parse("1,2,0\n", &options).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "t.csv:line 1: the label column (index {}, column {}) does not exist: the \
                 row has 3 columns",
                usize::MAX,
                usize::MAX as u128 + 1
            )
        );
    }
}
