//! sqsform: a declarative provisioner for Amazon SQS.
//!
//! The pipeline runs spec → desired model → live state → plan → apply → render.
//! `spec`, `model`, `policy`, `plan` and `render` are pure and do no I/O. `cloud` is the
//! only module that talks to AWS, and `apply` drives it from a [`plan::Plan`].

pub mod apply;
pub mod cli;
pub mod cloud;
pub mod commands;
pub mod model;
pub mod plan;
pub mod policy;
pub mod render;
pub mod spec;
