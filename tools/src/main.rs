//! The `tda-kafka` command.

fn main() {}
