//! Constructors: constant fills, ranges and seeded random tensors.

use rand::{Rng, SeedableRng, rngs::Xoshiro256PlusPlus};
use rand_distr::{Distribution, StandardNormal, Uniform};

use crate::{DType, Element, Error, Result, Shape, Tensor};

impl Tensor {
    /// A tensor of `shape` with every element equal to `value` (rounded to `dtype`).
    pub fn full(shape: impl Into<Shape>, value: f64, dtype: DType) -> Tensor {
        let shape = shape.into();
        let n = shape.numel();
        match dtype {
            DType::F32 => Tensor::from_storage(f32::wrap_filled(n, value as f32), shape),
            DType::F64 => Tensor::from_storage(f64::wrap_filled(n, value), shape),
        }
    }

    /// A tensor of zeros.
    pub fn zeros(shape: impl Into<Shape>, dtype: DType) -> Tensor {
        Tensor::full(shape, 0.0, dtype)
    }

    /// A tensor of ones.
    pub fn ones(shape: impl Into<Shape>, dtype: DType) -> Tensor {
        Tensor::full(shape, 1.0, dtype)
    }

    /// Zeros with this tensor's shape and dtype.
    pub fn zeros_like(&self) -> Tensor {
        Tensor::zeros(self.shape().clone(), self.dtype())
    }

    /// Ones with this tensor's shape and dtype.
    pub fn ones_like(&self) -> Tensor {
        Tensor::ones(self.shape().clone(), self.dtype())
    }

    /// A 1-D tensor `start, start + step, ...` up to but excluding `end`, like
    /// `torch.arange`. Each value is `start + i * step`, computed in `f64`, so no error
    /// accumulates along the range.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `step` is zero or not finite, if a bound is not
    /// finite, or if `step` points away from `end`.
    pub fn arange(start: f64, end: f64, step: f64, dtype: DType) -> Result<Tensor> {
        if !(start.is_finite() && end.is_finite() && step.is_finite()) || step == 0.0 {
            return Err(Error::invalid(
                "arange",
                format!(
                    "needs finite bounds and a finite non-zero step (got start {start}, end {end}, step {step})"
                ),
            ));
        }
        let span = (end - start) / step;
        if span < 0.0 {
            return Err(Error::invalid(
                "arange",
                format!("step {step} points away from end (start {start}, end {end})"),
            ));
        }
        let n = span.ceil() as usize;
        Ok(from_f64_fn(n, dtype, |i| start + i as f64 * step))
    }

    /// `n` evenly spaced values from `start` to `end` inclusive, like `torch.linspace`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if a bound is not finite.
    pub fn linspace(start: f64, end: f64, n: usize, dtype: DType) -> Result<Tensor> {
        if !(start.is_finite() && end.is_finite()) {
            return Err(Error::invalid(
                "linspace",
                format!("needs finite bounds (got {start} and {end})"),
            ));
        }
        let step = if n > 1 {
            (end - start) / (n - 1) as f64
        } else {
            0.0
        };
        // The last value is `end` exactly, as in numpy and torch.
        Ok(from_f64_fn(n, dtype, |i| {
            if i + 1 == n && n > 1 {
                end
            } else {
                start + i as f64 * step
            }
        }))
    }

    /// Standard normal samples, reproducible from `seed`.
    ///
    /// The generator is xoshiro256++ (a fixed algorithm, so a seed gives the same
    /// numbers on every platform and `rand` version).
    pub fn randn(shape: impl Into<Shape>, dtype: DType, seed: u64) -> Tensor {
        Tensor::randn_with(shape, dtype, &mut Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    /// Standard normal samples drawn from a caller's generator.
    pub fn randn_with<R: Rng + ?Sized>(
        shape: impl Into<Shape>,
        dtype: DType,
        rng: &mut R,
    ) -> Tensor {
        let shape = shape.into();
        let n = shape.numel();
        match dtype {
            DType::F32 => Tensor::from_kernel(sample::<f32, _, _>(n, StandardNormal, rng), shape),
            DType::F64 => Tensor::from_kernel(sample::<f64, _, _>(n, StandardNormal, rng), shape),
        }
    }

    /// Samples uniform on `[low, high)`, reproducible from `seed`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `low < high` and both are finite.
    pub fn rand_uniform(
        shape: impl Into<Shape>,
        low: f64,
        high: f64,
        dtype: DType,
        seed: u64,
    ) -> Result<Tensor> {
        Tensor::rand_uniform_with(
            shape,
            low,
            high,
            dtype,
            &mut Xoshiro256PlusPlus::seed_from_u64(seed),
        )
    }

    /// Samples uniform on `[low, high)` drawn from a caller's generator.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `low < high` and both are finite.
    pub fn rand_uniform_with<R: Rng + ?Sized>(
        shape: impl Into<Shape>,
        low: f64,
        high: f64,
        dtype: DType,
        rng: &mut R,
    ) -> Result<Tensor> {
        let dist = Uniform::new(low, high).map_err(|_| {
            Error::invalid(
                "rand_uniform",
                format!("needs finite low < high (got low {low}, high {high})"),
            )
        })?;
        let shape = shape.into();
        let n = shape.numel();
        let values: Vec<f64> = (0..n).map(|_| dist.sample(rng)).collect();
        Ok(match dtype {
            // Sampled in f64 then rounded, so f32 and f64 tensors from one seed agree.
            DType::F32 => Tensor::from_kernel(values.iter().map(|&x| x as f32).collect(), shape),
            DType::F64 => Tensor::from_kernel(values, shape),
        })
    }
}

fn sample<T: Element, D: Distribution<T>, R: Rng + ?Sized>(
    n: usize,
    dist: D,
    rng: &mut R,
) -> Vec<T> {
    (0..n).map(|_| dist.sample(rng)).collect()
}

fn from_f64_fn(n: usize, dtype: DType, f: impl Fn(usize) -> f64) -> Tensor {
    let shape = Shape::new(&[n]);
    match dtype {
        DType::F32 => Tensor::from_kernel((0..n).map(|i| f(i) as f32).collect(), shape),
        DType::F64 => Tensor::from_kernel((0..n).map(f).collect(), shape),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arange_matches_torch_endpoints() {
        let t = Tensor::arange(0.0, 1.0, 0.25, DType::F64).unwrap();
        assert_eq!(t.to_vec::<f64>().unwrap(), vec![0.0, 0.25, 0.5, 0.75]);
        let t = Tensor::arange(3.0, 0.0, -1.0, DType::F32).unwrap();
        assert_eq!(t.to_vec::<f32>().unwrap(), vec![3.0, 2.0, 1.0]);
        assert!(Tensor::arange(0.0, 1.0, 0.0, DType::F32).is_err());
        assert!(Tensor::arange(0.0, 1.0, -1.0, DType::F32).is_err());
    }

    #[test]
    fn linspace_ends_exactly_at_end() {
        let t = Tensor::linspace(-1.0, 0.3, 7, DType::F64).unwrap();
        let v = t.to_vec::<f64>().unwrap();
        assert_eq!(v[0], -1.0);
        assert_eq!(v[6], 0.3);
        assert_eq!(
            Tensor::linspace(0.0, 1.0, 0, DType::F32).unwrap().numel(),
            0
        );
    }

    #[test]
    fn seeded_samples_repeat_and_have_the_right_moments() {
        let a = Tensor::randn([20000], DType::F64, 7);
        let b = Tensor::randn([20000], DType::F64, 7);
        assert_eq!(a.to_vec::<f64>().unwrap(), b.to_vec::<f64>().unwrap());
        let v = a.to_vec::<f64>().unwrap();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        // Standard errors: 1/sqrt(n) = 0.007 for the mean, sqrt(2/n) = 0.01 for the variance.
        assert!(mean.abs() < 0.04, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
        let u = Tensor::rand_uniform([1000], -2.0, 3.0, DType::F32, 1).unwrap();
        assert!(
            u.to_vec::<f32>()
                .unwrap()
                .iter()
                .all(|&x| (-2.0..3.0).contains(&x))
        );
        assert!(Tensor::rand_uniform([3], 1.0, 1.0, DType::F32, 1).is_err());
    }
}
