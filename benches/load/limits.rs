//! The crypto limit, measured in the same run as the HTTP figures: HPKE seals and opens
//! per second with passdrop's own suite (X25519, HKDF-SHA256, ChaCha20-Poly1305) and
//! record size (a password padded to 1,024 bytes, bound as a submission), on every core,
//! with no HTTP and no database; one Argon2id unlock at the default cost; and link-token
//! derivations (HMAC-SHA256) per second on one core. Each loop is bounded in count and
//! time.

use std::time::{Duration, Instant};

use passdrop::crypto::{self, KdfParams, LinkKey, LinkTag, SubmissionBinding};
use secrecy::SecretString;

/// No thread runs more operations than this, whatever the time allows.
const MAX_OPS: usize = 2_000_000;

/// What the machine's cores can do without passdrop's HTTP and database around it.
pub struct Limits {
    /// Password seals per second, all cores.
    pub seals_per_s: f64,
    /// Password opens per second, all cores.
    pub opens_per_s: f64,
    /// One Argon2id unlock of the admin key at the default cost, seconds.
    pub unlock_s: f64,
    /// Link-token derivations per second, one core.
    pub derives_per_s: f64,
    /// Ed25519 checks of a batch's settings signature per second, one core: what every
    /// collection page GET did before a success was remembered.
    pub verifies_per_s: f64,
    /// The same check through `verify_settings`, remembered after its first success.
    pub remembered_per_s: f64,
}

fn binding(i: i64) -> SubmissionBinding<'static> {
    SubmissionBinding {
        batch_id: "0123456789abcdef",
        recipient_id: i,
        email: "user@bench.example",
        user_name: "user@bench.example",
    }
}

/// Runs `op` on every core for `time`, and returns the operations per second.
fn on_all_cores(time: Duration, op: &(dyn Fn(usize) + Sync)) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    let deadline = started + time;
    let done: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..cores)
            .map(|_| {
                scope.spawn(move || {
                    let mut n = 0;
                    while n < MAX_OPS && Instant::now() < deadline {
                        op(n);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    done as f64 / started.elapsed().as_secs_f64()
}

/// Runs `op` on one core for `time`, and returns the operations per second.
fn on_one_core(time: Duration, mut op: impl FnMut(usize)) -> f64 {
    let started = Instant::now();
    let mut n = 0;
    while n < MAX_OPS && started.elapsed() < time {
        op(n);
        n += 1;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// The bench's keys: an admin key (its unlock timed) and a batch key, opened.
struct Keys {
    admin: crypto::AdminKey,
    unlock_s: f64,
    public: Vec<u8>,
    batch: crypto::BatchKey,
    password: SecretString,
}

impl Keys {
    fn new() -> Self {
        let passphrase = SecretString::from("benchmark passphrase, not secret".to_owned());
        let wrapped = crypto::create_admin_key(&passphrase, KdfParams::DEFAULT).unwrap();
        let t = Instant::now();
        let admin = crypto::unlock_admin_key(&wrapped, &passphrase).unwrap();
        let unlock_s = t.elapsed().as_secs_f64();
        let (public, sealed_key) = crypto::create_batch_key(&wrapped.public_key, "bench").unwrap();
        let batch = crypto::open_batch_key(&admin, &sealed_key, "bench").unwrap();
        let password = SecretString::from("Bench+password+12345".to_owned());
        Self {
            admin,
            unlock_s,
            public,
            batch,
            password,
        }
    }

    /// Password opens per second on every core, for `time`.
    fn opens_per_s(&self, time: Duration) -> f64 {
        let records: Vec<_> = (0..64)
            .map(|i| crypto::seal_password(&self.public, binding(i), &self.password).unwrap())
            .collect();
        on_all_cores(time, &|i| {
            let k = i % records.len();
            crypto::open_password(&self.batch, binding(k as i64), &records[k]).unwrap();
        })
    }
}

/// What exporting `links` passwords needs at the least, in seconds, measured now: one
/// open each on every core (opens measured for `secs`) and one Argon2id unlock. The
/// bench measures it just before each timed export and judges that export against it:
/// this machine's speed drifts by more than the export goal's headroom between the
/// limits measured at the start of the run and an export minutes later.
pub fn export_bound(links: usize, secs: f64) -> f64 {
    let keys = Keys::new();
    links as f64 / keys.opens_per_s(Duration::from_secs_f64(secs)) + keys.unlock_s
}

/// Measures the limits, `secs` seconds per phase.
pub fn measure(secs: f64) -> Limits {
    let time = Duration::from_secs_f64(secs);
    let keys = Keys::new();
    let Keys {
        admin,
        unlock_s,
        public,
        password,
        ..
    } = &keys;
    let unlock_s = *unlock_s;

    let seals_per_s = on_all_cores(time, &|i| {
        crypto::seal_password(public, binding(i as i64), password).unwrap();
    });
    let opens_per_s = keys.opens_per_s(time);

    let key = LinkKey::generate().unwrap();
    let tag = LinkTag::generate().unwrap();
    let derives_per_s = on_one_core(time, |i| {
        let email = format!("user{i}@bench.example");
        key.derive_token(&tag, "0123456789abcdef", &email, 0)
            .unwrap();
    });
    // A batch group as signed: its public key, no old server, organisation, next steps.
    let signer = crypto::settings_signer(admin).unwrap();
    let signer_public = signer.public_key();
    let fields: [Option<&[u8]>; 7] = [
        Some(public.as_slice()),
        None,
        None,
        None,
        None,
        Some(b"Example Ltd"),
        Some(b"Your mailbox moves on Saturday; nothing to do until then."),
    ];
    let signature = signer.sign("batch", "0123456789abcdef", &fields);
    // The message `verify_settings` builds for these fields, to time ring's check alone.
    let mut message = Vec::new();
    for part in [&b"passdrop/settings/v1"[..], b"batch", b"0123456789abcdef"] {
        message.extend_from_slice(&(part.len() as u32).to_be_bytes());
        message.extend_from_slice(part);
    }
    message.extend_from_slice(&(fields.len() as u32).to_be_bytes());
    for field in &fields {
        match field {
            None => message.push(0),
            Some(bytes) => {
                message.push(1);
                message.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
                message.extend_from_slice(bytes);
            }
        }
    }
    let ed25519 =
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &signer_public);
    assert!(
        ed25519.verify(&message, &signature).is_ok(),
        "the message as signed"
    );
    let verifies_per_s = on_one_core(time, |_| {
        assert!(ed25519.verify(&message, &signature).is_ok());
    });
    let remembered_per_s = on_one_core(time, |_| {
        assert!(crypto::verify_settings(
            &signer_public,
            &signature,
            "batch",
            "0123456789abcdef",
            &fields
        ));
    });
    Limits {
        seals_per_s,
        opens_per_s,
        unlock_s,
        derives_per_s,
        verifies_per_s,
        remembered_per_s,
    }
}
