//! [`OpBox`]: a node's op, stored in the node itself when it is small.
//!
//! Most ops are unit structs or carry a constant or two (`mul_scalar`'s factor, an axis,
//! a slope). A `Box<dyn Op>` of such an op is one allocation per recorded node and one
//! free when the tape is dropped, which on a chain of one-element ops was about a tenth
//! of the tape's per-op cost. An op of at most 16 bytes (alignment at most 8) lives in
//! the node instead; larger ones are boxed as before.
//!
//! The `unsafe` of this module is confined to the three places that touch the inline
//! bytes: writing the op in [`OpBox::new`], reading it in [`OpBox::get`], and
//! dropping it.

use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::mem::{MaybeUninit, align_of, size_of};

use crate::Op;

/// The inline bytes: 16 of them, aligned to 8.
type Bytes = [MaybeUninit<u64>; 2];

/// The inline bytes in an `UnsafeCell`: an op may mutate itself through `&self` (a
/// `Cell` counter in a custom op), which is only allowed through a shared reference
/// when the bytes it lives in are inside an `UnsafeCell`, as in a `Box` they are not
/// behind a shared reference to the node at all.
type Slot = UnsafeCell<Bytes>;

/// An op, inline when it fits in [`Slot`], else boxed.
pub(crate) struct OpBox {
    repr: Repr,
    /// A boxed op is neither `Send` nor `Sync` (`Op` requires neither); an inline one
    /// must not become either by hiding in plain bytes.
    _not_send: PhantomData<*const ()>,
}

enum Repr {
    /// `slot` holds a value of the op type that `cast` was instantiated for.
    Inline {
        slot: Slot,
        cast: fn(*mut Bytes) -> *mut dyn Op,
    },
    Boxed(Box<dyn Op>),
}

/// Views the inline bytes as the op type `O` they were written as.
fn cast<O: Op>(slot: *mut Bytes) -> *mut dyn Op {
    slot.cast::<O>() as *mut dyn Op
}

impl OpBox {
    /// Stores `op`: in place if it fits, else in a box.
    #[expect(
        unsafe_code,
        reason = "writes the op into the inline bytes, after checking that it fits"
    )]
    pub(crate) fn new<O: Op>(op: O) -> OpBox {
        let repr = if size_of::<O>() <= size_of::<Slot>() && align_of::<O>() <= align_of::<Slot>() {
            let slot: Slot = UnsafeCell::new([MaybeUninit::uninit(); 2]);
            // SAFETY: the branch condition: an `O` fits in `slot`, whose alignment (8)
            // is a multiple of `O`'s (alignments are powers of two), so the pointer is
            // valid and aligned for one `O`. `slot` is uninitialised bytes, nothing to
            // drop is overwritten.
            unsafe { slot.get().cast::<O>().write(op) };
            Repr::Inline {
                slot,
                cast: cast::<O>,
            }
        } else {
            Repr::Boxed(Box::new(op))
        };
        OpBox {
            repr,
            _not_send: PhantomData,
        }
    }

    /// The op.
    #[expect(unsafe_code, reason = "reads the op back from the inline bytes")]
    pub(crate) fn get(&self) -> &dyn Op {
        match &self.repr {
            Repr::Inline { slot, cast } => {
                // SAFETY: `slot` holds an initialised value of the type `cast` was
                // instantiated for (`new` wrote it; only `drop` ends it), so the cast
                // pointer is valid and aligned for as long as `self` is borrowed. `cast`
                // only reinterprets the pointer. The op may mutate itself through the
                // `&dyn Op` (interior mutability); the bytes are in an `UnsafeCell`, so
                // that is allowed behind this shared borrow.
                unsafe { &*cast(slot.get()) }
            }
            Repr::Boxed(op) => &**op,
        }
    }
}

impl Drop for OpBox {
    #[expect(unsafe_code, reason = "drops the op held in the inline bytes")]
    fn drop(&mut self) {
        if let Repr::Inline { slot, cast } = &mut self.repr {
            // SAFETY: `slot` holds an initialised value of the type `cast` was
            // instantiated for (see `get`), dropped exactly once: here, when the box
            // goes, after which the bytes are never read again.
            unsafe { std::ptr::drop_in_place(cast(slot.get_mut())) };
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::*;
    use crate::{BackwardCtx, InputGrads, Result, Tensor, Var};

    /// An op that counts its drops and carries `N` bytes of payload.
    struct Probe<const N: usize> {
        drops: Rc<Cell<usize>>,
        payload: [u8; N],
    }

    impl<const N: usize> Op for Probe<N> {
        fn name(&self) -> &'static str {
            "probe"
        }
        fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
            Ok(inputs[0].clone())
        }
        fn backward(&self, _ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
            Ok([Some(grad.clone())].into_iter().collect())
        }
        fn describe(&self) -> String {
            format!("probe{}", self.payload[0])
        }
    }

    impl<const N: usize> Drop for Probe<N> {
        fn drop(&mut self) {
            self.drops.set(self.drops.get() + 1);
        }
    }

    fn exercise<const N: usize>(inline: bool) {
        let drops = Rc::new(Cell::new(0));
        let b = OpBox::new(Probe::<N> {
            drops: drops.clone(),
            payload: [8; N],
        });
        assert_eq!(matches!(b.repr, Repr::Inline { .. }), inline);
        // Moved around as nodes are (a Vec growing, an Option taken and put back).
        let moved = vec![b];
        let b = moved.into_iter().next().unwrap();
        assert_eq!(b.get().describe(), "probe8");
        assert_eq!(drops.get(), 0);
        drop(b);
        assert_eq!(drops.get(), 1);
    }

    /// An inline op that changes itself through `&self`.
    struct Counting {
        calls: Cell<u64>,
    }

    impl Op for Counting {
        fn name(&self) -> &'static str {
            "counting"
        }
        fn forward(&mut self, inputs: &[&Tensor]) -> Result<Tensor> {
            Ok(inputs[0].clone())
        }
        fn backward(&self, _ctx: &BackwardCtx<'_>, grad: &Var) -> Result<InputGrads> {
            Ok([Some(grad.clone())].into_iter().collect())
        }
        fn describe(&self) -> String {
            self.calls.set(self.calls.get() + 1);
            format!("counting{}", self.calls.get())
        }
    }

    #[test]
    fn an_inline_op_may_mutate_itself_through_a_shared_borrow() {
        let b = OpBox::new(Counting {
            calls: Cell::new(0),
        });
        assert!(matches!(b.repr, Repr::Inline { .. }));
        assert_eq!(b.get().describe(), "counting1");
        assert_eq!(b.get().describe(), "counting2");
    }

    #[test]
    fn small_ops_are_inline_large_ones_boxed_and_each_is_dropped_once() {
        exercise::<1>(true);
        exercise::<8>(true);
        exercise::<9>(false);
        exercise::<64>(false);
    }
}
