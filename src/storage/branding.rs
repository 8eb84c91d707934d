//! A batch's branding (issue 16): its contact, accent colour, link-prefix line and logo.
//! The values are checked by `batch::branding` before they get here; this file only
//! stores and reads them.

use super::*;

/// What a batch shows its users about who is asking, beyond the organisation name. Every
/// field is optional; all `None` is "not branded" (the pages keep their plain wording,
/// and the signed `batch` group keeps its pre-branding fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branding {
    /// The contact's name ("Ann Smith").
    pub contact_name: Option<String>,
    /// Their role ("IT manager").
    pub contact_role: Option<String>,
    /// Their phone number, as written.
    pub contact_phone: Option<String>,
    /// Their email address.
    pub contact_email: Option<String>,
    /// The accent colour, `#rrggbb` (lower case).
    pub accent_colour: Option<String>,
    /// "Our link always starts with ...": an https URL prefix.
    pub link_prefix: Option<String>,
    /// SHA-256 of the stored logo (the re-encoded PNG), when there is one.
    pub logo_sha256: Option<Vec<u8>>,
}

impl Branding {
    /// Whether anything is set.
    pub fn is_set(&self) -> bool {
        *self != Self::default()
    }

    /// Whether a contact (any of its fields) is set.
    pub fn has_contact(&self) -> bool {
        self.contact_name.is_some()
            || self.contact_role.is_some()
            || self.contact_phone.is_some()
            || self.contact_email.is_some()
    }
}

/// The branding columns of a batch row (`BATCH_COLUMNS` selects them).
pub(super) fn row_to_branding(row: &impl super::reader::Columns) -> Result<Branding, sqlx::Error> {
    Ok(Branding {
        contact_name: row.try_get("contact_name")?,
        contact_role: row.try_get("contact_role")?,
        contact_phone: row.try_get("contact_phone")?,
        contact_email: row.try_get("contact_email")?,
        accent_colour: row.try_get("accent_colour")?,
        link_prefix: row.try_get("link_prefix")?,
        logo_sha256: row.try_get("logo_sha256")?,
    })
}

/// What happens to a batch's logo along with a branding change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoChange {
    /// Left as it is.
    Keep,
    /// Removed.
    Remove,
    /// Replaced by this PNG (already re-encoded and checked).
    Set(Vec<u8>),
}

impl Store {
    /// Stores a batch's branding, its logo change and the `batch` group's new signature
    /// in one transaction.
    #[instrument(skip_all)]
    pub async fn set_batch_branding(
        &self,
        batch_id: &str,
        branding: &Branding,
        logo: &LogoChange,
        settings_sig: &[u8],
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE batches SET contact_name = ?, contact_role = ?, contact_phone = ?, \
             contact_email = ?, accent_colour = ?, link_prefix = ?, logo_sha256 = ?, \
             settings_sig = ? WHERE id = ?",
        )
        .bind(&branding.contact_name)
        .bind(&branding.contact_role)
        .bind(&branding.contact_phone)
        .bind(&branding.contact_email)
        .bind(&branding.accent_colour)
        .bind(&branding.link_prefix)
        .bind(&branding.logo_sha256)
        .bind(settings_sig)
        .bind(batch_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NoSuchBatch(batch_id.to_owned()));
        }
        match logo {
            LogoChange::Keep => {}
            LogoChange::Remove => {
                sqlx::query("DELETE FROM batch_logos WHERE batch_id = ?")
                    .bind(batch_id)
                    .execute(&mut *tx)
                    .await?;
            }
            LogoChange::Set(png) => {
                sqlx::query("INSERT OR REPLACE INTO batch_logos (batch_id, png) VALUES (?, ?)")
                    .bind(batch_id)
                    .bind(png)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        Self::record_event_in(&mut tx, batch_id, AuditKind::BrandingChanged, 1, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A batch's stored logo (PNG), if it has one.
    #[instrument(skip_all)]
    pub async fn batch_logo(&self, batch_id: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT png FROM batch_logos WHERE batch_id = ?")
                .bind(batch_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The live batch whose links carry `tag`, if any.
    #[instrument(skip_all)]
    pub async fn batch_by_link_tag(&self, tag: &LinkTag) -> StoreResult<Option<Batch>> {
        let row = sqlx::query(constant_sql(format!(
            "SELECT {BATCH_COLUMNS} FROM batches b JOIN batch_keys k ON k.batch_id = b.id \
             WHERE b.link_tag = ? LIMIT 1"
        )))
        .bind(tag.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(row_to_batch).transpose()?)
    }
}
