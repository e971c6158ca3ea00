//! The integration registry: each integration's configuration (its YAML text as written) and whether
//! it is active, so the Lambda functions know what to sync without a file system.
//!
//! All integrations share the partition `INTEGRATION`, one item per name (`sk`), holding `yaml`,
//! `active` (BOOL) and `updated_at` (RFC 3339). No record kind's partition can collide with it:
//! theirs all contain `#`. One partition is right for this: a deployment has a handful of
//! integrations, and the functions list them all at once.

use crate::keys::{Key, PK, SK};
use crate::store::DynamoStore;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::SecondsFormat;
use std::collections::HashMap;
use tandem_engine::ports::StoreError;
use tandem_model::Timestamp;

const PARTITION: &str = "INTEGRATION";
const YAML: &str = "yaml";
const ACTIVE: &str = "active";
const UPDATED_AT: &str = "updated_at";
/// The digest of the configuration text whose plan (`tandem plan`) was last shown.
const PLANNED: &str = "planned_sha256";

/// One integration as the registry holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIntegration {
    pub name: String,
    /// The configuration file's text, validated by whoever reads it.
    pub yaml: String,
    /// Only active integrations are synced.
    pub active: bool,
    pub updated_at: Timestamp,
    /// The digest ([`text_digest`]) of the configuration text whose plan was last shown, if any.
    pub planned: Option<String>,
}

impl StoredIntegration {
    /// Whether storing `yaml` in place of this configuration needs its plan shown first: it changes
    /// the configuration, and no plan of exactly that text was shown.
    pub fn needs_plan_for(&self, yaml: &str) -> bool {
        self.yaml != yaml && self.planned.as_deref() != Some(text_digest(yaml).as_str())
    }
}

/// The SHA-256 of a configuration text, in hex: what a shown plan is remembered by.
pub fn text_digest(yaml: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(yaml.as_bytes()))
}

fn key(name: &str) -> Key {
    Key { pk: PARTITION.to_owned(), sk: name.to_owned() }
}

fn now_text() -> AttributeValue {
    AttributeValue::S(chrono::Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true))
}

impl DynamoStore {
    /// Stores (or replaces) an integration's configuration. A new integration starts inactive, so a
    /// configuration can be stored and checked before it syncs anything; replacing the configuration
    /// of an active one keeps it active.
    pub async fn put_integration(&self, name: &str, yaml: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(name).attributes()))
            .update_expression("SET #yaml = :yaml, #updated = :now, #active = if_not_exists(#active, :inactive)")
            .expression_attribute_names("#yaml", YAML)
            .expression_attribute_names("#updated", UPDATED_AT)
            .expression_attribute_names("#active", ACTIVE)
            .expression_attribute_values(":yaml", AttributeValue::S(yaml.to_owned()))
            .expression_attribute_values(":now", now_text())
            .expression_attribute_values(":inactive", AttributeValue::Bool(false))
            .send()
            .await
            .map_err(|error| self.failed("storing an integration", error))?;
        Ok(())
    }

    /// Activates or deactivates an integration in one write. `false` when no integration has this
    /// name (nothing is written then).
    pub async fn set_active(&self, name: &str, active: bool) -> Result<bool, StoreError> {
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(name).attributes()))
            .update_expression("SET #active = :active, #updated = :now")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#active", ACTIVE)
            .expression_attribute_names("#updated", UPDATED_AT)
            .expression_attribute_values(":active", AttributeValue::Bool(active))
            .expression_attribute_values(":now", now_text())
            .send()
            .await;
        self.written_if(updated, "activating an integration")
    }

    /// Remembers that the plan of changing `name`'s configuration to `yaml` was shown. `false` when no
    /// integration has this name.
    pub async fn record_plan(&self, name: &str, yaml: &str) -> Result<bool, StoreError> {
        let recorded = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(name).attributes()))
            .update_expression("SET #planned = :digest")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#planned", PLANNED)
            .expression_attribute_values(":digest", AttributeValue::S(text_digest(yaml)))
            .send()
            .await;
        self.written_if(recorded, "recording a plan")
    }

    /// The integration with this name, active or not.
    pub async fn get_integration(&self, name: &str) -> Result<Option<StoredIntegration>, StoreError> {
        self.get(&key(name), "reading an integration").await?.map(|item| stored(&item)).transpose()
    }

    /// Every stored integration, active or not, ordered by name.
    pub async fn list_integrations(&self) -> Result<Vec<StoredIntegration>, StoreError> {
        self.query(PARTITION.to_owned(), None, "listing integrations").await?.iter().map(stored).collect()
    }
}

fn stored(item: &HashMap<String, AttributeValue>) -> Result<StoredIntegration, StoreError> {
    let text = |name: &str| {
        item.get(name).and_then(|value| value.as_s().ok()).ok_or_else(|| StoreError::Corrupt {
            message: format!("stored integration has no `{name}` text attribute"),
        })
    };
    let name = text(SK)?.clone();
    let corrupt = |message: String| StoreError::Corrupt { message: format!("stored integration `{name}`: {message}") };
    let active = *item
        .get(ACTIVE)
        .and_then(|value| value.as_bool().ok())
        .ok_or_else(|| corrupt(format!("no `{ACTIVE}` boolean attribute")))?;
    let updated_at = chrono::DateTime::parse_from_rfc3339(text(UPDATED_AT)?)
        .map_err(|error| corrupt(format!("`{UPDATED_AT}` is not an RFC 3339 time: {error}")))?
        .with_timezone(&chrono::Utc);
    let planned = item.get(PLANNED).and_then(|value| value.as_s().ok()).cloned();
    Ok(StoredIntegration { yaml: text(YAML)?.clone(), name, active, updated_at, planned })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(attributes: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
        attributes.iter().map(|(name, value)| ((*name).to_owned(), value.clone())).collect()
    }

    #[test]
    fn a_stored_integration_reads_back() {
        let read = stored(&item(&[
            (SK, AttributeValue::S("ops".into())),
            (YAML, AttributeValue::S("name: ops".into())),
            (ACTIVE, AttributeValue::Bool(true)),
            (UPDATED_AT, AttributeValue::S("2030-01-02T03:04:05.000006Z".into())),
        ]))
        .expect("valid item");
        assert_eq!(read.name, "ops");
        assert_eq!(read.yaml, "name: ops");
        assert!(read.active);
        assert_eq!(read.updated_at.timestamp_subsec_micros(), 6);
    }

    #[test]
    fn only_a_change_without_its_plan_needs_one() {
        let stored = StoredIntegration {
            name: "ops".into(),
            yaml: "name: ops".into(),
            active: true,
            updated_at: chrono::Utc::now(),
            planned: Some(text_digest("name: ops\n# planned")),
        };
        assert!(!stored.needs_plan_for("name: ops"), "the same text is no change");
        assert!(!stored.needs_plan_for("name: ops\n# planned"), "its plan was shown");
        assert!(stored.needs_plan_for("name: ops\n# not planned"));
    }

    #[test]
    fn a_damaged_item_is_corrupt_and_named() {
        let error = stored(&item(&[
            (SK, AttributeValue::S("ops".into())),
            (YAML, AttributeValue::S("name: ops".into())),
            (ACTIVE, AttributeValue::S("yes".into())),
            (UPDATED_AT, AttributeValue::S("2030-01-02T03:04:05Z".into())),
        ]))
        .expect_err("active is not a boolean");
        assert!(
            matches!(&error, StoreError::Corrupt { message } if message.contains("`ops`") && message.contains("active")),
            "{error}"
        );
    }
}
