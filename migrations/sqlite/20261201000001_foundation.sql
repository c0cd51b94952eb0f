-- Foundation: district registry, users, sessions, tokens, audit log (SQLite).
-- The PostgreSQL twin of this file must define the same tables and columns (crates/kernel/tests/schema.rs checks it).
-- Times are Unix seconds (UTC). Flags are BIGINT 0/1: the Any driver cannot decode SQLite BOOLEAN columns (measured).

CREATE TABLE district (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    city TEXT NOT NULL,
    center_lon DOUBLE PRECISION,
    center_lat DOUBLE PRECISION,
    simulated BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE streets (
    id INTEGER PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    district_code TEXT NOT NULL REFERENCES district(code),
    center_lon DOUBLE PRECISION,
    center_lat DOUBLE PRECISION,
    created_at BIGINT NOT NULL
);

CREATE TABLE departments (
    id INTEGER PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('bureau', 'external')),
    duties TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    street_id BIGINT REFERENCES streets(id),
    department_id BIGINT REFERENCES departments(id),
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    id_digest TEXT PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY NOT NULL,
    username TEXT NOT NULL,
    client TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_username ON login_failures(username, at);
CREATE INDEX login_failures_client ON login_failures(client, at);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY NOT NULL,
    at BIGINT NOT NULL,
    actor_id BIGINT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    summary TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT
);
CREATE INDEX audit_log_entity ON audit_log(entity, entity_id);
CREATE INDEX audit_log_at ON audit_log(at);

-- Enterprises (the ECHO-style facility record every program links to).
CREATE TABLE enterprises (
    id INTEGER PRIMARY KEY NOT NULL,
    uscc TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    industry_code TEXT NOT NULL,
    industry_name TEXT NOT NULL,
    street_id BIGINT NOT NULL REFERENCES streets(id),
    address TEXT NOT NULL,
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    legal_representative TEXT,
    contact_phone TEXT,
    key_discharger BIGINT NOT NULL DEFAULT 0,
    key_categories TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    simulated BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX enterprises_street ON enterprises(street_id);
CREATE INDEX enterprises_industry ON enterprises(industry_code);

CREATE TABLE enterprise_status_history (
    id INTEGER PRIMARY KEY NOT NULL,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises(id),
    status TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    note TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at BIGINT NOT NULL
);
CREATE INDEX enterprise_status_history_enterprise ON enterprise_status_history(enterprise_id);

CREATE TABLE enterprise_identifiers (
    id INTEGER PRIMARY KEY NOT NULL,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises(id),
    program TEXT NOT NULL,
    identifier TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (program, identifier)
);
CREATE INDEX enterprise_identifiers_enterprise ON enterprise_identifiers(enterprise_id);

CREATE TABLE sites (
    id INTEGER PRIMARY KEY NOT NULL,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises(id),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    street_id BIGINT NOT NULL REFERENCES streets(id),
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    created_at BIGINT NOT NULL
);
CREATE INDEX sites_enterprise ON sites(enterprise_id);

CREATE TABLE outlets (
    id INTEGER PRIMARY KEY NOT NULL,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises(id),
    site_id BIGINT REFERENCES sites(id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    medium TEXT NOT NULL CHECK (medium IN ('gas', 'water')),
    kind TEXT NOT NULL CHECK (kind IN ('main', 'general', 'special')),
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    online_monitored BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (enterprise_id, code)
);

-- Monitoring points: air stations, water sections, monitored outlets.
CREATE TABLE monitoring_points (
    id INTEGER PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('air_station', 'water_section', 'outlet')),
    level TEXT NOT NULL CHECK (level IN ('national', 'municipal', 'district', 'micro', 'enterprise')),
    street_id BIGINT REFERENCES streets(id),
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    owner TEXT NOT NULL,
    water_body TEXT,
    water_kind TEXT CHECK (water_kind IS NULL OR water_kind IN ('river', 'lake')),
    target_class BIGINT,
    outlet_id BIGINT REFERENCES outlets(id),
    active BIGINT NOT NULL DEFAULT 1,
    simulated BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX monitoring_points_kind ON monitoring_points(kind, street_id);

CREATE TABLE devices (
    id INTEGER PRIMARY KEY NOT NULL,
    mn TEXT NOT NULL UNIQUE,
    password TEXT NOT NULL,
    protocol TEXT NOT NULL CHECK (protocol IN ('2005', '2017', '2025')),
    crc_mode TEXT NOT NULL CHECK (crc_mode IN ('strict', 'accept_variant', 'ignore')),
    point_id BIGINT NOT NULL REFERENCES monitoring_points(id),
    model TEXT NOT NULL DEFAULT '',
    active BIGINT NOT NULL DEFAULT 1,
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX devices_point ON devices(point_id);
