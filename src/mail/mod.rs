//! Sending the links by email through the organisation's SMTP relay (lettre over
//! rustls): the settings, the message, and one delivery with retries.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use secrecy::{ExposeSecret as _, SecretString};

mod address;
mod relay;
mod template;

pub use address::parse_mailbox;
pub use relay::*;
pub use template::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_message_explains_and_warns() {
        let f = LinkFields {
            name: Some("Ann <Lee>"),
            org: "Example & Co",
            mailbox: "ann@example.org",
            link: "https://pass.example.org/s/TOKEN",
            expires: "2026-12-03 09:00 UTC",
            contact: "Ann Smith, IT manager\n+44 20 7946 0000",
            link_prefix: None,
        };
        let (subject, text, html) = Template::default().render(&f);
        assert_eq!(subject, "Example & Co: your mailbox moves to Microsoft 365");
        assert!(text.contains("The address of the link starts with https://pass.example.org/s/."));
        assert!(
            text.starts_with("Hello Ann <Lee>,\n\nExample & Co is moving"),
            "{text}"
        );
        assert!(text.contains("\nhttps://pass.example.org/s/TOKEN\n"));
        assert!(text.contains("will never ask for your password"));
        assert!(text.contains("until 2026-12-03 09:00 UTC"));
        assert!(
            text.ends_with("ask:\n\nAnn Smith, IT manager\n+44 20 7946 0000\n"),
            "{text}"
        );
        assert!(html.contains("Ann &lt;Lee&gt;"), "{html}");
        assert!(html.contains("Example &amp; Co"), "{html}");
        assert!(
            html.contains(r#"<p><a href="https://pass.example.org/s/TOKEN">"#),
            "{html}"
        );
    }

    #[test]
    fn the_default_message_speaks_the_users_language_and_a_batchs_own_stays_as_written() {
        use crate::i18n::{Language, format_date};
        let expires = format_date(Language::De, 1_796_662_800);
        let f = LinkFields {
            name: Some("Anna"),
            org: "Beispiel GmbH",
            mailbox: "anna@example.org",
            link: "https://pass.example.org/s/TOKEN",
            expires: &expires,
            contact: "Beispiel GmbH",
            link_prefix: Some("https://pass.example.org/"),
        };
        let (subject, text, _) = Template::for_user(None, Language::De).render(&f);
        assert_eq!(
            subject,
            "Beispiel GmbH: Ihr Postfach zieht zu Microsoft 365 um"
        );
        assert!(
            text.starts_with(
                "Guten Tag Anna,\n\nBeispiel GmbH zieht Ihr Postfach anna@example.org"
            )
        );
        assert!(
            text.contains(
                "bis Montag, 7. Dezember, 17:00 UTC:\n\nhttps://pass.example.org/s/TOKEN\n"
            )
        );
        // The admin's link prefix, which the link does start with.
        assert!(
            text.contains("beginnt mit https://pass.example.org/."),
            "{text}"
        );
        assert!(
            text.ends_with("wenden Sie sich an:\n\nBeispiel GmbH\n"),
            "{text}"
        );
        // Every language's default is a valid template, with the link in its body.
        for language in Language::ALL {
            let t = Template::default_in(language);
            let checked = Template::new(t.subject(), t.body()).unwrap();
            assert_eq!(checked, t, "{}", language.tag());
            assert!(!t.subject().contains('!'), "no urgency markers");
            // `{contact}` is the signature of every language's default.
            assert!(
                t.body().trim_end().ends_with("{contact}"),
                "{}",
                language.tag()
            );
            let (_, text, _) = t.render(&f);
            assert!(
                text.trim_end().ends_with("Beispiel GmbH"),
                "{}",
                language.tag()
            );
        }
        let own = ("Hi {name}".to_owned(), "Go: {link}".to_owned());
        let (subject, text, _) = Template::for_user(Some(&own), Language::De).render(&f);
        assert_eq!(
            (subject.as_str(), text.as_str()),
            ("Hi Anna", "Go: https://pass.example.org/s/TOKEN")
        );
    }

    #[test]
    fn a_template_is_checked_and_filled() {
        let f = LinkFields {
            name: None,
            org: "Org",
            mailbox: "bob@example.org",
            link: "https://p/s/T",
            expires: "soon",
            contact: "Org",
            link_prefix: None,
        };
        let t = Template::new("Hi {name}", "Go: {link}\r\nBraces: {{x}} line\nbreak").unwrap();
        let (subject, text, html) = t.render(&f);
        assert_eq!(subject, "Hi bob@example.org");
        assert_eq!(text, "Go: https://p/s/T\nBraces: {x} line\nbreak");
        assert!(html.contains("Braces: {x} line<br>break"), "{html}");
        for (subject, body, says) in [
            ("Hi", "no link here", "must contain {link}"),
            ("{link}", "{link}", "must not contain {link}"),
            (
                "Hi",
                "{link} {password}",
                "line 1: {password} is not a placeholder",
            ),
            ("Hi", "{link}\n\n{oops", "line 3: a { is not closed"),
            ("Hi", "{link} }", "without its {"),
            ("", "{link}", "subject is empty"),
            ("Hi", "{link}\u{7}", "control character"),
            ("Hi", "{link} {\u{a0}link\u{e9}} x", "is not a placeholder"),
        ] {
            let e = Template::new(subject, body).unwrap_err();
            assert!(e.contains(says), "{subject:?} {body:?}: {e}");
        }
        assert!(Template::of(None).is_default());
    }

    #[test]
    fn plaintext_smtp_is_for_loopback_only() {
        let settings = |host: &str, security| SmtpSettings {
            host: host.into(),
            port: 25,
            security,
            credentials: None,
            from: "it@example.org".parse().unwrap(),
            reply_to: None,
            ca_pem: None,
        };
        assert!(settings("127.0.0.1", SmtpSecurity::None).check().is_ok());
        assert!(
            settings("smtp.example.org", SmtpSecurity::None)
                .check()
                .is_err()
        );
        assert!(
            settings("smtp.example.org", SmtpSecurity::StartTls)
                .check()
                .is_ok()
        );
        assert!(SmtpSecurity::parse("ssl").is_err());
    }
}
