#!/usr/bin/env bash
# Usage: scripts/fuzz.sh [FUZZTIME]   (default 10s)
#
# Runs every Fuzz target in the module, one at a time (go test -fuzz takes a
# single package and a single target), for FUZZTIME each. Targets are found
# with `go test -list '^Fuzz'` over the packages whose tests declare one. New
# failing inputs are written by go test to testdata/fuzz/ in the package, as
# usual, and are replayed by every later `go test` as regression cases.
#
# Environment: GO (default go). FUZZ_SAVE_CORPUS=1 also copies the inputs
# the fuzzer found interesting (kept in the build cache, which CI discards)
# into the package's testdata/fuzz/<Target>/, to be committed: they seed
# later runs and are replayed by plain `go test`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fuzztime="${1:-${FUZZTIME:-10s}}"
go="${GO:-go}"

# `go test -list` prints each package's matching names, then a line
# "ok <tab> <import path> <tab> <time>" naming that package.
# Only packages with a fuzz target are compiled for the listing.
mapfile -t pkgs < <(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u)
if ((${#pkgs[@]} == 0)); then
	echo "fuzz: no Fuzz targets found."
	exit 0
fi
if ! listing="$("$go" test -list '^Fuzz' "${pkgs[@]}")"; then
	printf '%s\n' "$listing" >&2
	echo "fuzz: 'go test -list' failed." >&2
	exit 1
fi

targets=() # "pkg dir target"
pending=()
while IFS= read -r line; do
	case "$line" in
	Fuzz*) pending+=("$line") ;;
	ok*)
		pkg="$(awk '{print $2}' <<<"$line")"
		dir="$("$go" list -f '{{.Dir}}' "$pkg")"
		for t in "${pending[@]}"; do targets+=("$pkg $dir $t"); done
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
	read -r pkg dir t <<<"$entry"
	echo "=== fuzz $pkg $t"
	out="$(mktemp)"
	if ! "$go" test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$out"; then
		# go test's fuzzer can end with "context deadline exceeded" when
		# the time runs out while it minimizes a new interesting input,
		# without any failing input (none is written to testdata). That
		# is no finding: run the target once more. A real failure writes
		# its input and fails again.
		if grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written to' "$out" &&
			"$go" test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" "$pkg"; then
			echo "fuzz: $t passed on a second run (the first ended at its deadline while minimizing)"
		else
			failed+=("$pkg $t")
		fi
	fi
	rm -f "$out"
	if [[ "${FUZZ_SAVE_CORPUS:-}" == 1 ]]; then
		cached="$("$go" env GOCACHE)/fuzz/$pkg/$t"
		if [[ -d "$cached" ]]; then
			mkdir -p "$dir/testdata/fuzz/$t"
			cp -n "$cached"/* "$dir/testdata/fuzz/$t/" 2>/dev/null || true
		fi
	fi
done

if ((${#failed[@]} > 0)); then
	echo "fuzz: failing targets:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "fuzz: all targets passed."
