//! passdrop's integration tests: one binary, a real server on 127.0.0.1:0 per test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod admin_browser;
mod architecture;
mod authority;
mod backup;
mod browser;
mod caddy;
mod cli;
mod closing;
mod collection;
mod console_flow;
mod console_form;
mod console_pages;
mod corpus;
mod crash;
mod disk_full;
mod envelope;
mod floods;
mod formula;
mod golden;
mod helpers;
mod imap;
mod journey;
mod nginx;
mod packaging;
mod passphrase;
mod property;
mod purge_reader;
mod races;
mod readiness;
mod reload;
mod signed_settings;
mod smtp;
mod upgrade;
