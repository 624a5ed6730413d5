# ticketd - one binary, three libraries (core, mailgw, api), tests that
# start real servers. `make` builds, `make run` starts the demo, `make
# check` runs the whole suite (normal build and ASan/UBSan build).

BUILD ?= build
SAN   ?=
CC    ?= cc

# Every package a build or a test needs, installed by `make deps`.
DEB_PKGS = build-essential pkg-config libmongoc-dev libbson-dev libsqlite3-dev \
           libjansson-dev libpcre2-dev libsodium-dev libcurl4-gnutls-dev libjwt-dev \
           libmicrohttpd-dev libetpan-dev libcmocka-dev libgumbo-dev libuchardet-dev libgnutls28-dev \
           python3 python3-mockupdb python3-mongomock python3-pymongo python3-aiosmtpd \
           dovecot-imapd dovecot-lmtpd dovecot-submissiond curl \
           python3-yaml systemd wrk strace openssl libsasl2-modules ca-certificates \
           chromium chromium-driver jq mutt tmux lintian tzdata

PKGS = libmongoc-1.0 libbson-1.0 sqlite3 jansson libpcre2-8 libsodium libcurl libjwt libmicrohttpd gumbo uchardet gnutls
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# libetpan.pc adds a no-PIE specs file: drop it or gcc silently builds non-PIE.
PKG_CFLAGS += $(filter-out -specs=%,$(shell pkg-config --cflags libetpan 2>/dev/null))
PKG_LIBS   += $(filter-out -specs=%,$(shell pkg-config --libs libetpan 2>/dev/null))
TEST_LIBS  := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN    = -Wall -Wextra -Wshadow -Wformat=2 -Wno-format-nonliteral
CFLAGS  = -std=c11 -D_GNU_SOURCE -g -O2 $(WARN) -I. $(PKG_CFLAGS) -MMD -MP
LDLIBS  = $(PKG_LIBS) -lpthread -lm
ifeq ($(SAN),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

CORE_SRC   := $(wildcard core/*.c core/store/*.c core/store/*/*.c)
MAILGW_SRC := $(wildcard mailgw/*.c)
API_SRC    := $(wildcard api/*.c)
NOTIFY_SRC := $(wildcard notify/*.c)
HOOKS_SRC  := $(wildcard hooks/*.c)
CLI_SRC    := $(wildcard cli/*.c)
TSUP_SRC   := $(wildcard tests/support/*.c)
TEST_SRC   := $(wildcard tests/*/test_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
CORE_LIB   = $(BUILD)/libtdcore.a
TSUP_LIB   = $(BUILD)/libtdtest.a
BIN        = $(BUILD)/ticketd
TEST_BINS  = $(patsubst %.c,$(BUILD)/%,$(TEST_SRC))

MANPAGES   = $(BUILD)/man/ticketd.8 $(BUILD)/man/ticketd.conf.5

.PHONY: all deps run check test bench bench-tools clean install uninstall deb
# Keep test objects: without this make deletes them as intermediates and
# relinks every test binary on each run.
.SECONDARY:
all: $(BIN) $(MANPAGES)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(CORE_LIB): $(call obj,$(CORE_SRC))
	@rm -f $@
	ar rcs $@ $^

$(TSUP_LIB): $(call obj,$(TSUP_SRC))
	@mkdir -p $(dir $@); rm -f $@
	$(if $^,ar rcs $@ $^,printf '!<arch>\n' > $@)

# The web console (web/): every served file is embedded in the binary
# with a gzip -9 copy and an ETag (api/web_embed.sh; api/routes_web.c
# serves them at /). Docs and the README are not served.
WEB_FILES := $(sort $(filter-out %.md,$(shell find web -type f 2>/dev/null)))
WEB_OBJ    = $(BUILD)/api/web_assets.o
$(BUILD)/api/web_assets.c: $(WEB_FILES) api/web_embed.sh
	@mkdir -p $(dir $@)
	api/web_embed.sh $@ $(BUILD)/web-gz $(WEB_FILES)
$(WEB_OBJ): $(BUILD)/api/web_assets.c
	$(CC) $(CFLAGS) -c $< -o $@

$(BIN): $(call obj,$(CLI_SRC) $(MAILGW_SRC) $(API_SRC) $(NOTIFY_SRC) $(HOOKS_SRC)) $(WEB_OBJ) $(CORE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TSUP_LIB) $(CORE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

# tests/notify/ link the outbox sender too.
$(BUILD)/tests/notify/%: $(BUILD)/tests/notify/%.o $(call obj,$(NOTIFY_SRC)) $(TSUP_LIB) $(CORE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

# `ticketd --version` names the commit: given to cli/version.c alone, and
# a stamp file that changes only with the commit makes it recompile. A
# tree without git (a release tarball) says "unknown", or what
# TICKETD_COMMIT=... on the make command line says.
TICKETD_COMMIT ?= $(shell git -C $(CURDIR) describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
$(BUILD)/commit.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(TICKETD_COMMIT)' | cmp -s - $@ || echo '$(TICKETD_COMMIT)' > $@
$(BUILD)/cli/version.o: $(BUILD)/commit.stamp
$(BUILD)/cli/version.o: CFLAGS += -DTICKETD_COMMIT='"$(TICKETD_COMMIT)"'
.PHONY: FORCE
FORCE:
# tests/hooks/ link the webhook sender too.
$(BUILD)/tests/hooks/%: $(BUILD)/tests/hooks/%.o $(call obj,$(HOOKS_SRC)) $(TSUP_LIB) $(CORE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

# The OpenAPI document is written in parts (api/openapi/*.json, one
# concept or a run of paths each, merged deeply in name order by jq) and
# the whole is embedded in the binary by api/openapi_doc.c (.incbin).
OPENAPI_PARTS := $(sort $(wildcard api/openapi/*.json))
$(BUILD)/api/openapi.json: $(OPENAPI_PARTS)
	@mkdir -p $(dir $@)
	jq -s 'reduce .[] as $$part ({}; . * $$part)' $(OPENAPI_PARTS) > $@.tmp && mv $@.tmp $@
$(BUILD)/api/openapi_doc.o: $(BUILD)/api/openapi.json
$(BUILD)/api/openapi_doc.o: CFLAGS += -DOPENAPI_JSON='"$(BUILD)/api/openapi.json"'

# tests/api/ link the api/ objects too (route table, JSON parser, JWT).
$(BUILD)/tests/api/%: $(BUILD)/tests/api/%.o $(call obj,$(API_SRC)) $(WEB_OBJ) $(TSUP_LIB) $(CORE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

# tests/mailgw/ link the mail gateway's objects too (MIME, threading, poller).
$(BUILD)/tests/mailgw/%: $(BUILD)/tests/mailgw/%.o $(call obj,$(MAILGW_SRC)) $(TSUP_LIB) $(CORE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

# tests/fuzz/test_fuzz runs both fuzz targets: mail gateway and API parsers.
$(BUILD)/tests/fuzz/%: $(BUILD)/tests/fuzz/%.o $(call obj,$(MAILGW_SRC) $(API_SRC)) $(WEB_OBJ) $(TSUP_LIB) $(CORE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

# Man pages: generated from `ticketd --help` and the example config
# (docs/man/mkman.sh), so they say what the binary and the file say.
$(BUILD)/man/ticketd.8: $(BIN) docs/man/mkman.sh docker/ticketd.conf.example
	sh docs/man/mkman.sh $(BIN) docker/ticketd.conf.example $(BUILD)/man
$(BUILD)/man/ticketd.conf.5: $(BUILD)/man/ticketd.8

# make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc]: the
# binary, the templates (and web/ assets when the tree has them), the
# man pages, the docs with the example config, and the systemd unit
# pointing at this PREFIX. An existing SYSCONFDIR/ticketd/ticketd.conf is
# never overwritten. The binary finds PREFIX/share/ticketd next to itself,
# so the installed tree also runs from under DESTDIR.
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
BINDIR      = $(PREFIX)/bin
DATADIR     = $(PREFIX)/share/ticketd
DOCDIR      = $(PREFIX)/share/doc/ticketd
MANDIR      = $(PREFIX)/share/man
UNITDIR    ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
INSTALL    ?= install
install: $(BIN) $(MANPAGES)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/templates $(DESTDIR)$(DOCDIR) \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(UNITDIR)
	$(INSTALL) -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/ticketd
	$(INSTALL) -m 0644 templates/* $(DESTDIR)$(DATADIR)/templates/
	if [ -d web ]; then cp -R web $(DESTDIR)$(DATADIR)/ && chmod -R u=rwX,go=rX $(DESTDIR)$(DATADIR)/web; fi
	$(INSTALL) -m 0644 $(BUILD)/man/ticketd.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 $(BUILD)/man/ticketd.conf.5 $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 0644 docker/ticketd.conf.example README.md $(DESTDIR)$(DOCDIR)/
	if [ -d docs ]; then $(INSTALL) -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/ 2>/dev/null || true; fi
	sed -e 's|/usr/bin/ticketd|$(BINDIR)/ticketd|g' -e 's|/usr/share/doc/ticketd|$(DOCDIR)|g' \
	    -e 's|/etc/ticketd|$(SYSCONFDIR)/ticketd|g' docker/ticketd.service > $(DESTDIR)$(UNITDIR)/ticketd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/ticketd.service
	$(INSTALL) -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/ticketd
	[ -e $(DESTDIR)$(SYSCONFDIR)/ticketd/ticketd.conf ] || \
	    $(INSTALL) -m 0640 docker/ticketd.conf.example $(DESTDIR)$(SYSCONFDIR)/ticketd/ticketd.conf

# Removes what install put there, but the config (it is yours).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ticketd $(DESTDIR)$(MANDIR)/man8/ticketd.8 \
	    $(DESTDIR)$(MANDIR)/man5/ticketd.conf.5 $(DESTDIR)$(UNITDIR)/ticketd.service
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR)
# The OpenAPI linter (Redocly CLI, pinned in tools/lint/package-lock.json;
# its own folder so other npm users keep their own lockfiles). npm comes
# with Node.js; Debian's nodejs + npm are installed only when there is no
# npm at all (a NodeSource nodejs bundles its own and conflicts with them).
LINT_DIR = tools/lint

# make deb: BUILD/ticketd_VERSION_ARCH.deb (or in DEB_OUT) from the
# install tree, offline, with dpkg-deb (docs/deb/mkdeb.sh): Depends from
# the libraries the binary links, the config a conffile, a postinst that
# makes the ticketd user. Set DEB_MAINTAINER to who ships it.
DEB_OUT     ?= $(BUILD)
DEB_MAINTAINER ?= ticketd maintainers <ticketd@example.com>
DEB_VERSION ?= $(shell sed -n 's/^\#define TICKETD_VERSION "\(.*\)"/\1/p' core/app.h)
deb: $(BIN) $(MANPAGES)
	rm -rf $(DEB_OUT)/deb-root
	$(MAKE) --no-print-directory install PREFIX=/usr SYSCONFDIR=/etc DESTDIR=$(abspath $(DEB_OUT)/deb-root)
	sh docs/deb/mkdeb.sh $(abspath $(DEB_OUT)/deb-root) $(BIN) $(DEB_VERSION) $(DEB_OUT) "$(DEB_MAINTAINER)"
	rm -rf $(DEB_OUT)/deb-root

# Installs whatever of DEB_PKGS is missing; does nothing when all are there.
deps:
	@missing=$$(for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "make deps: installing$$(echo $$missing | tr '\n' ' ')"; \
	    SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# The browser tests' driver (playwright-core) and axe-core, pinned by
	@# tests/web/package-lock.json; from npm's cache once it has them.
	@[ -d tests/web/node_modules/playwright-core ] && [ -d tests/web/node_modules/axe-core ] || \
	    (cd tests/web && npm ci --no-audit --no-fund --prefer-offline)
	@if ! command -v npm >/dev/null 2>&1; then \
	    SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends nodejs npm; \
	fi
	@if [ ! -f $(LINT_DIR)/node_modules/.package-lock.json ] || \
	    ! cmp -s $(LINT_DIR)/package-lock.json $(LINT_DIR)/node_modules/.lock-installed; then \
	    echo "make deps: npm ci in $(LINT_DIR)"; \
	    (cd $(LINT_DIR) && npm ci --no-audit --no-fund --loglevel=error) && \
	    cp $(LINT_DIR)/package-lock.json $(LINT_DIR)/node_modules/.lock-installed; \
	fi

test: $(BIN) $(MANPAGES) $(TEST_BINS)
	tests/run.sh $(BUILD)

check: deps
	@$(MAKE) --no-print-directory test BUILD=build
	@$(MAKE) --no-print-directory test BUILD=build-asan SAN=1

run: deps $(BIN)
	tests/support/demo.sh $(BUILD)

# Figures on this machine (bench/bench.py): never fails on timing, not part
# of check. Writes bench/results/<date>.txt.
bench: deps $(BIN) bench-tools
	/usr/bin/python3 bench/bench.py $(BUILD)

# The bench's SMTP sink is Postfix's smtp-sink (C, written to take mail as
# fast as it comes), so the notifications row measures ticketd rather than a
# Python sink on the same two cores. It is taken out of Debian's postfix
# package without installing it: an installed postfix configures and starts
# a mail system. Without it the bench falls back to bench/smtp_sink.py.
BENCH_TOOLS = $(BUILD)/bench-tools
bench-tools: $(BENCH_TOOLS)/usr/sbin/smtp-sink
$(BENCH_TOOLS)/usr/sbin/smtp-sink:
	rm -rf $(BENCH_TOOLS).tmp && mkdir -p $(BENCH_TOOLS).tmp
	cd $(BENCH_TOOLS).tmp && apt-get download postfix 2>/dev/null || \
	    { SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; $$SUDO apt-get update -qq && \
	      cd $(BENCH_TOOLS).tmp && apt-get download postfix; }
	dpkg-deb -x $(BENCH_TOOLS).tmp/postfix_*.deb $(BENCH_TOOLS).tmp/root
	rm -rf $(BENCH_TOOLS) && mv $(BENCH_TOOLS).tmp/root $(BENCH_TOOLS) && rm -rf $(BENCH_TOOLS).tmp

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -path '$(BUILD)/bench-tools' -prune -o -name '*.d' -type f -print 2>/dev/null)
