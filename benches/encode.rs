//! Placeholder until the encode bench lands.
fn main() {}
