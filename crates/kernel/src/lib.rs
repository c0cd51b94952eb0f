//! Shared foundation of every area: time, ids, database access, principal, errors, audit.
