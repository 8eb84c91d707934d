//! Decoding rows into the store's types.

use super::*;

pub(super) fn row_to_batch(row: &impl super::reader::Columns) -> Result<Batch, sqlx::Error> {
    Ok(Batch {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        org_name: row.try_get("org_name")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        link_lifetime_secs: row.try_get("link_lifetime_secs")?,
        has_user_root: row.try_get("has_user_root")?,
        next_steps: row.try_get("next_steps")?,
        ask_mail_client: row.try_get("ask_mail_client")?,
        public_key: row.try_get("public_key")?,
        first_exported_at: row.try_get("first_exported_at")?,
        export_purge_at: row.try_get("export_purge_at")?,
        link_tag: {
            let tag: String = row.try_get("link_tag")?;
            LinkTag::parse(&tag).ok_or_else(|| {
                sqlx::Error::Decode("a batch's stored link tag is malformed".into())
            })?
        },
        retain_after_expiry_secs: row.try_get("retain_after_expiry_secs")?,
        retain_after_export_secs: row.try_get("retain_after_export_secs")?,
        imap: row_to_imap(row)?,
        message: match (
            row.try_get::<Option<String>, _>("mail_subject")?,
            row.try_get::<Option<String>, _>("mail_body")?,
        ) {
            (Some(subject), Some(body)) => Some((subject, body)),
            _ => None,
        },
        settings_sig: row.try_get("settings_sig")?,
        message_sig: row.try_get("message_sig")?,
        language: row.try_get("b_language")?,
        time_zone: row.try_get("time_zone")?,
        admin_login: super::admin_login::row_to_admin_login(row)?,
        branding: super::branding::row_to_branding(row)?,
    })
}

pub(super) fn row_to_imap(
    row: &impl super::reader::Columns,
) -> Result<Option<ImapSettings>, sqlx::Error> {
    let Some(url) = row.try_get::<Option<String>, _>("imap_url")? else {
        return Ok(None);
    };
    let ca: Option<String> = row.try_get("imap_ca_pem")?;
    let pin: Option<String> = row.try_get("imap_cert_sha256")?;
    let when: String = row.try_get("imap_when_unreachable")?;
    ImapSettings::from_stored(&url, ca.as_deref(), pin.as_deref(), &when)
        .map(Some)
        .map_err(|e| sqlx::Error::Decode(format!("stored IMAP settings: {e}").into()))
}

pub(super) fn row_to_recipient(
    row: &impl super::reader::Columns,
) -> Result<Recipient, sqlx::Error> {
    Ok(Recipient {
        id: row.try_get("r_id")?,
        batch_id: row.try_get("r_batch_id")?,
        roster_line: row.try_get("roster_line")?,
        email: row.try_get("email")?,
        user_name: row.try_get("user_name")?,
        display_name: row.try_get("display_name")?,
        alternate_email: row.try_get("alternate_email")?,
        user_root: row.try_get("user_root")?,
        language: row.try_get("r_language")?,
    })
}
