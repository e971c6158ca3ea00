//! Query results kept for their next batches: `nextRecordsUrl` is `/services/data/vXX.X/query/`
//! followed by the query's locator and the number of rows already returned. Only the latest queries
//! are kept, as an org lets old locators expire.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// How many queries' results are kept for their next batches.
const KEPT: u64 = 200;

fn locator(number: u64) -> String {
    format!("01gbm{number:010}AAV")
}

#[derive(Debug, Default)]
pub(crate) struct Cursors {
    open: Mutex<HashMap<String, (Vec<Value>, usize)>>,
    opened: AtomicU64,
}

impl Cursors {
    /// Keeps the rows of a query; its locator.
    pub(crate) fn open(&self, rows: Vec<Value>, total: usize) -> String {
        let number = self.opened.fetch_add(1, Ordering::SeqCst) + 1;
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(expired) = number.checked_sub(KEPT) {
            open.remove(&locator(expired));
        }
        open.insert(locator(number), (rows, total));
        locator(number)
    }

    pub(crate) fn knows(&self, locator: &str) -> bool {
        self.open.lock().unwrap_or_else(PoisonError::into_inner).contains_key(locator)
    }

    /// The batch of `size` rows from `offset`, in the query answer's shape.
    pub(crate) fn batch(&self, locator: &str, offset: usize, size: usize, version: &str) -> Value {
        let open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let (rows, total) = open.get(locator).map_or((&[][..], 0), |(rows, total)| (rows.as_slice(), *total));
        let end = (offset + size).min(rows.len());
        let records: Vec<Value> = rows.get(offset..end).unwrap_or_default().to_vec();
        let mut answer = json!({ "totalSize": total, "done": end >= rows.len(), "records": records });
        if end < rows.len() {
            answer["nextRecordsUrl"] = json!(format!("/services/data/v{version}/query/{locator}-{end}"));
        }
        answer
    }
}
