//! The admin key, admin sessions and the one-time setup token.

use super::*;

impl Store {
    /// Whether `admin init` has run.
    #[instrument(skip_all)]
    pub async fn admin_exists(&self) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admin")
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// The wrapped admin key, if an admin exists.
    #[instrument(skip_all)]
    pub async fn admin_key(&self) -> StoreResult<Option<WrappedAdminKey>> {
        let row = sqlx::query(
            "SELECT public_key, kdf_salt, kdf_m_cost, kdf_t_cost, kdf_p_cost, wrap_nonce, \
             wrapped_private_key FROM admin WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let cost = |col: &str| -> StoreResult<u32> {
            let v: i64 = row.try_get(col)?;
            u32::try_from(v)
                .map_err(|_| StoreError::Other(anyhow::anyhow!("bad {col} in database")))
        };
        Ok(Some(WrappedAdminKey {
            public_key: row.try_get("public_key")?,
            salt: row.try_get("kdf_salt")?,
            kdf: KdfParams {
                m_cost: cost("kdf_m_cost")?,
                t_cost: cost("kdf_t_cost")?,
                p_cost: cost("kdf_p_cost")?,
            },
            nonce: row.try_get("wrap_nonce")?,
            ciphertext: row.try_get("wrapped_private_key")?,
        }))
    }

    /// Stores the admin key; fails with `AdminExists` if one is already there.
    #[instrument(skip_all)]
    pub async fn insert_admin_key(&self, key: &WrappedAdminKey, now: i64) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let inserted = Self::insert_admin_key_in(&mut tx, key, now).await?;
        tx.commit().await?;
        if inserted {
            Ok(())
        } else {
            Err(StoreError::AdminExists)
        }
    }

    pub(super) async fn insert_admin_key_in(
        tx: &mut sqlx::SqliteConnection,
        key: &WrappedAdminKey,
        now: i64,
    ) -> StoreResult<bool> {
        let result = sqlx::query(
            "INSERT INTO admin (id, public_key, kdf_salt, kdf_m_cost, kdf_t_cost, kdf_p_cost, \
             wrap_nonce, wrapped_private_key, created_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&key.public_key)
        .bind(&key.salt)
        .bind(i64::from(key.kdf.m_cost))
        .bind(i64::from(key.kdf.t_cost))
        .bind(i64::from(key.kdf.p_cost))
        .bind(&key.nonce)
        .bind(&key.ciphertext)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Replaces the wrapped admin key `old` with `new` (the same keypair wrapped under
    /// another passphrase) and ends every admin session but `keep_session`, in one
    /// transaction: both happen or neither. Fails, changing nothing, unless the stored
    /// key is still exactly `old` (say, another change came first).
    #[instrument(skip_all)]
    pub async fn replace_admin_key(
        &self,
        old: &WrappedAdminKey,
        new: &WrappedAdminKey,
        keep_session: Option<&[u8; 32]>,
    ) -> StoreResult<()> {
        if new.public_key != old.public_key {
            return Err(StoreError::Other(anyhow::anyhow!(
                "a changed passphrase must wrap the same admin key"
            )));
        }
        let mut tx = self.begin_write().await?;
        let replaced = sqlx::query(
            "UPDATE admin SET kdf_salt = ?, kdf_m_cost = ?, kdf_t_cost = ?, kdf_p_cost = ?, \
             wrap_nonce = ?, wrapped_private_key = ? WHERE id = 1 AND public_key = ? \
             AND kdf_salt = ? AND wrap_nonce = ? AND wrapped_private_key = ?",
        )
        .bind(&new.salt)
        .bind(i64::from(new.kdf.m_cost))
        .bind(i64::from(new.kdf.t_cost))
        .bind(i64::from(new.kdf.p_cost))
        .bind(&new.nonce)
        .bind(&new.ciphertext)
        .bind(&old.public_key)
        .bind(&old.salt)
        .bind(&old.nonce)
        .bind(&old.ciphertext)
        .execute(&mut *tx)
        .await?;
        if replaced.rows_affected() != 1 {
            return Err(StoreError::Other(anyhow::anyhow!(
                "the admin passphrase was changed meanwhile; nothing was changed"
            )));
        }
        sqlx::query("DELETE FROM admin_sessions WHERE ?1 IS NULL OR token_hash <> ?1")
            .bind(keep_session.map(|h| h.as_slice()))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a new admin session (by hash).
    #[instrument(skip_all)]
    pub async fn create_session(&self, token_hash: &[u8; 32], now: i64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO admin_sessions (token_hash, created_at, last_seen_at) VALUES (?, ?, ?)",
        )
        .bind(token_hash.as_slice())
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether a session is valid (seen within `idle` seconds, created within `absolute`);
    /// a valid one is touched, an expired one deleted.
    #[instrument(skip_all)]
    pub async fn touch_session(
        &self,
        token_hash: &[u8; 32],
        now: i64,
        idle: i64,
        absolute: i64,
    ) -> StoreResult<bool> {
        let touched = sqlx::query(
            "UPDATE admin_sessions SET last_seen_at = ?1 WHERE token_hash = ?2 \
             AND last_seen_at + ?3 > ?1 AND created_at + ?4 > ?1",
        )
        .bind(now)
        .bind(token_hash.as_slice())
        .bind(idle)
        .bind(absolute)
        .execute(&self.pool)
        .await;
        let touched = match touched {
            Ok(done) => done,
            Err(e) if cannot_write(&e).is_some() => {
                // Nothing can be saved (a full disk): a valid session still lets the admin
                // look, and see why; it is only not extended.
                let valid: Option<i64> = sqlx::query_scalar(
                    "SELECT 1 FROM admin_sessions WHERE token_hash = ?2 \
                     AND last_seen_at + ?3 > ?1 AND created_at + ?4 > ?1",
                )
                .bind(now)
                .bind(token_hash.as_slice())
                .bind(idle)
                .bind(absolute)
                .fetch_optional(&self.pool)
                .await?;
                return Ok(valid.is_some());
            }
            Err(e) => return Err(e.into()),
        };
        if touched.rows_affected() == 1 {
            return Ok(true);
        }
        self.delete_session(token_hash).await?;
        Ok(false)
    }

    /// Ends a session.
    #[instrument(skip_all)]
    pub async fn delete_session(&self, token_hash: &[u8; 32]) -> StoreResult<()> {
        sqlx::query("DELETE FROM admin_sessions WHERE token_hash = ?")
            .bind(token_hash.as_slice())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores a one-time setup token (by hash), replacing any earlier one.
    #[instrument(skip_all)]
    pub async fn replace_setup_token(
        &self,
        token_hash: &[u8; 32],
        expires_at: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM setup_tokens")
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO setup_tokens (token_hash, expires_at) VALUES (?, ?)")
            .bind(token_hash.as_slice())
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether a setup token is known and unexpired.
    #[instrument(skip_all)]
    pub async fn setup_token_valid(&self, token_hash: &[u8; 32], now: i64) -> StoreResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM setup_tokens WHERE token_hash = ? AND expires_at > ?",
        )
        .bind(token_hash.as_slice())
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }

    /// Uses up a setup token and stores the admin key in one transaction: fails with
    /// `AdminExists` if an admin appeared meanwhile, or `LinkNotLive` if the token is
    /// unknown, used or expired.
    #[instrument(skip_all)]
    pub async fn insert_admin_key_with_setup_token(
        &self,
        token_hash: &[u8; 32],
        key: &WrappedAdminKey,
        now: i64,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let used = sqlx::query("DELETE FROM setup_tokens WHERE token_hash = ? AND expires_at > ?")
            .bind(token_hash.as_slice())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if used.rows_affected() != 1 {
            return Err(StoreError::LinkNotLive);
        }
        if !Self::insert_admin_key_in(&mut tx, key, now).await? {
            return Err(StoreError::AdminExists);
        }
        tx.commit().await?;
        Ok(())
    }
}
