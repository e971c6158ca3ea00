//! Alice, the person whose changes the bench syncs: her own accounts in both simulators, so the
//! simulators' records tell her calls from the integration's, and the changes she makes.

use super::error::SyncBenchError;
use serde::Serialize;
use std::sync::Arc;
use tandem_azure_devops::{AzureDevopsConfig, AzureDevopsConnector};
use tandem_engine::ports::Connector;
use tandem_jira::{JiraConfig, JiraConnector};
use tandem_mapping::IntegrationConfig;
use tandem_model::{Credentials, FieldMap, FieldValue, Item, ItemId, ItemVersion, RichText, SecretString, Side};
use tandem_simulators::azure_devops::RunningAzureDevops;
use tandem_simulators::jira::{RunningJira, SimUser};

/// What Alice changes. Each kind is measured in both directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    Create,
    /// The title, the most common edit.
    FieldUpdate,
    Comment,
    Status,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 4] =
        [ChangeKind::Create, ChangeKind::FieldUpdate, ChangeKind::Comment, ChangeKind::Status];

    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::Create => "create",
            ChangeKind::FieldUpdate => "one-field update",
            ChangeKind::Comment => "comment",
            ChangeKind::Status => "status change",
        }
    }
}

/// Alice's accounts and ids in both systems.
pub struct Alice {
    connectors: [Arc<dyn Connector>; 2],
    /// Her id as each simulator records it on her calls (Jira accountId, Azure DevOps identity id).
    ids: [String; 2],
}

impl Alice {
    /// Alice in the simulators of the local example, with the connectors' default retries (a person's
    /// browser retries too).
    pub fn new(
        config: &IntegrationConfig,
        jira: &RunningJira,
        ado: &RunningAzureDevops,
    ) -> Result<Alice, SyncBenchError> {
        let person = SimUser::alice();
        let jira_settings = JiraConfig {
            base_url: jira.base_url().to_string(),
            project_key: config.side(Side::One).project.clone(),
            issue_type: config.side(Side::One).item_type.clone(),
        }
        .validate()
        .map_err(|error| SyncBenchError::Local { doing: "configuring Alice's Jira account", source: error.into() })?;
        let jira_alice = JiraConnector::new(
            jira_settings,
            &Credentials::JiraApiToken { email: person.email.clone(), api_token: SecretString::new(person.api_token) },
            tandem_jira::RetryPolicy::default(),
        )
        .map_err(person_change("connecting Alice to Jira"))?;
        let identity = ado.identity(&ado_email(&person.email)).ok_or(SyncBenchError::NotTheLocalExample)?;
        let ado_settings = AzureDevopsConfig {
            organization_url: ado.organization_url().to_string(),
            project: config.side(Side::Two).project.clone(),
            work_item_type: config.side(Side::Two).item_type.clone(),
            identities_url: None,
        }
        .validate()
        .map_err(|error| SyncBenchError::Local {
            doing: "configuring Alice's Azure DevOps account",
            source: error.into(),
        })?;
        let ado_alice = AzureDevopsConnector::new(
            ado_settings,
            &Credentials::AzureDevopsPat { pat: SecretString::new(identity.pat.clone()) },
            tandem_azure_devops::RetryPolicy::default(),
        )
        .map_err(person_change("connecting Alice to Azure DevOps"))?;
        Ok(Alice {
            connectors: [Arc::new(jira_alice), Arc::new(ado_alice)],
            ids: [person.account_id, identity.id.to_string()],
        })
    }

    /// Her id as the simulator of `side` records it.
    pub fn id(&self, side: Side) -> &str {
        &self.ids[index(side)]
    }

    pub fn connector(&self, side: Side) -> &Arc<dyn Connector> {
        &self.connectors[index(side)]
    }

    /// Creates a bug titled `title` on `side`.
    pub async fn create(&self, side: Side, title: &str) -> Result<Item, SyncBenchError> {
        let fields: FieldMap =
            [(title_field(side).to_string(), FieldValue::Text(title.to_string()))].into_iter().collect();
        self.connector(side)
            .create_item(&fields, None)
            .await
            .map_err(person_change(format!("creating a bug on side {side}")))
    }

    /// Makes change number `number` of `kind` to `item` on `side` (not a create).
    pub async fn change(
        &self,
        kind: ChangeKind,
        side: Side,
        item: &ItemId,
        number: usize,
    ) -> Result<(), SyncBenchError> {
        let connector = self.connector(side);
        let doing = format!("{} of {item} on side {side}", kind.label());
        let fields = match kind {
            ChangeKind::Create => return self.create(side, &format!("Bench bug {number}")).await.map(|_| ()),
            ChangeKind::FieldUpdate => {
                one_field(title_field(side), FieldValue::Text(format!("Checkout fails, edit {number}")))
            }
            ChangeKind::Status => {
                let current = connector.get_item(item).await.map_err(person_change(format!("reading {item}")))?;
                let next = other_status(side, current.fields.get(status_field(side)));
                one_field(status_field(side), FieldValue::Text(next.into()))
            }
            ChangeKind::Comment => {
                let words = format!("Seen again (comment {number})");
                let body = match side {
                    Side::One => RichText::Adf(serde_json::json!({
                        "version": 1, "type": "doc",
                        "content": [{ "type": "paragraph", "content": [{ "type": "text", "text": words }] }]
                    })),
                    Side::Two => RichText::Html(format!("<p>{words}</p>")),
                };
                return connector.add_comment(item, &body).await.map(|_| ()).map_err(person_change(doing));
            }
        };
        connector.update_item(item, &fields, &ItemVersion::UNCHECKED).await.map(drop).map_err(person_change(doing))
    }
}

/// The simulators' people have a different e-mail domain in Azure DevOps (see `local-users.csv`).
fn ado_email(jira_email: &str) -> String {
    let local = jira_email.split('@').next().unwrap_or(jira_email);
    format!("{local}@fabrikam.example")
}

fn title_field(side: Side) -> &'static str {
    match side {
        Side::One => "summary",
        Side::Two => "System.Title",
    }
}

fn status_field(side: Side) -> &'static str {
    match side {
        Side::One => "status",
        Side::Two => "System.State",
    }
}

/// Two mapped statuses, the one the item is not in, so that every status change is a real one.
fn other_status(side: Side, current: Option<&FieldValue>) -> &'static str {
    let [first, second] = match side {
        Side::One => ["In Progress", "To Do"],
        Side::Two => ["Active", "New"],
    };
    match current {
        Some(FieldValue::Text(status)) if status == first => second,
        _ => first,
    }
}

fn one_field(name: &str, value: FieldValue) -> FieldMap {
    [(name.to_string(), value)].into_iter().collect()
}

fn person_change(doing: impl Into<String>) -> impl FnOnce(tandem_engine::ports::ConnectorError) -> SyncBenchError {
    let doing = doing.into();
    move |source| SyncBenchError::PersonChange { doing, source: Box::new(source) }
}

pub(crate) fn index(side: Side) -> usize {
    usize::from(side.number() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_change_always_changes_the_status() {
        let text = |status: &str| FieldValue::Text(status.into());
        assert_eq!(other_status(Side::One, Some(&text("To Do"))), "In Progress");
        assert_eq!(other_status(Side::One, Some(&text("In Progress"))), "To Do");
        assert_eq!(other_status(Side::Two, Some(&text("Active"))), "New");
        assert_eq!(other_status(Side::Two, None), "Active");
    }

    #[test]
    fn alice_has_the_fabrikam_address_in_azure_devops() {
        assert_eq!(ado_email("alice@example.com"), "alice@fabrikam.example");
    }
}
