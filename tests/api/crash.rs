//! Crash consistency: many clients submit while the real server is killed with SIGKILL
//! at random moments, over several rounds. Afterwards every acknowledged password
//! exports byte-exact, every acknowledged link stays burned, nothing that was not
//! submitted appears, and SQLite's integrity check passes.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::helpers::{parse_csv, passdrop};

const PASSPHRASE: &str = "crash test passphrase 2026";

const LINKS: usize = 400;

const ROUNDS: u64 = 4;

const CLIENTS: usize = 16;

/// Starts `serve` on a free port; returns the child and its address.
fn start(data: &Path) -> (Child, String) {
    let mut child = passdrop(data)
        .args(["serve", "--listen", "127.0.0.1:0", "--rate-limit", "0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let reader = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let _ = tx.send(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("server did not start");
    (child, format!("http://{addr}"))
}

/// A small deterministic generator, so a failing run can be repeated.
fn next_random(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *state >> 33
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn submissions_survive_sigkill_at_random_moments() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let pass = tmp.path().join("pass");
    std::fs::write(&pass, PASSPHRASE).unwrap();
    assert!(
        passdrop(&data)
            .args(["admin", "init", "--passphrase-file"])
            .arg(&pass)
            .status()
            .unwrap()
            .success()
    );
    let mut roster = String::from("EmailAddress\n");
    for i in 0..LINKS {
        roster.push_str(&format!("crash{i}@example.com\n"));
    }
    let roster_path = tmp.path().join("roster.csv");
    std::fs::write(&roster_path, roster).unwrap();
    let out = passdrop(&data)
        .args(["batch", "create", "--name", "crash", "--roster"])
        .arg(&roster_path)
        .arg("--passphrase-file")
        .arg(&pass)
        .output()
        .unwrap();
    assert!(out.status.success());
    // (email, token) for every link.
    let links: Vec<(String, String)> = parse_csv(&out.stdout)[1..]
        .iter()
        .map(|r| (r[0].clone(), r[2].rsplit('/').next().unwrap().to_owned()))
        .collect();

    let mut seed = 0x5eed_u64 ^ u64::from(std::process::id());
    let acked: Arc<Mutex<HashMap<String, String>>> = Arc::default(); // email -> password
    let attempted: Arc<Mutex<HashMap<String, HashSet<String>>>> = Arc::default();
    let mut queue: Vec<(String, String)> = links.clone();

    for round in 0..ROUNDS {
        let (mut child, address) = start(&data);
        let work = Arc::new(Mutex::new(std::mem::take(&mut queue)));
        let unsettled: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..CLIENTS {
            let (work, unsettled, acked, attempted) = (
                work.clone(),
                unsettled.clone(),
                acked.clone(),
                attempted.clone(),
            );
            let (client, address) = (client.clone(), address.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let Some((email, token)) = work.lock().unwrap().pop() else {
                        break;
                    };
                    let password = format!("Crash {round} {email} \"pw\", =1");
                    attempted
                        .lock()
                        .unwrap()
                        .entry(email.clone())
                        .or_default()
                        .insert(password.clone());
                    let sent = client
                        .post(format!("{address}/s/{token}"))
                        .form(&[
                            ("password", password.as_str()),
                            ("password_confirm", password.as_str()),
                        ])
                        .send()
                        .await;
                    match sent.map(|r| r.status().as_u16()) {
                        Ok(200) => {
                            acked.lock().unwrap().insert(email, password);
                        }
                        // Burned by an earlier round whose answer was lost in the crash.
                        Ok(410) => {}
                        Ok(other) => panic!("unexpected status {other}"),
                        // The server died mid-request: outcome unknown, try again later.
                        Err(_) => unsettled.lock().unwrap().push((email, token)),
                    }
                }
            }));
        }
        let delay = 30 + next_random(&mut seed) % 150;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        queue.extend(std::mem::take(&mut *work.lock().unwrap()));
        queue.extend(std::mem::take(&mut *unsettled.lock().unwrap()));
        println!(
            "round {round}: killed after {delay} ms, {} acknowledged so far",
            acked.lock().unwrap().len()
        );
    }

    // After the crashes: every acknowledged link is still burned.
    let (mut child, address) = start(&data);
    let acked = acked.lock().unwrap().clone();
    assert!(
        !acked.is_empty(),
        "no submission was acknowledged before the kills"
    );
    let tokens: HashMap<&str, &str> = links
        .iter()
        .map(|(e, t)| (e.as_str(), t.as_str()))
        .collect();
    for email in acked.keys() {
        let r = reqwest::get(format!("{address}/s/{}", tokens[email.as_str()]))
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            410,
            "{email}: an acknowledged link is usable again"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let export = passdrop(&data)
        .args(["export", "crash", "--passphrase-file"])
        .arg(&pass)
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let rows = parse_csv(&export.stdout);
    let exported: HashMap<String, String> = rows[1..]
        .iter()
        .map(|r| (r[0].clone(), r[2].clone()))
        .collect();
    for (email, password) in &acked {
        assert_eq!(
            exported.get(email),
            Some(password),
            "{email}: acknowledged but not exported"
        );
    }
    let attempted = attempted.lock().unwrap().clone();
    for (email, password) in &exported {
        assert!(
            attempted.get(email).is_some_and(|a| a.contains(password)),
            "{email}: exported a password nobody submitted"
        );
    }
    let store = passdrop::storage::Store::open(&data).await.unwrap();
    assert_eq!(store.integrity_check().await.unwrap(), "ok");
    store.close().await;
    println!(
        "crash test: {} rounds, {} acknowledged, {} exported",
        ROUNDS,
        acked.len(),
        exported.len()
    );
}
