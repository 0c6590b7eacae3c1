//! One module per command group; each exposes its clap arguments and `run`.

pub mod backup;
pub mod cluster;
pub mod config;
pub mod docker;
pub mod groups;
pub mod topics;
pub mod ui;
