//! The SMTP relay saved in the console (its password sealed to the admin key).

use super::*;

impl Store {
    /// The relay saved in the console, if any.
    #[instrument(skip_all)]
    pub async fn smtp_settings(&self) -> StoreResult<Option<StoredSmtp>> {
        let row = sqlx::query(
            "SELECT host, port, security, username, password_enc, password_sealed, from_addr, \
             reply_to, ca_pem, updated_at, sig FROM smtp_settings WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let enc: Option<Vec<u8>> = row.try_get("password_enc")?;
            let sealed: Option<Vec<u8>> = row.try_get("password_sealed")?;
            Ok::<_, sqlx::Error>(StoredSmtp {
                host: row.try_get("host")?,
                port: u16::try_from(row.try_get::<i64, _>("port")?)
                    .map_err(|e| sqlx::Error::Decode(e.into()))?,
                security: row.try_get("security")?,
                username: row.try_get("username")?,
                password: enc
                    .zip(sealed)
                    .map(|(enc, ciphertext)| SealedSecret { enc, ciphertext }),
                from: row.try_get("from_addr")?,
                reply_to: row.try_get("reply_to")?,
                ca_pem: row.try_get("ca_pem")?,
                updated_at: row.try_get("updated_at")?,
                sig: row.try_get("sig")?,
            })
        })
        .transpose()
        .map_err(StoreError::from)
    }

    /// Saves the relay (replacing what was saved).
    #[instrument(skip_all)]
    pub async fn save_smtp_settings(&self, s: &StoredSmtp) -> StoreResult<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO smtp_settings (id, host, port, security, username, \
             password_enc, password_sealed, from_addr, reply_to, ca_pem, updated_at, sig) \
             VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.host)
        .bind(i64::from(s.port))
        .bind(&s.security)
        .bind(&s.username)
        .bind(s.password.as_ref().map(|p| p.enc.as_slice()))
        .bind(s.password.as_ref().map(|p| p.ciphertext.as_slice()))
        .bind(&s.from)
        .bind(&s.reply_to)
        .bind(&s.ca_pem)
        .bind(s.updated_at)
        .bind(&s.sig)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets the saved relay.
    #[instrument(skip_all)]
    pub async fn delete_smtp_settings(&self) -> StoreResult<()> {
        sqlx::query("DELETE FROM smtp_settings")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
