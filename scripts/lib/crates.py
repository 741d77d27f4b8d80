"""The Rust crates linked into the retentiond binary, one per line as
"name version (license)", from `cargo metadata` on stdin: the crates
reachable from the package through normal dependencies, without
proc-macros (they run at build time and are not linked)."""
import json
import sys

meta = json.load(sys.stdin)
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
linked, stack = set(), [meta["resolve"]["root"]]
while stack:
    for dep in nodes[stack.pop()]["deps"]:
        if all(k["kind"] is not None for k in dep["dep_kinds"]):
            continue  # dev- or build-dependency only
        package = packages[dep["pkg"]]
        if any("proc-macro" in t["kind"] for t in package["targets"]):
            continue
        if dep["pkg"] not in linked:
            linked.add(dep["pkg"])
            stack.append(dep["pkg"])
for package in sorted((packages[i] for i in linked), key=lambda p: (p["name"], p["version"])):
    print(f'{package["name"]} {package["version"]} ({package["license"] or "see its source"})')
