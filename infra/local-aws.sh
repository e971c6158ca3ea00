#!/usr/bin/env bash
# A local stand-in for the AWS services tandem uses (DynamoDB, Secrets Manager): moto's server on
# 127.0.0.1, started in the background and reused while it runs.
#
#   eval "$(infra/local-aws.sh)"   # start (or reuse) it and export AWS_ENDPOINT_URL and dummy credentials
#   infra/local-aws.sh stop        # stop the server this script started
#
# Only the export lines go to stdout, so `eval` sees nothing else; progress and errors go to stderr.
# Environment: LOCAL_AWS_PORT (first port tried, default 5005).
set -euo pipefail
cd "$(dirname "$0")/.."

readonly MOTO_REQUIREMENT="moto[server]==5.2.*"
readonly MOTO_VERSION_PATTERN='^5\.2\.'
readonly STATE_DIR="target/local-aws"
readonly PID_FILE="$STATE_DIR/moto.pid"
readonly PORT_FILE="$STATE_DIR/moto.port"
readonly LOG_FILE="$STATE_DIR/moto.log"
readonly LOCK_FILE="$STATE_DIR/lock"
readonly START_TIMEOUT_SECONDS=20

say() { echo "local-aws: $*" >&2; }

# The Python that runs moto: serial, with transactions that back up only the items they touch.
read -r -d '' MOTO_LAUNCHER <<'PYTHON' || true
import copy
import sys
import threading

import moto.server as server

threaded_run_simple = server.run_simple
one_request_at_a_time = threading.Lock()


def serial_run_simple(hostname, port, application, *args, **options):
    # Threads for connections, so that a client's idle keep-alive connection holds up nobody; one
    # lock for the requests themselves, answers read out in full before the next request starts.
    def serialised(environ, start_response):
        with one_request_at_a_time:
            return list(application(environ, start_response))

    options["threaded"] = True
    return threaded_run_simple(hostname, port, serialised, *args, **options)


server.run_simple = serial_run_simple

try:
    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    class NoTableCopies:
        """copy, except that deepcopy hands tables back uncopied (the undo below replaces the backup)."""

        def __getattr__(self, name):
            return getattr(copy, name)

        @staticmethod
        def deepcopy(value, *args, **kwargs):
            return value if isinstance(value, Table) else copy.deepcopy(value, *args, **kwargs)

    whole_table_backup = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        touched = []
        for entry in transact_items:
            _, operation = next(iter(entry.items()))
            table = self.tables.get(operation.get("TableName"))
            key = operation.get("Key") or operation.get("Item") or {}
            if table is None or table.hash_key_attr not in key:
                continue
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
            touched.append((table, hash_value, range_value, copy.deepcopy(table.get_item(hash_value, range_value))))
        try:
            return whole_table_backup(self, transact_items)
        except Exception:
            for table, hash_value, range_value, before in reversed(touched):
                if before is None:
                    table.delete_item(hash_value, range_value)
                elif range_value is not None:
                    table.items[hash_value][range_value] = before
                else:
                    table.items[hash_value] = before
            raise

    dynamodb_models.copy = NoTableCopies()
    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items
except (ImportError, AttributeError) as error:
    print(f"local-aws: transactions back up whole tables ({error})", file=sys.stderr)

server.main(sys.argv[1:])
PYTHON

# The pid of the server this script started, if it is still running (and is still moto, not another
# process that got the pid since).
running_pid() {
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(cat "$PID_FILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
        grep -q "moto" "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

# moto's dashboard page: static, so it answers fast however much data the server holds.
answers() {
    curl --silent --output /dev/null --max-time 2 "http://127.0.0.1:$1/moto-api/"
}

# Waits until the server `$1` answers on port `$2`; fails if it exits or the time runs out.
wait_until_answering() {
    local pid="$1" port="$2" deadline=$((SECONDS + START_TIMEOUT_SECONDS))
    until answers "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            say "moto exited; its log ($LOG_FILE):"
            tail -n 20 "$LOG_FILE" >&2
            return 1
        fi
        if ((SECONDS >= deadline)); then
            say "moto (pid $pid) does not answer on port $port within ${START_TIMEOUT_SECONDS}s (log: $LOG_FILE)"
            return 1
        fi
        sleep 0.2
    done
}

port_is_free() {
    python3 - "$1" <<'EOF'
import socket, sys
with socket.socket() as probe:
    # As the server will: connections of a server stopped a moment ago must not block the port.
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind(("127.0.0.1", int(sys.argv[1])))
    except OSError:
        sys.exit(1)
EOF
}

ensure_moto() {
    local installed=""
    if command -v moto_server >/dev/null 2>&1; then
        installed="$(python3 -c 'import moto, flask, flask_cors; print(moto.__version__)' 2>/dev/null || true)"
    fi
    if [[ ! "$installed" =~ $MOTO_VERSION_PATTERN ]]; then
        say "installing $MOTO_REQUIREMENT (found: ${installed:-none})"
        python3 -m pip install --quiet "$MOTO_REQUIREMENT" >&2
        hash -r
    fi
}

print_exports() {
    echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$1"
    echo "export AWS_REGION=us-east-1"
    echo "export AWS_ACCESS_KEY_ID=test"
    echo "export AWS_SECRET_ACCESS_KEY=test"
}

start() {
    mkdir -p "$STATE_DIR"
    # One start at a time: two callers at once would otherwise start two servers.
    exec 9>"$LOCK_FILE"
    flock 9

    local pid port
    if pid="$(running_pid)"; then
        port="$(cat "$PORT_FILE")"
        # Never start a second server while ours lives: a busy one is waited for, a hung one reported.
        if ! wait_until_answering "$pid" "$port"; then
            say "run '$0 stop' and try again"
            exit 1
        fi
        say "reusing moto (pid $pid) on port $port"
        print_exports "$port"
        return
    fi

    ensure_moto
    port="${LOCAL_AWS_PORT:-5005}"
    local last=$((port + 50))
    until port_is_free "$port"; do
        port=$((port + 1))
        if ((port > last)); then
            say "no free port between ${LOCAL_AWS_PORT:-5005} and $last"
            exit 1
        fi
    done

    # moto's server handles requests on parallel threads without any locking, and a cancelled
    # TransactWriteItems restores a copy of the whole table taken when it began, undoing other
    # requests' writes made meanwhile. Real DynamoDB is atomic, so handle one request at a time (on
    # threads per connection: a serial server waits on whichever connection it accepted, and an SDK's
    # pooled connection that never sends stalls every other client).
    # That copy is also made before every transaction, so each one costs time and memory in proportion
    # to the table (the convergence harness's tables reach 100,000 records and moto 12 GB): since the
    # server is serial, remembering only the items a transaction touches restores exactly the same.
    # setsid: the server outlives this script and the shell that eval'd it.
    setsid python3 -c "$MOTO_LAUNCHER" --host 127.0.0.1 --port "$port" >"$LOG_FILE" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$PID_FILE"
    echo "$port" >"$PORT_FILE"

    if ! wait_until_answering "$pid" "$port"; then
        kill "$pid" 2>/dev/null || true
        rm -f "$PID_FILE" "$PORT_FILE"
        exit 1
    fi
    say "moto (pid $pid) answers on port $port; log: $LOG_FILE"
    print_exports "$port"
}

stop() {
    local pid
    if pid="$(running_pid)"; then
        kill "$pid"
        local waited=0
        while kill -0 "$pid" 2>/dev/null && ((waited < 50)); do
            sleep 0.1
            waited=$((waited + 1))
        done
        say "stopped moto (pid $pid)"
    else
        say "moto is not running"
    fi
    rm -f "$PID_FILE" "$PORT_FILE"
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
*)
    say "usage: $0 [start|stop]"
    exit 2
    ;;
esac
