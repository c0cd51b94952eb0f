//! `sqlx::migrate!` embeds the migration files at compile time, but Cargo does not know that a new file in
//! `migrations/` changes this crate: without this line a binary built before a migration was added silently
//! lacks it (seen: "no such table" at start).
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
