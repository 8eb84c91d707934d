//! The user's language: the languages passdrop speaks, choosing one (roster tag,
//! `Accept-Language`, default), the message catalogues and dates written out in words.
//!
//! The texts live in Fluent catalogues, `src/locales/{tag}/passdrop.ftl`, embedded in
//! the binary at compile time. English is the reference: the tests below fail when
//! another language lacks one of its messages, drops one of its `{ $placeholders }`, or
//! carries its text unchanged (outside `SAME_AS_ENGLISH`). The admin's own texts (next
//! steps, a batch's own message) are never translated.

use std::sync::{LazyLock, Mutex};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

use crate::config::TimeZoneSetting;

/// A language passdrop's user-facing pages and default email are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    /// English, the default and the reference catalogue.
    #[default]
    En,
    /// German.
    De,
    /// French.
    Fr,
    /// Spanish.
    Es,
    /// Dutch.
    Nl,
    /// Italian.
    It,
    /// Portuguese.
    Pt,
}

/// The catalogue source of each language, in `Language::ALL` order.
const SOURCES: [&str; 7] = [
    include_str!("locales/en/passdrop.ftl"),
    include_str!("locales/de/passdrop.ftl"),
    include_str!("locales/fr/passdrop.ftl"),
    include_str!("locales/es/passdrop.ftl"),
    include_str!("locales/nl/passdrop.ftl"),
    include_str!("locales/it/passdrop.ftl"),
    include_str!("locales/pt/passdrop.ftl"),
];

impl Language {
    /// Every language, English first.
    pub const ALL: [Self; 7] = [
        Self::En,
        Self::De,
        Self::Fr,
        Self::Es,
        Self::Nl,
        Self::It,
        Self::Pt,
    ];

    /// The BCP 47 tag (`<html lang>`, the catalogue's folder).
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
            Self::Fr => "fr",
            Self::Es => "es",
            Self::Nl => "nl",
            Self::It => "it",
            Self::Pt => "pt",
        }
    }

    /// The language's name in itself ("Deutsch"), for choosing it.
    pub fn name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::De => "Deutsch",
            Self::Fr => "Français",
            Self::Es => "Español",
            Self::Nl => "Nederlands",
            Self::It => "Italiano",
            Self::Pt => "Português",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|&l| l == self).unwrap_or(0)
    }

    /// The supported tags, for messages: `en, de, fr, es, nl, it, pt`.
    pub fn supported_list() -> String {
        Self::ALL.map(Self::tag).join(", ")
    }

    /// The language a (valid or not) tag asks for, by its primary subtag: `fr-CA` is
    /// French. `None` for an invalid tag or a language passdrop does not speak.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let id: LanguageIdentifier = tag.trim().parse().ok()?;
        let primary = id.language.as_str();
        Self::ALL.into_iter().find(|l| l.tag() == primary)
    }

    /// Parses a setting (`--language`, a batch's language): a supported tag in any
    /// case, or a message that lists the supported ones.
    pub fn parse_setting(value: &str) -> Result<Self, String> {
        Self::from_tag(value).ok_or_else(|| {
            format!(
                "{value:?} is not a language passdrop speaks; use one of {}",
                Self::supported_list()
            )
        })
    }

    /// The first supported language of an `Accept-Language` header, by q-value (ties
    /// keep their order); `*` and `q=0` entries are skipped.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut wanted: Vec<(u16, usize, Self)> = Vec::new();
        for (position, item) in header.split(',').enumerate().take(32) {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let mut quality = 1000u16;
            for parameter in parts {
                let Some((name, value)) = parameter.split_once('=') else {
                    continue;
                };
                if name.trim().eq_ignore_ascii_case("q") {
                    quality = value
                        .trim()
                        .parse::<f32>()
                        .ok()
                        .filter(|q| (0.0..=1.0).contains(q))
                        .map_or(0, |q| (q * 1000.0).round() as u16);
                }
            }
            if quality == 0 || tag == "*" {
                continue;
            }
            if let Some(language) = Self::from_tag(tag) {
                wanted.push((quality, position, language));
            }
        }
        wanted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        wanted.first().map(|w| w.2)
    }
}

/// Checks a roster's `Language` value: a well-formed BCP 47 tag of a language passdrop
/// speaks. Answers the tag in its canonical case (`fr-ca` becomes `fr-CA`).
pub fn normalise_roster_tag(value: &str) -> Result<String, String> {
    let id: LanguageIdentifier = value
        .trim()
        .parse()
        .map_err(|_| format!("Language {value:?} is not a language tag such as de or fr-CA"))?;
    let tag = id.to_string();
    if Language::from_tag(&tag).is_none() {
        return Err(format!(
            "Language {value:?} is not one passdrop speaks ({}); leave it empty to use the \
             browser's language",
            Language::supported_list()
        ));
    }
    Ok(tag)
}

/// One value to put into a message.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// Text, put in as it is.
    Text(&'a str),
    /// A number that may choose a plural form.
    Count(i64),
}

static BUNDLES: LazyLock<Vec<FluentBundle<FluentResource>>> = LazyLock::new(|| {
    Language::ALL
        .iter()
        .zip(SOURCES)
        .map(|(language, source)| {
            // A catalogue with a syntax error still loads what it can; the tests fail on it.
            let resource = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(r, _)| r);
            let id: LanguageIdentifier = language.tag().parse().unwrap_or_default();
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // No Unicode isolation marks: the texts go into HTML and plain-text mail.
            bundle.set_use_isolating(false);
            let _ = bundle.add_resource(resource);
            bundle
        })
        .collect()
});

fn format(language: Language, key: &str, args: &[(&str, Arg<'_>)]) -> Option<String> {
    let bundle = BUNDLES.get(language.index())?;
    let pattern = bundle.get_message(key)?.value()?;
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        match value {
            Arg::Text(text) => fluent_args.set(*name, FluentValue::from(*text)),
            Arg::Count(n) => fluent_args.set(*name, FluentValue::from(*n)),
        }
    }
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
    Some(text.into_owned())
}

/// The message `key` in `language` with its values filled in; English when the language
/// lacks it (the tests make sure none does), the key itself when English does too.
pub fn text_with(language: Language, key: &str, args: &[(&str, Arg<'_>)]) -> String {
    format(language, key, args)
        .or_else(|| format(Language::En, key, args))
        .unwrap_or_else(|| key.to_owned())
}

/// Every message of each catalogue formatted without values, once (issue 21): most of
/// a page's texts take none, and formatting one with Fluent costs several allocations
/// each time. Message ids are the catalogue's lines that start with an identifier and
/// `=` (Fluent's syntax for a message; terms start with `-`, comments with `#`, and
/// continuation lines are indented).
static PLAIN: LazyLock<Vec<std::collections::HashMap<String, String>>> = LazyLock::new(|| {
    Language::ALL
        .iter()
        .zip(SOURCES)
        .map(|(&language, source)| {
            source
                .lines()
                .filter_map(|line| {
                    let (id, _) = line.split_once('=')?;
                    let id = id.trim_end();
                    let first = id.chars().next()?;
                    let is_id = first.is_ascii_alphabetic()
                        && id
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                    let text = format(language, id, &[]).filter(|_| is_id)?;
                    Some((id.to_owned(), text))
                })
                .collect()
        })
        .collect()
});

/// The message `key` in `language`, without values (formatted once, `PLAIN`).
pub fn text(language: Language, key: &str) -> String {
    PLAIN
        .get(language.index())
        .and_then(|texts| texts.get(key))
        .cloned()
        .unwrap_or_else(|| text_with(language, key, &[]))
}

/// A moment written for a person, in UTC: "Monday 7 December, 17:00 UTC", "Montag, 7.
/// Dezember, 17:00 UTC". Every date a user reads goes through `format_date_in`.
pub fn format_date(language: Language, unix: i64) -> String {
    format_date_in(language, unix, &TimeZoneSetting::Utc)
}

/// Dates already written out (issue 21): every link of a batch usually expires at the
/// same moment, and writing a date out takes the zone's rules and a Fluent message with
/// five values. A date is a pure function of the language, the moment and the zone, so
/// the last few are kept (no user data: a moment and a zone). The zone is compared by its
/// rules *and* its name: jiff counts aliases (`Turkey`, `Europe/Istanbul`) as equal, but a
/// zone with no letter abbreviation is written with the name as configured (`+03:00
/// Turkey`), so each alias keeps its own dates.
static DATES: LazyLock<Mutex<Vec<KeptDate>>> = LazyLock::new(Mutex::default);
/// A date written out: its language, moment, zone and text.
type KeptDate = (Language, i64, TimeZoneSetting, String);
/// How many dates are kept; the oldest goes first.
const MAX_DATES: usize = 32;

/// `format_date` on the wall clock of `tz` (the batch's time zone, else the server's),
/// naming the zone: "Monday 7 December, 17:00 CET".
pub fn format_date_in(language: Language, unix: i64, tz: &TimeZoneSetting) -> String {
    let same =
        |(l, u, z, _): &&KeptDate| *l == language && *u == unix && z == tz && z.name() == tz.name();
    if let Ok(dates) = DATES.lock()
        && let Some((.., text)) = dates.iter().find(same)
    {
        return text.clone();
    }
    let text = write_date(language, unix, tz);
    if let Ok(mut dates) = DATES.lock() {
        if dates.len() >= MAX_DATES {
            dates.remove(0);
        }
        dates.push((language, unix, tz.clone(), text.clone()));
    }
    text
}

/// `format_date_in`, written out each time.
fn write_date(language: Language, unix: i64, tz: &TimeZoneSetting) -> String {
    let Some(t) = crate::config::civil_time(unix, tz) else {
        return unix.to_string();
    };
    let weekday = text(language, &format!("weekday-{}", t.weekday));
    let month = text(language, &format!("month-{}", t.month));
    let day = t.day.to_string();
    let clock = format!("{:02}:{:02}", t.hour, t.minute);
    text_with(
        language,
        "date-format",
        &[
            ("weekday", Arg::Text(&weekday)),
            ("day", Arg::Text(&day)),
            ("month", Arg::Text(&month)),
            ("time", Arg::Text(&clock)),
            ("zone", Arg::Text(&t.zone)),
        ],
    )
}

/// Messages a language may carry unchanged from English: the same word in both.
#[cfg(test)]
const SAME_AS_ENGLISH: [(&str, &str); 5] = [
    ("de", "month-4"),
    ("de", "month-8"),
    ("de", "month-9"),
    ("de", "month-11"),
    ("es", "error-prefix"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// The messages of a catalogue: key → its text (continuation lines joined).
    fn entries(source: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in source.lines() {
            if line.starts_with('#') {
                current = None;
            } else if let Some((key, value)) = line
                .split_once(" =")
                .filter(|(k, _)| k.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
            {
                assert!(
                    out.insert(key.to_owned(), value.trim().to_owned())
                        .is_none(),
                    "{key} twice"
                );
                current = Some(key.to_owned());
            } else if let Some(key) = &current
                && let Some(text) = out.get_mut(key)
            {
                text.push('\n');
                text.push_str(line.trim());
            }
        }
        out
    }

    /// The texts formatted once (`PLAIN`) are exactly what formatting each time gives,
    /// for every message of every catalogue, and a key no catalogue has still answers
    /// itself.
    #[test]
    fn plain_texts_are_formatted_once_and_the_same() {
        for (language, source) in Language::ALL.iter().zip(SOURCES) {
            let keys = entries(source);
            let plain = &PLAIN[language.index()];
            assert_eq!(plain.len(), keys.len(), "{}", language.tag());
            for key in keys.keys() {
                assert_eq!(
                    text(*language, key),
                    text_with(*language, key, &[]),
                    "{} {key}",
                    language.tag()
                );
                assert!(plain.contains_key(key), "{} {key}", language.tag());
            }
            assert_eq!(text(*language, "no-such-message"), "no-such-message");
        }
    }

    fn placeholders(text: &str) -> BTreeSet<String> {
        text.split('$')
            .skip(1)
            .map(|rest| {
                rest.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect()
            })
            .collect()
    }

    #[test]
    fn every_catalogue_parses_and_loads() {
        for (language, source) in Language::ALL.iter().zip(SOURCES) {
            if let Err((_, errors)) = FluentResource::try_new(source.to_owned()) {
                panic!("{}: {errors:?}", language.tag());
            }
            let mut bundle = FluentBundle::new_concurrent(vec![]);
            let resource = FluentResource::try_new(source.to_owned()).unwrap();
            bundle.add_resource(resource).unwrap();
        }
    }

    #[test]
    fn every_language_has_every_message_with_its_placeholders_and_its_own_words() {
        let english = entries(SOURCES[0]);
        assert!(english.len() > 60, "{}", english.len());
        for (language, source) in Language::ALL.iter().zip(SOURCES).skip(1) {
            let tag = language.tag();
            let translated = entries(source);
            let missing: Vec<_> = english
                .keys()
                .filter(|k| !translated.contains_key(*k))
                .collect();
            assert!(missing.is_empty(), "{tag} lacks {missing:?}");
            let extra: Vec<_> = translated
                .keys()
                .filter(|k| !english.contains_key(*k))
                .collect();
            assert!(
                extra.is_empty(),
                "{tag} has messages English lacks: {extra:?}"
            );
            for (key, text) in &english {
                let theirs = &translated[key];
                assert_eq!(
                    placeholders(theirs),
                    placeholders(text),
                    "{tag} {key}: placeholders differ"
                );
                let allowed = SAME_AS_ENGLISH.contains(&(tag, key.as_str()));
                assert_eq!(
                    theirs == text,
                    allowed,
                    "{tag} {key}: {}",
                    if allowed {
                        "listed as the same as English but translated; drop it from the list"
                    } else {
                        "still the English text"
                    }
                );
            }
        }
    }

    #[test]
    fn every_message_formats_without_errors_in_every_language() {
        let english = entries(SOURCES[0]);
        for language in Language::ALL {
            let bundle = &BUNDLES[language.index()];
            for (key, text) in &english {
                let mut args = FluentArgs::new();
                for name in placeholders(text) {
                    args.set(name, FluentValue::from(2));
                }
                let pattern = bundle.get_message(key).unwrap().value().unwrap();
                let mut errors = Vec::new();
                let out = bundle.format_pattern(pattern, Some(&args), &mut errors);
                assert!(errors.is_empty(), "{} {key}: {errors:?}", language.tag());
                assert!(!out.trim().is_empty(), "{} {key}", language.tag());
            }
        }
    }

    #[test]
    fn tags_choose_a_language_by_their_primary_subtag() {
        assert_eq!(Language::from_tag("fr-CA"), Some(Language::Fr));
        assert_eq!(Language::from_tag("DE"), Some(Language::De));
        assert_eq!(Language::from_tag("pt-br"), Some(Language::Pt));
        assert_eq!(Language::from_tag("ja"), None);
        assert_eq!(Language::from_tag("not a tag"), None);
        assert_eq!(normalise_roster_tag("fr-ca").unwrap(), "fr-CA");
        assert_eq!(normalise_roster_tag(" NL ").unwrap(), "nl");
        assert!(
            normalise_roster_tag("x y")
                .unwrap_err()
                .contains("not a language tag")
        );
        assert!(
            normalise_roster_tag("ja")
                .unwrap_err()
                .contains("en, de, fr, es, nl, it, pt")
        );
        assert!(
            Language::parse_setting("klingon")
                .unwrap_err()
                .contains("en, de, fr")
        );
        assert_eq!(Language::parse_setting("IT").unwrap(), Language::It);
    }

    #[test]
    fn accept_language_is_read_by_quality_then_order() {
        let pick = Language::from_accept_language;
        assert_eq!(pick("fr-CA,fr;q=0.9,en;q=0.8"), Some(Language::Fr));
        assert_eq!(pick("ja, de;q=0.5, nl;q=0.7"), Some(Language::Nl));
        assert_eq!(pick("es;q=0, it"), Some(Language::It));
        assert_eq!(pick("*, pt;q=0.1"), Some(Language::Pt));
        assert_eq!(pick("ja, zh"), None);
        assert_eq!(pick(""), None);
        assert_eq!(pick("de;q=abc, en;q=0.2"), Some(Language::En));
    }

    #[test]
    fn dates_are_written_out_in_each_language_and_name_the_zone() {
        // Monday 7 December 2026, 17:00 UTC.
        let t = 1_796_662_800;
        assert_eq!(format_date(Language::En, t), "Monday 7 December, 17:00 UTC");
        assert_eq!(
            format_date(Language::De, t),
            "Montag, 7. Dezember, 17:00 UTC"
        );
        assert_eq!(format_date(Language::Fr, t), "lundi 7 décembre à 17:00 UTC");
        assert_eq!(
            format_date(Language::Es, t),
            "lunes 7 de diciembre, a las 17:00 UTC"
        );
        assert_eq!(
            format_date(Language::Nl, t),
            "maandag 7 december om 17:00 UTC"
        );
        assert_eq!(
            format_date(Language::It, t),
            "lunedì 7 dicembre alle 17:00 UTC"
        );
        assert_eq!(
            format_date(Language::Pt, t),
            "segunda-feira, 7 de dezembro, às 17:00 UTC"
        );
        // In a batch's time zone: the wall clock there, and the zone named.
        let paris = crate::config::TimeZoneSetting::parse("Europe/Paris").unwrap();
        assert_eq!(
            format_date_in(Language::Fr, t, &paris),
            "lundi 7 décembre à 18:00 CET"
        );
        let london = crate::config::TimeZoneSetting::parse("Europe/London").unwrap();
        // Wednesday 1 July 2026, 12:00 UTC: British summer time.
        assert_eq!(
            format_date_in(Language::En, 1_782_907_200, &london),
            "Wednesday 1 July, 13:00 BST"
        );
    }

    /// A date kept from before is the date written out again, for each language,
    /// moment and zone (and another zone or moment is not taken for it).
    #[test]
    fn kept_dates_are_the_dates_written_out() {
        let paris = TimeZoneSetting::parse("Europe/Paris").unwrap();
        let istanbul = TimeZoneSetting::parse("Europe/Istanbul").unwrap();
        for _ in 0..2 {
            for language in Language::ALL {
                for tz in [&TimeZoneSetting::Utc, &paris, &istanbul] {
                    for unix in [1_796_662_800, 1_782_907_200, 0] {
                        assert_eq!(
                            format_date_in(language, unix, tz),
                            write_date(language, unix, tz)
                        );
                    }
                }
            }
        }
        assert!(DATES.lock().unwrap().len() <= MAX_DATES);
        // Aliases of one zone (equal to jiff) each keep the name they were given: a zone
        // with no letter abbreviation is written "+03:00 <name>".
        let aliases = ["Asia/Istanbul", "Europe/Istanbul", "Turkey"];
        for _ in 0..2 {
            for name in aliases {
                let tz = TimeZoneSetting::parse(name).unwrap();
                for language in Language::ALL {
                    let date = format_date_in(language, 1_796_662_800, &tz);
                    assert!(date.contains(&format!("+03:00 {name}")), "{name}: {date}");
                    for other in aliases.iter().filter(|o| **o != name) {
                        assert!(!date.contains(other), "{name}: {date}");
                    }
                    assert_eq!(date, write_date(language, 1_796_662_800, &tz));
                }
            }
        }
    }

    #[test]
    fn plural_forms_follow_the_count() {
        let one = text_with(Language::De, "form-tries-left", &[("count", Arg::Count(1))]);
        let two = text_with(Language::De, "form-tries-left", &[("count", Arg::Count(2))]);
        assert!(one.contains("einen Versuch"), "{one}");
        assert!(two.contains("2 Versuche"), "{two}");
    }
}
