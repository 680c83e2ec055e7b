#!/usr/bin/env bash
# Usage: scripts/fuzz.sh [FUZZTIME]   (default 10s)
#
# Runs every Fuzz target in the module, one at a time (go test -fuzz takes a
# single package and a single target), for FUZZTIME each. Targets are found
# with `go test -list '^Fuzz' ./...`. New failing inputs are written by go test
# to testdata/fuzz/ in the package, as usual.
#
# Environment: GO (default go).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fuzztime="${1:-${FUZZTIME:-10s}}"
go="${GO:-go}"

# `go test -list` prints each package's matching names, then a line
# "ok <tab> <import path> <tab> <time>" naming that package.
if ! listing="$("$go" test -list '^Fuzz' ./...)"; then
	printf '%s\n' "$listing" >&2
	echo "fuzz: 'go test -list' failed." >&2
	exit 1
fi

targets=() # "pkg target"
pending=()
while IFS= read -r line; do
	case "$line" in
	Fuzz*) pending+=("$line") ;;
	ok*)
		pkg="$(awk '{print $2}' <<<"$line")"
		for t in "${pending[@]}"; do targets+=("$pkg $t"); done
		pending=()
		;;
	esac
done <<<"$listing"

if ((${#targets[@]} == 0)); then
	echo "fuzz: no Fuzz targets found."
	exit 0
fi

echo "fuzz: ${#targets[@]} target(s), $fuzztime each."
failed=()
for entry in "${targets[@]}"; do
	read -r pkg t <<<"$entry"
	echo "=== fuzz $pkg $t"
	if ! "$go" test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" "$pkg"; then
		failed+=("$pkg $t")
	fi
done

if ((${#failed[@]} > 0)); then
	echo "fuzz: failing targets:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "fuzz: all targets passed."
