#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# xenhost scenario 5a, net (a slot for netbackd): a stock guest with a vif served by the driver
# domain. Until netbackd ships a unit, it runs Linux xen-netback there (kernel-backends), so the
# helpers are proven: the vif reaches Connected and the guest sees its NIC with the MAC given.
. "$XH_SRC/tests/xenhost/lib/xh.sh"

MAC=00:16:3e:00:00:42
xh_dd_start dd kernel-backends
xh_in dd 'modprobe xen-netback && ip link add xenbr0 type bridge && ip link set xenbr0 up &&
	echo kernel xen-netback loaded, bridge xenbr0 up'
cat >"$XH_BOOT/net-extra.cfg" <<EOC
vif = [ '$(xh_vif_spec dd $MAC bridge=xenbr0)' ]
EOC
XH_GUEST_CFG_EXTRA=$XH_BOOT/net-extra.cfg xh_guest_start g1 1
id=$(xh_domid g1)
xh_in g1 'modprobe xen-netfront && echo xen-netfront loaded'
xh_wait_xs "/local/domain/$id/device/vif/0/state" '^4$' 60 || xh_fail "the vif never connected"
xh_in g1 "ip -o link | grep -i '$MAC'"
xh_shutdown g1 120 || xh_fail "g1 did not shut down"
xh_log "net: PASS"
