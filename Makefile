# SPDX-License-Identifier: GPL-2.0-only
#
# Thin wrapper over meson so a newcomer on a fresh Debian 12 machine (as root)
# needs two commands: `make demo` and `make check`. Each installs the missing
# Debian packages, configures build/ and builds.

BUILD ?= build
ASAN_BUILD ?= build-asan
MESON_OPTS ?=
DEB_PKGS := gcc pkg-config python3 meson ninja-build libxen-dev xenstore-utils \
	libaio-dev libdpdk-dev libsystemd-dev fio xen-utils-4.17 valgrind \
	iproute2 iputils-ping ethtool tcpdump tshark iperf3 dpdk-dev

.PHONY: all deps demo check check-xen check-asan bench clean

all: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) $(MESON_OPTS)
	ninja -C $(BUILD)

deps:
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "make: installing Debian packages:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# The main job: a simulated Xen host, a driver domain running the appliance,
# a guest, a device attached and served; prints a summary.
demo: all
	bash tests/demo.sh $(BUILD)

# The whole test suite (unit, sim, fuzz corpus replay, and the real-Xen
# blk-basic scenario). The full real-Xen suite is `make check-xen`.
check: all
	meson test -C $(BUILD) --print-errorlogs --no-suite xen-full --no-suite bench

check-xen: all
	meson test -C $(BUILD) --print-errorlogs --suite xen --suite xen-full

# Unit and simulator suites again under ASan + UBSan.
check-asan: deps
	@[ -f $(ASAN_BUILD)/build.ninja ] || meson setup $(ASAN_BUILD) $(MESON_OPTS) \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		meson test -C $(ASAN_BUILD) --print-errorlogs --suite unit --suite sim --suite fuzz

bench: all
	meson test -C $(BUILD) --suite bench --verbose

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
