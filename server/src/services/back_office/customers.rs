//! Customer sync: imports by e-mail (linked to the account with that
//! e-mail, now or when it signs up) and the changes since a cursor.

use cartroom_protocol::ErrorCode;
use cartroom_protocol::back_office::{
    CustomerImport, CustomerResult, CustomersPage, ImportCustomersResponse, ItemStatus,
    MAX_BATCH_ITEMS,
};
use cartroom_protocol::http::ErrorDetail;
use serde_json::Value;

use super::{BackOfficeService, StoreKey, validate};
use crate::refusal::Refusal;
use crate::services::error::Result;

impl BackOfficeService {
    /// Imports each customer; a bad item is reported and the others applied.
    pub async fn import_customers(
        &self,
        key: &StoreKey,
        items: Vec<Value>,
    ) -> Result<ImportCustomersResponse> {
        if items.len() > MAX_BATCH_ITEMS {
            return Err(Refusal::new(
                ErrorCode::InvalidField,
                format!("customers: at most {MAX_BATCH_ITEMS} per request"),
            )
            .into());
        }
        let mut results = Vec::with_capacity(items.len());
        let mut writes = Vec::new();
        for value in items {
            let email = value
                .get("email")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let checked = serde_json::from_value::<CustomerImport>(value)
                .map_err(|e| Refusal::new(ErrorCode::InvalidField, e.to_string()))
                .and_then(|item| validate::customer(&item));
            match checked {
                Ok(write) => {
                    writes.push(write);
                    results.push(CustomerResult {
                        email,
                        status: ItemStatus::Unchanged,
                        error: None,
                    });
                }
                Err(r) => results.push(CustomerResult {
                    email,
                    status: ItemStatus::Error,
                    error: Some(ErrorDetail {
                        code: r.code,
                        message: r.message,
                    }),
                }),
            }
        }
        let statuses = self
            .store
            .import_customers(&key.store_id, &writes, self.clock.now_ms())
            .await?;
        let mut statuses = statuses.into_iter();
        for result in results.iter_mut().filter(|r| r.error.is_none()) {
            if let Some(status) = statuses.next() {
                result.status = status;
            }
        }
        Ok(ImportCustomersResponse { results })
    }

    /// The store's customers changed after the cursor, in change order.
    pub async fn customers(
        &self,
        key: &StoreKey,
        after: i64,
        limit: usize,
    ) -> Result<CustomersPage> {
        let mut rows = self
            .store
            .changed_customers(&key.store_id, after, limit + 1)
            .await?;
        let has_more = rows.len() > limit;
        rows.truncate(limit);
        let cursor = rows.last().map_or(after, |(seq, _)| *seq);
        Ok(CustomersPage {
            customers: rows.into_iter().map(|(_, c)| c).collect(),
            cursor: cursor.to_string(),
            has_more,
        })
    }
}
