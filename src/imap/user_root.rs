//! The userroot admin form's per-user check (issue 18): Courier IMAP and Oracle IMAP let
//! one admin login reach every user's mailbox as a folder tree, and Microsoft's CSV names
//! each user's tree in `UserRoot` (its example: `/users/terrya`). A login that works
//! proves only the admin password; this checks, in the admin's logged-in session and
//! read-only, that the user's root exists and can be opened:
//!
//! 1. `LIST "" "<root>"` must name the root (not `\NonExistent`);
//! 2. if the root is selectable, `EXAMINE "<root>"` must answer OK; else
//!    `LIST "" "<root><delimiter>%"` must name a selectable folder below it, and
//!    `EXAMINE` of the first one must answer OK.
//!
//! `EXAMINE` never changes a flag (`SELECT` would). Nothing else is read. A root holding
//! `%` or `*` is not sent (LIST reads them as wildcards, and IMAP cannot escape them):
//! the roster refuses such a root, and the check calls it missing.
//!
//! Limit: a `\Noselect` root passes when any folder directly below it opens, so a root
//! one level too high (`/users` instead of `/users/ann`, when the admin may open every
//! user's tree) reads as readable.

use super::inventory::list_entry;
use super::wire::{Done, Wire, WireError, decode_mailbox_name, quote};
use super::*;

/// How long the whole check may take.
const ROOT_CHECK_DEADLINE: Duration = Duration::from_secs(15);

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCheck {
    /// The root exists and a folder in it opened read-only.
    Readable,
    /// The server clearly says the root is not there, or not for this login: its words
    /// (or what was missing).
    Missing(String),
    /// No clear answer (the connection failed, a timeout, a command the server did not
    /// understand).
    Unclear(String),
}

/// Checks `root` in the admin's session, then logs out (the session is closed in every
/// case).
pub async fn check_user_root(session: LoggedIn, root: &str) -> RootCheck {
    let LoggedIn(mut session) = session;
    let outcome = {
        let mut wire = Wire::new(session.stream());
        let outcome =
            tokio::time::timeout(ROOT_CHECK_DEADLINE, check(&mut wire, root.as_bytes())).await;
        if matches!(outcome, Ok(Ok(_))) {
            let _ = tokio::time::timeout(LOGOUT_TIMEOUT, wire.run("LOGOUT", |_| {})).await;
        }
        outcome
    };
    drop(session);
    match outcome {
        Ok(Ok(found)) => found,
        Ok(Err(_)) => RootCheck::Unclear("the connection failed during the UserRoot check".into()),
        Err(_) => RootCheck::Unclear("the UserRoot check took too long".into()),
    }
}

/// Why `root` cannot be checked: `%` and `*` are LIST wildcards, and IMAP has no way to
/// escape them, so the server would match a pattern instead of naming one folder.
pub fn user_root_wildcard(root: &str) -> Option<String> {
    root.contains(['%', '*']).then(|| {
        format!(
            "the UserRoot {root:?} contains % or *, which IMAP reads as wildcards: it cannot \
             be checked"
        )
    })
}

async fn check(wire: &mut Wire<'_>, root: &[u8]) -> Result<RootCheck, WireError> {
    let shown = decode_mailbox_name(root);
    if let Some(why) = user_root_wildcard(&String::from_utf8_lossy(root)) {
        return Ok(RootCheck::Missing(why));
    }
    let Some(quoted) = quote(root) else {
        return Ok(RootCheck::Missing(format!(
            "the UserRoot {shown:?} cannot be sent to the server (a line break or 8-bit byte)"
        )));
    };
    // (selectable, delimiter) of the root as listed.
    let mut listed: Option<(bool, Option<char>)> = None;
    let done = wire
        .run(&format!("LIST \"\" {quoted}"), |t| {
            if let Some((flags, delimiter, name)) = list_entry(t) {
                let gone = flags
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case("\\NonExistent"));
                if name == root && !gone {
                    let noselect = flags.iter().any(|f| f.eq_ignore_ascii_case("\\Noselect"));
                    listed = Some((!noselect, delimiter));
                }
            }
        })
        .await?;
    match done {
        Done::Ok => {}
        Done::No => {
            return Ok(RootCheck::Missing(format!(
                "the server refused to list the UserRoot {shown:?}: {}",
                wire.last_words
            )));
        }
        Done::Bad => {
            return Ok(RootCheck::Unclear(format!(
                "the server did not understand LIST for the UserRoot {shown:?}: {}",
                wire.last_words
            )));
        }
    }
    let Some((selectable, delimiter)) = listed else {
        return Ok(RootCheck::Missing(format!(
            "the server lists no folder {shown:?} for the admin login (no such UserRoot)"
        )));
    };
    let target = if selectable {
        root.to_vec()
    } else {
        let Some(delimiter) = delimiter else {
            return Ok(RootCheck::Missing(format!(
                "the UserRoot {shown:?} cannot be opened and has no folders below it"
            )));
        };
        let mut pattern = root.to_vec();
        pattern.extend(delimiter.to_string().as_bytes());
        pattern.push(b'%');
        let Some(quoted) = quote(&pattern) else {
            return Ok(RootCheck::Missing(format!(
                "the UserRoot {shown:?} cannot be searched"
            )));
        };
        let mut first = None;
        wire.run(&format!("LIST \"\" {quoted}"), |t| {
            if let Some((flags, _, name)) = list_entry(t) {
                let usable = !flags.iter().any(|f| {
                    f.eq_ignore_ascii_case("\\Noselect") || f.eq_ignore_ascii_case("\\NonExistent")
                });
                if usable && first.is_none() {
                    first = Some(name);
                }
            }
        })
        .await?;
        let Some(first) = first else {
            return Ok(RootCheck::Missing(format!(
                "the UserRoot {shown:?} has no folder the admin login can open"
            )));
        };
        first
    };
    let Some(quoted) = quote(&target) else {
        return Ok(RootCheck::Unclear(format!(
            "a folder under the UserRoot {shown:?} cannot be named in a command"
        )));
    };
    Ok(
        match wire.run(&format!("EXAMINE {quoted}"), |_| {}).await? {
            Done::Ok => RootCheck::Readable,
            Done::No => RootCheck::Missing(format!(
                "the server refused to open {:?} read-only: {}",
                decode_mailbox_name(&target),
                wire.last_words
            )),
            Done::Bad => RootCheck::Unclear(format!(
                "the server did not understand EXAMINE for the UserRoot {shown:?}: {}",
                wire.last_words
            )),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_with_a_list_wildcard_is_never_sent() {
        for root in ["/users/a*", "users/%", "*"] {
            assert!(user_root_wildcard(root).is_some(), "{root}");
        }
        assert_eq!(user_root_wildcard("/users/terrya"), None);
    }
}
