//! A link's uncounted password checks (migration 0021): checks the old server gave no
//! clear answer to count nothing toward the link's lock, so they are capped per hour
//! on their own (SECURITY.md, "someone holding one link").

use super::*;

impl Store {
    /// The uncounted checks of the link with this token hash in the window that began
    /// within `window` seconds before `now` (0 once that window is over).
    #[instrument(skip_all)]
    pub async fn uncounted_checks(
        &self,
        token_hash: &[u8; 32],
        now: i64,
        window: i64,
    ) -> StoreResult<i64> {
        let count: Option<i64> = sqlx::query_scalar(
            "SELECT CASE WHEN uncounted_since IS NOT NULL AND uncounted_since > ?2 - ?3 \
               THEN uncounted_checks ELSE 0 END \
             FROM links WHERE token_hash = ?1",
        )
        .bind(token_hash.as_slice())
        .bind(now)
        .bind(window)
        .fetch_optional(&self.pool)
        .await?;
        Ok(count.unwrap_or(0))
    }

    /// When the current window of uncounted checks of the link with this token hash
    /// began (`None`: none yet, or no such link).
    #[instrument(skip_all)]
    pub async fn uncounted_since(&self, token_hash: &[u8; 32]) -> StoreResult<Option<i64>> {
        let since: Option<Option<i64>> =
            sqlx::query_scalar("SELECT uncounted_since FROM links WHERE token_hash = ?1")
                .bind(token_hash.as_slice())
                .fetch_optional(&self.pool)
                .await?;
        Ok(since.flatten())
    }

    /// Notes one uncounted check on the link with this token hash: a new window starts
    /// when the last one (`window` seconds) is over.
    #[instrument(skip_all)]
    pub async fn note_uncounted_check(
        &self,
        token_hash: &[u8; 32],
        now: i64,
        window: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE links SET \
               uncounted_checks = CASE WHEN uncounted_since IS NOT NULL \
                 AND uncounted_since > ?2 - ?3 THEN uncounted_checks + 1 ELSE 1 END, \
               uncounted_since = CASE WHEN uncounted_since IS NOT NULL \
                 AND uncounted_since > ?2 - ?3 THEN uncounted_since ELSE ?2 END \
             WHERE token_hash = ?1",
        )
        .bind(token_hash.as_slice())
        .bind(now)
        .bind(window)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
