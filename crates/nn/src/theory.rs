//! Mean-field theory of signal propagation: what a deep network at initialisation does
//! to the size of its activations and gradients, layer by layer, predicted from the
//! activation function and the initialiser alone.
//!
//! For `h_l = W_l x_{l-1} + b_l`, `x_l = phi(h_l)`, with weights of variance
//! `sigma_w^2 / fan_in` and biases of variance `sigma_b^2`, in the limit of wide layers
//! the pre-activations are Gaussian with second moment `q_l`, and (Poole et al. 2016;
//! Schoenholz et al. 2017):
//!
//! - the **length map** `q_{l+1} = sigma_w^2 E[phi(sqrt(q_l) z)^2] + sigma_b^2`,
//!   `z ~ N(0, 1)`, has a fixed point `q*`;
//! - the back-propagated gradient `delta_l = dL/dh_l` shrinks or grows per layer by
//!   `||delta_l||^2 / ||delta_{l+1}||^2 -> chi(q_l) = sigma_w^2 E[phi'(sqrt(q_l) z)^2]`;
//! - at the fixed point `chi_1 = chi(q*)`: below 1 gradients vanish, above 1 they
//!   explode, exponentially with depth scale `xi = -1 / ln chi_1` layers; `chi_1 = 1` is
//!   the edge of chaos, where they are preserved.
//!
//! Glorot & Bengio (2010) chose their normalised init to keep these variances near 1
//! for tanh near 0; He et al. (2015) derived `sigma_w^2 = 2` for ReLU, for which
//! `chi = sigma_w^2 / 2 = 1` at every `q`.
//!
//! Expectations are computed by Gauss-Hermite quadrature ([`GaussHermite`]), with the
//! activation and its derivative evaluated by the engine.
//!
//! ```
//! use gradflow_autograd::Activation;
//! use gradflow_nn::theory::MeanField;
//! // ReLU with He's sigma_w^2 = 2 and no bias: gradients keep their size.
//! let relu = MeanField::new(Activation::Relu, 2.0, 0.0)?;
//! assert!((relu.chi(1.0)? - 1.0).abs() < 1e-12);
//! // Sigmoid with Glorot & Bengio's standard init (sigma_w^2 = 1/3): far below 1.
//! let sigmoid = MeanField::new(Activation::Sigmoid, 1.0 / 3.0, 0.0)?;
//! assert!(sigmoid.chi1()? < 0.03);
//! # Ok::<(), gradflow_nn::Error>(())
//! ```

use gradflow_autograd::{Activation, DType, Tensor};

use crate::init::Init;
use crate::{Error, Result};

/// Gauss-Hermite quadrature for expectations over a standard normal:
/// `E[f(z)] ~ sum_i w_i f(z_i)`, exact for polynomials of degree up to `2n - 1`.
#[derive(Clone, Debug)]
pub struct GaussHermite {
    nodes: Vec<f64>,
    weights: Vec<f64>,
}

impl GaussHermite {
    /// The `n`-point rule (`n` from 2 to 200). Nodes are the roots of the Hermite
    /// polynomial `H_n`, found by Newton's method from the asymptotic initial guesses
    /// of Numerical Recipes (Press et al., `gauher`), then scaled to the standard normal.
    ///
    /// # Errors
    /// [`Error::Config`] for `n` outside 2..=200.
    pub fn new(n: usize) -> Result<GaussHermite> {
        if !(2..=200).contains(&n) {
            return Err(Error::config(
                "GaussHermite",
                format!("needs 2 to 200 points, got {n}"),
            ));
        }
        // pi^(-1/4)
        const PIM4: f64 = 0.751_125_544_464_942_5;
        let mut x = vec![0.0; n];
        let mut w = vec![0.0; n];
        let nf = n as f64;
        let mut z = 0.0f64;
        for i in 1..=n.div_ceil(2) {
            z = match i {
                1 => (2.0 * nf + 1.0).sqrt() - 1.855_75 * (2.0 * nf + 1.0).powf(-1.0 / 6.0),
                2 => z - 1.14 * nf.powf(0.426) / z,
                3 => 1.86 * z - 0.86 * x[0],
                4 => 1.91 * z - 0.91 * x[1],
                _ => 2.0 * z - x[i - 3],
            };
            let mut pp = 0.0;
            for _ in 0..100 {
                let (mut p1, mut p2) = (PIM4, 0.0);
                for j in 1..=n {
                    let p3 = p2;
                    p2 = p1;
                    let jf = j as f64;
                    p1 = z * (2.0 / jf).sqrt() * p2 - ((jf - 1.0) / jf).sqrt() * p3;
                }
                pp = (2.0 * nf).sqrt() * p2;
                let z1 = z;
                z = z1 - p1 / pp;
                if (z - z1).abs() <= 1e-15 * z.abs().max(1.0) {
                    break;
                }
            }
            x[i - 1] = z;
            x[n - i] = -z;
            w[i - 1] = 2.0 / (pp * pp);
            w[n - i] = w[i - 1];
        }
        // Physicists' rule (weight e^-x^2) to the standard normal: z = sqrt(2) x,
        // weights divided by sqrt(pi).
        let inv_sqrt_pi = 1.0 / std::f64::consts::PI.sqrt();
        Ok(GaussHermite {
            nodes: x.iter().map(|v| v * std::f64::consts::SQRT_2).collect(),
            weights: w.iter().map(|v| v * inv_sqrt_pi).collect(),
        })
    }

    /// The nodes `z_i` (standard normal scale).
    pub fn nodes(&self) -> &[f64] {
        &self.nodes
    }

    /// The weights `w_i` (they sum to 1).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// `E[f(z)]` for `z ~ N(0, 1)`, given `f` at every node.
    pub fn expect_values(&self, values: &[f64]) -> f64 {
        self.weights.iter().zip(values).map(|(w, v)| w * v).sum()
    }

    /// `E[f(z)]` for `z ~ N(0, 1)`.
    pub fn expect(&self, f: impl Fn(f64) -> f64) -> f64 {
        self.weights
            .iter()
            .zip(&self.nodes)
            .map(|(w, &z)| w * f(z))
            .sum()
    }
}

/// Gauss-Legendre nodes and weights on `[-1, 1]` (`n` points), by Newton's method on
/// the Legendre polynomial from the cosine initial guesses (Press et al., `gauleg`).
fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    let nf = n as f64;
    for i in 0..n.div_ceil(2) {
        let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (nf + 0.5)).cos();
        let mut pp = 1.0;
        for _ in 0..100 {
            let (mut p1, mut p2) = (1.0, 0.0);
            for j in 0..n {
                let p3 = p2;
                p2 = p1;
                let jf = j as f64;
                p1 = ((2.0 * jf + 1.0) * z * p2 - jf * p3) / (jf + 1.0);
            }
            pp = nf * (z * p1 - p2) / (z * z - 1.0);
            let z1 = z;
            z = z1 - p1 / pp;
            if (z - z1).abs() <= 1e-15 {
                break;
            }
        }
        x[i] = -z;
        x[n - 1 - i] = z;
        w[i] = 2.0 / ((1.0 - z * z) * pp * pp);
        w[n - 1 - i] = w[i];
    }
    (x, w)
}

/// Points and weights for `E[f(z)]`, `z ~ N(0, 1)`, when `f` has kinks at
/// `breakpoints` (in `z`): Gauss-Legendre panels on `[-12, 12]` split at the kinks,
/// the Gaussian density folded into the weights. Gauss-Hermite converges slowly across
/// a kink (0.5% off for ELU's `E[phi'^2]` at 96 points); panels that end at the kinks
/// integrate each smooth piece to rounding.
fn gaussian_panels(breakpoints: &[f64]) -> (Vec<f64>, Vec<f64>) {
    const EDGE: f64 = 12.0;
    const POINTS: usize = 48;
    let (gx, gw) = gauss_legendre(POINTS);
    let mut cuts: Vec<f64> = breakpoints
        .iter()
        .copied()
        .filter(|b| b.abs() < EDGE)
        .collect();
    cuts.push(-EDGE);
    cuts.push(EDGE);
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    let density = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let mut nodes = Vec::new();
    let mut weights = Vec::new();
    for pair in cuts.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let (mid, half) = (0.5 * (a + b), 0.5 * (b - a));
        for (x, w) in gx.iter().zip(&gw) {
            let z = mid + half * x;
            nodes.push(z);
            weights.push(w * half * density(z));
        }
    }
    (nodes, weights)
}

/// Mean-field predictions for one activation and one `(sigma_w^2, sigma_b^2)`.
#[derive(Clone, Debug)]
pub struct MeanField {
    act: Activation,
    sigma_w2: f64,
    sigma_b2: f64,
    quad: GaussHermite,
}

/// Where the length map goes from a starting `q`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FixedPoint {
    /// It converges to `q*`.
    Converged(f64),
    /// It grows without bound (an unbounded activation with a large `sigma_w^2`).
    Diverges,
}

/// Above this `q`, smooth activations are integrated with panels (see `at_nodes`).
const SMOOTH_Q_LIMIT: f64 = 9.0;

/// Number of quadrature points: exact for smooth integrands to rounding, and for
/// ReLU-like kinks at 0 exact by symmetry (no node sits at 0, and the nodes pair up).
const QUADRATURE_POINTS: usize = 96;

impl MeanField {
    /// Predictions for `act` with weight variance `sigma_w2 / fan_in` and bias variance
    /// `sigma_b2`.
    ///
    /// # Errors
    /// [`Error::Config`] for a negative or non-finite variance, or softmax (not an
    /// elementwise hidden activation).
    pub fn new(act: Activation, sigma_w2: f64, sigma_b2: f64) -> Result<MeanField> {
        if !(sigma_w2 >= 0.0 && sigma_w2.is_finite() && sigma_b2 >= 0.0 && sigma_b2.is_finite()) {
            return Err(Error::config(
                "MeanField",
                format!(
                    "variances must be finite and >= 0 (got sigma_w^2 = {sigma_w2}, sigma_b^2 = {sigma_b2})"
                ),
            ));
        }
        if !act.is_pointwise() {
            return Err(Error::config(
                "MeanField",
                format!("{act} is not an elementwise activation"),
            ));
        }
        Ok(MeanField {
            act,
            sigma_w2,
            sigma_b2,
            quad: GaussHermite::new(QUADRATURE_POINTS)?,
        })
    }

    /// Predictions for a network of equal widths `width` initialised with `init`
    /// (weights followed by `act`) and zero biases: `sigma_w^2 = width * Var(W)`.
    ///
    /// # Errors
    /// As [`MeanField::new`].
    pub fn for_init(act: Activation, init: &Init, width: usize) -> Result<MeanField> {
        MeanField::new(act, init.sigma_w2(width, width, Some(act)), 0.0)
    }

    /// The activation.
    pub fn activation(&self) -> Activation {
        self.act
    }

    /// `sigma_w^2`.
    pub fn sigma_w2(&self) -> f64 {
        self.sigma_w2
    }

    /// `sigma_b^2`.
    pub fn sigma_b2(&self) -> f64 {
        self.sigma_b2
    }

    /// Quadrature weights, `phi(sqrt(q) z_i)` and `phi'(sqrt(q) z_i)` at every node
    /// (values by the engine). Gauss-Hermite for smooth activations at moderate `q`;
    /// panels split at the kinks (scaled to `z = kink / sqrt(q)`) for piecewise ones, and
    /// on the scale `1 / sqrt(q)` for smooth ones at large `q`.
    fn at_nodes(&self, q: f64) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
        let kinks = self.act.kinks();
        // Gauss-Hermite resolves features of phi(sqrt(q) z) of width ~0.2 in z; at
        // large q a smooth activation varies on a scale 1/sqrt(q) near z = 0 (sigmoid
        // becomes a step), so panels with breakpoints on that scale take over.
        let (nodes, weights) = if q <= 0.0 || (kinks.is_empty() && q <= SMOOTH_Q_LIMIT) {
            (self.quad.nodes.clone(), self.quad.weights.clone())
        } else {
            let r = q.sqrt();
            let mut cuts: Vec<f64> = kinks.iter().map(|k| k / r).collect();
            if q > SMOOTH_Q_LIMIT {
                for s in [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0] {
                    cuts.push(s / r);
                    cuts.push(-s / r);
                }
            }
            gaussian_panels(&cuts)
        };
        let h: Vec<f64> = nodes.iter().map(|z| q.sqrt() * z).collect();
        let h = Tensor::from_vec(h, [nodes.len()])?.to_dtype(DType::F64);
        let phi = self.act.apply_tensor(&h)?.to_f64_vec();
        let dphi = self.act.derivative(&h)?.to_f64_vec();
        Ok((weights, phi, dphi))
    }

    fn expect_square(weights: &[f64], values: &[f64]) -> f64 {
        weights.iter().zip(values).map(|(w, v)| w * v * v).sum()
    }

    /// The length map `q -> sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2`.
    ///
    /// # Errors
    /// Engine errors evaluating the activation (none for valid parameters).
    pub fn length_map(&self, q: f64) -> Result<f64> {
        let (w, phi, _) = self.at_nodes(q)?;
        Ok(self.sigma_w2 * Self::expect_square(&w, &phi) + self.sigma_b2)
    }

    /// `chi(q) = sigma_w^2 E[phi'(sqrt(q) z)^2]`: the factor by which the squared
    /// gradient norm grows from layer `l+1` to layer `l` when layer `l` has second
    /// moment `q`.
    ///
    /// # Errors
    /// As [`MeanField::length_map`].
    pub fn chi(&self, q: f64) -> Result<f64> {
        let (w, _, dphi) = self.at_nodes(q)?;
        Ok(self.sigma_w2 * Self::expect_square(&w, &dphi))
    }

    /// `chi` just above `q = 0` (the limit `q -> 0+`, which for ReLU-like
    /// activations differs from the subgradient value at exactly 0).
    fn chi_at_zero(&self) -> Result<f64> {
        self.chi(1e-200)
    }

    /// The stable fixed point of the length map, `q* = L(q*)`, solved by bisection on
    /// `L(q) - q` (robust where plain iteration creeps: near the edge of chaos it
    /// converges like `1 / l`).
    ///
    /// With `sigma_b = 0` and `phi(0) = 0`, `q = 0` is a fixed point, stable when
    /// `chi(0+) <= 1` (then `q* = 0`); otherwise the positive root is sought.
    ///
    /// # Errors
    /// As [`MeanField::length_map`].
    pub fn fixed_point(&self) -> Result<FixedPoint> {
        let g = |q: f64| -> Result<f64> { Ok(self.length_map(q)? - q) };
        let zero_is_fixed = g(0.0)?.abs() <= 1e-300;
        let mut lo = 0.0;
        if zero_is_fixed {
            if self.chi_at_zero()? <= 1.0 {
                return Ok(FixedPoint::Converged(0.0));
            }
            // Unstable zero: start the bracket just above it, where L(q) > q.
            lo = 1e-12;
            while g(lo)? <= 0.0 {
                lo *= 10.0;
                if lo > 1e12 {
                    return Ok(FixedPoint::Converged(0.0));
                }
            }
        }
        let mut hi = 1.0f64.max(2.0 * lo);
        while g(hi)? > 0.0 {
            hi *= 2.0;
            if hi > 1e12 {
                return Ok(FixedPoint::Diverges);
            }
        }
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if g(mid)? > 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
            if hi - lo <= 1e-15 * hi {
                break;
            }
        }
        Ok(FixedPoint::Converged(0.5 * (lo + hi)))
    }

    /// The fixed point `q*`, or `None` if the length map diverges.
    ///
    /// # Errors
    /// As [`MeanField::length_map`].
    pub fn q_star(&self) -> Result<Option<f64>> {
        Ok(match self.fixed_point()? {
            FixedPoint::Converged(q) => Some(q),
            FixedPoint::Diverges => None,
        })
    }

    /// `chi_1 = chi(q*)`. When the length map diverges, the limit of `chi(q)` for large
    /// `q` (for positively homogeneous activations such as ReLU it is the same at
    /// every `q`).
    ///
    /// # Errors
    /// As [`MeanField::length_map`].
    pub fn chi1(&self) -> Result<f64> {
        match self.q_star()? {
            Some(q) if q > 0.0 => self.chi(q),
            Some(_) => self.chi_at_zero(),
            None => self.chi(1e6),
        }
    }

    /// The depth scale `xi = -1 / ln chi_1` of gradient growth or decay (layers per
    /// factor of e in the squared norm), infinite at `chi_1 = 1`; negative when
    /// gradients grow.
    ///
    /// # Errors
    /// As [`MeanField::length_map`].
    pub fn depth_scale(&self) -> Result<f64> {
        let c = self.chi1()?;
        Ok(if (c - 1.0).abs() < 1e-12 {
            f64::INFINITY
        } else {
            -1.0 / c.ln()
        })
    }

    /// The predicted second moment `q_l` of the pre-activations of layers
    /// `1..=depth` for inputs of second moment `q0` (layer 1 sees the data:
    /// `q_1 = sigma_w^2 q0 + sigma_b^2`).
    ///
    /// # Errors
    /// As [`MeanField::length_map`].
    pub fn propagate(&self, q0: f64, depth: usize) -> Result<Vec<f64>> {
        let mut qs = Vec::with_capacity(depth);
        if depth == 0 {
            return Ok(qs);
        }
        let mut q = self.sigma_w2 * q0 + self.sigma_b2;
        qs.push(q);
        for _ in 1..depth {
            q = self.length_map(q)?;
            qs.push(q);
        }
        Ok(qs)
    }

    /// The predicted ratio `||delta_l|| / ||delta_{l+1}||` of back-propagated gradient
    /// norms across each hidden layer `l = 1..depth-1` (`sqrt(chi(q_l))`), for inputs of
    /// second moment `q0`.
    ///
    /// # Errors
    /// As [`MeanField::length_map`].
    pub fn gradient_ratios(&self, q0: f64, depth: usize) -> Result<Vec<f64>> {
        let qs = self.propagate(q0, depth)?;
        qs.iter()
            .take(depth.saturating_sub(1))
            .map(|&q| self.chi(q).map(f64::sqrt))
            .collect()
    }

    /// The predicted mean slope of `ln ||delta_l||` against layer index (positive
    /// when gradients shrink towards the input, i.e. `||delta_l||` grows with `l`):
    /// `-(1/2) mean_l ln chi(q_l)`.
    ///
    /// # Errors
    /// As [`MeanField::length_map`].
    pub fn log_gradient_slope(&self, q0: f64, depth: usize) -> Result<f64> {
        let ratios = self.gradient_ratios(q0, depth)?;
        if ratios.is_empty() {
            return Ok(0.0);
        }
        Ok(-ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64)
    }
}

/// The `sigma_w^2` at which `chi_1 = 1` with `sigma_b = 0` (the edge of chaos), found
/// by bisection on `(0, 256]`; `None` if `chi_1` does not cross 1 there.
///
/// tanh: 1 (`q* = 0`, `chi_1 = sigma_w^2 tanh'(0)^2`); ReLU: 2 (He et al.).
///
/// # Errors
/// As [`MeanField::new`].
pub fn critical_sigma_w2(act: Activation) -> Result<Option<f64>> {
    let chi1 = |s: f64| -> Result<f64> { MeanField::new(act, s, 0.0)?.chi1() };
    let (mut lo, mut hi) = (1e-6, 256.0);
    let (f_lo, f_hi) = (chi1(lo)? - 1.0, chi1(hi)? - 1.0);
    if f_lo.signum() == f_hi.signum() {
        return Ok(None);
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        let f_mid = chi1(mid)? - 1.0;
        if f_mid.signum() == f_lo.signum() {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-12 * hi {
            break;
        }
    }
    Ok(Some(0.5 * (lo + hi)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;
    use rand_distr::{Distribution, StandardNormal};

    #[test]
    fn gauss_hermite_integrates_gaussian_moments_exactly() {
        let gh = GaussHermite::new(40).unwrap();
        assert!((gh.weights().iter().sum::<f64>() - 1.0).abs() < 1e-14);
        assert!((gh.expect(|z| z * z) - 1.0).abs() < 1e-13);
        assert!((gh.expect(|z| z.powi(4)) - 3.0).abs() < 1e-12);
        assert!((gh.expect(|z| z.powi(6)) - 15.0).abs() < 1e-11);
        assert!(gh.expect(|z| z.powi(3)).abs() < 1e-13);
        // E[cos z] = e^(-1/2).
        assert!((gh.expect(f64::cos) - (-0.5f64).exp()).abs() < 1e-14);
        assert!(GaussHermite::new(1).is_err());
    }

    #[test]
    fn relu_at_he_init_preserves_q_and_has_chi1_one() {
        let mf = MeanField::new(Activation::Relu, 2.0, 0.0).unwrap();
        for q in [0.1, 1.0, 7.5] {
            assert!((mf.length_map(q).unwrap() - q).abs() < 1e-12 * q, "q = {q}");
            assert!((mf.chi(q).unwrap() - 1.0).abs() < 1e-12);
        }
        assert_eq!(mf.depth_scale().unwrap(), f64::INFINITY);
    }

    #[test]
    fn tanh_at_unit_sigma_w2_has_q_star_zero_and_chi1_one() {
        let mf = MeanField::new(Activation::Tanh, 1.0, 0.0).unwrap();
        assert_eq!(mf.q_star().unwrap(), Some(0.0));
        assert!((mf.chi1().unwrap() - 1.0).abs() < 1e-12);
        // Above 1 the zero fixed point is unstable and q* > 0 (the chaotic phase).
        let q = MeanField::new(Activation::Tanh, 1.5, 0.0)
            .unwrap()
            .q_star()
            .unwrap()
            .unwrap();
        let mf = MeanField::new(Activation::Tanh, 1.5, 0.0).unwrap();
        assert!(
            q > 0.1 && (mf.length_map(q).unwrap() - q).abs() < 1e-13,
            "q* = {q}"
        );
    }

    #[test]
    fn sigmoid_at_the_standard_init_vanishes_fast() {
        // sigma' <= 1/4, so chi_1 <= sigma_w^2 / 16 = 1/48.
        let mf = MeanField::new(Activation::Sigmoid, 1.0 / 3.0, 0.0).unwrap();
        let c = mf.chi1().unwrap();
        assert!(c <= 1.0 / 48.0 + 1e-15 && c > 0.015, "chi_1 = {c}");
        assert!(mf.depth_scale().unwrap() < 0.3);
    }

    #[test]
    fn critical_sigma_w2_is_one_for_tanh_and_two_for_relu() {
        assert!((critical_sigma_w2(Activation::Tanh).unwrap().unwrap() - 1.0).abs() < 1e-9);
        assert!((critical_sigma_w2(Activation::Relu).unwrap().unwrap() - 2.0).abs() < 1e-9);
        let s = critical_sigma_w2(Activation::LeakyRelu { slope: 0.1 })
            .unwrap()
            .unwrap();
        assert!((s - 2.0 / 1.01).abs() < 1e-9, "{s}");
    }

    /// Sigmoid at large sigma_w^2: q* is large and sigmoid' is a narrow bump in z;
    /// mpmath (30 digits, adaptive quadrature split on the scale 1/sqrt(q), findroot for
    /// q*) gives q* = 5.855403564 and chi_1 = 0.398879007 at sigma_w^2 = 16, and
    /// chi_1 = 0.99996 at sigma_w^2 = 103 (so the edge of chaos is just above 103).
    #[test]
    fn sigmoid_at_large_weights_agrees_with_adaptive_integration() {
        let c = MeanField::new(Activation::Sigmoid, 16.0, 0.0)
            .unwrap()
            .chi1()
            .unwrap();
        assert!((c - REFERENCE_CHI1_SIGMOID_16).abs() < 1e-6, "{c}");
        let q = MeanField::new(Activation::Sigmoid, 16.0, 0.0)
            .unwrap()
            .q_star()
            .unwrap()
            .unwrap();
        assert!((q - REFERENCE_QSTAR_SIGMOID_16).abs() < 1e-6 * q, "{q}");
        let c = MeanField::new(Activation::Sigmoid, 103.0, 0.0)
            .unwrap()
            .chi1()
            .unwrap();
        assert!((c - 0.999_964_619).abs() < 1e-6, "{c}");
        let critical = critical_sigma_w2(Activation::Sigmoid).unwrap();
        let c = critical.unwrap();
        assert!((c - 103.0).abs() < 0.1, "{c}");
    }

    const REFERENCE_CHI1_SIGMOID_16: f64 = 0.398_879_006_543_735_8;
    const REFERENCE_QSTAR_SIGMOID_16: f64 = 5.855_403_564_410_189;

    /// Monte Carlo with 400,000 samples: standard error about 1e-3 of the value;
    /// quadrature agrees within 5 standard errors.
    #[test]
    fn quadrature_agrees_with_monte_carlo() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
        let n = 400_000;
        let z: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
        for (act, q) in [
            (Activation::Tanh, 1.7f64),
            (Activation::Sigmoid, 2.0),
            (Activation::Relu, 1.3),
            (Activation::Gelu, 0.8),
            (Activation::Silu, 2.5),
            (Activation::Elu { alpha: 1.0 }, 1.1),
            (Activation::Hardtanh, 2.0),
        ] {
            let mf = MeanField::new(act, 1.5, 0.1).unwrap();
            let h = Tensor::from_vec(z.iter().map(|v| q.sqrt() * v).collect::<Vec<f64>>(), [n])
                .unwrap();
            for (what, quad, values) in [
                (
                    "length map",
                    mf.length_map(q).unwrap(),
                    act.apply_tensor(&h).unwrap().to_f64_vec(),
                ),
                (
                    "chi",
                    mf.chi(q).unwrap(),
                    act.derivative(&h).unwrap().to_f64_vec(),
                ),
            ] {
                let sq: Vec<f64> = values.iter().map(|v| 1.5 * v * v).collect();
                let mean = sq.iter().sum::<f64>() / n as f64;
                let var = sq.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
                let se = (var / n as f64).sqrt();
                let mc = mean + if what == "length map" { 0.1 } else { 0.0 };
                assert!(
                    (quad - mc).abs() < 5.0 * se + 1e-12,
                    "{act} {what}: quadrature {quad}, Monte Carlo {mc} (se {se})"
                );
            }
        }
    }
}
