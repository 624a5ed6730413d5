#!/usr/bin/env bash
# lint.sh [TICKETD_BINARY] - checks the deployment files without a Docker
# engine (none runs on the build machines). Run by
# tests/docker/test_deploy_files.c; prints one line per check and exits
# non-zero if any failed. A check whose tool is missing says "skip".
#
#  - Dockerfile: every COPY source exists; every RUN parses as sh; every
#    apt package it names exists in Debian (apt-cache, when lists exist);
#    the runtime stage installs the package of every library the built
#    ticketd links directly (from BINARY's NEEDED entries and dpkg -S).
#  - compose.yml: parses (python3-yaml); every file it mounts exists or
#    is made by gen-secrets.sh; every service has an image or a build
#    whose Dockerfile exists; ticketd waits for a healthy MongoDB.
#  - ticketd.service: systemd-analyze verify (binary path substituted).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${1:-}
failed=0
ok()   { echo "ok   $*"; }
bad()  { echo "FAIL $*"; failed=1; }
skip() { echo "skip $*"; }

# ---- Dockerfile ------------------------------------------------------------
df="$here/Dockerfile"
# Joined logical lines (continuations folded).
logical=$(sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' "$df" | grep -v '^[[:space:]]*#')

while read -r src; do
    [ -e "$root/$src" ] && ok "COPY source $src" || bad "COPY source $src does not exist"
done < <(printf '%s\n' "$logical" | awk '$1 == "COPY" && $2 !~ /^--from/ { for (i = 2; i < NF; i++) print $i }')

n=0
while IFS= read -r cmd; do
    n=$((n + 1))
    if sh -n -c "$cmd" 2>/dev/null; then ok "RUN #$n parses"; else bad "RUN #$n: sh -n fails: $cmd"; fi
done < <(printf '%s\n' "$logical" | sed -n 's/^RUN[[:space:]]\+//p')

# apt packages per stage: the words after "install ... --no-install-recommends"
stage_pkgs() { # $1 = stage number (1 = build, 2 = run)
    printf '%s\n' "$logical" | awk -v want="$1" '
        $1 == "FROM" { stage++ }
        stage == want && $1 == "RUN" && /apt-get install/ {
            s = $0; sub(/.*--no-install-recommends/, "", s); sub(/&&.*/, "", s); print s }' |
        tr ' ' '\n' | grep -v '^$'
}
# Packages and, as far as they are installed here, all they depend on.
closure() {
    local todo="$*" seen=" " p deps
    while [ -n "$todo" ]; do
        set -- $todo; p=$1; shift; todo="$*"
        case "$seen" in *" $p "*) continue ;; esac
        seen="$seen$p "
        deps=$(dpkg-query -W -f='${Depends} ${Pre-Depends}' "$p" 2>/dev/null |
               tr ',|' '\n\n' | sed 's/(.*//; s/:any//; s/[[:space:]]//g' | grep -v '^$')
        todo="$todo $deps"
    done
    printf '%s\n' $seen
}
build_pkgs=$(stage_pkgs 1)
run_pkgs=$(stage_pkgs 2)
[ -n "$build_pkgs" ] && [ -n "$run_pkgs" ] && ok "two stages with apt installs" || bad "cannot find the apt installs of both stages"
if command -v apt-cache >/dev/null && apt-cache show libc6 >/dev/null 2>&1; then
    # One apt-cache call: the packages that have an installation candidate.
    known=$(apt-cache policy $build_pkgs $run_pkgs 2>/dev/null |
            awk '/^[^ ].*:$/ { p = substr($0, 1, length($0) - 1) }
                 /^  Candidate:/ && $2 != "(none)" { print p }')
    missing=""
    for p in $build_pkgs $run_pkgs; do
        printf '%s\n' "$known" | grep -qx "$p" || missing="$missing $p"
    done
    [ -z "$missing" ] && ok "every apt package exists in Debian" || bad "unknown apt packages:$missing"
else
    skip "apt package names (no apt lists: run apt-get update)"
fi
if [ -n "$bin" ] && [ -x "$bin" ] && command -v dpkg >/dev/null && command -v objdump >/dev/null; then
    # What the runtime stage gets: its packages and, when apt knows them,
    # everything they depend on (a build that links an indirect library
    # directly, as SAN=1 does, is still served).
    have=$(closure $run_pkgs)
    need=""
    for lib in $(objdump -p "$bin" | awk '$1 == "NEEDED" { print $2 }'); do
        path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
        [ -n "$path" ] || { bad "cannot find $lib"; continue; }
        pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
        [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)
        case "$pkg" in libc6|libgcc-s1|libasan*|libubsan*|liblsan*|libtsan*|"") continue ;; esac  # in every image; sanitizer runtimes (SAN=1 builds)
        printf '%s\n' "$have" | grep -qx "$pkg" || need="$need $pkg($lib)"
    done
    [ -z "$need" ] && ok "runtime stage installs every library ticketd links" ||
        bad "runtime stage lacks:$need"
else
    skip "runtime libraries (no binary given, or no dpkg/objdump)"
fi
grep -q '^USER ticketd' "$df" && ok "runs as the unprivileged user ticketd" || bad "no USER ticketd"

# ---- compose.yml ---------------------------------------------------------------
if /usr/bin/python3 -c 'import yaml' 2>/dev/null; then
    if /usr/bin/python3 - "$here" <<'PY'
import os, sys, yaml
here = sys.argv[1]
doc = yaml.safe_load(open(os.path.join(here, "compose.yml")))
errors = []
services = doc.get("services") or {}
for need in ("mongo", "ticketd", "dovecot", "mailpit"):
    if need not in services:
        errors.append(f"no service {need}")
made_by_gen_secrets = {"./secrets/jwt_secret", "./secrets/reply_secret"}
for name, s in services.items():
    if "image" not in s and "build" not in s:
        errors.append(f"{name}: neither image nor build")
    b = s.get("build")
    if b:
        df = os.path.join(here, b.get("context", "."), b.get("dockerfile", "Dockerfile"))
        if not os.path.exists(df):
            errors.append(f"{name}: no {df}")
    for v in s.get("volumes", []):
        src = v.split(":")[0]
        if src.startswith(".") and not os.path.exists(os.path.join(here, src)):
            errors.append(f"{name}: volume source {src} does not exist")
    for sec in s.get("secrets", []):
        if sec not in (doc.get("secrets") or {}):
            errors.append(f"{name}: undeclared secret {sec}")
for name, sec in (doc.get("secrets") or {}).items():
    f = sec.get("file", "")
    if f not in made_by_gen_secrets and not os.path.exists(os.path.join(here, f)):
        errors.append(f"secret {name}: {f} is neither there nor made by gen-secrets.sh")
dep = services.get("ticketd", {}).get("depends_on", {})
if not isinstance(dep, dict) or dep.get("mongo", {}).get("condition") != "service_healthy":
    errors.append("ticketd does not wait for a healthy mongo")
if "--replSet" not in services.get("mongo", {}).get("command", []):
    errors.append("mongo is not started as a replica set")
for e in errors:
    print("  " + e)
sys.exit(1 if errors else 0)
PY
    then ok "compose.yml parses and is consistent"; else bad "compose.yml"; fi
else
    skip "compose.yml (no python3-yaml)"
fi

# ---- systemd unit ---------------------------------------------------------------
if command -v systemd-analyze >/dev/null && [ -n "$bin" ] && [ -x "$bin" ]; then
    tmp=$(mktemp -d)
    sed "s|/usr/bin/ticketd|$bin|g" "$here/ticketd.service" > "$tmp/ticketd.service"
    if out=$(systemd-analyze verify "$tmp/ticketd.service" 2>&1) && [ -z "$out" ]; then
        ok "ticketd.service: systemd-analyze verify"
    else
        bad "ticketd.service: $out"
    fi
    rm -rf "$tmp"
else
    skip "ticketd.service (no systemd-analyze or no binary)"
fi

exit $failed
