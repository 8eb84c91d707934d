//! The command line as a newcomer uses it: the real binary, real files, real server.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::helpers::{Server, canaries_found, parse_csv, passdrop, run, stderr};

const PASSPHRASE: &str = "cli journey passphrase 2026";

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_on_a_fresh_data_dir_says_what_to_do_next() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start(&data, &[]);
    let r = reqwest::get(format!("{}/healthz", server.address))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
    // The server prints no setup link (its output may go to a journal that outlives the
    // link); it names the command that prints one.
    let deadline = Instant::now() + Duration::from_secs(10);
    let printed = loop {
        let printed = server.log.lock().unwrap().clone();
        if printed.contains("passdrop admin init") || Instant::now() > deadline {
            break printed;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        printed.contains("passdrop admin setup-link"),
        "no command named:\n{printed}"
    );
    assert!(!printed.contains("/admin/setup/"), "{printed}");
    // The command prints a fresh link on stdout, and only the newest one works.
    let setup_link = || {
        let o = run(passdrop(&data)
            .args(["admin", "setup-link", "--public-url"])
            .arg(&server.address));
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(!stderr(&o).contains("/admin/setup/"), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap().trim().to_owned()
    };
    let first = setup_link();
    let setup = setup_link();
    assert!(setup.starts_with(&server.address), "{setup}");
    assert!(setup.contains("/admin/setup/"), "{setup}");
    assert_ne!(first, setup);
    assert_eq!(reqwest::get(&first).await.unwrap().status(), 410);
    let r = reqwest::get(&setup).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Choose the admin passphrase")
    );
    let log = server.stop();
    assert!(log.contains("No admin exists yet"), "{log}");
    assert!(log.contains("passdrop admin init"), "{log}");
    assert!(!log.contains(&setup), "{log}");
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("passdrop.sqlite3")), 0o600);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_journey_works_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");
    let pass_file = write(&dir.join("passphrase.txt"), &format!("{PASSPHRASE}\n"));
    let wrong_file = write(&dir.join("wrong.txt"), "not the passphrase at all\n");

    let o = run(passdrop(&data)
        .args(["admin", "init", "--passphrase-file"])
        .arg(&pass_file));
    assert!(o.status.success(), "{}", stderr(&o));
    let again = run(passdrop(&data)
        .args(["admin", "init", "--passphrase-file"])
        .arg(&pass_file));
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("already exists"));

    // Once an admin exists, no setup link is made.
    let o = run(passdrop(&data).args(["admin", "setup-link"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("an admin already exists"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());

    // The server runs at the most verbose level so the log can be checked for canaries.
    let server = Server::start(&data, &[("PASSDROP_LOG", "trace")]);

    let roster = write(
        &dir.join("roster.csv"),
        "EmailAddress,DisplayName,UserName\n\
         cli.ann@logcanary.example,Ann Canary,cli-ann\n\
         cli.bob@logcanary.example,Bob Canary,cli-bob\n",
    );
    let links_path = dir.join("links.csv");
    let create = |passphrase: &std::path::Path| {
        run(passdrop(&data)
            .args([
                "batch",
                "create",
                "--name",
                "Move 2026",
                "--org",
                "Example Ltd",
                "--expires-in",
                "3d",
            ])
            .arg("--roster")
            .arg(&roster)
            .arg("--links-out")
            .arg(&links_path)
            .arg("--passphrase-file")
            .arg(passphrase)
            .args(["--public-url", &server.address]))
    };
    // A wrong passphrase creates nothing (its rows went in while Argon2 ran, and were
    // rolled back) and writes no links.
    let o = create(&wrong_file);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("wrong passphrase"), "{}", stderr(&o));
    assert!(!links_path.exists());
    let o = run(passdrop(&data).args(["batch", "list"]));
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("Move 2026"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // The same with an old server that cannot be reached (a closed port): Argon2 runs
    // while it is tried, and the wrong passphrase is still what is reported.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let o = run(passdrop(&data)
        .args(["batch", "create", "--name", "Move 2026", "--roster"])
        .arg(&roster)
        .args(["--verify-imap", &format!("imaps://127.0.0.1:{closed}")])
        .arg("--links-out")
        .arg(&links_path)
        .arg("--passphrase-file")
        .arg(&wrong_file)
        .args(["--public-url", &server.address]));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("wrong passphrase"), "{}", stderr(&o));
    assert!(!links_path.exists());
    let o = create(&pass_file);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("2 links"), "{}", stderr(&o));
    assert_eq!(mode(&links_path), 0o600);
    // A creation refused after its links file was written beside the inserts (the name
    // is taken) leaves no file.
    let again = dir.join("links-again.csv");
    let o = run(passdrop(&data)
        .args(["batch", "create", "--name", "Move 2026", "--roster"])
        .arg(&roster)
        .arg("--links-out")
        .arg(&again)
        .arg("--passphrase-file")
        .arg(&pass_file)
        .args(["--public-url", &server.address]));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("Move 2026"), "{}", stderr(&o));
    assert!(!again.exists(), "the refused creation's links file is gone");
    let links = parse_csv(&std::fs::read(&links_path).unwrap());
    assert_eq!(links[0], ["EmailAddress", "DisplayName", "Link"]);
    assert_eq!(links[1][0], "cli.ann@logcanary.example");
    let ann_link = links[1][2].clone();
    let bob_link = links[2][2].clone();
    assert!(ann_link.starts_with(&format!("{}/s/", server.address)));

    let client = reqwest::Client::new();
    let ann_pw = "Ann's \"CLI\" canary, pw=1";
    assert_eq!(client.get(&ann_link).send().await.unwrap().status(), 200);
    let r = client
        .post(&ann_link)
        .form(&[("password", ann_pw), ("password_confirm", ann_pw)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A reissue whose output cannot be written changes nothing: the old link still works.
    let o = run(passdrop(&data)
        .args([
            "link",
            "reissue",
            "Move 2026",
            "cli.bob@logcanary.example",
            "--links-out",
        ])
        .arg(dir.join("no-such-dir/links.csv")));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(client.get(&bob_link).send().await.unwrap().status(), 200);

    // Reissue Bob's link: the old one stops working, the new one takes his password.
    let o = run(passdrop(&data).args([
        "link",
        "reissue",
        "Move 2026",
        "cli.bob@logcanary.example",
        "--public-url",
        &server.address,
    ]));
    assert!(o.status.success(), "{}", stderr(&o));
    let reissued = parse_csv(&o.stdout);
    let bob_new = reissued[1][2].clone();
    assert_eq!(client.get(&bob_link).send().await.unwrap().status(), 410);
    let bob_pw = "BobCanaryPassword!";
    // Refused requests carry canaries too: none may reach the log either.
    let refused_pw = "RefusedCanary42";
    let r = client
        .post(&bob_new)
        .form(&[
            ("password", refused_pw),
            ("password_confirm", "OtherCanary43"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = client
        .post(&bob_new)
        .header("sec-fetch-site", "cross-site")
        .form(&[("password", refused_pw), ("password_confirm", refused_pw)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let big = format!("{refused_pw}{}", "x".repeat(9000));
    let r = client
        .post(&bob_new)
        .form(&[
            ("password", big.as_str()),
            ("password_confirm", big.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = client
        .post(&bob_new)
        .header("content-type", "text/plain")
        .body(format!("password={refused_pw}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let unknown = format!("{}/s/UnknownTokenCanary{}", server.address, "A".repeat(24));
    assert_eq!(client.get(&unknown).send().await.unwrap().status(), 404);
    let r = client
        .post(&bob_new)
        .form(&[("password", bob_pw), ("password_confirm", bob_pw)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let o = run(passdrop(&data).args(["batch", "status", "Move 2026"]));
    let status = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(status.contains("2 submitted"), "{status}");
    assert_columns_line_up(&status, "STATUS");
    let o = run(passdrop(&data).args(["batch", "list"]));
    let list = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(list.contains("Move 2026"));
    assert_columns_line_up(&list, "SUBMITTED");

    // A wrong passphrase writes nothing.
    let out = dir.join("m365.csv");
    let o = run(passdrop(&data)
        .args(["export", "Move 2026", "--out"])
        .arg(&out)
        .arg("--passphrase-file")
        .arg(&wrong_file));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("wrong passphrase"), "{}", stderr(&o));
    assert!(!out.exists());

    let o = run(passdrop(&data)
        .args(["export", "Move 2026", "--format", "m365", "--out"])
        .arg(&out)
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("Wrote 2 rows"), "{}", stderr(&o));
    assert_eq!(mode(&out), 0o600);
    let bytes = std::fs::read(&out).unwrap();
    let expected = format!(
        "EmailAddress,UserName,Password\r\ncli.ann@logcanary.example,cli-ann,\"Ann's \"\"CLI\"\" canary, pw=1\"\r\n\
         cli.bob@logcanary.example,cli-bob,{bob_pw}\r\n"
    );
    assert_eq!(String::from_utf8(bytes).unwrap(), expected);

    // Never overwrites.
    let o = run(passdrop(&data)
        .args(["export", "Move 2026", "--out"])
        .arg(&out)
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("never overwrites"));

    // Export to stdout and purge in one go.
    let o = run(passdrop(&data)
        .args(["export", "Move 2026", "--purge", "--passphrase-file"])
        .arg(&pass_file));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains(bob_pw));
    assert!(stderr(&o).contains("Purged"));

    let o = run(passdrop(&data).args(["batch", "list"]));
    assert!(String::from_utf8_lossy(&o.stdout).contains("purged"));
    let o = run(passdrop(&data).args(["batch", "status", "Move 2026"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("was purged"));
    // Bob's link now says the collection has closed (410), from the tombstone.
    let r = client.get(&bob_new).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("This collection has closed")
    );

    let log = server.stop();
    let tokens: Vec<String> = [&ann_link, &bob_link, &bob_new]
        .iter()
        .map(|l| l.rsplit('/').next().unwrap().to_owned())
        .collect();
    // Raw and form-encoded spellings alike (a logged body would hold the latter).
    for canary in [
        ann_pw,
        "Ann%27s+%22CLI%22+canary%2C+pw%3D1",
        "canary, pw=1",
        "BobCanaryPassword",
        "RefusedCanary42",
        "OtherCanary43",
        "UnknownTokenCanary",
        PASSPHRASE,
    ]
    .iter()
    .copied()
    .chain(tokens.iter().map(String::as_str))
    {
        let line = log.lines().find(|l| l.contains(canary));
        assert!(
            line.is_none(),
            "the server log contains {canary:?}: {line:?}"
        );
    }
    assert!(
        log.contains("/s/[token]"),
        "the trace log should show redacted paths:\n{log}"
    );
    let found = canaries_found(
        &data,
        &[
            ann_pw,
            bob_pw,
            "logcanary",
            "Ann Canary",
            &tokens[0],
            &tokens[2],
        ],
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_bad_roster_creates_nothing_and_names_every_bad_line() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let pass = write(&tmp.path().join("p"), PASSPHRASE);
    assert!(
        run(passdrop(&data)
            .args(["admin", "init", "--passphrase-file"])
            .arg(&pass))
        .status
        .success()
    );
    let roster = write(
        &tmp.path().join("bad.csv"),
        "EmailAddress,UserName\nann@example.com,ann\nno-at-sign,x\nann@example.com,ann2\nbob@example.com,\n",
    );
    let links = tmp.path().join("links.csv");
    let o = run(passdrop(&data)
        .args(["batch", "create", "--name", "bad"])
        .arg("--roster")
        .arg(&roster)
        .arg("--links-out")
        .arg(&links));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    for needle in ["line 3:", "line 4:", "line 5:", "nothing was created"] {
        assert!(err.contains(needle), "{needle} missing from: {err}");
    }
    assert!(!links.exists());
    let o = run(passdrop(&data).args(["batch", "list"]));
    assert!(String::from_utf8_lossy(&o.stdout).contains("No batches yet"));
}

#[test]
fn a_bad_language_in_the_roster_or_the_options_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let pass = write(&tmp.path().join("p"), PASSPHRASE);
    assert!(
        run(passdrop(&data)
            .args(["admin", "init", "--passphrase-file"])
            .arg(&pass))
        .status
        .success()
    );
    let roster = write(
        &tmp.path().join("languages.csv"),
        "EmailAddress,Language\nann@example.com,fr-CA\nbob@example.com,Deutsch bitte\n",
    );
    let links = tmp.path().join("links.csv");
    let create = |language: &str| {
        run(passdrop(&data)
            .args(["batch", "create", "--name", "langs", "--language", language])
            .arg("--roster")
            .arg(&roster)
            .arg("--links-out")
            .arg(&links))
    };
    let o = create("de");
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("line 3: Language \"Deutsch bitte\" is not a language tag"),
        "{err}"
    );
    assert!(err.contains("nothing was created"), "{err}");
    // An unsupported batch language is bad usage, with the list of supported ones.
    let o = create("klingon");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("en, de, fr, es, nl, it, pt"),
        "{}",
        stderr(&o)
    );
    assert!(!links.exists());
    let o = run(passdrop(&data).args(["batch", "list"]));
    assert!(String::from_utf8_lossy(&o.stdout).contains("No batches yet"));
}

#[test]
fn bad_usage_exits_2_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    assert_eq!(
        run(passdrop(&data).arg("frobnicate")).status.code(),
        Some(2)
    );
    let roster = write(&tmp.path().join("r.csv"), "EmailAddress\na@example.com\n");
    let o = run(passdrop(&data)
        .args(["batch", "create", "--name", "x", "--expires-in", "forever"])
        .arg("--roster")
        .arg(&roster));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("forever"));
    let o = run(passdrop(&data).args(["admin", "init"]));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--passphrase-file"));
    let o = run(passdrop(&data)
        .args([
            "batch",
            "create",
            "--name",
            "x",
            "--public-url",
            "ftp://nope",
        ])
        .arg("--roster")
        .arg(&roster));
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn purge_asks_for_yes_when_not_interactive() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let pass = write(&tmp.path().join("p"), PASSPHRASE);
    assert!(
        run(passdrop(&data)
            .args(["admin", "init", "--passphrase-file"])
            .arg(&pass))
        .status
        .success()
    );
    let roster = write(&tmp.path().join("r.csv"), "EmailAddress\na@example.com\n");
    let o = run(passdrop(&data)
        .args(["batch", "create", "--name", "keep"])
        .arg("--roster")
        .arg(&roster)
        .arg("--passphrase-file")
        .arg(&pass));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(passdrop(&data).args(["purge", "keep"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        run(passdrop(&data).args(["batch", "status", "keep"]))
            .status
            .success()
    );
    let o = run(passdrop(&data).args(["purge", "keep", "--yes"]));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        run(passdrop(&data).args(["batch", "status", "keep"]))
            .status
            .code(),
        Some(1)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_served_apart_and_logs_can_be_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = crate::helpers::free_port();
    let metrics_addr = format!("127.0.0.1:{port}");
    let server = Server::start(
        &data,
        &[
            ("PASSDROP_METRICS_LISTEN", metrics_addr.as_str()),
            ("PASSDROP_LOG_FORMAT", "json"),
            ("PASSDROP_LOG", "debug"),
        ],
    );
    let client = reqwest::Client::new();
    let token = format!("MetricsCanaryToken{}", "Q".repeat(25));
    let r = client
        .get(format!("{}/s/{token}", server.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        client
            .get(format!("{}/healthz", server.address))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Not on the public listener.
    let r = client
        .get(format!("{}/metrics", server.address))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = client
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = r.text().await.unwrap();
    assert!(
        text.contains("passdrop_http_requests_total{route=\"collection\",status=\"4xx\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("passdrop_http_requests_total{route=\"health\",status=\"2xx\"} 1"),
        "{text}"
    );
    assert!(text.contains("# TYPE passdrop_http_request_duration_seconds histogram"));
    assert!(!text.contains(&token), "{text}");

    let log = server.stop();
    let events: Vec<&str> = log.lines().filter(|l| l.starts_with('{')).collect();
    assert!(!events.is_empty(), "no JSON log lines:\n{log}");
    for line in &events {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            v.get("level").is_some() && v.get("fields").is_some(),
            "{line}"
        );
    }
    assert!(!log.contains(&token), "the token reached the log:\n{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_doctor_names_each_problem_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let doctor = |extra: &[&str], env: &[(&str, &str)]| {
        let mut cmd = passdrop(&data);
        cmd.args(["doctor", "--offline"]).args(extra);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let o = run(&mut cmd);
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };

    // Before setup (a fresh install): no database, no public URL. That is no problem
    // yet, it says what to do next, and creates nothing.
    let (code, text) = doctor(&[], &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("WARNING  passdrop is not set up yet"),
        "{text}"
    );
    assert!(text.contains("run `passdrop admin init`"), "{text}");
    assert!(text.contains("WARNING  no public URL is set"), "{text}");
    assert!(!data.exists(), "the doctor created {}", data.display());
    // A real problem still fails before setup.
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, text) = doctor(&[], &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("is open to other users (mode 755)"), "{text}");
    assert!(!data.join("passdrop.sqlite3").exists());
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();

    // A database without an admin (as `admin setup-link` leaves it) is a problem.
    passdrop::storage::Store::open(&data)
        .await
        .unwrap()
        .close()
        .await;
    let (code, text) = doctor(&[], &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("PROBLEM  no admin exists yet"), "{text}");
    assert!(text.contains("fix: run `passdrop admin init`"), "{text}");

    // Set up an admin and a batch whose retention has passed, then look again.
    {
        let store = passdrop::storage::Store::open(&data).await.unwrap();
        passdrop::batch::init_admin(
            &store,
            crate::helpers::secret("doctor test passphrase"),
            crate::helpers::CHEAP_KDF,
        )
        .await
        .unwrap();
        let long_ago = passdrop::config::now() - 30 * 86_400;
        passdrop::batch::create(
            &store,
            &passdrop::config::PublicUrl::parse("https://passdrop.example.org").unwrap(),
            passdrop::batch::NewBatch {
                name: "old move".into(),
                org_name: None,
                link_lifetime: Duration::from_secs(86_400),
                next_steps: None,
                ask_mail_client: true,
                retention: passdrop::batch::Retention::default(),
                roster: passdrop::roster::parse_roster(b"EmailAddress\nann@example.org\n").unwrap(),
                imap: None,
                language: None,
                time_zone: None,
            },
            long_ago,
        )
        .await
        .unwrap();
        store.close().await;
    }
    let (code, text) = doctor(&["--public-url", "http://passdrop.example.org"], &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("ok       an admin passphrase is set"),
        "{text}"
    );
    assert!(
        text.contains("PROBLEM  the public URL http://passdrop.example.org"),
        "{text}"
    );
    assert!(
        text.contains("WARNING  1 batch(es) past retention are not purged yet: old move"),
        "{text}"
    );
    // The admin was made by the library, so no settings key file was written.
    assert!(
        text.contains("PROBLEM  the settings key file") && text.contains("does not exist"),
        "{text}"
    );

    // Trusting proxy headers on a public address.
    let (_, text) = doctor(
        &[
            "--public-url",
            "https://passdrop.example.org",
            "--listen",
            "0.0.0.0:8080",
        ],
        &[("PASSDROP_TRUST_PROXY", "true")],
    );
    assert!(
        text.contains("PROBLEM  proxy headers are trusted"),
        "{text}"
    );
    assert!(text.contains("fix: listen on 127.0.0.1"), "{text}");
    assert!(
        text.contains("ok       the public URL https://passdrop.example.org"),
        "{text}"
    );

    // Files opened up to other users are named with the command that fixes them.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, text) = doctor(&["--public-url", "https://passdrop.example.org"], &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("is open to other users (mode 755)"), "{text}");
    assert!(
        text.contains(&format!("fix: chmod 700 {}", data.display())),
        "{text}"
    );
}

#[test]
fn a_config_file_fills_in_below_variables_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("passdrop.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\npublic_url = \"https://file.example\"\ntrust-proxy = true\n\
             rate_limit = 5\nexpires_in = \"3d\"\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    let doctor = |extra: &[&str], env: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_passdrop"));
        cmd.env_clear()
            .args(["doctor", "--offline", "--config"])
            .arg(&config)
            .args(extra);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let o = run(&mut cmd);
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    // The file alone: its public URL and data directory, its proxy trust (a
    // `batch create` setting such as expires_in is ignored by `doctor`).
    let text = doctor(&[], &[]);
    assert!(
        text.contains("the public URL https://file.example is https"),
        "{text}"
    );
    assert!(text.contains(&data.display().to_string()), "{text}");
    assert!(text.contains("proxy header trust matches"), "{text}");
    // A variable beats the file; a flag beats both.
    let text = doctor(&[], &[("PASSDROP_PUBLIC_URL", "https://env.example")]);
    assert!(text.contains("https://env.example is https"), "{text}");
    let text = doctor(
        &["--public-url", "https://flag.example"],
        &[("PASSDROP_PUBLIC_URL", "https://env.example")],
    );
    assert!(text.contains("https://flag.example is https"), "{text}");

    // Mistakes in the file are named, and nothing runs.
    for (content, expected) in [
        (
            "public_urll = \"x\"\n",
            "“public_urll” is not a passdrop setting",
        ),
        (
            "rate_limit = [1]\n",
            "must be a string, a number or true/false",
        ),
        ("public_url = \n", "is not valid TOML"),
        ("rate_limit = \"many\"\n", "invalid value 'many'"),
    ] {
        std::fs::write(&config, content).unwrap();
        let o = run(Command::new(env!("CARGO_BIN_EXE_passdrop"))
            .env_clear()
            .env("PASSDROP_DATA_DIR", &data)
            .args(["serve", "--config"])
            .arg(&config));
        assert_eq!(o.status.code(), Some(2), "{content}");
        assert!(stderr(&o).contains(expected), "{content}: {}", stderr(&o));
    }
}

/// Every option's variable is in the README's configuration table, so the table cannot
/// fall behind the code.
#[test]
fn the_readme_lists_every_setting() {
    use clap::CommandFactory as _;
    fn walk(cmd: &clap::Command, out: &mut Vec<(String, String)>) {
        for a in cmd.get_arguments() {
            if let (Some(long), Some(env)) = (a.get_long(), a.get_env()) {
                out.push((long.to_owned(), env.to_string_lossy().into_owned()));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut settings = Vec::new();
    walk(&passdrop::cli::Cli::command(), &mut settings);
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let missing: Vec<String> = settings
        .iter()
        .filter(|(long, env)| !readme.contains(&format!("| `--{long}` | `{env}` |")))
        .map(|(long, env)| format!("--{long} / {env}"))
        .collect();
    assert!(missing.is_empty(), "not in the README's table: {missing:?}");
}

/// The shipped systemd unit passes `systemd-analyze verify` (with ExecStart pointed at
/// the binary under test).
#[test]
fn the_systemd_unit_verifies() {
    let analyze = Path::new("/usr/bin/systemd-analyze");
    if !crate::helpers::external_available(analyze.exists(), "systemd-analyze", "systemd") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/passdrop.service"),
    )
    .unwrap();
    for required in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "MemoryDenyWriteExecute=yes",
        "StateDirectoryMode=0700",
        "User=passdrop",
    ] {
        assert!(unit.contains(required), "{required} missing from the unit");
    }
    let path = dir.path().join("passdrop.service");
    std::fs::write(
        &path,
        unit.replace("/usr/bin/passdrop", env!("CARGO_BIN_EXE_passdrop")),
    )
    .unwrap();
    let o = run(Command::new(analyze).arg("verify").arg(&path));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).trim().is_empty(), "warnings: {}", stderr(&o));
}

/// The table under the `heading` row of `output`: each row's second column starts where
/// its heading does (columns are sized to their longest value).
fn assert_columns_line_up(output: &str, heading: &str) {
    let lines: Vec<&str> = output.lines().collect();
    let top = lines
        .iter()
        .position(|l| l.contains(heading))
        .unwrap_or_else(|| panic!("no {heading} column:\n{output}"));
    let header = lines[top];
    let second = header.find(char::is_whitespace).unwrap();
    let start = second + header[second..].find(|c: char| !c.is_whitespace()).unwrap();
    let rows: Vec<&str> = lines[top + 1..]
        .iter()
        .take_while(|l| l.contains('@') || l.contains('/'))
        .copied()
        .collect();
    assert!(!rows.is_empty(), "no rows under {heading}:\n{output}");
    for row in rows {
        let chars: Vec<char> = row.chars().collect();
        assert!(
            chars[start - 2] == ' ' && chars[start - 1] == ' ' && chars[start] != ' ',
            "the second column does not start at {start}:\n{output}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn times_follow_the_time_zone_setting_and_a_bad_zone_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");
    let pass_file = write(&dir.join("passphrase.txt"), &format!("{PASSPHRASE}\n"));
    let roster = write(&dir.join("roster.csv"), "EmailAddress\nann@example.org\n");
    let o = run(passdrop(&data)
        .args(["admin", "init", "--passphrase-file"])
        .arg(&pass_file));
    assert!(o.status.success(), "{}", stderr(&o));

    // A misspelt zone: exit 2, the value and what to write instead.
    let o = run(passdrop(&data).args(["batch", "list", "--time-zone", "Europe/Lodnon"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(
            "--time-zone: unknown time zone \"Europe/Lodnon\"; use an IANA name such as \
             Europe/London"
        ),
        "{}",
        stderr(&o)
    );

    // A batch of its own zone, made with "1 week"; its dates say CET/CEST.
    let o = run(passdrop(&data)
        .args([
            "batch",
            "create",
            "--name",
            "paris",
            "--expires-in",
            "1 week",
        ])
        .args(["--batch-time-zone", "Europe/Paris", "--links-out"])
        .arg(dir.join("links.csv"))
        .arg("--roster")
        .arg(&roster)
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(" CET.") || stderr(&o).contains(" CEST."),
        "{}",
        stderr(&o)
    );
    let o = run(passdrop(&data).args(["batch", "status", "paris"]));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains(" CET") || out.contains(" CEST"), "{out}");

    // Without a zone of its own, the server's setting; without that, UTC.
    let o = run(passdrop(&data)
        .args(["batch", "create", "--name", "plain", "--links-out"])
        .arg(dir.join("links2.csv"))
        .arg("--roster")
        .arg(&roster)
        .env("PASSDROP_TIME_ZONE", "Asia/Tokyo")
        .env("PASSDROP_PASSPHRASE", PASSPHRASE));
    assert!(stderr(&o).contains(" JST."), "{}", stderr(&o));
    let o = run(passdrop(&data).args(["batch", "status", "plain"]));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains(" UTC"), "{out}");

    // The doctor says which zone times are in.
    let o = run(passdrop(&data).args(["doctor", "--offline", "--time-zone", "Europe/London"]));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("times are shown in Europe/London"), "{out}");
    let o = run(passdrop(&data).args(["doctor", "--offline"]));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("times are shown in UTC"), "{out}");
}

#[test]
fn the_doctor_warns_when_the_key_files_directory_can_be_written() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = dir.join("data");
    let keys = dir.join("keys");
    std::fs::create_dir(&keys).unwrap();
    let key = keys.join("settings-key.pub");
    let pass_file = write(&dir.join("passphrase.txt"), &format!("{PASSPHRASE}\n"));
    let o = run(passdrop(&data)
        .args(["admin", "init", "--passphrase-file"])
        .arg(&pass_file)
        .arg("--settings-key-file")
        .arg(&key));
    assert!(o.status.success(), "{}", stderr(&o));
    let doctor = || {
        let o = run(passdrop(&data)
            .args(["doctor", "--offline", "--settings-key-file"])
            .arg(&key));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert!(!doctor().contains("could be replaced"), "{}", doctor());
    // Anyone may write the directory (no sticky bit): the key file could be swapped.
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = doctor();
    assert!(
        out.contains("anyone may write it (mode 777): the key file could be replaced"),
        "{out}"
    );
}
