#!/usr/bin/env bash
# Builds the Debian package: target/debian/passdrop_<version>-1_amd64.deb, with the
# binary, the systemd unit (installed, not enabled), the sysusers/tmpfiles snippets, the
# default /etc/passdrop/passdrop.toml, man pages and bash/zsh/fish completions.
#
#   cargo install cargo-deb --locked     # once
#   scripts/build-deb.sh
#
# Then copy the .deb to the server and `apt install ./passdrop_*.deb` (README,
# Deployment). Needs libsqlite3-dev (it links Debian's SQLite) and dpkg-dev
# (dpkg-shlibdeps, for the package's library dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-deb >/dev/null; then
    echo "error: cargo-deb is not installed: cargo install cargo-deb --locked" >&2
    exit 1
fi

# The packaged binary reads this file when neither --config nor PASSDROP_CONFIG is given
# (src/config.rs BUILT_IN_CONFIG); a plain `cargo build` reads no system file.
export PASSDROP_BUILD_DEFAULT_CONFIG=/etc/passdrop/passdrop.toml
# Without the bundled SQLite: the package links Debian's libsqlite3 (Cargo.toml).
cargo build --release --locked --bin passdrop --no-default-features

bin="${CARGO_TARGET_DIR:-target}/release/passdrop"

# Man pages and completions from the clap definitions of the binary being packaged.
generated=target/generated
rm -rf "$generated"
mkdir -p "$generated/man" "$generated/completions"
"$bin" generate man --out-dir "$generated/man" >/dev/null
"$bin" generate completions --out-dir "$generated/completions" >/dev/null

mkdir -p target/debian
rm -f target/debian/passdrop_*.deb
cargo deb --no-build --locked --output target/debian/
