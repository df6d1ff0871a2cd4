#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The package's cheap checks (suite unit, TAP), without building it:

- debian/changelog's newest version is meson's project version (the one
  place the version is set; debian/update-changelog follows it) and
  debian/control's Source is the project's name;
- every manual page in docs/man renders without a warning, through groff
  -ww and through `man --warnings` as lintian runs it, names itself in .TH,
  and is installed by meson; every installed program has one;
- what `meson install` installs, mapped to the package's paths
  (prefix -> /usr, sysconfdir -> /etc, the unit directory ->
  /lib/systemd/system and its generators beside it, manual pages gzipped by dh_compress), is exactly the
  `meson` lines of tests/pkg/contents.txt, the package's file list that
  tests/pkg/deb-check.sh compares the built .deb against.

Usage: test-pkg.py SOURCE_ROOT BUILD_ROOT PROJECT_NAME PROJECT_VERSION
"""
import json
import os
import re
import shutil
import subprocess
import sys

SRC, BUILD, NAME, VERSION = sys.argv[1:5]
n = 0
fails = 0


def ok(cond, what, diag=""):
    global n, fails
    n += 1
    print(("ok" if cond else "not ok") + f" {n} - {what}")
    if not cond:
        fails += 1
    if diag and not cond:
        for line in diag.rstrip().splitlines():
            print("# " + line)


def skip(what, why):
    global n
    n += 1
    print(f"ok {n} - {what} # SKIP {why}")


def changelog_version(path):
    with open(path) as f:
        m = re.match(r"^(\S+) \(([^)]+)\) ", f.readline())
    return m.groups() if m else (None, None)


def control_source(path):
    with open(path) as f:
        for line in f:
            if line.startswith("Source:"):
                return line.split(":", 1)[1].strip()
    return None


def installed_plan():
    """meson's install plan mapped to the package's paths."""
    with open(os.path.join(BUILD, "meson-info", "intro-installed.json")) as f:
        plan = json.load(f)
    with open(os.path.join(BUILD, "meson-info", "intro-buildoptions.json")) as f:
        opts = {o["name"]: o["value"] for o in json.load(f)}
    prefix = opts["prefix"]

    def absolute(d):
        return d if os.path.isabs(d) else os.path.join(prefix, d)

    unitdir = opts.get("systemdunitdir") or os.path.join(prefix, "lib/systemd/system")
    mandir = absolute(opts["mandir"])
    # Longest first: the unit directory and sysconfdir may lie below prefix.
    gendir = os.path.join(os.path.dirname(absolute(unitdir).rstrip("/")), "system-generators")
    # udev rules beside the units' lib/: /lib/udev/rules.d as Debian 12's units' /lib.
    udevdir = os.path.join(os.path.dirname(os.path.dirname(absolute(unitdir).rstrip("/"))), "udev")
    roots = sorted([(absolute(unitdir), "/lib/systemd/system"),
                    (gendir, "/lib/systemd/system-generators"),
                    (udevdir, "/lib/udev"),
                    (absolute(opts["sysconfdir"]), "/etc"),
                    (mandir, "/usr/share/man"),
                    (prefix, "/usr")], key=lambda r: -len(r[0]))
    out = {}
    for src, dest in plan.items():
        for root, pkg in roots:
            if dest == root or dest.startswith(root.rstrip("/") + "/"):
                path = pkg + dest[len(root.rstrip("/")):]
                if root == mandir:
                    path += ".gz"
                out[path] = src
                break
        else:
            out["?" + dest] = src
    return out


def contents(path):
    rows = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if line:
                rows[line[0]] = line[1]
    return rows


print("TAP version 13")

# ---- the version
pkg, ver = changelog_version(os.path.join(SRC, "debian", "changelog"))
ok(ver == VERSION, f"debian/changelog's version {ver} is meson's {VERSION}",
   "run debian/update-changelog (make deb does) and commit debian/changelog")
ok(pkg == NAME, f"debian/changelog's package {pkg} is the project {NAME}")
ok(control_source(os.path.join(SRC, "debian", "control")) == NAME,
   "debian/control's Source is the project's name")

# ---- the manual pages
plan = installed_plan()
mandir = os.path.join(SRC, "docs", "man")
pages = sorted(p for p in os.listdir(mandir) if re.search(r"\.[1-9]$", p))
groff = shutil.which("groff")
man = shutil.which("man")
for page in pages:
    path = os.path.join(mandir, page)
    name, section = page.rsplit(".", 1)
    with open(path) as f:
        th = next((l.split() for l in f if l.startswith(".TH ")), [])
    ok(th[1:3] == [name.upper(), section], f"{page}: .TH names {name.upper()} {section}")
    if groff:
        r = subprocess.run([groff, "-man", "-ww", "-z", path], capture_output=True, text=True)
        ok(r.returncode == 0 and not r.stderr, f"{page}: groff -man -ww without a warning",
           r.stderr)
    else:
        skip(f"{page}: groff -man -ww", "no groff")
    if man:
        # As lintian's manual-page check runs it.
        env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
        r = subprocess.run([man, "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", path],
                           capture_output=True, text=True, env=env)
        ok(r.returncode == 0 and not r.stderr, f"{page}: man --warnings without a warning",
           r.stderr)
    else:
        skip(f"{page}: man --warnings", "no man")
    dest = f"/usr/share/man/man{section}/{page}.gz"
    ok(dest in plan, f"{page}: installed by meson as {dest}")

for path in sorted(p for p in plan if p.startswith("/usr/sbin/") or p.startswith("/usr/bin/")):
    prog = os.path.basename(path)
    sect = "8" if "/sbin/" in path else "1"
    ok(f"/usr/share/man/man{sect}/{prog}.{sect}.gz" in plan, f"{path} has a manual page")

# ---- what meson installs is what the package list says
rows = contents(os.path.join(SRC, "tests", "pkg", "contents.txt"))
want = {p for p, src in rows.items() if src == "meson"}
have = set(plan)
ok(have == want, "meson installs exactly the `meson` files of tests/pkg/contents.txt",
   "".join(f"installed, not listed: {p}\n" for p in sorted(have - want)) +
   "".join(f"listed, not installed: {p}\n" for p in sorted(want - have)))
bad = {p: s for p, s in rows.items() if s not in ("meson", "debian")}
ok(not bad, "every line of contents.txt comes from meson or debian",
   "".join(f"{p}: {s}\n" for p, s in bad.items()))

print(f"1..{n}")
sys.exit(1 if fails else 0)
