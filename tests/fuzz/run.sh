#!/usr/bin/env bash
# run.sh [SECONDS] - builds tests/fuzz/fuzz_mail.c with clang's libFuzzer,
# ASan and UBSan, and fuzzes it for SECONDS (default 30), seeded from
# tests/data/mail. Exit status: 0 when nothing was found. Run from the
# repository root; the build goes to ${BUILD:-build-fuzz}.
set -euo pipefail
secs=${1:-30}
build=${BUILD:-build-fuzz}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mkdir -p "$build/corpus"
cflags="-std=c11 -D_GNU_SOURCE -g -O1 -I. -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
pkgs="libetpan gumbo libsodium"
libs="$(pkg-config --libs $pkgs | sed 's/-specs=[^ ]*//g')"
core="core/buf.c core/mem.c core/strv.c core/text.c core/err.c"
mailgw="mailgw/mime.c mailgw/mime_header.c mailgw/mime_part.c mailgw/mime_dsn.c mailgw/charset.c mailgw/rfc2047.c mailgw/html_text.c
        mailgw/quote.c mailgw/thread.c mailgw/loop.c mailgw/trust.c"
# thread.c links against store.h types only through thread_resolve, which
# the target does not call: stub the store symbols it references.
cat > "$build/stubs.c" <<'STUBS'
#include "core/model.h"
void ticket_clear(struct td_ticket *t) { (void)t; }
STUBS
clang $cflags -o "$build/fuzz_mail" tests/fuzz/fuzz_mail.c $core $mailgw "$build/stubs.c" $libs
cp tests/data/mail/*.eml tests/fuzz/regressions/* "$build/corpus/" 2>/dev/null || true
# A finding lands in $build/crash-*: add it to tests/fuzz/regressions/ (test_mime
# replays every file there) together with the fix.
"$build/fuzz_mail" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$build/" -print_final_stats=1 "$build/corpus"
