#!/usr/bin/env python3
"""The vramsnap tool is a client of the public API: no file under tools/ may
be compiled with libsnap/src on its include path (it would let internals
creep back in). Reads the build's compile_commands.json.

usage: tools_public_only.py BUILD_DIR SOURCE_DIR   (exit 77: no compile commands)
"""
import json
import os
import sys

build, source = sys.argv[1], os.path.realpath(sys.argv[2])
path = os.path.join(build, "compile_commands.json")
if not os.path.exists(path):
    print(f"skipped: {path} does not exist")
    sys.exit(77)
tools = os.path.join(source, "tools") + os.sep
internal = os.path.join(source, "libsnap", "src")
checked = 0
bad = []
for entry in json.load(open(path, encoding="utf-8")):
    f = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
    command = entry.get("command") or " ".join(entry.get("arguments", []))
    # Unit tests also compile a few tools/ files, with the internal headers
    # they test against; only the tool's own compilation matters here.
    if not f.startswith(tools) or "vramsnap_cli.dir" not in entry.get("output", command):
        continue
    checked += 1
    if internal in command or "libsnap/src" in command:
        bad.append(f)
if checked == 0:
    print("no tools/ sources in the compile commands (tools not built?)")
    sys.exit(77)
for f in bad:
    print(f"{f}: compiled with libsnap/src on the include path; tools use only libsnap/include")
print(f"{checked} tools/ sources checked, {len(bad)} with internal include paths")
sys.exit(1 if bad else 0)
