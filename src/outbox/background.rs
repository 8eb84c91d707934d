//! The server's background sender: `Outbox`, which runs the send loop of `outbox` for
//! the batches whose links an admin action opened, until told to stop.

use super::*;

/// The server's background sender: one task per batch being sent, sharing one pacer.
pub struct Outbox {
    store: Store,
    pacer: Pacer,
    policy: RetryPolicy,
    jobs: tokio::sync::Mutex<HashMap<String, Arc<Job>>>,
    key_file: batch::SettingsKeyFile,
    /// The server's time zone (`--time-zone`), for dates in default messages.
    time_zone: TimeZoneSetting,
    /// The server is stopping: no run starts or takes new letters.
    stopping: AtomicBool,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").finish_non_exhaustive()
    }
}

impl Outbox {
    /// A sender over `store`, at most `per_second` messages a second.
    pub fn new(
        store: Store,
        per_second: f64,
        policy: RetryPolicy,
        key_file: batch::SettingsKeyFile,
        time_zone: TimeZoneSetting,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            key_file,
            time_zone,
            pacer: Pacer::new(per_second),
            policy,
            jobs: tokio::sync::Mutex::default(),
            stopping: AtomicBool::new(false),
        })
    }

    /// Queues what `selection` asks for and sends it in the background with `letters`
    /// (the batch's live links) and `settings`, joining a run already going.
    pub async fn send(
        self: &Arc<Self>,
        batch: &Batch,
        settings: SmtpSettings,
        letters: Vec<Letter>,
        selection: &Selection,
    ) -> Result<Plan, OutboxError> {
        // Queued before the lock is taken: a run ending meanwhile finds the new rows
        // without letters and stops, and the letters below then start a new one.
        let plan = enqueue(&self.store, batch, &letters, selection, now()).await?;
        let letters = letters_to_hold(&self.store, &batch.id, letters, selection).await?;
        let mut jobs = self.jobs.lock().await;
        if self.stopping.load(Ordering::SeqCst) {
            return Err(OutboxError::Stopping);
        }
        if let Some(job) = jobs.get(&batch.id) {
            job.add(letters, Some(settings));
        } else if !letters.is_empty() {
            let job = Arc::new(Job::new(
                &batch.id,
                settings,
                letters,
                self.key_file.clone(),
                self.time_zone.clone(),
            ));
            jobs.insert(batch.id.clone(), Arc::clone(&job));
            let outbox = Arc::clone(self);
            tokio::spawn(async move { outbox.run(job).await });
        }
        Ok(plan)
    }

    /// Stops taking messages and waits (at most `within`) for those being handed to the
    /// relay, so that a restart leaves them sent or queued, not of unknown outcome.
    pub async fn stop(&self, within: Duration) {
        let jobs = self.begin_stop().await;
        let deadline = tokio::time::Instant::now() + within;
        while jobs.iter().any(|j| j.busy.load(Ordering::SeqCst))
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for job in jobs.iter().filter(|j| j.busy.load(Ordering::SeqCst)) {
            warn!(
                batch = %job.batch_id,
                "a message was still being handed to the relay; its outcome will show as unknown"
            );
        }
        if !jobs.is_empty() {
            info!(
                runs = jobs.len(),
                "sending stopped; queued messages wait for a resume after the restart"
            );
        }
    }

    /// Stops taking messages at once (on the shutdown signal, before the HTTP grace
    /// period); returns the runs that were going.
    pub async fn begin_stop(&self) -> Vec<Arc<Job>> {
        let jobs = self.jobs.lock().await;
        self.stopping.store(true, Ordering::SeqCst);
        for job in jobs.values() {
            job.stop.store(true, Ordering::SeqCst);
        }
        jobs.values().cloned().collect()
    }

    /// Whether a run for the batch is going.
    pub async fn is_sending(&self, batch_id: &str) -> bool {
        self.jobs.lock().await.contains_key(batch_id)
    }

    async fn run(self: Arc<Self>, job: Arc<Job>) {
        info!(batch = %job.batch_id, "sending started");
        let mut on_event = |event: Event| match event {
            Event::Failed { attempts, .. } => warn!(attempts, "a message was refused"),
            Event::Unknown { .. } => warn!("a message got no clear answer; it may have arrived"),
            Event::Retrying { .. } => info!("a message will be tried again"),
            Event::Sent { .. } | Event::Skipped { .. } => {}
        };
        let mut errors = 0;
        loop {
            let result = drain(&self.store, &job, &self.pacer, self.policy, &mut on_event).await;
            if result.is_ok() {
                errors = 0;
            }
            if let Err(e) = &result {
                errors += 1;
                warn!(error = %e, errors, "sending paused: the database failed");
                if errors < MAX_STORE_ERRORS {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
            }
            let mut jobs = self.jobs.lock().await;
            let more = result.is_ok()
                && !job.stop.load(Ordering::SeqCst)
                && matches!(job.next(&self.store).await, Ok(Some(_)));
            if !more {
                jobs.remove(&job.batch_id);
                info!(batch = %job.batch_id, "sending finished");
                return;
            }
        }
    }
}

/// Database failures in a row after which a background run gives up (its messages
/// stay queued, to be resumed).
const MAX_STORE_ERRORS: u32 = 10;
