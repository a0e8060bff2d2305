//! Random hex identifiers from the OS's CSPRNG (Redis's `getRandomHexChars`): the
//! sentinel's `myid`, the process `run_id` of `INFO server`, `ACL GENPASS` passwords.
//! A leaf: it imports nothing from this crate. The core never uses it (its only
//! randomness is the seeded RNG it is built with).

/// `chars` random lower-case hex characters.
pub fn hex(chars: usize) -> Result<String, rand::rand_core::OsError> {
    use rand::TryRngCore;
    let mut bytes = vec![0u8; chars.div_ceil(2)];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes)?;
    let mut out: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    out.truncate(chars);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn length_and_alphabet() {
        for n in [0, 1, 40, 64, 1024] {
            let h = super::hex(n).expect("OS RNG");
            assert_eq!(h.len(), n);
            assert!(h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{h}");
        }
        assert_ne!(super::hex(40).expect("OS RNG"), super::hex(40).expect("OS RNG"));
    }
}
