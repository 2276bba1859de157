//! Seeded synthetic data sets: the classic toy problems of the gradient-flow
//! literature, and a teacher network for regression.
//!
//! Every generator takes the row count `n`, its own shape parameters, a noise level
//! (the standard deviation of Gaussian noise, 0 for none) and a seed. The same
//! arguments give the same data on every platform (xoshiro256++ and fixed sampling
//! order). Values are generated in f64 and stored as f32, the project's default dtype;
//! [`Dataset::to_dtype`] converts. Rows are shuffled, so any prefix mixes the classes.
//!
//! | generator | features | targets |
//! |---|---|---|
//! | [`xor`] | 2 | 2 classes |
//! | [`two_spirals`] | 2 | 2 classes |
//! | [`moons`] | 2 | 2 classes |
//! | [`circles`] | 2 | 2 classes |
//! | [`blobs`] | `dims` | `classes` classes |
//! | [`teacher`] | `inputs` | `outputs` real values |
//! | [`multi_label`] | `dims` | `labels` binary labels |
//!
//! ```
//! use gradflow_nn::data::synthetic;
//! let data = synthetic::two_spirals(200, 0.02, 7)?;
//! assert_eq!((data.len(), data.num_features(), data.num_classes()), (200, 2, Some(2)));
//! assert_eq!(data.class_counts(), Some(vec![100, 100]));
//! # Ok::<(), gradflow_nn::Error>(())
//! ```

use std::f64::consts::PI;

use gradflow_autograd::DType;
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal, Uniform};

use super::Dataset;
use super::dataset::tensor_from_f64;
use crate::{Error, Result};

/// Rows generated before shuffling: features (row-major) and one label per row.
struct Rows {
    features: Vec<f64>,
    labels: Vec<usize>,
}

impl Rows {
    /// Room for `n` rows of `d` features.
    fn with_capacity(n: usize, d: usize) -> Rows {
        Rows {
            features: Vec::with_capacity(n.saturating_mul(d)),
            labels: Vec::with_capacity(n),
        }
    }

    /// A row at `point` plus Gaussian noise of standard deviation `noise` on each
    /// coordinate, drawn from `rng` in coordinate order.
    fn push_noisy<R: Rng + ?Sized>(
        &mut self,
        point: &[f64],
        label: usize,
        noise: f64,
        rng: &mut R,
    ) {
        for &c in point {
            self.features.push(c + noise * normal(rng));
        }
        self.labels.push(label);
    }
}

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    StandardNormal.sample(rng)
}

fn check_n(what: &'static str, n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::config(what, "n must be at least 1"));
    }
    Ok(())
}

fn check_noise(what: &'static str, name: &str, noise: f64) -> Result<()> {
    if !(noise.is_finite() && noise >= 0.0) {
        return Err(Error::config(
            what,
            format!("{name} must be finite and >= 0, got {noise}"),
        ));
    }
    Ok(())
}

fn check_at_least_one(what: &'static str, name: &str, value: usize) -> Result<()> {
    if value == 0 {
        return Err(Error::config(what, format!("{name} must be at least 1")));
    }
    Ok(())
}

/// `n * d` elements, refused if they could not be allocated as f64 at all (rather than
/// panicking on a capacity overflow).
fn check_size(what: &'static str, n: usize, d: usize) -> Result<usize> {
    n.checked_mul(d)
        .filter(|&total| total <= isize::MAX as usize / 8)
        .ok_or_else(|| Error::config(what, format!("{n} rows x {d} columns is too large")))
}

/// Shuffles whole rows of `features` (`d` columns) and `labels` with one permutation.
fn shuffle_rows(rows: Rows, d: usize, rng: &mut Xoshiro256PlusPlus) -> Rows {
    let n = rows.labels.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let mut features = Vec::with_capacity(rows.features.len());
    let mut labels = Vec::with_capacity(n);
    for i in order {
        if let (Some(row), Some(&label)) =
            (rows.features.get(i * d..(i + 1) * d), rows.labels.get(i))
        {
            features.extend_from_slice(row);
            labels.push(label);
        }
    }
    Rows { features, labels }
}

fn classification(
    name: &str,
    rows: Rows,
    d: usize,
    classes: usize,
    rng: &mut Xoshiro256PlusPlus,
) -> Result<Dataset> {
    let rows = shuffle_rows(rows, d, rng);
    let n = rows.labels.len();
    let x = tensor_from_f64(rows.features, n, d, DType::F32)?;
    Dataset::classification(name, x, rows.labels, classes)
}

/// `m` evenly spaced values from `start` to `end`, ends included (`[start]` for one).
fn linspace(start: f64, end: f64, m: usize) -> impl Iterator<Item = f64> {
    let step = if m > 1 {
        (end - start) / (m - 1) as f64
    } else {
        0.0
    };
    (0..m).map(move |i| start + step * i as f64)
}

/// The XOR problem: points around the four corners `(±1, ±1)`, class 1 where the two
/// coordinates differ in sign (the corners are used in turn, so the classes are
/// balanced), plus Gaussian noise of standard deviation `noise`. With `n = 4` and no
/// noise it is the truth table itself, in ±1 coding.
///
/// # Errors
/// [`Error::Config`] for `n = 0` or a negative or non-finite noise.
pub fn xor(n: usize, noise: f64, seed: u64) -> Result<Dataset> {
    const WHAT: &str = "xor";
    check_n(WHAT, n)?;
    check_noise(WHAT, "noise", noise)?;
    check_size(WHAT, n, 2)?;
    let mut rng = rng(seed);
    let corners = [
        (-1.0, -1.0, 0),
        (-1.0, 1.0, 1),
        (1.0, -1.0, 1),
        (1.0, 1.0, 0),
    ];
    let mut rows = Rows::with_capacity(n, 2);
    for (_, &(a, b, label)) in (0..n).zip(corners.iter().cycle()) {
        rows.push_noisy(&[a, b], label, noise, &mut rng);
    }
    classification(WHAT, rows, 2, 2, &mut rng)
}

/// Two interleaved spirals (Lang and Witbrock's benchmark, in the geometry of the
/// TensorFlow Playground): class `c` has points at radius `t` and angle
/// `3.5 pi t + c pi` for `t` evenly spaced in `(0, 1]`, so the arms turn 1.75 times
/// and lie inside the unit disc; then Gaussian noise of standard deviation `noise` is
/// added to each coordinate (0.02 to 0.05 keeps the arms apart). Class 0 gets the odd
/// row when `n` is odd.
///
/// # Errors
/// [`Error::Config`] for `n = 0` or a negative or non-finite noise.
pub fn two_spirals(n: usize, noise: f64, seed: u64) -> Result<Dataset> {
    const WHAT: &str = "two_spirals";
    check_n(WHAT, n)?;
    check_noise(WHAT, "noise", noise)?;
    check_size(WHAT, n, 2)?;
    let mut rng = rng(seed);
    let mut rows = Rows::with_capacity(n, 2);
    for class in 0..2 {
        let m = n / 2 + usize::from(class == 0 && n % 2 == 1);
        for i in 0..m {
            let t = (i + 1) as f64 / m as f64;
            let angle = 1.75 * 2.0 * PI * t + class as f64 * PI;
            rows.push_noisy(&[t * angle.cos(), t * angle.sin()], class, noise, &mut rng);
        }
    }
    classification(WHAT, rows, 2, 2, &mut rng)
}

/// Two interleaving half circles, as scikit-learn's `make_moons`: class 0 is
/// `(cos a, sin a)`, class 1 is `(1 - cos a, 1/2 - sin a)`, for `a` evenly spaced in
/// `[0, pi]`, plus Gaussian noise of standard deviation `noise` (0.1 is customary).
/// Class 1 gets the odd row when `n` is odd.
///
/// # Errors
/// [`Error::Config`] for `n = 0` or a negative or non-finite noise.
pub fn moons(n: usize, noise: f64, seed: u64) -> Result<Dataset> {
    const WHAT: &str = "moons";
    check_n(WHAT, n)?;
    check_noise(WHAT, "noise", noise)?;
    check_size(WHAT, n, 2)?;
    let mut rng = rng(seed);
    let mut rows = Rows::with_capacity(n, 2);
    let outer = n / 2;
    for a in linspace(0.0, PI, outer) {
        rows.push_noisy(&[a.cos(), a.sin()], 0, noise, &mut rng);
    }
    for a in linspace(0.0, PI, n - outer) {
        rows.push_noisy(&[1.0 - a.cos(), 0.5 - a.sin()], 1, noise, &mut rng);
    }
    classification(WHAT, rows, 2, 2, &mut rng)
}

/// Two concentric circles, as scikit-learn's `make_circles`: class 0 on the unit
/// circle, class 1 on the circle of radius `factor`, at evenly spaced angles, plus
/// Gaussian noise of standard deviation `noise`. Class 1 gets the odd row when `n` is
/// odd.
///
/// # Errors
/// [`Error::Config`] for `n = 0`, a negative or non-finite noise, or `factor` outside
/// `(0, 1)`.
pub fn circles(n: usize, factor: f64, noise: f64, seed: u64) -> Result<Dataset> {
    const WHAT: &str = "circles";
    check_n(WHAT, n)?;
    check_noise(WHAT, "noise", noise)?;
    if !(factor > 0.0 && factor < 1.0) {
        return Err(Error::config(
            WHAT,
            format!("factor must be in (0, 1), got {factor}"),
        ));
    }
    check_size(WHAT, n, 2)?;
    let mut rng = rng(seed);
    let mut rows = Rows::with_capacity(n, 2);
    let outer = n / 2;
    for (class, m, radius) in [(0, outer, 1.0), (1, n - outer, factor)] {
        for i in 0..m {
            let a = 2.0 * PI * i as f64 / m as f64;
            rows.push_noisy(
                &[radius * a.cos(), radius * a.sin()],
                class,
                noise,
                &mut rng,
            );
        }
    }
    classification(WHAT, rows, 2, 2, &mut rng)
}

/// Isotropic Gaussian blobs, as scikit-learn's `make_blobs`: `classes` centres drawn
/// uniformly from `[-10, 10]^dims`, then row `i` of class `i mod classes` at its centre
/// plus Gaussian noise of standard deviation `std` per coordinate.
///
/// # Errors
/// [`Error::Config`] for `n`, `classes` or `dims` of 0, or a negative or non-finite
/// `std`.
pub fn blobs(n: usize, classes: usize, dims: usize, std: f64, seed: u64) -> Result<Dataset> {
    const WHAT: &str = "blobs";
    check_n(WHAT, n)?;
    check_at_least_one(WHAT, "classes", classes)?;
    check_at_least_one(WHAT, "dims", dims)?;
    check_noise(WHAT, "std", std)?;
    check_size(WHAT, n, dims)?;
    check_size(WHAT, classes, dims)?;
    let mut rng = rng(seed);
    let box_ = Uniform::new(-10.0, 10.0)
        .map_err(|e| Error::config(WHAT, format!("internal: uniform range ({e})")))?;
    let centres: Vec<f64> = (0..classes * dims).map(|_| box_.sample(&mut rng)).collect();
    let mut rows = Rows::with_capacity(n, dims);
    for i in 0..n {
        let class = i % classes;
        let centre = centres
            .get(class * dims..(class + 1) * dims)
            .unwrap_or_default();
        rows.push_noisy(centre, class, std, &mut rng);
    }
    classification(WHAT, rows, dims, classes, &mut rng)
}

/// A regression set made by a fixed random network (the teacher-student setting):
/// inputs `x ~ N(0, I)`, targets `y = f(x) + noise * eps`, where `f` is an MLP with
/// the `hidden` widths, tanh hidden units and a linear output, its weights drawn
/// `N(0, 1/fan_in)` (LeCun normal, so hidden units stay in tanh's curved range) and
/// biases `N(0, 0.01)`. The teacher is fixed by the seed; a student with the same
/// architecture can fit it exactly, up to the noise.
///
/// ```
/// use gradflow_nn::data::synthetic;
/// let data = synthetic::teacher(64, 5, &[16], 2, 0.0, 3)?;
/// assert_eq!(data.target_tensor().map(|t| t.dims().to_vec()), Some(vec![64, 2]));
/// # Ok::<(), gradflow_nn::Error>(())
/// ```
///
/// # Errors
/// [`Error::Config`] for `n`, `inputs`, `outputs` or a hidden width of 0, or a
/// negative or non-finite noise.
pub fn teacher(
    n: usize,
    inputs: usize,
    hidden: &[usize],
    outputs: usize,
    noise: f64,
    seed: u64,
) -> Result<Dataset> {
    const WHAT: &str = "teacher";
    check_n(WHAT, n)?;
    check_at_least_one(WHAT, "inputs", inputs)?;
    check_at_least_one(WHAT, "outputs", outputs)?;
    if hidden.contains(&0) {
        return Err(Error::config(
            WHAT,
            format!("hidden widths must be at least 1, got {hidden:?}"),
        ));
    }
    check_noise(WHAT, "noise", noise)?;
    let mut widths = vec![inputs];
    widths.extend_from_slice(hidden);
    widths.push(outputs);
    for &w in &widths {
        check_size(WHAT, n, w)?;
    }
    for pair in widths.windows(2) {
        if let &[a, b] = pair {
            check_size(WHAT, a, b)?;
        }
    }
    let mut rng = rng(seed);
    // The teacher's weights first, then the inputs, then the noise: a fixed order, so
    // the same seed gives the same teacher whatever `n` is.
    let mut layers = Vec::new();
    for pair in widths.windows(2) {
        if let &[fan_in, fan_out] = pair {
            let sd = 1.0 / (fan_in as f64).sqrt();
            let w: Vec<f64> = (0..fan_in * fan_out)
                .map(|_| sd * normal(&mut rng))
                .collect();
            let b: Vec<f64> = (0..fan_out).map(|_| 0.1 * normal(&mut rng)).collect();
            layers.push((fan_in, fan_out, w, b));
        }
    }
    let x: Vec<f64> = (0..n * inputs).map(|_| normal(&mut rng)).collect();
    let last = layers.len().saturating_sub(1);
    let mut y = Vec::with_capacity(n * outputs);
    for row in x.chunks_exact(inputs) {
        let mut h = row.to_vec();
        for (l, (fan_in, _, w, b)) in layers.iter().enumerate() {
            h = b
                .iter()
                .zip(w.chunks_exact(*fan_in))
                .map(|(bias, w_row)| {
                    let z = bias + w_row.iter().zip(&h).map(|(a, b)| a * b).sum::<f64>();
                    if l < last { z.tanh() } else { z }
                })
                .collect();
        }
        y.extend(h);
    }
    for v in &mut y {
        *v += noise * normal(&mut rng);
    }
    Dataset::regression(
        WHAT,
        tensor_from_f64(x, n, inputs, DType::F32)?,
        tensor_from_f64(y, n, outputs, DType::F32)?,
    )
}

/// A multi-label set: inputs `x ~ N(0, I_dims)`, and `labels` independent binary
/// labels, label `j` being 1 where `w_j . x + noise * eps > b_j` for a random direction
/// `w_j ~ N(0, I / dims)` and threshold `b_j ~ U[-0.5, 0.5]` (so label frequencies
/// differ, from about 30% to 70%). Targets are `[n, labels]` of 0 and 1.
///
/// # Errors
/// [`Error::Config`] for `n`, `dims` or `labels` of 0, or a negative or non-finite
/// noise.
pub fn multi_label(n: usize, dims: usize, labels: usize, noise: f64, seed: u64) -> Result<Dataset> {
    const WHAT: &str = "multi_label";
    check_n(WHAT, n)?;
    check_at_least_one(WHAT, "dims", dims)?;
    check_at_least_one(WHAT, "labels", labels)?;
    check_noise(WHAT, "noise", noise)?;
    check_size(WHAT, n, dims)?;
    check_size(WHAT, n, labels)?;
    check_size(WHAT, labels, dims)?;
    let mut rng = rng(seed);
    let sd = 1.0 / (dims as f64).sqrt();
    let w: Vec<f64> = (0..labels * dims).map(|_| sd * normal(&mut rng)).collect();
    let threshold = Uniform::new(-0.5, 0.5)
        .map_err(|e| Error::config(WHAT, format!("internal: uniform range ({e})")))?;
    let b: Vec<f64> = (0..labels).map(|_| threshold.sample(&mut rng)).collect();
    let x: Vec<f64> = (0..n * dims).map(|_| normal(&mut rng)).collect();
    let mut y = Vec::with_capacity(n * labels);
    for row in x.chunks_exact(dims) {
        for (w_j, b_j) in w.chunks_exact(dims).zip(&b) {
            let z: f64 = w_j.iter().zip(row).map(|(a, b)| a * b).sum();
            y.push(if z + noise * normal(&mut rng) > *b_j {
                1.0
            } else {
                0.0
            });
        }
    }
    Dataset::multi_label(
        WHAT,
        tensor_from_f64(x, n, dims, DType::F32)?,
        tensor_from_f64(y, n, labels, DType::F32)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(d: &Dataset) -> Vec<(f32, f32, usize)> {
        let x = d.features().to_vec::<f32>().unwrap();
        x.chunks(2)
            .zip(d.labels().unwrap())
            .map(|(p, &l)| (p[0], p[1], l))
            .collect()
    }

    fn same(a: &Dataset, b: &Dataset) -> bool {
        a.features().to_f64_vec() == b.features().to_f64_vec()
            && a.labels() == b.labels()
            && a.target_tensor().map(|t| t.to_f64_vec())
                == b.target_tensor().map(|t| t.to_f64_vec())
    }

    #[test]
    fn every_generator_is_reproducible_from_its_seed_and_varies_with_it() {
        type Gen = fn(u64) -> Dataset;
        let gens: [(&str, Gen); 7] = [
            ("xor", |s| xor(40, 0.1, s).unwrap()),
            ("two_spirals", |s| two_spirals(40, 0.05, s).unwrap()),
            ("moons", |s| moons(40, 0.1, s).unwrap()),
            ("circles", |s| circles(40, 0.5, 0.05, s).unwrap()),
            ("blobs", |s| blobs(40, 3, 4, 1.0, s).unwrap()),
            ("teacher", |s| teacher(40, 3, &[8, 8], 2, 0.1, s).unwrap()),
            ("multi_label", |s| multi_label(40, 5, 3, 0.1, s).unwrap()),
        ];
        for (name, g) in gens {
            let a = g(1);
            assert_eq!(a.name(), name);
            assert_eq!(a.len(), 40);
            assert!(a.features().all_finite(), "{name}");
            assert!(same(&a, &g(1)), "{name} is not reproducible");
            assert!(!same(&a, &g(2)), "{name} ignores its seed");
        }
    }

    #[test]
    fn xor_labels_are_the_sign_disagreement_of_the_coordinates() {
        let d = xor(4, 0.0, 0).unwrap();
        let mut r = rows(&d);
        r.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!(
            r,
            [
                (-1.0, -1.0, 0),
                (-1.0, 1.0, 1),
                (1.0, -1.0, 1),
                (1.0, 1.0, 0)
            ]
        );
        let noisy = xor(400, 0.2, 3).unwrap();
        let agree = rows(&noisy)
            .iter()
            .filter(|(a, b, l)| usize::from((*a > 0.0) != (*b > 0.0)) == *l)
            .count();
        assert!(agree > 390, "{agree}");
        assert_eq!(noisy.class_counts(), Some(vec![200, 200]));
    }

    #[test]
    fn spirals_without_noise_lie_on_the_two_arms() {
        let d = two_spirals(101, 0.0, 0).unwrap();
        assert_eq!(d.class_counts(), Some(vec![51, 50]));
        for (x, y, class) in rows(&d) {
            let (x, y) = (x as f64, y as f64);
            let r = x.hypot(y);
            assert!(r > 0.0 && r <= 1.0 + 1e-6);
            // The angle at radius r is 3.5 pi r + class pi, modulo 2 pi.
            let expected = 3.5 * PI * r + class as f64 * PI;
            let diff = (y.atan2(x) - expected).rem_euclid(2.0 * PI);
            assert!(!(1e-4..=2.0 * PI - 1e-4).contains(&diff), "diff {diff}");
        }
    }

    #[test]
    fn moons_without_noise_lie_on_their_half_circles() {
        let d = moons(51, 0.0, 0).unwrap();
        assert_eq!(d.class_counts(), Some(vec![25, 26]));
        for (x, y, class) in rows(&d) {
            let (cx, cy) = if class == 0 { (0.0, 0.0) } else { (1.0, 0.5) };
            let r = (x as f64 - cx).hypot(y as f64 - cy);
            assert!((r - 1.0).abs() < 1e-6);
            assert!(if class == 0 {
                y >= -1e-6
            } else {
                y <= 0.5 + 1e-6
            });
        }
    }

    #[test]
    fn circles_without_noise_have_radius_one_and_factor() {
        let d = circles(30, 0.3, 0.0, 0).unwrap();
        for (x, y, class) in rows(&d) {
            let r = (x as f64).hypot(y as f64);
            let expected = if class == 0 { 1.0 } else { 0.3 };
            assert!((r - expected).abs() < 1e-6);
        }
    }

    #[test]
    fn blobs_cluster_around_one_centre_per_class() {
        let d = blobs(300, 3, 2, 0.5, 1).unwrap();
        assert_eq!(d.class_counts(), Some(vec![100, 100, 100]));
        // The class means are far apart compared with the spread.
        let r = rows(&d);
        let mean = |c: usize| {
            let pts: Vec<_> = r.iter().filter(|p| p.2 == c).collect();
            let n = pts.len() as f64;
            (
                pts.iter().map(|p| p.0 as f64).sum::<f64>() / n,
                pts.iter().map(|p| p.1 as f64).sum::<f64>() / n,
            )
        };
        for (x, y, c) in &r {
            let (mx, my) = mean(*c);
            assert!((*x as f64 - mx).hypot(*y as f64 - my) < 3.0);
        }
    }

    #[test]
    fn the_teacher_is_fixed_by_the_seed_whatever_the_row_count() {
        let small = teacher(10, 3, &[5], 1, 0.0, 9).unwrap();
        let large = teacher(20, 3, &[5], 1, 0.0, 9).unwrap();
        assert_eq!(
            small.target_tensor().unwrap().to_f64_vec(),
            large.target_tensor().unwrap().to_f64_vec()[..10]
        );
        let t = teacher(200, 3, &[], 2, 0.0, 1).unwrap(); // no hidden layer: linear
        assert_eq!(t.target_tensor().unwrap().dims(), [200, 2]);
        assert!(
            t.target_tensor()
                .unwrap()
                .to_f64_vec()
                .iter()
                .any(|v| v.abs() > 0.1)
        );
    }

    #[test]
    fn multi_label_targets_are_binary_and_each_label_is_used() {
        let d = multi_label(500, 4, 3, 0.1, 2).unwrap();
        let y = d.target_tensor().unwrap().to_f64_vec();
        assert!(y.iter().all(|&v| v == 0.0 || v == 1.0));
        for j in 0..3 {
            let ones = y.iter().skip(j).step_by(3).filter(|&&v| v == 1.0).count();
            assert!((100..400).contains(&ones), "label {j}: {ones} of 500");
        }
    }

    #[test]
    fn generators_reject_bad_arguments() {
        let errors = [
            xor(0, 0.1, 0).unwrap_err(),
            xor(4, -0.1, 0).unwrap_err(),
            two_spirals(10, f64::NAN, 0).unwrap_err(),
            moons(0, 0.1, 0).unwrap_err(),
            circles(10, 1.0, 0.1, 0).unwrap_err(),
            circles(10, 0.5, f64::INFINITY, 0).unwrap_err(),
            blobs(10, 0, 2, 1.0, 0).unwrap_err(),
            blobs(10, 2, 0, 1.0, 0).unwrap_err(),
            blobs(10, 2, 2, -1.0, 0).unwrap_err(),
            blobs(usize::MAX, 2, 2, 1.0, 0).unwrap_err(),
            teacher(10, 0, &[4], 1, 0.0, 0).unwrap_err(),
            teacher(10, 3, &[4, 0], 1, 0.0, 0).unwrap_err(),
            multi_label(10, 3, 0, 0.0, 0).unwrap_err(),
        ];
        for e in &errors {
            assert!(matches!(e, Error::Config { .. }), "{e}");
        }
        assert_eq!(errors[0].to_string(), "xor: n must be at least 1");
        assert_eq!(
            errors[1].to_string(),
            "xor: noise must be finite and >= 0, got -0.1"
        );
    }
}
