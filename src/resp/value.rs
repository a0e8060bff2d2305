//! A protocol-neutral reply tree. The core builds these; the encoder decides how each
//! variant is spelled in RESP2 or RESP3 (maps become flat arrays in RESP2, nulls become
//! `$-1` or `*-1`, pushes become arrays).

/// One RESP value, as received from Redis or as produced by the core for a client.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `+text` (status reply).
    Simple(String),
    /// `-text` (error reply); the text includes the error code, e.g. `ERR unknown command`.
    Error(String),
    /// `:n`
    Int(i64),
    /// `$n` bulk string (binary safe).
    Bulk(Vec<u8>),
    /// Null bulk: RESP2 `$-1`, RESP3 `_`.
    Null,
    /// Null array: RESP2 `*-1`, RESP3 `_`.
    NullArray,
    /// `*n` array.
    Array(Vec<Value>),
    /// RESP3 `%n` map; RESP2 spells it as a flat array of key, value, key, value.
    Map(Vec<(Value, Value)>),
    /// RESP3 `>n` push (Pub/Sub messages); RESP2 spells it as an array.
    Push(Vec<Value>),
    /// RESP3 `#t`/`#f`; RESP2 spells it as `:1`/`:0`.
    Bool(bool),
    /// RESP3 `,` double; RESP2 spells it as a bulk string.
    Double(f64),
    /// RESP3 `=` verbatim string (format, text); RESP2 spells it as a bulk string.
    Verbatim(String, Vec<u8>),
    /// RESP3 `~` set; RESP2 spells it as an array.
    Set(Vec<Value>),
}

impl Value {
    /// A bulk string from anything string-like.
    pub fn bulk(s: impl AsRef<[u8]>) -> Value {
        Value::Bulk(s.as_ref().to_vec())
    }

    /// A status reply.
    pub fn simple(s: impl Into<String>) -> Value {
        Value::Simple(s.into())
    }

    /// An error reply; `s` must include the code (`ERR ...`, `NOQUORUM ...`).
    pub fn error(s: impl Into<String>) -> Value {
        Value::Error(s.into())
    }

    /// `+OK`.
    pub fn ok() -> Value {
        Value::Simple("OK".into())
    }

    /// A map whose keys and values are all bulk strings (instance maps, §11.5).
    pub fn str_map<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: impl IntoIterator<Item = (K, V)>) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (Value::bulk(k), Value::bulk(v))).collect())
    }

    /// The text of a bulk, simple, error or verbatim value.
    pub fn as_text(&self) -> Option<&[u8]> {
        match self {
            Value::Bulk(b) | Value::Verbatim(_, b) => Some(b),
            Value::Simple(s) | Value::Error(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// The text as UTF-8 (lossy), for the same variants as [`Value::as_text`].
    pub fn as_string(&self) -> Option<String> {
        self.as_text().map(|b| String::from_utf8_lossy(b).into_owned())
    }
}
