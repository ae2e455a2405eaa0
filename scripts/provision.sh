#!/usr/bin/env bash
# Installs what the tests need and a fresh machine lacks, idempotently: real PostgreSQL 15 and its
# client, openssl, setpriv (util-linux), psycopg 3 for the gateway's driver tests, and for the
# approval page's browser test Chromium, Node.js and playwright-core (from npm, kept in
# ~/.cache/airlock-tests). Each section checks first and installs only what is missing, so a
# second run costs seconds.
set -euo pipefail

apt_missing=()
need_apt() { apt_missing+=("$1"); }

[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt postgresql-15
command -v psql >/dev/null || need_apt postgresql-client-15
command -v openssl >/dev/null || need_apt openssl
command -v curl >/dev/null || need_apt curl
command -v setpriv >/dev/null || need_apt util-linux
command -v useradd >/dev/null || need_apt passwd
[ -x /usr/bin/python3 ] || need_apt python3
[ -x /usr/bin/chromium ] || need_apt chromium
command -v node >/dev/null || need_apt nodejs
command -v npm >/dev/null || need_apt npm

if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "== installing ${apt_missing[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

# psycopg (a second language's real driver) for the Postgres gateway's tests.
if ! python3 -c "import psycopg" 2>/dev/null; then
  echo "== installing psycopg (pip)"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "psycopg[binary]==3.3.9"
fi

# The real agent CLIs, at the versions the end-to-end hook tests pin (crates/cli/tests/agents.rs),
# cached between runs outside the repository. A cache that already holds them costs one `node`
# call per package.
agent_node="${AIRLOCK_TEST_NODE:-$HOME/.cache/airlock-tests/node}"
agent_pkgs=(@anthropic-ai/claude-code@2.1.332 @openai/codex@0.171.0 @google/gemini-cli@0.61.0)
agent_missing=()
for spec in "${agent_pkgs[@]}"; do
  name="${spec%@*}" version="${spec##*@}"
  have=$(node -p "require('$agent_node/node_modules/$name/package.json').version" 2>/dev/null || true)
  [ "$have" = "$version" ] || agent_missing+=("$spec")
done
if [ ${#agent_missing[@]} -gt 0 ]; then
  if ! command -v npm >/dev/null; then
    echo "== installing nodejs and npm (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nodejs npm >/dev/null
  fi
  echo "== installing ${agent_missing[*]} (npm, into $agent_node)"
  mkdir -p "$agent_node"
  npm install --prefix "$agent_node" --save-exact --no-audit --no-fund --loglevel=error "${agent_pkgs[@]}" >/dev/null
fi

# playwright-core drives the machine's Chromium (it downloads no browser of its own).
PLAYWRIGHT_VERSION=1.65.2
node_dir="${XDG_CACHE_HOME:-$HOME/.cache}/airlock-tests"
if [ "$(node -p "try { require('$node_dir/node_modules/playwright-core/package.json').version } catch (e) { '' }" 2>/dev/null)" != "$PLAYWRIGHT_VERSION" ]; then
  echo "== installing playwright-core $PLAYWRIGHT_VERSION (npm) into $node_dir"
  mkdir -p "$node_dir"
  npm install --silent --no-audit --no-fund --prefix "$node_dir" "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null
fi
