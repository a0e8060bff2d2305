//! Our outgoing connections to Redis masters, replicas and peer sentinels: turns the
//! core's typed [`crate::core::Request`]s into RESP commands and replies back into
//! [`crate::core::Input`]s. Every connect has a deadline. Never decides anything.
