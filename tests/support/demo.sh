#!/usr/bin/env bash
# demo.sh BUILD_DIR - `make run`: a complete local ticketd on loopback.
#
# Starts, all under one temp directory and on free 127.0.0.1 ports:
#   Dovecot (IMAP + LMTP, one mailbox user "support"),
#   an SMTP catcher (aiosmtpd: every notification becomes a file),
#   ticketd serve with the embedded SQLite store,
# seeds an admin and an agent, prints the URLs, logins and curl lines to
# try, delivers one customer mail so a ticket appears, and waits. Ctrl-C
# stops everything (and removes the directory unless DEMO_KEEP=1).
#
# DEMO_EXIT_AFTER_READY=1 stops right after the sample ticket appeared
# (exit 0) or did not (exit 1): for a quick check without a terminal.
# Only what the build registers runs: without the mail gateway, the
# sample mail waits in the mailbox and a ticket is opened over the API.
# DEMO_SLA_CONF=FILE: [sla]/[calendar] sections to use instead of the
# demo's round-the-clock policies (tests/web/run.sh: due in a second).
set -euo pipefail

BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "$BUILD" 2>/dev/null && pwd)/ticketd
PY=/usr/bin/python3 # Debian's: aiosmtpd is a Debian package
[ -x "$BIN" ] || { echo "demo: no $BIN (run make first)" >&2; exit 1; }

RUN=$(mktemp -d "${TMPDIR:-/tmp}/ticketd-demo.XXXXXX")
chmod 755 "$RUN"
PIDS=()
TICKETD_PID=
say() { printf '\033[1m%s\033[0m\n' "$*"; }
now_ms() { date +%s%3N; }
alive() { kill -0 "$1" 2>/dev/null; }

# Stops what we started, newest first: TERM, then KILL after a bounded wait.
cleanup() {
    local rc=$?
    trap - INT TERM EXIT
    [ -n "$TICKETD_PID" ] && PIDS=("$TICKETD_PID" "${PIDS[@]}")
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
        alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "${DEMO_KEEP:-0}" = 1 ]; then
        echo "demo: stopped; everything is kept in $RUN"
    else
        rm -rf "$RUN"
        echo "demo: stopped and cleaned up"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_port PORT PID WHAT: until 127.0.0.1:PORT accepts (max 15 s)
wait_port() {
    local t0; t0=$(now_ms)
    while ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
        alive "$2" || { echo "demo: $3 exited during start-up:" >&2; tail -5 "$RUN/$3.log" >&2; exit 1; }
        [ $(( $(now_ms) - t0 )) -lt 15000 ] || { echo "demo: $3 not up after 15 s" >&2; exit 1; }
        sleep 0.05
    done
}
random_secret() { head -c 36 /dev/urandom | base64 | tr -d '\n/+='; }

IMAP_PORT=$(free_port); LMTP_PORT=$(free_port); SMTP_PORT=$(free_port); API_PORT=${DEMO_API_PORT:-$(free_port)}
API=http://127.0.0.1:$API_PORT

# ---- Dovecot: the harness's config template, rendered for this run ----
mkdir -p "$RUN"/{dovecot/base,dovecot/state,mail,home,outbox/new,outbox/cur,outbox/tmp}
if [ "$(id -u)" = 0 ]; then # mail processes may not run as root
    LOGIN_USER=dovenull INTERNAL_USER=dovecot INTERNAL_GROUP=dovecot MAIL_UID=65534 MAIL_GID=65534
    chown "$MAIL_UID:$MAIL_GID" "$RUN/mail" "$RUN/home"
    chmod 755 "$RUN/dovecot"
else
    LOGIN_USER=$(id -un) INTERNAL_USER=$(id -un) INTERNAL_GROUP=$(id -gn) MAIL_UID=$(id -u) MAIL_GID=$(id -g)
fi
sed -e "s|@DIR@|$RUN|g" -e "s|@INSTANCE@|ticketd-demo-$$|g" -e "s|@IMAP_PORT@|$IMAP_PORT|g" \
    -e "s|@LMTP_PORT@|$LMTP_PORT|g" -e "s|@LOGIN_USER@|$LOGIN_USER|g" \
    -e "s|@INTERNAL_USER@|$INTERNAL_USER|g" -e "s|@INTERNAL_GROUP@|$INTERNAL_GROUP|g" \
    -e "s|@MAIL_UID@|$MAIL_UID|g" -e "s|@MAIL_GID@|$MAIL_GID|g" \
    "$ROOT/tests/support/dovecot.conf.in" > "$RUN/dovecot.conf"
printf 'support:{PLAIN}support::::::\n' > "$RUN/dovecot/users"
chmod 644 "$RUN/dovecot/users"
/usr/sbin/dovecot -F -c "$RUN/dovecot.conf" > "$RUN/dovecot.log" 2>&1 &
PIDS+=($!)
wait_port "$IMAP_PORT" "$!" dovecot

# ---- SMTP catcher: one file per mail ticketd sends ----
"$PY" -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Mailbox "$RUN/outbox" \
    > "$RUN/smtp.log" 2>&1 &
PIDS+=($!)
wait_port "$SMTP_PORT" "$!" smtp

# ---- config ----
CONF=$RUN/ticketd.conf
random_secret > "$RUN/jwt_secret"
random_secret > "$RUN/reply_secret"
cat > "$CONF" <<EOF
# Written by tests/support/demo.sh; every option is in docker/ticketd.conf.example.
[store]
uri = sqlite:$RUN/ticketd.db
[log]
level = info
[api]
bind = 127.0.0.1
port = $API_PORT
jwt_secret_file = $RUN/jwt_secret
[notify]
support_address = support@localhost
console_url = $API/
reply_secret_file = $RUN/reply_secret
builtin_templates_dir = $ROOT/templates
poll_ms = 500
[smtp]
url = smtp://127.0.0.1:$SMTP_PORT
starttls = no
[webhooks]
# The demo's webhook receivers run on this machine (README walkthrough);
# never set this in production (SSRF protection).
allow_private_addresses = yes
EOF
# SLA targets per priority, round the clock (docs/desk.md); escalations go
# to the ticket's history only (no escalate_to).
if [ -n "${DEMO_SLA_CONF:-}" ]; then
    cat "$DEMO_SLA_CONF" >> "$CONF"
else
    cat >> "$CONF" <<EOF
[sla normal]
priority = normal
first_response = 4h
resolution = 2d
[sla high]
priority = high
first_response = 1h
resolution = 1d
[sla urgent]
priority = urgent
first_response = 30m
resolution = 4h
EOF
fi
# The mailbox, if this build has the mail gateway (otherwise its keys are
# unknown and check-config says so).
cp "$CONF" "$CONF.base"
cat >> "$CONF" <<EOF
[mailgw]
support_addresses = support@localhost
[mailbox support]
host = 127.0.0.1
port = $IMAP_PORT
tls = none
user = support
password = support
address = support@localhost
queue = support
EOF
MAILGW=1
if ! "$BIN" --config "$CONF" check-config > "$RUN/check.log" 2>&1; then
    MAILGW=0
    cp "$CONF.base" "$CONF"
    "$BIN" --config "$CONF" check-config > "$RUN/check.log" 2>&1 || { cat "$RUN/check.log" >&2; exit 1; }
fi

# ---- users ----
printf 'admin password 1\n' | "$BIN" --config "$CONF" user add --email admin@localhost --name "Ada Admin" --role admin --password-stdin > /dev/null
printf 'agent password 1\n' | "$BIN" --config "$CONF" user add --email agent@localhost --name "Alan Agent" --role agent --password-stdin > /dev/null

# ---- ticketd ----
"$BIN" --config "$CONF" serve 2> >(tee "$RUN/ticketd.log" >&2) &
TICKETD_PID=$!
t0=$(now_ms)
until curl -fsS -o /dev/null "$API/healthz" 2>/dev/null; do
    alive "$TICKETD_PID" || { echo "demo: ticketd exited" >&2; exit 1; }
    [ $(( $(now_ms) - t0 )) -lt 15000 ] || { echo "demo: ticketd not up after 15 s" >&2; exit 1; }
    sleep 0.1
done

login() { # login EMAIL PASSWORD -> access token
    curl -fsS "$API/api/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"email\":\"$1\",\"password\":\"$2\"}" |
        "$PY" -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}
TOKEN=$(login admin@localhost 'admin password 1')

# ---- one customer mail, delivered as an MTA would (LMTP) ----
"$PY" - "$LMTP_PORT" <<'PY'
import smtplib, sys, email.utils
msg = """From: Carla Customer <carla@example.org>
To: support@localhost
Subject: My printer is on fire
Message-ID: %s
Date: %s
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello support,

since this morning my printer prints only the word "fire" and then
smells like it. What can I do?

Carla
""" % (email.utils.make_msgid(domain="example.org"), email.utils.formatdate())
with smtplib.LMTP("127.0.0.1", int(sys.argv[1]), timeout=10) as s:
    s.sendmail("carla@example.org", ["support@localhost"], msg.replace("\n", "\r\n").encode())
PY
if [ "$MAILGW" = 0 ]; then
    echo "demo: this build has no mail gateway; the sample mail waits in the mailbox, opening its ticket over the API"
    curl -fsS -o /dev/null "$API/api/v1/tickets" -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' \
        -d '{"subject":"My printer is on fire","body":"Since this morning it prints only the word fire."}'
fi
TICKETS=""
t0=$(now_ms)
while [ $(( $(now_ms) - t0 )) -lt 15000 ]; do
    TICKETS=$(curl -fsS "$API/api/v1/tickets" -H "Authorization: Bearer $TOKEN" || true)
    case "$TICKETS" in *'"number"'*) break ;; esac
    sleep 0.2
done

cat <<EOF

$(say "ticketd demo is running")
  console      $API/    (sign in as below)
  API          $API/api/v1/    (OpenAPI: $API/api/v1/openapi.json)
  health       $API/healthz   $API/readyz   $API/metrics
  IMAP         imap://127.0.0.1:$IMAP_PORT  user support / password support (deliver: LMTP port $LMTP_PORT)
  SMTP catcher 127.0.0.1:$SMTP_PORT -> sent notifications in $RUN/outbox/new/
  logins       admin@localhost / 'admin password 1'    agent@localhost / 'agent password 1'
  config       $CONF (mail gateway: $([ "$MAILGW" = 1 ] && echo on || echo "not in this build"))

$(say "Try")
  TOKEN=\$(curl -s $API/api/v1/auth/login -H 'Content-Type: application/json' \\
      -d '{"email":"agent@localhost","password":"agent password 1"}' | $PY -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -s $API/api/v1/tickets -H "Authorization: Bearer \$TOKEN"
  curl -s $API/api/v1/tickets/1/comments -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
      -d '{"body":"Unplug it first, please."}'
  ls $RUN/outbox/new/                  # the notifications ticketd sent

EOF
if [[ "$TICKETS" == *'"number"'* ]]; then
    say "The sample customer mail became:"
    printf '%s\n' "$TICKETS" | "$PY" -c '
import json, sys
for t in json.load(sys.stdin)["items"]:
    print("  #%s  %-10s %s" % (t["number"], t["status"], t["subject"]))'
    READY=0
else
    echo "demo: no ticket appeared within 15 s (see $RUN/ticketd.log)" >&2
    READY=1
fi
if [ -n "${DEMO_INFO:-}" ]; then # for tests/web/run.sh: where everything is
    printf 'RUN=%s\nAPI=%s\nLMTP_PORT=%s\nIMAP_PORT=%s\nREADY=%s\n' "$RUN" "$API" "$LMTP_PORT" "$IMAP_PORT" "$READY" > "$DEMO_INFO.tmp"
    mv "$DEMO_INFO.tmp" "$DEMO_INFO"
fi
if [ "${DEMO_EXIT_AFTER_READY:-0}" = 1 ]; then
    exit "$READY"
fi
say "Ctrl-C stops everything."
wait "$TICKETD_PID"
