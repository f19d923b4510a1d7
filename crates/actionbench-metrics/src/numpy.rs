//! Bit-exact replicas of the numpy routines whose results the reference
//! evaluators depend on.
//!
//! * [`argsort`] is numpy's default `np.argsort(v)` (`kind="quicksort"`) for
//!   float64 as implemented by the portable C++ code of `npysort`
//!   (`quicksort.cpp` / `heapsort.cpp`): an introsort with median-of-three
//!   pivots, insertion sort for partitions of at most 16 elements, a heapsort
//!   fallback when the recursion depth exceeds `2·floor(log2 n)`, NaN sorted
//!   last. It is not stable, so the order it leaves equal values in is part
//!   of the result: the AVA evaluator ranks detections with it, and
//!   mmaction2's top-k accuracy picks classes with it. Checked against numpy
//!   1.24.4 on random, tie-heavy, NaN-containing and adversarial inputs.
//!   Newer numpy builds on CPUs with AVX-512 (and some with AVX2) dispatch to
//!   x86-simd-sort instead, which leaves ties in a different order; results
//!   then differ only where equal scores straddle a TP/FP boundary.
//! * [`pairwise_sum`] is `np.sum` of a contiguous float64 vector (pairwise
//!   summation with an 8-way unrolled base case of up to 128 elements).
//! * [`nanmean`] is `np.nanmean` of a vector.

/// numpy's `npy::double_tag::less`: `a < b`, with NaN larger than everything.
fn less(a: f64, b: f64) -> bool {
    a < b || (b.is_nan() && !a.is_nan())
}

/// Partitions of at most `SMALL_QUICKSORT + 1` elements are insertion sorted.
const SMALL_QUICKSORT: usize = 15;

/// numpy's `npy_get_msb`: floor(log2(n)) for n >= 1.
fn msb(mut n: usize) -> i64 {
    let mut depth = 0;
    while n > 1 {
        n >>= 1;
        depth += 1;
    }
    depth
}

/// The permutation `np.argsort(v)` returns (ascending, default quicksort).
pub(crate) fn argsort(v: &[f64]) -> Vec<usize> {
    let num = v.len();
    let mut t: Vec<usize> = (0..num).collect();
    if num < 2 {
        return t;
    }
    let mut pl = 0usize;
    let mut pr = num - 1;
    let mut stack: Vec<(usize, usize, i64)> = Vec::new();
    let mut cdepth = msb(num) * 2;
    loop {
        if cdepth < 0 {
            aheapsort(v, &mut t[pl..=pr]);
        } else {
            while pr - pl > SMALL_QUICKSORT {
                let pm = pl + ((pr - pl) >> 1);
                if less(v[t[pm]], v[t[pl]]) {
                    t.swap(pm, pl);
                }
                if less(v[t[pr]], v[t[pm]]) {
                    t.swap(pr, pm);
                }
                if less(v[t[pm]], v[t[pl]]) {
                    t.swap(pm, pl);
                }
                let vp = v[t[pm]];
                let mut pi = pl;
                let mut pj = pr - 1;
                t.swap(pm, pj);
                loop {
                    pi += 1;
                    while less(v[t[pi]], vp) {
                        pi += 1;
                    }
                    pj -= 1;
                    while less(vp, v[t[pj]]) {
                        pj -= 1;
                    }
                    if pi >= pj {
                        break;
                    }
                    t.swap(pi, pj);
                }
                t.swap(pi, pr - 1);
                cdepth -= 1;
                // Push the larger partition, keep sorting the smaller one.
                if pi - pl < pr - pi {
                    stack.push((pi + 1, pr, cdepth));
                    pr = pi - 1;
                } else {
                    stack.push((pl, pi - 1, cdepth));
                    pl = pi + 1;
                }
            }
            for pi in pl + 1..=pr {
                let vi = t[pi];
                let value = v[vi];
                let mut pj = pi;
                while pj > pl && less(value, v[t[pj - 1]]) {
                    t[pj] = t[pj - 1];
                    pj -= 1;
                }
                t[pj] = vi;
            }
        }
        match stack.pop() {
            Some((l, r, depth)) => {
                pl = l;
                pr = r;
                cdepth = depth;
            }
            None => break,
        }
    }
    t
}

/// numpy's `aheapsort_` on one partition (1-based heap indexing as in C).
fn aheapsort(v: &[f64], a: &mut [usize]) {
    let mut n = a.len();
    let sift = |a: &mut [usize], tmp: usize, mut i: usize, n: usize| {
        let mut j = i << 1;
        while j <= n {
            if j < n && less(v[a[j - 1]], v[a[j]]) {
                j += 1;
            }
            if less(v[tmp], v[a[j - 1]]) {
                a[i - 1] = a[j - 1];
                i = j;
                j += j;
            } else {
                break;
            }
        }
        a[i - 1] = tmp;
    };
    let mut l = n >> 1;
    while l > 0 {
        let tmp = a[l - 1];
        sift(a, tmp, l, n);
        l -= 1;
    }
    while n > 1 {
        let tmp = a[n - 1];
        a[n - 1] = a[0];
        n -= 1;
        sift(a, tmp, 1, n);
    }
}

/// Block size below which numpy stops splitting a pairwise sum.
const PW_BLOCKSIZE: usize = 128;

/// `np.sum(v)` for a contiguous float64 vector, bit for bit.
pub(crate) fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in a {
            res += x;
        }
        res
    } else if n <= PW_BLOCKSIZE {
        let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
        let mut i = 8;
        while i < n - (n % 8) {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// `np.nanmean(v)`: NaN entries are left out; `NaN` when every entry is NaN.
pub(crate) fn nanmean(a: &[f64]) -> f64 {
    let count = a.iter().filter(|x| !x.is_nan()).count();
    let zeroed: Vec<f64> = a.iter().map(|&x| if x.is_nan() { 0.0 } else { x }).collect();
    pairwise_sum(&zeroed) / count as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argsort_small_arrays_are_insertion_sorted_and_stable() {
        // For n <= 16 numpy's quicksort is an insertion sort: stable.
        let v = [0.5, 0.1, 0.5, 0.1, 0.9];
        assert_eq!(argsort(&v), vec![1, 3, 0, 2, 4]);
    }

    #[test]
    fn argsort_puts_nan_last() {
        let v = [f64::NAN, 1.0, -1.0];
        assert_eq!(argsort(&v), vec![2, 1, 0]);
    }

    #[test]
    fn argsort_matches_numpy_on_ties_above_the_insertion_threshold() {
        // np.argsort([float(i % 3) for i in range(20)]) with numpy 1.24.4.
        let v: Vec<f64> = (0..20).map(|i| (i % 3) as f64).collect();
        assert_eq!(argsort(&v), vec![0, 15, 12, 18, 6, 9, 3, 4, 7, 10, 13, 1, 16, 19, 8, 11, 2, 14, 17, 5]);
    }

    #[test]
    fn argsort_sorts_large_inputs() {
        let v: Vec<f64> = (0..5000).map(|i| ((i * 7919) % 1013) as f64).collect();
        let order = argsort(&v);
        assert!(order.windows(2).all(|w| v[w[0]] <= v[w[1]]));
        let mut seen = order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..5000).collect::<Vec<_>>());
    }

    #[test]
    fn pairwise_sum_matches_numpy_grouping() {
        // Values printed by numpy 1.24.4; Python's sequential sum() differs.
        assert_eq!(pairwise_sum(&[0.1; 10]), 1.0); // sum(): 0.9999999999999999
        let v = [1e16, 1.0, -1e16, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        assert_eq!(pairwise_sum(&v), 5.0); // sum(): 6.0
        let mut w = vec![0.1; 9];
        w.extend([0.7; 3]);
        w.extend([1e-3; 17]);
        assert_eq!(pairwise_sum(&w), 3.0169999999999995); // sum(): 3.016999999999998
    }

    #[test]
    fn nanmean_skips_nan() {
        assert_eq!(nanmean(&[f64::NAN, 1.0, 0.0, f64::NAN]), 0.5);
        assert!(nanmean(&[f64::NAN]).is_nan());
    }
}
