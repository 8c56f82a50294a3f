#!/usr/bin/env bash
# Build the dev database server: `tools/devdb/build.sh .bin/devdb` (run by `make devdb`).
#
# The first build downloads FerretDB's Go modules and compiles a few hundred
# packages (SQLite translated to Go among them): a few minutes on two cores,
# most of it in the compiler. Go prints nothing while it compiles, so this
# script counts what is done and says so at least every 15 seconds; errors and
# anything else Go prints pass through unchanged. Later builds come from Go's
# cache and take seconds.
set -euo pipefail
out=$(realpath -m "${1:?usage: tools/devdb/build.sh OUTPUT}")
cd "$(dirname "$0")"
if ! command -v go >/dev/null; then
  echo "devdb: Go 1.24 or newer is needed to build the dev database server." >&2
  echo "devdb: without Go, use the in-process database: MONGODB_URI=mongomock:// (see README)." >&2
  exit 1
fi

say() { printf 'devdb: %s (%dm%02ds)\n' "$1" $((SECONDS / 60)) $((SECONDS % 60)); }

# Reads a tool's output: counts the lines matching $2, passes the others through,
# and reports the count every 15 s and at the end.
progress() {
  local what=$1 pattern=$2 count=0 last=$SECONDS line status
  while true; do
    if IFS= read -r -t 15 line; then
      if [[ $line =~ $pattern ]]; then count=$((count + 1)); else printf '%s\n' "$line"; fi
    else
      status=$?
      ((status > 128)) || break # end of output; above 128 is the 15 s timeout
    fi
    if ((SECONDS - last >= 15)); then
      say "$what: $count so far"
      last=$SECONDS
    fi
  done
  say "$what: $count"
}

say "fetching FerretDB's Go modules and patching them"
./patch-ferretdb.sh 2>&1 | progress "Go modules downloaded" '^go: downloading '

total=$(go list -mod=vendor -deps . | wc -l)
say "compiling up to $total packages (first time only: a few minutes)"
# -v names each package as it is compiled (cached ones are not compiled again).
go build -v -mod=vendor -o "$out" . 2>&1 | progress "packages compiled" '^[[:alnum:]_.~/-]+$'
say "built $1"
