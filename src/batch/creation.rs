//! Creating a batch: its key, its first links (derived from one link key), and its rows
//! in one transaction; with the passphrase, its settings signed.

use super::*;

/// Creates a batch: a batch keypair sealed to the admin, one recipient and one live link
/// per roster row, all in one transaction. Returns the batch and its links.
///
/// Without the passphrase (`create`), the batch's settings are not signed, so it takes no
/// password until a passphrase action signs them (`sign_new_batch`); `create_signed` signs
/// them at once.
pub async fn create(
    store: &Store,
    public_url: &PublicUrl,
    request: NewBatch,
    now: i64,
) -> BatchResult<(Batch, Vec<IssuedLink>)> {
    let (batch, links, _) =
        create_with(store, public_url, request, now, Signing::Later, None, None).await?;
    Ok((batch, links))
}

/// `create`, with the batch's settings and message signed by the unlocked admin key.
pub async fn create_signed(
    store: &Store,
    public_url: &PublicUrl,
    request: NewBatch,
    now: i64,
    admin: &AdminKey,
) -> BatchResult<(Batch, Vec<IssuedLink>)> {
    let (batch, links, _) = create_with(
        store,
        public_url,
        request,
        now,
        Signing::With(admin),
        None,
        None,
    )
    .await?;
    Ok((batch, links))
}

/// `create_signed`, counting the links issued on `tally` (for a progress bar).
pub async fn create_signed_counted(
    store: &Store,
    public_url: &PublicUrl,
    request: NewBatch,
    now: i64,
    admin: &AdminKey,
    tally: std::sync::Arc<Tally>,
) -> BatchResult<(Batch, Vec<IssuedLink>)> {
    let signing = Signing::With(admin);
    let (batch, links, _) =
        create_with(store, public_url, request, now, signing, Some(tally), None).await?;
    Ok((batch, links))
}

/// Work on a new batch's links done on a blocking thread while its rows go in
/// (`create_unlocking`): `passdrop batch create --links-out FILE` writes and
/// syncs its file then, instead of after the commit. It runs whether or not the
/// creation then commits, so what it makes must not count until the creation has
/// returned its batch (the links file is kept only then).
pub type LinksBeside = Box<dyn FnOnce(&[IssuedLink]) + Send>;

/// `create_signed` with the admin key `passphrase` unlocks, which is returned too: the
/// old server is tried and the links issued (or, for a large batch, the rows inserted)
/// while Argon2 unlocks it, and the creation commits only once the key has signed the
/// settings. A wrong passphrase creates nothing. `tally` counts the links issued (for a progress bar); `beside` (if
/// given) runs on the links while the rows go in.
pub async fn create_unlocking(
    store: &Store,
    public_url: &PublicUrl,
    request: NewBatch,
    now: i64,
    passphrase: SecretString,
    tally: std::sync::Arc<Tally>,
    beside: Option<LinksBeside>,
) -> BatchResult<(Batch, Vec<IssuedLink>, AdminKey)> {
    let signing = Signing::Unlock(passphrase);
    match create_with(
        store,
        public_url,
        request,
        now,
        signing,
        Some(tally),
        beside,
    )
    .await?
    {
        (batch, links, Some(admin)) => Ok((batch, links, admin)),
        (_, _, None) => Err(BatchError::Other(anyhow::anyhow!(
            "the batch was created without its admin key"
        ))),
    }
}

/// How a new batch's settings and message are signed.
enum Signing<'a> {
    /// Not yet: a passphrase action signs them later (`sign_new_batch`).
    Later,
    /// By this admin key, unlocked already.
    With(&'a AdminKey),
    /// By the admin key this passphrase unlocks, while the rows go in.
    Unlock(SecretString),
}

async fn create_with(
    store: &Store,
    public_url: &PublicUrl,
    request: NewBatch,
    now: i64,
    signing: Signing<'_>,
    tally: Option<std::sync::Arc<Tally>>,
    beside: Option<LinksBeside>,
) -> BatchResult<(Batch, Vec<IssuedLink>, Option<AdminKey>)> {
    let name = request.name.trim().to_owned();
    check_name("batch name", &name)?;
    let org_name = request
        .org_name
        .map(|o| o.trim().to_owned())
        .filter(|o| !o.is_empty());
    if let Some(org) = &org_name {
        check_name("organisation name", org)?;
    }
    let next_steps = request
        .next_steps
        .map(|t| t.trim().replace("\r\n", "\n"))
        .filter(|t| !t.is_empty());
    if let Some(text) = &next_steps {
        if text.chars().count() > MAX_NEXT_STEPS_CHARS {
            return Err(BatchError::InvalidName(format!(
                "the next-steps text must be at most {MAX_NEXT_STEPS_CHARS} characters"
            )));
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(BatchError::InvalidName(
                "the next-steps text must not contain control characters".to_owned(),
            ));
        }
    }
    // Stored by its canonical IANA name; an empty one is the server's setting.
    let time_zone = match request
        .time_zone
        .as_deref()
        .map(crate::config::TimeZoneSetting::parse)
    {
        None | Some(Ok(crate::config::TimeZoneSetting::Utc)) => None,
        Some(Ok(zone)) => Some(zone.name().to_owned()),
        Some(Err(e)) => return Err(BatchError::InvalidName(format!("time zone: {e}"))),
    };
    let admin = store.admin_key().await?.ok_or(BatchError::NoAdmin)?;
    let signer = match &signing {
        Signing::With(admin) => Some(settings_signer(admin)?),
        Signing::Later | Signing::Unlock(_) => None,
    };
    let insert_first = inserts_outlast_unlock(request.roster.entries.len(), &admin.kdf);
    let id = hex::encode(crypto::random_bytes::<8>()?);
    let (public_key, sealed_key) = crypto::create_batch_key(&admin.public_key, &id)?;
    let lifetime = secs(request.link_lifetime);
    let batch = Batch {
        id,
        name,
        org_name,
        created_at: now,
        expires_at: now.saturating_add(lifetime),
        link_lifetime_secs: lifetime,
        has_user_root: request.roster.has_user_root(),
        next_steps,
        ask_mail_client: request.ask_mail_client,
        retain_after_expiry_secs: secs(request.retention.after_expiry),
        retain_after_export_secs: secs(request.retention.after_export),
        public_key,
        first_exported_at: None,
        export_purge_at: None,
        link_tag: crypto::LinkTag::generate()?,
        imap: request.imap,
        message: None,
        settings_sig: None,
        message_sig: None,
        language: request.language.map(|l| l.tag().to_owned()),
        time_zone,
        admin_login: None,
        branding: Default::default(),
    };
    let mut batch = batch;
    if let Some(signer) = &signer {
        batch.settings_sig = Some(sign_batch(signer, &batch));
        batch.message_sig = Some(sign_message(signer, &batch));
    }
    // One link key per batch, sealed once to the batch key; every first link's token is
    // derived from it (an HMAC each, no public-key work per link). Still off the async
    // runtime and spread over the cores: 50,000 HMACs and hashes are CPU work too.
    let link_key = crypto::LinkKey::generate()?;
    let sealed_link_key = crypto::seal_link_key(&batch.public_key, &batch.id, &link_key)?;
    let (batch_id, expires_at, tag) = (batch.id.clone(), batch.expires_at, batch.link_tag.clone());
    let public_url = public_url.clone();
    let entries = request.roster.entries;
    if let Some(tally) = &tally {
        tally.set_total(entries.len());
    }
    let unsigned = &batch;
    // Told once the links are issued (`Signing::Unlock`: see below).
    let (issued_send, issued_receive) = tokio::sync::oneshot::channel::<()>();
    let insert = move |signatures: Option<crate::storage::LateSignatures>| async move {
        // The old server is tried before anything is written (with `Unlock` and a small
        // batch, while Argon2 runs; a wrong passphrase is still reported first).
        if let Some(settings) = &unsigned.imap {
            require_usable_imap(settings).await?;
        }
        let issued = tokio::task::spawn_blocking(move || {
            issue_first_links(
                tally.as_deref(),
                entries,
                &link_key,
                &batch_id,
                &tag,
                expires_at,
                &public_url,
            )
        })
        .await
        .map_err(anyhow::Error::new)??;
        let _ = issued_send.send(());
        let (recipients, links) = issued;
        let create = store.create_batch(
            unsigned,
            &sealed_key,
            Some(&sealed_link_key),
            recipients,
            signatures,
        );
        let Some(beside) = beside else {
            create.await?;
            return Ok::<_, BatchError>(links);
        };
        // Its own share of the links: back whole once both are done, even if it panicked
        // (the caller then finds nothing made by it).
        let links = std::sync::Arc::new(links);
        let shared = std::sync::Arc::clone(&links);
        let (created, beside) =
            tokio::join!(create, tokio::task::spawn_blocking(move || beside(&shared)));
        if let Err(e) = beside {
            tracing::error!(problem = %e, "the work beside the batch creation stopped");
        }
        created?;
        std::sync::Arc::try_unwrap(links).map_err(|_| {
            BatchError::Other(anyhow::anyhow!(
                "the links were still in use after the creation"
            ))
        })
    };
    let Signing::Unlock(passphrase) = signing else {
        let links = insert(None).await?;
        return Ok((batch, links, None));
    };
    // Argon2 runs on one core while the old server is tried and the links are issued
    // (on every core), or for a large batch while the rows are inserted (on one); the
    // creation waits for the signatures before it commits, and rolls back if the key
    // does not unlock (the sender is dropped with this future).
    let (send, receive) = tokio::sync::oneshot::channel();
    let (signed, inserted) = {
        let sign = async {
            if insert_first {
                // The inserts outlast the unlock, so Argon2 waits for the links to be
                // issued (on every core) before it takes one: it still ends before them.
                // If the creation stops before, it unlocks at once.
                let _ = issued_receive.await;
            }
            let admin = unlock_admin(store, passphrase).await?;
            let signer = settings_signer(&admin)?;
            let signatures = (sign_batch(&signer, &batch), sign_message(&signer, &batch));
            // A creation that stopped already listens no more; its error is reported.
            let _ = send.send(signatures.clone());
            Ok::<_, BatchError>((admin, signatures))
        };
        let insert = insert(Some(crate::storage::LateSignatures {
            receiver: receive,
            insert_first,
        }));
        tokio::pin!(sign, insert);
        // A wrong passphrase is reported first, whatever else failed, and stops the rest at
        // once: dropping `insert` rolls the creation back (the signatures' sender is gone too).
        tokio::select! {
            signed = &mut sign => {
                let signed = signed?;
                (signed, insert.await)
            }
            inserted = &mut insert => (sign.await?, inserted),
        }
    };
    let (admin, (settings_sig, message_sig)) = signed;
    let links = inserted?;
    batch.settings_sig = Some(settings_sig);
    batch.message_sig = Some(message_sig);
    Ok((batch, links, Some(admin)))
}

/// Whether a creation of `rows` takes longer to insert than Argon2 takes to unlock a key
/// of cost `kdf`, so that it inserts before its signatures arrive
/// (`storage::LateSignatures::insert_first`). About 20,000 rows take as long as one
/// unlock at the default cost (64 MiB, t=3; PERFORMANCE.md, thirteenth round), and the
/// unlock grows with memory times passes (`admin passphrase --kdf-memory` allows up to
/// 512 MiB: about eight times as long).
fn inserts_outlast_unlock(rows: usize, kdf: &KdfParams) -> bool {
    const ROWS_PER_DEFAULT_UNLOCK: u64 = 20_000;
    let cost = |k: &KdfParams| u64::from(k.m_cost) * u64::from(k.t_cost);
    let rows = u64::try_from(rows).unwrap_or(u64::MAX);
    rows.saturating_mul(cost(&KdfParams::DEFAULT))
        >= ROWS_PER_DEFAULT_UNLOCK.saturating_mul(cost(kdf))
}

/// One new recipient row and its first link, per roster entry, in roster order.
fn issue_first_links(
    tally: Option<&Tally>,
    entries: Vec<crate::roster::RosterEntry>,
    link_key: &crypto::LinkKey,
    batch_id: &str,
    tag: &crypto::LinkTag,
    expires_at: i64,
    public_url: &PublicUrl,
) -> BatchResult<(Vec<NewRecipient>, Vec<IssuedLink>)> {
    let issue_one = |entry: crate::roster::RosterEntry| -> BatchResult<(NewRecipient, IssuedLink)> {
        // A first link is number 0; reissued links are drawn at random and sealed.
        let token = link_key.derive_token(tag, batch_id, &entry.email, 0)?;
        if let Some(tally) = tally {
            tally.bump();
        }
        let link = IssuedLink {
            email: entry.email.clone(),
            display_name: entry.display_name.clone(),
            link: SecretString::from(public_url.link_for(token.expose())),
            expires_at,
        };
        let recipient = NewRecipient {
            roster_line: i64::try_from(entry.line).unwrap_or(i64::MAX),
            email: entry.email,
            user_name: entry.user_name,
            display_name: entry.display_name,
            alternate_email: entry.alternate_email,
            user_root: entry.user_root,
            language: entry.language,
            token_hash: token.hash(),
            link_secret: crate::storage::StoredLinkSecret::Derived(0),
        };
        Ok((recipient, link))
    };
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let chunk = entries.len().div_ceil(threads).max(1);
    let mut chunks: Vec<Vec<crate::roster::RosterEntry>> = Vec::new();
    let mut entries = entries.into_iter().peekable();
    while entries.peek().is_some() {
        chunks.push(entries.by_ref().take(chunk).collect());
    }
    let rows = chunks.iter().map(Vec::len).sum();
    std::thread::scope(|scope| {
        let workers: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(|| {
                    let mut part = (
                        Vec::with_capacity(chunk.len()),
                        Vec::with_capacity(chunk.len()),
                    );
                    for entry in chunk {
                        let (recipient, link) = issue_one(entry)?;
                        part.0.push(recipient);
                        part.1.push(link);
                    }
                    Ok::<_, BatchError>(part)
                })
            })
            .collect();
        // Each row moved once more, into vectors sized once.
        let mut all = (Vec::with_capacity(rows), Vec::with_capacity(rows));
        for worker in workers {
            let (recipients, links) = worker.join().map_err(|_| {
                BatchError::Other(anyhow::anyhow!("a link-issuing thread panicked"))
            })??;
            all.0.extend(recipients);
            all.1.extend(links);
        }
        Ok(all)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_creation_inserts_first_when_its_rows_take_longer_than_the_unlock() {
        let default = KdfParams::DEFAULT;
        assert!(!inserts_outlast_unlock(3, &default));
        assert!(!inserts_outlast_unlock(19_999, &default));
        assert!(inserts_outlast_unlock(20_000, &default));
        assert!(inserts_outlast_unlock(50_000, &default));
        // Eight times the memory: eight times the rows before inserting first is worth it.
        let dear = KdfParams {
            m_cost: 8 * default.m_cost,
            ..default
        };
        assert!(!inserts_outlast_unlock(50_000, &dear));
        assert!(inserts_outlast_unlock(160_000, &dear));
        // No overflow at the extremes.
        assert!(inserts_outlast_unlock(usize::MAX, &default));
        let most = KdfParams {
            m_cost: u32::MAX,
            t_cost: u32::MAX,
            ..default
        };
        assert!(!inserts_outlast_unlock(50_000, &most));
    }
}
