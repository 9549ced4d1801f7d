//! The storage a node runs on: SQLite under its data dir, or Postgres
//! when `--database-url` names one (several nodes, one database).

use std::sync::Arc;

use super::postgres::{PgSettings, PgStore};
use super::sqlite::SqliteStore;
use super::{Leases, Result, Stores};
use crate::config::Config;

/// The open database behind every store trait.
pub enum Backend {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PgStore>),
}

impl Backend {
    /// Opens (creating and migrating) the configured database; `node` is
    /// this node's name in cart leases.
    pub async fn open(config: &Config, node: &str) -> Result<Self> {
        Ok(match &config.database_url {
            None => Self::Sqlite(Arc::new(SqliteStore::open(config).await?)),
            Some(url) => {
                let settings = PgSettings {
                    node: node.to_owned(),
                    commit_batch: config.commit_batch,
                    webhook_debounce_ms: config.webhook_debounce_ms as i64,
                };
                Self::Postgres(Arc::new(PgStore::open(url, settings).await?))
            }
        })
    }

    /// One handle per aggregate.
    pub fn stores(&self) -> Stores {
        match self {
            Self::Sqlite(store) => Stores::from_backend(store.clone()),
            Self::Postgres(store) => Stores::from_backend(store.clone()),
        }
    }

    /// Cart leases, where several nodes may share the database.
    pub fn leases(&self) -> Option<Arc<dyn Leases>> {
        match self {
            Self::Sqlite(_) => None,
            Self::Postgres(store) => Some(store.clone()),
        }
    }

    /// Lets the writer finish what was queued, then closes the database.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(store) => store.close().await,
            Self::Postgres(store) => store.close().await,
        }
    }
}
