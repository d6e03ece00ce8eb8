//! The integration tests, as one binary (one link, one process), the way
//! cargo's own testsuite is built. One module per area.

mod harness;

mod bridge_e2e;
mod bridge_hostile;
mod bridge_server;
mod bridge_translate;
mod cases;
mod catalog;
mod catalog_e2e;
mod cli;
mod corpus;
mod crash;
mod doctor;
mod e2e;
mod faults;
mod fs_faults;
mod hardening;
mod install;
mod models;
mod npm;
mod props;
mod round_trip;
mod status;
mod uninstall_faults;
