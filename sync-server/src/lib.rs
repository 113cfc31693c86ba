//! Lawyers Hub sync-server: Hocuspocus-protocol WebSocket sync over Postgres, with optional
//! Redis fan-out between instances.

pub mod access;
pub mod access_watch;
pub mod app;
pub mod auth;
pub mod backup;
pub mod claims;
pub mod config;
pub mod conflicts;
pub mod connection;
pub mod copilot;
pub mod db;
pub mod directory;
pub mod error;
pub mod fanout;
pub mod firm_audit;
pub mod hold;
pub mod http;
pub mod hub;
pub mod limits;
pub mod metrics;
pub mod migrate;
pub mod oidc;
pub mod persist;
pub mod preflight;
pub mod releases;
pub mod rest;
pub mod role;
pub mod state;
pub mod ws;
