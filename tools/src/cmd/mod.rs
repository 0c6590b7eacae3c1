//! One module per command group; each exposes its clap arguments and `run`.

pub mod acls;
pub mod backup;
pub mod config;
pub mod connect;
pub mod docker;
pub mod fault;
pub mod groups;
pub mod registry_proxy;
pub mod schemas;
pub mod services;
pub mod stack;
pub mod topics;
pub mod ui;
