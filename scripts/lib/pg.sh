# shellcheck shell=bash
# Private PostgreSQL 15 clusters for tests, the demo and benchmarks.
# Source this file, then call pg_start DIR; it exports PG_URL (superuser,
# trust auth, loopback only). pg_stop DIR stops the cluster again.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# initdb refuses to run as root, so the cluster belongs to `postgres` then.
pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

pg_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# pg_start DIR [extra postgres -c options...]
pg_start() {
  local dir=$1; shift
  if [ ! -x "$PG_BIN/initdb" ]; then
    echo "PostgreSQL 15 server binaries not found in $PG_BIN (Debian: apt-get install postgresql-15)" >&2
    return 1
  fi
  mkdir -p "$dir/sock"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
    chown -R postgres "$dir"
  fi
  chmod 700 "$dir"
  pg_as_owner "$PG_BIN/initdb" --pgdata="$dir/data" --username=postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2; return 1; }
  local port opts
  port=$(pg_free_port)
  opts="-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c max_connections=400"
  opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  opts="$opts -c shared_buffers=512MB -c max_wal_size=4GB -c work_mem=32MB"
  local o; for o in "$@"; do opts="$opts -c $o"; done
  pg_as_owner "$PG_BIN/pg_ctl" --pgdata="$dir/data" --log="$dir/postgres.log" \
    --options="$opts" --wait --timeout=60 start >/dev/null || {
      cat "$dir/postgres.log" >&2; return 1; }
  echo "$port" >"$dir/port"
  export PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

pg_stop() {
  local dir=$1
  [ -d "$dir/data" ] || return 0
  pg_as_owner "$PG_BIN/pg_ctl" --pgdata="$dir/data" --mode=fast --wait stop >/dev/null 2>&1 || true
}
