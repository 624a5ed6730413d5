#!/usr/bin/env bash
# tests/web/run.sh BUILD_DIR - the browser tests of the web console:
# starts the demo stack (tests/support/demo.sh: Dovecot, the SMTP sink and
# `ticketd serve` with a customer mail already in), runs
# tests/web/console.test.mjs in Debian's chromium through playwright-core
# (node's test runner), stops everything. Ends with node's summary
# ("# pass N", "# fail N"), which tests/run.sh adds to its own.
# Every wait is bounded; exit status 0 only when every test passed.
set -u
build=${1:?usage: run.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" && pwd)
out="$build/web-test"
mkdir -p "$out"
rm -f "$out/demo.info"

if [ ! -x /usr/bin/chromium ] || [ ! -d "$root/tests/web/node_modules/playwright-core" ]; then
    echo "tests/web: chromium or node_modules missing (make deps installs them)"
    echo "# pass 0"
    echo "# fail 1"
    exit 1
fi

# One ticket by mail per sender: the customer's second mail is quarantined
# for the admin story. SLA policies from tests/web/sla.conf: priority high
# is due a second after opening, so a story can make a ticket overdue
# without waiting.
TICKETD_MAILGW_RATE_LIMIT=1 DEMO_INFO="$out/demo.info" DEMO_API_PORT= \
    DEMO_SLA_CONF="$root/tests/web/sla.conf" bash "$root/tests/support/demo.sh" "$build" \
    < /dev/null > "$out/demo.log" 2>&1 &
demo=$!
stop_demo() {
    kill -TERM "$demo" 2>/dev/null
    for _ in $(seq 1 150); do kill -0 "$demo" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$demo" 2>/dev/null
    wait "$demo" 2>/dev/null
}
trap stop_demo EXIT
for _ in $(seq 1 600); do
    [ -f "$out/demo.info" ] && break
    kill -0 "$demo" 2>/dev/null || break
    sleep 0.1
done
if [ ! -f "$out/demo.info" ]; then
    echo "tests/web: the demo stack did not come up; log: $out/demo.log"
    tail -20 "$out/demo.log"
    echo "# pass 0"
    echo "# fail 1"
    exit 1
fi
# shellcheck disable=SC1091
. "$out/demo.info"
cd "$root/tests/web" || exit 1
API=$API RUN=$RUN LMTP_PORT=$LMTP_PORT OUT=$out \
    timeout -k 10 240 node --test --test-concurrency=1 --test-reporter=tap console.test.mjs
rc=$?
exit $rc
