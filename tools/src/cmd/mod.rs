//! One module per command group; each exposes its clap arguments and `run`.

pub mod config;
