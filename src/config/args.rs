//! Redis's lexical rules for config lines: splitting a line into arguments exactly like
//! `sdssplitargs` (double quotes with `\n \r \t \b \a \xHH` escapes, single quotes with
//! `\'`), quoting a value back so it splits to the same bytes, and the lax C number
//! parsers (`atoi`, `strtoull`) that Sentinel applies to its own directives.
//!
//! Owns only text ↔ tokens. Never interprets what a directive means.

/// Always-quoted form (Redis's `sdscatrepr`); the one port lives next to `split_args`.
pub(crate) use crate::resp::repr;

/// Why a line could not be split (Redis says `Unbalanced quotes in configuration line`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SplitError {
    Unbalanced,
    NotUtf8,
}

/// Splits `line` like Redis's `sdssplitargs` (the one port of it lives in the RESP
/// codec, which parses inline commands with the same rules). Arguments must be UTF-8
/// after unescaping.
pub(crate) fn split(line: &str) -> Result<Vec<String>, SplitError> {
    let words = crate::resp::split_args(line.as_bytes()).ok_or(SplitError::Unbalanced)?;
    words.into_iter().map(|w| String::from_utf8(w).map_err(|_| SplitError::NotUtf8)).collect()
}

/// The value as Redis would write it when it is a plain word, quoted (`repr`) when it
/// would not split back to itself. Redis itself never quotes these values (a password
/// with a space breaks its own rewrite); quoting only when needed keeps our output
/// byte-identical to Redis's in every case Redis gets right.
pub(crate) fn word(s: &str) -> String {
    let plain = !s.is_empty() && s.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\'' && b != b'\\');
    if plain {
        s.to_string()
    } else {
        repr(s)
    }
}

/// C `atoi` (via `strtol`): optional leading spaces and sign, then digits; stops at the
/// first non-digit; no digits gives 0. Saturates instead of overflowing.
pub(crate) fn atoi(s: &str) -> i64 {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -v
    } else {
        v
    }
}

/// C `strtoull` base 10: like `atoi` but unsigned; a leading `-` negates modulo 2^64 (as C
/// does) and overflow gives `u64::MAX`.
pub(crate) fn strtoull(s: &str) -> u64 {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: u64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        v = match v.checked_mul(10).and_then(|x| x.checked_add(u64::from(b - b'0'))) {
            Some(x) => x,
            None => return u64::MAX,
        };
    }
    if neg {
        v.wrapping_neg()
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Vec<String> {
        split(line).unwrap()
    }

    #[test]
    fn splits_like_sdssplitargs() {
        assert_eq!(ok("  a  b\tc "), ["a", "b", "c"]);
        assert_eq!(ok(r#"set "a b" 'c d'"#), ["set", "a b", "c d"]);
        assert_eq!(ok(r#""\x41\n\t\"" 'it\'s'"#), ["A\n\t\"", "it's"]);
        assert_eq!(ok(r#""" ''"#), ["", ""]);
        assert_eq!(ok(r#"a"b c""#), ["ab c"]);
        assert_eq!(ok(r"back\slash"), [r"back\slash"]);
        assert_eq!(ok(""), Vec::<String>::new());
    }

    #[test]
    fn rejects_unbalanced_quotes() {
        assert_eq!(split(r#"a "b"#), Err(SplitError::Unbalanced));
        assert_eq!(split(r#"a "b"c"#), Err(SplitError::Unbalanced));
        assert_eq!(split("a 'b"), Err(SplitError::Unbalanced));
        assert_eq!(split(r#""\xff""#), Err(SplitError::NotUtf8));
    }

    #[test]
    fn quoting_round_trips() {
        for s in ["", "plain", "a b", "q\"uo'te", "back\\slash", "nl\nx", "é", "\x01"] {
            assert_eq!(ok(&format!("x {}", word(s))), ["x", s], "{s:?}");
            assert_eq!(ok(&format!("x {}", repr(s))), ["x", s], "{s:?}");
        }
        assert_eq!(word("secret"), "secret");
        assert_eq!(repr("10.0.0.5"), "\"10.0.0.5\"");
    }

    #[test]
    fn c_number_parsers() {
        assert_eq!(atoi("42"), 42);
        assert_eq!(atoi(" -7x"), -7);
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi("99999999999999999999999"), i64::MAX);
        assert_eq!(strtoull("18446744073709551615"), u64::MAX);
        assert_eq!(strtoull("18446744073709551616"), u64::MAX);
        assert_eq!(strtoull("-1"), u64::MAX);
        assert_eq!(strtoull("12abc"), 12);
    }
}
