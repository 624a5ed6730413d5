#!/bin/sh
# mkdeb.sh ROOT BINARY VERSION OUTDIR [MAINTAINER] - turns a `make install DESTDIR=ROOT
# PREFIX=/usr` tree into OUTDIR/ticketd_VERSION_ARCH.deb with dpkg-deb,
# offline (run by `make deb`):
#   - Depends: the Debian package of every library the binary links
#     directly (objdump NEEDED -> dpkg -S), at least the version installed
#     here, plus adduser for the maintainer script;
#   - /etc/ticketd/ticketd.conf is a conffile (an edited config survives
#     upgrades); man pages and the changelog gzipped -9n;
#   - postinst creates the system user ticketd and /var/lib/ticketd, and
#     reloads systemd; the service is enabled but not started (it needs
#     its secrets and a mailbox first: README "Production"), through
#     deb-systemd-helper/-invoke as debhelper's scripts do;
#   - the binary stripped as dh_strip does; lintian-clean (tests/cli/
#     test_deb.c runs it) with two overrides that are deliberate: the
#     config holds secrets, so /etc/ticketd is 0750 and the file 0640.
# Debian tools only (dpkg, dpkg-deb, objdump, strip, gzip).
set -eu
root=$1; bin=$2; version=$3; out=$4
maintainer=${5:-ticketd maintainers <ticketd@example.com>}
arch=$(dpkg --print-architecture)
mkdir -p "$out" "$root/DEBIAN" "$root/usr/share/doc/ticketd"

deps="adduser"
for lib in $(objdump -p "$bin" | awk '$1 == "NEEDED" { print $2 }'); do
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
    [ -n "$path" ] || continue
    pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1) || true
    [ -n "$pkg" ] || pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1) || true
    case "$pkg" in ""|libc6|libasan*|libubsan*) continue ;; esac
    ver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null | sed 's/-[^-]*$//')
    case " $deps " in *" $pkg "*) continue ;; esac
    deps="$deps, $pkg (>= $ver)"
done
deps="libc6, tzdata, $deps" # tzdata: the zones of [calendar] (core/tzif.c)

strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/ticketd"

mkdir -p "$root/usr/share/lintian/overrides"
cat > "$root/usr/share/lintian/overrides/ticketd" <<EOF
# The config holds the JWT key, SMTP and IMAP passwords: readable by
# root and the ticketd group only.
ticketd: non-standard-dir-perm 0750 != 0755 [etc/ticketd/]
ticketd: non-standard-file-perm 0640 != 0644 [etc/ticketd/ticketd.conf]
EOF

# man pages and docs compressed as Debian policy asks
find "$root/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} \;
cat > "$root/usr/share/doc/ticketd/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ticketd
Comment: built from the ticketd source tree by make deb.

Files: *
Copyright: 2026 the ticketd authors
License: proprietary
 All rights reserved by the ticketd authors; see the source tree.
EOF
printf 'ticketd (%s) unstable; urgency=medium\n\n  * Built by make deb.\n\n -- %s  %s\n' \
    "$version" "$maintainer" "$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")" | gzip -9n > "$root/usr/share/doc/ticketd/changelog.gz"

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<EOF
Package: ticketd
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: $deps
Section: mail
Priority: optional
Homepage: https://example.com/ticketd
Description: email-driven support ticketing daemon
 ticketd turns mail to a support address (IMAP) into tickets and replies
 into comments, serves a REST API to work them, and sends notifications
 over SMTP from templates. SQLite for one box, MongoDB for several.
EOF
find "$root/etc" -type f | sed "s|^$root||" > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if ! getent passwd ticketd >/dev/null; then
        adduser --system --group --home /var/lib/ticketd --no-create-home ticketd
    fi
    install -d -m 0750 -o ticketd -g ticketd /var/lib/ticketd
    chgrp ticketd /etc/ticketd /etc/ticketd/ticketd.conf
    if command -v deb-systemd-helper >/dev/null; then
        deb-systemd-helper enable ticketd.service >/dev/null || true
    fi
fi
exit 0
EOF
cat > "$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ] && command -v deb-systemd-invoke >/dev/null; then
    deb-systemd-invoke stop ticketd.service >/dev/null || true
fi
exit 0
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm"
dpkg-deb --root-owner-group -Zgzip --build "$root" "$out/ticketd_${version}_${arch}.deb"
