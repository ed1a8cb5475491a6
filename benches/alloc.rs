//! Placeholder until the alloc bench lands.
fn main() {}
