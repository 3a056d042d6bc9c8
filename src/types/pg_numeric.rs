//! PostgreSQL's NUMERIC in its binary wire form, both ways. postgres-protocol has no codec for
//! it, so this one is ferry's own, and exact: a value is never rounded; a value that does not
//! fit the requested Arrow decimal is an error.
//!
//! The wire form (`numeric_send` in PostgreSQL's `numeric.c`): `ndigits: i16`, `weight: i16`,
//! `sign: u16` (0x0000 positive, 0x4000 negative, 0xC000 NaN, 0xD000 +Infinity, 0xF000
//! -Infinity), `dscale: u16` (digits shown after the point), then `ndigits` base-10000 digits
//! as `i16`. The value is `sum(digit[i] * 10000^(weight - i))`.

use arrow::datatypes::i256;

const POS: u16 = 0x0000;
const NEG: u16 = 0x4000;
const NAN: u16 = 0xC000;
const PINF: u16 = 0xD000;
const NINF: u16 = 0xF000;

/// The largest scale PostgreSQL shows (`NUMERIC_MAX_DISPLAY_SCALE`).
pub const MAX_DSCALE: u32 = 16383;

fn header(out: &mut Vec<u8>, ndigits: usize, weight: i32, sign: u16, dscale: u32) {
    out.extend_from_slice(&(ndigits as i16).to_be_bytes());
    out.extend_from_slice(&(weight as i16).to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&(dscale as u16).to_be_bytes());
}

/// Writes base-10000 `groups` (most significant first) with leading and trailing zero groups
/// removed.
fn write_groups(out: &mut Vec<u8>, groups: &[u16], mut weight: i32, neg: bool, dscale: u32) {
    let mut lo = 0;
    while lo < groups.len() && groups[lo] == 0 {
        lo += 1;
        weight -= 1;
    }
    let mut hi = groups.len();
    while hi > lo && groups[hi - 1] == 0 {
        hi -= 1;
    }
    if lo == hi {
        return header(out, 0, 0, POS, dscale);
    }
    header(out, hi - lo, weight, if neg { NEG } else { POS }, dscale);
    for g in &groups[lo..hi] {
        out.extend_from_slice(&g.to_be_bytes());
    }
}

/// Encodes the decimal `unscaled * 10^-scale`, the form of an Arrow `Decimal128` value.
pub fn encode_i128(unscaled: i128, scale: i8, out: &mut Vec<u8>) {
    if scale < 0 {
        return encode_digits(
            unscaled < 0,
            &unscaled.unsigned_abs().to_string(),
            scale,
            out,
        );
    }
    let scale = scale as u32;
    // Scale the magnitude up so that the point falls on a group boundary.
    let pad = (4 - scale % 4) % 4;
    let Some(mut v) = unscaled.unsigned_abs().checked_mul(10u128.pow(pad)) else {
        return encode_digits(
            unscaled < 0,
            &unscaled.unsigned_abs().to_string(),
            scale as i8,
            out,
        );
    };
    let frac_groups = ((scale + pad) / 4) as i32;
    // u128 holds at most 39 digits: 10 groups.
    let mut rev = [0u16; 10];
    let mut n = 0;
    while v > 0 {
        rev[n] = (v % 10_000) as u16;
        v /= 10_000;
        n += 1;
    }
    let mut groups = [0u16; 10];
    for i in 0..n {
        groups[i] = rev[n - 1 - i];
    }
    write_groups(
        out,
        &groups[..n],
        n as i32 - 1 - frac_groups,
        unscaled < 0,
        scale,
    );
}

/// Encodes the decimal `unscaled * 10^-scale`, the form of an Arrow `Decimal256` value.
pub fn encode_i256(unscaled: i256, scale: i8, out: &mut Vec<u8>) {
    let neg = unscaled < i256::ZERO;
    let text = unscaled.to_string();
    encode_digits(neg, text.trim_start_matches('-'), scale, out);
}

/// Encodes a magnitude given as decimal digits, `digits * 10^-scale`.
fn encode_digits(neg: bool, digits: &str, scale: i8, out: &mut Vec<u8>) {
    if scale < 0 {
        let shifted = format!("{digits}{}", "0".repeat(scale.unsigned_abs() as usize));
        return encode_point(neg, &shifted, "", 0, out);
    }
    let s = scale as usize;
    let (int, frac) = if digits.len() > s {
        digits.split_at(digits.len() - s)
    } else {
        ("", digits)
    };
    let frac = format!("{}{frac}", "0".repeat(s - frac.len()));
    encode_point(neg, int, &frac, s as u32, out);
}

/// Encodes `int.frac`, both plain ASCII digit strings, shown with `dscale` decimals.
fn encode_point(neg: bool, int: &str, frac: &str, dscale: u32, out: &mut Vec<u8>) {
    let int = int.as_bytes();
    let frac = frac.as_bytes();
    let int_groups = int.len().div_ceil(4);
    let frac_groups = frac.len().div_ceil(4);
    let mut groups = Vec::with_capacity(int_groups + frac_groups);
    let lead = int_groups * 4 - int.len();
    for g in 0..int_groups {
        let mut v = 0u16;
        for k in 0..4 {
            let i = (g * 4 + k) as isize - lead as isize;
            let d = if i < 0 { 0 } else { int[i as usize] - b'0' };
            v = v * 10 + d as u16;
        }
        groups.push(v);
    }
    for g in 0..frac_groups {
        let mut v = 0u16;
        for k in 0..4 {
            let d = frac.get(g * 4 + k).map_or(0, |c| c - b'0');
            v = v * 10 + d as u16;
        }
        groups.push(v);
    }
    write_groups(out, &groups, int_groups as i32 - 1, neg, dscale);
}

/// Encodes decimal text as PostgreSQL prints it: `[-]digits[.digits]`, `NaN`, `Infinity`,
/// `-Infinity` (an exponent is accepted too). Fails on anything else.
pub fn encode_text(text: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let t = text.trim();
    let special = match t {
        "NaN" | "nan" | "NAN" => Some(NAN),
        "Infinity" | "+Infinity" | "inf" | "+inf" => Some(PINF),
        "-Infinity" | "-inf" => Some(NINF),
        _ => None,
    };
    if let Some(sign) = special {
        header(out, 0, 0, sign, 0);
        return Ok(());
    }
    let bad = || format!("'{text}' is not a decimal number");
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i32>().map_err(|_| bad())?),
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    if exp == 0 {
        if frac.len() as u32 > MAX_DSCALE {
            return Err(format!("'{text}' has more than {MAX_DSCALE} decimals"));
        }
        encode_point(neg, int, frac, frac.len() as u32, out);
        return Ok(());
    }
    // Move the point by the exponent.
    let digits = format!("{int}{frac}");
    let point = int.len() as i64 + exp as i64;
    let (i, f) = if point <= 0 {
        (
            String::new(),
            format!("{}{digits}", "0".repeat((-point) as usize)),
        )
    } else if point as usize >= digits.len() {
        (
            format!("{digits}{}", "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_string(),
            digits[point as usize..].to_string(),
        )
    };
    if f.len() as u32 > MAX_DSCALE || i.len() > 131072 {
        return Err(format!("'{text}' is out of NUMERIC's range"));
    }
    encode_point(neg, &i, &f, f.len() as u32, out);
    Ok(())
}

/// A decoded NUMERIC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numeric {
    pub sign: u16,
    pub weight: i16,
    pub dscale: u16,
    pub digits: Vec<u16>,
}

/// Which special value, if any, a NUMERIC is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    NaN,
    Infinity,
    NegInfinity,
}

impl Numeric {
    /// The wire form as an unscaled integer at `scale` for the common case, without building a
    /// [`Numeric`]: a finite value of at most four digit groups (16 decimal digits, held in a
    /// `u64`) that fits `scale` exactly. `None` sends it to [`Numeric::from_wire`] and
    /// [`Numeric::to_i128`], which give the answer or the error. A `numeric(15,2)` column is
    /// read this way without an allocation or a 128-bit division per value.
    pub fn wire_i128(b: &[u8], scale: i8) -> Option<i128> {
        let head: &[u8; 8] = b.get(..8)?.try_into().ok()?;
        let n = i16::from_be_bytes([head[0], head[1]]);
        if !(0..=4).contains(&n) || b.len() != 8 + 2 * n as usize {
            return None;
        }
        let weight = i16::from_be_bytes([head[2], head[3]]) as i32;
        let sign = u16::from_be_bytes([head[4], head[5]]);
        if sign != POS && sign != NEG {
            return None;
        }
        if n == 0 {
            return Some(0);
        }
        let mut acc: u64 = 0;
        for c in b[8..].chunks_exact(2) {
            let d = u16::from_be_bytes([c[0], c[1]]);
            if d >= 10_000 {
                return None;
            }
            acc = acc * 10_000 + d as u64;
        }
        // The value is acc * 10^-e.
        let e = 4 * (n as i32 - 1 - weight);
        let s = scale as i32;
        let v = if e <= s {
            (acc as i128).checked_mul(10i128.checked_pow((s - e) as u32)?)?
        } else {
            let div = 10u64.checked_pow((e - s) as u32)?;
            if !acc.is_multiple_of(div) {
                return None;
            }
            (acc / div) as i128
        };
        Some(if sign == NEG { -v } else { v })
    }

    /// Parses the wire form.
    pub fn from_wire(b: &[u8]) -> Result<Numeric, String> {
        if b.len() < 8 {
            return Err(format!("a NUMERIC of {} bytes is too short", b.len()));
        }
        let ndigits = i16::from_be_bytes([b[0], b[1]]);
        if ndigits < 0 || b.len() != 8 + 2 * ndigits as usize {
            return Err(format!(
                "a NUMERIC says {ndigits} digits in {} bytes",
                b.len()
            ));
        }
        let digits = b[8..]
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect::<Vec<_>>();
        if digits.iter().any(|&d| d >= 10_000) {
            return Err("a NUMERIC digit is out of range".into());
        }
        Ok(Numeric {
            weight: i16::from_be_bytes([b[2], b[3]]),
            sign: u16::from_be_bytes([b[4], b[5]]),
            dscale: u16::from_be_bytes([b[6], b[7]]),
            digits,
        })
    }

    pub fn special(&self) -> Option<Special> {
        match self.sign {
            NAN => Some(Special::NaN),
            PINF => Some(Special::Infinity),
            NINF => Some(Special::NegInfinity),
            _ => None,
        }
    }

    fn negative(&self) -> bool {
        self.sign == NEG
    }

    /// The value as an unscaled integer at `scale` (an Arrow `Decimal128(_, scale)` value).
    /// Fails on NaN and infinities, on more decimals than `scale` and on overflow.
    pub fn to_i128(&self, scale: i8) -> Result<i128, String> {
        if let Some(v) = self.to_i128_fast(scale) {
            return Ok(v);
        }
        self.to_unscaled(
            scale,
            0i128,
            |a, b| a.checked_mul(b),
            |a, b| a.checked_add(b),
            |d| d as i128,
        )
        .map(|v| if self.negative() { -v } else { v })
    }

    /// The common case in integer arithmetic: `None` sends it to the exact general path.
    fn to_i128_fast(&self, scale: i8) -> Option<i128> {
        if self.sign != POS && self.sign != NEG {
            return None;
        }
        let mut acc: i128 = 0;
        for &d in &self.digits {
            acc = acc.checked_mul(10_000)?.checked_add(d as i128)?;
        }
        let e = 4 * (self.digits.len() as i32 - 1 - self.weight as i32);
        let s = scale as i32;
        let v = if e <= s {
            acc.checked_mul(10i128.checked_pow((s - e) as u32)?)?
        } else {
            let div = 10i128.checked_pow((e - s) as u32)?;
            if acc % div != 0 {
                return None;
            }
            acc / div
        };
        Some(if self.sign == NEG { -v } else { v })
    }

    /// The value as an unscaled `i256` at `scale` (an Arrow `Decimal256(_, scale)` value).
    pub fn to_i256(&self, scale: i8) -> Result<i256, String> {
        self.to_unscaled(
            scale,
            i256::ZERO,
            |a, b| a.checked_mul(b),
            |a, b| a.checked_add(b),
            |d| i256::from_i128(d as i128),
        )
        .map(|v| if self.negative() { v.wrapping_neg() } else { v })
    }

    /// The magnitude at `scale`, digit by digit: exact for any width of `T`.
    fn to_unscaled<T: Copy>(
        &self,
        scale: i8,
        zero: T,
        mul: impl Fn(T, T) -> Option<T>,
        add: impl Fn(T, T) -> Option<T>,
        lift: impl Fn(u16) -> T,
    ) -> Result<T, String> {
        if let Some(s) = self.special() {
            return Err(format!("{} does not fit a decimal type", s.text()));
        }
        if self.digits.is_empty() {
            return Ok(zero);
        }
        let overflow = || format!("{} does not fit the decimal type", self.to_text());
        // The digits stand for value * 10^e.
        let all: String = self
            .digits
            .iter()
            .enumerate()
            .map(|(i, d)| {
                if i == 0 {
                    d.to_string()
                } else {
                    format!("{d:04}")
                }
            })
            .collect();
        let e = 4 * (self.digits.len() as i64 - 1 - self.weight as i64);
        let s = scale as i64;
        let (keep, zeros) = if e <= s {
            (all.len(), (s - e) as usize)
        } else {
            let drop = (e - s) as usize;
            let keep = all.len().saturating_sub(drop);
            if all[keep..].bytes().any(|c| c != b'0') {
                return Err(format!(
                    "{} has more than {scale} decimal places: it does not fit without rounding",
                    self.to_text()
                ));
            }
            (keep, 0)
        };
        let ten = lift(10);
        let mut v = zero;
        for c in all[..keep].bytes() {
            v = mul(v, ten)
                .and_then(|a| add(a, lift((c - b'0') as u16)))
                .ok_or_else(overflow)?;
        }
        for _ in 0..zeros {
            v = mul(v, ten).ok_or_else(overflow)?;
        }
        Ok(v)
    }

    /// The value as PostgreSQL's `numeric_out` prints it.
    pub fn to_text(&self) -> String {
        if let Some(s) = self.special() {
            return s.text().to_string();
        }
        let mut out = String::new();
        if self.negative() {
            out.push('-');
        }
        let digit = |i: i64| -> u16 {
            if i >= 0 && (i as usize) < self.digits.len() {
                self.digits[i as usize]
            } else {
                0
            }
        };
        let w = self.weight as i64;
        if w < 0 {
            out.push('0');
        } else {
            out.push_str(&digit(0).to_string());
            for i in 1..=w {
                out.push_str(&format!("{:04}", digit(i)));
            }
        }
        if self.dscale > 0 {
            out.push('.');
            let mut frac = String::new();
            let mut i = w + 1;
            while frac.len() < self.dscale as usize {
                frac.push_str(&format!("{:04}", digit(i)));
                i += 1;
            }
            frac.truncate(self.dscale as usize);
            out.push_str(&frac);
        }
        out
    }
}

impl Special {
    pub fn text(self) -> &'static str {
        match self {
            Special::NaN => "NaN",
            Special::Infinity => "Infinity",
            Special::NegInfinity => "-Infinity",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire_of_text(t: &str) -> Vec<u8> {
        let mut out = Vec::new();
        encode_text(t, &mut out).unwrap();
        out
    }

    fn text_of_wire(b: &[u8]) -> String {
        Numeric::from_wire(b).unwrap().to_text()
    }

    #[test]
    fn text_round_trips() {
        for t in [
            "0",
            "0.00",
            "1",
            "-1",
            "12345.6789",
            "-0.0001",
            "0.00001",
            "100000000",
            "1000000000",
            "-999999999999999999999999999999999999.99",
            "12.5",
            "123456789012345678901234567890.1234567890",
            "0.00000000000000000001",
            "10000.00010000",
            "NaN",
            "Infinity",
            "-Infinity",
        ] {
            assert_eq!(text_of_wire(&wire_of_text(t)), t, "{t}");
        }
        let big = format!("{}.{}", "9".repeat(600), "1".repeat(400));
        assert_eq!(text_of_wire(&wire_of_text(&big)), big);
        assert_eq!(text_of_wire(&wire_of_text("1.5e3")), "1500");
        assert_eq!(text_of_wire(&wire_of_text("-15e-3")), "-0.015");
        assert!(encode_text("1.2.3", &mut Vec::new()).is_err());
        assert!(encode_text("", &mut Vec::new()).is_err());
        assert!(encode_text("12a", &mut Vec::new()).is_err());
    }

    #[test]
    fn known_wire_forms() {
        // 12345.678 (dscale 3): groups 1, 2345, 6780; weight 1.
        assert_eq!(
            wire_of_text("12345.678"),
            [0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1A, 0x7C]
        );
        // Zero keeps its scale and has no digits.
        assert_eq!(wire_of_text("0.00"), [0, 0, 0, 0, 0, 0, 0, 2]);
        // Trailing zero groups are dropped: 1e8 is one digit at weight 2.
        assert_eq!(wire_of_text("100000000"), [0, 1, 0, 2, 0, 0, 0, 0, 0, 1]);
        assert_eq!(wire_of_text("NaN"), [0, 0, 0, 0, 0xC0, 0, 0, 0]);
    }

    #[test]
    fn i128_matches_text() {
        for (v, s, t) in [
            (0i128, 2i8, "0.00"),
            (1234567, 2, "12345.67"),
            (-1, 5, "-0.00001"),
            (1_000_000_000, 0, "1000000000"),
            (12, 1, "1.2"),
            (i128::MAX, 0, "170141183460469231731687303715884105727"),
            (
                i128::MIN + 1,
                38,
                "-1.70141183460469231731687303715884105727",
            ),
            (
                99_999_999_999_999_999_999_999_999_999_999_999_999,
                38,
                "0.99999999999999999999999999999999999999",
            ),
            (5, -3, "5000"),
        ] {
            let mut a = Vec::new();
            encode_i128(v, s, &mut a);
            assert_eq!(text_of_wire(&a), t, "{v} scale {s}");
            assert_eq!(a, wire_of_text(t), "{v} scale {s}");
            if s >= 0 {
                assert_eq!(Numeric::from_wire(&a).unwrap().to_i128(s).unwrap(), v);
            }
        }
    }

    #[test]
    fn i256_matches_text() {
        let v = i256::from_string("-1234567890123456789012345678901234567890123456789").unwrap();
        let mut a = Vec::new();
        encode_i256(v, 20, &mut a);
        assert_eq!(
            text_of_wire(&a),
            "-12345678901234567890123456789.01234567890123456789"
        );
        assert_eq!(Numeric::from_wire(&a).unwrap().to_i256(20).unwrap(), v);
        assert_eq!(
            Numeric::from_wire(&a).unwrap().to_i256(22).unwrap(),
            v.checked_mul(i256::from_i128(100)).unwrap()
        );
    }

    #[test]
    fn the_fast_path_agrees_with_the_general_one() {
        let mut texts: Vec<String> = [
            "0",
            "0.00",
            "1",
            "-1",
            "12345.67",
            "-0.01",
            "99999999.99",
            "1e8",
            "1e15",
            "123456789012.3456",
            "9999999999999999",
            "-9999999999999999",
            "10000000000000000",
            "0.0001",
            "0.00001",
            "1.125",
            "-1.50000",
            "1e40",
            "NaN",
            "Infinity",
            "-Infinity",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        // Every power of ten and its neighbours, both signs.
        for k in 0..20 {
            for t in [format!("1e{k}"), format!("1e-{k}")] {
                texts.push(t.clone());
                texts.push(format!("-{t}"));
            }
            let nines = "9".repeat(k + 1);
            texts.push(nines.clone());
            texts.push(format!("0.{nines}"));
            texts.push(format!("{nines}.{nines}"));
        }
        for t in &texts {
            let wire = wire_of_text(t);
            for scale in [-4i8, -1, 0, 1, 2, 3, 4, 5, 8, 10, 18, 20, 38] {
                let general = Numeric::from_wire(&wire).unwrap().to_i128(scale).ok();
                let fast = Numeric::wire_i128(&wire, scale);
                if fast.is_some() {
                    assert_eq!(fast, general, "{t} at scale {scale}");
                }
            }
        }
        // The common case takes the fast path.
        assert_eq!(
            Numeric::wire_i128(&wire_of_text("-12345.67"), 2),
            Some(-1234567)
        );
        assert_eq!(Numeric::wire_i128(&wire_of_text("0.00"), 2), Some(0));
        // Malformed wire forms are left to the general path's errors.
        assert_eq!(Numeric::wire_i128(&[0, 1, 0, 0], 2), None);
        assert_eq!(
            Numeric::wire_i128(&[0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10], 2),
            None
        );
    }

    #[test]
    fn decoding_never_rounds() {
        let n = Numeric::from_wire(&wire_of_text("1.125")).unwrap();
        assert_eq!(n.to_i128(3).unwrap(), 1125);
        assert_eq!(n.to_i128(5).unwrap(), 112500);
        assert!(n
            .to_i128(2)
            .unwrap_err()
            .contains("more than 2 decimal places"));
        // Trailing zeros may go.
        let n = Numeric::from_wire(&wire_of_text("1.50000")).unwrap();
        assert_eq!(n.to_i128(1).unwrap(), 15);
        let n = Numeric::from_wire(&wire_of_text("1e40")).unwrap();
        assert!(n.to_i128(0).is_err());
        assert_eq!(
            n.to_i256(0).unwrap(),
            i256::from_string(&format!("1{}", "0".repeat(40))).unwrap()
        );
        let n = Numeric::from_wire(&wire_of_text("NaN")).unwrap();
        assert!(n.to_i128(2).unwrap_err().contains("NaN"));
        let n = Numeric::from_wire(&wire_of_text("-0.0001")).unwrap();
        assert_eq!(n.to_i128(4).unwrap(), -1);
    }
}
