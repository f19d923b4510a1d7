//! NTU joint lines parsed a whole line at a time with AVX2 (x86-64).
//!
//! Joint lines are nearly all of an NTU file: 12 blank-separated fields,
//! eleven short decimals and a tracking state. The byte-at-a-time parser
//! in `ntu.rs` walks each field behind a chain of branches; here 32-byte
//! compares find every field of the line at once, and two fields at a time
//! are turned into integers with one shuffle and three multiply-adds. No
//! crate parses a line of decimals this way (float crates take one number
//! and find its end byte by byte), so it is written here.
//!
//! It takes only the shape the Kinect writes: every float field
//! `[-]digits[.digits]` of at most 15 bytes whose digits' integer is at
//! most 2^24 with at most 10 digits after the point, and a tracking state
//! of plain digits. Then the integer and the power of ten are exact in
//! f32, and one IEEE division gives the correctly rounded value (Clinger's
//! fast path): the bits `str::parse` gives. Any other line returns `None`
//! and the caller's general path decides, so this changes speed, never
//! results.
#![allow(unsafe_code)]

/// Bytes that must be readable from the start of a line: four 32-byte
/// blocks (a line of at most 127 bytes and its `\n`) and a 16-byte load at
/// a field starting in the last of them.
pub(crate) const WINDOW: usize = 128 + 16;

/// Proof that this CPU can run the AVX2 parser; `None` elsewhere.
#[derive(Clone, Copy, Debug)]
pub(crate) struct JointLineSimd(());

impl JointLineSimd {
    /// The parser, where the CPU has AVX2, BMI1, BMI2 and POPCNT (x86-64-v3).
    pub(crate) fn detect() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx2") && has!("bmi1") && has!("bmi2") && has!("popcnt") {
                return Some(Self(()));
            }
        }
        None
    }

    /// The eleven floats, the tracking state and the bytes used (the line
    /// and its `\n`) of the joint line at the start of `bytes`, or `None`:
    /// fewer than [`WINDOW`] bytes left (the last lines of a file), a line
    /// over 127 bytes, not 12 fields, or a field outside the shape above.
    pub(crate) fn joint_line(self, bytes: &[u8]) -> Option<([f32; 11], i32, usize)> {
        let window: &[u8; WINDOW] = bytes.get(..WINDOW)?.try_into().ok()?;
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: `self` exists only where `detect` found the features.
            unsafe { x86::joint_line(window) }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = window;
            None
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::WINDOW;

    /// Exact powers of ten in f32 (5^10 < 2^24), padded to 16 entries so an
    /// index masked to 4 bits needs no bounds check.
    const POW10_F32: [f32; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1., 1., 1., 1., 1.];

    /// `SHUFFLE[point * 17 + m]`: drops byte `point` (16: no point), then
    /// moves the first `m` bytes left to the end of the register, zeroing
    /// the rest, so the digits read as one right-aligned number.
    static SHUFFLE: [[u8; 16]; 17 * 17] = {
        let mut table = [[0x80u8; 16]; 17 * 17];
        let mut point = 0;
        while point < 17 {
            let mut m = 0;
            while m < 17 {
                let mut k = 16 - m;
                while k < 16 {
                    let packed = k + m - 16;
                    let source = if packed < point { packed } else { packed + 1 };
                    table[point * 17 + m][k] = if source < 16 { source as u8 } else { 0x80 };
                    k += 1;
                }
                m += 1;
            }
            point += 1;
        }
        table
    };

    fn load16(bytes: &[u8]) -> __m128i {
        let bytes: &[u8; 16] = bytes[..16].try_into().expect("16 bytes");
        // SAFETY: 16 readable bytes; the load is unaligned.
        unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) }
    }

    fn load32(bytes: &[u8]) -> __m256i {
        let bytes: &[u8; 32] = bytes[..32].try_into().expect("32 bytes");
        // SAFETY: 32 readable bytes; the load is unaligned.
        unsafe { _mm256_loadu_si256(bytes.as_ptr().cast()) }
    }

    /// # Safety
    /// The CPU must have AVX2, BMI1, BMI2 and POPCNT.
    #[target_feature(enable = "avx2,bmi1,bmi2,popcnt")]
    pub(super) unsafe fn joint_line(w: &[u8; WINDOW]) -> Option<([f32; 11], i32, usize)> {
        // A byte is a blank (`str::split_ascii_whitespace`'s set) when the
        // entry at its low nibble is the byte itself; bytes of 0x80 and up
        // shuffle to 0 and never match.
        let class = _mm256_setr_epi8(
            0x20, -1, -1, -1, -1, -1, -1, -1, -1, 0x09, 0x0a, -1, 0x0c, 0x0d, -1, -1, 0x20, -1, -1, -1, -1, -1, -1, -1,
            -1, 0x09, 0x0a, -1, 0x0c, 0x0d, -1, -1,
        );
        let is_blank = |v: __m256i| _mm256_cmpeq_epi8(_mm256_shuffle_epi8(class, v), v);
        let is = |v: __m256i, c: u8| _mm256_cmpeq_epi8(v, _mm256_set1_epi8(c as i8));
        let mask = |v: __m256i| u128::from(_mm256_movemask_epi8(v) as u32);

        // Bit masks of the first 128 bytes, one bit per byte.
        let (mut blank, mut newline, mut digit, mut point, mut minus) = (0u128, 0u128, 0u128, 0u128, 0u128);
        for block in 0..4 {
            let v = load32(&w[block * 32..]);
            let d = _mm256_sub_epi8(v, _mm256_set1_epi8(b'0' as i8));
            let is_digit = _mm256_cmpeq_epi8(_mm256_min_epu8(d, _mm256_set1_epi8(9)), d);
            let shift = 32 * block;
            blank |= mask(is_blank(v)) << shift;
            newline |= mask(is(v, b'\n')) << shift;
            digit |= mask(is_digit) << shift;
            point |= mask(is(v, b'.')) << shift;
            minus |= mask(is(v, b'-')) << shift;
        }
        if newline == 0 {
            return None;
        }
        let end = newline.trailing_zeros() as usize;
        let line = (1u128 << end) - 1;
        let (token, point, minus) = (!blank & line, point & line, minus & line);
        let starts = token & !(token << 1);
        if starts.count_ones() != 12 {
            return None;
        }
        // Every field is `[-]digits[.digits]` with a digit somewhere:
        // checked for the whole line at once. A carry started at a field's
        // first byte runs through its non-digits and stops at its first
        // digit, or past its end when it has none; one started after a
        // point stops at the next byte that is not a digit or a minus,
        // which must not be a second point.
        let mut bad = token & !(digit | point | minus);
        bad |= minus & !starts;
        let no_digit = token & !digit;
        bad |= ((starts & no_digit) + no_digit) & !no_digit & !token;
        let after_point = token & !point;
        bad |= ((point << 1 & after_point) + after_point) & !after_point & point;
        bad |= point & point << 1;

        // Field starts, without a branch on which half they are in.
        let (mut low, mut high) = (starts as u64, (starts >> 64) as u64);
        let mut start = [0usize; 12];
        for s in &mut start {
            let in_high = u64::from(low == 0).wrapping_neg();
            // At most 127: the loads below need no bounds check.
            *s = (u64::from(low.trailing_zeros()) + (u64::from(high.trailing_zeros()) & in_high)) as usize & 127;
            low &= low.wrapping_sub(1);
            high &= high.wrapping_sub(in_high & 1);
        }

        // Two fields per step, one in each 128-bit lane.
        let mut too_long = 0u32;
        let (mut both, mut fraction, mut negative, mut points) = ([0u64; 12], [0usize; 12], [0u32; 12], [0u32; 12]);
        for pair in 0..6 {
            let (a, b) = (start[2 * pair], start[2 * pair + 1]);
            let v = _mm256_set_m128i(load16(&w[b..]), load16(&w[a..]));
            // Digits as 0–9, and 0 for a minus or a point (a leading zero,
            // then dropped): the line holds no other characters.
            let d = _mm256_subs_epu8(v, _mm256_set1_epi8(b'0' as i8));
            let point_mask = _mm256_movemask_epi8(is(v, b'.')) as u32;
            let blank_mask = _mm256_movemask_epi8(is_blank(v)) as u32;
            let mut index = [0usize; 2];
            for (lane, (at, shift)) in [(a, 0u32), (b, 16)].into_iter().enumerate() {
                let field = 2 * pair + lane;
                // 16 when no blank ends the field within its lane.
                let len = ((blank_mask >> shift) & 0xffff | 0x1_0000).trailing_zeros();
                let dot = ((point_mask >> shift) & 0xffff | 0x1_0000).trailing_zeros();
                let has_point = u32::from(dot < len);
                too_long |= len >> 4;
                fraction[field] = (len.wrapping_sub(1).wrapping_sub(dot) & has_point.wrapping_neg()) as usize;
                // A `dot` past the field (the next field's point) leaves
                // the field's bytes in place.
                index[lane] = (dot * 17 + len - has_point) as usize;
                negative[field] = u32::from(w[at] == b'-');
                points[field] = has_point;
            }
            let shuffle = _mm256_set_m128i(load16(&SHUFFLE[index[1]]), load16(&SHUFFLE[index[0]]));
            let aligned = _mm256_shuffle_epi8(d, shuffle);
            // Pairs, fours, then eights of digits: per lane, the high and
            // the low eight of the 16 right-aligned digits.
            let pairs = _mm256_maddubs_epi16(aligned, _mm256_set1_epi16(0x010a));
            let fours = _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x0001_0064));
            let eights = _mm256_madd_epi16(_mm256_packs_epi32(fours, fours), _mm256_set1_epi32(0x0001_2710));
            both[2 * pair] = _mm256_extract_epi64::<0>(eights) as u64;
            both[2 * pair + 1] = _mm256_extract_epi64::<2>(eights) as u64;
        }
        let mut out_of_range = too_long;
        let mut values = [0f32; 11];
        for (i, value) in values.iter_mut().enumerate() {
            let (high_digits, mantissa) = (both[i] as u32, (both[i] >> 32) as u32);
            out_of_range |= high_digits | u32::from(mantissa > 1 << 24) | u32::from(fraction[i] > 10);
            let x = mantissa as f32 / POW10_F32[fraction[i] & 15];
            *value = f32::from_bits(x.to_bits() | (negative[i] << 31));
        }
        // The tracking state: plain digits (at most 8 significant).
        let (high_digits, state) = (both[11] as u32, (both[11] >> 32) as u32);
        out_of_range |= high_digits | negative[11] | points[11];
        (bad == 0 && out_of_range == 0).then_some((values, state as i32, end + 1))
    }
}
