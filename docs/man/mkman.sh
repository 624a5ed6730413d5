#!/bin/sh
# mkman.sh TICKETD EXAMPLE_CONF OUTDIR - writes OUTDIR/ticketd.8
# and OUTDIR/ticketd.conf.5 (roff) from the two sources a user already
# reads, so the pages cannot drift from them:
#   ticketd.8       from `ticketd --help` and each command's `--help`
#                   (run from the built binary), plus the fixed sections
#                   below (files, signals, see also);
#   ticketd.conf.5  from docker/ticketd.conf.example: its header becomes
#                   the description, each [section] a subsection, each
#                   "key = value" or "#key = default" line an entry with
#                   its comments.
# POSIX sh, sed and awk only (Debian's base system); run by `make`.
# tests/cli/test_install.c checks that every command and every key is in
# the pages and that man(1) renders them without warnings.
set -eu
bin=$1; example=$2; out=$3
mkdir -p "$out"
version=$("$bin" --version | sed -n '1s/^ticketd \([^ ]*\).*/\1/p')
date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(stat -c %Y "$example")}" +%Y-%m-%d 2>/dev/null || date -u +%Y-%m-%d)

# roff-safe text: backslashes, and a leading . or ' would be a request.
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/" -e 's/-/\\-/g'; }

# ---- ticketd.8 -------------------------------------------------------------
{
    echo ".TH TICKETD 8 \"$date\" \"ticketd $version\" \"System Administration\""
    echo ".SH NAME"
    echo "ticketd \\- email\\-driven support ticketing daemon"
    echo ".SH SYNOPSIS"
    echo ".B ticketd"
    echo "[\\fB\\-\\-config\\fR \\fIFILE\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]"
    echo ".SH DESCRIPTION"
    echo "ticketd turns mail to a support address (fetched over IMAP) into tickets"
    echo "and replies into comments, serves a REST API to work them, and sends"
    echo "notifications over SMTP. One binary; the commands below run the daemon"
    echo "or administer it. The configuration is described in"
    echo ".BR ticketd.conf (5)."
    echo ".SH USAGE"
    echo ".nf"
    "$bin" --help | esc
    echo ".fi"
    echo ".SH COMMANDS"
    # the command names of the usage's "commands:" block
    for cmd in $("$bin" --help | sed -n '/^commands:/,/^[^ ]/p' |
                 sed -n 's/^  \([a-z][a-z|  -]*[a-z]\).*/\1/p' | sed 's/  .*//; s/|/ /g'); do
        case $cmd in --*) continue ;; esac
        echo ".SS $cmd"
        echo ".nf"
        "$bin" "$cmd" --help | esc
        echo ".fi"
    done
    cat <<ROFF
.SH SIGNALS
.TP
.B SIGTERM\fR, \fBSIGINT
stop accepting work, finish the requests and the mail in flight, exit 0.
.TP
.B SIGHUP
reload the templates, the log level and the TLS certificate.
.SH FILES
.TP
.I /etc/ticketd/ticketd.conf
the configuration (or \fB\-\-config\fR, or \fBTICKETD_CONFIG\fR).
.TP
.IR PREFIX /share/ticketd/templates
the built\-in notification templates, found next to the binary
(\fI../share/ticketd/templates\fR) unless \fB[notify] builtin_templates_dir\fR says otherwise.
.TP
.IR PREFIX /share/doc/ticketd/ticketd.conf.example
every option with its default.
.PP
.I PREFIX
is where \fBmake install\fR put ticketd: \fI/usr/local\fR unless told otherwise.
.TP
.I /var/lib/ticketd
the state directory of the systemd unit (the SQLite database).
.SH SEE ALSO
.BR ticketd.conf (5),
.BR systemctl (1),
.BR journalctl (1),
.BR sqlite3 (1),
.BR mongodump (1)
ROFF
} > "$out/ticketd.8.tmp"
mv "$out/ticketd.8.tmp" "$out/ticketd.8"

# ---- ticketd.conf.5 --------------------------------------------------------
{
    echo ".TH TICKETD.CONF 5 \"$date\" \"ticketd $version\" \"File Formats\""
    echo ".SH NAME"
    echo "ticketd.conf \\- configuration of ticketd"
    echo ".SH DESCRIPTION"
    awk '
        function esc(s) {
            gsub(/\\/, "\\e", s); gsub(/-/, "\\-", s)
            if (s ~ /^[.'"'"']/) s = "\\&" s
            return s
        }
        function flush_pre() { if (pre) { print ".fi"; pre = 0 } }
        # header: the comment block before the first [section]
        !insec && /^\[/ { insec = 1 }
        !insec {
            line = $0; sub(/^# ?/, "", line)
            if (line ~ /^Kept true by tests/) { skip = 1 }
            if (skip) next
            if (line ~ /^  /) { if (!pre) { print ".nf"; pre = 1 } print esc(line); next }
            flush_pre()
            if (line == "") print ".PP"; else print esc(line)
            next
        }
        /^\[/ {
            flush_pre()
            if (!started) { print ".SH OPTIONS"; started = 1 }
            print ".SS " esc($0)
            item = 0
            next
        }
        /^[[:space:]]*$/ { flush_pre(); next }
        # "key = value  # comment" or "#key = default  # comment"
        /^#?[a-z_][a-z0-9_]* *=/ {
            flush_pre()
            line = $0; sub(/^#/, "", line)
            comment = ""
            if (match(line, /[ \t]#/)) { comment = substr(line, RSTART + 1); line = substr(line, 1, RSTART - 1); sub(/^# */, "", comment) }
            key = line; sub(/ *=.*/, "", key)
            val = line; sub(/^[^=]*= */, "", val); sub(/[ \t]+$/, "", val)
            print ".TP"
            if (val == "") print "\\fB" esc(key) "\\fR ="
            else print "\\fB" esc(key) "\\fR = \\fI" esc(val) "\\fR"
            if (comment != "") print esc(comment)
            item = 1
            next
        }
        # an indented continuation of the comment above
        /^[ \t]+#/ { line = $0; sub(/^[ \t]+# */, "", line); print esc(line); next }
        /^#/ {
            line = $0; sub(/^# ?/, "", line)
            if (line ~ /^  /) { if (!pre) { print ".nf"; pre = 1 } print esc(line); next }
            flush_pre()
            if (item) { print ".PP"; item = 0 }
            print esc(line)
            next
        }
        END { flush_pre() }
    ' "$example"
    cat <<ROFF
.SH ENVIRONMENT
Every key \fB[\fIsection\fB] \fIkey\fR can be set by the variable
\fBTICKETD_\fISECTION\fB_\fIKEY\fR (upper case; spaces, dots and dashes as
underscores), which wins over the file; \fBTICKETD_CONFIG\fR names the file.
A \fBTICKETD_\fR variable that is no key is an error, like an unknown key.
.SH SEE ALSO
.BR ticketd (8)
ROFF
} > "$out/ticketd.conf.5.tmp"
mv "$out/ticketd.conf.5.tmp" "$out/ticketd.conf.5"
