#!/usr/bin/env bash
# CI's check of the Debian package, as root: build it, lint it, install it with apt as
# an admin would, run it as its user, remove it (data kept), purge it (data gone). The
# package is purged on every exit, failed or not, so the next run starts clean.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { echo "--- deb: $*"; }
fail() { echo "FAILED (deb): $*" >&2; exit 1; }

start=$SECONDS
scripts/build-deb.sh
debs=(target/debian/passdrop_*_amd64.deb)
[ "${#debs[@]}" -eq 1 ] && [ -f "${debs[0]}" ] || fail "expected one .deb, found: ${debs[*]}"
deb=${debs[0]}
step "$deb: $(du -k "$deb" | cut -f1) KiB, built in $((SECONDS - start)) s"

step "lintian (errors fail; warnings are printed; no overrides)"
lintian --fail-on error --info "$deb"

cleanup() { apt-get purge -y -qq passdrop >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
step "apt-get install ./$deb"
apt-get install -y -qq "./$deb"

as_passdrop() { (cd / && runuser -u passdrop -- "$@"); }
step "the installed binary, as the passdrop user"
as_passdrop passdrop --version
as_passdrop passdrop doctor --offline | tee /tmp/passdrop-deb-doctor.txt
grep -q "passdrop is not set up yet" /tmp/passdrop-deb-doctor.txt \
    || fail "doctor --offline did not say passdrop is not set up yet"
# The packaged binary reads /etc/passdrop/passdrop.toml by itself.
grep -q "/var/lib/passdrop" /tmp/passdrop-deb-doctor.txt \
    || fail "doctor did not use the packaged data directory"

# Another user cannot read the settings, and is told so instead of getting defaults.
if (cd / && runuser -u nobody -- passdrop doctor --offline) 2>/tmp/passdrop-deb-nobody.txt; then
    fail "doctor ran for a user who cannot read /etc/passdrop/passdrop.toml"
fi
grep -q "run passdrop as the passdrop user" /tmp/passdrop-deb-nobody.txt \
    || fail "no clear message for a user who cannot read the settings"

step "files, owners and modes"
check_mode() {
    local got
    got=$(stat -c '%U:%G %a' "$1")
    [ "$got" = "$2" ] || fail "$1 is $got, expected $2"
}
check_mode /var/lib/passdrop "passdrop:passdrop 700"
check_mode /etc/passdrop "root:passdrop 750"
check_mode /etc/passdrop/passdrop.toml "root:passdrop 640"
grep -qx /etc/passdrop/passdrop.toml /var/lib/dpkg/info/passdrop.conffiles \
    || fail "passdrop.toml is not a conffile"
for f in /usr/lib/systemd/system/passdrop.service /usr/lib/sysusers.d/passdrop.conf \
    /usr/lib/tmpfiles.d/passdrop.conf /usr/share/man/man1/passdrop.1.gz \
    /usr/share/man/man1/passdrop-admin-init.1.gz \
    /usr/share/bash-completion/completions/passdrop \
    /usr/share/zsh/vendor-completions/_passdrop \
    /usr/share/fish/vendor_completions.d/passdrop.fish \
    /usr/share/doc/passdrop/examples/Caddyfile; do
    [ -f "$f" ] || fail "$f is not installed"
done

step "the unit is installed, neither enabled nor running"
! systemctl is-enabled --quiet passdrop.service 2>/dev/null || fail "the unit is enabled"
! systemctl is-active --quiet passdrop.service 2>/dev/null || fail "the unit is running"

step "apt-get remove keeps the data; apt-get purge deletes it"
as_passdrop passdrop batch list >/dev/null # creates the database
[ -f /var/lib/passdrop/passdrop.sqlite3 ] || fail "no database was created"
apt-get remove -y -qq passdrop
[ -f /var/lib/passdrop/passdrop.sqlite3 ] || fail "apt-get remove deleted the data"
apt-get purge -y -qq passdrop | tee /tmp/passdrop-deb-purge.txt
grep -q "deleted /var/lib/passdrop" /tmp/passdrop-deb-purge.txt \
    || fail "purge did not say it deleted the data"
[ ! -e /var/lib/passdrop ] || fail "/var/lib/passdrop survived the purge"
[ ! -e /etc/passdrop ] || fail "/etc/passdrop survived the purge"
step "ok: built, linted, installed, run, removed and purged in $((SECONDS - start)) s"
