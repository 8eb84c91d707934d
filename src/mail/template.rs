//! The message that carries a link: subject and body with placeholders, checked when
//! saved, filled per recipient as plain text plus simple escaped HTML. The default
//! message comes from the catalogue (`email-subject`, `email-body` in
//! `src/locales/*/passdrop.ftl`), in the user's language; an admin's own is sent as
//! written.

use crate::i18n::{self, Arg, Language};

/// What a link message says about its user.
#[derive(Debug, Clone, Copy)]
pub struct LinkFields<'a> {
    /// The user's name, if the roster had one.
    pub name: Option<&'a str>,
    /// Who is asking.
    pub org: &'a str,
    /// The mailbox being moved.
    pub mailbox: &'a str,
    /// The link.
    pub link: &'a str,
    /// When it expires, formatted.
    pub expires: &'a str,
    /// Who to ask (`{contact}`): the batch's contact, one item a line, or the
    /// organisation when none is set (`batch::contact_signature`).
    pub contact: &'a str,
    /// The admin's "our link always starts with ..." line, if set (`{link_start}` then
    /// says it, when the link does start with it).
    pub link_prefix: Option<&'a str>,
}

/// The placeholders a message may use, with what each stands for.
pub const PLACEHOLDERS: [(&str, &str); 7] = [
    (
        "name",
        "the user's DisplayName (their address if the roster has none)",
    ),
    ("email", "the mailbox being moved (EmailAddress)"),
    ("org", "the organisation named for the batch"),
    ("link", "the user's own link (the body must contain it)"),
    ("expires", "when the link expires"),
    (
        "link_start",
        "what the link's address starts with, so users can tell it is genuine",
    ),
    (
        "contact",
        "who to ask: the batch's contact (name, role, phone, email as set), else the organisation",
    ),
];

/// Longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;

/// Longest body, in characters.
pub const MAX_BODY_CHARS: usize = 8000;

/// Stands for the link while the HTML part is escaped (a private-use character, removed
/// from every value first).
pub(super) const LINK_MARK: char = '\u{E000}';

/// A batch's message: subject and plain-text body with `{placeholders}`. `{{` and `}}`
/// stand for braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    subject: String,
    body: String,
}

impl Default for Template {
    /// The default message in English.
    fn default() -> Self {
        Self::default_in(Language::En)
    }
}

/// Fills `{placeholders}` in `text` with `value(name)`; refuses an unknown or unclosed
/// one, naming it and its line.
pub(super) fn fill(
    text: &str,
    what: &str,
    mut value: impl FnMut(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().is_some_and(|&(_, n)| n == '{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek().is_some_and(|&(_, n)| n == '}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let line = text[..i].matches('\n').count() + 1;
                let rest = &text[i + 1..];
                let Some(end) = rest.find('}') else {
                    return Err(format!(
                        "{what}, line {line}: a {{ is not closed (write {{{{ for a brace)"
                    ));
                };
                let name = &rest[..end];
                let filled = value(name.trim()).ok_or_else(|| {
                    let known: Vec<String> = PLACEHOLDERS
                        .iter()
                        .map(|(n, _)| format!("{{{n}}}"))
                        .collect();
                    format!(
                        "{what}, line {line}: {{{name}}} is not a placeholder (use {})",
                        known.join(", ")
                    )
                })?;
                out.push_str(&filled);
                // Past the closing brace, by position (the name may hold multi-byte
                // characters).
                let close = i + 1 + end;
                while chars.next_if(|&(j, _)| j <= close).is_some() {}
            }
            '}' => {
                let line = text[..i].matches('\n').count() + 1;
                return Err(format!(
                    "{what}, line {line}: a }} without its {{ (write }}}} for a brace)"
                ));
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

impl Template {
    /// Checks a subject and body: known placeholders only, the link in the body (and
    /// not in the subject), one line of subject, sizes within bounds.
    pub fn new(subject: &str, body: &str) -> Result<Self, String> {
        let subject = subject.trim();
        let body = body.replace("\r\n", "\n");
        if subject.is_empty() {
            return Err("the subject is empty".into());
        }
        if subject.contains(['\r', '\n']) {
            return Err("the subject must be one line".into());
        }
        if subject.chars().count() > MAX_SUBJECT_CHARS {
            return Err(format!(
                "the subject is longer than {MAX_SUBJECT_CHARS} characters"
            ));
        }
        if body.chars().count() > MAX_BODY_CHARS {
            return Err(format!(
                "the body is longer than {MAX_BODY_CHARS} characters"
            ));
        }
        if let Some(c) = subject
            .chars()
            .chain(body.chars())
            .find(|&c| (c.is_control() && c != '\n' && c != '\t') || c == LINK_MARK)
        {
            return Err(format!(
                "the message contains the control character U+{:04X}",
                u32::from(c)
            ));
        }
        let probe = |name: &str| {
            PLACEHOLDERS
                .iter()
                .any(|(n, _)| *n == name)
                .then(String::new)
        };
        fill(subject, "the subject", probe)?;
        let mut links = 0;
        fill(&body, "the body", |name| {
            links += usize::from(name == "link");
            probe(name)
        })?;
        let mut subject_link = false;
        fill(subject, "the subject", |name| {
            subject_link |= name == "link";
            Some(String::new())
        })?;
        if subject_link {
            return Err("the subject must not contain {link}: previews and lists show it".into());
        }
        if links == 0 {
            return Err("the body must contain {link}, or the user has nothing to open".into());
        }
        Ok(Self {
            subject: subject.to_owned(),
            body,
        })
    }

    /// The default message in `language`, with its placeholders.
    pub fn default_in(language: Language) -> Self {
        // Each placeholder goes through the catalogue as itself, to be filled later.
        let names = PLACEHOLDERS.map(|(name, _)| (name, format!("{{{name}}}")));
        let args: Vec<(&str, Arg<'_>)> = names
            .iter()
            .map(|(name, mark)| (*name, Arg::Text(mark)))
            .collect();
        Self {
            subject: i18n::text_with(language, "email-subject", &args),
            body: format!("{}\n", i18n::text_with(language, "email-body", &args)),
        }
    }

    /// What a batch sends one user: its own message as written, or the default in the
    /// user's language.
    pub fn for_user(stored: Option<&(String, String)>, language: Language) -> Self {
        match stored.and_then(|(subject, body)| Self::new(subject, body).ok()) {
            Some(own) => own,
            None => Self::default_in(language),
        }
    }

    /// The template stored for a batch, or the default.
    pub fn of(stored: Option<&(String, String)>) -> Self {
        stored
            .and_then(|(subject, body)| Self::new(subject, body).ok())
            .unwrap_or_default()
    }

    /// Whether this is the default message.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The subject with its placeholders.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The body with its placeholders.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// Fills the template for one user: (subject, plain text, HTML).
    pub fn render(&self, f: &LinkFields<'_>) -> (String, String, String) {
        let clean = |v: &str| v.replace(LINK_MARK, "");
        let name = f.name.unwrap_or(f.mailbox);
        let value = |key: &str, link: &str| -> Option<String> {
            Some(match key {
                "name" => clean(name),
                "email" => clean(f.mailbox),
                "org" => clean(f.org),
                "expires" => clean(f.expires),
                "link" => link.to_owned(),
                // The admin's prefix when the link has it, else the address up to the
                // token: `https://example.org/s/`.
                "link_start" => clean(
                    f.link_prefix
                        .filter(|p| f.link.starts_with(p))
                        .unwrap_or_else(|| f.link.rfind('/').map_or(f.link, |i| &f.link[..=i])),
                ),
                "contact" => clean(f.contact),
                _ => return None,
            })
        };
        // Checked in `new`: filling cannot fail; fall back to the raw text if it did.
        let subject = fill(&self.subject, "", |k| value(k, ""))
            .unwrap_or_else(|_| self.subject.clone())
            .replace(['\r', '\n'], " ");
        let text = fill(&self.body, "", |k| value(k, f.link)).unwrap_or_else(|_| self.body.clone());
        let marked = fill(&self.body, "", |k| value(k, &LINK_MARK.to_string()))
            .unwrap_or_else(|_| self.body.clone());
        let mut html = String::from("<!DOCTYPE html><html><body>");
        for paragraph in marked
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let escaped = maud::html! { (paragraph) }.into_string();
            let anchor = maud::html! { a href=(f.link) { (f.link) } }.into_string();
            html.push_str("<p>");
            html.push_str(&escaped.replace('\n', "<br>").replace(LINK_MARK, &anchor));
            html.push_str("</p>");
        }
        html.push_str("</body></html>");
        (subject, text, html)
    }
}
