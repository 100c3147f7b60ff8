# Parley build. `make` builds every binary into $(BUILD); `make run` and
# `make test` are the README's two commands.
#
#   make                 release-ish build into build/
#   make SAN=1           AddressSanitizer + UBSan build into build/san/
#   make run             install deps, build, start the stack, follow logs
#   make test            install deps, sanitized build, unit + end-to-end tests
#   make openapi         write docs/openapi.json (the contract, as served)
#   make bench           measure and print figures (never asserts a time)
#   make mutants         the mutation check: every tests/mutants/*.patch must
#                        make the part of the suite it names fail (scripts/mutants)

SAN ?= 0
ifeq ($(SAN),1)
BUILD ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build
SANFLAGS :=
endif

CC ?= cc
PKGS := libzmq libprotobuf-c hiredis libpq jansson libcrypto libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
GEN := $(BUILD)/gen
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread $(SANFLAGS) \
          -I. -Ilib -I$(GEN) $(PKG_CFLAGS)
LDFLAGS += -pthread $(SANFLAGS)
LDLIBS := $(PKG_LIBS) -lm

# protobuf: every .proto under proto/ is compiled to C at build time, and
# google/protobuf/descriptor.proto (Debian's libprotobuf-dev, in
# PROTO_INCLUDE), which the field options (proto/parley/options/v1) extend.
PROTO_INCLUDE ?= /usr/include
PROTOS := $(shell find proto -name '*.proto' | sort)
PROTO_C := $(patsubst proto/%.proto,$(GEN)/%.pb-c.c,$(PROTOS)) $(GEN)/google/protobuf/descriptor.pb-c.c
PROTO_O := $(PROTO_C:.c=.o)
PYTHON ?= /usr/bin/python3
# The field rules table lib/pb enforces and the OpenAPI document states,
# read from every .proto's options and comments (tools/gen_field_rules.py).
PROTO_SET := $(GEN)/parley.protoset
FIELD_RULES_C := $(GEN)/pb/field_rules.c

# One archive per lib/ module, so a module's tests link only what it needs.
MODULES := svc bus db kv pb core
module_objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard lib/$(1)/*.c)))
ARCHIVES := $(foreach m,$(MODULES),$(BUILD)/lib/lib$(m).a) $(BUILD)/lib/libproto.a
LIBS_ALL := $(ARCHIVES)

SERVICES := broker intake matching scheduling notify training feedback
SERVICE_BINS := $(patsubst %,$(BUILD)/parley-%,$(SERVICES))
GATEWAY_SRC := $(sort $(wildcard gateway/*.c))
GATEWAY_LIB_SRC := $(filter-out gateway/main.c gateway/admin.c,$(GATEWAY_SRC))
GATEWAY_LIB_O := $(patsubst %.c,$(BUILD)/obj/%.o,$(GATEWAY_LIB_SRC))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all clean run test unit e2e bench deps deps-test proto mutants openapi
all: $(SERVICE_BINS) $(BUILD)/parley-gateway $(BUILD)/parley-admin $(UNIT_BINS)

deps:
	@scripts/install-deps.sh

# The linters' and the client check's npm packages are for the tests only.
deps-test:
	@scripts/install-deps.sh test

proto: $(PROTO_C)

$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: proto/%.proto
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) -Iproto -I$(PROTO_INCLUDE) $<

$(GEN)/google/protobuf/descriptor.pb-c.c $(GEN)/google/protobuf/descriptor.pb-c.h: \
    $(PROTO_INCLUDE)/google/protobuf/descriptor.proto
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) -I$(PROTO_INCLUDE) $<

$(GEN)/%.pb-c.o: $(GEN)/%.pb-c.c
	$(CC) $(CFLAGS) -Wno-unused-parameter -c $< -o $@

# protobuf-c keeps no custom options at run time: they are read from a
# descriptor set with the comments (source info) into a C table.
$(PROTO_SET): $(PROTOS)
	@mkdir -p $(GEN)
	protoc-c --descriptor_set_out=$@ --include_imports --include_source_info -Iproto -I$(PROTO_INCLUDE) $(PROTOS)

$(FIELD_RULES_C): $(PROTO_SET) tools/gen_field_rules.py
	@mkdir -p $(dir $@)
	$(PYTHON) tools/gen_field_rules.py $< $@

$(FIELD_RULES_C:.c=.o): $(FIELD_RULES_C) lib/pb/rules.h
	$(CC) $(CFLAGS) -c $< -o $@

# Every object waits for the generated headers.
$(BUILD)/obj/%.o: %.c $(PROTO_C)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

define archive_rule
$(BUILD)/lib/lib$(1).a: $(call module_objs,$(1))
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call archive_rule,$(m))))

# lib/pb looks its field rules up in the generated table.
$(BUILD)/lib/libpb.a: $(FIELD_RULES_C:.c=.o)

$(BUILD)/lib/libproto.a: $(PROTO_O)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

define service_rule
$(BUILD)/parley-$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(sort $(wildcard services/$(1)/*.c))) $(LIBS_ALL)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call service_rule,$(s))))
# scheduling writes iCalendar with libical (Debian's libical-dev).
$(BUILD)/parley-scheduling: LDLIBS += -lical
# notify lays letters out with Pango and draws them with Cairo (Debian's
# libpango1.0-dev, libcairo2-dev; fontconfig finds fonts-noto-core's faces).
PANGO_CFLAGS := $(shell pkg-config --cflags pangocairo fontconfig 2>/dev/null)
PANGO_LIBS := $(shell pkg-config --libs pangocairo fontconfig 2>/dev/null)
$(BUILD)/obj/services/notify/letter_pdf.o: CFLAGS += $(PANGO_CFLAGS)
$(BUILD)/parley-notify: LDLIBS += $(PANGO_LIBS)
# notify addresses an invitation to its recipient when it sends it (libical).
$(BUILD)/parley-notify: LDLIBS += -lical
# notify (events) shows scheduling's times in their zone with its tzfile reader.
$(BUILD)/parley-notify: $(BUILD)/obj/services/scheduling/tz.o

$(BUILD)/parley-gateway: $(BUILD)/obj/gateway/main.o $(GATEWAY_LIB_O) $(LIBS_ALL)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcivetweb

$(BUILD)/parley-admin: $(BUILD)/obj/gateway/admin.o $(GATEWAY_LIB_O) $(LIBS_ALL)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcivetweb

# A unit test links the archives it names in TEST_DEPS_<name> (default: all),
# and, where it tests a program's pure modules, those objects.
BROKER_LIB_O := $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out services/broker/main.c,$(sort $(wildcard services/broker/*.c))))
TEST_DEPS_test_pb := $(BUILD)/lib/libpb.a $(BUILD)/lib/libcore.a $(BUILD)/lib/libproto.a
TEST_DEPS_test_broker := $(BROKER_LIB_O) $(BUILD)/lib/libbus.a $(BUILD)/lib/libcore.a $(BUILD)/lib/libproto.a
TEST_DEPS_test_bus_policy := $(BROKER_LIB_O) $(BUILD)/lib/libbus.a $(BUILD)/lib/libcore.a $(BUILD)/lib/libproto.a
TEST_DEPS_test_routes := $(GATEWAY_LIB_O) $(LIBS_ALL)
TEST_DEPS_test_openapi := $(GATEWAY_LIB_O) $(LIBS_ALL)
TEST_DEPS_test_deadlines := $(BUILD)/obj/services/intake/deadlines.o $(LIBS_ALL)
TEST_DEPS_test_review := $(BUILD)/obj/services/intake/review.o $(BUILD)/obj/services/intake/deadlines.o $(LIBS_ALL)
TEST_DEPS_test_young_age := $(BUILD)/obj/services/intake/young_age.o $(BUILD)/obj/services/intake/deadlines.o \
    $(LIBS_ALL)
TEST_DEPS_test_matching_scoring := $(BUILD)/obj/services/matching/scoring.o \
    $(BUILD)/obj/services/matching/eligibility.o $(LIBS_ALL)
TEST_DEPS_test_matching_assign := $(BUILD)/obj/services/matching/assign.o $(LIBS_ALL)
TEST_DEPS_test_training_expiry := $(BUILD)/obj/services/training/expiry.o $(LIBS_ALL)
TEST_DEPS_test_notify_render := $(BUILD)/obj/services/notify/render.o $(LIBS_ALL)
TEST_DEPS_test_notify_sms := $(BUILD)/obj/services/notify/sms.o $(LIBS_ALL)
TEST_DEPS_test_notify_case_text := $(BUILD)/obj/services/notify/case_text.o $(LIBS_ALL)
TEST_DEPS_test_notify_event_time := $(BUILD)/obj/services/notify/event_time.o \
    $(BUILD)/obj/services/scheduling/tz.o $(LIBS_ALL)
TEST_DEPS_test_notify_smtp := $(BUILD)/obj/services/notify/smtp.o $(BUILD)/obj/services/notify/render.o $(LIBS_ALL)
TEST_DEPS_test_notify_letter := $(BUILD)/obj/services/notify/letter_layout.o $(LIBS_ALL)
TEST_DEPS_test_notify_invite := $(BUILD)/obj/services/notify/invite.o $(LIBS_ALL)
$(BUILD)/tests/test_notify_invite: LDLIBS += -lical
TEST_DEPS_test_notify_jwt := $(BUILD)/obj/services/notify/jwt.o $(BUILD)/obj/services/notify/notify_api.o $(LIBS_ALL)
TEST_DEPS_test_scheduling_time := $(BUILD)/obj/services/scheduling/tz.o $(BUILD)/obj/services/scheduling/slots.o \
    $(LIBS_ALL)
TEST_DEPS_test_notify_webhook := $(BUILD)/obj/services/notify/webhook_address.o \
    $(BUILD)/obj/services/notify/webhook_sign.o $(LIBS_ALL)
TEST_DEPS_test_ratelimit := $(GATEWAY_LIB_O) $(LIBS_ALL)
TEST_DEPS_test_metrics := $(GATEWAY_LIB_O) $(LIBS_ALL)
TEST_DEPS_test_idempotency := $(GATEWAY_LIB_O) $(LIBS_ALL)
TEST_DEPS_test_auth_throttle := $(GATEWAY_LIB_O) $(LIBS_ALL)
TEST_DEPS_test_audit := $(GATEWAY_LIB_O) $(LIBS_ALL)
TEST_DEPS_test_problems := $(GATEWAY_LIB_O) $(LIBS_ALL)
TEST_DEPS_test_round_trips := $(GATEWAY_LIB_O) $(LIBS_ALL)
.SECONDEXPANSION:
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $$(or $$(TEST_DEPS_$$*),$(LIBS_ALL))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcivetweb -lcmocka

# A stand-in event consumer for the end-to-end tests (tests/helpers/fake_consumer.c).
$(BUILD)/tests/fake-consumer: $(BUILD)/obj/tests/helpers/fake_consumer.o $(BUILD)/lib/libbus.a \
    $(BUILD)/lib/libcore.a $(BUILD)/lib/libproto.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
all: $(BUILD)/tests/fake-consumer

# A bus peer with no key, an unknown key or a kind's key, for the bus security
# tests and for timing the bus (tests/helpers/bus_probe.c).
$(BUILD)/tests/bus-probe: $(BUILD)/obj/tests/helpers/bus_probe.o $(BUILD)/lib/libbus.a \
    $(BUILD)/lib/libcore.a $(BUILD)/lib/libproto.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
all: $(BUILD)/tests/bus-probe

# intake's handlers run as a handler thread runs them, counting their round
# trips to PostgreSQL, for the end-to-end audit tests (tests/helpers/roundtrips.c).
INTAKE_LIB_O := $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out services/intake/main.c,$(sort $(wildcard services/intake/*.c))))
$(BUILD)/tests/roundtrips: $(BUILD)/obj/tests/helpers/roundtrips.o $(INTAKE_LIB_O) $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
all: $(BUILD)/tests/roundtrips

# The in-process ranking benchmark that make bench runs (scripts/bench.d/matching.sh).
$(BUILD)/bench/bench_matching_rank: $(BUILD)/obj/tests/bench/bench_matching_rank.o \
    $(BUILD)/obj/services/matching/scoring.o $(BUILD)/obj/services/matching/eligibility.o $(BUILD)/lib/libsvc.a \
    $(BUILD)/lib/libcore.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
all: $(BUILD)/bench/bench_matching_rank

# The floor (bench/floor/): the bare stack make bench compares Parley with,
# built with the same flags but linked against the libraries alone.
FLOOR_BINS := $(BUILD)/bench/floor-broker $(BUILD)/bench/floor-worker $(BUILD)/bench/floor-http
FLOOR_LIBS_broker := -lzmq
FLOOR_LIBS_worker := -lzmq -lpq
FLOOR_LIBS_http := -lzmq -lcivetweb
$(BUILD)/bench/floor-%: $(BUILD)/obj/bench/floor/%.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(FLOOR_LIBS_$*)
all: $(FLOOR_BINS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-demo

test: deps-test
	@$(MAKE) --no-print-directory SAN=1 all
	@scripts/run-tests

bench: deps
	@$(MAKE) --no-print-directory -j$$(nproc) all
	@scripts/bench

mutants: deps-test
	@$(MAKE) --no-print-directory SAN=1 all
	@scripts/mutants

# docs/openapi.json: the contract as the gateway serves it, kept in the
# repository so a clone can read it (tests/e2e/test_15_openapi.py fails when
# it differs from the served one: run `make openapi` after changing routes,
# proto field rules or gateway/openapi/overlay.json).
openapi: $(BUILD)/parley-gateway
	@PARLEY_LOG_LEVEL=warn $(BUILD)/parley-gateway openapi >docs/openapi.json.tmp && mv docs/openapi.json.tmp docs/openapi.json
	@echo "wrote docs/openapi.json"

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
