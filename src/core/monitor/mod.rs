//! What this sentinel knows about each master, replica and peer sentinel (§1.1), and the
//! pure parsers that feed it: INFO replies (§4.2) and hello messages (§5.2).

pub mod hello;
pub mod info;
mod instance;

pub use instance::{FailoverState, Instance, Kind, LinkState, Master, ReplicaFlags};
