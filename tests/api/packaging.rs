//! The Debian package's parts, checked without building the .deb (`.ci/run` builds,
//! lints, installs and purges it): the generated man pages and completions cover the
//! commands, and Cargo.toml's `[package.metadata.deb]` points at files that exist and
//! agree with the unit, the maintainer scripts and the build script.

use std::path::Path;

use crate::helpers::{passdrop, run, stderr};

const MAIN_COMMANDS: [&str; 8] = [
    "serve", "admin", "batch", "link", "export", "purge", "doctor", "send",
];

fn repo(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn man_pages_and_completions_generate_and_name_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let (man, completions) = (dir.path().join("man"), dir.path().join("completions"));
    std::fs::create_dir_all(&man).unwrap();
    std::fs::create_dir_all(&completions).unwrap();
    for (what, out) in [("man", &man), ("completions", &completions)] {
        let o = run(passdrop(&dir.path().join("data"))
            .args(["generate", what, "--out-dir"])
            .arg(out));
        assert!(o.status.success(), "generate {what}: {}", stderr(&o));
    }
    // Generating needs no data directory and creates none.
    assert!(!dir.path().join("data").exists());

    let page = std::fs::read_to_string(man.join("passdrop.1")).unwrap();
    assert!(page.starts_with(".ie"), "not roff:\n{page}");
    for command in MAIN_COMMANDS {
        assert!(
            page.contains(command),
            "passdrop.1 does not mention {command}"
        );
    }
    for sub in [
        "passdrop-serve.1",
        "passdrop-admin-init.1",
        "passdrop-batch-create.1",
    ] {
        assert!(man.join(sub).is_file(), "{sub} was not generated");
    }
    let hidden: Vec<_> = std::fs::read_dir(&man)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("generate"))
        .collect();
    assert!(
        hidden.is_empty(),
        "the hidden command got a page: {hidden:?}"
    );

    let bash = std::fs::read_to_string(completions.join("passdrop.bash")).unwrap();
    let zsh = std::fs::read_to_string(completions.join("_passdrop")).unwrap();
    let fish = std::fs::read_to_string(completions.join("passdrop.fish")).unwrap();
    assert!(zsh.starts_with("#compdef passdrop"), "{zsh}");
    assert!(fish.contains("complete -c passdrop"), "{fish}");
    for command in MAIN_COMMANDS {
        for (shell, text) in [("bash", &bash), ("zsh", &zsh), ("fish", &fish)] {
            assert!(text.contains(command), "{shell} completions miss {command}");
        }
    }

    // A wrong --out-dir is bad usage, and writes nothing.
    let o = run(passdrop(dir.path())
        .args(["generate", "man", "--out-dir"])
        .arg(dir.path().join("missing")));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is not an existing directory"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_deb_metadata_points_at_files_that_exist() {
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    let deb = manifest["package"]["metadata"]["deb"].as_table().unwrap();
    let generated = ["passdrop.bash", "_passdrop", "passdrop.fish"];
    let mut config_dest = None;
    for asset in deb["assets"].as_array().unwrap() {
        let asset = asset.as_array().unwrap();
        let (source, dest) = (asset[0].as_str().unwrap(), asset[1].as_str().unwrap());
        if source == "target/release/passdrop" {
            assert_eq!(dest, "usr/bin/");
        } else if let Some(rest) = source.strip_prefix("target/generated/") {
            // Written by scripts/build-deb.sh with `passdrop generate`.
            assert!(
                rest == "man/*.1" || generated.iter().any(|g| rest == format!("completions/{g}")),
                "{source} is not something `passdrop generate` writes"
            );
            assert!(read("scripts/build-deb.sh").contains("generated=target/generated"));
        } else {
            assert!(repo(source).is_file(), "{source} does not exist");
        }
        if source == "deploy/passdrop.toml" {
            config_dest = Some(format!("/{dest}"));
        }
    }
    // One settings path everywhere: the asset, the unit, the build's default.
    let config = config_dest.expect("the settings file is not packaged");
    assert!(
        read("deploy/passdrop.service").contains(&format!("PASSDROP_CONFIG={config}")),
        "the unit does not read {config}"
    );
    assert!(
        read("scripts/build-deb.sh").contains(&format!("PASSDROP_BUILD_DEFAULT_CONFIG={config}")),
        "the packaged binary does not default to {config}"
    );
    assert!(read("deploy/passdrop.service").contains("ExecStart=/usr/bin/passdrop serve"));

    // The unit and sysusers snippet cargo-deb installs; not enabled, not started.
    let units = deb["systemd-units"].as_table().unwrap();
    assert_eq!(units["enable"].as_bool(), Some(false));
    assert_eq!(units["start"].as_bool(), Some(false));
    let unit_dir = units["unit-scripts"].as_str().unwrap();
    for file in ["passdrop.service", "passdrop.sysusers"] {
        assert!(
            repo(unit_dir).join(file).is_file(),
            "{unit_dir}/{file} missing"
        );
    }
    // The maintainer scripts take cargo-deb's systemd fragments.
    let scripts = deb["maintainer-scripts"].as_str().unwrap();
    for script in ["postinst", "postrm"] {
        let text = std::fs::read_to_string(repo(scripts).join(script)).unwrap();
        assert!(text.contains("#DEBHELPER#"), "{script} has no #DEBHELPER#");
    }
    assert!(read("deploy/passdrop.tmpfiles").contains("d /etc/passdrop 0750 root passdrop"));
    // The changelog's newest entry is this version.
    let changelog = read(deb["changelog"].as_str().unwrap());
    let expected = format!("passdrop ({}-1) ", env!("CARGO_PKG_VERSION"));
    assert!(
        changelog.starts_with(&expected),
        "the changelog does not start with {expected}"
    );
}

#[test]
fn the_packaged_settings_file_is_valid_with_every_example_uncommented() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // As shipped: a fresh install passes the doctor (not set up yet).
    let shipped = read("deploy/passdrop.toml");
    let o = run(passdrop(&data)
        .args(["doctor", "--offline", "--config"])
        .arg(repo("deploy/passdrop.toml")));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert!(out.contains("passdrop is not set up yet"), "{out}");
    assert!(out.contains("proxy header trust matches"), "{out}");
    // Each commented example names a real setting with a value of the right kind.
    let uncommented: String = shipped
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if rest.contains(" = ") && !rest.starts_with(' ') => rest,
            _ => l,
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(uncommented.contains("\npublic_url = "), "{uncommented}");
    let path = dir.path().join("all.toml");
    std::fs::write(&path, uncommented).unwrap();
    let o = run(passdrop(&data)
        .args(["doctor", "--offline", "--config"])
        .arg(&path));
    assert!(
        !stderr(&o).contains("not a passdrop setting") && o.status.code() != Some(2),
        "{}",
        stderr(&o)
    );
}
