#!/usr/bin/env bash
# Usage: scripts/buf-breaking.sh [BASE]   (default BASE: HEAD~1)
#
# Checks the working tree's protos for breaking changes (buf.yaml `breaking`
# rules) against the protos at git revision BASE.
#
# `buf breaking --against '.git#branch=main'` cannot be used: the google/api
# and google/rpc protos live in the gitignored .protodeps/ module, which is
# not in git, so the base would not compile. Instead the base is rebuilt from
# `git archive BASE proto buf.yaml` plus the current .protodeps/ copy (run
# `make protodeps` first), compiled to an image, and used as --against.
#
# Both sides are the `proto` module only, not the whole workspace: buf
# compares a workspace input as one image per module, which cannot be matched
# against a single image. --exclude-imports limits the comparison to our own
# files, so adding or dropping an import of a google proto (which changes the
# set of imported files in the image) is not reported as a deleted file.
#
# If BASE does not exist (first commit, or a shallow clone without history)
# or has no proto/ directory, there is nothing to compare: print a note and
# exit 0.
#
# Environment: BUF (default node_modules/.bin/buf).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

base="${1:-${BASE:-HEAD~1}}"
buf="${BUF:-node_modules/.bin/buf}"
[[ $buf == */* && $buf != /* ]] && buf="$root/$buf"

if ! command -v "$buf" >/dev/null 2>&1; then
	echo "buf-breaking: buf not found at $buf (run 'make tools')." >&2
	exit 1
fi
if [[ ! -d .protodeps ]]; then
	echo "buf-breaking: .protodeps/ is missing (run 'make protodeps')." >&2
	exit 1
fi

if ! rev="$(git rev-parse --verify --quiet "${base}^{commit}")"; then
	note=""
	if [[ $(git rev-parse --is-shallow-repository 2>/dev/null) == true ]]; then
		note=" (this is a shallow clone: fetch more history, e.g. fetch-depth >= 2, to enable the check)"
	fi
	echo "buf-breaking: base revision '$base' does not exist${note}; nothing to compare against, skipping."
	exit 0
fi
short="$(git rev-parse --short "$rev")"
if ! git cat-file -e "$rev:proto" 2>/dev/null; then
	echo "buf-breaking: base revision '$base' ($short) has no proto/ directory; nothing to compare against, skipping."
	exit 0
fi
if ! git cat-file -e "$rev:buf.yaml" 2>/dev/null; then
	echo "buf-breaking: base revision '$base' ($short) has no buf.yaml; cannot build it, skipping."
	exit 0
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-breaking.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

git archive --format=tar "$rev" proto buf.yaml | tar -xf - -C "$tmp"
cp -R .protodeps "$tmp/.protodeps"

echo "buf-breaking: building base image from '$base' ($short)..."
if ! (cd "$tmp" && "$buf" build proto -o base.binpb); then
	echo "buf-breaking: the protos at '$base' ($short) do not build; cannot compare." >&2
	exit 1
fi

echo "buf-breaking: checking working tree against '$base' ($short)..."
if ! "$buf" breaking proto --against "$tmp/base.binpb" --exclude-imports; then
	echo "buf-breaking: breaking changes against '$base' ($short) (see above)." >&2
	exit 1
fi
echo "buf-breaking: no breaking changes against '$base' ($short)."
