//! Configuration and persistence: our `sentinel.toml`, Redis's `sentinel.conf`, and the
//! durable state (myid, epochs, votes, known instances). Errors name the file and line.
//! Writes are atomic (temp file, fsync, rename, fsync dir). Makes no decisions.
