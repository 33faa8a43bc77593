//! The field interface every formula is written against.
//!
//! Only the operations the engine's datapath has appear here: the multiplier (`mul`) and the
//! add/sub unit (`add`, `sub`, and `select`, a per-lane conditional move driven by one bit of
//! the lane's scalar register, which holds a loaded scalar or flags computed by [`Flags`]). The towers Fp6 and Fp12 of the pairing are built on Fp2 the same
//! way, so their formulas trace to base-field operations too. Constants are obtained from an existing element so that a
//! tracing implementation can attach them to its graph without global state.

mod ark;
mod constant;
mod flags;
mod fp12;
mod fp2;
mod fp2_sqrt;
mod fp6;
mod pow;
mod small;

pub use ark::{fp12_from_ark, fp12_to_ark, fp2_from_ark, fp2_to_ark, fp6_from_ark, fp6_to_ark};
pub use constant::Constant;
pub use flags::{parity, select_by_sgn0, select_if_zero, Flags};
pub use fp12::Fp12;
pub use fp2::Fp2;
pub use fp2_sqrt::{inverse, non_square_flag, sqrt};
pub use fp6::Fp6;
pub use pow::{p_minus, pow_fixed};
pub use small::{times, times_signed};

/// A field as the engine sees it.
pub trait Field: Clone {
    /// A bit of the lane's scalar register that [`Field::select`] switches on (a scalar's bit
    /// or a computed flag): a `bool` when evaluating, a node reference when tracing.
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
    /// A base-field constant of the engine's table (embedded in an extension as its
    /// constant coefficient), in the same context as `self`.
    fn constant(&self, c: Constant) -> Self;

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
