//! The few read-only IMAP commands of the mailbox inventory, spoken directly on the
//! logged-in stream: async-imap's parser refuses answers it does not know (`STATUS ...
//! SIZE`, `NAMESPACE`), and one refused line would end the session.
//!
//! Every answer is bounded: a line or literal of at most `MAX_RESPONSE_BYTES`, and each
//! command runs under the caller's deadline.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;

/// The longest untagged answer (with its literals) read; longer ones end the inventory.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// One element of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    /// An atom or number (`MESSAGES`, `123`, `\HasNoChildren`, `[Gmail]`).
    Atom(String),
    /// A quoted string or a literal, as bytes.
    Str(Vec<u8>),
    /// `(`
    Open,
    /// `)`
    Close,
    /// `NIL`
    Nil,
}

impl Token {
    /// Text of an atom or string (lossy for non-UTF-8 strings); `None` for the rest.
    pub(super) fn text(&self) -> Option<String> {
        match self {
            Self::Atom(a) => Some(a.clone()),
            Self::Str(s) => Some(String::from_utf8_lossy(s).into_owned()),
            _ => None,
        }
    }

    /// A number, if this is one.
    pub(super) fn number(&self) -> Option<u64> {
        match self {
            Self::Atom(a) => a.parse().ok(),
            _ => None,
        }
    }
}

/// How a tagged command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Done {
    Ok,
    No,
    Bad,
}

/// Why the conversation ended early.
#[derive(Debug)]
pub(super) enum WireError {
    /// The connection failed or closed.
    Io,
    /// An answer longer than allowed, or not IMAP.
    Garbled,
}

/// Tokenizes one line (without its CRLF). Returns the tokens and, when the line ends
/// with a literal's announcement `{n}`, its size.
pub(super) fn tokenize(line: &[u8], out: &mut Vec<Token>) -> Result<Option<usize>, WireError> {
    let mut i = 0;
    while i < line.len() {
        match line[i] {
            b' ' => i += 1,
            b'(' => {
                out.push(Token::Open);
                i += 1;
            }
            b')' => {
                out.push(Token::Close);
                i += 1;
            }
            b'"' => {
                let mut s = Vec::new();
                i += 1;
                loop {
                    match line.get(i) {
                        None => return Err(WireError::Garbled),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            s.push(*line.get(i + 1).ok_or(WireError::Garbled)?);
                            i += 2;
                        }
                        Some(&c) => {
                            s.push(c);
                            i += 1;
                        }
                    }
                }
                out.push(Token::Str(s));
            }
            b'{' => {
                let close = line[i..]
                    .iter()
                    .position(|&c| c == b'}')
                    .ok_or(WireError::Garbled)?;
                if i + close + 1 != line.len() {
                    return Err(WireError::Garbled);
                }
                let digits = std::str::from_utf8(&line[i + 1..i + close])
                    .map_err(|_| WireError::Garbled)?
                    .trim_end_matches('+');
                let n: usize = digits.parse().map_err(|_| WireError::Garbled)?;
                return Ok(Some(n));
            }
            _ => {
                let start = i;
                while i < line.len() && !matches!(line[i], b' ' | b'(' | b')' | b'"' | b'{') {
                    i += 1;
                }
                let atom = String::from_utf8_lossy(&line[start..i]).into_owned();
                out.push(if atom.eq_ignore_ascii_case("NIL") {
                    Token::Nil
                } else {
                    Token::Atom(atom)
                });
            }
        }
    }
    Ok(None)
}

/// A mailbox name as a quoted string for a command; `None` when it cannot be one (a
/// line break, NUL or 8-bit byte: such folders are counted but not opened).
pub(super) fn quote(name: &[u8]) -> Option<String> {
    if name
        .iter()
        .any(|&c| c == 0 || c == b'\r' || c == b'\n' || c >= 0x80)
    {
        return None;
    }
    let mut q = String::with_capacity(name.len() + 2);
    q.push('"');
    for &c in name {
        if c == b'"' || c == b'\\' {
            q.push('\\');
        }
        q.push(char::from(c));
    }
    q.push('"');
    Some(q)
}

/// Decodes IMAP's modified UTF-7 folder names (`&AOQ-` is `ä`) for people to read;
/// anything malformed is shown as it is.
pub(super) fn decode_mailbox_name(raw: &[u8]) -> String {
    decode_utf7(raw)
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .take(MAX_NAME_CHARS)
        .collect()
}

fn decode_utf7(raw: &[u8]) -> String {
    use base64::Engine as _;
    let text = String::from_utf8_lossy(raw);
    let mut out = String::new();
    let mut rest = text.as_ref();
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(dash) = after.find('-') else {
            out.push_str(&rest[amp..]);
            return out;
        };
        let chunk = &after[..dash];
        if chunk.is_empty() {
            out.push('&');
        } else {
            let b64 = chunk.replace(',', "/");
            let decoded = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(b64.as_bytes())
                .ok()
                .filter(|b| b.len() % 2 == 0)
                .and_then(|b| {
                    let units: Vec<u16> = b
                        .chunks_exact(2)
                        .map(|p| u16::from_be_bytes([p[0], p[1]]))
                        .collect();
                    String::from_utf16(&units).ok()
                });
            match decoded {
                Some(s) => out.push_str(&s),
                None => {
                    out.push('&');
                    out.push_str(chunk);
                    out.push('-');
                }
            }
        }
        rest = &after[dash + 1..];
    }
    out.push_str(rest);
    out
}

/// The longest folder name kept, in characters. A server's names reach terminals and
/// pages: control characters (escape sequences) are replaced too.
const MAX_NAME_CHARS: usize = 200;

/// The logged-in stream, spoken to directly.
pub(super) struct Wire<'a> {
    stream: &'a mut Tls,
    buf: Vec<u8>,
    next_tag: u32,
    /// The last tagged completion's free text (the server's words), control characters
    /// removed, at most 200 characters.
    pub(super) last_words: String,
}

impl<'a> Wire<'a> {
    pub(super) fn new(stream: &'a mut Tls) -> Self {
        Self {
            stream,
            buf: Vec::with_capacity(8192),
            next_tag: 1,
            last_words: String::new(),
        }
    }

    async fn fill(&mut self) -> Result<(), WireError> {
        let mut chunk = [0u8; 8192];
        let n = self
            .stream
            .read(&mut chunk)
            .await
            .map_err(|_| WireError::Io)?;
        if n == 0 {
            return Err(WireError::Io);
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    async fn line(&mut self) -> Result<Vec<u8>, WireError> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[..end].to_vec();
                self.buf.drain(..end + 2);
                return Ok(line);
            }
            if self.buf.len() > MAX_RESPONSE_BYTES {
                return Err(WireError::Garbled);
            }
            self.fill().await?;
        }
    }

    async fn bytes(&mut self, n: usize) -> Result<Vec<u8>, WireError> {
        if n > MAX_RESPONSE_BYTES {
            return Err(WireError::Garbled);
        }
        while self.buf.len() < n {
            self.fill().await?;
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Sends `command` and hands each untagged answer (after `*`) to `each`, until the
    /// command's own completion.
    pub(super) async fn run(
        &mut self,
        command: &str,
        mut each: impl FnMut(&[Token]),
    ) -> Result<Done, WireError> {
        let tag = format!("i{}", self.next_tag);
        self.next_tag += 1;
        let request = format!("{tag} {command}\r\n");
        self.stream
            .write_all(request.as_bytes())
            .await
            .map_err(|_| WireError::Io)?;
        self.stream.flush().await.map_err(|_| WireError::Io)?;
        let tagged = format!("{tag} ");
        loop {
            let mut line = self.line().await?;
            // Status lines carry free text (unbalanced quotes, braces): never tokenized.
            if let Some(rest) = line.strip_prefix(tagged.as_bytes()) {
                let word = rest.split(|&c| c == b' ').next().unwrap_or_default();
                self.last_words = String::from_utf8_lossy(rest)
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect();
                return Ok(match word.to_ascii_uppercase().as_slice() {
                    b"OK" => Done::Ok,
                    b"NO" => Done::No,
                    _ => Done::Bad,
                });
            }
            let Some(rest) = line.strip_prefix(b"* ") else {
                // A continuation request or another tag: not expected for these commands.
                continue;
            };
            let word = rest.split(|&c| c == b' ').next().unwrap_or_default();
            match word.to_ascii_uppercase().as_slice() {
                b"BYE" => return Err(WireError::Io),
                b"OK" | b"NO" | b"BAD" | b"PREAUTH" => continue,
                _ => {}
            }
            let mut tokens = Vec::new();
            let mut size = 0usize;
            let mut readable = true;
            loop {
                match tokenize(&line, &mut tokens) {
                    Ok(None) => break,
                    Ok(Some(n)) => {
                        size += n + line.len();
                        if size > MAX_RESPONSE_BYTES {
                            return Err(WireError::Garbled);
                        }
                        tokens.push(Token::Str(self.bytes(n).await?));
                        line = self.line().await?;
                    }
                    // Not an answer these commands expect: skipped.
                    Err(_) => {
                        readable = false;
                        break;
                    }
                }
            }
            if readable && tokens.first() == Some(&Token::Atom("*".into())) {
                each(&tokens[1..]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(line: &str) -> Vec<Token> {
        let mut out = Vec::new();
        assert_eq!(tokenize(line.as_bytes(), &mut out).unwrap(), None);
        out
    }

    #[test]
    fn list_answers_tokenize_with_their_delimiter_and_name() {
        assert_eq!(
            tokens(r#"LIST (\HasNoChildren) "." "Projects/2024""#),
            [
                Token::Atom("LIST".into()),
                Token::Open,
                Token::Atom("\\HasNoChildren".into()),
                Token::Close,
                Token::Str(b".".to_vec()),
                Token::Str(b"Projects/2024".to_vec()),
            ]
        );
        assert_eq!(
            tokens(r#"LIST () NIL [Gmail]/All"#)[3..],
            [Token::Nil, Token::Atom("[Gmail]/All".into())]
        );
        assert_eq!(tokens(r#""a\"b\\c""#), [Token::Str(b"a\"b\\c".to_vec())]);
    }

    #[test]
    fn a_literal_announcement_ends_the_line() {
        let mut out = Vec::new();
        assert_eq!(tokenize(b"LIST () \"/\" {12}", &mut out).unwrap(), Some(12));
        assert_eq!(out.len(), 4);
        assert!(tokenize(b"x {12} y", &mut Vec::new()).is_err());
        assert!(tokenize(b"\"open", &mut Vec::new()).is_err());
    }

    #[test]
    fn names_are_quoted_or_refused() {
        assert_eq!(quote(b"INBOX").unwrap(), "\"INBOX\"");
        assert_eq!(quote(br#"a"b\c"#).unwrap(), r#""a\"b\\c""#);
        assert!(quote(b"a\r\nb").is_none());
        assert!(quote("ä".as_bytes()).is_none());
    }

    #[test]
    fn modified_utf7_names_decode_for_people() {
        assert_eq!(decode_mailbox_name(b"Entw&APw-rfe"), "Entwürfe");
        assert_eq!(decode_mailbox_name(b"Tom &- Jerry"), "Tom & Jerry");
        assert_eq!(decode_mailbox_name(b"plain"), "plain");
        assert_eq!(decode_mailbox_name(b"bad &%%- x"), "bad &%%- x");
        assert_eq!(decode_mailbox_name(b"open &abc"), "open &abc");
        // ESC, as a server could send it in modified UTF-7.
        assert_eq!(decode_mailbox_name(b"a&ABs-[31m"), "a\u{FFFD}[31m");
        assert_eq!(decode_mailbox_name(&[b'x'; 500]).len(), 200);
    }
}
