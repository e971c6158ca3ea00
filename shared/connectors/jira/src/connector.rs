//! [`JiraConnector`]: the engine's `Connector` port for one Jira project and issue type.

use crate::changes::{minutes_back, Keyset, Listed, Order, Read, SEARCH_MARGIN_MINUTES};
use crate::client::JiraClient;
use crate::config::ValidJiraConfig;
use crate::convert::{adf_body, comment_from_wire, fields_to_wire, item_from_wire, time_field, user_ref};
use crate::error::invalid_response;
use crate::origin::{is_copy_of, origin_property, ORIGIN_PROPERTY};
use crate::wire;
use async_trait::async_trait;
use chrono::Utc;
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;
use tandem_engine::ports::{
    AccessCheck, AccessNeeds, ChangedPage, Connector, ConnectorError, CopyOrigin, LinkedItem, PageToken,
};
use tandem_http::{Repeat, RetryPolicy};
use tandem_model::{
    Attachment, AttachmentContent, Comment, CommentId, Credentials, FieldMap, FieldValue, Image, ImageSource, Item,
    ItemId, ItemRef, ItemVersion, RelatedRecord, RichText, SystemKind, Timestamp, UserRef,
};

/// Issues per search page; Jira may return fewer.
const PAGE_SIZE: u32 = 100;
/// Issues per listing answer: Jira returns up to 5000 when only ids or keys are asked for.
const LISTING_SIZE: u32 = 5000;
/// Issues per bulk fetch, the most Jira allows.
const FETCH_SIZE: usize = 100;
/// Comments per page.
const COMMENT_PAGE_SIZE: usize = 100;
/// What the service account needs in the project to sync. It only ever edits the comments it posted
/// (copies), so editing its own comments is enough.
const REQUIRED_PERMISSIONS: [&str; 6] =
    ["BROWSE_PROJECTS", "CREATE_ISSUES", "EDIT_ISSUES", "TRANSITION_ISSUES", "ADD_COMMENTS", "EDIT_OWN_COMMENTS"];

pub struct JiraConnector {
    pub(crate) client: JiraClient,
    config: ValidJiraConfig,
    /// Whether each issue shows the item linked with it as a remote link.
    remote_links: bool,
}

impl std::fmt::Debug for JiraConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraConnector").field("config", &self.config).field("client", &self.client).finish()
    }
}

impl JiraConnector {
    /// A connector for `config`, authenticating with Jira API-token credentials.
    pub fn new(config: ValidJiraConfig, credentials: &Credentials, retry: RetryPolicy) -> Result<Self, ConnectorError> {
        let Credentials::JiraApiToken { email, api_token } = credentials else {
            return Err(ConnectorError::Invalid {
                system: crate::JIRA,
                message: "Jira needs `jira-api-token` credentials (e-mail and API token)".into(),
            });
        };
        let client = JiraClient::new(config.site(), email, api_token, retry)?;
        Ok(JiraConnector { client, config, remote_links: false })
    }

    /// Shows on each issue, as a remote link, the item it is linked with.
    pub fn with_remote_links(mut self, on: bool) -> Self {
        self.remote_links = on;
        self
    }

    pub fn config(&self) -> &ValidJiraConfig {
        &self.config
    }

    fn issue_path(id: &ItemId) -> String {
        format!("/rest/api/3/issue/{}", encode(id.as_str()))
    }

    /// The JQL scope of this connector: its project and issue type.
    fn scope(&self) -> String {
        format!("project = {} AND issuetype = {}", quote(self.config.project_key()), quote(self.config.issue_type()))
    }

    async fn search_page(
        &self,
        jql: &str,
        max_results: u32,
        fields: &[&str],
        properties: &[&str],
    ) -> Result<wire::SearchPage, ConnectorError> {
        let request = wire::SearchRequest {
            jql: jql.to_string(),
            max_results,
            fields: fields.iter().map(|field| field.to_string()).collect(),
            properties: properties.iter().map(|key| key.to_string()).collect(),
        };
        self.client.send(Method::POST, "/rest/api/3/search/jql", &request, Repeat::Safe).await
    }

    /// Whole issues by id (at most 100), in one `POST /issue/bulkfetch`; those gone meanwhile are left out.
    async fn fetch_items(&self, ids: &[String]) -> Result<Vec<Item>, ConnectorError> {
        let request = wire::BulkFetchRequest { issue_ids_or_keys: ids.to_vec(), fields: vec!["*all".into()] };
        let fetched: wire::BulkFetchResults =
            self.client.send(Method::POST, "/rest/api/3/issue/bulkfetch", &request, Repeat::Safe).await?;
        fetched.issues.iter().map(|issue| item_from_wire(issue, &self.config)).collect()
    }

    /// A poll's page after the first: the next hundred ids a listing left unread, fetched whole; when
    /// none is left, the window is listed again (see [`Keyset`] for the order and why).
    async fn later_page(&self, mut from: Keyset) -> Result<ChangedPage, ConnectorError> {
        loop {
            if let Some((batch, listed_at)) = from.next_batch(FETCH_SIZE) {
                let fetched_at = Utc::now();
                let items = self.fetch_items(&batch).await?;
                return Ok(from.next_page(items, Read::AfterListing { listed_at, fetched_at }));
            }
            let listed_at = Utc::now();
            let listing = self.search_page(&self.listing_jql(&from, listed_at), LISTING_SIZE, &["key"], &[]).await?;
            let went_on = listing.goes_on();
            let issues = listing.issues.iter().map(|issue| (issue.id.as_str(), issue.key.as_deref()));
            match from.listed(listed_at, issues, went_on)? {
                Listed::Queued | Listed::ListAgain => {}
                Listed::Done => {
                    return Ok(from.next_page(Vec::new(), Read::AfterListing { listed_at, fetched_at: listed_at }))
                }
            }
        }
    }

    /// The search for the window's ids, in the keyset's order.
    fn listing_jql(&self, from: &Keyset, now: Timestamp) -> String {
        let window = format!("{} AND updated >= -{}m", self.scope(), minutes_back(now, from.boundary()));
        match from.order() {
            Order::ByChange => format!("{window} ORDER BY updated ASC"),
            Order::ByKey(after) => in_key_order(&window, after.as_deref()),
        }
    }

    async fn current_status(&self, id: &ItemId) -> Result<String, ConnectorError> {
        let issue: wire::Issue = self
            .client
            .get(&Self::issue_path(id), &[("fields", "status")])
            .await
            .map_err(|error| not_found_as(error, id))?;
        issue
            .fields
            .get("status")
            .and_then(|status| status.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| invalid_response(format!("issue {id} has no status"), None))
    }

    /// Moves the issue to `target`; nothing when it is there already. Jira sets a status only through a
    /// transition from the current one, and a workflow often has none straight to where a change asks
    /// (Done → In Progress goes through Reopen → To Do): with none, the issue is walked there as a person
    /// would, one transition at a time to a status it has not been in yet, at most [`MAX_TRANSITION_STEPS`]
    /// of them. A walk that finds no way takes the issue back to where it was.
    async fn transition_to(&self, id: &ItemId, target: &str) -> Result<(), ConnectorError> {
        // The statuses the issue has been in, from where it started; read only when no transition leads
        // straight to the target (the common case costs the listing and the transition alone).
        let mut visited: Vec<String> = Vec::new();
        for _ in 0..MAX_TRANSITION_STEPS {
            let available = self.transitions(id).await?;
            if let Some(direct) = available.iter().find(|transition| transition.to.name.eq_ignore_ascii_case(target)) {
                return self.take_transition(id, direct).await;
            }
            if visited.is_empty() {
                let current = self.current_status(id).await?;
                // A status the site does not have is not walked towards: the issue would go round.
                if !current.eq_ignore_ascii_case(target) && !self.status_exists(target).await? {
                    return Err(no_transition(id, current, target));
                }
                visited.push(current);
            }
            if visited.last().is_some_and(|current| current.eq_ignore_ascii_case(target)) {
                return Ok(());
            }
            let unvisited = |transition: &&wire::Transition| {
                !visited.iter().any(|status| status.eq_ignore_ascii_case(&transition.to.name))
            };
            let Some(step) = available.iter().find(unvisited) else {
                break;
            };
            self.take_transition(id, step).await?;
            visited.push(step.to.name.clone());
        }
        let (start, current) =
            (visited.first().cloned().unwrap_or_default(), visited.last().cloned().unwrap_or_default());
        if current.eq_ignore_ascii_case(target) {
            return Ok(());
        }
        if !current.eq_ignore_ascii_case(&start) {
            self.walk_back(id, &start).await;
        }
        Err(no_transition(id, start, target))
    }

    /// Whether the site has a status of that name (`GET /status/{idOrName}`).
    async fn status_exists(&self, name: &str) -> Result<bool, ConnectorError> {
        match self.client.get::<Value>(&format!("/rest/api/3/status/{}", encode(name)), &[]).await {
            Ok(_) => Ok(true),
            Err(ConnectorError::NotFound { .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Takes the issue back to `status` after a walk that found no way, if a transition leads there.
    async fn walk_back(&self, id: &ItemId, status: &str) {
        let back = match self.transitions(id).await {
            Ok(available) => available.into_iter().find(|transition| transition.to.name.eq_ignore_ascii_case(status)),
            Err(_) => None,
        };
        let taken = match back {
            Some(back) => self.take_transition(id, &back).await.is_ok(),
            None => false,
        };
        if !taken {
            tracing::warn!(issue = %id, %status, "a status walk that found no way could not go back to where it started");
        }
    }

    /// The transitions the issue can take from its current status.
    async fn transitions(&self, id: &ItemId) -> Result<Vec<wire::Transition>, ConnectorError> {
        let path = format!("{}/transitions", Self::issue_path(id));
        let available: wire::Transitions =
            self.client.get(&path, &[]).await.map_err(|error| not_found_as(error, id))?;
        Ok(available.transitions)
    }

    async fn take_transition(&self, id: &ItemId, transition: &wire::Transition) -> Result<(), ConnectorError> {
        let path = format!("{}/transitions", Self::issue_path(id));
        let request = wire::DoTransition { transition: wire::TransitionRef { id: transition.id.clone() } };
        self.client
            .send_without_answer(Method::POST, &path, &request, Repeat::Unsafe)
            .await
            .map_err(|error| not_found_as(error, id))
    }
}

/// The most transitions a status change takes, where none leads straight to the status asked for.
const MAX_TRANSITION_STEPS: usize = 3;

fn no_transition(id: &ItemId, from: String, to: &str) -> ConnectorError {
    ConnectorError::NoTransition { system: crate::JIRA, item: id.to_string(), from, to: to.to_string() }
}

/// A 404 about an issue names the issue rather than the URL path.
fn not_found_as(error: ConnectorError, id: &ItemId) -> ConnectorError {
    match error {
        ConnectorError::NotFound { system, .. } => ConnectorError::NotFound { system, item: id.to_string() },
        other => other,
    }
}

/// The issues `window` holds in key order, after the key `after` when given: an order no edit, deletion
/// or moving window shifts, so asking again after the last key seen passes nothing over.
fn in_key_order(window: &str, after: Option<&str>) -> String {
    match after {
        None => format!("{window} ORDER BY key ASC"),
        Some(key) => format!("{window} AND key > {} ORDER BY key ASC", quote(key)),
    }
}

/// A JQL string literal.
fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Percent-encodes one path segment.
pub(crate) fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect::<String>().replace('+', "%20")
}

#[async_trait]
impl Connector for JiraConnector {
    fn system(&self) -> SystemKind {
        crate::JIRA
    }

    async fn service_account(&self) -> Result<UserRef, ConnectorError> {
        let user: wire::User = self.client.get("/rest/api/3/myself", &[]).await?;
        Ok(user_ref(&user))
    }

    async fn get_item(&self, id: &ItemId) -> Result<Item, ConnectorError> {
        let issue: wire::Issue = self
            .client
            .get(&Self::issue_path(id), &[("fields", "*all")])
            .await
            .map_err(|error| not_found_as(error, id))?;
        item_from_wire(&issue, &self.config)
    }

    /// Searches with a relative date (`updated >= -<n>m`), because JQL date literals are read in the
    /// account's time zone and have minute precision; then keeps items updated at or after `since`.
    ///
    /// The first page is one search for whole issues, which is all a poll needs when little changed.
    /// Later pages list the ids changed in the window (5000 an answer) and fetch those not fetched
    /// before in this poll, a hundred a page; see [`Keyset`] for the order they are listed in and when
    /// the window moves on.
    async fn changed_page(&self, since: Timestamp, page: Option<&PageToken>) -> Result<ChangedPage, ConnectorError> {
        if let Some(token) = page {
            return self.later_page(Keyset::decode(token)?).await;
        }
        let from = Keyset::start(since, Utc::now());
        let jql = format!(
            "{} AND updated >= -{}m ORDER BY updated ASC",
            self.scope(),
            minutes_back(Utc::now(), from.boundary())
        );
        let search = self.search_page(&jql, PAGE_SIZE, &["*all"], &[]).await?;
        let items = search.issues.iter().map(|issue| item_from_wire(issue, &self.config)).collect::<Result<_, _>>()?;
        Ok(from.first_page(items, search.goes_on()))
    }

    fn max_call_duration(&self) -> Duration {
        self.client.retry().longest_call()
    }

    /// The newest `updated` among the connector's issues (its project and issue type).
    async fn project_last_updated(&self) -> Result<Option<Timestamp>, ConnectorError> {
        let jql = format!("{} ORDER BY updated DESC", self.scope());
        let page = self.search_page(&jql, 1, &["updated"], &[]).await?;
        page.issues.first().map(|issue| time_field(issue, "updated")).transpose()
    }

    /// Creates the issue, with the copy marker as an issue property when `origin` is given, then moves it
    /// to the requested status if that is not where it starts.
    async fn create_item(&self, fields: &FieldMap, origin: Option<&CopyOrigin>) -> Result<Item, ConnectorError> {
        let mut writes = fields_to_wire(fields)?;
        writes.fields.insert("project".into(), serde_json::json!({ "key": self.config.project_key() }));
        writes.fields.insert("issuetype".into(), serde_json::json!({ "name": self.config.issue_type() }));
        let properties = origin
            .map(origin_property)
            .transpose()
            .map_err(|error| ConnectorError::Invalid {
                system: crate::JIRA,
                message: format!("the copy marker could not be serialised: {error}"),
            })?
            .into_iter()
            .collect();
        let request = wire::IssueUpdate { fields: writes.fields, properties };
        let created: wire::CreatedIssue =
            self.client.send(Method::POST, "/rest/api/3/issue", &request, Repeat::Unsafe).await?;
        let id = ItemId::new(created.id);
        let incomplete = |source| ConnectorError::Incomplete {
            system: crate::JIRA,
            done: format!("issue {} was created", created.key),
            source: Box::new(source),
        };
        let created = self.get_item(&id).await.map_err(incomplete)?;
        // A new issue starts in its workflow's first status: a copy meant to be there needs no move.
        let status = writes.status.filter(|status| match created.field("status") {
            FieldValue::Text(current) => !current.eq_ignore_ascii_case(status),
            _ => true,
        });
        let Some(status) = status else {
            return Ok(created);
        };
        self.transition_to(&id, &status).await.map_err(incomplete)?;
        self.get_item(&id).await.map_err(incomplete)
    }

    /// Searches the service account's issues created since `created_since` (relative date, as in
    /// `changed_since`), asking for the marker property, and keeps the first one carrying `origin`'s
    /// marker. JQL cannot search a property without an app declaring it searchable, so the marker is
    /// compared here. Pages go by key (`key > "OPS-12"`), not by Jira's offset tokens: an issue deleted
    /// between two pages, or the window's start moving on with the clock, would shift the next page and
    /// pass the copy over, and a copy not found is created twice.
    async fn find_copy(&self, origin: &CopyOrigin, created_since: Timestamp) -> Result<Option<Item>, ConnectorError> {
        let window = format!(
            "{} AND creator = currentUser() AND created >= -{}m",
            self.scope(),
            minutes_back(Utc::now(), created_since)
        );
        // Jira's clock is not ours: an issue created a little "before" created_since may still be the copy.
        let earliest = created_since - chrono::Duration::minutes(SEARCH_MARGIN_MINUTES);
        let mut after: Option<String> = None;
        loop {
            let jql = in_key_order(&window, after.as_deref());
            let page = self.search_page(&jql, PAGE_SIZE, &["created"], &[ORIGIN_PROPERTY]).await?;
            for issue in &page.issues {
                if is_copy_of(issue, origin) && time_field(issue, "created")? >= earliest {
                    return self.get_item(&ItemId::new(issue.id.clone())).await.map(Some);
                }
            }
            match page.issues.last().and_then(|issue| issue.key.clone()) {
                Some(last) if page.goes_on() => after = Some(last),
                _ => return Ok(None),
            }
        }
    }

    /// Jira has no conditional edit: the write is made whatever changed since `_read` (the window is
    /// the time between the read and this call). So no state is returned: the issue as it is after the
    /// write may hold a person's edit (or comment) made in that window, which only a later sync compares
    /// with what was synced. Taking that state as synced would hide the edit from every later poll.
    async fn update_item(
        &self,
        id: &ItemId,
        fields: &FieldMap,
        _read: &ItemVersion,
    ) -> Result<Option<ItemVersion>, ConnectorError> {
        let writes = fields_to_wire(fields)?;
        if !writes.fields.is_empty() {
            let request = wire::IssueUpdate { fields: writes.fields, properties: Vec::new() };
            self.client
                .send_without_answer(Method::PUT, &Self::issue_path(id), &request, Repeat::Safe)
                .await
                .map_err(|error| not_found_as(error, id))?;
        }
        if let Some(status) = writes.status {
            self.transition_to(id, &status).await?;
        }
        Ok(None)
    }

    async fn list_comments(&self, item: &ItemId) -> Result<Vec<Comment>, ConnectorError> {
        let path = format!("{}/comment", Self::issue_path(item));
        let mut comments = Vec::new();
        loop {
            let start_at = comments.len().to_string();
            let page_size = COMMENT_PAGE_SIZE.to_string();
            let query = [("startAt", start_at.as_str()), ("maxResults", page_size.as_str()), ("orderBy", "created")];
            let page: wire::CommentPage =
                self.client.get(&path, &query).await.map_err(|error| not_found_as(error, item))?;
            let received = page.comments.len();
            for comment in &page.comments {
                comments.push(comment_from_wire(comment)?);
            }
            if received == 0 || comments.len() as u64 >= page.total {
                return Ok(comments);
            }
        }
    }

    async fn add_comment(&self, item: &ItemId, body: &RichText) -> Result<Comment, ConnectorError> {
        let path = format!("{}/comment", Self::issue_path(item));
        let request = wire::CommentBody { body: adf_body(body)? };
        let comment: wire::Comment = self
            .client
            .send(Method::POST, &path, &request, Repeat::Unsafe)
            .await
            .map_err(|error| not_found_as(error, item))?;
        comment_from_wire(&comment)
    }

    async fn update_comment(
        &self,
        item: &ItemId,
        comment: &CommentId,
        body: &RichText,
    ) -> Result<Comment, ConnectorError> {
        let path = format!("{}/comment/{}", Self::issue_path(item), encode(&comment.0));
        let request = wire::CommentBody { body: adf_body(body)? };
        let comment: wire::Comment = self
            .client
            .send(Method::PUT, &path, &request, Repeat::Safe)
            .await
            .map_err(|error| not_found_as(error, item))?;
        comment_from_wire(&comment)
    }

    async fn delete_comment(&self, item: &ItemId, comment: &CommentId) -> Result<(), ConnectorError> {
        let path = format!("{}/comment/{}", Self::issue_path(item), encode(&comment.0));
        match self.client.delete(&path).await {
            Ok(()) | Err(ConnectorError::NotFound { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    fn as_stored(&self, field: &str, value: FieldValue) -> FieldValue {
        crate::convert::as_stored(field, value)
    }

    fn keeps_attachments(&self) -> bool {
        true
    }

    async fn download_attachment(
        &self,
        _item: &ItemId,
        attachment: &Attachment,
        max_bytes: u64,
    ) -> Result<AttachmentContent, ConnectorError> {
        self.download(attachment, max_bytes).await
    }

    async fn upload_attachment(
        &self,
        item: &ItemId,
        content: &AttachmentContent,
        _note: &str,
    ) -> Result<Attachment, ConnectorError> {
        self.upload(item, content).await
    }

    async fn delete_attachment(&self, _item: &ItemId, attachment: &Attachment) -> Result<(), ConnectorError> {
        self.remove(attachment).await
    }

    fn image_file(&self, image: &Image, attachments: &[Attachment]) -> Option<Attachment> {
        JiraConnector::image_file(self, image, attachments)
    }

    fn image_source(&self, file: &Attachment) -> ImageSource {
        JiraConnector::image_source(self, file)
    }

    /// User search matches prefixes of names and e-mails; only an exact e-mail match counts.
    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRef>, ConnectorError> {
        let users: Vec<wire::User> = self.client.get("/rest/api/3/user/search", &[("query", email)]).await?;
        Ok(users
            .iter()
            .find(|user| user.email_address.as_deref().is_some_and(|found| found.eq_ignore_ascii_case(email)))
            .map(user_ref))
    }

    async fn get_user(&self, id: &str) -> Result<Option<UserRef>, ConnectorError> {
        match self.client.get::<wire::User>("/rest/api/3/user", &[("accountId", id)]).await {
            Ok(user) => Ok(Some(user_ref(&user))),
            Err(ConnectorError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn check_access(&self, needs: &AccessNeeds) -> Result<AccessCheck, ConnectorError> {
        let mut check = AccessCheck::default();
        match self.service_account().await {
            Ok(account) => {
                check
                    .passed
                    .push(format!("authenticated as {}", account.display_name.as_deref().unwrap_or(&account.id)));
                check.account = Some(account);
            }
            Err(ConnectorError::Unauthorized { status, .. }) => {
                check.problems.push(format!("Jira rejected the credentials (HTTP {status})"));
                return Ok(check);
            }
            Err(error) => return Err(error),
        }
        let key = self.config.project_key();
        match self.client.get::<wire::Project>(&format!("/rest/api/3/project/{}", encode(key)), &[]).await {
            Ok(project) => {
                check.passed.push(format!("project {key} is readable"));
                let wanted = self.config.issue_type();
                if project.issue_types.iter().any(|kind| kind.name.eq_ignore_ascii_case(wanted)) {
                    check.passed.push(format!("issue type {wanted} exists in {key}"));
                } else {
                    check.problems.push(format!("issue type `{wanted}` not found in project {key}"));
                }
            }
            Err(ConnectorError::NotFound { .. } | ConnectorError::Unauthorized { .. }) => {
                check.problems.push(format!("project {key} does not exist or is not visible to the service account"));
                return Ok(check);
            }
            Err(error) => return Err(error),
        }
        let mut needed: Vec<&str> = REQUIRED_PERMISSIONS.to_vec();
        if needs.fields.iter().any(|field| field == "assignee") {
            needed.push("ASSIGN_ISSUES");
        }
        if needs.attachments {
            needed.extend(["CREATE_ATTACHMENTS", "DELETE_OWN_ATTACHMENTS"]);
        }
        let wanted = needed.join(",");
        let granted: wire::Permissions = self
            .client
            .get("/rest/api/3/mypermissions", &[("projectKey", key), ("permissions", wanted.as_str())])
            .await?;
        for permission in needed {
            if granted.permissions.get(permission).is_some_and(|granted| granted.have_permission) {
                check.passed.push(format!("permission {permission}"));
            } else {
                check.problems.push(format!("permission {permission} is missing in project {key}"));
            }
        }
        Ok(check)
    }

    fn item_ref(&self, item: &Item) -> ItemRef {
        let mut reference = item.item.clone();
        if reference.url.is_none() {
            reference.url = reference.key.as_deref().map(|key| self.config.browse_url(key));
        }
        reference
    }

    /// A remote link to the linked item, idempotent by its global id (the item's address): posted again,
    /// Jira updates the one link rather than adding a second.
    /// An issue refers to no records a linked item would show.
    fn related_records(&self, _item: &Item) -> Vec<RelatedRecord> {
        Vec::new()
    }

    /// With `remote_links`, the issue shows the linked item and the records that one refers to as
    /// remote links. Each has a global id made of its URL, so posting one again updates it in place.
    async fn point_to_linked(&self, item: &ItemId, linked: &LinkedItem) -> Result<(), ConnectorError> {
        let (true, Some(url)) = (self.remote_links, linked.item.url.as_ref()) else {
            return Ok(());
        };
        let system = linked.system.display_name();
        let mut links = vec![remote_link(system, "linked with", url, &format!("{system} {}", linked.item.label()))];
        for record in &linked.related {
            let relationship = format!("{} of {}", record.kind, linked.item.label());
            links.push(remote_link(system, &relationship, &record.url, &format!("{} {}", record.kind, record.title)));
        }
        let path = format!("/rest/api/3/issue/{}/remotelink", encode(item.as_str()));
        for link in &links {
            let _: Value = self.client.send(Method::POST, &path, link, Repeat::Safe).await?;
        }
        Ok(())
    }
}

/// A remote link (`POST /issue/{key}/remotelink`) to `url`, identified by it.
fn remote_link(system: &str, relationship: &str, url: &str, title: &str) -> Value {
    serde_json::json!({
        "globalId": format!("tandem:{url}"),
        "application": { "type": "tandem", "name": system },
        "relationship": relationship,
        "object": { "url": url, "title": title },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jql_literals_and_path_segments_are_escaped() {
        assert_eq!(quote(r#"My "Bug""#), r#""My \"Bug\"""#);
        assert_eq!(encode("OPS-1"), "OPS-1");
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
    }
}
