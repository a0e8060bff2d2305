//! RESP2/RESP3 values and their byte encoding. Owns the wire format only: it never opens
//! a socket. The same codec serves the listener (clients and peers talking to us) and our
//! client links to Redis instances, so that error texts, nulls and maps survive exactly.
//! (We keep our own codec rather than `redis-protocol` because the server side needs
//! Redis's exact inline-command parsing and protocol-error texts, and the client side
//! needs raw error strings such as `-LOADING` for PING validity, §6.1.)

mod codec;
mod value;
pub use codec::{encode, encode_command, repr, split_args, Decoder, Protocol, ProtocolError, RequestLimits};
pub use value::Value;
