//! Which database a test server keeps its state in: SQLite under its data
//! dir (the default), or, with `CARTROOM_TEST_DATABASE_URL` set (a
//! `postgres://` URL), a Postgres schema of its own. The schema's URL is
//! kept in a file in the data dir, so that a server restarted on that dir
//! (after a kill -9, say) finds its database again, under the same node
//! name, and so takes its carts' leases back at once.

use std::path::Path;

use anyhow::Context;
use sqlx::AnyPool;

/// The variable that runs the suite on Postgres.
pub const DATABASE_VAR: &str = "CARTROOM_TEST_DATABASE_URL";

/// The file in a data dir that names its Postgres schema.
const URL_FILE: &str = "test-database-url";

/// A test server's Postgres database.
#[derive(Clone, Debug)]
pub struct Database {
    /// `--database-url`: the shared database, on the data dir's schema.
    pub url: String,
    /// `--node-name`: the same for every server started on the data dir.
    pub node: String,
}

/// Whether this run keeps state in Postgres.
pub fn on_postgres() -> bool {
    std::env::var_os(DATABASE_VAR).is_some()
}

/// The Postgres database of a server on `data_dir` (created on first use),
/// or `None` on SQLite.
pub async fn database(data_dir: &Path) -> anyhow::Result<Option<Database>> {
    let Ok(base) = std::env::var(DATABASE_VAR) else {
        return Ok(None);
    };
    let file = data_dir.join(URL_FILE);
    let schema = match std::fs::read_to_string(&file) {
        Ok(schema) => schema,
        Err(_) => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let admin = sqlx::PgPool::connect(&base)
                .await
                .with_context(|| format!("{DATABASE_VAR}: connecting to {base}"))?;
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&admin)
                .await?;
            admin.close().await;
            std::fs::create_dir_all(data_dir)?;
            std::fs::write(&file, &schema)?;
            schema
        }
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(Some(Database {
        url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
        node: format!("node-{}", &schema[2..14]),
    }))
}

/// Sets `config` to the data dir's Postgres database, on Postgres runs.
pub async fn configure(config: &mut cartroom::Config) -> anyhow::Result<()> {
    if let Some(db) = database(&config.data_dir).await? {
        config.database_url = Some(db.url);
        config.node_name = Some(db.node);
    }
    Ok(())
}

/// A pool on what a server on `data_dir` stored, whichever the database,
/// for tests that read rows directly. Write statements' parameters as
/// `$1`, `$2`...: both databases read them in that order.
pub async fn pool(data_dir: &Path) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    let url = match database(data_dir).await? {
        Some(db) => db.url,
        None => format!("sqlite://{}", data_dir.join("cartroom.sqlite3").display()),
    };
    Ok(AnyPool::connect(&url).await?)
}
