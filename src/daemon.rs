//! The event loop: owns the core, feeds it inputs from links and clients, sleeps until
//! its next deadline, and executes its outputs strictly in order (persist before reply).
