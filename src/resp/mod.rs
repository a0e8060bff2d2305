//! RESP2/RESP3 values and their byte encoding. Owns the wire format only: it never opens
//! a socket. The same codec serves the listener (clients and peers talking to us) and our
//! client links to Redis instances, so that error texts, nulls and maps survive exactly.

mod value;
pub use value::Value;
