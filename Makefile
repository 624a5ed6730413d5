# ticketd - one binary, three libraries (core, mailgw, api), tests that
# start real servers. `make` builds, `make run` starts the demo, `make
# check` runs the whole suite (normal build and ASan/UBSan build).

BUILD ?= build
SAN   ?=
CC    ?= cc

# Every package a build or a test needs, installed by `make deps`.
DEB_PKGS = build-essential pkg-config libmongoc-dev libbson-dev libsqlite3-dev \
           libjansson-dev libpcre2-dev libsodium-dev libcurl4-gnutls-dev libjwt-dev \
           libmicrohttpd-dev libetpan-dev libcmocka-dev libgumbo-dev \
           python3 python3-mockupdb python3-mongomock python3-pymongo python3-aiosmtpd \
           dovecot-imapd dovecot-lmtpd dovecot-submissiond curl \
           python3-yaml systemd wrk strace openssl libsasl2-modules ca-certificates

PKGS = libmongoc-1.0 libbson-1.0 sqlite3 jansson libpcre2-8 libsodium libcurl libjwt libmicrohttpd gumbo
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
CLI_SRC    := $(wildcard cli/*.c)
TSUP_SRC   := $(wildcard tests/support/*.c)
TEST_SRC   := $(wildcard tests/*/test_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
CORE_LIB   = $(BUILD)/libtdcore.a
TSUP_LIB   = $(BUILD)/libtdtest.a
BIN        = $(BUILD)/ticketd
TEST_BINS  = $(patsubst %.c,$(BUILD)/%,$(TEST_SRC))

.PHONY: all deps run check test bench clean
# Keep test objects: without this make deletes them as intermediates and
# relinks every test binary on each run.
.SECONDARY:
all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(CORE_LIB): $(call obj,$(CORE_SRC))
	@rm -f $@
	ar rcs $@ $^

$(TSUP_LIB): $(call obj,$(TSUP_SRC))
	@mkdir -p $(dir $@); rm -f $@
	$(if $^,ar rcs $@ $^,printf '!<arch>\n' > $@)

$(BIN): $(call obj,$(CLI_SRC) $(MAILGW_SRC) $(API_SRC) $(NOTIFY_SRC)) $(CORE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TSUP_LIB) $(CORE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

# tests/notify/ link the outbox sender too.
$(BUILD)/tests/notify/%: $(BUILD)/tests/notify/%.o $(call obj,$(NOTIFY_SRC)) $(TSUP_LIB) $(CORE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

# api/openapi.json is embedded in the binary by api/openapi_doc.c (.incbin).
$(BUILD)/api/openapi_doc.o: api/openapi.json

# tests/api/ link the api/ objects too (route table, JSON parser, JWT).
$(BUILD)/tests/api/%: $(BUILD)/tests/api/%.o $(call obj,$(API_SRC)) $(TSUP_LIB) $(CORE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

# tests/mailgw/ link the mail gateway's objects too (MIME, threading, poller).
$(BUILD)/tests/mailgw/%: $(BUILD)/tests/mailgw/%.o $(call obj,$(MAILGW_SRC)) $(TSUP_LIB) $(CORE_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LIBS)

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

test: $(BIN) $(TEST_BINS)
	tests/run.sh $(BUILD)

check: deps
	@$(MAKE) --no-print-directory test BUILD=build
	@$(MAKE) --no-print-directory test BUILD=build-asan SAN=1

run: deps $(BIN)
	tests/support/demo.sh $(BUILD)

# Figures on this machine (bench/bench.py): never fails on timing, not part
# of check. Writes bench/results/<date>.txt.
bench: deps $(BIN)
	/usr/bin/python3 bench/bench.py $(BUILD)

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
