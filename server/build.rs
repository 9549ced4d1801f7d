// `sqlx::migrate!` embeds server/migrations at compile time; without this,
// a migration added or edited after the last build is silently left out.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
