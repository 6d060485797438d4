# SPDX-License-Identifier: GPL-2.0-only
# popsteer: `make` builds, `make test` tests, `make demo` runs a PoP in
# network namespaces, `make bench` measures.  Run as root on Debian 12:
# `make deps` (a prerequisite of the others) installs what is missing.

OUT      ?= build
CLANG    ?= clang
BPFTOOL  ?= bpftool
CC       ?= gcc
PREFIX   ?= /usr/local

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

MULTIARCH := $(shell $(CC) -dumpmachine)
BPF_CFLAGS := -O2 -g -Wall -Werror -fno-strict-aliasing -target bpf -mcpu=v3 \
	      -Iinclude -I/usr/include/$(MULTIARCH)
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	    -Wno-missing-field-initializers -D_GNU_SOURCE \
	    -Iinclude -Iuser/lib -I$(OUT)
LDLIBS   := -lbpf -lelf -lz -lconfig -lldns -lm

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_HDRS := $(wildcard bpf/lib/*.h) $(wildcard include/popsteer/*.h)
SKEL     := $(OUT)/steer.skel.h

LIB_SRCS := $(wildcard user/lib/*.c)
LIB_OBJS := $(patsubst user/lib/%.c,$(OUT)/lib/%.o,$(LIB_SRCS))
LIB      := $(OUT)/libpopsteer.a
USER_HDRS := $(wildcard user/lib/*.h) $(wildcard include/popsteer/*.h)

STEERD_SRCS := $(wildcard user/steerd/*.c)
STEERD   := $(OUT)/steerd
STEERCTL_SRCS := $(wildcard user/steerctl/*.c)
STEERCTL := $(if $(STEERCTL_SRCS),$(OUT)/steerctl)
AGENT_SRCS := $(wildcard user/steer-agent/*.c)
AGENT    := $(if $(AGENT_SRCS),$(OUT)/steer-agent)
ORIGIN   := $(if $(wildcard tests/lib/origin.c),$(OUT)/tests/ps-origin)

TEST_BINS := $(OUT)/tests/unit_tests $(OUT)/tests/dns_packets \
	     $(OUT)/tests/maps_sync $(OUT)/tests/load_check \
	     $(OUT)/tests/answer_parity $(OUT)/tests/decap_packets
TEST_BINS += $(OUT)/tests/lb_packets
BENCH_BINS := $(OUT)/bench/bench_testrun $(OUT)/bench/bench_trafficgen \
	      $(OUT)/bench/bench_herd $(OUT)/bench/bench_probefloor \
	      $(OUT)/bench/echo.bpf.o

.DELETE_ON_ERROR:
.PHONY: all deps test demo bench install clean help

all: deps $(BPF_OBJS) $(SKEL) $(STEERD) $(STEERCTL) $(AGENT) $(ORIGIN) \
     $(TEST_BINS) $(BENCH_BINS)

help:
	@echo 'make [all]     build BPF objects, skeleton, steerd, test programs'
	@echo 'make deps      install missing Debian packages (root)'
	@echo 'make test      run every test (root: netns, bpffs, XDP)'
	@echo 'make demo      a PoP in network namespaces, answering (root)'
	@echo 'make bench     benchmarks, one "name: value unit" line per figure'
	@echo 'make install   install steerd and the BPF objects under PREFIX'
	@echo 'V=1 for full commands, OUT=dir for the build directory'

deps:
	$(Q)vm/deps.sh build test

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(OUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(SKEL): $(OUT)/bpf/steer.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name steer > $@

$(OUT)/steerctl: $(STEERCTL_SRCS) $(wildcard user/steerctl/*.h) $(LIB) $(USER_HDRS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iuser/steerctl $(STEERCTL_SRCS) $(LIB) $(LDLIBS) -ljansson -o $@

$(OUT)/steer-agent: $(AGENT_SRCS) $(wildcard user/steer-agent/*.h) | $(OUT)/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iuser/steer-agent $(AGENT_SRCS) -lmicrohttpd -o $@

$(OUT)/tests/ps-origin: tests/lib/origin.c | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

$(OUT)/lib/%.o: user/lib/%.c $(USER_HDRS) | $(OUT)/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

$(STEERD): $(STEERD_SRCS) $(wildcard user/steerd/*.h) $(LIB) $(SKEL) $(USER_HDRS)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Iuser/steerd -I/usr/include/libnl3 $(STEERD_SRCS) $(LIB) $(LDLIBS) -ljansson -lcurl -lcrypto -lnl-route-3 -lnl-3 -o $@

$(OUT)/tests/unit_tests: $(wildcard tests/unit/*.c) tests/lib/check.h $(LIB) $(USER_HDRS) | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib $(wildcard tests/unit/*.c) $(LIB) $(LDLIBS) -o $@

$(OUT)/tests/dns_packets: tests/bpf/dns_packets.c tests/lib/pkt.c tests/lib/pkt.h tests/lib/dnsmsg.c tests/lib/dnsmsg.h tests/lib/check.h $(LIB) $(SKEL) $(USER_HDRS) | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib tests/bpf/dns_packets.c tests/lib/pkt.c tests/lib/dnsmsg.c $(LIB) $(LDLIBS) -o $@

$(OUT)/tests/lb_packets: tests/bpf/lb_packets.c tests/lib/pkt.c tests/lib/pkt.h tests/lib/dnsmsg.c tests/lib/dnsmsg.h tests/lib/check.h $(LIB) $(SKEL) $(USER_HDRS) | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib tests/bpf/lb_packets.c tests/lib/pkt.c tests/lib/dnsmsg.c $(LIB) $(LDLIBS) -o $@

$(OUT)/tests/maps_sync: tests/bpf/maps_sync.c tests/lib/pkt.c tests/lib/pkt.h tests/lib/check.h $(LIB) $(SKEL) $(USER_HDRS) | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib tests/bpf/maps_sync.c tests/lib/pkt.c $(LIB) $(LDLIBS) -lpthread -o $@

$(OUT)/tests/answer_parity: tests/bpf/answer_parity.c tests/lib/pkt.c tests/lib/pkt.h tests/lib/dnsmsg.c tests/lib/dnsmsg.h tests/lib/check.h $(LIB) $(SKEL) $(USER_HDRS) | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib tests/bpf/answer_parity.c tests/lib/pkt.c tests/lib/dnsmsg.c $(LIB) $(LDLIBS) -o $@

$(OUT)/tests/decap_packets: tests/bpf/decap_packets.c tests/lib/check.h include/popsteer/decap.h | $(OUT)/tests $(OUT)/bpf/decap.bpf.o
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib $< -lbpf -lelf -lz -o $@

$(OUT)/tests/load_check: tests/bpf/load_check.c | $(OUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -lbpf -lelf -lz -o $@

# ---- benchmarks (tests/bench) ----

BENCH_HDRS := tests/bench/bench.h tests/lib/pkt.h $(USER_HDRS)

$(OUT)/bench/%.bpf.o: tests/bench/%.bpf.c tests/bench/bench.h $(wildcard include/popsteer/*.h) | $(OUT)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/bench/%.skel.h: $(OUT)/bench/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@

$(OUT)/bench/bench_%: tests/bench/%.c $(OUT)/bench/%.skel.h tests/lib/pkt.c $(BENCH_HDRS) $(LIB) $(SKEL)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(OUT)/bench -Itests/lib $< tests/lib/pkt.c $(LIB) $(LDLIBS) -o $@

# the herd simulation drives the policy code alone: no BPF, no skeleton
$(OUT)/bench/bench_probefloor: tests/bench/probefloor.c | $(OUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

$(OUT)/bench/bench_herd: tests/bench/herd.c $(LIB) $(USER_HDRS) | $(OUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) -o $@

# the skeletons and objects they embed are worth keeping between builds
.SECONDARY: $(patsubst tests/bench/%.bpf.c,$(OUT)/bench/%.bpf.o,$(wildcard tests/bench/*.bpf.c)) \
	    $(patsubst tests/bench/%.bpf.c,$(OUT)/bench/%.skel.h,$(wildcard tests/bench/*.bpf.c))

$(OUT)/bench:
	$(Q)mkdir -p $@

$(OUT)/bpf $(OUT)/lib $(OUT)/tests:
	$(Q)mkdir -p $@

test: all
	$(Q)tests/run.sh

demo: all
	$(Q)vm/demo.sh

bench: all
	$(Q)vm/deps.sh bench
	$(Q)OUT=$(OUT) tests/bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib/popsteer
	install -m 0755 $(STEERD) $(STEERCTL) $(AGENT) $(DESTDIR)$(PREFIX)/sbin/
	install -m 0644 $(OUT)/bpf/steer.bpf.o $(OUT)/bpf/xdp_pass.bpf.o \
		$(DESTDIR)$(PREFIX)/lib/popsteer/

clean:
	rm -rf $(OUT)

# the test suite inside a qemu VM running Debian 12's kernel 6.1, the oldest
# kernel popsteer supports (vm/run; slow: the CPU is emulated)
vm-test: all
	$(Q)vm/run --timeout $${VM_TIMEOUT:-3600} -- env PS_TIME_SCALE=$${VM_TIME_SCALE:-10} \
		$(MAKE) --no-print-directory OUT=$(OUT) test
.PHONY: vm-test
