//! A batch's admin (master user) login for the old server and what probing each user
//! through it found (migration 0015). The admin password is stored only sealed to the
//! batch key; its columns sit in the batch's row, so the purge removes them with it.

use std::collections::HashMap;

use super::*;
use crate::crypto::SealedSecret;

/// A batch's admin login as stored: the form and names as given, the password sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAdminLogin {
    /// `dovecot`, `exchange`, `mirapoint` or `userroot`.
    pub form: String,
    /// The admin's login (for Exchange `DOMAIN/ADMIN`).
    pub user: String,
    /// The Dovecot master user separator (Dovecot only).
    pub separator: Option<String>,
    /// The admin password, sealed to the batch key.
    pub sealed: SealedSecret,
}

/// What probing one user through the admin login found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeState {
    /// The admin login opens the mailbox: no password needed from the user.
    Covered,
    /// The server refused the admin login for this user: their password is needed.
    NeedsPassword,
    /// Covered, but the admin asked the user for their password anyway.
    Requested,
}

impl ProbeState {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Covered => "covered",
            Self::NeedsPassword => "needs_password",
            Self::Requested => "requested",
        }
    }

    fn parse(value: &str) -> Result<Self, sqlx::Error> {
        match value {
            "covered" => Ok(Self::Covered),
            "needs_password" => Ok(Self::NeedsPassword),
            "requested" => Ok(Self::Requested),
            other => Err(sqlx::Error::Decode(
                format!("unknown admin probe state {other:?}").into(),
            )),
        }
    }

    /// Whether the user is to get a link (and an email) for their password.
    pub fn wants_link(self) -> bool {
        !matches!(self, Self::Covered)
    }
}

/// One user's probe answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRecord {
    /// What it found.
    pub state: ProbeState,
    /// The server's words, when it refused the admin login for this user.
    pub reason: Option<String>,
    /// When.
    pub probed_at: i64,
    /// The settings key's signature over the answer (`batch::admin_login::sign_probe`).
    pub sig: Option<Vec<u8>>,
}

/// One probe answer to record: the recipient's id, what it found, the server's words, and
/// the settings key's signature over it.
pub type ProbeAnswer<'a> = (i64, ProbeState, Option<&'a str>, &'a [u8]);

/// The admin-login columns of a batch row (selected in `BATCH_COLUMNS`).
pub(super) fn row_to_admin_login(
    row: &impl super::reader::Columns,
) -> Result<Option<StoredAdminLogin>, sqlx::Error> {
    let Some(form) = row.try_get::<Option<String>, _>("admin_form")? else {
        return Ok(None);
    };
    let (Some(user), Some(enc), Some(ciphertext)) = (
        row.try_get::<Option<String>, _>("admin_user")?,
        row.try_get::<Option<Vec<u8>>, _>("admin_password_enc")?,
        row.try_get::<Option<Vec<u8>>, _>("admin_password_ct")?,
    ) else {
        return Err(sqlx::Error::Decode(
            "a batch's admin login is stored incomplete".into(),
        ));
    };
    Ok(Some(StoredAdminLogin {
        form,
        user,
        separator: row.try_get("admin_separator")?,
        sealed: SealedSecret { enc, ciphertext },
    }))
}

impl Store {
    /// Sets or (with `None`) removes a batch's admin login with its new settings
    /// signature, in one transaction; every earlier probe answer, and what re-checks
    /// found about the previous login (`admin_login_refused`, a refused admin
    /// password), is forgotten (a new login is probed again), except the answer given
    /// now for `first`.
    #[instrument(skip_all)]
    pub async fn set_admin_login(
        &self,
        batch_id: &str,
        login: Option<&StoredAdminLogin>,
        settings_sig: &[u8],
        first: Option<ProbeAnswer<'_>>,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE batches SET admin_form = ?, admin_user = ?, admin_separator = ?, \
             admin_password_enc = ?, admin_password_ct = ?, settings_sig = ? WHERE id = ? \
             AND EXISTS (SELECT 1 FROM batch_keys k WHERE k.batch_id = batches.id)",
        )
        .bind(login.map(|l| l.form.as_str()))
        .bind(login.map(|l| l.user.as_str()))
        .bind(login.and_then(|l| l.separator.as_deref()))
        .bind(login.map(|l| l.sealed.enc.as_slice()))
        .bind(login.map(|l| l.sealed.ciphertext.as_slice()))
        .bind(settings_sig)
        .bind(batch_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(StoreError::NoSuchBatch(batch_id.to_owned()));
        }
        sqlx::query("DELETE FROM admin_probes WHERE batch_id = ?")
            .bind(batch_id)
            .execute(&mut *tx)
            .await?;
        // What re-checks found about the previous admin login no longer applies.
        sqlx::query("DELETE FROM admin_password_refusals WHERE batch_id = ?")
            .bind(batch_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE user_readiness SET recheck = NULL, rechecked_at = NULL \
             WHERE recheck = 'admin_login_refused' \
             AND recipient_id IN (SELECT id FROM recipients WHERE batch_id = ?)",
        )
        .bind(batch_id)
        .execute(&mut *tx)
        .await?;
        if let Some((recipient_id, state, reason, sig)) = first {
            Self::insert_probe(&mut tx, batch_id, recipient_id, state, reason, sig, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn insert_probe(
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        batch_id: &str,
        recipient_id: i64,
        state: ProbeState,
        reason: Option<&str>,
        sig: &[u8],
        now: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO admin_probes (recipient_id, batch_id, state, reason, probed_at, sig) \
             SELECT id, batch_id, ?, ?, ?, ? FROM recipients WHERE id = ? AND batch_id = ? \
             ON CONFLICT (recipient_id) DO UPDATE SET state = excluded.state, \
             reason = excluded.reason, probed_at = excluded.probed_at, sig = excluded.sig",
        )
        .bind(state.as_str())
        .bind(reason)
        .bind(now)
        .bind(sig)
        .bind(recipient_id)
        .bind(batch_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Records one user's probe answer.
    #[instrument(skip_all)]
    pub async fn record_probe(
        &self,
        batch_id: &str,
        login_enc: &[u8],
        answer: ProbeAnswer<'_>,
        now: i64,
    ) -> StoreResult<bool> {
        let (recipient_id, state, reason, sig) = answer;
        let mut tx = self.begin_write().await?;
        // Only while the login probed with is still the batch's (a probe that outlived a
        // change or a removal of the admin login records nothing).
        let current: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM batches WHERE id = ? AND admin_password_enc = ?)",
        )
        .bind(batch_id)
        .bind(login_enc)
        .fetch_one(&mut *tx)
        .await?;
        if !current {
            tx.rollback().await?;
            return Ok(false);
        }
        Self::insert_probe(&mut tx, batch_id, recipient_id, state, reason, sig, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Every probe answer of a batch, by recipient id.
    #[instrument(skip_all)]
    pub async fn probe_records(&self, batch_id: &str) -> StoreResult<HashMap<i64, ProbeRecord>> {
        let rows = sqlx::query(
            "SELECT recipient_id, state, reason, probed_at, sig FROM admin_probes WHERE batch_id = ?",
        )
        .bind(batch_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let state: String = row.try_get("state")?;
                Ok((
                    row.try_get("recipient_id")?,
                    ProbeRecord {
                        state: ProbeState::parse(&state)?,
                        reason: row.try_get("reason")?,
                        probed_at: row.try_get("probed_at")?,
                        sig: row.try_get("sig")?,
                    },
                ))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Marks a covered user as asked for their password anyway (a link was issued for
    /// them); returns whether they were covered.
    #[instrument(skip_all)]
    pub async fn request_password(&self, batch_id: &str, recipient_id: i64) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE admin_probes SET state = 'requested' \
             WHERE batch_id = ? AND recipient_id = ? AND state = 'covered'",
        )
        .bind(batch_id)
        .bind(recipient_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
}
