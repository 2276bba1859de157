//! The CSV and IDX loaders on real files written into a temporary directory: good
//! files (plain and gzip, told apart by content, not name), and one bad file for each
//! error case, checking that the error names the file and the line or byte offset.
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

use std::io::Write;
use std::path::{Path, PathBuf};

use gradflow_autograd::DType;
use gradflow_nn::Error;
use gradflow_nn::data::{CsvOptions, Dataset, LabelColumn, digits, load_csv, load_idx};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The file, location and reason of an [`Error::Data`]; any other outcome fails.
fn data_error(result: Result<Dataset, Error>) -> (PathBuf, String, String) {
    match result {
        Err(Error::Data {
            path,
            location,
            reason,
        }) => (path, location, reason),
        Err(other) => panic!("expected Error::Data, got {other}"),
        Ok(d) => panic!("expected an error, loaded {d}"),
    }
}

fn csv_error(dir: &Path, name: &str, text: &[u8], options: &CsvOptions) -> (String, String) {
    let path = write(dir, name, text);
    let (p, location, reason) = data_error(load_csv(&path, options));
    assert_eq!(p, path, "the error names the file");
    (location, reason)
}

// ---------------------------------------------------------------- CSV, good files

#[test]
fn a_csv_loads_features_and_labels_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "toy.csv", b"1,2,3,0\n4,5,6,2\n");
    let d = load_csv(&path, &CsvOptions::default()).unwrap();
    assert_eq!(d.name(), "toy");
    assert_eq!(d.features().dims(), [2, 3]);
    assert_eq!(
        d.features().to_vec::<f32>().unwrap(),
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    );
    assert_eq!(d.labels().unwrap(), [0, 2]);
    assert_eq!(d.num_classes(), Some(3));
}

#[test]
fn gzip_is_detected_by_content_not_by_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let text = b"1,2,1\n3,4,0\n";
    let hidden_gzip = write(dir.path(), "compressed.txt", &gzip(text));
    let fake_gz = write(dir.path(), "plain.csv.gz", text);
    for path in [hidden_gzip, fake_gz] {
        let d = load_csv(&path, &CsvOptions::default()).unwrap();
        assert_eq!(d.labels().unwrap(), [1, 0], "{}", path.display());
    }
}

#[test]
fn the_digits_file_loads_from_a_path_exactly_as_the_embedded_copy() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits.csv.gz");
    let from_path = load_csv(&path, &CsvOptions::default().dtype(DType::F64)).unwrap();
    let embedded = digits().unwrap();
    assert_eq!(from_path.len(), 1797);
    assert_eq!(from_path.labels(), embedded.labels());
    assert_eq!(
        from_path.features().to_f64_vec(),
        embedded.features().to_f64_vec()
    );
    assert_eq!(from_path.dtype(), DType::F64);
}

#[test]
fn the_digits_readme_carries_the_attribution() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/README.md"))
            .unwrap();
    for needle in ["Alpaydin", "Kaynak", "CC BY 4.0", "1,797"] {
        assert!(readme.contains(needle), "README.md lacks {needle:?}");
    }
}

// ---------------------------------------------------------------- CSV, bad files

#[test]
fn a_ragged_row_gives_the_line_and_the_expected_and_found_column_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (location, reason) = csv_error(
        dir.path(),
        "ragged.csv",
        b"1,2,3,0\n4,5,6,1\n7,8,1\n",
        &CsvOptions::default(),
    );
    assert_eq!(location, "line 3");
    assert_eq!(reason, "expected 4 columns (as on line 1), found 3");
}

#[test]
fn a_non_numeric_cell_is_quoted_with_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let (location, reason) = csv_error(
        dir.path(),
        "words.csv",
        b"1,2,0\n3,abc,1\n",
        &CsvOptions::default(),
    );
    assert_eq!(location, "line 2");
    assert_eq!(reason, r#"column 2: "abc" is not a finite number"#);
}

#[test]
fn an_infinite_or_empty_cell_is_not_a_finite_number() {
    let dir = tempfile::tempdir().unwrap();
    let (location, reason) = csv_error(dir.path(), "inf.csv", b"1,inf,0\n", &CsvOptions::default());
    assert_eq!(location, "line 1");
    assert!(
        reason.contains(r#""inf" is not a finite number"#),
        "{reason}"
    );
    let (location, reason) = csv_error(
        dir.path(),
        "hole.csv",
        b"1,2,0\n,2,0\n",
        &CsvOptions::default(),
    );
    assert_eq!(location, "line 2");
    assert_eq!(reason, r#"column 1: "" is not a finite number"#);
}

#[test]
fn a_non_integer_label_is_an_error_at_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let (location, reason) = csv_error(
        dir.path(),
        "half.csv",
        b"1,2,0\n3,4,1.5\n",
        &CsvOptions::default(),
    );
    assert_eq!(location, "line 2");
    assert_eq!(reason, r#"column 3: label "1.5" is not an integer"#);
}

#[test]
fn a_label_out_of_range_is_an_error_naming_the_class_count() {
    let dir = tempfile::tempdir().unwrap();
    let options = CsvOptions::default().num_classes(10);
    let (location, reason) = csv_error(dir.path(), "ten.csv", b"1,2,9\n3,4,10\n", &options);
    assert_eq!(location, "line 2");
    assert_eq!(
        reason,
        "column 3: label 10 is out of range for 10 classes (0..=9)"
    );
    let (location, reason) = csv_error(
        dir.path(),
        "negative.csv",
        b"1,2,-1\n",
        &CsvOptions::default(),
    );
    assert_eq!(location, "line 1");
    assert!(reason.contains("out of range (negative)"), "{reason}");
}

#[test]
fn an_empty_file_is_an_error_at_line_1() {
    let dir = tempfile::tempdir().unwrap();
    let (location, reason) = csv_error(dir.path(), "empty.csv", b"", &CsvOptions::default());
    assert_eq!(
        (location.as_str(), reason.as_str()),
        ("line 1", "the file is empty")
    );
    let (location, reason) = csv_error(dir.path(), "blank.csv", b"\n  \n", &CsvOptions::default());
    assert_eq!(
        (location.as_str(), reason.as_str()),
        ("line 1", "the file has no data rows")
    );
    let (location, reason) = csv_error(
        dir.path(),
        "header_only.csv",
        b"a,b,label\n",
        &CsvOptions::default().header(true),
    );
    assert_eq!(
        (location.as_str(), reason.as_str()),
        ("line 2", "the file has no data rows")
    );
    let (location, _) = csv_error(dir.path(), "empty.gz", &gzip(b""), &CsvOptions::default());
    assert_eq!(location, "line 1");
}

#[test]
fn a_truncated_gzip_is_an_error_at_the_line_it_broke_off_in() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..3000)
        .map(|i| format!("{i},{},{}\n", i * 7 % 13, i % 10))
        .collect();
    let z = gzip(text.as_bytes());
    let (location, reason) = csv_error(
        dir.path(),
        "cut.csv.gz",
        &z[..z.len() * 2 / 3],
        &CsvOptions::default(),
    );
    assert!(
        reason.starts_with("the gzip stream is truncated or corrupt"),
        "{reason}"
    );
    let line: usize = location.strip_prefix("line ").unwrap().parse().unwrap();
    assert!((2..3000).contains(&line), "{location}");
    // Cut inside the 8-byte trailer (CRC and length): all data decompressed, still an error.
    let (_, reason) = csv_error(
        dir.path(),
        "no_trailer.csv.gz",
        &z[..z.len() - 4],
        &CsvOptions::default(),
    );
    assert!(reason.contains("truncated or corrupt"), "{reason}");
}

#[test]
fn a_label_column_outside_the_row_is_an_error_at_line_1() {
    let dir = tempfile::tempdir().unwrap();
    let options = CsvOptions::default().label_column(LabelColumn::Index(5));
    let (location, reason) = csv_error(dir.path(), "narrow.csv", b"1,2,0\n", &options);
    assert_eq!(location, "line 1");
    assert_eq!(
        reason,
        "the label column (index 5, column 6) does not exist: the row has 3 columns"
    );
}

#[test]
fn a_row_without_features_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (location, reason) = csv_error(
        dir.path(),
        "labels.csv",
        b"\n3\n4\n",
        &CsvOptions::default(),
    );
    assert_eq!(location, "line 2");
    assert!(
        reason.contains("at least one feature and a label"),
        "{reason}"
    );
}

#[test]
fn binary_garbage_is_a_data_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let path = write(dir.path(), "garbage.csv", &garbage);
    let (p, location, _) = data_error(load_csv(&path, &CsvOptions::default()));
    assert_eq!(p, path);
    assert!(location.starts_with("line "), "{location}");
}

#[test]
fn a_missing_csv_file_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.csv");
    match load_csv(&path, &CsvOptions::default()) {
        Err(Error::Io { path: p, .. }) => assert_eq!(p, path),
        other => panic!("expected Error::Io, got {other:?}"),
    }
}

// ---------------------------------------------------------------- IDX

/// An IDX file of unsigned bytes: magic `00 00 08 ndims`, big-endian sizes, data.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// Three 2x2 images and their labels.
fn mnist_like() -> (Vec<u8>, Vec<u8>) {
    let pixels = [0, 255, 51, 102, 10, 20, 30, 40, 255, 255, 0, 0];
    (idx(&[3, 2, 2], &pixels), idx(&[3], &[4, 0, 9]))
}

fn idx_error(
    dir: &Path,
    images: &[u8],
    labels: &[u8],
) -> (PathBuf, PathBuf, PathBuf, String, String) {
    let ip = write(dir, "images-idx3-ubyte", images);
    let lp = write(dir, "labels-idx1-ubyte", labels);
    let (p, location, reason) = data_error(load_idx(&ip, &lp));
    (ip, lp, p, location, reason)
}

#[test]
fn an_idx_pair_loads_as_scaled_pixels_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = mnist_like();
    let ip = write(dir.path(), "t10k-images-idx3-ubyte", &images);
    let lp = write(dir.path(), "t10k-labels-idx1-ubyte", &labels);
    let d = load_idx(&ip, &lp).unwrap();
    assert_eq!(d.name(), "t10k-images-idx3-ubyte");
    assert_eq!(d.features().dims(), [3, 4]);
    assert_eq!(d.labels().unwrap(), [4, 0, 9]);
    assert_eq!(d.num_classes(), Some(10));
    let x = d.features().to_vec::<f32>().unwrap();
    assert_eq!(&x[..4], [0.0, 1.0, 0.2, 0.4]);
    assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn gzip_idx_files_load_whatever_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = mnist_like();
    let ip = write(dir.path(), "images.idx", &gzip(&images));
    let lp = write(dir.path(), "labels.idx.gz", &gzip(&labels));
    let d = load_idx(&ip, &lp).unwrap();
    assert_eq!(d.labels().unwrap(), [4, 0, 9]);
    // And a plain file named .gz.
    let lp_plain = write(dir.path(), "plain-labels.gz", &labels);
    assert_eq!(load_idx(&ip, &lp_plain).unwrap().len(), 3);
}

#[test]
fn a_bad_magic_number_is_an_error_at_offset_0() {
    let dir = tempfile::tempdir().unwrap();
    let (mut images, labels) = mnist_like();
    images[0] = 0x12;
    let (ip, _, p, location, reason) = idx_error(dir.path(), &images, &labels);
    assert_eq!((p, location.as_str()), (ip, "offset 0"));
    assert_eq!(
        reason,
        "bad magic number 0x12000803: an IDX images file starts with 0x00000803"
    );
}

#[test]
fn a_wrong_data_type_code_is_an_error_at_offset_2() {
    let dir = tempfile::tempdir().unwrap();
    let (images, mut labels) = mnist_like();
    labels[2] = 0x0D;
    let (_, lp, p, location, reason) = idx_error(dir.path(), &images, &labels);
    assert_eq!((p, location.as_str()), (lp, "offset 2"));
    assert_eq!(
        reason,
        "data type code 0x0d (f32) is not supported: expected 0x08 (unsigned byte)"
    );
}

#[test]
fn a_dimension_count_mismatch_is_an_error_at_offset_3() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = mnist_like();
    // Labels and images swapped: the images file declares 1 dimension.
    let (ip, _, p, location, reason) = idx_error(dir.path(), &labels, &images);
    assert_eq!((p, location.as_str()), (ip, "offset 3"));
    assert_eq!(
        reason,
        "the header declares 1 dimensions, an IDX images file has 3 \
         (magic 0x00000801, expected 0x00000803)"
    );
}

#[test]
fn a_file_ending_inside_the_header_is_an_error_at_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = mnist_like();
    let (ip, _, p, location, reason) = idx_error(dir.path(), &images[..10], &labels);
    assert_eq!((p, location.as_str()), (ip.clone(), "offset 10"));
    assert_eq!(
        reason,
        "the file ends after 10 bytes, inside the 16-byte header"
    );
    let (_, _, _, location, reason) = idx_error(dir.path(), &images[..3], &labels);
    assert_eq!(location, "offset 3");
    assert!(
        reason.contains("inside the 4-byte magic number"),
        "{reason}"
    );
}

#[test]
fn truncated_data_is_an_error_at_the_end_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = mnist_like();
    let (ip, _, p, location, reason) = idx_error(dir.path(), &images[..25], &labels);
    assert_eq!((p, location.as_str()), (ip, "offset 25"));
    assert_eq!(
        reason,
        "the data is truncated: the header promises 3 x 2 x 2 = 12 bytes from offset 16, \
         but the file ends after 9"
    );
}

#[test]
fn a_header_claiming_four_billion_images_is_refused_without_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let (_, labels) = mnist_like();
    // 2^32 - 1 images of 28x28 would be 3.4 TB: refused from the header and file length.
    let images = idx(&[u32::MAX, 28, 28], &[7; 1000]);
    let (ip, _, p, location, reason) = idx_error(dir.path(), &images, &labels);
    assert_eq!((p, location.as_str()), (ip, "offset 1016"));
    assert!(
        reason.contains("4294967295 x 28 x 28 = 3367254359280 bytes"),
        "{reason}"
    );
}

#[test]
fn sizes_that_disagree_with_a_longer_file_are_an_error_where_the_data_should_end() {
    let dir = tempfile::tempdir().unwrap();
    let (mut images, labels) = mnist_like();
    images.extend([1, 2, 3, 4, 5]);
    let (ip, _, p, location, reason) = idx_error(dir.path(), &images, &labels);
    assert_eq!((p, location.as_str()), (ip, "offset 28"));
    assert_eq!(
        reason,
        "the header's sizes disagree with the file length: 3 x 2 x 2 = 12 bytes from \
         offset 16, then 5 bytes more"
    );
}

#[test]
fn a_zero_size_is_an_error_at_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (_, labels) = mnist_like();
    let (_, _, _, location, reason) = idx_error(dir.path(), &idx(&[3, 0, 2], &[]), &labels);
    assert_eq!(location, "offset 8");
    assert_eq!(reason, "dimension 2 is 0: the images file holds no data");
}

#[test]
fn an_image_label_count_mismatch_names_the_labels_file() {
    let dir = tempfile::tempdir().unwrap();
    let (images, _) = mnist_like();
    let labels = idx(&[2], &[1, 2]);
    let (ip, lp, p, location, reason) = idx_error(dir.path(), &images, &labels);
    assert_eq!((p, location.as_str()), (lp, "offset 4"));
    assert_eq!(
        reason,
        format!(
            "the labels file has 2 labels but the images file {} has 3 images",
            ip.display()
        )
    );
}

#[test]
fn a_truncated_gzip_idx_file_is_an_error_with_the_decompressed_offset() {
    let dir = tempfile::tempdir().unwrap();
    let pixels: Vec<u8> = (0..40_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let images = gzip(&idx(&[100, 20, 20], &pixels));
    let labels = idx(&[100], &[3; 100]);
    let (ip, _, p, location, reason) = idx_error(dir.path(), &images[..images.len() / 2], &labels);
    assert_eq!(p, ip);
    assert!(location.starts_with("offset "), "{location}");
    assert!(reason.contains("truncated or corrupt"), "{reason}");
    assert!(reason.contains("decompressed"), "{reason}");
}

#[test]
fn a_missing_idx_file_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (images, _) = mnist_like();
    let ip = write(dir.path(), "images", &images);
    let lp = dir.path().join("no-labels");
    match load_idx(&ip, &lp) {
        Err(Error::Io { path, .. }) => assert_eq!(path, lp),
        other => panic!("expected Error::Io, got {other:?}"),
    }
}
