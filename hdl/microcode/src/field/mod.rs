//! The field interface every formula is written against.
//!
//! Only the operations the engine's datapath has appear here: the multiplier (`mul`) and the
//! add/sub unit (`add`, `sub`, and `select`, a per-lane conditional move driven by one bit of
//! the lane's scalar register). Constants are obtained from an existing element so that a
//! tracing implementation can attach them to its graph without global state.

mod ark;
mod fp2;

pub use ark::{fp2_from_ark, fp2_to_ark};
pub use fp2::Fp2;

/// A field as the engine sees it.
pub trait Field: Clone {
    /// A bit of the lane's scalar that [`Field::select`] switches on: a `bool` when evaluating,
    /// a bit index when tracing.
    type Bit: Clone;

    /// `self + other`.
    fn add(&self, other: &Self) -> Self;
    /// `self - other`.
    fn sub(&self, other: &Self) -> Self;
    /// `self · other`.
    fn mul(&self, other: &Self) -> Self;
    /// `if_set` when `bit` is 1, else `if_clear`.
    fn select(bit: &Self::Bit, if_set: &Self, if_clear: &Self) -> Self;
    /// The additive identity, in the same context as `self`.
    fn zero(&self) -> Self;
    /// The multiplicative identity, in the same context as `self`.
    fn one(&self) -> Self;

    /// `-self`, done on the add/sub unit as `0 - self`.
    fn neg(&self) -> Self {
        self.zero().sub(self)
    }
    /// `self²`; a separate entry so that extensions can use cheaper squaring.
    fn square(&self) -> Self {
        self.mul(self)
    }
    /// `2·self` on the add/sub unit.
    fn double(&self) -> Self {
        self.add(self)
    }
}
