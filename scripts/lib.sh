# Shared by scripts/*: repo paths and the pinned Python tools in .venv (installed on first use).
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
export SAM_CLI_TELEMETRY=0
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

say() { printf '\n==> %s\n' "$*"; }

# ensure_python_tools FILE...: install each requirements/FILE.txt into .venv unless the same
# pinned list is already installed there (a stamp holds each file's content hash).
ensure_python_tools() {
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    python3 -m venv "$VENV"
  fi
  local name file stamp want
  for name in "$@"; do
    file="$ROOT/requirements/$name.txt"
    stamp="$VENV/.installed-$name"
    want="$(sha256sum "$file" | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
      say "installing pinned Python tools: requirements/$name.txt"
      "$VENV/bin/pip" install --disable-pip-version-check -q -r "$file"
      echo "$want" > "$stamp"
    fi
  done
  export PATH="$VENV/bin:$PATH"
  export MOTO_SERVER="$VENV/bin/moto_server"
}

# The release build of the Lambda and the local runner, shared by demo, tests and bench.
build_release() {
  say "building release binaries (first build takes a few minutes)"
  (cd "$ROOT" && cargo build --release --locked --workspace --bins)
  export CFN_LOGS_DELIVERY_BIN="$ROOT/target/release/cfn-logs-delivery"
}
