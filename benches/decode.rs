//! Placeholder until the decode bench lands.
fn main() {}
