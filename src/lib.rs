//! passdrop: collect mailbox passwords once, for an email migration, then forget them.
//!
//! The binary (`src/main.rs`) only parses the command line and calls into this library,
//! so tests reach everything the commands do.

/// The batch lifecycle: create, reissue, revoke, submit, export, purge.
pub mod batch;
/// The command line: one file per command group, owning its arguments and its `run`.
pub mod cli;
/// The public URL, durations, the clock, and every default value.
pub mod config;
/// Tokens and the key hierarchy (HPKE, Argon2id, ChaCha20-Poly1305).
pub mod crypto;
/// CSV out: the Microsoft 365 migration file and the links file.
pub mod export;
/// The user's language: choosing it, the message catalogues, dates in words.
pub mod i18n;
/// Checking passwords against the old IMAP server.
pub mod imap;
/// Sending the links by email through an SMTP relay.
pub mod mail;
/// The send queue and the loop that emails the links.
pub mod outbox;
/// CSV in: roster parsing and validation.
pub mod roster;
/// The SQLite store; all SQL lives here.
pub mod storage;
/// The HTTP server: the public collection page and the admin console, apart.
pub mod web;
