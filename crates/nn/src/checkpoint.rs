//! Checkpoints: a model's parameters saved and loaded in the
//! [safetensors](https://huggingface.co/docs/safetensors) format, so weights move to and
//! from PyTorch (`safetensors.torch.save_file(model.state_dict(), path)` and
//! `model.load_state_dict(safetensors.torch.load_file(path))`).
//!
//! Tensors are named as [`named_parameters`] names them (`layers.0.weight`), which is
//! PyTorch's `state_dict` naming for the same structure; f32 parameters are stored as
//! `F32` and f64 ones as `F64`, little-endian, row-major.
//!
//! [`load`] checks the whole file against the model first (every parameter present
//! with its shape and dtype, no extra tensor unless [`LoadOptions::allow_extra`]) and
//! only then assigns, so a failed load leaves the model as it was. Assignment keeps
//! each parameter's identity ([`ParamId`](crate::ParamId)), so an optimiser's state
//! still applies after a load.
//!
//! ```
//! use gradflow_autograd::{Activation, DType};
//! use gradflow_nn::{checkpoint, Mlp, module::named_parameters};
//! let dir = std::env::temp_dir().join("gradflow-doc-checkpoint");
//! std::fs::create_dir_all(&dir).map_err(|source| gradflow_nn::Error::Io { path: dir.clone(), source })?;
//! let path = dir.join("mlp.safetensors");
//! let trained = Mlp::builder(3, &[4], 2).activation(Activation::Tanh).dtype(DType::F64).seed(1).build()?;
//! checkpoint::save(&trained, &path)?;
//! let mut fresh = Mlp::builder(3, &[4], 2).activation(Activation::Tanh).dtype(DType::F64).seed(2).build()?;
//! checkpoint::load(&mut fresh, &path)?;
//! let values = |m: &Mlp| named_parameters(m).iter().map(|(_, p)| p.value().to_f64_vec()).collect::<Vec<_>>();
//! assert_eq!(values(&fresh), values(&trained));
//! // A model of another shape is refused, and left unchanged.
//! let mut wide = Mlp::builder(3, &[5], 2).activation(Activation::Tanh).dtype(DType::F64).build()?;
//! assert!(checkpoint::load(&mut wide, &path).is_err());
//! # Ok::<(), gradflow_nn::Error>(())
//! ```

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use gradflow_autograd::{DType, Tensor};
use safetensors::tensor::{Dtype, SafeTensors, View};

use crate::module::{named_parameters, visit_parameters_mut};
use crate::{Error, Module, Result};

/// How [`load_with`] matches a file to a model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    allow_extra: bool,
}

impl LoadOptions {
    /// Whether tensors in the file that the model has no parameter for are ignored
    /// (default: no, they are an error, since they usually mean a different model).
    pub fn allow_extra(mut self, allow: bool) -> Self {
        self.allow_extra = allow;
        self
    }
}

/// A parameter's data as safetensors sees it.
struct ParamView {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &ParamView {
    fn dtype(&self) -> Dtype {
        self.dtype
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }

    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn st_dtype(dtype: DType) -> Dtype {
    match dtype {
        DType::F32 => Dtype::F32,
        DType::F64 => Dtype::F64,
    }
}

fn our_dtype(dtype: Dtype) -> Option<DType> {
    match dtype {
        Dtype::F32 => Some(DType::F32),
        Dtype::F64 => Some(DType::F64),
        _ => None,
    }
}

/// The dtype as the messages name it: ours (`f32`) where we have it, else the file's
/// (`BF16`).
fn dtype_name(dtype: Dtype) -> String {
    our_dtype(dtype).map_or_else(|| format!("{dtype:?}"), |d| d.name().to_string())
}

fn little_endian_bytes(t: &Tensor) -> Result<Vec<u8>> {
    Ok(match t.dtype() {
        DType::F32 => t
            .as_slice::<f32>()?
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        DType::F64 => t
            .as_slice::<f64>()?
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
    })
}

/// The most names of unexpected tensors an error lists.
const MAX_LISTED: usize = 8;

fn checkpoint_error(path: &Path, reason: impl Into<String>) -> Error {
    // Text from the file (tensor names, and safetensors' messages that quote them) may
    // hold newlines or other control characters: escaped, the message stays one line.
    Error::Checkpoint {
        path: path.to_path_buf(),
        reason: crate::escape_controls(&reason.into()),
    }
}

/// The model's parameters in the safetensors format, as bytes.
///
/// # Errors
/// [`Error::Checkpoint`] (path `<memory>`) if two parameters share a name.
pub fn to_bytes(model: &dyn Module) -> Result<Vec<u8>> {
    serialize(model, Path::new("<memory>"))
}

fn serialize(model: &dyn Module, path: &Path) -> Result<Vec<u8>> {
    let mut views = Vec::new();
    let mut names = BTreeSet::new();
    for (name, p) in named_parameters(model) {
        if !names.insert(name.clone()) {
            return Err(checkpoint_error(
                path,
                format!("two parameters are named {name:?}; names must be unique"),
            ));
        }
        let value = p.value();
        views.push((
            name,
            ParamView {
                dtype: st_dtype(value.dtype()),
                shape: value.dims().to_vec(),
                data: little_endian_bytes(value)?,
            },
        ));
    }
    safetensors::serialize(views.iter().map(|(n, v)| (n.as_str(), v)), None)
        .map_err(|e| checkpoint_error(path, format!("cannot serialise: {e}")))
}

/// Saves the model's parameters to `path` in the safetensors format.
///
/// The bytes go to a temporary file beside `path`, which is then renamed over it, so
/// an interrupted save never leaves a partly written file under the real name.
///
/// # Errors
/// [`Error::Io`] naming the file if it cannot be written; [`Error::Checkpoint`] if two
/// parameters share a name.
pub fn save(model: &dyn Module, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let bytes = serialize(model, path)?;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".gradflow-checkpoint-").suffix(".tmp");
    // Temporary files are owner-only (0600) by default; a checkpoint gets the mode any
    // new file gets (0666 less the umask), as `File::create` would give it.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(&dir).map_err(io)?;
    tmp.write_all(&bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Loads parameters saved by [`save`] (or by PyTorch with safetensors) into `model`,
/// refusing extra tensors; see [`load_with`].
///
/// # Errors
/// As [`load_with`].
pub fn load(model: &mut dyn Module, path: impl AsRef<Path>) -> Result<()> {
    load_with(model, path, &LoadOptions::default())
}

/// Loads parameters from the safetensors file at `path` into `model`.
///
/// Everything is checked before anything is assigned: on any error the model is
/// unchanged.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read. [`Error::Checkpoint`] naming the file for
/// a corrupt or truncated file, and, listing every problem found, for a parameter the
/// file lacks, a tensor whose shape or dtype differs from the parameter's (naming the
/// parameter, the expected and the found shape or dtype), a dtype other than F32 and
/// F64, and tensors the model has no parameter for (unless
/// [`LoadOptions::allow_extra`]).
pub fn load_with(
    model: &mut dyn Module,
    path: impl AsRef<Path>,
    options: &LoadOptions,
) -> Result<()> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    deserialize_into(model, &bytes, path, options)
}

/// Loads parameters from safetensors bytes, as [`load_with`] does from a file.
///
/// # Errors
/// As [`load_with`], with the path `<memory>`.
pub fn from_bytes(model: &mut dyn Module, bytes: &[u8], options: &LoadOptions) -> Result<()> {
    deserialize_into(model, bytes, Path::new("<memory>"), options)
}

/// Checks that every tensor's data offsets lie inside the buffer. safetensors 0.8.0
/// adds the last offset to the header size unchecked (`tensor.rs`, `read_metadata`),
/// which panics with "attempt to add with overflow" in builds with overflow checks
/// (debug, test) for a hostile header whose offsets end near `usize::MAX`; with this
/// check first that cannot happen.
fn check_offsets(bytes: &[u8]) -> std::result::Result<(), String> {
    let Some(len_bytes) = bytes.get(..8) else {
        return Ok(()); // safetensors reports the short header
    };
    let mut le = [0u8; 8];
    le.copy_from_slice(len_bytes);
    let n = u64::from_le_bytes(le);
    let Some(header) = usize::try_from(n)
        .ok()
        .and_then(|n| 8usize.checked_add(n))
        .and_then(|end| bytes.get(8..end))
    else {
        return Ok(()); // safetensors reports the bad header length
    };
    let Ok(serde_json::Value::Object(entries)) = serde_json::from_slice(header) else {
        return Ok(()); // safetensors reports the bad JSON
    };
    for (name, info) in &entries {
        if name == "__metadata__" {
            continue;
        }
        let offsets = info.get("data_offsets").and_then(|o| o.as_array());
        if let Some(offsets) = offsets {
            for o in offsets {
                if o.as_u64().is_none_or(|o| o > bytes.len() as u64) {
                    return Err(format!(
                        "tensor {name:?} has data offset {o}, outside the file's {} bytes",
                        bytes.len()
                    ));
                }
            }
        }
    }
    Ok(())
}

fn deserialize_into(
    model: &mut dyn Module,
    bytes: &[u8],
    path: &Path,
    options: &LoadOptions,
) -> Result<()> {
    let corrupt =
        |reason: String| checkpoint_error(path, format!("not a valid safetensors file: {reason}"));
    check_offsets(bytes).map_err(corrupt)?;
    let file = SafeTensors::deserialize(bytes).map_err(|e| corrupt(e.to_string()))?;

    // 1. Check everything, collecting every problem.
    let mut problems = Vec::new();
    let mut loaded: HashMap<String, Tensor> = HashMap::new();
    let expected: Vec<(String, DType, Vec<usize>)> = named_parameters(model)
        .into_iter()
        .map(|(name, p)| (name, p.value().dtype(), p.value().dims().to_vec()))
        .collect();
    for (name, dtype, shape) in &expected {
        let Ok(view) = file.tensor(name) else {
            problems.push(format!(
                "parameter {name} ({dtype} {shape:?}) is missing from the file"
            ));
            continue;
        };
        let found = view.dtype();
        let mut ok = true;
        if our_dtype(found) != Some(*dtype) {
            problems.push(format!(
                "parameter {name}: expected dtype {dtype}, found {}",
                dtype_name(found)
            ));
            ok = false;
        }
        if view.shape() != shape.as_slice() {
            problems.push(format!(
                "parameter {name}: expected shape {shape:?}, found {:?}",
                view.shape()
            ));
            ok = false;
        }
        if ok {
            let tensor = decode(view.data(), *dtype, shape)
                .map_err(|e| checkpoint_error(path, format!("parameter {name}: {e}")))?;
            loaded.insert(name.clone(), tensor);
        }
    }
    if !options.allow_extra {
        let known: BTreeSet<&str> = expected.iter().map(|(n, _, _)| n.as_str()).collect();
        let mut extra: Vec<&str> = file
            .names()
            .into_iter()
            .filter(|n| !known.contains(n))
            .collect();
        extra.sort_unstable();
        if !extra.is_empty() {
            // The first few by name: a file of a thousand tensors keeps a readable line.
            let mut listed = extra[..extra.len().min(MAX_LISTED)].join(", ");
            if extra.len() > MAX_LISTED {
                listed.push_str(&format!(" and {} more", extra.len() - MAX_LISTED));
            }
            problems.push(format!(
                "the model has no parameter for {} tensor(s) of the file: {listed} (LoadOptions::allow_extra ignores them)",
                extra.len(),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(checkpoint_error(
            path,
            format!("does not fit the model: {}", problems.join("; ")),
        ));
    }

    // 2. Assign: every parameter has its checked tensor.
    visit_parameters_mut(model, &mut |name, p| {
        if let Some(t) = loaded.remove(name) {
            p.set(t);
        }
    });
    Ok(())
}

/// Little-endian bytes as a tensor (any alignment: the bytes are copied, not cast). A
/// length that does not fit the shape is an error of `from_vec`.
fn decode(data: &[u8], dtype: DType, shape: &[usize]) -> Result<Tensor> {
    Ok(match dtype {
        DType::F32 => Tensor::from_vec(
            data.chunks_exact(4)
                .filter_map(|c| c.try_into().ok().map(f32::from_le_bytes))
                .collect::<Vec<f32>>(),
            shape,
        )?,
        DType::F64 => Tensor::from_vec(
            data.chunks_exact(8)
                .filter_map(|c| c.try_into().ok().map(f64::from_le_bytes))
                .collect::<Vec<f64>>(),
            shape,
        )?,
    })
}

#[cfg(test)]
mod tests {
    use gradflow_autograd::Activation;

    use super::*;
    use crate::Mlp;

    fn mlp(hidden: usize, dtype: DType, seed: u64) -> Mlp {
        Mlp::builder(3, &[hidden], 2)
            .activation(Activation::Tanh)
            .dtype(dtype)
            .seed(seed)
            .build()
            .unwrap()
    }

    fn values(m: &dyn Module) -> Vec<Vec<f64>> {
        named_parameters(m)
            .iter()
            .map(|(_, p)| p.value().to_f64_vec())
            .collect()
    }

    #[test]
    fn bytes_round_trip_in_f32_and_f64() {
        for dtype in [DType::F32, DType::F64] {
            let a = mlp(4, dtype, 1);
            let mut b = mlp(4, dtype, 2);
            from_bytes(&mut b, &to_bytes(&a).unwrap(), &LoadOptions::default()).unwrap();
            assert_eq!(values(&a), values(&b));
            assert_eq!(
                named_parameters(&b)[0].1.value().dtype(),
                dtype,
                "dtype kept"
            );
        }
    }

    #[test]
    fn loading_keeps_parameter_identities() {
        let a = mlp(4, DType::F32, 1);
        let mut b = mlp(4, DType::F32, 2);
        let ids: Vec<_> = named_parameters(&b).iter().map(|(_, p)| p.id()).collect();
        from_bytes(&mut b, &to_bytes(&a).unwrap(), &LoadOptions::default()).unwrap();
        let after: Vec<_> = named_parameters(&b).iter().map(|(_, p)| p.id()).collect();
        assert_eq!(ids, after);
    }

    #[test]
    fn a_shape_mismatch_names_the_parameter_and_both_shapes_and_changes_nothing() {
        let a = mlp(5, DType::F64, 1);
        let mut b = mlp(4, DType::F64, 2);
        let before = values(&b);
        let e = from_bytes(&mut b, &to_bytes(&a).unwrap(), &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("parameter layers.0.weight: expected shape [4, 3], found [5, 3]"),
            "{e}"
        );
        assert!(
            e.contains("parameter layers.2.weight: expected shape [2, 4], found [2, 5]"),
            "{e}"
        );
        assert_eq!(values(&b), before);
    }

    #[test]
    fn a_dtype_mismatch_names_the_parameter_and_both_dtypes() {
        let a = mlp(4, DType::F32, 1);
        let mut b = mlp(4, DType::F64, 2);
        let before = values(&b);
        let e = from_bytes(&mut b, &to_bytes(&a).unwrap(), &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("parameter layers.0.bias: expected dtype f64, found f32"),
            "{e}"
        );
        assert_eq!(values(&b), before);
    }

    #[test]
    fn hostile_offsets_are_an_error_not_an_overflow() {
        // Eight tensors of 2^61 - 8 bytes each, each consistent with its own shape and
        // contiguous: the offsets end at 2^64 - 64, and safetensors alone would overflow
        // adding the header length to that.
        let elements = (1usize << 58) - 1;
        let size = elements * 8;
        let entries: Vec<String> = (0..8)
            .map(|i| {
                format!(
                    "\"t{i}\":{{\"dtype\":\"F64\",\"shape\":[{elements}],\"data_offsets\":[{},{}]}}",
                    i * size,
                    (i + 1) * size
                )
            })
            .collect();
        let header = format!("{{{}}}", entries.join(","));
        let mut file = (header.len() as u64).to_le_bytes().to_vec();
        file.extend(header.as_bytes());
        let mut m = mlp(4, DType::F64, 0);
        let e = from_bytes(&mut m, &file, &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("outside the file"), "{e}");
    }

    /// A checkpoint holding the model's tensors and `extra` tensors of one f64 each.
    fn with_extra_tensors(extra: &[String]) -> Vec<u8> {
        let m = mlp(4, DType::F64, 1);
        let mut tensors: Vec<(String, Vec<u8>, Vec<usize>)> = named_parameters(&m)
            .iter()
            .map(|(n, p)| {
                let t = p.value();
                (
                    n.clone(),
                    little_endian_bytes(t).unwrap(),
                    t.dims().to_vec(),
                )
            })
            .collect();
        tensors.extend(
            extra
                .iter()
                .map(|n| (n.clone(), 1.5f64.to_le_bytes().to_vec(), vec![1])),
        );
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
            .iter()
            .map(|(n, b, s)| {
                (
                    n.clone(),
                    safetensors::tensor::TensorView::new(Dtype::F64, s.clone(), b).unwrap(),
                )
            })
            .collect();
        safetensors::serialize(views, None).unwrap()
    }

    #[test]
    fn a_tensor_name_with_a_newline_is_escaped_so_the_error_is_one_line() {
        let file = with_extra_tensors(&["evil\nname\r\u{1b}[31m".to_string()]);
        let mut m = mlp(4, DType::F64, 2);
        let before = values(&m);
        let e = from_bytes(&mut m, &file, &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(!e.contains(['\n', '\r', '\u{1b}']), "{e:?}");
        assert!(e.contains(r"evil\nname\r\u{1b}[31m"), "{e}");
        assert_eq!(values(&m), before);
        // Allowed as an extra, the same file loads.
        from_bytes(&mut m, &file, &LoadOptions::default().allow_extra(true)).unwrap();
    }

    #[test]
    fn many_unexpected_tensors_are_counted_and_only_the_first_few_named() {
        let names: Vec<String> = (0..1000).map(|i| format!("extra.{i:04}")).collect();
        let mut m = mlp(4, DType::F64, 2);
        let e = from_bytes(&mut m, &with_extra_tensors(&names), &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "no parameter for 1000 tensor(s) of the file: extra.0000, extra.0001, extra.0002, \
                 extra.0003, extra.0004, extra.0005, extra.0006, extra.0007 and 992 more"
            ),
            "{e}"
        );
        assert!(e.len() < 400, "{} bytes: {e}", e.len());
    }
}
