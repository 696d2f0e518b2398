//! Dividing an amount by shares, exactly.
//!
//! Rule: each holder gets `floor(amount * share_ppm / 1_000_000)`; the remainder (less than
//! one unit per holder) goes to the holder with the largest share, ties to the lowest
//! address. The parts always sum to the amount: no unit is created or lost.

use accord_types::limits::SHARES_PPM_TOTAL;
use accord_types::{Address, Amount};

/// `floor(amount * ppm / 1e6)` without overflow for any `u128` amount.
pub fn part(amount: Amount, ppm: u32) -> Amount {
    let total = u128::from(SHARES_PPM_TOTAL);
    let ppm = u128::from(ppm);
    (amount / total) * ppm + (amount % total) * ppm / total
}

/// Split `amount` among `shares` (whose ppm sum to 1,000,000), sorted by address.
pub fn split(amount: Amount, shares: &[(Address, u32)]) -> Vec<(Address, Amount)> {
    let mut parts: Vec<(Address, Amount)> = shares.iter().map(|(a, ppm)| (*a, part(amount, *ppm))).collect();
    let given: Amount = parts.iter().map(|(_, p)| *p).sum();
    let remainder = amount - given;
    if remainder > 0 {
        let largest = shares
            .iter()
            .enumerate()
            .max_by(|(_, (a1, s1)), (_, (a2, s2))| s1.cmp(s2).then(a2.cmp(a1)))
            .map(|(i, _)| i);
        if let Some(i) = largest {
            parts[i].1 += remainder;
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_seed_example_splits_exactly() {
        let (w, c, p) = (Address([1; 32]), Address([2; 32]), Address([3; 32]));
        let shares = [(w, 700_000), (c, 200_000), (p, 100_000)];
        assert_eq!(split(100_000, &shares), vec![(w, 70_000), (c, 20_000), (p, 10_000)]);
        // One minor unit goes to the largest share.
        assert_eq!(split(1, &shares), vec![(w, 1), (c, 0), (p, 0)]);
        // 1,000,000,000.07 in cents.
        let parts = split(100_000_000_007, &shares);
        assert_eq!(parts.iter().map(|(_, a)| a).sum::<u128>(), 100_000_000_007);
        assert_eq!(parts, vec![(w, 70_000_000_006), (c, 20_000_000_001), (p, 10_000_000_000)]);
    }

    #[test]
    fn ties_go_to_the_lowest_address() {
        let (a, b) = (Address([1; 32]), Address([2; 32]));
        assert_eq!(split(3, &[(a, 500_000), (b, 500_000)]), vec![(a, 2), (b, 1)]);
    }

    proptest! {
        #[test]
        fn parts_always_sum_to_the_amount(amount in any::<u128>(), cuts in proptest::collection::vec(1u32..1_000_000, 1..20)) {
            let mut points: Vec<u32> = cuts.into_iter().collect();
            points.push(0);
            points.push(SHARES_PPM_TOTAL);
            points.sort_unstable();
            points.dedup();
            let shares: Vec<(Address, u32)> = points.windows(2).enumerate()
                .map(|(i, w)| (Address([i as u8; 32]), w[1] - w[0])).collect();
            let parts = split(amount, &shares);
            let sum = parts.iter().try_fold(0u128, |acc, (_, p)| acc.checked_add(*p));
            prop_assert_eq!(sum, Some(amount));
            for ((_, ppm), (_, p)) in shares.iter().zip(parts.iter()) {
                prop_assert!(*p >= part(amount, *ppm));
            }
        }
    }
}
