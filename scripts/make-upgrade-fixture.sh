#!/usr/bin/env bash
# make-upgrade-fixture.sh: builds tests/fixtures/upgrade-8d15076/, a passdrop data
# directory written by the release at commit 8d15076, which tests/api/upgrade.rs opens
# with the current code (it must migrate, keep every state, and export the same
# passwords byte for byte).
#
# Usage (as root, from the repository root):
#
#     scripts/make-upgrade-fixture.sh OLD_BINARY [OUT_DIR]
#
#   OLD_BINARY  passdrop built from commit 8d15076 (`git worktree add /tmp/old 8d15076 &&
#               cargo build --manifest-path /tmp/old/Cargo.toml`); never the current code.
#   OUT_DIR     default tests/fixtures/upgrade-8d15076; must not hold a fixture yet
#               (delete data/, expected/ and EXPECTED.txt first: the fixture is made
#               from scratch, never patched).
#   RELAY_PY    (environment) the relay script, default
#               tests/fixtures/upgrade-8d15076/relay/relay.py next to this script.
#
# Regenerating it changes every key, token and time: commit the whole directory at
# once, and only for a reason (a released fixture is otherwise never touched).
#
# Needs: curl, openssl, sqlite3, Dovecot (/usr/sbin/dovecot, which drops privileges,
# hence root) and Debian's python3-aiosmtpd (/usr/bin/python3). Listens only on
# 127.0.0.1: passdrop on a free port, Dovecot on 20993 and the SMTP relay on 20587
# (fixed, because they are stored in the fixture; the test starts the relay on 20587
# again). Takes about 11 minutes: one batch's links must have expired (10 minutes is
# the shortest lifetime passdrop allows, and the old binary reads the real clock).
#
# Deterministic where it can be: the rosters, passwords, order of operations, ports
# and answers are fixed. Keys, tokens, ids and times are not, so every run gives
# another database file; EXPECTED.txt records what this one holds.
#
# What it makes, in OUT_DIR:
#   data/passdrop.sqlite3  the data directory (checkpointed: no -wal or -shm; 0600)
#   passphrase.txt         the admin passphrase (a test-only secret)
#   EXPECTED.txt           per batch and per user: state, password (base64), tokens,
#                          the HTTP answer each used link gave; made_at (Unix seconds)
#   expected/*.csv         the Microsoft 365 export of each live batch, as 8d15076
#                          wrote it (made from a scratch copy, so the fixture's batches
#                          are not marked exported by it)
#   expected/mailing-message.txt  `batch message "Mailing 2026"` as 8d15076 printed it
#   relay/                 relay.py (kept, not regenerated), and the relay's test
#                          certificate (100 years), key, authority and password
set -euo pipefail

OLD=${1:?usage: $0 OLD_BINARY [OUT_DIR]}
OUT=${2:-tests/fixtures/upgrade-8d15076}
OLD=$(realpath "$OLD")
[[ -x $OLD ]] || { echo "error: $OLD is not executable" >&2; exit 2; }
if [[ -e $OUT/data || -e $OUT/EXPECTED.txt ]]; then
    echo "error: $OUT already holds a fixture; remove $OUT/data, $OUT/expected and" \
        "$OUT/EXPECTED.txt first (relay/relay.py is kept)" >&2
    exit 2
fi
RELAY_PY=$(realpath "${RELAY_PY:-$(dirname "$0")/../tests/fixtures/upgrade-8d15076/relay/relay.py}")
[[ -f $RELAY_PY ]] || { echo "error: $RELAY_PY is missing" >&2; exit 2; }
for tool in curl openssl sqlite3 /usr/sbin/dovecot /usr/bin/python3; do
    command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 2; }
done
[[ $(id -u) == 0 ]] || { echo "error: run as root (Dovecot drops privileges)" >&2; exit 2; }

IMAP_PORT=20993
RELAY_PORT=20587
PUBLIC_URL=https://passdrop.example.org

W=$(mktemp -d)
chmod 0755 "$W" # Dovecot's unprivileged processes reach their sockets under it
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT

# Only what this script sets reaches the old binary.
for v in $(compgen -e | grep '^PASSDROP_' || true); do unset "$v"; done
export PASSDROP_DATA_DIR=$W/data
# (Background processes are started as "$OLD" itself, so that $! is passdrop's PID.)
pd() { "$OLD" "$@"; }
say() { printf '\n== %s\n' "$*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

EXPECTED=$W/EXPECTED.txt
PASSPHRASE_FILE=$W/passphrase.txt
printf '%s' 'upgrade fixture passphrase (test only)' >"$PASSPHRASE_FILE"
b64() { printf '%s' "$1" | base64 -w0; }

# ---------------------------------------------------------------------------- setup
say "admin and server ($(pd --version))"
pd admin init --passphrase-file "$PASSPHRASE_FILE"
"$OLD" serve --listen 127.0.0.1:0 --rate-limit 0 2>"$W/serve.log" &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
for _ in $(seq 100); do
    ADDR=$(sed -n 's/.*listening on \(http:\/\/[0-9.:]*\).*/\1/p' "$W/serve.log")
    [[ -n $ADDR ]] && break
    sleep 0.1
done
[[ -n ${ADDR:-} ]] || die "the server did not start: $(cat "$W/serve.log")"

say "test certificates (valid 100 years)"
mkdir "$W/relay"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500 \
    -subj "/CN=passdrop upgrade fixture CA" -keyout "$W/ca.key" -out "$W/relay/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=127.0.0.1" -keyout "$W/relay/key.pem" -out "$W/leaf.csr" 2>/dev/null
printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$W/leaf.ext"
openssl x509 -req -in "$W/leaf.csr" -CA "$W/relay/ca.pem" -CAkey "$W/ca.key" \
    -CAcreateserial -days 36500 -extfile "$W/leaf.ext" -out "$W/relay/cert.pem" 2>/dev/null
CERT_SHA256=$(openssl x509 -in "$W/relay/cert.pem" -outform DER | sha256sum | cut -d' ' -f1)

# --------------------------------------------------------------------- helpers
# link BATCH_LINKS_CSV EMAIL: the token of EMAIL's link in a links CSV.
token_in() {
    local line
    line=$(grep -i "^$2," "$1") || die "$2 is not in $1"
    printf '%s' "${line##*/}" | tr -d '\r'
}
# post TOKEN PASSWORD CONFIRM [MAIL_CLIENT]: submits the form; prints the HTTP status.
post() {
    local args=(--data-urlencode "password=$2" --data-urlencode "password_confirm=$3")
    [[ -n ${4:-} ]] && args+=(--data-urlencode "mail_client=$4")
    curl -s -o /dev/null -w '%{http_code}' "${args[@]}" "$ADDR/s/$1"
}
# submit TOKEN PASSWORD [MAIL_CLIENT]: submits and requires acceptance.
submit() {
    local code
    code=$(post "$1" "$2" "$2" "${3:-}")
    [[ $code == 200 ]] || die "submission refused with HTTP $code"
}
get_code() { curl -s -o /dev/null -w '%{http_code}' "$ADDR/s/$1"; }
create() { # create NAME ROSTER LINKS_OUT [options...]
    local name=$1 roster=$2 links=$3
    shift 3
    pd batch create --name "$name" --roster "$roster" --links-out "$links" "$@"
}
batch_id() { sqlite3 "$W/data/passdrop.sqlite3" "SELECT id FROM batches WHERE name = '$1'"; }
# user BATCH EMAIL STATUS READS_MAIL PASSWORD|- CONSOLE_WORD DETAIL
user() {
    local pw=-
    [[ $5 != - ]] && pw=$(b64 "$5")
    printf 'user\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$pw" "$6" "$7" >>"$EXPECTED"
}
# link BATCH EMAIL TOKEN WHAT: WHAT is live, used, revoked, replaced, locked or expired.
LINKS=$W/links.tsv
link() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$LINKS"; }

# ------------------------------------------------------------ Expired 2026 (first)
say "Expired 2026: 10-minute links; one submits, one never does"
printf 'EmailAddress\nxena@example.org\nyuri@example.org\n' >"$W/expired.csv"
create "Expired 2026" "$W/expired.csv" "$W/expired-links.csv" --expires-in 10m \
    --org "Example Ltd"
EXPIRES_AT=$(sqlite3 "$W/data/passdrop.sqlite3" \
    "SELECT expires_at FROM batches WHERE name = 'Expired 2026'")
t=$(token_in "$W/expired-links.csv" xena@example.org)
submit "$t" 'submitted before expiry' several-devices
link "Expired 2026" xena@example.org "$t" used
user "Expired 2026" xena@example.org submitted several-devices 'submitted before expiry' submitted ''
t=$(token_in "$W/expired-links.csv" yuri@example.org)
link "Expired 2026" yuri@example.org "$t" expired
user "Expired 2026" yuri@example.org expired - - expired 'since'

# ---------------------------------------------------------------------- Move 2026
say "Move 2026: every per-user state, tricky passwords, UserRoot"
cat >"$W/move.csv" <<'EOF'
EmailAddress,UserName,DisplayName,AlternateEmail,UserRoot
ann@example.org,ann@example.org,Ann Lee,,/users/ann
bob@example.org,bob,Bob Ray,bob.home@example.net,
cleo@example.org,cleo,Cléo Zoë Ünal,,/users/cléo
dan@example.org,dan,Dan O'Neil,,
eve@example.org,eve,Eve Pending,,
fay@example.org,fay,Fay Opened,,
gus@example.org,gus,Gus Revoked,,
hal@example.org,hal,Hal Reissued,,
ivy@example.org,ivy,Ivy Locked,,
jon@example.org,jon,Jon Again,,
kim@example.org,kim,Kim New Link,,
lee@example.org,lee,Lee Long,,
EOF
create "Move 2026" "$W/move.csv" "$W/move-links.csv" --expires-in 30d \
    --org "Example Ltd" --next-steps $'Your mailbox moves on Friday.\nKeep using your old mail until then.'
M=$W/move-links.csv
PW_ANN='Tr0ub4dor&3'
PW_BOB='"quoted", comma, and = sign'
PW_CLEO='  Pässwörd — 密码 🔑  '
PW_DAN=$'=HYPERLINK("x");back\\slash \'single\'\ttab;semi'
PW_JON='jon-first-Ω'
PW_KIM='kim on the new link ✓'
PW_LEE=$(printf 'é%.0s' $(seq 512)) # 1024 bytes, the most a password may have
for who in ann bob cleo dan jon lee; do
    var=PW_${who^^}
    case $who in ann) client=webmail ;; bob) client=several-devices ;;
        cleo) client=one-computer ;; dan) client=not-sure ;; *) client= ;; esac
    t=$(token_in "$M" "$who@example.org")
    submit "$t" "${!var}" "$client"
    link "Move 2026" "$who@example.org" "$t" used
done
user "Move 2026" ann@example.org submitted webmail "$PW_ANN" submitted ''
user "Move 2026" bob@example.org submitted several-devices "$PW_BOB" submitted ''
user "Move 2026" cleo@example.org submitted 'one-computer (!)' "$PW_CLEO" submitted ''
user "Move 2026" dan@example.org submitted 'not-sure (!)' "$PW_DAN" submitted ''
user "Move 2026" lee@example.org submitted - "$PW_LEE" submitted ''
# eve: never opened.
t=$(token_in "$M" eve@example.org)
link "Move 2026" eve@example.org "$t" live
user "Move 2026" eve@example.org pending - - pending 'link valid until'
# fay: opened (a GET), never submitted.
t=$(token_in "$M" fay@example.org)
[[ $(get_code "$t") == 200 ]] || die "fay's link did not open"
link "Move 2026" fay@example.org "$t" live
user "Move 2026" fay@example.org pending - - opened 'link valid until'
# gus: revoked.
t=$(token_in "$M" gus@example.org)
pd link revoke "Move 2026" gus@example.org
link "Move 2026" gus@example.org "$t" revoked
user "Move 2026" gus@example.org revoked - - revoked ''
# hal: reissued (the old link is replaced), the new one not used yet.
t=$(token_in "$M" hal@example.org)
pd link reissue "Move 2026" hal@example.org --links-out "$W/hal.csv"
link "Move 2026" hal@example.org "$t" replaced
t=$(token_in "$W/hal.csv" hal@example.org)
link "Move 2026" hal@example.org "$t" live
user "Move 2026" hal@example.org pending - - pending 'link valid until'
# ivy: ten refused submissions (the two fields differ) lock the link.
t=$(token_in "$M" ivy@example.org)
for i in $(seq 9); do
    [[ $(post "$t" "try $i" "typo $i") == 422 ]] || die "refusal $i was not a 422"
done
[[ $(post "$t" "try 10" "typo 10") == 410 ]] || die "the tenth refusal did not lock"
link "Move 2026" ivy@example.org "$t" locked
user "Move 2026" ivy@example.org locked - - locked 'too many refused attempts'
# jon: submitted, then reissued (a new link is open; the password stays).
pd link reissue "Move 2026" jon@example.org --links-out "$W/jon.csv"
t=$(token_in "$W/jon.csv" jon@example.org)
link "Move 2026" jon@example.org "$t" live
user "Move 2026" jon@example.org submitted - "$PW_JON" submitted 'a reissued link is still open'
# kim: reissued before submitting, then submitted on the new link.
t=$(token_in "$M" kim@example.org)
link "Move 2026" kim@example.org "$t" replaced
pd link reissue "Move 2026" kim@example.org --links-out "$W/kim.csv"
t=$(token_in "$W/kim.csv" kim@example.org)
submit "$t" "$PW_KIM"
link "Move 2026" kim@example.org "$t" used
user "Move 2026" kim@example.org submitted - "$PW_KIM" submitted ''

# ----------------------------------------------------------------- Exported 2026
say "Exported 2026: everyone submitted, exported once without purging"
printf 'EmailAddress,UserName\nopal@example.org,opal\npia@example.org,pia\n' >"$W/exported.csv"
create "Exported 2026" "$W/exported.csv" "$W/exported-links.csv" --expires-in 7d
PW_OPAL='p@ss,"word"'
PW_PIA='   ' # three spaces, nothing else
t=$(token_in "$W/exported-links.csv" opal@example.org)
submit "$t" "$PW_OPAL"
link "Exported 2026" opal@example.org "$t" used
t=$(token_in "$W/exported-links.csv" pia@example.org)
submit "$t" "$PW_PIA"
link "Exported 2026" pia@example.org "$t" used
pd export "Exported 2026" --out "$W/exported-once.csv" --passphrase-file "$PASSPHRASE_FILE"
user "Exported 2026" opal@example.org submitted - "$PW_OPAL" submitted ''
user "Exported 2026" pia@example.org submitted - "$PW_PIA" submitted ''

# ------------------------------------------------------------------ purged batches
say "Purged 2026 (export --purge) and Purged quietly (purge --yes): tombstones"
printf 'EmailAddress\nquin@example.org\nrosa@example.org\nsven@example.org\n' >"$W/purged.csv"
create "Purged 2026" "$W/purged.csv" "$W/purged-links.csv"
for who in quin rosa; do
    submit "$(token_in "$W/purged-links.csv" $who@example.org)" "purged password of $who"
done
PURGED_TOKEN=$(token_in "$W/purged-links.csv" sven@example.org)
pd export "Purged 2026" --out "$W/purged-export.csv" --passphrase-file "$PASSPHRASE_FILE" --purge
printf 'EmailAddress\ntess@example.org\n' >"$W/quiet.csv"
create "Purged quietly" "$W/quiet.csv" "$W/quiet-links.csv"
pd purge "Purged quietly" --yes

# -------------------------------------------------------------------------- IMAP
say "IMAP 2026 (pinned certificate, accept when unreachable) and IMAP CA 2026 (retry)"
D=$W/dovecot
mkdir -p "$D"
cp "$W/relay/cert.pem" "$W/relay/key.pem" "$D/"
PW_ANNA='Right horse 1 "é"'
printf 'anna:{PLAIN.B64}%s\n' "$(b64 "$PW_ANNA")" >"$D/users"
cat >"$D/dovecot.conf" <<EOF
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <$D/cert.pem
ssl_key = <$D/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = dovecot
default_login_user = dovenull
passdb {
  driver = passwd-file
  args = username_format=%u $D/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$D/home/%u
}
mail_location = maildir:$D/home/%u/Maildir
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAP_PORT
    ssl = yes
  }
}
service anvil {
  chroot =
}
EOF
/usr/sbin/dovecot -F -c "$D/dovecot.conf" >/dev/null 2>&1 &
DOVECOT_PID=$!
PIDS+=("$DOVECOT_PID")
for _ in $(seq 150); do
    (exec 3<>"/dev/tcp/127.0.0.1/$IMAP_PORT") 2>/dev/null && break
    sleep 0.1
done
printf 'EmailAddress,UserName\nanna@example.org,anna\nbert@example.org,bert\ncarl@example.org,carl\n' \
    >"$W/imap.csv"
create "IMAP 2026" "$W/imap.csv" "$W/imap-links.csv" --no-mail-question \
    --verify-imap "imaps://127.0.0.1:$IMAP_PORT" --imap-cert-sha256 "$CERT_SHA256" \
    --imap-when-unreachable accept
printf 'EmailAddress\ncora@example.org\n' >"$W/imapca.csv"
create "IMAP CA 2026" "$W/imapca.csv" "$W/imapca-links.csv" \
    --verify-imap "imaps://127.0.0.1:$IMAP_PORT" --imap-ca-file "$W/relay/ca.pem"
t=$(token_in "$W/imapca-links.csv" cora@example.org)
link "IMAP CA 2026" cora@example.org "$t" live
user "IMAP CA 2026" cora@example.org pending - - pending 'link valid until'
# anna: checked with the server and accepted.
t=$(token_in "$W/imap-links.csv" anna@example.org)
submit "$t" "$PW_ANNA"
link "IMAP 2026" anna@example.org "$t" used
user "IMAP 2026" anna@example.org submitted - "$PW_ANNA" submitted 'password checked with the IMAP server'
# carl: one password the server refused (counted), still pending.
t=$(token_in "$W/imap-links.csv" carl@example.org)
[[ $(post "$t" 'wrong for carl' 'wrong for carl') == 422 ]] || die "carl's wrong password was not refused"
link "IMAP 2026" carl@example.org "$t" live
user "IMAP 2026" carl@example.org pending - - pending 'link valid until'
# bert: the server is gone, so the password is accepted marked not verified.
kill "$DOVECOT_PID"
wait "$DOVECOT_PID" 2>/dev/null || true
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$IMAP_PORT") 2>/dev/null || break
    sleep 0.1
done
PW_BERT='bert, not verified'
t=$(token_in "$W/imap-links.csv" bert@example.org)
submit "$t" "$PW_BERT"
link "IMAP 2026" bert@example.org "$t" used
user "IMAP 2026" bert@example.org submitted - "$PW_BERT" submitted 'NOT checked'

# ----------------------------------------------------------------- Mailing 2026
say "Mailing 2026: a saved relay, its own message, and a send queue in every state"
RELAY_PASSWORD='r3lay pässword "q" 7f3a'
printf '%s' "$RELAY_PASSWORD" >"$W/relay/password.txt"
mkdir "$W/mail"
/usr/bin/python3 "$RELAY_PY" "$RELAY_PORT" "$W/mail" "$W/relay/cert.pem" "$W/relay/key.pem" \
    "$W/relay/password.txt" >"$W/relay.out" 2>"$W/relay.err" &
RELAY_PID=$!
PIDS+=("$RELAY_PID")
for _ in $(seq 100); do grep -q ready "$W/relay.out" && break; sleep 0.1; done
grep -q ready "$W/relay.out" || die "the relay did not start: $(cat "$W/relay.err")"
pd smtp save --smtp-host 127.0.0.1 --smtp-port "$RELAY_PORT" --smtp-security starttls \
    --smtp-user relay-user --smtp-password-file "$W/relay/password.txt" \
    --smtp-from "IT team <it@example.org>" --smtp-reply-to "Help desk <help@example.org>" \
    --smtp-ca-file "$W/relay/ca.pem"
cat >"$W/mailing.csv" <<'EOF'
EmailAddress,DisplayName,AlternateEmail
ann@example.org,Ann Lee,ann.home@example.net
bob@example.org,Bob Ray,
temp@example.org,Tim Temp,
bounce@example.org,Bea Bounce,
lost@example.org,Lou Lost,
slow@example.org,Sal Slow,
EOF
create "Mailing 2026" "$W/mailing.csv" "$W/mailing-links.csv" --expires-in 14d \
    --org "Exemple SARL" --next-steps "Merci ! Rien d'autre à faire." \
    --retain-after-expiry 30d --retain-after-export 2d
cat >"$W/body.txt" <<'EOF'
Bonjour {name},

Exemple SARL déménage votre boîte {email}. Ouvrez ce lien (valable jusqu'au {expires}) :

{link}

Les accolades s'écrivent {{ et }}.
EOF
pd batch message "Mailing 2026" --subject "Votre mot de passe, {name} — une fois" \
    --body-file "$W/body.txt"
SEND=(send "Mailing 2026" --public-url "$PUBLIC_URL" --passphrase-file "$PASSPHRASE_FILE"
    --send-rate 50 --send-retry-wait 1h)
pd "${SEND[@]}" --to ann@example.org # sent
pd "${SEND[@]}" --to ann@example.org # sent again: a reminder
# Everyone else not yet emailed: bob is sent; temp gets 451 and waits an hour in the
# queue; bounce is refused (failed); lost gets no clear answer (unknown); slow hangs
# mid-message, and the sender is killed then, leaving it "sending".
rm -f "$W/slow-started"
"$OLD" "${SEND[@]}" 2>"$W/send.err" &
SEND_PID=$!
PIDS+=("$SEND_PID")
for _ in $(seq 300); do [[ -e $W/slow-started ]] && break; sleep 0.1; done
[[ -e $W/slow-started ]] || die "the slow message never started: $(cat "$W/send.err")"
kill -KILL "$SEND_PID"
wait "$SEND_PID" 2>/dev/null || true
cat "$W/send.err" >&2
for who in ann bob temp bounce lost slow; do
    t=$(token_in "$W/mailing-links.csv" $who@example.org)
    link "Mailing 2026" $who@example.org "$t" live
done
user "Mailing 2026" ann@example.org pending - - pending 'reminded 1x'
user "Mailing 2026" bob@example.org pending - - pending 'emailed'
user "Mailing 2026" temp@example.org pending - - pending 'email queued, retrying (transient error (451)'
user "Mailing 2026" bounce@example.org pending - - pending 'email failed: permanent error (550)'
user "Mailing 2026" lost@example.org pending - - pending 'email outcome unknown (network error'
user "Mailing 2026" slow@example.org pending - - pending 'email outcome unknown (sending stopped mid-message)'
kill "$RELAY_PID"
wait "$RELAY_PID" 2>/dev/null || true
sqlite3 "$W/data/passdrop.sqlite3" \
    "SELECT r.email, d.state FROM deliveries d JOIN recipients r ON r.id = d.recipient_id" >&2

# ------------------------------------------------------------- wait for expiry
now=$(date +%s)
if ((now <= EXPIRES_AT)); then
    say "waiting $((EXPIRES_AT - now + 5)) s for the links of Expired 2026 to expire"
    sleep $((EXPIRES_AT - now + 5))
fi

# What each link that can no longer take a password answers, from the old server.
# (Live links are not opened here: a GET marks them "opened".)
while IFS=$'\t' read -r b email token what; do
    code=-
    [[ $what != live ]] && code=$(get_code "$token")
    printf 'link\t%s\t%s\t%s\t%s\t%s\n' "$b" "$email" "$token" "$what" "$code" >>"$EXPECTED"
done <"$LINKS"
code=$(get_code "$PURGED_TOKEN")
printf 'link\t%s\t%s\t%s\t%s\t%s\n' "Purged 2026" sven@example.org "$PURGED_TOKEN" purged "$code" \
    >>"$EXPECTED"

# ------------------------------------------------------------------ stop, check
say "stopping the server"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" || die "the server did not stop cleanly: $(tail "$W/serve.log")"
pd batch list >&2 # one last open and close
[[ $(sqlite3 "$W/data/passdrop.sqlite3" 'PRAGMA integrity_check') == ok ]] || die "integrity"
ls "$W/data"/passdrop.sqlite3-* 2>/dev/null && die "WAL or SHM left behind"
MADE_AT=$(date +%s)

# ------------------------------------------------------------ expected exports
say "expected exports, from a scratch copy"
mkdir "$W/expected"
cp -a "$W/data" "$W/scratch"
slug() { printf '%s' "$1" | tr 'A-Z ' 'a-z-'; }
BATCHES=("Move 2026" "Expired 2026" "Exported 2026" "IMAP 2026" "IMAP CA 2026" "Mailing 2026")
for b in "${BATCHES[@]}"; do
    PASSDROP_DATA_DIR=$W/scratch "$OLD" export "$b" --out "$W/expected/$(slug "$b").csv" \
        --passphrase-file "$PASSPHRASE_FILE"
done
cmp "$W/expected/exported-2026.csv" "$W/exported-once.csv" || die "two exports differ"
PASSDROP_DATA_DIR=$W/scratch "$OLD" batch message "Mailing 2026" >"$W/expected/mailing-message.txt"

# Every password this script submitted is in the old export, byte for byte.
while IFS=$'\t' read -r kind b email _ _ pw _; do
    [[ $kind == user && $pw != - ]] || continue
    printf '%s' "$pw" | base64 -d >"$W/pw"
    python3 - "$W/expected/$(slug "$b").csv" "$email" "$W/pw" <<'EOF' || die "$email's password"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))
pw = open(sys.argv[3], encoding='utf-8', newline='').read()
i = rows[0].index('Password')
assert [r[i] for r in rows[1:] if r[0] == sys.argv[2]] == [pw], sys.argv[2]
EOF
done <"$EXPECTED"

# --------------------------------------------------------------- EXPECTED.txt
{
    echo "# The upgrade fixture: a data directory written by passdrop 8d15076, made by"
    echo "# scripts/make-upgrade-fixture.sh. Tab-separated; read by tests/api/upgrade.rs."
    echo "#"
    echo "# made_at   Unix seconds when the fixture was finished (the test moves every"
    echo "#           stored time forward by now - made_at before it opens the copy)"
    echo "# relay     host port security user (password in relay/password.txt)"
    echo "# batch     name id live|purged recipients submitted list-state export-file|-"
    echo "# user      batch email status(batch status) reads-mail password(base64)|- console-word detail"
    echo "# link      batch email token live|used|revoked|replaced|locked|expired|purged"
    echo "#           and the HTTP status a GET got from 8d15076 (- for live links, never opened)"
    printf 'made_at\t%s\n' "$MADE_AT"
    printf 'relay\t127.0.0.1\t%s\tstarttls\trelay-user\n' "$RELAY_PORT"
    db=$W/data/passdrop.sqlite3
    for b in "${BATCHES[@]}"; do
        state=collecting
        [[ $b == "Expired 2026" ]] && state=expired
        printf 'batch\t%s\t%s\tlive\t%s\t%s\t%s\t%s\n' "$b" "$(batch_id "$b")" \
            "$(sqlite3 "$db" "SELECT COUNT(*) FROM recipients r JOIN batches b ON b.id = r.batch_id WHERE b.name = '$b'")" \
            "$(sqlite3 "$db" "SELECT COUNT(*) FROM submissions s JOIN recipients r ON r.id = s.recipient_id JOIN batches b ON b.id = r.batch_id WHERE b.name = '$b'")" \
            "$state" "expected/$(slug "$b").csv"
    done
    sqlite3 -separator $'\t' "$db" \
        "SELECT 'batch', name, batch_id, 'purged', recipients, submitted, 'purged', '-' FROM tombstones ORDER BY name"
    grep -v '^#' "$EXPECTED" | grep -v '^$' || true
} >"$W/EXPECTED.final"

# ----------------------------------------------------------------------- output
mkdir -p "$OUT/relay"
install -d -m 0700 "$OUT/data"
install -m 0600 "$W/data/passdrop.sqlite3" "$OUT/data/passdrop.sqlite3"
cp "$PASSPHRASE_FILE" "$OUT/passphrase.txt"
cp -r "$W/expected" "$OUT/expected"
cp "$W/relay/ca.pem" "$W/relay/cert.pem" "$W/relay/key.pem" "$W/relay/password.txt" "$OUT/relay/"
[[ $(realpath -m "$OUT/relay/relay.py") == "$RELAY_PY" ]] || cp "$RELAY_PY" "$OUT/relay/"
cp "$W/EXPECTED.final" "$OUT/EXPECTED.txt"
say "done: $OUT ($(du -sh "$OUT" | cut -f1))"
