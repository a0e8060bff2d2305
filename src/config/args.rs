//! Redis's lexical rules for config lines: splitting a line into arguments exactly like
//! `sdssplitargs` (double quotes with `\n \r \t \b \a \xHH` escapes, single quotes with
//! `\'`), quoting a value back so it splits to the same bytes, and the lax C number
//! parsers (`atoi`, `strtoull`) that Sentinel applies to its own directives.
//!
//! Owns only text ↔ tokens. Never interprets what a directive means.

/// Why a line could not be split (Redis says `Unbalanced quotes in configuration line`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SplitError {
    Unbalanced,
    NotUtf8,
}

/// C `isspace` in the "C" locale.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Splits `line` like Redis's `sdssplitargs`. A closing quote must be followed by a space
/// or the end of the line. Arguments must be UTF-8 after unescaping.
pub(crate) fn split(line: &str) -> Result<Vec<String>, SplitError> {
    let b = line.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    loop {
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if i >= b.len() {
            return Ok(out);
        }
        let (tok, next) = split_one(b, i)?;
        out.push(String::from_utf8(tok).map_err(|_| SplitError::NotUtf8)?);
        i = next;
    }
}

/// Reads one argument starting at `i`; returns it and the index after it.
fn split_one(b: &[u8], mut i: usize) -> Result<(Vec<u8>, usize), SplitError> {
    let at = |k: usize| b.get(k).copied().unwrap_or(0);
    let (mut inq, mut insq) = (false, false);
    let mut cur = Vec::new();
    loop {
        let c = at(i);
        if inq {
            if c == b'\\' && at(i + 1) == b'x' && hex_val(at(i + 2)).is_some() && hex_val(at(i + 3)).is_some() {
                cur.push(hex_val(at(i + 2)).unwrap_or(0) * 16 + hex_val(at(i + 3)).unwrap_or(0));
                i += 3;
            } else if c == b'\\' && at(i + 1) != 0 {
                i += 1;
                cur.push(match at(i) {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 0x08,
                    b'a' => 0x07,
                    other => other,
                });
            } else if c == b'"' {
                if at(i + 1) != 0 && !is_space(at(i + 1)) {
                    return Err(SplitError::Unbalanced);
                }
                return Ok((cur, i + 1));
            } else if c == 0 {
                return Err(SplitError::Unbalanced);
            } else {
                cur.push(c);
            }
        } else if insq {
            if c == b'\\' && at(i + 1) == b'\'' {
                i += 1;
                cur.push(b'\'');
            } else if c == b'\'' {
                if at(i + 1) != 0 && !is_space(at(i + 1)) {
                    return Err(SplitError::Unbalanced);
                }
                return Ok((cur, i + 1));
            } else if c == 0 {
                return Err(SplitError::Unbalanced);
            } else {
                cur.push(c);
            }
        } else {
            match c {
                b' ' | b'\n' | b'\r' | b'\t' | 0 => return Ok((cur, i)),
                b'"' => inq = true,
                b'\'' => insq = true,
                other => cur.push(other),
            }
        }
        i += 1;
    }
}

/// Always-quoted form, like Redis's `sdscatrepr` (used for `announce-ip`).
pub(crate) fn repr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// The value as Redis would write it when it is a plain word, quoted (`repr`) when it
/// would not split back to itself. Redis itself never quotes these values (a password
/// with a space breaks its own rewrite); quoting only when needed keeps our output
/// byte-identical to Redis's in every case Redis gets right.
pub(crate) fn word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\'' && b != b'\\');
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
