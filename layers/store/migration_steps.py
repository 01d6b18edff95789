"""The registered store migrations, in name order (see :mod:`layers.store.migrations`)."""

from __future__ import annotations

import json
from typing import Any

from layers.store.migrations import SQLITE, Migration

#: Layers whose records became editable working copies in 0002 (frozen: later catalogue
#: changes add their own migrations).
_REGISTRY_LAYERS_0002 = (
    "health_point", "fitness_station", "relay_station", "rest_room", "training_site",
    "service_centre", "community_health",
)  # fmt: skip

_RECORDS_SQLITE = (
    """
    CREATE TABLE IF NOT EXISTS registry_records (
        id TEXT PRIMARY KEY,
        layer TEXT NOT NULL,
        district TEXT,
        review TEXT NOT NULL,
        status TEXT NOT NULL,
        registry_no TEXT,
        match_key TEXT NOT NULL,
        version INTEGER NOT NULL,
        published INTEGER NOT NULL DEFAULT 0,
        demo INTEGER NOT NULL DEFAULT 0,
        flagged INTEGER NOT NULL DEFAULT 0,
        deleted_at TEXT,
        updated_at TEXT NOT NULL,
        updated_by TEXT,
        lon REAL,
        lat REAL,
        record TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    "CREATE INDEX IF NOT EXISTS registry_records_scope ON registry_records (layer, district, review)",
    "CREATE INDEX IF NOT EXISTS registry_records_regno ON registry_records (layer, registry_no)",
    "CREATE INDEX IF NOT EXISTS registry_records_key ON registry_records (layer, match_key)",
    """
    CREATE TABLE IF NOT EXISTS audit_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT,
        role TEXT,
        action TEXT NOT NULL,
        facility_id TEXT,
        layer TEXT,
        district TEXT,
        changes TEXT NOT NULL,
        import_id TEXT,
        source_file TEXT,
        source_row INTEGER,
        comment TEXT
    )
    """,
    "CREATE INDEX IF NOT EXISTS audit_log_facility ON audit_log (facility_id, seq)",
    "CREATE INDEX IF NOT EXISTS audit_log_import ON audit_log (import_id)",
    """
    CREATE TABLE IF NOT EXISTS imports (
        id TEXT PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT,
        layer TEXT NOT NULL,
        district TEXT,
        filename TEXT,
        sha256 TEXT,
        committed INTEGER NOT NULL,
        report TEXT NOT NULL
    ) WITHOUT ROWID
    """,
)

_RECORDS_POSTGRES = (
    """
    CREATE TABLE IF NOT EXISTS registry_records (
        id text COLLATE "C" PRIMARY KEY,
        layer text NOT NULL,
        district text,
        review text NOT NULL,
        status text NOT NULL,
        registry_no text,
        match_key text NOT NULL,
        version bigint NOT NULL,
        published boolean NOT NULL DEFAULT false,
        demo boolean NOT NULL DEFAULT false,
        flagged boolean NOT NULL DEFAULT false,
        deleted_at timestamptz,
        updated_at timestamptz NOT NULL,
        updated_by text,
        lon double precision,
        lat double precision,
        record jsonb NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS registry_records_scope ON registry_records (layer, district, review)",
    "CREATE INDEX IF NOT EXISTS registry_records_regno ON registry_records (layer, registry_no)",
    "CREATE INDEX IF NOT EXISTS registry_records_key ON registry_records (layer, match_key)",
    """
    CREATE TABLE IF NOT EXISTS audit_log (
        seq bigserial PRIMARY KEY,
        at timestamptz NOT NULL,
        actor text,
        role text,
        action text NOT NULL,
        facility_id text,
        layer text,
        district text,
        changes jsonb NOT NULL,
        import_id text,
        source_file text,
        source_row integer,
        comment text
    )
    """,
    "CREATE INDEX IF NOT EXISTS audit_log_facility ON audit_log (facility_id, seq)",
    "CREATE INDEX IF NOT EXISTS audit_log_import ON audit_log (import_id)",
    """
    CREATE TABLE IF NOT EXISTS imports (
        id text PRIMARY KEY,
        at timestamptz NOT NULL,
        actor text,
        layer text NOT NULL,
        district text,
        filename text,
        sha256 text,
        committed boolean NOT NULL,
        report jsonb NOT NULL
    )
    """,
)


def _copy_published_registries(conn: Any, dialect: str) -> None:
    """Give every registry record already in ``facilities`` its approved working copy."""
    from layers.registry.schema import Facility
    from layers.store.records import record_columns

    p = "?" if dialect == SQLITE else "%s"
    marks = ", ".join([p] * len(_REGISTRY_LAYERS_0002))
    cast = "record" if dialect == SQLITE else "record::text"
    rows = conn.execute(
        f"SELECT {cast} FROM facilities WHERE layer IN ({marks})", _REGISTRY_LAYERS_0002
    ).fetchall()
    for (text,) in rows:
        facility = Facility.model_validate_json(text if isinstance(text, str) else json.dumps(text))
        cols = record_columns(facility, version=1, published=True, updated_by="migration")
        names = ", ".join(cols)
        conn.execute(
            f"INSERT INTO registry_records ({names}) VALUES ({', '.join([p] * len(cols))}) "
            "ON CONFLICT (id) DO NOTHING",
            tuple(cols.values()),
        )


#: Accounts (local users, argon2 hashes) and staff web sessions (see layers/accounts).
_ACCOUNTS_SQLITE = (
    """
    CREATE TABLE IF NOT EXISTS users (
        username TEXT PRIMARY KEY,
        display_name TEXT,
        role TEXT NOT NULL,
        district TEXT,
        password_hash TEXT,
        active INTEGER NOT NULL DEFAULT 1,
        token_generation INTEGER NOT NULL DEFAULT 1,
        version INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        password_changed_at TEXT,
        CONSTRAINT users_editor_district CHECK (role <> 'editor' OR district IS NOT NULL)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX IF NOT EXISTS users_role ON users (role, active)",
    """
    CREATE TABLE IF NOT EXISTS user_sessions (
        token_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        token_generation INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        expires_at_s INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
    "CREATE INDEX IF NOT EXISTS user_sessions_username ON user_sessions (username)",
    "CREATE INDEX IF NOT EXISTS user_sessions_expiry ON user_sessions (expires_at_s)",
)

_ACCOUNTS_POSTGRES = (
    """
    CREATE TABLE IF NOT EXISTS users (
        username text COLLATE "C" PRIMARY KEY,
        display_name text,
        role text NOT NULL,
        district text,
        password_hash text,
        active boolean NOT NULL DEFAULT true,
        token_generation bigint NOT NULL DEFAULT 1,
        version bigint NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        password_changed_at timestamptz,
        CONSTRAINT users_editor_district CHECK (role <> 'editor' OR district IS NOT NULL)
    )
    """,
    "CREATE INDEX IF NOT EXISTS users_role ON users (role, active)",
    """
    CREATE TABLE IF NOT EXISTS user_sessions (
        token_hash text PRIMARY KEY,
        username text NOT NULL,
        token_generation bigint NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at_s bigint NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS user_sessions_username ON user_sessions (username)",
    "CREATE INDEX IF NOT EXISTS user_sessions_expiry ON user_sessions (expires_at_s)",
)

_UPLOADS_SQLITE = (
    """
    CREATE TABLE IF NOT EXISTS import_uploads (
        id TEXT PRIMARY KEY,
        actor TEXT NOT NULL,
        layer TEXT NOT NULL,
        filename TEXT NOT NULL,
        options TEXT NOT NULL,
        data BLOB NOT NULL,
        created_at TEXT NOT NULL
    ) WITHOUT ROWID
    """,
)
_UPLOADS_POSTGRES = (
    """
    CREATE TABLE IF NOT EXISTS import_uploads (
        id text PRIMARY KEY,
        actor text NOT NULL,
        layer text NOT NULL,
        filename text NOT NULL,
        options jsonb NOT NULL,
        data bytea NOT NULL,
        created_at timestamptz NOT NULL
    )
    """,
)

#: Background jobs (:mod:`layers.jobs`): times are seconds since the epoch (UTC); the
#: request is the JSON a job runs from, the result its JSON answer (kept as text).
_JOBS_SQLITE = (
    """
    CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        owner TEXT NOT NULL,
        owner_district TEXT,
        idempotency_key TEXT,
        request_sha256 TEXT NOT NULL,
        request TEXT NOT NULL,
        status TEXT NOT NULL,
        message TEXT NOT NULL DEFAULT '',
        fraction REAL,
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_expires_at REAL,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        result TEXT,
        error TEXT,
        error_status INTEGER
    ) WITHOUT ROWID
    """,
    "CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency ON jobs (owner, kind, idempotency_key) "
    "WHERE idempotency_key IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created_at)",
    "CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, kind, created_at)",
    "CREATE INDEX IF NOT EXISTS jobs_district ON jobs (owner_district, kind, created_at)",
    "CREATE INDEX IF NOT EXISTS jobs_lease ON jobs (lease_owner) WHERE lease_owner IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL",
)

_JOBS_POSTGRES = (
    """
    CREATE TABLE IF NOT EXISTS jobs (
        id text PRIMARY KEY,
        kind text NOT NULL,
        owner text NOT NULL,
        owner_district text,
        idempotency_key text,
        request_sha256 text NOT NULL,
        request jsonb NOT NULL,
        status text NOT NULL,
        message text NOT NULL DEFAULT '',
        fraction double precision,
        attempts integer NOT NULL DEFAULT 0,
        max_attempts integer NOT NULL,
        cancel_requested boolean NOT NULL DEFAULT false,
        lease_owner text,
        lease_expires_at double precision,
        created_at double precision NOT NULL,
        started_at double precision,
        finished_at double precision,
        result text,
        error text,
        error_status integer
    )
    """,
    *_JOBS_SQLITE[1:],
)

#: Request counters of the anonymous rate limit (:mod:`layers.ratelimit`): one row per
#: hashed client and window (seconds since the epoch); rows of old windows are deleted.
_RATE_LIMITS_SQLITE = (
    """
    CREATE TABLE IF NOT EXISTS rate_limits (
        bucket TEXT NOT NULL,
        window_start INTEGER NOT NULL,
        hits INTEGER NOT NULL,
        PRIMARY KEY (bucket, window_start)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX IF NOT EXISTS rate_limits_window ON rate_limits (window_start)",
)
_RATE_LIMITS_POSTGRES = (
    """
    CREATE UNLOGGED TABLE IF NOT EXISTS rate_limits (
        bucket text NOT NULL,
        window_start bigint NOT NULL,
        hits integer NOT NULL,
        PRIMARY KEY (bucket, window_start)
    )
    """,
    "CREATE INDEX IF NOT EXISTS rate_limits_window ON rate_limits (window_start)",
)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0002_registry_records",
        sqlite=_RECORDS_SQLITE,
        postgres=_RECORDS_POSTGRES,
        data=_copy_published_registries,
    ),
    Migration("0003_accounts", sqlite=_ACCOUNTS_SQLITE, postgres=_ACCOUNTS_POSTGRES),
    Migration("0004_jobs", sqlite=_JOBS_SQLITE, postgres=_JOBS_POSTGRES),
    Migration("0005_import_uploads", sqlite=_UPLOADS_SQLITE, postgres=_UPLOADS_POSTGRES),
    Migration("0006_rate_limits", sqlite=_RATE_LIMITS_SQLITE, postgres=_RATE_LIMITS_POSTGRES),
)
