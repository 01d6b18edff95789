#!/usr/bin/env bash
# Make sure the system services the test suite needs are installed and running.
#
# Idempotent and quick when everything is in place. On a fresh Debian 12 machine it installs
# PostgreSQL + PostGIS, GDAL's tools, Chromium + chromedriver and a CJK font (apt), starts the cluster,
# creates the test role and database with the PostGIS extension, and lets the test role
# connect over 127.0.0.1 without a password. Needs root or sudo only when something is
# missing.
#
# Environment:
#   SERVICEMAP_TEST_DB     test database and role name (default: servicemap_test)
#   SERVICEMAP_NO_BROWSER  set to 1 to skip Chromium (storage/API tests only)
#   SERVICEMAP_PG_CLUSTER  PostgreSQL cluster name to use (default: the first, usually main)
set -euo pipefail

TEST_DB="${SERVICEMAP_TEST_DB:-servicemap_test}"
TEST_ROLE="$TEST_DB"

log() { printf 'ensure-services: %s\n' "$*"; }
die() { printf 'ensure-services: ERROR: %s\n' "$*" >&2; exit 1; }

if [[ ! "$TEST_DB" =~ ^[a-z_][a-z0-9_]*$ ]]; then
  die "SERVICEMAP_TEST_DB must be a lower-case SQL identifier, got '$TEST_DB'"
fi

# Run a command as root: directly when root, through sudo otherwise.
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run '$*' (install sudo or run as root)"
  fi
}

# Run a command as the postgres OS user (peer authentication on the unix socket).
as_postgres() {
  if [[ $(id -un) == postgres ]]; then
    "$@"
  elif [[ $EUID -eq 0 ]] && command -v runuser >/dev/null 2>&1; then
    runuser -u postgres -- "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -u postgres "$@"
  else
    die "need root or sudo to run '$*' as the postgres user"
  fi
}

APT_UPDATED=0
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    die "cannot install $* automatically: apt-get not found (install them by hand)"
  fi
  if [[ $APT_UPDATED -eq 0 ]]; then
    log "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null
}

# Highest installed PostgreSQL server major version, or empty.
pg_server_version() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V); do
    basename "$(dirname "$(dirname "$dir")")"
  done | tail -n 1
}

# ---- packages --------------------------------------------------------------------------
missing=()
PG_VERSION="$(pg_server_version)"
[[ -n "$PG_VERSION" ]] || missing+=(postgresql)
# GDAL's command-line tools: the OGC API - Features tests read /ogc with its OAPIF driver
command -v ogrinfo >/dev/null 2>&1 || missing+=(gdal-bin)
if [[ "${SERVICEMAP_NO_BROWSER:-0}" != 1 ]]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
  # a Chinese font, so the map's labels and screenshots are not empty boxes
  if ! { command -v fc-list >/dev/null 2>&1 && [[ -n "$(fc-list :lang=zh 2>/dev/null)" ]]; }; then
    missing+=(fonts-wqy-microhei)
  fi
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  apt_install "${missing[@]}"
  PG_VERSION="$(pg_server_version)"
  [[ -n "$PG_VERSION" ]] || die "PostgreSQL server still missing after installing 'postgresql'"
fi
if [[ ! -f "/usr/share/postgresql/$PG_VERSION/extension/postgis.control" ]]; then
  apt_install "postgresql-$PG_VERSION-postgis-3"
fi

# ---- cluster ---------------------------------------------------------------------------
# pg_lsclusters -h: "version cluster port status owner datadir logfile"
WANT_CLUSTER="${SERVICEMAP_PG_CLUSTER:-}"
find_cluster() {
  pg_lsclusters -h 2>/dev/null \
    | awk -v v="$PG_VERSION" -v c="$WANT_CLUSTER" '$1 == v && (c == "" || $2 == c)' \
    | head -n 1 || true
}
cluster_line="$(find_cluster)"
if [[ -z "$cluster_line" ]]; then
  log "creating PostgreSQL $PG_VERSION cluster '${WANT_CLUSTER:-main}'"
  as_root pg_createcluster "$PG_VERSION" "${WANT_CLUSTER:-main}" >/dev/null
  cluster_line="$(find_cluster)"
fi
read -r _ PG_CLUSTER PG_PORT PG_STATUS _ <<<"$cluster_line"
if [[ "$PG_STATUS" != online* ]]; then
  log "starting PostgreSQL $PG_VERSION/$PG_CLUSTER on port $PG_PORT"
  if [[ -d /run/systemd/system ]]; then
    as_root pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start
  else
    as_root pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" start
  fi
fi

psql_admin() {
  as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" "$@"
}

# wait briefly for the server to accept connections after a start
for _ in $(seq 1 30); do
  if pg_isready -q -p "$PG_PORT"; then break; fi
  sleep 0.5
done
pg_isready -q -p "$PG_PORT" || die "PostgreSQL $PG_VERSION/$PG_CLUSTER does not accept connections on port $PG_PORT"

# ---- role, database, extension, access (needs root or sudo) -----------------------------
setup_test_db() {
  if [[ "$(psql_admin -d postgres -Atc "SELECT 1 FROM pg_roles WHERE rolname = '$TEST_ROLE'")" != 1 ]]; then
    log "creating role $TEST_ROLE (login, not superuser)"
    psql_admin -d postgres -c "CREATE ROLE $TEST_ROLE LOGIN"
  fi
  if [[ "$(psql_admin -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$TEST_DB'")" != 1 ]]; then
    log "creating database $TEST_DB"
    psql_admin -d postgres -c "CREATE DATABASE $TEST_DB OWNER $TEST_ROLE"
  fi
  if [[ "$(psql_admin -d postgres -Atc "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$TEST_DB'")" != "$TEST_ROLE" ]]; then
    log "making $TEST_ROLE the owner of database $TEST_DB"
    psql_admin -d postgres -c "ALTER DATABASE $TEST_DB OWNER TO $TEST_ROLE"
  fi
  if [[ "$(psql_admin -d "$TEST_DB" -Atc "SELECT 1 FROM pg_extension WHERE extname = 'postgis'")" != 1 ]]; then
    log "enabling PostGIS in $TEST_DB"
    psql_admin -d "$TEST_DB" -c "CREATE EXTENSION postgis"
  fi

  # ---- password-less access over 127.0.0.1 for the test role only -------------------------
  if ! psql -X -w -h 127.0.0.1 -p "$PG_PORT" -U "$TEST_ROLE" -d "$TEST_DB" -Atc 'SELECT 1' >/dev/null 2>&1; then
    hba_file="$(psql_admin -d postgres -Atc 'SHOW hba_file')"
    hba_line="host $TEST_DB $TEST_ROLE 127.0.0.1/32 trust"
    if ! as_root grep -qxF "$hba_line" "$hba_file"; then
      log "allowing $TEST_ROLE to reach $TEST_DB over 127.0.0.1 without a password ($hba_file)"
      # the first matching line wins: put ours before the distribution's scram/md5 lines
      as_root sed -i "1i # servicemap tests (scripts/ensure-services.sh)\n$hba_line" "$hba_file"
    fi
    psql_admin -d postgres -Atc 'SELECT pg_reload_conf()' >/dev/null
    sleep 0.2
    psql -X -w -h 127.0.0.1 -p "$PG_PORT" -U "$TEST_ROLE" -d "$TEST_DB" -Atc 'SELECT 1' >/dev/null \
      || die "cannot connect as $TEST_ROLE to $TEST_DB on 127.0.0.1:$PG_PORT; check $hba_file"
  fi
}

# Whether the test role reaches the test database over 127.0.0.1 and PostGIS is enabled.
test_db_ready() {
  [[ "$(psql -X -w -h 127.0.0.1 -p "$PG_PORT" -U "$TEST_ROLE" -d "$TEST_DB" -Atc \
    "SELECT 1 FROM pg_extension WHERE extname = 'postgis'" 2>/dev/null)" == 1 ]]
}

if test_db_ready; then
  log "database $TEST_DB with PostGIS already reachable as $TEST_ROLE"
else
  setup_test_db
fi

URL="postgresql://$TEST_ROLE@127.0.0.1:$PG_PORT/$TEST_DB"
log "PostgreSQL $PG_VERSION + PostGIS ready: $URL"
if [[ "$PG_PORT" != 5432 ]]; then
  log "the cluster listens on $PG_PORT, not 5432: export SERVICEMAP_TEST_DATABASE_URL=$URL"
fi
if [[ "${SERVICEMAP_NO_BROWSER:-0}" != 1 ]]; then
  log "chromium ready: $(command -v chromium), $(command -v chromedriver)"
fi
