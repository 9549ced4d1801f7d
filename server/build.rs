// `sqlx::migrate!` embeds server/migrations and server/migrations_pg at
// compile time; without this, a migration added or edited after the last
// build is silently left out.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=migrations_pg");
}
