//! Strict decoding of the collection form (`application/x-www-form-urlencoded`).
//!
//! Unlike a lenient decoder, this refuses bytes that are not UTF-8 (rather than replacing
//! them, which would silently change a password), repeated fields and missing fields.

use secrecy::SecretString;
use zeroize::Zeroizing;

/// The collection form's fields.
pub struct CollectionForm {
    /// `password`.
    pub password: SecretString,
    /// `password_confirm` (absent on the form of a batch that checks passwords with the
    /// old IMAP server, where the server's answer replaces typing it twice).
    pub password_confirm: Option<SecretString>,
    /// `mail_client`, the optional answer to the email-reading question (not secret).
    pub mail_client: Option<String>,
}

/// Why a body is not a valid collection form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// A field was not valid UTF-8 after decoding.
    #[error("The form was not sent as UTF-8 text. Please try again in another browser.")]
    NotUtf8,
    /// A field appeared more than once.
    #[error("The form was sent with a field repeated. Please reload the page and try again.")]
    RepeatedField,
    /// A required field was missing.
    #[error("The form was incomplete. Please reload the page and try again.")]
    MissingField,
    /// A percent escape was malformed.
    #[error("The form was garbled in transit. Please reload the page and try again.")]
    Malformed,
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes one `+`/percent-encoded component into a zeroize-on-drop buffer.
fn decode_component(raw: &[u8]) -> Result<Zeroizing<Vec<u8>>, FormError> {
    let mut out = Zeroizing::new(Vec::with_capacity(raw.len()));
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = raw.get(i + 1).copied().and_then(hex_value);
                let lo = raw.get(i + 2).copied().and_then(hex_value);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(FormError::Malformed);
                };
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Ok(out)
}

fn into_secret(bytes: Zeroizing<Vec<u8>>) -> Result<SecretString, FormError> {
    let text = std::str::from_utf8(&bytes).map_err(|_| FormError::NotUtf8)?;
    Ok(SecretString::from(text.to_owned()))
}

/// Parses the collection form. Unknown fields are ignored.
pub fn parse_collection_form(body: &[u8]) -> Result<CollectionForm, FormError> {
    let mut password = None;
    let mut confirm = None;
    let mut mail_client: Option<String> = None;
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let name = decode_component(name)?;
        if name.as_slice() == b"mail_client" {
            if mail_client.is_some() {
                return Err(FormError::RepeatedField);
            }
            let value = decode_component(value)?;
            let text = std::str::from_utf8(&value).map_err(|_| FormError::NotUtf8)?;
            mail_client = Some(text.to_owned());
            continue;
        }
        let slot = match name.as_slice() {
            b"password" => &mut password,
            b"password_confirm" => &mut confirm,
            _ => continue,
        };
        if slot.is_some() {
            return Err(FormError::RepeatedField);
        }
        *slot = Some(into_secret(decode_component(value)?)?);
    }
    match password {
        Some(password) => Ok(CollectionForm {
            password,
            password_confirm: confirm,
            mail_client,
        }),
        None => Err(FormError::MissingField),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    #[test]
    fn fields_are_decoded_exactly() {
        let f = parse_collection_form(
            b"password=a+b%2B%3D%22%C3%A9&password_confirm=x&other=1&mail_client=webmail",
        )
        .unwrap();
        assert_eq!(f.mail_client.as_deref(), Some("webmail"));
        assert_eq!(f.password.expose_secret(), "a b+=\"é");
        assert_eq!(f.password_confirm.unwrap().expose_secret(), "x");
    }

    #[test]
    fn non_utf8_is_refused_not_replaced() {
        assert_eq!(
            parse_collection_form(b"password=%E9&password_confirm=%E9").err(),
            Some(FormError::NotUtf8)
        );
    }

    #[test]
    fn repeated_missing_and_malformed_fields_are_refused() {
        assert_eq!(
            parse_collection_form(b"password=a&password=b&password_confirm=a").err(),
            Some(FormError::RepeatedField)
        );
        assert_eq!(
            parse_collection_form(b"password_confirm=a").err(),
            Some(FormError::MissingField)
        );
        assert!(
            parse_collection_form(b"password=a")
                .unwrap()
                .password_confirm
                .is_none()
        );
        assert_eq!(
            parse_collection_form(b"").err(),
            Some(FormError::MissingField)
        );
        assert_eq!(
            parse_collection_form(b"password=%G1&password_confirm=a").err(),
            Some(FormError::Malformed)
        );
        assert_eq!(
            parse_collection_form(b"password=%4&password_confirm=a").err(),
            Some(FormError::Malformed)
        );
    }

    #[test]
    fn an_empty_value_is_present_but_empty() {
        let f = parse_collection_form(b"password=&password_confirm").unwrap();
        assert_eq!(f.password.expose_secret(), "");
    }
}
