#!/usr/bin/env bash
# run.sh [SECONDS] [TARGET...] - builds tests/fuzz/fuzz_<target>.c with
# clang's libFuzzer, ASan and UBSan, and fuzzes each target for SECONDS
# (default 30), seeded from every tests/data/mail/*.eml and
# tests/fuzz/regressions/. Targets: mail (MIME and the mail rules),
# request (the API's JSON, multipart, framing and query parsers); default
# both. Exit status: 0 when nothing was found. Run from the repository
# root; the build goes to ${BUILD:-build-fuzz}.
#
# `make check` runs both targets without clang, for a bounded time, through
# the deterministic driver tests/fuzz/test_fuzz.c; this script is the
# coverage-guided run for longer sessions.
set -euo pipefail
secs=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(mail request)
build=${BUILD:-build-fuzz}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
cflags="-std=c11 -D_GNU_SOURCE -g -O1 -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
pkgs="libmongoc-1.0 libbson-1.0 sqlite3 jansson libpcre2-8 libsodium libcurl libjwt libmicrohttpd gumbo libetpan"
cflags="$cflags $(pkg-config --cflags $pkgs | sed 's/-specs=[^ ]*//g')"
libs="$(pkg-config --libs $pkgs | sed 's/-specs=[^ ]*//g') -lpthread -lm"
core=$(ls core/*.c)
for t in "${targets[@]}"; do
    case $t in
    mail) srcs="$core $(ls mailgw/*.c)" ;;
    request) srcs="$core $(ls api/*.c)" ;;
    *) echo "run.sh: unknown target $t" >&2; exit 2 ;;
    esac
    mkdir -p "$build/corpus-$t"
    clang $cflags -o "$build/fuzz_$t" "tests/fuzz/fuzz_$t.c" $srcs $libs
    cp tests/data/mail/*.eml tests/fuzz/regressions/* "$build/corpus-$t/" 2>/dev/null || true
    # A finding lands in $build/crash-*: add it to tests/fuzz/regressions/
    # (test_fuzz and test_mime replay every file there) with the fix.
    "$build/fuzz_$t" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$build/" -print_final_stats=1 "$build/corpus-$t"
done
