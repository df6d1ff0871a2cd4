# SPDX-License-Identifier: GPL-2.0-only
#
# Thin wrapper over meson so a newcomer on a fresh Debian 12 machine (as root)
# needs two commands: `make demo` and `make check`. Each installs the missing
# Debian packages, configures build/ and builds.

BUILD ?= build
ASAN_BUILD ?= build-asan
DEB_OUT ?= build-deb
MESON_OPTS ?=
DEB_PKGS := gcc pkg-config python3 meson ninja-build libxen-dev xenstore-utils \
	libaio-dev libdpdk-dev libsystemd-dev fio xen-utils-4.17 valgrind \
	iproute2 iputils-ping ethtool tcpdump tshark iperf3 dpdk-dev acl
# make deb: dpkg-buildpackage, dch, lintian, and what debian/update-changelog runs.
DEB_TOOLS := dpkg-dev debhelper devscripts lintian meson python3

.PHONY: all deps demo check check-xen check-asan bench deb deb-deps check-deb clean

all: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) $(MESON_OPTS)
	ninja -C $(BUILD)

# $(call apt_missing,PACKAGES): installs those of PACKAGES that are missing.
define apt_missing
@missing=$$(for p in $(1); do \
	dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
done); \
if [ -n "$$missing" ]; then \
	echo "make: installing Debian packages:" $$missing; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
fi
endef

deps:
	$(call apt_missing,$(DEB_PKGS))

# The main job: a simulated Xen host, a driver domain running the appliance,
# a guest, a device attached and served; prints a summary.
demo: all
	bash tests/demo.sh $(BUILD)

# The whole test suite (unit, sim, fuzz corpus replay, and the real-Xen
# blk-basic scenario). The full real-Xen suite is `make check-xen`.
check: all
	meson test -C $(BUILD) --print-errorlogs --no-suite xen-full --no-suite bench --no-suite pkg

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

# The Debian package, built by dpkg-buildpackage from a copy of the tree (the
# files git tracks and the untracked ones it does not ignore) in $(DEB_OUT)/src,
# so the results land in $(DEB_OUT)/ and this tree stays clean: ddom_VERSION_amd64.deb,
# ddom-dbgsym_VERSION_amd64.deb, .buildinfo, .changes. Then lintian on the
# .changes (both packages), failing on any error, warning or info tag (the
# overrides, with their reasons: debian/*.lintian-overrides). The version is
# meson.build's: debian/update-changelog adds a changelog entry when it moved.
deb: deb-deps
	debian/update-changelog
	rm -rf $(DEB_OUT) && mkdir -p $(DEB_OUT)/src
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard | \
			tar --null --ignore-failed-read -T - -cf - | tar -xf - -C $(DEB_OUT)/src; \
	else \
		tar --exclude='./build*' --exclude=./.git -cf - . | tar -xf - -C $(DEB_OUT)/src; \
	fi
	cd $(DEB_OUT)/src && dpkg-buildpackage -us -uc -b
	lintian -I --fail-on error,warning,info $(DEB_OUT)/ddom_*_amd64.changes
	@ls -l $(DEB_OUT)/*.deb

# What dpkg-buildpackage, dch and lintian need, then debian/control's
# Build-Depends (apt-get build-dep reads them from this tree).
deb-deps:
	$(call apt_missing,$(DEB_TOOLS))
	@dpkg-checkbuilddeps 2>/dev/null || { \
		echo "make: installing the build dependencies of debian/control"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq ./ >/dev/null; }

# make deb, lintian, then install, check and purge the package on this
# machine (tests/pkg/deb-check.sh; root, a few minutes). Not in make check.
check-deb: all
	meson test -C $(BUILD) --print-errorlogs --suite pkg -v

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(DEB_OUT)
