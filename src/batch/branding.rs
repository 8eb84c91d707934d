//! Who is asking (issue 16): a batch's contact, accent colour, link-prefix line and logo.
//! Each value is checked here, with a message naming the field; the logo is decoded and
//! re-encoded as PNG (never stored as uploaded). Changes take the passphrase: the values
//! are part of the signed `batch` group (`ext:branding`, see `signed.rs`).

use std::io::Cursor;

use sha2::Digest as _;

use super::*;
use crate::config::PublicUrl;
use crate::storage::{Branding, LogoChange};

/// Longest contact name or role, in characters.
pub const MAX_CONTACT_CHARS: usize = 100;
/// Longest phone number, in characters.
pub const MAX_PHONE_CHARS: usize = 40;
/// Longest link prefix, in characters.
pub const MAX_LINK_PREFIX_CHARS: usize = 200;
/// Largest logo file accepted, in bytes (512 KiB).
pub const MAX_LOGO_BYTES: usize = 512 * 1024;
/// Largest logo accepted, in pixels each way (checked from the header, before decoding).
pub const MAX_LOGO_SIDE: u32 = 2048;
/// The stored logo is scaled down to fit this box (pixels).
pub const LOGO_BOX: (u32, u32) = (512, 256);
/// The colour of the text an accent colour is used with (the buttons' text, the page's
/// card behind accent-coloured links): white.
pub const ACCENT_TEXT: (u8, u8, u8) = (0xff, 0xff, 0xff);
/// Least contrast between the accent and its text (WCAG 2.2 AA, normal text).
pub const MIN_CONTRAST: f64 = 4.5;

/// A change to a batch's branding: `None` keeps a field, `Some("")` clears it.
#[derive(Debug, Clone, Default)]
pub struct BrandingChange {
    /// The contact's name.
    pub contact_name: Option<String>,
    /// The contact's role.
    pub contact_role: Option<String>,
    /// The contact's phone number.
    pub contact_phone: Option<String>,
    /// The contact's email address.
    pub contact_email: Option<String>,
    /// The accent colour, `#rrggbb`.
    pub accent_colour: Option<String>,
    /// "Our link always starts with ...".
    pub link_prefix: Option<String>,
}

impl BrandingChange {
    /// Whether the change touches anything.
    pub fn is_empty(&self) -> bool {
        [
            &self.contact_name,
            &self.contact_role,
            &self.contact_phone,
            &self.contact_email,
            &self.accent_colour,
            &self.link_prefix,
        ]
        .iter()
        .all(|v| v.is_none())
    }

    /// `current` with this change applied, every new value checked (the first problem,
    /// naming its field). `public_url`: where links point, which a link prefix must
    /// match.
    pub fn apply(&self, current: &Branding, public_url: &PublicUrl) -> Result<Branding, String> {
        let mut out = current.clone();
        let set = |field: &mut Option<String>,
                   value: &Option<String>,
                   check: &dyn Fn(&str) -> Result<String, String>|
         -> Result<(), String> {
            if let Some(value) = value {
                let value = value.trim();
                *field = if value.is_empty() {
                    None
                } else {
                    Some(check(value)?)
                };
            }
            Ok(())
        };
        set(&mut out.contact_name, &self.contact_name, &|v| {
            check_text("contact name", v)
        })?;
        set(&mut out.contact_role, &self.contact_role, &|v| {
            check_text("contact role", v)
        })?;
        set(&mut out.contact_phone, &self.contact_phone, &check_phone)?;
        set(
            &mut out.contact_email,
            &self.contact_email,
            &check_contact_email,
        )?;
        set(&mut out.accent_colour, &self.accent_colour, &check_accent)?;
        set(&mut out.link_prefix, &self.link_prefix, &|v| {
            check_link_prefix(v, public_url)
        })?;
        Ok(out)
    }
}

/// A name or role: 1 to 100 characters, no control characters.
pub fn check_text(field: &str, value: &str) -> Result<String, String> {
    let n = value.chars().count();
    if n > MAX_CONTACT_CHARS {
        return Err(format!(
            "{field}: {n} characters; at most {MAX_CONTACT_CHARS}"
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "{field}: holds a line break or another control character"
        ));
    }
    Ok(value.to_owned())
}

/// A phone number as people write it: digits, spaces and `+ ( ) - . /` (a `+` only
/// first), at least 3 digits, at most 40 characters.
pub fn check_phone(value: &str) -> Result<String, String> {
    let field = "contact phone";
    if value.chars().count() > MAX_PHONE_CHARS {
        return Err(format!("{field}: longer than {MAX_PHONE_CHARS} characters"));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_digit() || " ()-./+".contains(*c)))
    {
        return Err(format!(
            "{field}: “{c}” is not allowed; use digits, spaces and + ( ) - . / (for example +44 20 7946 0000)"
        ));
    }
    if value.char_indices().any(|(i, c)| c == '+' && i > 0) {
        return Err(format!("{field}: a + may only come first"));
    }
    if value.chars().filter(char::is_ascii_digit).count() < 3 {
        return Err(format!("{field}: fewer than 3 digits"));
    }
    Ok(value.to_owned())
}

/// The contact's address: one plain address (no display name), checked by the same
/// parser the relay's addresses go through (`lettre`'s).
pub fn check_contact_email(value: &str) -> Result<String, String> {
    let field = "contact email";
    let value = value.trim();
    if value.contains(['<', '>', ' ', ',']) {
        return Err(format!(
            "{field}: give one address alone, such as it@example.org (the name goes in the contact name)"
        ));
    }
    let address: lettre::Address = value
        .parse()
        .map_err(|e| format!("{field}: “{value}” is not an email address ({e})"))?;
    Ok(address.to_string())
}

/// A colour `#rrggbb`, its red, green and blue.
fn parse_hex_colour(value: &str) -> Option<(u8, u8, u8)> {
    let hex = value.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some((byte(0)?, byte(2)?, byte(4)?))
}

/// WCAG 2.2 relative luminance of an sRGB colour.
pub fn relative_luminance((r, g, b): (u8, u8, u8)) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

/// WCAG contrast ratio of two colours (1 to 21).
pub fn contrast_ratio(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let (la, lb) = (relative_luminance(a), relative_luminance(b));
    let (hi, lo) = if la >= lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// An accent colour `#rrggbb` (stored lower case), refused when its contrast with the
/// white text it carries is below 4.5:1. It is used in light mode only: dark mode keeps
/// passdrop's own light-on-dark accent, whose contrast is known.
pub fn check_accent(value: &str) -> Result<String, String> {
    let field = "accent colour";
    let Some(rgb) = parse_hex_colour(value) else {
        return Err(format!(
            "{field}: “{value}” is not a colour; write it as #rrggbb, for example #1f5fbf"
        ));
    };
    let ratio = contrast_ratio(rgb, ACCENT_TEXT);
    if ratio < MIN_CONTRAST {
        return Err(format!(
            "{field}: {value} has a contrast of {ratio:.2}:1 with the white text it is used \
             with; at least {MIN_CONTRAST}:1 is needed (choose a darker colour)"
        ));
    }
    Ok(value.to_ascii_lowercase())
}

/// The prefix every link of this server starts with: the public URL and `/s/`.
pub fn suggested_link_prefix(public_url: &PublicUrl) -> String {
    format!("{}/s/", public_url.as_str())
}

/// "Our link always starts with ...": an https URL naming at least its host, which the
/// server's links (`public URL/s/...`) do start with.
pub fn check_link_prefix(value: &str, public_url: &PublicUrl) -> Result<String, String> {
    let field = "link prefix";
    if value.chars().count() > MAX_LINK_PREFIX_CHARS {
        return Err(format!(
            "{field}: longer than {MAX_LINK_PREFIX_CHARS} characters"
        ));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{field}: holds a space or a control character"));
    }
    let Some(rest) = value.strip_prefix("https://") else {
        return Err(format!(
            "{field}: “{value}” does not start with https:// (links users can trust are https)"
        ));
    };
    if !rest.contains('/') || rest.starts_with('/') {
        return Err(format!(
            "{field}: “{value}” must name the whole host and end it with /, for example {}",
            suggested_link_prefix(public_url)
        ));
    }
    let links = suggested_link_prefix(public_url);
    if !links.starts_with(value) {
        return Err(format!(
            "{field}: this server's links start with {links}, not with {value}"
        ));
    }
    Ok(value.to_owned())
}

/// What kind of image a file's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniffed {
    Png,
    Jpeg,
}

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

fn sniff(bytes: &[u8]) -> Option<Sniffed> {
    if bytes.starts_with(PNG_MAGIC) {
        Some(Sniffed::Png)
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some(Sniffed::Jpeg)
    } else {
        None
    }
}

/// The length of a PNG's chunks up to and including `IEND`, if they are well formed.
fn png_end(bytes: &[u8]) -> Option<usize> {
    let mut at = PNG_MAGIC.len();
    for _ in 0..100_000 {
        let len =
            usize::try_from(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?)).ok()?;
        let kind = bytes.get(at + 4..at + 8)?;
        let end = at.checked_add(12)?.checked_add(len)?;
        if end > bytes.len() {
            return None;
        }
        if kind == b"IEND" {
            return Some(end);
        }
        at = end;
    }
    None
}

/// Markers of another format hidden in an image (HTML, SVG, script, a ZIP archive).
const FOREIGN_MARKERS: [&[u8]; 6] = [
    b"<html",
    b"<svg",
    b"<script",
    b"<!doctype",
    b"PK\x03\x04",
    b"PK\x05\x06",
];

/// Checks an uploaded logo and re-encodes it: PNG or JPEG only (by its bytes, and by
/// its file name's extension when there is one; both must agree), at most 512 KiB and
/// 2048 px each way (read from the header before anything is decoded), nothing but the
/// image in the file (no data after a PNG's end, no HTML, SVG, script or ZIP inside),
/// decoded under memory limits, scaled down to fit 512x256 and written out as a new
/// PNG. Returns that PNG.
pub fn prepare_logo(bytes: &[u8], file_name: Option<&str>) -> Result<Vec<u8>, String> {
    let field = "logo";
    if bytes.is_empty() {
        return Err(format!("{field}: the file is empty"));
    }
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(format!(
            "{field}: the file is {} KiB; at most {} KiB",
            bytes.len().div_ceil(1024),
            MAX_LOGO_BYTES / 1024
        ));
    }
    let declared = match file_name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, ext)| ext.to_ascii_lowercase())
    {
        None => None,
        Some(ext) if ext == "png" => Some(Sniffed::Png),
        Some(ext) if ext == "jpg" || ext == "jpeg" => Some(Sniffed::Jpeg),
        Some(ext) if ext == "svg" || ext == "svgz" => {
            return Err(format!(
                "{field}: SVG is not accepted (it can carry scripts); give a PNG or JPEG"
            ));
        }
        Some(ext) => {
            return Err(format!(
                "{field}: a .{ext} file; only PNG and JPEG are accepted"
            ));
        }
    };
    let lower = bytes.to_ascii_lowercase();
    let Some(sniffed) = sniff(bytes) else {
        if lower.windows(4).any(|w| w == b"<svg") {
            return Err(format!(
                "{field}: SVG is not accepted (it can carry scripts); give a PNG or JPEG"
            ));
        }
        return Err(format!(
            "{field}: the file is neither PNG nor JPEG; only those are accepted"
        ));
    };
    if let Some(declared) = declared
        && declared != sniffed
    {
        return Err(format!(
            "{field}: the file's name says {} but its contents are {}; refused",
            name_of(declared),
            name_of(sniffed)
        ));
    }
    if sniffed == Sniffed::Png {
        match png_end(bytes) {
            Some(end) if end == bytes.len() => {}
            Some(_) => {
                return Err(format!(
                    "{field}: the file carries data after the end of the image (a polyglot); refused"
                ));
            }
            None => return Err(format!("{field}: the PNG is damaged or cut short")),
        }
    }
    if let Some(marker) = FOREIGN_MARKERS.iter().find(|m| {
        lower
            .windows(m.len())
            .any(|w| w == m.to_ascii_lowercase().as_slice())
    }) {
        return Err(format!(
            "{field}: the file also holds “{}” (HTML, SVG, script or an archive: a polyglot); refused",
            String::from_utf8_lossy(marker).escape_default()
        ));
    }
    let format = match sniffed {
        Sniffed::Png => image::ImageFormat::Png,
        Sniffed::Jpeg => image::ImageFormat::Jpeg,
    };
    let (width, height) = image::ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| format!("{field}: the image cannot be read ({e})"))?;
    if width == 0 || height == 0 || width > MAX_LOGO_SIDE || height > MAX_LOGO_SIDE {
        return Err(format!(
            "{field}: {width}x{height} pixels; at most {MAX_LOGO_SIDE}x{MAX_LOGO_SIDE}"
        ));
    }
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_LOGO_SIDE);
    limits.max_image_height = Some(MAX_LOGO_SIDE);
    limits.max_alloc = Some(64 * 1024 * 1024);
    reader.limits(limits);
    let decoded = reader
        .decode()
        .map_err(|e| format!("{field}: the image cannot be decoded ({e})"))?;
    let fitted = if width > LOGO_BOX.0 || height > LOGO_BOX.1 {
        decoded.thumbnail(LOGO_BOX.0, LOGO_BOX.1)
    } else {
        decoded
    };
    let rgba = image::DynamicImage::ImageRgba8(fitted.to_rgba8());
    let mut out = Cursor::new(Vec::new());
    rgba.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| format!("{field}: the image cannot be re-encoded ({e})"))?;
    Ok(out.into_inner())
}

fn name_of(kind: Sniffed) -> &'static str {
    match kind {
        Sniffed::Png => "PNG",
        Sniffed::Jpeg => "JPEG",
    }
}

/// SHA-256 of a stored logo (what the signature covers).
pub fn logo_digest(png: &[u8]) -> Vec<u8> {
    sha2::Sha256::digest(png).to_vec()
}

/// The contact as lines: "Name, role", the phone, the address (those set).
pub fn contact_lines(branding: &Branding) -> Vec<String> {
    let mut lines = Vec::new();
    match (&branding.contact_name, &branding.contact_role) {
        (Some(name), Some(role)) => lines.push(format!("{name}, {role}")),
        (Some(one), None) | (None, Some(one)) => lines.push(one.clone()),
        (None, None) => {}
    }
    lines.extend(branding.contact_phone.iter().cloned());
    lines.extend(branding.contact_email.iter().cloned());
    lines
}

/// What `{contact}` stands for in a message: the contact's lines, or (none set) the
/// organisation.
pub fn contact_signature(branding: &Branding, org: &str) -> String {
    let lines = contact_lines(branding);
    if lines.is_empty() {
        org.to_owned()
    } else {
        lines.join("\n")
    }
}

/// Sets a batch's branding and logo, signed with the unlocked admin key (the `batch`
/// group must be the one the admin signed, or a never-signed batch's own key, first).
/// Audited as "branding changed", without the values.
pub async fn set_branding(
    store: &Store,
    batch: &Batch,
    branding: Branding,
    logo: LogoChange,
    admin: &AdminKey,
    now: i64,
) -> BatchResult<()> {
    let signer = settings_signer(admin)?;
    signed::require_trusted_batch_group(store, admin, &signer, batch).await?;
    let mut changed = batch.clone();
    changed.branding = branding;
    changed.branding.logo_sha256 = match &logo {
        LogoChange::Keep => batch.branding.logo_sha256.clone(),
        LogoChange::Remove => None,
        LogoChange::Set(png) => Some(logo_digest(png)),
    };
    let sig = sign_batch(&signer, &changed);
    store
        .set_batch_branding(&batch.id, &changed.branding, &logo, &sig, now)
        .await?;
    tracing::info!(batch_id = %batch.id, "branding changed");
    Ok(())
}

/// Before each email of a sending run: the message and the `batch` group (the email
/// carries the contact and link prefix) must match their signatures under the key
/// file's key.
pub async fn require_signed_email_settings(
    store: &Store,
    key_file: &SettingsKeyFile,
    batch: &Batch,
) -> BatchResult<()> {
    require_signed_message_file(store, key_file, batch).await?;
    require_signed_batch(store, key_file, batch).await
}

/// A batch's logo, when it has one whose bytes match the signed digest. The caller has
/// checked the batch's signature.
pub async fn verified_logo(store: &Store, batch: &Batch) -> BatchResult<Option<Vec<u8>>> {
    let Some(digest) = &batch.branding.logo_sha256 else {
        return Ok(None);
    };
    match store.batch_logo(&batch.id).await? {
        Some(png) if logo_digest(&png) == *digest => Ok(Some(png)),
        Some(_) => {
            let problem = SettingsError::Mismatch(format!("the logo of batch {:?}", batch.name));
            signed::refused(store, &batch.id, &problem).await;
            Err(BatchError::Settings(Box::new(problem)))
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_follows_wcag() {
        assert!((contrast_ratio((0, 0, 0), (255, 255, 255)) - 21.0).abs() < 0.01);
        assert!((contrast_ratio((0x1f, 0x5f, 0xbf), (255, 255, 255)) - 6.09).abs() < 0.01);
        assert_eq!(check_accent("#1F5FBF").unwrap(), "#1f5fbf");
        let e = check_accent("#7fb3ff").unwrap_err();
        assert!(
            e.contains("accent colour") && e.contains(":1") && e.contains("4.5"),
            "{e}"
        );
        assert!(check_accent("1f5fbf").unwrap_err().contains("#rrggbb"));
        assert!(check_accent("#12345g").is_err());
    }

    #[test]
    fn contact_fields_are_checked_and_named() {
        assert!(check_phone("+44 20 7946 0000").is_ok());
        assert!(check_phone("(020) 7946-0000").is_ok());
        assert!(
            check_phone("call me")
                .unwrap_err()
                .starts_with("contact phone")
        );
        assert!(check_phone("44+1").unwrap_err().contains("+"));
        assert!(check_phone("12").unwrap_err().contains("3 digits"));
        assert_eq!(
            check_contact_email(" ann@example.org ").unwrap(),
            "ann@example.org"
        );
        assert!(
            check_contact_email("ann@")
                .unwrap_err()
                .starts_with("contact email")
        );
        assert!(check_contact_email("Ann <ann@example.org>").is_err());
        assert!(check_text("contact name", &"x".repeat(101)).is_err());
        assert!(
            check_text("contact role", "a\nb")
                .unwrap_err()
                .starts_with("contact role")
        );
        let url = PublicUrl::parse("https://pd.example.org").unwrap();
        assert_eq!(
            check_link_prefix("https://pd.example.org/s/", &url).unwrap(),
            "https://pd.example.org/s/"
        );
        assert!(check_link_prefix("https://pd.example.org/", &url).is_ok());
        assert!(check_link_prefix("http://pd.example.org/s/", &url).is_err());
        assert!(check_link_prefix("https://pd.example.org", &url).is_err());
        assert!(
            check_link_prefix("https://evil.example/s/", &url)
                .unwrap_err()
                .contains("start with https://pd.example.org/s/")
        );
        let change = BrandingChange {
            contact_name: Some("Ann Smith".into()),
            contact_phone: Some("nope".into()),
            ..Default::default()
        };
        assert!(change.apply(&Branding::default(), &url).is_err());
        let change = BrandingChange {
            contact_name: Some("Ann Smith".into()),
            contact_role: Some("".into()),
            ..Default::default()
        };
        let b = change.apply(&Branding::default(), &url).unwrap();
        assert_eq!(b.contact_name.as_deref(), Some("Ann Smith"));
        assert_eq!(contact_signature(&b, "Org"), "Ann Smith");
        assert_eq!(contact_signature(&Branding::default(), "Org"), "Org");
    }

    /// A small image in `format`.
    pub(crate) fn image_bytes(format: image::ImageFormat, w: u32, h: u32) -> Vec<u8> {
        let img =
            image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 5) as u8, 90]));
        let mut out = Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut out, format)
            .unwrap();
        out.into_inner()
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_good_png_or_jpeg_is_re_encoded_as_png_and_scaled_to_fit() {
        let png = image_bytes(image::ImageFormat::Png, 64, 32);
        let out = prepare_logo(&png, Some("logo.PNG")).unwrap();
        assert!(out.starts_with(PNG_MAGIC));
        let jpeg = image_bytes(image::ImageFormat::Jpeg, 1000, 100);
        let out = prepare_logo(&jpeg, Some("logo.jpeg")).unwrap();
        assert!(out.starts_with(PNG_MAGIC), "JPEG re-encoded as PNG");
        let decoded = image::load_from_memory(&out).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (512, 51));
        // Without a name, the bytes decide.
        assert!(prepare_logo(&png, None).is_ok());
    }

    #[test]
    fn svg_polyglots_oversized_files_and_bombs_are_refused() {
        let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
        assert!(
            prepare_logo(svg, Some("logo.svg"))
                .unwrap_err()
                .contains("SVG is not accepted")
        );
        assert!(
            prepare_logo(svg, None)
                .unwrap_err()
                .contains("SVG is not accepted")
        );
        // An SVG named .png, and a file that is no image at all.
        assert!(
            prepare_logo(svg, Some("logo.png"))
                .unwrap_err()
                .contains("SVG is not accepted")
        );
        assert!(
            prepare_logo(b"GIF89a....", Some("logo.png"))
                .unwrap_err()
                .contains("neither PNG nor JPEG")
        );
        let png = image_bytes(image::ImageFormat::Png, 16, 16);
        // A PNG with an HTML page (or a ZIP archive) after its end.
        let mut polyglot = png.clone();
        polyglot.extend_from_slice(b"<html><script>alert(1)</script></html>");
        assert!(
            prepare_logo(&polyglot, Some("a.png"))
                .unwrap_err()
                .contains("polyglot")
        );
        let mut zipped = png.clone();
        zipped.extend_from_slice(b"PK\x03\x04rest of an archive");
        assert!(
            prepare_logo(&zipped, Some("a.png"))
                .unwrap_err()
                .contains("polyglot")
        );
        // A JPEG carrying HTML in its body.
        let mut jpeg = image_bytes(image::ImageFormat::Jpeg, 16, 16);
        let end = jpeg.len() - 2;
        jpeg.splice(end..end, b"<script>alert(1)</script>".iter().copied());
        assert!(
            prepare_logo(&jpeg, Some("a.jpg"))
                .unwrap_err()
                .contains("polyglot")
        );
        // The name says one type, the bytes another.
        let e = prepare_logo(&png, Some("logo.jpg")).unwrap_err();
        assert!(e.contains("name says JPEG but its contents are PNG"), "{e}");
        assert!(
            prepare_logo(&png, Some("logo.gif"))
                .unwrap_err()
                .contains("only PNG and JPEG")
        );
        // Too big a file.
        let mut big = png.clone();
        big.resize(MAX_LOGO_BYTES + 1, 0);
        assert!(
            prepare_logo(&big, Some("a.png"))
                .unwrap_err()
                .contains("at most 512 KiB")
        );
        // A decompression bomb: a tiny file declaring 60000x60000 pixels is refused
        // from its header, before anything is decoded.
        let mut bomb = png.clone();
        bomb[16..20].copy_from_slice(&60_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&60_000u32.to_be_bytes());
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        let e = prepare_logo(&bomb, Some("a.png")).unwrap_err();
        assert!(e.contains("60000x60000 pixels; at most 2048x2048"), "{e}");
        assert!(prepare_logo(b"", None).unwrap_err().contains("empty"));
    }
}
