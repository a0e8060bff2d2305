//! The hello message on `__sentinel__:hello` (§5.2): eight fields joined by commas.
//! Encoding and decoding only; what a hello changes is decided in the parent module.

use crate::core::{Addr, Epoch, RunId};

/// The Pub/Sub channel of sentinel gossip: every sentinel subscribes to it on masters and
/// replicas (§5.1; the link layer's preamble) and publishes hellos there (§5.2).
pub const CHANNEL: &str = "__sentinel__:hello";

/// One hello message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub sentinel: Addr,
    pub runid: RunId,
    pub current_epoch: Epoch,
    pub master_name: String,
    pub master: Addr,
    pub config_epoch: Epoch,
}

impl Hello {
    /// The wire payload (IPv6 written unbracketed).
    pub fn encode(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{}",
            self.sentinel.host,
            self.sentinel.port,
            self.runid,
            self.current_epoch,
            self.master_name,
            self.master.host,
            self.master.port,
            self.config_epoch
        )
    }

    /// Parses a payload; anything but exactly eight well-formed fields is `None`.
    pub fn decode(payload: &str) -> Option<Hello> {
        let f: Vec<&str> = payload.split(',').collect();
        if f.len() != 8 {
            return None;
        }
        Some(Hello {
            sentinel: Addr::new(f[0], f[1].parse().ok()?),
            runid: f[2].to_string(),
            current_epoch: parse_epoch(f[3])?,
            master_name: f[4].to_string(),
            master: Addr::new(f[5], f[6].parse().ok()?),
            config_epoch: parse_epoch(f[7])?,
        })
    }
}

/// An epoch from the wire. Epochs above `i64::MAX` are refused: the vote reply carries
/// the epoch as a RESP integer (signed 64-bit), so such an epoch could never be voted
/// in, and adopting one from a bogus hello would wedge every later election.
pub fn parse_epoch(s: &str) -> Option<Epoch> {
    s.parse::<i64>().ok().filter(|e| *e >= 0).map(|e| Epoch(e as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_exact_round_trip() {
        let wire = "127.0.0.1,26379,4f3c5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f,7,mymaster,::1,6380,6";
        let h = Hello::decode(wire).unwrap();
        assert_eq!(h.sentinel, Addr::new("127.0.0.1", 26379));
        assert_eq!(h.master, Addr::new("::1", 6380));
        assert_eq!(h.current_epoch, Epoch(7));
        assert_eq!(h.config_epoch, Epoch(6));
        assert_eq!(h.encode(), wire);
    }

    #[test]
    fn wrong_field_count_or_numbers_rejected() {
        assert!(Hello::decode("a,1,id,0,m,b,2").is_none());
        assert!(Hello::decode("a,1,id,0,m,b,2,3,4").is_none());
        assert!(Hello::decode("a,x,id,0,m,b,2,3").is_none());
        assert!(Hello::decode("a,1,id,-1,m,b,2,3").is_none());
        assert!(Hello::decode("a,1,id,9223372036854775808,m,b,2,3").is_none());
        assert!(Hello::decode("a,1,id,9223372036854775807,m,b,2,3").is_some());
    }
}
