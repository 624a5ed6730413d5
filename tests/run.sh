#!/usr/bin/env bash
# run.sh BUILD_DIR - runs every test binary of one build, each under a
# bounded timeout, and ends with the summary line CI reads:
#   "N passed, N failed"
# A binary that crashes, times out, or prints a sanitizer report counts
# as failed even if cmocka said nothing.
set -u
build=${1:?usage: run.sh BUILD_DIR}
per_test_timeout=${TICKETD_TEST_TIMEOUT:-300}
passed=0; failed=0; failed_names=()
# libmongoc's load-time constructor maps /dev/shm/mongoc-PID for its
# performance counters and prints a warning on stderr when that file is
# left over from a killed process of the same PID (the crash tests kill
# many). Tests compare stderr line by line: no counters, no warning.
export MONGOC_DISABLE_SHM=1
logdir="$build/test-logs"; mkdir -p "$logdir"

for bin in $(find "$build/tests" -type f -name 'test_*' ! -name '*.o' ! -name '*.d' | sort); do
    [ -x "$bin" ] || continue
    name=${bin#"$build/tests/"}
    log="$logdir/${name//\//_}.log"
    start=$(date +%s%N)
    timeout -k 10 "$per_test_timeout" "$bin" >"$log" 2>&1
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    # cmocka: "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)..."
    p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
    f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
    if grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$log"; then
        echo "!! $name: sanitizer report"; f=$((f + 1))
    fi
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "!! $name: exit status $rc"; f=1
    fi
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -gt 0 ]; then
        failed_names+=("$name"); echo "FAIL $name ($p passed, $f failed, ${ms} ms) - log: $log"
        sed -n '1,200p' "$log" | grep -E 'FAIL|ERROR|error|Sanitizer|runtime error|\[  ERROR|assert' | head -40
    else
        echo "ok   $name ($p passed, ${ms} ms)"
    fi
done

# The web console in a real browser (tests/web/run.sh): node's test
# runner counts its tests ("# pass N" / "# fail N"); they count here like
# the C tests. TICKETD_WEB_TESTS=0 leaves them out.
if [ "${TICKETD_WEB_TESTS:-1}" != 0 ] && [ -x tests/web/run.sh ]; then
    log="$logdir/web_console.log"
    start=$(date +%s%N)
    timeout -k 10 "$per_test_timeout" tests/web/run.sh "$build" >"$log" 2>&1
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    p=$(grep -E '^# pass [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
    f=$(grep -E '^# fail [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
    if grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$build/web-test/demo.log" 2>/dev/null; then
        echo "!! web/console: sanitizer report in $build/web-test/demo.log"; f=$((f + 1))
    fi
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "!! web/console: exit status $rc"; f=1
    fi
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -gt 0 ]; then
        failed_names+=("web/console"); echo "FAIL web/console ($p passed, $f failed, ${ms} ms) - log: $log"
        grep -E '^not ok|error:|waiting for' "$log" | head -20
    else
        echo "ok   web/console ($p passed, ${ms} ms)"
    fi
fi

# The OpenAPI document under Redocly's recommended rules (tools/lint,
# installed by `make deps`): one check, passed only with 0 errors and 0
# warnings. A missing linter is a failure: `make deps` installs it.
lint_dir="$(dirname "$0")/../tools/lint"
if [ -x "$lint_dir/node_modules/.bin/redocly" ]; then
    log="$logdir/openapi_lint.log"
    doc="$(cd "$build" && pwd)/api/openapi.json" # merged from api/openapi/*.json by make
    (cd "$lint_dir" && timeout -k 10 "$per_test_timeout" node_modules/.bin/redocly lint \
        --format=stylish "$doc") >"$log" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && ! grep -qE '^ +[0-9]+:[0-9]+ +(error|warning) ' "$log"; then
        passed=$((passed + 1)); echo "ok   openapi_lint (redocly recommended: 0 errors, 0 warnings)"
    else
        failed=$((failed + 1)); failed_names+=("openapi_lint")
        echo "FAIL openapi_lint - log: $log"
        grep -E '^ +[0-9]+:[0-9]+ +(error|warning) ' "$log" | head -40
    fi
else
    failed=$((failed + 1)); failed_names+=("openapi_lint")
    echo "FAIL openapi_lint: no linter in tools/lint (run make deps)"
fi

echo "$build: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
