//! Exact decimal text <-> scaled integer conversion.
//!
//! arrow's `parse_decimal` silently drops fractional digits beyond the scale, so ferry parses
//! decimals itself: a value is accepted only if it fits precision and scale exactly.

use arrow::datatypes::i256;

/// Parses `s` (`-12.340`, `+5`, `1e3`, `.5`) as an integer scaled by `10^scale`, exactly.
/// Returns `None` if it is not a number, has non-zero digits beyond `scale`, or has more than
/// `precision` digits in all.
pub fn parse_exact(s: &str, precision: u8, scale: i8) -> Option<i256> {
    let s = s.trim();
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i32>().ok()?),
        None => (body, 0),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    // All digits, and the power of ten that the last digit stands for.
    let digits: String = format!("{int_part}{frac_part}");
    let mut last_exp: i32 = exp - frac_part.len() as i32;
    let mut digits = digits.trim_start_matches('0').to_string();
    // Drop trailing zeros that sit beyond the scale.
    while last_exp < -(scale as i32) {
        if digits.ends_with('0') {
            digits.pop();
            last_exp += 1;
        } else if digits.is_empty() {
            last_exp = -(scale as i32);
        } else {
            return None;
        }
    }
    if digits.is_empty() {
        return Some(i256::ZERO);
    }
    // Pad to the scale.
    let pad = (last_exp + scale as i32) as usize;
    let total = digits.len() + pad;
    if total > precision as usize {
        return None;
    }
    let ten = i256::from_i128(10);
    let mut v = i256::ZERO;
    for b in digits.bytes() {
        v = v
            .checked_mul(ten)?
            .checked_add(i256::from_i128((b - b'0') as i128))?;
    }
    for _ in 0..pad {
        v = v.checked_mul(ten)?;
    }
    Some(if negative { v.checked_neg()? } else { v })
}

/// Formats a scaled integer as decimal text with exactly `scale` fractional digits.
pub fn format(v: i256, scale: i8) -> String {
    let raw = v.to_string();
    if scale <= 0 {
        let mut s = raw;
        if v != i256::ZERO {
            s.extend(std::iter::repeat_n('0', (-scale) as usize));
        }
        return s;
    }
    let (sign, digits) = match raw.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", raw.as_str()),
    };
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{}", "0".repeat(scale + 1 - digits.len()), digits)
    } else {
        digits.to_string()
    };
    let (i, f) = padded.split_at(padded.len() - scale);
    format!("{sign}{i}.{f}")
}

/// The number of decimal digits of `|v|` (0 has one digit).
pub fn digits(v: i256) -> usize {
    let s = v.to_string();
    s.trim_start_matches('-').len()
}

/// Converts an `f64` to a scaled integer if its shortest round-trip text is exactly
/// representable at `scale` within `precision`. The f64 of that decimal is then the same f64.
pub fn from_f64_exact(f: f64, precision: u8, scale: i8) -> Option<i256> {
    if !f.is_finite() {
        return None;
    }
    // Rust's `{}` for f64 prints the shortest text that parses back to the same value.
    parse_exact(&format!("{f}"), precision, scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str, prec: u8, scale: i8) -> Option<String> {
        parse_exact(s, prec, scale).map(|v| format(v, scale))
    }

    #[test]
    fn parses_exactly_or_refuses() {
        assert_eq!(p("17", 15, 2).as_deref(), Some("17.00"));
        assert_eq!(p("0.04", 15, 2).as_deref(), Some("0.04"));
        assert_eq!(p("-0.04", 15, 2).as_deref(), Some("-0.04"));
        assert_eq!(p(".5", 3, 1).as_deref(), Some("0.5"));
        assert_eq!(p("1.500", 3, 1).as_deref(), Some("1.5"));
        assert_eq!(p("1e3", 6, 2).as_deref(), Some("1000.00"));
        assert_eq!(p("1.25e-1", 6, 3).as_deref(), Some("0.125"));
        assert_eq!(p("0.045", 15, 2), None, "digits beyond the scale");
        assert_eq!(p("1234", 5, 2), None, "too many digits for the precision");
        assert_eq!(p("abc", 5, 2), None);
        assert_eq!(p("", 5, 2), None);
        assert_eq!(p("-", 5, 2), None);
        assert_eq!(p("1.2.3", 5, 2), None);
        assert_eq!(p("0", 1, 0).as_deref(), Some("0"));
        assert_eq!(p("0.000", 5, 2).as_deref(), Some("0.00"));
    }

    #[test]
    fn wide_values() {
        let s = "12345678901234567890.12345678901234567890";
        assert_eq!(p(s, 40, 20).as_deref(), Some(s));
        let big = "9".repeat(76);
        assert_eq!(p(&big, 76, 0).as_deref(), Some(big.as_str()));
        let neg = format!("-{}", "9".repeat(38));
        assert_eq!(p(&neg, 38, 0).as_deref(), Some(neg.as_str()));
    }

    #[test]
    fn f64_exactness() {
        assert_eq!(
            from_f64_exact(0.04, 15, 2).map(|v| format(v, 2)).as_deref(),
            Some("0.04")
        );
        assert_eq!(from_f64_exact(0.1 + 0.2, 15, 2), None);
        assert_eq!(from_f64_exact(f64::NAN, 15, 2), None);
        assert_eq!(
            from_f64_exact(-0.0, 15, 2).map(|v| format(v, 2)).as_deref(),
            Some("0.00")
        );
    }
}
