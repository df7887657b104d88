//! Rebuild when a migration is added or changed: `sqlx::migrate!` embeds them at compile time
//! and cannot tell cargo on stable Rust.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
