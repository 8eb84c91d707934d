//! Email addresses as admins type them: `it@example.org`, `Helpdesk <it@example.org>`,
//! `Helpdesk (IT) <it@example.org>`, `"Lee, Ann" <ann@example.org>` or
//! `Lee, Ann <ann@example.org>`. A refusal says in words what is wrong.

use lettre::Address;
use lettre::address::AddressError;
use lettre::message::Mailbox;

/// Longest display name accepted (a header line stays readable).
const MAX_NAME_CHARS: usize = 200;

/// Parses one mailbox, for the field named `field` (e.g. "From"): an address, or a
/// display name followed by an address in angle brackets. The name may be quoted or not,
/// and may hold commas and parentheses; it is sent properly quoted.
pub fn parse_mailbox(field: &str, input: &str) -> Result<Mailbox, String> {
    let text = input.trim();
    if text.is_empty() {
        return Err(format!(
            "{field}: empty; type an address such as it@example.org"
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!(
            "{field}: holds a line break or another control character"
        ));
    }
    let (name, address) = match (text.rfind('<'), text.ends_with('>')) {
        (Some(open), true) => (text[..open].trim(), &text[open + 1..text.len() - 1]),
        (None, false) if !text.contains('>') => ("", text),
        _ => {
            return Err(format!(
                "{field}: the angle brackets do not match; write Name <it@example.org> or just it@example.org"
            ));
        }
    };
    let address = address.trim();
    let address: Address = address
        .parse()
        .map_err(|e| format!("{field}: {}", explain(address, &e)))?;
    let name = unquote(name);
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "{field}: the name is longer than {MAX_NAME_CHARS} characters"
        ));
    }
    Ok(Mailbox::new((!name.is_empty()).then_some(name), address))
}

/// A display name without its surrounding quotes and with `\"` and `\\` unescaped.
fn unquote(name: &str) -> String {
    let name = name.trim();
    let inner = name
        .strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .filter(|_| name.len() >= 2);
    match inner {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.extend(chars.next()),
                    c => out.push(c),
                }
            }
            out
        }
        None => name.to_owned(),
    }
}

/// Why `address` is not an email address, in words.
fn explain(address: &str, error: &AddressError) -> String {
    match error {
        _ if address.is_empty() => "no address between the angle brackets".to_owned(),
        AddressError::MissingParts if !address.contains('@') => {
            format!("\"{address}\" has no @; an address looks like it@example.org")
        }
        _ if address.starts_with('@') || address.ends_with('@') => format!(
            "\"{address}\" needs a name before the @ and a domain after it, like it@example.org"
        ),
        AddressError::MissingParts => format!(
            "\"{address}\" needs a name before the @ and a domain after it, like it@example.org"
        ),
        AddressError::InvalidUser => format!(
            "the part before the @ in \"{address}\" has a character addresses cannot hold (a space, a comma, a bracket...)"
        ),
        AddressError::InvalidDomain => format!(
            "the domain after the @ in \"{address}\" is not a domain name such as example.org"
        ),
        _ => format!("\"{address}\" is not an email address such as it@example.org"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(input: &str) -> (Option<String>, String) {
        let m = parse_mailbox("From", input).unwrap();
        (m.name, m.email.to_string())
    }

    #[test]
    fn the_usual_forms_are_accepted() {
        assert_eq!(parsed("it@example.org"), (None, "it@example.org".into()));
        assert_eq!(
            parsed(" Helpdesk <it@example.org> "),
            (Some("Helpdesk".into()), "it@example.org".into())
        );
        assert_eq!(
            parsed("Helpdesk (IT) <it@example.org>"),
            (Some("Helpdesk (IT)".into()), "it@example.org".into())
        );
        assert_eq!(
            parsed("\"Lee, Ann\" <ann@example.org>"),
            (Some("Lee, Ann".into()), "ann@example.org".into())
        );
        assert_eq!(
            parsed("Lee, Ann <ann@example.org>"),
            (Some("Lee, Ann".into()), "ann@example.org".into())
        );
        assert_eq!(
            parsed(r#""The \"IT\" desk" <it@example.org>"#),
            (Some("The \"IT\" desk".into()), "it@example.org".into())
        );
        assert_eq!(
            parsed("Équipe informatique <it@example.org>"),
            (Some("Équipe informatique".into()), "it@example.org".into())
        );
    }

    #[test]
    fn names_with_specials_are_quoted_in_the_header() {
        let m = parse_mailbox("From", "Lee, Ann (IT) <ann@example.org>").unwrap();
        assert_eq!(m.to_string(), "\"Lee, Ann (IT)\" <ann@example.org>");
    }

    #[test]
    fn refusals_say_what_is_wrong_in_words() {
        let refused = |input: &str| parse_mailbox("From", input).unwrap_err();
        assert!(refused("").contains("empty"));
        assert!(
            refused("it.example.org").contains("has no @"),
            "{}",
            refused("it.example.org")
        );
        assert!(
            refused("it@").contains("a domain after it"),
            "{}",
            refused("it@")
        );
        assert!(refused("Helpdesk <it@example.org").contains("angle brackets"));
        assert!(refused("Helpdesk it@example.org>").contains("angle brackets"));
        assert!(refused("Helpdesk <>").contains("no address between"));
        assert!(refused("Help\ndesk <it@example.org>").contains("line break"));
        assert!(
            refused("it@exa mple.org").contains("domain"),
            "{}",
            refused("it@exa mple.org")
        );
        for input in [
            "",
            "it.example.org",
            "it@",
            "Helpdesk <>",
            "a b@example.org",
        ] {
            let why = refused(input);
            assert!(!why.contains("Invalid"), "{why}");
            assert!(why.starts_with("From: "), "{why}");
        }
    }
}
