//! API tokens (stored only as their SHA-256) and the trail of API calls.

use super::*;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiScope {
    /// Look: list batches and their users' states.
    Read,
    /// Look, and create, revoke, reissue, send and purge.
    Write,
}

impl ApiScope {
    /// The stored and typed value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }

    /// Parses `read` or `write`.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "read" => Ok(Self::Read),
            "write" => Ok(Self::Write),
            other => Err(format!("{other:?} is not a scope: use read or write")),
        }
    }
}

/// A stored API token (its hash only).
#[derive(Debug, Clone)]
pub struct ApiToken {
    /// Its unique name (the audit trail says it).
    pub name: String,
    /// SHA-256 of the token text.
    pub token_hash: [u8; 32],
    /// What it may do.
    pub scope: ApiScope,
    /// When it was made.
    pub created_at: i64,
    /// When it stops working.
    pub expires_at: i64,
    /// When it was last accepted, if ever.
    pub last_used_at: Option<i64>,
}

/// One authenticated API call, as the trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiCall {
    /// When.
    pub at: i64,
    /// The token's name.
    pub token_name: String,
    /// `GET`, `POST`.
    pub method: String,
    /// The route's pattern (`/api/v1/batches/{id}`), never the concrete path.
    pub route: String,
    /// The batch the path named, if any (an id or a name, as given).
    pub batch_id: Option<String>,
    /// The answer's HTTP status.
    pub status: i64,
}

type TokenRow = (String, Vec<u8>, String, i64, i64, Option<i64>);

fn row_to_token(
    (name, hash, scope, created_at, expires_at, last_used_at): TokenRow,
) -> StoreResult<ApiToken> {
    let token_hash: [u8; 32] = hash
        .try_into()
        .map_err(|_| StoreError::Other(anyhow::anyhow!("an API token hash is not 32 bytes")))?;
    let scope = ApiScope::parse(&scope).map_err(|e| StoreError::Other(anyhow::anyhow!(e)))?;
    Ok(ApiToken {
        name,
        token_hash,
        scope,
        created_at,
        expires_at,
        last_used_at,
    })
}

const TOKEN_COLUMNS: &str = "name, token_hash, scope, created_at, expires_at, last_used_at";

impl Store {
    /// Stores a new token's hash; `false` (nothing stored) when the name is taken.
    #[instrument(skip_all)]
    pub async fn insert_api_token(&self, token: &ApiToken) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO api_tokens (name, token_hash, scope, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&token.name)
        .bind(token.token_hash.as_slice())
        .bind(token.scope.as_str())
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every token, by name.
    #[instrument(skip_all)]
    pub async fn api_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        let rows: Vec<TokenRow> = sqlx::query_as(constant_sql(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY name"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(row_to_token).collect()
    }

    /// The token whose text hashes to `hash`, if any.
    #[instrument(skip_all)]
    pub async fn api_token_by_hash(&self, hash: &[u8; 32]) -> StoreResult<Option<ApiToken>> {
        let row: Option<TokenRow> = sqlx::query_as(constant_sql(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?"
        )))
        .bind(hash.as_slice())
        .fetch_optional(&self.pool)
        .await?;
        row.map(row_to_token).transpose()
    }

    /// Notes that the token `name` was accepted at `now`.
    #[instrument(skip_all)]
    pub async fn touch_api_token(&self, name: &str, now: i64) -> StoreResult<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE name = ?")
            .bind(now)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes the token `name`; `false` when there was none.
    #[instrument(skip_all)]
    pub async fn delete_api_token(&self, name: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Adds an API call to the trail.
    #[instrument(skip_all)]
    pub async fn record_api_call(&self, call: &ApiCall) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_calls (at, token_name, method, route, batch_id, status) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(call.at)
        .bind(&call.token_name)
        .bind(&call.method)
        .bind(&call.route)
        .bind(&call.batch_id)
        .bind(call.status)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The trail of API calls, oldest first.
    #[instrument(skip_all)]
    pub async fn api_calls(&self) -> StoreResult<Vec<ApiCall>> {
        Ok(sqlx::query_as(
            "SELECT at, token_name, method, route, batch_id, status FROM api_calls ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}
