//! `im2col`: every sliding window of a batch of images laid out as a column, so that a
//! 2-D convolution becomes one matrix product.
//!
//! For an input `[N, C, H, W]`, kernel `[kh, kw]`, stride `[sh, sw]` and zero padding
//! `[ph, pw]`, the output is `[N, C*kh*kw, Ho*Wo]` with `Ho = floor((H + 2 ph - kh) / sh) + 1`
//! (likewise `Wo`) and
//!
//! `out[n, (c*kh + i)*kw + j, oy*Wo + ox] = x[n, c, oy*sh - ph + i, ox*sw - pw + j]`,
//!
//! or 0 where that position falls in the padding. Rows are channel-major, then kernel
//! row, then kernel column: the layout of a PyTorch conv weight `[O, C, kh, kw]` reshaped
//! to `[O, C*kh*kw]`, so `conv2d(x, w) = (w.reshape([O, C*kh*kw]) @ im2col(x))` reshaped
//! to `[N, O, Ho, Wo]`. A gather through an [`IndexMap`], so its gradient (`col2im`, the
//! scatter-add of the columns back onto the image) needs no rule of its own and is
//! differentiable again. PyTorch: `torch.nn.functional.unfold(x, kernel, padding=...,
//! stride=...)`.
//!
//! ```
//! use gradflow_autograd::Tensor;
//! let x = Tensor::from_vec((1..=9).map(f64::from).collect(), &[1, 1, 3, 3])?;
//! let cols = x.im2col([2, 2], [1, 1], [0, 0])?;   // four 2x2 windows
//! assert_eq!(cols.dims(), &[1, 4, 4]);
//! // Row 0 is the top-left element of each window, row 3 the bottom-right one.
//! assert_eq!(&cols.to_vec::<f64>()?[..4], &[1.0, 2.0, 4.0, 5.0]);
//! assert_eq!(&cols.to_vec::<f64>()?[12..], &[5.0, 6.0, 8.0, 9.0]);
//! # Ok::<(), gradflow_autograd::Error>(())
//! ```

use super::gather::IndexMap;
use crate::{Error, Result, Shape, Tensor, Var};

/// The geometry of a 2-D sliding window over `[N, C, H, W]`, checked: the sizes of the
/// input and of the window grid, and where each window element reads from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window2d {
    pub(crate) n: usize,
    pub(crate) c: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    /// Output size `[Ho, Wo]`.
    pub(crate) out: [usize; 2],
}

impl Window2d {
    /// Checks the input shape and the window parameters, naming `op`. With `pooling`,
    /// also PyTorch's rules for pooling: padding at most half the kernel, and `H` and `W`
    /// at least 1, so that every window holds a real element.
    pub(crate) fn new(
        op: &'static str,
        shape: &Shape,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        pooling: bool,
    ) -> Result<Window2d> {
        let &[n, c, h, w] = shape.dims() else {
            return Err(Error::shape(
                op,
                &[shape],
                format!("expects a 4-D [N, C, H, W] input, got {}-D", shape.ndim()),
            ));
        };
        if kernel.contains(&0) {
            return Err(Error::invalid(
                op,
                format!("kernel size must be >= 1 (got {kernel:?})"),
            ));
        }
        if stride.contains(&0) {
            return Err(Error::invalid(
                op,
                format!("stride must be >= 1 (got {stride:?})"),
            ));
        }
        if pooling {
            if padding[0] > kernel[0] / 2 || padding[1] > kernel[1] / 2 {
                return Err(Error::invalid(
                    op,
                    format!(
                        "padding {padding:?} must be at most half the kernel size {kernel:?} \
                         (PyTorch's rule: pad <= kernel / 2)"
                    ),
                ));
            }
            if h == 0 || w == 0 {
                return Err(Error::shape(
                    op,
                    &[shape],
                    "the height and width of the input must be at least 1",
                ));
            }
        }
        let padded = [
            h.saturating_add(padding[0].saturating_mul(2)),
            w.saturating_add(padding[1].saturating_mul(2)),
        ];
        if padded[0] < kernel[0] || padded[1] < kernel[1] {
            return Err(Error::shape(
                op,
                &[shape],
                format!(
                    "kernel {kernel:?} is larger than the padded input {padded:?} (padding \
                     {padding:?} on each side), so the output would be empty"
                ),
            ));
        }
        let out = [
            (padded[0] - kernel[0]) / stride[0] + 1,
            (padded[1] - kernel[1]) / stride[1] + 1,
        ];
        // The output and the index maps have up to N*C*kh*kw*Ho*Wo elements: refuse sizes
        // that do not fit a usize rather than wrap around.
        [n, c, kernel[0], kernel[1], out[0], out[1]]
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| {
                Error::invalid(
                    op,
                    format!(
                        "the output for kernel {kernel:?}, stride {stride:?} and padding \
                         {padding:?} on {shape} would have more than usize::MAX elements"
                    ),
                )
            })?;
        Ok(Window2d {
            n,
            c,
            h,
            w,
            kernel,
            stride,
            padding,
            out,
        })
    }

    /// The flat index into `[N, C, H, W]` read by kernel element `(i, j)` of the window
    /// at output position `(oy, ox)` of image `nc` (= `n*C + c`), or `None` in the
    /// padding.
    #[inline]
    pub(crate) fn source(
        &self,
        nc: usize,
        oy: usize,
        ox: usize,
        i: usize,
        j: usize,
    ) -> Option<usize> {
        Some(self.row(nc, oy, i)? + self.column(ox, j)?)
    }

    /// The flat index of the start of the input row that kernel row `i` of the windows
    /// in output row `oy` of image `nc` reads, or `None` in the padding.
    #[inline]
    pub(crate) fn row(&self, nc: usize, oy: usize, i: usize) -> Option<usize> {
        let y = (oy * self.stride[0] + i)
            .checked_sub(self.padding[0])
            .filter(|&y| y < self.h)?;
        Some((nc * self.h + y) * self.w)
    }

    /// The column that kernel column `j` of the window at output column `ox` reads, or
    /// `None` in the padding.
    #[inline]
    pub(crate) fn column(&self, ox: usize, j: usize) -> Option<usize> {
        (ox * self.stride[1] + j)
            .checked_sub(self.padding[1])
            .filter(|&x| x < self.w)
    }

    /// The output columns `ox` whose kernel column `j` reads a real element (not the
    /// padding): one run, since the columns read grow with `ox`.
    fn columns(&self, j: usize) -> std::ops::Range<usize> {
        let [sw, pw] = [self.stride[1], self.padding[1]];
        // x = ox sw + j - pw must lie in [0, W).
        let end = (self.w + pw)
            .checked_sub(j + 1)
            .map_or(0, |last| last / sw + 1)
            .min(self.out[1]);
        let start = pw.saturating_sub(j).div_ceil(sw).min(end);
        start..end
    }

    /// The map of `im2col`: `[N, C, H, W]` to `[N, C*kh*kw, Ho*Wo]`.
    fn im2col_map(&self, op: &'static str, shape: &Shape) -> Result<IndexMap> {
        let [kh, kw] = self.kernel;
        let [oh, ow] = self.out;
        let out_shape = Shape::new(&[self.n, self.c * kh * kw, oh * ow]);
        // Output order: n, c, i, j (the row), then oy, ox (the column).
        IndexMap::build(op, "im2col", shape.clone(), out_shape, |w| {
            for nc in 0..self.n * self.c {
                for i in 0..kh {
                    for j in 0..kw {
                        for oy in 0..oh {
                            // A row of the output: zeros, then input elements `sw` apart,
                            // then zeros.
                            match self.row(nc, oy, i) {
                                None => w.push_zeros(ow),
                                Some(start) => {
                                    let real = self.columns(j);
                                    w.push_zeros(real.start);
                                    let first = (real.start * self.stride[1] + j)
                                        .checked_sub(self.padding[1])
                                        .map(|x| start + x);
                                    w.push_run(first, self.stride[1], real.len());
                                    w.push_zeros(ow - real.end);
                                }
                            }
                        }
                    }
                }
            }
        })
    }
}

/// What an `im2col` map depends on: the input's dimensions, kernel, stride, padding.
type MapKey = ([usize; 4], [usize; 2], [usize; 2], [usize; 2]);

/// The `im2col` maps built most recently, least recently used first. A training loop
/// convolves batches of one shape step after step, and building the map (an index per
/// output element) took as long as the gather it serves: 1.0 ms of a 1.9 ms `im2col`
/// of a `[64, 16, 16, 16]` batch with a 3 x 3 kernel.
struct MapCache {
    entries: Vec<(MapKey, IndexMap)>,
    /// Indices held, over all entries.
    held: usize,
    /// The most indices held at once; a larger map is built each time, not kept.
    capacity: usize,
}

impl MapCache {
    const fn new(capacity: usize) -> MapCache {
        MapCache {
            entries: Vec::new(),
            held: 0,
            capacity,
        }
    }

    fn get(&mut self, key: &MapKey) -> Option<IndexMap> {
        let at = self.entries.iter().position(|(k, _)| k == key)?;
        let entry = self.entries.remove(at);
        let map = entry.1.clone();
        self.entries.push(entry);
        Some(map)
    }

    fn insert(&mut self, key: MapKey, map: IndexMap) {
        let len = map.indices().len();
        if len > self.capacity {
            return;
        }
        self.held += len;
        self.entries.push((key, map));
        while self.held > self.capacity {
            let (_, old) = self.entries.remove(0);
            self.held -= old.indices().len();
        }
    }
}

/// At most 2^24 indices (64 MiB) are kept.
static MAP_CACHE: std::sync::Mutex<MapCache> = std::sync::Mutex::new(MapCache::new(1 << 24));

fn im2col_map(
    shape: &Shape,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Result<IndexMap> {
    let win = Window2d::new("im2col", shape, kernel, stride, padding, false)?;
    let key = ([win.n, win.c, win.h, win.w], kernel, stride, padding);
    let cache = || {
        MAP_CACHE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(map) = cache().get(&key) {
        return Ok(map);
    }
    let map = win.im2col_map("im2col", shape)?;
    cache().insert(key, map.clone());
    Ok(map)
}

impl Tensor {
    /// The sliding windows of an `[N, C, H, W]` batch as columns, zero-padded (see the
    /// [module docs](self)).
    ///
    /// # Shapes
    /// `[N, C, H, W]` to `[N, C*kh*kw, Ho*Wo]`, `Ho = floor((H + 2 ph - kh) / sh) + 1`,
    /// `Wo = floor((W + 2 pw - kw) / sw) + 1`.
    ///
    /// # Errors
    /// [`Error::Shape`] if the input is not 4-D or the kernel is larger than the padded
    /// input (an empty output); [`Error::InvalidArgument`] for a zero kernel size or
    /// stride, or an output of more than `usize::MAX` elements.
    pub fn im2col(
        &self,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Result<Tensor> {
        self.gather_map(&im2col_map(self.shape(), kernel, stride, padding)?)
    }
}

impl Var {
    /// The sliding windows of an `[N, C, H, W]` batch as columns, zero-padded; recorded
    /// as a gather (see [`Tensor::im2col`]). The gradient is the scatter-add of the
    /// columns back onto the image (`col2im`).
    ///
    /// # Shapes
    /// As [`Tensor::im2col`].
    ///
    /// # Errors
    /// As [`Tensor::im2col`], plus the recording errors of [`Var::apply`].
    #[track_caller]
    pub fn im2col(
        &self,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Result<Var> {
        self.gather_map(&im2col_map(self.shape(), kernel, stride, padding)?)
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::*;
    use crate::{Tape, Tensor, Var};

    /// Input shape, kernel, stride, padding.
    type Case = (&'static [usize], [usize; 2], [usize; 2], [usize; 2]);

    /// im2col by direct nested loops over signed positions.
    fn reference(
        x: &Tensor,
        k: [usize; 2],
        s: [usize; 2],
        p: [usize; 2],
    ) -> (Vec<usize>, Vec<f64>) {
        let d = x.dims();
        let (n, c, h, w) = (d[0], d[1], d[2], d[3]);
        let oh = (h + 2 * p[0] - k[0]) / s[0] + 1;
        let ow = (w + 2 * p[1] - k[1]) / s[1] + 1;
        let v = x.to_f64_vec();
        let mut out = Vec::new();
        for b in 0..n {
            for ch in 0..c {
                for i in 0..k[0] {
                    for j in 0..k[1] {
                        for oy in 0..oh {
                            for ox in 0..ow {
                                let y = (oy * s[0] + i) as isize - p[0] as isize;
                                let xx = (ox * s[1] + j) as isize - p[1] as isize;
                                let inside =
                                    y >= 0 && xx >= 0 && (y as usize) < h && (xx as usize) < w;
                                out.push(if inside {
                                    v[((b * c + ch) * h + y as usize) * w + xx as usize]
                                } else {
                                    0.0
                                });
                            }
                        }
                    }
                }
            }
        }
        (vec![n, c * k[0] * k[1], oh * ow], out)
    }

    #[test]
    fn im2col_matches_a_nested_loop_reference() {
        let cases: &[Case] = &[
            (&[1, 1, 3, 3], [2, 2], [1, 1], [0, 0]),
            (&[2, 3, 5, 4], [3, 2], [1, 1], [1, 0]),
            (&[1, 2, 6, 7], [3, 3], [2, 3], [1, 2]),
            (&[2, 1, 4, 4], [1, 1], [2, 2], [0, 0]),
            (&[1, 2, 2, 3], [4, 4], [1, 1], [2, 2]),
            (&[1, 1, 1, 1], [1, 1], [1, 1], [0, 0]),
            (&[0, 2, 3, 3], [2, 2], [1, 1], [0, 0]),
            (&[1, 1, 0, 2], [2, 1], [1, 1], [1, 0]),
            // Large enough that the gather is split over threads.
            (&[1, 8, 32, 32], [3, 3], [1, 1], [1, 1]),
        ];
        for (i, &(shape, k, s, p)) in cases.iter().enumerate() {
            let x = randn(shape, 60 + i as u64);
            let got = x.im2col(k, s, p).unwrap();
            let (dims, want) = reference(&x, k, s, p);
            assert_eq!(got.dims(), dims.as_slice(), "case {i}");
            assert_eq!(got.to_f64_vec(), want, "case {i}");
        }
    }

    #[test]
    fn im2col_matches_the_reference_on_every_small_geometry() {
        let mut seed = 100;
        for (h, w) in [(1, 1), (4, 5), (5, 4)] {
            for kernel in [[1, 1], [2, 3], [3, 2], [3, 3]] {
                for stride in [[1, 1], [2, 1], [1, 3], [2, 2]] {
                    for padding in [[0, 0], [1, 0], [0, 1], [2, 2]] {
                        if h + 2 * padding[0] < kernel[0] || w + 2 * padding[1] < kernel[1] {
                            continue;
                        }
                        seed += 1;
                        let x = randn(&[2, 2, h, w], seed);
                        let got = x.im2col(kernel, stride, padding).unwrap();
                        let (dims, want) = reference(&x, kernel, stride, padding);
                        let case = format!("{h}x{w} {kernel:?} {stride:?} {padding:?}");
                        assert_eq!(got.dims(), dims.as_slice(), "{case}");
                        assert_eq!(got.to_f64_vec(), want, "{case}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_map_cache_serves_repeats_and_keeps_within_its_capacity() {
        use super::{MapCache, Window2d};
        let map = |dims: [usize; 4]| {
            let shape = crate::Shape::new(&dims);
            Window2d::new("im2col", &shape, [2, 2], [1, 1], [0, 0], false)
                .unwrap()
                .im2col_map("im2col", &shape)
                .unwrap()
        };
        let key = |dims: [usize; 4]| (dims, [2, 2], [1, 1], [0, 0]);
        // [1, 1, 3, 3] with a 2 x 2 kernel: 16 indices; [1, 1, 4, 4]: 36.
        let mut cache = MapCache::new(60);
        cache.insert(key([1, 1, 3, 3]), map([1, 1, 3, 3]));
        let hit = cache.get(&key([1, 1, 3, 3])).unwrap();
        assert_eq!(hit, map([1, 1, 3, 3]));
        assert!(cache.get(&key([1, 1, 4, 4])).is_none());
        cache.insert(key([1, 1, 4, 4]), map([1, 1, 4, 4]));
        assert_eq!(cache.held, 52);
        // A third map overflows the capacity: the least recently used one goes.
        cache.get(&key([1, 1, 3, 3])).unwrap();
        cache.insert(key([2, 1, 3, 3]), map([2, 1, 3, 3]));
        assert!(cache.get(&key([1, 1, 4, 4])).is_none());
        assert!(cache.get(&key([1, 1, 3, 3])).is_some());
        assert!(cache.get(&key([2, 1, 3, 3])).is_some());
        assert_eq!(cache.held, 48);
        // A map larger than the whole capacity is not kept.
        cache.insert(key([1, 2, 5, 5]), map([1, 2, 5, 5]));
        assert!(cache.get(&key([1, 2, 5, 5])).is_none());
        assert_eq!(cache.held, 48);
        // Through `im2col`, a repeat shares the first call's indices.
        let x = randn(&[1, 2, 5, 5], 1);
        let first = super::im2col_map(x.shape(), [2, 2], [1, 1], [0, 0]).unwrap();
        let again = super::im2col_map(x.shape(), [2, 2], [1, 1], [0, 0]).unwrap();
        assert_eq!(first.indices().as_ptr(), again.indices().as_ptr());
    }

    #[test]
    fn im2col_gradchecks_to_second_order() {
        check_op(
            |v| v[0].im2col([2, 2], [1, 1], [0, 0])?.powf(2.0),
            &[randn(&[1, 2, 3, 3], 70)],
        );
        check_op(
            |v| v[0].im2col([3, 2], [2, 1], [1, 1])?.powf(3.0),
            &[randn(&[2, 1, 4, 3], 71)],
        );
        check_op(
            |v| v[0].im2col([1, 3], [1, 2], [0, 1])?.powf(2.0),
            &[randn(&[1, 1, 1, 4], 72)],
        );
        check_op(
            |v| v[0].im2col([2, 2], [1, 1], [0, 0])?.powf(2.0),
            &[randn(&[0, 2, 3, 3], 73)],
        );
    }

    #[test]
    fn im2col_gradient_counts_how_many_windows_read_each_pixel() {
        let tape = Tape::new();
        let x = tape.var(randn(&[1, 1, 3, 3], 1));
        let y = x.im2col([2, 2], [1, 1], [0, 0]).unwrap().sum_all().unwrap();
        let g = y.backward().unwrap();
        assert_eq!(
            g.get(&x).unwrap().to_f64_vec(),
            vec![1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0]
        );
    }

    /// Direct 2-D convolution (cross-correlation, as PyTorch's conv2d) by nested loops.
    fn conv_reference(x: &Tensor, w: &Tensor, s: [usize; 2], p: [usize; 2]) -> Vec<f64> {
        let (xd, wd) = (x.dims(), w.dims());
        let (n, c, h, wi) = (xd[0], xd[1], xd[2], xd[3]);
        let (o, kh, kw) = (wd[0], wd[2], wd[3]);
        let oh = (h + 2 * p[0] - kh) / s[0] + 1;
        let ow = (wi + 2 * p[1] - kw) / s[1] + 1;
        let (xv, wv) = (x.to_f64_vec(), w.to_f64_vec());
        let mut out = vec![0.0; n * o * oh * ow];
        for b in 0..n {
            for f in 0..o {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut acc = 0.0;
                        for ch in 0..c {
                            for i in 0..kh {
                                for j in 0..kw {
                                    let y = (oy * s[0] + i) as isize - p[0] as isize;
                                    let xx = (ox * s[1] + j) as isize - p[1] as isize;
                                    if y >= 0 && xx >= 0 && (y as usize) < h && (xx as usize) < wi {
                                        acc += xv
                                            [((b * c + ch) * h + y as usize) * wi + xx as usize]
                                            * wv[((f * c + ch) * kh + i) * kw + j];
                                    }
                                }
                            }
                        }
                        out[((b * o + f) * oh + oy) * ow + ox] = acc;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn im2col_rows_follow_the_conv_weight_layout() {
        // conv2d(x, w) = sum_r w[o, r] * cols[n, r, l] with w reshaped to [O, C*kh*kw];
        // computed here by broadcasting (matmul lives on another branch).
        let x = randn(&[2, 3, 5, 4], 80);
        let w = randn(&[4, 3, 3, 2], 81);
        let (s, p) = ([2, 1], [1, 1]);
        let cols = Var::untracked(x.im2col([3, 2], s, p).unwrap()); // [2, 18, 3*5]
        let wm = Var::untracked(w.reshape([1, 4, 18, 1]).unwrap());
        let y = cols
            .unsqueeze(1)
            .unwrap()
            .mul(&wm)
            .unwrap()
            .sum(&[2], false)
            .unwrap();
        assert_eq!(y.dims(), &[2, 4, 15]);
        assert_close(
            &y.value().to_f64_vec(),
            &conv_reference(&x, &w, s, p),
            1e-12,
            1e-12,
        );
    }

    #[test]
    fn im2col_rejects_bad_shapes_kernels_strides_and_empty_outputs() {
        let x = randn(&[1, 2, 4, 4], 1);
        assert_eq!(
            randn(&[2, 4, 4], 1)
                .im2col([2, 2], [1, 1], [0, 0])
                .unwrap_err()
                .to_string(),
            "im2col: expects a 4-D [N, C, H, W] input, got 3-D (shapes: [2, 4, 4])"
        );
        assert_eq!(
            x.im2col([0, 2], [1, 1], [0, 0]).unwrap_err().to_string(),
            "im2col: kernel size must be >= 1 (got [0, 2])"
        );
        assert_eq!(
            x.im2col([2, 2], [1, 0], [0, 0]).unwrap_err().to_string(),
            "im2col: stride must be >= 1 (got [1, 0])"
        );
        assert_eq!(
            x.im2col([7, 2], [1, 1], [1, 0]).unwrap_err().to_string(),
            "im2col: kernel [7, 2] is larger than the padded input [6, 4] (padding [1, 0] on \
             each side), so the output would be empty (shapes: [1, 2, 4, 4])"
        );
        assert!(x.im2col([2, 2], [1, 1], [usize::MAX, 0]).is_err());
        let tape = Tape::new();
        let v = tape.var(x);
        assert!(v.im2col([2, 5], [1, 1], [0, 0]).is_err());
    }
}
