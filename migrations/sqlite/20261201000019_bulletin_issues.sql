-- Issued bulletins (已发布的排名通报, SQLite): each issue of a month's bulletin is a document kept as it was issued,
-- so that later corrections of the data do not change it. A reissue is a new version; earlier ones are kept.
-- The PostgreSQL twin of this file must define the same tables and columns (crates/kernel/tests/schema.rs checks it).
-- figures: the bulletin's JSON exactly as the API returned it at issue; digest: SHA-256 of those figures without
-- their generation time, compared with a fresh computation to tell that the data have changed since; html: the
-- rendered body of the page; xlsx, pdf: the exports' bytes. number: the document number (文号), e.g.
-- 东丽环通〔2026〕10号, numbered per year of issue (year, sequence).
CREATE TABLE bulletin_issues (
    id INTEGER PRIMARY KEY NOT NULL,
    month TEXT NOT NULL,
    version BIGINT NOT NULL CHECK (version >= 1),
    number TEXT NOT NULL,
    year BIGINT NOT NULL,
    sequence BIGINT NOT NULL CHECK (sequence >= 1),
    issued_at BIGINT NOT NULL,
    issued_by TEXT NOT NULL,
    digest TEXT NOT NULL,
    figures TEXT NOT NULL,
    html TEXT NOT NULL,
    xlsx BLOB NOT NULL,
    pdf BLOB NOT NULL,
    UNIQUE (month, version),
    UNIQUE (year, sequence)
);
