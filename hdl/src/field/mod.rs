//! The BLS12-381 base-field core: leaf multiplier, pipelined Montgomery multiplier and
//! pipelined modular add/sub/negate.
//!
//! Representation on every port: an element of Fp is a 381-bit unsigned vector holding a
//! value fully reduced into `[0, p)`. The multiplier works in Montgomery form with
//! `R = 2^384` — the same form arkworks' `Fq` keeps internally (`Fq::0`) — so
//! `mont_mul(aR, bR) = abR mod p`. Add/sub/negate are form-agnostic.

pub mod add_sub;
pub mod leaf;
pub mod mont_mul;
pub mod netlist;

use num_bigint::BigUint;

/// Bits of an Fp element on a port.
pub const FP_BITS: usize = 381;
/// log2 of the Montgomery radix R.
pub const MONT_R_BITS: usize = 384;

/// The BLS12-381 base-field modulus.
pub const P_HEX: &str = "1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab";

/// p as an integer.
pub fn modulus() -> BigUint {
    BigUint::parse_bytes(P_HEX.as_bytes(), 16).expect("P_HEX is hexadecimal")
}

/// R = 2^384.
pub fn mont_r() -> BigUint {
    BigUint::from(1u8) << MONT_R_BITS
}

/// −p⁻¹ mod R, the Montgomery reduction constant.
pub fn mont_p_prime() -> BigUint {
    let p = modulus();
    let r = mont_r();
    // Newton iteration for p⁻¹ mod 2^k doubles the correct low bits each round.
    let mut inv = BigUint::from(1u8);
    for _ in 0..10 {
        let t = (&p * &inv) % &r;
        inv = (&inv * ((BigUint::from(2u8) + &r - t) % &r)) % &r;
    }
    (&r - inv) % &r
}

/// Reference Montgomery product `a·b·R⁻¹ mod p` (for the rust-hdl-free self-checks).
pub fn mont_mul_ref(a: &BigUint, b: &BigUint) -> BigUint {
    let p = modulus();
    let r = mont_r();
    let t = a * b;
    let m = ((&t % &r) * mont_p_prime()) % &r;
    let u = (t + m * &p) >> MONT_R_BITS;
    if u >= p {
        u - p
    } else {
        u
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_prime_is_minus_p_inverse() {
        let v = (modulus() * mont_p_prime()) % mont_r();
        assert_eq!(v, mont_r() - 1u8);
    }
}
