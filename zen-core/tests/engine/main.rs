//! zen-core's integration tests, in one test binary (one link instead of one
//! per file, and a fraction of the disk): each module is one area of the
//! engine, driven through its public API against the stand-in provider.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

mod caching;
mod clink;
mod config;
mod continuation;
mod conversation;
mod endpoints;
mod files;
mod models;
mod planner_consensus;
mod providers_wire;
mod resilience;
mod simple_tools;
mod telemetry;
mod workflow_tools;
