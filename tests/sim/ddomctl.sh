#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# sim/ddomctl: the status tool against both daemons in one driver domain.
# With neither daemon running: exit 1 and both named. Then blkbackd-sim
# serving a vbd under load and netbackd-sim with a vif receiving frames:
# `status` lists both with their states, features and counters; `show`
# (with and without the kind) and `--json` agree with the daemons' own
# --status; `metrics` passes a strict parser of the Prometheus text format
# 0.0.4 and `--metrics-file` writes the same atomically. A vif closed by a
# hostile frontend (prod-jump) and a vbd whose image vanished before it
# connected show the text of their `error` node. Exit codes: unknown device
# 1, usage errors 2, netbackd stopped 1 with blkbackd still listed.
. "$(dirname "$0")/net-lib.sh"
: "${DDOMCTL:?}"

MAC_A=00:16:3e:00:00:0a
MAC_B=00:16:3e:00:00:0b
MAC_X=00:16:3e:00:00:0c
OUT=$SIM_TMP/ddomctl.out

# dc ARGS...: ddomctl on this scenario's runtime directory; stdout in $OUT,
# stderr in $OUT.err (both also on our stderr); returns ddomctl's status.
dc() {
	local rc
	"$DDOMCTL" --blkbackd-dir "$SIM_TMP/run" --netbackd-dir "$SIM_TMP/run" "$@" \
		>"$OUT" 2>"$OUT.err"
	rc=$?
	echo "ddomctl $*: exit $rc" >&2
	cat "$OUT" "$OUT.err" >&2
	return $rc
}

# dc_rc WANT ARGS...: ddomctl must exit WANT.
dc_rc() {
	local want=$1 rc
	shift
	dc "$@"
	rc=$?
	[ "$rc" = "$want" ] || fail "ddomctl $*: exit $rc, want $want"
}

# py EXPR: a python expression over d = the JSON in $OUT must hold.
py() {
	python3 -c 'import json,sys
d = json.load(open(sys.argv[2]))
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" "$OUT"
}

# A strict reader of the text exposition format 0.0.4: every sample's
# family has HELP and TYPE before it, names and labels are valid, values
# are numbers, a family's samples are together, counters end in _total,
# no sample is repeated. Prints the samples as JSON {name{labels}: value}.
check_metrics() {
	python3 - "$1" <<'EOF'
import json, re, sys
name_re = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*$')
sample_re = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
helps, types, done, samples = {}, {}, set(), {}
current = None
def bad(n, line, why):
    sys.exit("metrics line %d: %s: %r" % (n, why, line))
text = open(sys.argv[1]).read()
if not text.endswith('\n'):
    sys.exit("metrics: no final newline")
for n, line in enumerate(text.split('\n')[:-1], 1):
    if line.startswith('# HELP ') or line.startswith('# TYPE '):
        parts = line.split(' ', 3)
        if len(parts) != 4 or not name_re.match(parts[2]):
            bad(n, line, "malformed comment")
        table = helps if parts[1] == 'HELP' else types
        if parts[2] in table:
            bad(n, line, "second " + parts[1])
        if parts[1] == 'TYPE' and parts[3] not in ('counter', 'gauge'):
            bad(n, line, "unexpected type")
        table[parts[2]] = parts[3]
        continue
    if line.startswith('#') or not line:
        bad(n, line, "stray line")
    m = sample_re.match(line)
    if not m:
        bad(n, line, "not a sample")
    name, labels, value = m.group(1), m.group(3) or '', m.group(4)
    if name not in helps or name not in types:
        bad(n, line, "no HELP or TYPE before the sample")
    if name != current:
        if name in done:
            bad(n, line, "family's samples not together")
        done.add(name)
        current = name
    if types[name] == 'counter' and not name.endswith('_total'):
        bad(n, line, "counter not named *_total")
    if not name.startswith('ddom_'):
        bad(n, line, "not a ddom_ metric")
    pos, lab = 0, []
    while pos < len(labels):
        lm = label_re.match(labels, pos)
        if not lm:
            bad(n, line, "bad label")
        lab.append((lm.group(1), lm.group(2)))
        pos = lm.end()
    try:
        v = float(value)
    except ValueError:
        bad(n, line, "value not a number")
    key = name + '{' + ','.join('%s="%s"' % l for l in sorted(lab)) + '}'
    if key in samples:
        bad(n, line, "sample repeated")
    samples[key] = v
for name in types:
    if name not in done:
        sys.exit("metrics: family %s has no sample" % name)
print(json.dumps(samples))
EOF
}

sim_up
G=$(sim_guest g1)
A=$(sim_guest ga)
B=$(sim_guest gb)
X=$(sim_guest gx)

# Nothing running: both daemons named, exit 1, in text and JSON; show finds nothing.
dc_rc 1 status
grep -q "blkbackd is not running" "$OUT" && grep -q "netbackd is not running" "$OUT" ||
	fail "status with no daemon: not both reported as not running"
dc_rc 1 --json status
py '[x["running"] for x in d["daemons"]] == [False, False] and all(x["reason"] for x in d["daemons"])' ||
	fail "status --json with no daemon"
dc_rc 1 show 1/0

# The daemons: a vbd under a lasting load, a vif A receiving frames from B.
blkbackd_start
wait_for 30 test -S "$SIM_TMP/run/blkbackd.sock" || fail "blkbackd-sim did not start"
attach "$G" xvda "$(disk d1.img 64M)"
XVDA=$(devid xvda)
bf_bg "$SIM_TMP/bf.json" "$G" xvda --rw randrw --bs 4k --iodepth 8 --size 32M --runtime 120 \
	--timeout 150
wait_for 30 bb_served_at_least "$G" xvda 200 || fail "the vbd's load did not start"
netbackd_start
DA=$(vif_attach "$A" "$MAC_A")
DB=$(vif_attach "$B" "$MAC_B")
nf_bg "$SIM_TMP/recv.json" "$A" "$DA" --recv 1000000 --from "$MAC_B" --allow-loss --timeout 120
wait_for 30 nb_connected "$A" "$DA" || fail "vif $A/$DA never connected"
nf "$B" "$DB" --send 500 --to "$MAC_A" --pps 20000 || fail "sender failed"
wait_for 30 nb_counter_at_least "$A" "$DA" rx 500 || fail "A did not receive 500 frames"

# status: both daemons, both devices, readable.
dc_rc 0 status
grep -Eq "^blkbackd [0-9.]+ \(pid [0-9]+\): 1 vbd\(s\), 1 connected" "$OUT" ||
	fail "status: no blkbackd line"
grep -Eq "^netbackd [0-9.]+ \(pid [0-9]+\): 2 vif\(s\), [12] connected" "$OUT" ||
	fail "status: no netbackd line"
grep -Eq "^KIND +GUEST +DEV +STATE +FRONTEND +FEATURES +COUNTERS +ERROR" "$OUT" ||
	fail "status: no table header"
grep -Eq "^vbd +$G +$XVDA +Connected +Connected +queues=1 .*read=[1-9][0-9]* write=[1-9]" \
	"$OUT" || fail "status: the vbd's row"
grep -Eq "^vif +$A +$DA +Connected +Connected +queues=[0-9]+ .*rx=(5[0-9][0-9]|[6-9][0-9][0-9]|[0-9]{4,})" \
	"$OUT" || fail "status: vif A's row"

# --json: the documented fields, and the same counters as the daemons' --status.
dc_rc 0 --json status
py '[x["daemon"] for x in d["daemons"]] == ["blkbackd", "netbackd"] and all(x["running"] for x in d["daemons"])' ||
	fail "status --json: daemons"
py 'all(set(k) >= {"kind","type","domid","devid","name","backend","frontend","state","state_code","frontend_state","frontend_state_code","error","connected","features","counters","reattaches"} for x in d["daemons"] for k in x["devices"])' ||
	fail "status --json: a device lacks a documented field"
py '[(k["kind"], k["domid"], k["devid"], k["state"], k["error"]) for k in d["daemons"][0]["devices"]] == [("vbd", '"$G"', '"$XVDA"', "Connected", None)]' ||
	fail "status --json: the vbd"
py 'd["daemons"][0]["devices"][0]["features"]["queues"] == 1 and d["daemons"][0]["devices"][0]["target"].endswith("/d1.img")' ||
	fail "status --json: the vbd's features or target"
# blkbackd's workers: the vbd's one queue is served by exactly one of them.
py 'len(d["daemons"][0]["workers"]) >= 1 and sum(w["pollables"] for w in d["daemons"][0]["workers"]) == 1 and sum(w["passes"] for w in d["daemons"][0]["workers"]) > 0' ||
	fail "status --json: blkbackd's workers"
py 'set(d["daemons"][1]) >= {"uplinks","switch","workers","mbufs","devices","version","pid"} and d["daemons"][1]["workers"]' ||
	fail "status --json: netbackd's sections"
py '[k["mac"] for k in d["daemons"][1]["devices"] if k["domid"] == '"$A"'] == ["'"$MAC_A"'"]' ||
	fail "status --json: vif A's mac"
# A's rx in ddomctl's JSON is at least what netbackd --status said a moment earlier.
rx=$(nb_counter "$A" "$DA" rx)
dc_rc 0 --json status
py '[k["counters"]["rx"] for k in d["daemons"][1]["devices"] if k["domid"] == '"$A"'][0] >= '"$rx" ||
	fail "status --json: vif A's rx is below netbackd --status's $rx"

# show: with and without the kind, text and JSON; the vbd's path in xenstore.
dc_rc 0 show "$G/$XVDA"
grep -q "^vbd $G/$XVDA (blkbackd)" "$OUT" && grep -q "^  state: Connected" "$OUT" &&
	grep -q "^  features:" "$OUT" && grep -Eq "^    read: [1-9]" "$OUT" ||
	fail "show $G/$XVDA"
dc_rc 0 --json show vif "$A/$DA"
py 'd["daemon"] == "netbackd" and d["kind"] == "vif" and d["state"] == "Connected" and d["error"] is None and d["counters"]["rx"] >= 500' ||
	fail "show --json vif $A/$DA"
dc_rc 0 show vbd "$G/$XVDA" --json
py 'd["backend"] == "'"$(be_path "$G" xvda)"'" and d["state_code"] == 4' || fail "show vbd --json"
dc_rc 1 show vif "$G/$XVDA"
grep -q "no vif $G/$XVDA" "$OUT.err" || fail "show vif of a vbd's id: no message"
dc_rc 1 show 999/7
grep -q "no device 999/7" "$OUT.err" || fail "show of an unknown device: no message"

# The errors a person can act on. A vif whose frontend broke the ring protocol:
DX=$(vif_attach "$X" "$MAC_X")
NF_OUT=$SIM_TMP/hostile.json nf "$X" "$DX" --hostile prod-jump --expect closed ||
	fail "prod-jump did not close the vif"
node=$(xs_dd read "$(vbe_path "$X" "$DX")/error") || fail "no error node for vif $X/$DX"
dc_rc 0 --json show "$X/$DX"
py 'd["error"] == '"$(printf '%s' "$node" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')"' and d["state"] in ("Closing", "Closed")' ||
	fail "show: vif $X/$DX's error is not its error node \"$node\""
dc_rc 0 status
awk -v p="^vif +$X +$DX +Clos(ing|ed) " -v e=" $node" '$0 ~ p && length($0) > length(e) &&
	substr($0, length($0) - length(e) + 1) == e { f = 1 } END { exit !f }' "$OUT" ||
	fail "status: vif $X/$DX's row does not end in its error"
# ... and a vbd whose image is gone when its frontend connects.
attach "$G" xvdb "$(disk gone.img 16M)"
rm -f "$SIM_TMP/gone.img"
bf "$G" xvdb --rw read --size 1M --timeout 10 && fail "a vbd without its image connected"
dc_rc 0 --json show vbd "$G/$(devid xvdb)"
py 'd["error"] is not None and "cannot open" in d["error"] and "gone.img" in d["error"] and d["state"] == "Closed"' ||
	fail "show: the vbd without its image does not say so"
[ "$(xs_dd read "$(be_path "$G" xvdb)/error")" = "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"])' "$OUT")" ] ||
	fail "the vbd's error differs from its error node"
[ "$(log_count "cannot open $SIM_TMP/gone.img")" = 1 ] ||
	fail "blkbackd's log does not say once that it cannot open the image"
dc_rc 0 status
grep -Eq "^vbd +$G +$(devid xvdb) +Closed .* 2 cannot open $SIM_TMP/gone.img$" "$OUT" ||
	fail "status: the vbd without its image does not say so"

# metrics: the exposition format, the families and labels, the values.
dc_rc 0 metrics
cp "$OUT" "$SIM_TMP/metrics.txt"
check_metrics "$SIM_TMP/metrics.txt" >"$SIM_TMP/samples.json" || fail "metrics: not valid 0.0.4 text"
grep -q '^# TYPE ddom_vbd_read_total counter$' "$SIM_TMP/metrics.txt" &&
	grep -q '^# TYPE ddom_vbd_in_flight gauge$' "$SIM_TMP/metrics.txt" &&
	grep -q '^# TYPE ddom_vif_rx_total counter$' "$SIM_TMP/metrics.txt" ||
	fail "metrics: vbd/vif families missing or mistyped"
OUT=$SIM_TMP/samples.json
py 'd["ddom_daemon_up{daemon=\"blkbackd\"}"] == 1 and d["ddom_daemon_up{daemon=\"netbackd\"}"] == 1' ||
	fail "metrics: ddom_daemon_up"
py 'd["ddom_vbd_read_total{devid=\"'"$XVDA"'\",domid=\"'"$G"'\"}"] > 0 and d["ddom_vbd_state{devid=\"'"$XVDA"'\",domid=\"'"$G"'\"}"] == 4' ||
	fail "metrics: the vbd's samples"
py 'sum(v for k, v in d.items() if k.startswith("ddom_blkbackd_worker_pollables{worker=")) == 1 and d["ddom_blkbackd_worker_passes_total{worker=\"0\"}"] > 0' ||
	fail "metrics: blkbackd's workers"
py 'd["ddom_vif_rx_total{devid=\"'"$DA"'\",domid=\"'"$A"'\"}"] >= 500 and d["ddom_vif_error{devid=\"'"$DX"'\",domid=\"'"$X"'\"}"] == 1 and d["ddom_vif_error{devid=\"'"$DA"'\",domid=\"'"$A"'\"}"] == 0' ||
	fail "metrics: the vifs' samples"
OUT=$SIM_TMP/ddomctl.out
dc_rc 0 --json metrics
py 'any(m["name"] == "ddom_vif_rx_total" and m["type"] == "counter" and any(s["labels"] == {"domid": "'"$A"'", "devid": "'"$DA"'"} and s["value"] >= 500 for s in m["samples"]) for m in d["metrics"])' ||
	fail "metrics --json"
# --metrics-file: the same families, written atomically (nothing left beside it).
mkdir "$SIM_TMP/textfile"
dc_rc 0 --metrics-file "$SIM_TMP/textfile/ddom.prom"
[ ! -s "$OUT" ] || fail "--metrics-file also wrote to standard output"
check_metrics "$SIM_TMP/textfile/ddom.prom" >/dev/null || fail "--metrics-file: not valid 0.0.4 text"
[ "$(ls "$SIM_TMP/textfile")" = ddom.prom ] || fail "--metrics-file left other files: $(ls "$SIM_TMP/textfile")"
[ "$(stat -c %a "$SIM_TMP/textfile/ddom.prom")" = 644 ] || fail "--metrics-file: not mode 644"
diff <(grep '^#' "$SIM_TMP/metrics.txt") <(grep '^#' "$SIM_TMP/textfile/ddom.prom") >&2 ||
	fail "--metrics-file: other families than metrics"
dc_rc 1 metrics --metrics-file "$SIM_TMP/no/such/dir/x.prom"
grep -q "cannot write $SIM_TMP/no/such/dir/x.prom" "$OUT.err" || fail "--metrics-file to nowhere: no message"

# Usage errors: exit 2 with a message.
for args in "show" "show 5" "show vbd" "show disk 1/2" "show 1/2 3/4" "frobnicate" \
	"status extra" "--metrics-file $SIM_TMP/x.prom status" "--json --metrics-file $SIM_TMP/x.prom" \
	"--no-such-option" "--blkbackd-dir"; do
	# shellcheck disable=SC2086 # split on purpose
	dc_rc 2 $args
	[ -s "$OUT.err" ] || fail "ddomctl $args: exit 2 without a message"
done
dc_rc 0 --help
grep -q "^Usage: ddomctl" "$OUT" || fail "--help"

# The daemons' own status still answers.
"$BLKBACKD_SIM" --status --runtime-dir "$SIM_TMP/run" | grep -q "^blkbackd: 1 vbd(s) connected" ||
	fail "blkbackd --status"

# netbackd stops: exit 1, named as not running, blkbackd's devices still shown.
netbackd_kill TERM
dc_rc 1 status
grep -q "netbackd is not running" "$OUT" && grep -Eq "^vbd +$G +$XVDA +Connected" "$OUT" ||
	fail "status with netbackd stopped"
dc_rc 1 --json status
py '[x["running"] for x in d["daemons"]] == [True, False]' || fail "status --json with netbackd stopped"
dc_rc 1 show vif "$A/$DA"
grep -q "netbackd is not running" "$OUT.err" || fail "show of a vif with netbackd stopped: no reason"
dc_rc 1 metrics
check_metrics "$OUT" >"$SIM_TMP/samples.json" || fail "metrics with netbackd stopped: not valid"
OUT=$SIM_TMP/samples.json
py 'd["ddom_daemon_up{daemon=\"netbackd\"}"] == 0 and d["ddom_daemon_up{daemon=\"blkbackd\"}"] == 1' ||
	fail "metrics with netbackd stopped: ddom_daemon_up"
OUT=$SIM_TMP/ddomctl.out
say "ddomctl: status, show, --json, metrics, --metrics-file, errors and exit codes checked"
