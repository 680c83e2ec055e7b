#!/usr/bin/env bash
# Fails, listing the files, if any Go file in the repository is not gofmt'ed.
#
# Checks every Go file git knows about: tracked files plus untracked ones that
# are not gitignored (so new files are caught before they are committed; on a
# clean CI clone that is exactly the tracked files). Nothing is excluded:
# generated code under gen/ is gofmt'ed by its generators and must stay so.
# Outside a git checkout it falls back to every .go file below the repo root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

files=()
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	while IFS= read -r -d '' f; do
		# Skip tracked files deleted in the working tree.
		[[ -f $f ]] && files+=("$f")
	done < <(git ls-files -z --cached --others --exclude-standard -- '*.go')
else
	while IFS= read -r -d '' f; do
		files+=("$f")
	done < <(find . \( -name .git -o -name node_modules \) -prune -o -type f -name '*.go' -print0)
fi

if ((${#files[@]} == 0)); then
	echo "gofmt: no Go files."
	exit 0
fi

# gofmt -l exits non-zero (and reports on stderr) on files it cannot parse;
# treat that as a failure too.
if ! unformatted="$(printf '%s\0' "${files[@]}" | xargs -0 gofmt -l)"; then
	echo "gofmt: failed to parse some Go files (see above)." >&2
	exit 1
fi
if [[ -n $unformatted ]]; then
	echo "gofmt: these files are not gofmt'ed (fix with: gofmt -w <file>):" >&2
	printf '  %s\n' $unformatted >&2
	exit 1
fi
echo "gofmt: ${#files[@]} Go files OK."
