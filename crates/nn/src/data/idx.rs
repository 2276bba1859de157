//! [`load_idx`]: image and label files in the IDX format of MNIST (and Fashion-MNIST,
//! KMNIST, EMNIST), plain or gzip-compressed; [`parse_idx`], the same from bytes in
//! memory.
//!
//! An IDX file is a 4-byte magic number `00 00 TT DD` (`TT` the element type, `0x08`
//! for unsigned bytes; `DD` the number of dimensions), `DD` big-endian `u32` sizes,
//! then the elements in row-major order. Images are `0x00000803` (count, rows,
//! columns), labels `0x00000801` (count).

use std::borrow::Cow;
use std::path::Path;

use gradflow_autograd::Tensor;

use super::Dataset;
use super::source::{data_error, dataset_name, gunzip, is_gzip, read_file};
use crate::{Error, Result};

/// The element type code of unsigned bytes, the only one MNIST uses.
const UBYTE: u8 = 0x08;

fn type_name(code: u8) -> &'static str {
    match code {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "i16",
        0x0C => "i32",
        0x0D => "f32",
        0x0E => "f64",
        _ => "unknown",
    }
}

fn at(path: &Path, offset: usize, reason: impl Into<String>) -> Error {
    data_error(path, format!("offset {offset}"), reason)
}

/// A parsed IDX header: the sizes and where the data starts.
struct Header {
    dims: Vec<usize>,
    data_start: usize,
}

/// The bytes of an IDX file, decompressed if they start with the gzip magic bytes.
fn decompress_idx<'a>(path: &Path, raw: &'a [u8]) -> Result<Cow<'a, [u8]>> {
    if !is_gzip(raw) {
        return Ok(Cow::Borrowed(raw));
    }
    gunzip(raw).map(Cow::Owned).map_err(|f| {
        at(
            path,
            f.partial.len(),
            format!("{} (offsets count decompressed bytes)", f.reason),
        )
    })
}

/// Checks the magic number and the sizes against the file length, allocating
/// nothing that the header alone sizes.
fn parse_header(path: &Path, bytes: &[u8], ndim: u8, what: &str) -> Result<Header> {
    let expected_magic = 0x0000_0800 | u32::from(ndim);
    let Some(&[z0, z1, code, dims]) = bytes.get(..4) else {
        return Err(at(
            path,
            bytes.len(),
            format!(
                "the file ends after {} bytes, inside the 4-byte magic number",
                bytes.len()
            ),
        ));
    };
    let magic = u32::from_be_bytes([z0, z1, code, dims]);
    if z0 != 0 || z1 != 0 {
        return Err(at(
            path,
            0,
            format!(
                "bad magic number 0x{magic:08x}: an IDX {what} file starts with 0x{expected_magic:08x}"
            ),
        ));
    }
    if code != UBYTE {
        return Err(at(
            path,
            2,
            format!(
                "data type code 0x{code:02x} ({}) is not supported: expected 0x{UBYTE:02x} \
                 (unsigned byte)",
                type_name(code)
            ),
        ));
    }
    if dims != ndim {
        return Err(at(
            path,
            3,
            format!(
                "the header declares {dims} dimensions, an IDX {what} file has {ndim} \
                 (magic 0x{magic:08x}, expected 0x{expected_magic:08x})"
            ),
        ));
    }
    let data_start = 4 + 4 * usize::from(ndim);
    let Some(size_bytes) = bytes.get(4..data_start) else {
        return Err(at(
            path,
            bytes.len(),
            format!(
                "the file ends after {} bytes, inside the {data_start}-byte header",
                bytes.len()
            ),
        ));
    };
    let dims: Vec<usize> = size_bytes
        .chunks_exact(4)
        .map(|c| {
            let mut be = [0u8; 4];
            be.copy_from_slice(c);
            u32::from_be_bytes(be) as usize
        })
        .collect();
    if let Some(k) = dims.iter().position(|&d| d == 0) {
        return Err(at(
            path,
            4 + 4 * k,
            format!("dimension {} is 0: the {what} file holds no data", k + 1),
        ));
    }
    // u128: three u32 sizes multiply to at most 2^96, so this cannot overflow.
    let promised: u128 = dims.iter().map(|&d| d as u128).product();
    let available = (bytes.len() - data_start) as u128;
    let sizes = dims
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(" x ");
    if promised > available {
        return Err(at(
            path,
            bytes.len(),
            format!(
                "the data is truncated: the header promises {sizes} = {promised} bytes from \
                 offset {data_start}, but the file ends after {available}"
            ),
        ));
    }
    if promised < available {
        return Err(at(
            path,
            data_start + promised as usize,
            format!(
                "the header's sizes disagree with the file length: {sizes} = {promised} bytes \
                 from offset {data_start}, then {} bytes more",
                available - promised
            ),
        ));
    }
    Ok(Header { dims, data_start })
}

/// Loads an MNIST-style pair of IDX files: images (`0x00000803`, `[n, rows, cols]`
/// unsigned bytes) and labels (`0x00000801`, `[n]` unsigned bytes). Each file may be
/// gzip-compressed, recognised by its first two bytes (not its name).
///
/// Features are the `rows * cols` pixels of each image in row-major order, scaled
/// from 0..255 to [0, 1], as f32 ([`Dataset::to_dtype`] converts). The class count is
/// the largest label plus one ([`Dataset::with_num_classes`] declares more). The data
/// set is named after the images file.
///
/// All sizes in a header are checked against the length of the file before anything
/// is allocated for the data, so a header claiming four billion images is an error,
/// not an allocation. [`parse_idx`] does the same for bytes in memory.
///
/// # Errors
/// [`Error::Io`] if a file cannot be read. [`Error::Data`] naming the file and the byte
/// offset (counted in the decompressed data for a gzip file) for: a bad magic number,
/// a data type other than unsigned bytes, a wrong number of dimensions, a file that
/// ends inside the header, a zero size, data shorter than the header promises
/// (truncated), data longer than it promises, a truncated or corrupt gzip stream, and
/// (naming the labels file) a label count that differs from the image count.
pub fn load_idx(images_path: impl AsRef<Path>, labels_path: impl AsRef<Path>) -> Result<Dataset> {
    let (images_path, labels_path) = (images_path.as_ref(), labels_path.as_ref());
    let images = read_file(images_path)?;
    let labels = read_file(labels_path)?;
    parse_idx(&images, images_path, &labels, labels_path)
}

/// Parses the bytes of an IDX images file and an IDX labels file (each plain or
/// gzip-compressed) exactly as [`load_idx`] parses the files' contents, without touching
/// the file system: for data that arrives over a network, from an archive or from a
/// fuzzer. `load_idx` reads the two files and calls this.
///
/// `images_name` and `labels_name` stand for the files: errors name them where
/// `load_idx` names the paths (`"train-images:offset 4: ..."`), and the data set is
/// named after `images_name` (its file name up to the first `.`). As in `load_idx`,
/// every size in a header is checked against the length of the data before anything
/// is allocated for it.
///
/// ```
/// use gradflow_nn::data::parse_idx;
/// // Two 1x2 images and their labels: magic 00 00 08 ndim, big-endian sizes, bytes.
/// let images = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255, 51, 0];
/// let labels = [0, 0, 8, 1, 0, 0, 0, 2, 1, 0];
/// let data = parse_idx(&images, "tiny-images.idx", &labels, "tiny-labels.idx")?;
/// assert_eq!((data.name(), data.len(), data.num_features()), ("tiny-images", 2, 2));
/// assert_eq!(data.labels(), Some(&[1, 0][..]));
/// // A header that claims 4,294,967,295 images of 1x2 pixels is refused, not allocated.
/// let liar = [0, 0, 8, 3, 255, 255, 255, 255, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255];
/// let e = parse_idx(&liar, "liar.idx", &labels, "tiny-labels.idx").err();
/// assert!(e.is_some_and(|e| e.to_string().starts_with("liar.idx:offset 18: the data is truncated")));
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
///
/// # Errors
/// [`Error::Data`] naming `images_name` or `labels_name`, for every problem listed
/// under [`load_idx`].
pub fn parse_idx(
    images: &[u8],
    images_name: impl AsRef<Path>,
    labels: &[u8],
    labels_name: impl AsRef<Path>,
) -> Result<Dataset> {
    let (images_path, labels_path) = (images_name.as_ref(), labels_name.as_ref());
    let images = decompress_idx(images_path, images)?;
    let labels = decompress_idx(labels_path, labels)?;
    let (images, labels) = (&images[..], &labels[..]);
    let image_header = parse_header(images_path, images, 3, "images")?;
    let label_header = parse_header(labels_path, labels, 1, "labels")?;
    let (&[n, rows, cols], &[m]) = (&image_header.dims[..], &label_header.dims[..]) else {
        return Err(at(images_path, 3, "internal: unexpected dimension count"));
    };
    if n != m {
        return Err(at(
            labels_path,
            4,
            format!(
                "the labels file has {m} labels but the images file {} has {n} images",
                images_path.display()
            ),
        ));
    }
    // The lengths were checked against the headers: these slices are the whole data.
    let pixels = images.get(image_header.data_start..).unwrap_or(&[]);
    let label_bytes = labels.get(label_header.data_start..).unwrap_or(&[]);
    let x: Vec<f32> = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
    let labels: Vec<usize> = label_bytes.iter().map(|&l| usize::from(l)).collect();
    let num_classes = labels.iter().copied().max().unwrap_or(0) + 1;
    let features = Tensor::from_vec(x, [n, rows * cols])?;
    Dataset::classification(dataset_name(images_path), features, labels, num_classes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IDX file of unsigned bytes with the given sizes and data.
    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = vec![0, 0, UBYTE, dims.len() as u8];
        for d in dims {
            out.extend(d.to_be_bytes());
        }
        out.extend_from_slice(data);
        out
    }

    fn parse(images: &[u8], labels: &[u8]) -> Result<Dataset> {
        parse_idx(images, "img.idx", labels, "lbl.idx")
    }

    #[test]
    fn images_and_labels_become_scaled_features_and_classes() {
        let images = idx(&[2, 2, 3], &[0, 51, 255, 0, 0, 0, 1, 2, 3, 4, 5, 255]);
        let labels = idx(&[2], &[7, 3]);
        let d = parse(&images, &labels).unwrap();
        assert_eq!((d.len(), d.num_features()), (2, 6));
        assert_eq!(d.labels().unwrap(), [7, 3]);
        assert_eq!(d.num_classes(), Some(8));
        let x = d.features().to_vec::<f32>().unwrap();
        assert_eq!(x[1], 0.2);
        assert_eq!(x[2], 1.0);
        assert_eq!(x[11], 1.0);
    }

    #[test]
    fn a_header_claiming_four_billion_images_is_refused_before_allocating() {
        let images = idx(&[u32::MAX, 28, 28], &[0; 784]);
        let e = parse(&images, &idx(&[1], &[0])).unwrap_err().to_string();
        assert!(
            e.starts_with("img.idx:offset 800: the data is truncated"),
            "{e}"
        );
        assert!(e.contains("4294967295 x 28 x 28"), "{e}");
    }

    #[test]
    fn every_type_code_is_named() {
        assert_eq!(type_name(0x0D), "f32");
        assert_eq!(type_name(0x42), "unknown");
    }
}
