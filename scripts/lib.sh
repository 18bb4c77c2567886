# Shared by scripts/*: repo paths, cargo's target dir and the pinned Python tools in .venv (installed on first use).
# shellcheck shell=bash
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
export SAM_CLI_TELEMETRY=0
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

say() { printf '\n==> %s\n' "$*"; }

# Roughly how long a first install of requirements/NAME.txt takes (downloads dominate).
install_time() {
  case "$1" in
    emulator) echo "about 1 min" ;;
    tools) echo "about 2-4 min: aws-sam-cli, cfn-lint, cargo-lambda, zig and the aws CLI" ;;
    *) echo "a minute or more" ;;
  esac
}

# ensure_python_tools FILE...: install each requirements/FILE.txt into .venv unless the same
# pinned list is already installed there (a stamp holds each file's content hash).
ensure_python_tools() {
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the Python venv .venv for the pinned tools"
    python3 -m venv "$VENV"
  fi
  local name file stamp want
  for name in "$@"; do
    file="$ROOT/requirements/$name.txt"
    stamp="$VENV/.installed-$name"
    want="$(sha256sum "$file" | cut -d' ' -f1)"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
      say "installing the pinned Python tools of requirements/$name.txt into .venv ($(install_time "$name"), once)"
      "$VENV/bin/pip" install --disable-pip-version-check -r "$file"
      echo "$want" > "$stamp"
    fi
  done
  export PATH="$VENV/bin:$PATH"
  export MOTO_SERVER="$VENV/bin/moto_server"
}

# Cargo's target directory as cargo itself resolves it: CARGO_TARGET_DIR, build.target-dir in a
# .cargo/config.toml, else <workspace>/target.
cargo_target_dir() {
  (cd "$ROOT" && cargo metadata --format-version 1 --no-deps) |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# Builds the release binaries of the Lambda and the local runner (shared by demo, tests and
# bench) and points at them where cargo put them: CFN_LOGS_DELIVERY_BIN (exported) and CFN_LOCAL.
build_release() {
  say "building the release binaries of cfn-logs-delivery, cfn-logs-delivery-lint and cfn-local (package cfn-local-cli; about 4 min from clean on 2 cores; seconds when up to date)"
  # One package at a time, never --workspace: each package then gets its own features only, as
  # when `cargo lambda watch --release` (tests/cargo_lambda.rs) runs the function, which so reuses
  # this build instead of rebuilding most dependencies.
  (cd "$ROOT" && cargo build --release --locked -p cfn-logs-delivery --bins && cargo build --release --locked -p cfn-logs-delivery-lint && cargo build --release --locked -p cfn-local-cli)
  local release
  release="$(cargo_target_dir)/release"
  export CFN_LOGS_DELIVERY_BIN="$release/cfn-logs-delivery"
  CFN_LOCAL="$release/cfn-local"
}
