#!/bin/sh
# mkdeb.sh ROOT BINARY VERSION OUTDIR - turns a `make install DESTDIR=ROOT
# PREFIX=/usr` tree into OUTDIR/ticketd_VERSION_ARCH.deb with dpkg-deb,
# offline (run by `make deb`):
#   - Depends: the Debian package of every library the binary links
#     directly (objdump NEEDED -> dpkg -S), at least the version installed
#     here, plus adduser for the maintainer script;
#   - /etc/ticketd/ticketd.conf is a conffile (an edited config survives
#     upgrades); man pages and the changelog gzipped -9n;
#   - postinst creates the system user ticketd and /var/lib/ticketd, and
#     reloads systemd; the service is enabled but not started (it needs
#     its secrets and a mailbox first: README "Production").
# Debian tools only (dpkg, dpkg-deb, objdump, gzip).
set -eu
root=$1; bin=$2; version=$3; out=$4
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
deps="libc6, $deps"

# man pages and docs compressed as Debian policy asks
find "$root/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} \;
cat > "$root/usr/share/doc/ticketd/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ticketd
Comment: built from the ticketd source tree by make deb.
EOF
printf 'ticketd (%s) unstable; urgency=medium\n\n  * Built by make deb.\n\n -- ticketd maintainers <root@localhost>  %s\n' \
    "$version" "$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")" | gzip -9n > "$root/usr/share/doc/ticketd/changelog.gz"

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<EOF
Package: ticketd
Version: $version
Architecture: $arch
Maintainer: ticketd maintainers <root@localhost>
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
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload || true
        systemctl enable ticketd.service >/dev/null 2>&1 || true
    fi
fi
exit 0
EOF
cat > "$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    systemctl stop ticketd.service || true
fi
exit 0
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm"
dpkg-deb --root-owner-group -Zgzip --build "$root" "$out/ticketd_${version}_${arch}.deb"
