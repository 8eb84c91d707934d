//! The policy for a new admin passphrase: long enough, and hard enough to guess by
//! zxcvbn's estimate (SECURITY.md, "The admin passphrase", says why the floor is where it
//! is); and a generated one to offer instead: six words from the EFF large word list.
//! Only *setting* a passphrase is checked: unlocking takes whatever was set.

use secrecy::{ExposeSecret as _, SecretString};

use super::{BatchError, BatchResult, MIN_PASSPHRASE_CHARS};
use crate::crypto::{self, CryptoError, KdfParams};

/// The fewest guesses (as a power of ten) zxcvbn must estimate for a new passphrase: a
/// trillion. At about a thousand Argon2id (64 MiB, t=3) guesses a second per GPU, that
/// is some 30 GPU-years to try them all.
pub const MIN_GUESSES_LOG10: f64 = 12.0;

/// Words in a generated passphrase: 6 × log2(7,776) ≈ 77.5 bits.
pub const GENERATED_WORDS: usize = 6;

/// Argon2id memory (MiB) a changed passphrase may wrap the admin key with: from the
/// default 64 MiB up to 512 MiB. Every login and export then takes that much per hash,
/// with at most two hashes at once (1 GiB at the top).
pub const KDF_MEMORY_MIB: std::ops::RangeInclusive<u32> = 64..=512;

/// `base` with `memory_mib` of memory, refused outside [`KDF_MEMORY_MIB`].
pub fn kdf_with_memory(base: KdfParams, memory_mib: u32) -> BatchResult<KdfParams> {
    if !KDF_MEMORY_MIB.contains(&memory_mib) {
        return Err(BatchError::InvalidName(format!(
            "the Argon2 memory must be from {} to {} MiB",
            KDF_MEMORY_MIB.start(),
            KDF_MEMORY_MIB.end()
        )));
    }
    Ok(KdfParams {
        m_cost: memory_mib * 1024,
        ..base
    })
}

/// Words zxcvbn treats as known to an attacker, on top of its dictionaries.
const KNOWN_WORDS: &[&str] = &["passdrop"];

/// Checks a passphrase about to be set: at least [`MIN_PASSPHRASE_CHARS`] characters, at
/// most [`super::MAX_PASSPHRASE_BYTES`] bytes, and at least 10^[`MIN_GUESSES_LOG10`] guesses by
/// zxcvbn's estimate. A refusal says why in words (zxcvbn's feedback).
pub fn check_new_passphrase(passphrase: &SecretString) -> BatchResult<()> {
    let text = passphrase.expose_secret();
    if text.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(BatchError::WeakPassphrase(format!(
            "the passphrase must be at least {MIN_PASSPHRASE_CHARS} characters long"
        )));
    }
    super::check_passphrase_length(passphrase)?;
    // zxcvbn looks at the first 100 characters only: a longer passphrase is judged by
    // them, never rated higher than it is.
    let estimate = zxcvbn::zxcvbn(text, KNOWN_WORDS);
    if estimate.guesses_log10() >= MIN_GUESSES_LOG10 {
        return Ok(());
    }
    let mut why = String::from("the passphrase is too easy to guess");
    let feedback = estimate.feedback();
    if let Some(warning) = feedback.and_then(|f| f.warning()) {
        why.push_str(": ");
        why.push_str(&lower_first(&warning.to_string()));
    } else {
        why.push('.');
    }
    let suggestions = feedback.map(|f| f.suggestions()).unwrap_or_default();
    if suggestions.is_empty() {
        why.push_str(" Add another word or two. Uncommon words are better.");
    }
    for suggestion in suggestions {
        why.push(' ');
        why.push_str(&suggestion.to_string());
    }
    why.push_str(&format!(
        " It could be found in about 10^{:.0} guesses; at least 10^{MIN_GUESSES_LOG10:.0} are \
         needed.",
        estimate.guesses_log10().max(0.0).floor()
    ));
    Err(BatchError::WeakPassphrase(why))
}

/// `text` with its first letter in lower case ("This is..." inside a sentence).
fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}

/// A passphrase of [`GENERATED_WORDS`] words drawn uniformly from the EFF large word list
/// (7,776 words) with the OS CSPRNG, separated by spaces: about 77.5 bits. Offered, never
/// stored or logged.
pub fn generate_passphrase() -> Result<SecretString, CryptoError> {
    let list: &[&str] = &diceware_wordlists::EFF_LONG_WORDLIST;
    let mut words = [""; GENERATED_WORDS];
    for word in &mut words {
        *word = list[uniform_index(list.len())?];
    }
    // Sized exactly, so the string is never reallocated (leaving a copy behind) on its
    // way into the secret box.
    let len = words.iter().map(|w| w.len()).sum::<usize>() + GENERATED_WORDS - 1;
    let mut text = String::with_capacity(len);
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(word);
    }
    Ok(SecretString::from(text))
}

/// A uniform index below `n` (at most 65,536) from the OS CSPRNG: a random `u16`, drawn
/// again while it falls in the incomplete last run of `n` (rejection sampling, no bias).
fn uniform_index(n: usize) -> Result<usize, CryptoError> {
    const RANGE: usize = 1 << 16;
    let n = n.clamp(1, RANGE);
    let limit = RANGE - RANGE % n;
    loop {
        let draw = usize::from(u16::from_be_bytes(crypto::random_bytes::<2>()?));
        if draw < limit {
            return Ok(draw % n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    fn refusal(p: &str) -> String {
        match check_new_passphrase(&secret(p)) {
            Err(BatchError::WeakPassphrase(why)) => why,
            other => panic!("{p:?} was not refused as weak: {other:?}"),
        }
    }

    #[test]
    fn weak_passphrases_are_refused_with_a_reason() {
        let why = refusal("password1234");
        assert!(why.contains("very common password"), "{why}");
        assert!(why.contains("Add another word"), "{why}");
        let why = refusal(&" ".repeat(12));
        assert!(why.contains("repeats like"), "{why}");
        assert!(refusal("short").contains("at least 12 characters"));
        // zxcvbn's score 4 (10^10) but under the floor, with no feedback of its own.
        let why = refusal("level hug parachute");
        assert!(why.contains("too easy to guess."), "{why}");
        assert!(why.contains("Add another word"), "{why}");
        assert!(refusal("passdrop admin 2026").contains("10^11"));
    }

    #[test]
    fn strong_passphrases_are_accepted() {
        for p in [
            "test passphrase, long enough",
            "golden fixture passphrase",
            "quilt evoke sprinkle unwed",
        ] {
            assert!(check_new_passphrase(&secret(p)).is_ok(), "{p}");
        }
        assert!(matches!(
            check_new_passphrase(&secret(&"word ".repeat(300))),
            Err(BatchError::InvalidName(_))
        ));
    }

    #[test]
    fn generated_passphrases_are_six_list_words_and_always_accepted() {
        let list = &diceware_wordlists::EFF_LONG_WORDLIST;
        assert_eq!(list.len(), 7776);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let p = generate_passphrase().unwrap();
            let words: Vec<&str> = p.expose_secret().split(' ').collect();
            assert_eq!(words.len(), GENERATED_WORDS);
            assert!(words.iter().all(|w| list.contains(w)), "{words:?}");
            check_new_passphrase(&p).unwrap();
            seen.insert(p.expose_secret().to_owned());
        }
        assert_eq!(seen.len(), 200);
    }

    #[test]
    fn indexes_cover_the_whole_range() {
        let mut hit = [false; 6];
        for _ in 0..1000 {
            hit[uniform_index(6).unwrap()] = true;
        }
        assert!(hit.iter().all(|h| *h));
        assert_eq!(uniform_index(1).unwrap(), 0);
    }
}
