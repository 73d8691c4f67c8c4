#!/usr/bin/env bash
# Apache Superset on the Marmot serving warehouse (`make superset`): its own virtualenv (never
# the project's .venv), a generated superset_config.py under $MARMOT_HOME/superset, the
# metadata database upgraded, an admin user, `superset init`, then the server on 127.0.0.1 and
# the serving database, datasets, charts and dashboard created through the REST API.
# Runs in the foreground until stopped (Ctrl-C / SIGTERM stops the server too).
#
# Environment (all optional):
#   MARMOT_HOME                     the platform's home (default: the repo's data/)
#   MARMOT_SUPERSET_VENV            Superset's virtualenv (default $MARMOT_HOME/superset/venv)
#   MARMOT_SUPERSET_PORT            port on 127.0.0.1 (default 8088, else a free one)
#   MARMOT_SUPERSET_SERVING         the DuckDB file served (default $MARMOT_HOME/serving/marmot.duckdb)
#   MARMOT_SUPERSET_ADMIN           admin user name (default admin)
#   MARMOT_SUPERSET_ADMIN_PASSWORD  admin password (default admin: local use only)
#   SUPERSET_SECRET_KEY             else one generated once into $MARMOT_HOME/superset/secret_key
#   MARMOT_SUPERSET_INSTALL_ONLY=1  create the virtualenv and stop
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3.11}"
export MARMOT_HOME="${MARMOT_HOME:-$REPO/data}"
SUPERSET_HOME="$MARMOT_HOME/superset"
VENV="${MARMOT_SUPERSET_VENV:-$SUPERSET_HOME/venv}"
SERVING="${MARMOT_SUPERSET_SERVING:-$MARMOT_HOME/serving/marmot.duckdb}"
ADMIN="${MARMOT_SUPERSET_ADMIN:-admin}"
export MARMOT_SUPERSET_ADMIN="$ADMIN"
# The pins: Superset and the DuckDB driver, and every transitive dependency (constraints.txt).
SUPERSET_VERSION="6.1.0"
REQUIREMENTS=("apache-superset==$SUPERSET_VERSION" "duckdb-engine==0.17.0" "duckdb==1.4.4"
    "rich" "cachetools" "flask-caching==2.3.1")  # undeclared or too new: constraints.txt

# --- the virtualenv, reused while the pins are unchanged ---------------------------------------
stamp="$VENV/.marmot-installed"
want="$(cat "$HERE/constraints.txt" <(printf '%s\n' "${REQUIREMENTS[@]}") | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "superset: installing Superset $SUPERSET_VERSION into $VENV (a few minutes the first time)"
    start=$SECONDS
    [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -c "$HERE/constraints.txt" "${REQUIREMENTS[@]}"
    echo "$want" > "$stamp"
    echo "superset: installed in $((SECONDS - start))s"
fi
[[ "${MARMOT_SUPERSET_INSTALL_ONLY:-}" == 1 ]] && exit 0

if [[ ! -f "$SERVING" ]]; then
    echo "superset: no serving file at $SERVING: run 'make run' (a refresh publishes a release)" >&2
    exit 1
fi

# --- configuration, metadata, admin -------------------------------------------------------------
export SUPERSET_CONFIG_PATH
SUPERSET_CONFIG_PATH="$("$VENV/bin/python" "$HERE/marmot_superset.py" config "$SUPERSET_HOME")"
export FLASK_APP=superset SUPERSET_HOME PYTHONUNBUFFERED=1
superset="$VENV/bin/superset"
"$superset" db upgrade >"$SUPERSET_HOME/db-upgrade.log" 2>&1 \
    || { cat "$SUPERSET_HOME/db-upgrade.log" >&2; exit 1; }
if [[ ! -f "$SUPERSET_HOME/.admin-created" ]]; then
    if [[ -z "${MARMOT_SUPERSET_ADMIN_PASSWORD:-}" ]]; then
        echo "superset: admin user '$ADMIN', password 'admin' (local default: set" \
             "MARMOT_SUPERSET_ADMIN_PASSWORD to choose one)"
    fi
    "$superset" fab create-admin --username "$ADMIN" --firstname Marmot --lastname Admin \
        --email "$ADMIN@localhost" --password "${MARMOT_SUPERSET_ADMIN_PASSWORD:-admin}" \
        >"$SUPERSET_HOME/create-admin.log" 2>&1 \
        || { cat "$SUPERSET_HOME/create-admin.log" >&2; exit 1; }
    touch "$SUPERSET_HOME/.admin-created"
fi
"$superset" init >"$SUPERSET_HOME/init.log" 2>&1 || { cat "$SUPERSET_HOME/init.log" >&2; exit 1; }

# --- the server on 127.0.0.1, then the dashboard through the REST API ----------------------------
free_port() {
    "$VENV/bin/python" - "$1" <<'EOF'
import socket, sys
want = int(sys.argv[1])
for port in (want, 0):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(s.getsockname()[1])
        break
EOF
}
PORT="$(free_port "${MARMOT_SUPERSET_PORT:-8088}")"
URL="http://127.0.0.1:$PORT"
"$VENV/bin/gunicorn" --bind "127.0.0.1:$PORT" --workers 1 --worker-class gthread --threads 8 \
    --timeout 300 --access-logfile - --no-control-socket \
    "superset.app:create_app()" \
    >>"$SUPERSET_HOME/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; exit 0' INT TERM
trap 'kill "$server" 2>/dev/null || true' EXIT
echo "superset: starting on $URL (log: $SUPERSET_HOME/server.log)"
"$VENV/bin/python" "$HERE/marmot_superset.py" provision --url "$URL" --serving "$SERVING"
echo "superset: ready on $URL (user '$ADMIN')"
wait "$server"
