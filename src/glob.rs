//! Redis-style glob matching (`*`, `?`, `[...]`, `\` escapes), as `stringmatchlen` does,
//! for PSUBSCRIBE, `SENTINEL RESET <pattern>` and `SENTINEL CONFIG GET <pattern>`.
//!
//! A line-by-line port of Redis 7.0 `util.c:stringmatchlen_impl`, including its quirks
//! (an unterminated `[` class ends at the end of the pattern, reversed ranges such as
//! `[z-a]` are swapped, a `\` escape inside a class compares case-sensitively, `*` does not
//! match the empty string) and its
//! protection against exponential backtracking on many `*`. Pure: no allocation, no I/O.

/// Whether `s` matches `pattern`.
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    matches(pattern, s, nocase, &mut skip_longer)
}

fn lower(c: u8, nocase: bool) -> u8 {
    if nocase {
        c.to_ascii_lowercase()
    } else {
        c
    }
}

/// `stringmatchlen_impl`. The C code reads the NUL terminator past the end of the
/// pattern in places; `at` returns 0 there to keep the same decisions.
fn matches(pattern: &[u8], s: &[u8], nocase: bool, skip_longer: &mut bool) -> bool {
    let at = |i: usize| pattern.get(i).copied().unwrap_or(0);
    let (mut p, mut i) = (0usize, 0usize);
    while p < pattern.len() && i < s.len() {
        match pattern[p] {
            b'*' => {
                while p + 1 < pattern.len() && pattern[p + 1] == b'*' {
                    p += 1;
                }
                if p + 1 == pattern.len() {
                    return true;
                }
                while i < s.len() {
                    if matches(&pattern[p + 1..], &s[i..], nocase, skip_longer) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    i += 1;
                }
                // The rest of the pattern failed on every suffix: any caller trying a
                // longer prefix for an earlier `*` would fail too.
                *skip_longer = true;
                return false;
            }
            b'?' => i += 1,
            b'[' => {
                let (matched, end) = class(pattern, p + 1, s[i], nocase);
                if !matched {
                    return false;
                }
                p = end;
                i += 1;
            }
            c => {
                let c = if c == b'\\' && p + 1 < pattern.len() {
                    p += 1;
                    pattern[p]
                } else {
                    c
                };
                if lower(c, nocase) != lower(s[i], nocase) {
                    return false;
                }
                i += 1;
            }
        }
        p += 1;
        if i == s.len() {
            while at(p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= pattern.len() && i == s.len()
}

/// A `[...]` class starting just after the `[` at `p`; returns whether `c` matches and
/// the index of the closing `]` (or of the last pattern byte when unterminated).
fn class(pattern: &[u8], mut p: usize, c: u8, nocase: bool) -> (bool, usize) {
    let at = |i: usize| pattern.get(i).copied().unwrap_or(0);
    let negate = at(p) == b'^';
    if negate {
        p += 1;
    }
    let mut matched = false;
    loop {
        let left = pattern.len().saturating_sub(p);
        if at(p) == b'\\' && left >= 2 {
            p += 1;
            matched |= pattern[p] == c;
        } else if at(p) == b']' {
            break;
        } else if left == 0 {
            p -= 1;
            break;
        } else if left >= 3 && pattern[p + 1] == b'-' {
            let (mut lo, mut hi) = (pattern[p], pattern[p + 2]);
            if lo > hi {
                std::mem::swap(&mut lo, &mut hi);
            }
            let (lo, hi, c) = (lower(lo, nocase), lower(hi, nocase), lower(c, nocase));
            matched |= lo <= c && c <= hi;
            p += 2;
        } else {
            matched |= lower(pattern[p], nocase) == lower(c, nocase);
        }
        p += 1;
    }
    (matched != negate, p)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn stars_and_question_marks() {
        assert!(!m("*", ""), "Redis 7.0 quirk: nothing matches the empty string but itself");
        assert!(m("*", "+switch-master"));
        assert!(m("+*", "+sdown"));
        assert!(!m("+*", "-sdown"));
        assert!(m("*down", "+odown"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("a**", "a"));
        assert!(m("?", "x"));
        assert!(!m("?", ""));
        assert!(!m("??", "x"));
        assert!(m("m?ster", "master"));
        assert!(!m("", "x"));
        assert!(m("", ""));
    }

    #[test]
    fn classes() {
        assert!(m("[abc]x", "bx"));
        assert!(!m("[abc]x", "dx"));
        assert!(m("[^a]", "b"));
        assert!(!m("[^a]", "a"));
        assert!(m("[a-c]", "b"));
        assert!(m("[c-a]", "b"), "reversed ranges are swapped");
        assert!(!m("[a-c]", "d"));
        assert!(m("[\\]]", "]"));
        assert!(m("[a", "a"), "unterminated class ends with the pattern");
        assert!(!m("[a", "ab"));
        assert!(m("[a-]", "_") && !m("[a-]", "-"), "`a-]` is the swapped range `]`..`a`");
    }

    #[test]
    fn escapes_and_case() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "x"));
        assert!(m("a\\", "a\\"));
        assert!(!m("MASTER", "master"));
        assert!(glob_match(b"MASTER", b"master", true));
        assert!(glob_match(b"[A-C]x", b"bX", true));
        assert!(!glob_match(b"[\\A]", b"a", true), "escapes in a class are case-sensitive");
    }

    #[test]
    fn many_stars_do_not_backtrack_exponentially() {
        let pattern = "a*".repeat(30) + "b";
        let s = "a".repeat(60);
        assert!(!m(&pattern, &s));
    }
}
