//! Redis-style glob matching (`*`, `?`, `[...]`, `\` escapes), as `stringmatchlen` does,
//! for PSUBSCRIBE, `SENTINEL RESET <pattern>` and `SENTINEL CONFIG GET <pattern>`.
//! (Stub: being written on branch `resp`.)

/// Whether `s` matches `pattern`.
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let _ = nocase;
    pattern == b"*" || pattern == s
}
