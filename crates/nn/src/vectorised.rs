//! Loops compiled for the best instruction set the CPU offers (AVX-512, AVX2 with FMA,
//! or the x86-64 baseline), chosen at run time by `pulp`.
//!
//! The crate is compiled for the x86-64 baseline, whose widest vectors hold two f64.
//! A loop written as a [`Loop`] is compiled inside `pulp`'s `#[target_feature]`
//! functions, once per instruction set: `pulp` calls `run` inside the function for the
//! set the CPU has, and `run` and the loops it calls are `#[inline(always)]`, so they
//! are compiled there too. (A closure would be compiled once, outside, for the
//! baseline.) The loops are plain Rust; every instruction set gives the same bits, as
//! long as a loop asks for no fused multiply-add (Rust never contracts `a * b + c`).

/// A loop to compile for each instruction set: its body goes in `run`, marked
/// `#[inline(always)]`.
pub(crate) trait Loop {
    /// What the loop returns.
    type Output;
    /// The loop.
    fn run(self) -> Self::Output;
}

struct Vectorised<L>(L);

impl<L: Loop> pulp::WithSimd for Vectorised<L> {
    type Output = L::Output;
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> L::Output {
        self.0.run()
    }
}

/// Runs `l` with the best instruction set the CPU has.
#[inline(always)]
pub(crate) fn vectorised<L: Loop>(l: L) -> L::Output {
    pulp::Arch::new().dispatch(Vectorised(l))
}
