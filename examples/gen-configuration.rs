//! Prints docs/configuration.md, the configuration reference generated from
//! src/config/reference.rs (checked against the parsers by its tests):
//!
//! ```sh
//! cargo run --example gen-configuration > docs/configuration.md
//! ```

fn main() {
    print!("{}", sentinel::config::reference::markdown());
}
