//! A deterministic cluster simulator (docs/testing.md): N sentinel cores, modelled
//! Redis instances and a simulated network with partitions, loss, delay, crashes, stalls
//! and clock jumps, all driven by one seed and a virtual clock. Invariants are checked
//! after every step; liveness (convergence) after the faults stop.

#![allow(dead_code)]

pub mod invariants;
pub mod redis;
mod world;

pub use world::{run, Coverage, Params, Scenario};
