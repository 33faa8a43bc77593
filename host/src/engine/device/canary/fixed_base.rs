//! Multiplications of the fixed generators g₁, g₂ and gₜ = e(g₁, g₂) by full-size scalars, by
//! tables made once per process (≈ 30 ms, on the first canary): every canary pays several, and
//! the generic ways cost about 3× more (bench canary_cost --whole, "canary parts": 24 against
//! 72 µs in G1, 52 against 139 in G2, 56 against a 198 µs Miller loop for the target).
//!
//! - G1, G2: blst's fixed-base multi-scalar multiplication (`blst_p1s_mult_wbits`) over the 16
//!   points 2^(16j)·g, the scalar read as 16 chunks of 16 bits: 16 doublings and about 48
//!   additions of table points, where blst_sk_to_pk's ladder doubles through all 255 bits
//!   (48 KB of table for G1, 96 KB for G2).
//! - Gₜ: blst offers no fixed-base exponentiation in the target group; a signed-window comb,
//!   8 bits a window: one Fp12 multiplication per byte of the exponent (33), with inverses by
//!   conjugation (gₜ is in the cyclotomic subgroup), from 33 × 128 powers (2.4 MB).
//!
//! The table index depends on the secret scalar (as it does in blst's own `mult_wbits`): the
//! canary's secrets are kept from the device, which cannot observe the host's cache, not from
//! processes sharing the host.

use std::sync::LazyLock;

use blst::{
    blst_fp12, blst_fp12_conjugate, blst_p1, blst_p1_affine, blst_p1_affine_generator,
    blst_p1_double, blst_p1_from_affine, blst_p1_to_affine, blst_p1s_mult_wbits,
    blst_p1s_mult_wbits_precompute, blst_p1s_mult_wbits_precompute_sizeof, blst_p2, blst_p2_affine,
    blst_p2_affine_generator, blst_p2_double, blst_p2_from_affine, blst_p2_to_affine,
    blst_p2s_mult_wbits, blst_p2s_mult_wbits_precompute, blst_p2s_mult_wbits_precompute_sizeof,
    blst_scalar,
};

/// Bits of one chunk of the scalar, i.e. of one point's scalar in the multi-scalar sum.
const CHUNK_BITS: usize = 16;
/// Chunks of a 256-bit scalar (blst_scalar's 32 bytes).
const CHUNKS: usize = 256 / CHUNK_BITS;
/// blst's window for the tables (measured: 6 is the fastest for 16 chunks of 16 bits).
const WBITS: usize = 6;

macro_rules! fixed_base {
    ($name:ident, $table:ident, $affine:ty, $proj:ty, $generator:ident, $from_affine:ident,
     $double:ident, $to_affine:ident, $sizeof:ident, $precompute:ident, $mult:ident) => {
        /// blst's table for the points 2^(16j)·g, j < CHUNKS.
        static $table: LazyLock<Vec<$affine>> = LazyLock::new(|| {
            let mut points = Vec::with_capacity(CHUNKS);
            let mut point = <$proj>::default();
            // SAFETY: blst's generator is a static point; valid points in and out.
            unsafe { $from_affine(&mut point, $generator()) };
            for _ in 0..CHUNKS {
                let mut affine = <$affine>::default();
                // SAFETY: valid points in and out.
                unsafe {
                    $to_affine(&mut affine, &point);
                    for _ in 0..CHUNK_BITS {
                        let previous = point;
                        $double(&mut point, &previous);
                    }
                }
                points.push(affine);
            }
            let pointers = [points.as_ptr(), std::ptr::null()];
            // SAFETY: blst's size for this window and point count, in bytes.
            let bytes = unsafe { $sizeof(WBITS, CHUNKS) };
            let mut table = vec![<$affine>::default(); bytes.div_ceil(size_of::<$affine>())];
            // SAFETY: a table of the size blst asks for; the points are read contiguously
            // from the first pointer (the second is null).
            unsafe { $precompute(table.as_mut_ptr(), WBITS, pointers.as_ptr(), CHUNKS) };
            table
        });

        /// s·g by the table.
        pub fn $name(s: &blst_scalar) -> $affine {
            // Chunk j of the little-endian scalar is bytes 2j, 2j + 1: the 16 chunks' scalars
            // lie contiguously in `s.b`, as blst reads them after a null second pointer.
            let scalars = [s.b.as_ptr(), std::ptr::null()];
            let (mut point, mut out) = (<$proj>::default(), <$affine>::default());
            // SAFETY: the table blst made for CHUNKS points and WBITS; CHUNKS scalars of
            // CHUNK_BITS bits in the 32 bytes of `s`; blst allocates its own scratch (null).
            unsafe {
                $mult(
                    &mut point,
                    $table.as_ptr(),
                    WBITS,
                    CHUNKS,
                    scalars.as_ptr(),
                    CHUNK_BITS,
                    std::ptr::null_mut(),
                );
                $to_affine(&mut out, &point);
            }
            out
        }
    };
}

const _: () = assert!(CHUNKS * CHUNK_BITS == 8 * 32 && CHUNK_BITS == 16);

fixed_base!(
    g1_mul,
    G1_TABLE,
    blst_p1_affine,
    blst_p1,
    blst_p1_affine_generator,
    blst_p1_from_affine,
    blst_p1_double,
    blst_p1_to_affine,
    blst_p1s_mult_wbits_precompute_sizeof,
    blst_p1s_mult_wbits_precompute,
    blst_p1s_mult_wbits
);
fixed_base!(
    g2_mul,
    G2_TABLE,
    blst_p2_affine,
    blst_p2,
    blst_p2_affine_generator,
    blst_p2_from_affine,
    blst_p2_double,
    blst_p2_to_affine,
    blst_p2s_mult_wbits_precompute_sizeof,
    blst_p2s_mult_wbits_precompute,
    blst_p2s_mult_wbits
);

/// Bits of one window of the Gₜ comb: one byte of the scalar.
const GT_WINDOW: usize = 8;
/// Powers per window: the digits 1..=2^(w−1) (a signed digit's sign is a conjugation).
const GT_POWERS: usize = 1 << (GT_WINDOW - 1);
/// Windows: the scalar's 32 bytes and the last carry.
const GT_WINDOWS: usize = 33;

/// `GT_POWERS` powers gₜ^(v·2^(8j)), v = 1..=128, for each window j.
static GT_TABLE: LazyLock<Vec<blst_fp12>> = LazyLock::new(|| {
    // SAFETY: blst's generators are static points.
    let (g1, g2) = unsafe { (*blst_p1_affine_generator(), *blst_p2_affine_generator()) };
    let mut base = blst_fp12::miller_loop(&g2, &g1).final_exp();
    let mut table = Vec::with_capacity(GT_WINDOWS * GT_POWERS);
    for _ in 0..GT_WINDOWS {
        let mut power = base;
        for _ in 0..GT_POWERS {
            table.push(power);
            power *= base;
        }
        for _ in 0..GT_WINDOW {
            base *= base;
        }
    }
    table
});

/// gₜ^s, gₜ = e(g₁, g₂) as blst's final exponentiation gives it.
pub fn gt_pow(s: &blst_scalar) -> blst_fp12 {
    let mut result = blst_fp12::default();
    let mut carry = 0u16;
    for (window, powers) in GT_TABLE.chunks_exact(GT_POWERS).enumerate() {
        // Signed digits in −127..=128: a byte above 128 is taken as byte − 256, carrying one.
        let digit = u16::from(s.b.get(window).copied().unwrap_or(0)) + carry;
        let (magnitude, negative) = match digit as usize > GT_POWERS {
            true => ((1 << GT_WINDOW) - digit, true),
            false => (digit, false),
        };
        carry = u16::from(negative);
        if magnitude == 0 {
            continue;
        }
        let mut power = powers[magnitude as usize - 1];
        if negative {
            // SAFETY: a valid element; in the cyclotomic subgroup conjugation is inversion.
            unsafe { blst_fp12_conjugate(&mut power) };
        }
        result *= power;
    }
    result
}

#[cfg(test)]
mod tests {
    use blst::{blst_p1_affine, blst_p2_affine, blst_sk_to_pk_in_g1, blst_sk_to_pk_in_g2};

    use super::super::random_scalar;
    use super::*;

    #[test]
    fn tables_give_blsts_fixed_base_results() {
        let mut scalars = vec![blst_scalar::default(); 4];
        scalars[1].b[0] = 1;
        // Every byte 0xff but the top: all digits carry (q − 1 is below 2²⁵⁵).
        scalars[2].b[..31].fill(0xff);
        scalars[3] = random_scalar().unwrap();
        scalars.extend((0..4).map(|_| random_scalar().unwrap()));
        for s in &scalars {
            let (mut p1, mut p2) = (blst_p1::default(), blst_p2::default());
            let (mut a1, mut a2) = (blst_p1_affine::default(), blst_p2_affine::default());
            unsafe {
                blst_sk_to_pk_in_g1(&mut p1, s);
                blst_sk_to_pk_in_g2(&mut p2, s);
                blst_p1_to_affine(&mut a1, &p1);
                blst_p2_to_affine(&mut a2, &p2);
            }
            assert_eq!(g1_mul(s), a1);
            assert_eq!(g2_mul(s), a2);
            let g2 = unsafe { *blst_p2_affine_generator() };
            assert_eq!(gt_pow(s), blst_fp12::miller_loop(&g2, &a1).final_exp());
        }
    }
}
