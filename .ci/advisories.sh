#!/usr/bin/env bash
# Known advisories: checks Cargo.lock against the RustSec advisory database.
#
# CI cannot reach the database (it lives on GitHub), so it checks offline against a dated
# snapshot: a git bundle at ../shared/advisory-db.bundle beside the repository (or
# $PASSDROP_ADVISORY_BUNDLE). The bundle is cloned to
#   $CARGO_HOME/advisory-dbs-snapshot/advisory-db-3157b0e258782691
# (the directory name cargo-deny derives from its default database URL, under a root of
# its own so a live database in $CARGO_HOME/advisory-dbs is never touched; deny.toml's
# db-path picks the root from PASSDROP_ADVISORY_DBS), then
# `cargo deny --offline check advisories` reads it.
#
# No bundle: the live database is tried (`cargo deny check advisories`). Neither: a loud
# WARNING that advisories were not checked; under CI=true that fails the run, since CI
# always has ../shared and a missing bundle there is a broken setup, not a pass.
set -euo pipefail
cd "$(dirname "$0")/.."

bundle=${PASSDROP_ADVISORY_BUNDLE:-$(dirname "$PWD")/shared/advisory-db.bundle}
live_url=https://github.com/rustsec/advisory-db
dbs_dir=advisory-dbs-snapshot
# cargo-deny 0.20: "<last path segment>-<xxhash64 of the lowercased URL>" for its default
# https://github.com/RustSec/advisory-db. If that ever changes, cargo-deny finds no
# database there and the check fails; it never passes on an empty directory.
db_name=advisory-db-3157b0e258782691

command -v cargo-deny >/dev/null || cargo install cargo-deny --locked --quiet

not_checked() {
    echo "WARNING: advisories were NOT checked: $1" >&2
    if [ "${CI:-}" = true ]; then
        echo "FAILED: CI must check advisories; put the RustSec snapshot at $bundle" >&2
        exit 1
    fi
    exit 0
}

if [ -f "$bundle" ]; then
    db_root=${CARGO_HOME:-$HOME/.cargo}/$dbs_dir
    db=$db_root/$db_name
    want=$(git bundle list-heads "$bundle" HEAD 2>/dev/null | cut -d' ' -f1) || true
    [ -n "$want" ] || not_checked "$bundle is not a git bundle with a HEAD"

    # Reuse the clone while it is this snapshot, untouched; otherwise clone it afresh.
    if [ "$(git -C "$db" rev-parse -q --verify HEAD 2>/dev/null)" != "$want" ] ||
        [ -n "$(git -C "$db" status --porcelain 2>/dev/null)" ]; then
        mkdir -p "$db_root"
        tmp=$(mktemp -d "$db_root/.clone.XXXXXX")
        git -c init.defaultBranch=main clone --quiet "$bundle" "$tmp/db"
        rm -rf "$db"
        mv "$tmp/db" "$db"
        rmdir "$tmp"
    fi

    date=$(git -C "$db" log -1 --format=%cs)
    epoch=$(git -C "$db" log -1 --format=%ct)
    age=$(( ($(date +%s) - epoch) / 86400 ))
    # cargo-deny judges an offline database's age by .git/FETCH_HEAD's mtime, else the
    # later of HEAD's commit time and .git/HEAD's mtime. A fresh clone would look
    # fetched today; date it to the snapshot so deny.toml's maximum-db-staleness
    # measures the snapshot's real age.
    rm -f "$db/.git/FETCH_HEAD"
    touch -d "@$epoch" "$db/.git/HEAD"

    limit=$(sed -n 's/^maximum-db-staleness *= *"P\([0-9]*\)D".*/\1/p' deny.toml)
    if [ -n "$limit" ] && [ "$age" -gt "$limit" ]; then
        echo "FAILED: the RustSec snapshot of $date is $age days old, more than the $limit days" \
            "deny.toml allows (maximum-db-staleness): refresh $bundle" >&2
        exit 1
    fi

    cargo fetch --quiet
    if ! PASSDROP_ADVISORY_DBS=$dbs_dir cargo deny --offline check advisories; then
        echo "FAILED: cargo deny --offline check advisories, against the RustSec snapshot" \
            "of $date (commit ${want:0:12}): see above" >&2
        exit 1
    fi
    echo "advisories: checked offline against the RustSec snapshot of $date" \
        "(commit ${want:0:12}, $age days old: advisories published since then are not covered)"
elif timeout 30 git ls-remote --quiet "$live_url" HEAD >/dev/null 2>&1; then
    echo "advisories: no snapshot at $bundle; checking against the live RustSec database"
    cargo deny check advisories
    echo "advisories: checked against the live RustSec database ($(date +%F))"
else
    not_checked "no advisory-db bundle at $bundle and no network to $live_url"
fi
