//! The collection pages' read path (issue 21, `storage/reader.rs`) and the "opened"
//! note a first visit queues: a change the CLI makes from another process while `serve`
//! runs is seen by the very next request, through read connections already open and
//! statements already prepared; notes queued just before a clean stop (one of them
//! within the writer's pause) are committed; many first visits make the writer read
//! every live link's view at once.

use std::path::{Path, PathBuf};

use passdrop::storage::Store;

use crate::helpers::{Server, parse_csv, passdrop, run, stderr};

const PASSPHRASE: &str = "reads test passphrase 2026";

fn cli_ok(data: &Path, args: &[&str]) -> Vec<u8> {
    let o = run(passdrop(data)
        .args(args)
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    o.stdout
}

/// A data directory under `dir` with its admin key, and `serve` on it with its metrics
/// listener (answers the data directory, the server and the metrics address).
async fn serve_with_metrics(dir: &Path) -> (PathBuf, Server, String) {
    let data = dir.join("data");
    cli_ok(&data, &["admin", "init"]);
    let metrics = format!("127.0.0.1:{}", crate::helpers::free_port());
    let server = Server::start(&data, &[("PASSDROP_METRICS_LISTEN", metrics.as_str())]);
    while !server.log.lock().unwrap().contains("metrics on http://") {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    (data, server, metrics)
}

/// Creates batch `name` of `org` for `emails` from the CLI; answers its links file's
/// rows (the header left out: the address first, the link last).
fn create_batch(
    data: &Path,
    server: &Server,
    name: &str,
    org: &str,
    emails: &[&str],
) -> Vec<Vec<String>> {
    let roster = data.with_file_name(format!("{name}.csv"));
    std::fs::write(&roster, format!("EmailAddress\n{}\n", emails.join("\n"))).unwrap();
    let links_path = data.with_file_name(format!("{name}-links.csv"));
    cli_ok(
        data,
        &[
            "batch",
            "create",
            "--name",
            name,
            "--org",
            org,
            "--roster",
            roster.to_str().unwrap(),
            "--links-out",
            links_path.to_str().unwrap(),
            "--public-url",
            &server.address,
        ],
    );
    parse_csv(&std::fs::read(&links_path).unwrap()).split_off(1)
}

/// The link lookups answered so far from memory and from the database (`/metrics`).
async fn link_view_answers(client: &reqwest::Client, metrics: &str) -> (u64, u64) {
    let url = format!("http://{metrics}/metrics");
    let text = client.get(&url).send().await.unwrap().text().await.unwrap();
    let count = |from: &str| {
        let prefix = format!("passdrop_link_views_total{{from=\"{from}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap()
    };
    (count("memory"), count("database"))
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_changes_are_seen_at_once_and_a_queued_opened_note_survives_a_clean_stop() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, server, metrics) = serve_with_metrics(tmp.path()).await;
    let emails = [
        "ann@example.org",
        "bob@example.org",
        "cy@example.org",
        "dee@example.org",
        "eve@example.org",
    ];
    let links = create_batch(&data, &server, "reads", "Example Ltd", &emails);
    let link_of = |email: &str| {
        links
            .iter()
            .find(|row| row[0] == email)
            .map(|row| row.last().unwrap().clone())
            .unwrap()
    };
    let (ann, bob, cy, dee, eve) = (
        link_of("ann@example.org"),
        link_of("bob@example.org"),
        link_of("cy@example.org"),
        link_of("dee@example.org"),
        link_of("eve@example.org"),
    );
    let client = reqwest::Client::new();
    let status = |url: String| {
        let client = client.clone();
        async move { client.get(&url).send().await.unwrap().status().as_u16() }
    };
    // Warm the read path: several connections open, the statement prepared on each.
    let warm: Vec<_> = (0..32)
        .map(|i| status([&ann, &bob, &cy][i % 3].clone()))
        .collect();
    for s in futures_join(warm).await {
        assert_eq!(s, 200);
    }
    // Once the first visits' notes are committed, the views are answered from memory
    // (`storage/link_views.rs`): what follows checks that a CLI change reaches a
    // server that remembers them.
    let from_memory = || async { link_view_answers(&client, &metrics).await.0 };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let before = from_memory().await;
    loop {
        for url in [&ann, &bob, &cy] {
            assert_eq!(status(url.clone()).await, 200);
        }
        if from_memory().await >= before + 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing answered from memory"
        );
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }

    // Revoked from the CLI: refused by the next request, on every connection.
    cli_ok(&data, &["link", "revoke", "reads", "ann@example.org"]);
    for _ in 0..16 {
        assert_eq!(status(ann.clone()).await, 410);
    }
    // Reissued from the CLI: the old link refused, the new one served, at once.
    let out = cli_ok(
        &data,
        &[
            "link",
            "reissue",
            "reads",
            "bob@example.org",
            "--public-url",
            &server.address,
        ],
    );
    let bob_new = parse_csv(&out)[1].last().unwrap().clone();
    assert_eq!(status(bob.clone()).await, 410);
    assert_eq!(status(bob_new.clone()).await, 200);
    // Cy's link is untouched by the changes to the others.
    assert_eq!(status(cy.clone()).await, 200);

    // Dee and Eve open their links back to back, and the server is stopped cleanly
    // right after: Dee's note is committed at once (the writer was idle), Eve's lands
    // within the pause after that commit; both are committed before the server exits.
    assert_eq!(status(dee.clone()).await, 200);
    assert_eq!(status(eve.clone()).await, 200);
    let log = server.stop();
    assert!(log.contains("passdrop stopped"), "{log}");
    // The read connections closed before the pool: its last connection checkpointed
    // the WAL and removed it (a read-only connection closing last could not).
    assert!(!data.join("passdrop.sqlite3-wal").exists());
    let store = Store::open(&data).await.unwrap();
    let batch = store.find_batch("reads").await.unwrap().unwrap();
    let states = store.recipient_statuses(&batch.id).await.unwrap();
    let opened = |email: &str| {
        states
            .iter()
            .find(|s| s.recipient.email == email)
            .unwrap()
            .opened_at
    };
    assert!(opened("dee@example.org").is_some(), "dee's visit not noted");
    assert!(opened("eve@example.org").is_some(), "eve's visit not noted");
    assert!(opened("cy@example.org").is_some());
    store.close().await;
}

/// A company opening its links one after the other: after `WARM_AFTER_MISSES` (64)
/// lookups read the database, the writer reads every live link's view at once
/// (`storage/writer/warm.rs`), and the rest of the first visits are answered from
/// memory. A link revoked by the CLI afterwards is still refused at once.
#[tokio::test(flavor = "multi_thread")]
async fn many_first_visits_warm_every_live_links_view() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, server, metrics) = serve_with_metrics(tmp.path()).await;
    let emails: Vec<String> = (0..200).map(|i| format!("user{i}@example.org")).collect();
    let emails: Vec<&str> = emails.iter().map(String::as_str).collect();
    let mut links: Vec<String> = create_batch(&data, &server, "warm", "Example Ltd", &emails)
        .into_iter()
        .map(|row| row.last().unwrap().clone())
        .collect();
    assert_eq!(links.len(), 200);
    // Another batch, then a link of the first reissued: in the order of link ids the
    // warm reads the first batch, the other, and the first again (each view must carry
    // its own batch).
    let other = create_batch(&data, &server, "other", "Other Org", &["zed@example.org"])[0]
        .last()
        .unwrap()
        .clone();
    let out = cli_ok(
        &data,
        &[
            "link",
            "reissue",
            "warm",
            "user199@example.org",
            "--public-url",
            &server.address,
        ],
    );
    links[199] = parse_csv(&out)[1].last().unwrap().clone();
    let client = reqwest::Client::new();
    let answers = || link_view_answers(&client, &metrics);
    for url in &links[..100] {
        assert_eq!(client.get(url).send().await.unwrap().status(), 200);
    }
    let (_, read_before) = answers().await;
    assert!(read_before >= 64, "{read_before} lookups read the database");
    // The warm runs between the writer's commits: give it a moment.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (memory_before, read_before) = answers().await;
    for url in &links[100..] {
        assert_eq!(client.get(url).send().await.unwrap().status(), 200);
    }
    let (memory_after, read_after) = answers().await;
    assert!(
        read_after - read_before < 10,
        "{} of 100 first visits read the database after the warm",
        read_after - read_before
    );
    assert!(memory_after - memory_before > 90);
    let page = |url: String| {
        let client = client.clone();
        async move { client.get(&url).send().await.unwrap().text().await.unwrap() }
    };
    let (other_page, last_page) = (page(other.clone()).await, page(links[199].clone()).await);
    assert!(other_page.contains("Other Org") && !other_page.contains("Example Ltd"));
    assert!(last_page.contains("Example Ltd") && last_page.contains("user199@example.org"));
    let (_, read_at_end) = answers().await;
    assert_eq!(read_at_end, read_after, "both answered from memory");
    // A warmed view is forgotten as any other: the CLI's revocation is seen at once.
    cli_ok(&data, &["link", "revoke", "warm", "user150@example.org"]);
    assert_eq!(client.get(&links[150]).send().await.unwrap().status(), 410);
    assert_eq!(client.get(&links[151]).send().await.unwrap().status(), 200);
    server.stop();
}

/// Awaits every future, in order (the tests' dependencies have no `join_all`).
async fn futures_join<F: std::future::Future<Output = u16> + Send + 'static>(
    futures: Vec<F>,
) -> Vec<u16> {
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
