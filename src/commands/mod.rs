//! One module per subcommand. What install, uninstall and `use` share (the
//! files being changed, finishing a run) is the edit layer, [`crate::edit`].

pub mod bridge;
pub mod codex;
pub mod doctor;
pub mod generate;
pub mod install;
pub mod models;
pub mod status;
pub mod uninstall;
pub mod use_model;
