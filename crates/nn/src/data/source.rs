//! Reading a data file whole, plain or gzip-compressed (told apart by the gzip magic
//! bytes `1f 8b`, not by the file name), with a cap on the decompressed size.

use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// The largest decompressed size the loaders accept from a gzip file (2 GiB). The full MNIST
/// training images are 47 MB; the cap stops a hostile "gzip bomb" from exhausting
/// memory.
pub const MAX_DECOMPRESSED: u64 = 2 << 30;

/// The two bytes every gzip member starts with (RFC 1952, section 2.3.1).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether `bytes` start like a gzip stream.
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Why the decompression of a gzip stream stopped early.
#[derive(Debug)]
pub(crate) struct GzipFailure {
    /// The decompressed bytes produced before the failure.
    pub(crate) partial: Vec<u8>,
    /// What went wrong.
    pub(crate) reason: String,
}

/// Decompresses a whole gzip stream (all members, as `gzip -d` does).
pub(crate) fn gunzip(bytes: &[u8]) -> std::result::Result<Vec<u8>, GzipFailure> {
    let mut out = Vec::new();
    let decoder = flate2::read::MultiGzDecoder::new(bytes);
    // One byte past the cap, to tell "exactly at the cap" from "over it".
    match decoder.take(MAX_DECOMPRESSED + 1).read_to_end(&mut out) {
        Ok(_) if out.len() as u64 > MAX_DECOMPRESSED => Err(GzipFailure {
            reason: format!(
                "the gzip stream decompresses to more than {MAX_DECOMPRESSED} bytes, \
                 the most this loader accepts"
            ),
            partial: out,
        }),
        Ok(_) => Ok(out),
        Err(e) => Err(GzipFailure {
            reason: format!("the gzip stream is truncated or corrupt ({e})"),
            partial: out,
        }),
    }
}

/// Reads a file's bytes.
///
/// # Errors
/// [`Error::Io`] naming the file.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A [`Error::Data`] for `path` at `location` (`"line N"` or `"offset N"`).
pub(crate) fn data_error(path: &Path, location: String, reason: impl Into<String>) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        location,
        reason: reason.into(),
    }
}

/// The file name up to its first `.` (`digits` for `data/digits.csv.gz`).
pub(crate) fn dataset_name(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    match file.split('.').next() {
        Some(stem) if !stem.is_empty() => stem.to_string(),
        _ => file,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn the_data_set_is_named_after_the_file() {
        assert_eq!(dataset_name(Path::new("a/b/digits.csv.gz")), "digits");
        assert_eq!(dataset_name(Path::new("noext")), "noext");
        assert_eq!(dataset_name(Path::new(".hidden.csv")), ".hidden.csv");
    }

    #[test]
    fn gzip_is_recognised_by_its_magic_bytes() {
        assert!(is_gzip(&gzip(b"1,2\n")));
        assert!(!is_gzip(b"1,2\n"));
        assert!(!is_gzip(&[0x1f]));
    }

    #[test]
    fn gunzip_round_trips_and_joins_members() {
        let mut two = gzip(b"ab");
        two.extend(gzip(b"cd"));
        assert_eq!(gunzip(&two).unwrap(), b"abcd");
    }

    #[test]
    fn gunzip_of_a_truncated_stream_keeps_the_partial_output() {
        let data: Vec<u8> = (0..20_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let z = gzip(&data);
        let cut = z.get(..z.len() / 2).unwrap();
        let failure = gunzip(cut).unwrap_err();
        assert!(failure.reason.contains("truncated"), "{}", failure.reason);
        assert!(failure.partial.len() < data.len());
    }
}
