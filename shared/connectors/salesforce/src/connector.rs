//! The [`Connector`] port for one sObject type of one Salesforce org.

use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tandem_engine::ports::{
    AccessCheck, AccessNeeds, ChangedPage, Connector, ConnectorError, CopyOrigin, LinkedItem, PageToken,
};
use tandem_http::{Repeat, RetryPolicy};
use tandem_model::{
    Attachment, AttachmentContent, Comment, CommentId, Credentials, FieldMap, FieldValue, Image, ImageSource, Item,
    ItemId, ItemPlace, ItemRef, ItemVersion, RelatedRecord, RichText, RichTextFormat, SystemKind, Timestamp, UserRef,
    Visibility,
};
use tokio::sync::RwLock;

use crate::auth::Grant;
use crate::client::{SalesforceClient, Target};
use crate::config::ValidSalesforceConfig;
use crate::convert::{self, parse_datetime, soql_datetime, ConvertError};
use crate::describe::{Describe, COMMENT_OBJECT};
use crate::soql::{quoted, quoted_list};

const SYSTEM: SystemKind = crate::SALESFORCE;
/// Records per page of changes.
const PAGE_SIZE: usize = 200;
/// The records a linked item shows beside the record itself: `(object, lookup field)`.
const LINKED_RECORDS: [(&str, &str); 2] = [("Account", "AccountId"), ("Contact", "ContactId")];
/// How long a query may be (Salesforce refuses URLs over 16,384 bytes; encoding and the rest of the
/// URL take some).
const MAX_QUERY_LENGTH: usize = 12_000;
/// Characters an id takes in an `IN (…)` list: 18, two quotes, a comma and a space.
const ID_IN_LIST: usize = 22;
const MAX_IDS_PER_QUERY: usize = 100;
/// A comment's body holds at most this many bytes (`CommentBody`, 4,000 bytes, not characters).
const COMMENT_BODY_BYTES: usize = 4000;
/// What a comment too long for Salesforce ends with.
const SHORTENED: &str = "\n[… shortened to fit Salesforce's 4,000-byte comments]";
/// The restriction of a comment that is not published: only the org's own users read it.
pub const UNPUBLISHED: (&str, &str) = ("internal", "unpublished");
/// A record's comments' last change, as a subquery selects it.
const LAST_COMMENT_CHANGE: &str = "SELECT SystemModstamp";
/// The fields a comment is read with.
const COMMENT_FIELDS: &str =
    "Id, ParentId, CommentBody, IsPublished, CreatedById, CreatedBy.Name, CreatedBy.Email, CreatedDate, LastModifiedDate";
/// The rich-text body of Case comments, from API version 63.0 (HTML, at most 131,072 characters).
const RICH_COMMENT_BODY: &str = "CommentBodyRichtext";
const RICH_COMMENT_SINCE: f64 = 63.0;
const RICH_COMMENT_CHARS: usize = 131_072;

/// One sObject type of one org as a side of an integration.
#[derive(Debug)]
pub struct SalesforceConnector {
    config: ValidSalesforceConfig,
    client: SalesforceClient,
    /// The object's describe, read once and again when the org says a field it names is gone.
    describe: RwLock<Option<Arc<Describe>>>,
}

fn invalid(message: impl Into<String>) -> ConnectorError {
    ConnectorError::Invalid { system: SYSTEM, message: message.into() }
}

fn unreadable(message: impl Into<String>) -> ConnectorError {
    ConnectorError::InvalidResponse { system: SYSTEM, message: message.into(), source: None }
}

/// `field`'s value refused before anything was sent: the other fields can go without it.
fn field_refused(field: &str, message: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::FieldRefused { system: SYSTEM, field: field.to_string(), message: message.to_string() }
}

/// A create's or an upsert's answer.
#[derive(Debug, Deserialize)]
struct SaveResult {
    id: String,
}

/// Where the next page of changes starts: the instant every earlier change was read up to.
fn page_token(boundary: Timestamp) -> PageToken {
    PageToken(boundary.to_rfc3339())
}

fn boundary_of(token: &PageToken) -> Result<Timestamp, ConnectorError> {
    parse_datetime(&token.0).ok_or_else(|| invalid(format!("page token `{}` is not an instant", token.0)))
}

fn text<'a>(record: &'a Map<String, Value>, field: &'static str) -> Result<&'a str, ConnectorError> {
    record.get(field).and_then(Value::as_str).ok_or_else(|| unreadable(format!("a record without `{field}`")))
}

fn instant(record: &Map<String, Value>, field: &'static str) -> Result<Timestamp, ConnectorError> {
    let value = text(record, field)?;
    parse_datetime(value).ok_or_else(|| unreadable(format!("`{field}` is not a date-time: {value}")))
}

/// When a record last changed, its comments included: a comment changes the record's comments but,
/// as far as the API guarantees, not its `SystemModstamp`, and a poll must see it as a change.
fn last_change(record: &Map<String, Value>, describe: &Describe) -> Result<Timestamp, ConnectorError> {
    let own = instant(record, "SystemModstamp")?;
    let comments = describe.comments_relationship().and_then(|relationship| record.get(relationship));
    let latest = comments.and_then(|children| children.get("records")?.as_array()?.first()?.as_object().cloned());
    match latest {
        Some(comment) => Ok(own.max(instant(&comment, "SystemModstamp")?)),
        None => Ok(own),
    }
}

/// A comment's author, with the name and e-mail the query brought along.
fn author(record: &Map<String, Value>) -> Option<UserRef> {
    let mut author = user(record, "CreatedById")?;
    let creator = record.get("CreatedBy");
    let field = |name: &str| creator.and_then(|creator| creator.get(name)?.as_str().map(str::to_string));
    author.display_name = field("Name");
    author.email = field("Email");
    Some(author)
}

fn user(record: &Map<String, Value>, field: &str) -> Option<UserRef> {
    let id = record.get(field)?.as_str()?;
    Some(UserRef { id: id.to_string(), email: None, display_name: None })
}

/// A record id: 15 or 18 letters and digits (anything else cannot name a record, and must not reach a
/// query).
fn is_record_id(id: &str) -> bool {
    matches!(id.len(), 15 | 18) && id.chars().all(|c| c.is_ascii_alphanumeric())
}

fn as_record(value: Value) -> Result<Map<String, Value>, ConnectorError> {
    match value {
        Value::Object(record) => Ok(record),
        other => Err(unreadable(format!("a record that is not an object: {other}"))),
    }
}

/// A comment body that fits `CommentBody`, cut at a character boundary with a note saying so.
fn fit_comment(text: String) -> String {
    if text.len() <= COMMENT_BODY_BYTES {
        return text;
    }
    let mut end = COMMENT_BODY_BYTES - SHORTENED.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{SHORTENED}", &text[..end])
}

impl SalesforceConnector {
    pub fn new(
        config: ValidSalesforceConfig,
        credentials: &Credentials,
        retry: RetryPolicy,
    ) -> Result<SalesforceConnector, ConnectorError> {
        let grant = Grant::from_credentials(credentials).map_err(invalid)?;
        let client = SalesforceClient::new(config.base_url(), config.api_version(), grant, retry)?;
        Ok(SalesforceConnector { config, client, describe: RwLock::new(None) })
    }

    pub fn client(&self) -> &SalesforceClient {
        &self.client
    }

    fn object(&self) -> &str {
        self.config.object()
    }

    async fn describe(&self) -> Result<Arc<Describe>, ConnectorError> {
        if let Some(describe) = self.describe.read().await.as_ref() {
            return Ok(Arc::clone(describe));
        }
        let mut cached = self.describe.write().await;
        if let Some(describe) = cached.as_ref() {
            return Ok(Arc::clone(describe));
        }
        let fresh = Arc::new(self.describe_object(self.object()).await?);
        *cached = Some(Arc::clone(&fresh));
        Ok(fresh)
    }

    /// The records a query built from the describe selects, as items. An administrator may remove a
    /// field (or the integration user's access to it) while tandem runs: the org then refuses the query
    /// naming it, and the query is built once more from a describe read anew.
    async fn query_items(&self, soql: impl Fn(&Describe) -> String) -> Result<Vec<Item>, ConnectorError> {
        let describe = self.describe().await?;
        match self.items(&soql(describe.as_ref())).await {
            Err(ConnectorError::Http { status: 400, message, .. }) if message.starts_with("INVALID_FIELD") => {
                tracing::warn!(%message, object = self.object(), "a field is gone from the object: reading its describe again");
                *self.describe.write().await = None;
                let describe = self.describe().await?;
                self.items(&soql(describe.as_ref())).await
            }
            items => items,
        }
    }

    async fn describe_object(&self, object: &str) -> Result<Describe, ConnectorError> {
        let path = format!("sobjects/{object}/describe");
        self.client.json(Method::GET, Target::Api(&path, &[]), None, Repeat::Safe, object).await
    }

    fn what(&self, id: &str) -> String {
        format!("{} {id}", self.object())
    }

    /// What a record is read with: every field the describe lists but compound ones (an address, a
    /// location), whose parts are fields of their own, and the last change of its comments.
    fn selection(&self, describe: &Describe) -> String {
        let fields = describe.fields.iter().filter(|field| !matches!(field.kind.as_str(), "address" | "location"));
        let mut selection = fields.map(|field| field.name.as_str()).collect::<Vec<_>>().join(", ");
        for path in self.related(describe) {
            selection.push_str(", ");
            selection.push_str(&path);
        }
        if let Some(comments) = describe.comments_relationship() {
            selection
                .push_str(&format!(", ({LAST_COMMENT_CHANGE} FROM {comments} ORDER BY SystemModstamp DESC LIMIT 1)"));
        }
        selection
    }

    /// Polls take no more of the org's daily allowance than the configured share: past it they hold
    /// back (the org's other clients need theirs), and resume once the rolling window frees it up.
    async fn hold_back_past_share(&self) -> Result<(), ConnectorError> {
        let past_share = |(used, allocation): (u64, u64)| used * 100 >= allocation * u64::from(self.config.api_share());
        if !self.client.api_usage().is_some_and(past_share) {
            return Ok(());
        }
        // What was last heard may be old (nothing else may be calling): the org's own figures decide.
        let Some((used, allocation)) = self.client.refresh_api_usage().await?.filter(|usage| past_share(*usage)) else {
            return Ok(());
        };
        let share = self.config.api_share();
        tracing::warn!(
            used,
            allocation,
            share,
            "Salesforce polls hold back: the org's API allowance is used past tandem's share"
        );
        Err(ConnectorError::ShareUsedUp { system: SYSTEM, used, allocation, share })
    }

    /// The related records' fields read with each record.
    fn related(&self, describe: &Describe) -> Vec<String> {
        self.config.related_fields().map_or_else(|| describe.default_related(), <[String]>::to_vec)
    }

    async fn item_from(&self, record: Map<String, Value>) -> Result<Item, ConnectorError> {
        let describe = self.describe().await?;
        let describe = &*describe;
        let session = self.client.session().await?;
        let id = text(&record, "Id")?.to_string();
        let key = describe.key_field().and_then(|field| record.get(field)?.as_str().map(str::to_string));
        let url =
            format!("{}/lightning/r/{}/{id}/view", session.instance_url.as_str().trim_end_matches('/'), self.object());
        Ok(Item {
            item: ItemRef { id: ItemId::new(id), key, url: Some(url) },
            updated: last_change(&record, describe)?,
            updated_by: user(&record, "LastModifiedById"),
            created_by: user(&record, "CreatedById"),
            revision: None,
            place: ItemPlace::new(self.config.org(), self.object()),
            visibility: Visibility::Everyone,
            // Salesforce files (ContentDocumentLink) are not synced yet.
            attachments: Vec::new(),
            comments: None,
            fields: convert::read_fields(describe, &self.related(describe), &record),
        })
    }

    /// The records a SOQL query selects, as items. Read with `queryAll` (the query leaves deleted
    /// records out itself), so that a deleted comment still counts among the record's comment changes:
    /// a record's change instant must never go back, and deleting a comment is a change.
    async fn items(&self, soql: &str) -> Result<Vec<Item>, ConnectorError> {
        let mut items = Vec::new();
        for record in self.client.query_all(soql).await? {
            items.push(self.item_from(as_record(record)?).await?);
        }
        Ok(items)
    }

    /// The items with these ids, read whole in one query.
    async fn items_by_id(&self, ids: &BTreeSet<String>) -> Result<Vec<Item>, ConnectorError> {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut items = Vec::with_capacity(ids.len());
        // A query travels in the URL, which Salesforce takes up to 16,384 bytes: ids go in batches
        // that leave room for the selected fields.
        let selection_length = self.selection(&*self.describe().await?).len();
        let batch = (MAX_QUERY_LENGTH.saturating_sub(selection_length) / ID_IN_LIST).clamp(1, MAX_IDS_PER_QUERY);
        for chunk in ids.chunks(batch) {
            let soql = |describe: &Describe| {
                let list = quoted_list(chunk.iter().copied());
                format!(
                    "SELECT {} FROM {} WHERE IsDeleted = false AND Id IN ({list})",
                    self.selection(describe),
                    self.object()
                )
            };
            items.extend(self.query_items(soql).await?);
        }
        Ok(items)
    }

    /// The write body of `fields`: each by its describe, refused with a clear error when the field is
    /// unknown or the value does not fit.
    async fn body(&self, fields: &FieldMap) -> Result<Value, ConnectorError> {
        let describe = self.describe().await?;
        let describe = &*describe;
        let mut body = Map::new();
        for (name, value) in fields {
            if let Some((relationship, key)) = name.split_once('.') {
                let (lookup, id) = self.resolve_lookup(describe, name, relationship, key, value).await?;
                body.insert(lookup, id);
                continue;
            }
            let field =
                describe.field(name).ok_or_else(|| field_refused(name, ConvertError::UnknownField(name.clone())))?;
            let value = convert::write_value(field, value).map_err(|error| field_refused(name, error))?;
            body.insert(field.name.clone(), value);
        }
        Ok(Value::Object(body))
    }

    /// A related record's field written is a lookup set: `Account.Name = "Globex"` sets `AccountId` to
    /// the one Account named Globex (none, or several, is a clear refusal); an empty value clears it.
    async fn resolve_lookup(
        &self,
        describe: &Describe,
        path: &str,
        relationship: &str,
        key: &str,
        value: &FieldValue,
    ) -> Result<(String, Value), ConnectorError> {
        let lookup = describe.fields.iter().find(|field| {
            field.relationship_name.as_deref().is_some_and(|name| name.eq_ignore_ascii_case(relationship))
        });
        // One level only, and a lookup to one kind of record (an owner is a User, even where queues may own).
        let target = lookup.and_then(|field| match field.reference_to.as_slice() {
            [only] => Some(only.as_str()),
            several if several.iter().any(|object| object == "User") => Some("User"),
            _ => None,
        });
        let (Some(lookup), Some(target), false) = (lookup, target, key.contains('.')) else {
            return Err(field_refused(path, ConvertError::Related(path.to_string())));
        };
        let Some(wanted) = value.as_text().filter(|text| !text.is_empty()) else {
            return Ok((lookup.name.clone(), Value::Null));
        };
        let soql = format!("SELECT Id FROM {target} WHERE {key} = {} LIMIT 2", quoted(&wanted));
        let found = self.client.query(&soql).await?;
        match found.as_slice() {
            [record] => Ok((lookup.name.clone(), record.get("Id").cloned().unwrap_or(Value::Null))),
            [] => Err(field_refused(path, format!("{path}: no {target} has {key} `{wanted}`"))),
            _ => Err(field_refused(
                path,
                format!("{path}: several {target} records have {key} `{wanted}`; map a unique field"),
            )),
        }
    }

    /// Whether Case comments have a rich-text body in the API version used.
    fn rich_comments(&self) -> bool {
        self.config.api_version().parse::<f64>().is_ok_and(|version| version >= RICH_COMMENT_SINCE)
    }

    fn comment_fields(&self) -> String {
        match self.rich_comments() {
            true => format!("{COMMENT_FIELDS}, {RICH_COMMENT_BODY}"),
            false => COMMENT_FIELDS.to_string(),
        }
    }

    /// A comment's body as Salesforce keeps it: the plain `CommentBody` (4,000 bytes), and where the API
    /// version has it the HTML `CommentBodyRichtext`, which keeps the formatting (left out when even it
    /// is too long: the plain body says it was shortened).
    fn comment_bodies(&self, body: &RichText) -> Result<Map<String, Value>, ConnectorError> {
        let mut fields = Map::new();
        fields.insert("CommentBody".into(), json!(fit_comment(tandem_rich_text::plain_text(body))));
        if self.rich_comments() {
            let html = tandem_rich_text::convert(body, RichTextFormat::Html)
                .map_err(|error| ConnectorError::Invalid { system: SYSTEM, message: error.to_string() })?;
            if let RichText::Html(html) = html {
                if html.chars().count() <= RICH_COMMENT_CHARS {
                    fields.insert(RICH_COMMENT_BODY.into(), json!(html));
                }
            }
        }
        Ok(fields)
    }

    fn comment_from(&self, record: &Map<String, Value>) -> Result<Comment, ConnectorError> {
        let published = record.get("IsPublished").and_then(Value::as_bool).unwrap_or(false);
        Ok(Comment {
            id: CommentId(text(record, "Id")?.to_string()),
            author: author(record),
            body: comment_body(record),
            created: instant(record, "CreatedDate")?,
            updated: instant(record, "LastModifiedDate")?,
            visibility: match published {
                true => Visibility::Everyone,
                false => Visibility::restricted(UNPUBLISHED.0, UNPUBLISHED.1),
            },
        })
    }

    async fn read_comment(&self, id: &str) -> Result<Comment, ConnectorError> {
        let soql = format!("SELECT {} FROM {COMMENT_OBJECT} WHERE Id = {}", self.comment_fields(), quoted(id));
        let record = self.client.query(&soql).await?.into_iter().next();
        let record =
            record.ok_or_else(|| ConnectorError::NotFound { system: SYSTEM, item: format!("comment {id}") })?;
        self.comment_from(&as_record(record)?)
    }

    async fn expect_comments(&self) -> Result<(), ConnectorError> {
        match self.describe().await?.has_comments() {
            true => Ok(()),
            false => Err(invalid(format!("{} records have no comments (CaseComment is a Case's)", self.object()))),
        }
    }

    /// The records changed at or after `boundary`, and those whose comments did, a page at most of
    /// each: when a page is full, only the rows before its last instant count (the next page starts
    /// there, so an instant is never split between pages).
    async fn changed_ids(&self, boundary: Timestamp) -> Result<ChangedRows, ConnectorError> {
        let changed = self.changed_rows(&format!(">= {}", soql_datetime(boundary)), Some(PAGE_SIZE)).await?;
        if changed.end != Some(boundary) {
            return Ok(changed);
        }
        // A whole page changed in one instant (a data load): that instant is read whole, in batches.
        let mut whole = self.changed_rows(&format!("= {}", soql_datetime(boundary)), None).await?;
        whole.end = Some(boundary + chrono::TimeDelta::milliseconds(1));
        Ok(whole)
    }

    /// The rows whose `SystemModstamp` meets `condition`, `limit` at most of each query.
    async fn changed_rows(&self, condition: &str, limit: Option<usize>) -> Result<ChangedRows, ConnectorError> {
        let order = match limit {
            Some(limit) => format!("ORDER BY SystemModstamp, Id LIMIT {limit}"),
            None => "ORDER BY SystemModstamp, Id".to_string(),
        };
        let mut queries = vec![(
            "Id",
            format!("SELECT Id, SystemModstamp FROM {} WHERE SystemModstamp {condition} {order}", self.object()),
            false,
        )];
        if self.describe().await?.has_comments() {
            // Deleted comments too: their Case changed when they went.
            queries.push((
                "ParentId",
                format!(
                    "SELECT ParentId, SystemModstamp FROM {COMMENT_OBJECT} WHERE SystemModstamp {condition} {order}"
                ),
                true,
            ));
        }
        let mut rows = Vec::new();
        let mut end: Option<Timestamp> = None;
        for (id_field, soql, deleted_too) in queries {
            let found = match deleted_too {
                true => self.client.query_all(&soql).await?,
                false => self.client.query(&soql).await?,
            };
            let full = limit.is_some_and(|limit| found.len() >= limit);
            for row in found {
                let row = as_record(row)?;
                let id = row
                    .get(id_field)
                    .and_then(Value::as_str)
                    .ok_or_else(|| unreadable("a changed row without its id"))?;
                rows.push((id.to_string(), instant(&row, "SystemModstamp")?));
            }
            if full {
                let last = rows.last().map(|(_, at)| *at);
                end = end.into_iter().chain(last).min();
            }
        }
        let ids = rows.into_iter().filter(|(_, at)| end.is_none_or(|end| *at < end)).map(|(id, _)| id).collect();
        Ok(ChangedRows { ids, end })
    }
}

/// What one page of changes holds: the records' ids, and where the next page starts (`None`: this was
/// the last).
struct ChangedRows {
    ids: BTreeSet<String>,
    end: Option<Timestamp>,
}

#[async_trait]
impl Connector for SalesforceConnector {
    fn system(&self) -> SystemKind {
        SYSTEM
    }

    async fn service_account(&self) -> Result<UserRef, ConnectorError> {
        let session = self.client.session().await?;
        let found = self.get_user(&session.user_id).await?;
        Ok(found.unwrap_or(UserRef { id: session.user_id.clone(), email: None, display_name: None }))
    }

    async fn get_item(&self, id: &ItemId) -> Result<Item, ConnectorError> {
        let not_found = || ConnectorError::NotFound { system: SYSTEM, item: self.what(id.as_str()) };
        if !is_record_id(id.as_str()) {
            return Err(not_found());
        }
        let ids = BTreeSet::from([id.as_str().to_string()]);
        self.items_by_id(&ids).await?.into_iter().next().ok_or_else(not_found)
    }

    async fn changed_page(&self, since: Timestamp, page: Option<&PageToken>) -> Result<ChangedPage, ConnectorError> {
        self.hold_back_past_share().await?;
        let boundary = page.map(boundary_of).transpose()?.unwrap_or(since);
        let read_at = chrono::Utc::now();
        let changed = self.changed_ids(boundary).await?;
        let mut items = self.items_by_id(&changed.ids).await?;
        items.sort_by(|a, b| (a.updated, a.item.id.as_str()).cmp(&(b.updated, b.item.id.as_str())));
        // The org stamps changes in whole seconds: one made later in the second the query ran reads as
        // that second, so only what came before it is complete.
        let read_second = chrono::SubsecRound::trunc_subsecs(read_at, 0);
        Ok(ChangedPage {
            items,
            complete_before: changed.end.unwrap_or(read_second),
            next: changed.end.map(page_token),
            read_at: Some(read_at),
        })
    }

    fn max_call_duration(&self) -> Duration {
        // The longest of them, a create: a sign-in (again after an expired session), the describe, a
        // look-up per related field, the write, its read-back. A lease shorter than this could let
        // another worker repeat a create still under way.
        self.client.retry().longest_call() * 5
    }

    async fn project_last_updated(&self) -> Result<Option<Timestamp>, ConnectorError> {
        let soql = format!("SELECT SystemModstamp FROM {} ORDER BY SystemModstamp DESC LIMIT 1", self.object());
        let last = self.client.query(&soql).await?.into_iter().next();
        last.map(|row| instant(&as_record(row)?, "SystemModstamp")).transpose()
    }

    async fn create_item(&self, fields: &FieldMap, origin: Option<&CopyOrigin>) -> Result<Item, ConnectorError> {
        let body = self.body(fields).await?;
        let saved: SaveResult = match origin {
            // An upsert on the origin's marker: sent twice, it makes one record.
            Some(origin) => {
                let field = self.config.external_id_field();
                let path = format!("sobjects/{}/{field}/{}", self.object(), origin.marker());
                let upsert =
                    self.client.json(Method::PATCH, Target::Api(&path, &[]), Some(&body), Repeat::Safe, self.object());
                upsert.await.map_err(|error| match error {
                    // Upserting, "not found" is the External ID field, not a record.
                    ConnectorError::NotFound { .. } => invalid(format!(
                        "{}.{field} does not exist or the integration user cannot see it: add it as an External ID \
                         field (docs/salesforce.md) or name another with `external_id_field`",
                        self.object()
                    )),
                    other => other,
                })?
            }
            None => {
                let path = format!("sobjects/{}", self.object());
                self.client
                    .json(Method::POST, Target::Api(&path, &[]), Some(&body), Repeat::Unsafe, self.object())
                    .await?
            }
        };
        self.get_item(&ItemId::new(saved.id.clone())).await.map_err(|error| ConnectorError::Incomplete {
            system: SYSTEM,
            done: format!("created {}", self.what(&saved.id)),
            source: Box::new(error),
        })
    }

    async fn find_copy(&self, origin: &CopyOrigin, created_since: Timestamp) -> Result<Option<Item>, ConnectorError> {
        let creator = self.client.session().await?.user_id.clone();
        let soql = |describe: &Describe| {
            format!(
                "SELECT {} FROM {} WHERE IsDeleted = false AND {} = {} AND CreatedById = {} AND CreatedDate >= {} \
                 ORDER BY CreatedDate LIMIT 1",
                self.selection(describe),
                self.object(),
                self.config.external_id_field(),
                quoted(&origin.marker()),
                quoted(&creator),
                soql_datetime(created_since)
            )
        };
        Ok(self.query_items(soql).await?.into_iter().next())
    }

    async fn update_item(
        &self,
        id: &ItemId,
        fields: &FieldMap,
        read: &ItemVersion,
    ) -> Result<Option<ItemVersion>, ConnectorError> {
        let body = self.body(fields).await?;
        let path = format!("sobjects/{}/{}", self.object(), id.as_str());
        let (target, what) = (Target::Api(&path, &[]), self.what(id.as_str()));
        // A write made on what was read is refused if someone changed the record since, so that their
        // change is merged rather than overwritten; an unchecked one (a person's) is not.
        if *read == ItemVersion::UNCHECKED {
            self.client.send(Method::PATCH, target, Some(&body), Repeat::Safe, &what).await?;
        } else {
            self.client.update_unless_changed(target, &body, read.updated, &what).await?;
        }
        Ok(None)
    }

    async fn list_comments(&self, item: &ItemId) -> Result<Vec<Comment>, ConnectorError> {
        if !self.describe().await?.has_comments() {
            return Ok(Vec::new());
        }
        let soql = format!(
            "SELECT {} FROM {COMMENT_OBJECT} WHERE ParentId = {} ORDER BY CreatedDate, Id",
            self.comment_fields(),
            quoted(item.as_str())
        );
        let rows = self.client.query(&soql).await?;
        rows.into_iter().map(|row| self.comment_from(&as_record(row)?)).collect()
    }

    async fn add_comment(&self, item: &ItemId, body: &RichText) -> Result<Comment, ConnectorError> {
        self.expect_comments().await?;
        let mut comment = self.comment_bodies(body)?;
        comment.insert("ParentId".into(), json!(item.as_str()));
        comment.insert("IsPublished".into(), json!(self.config.publish_comments()));
        let comment = Value::Object(comment);
        let path = format!("sobjects/{COMMENT_OBJECT}");
        let saved: SaveResult = self
            .client
            .json(Method::POST, Target::Api(&path, &[]), Some(&comment), Repeat::Unsafe, &self.what(item.as_str()))
            .await?;
        self.read_comment(&saved.id).await.map_err(|error| ConnectorError::Incomplete {
            system: SYSTEM,
            done: format!("added comment {} to {}", saved.id, self.what(item.as_str())),
            source: Box::new(error),
        })
    }

    async fn update_comment(
        &self,
        _item: &ItemId,
        comment: &CommentId,
        body: &RichText,
    ) -> Result<Comment, ConnectorError> {
        self.expect_comments().await?;
        let path = format!("sobjects/{COMMENT_OBJECT}/{}", comment.0);
        let change = Value::Object(self.comment_bodies(body)?);
        let what = format!("comment {comment}");
        self.client.send(Method::PATCH, Target::Api(&path, &[]), Some(&change), Repeat::Safe, &what).await?;
        self.read_comment(&comment.0).await
    }

    async fn delete_comment(&self, _item: &ItemId, comment: &CommentId) -> Result<(), ConnectorError> {
        self.expect_comments().await?;
        let path = format!("sobjects/{COMMENT_OBJECT}/{}", comment.0);
        match self
            .client
            .send(Method::DELETE, Target::Api(&path, &[]), None, Repeat::Safe, &format!("comment {comment}"))
            .await
        {
            Ok(_) | Err(ConnectorError::NotFound { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    // Salesforce files (ContentVersion linked by ContentDocumentLink) are not synced yet: items read
    // with no attachments, so the engine never asks for these.
    /// Every value is kept as written.
    fn as_stored(&self, _field: &str, value: FieldValue) -> FieldValue {
        value
    }

    fn keeps_attachments(&self) -> bool {
        false
    }

    async fn download_attachment(
        &self,
        _item: &ItemId,
        _attachment: &Attachment,
        _max_bytes: u64,
    ) -> Result<AttachmentContent, ConnectorError> {
        Err(files_unsupported())
    }

    async fn upload_attachment(
        &self,
        _item: &ItemId,
        _content: &AttachmentContent,
        _note: &str,
    ) -> Result<Attachment, ConnectorError> {
        Err(files_unsupported())
    }

    async fn delete_attachment(&self, _item: &ItemId, _attachment: &Attachment) -> Result<(), ConnectorError> {
        Err(files_unsupported())
    }

    /// Images in rich text areas (`/servlet/rtaImage`) are not files the engine can copy yet.
    fn image_file(&self, _image: &Image, _attachments: &[Attachment]) -> Option<Attachment> {
        None
    }

    fn image_source(&self, file: &Attachment) -> ImageSource {
        ImageSource::Url(file.url.clone().unwrap_or_default())
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRef>, ConnectorError> {
        let soql =
            format!("SELECT Id, Name, Email FROM User WHERE Email = {} AND IsActive = true LIMIT 1", quoted(email));
        let found = self.client.query(&soql).await?.into_iter().next();
        Ok(found.map(|row| user_ref(&row)))
    }

    async fn get_user(&self, id: &str) -> Result<Option<UserRef>, ConnectorError> {
        let soql = format!("SELECT Id, Name, Email FROM User WHERE Id = {}", quoted(id));
        let found = self.client.query(&soql).await?.into_iter().next();
        Ok(found.map(|row| user_ref(&row)))
    }

    /// The Case's Account and Contact (the lookups of [`LINKED_RECORDS`] the record has), opening in
    /// Lightning at the same instance as the item.
    fn related_records(&self, item: &Item) -> Vec<RelatedRecord> {
        let Some(instance) =
            item.item.url.as_deref().and_then(|url| url.split_once("/lightning/")).map(|(base, _)| base)
        else {
            return Vec::new();
        };
        LINKED_RECORDS
            .iter()
            .filter_map(|(kind, lookup)| {
                let FieldValue::Text(id) = item.field(lookup) else { return None };
                let title = match item.field(&format!("{kind}.Name")) {
                    FieldValue::Text(name) => name.clone(),
                    _ => id.clone(),
                };
                Some(RelatedRecord {
                    kind: kind.to_string(),
                    title,
                    url: format!("{instance}/lightning/r/{kind}/{id}/view"),
                })
            })
            .collect()
    }

    async fn point_to_linked(&self, item: &ItemId, linked: &LinkedItem) -> Result<(), ConnectorError> {
        let (Some(field), Some(url)) = (self.config.link_field(), linked.item.url.as_ref()) else {
            return Ok(());
        };
        let path = format!("sobjects/{}/{}", self.object(), item.as_str());
        let body = json!({ field: url });
        self.client
            .send(Method::PATCH, Target::Api(&path, &[]), Some(&body), Repeat::Safe, &self.what(item.as_str()))
            .await?;
        Ok(())
    }

    async fn check_access(&self, needs: &AccessNeeds) -> Result<AccessCheck, ConnectorError> {
        let fields = &needs.fields;
        let account = self.service_account().await?;
        let session = self.client.session().await?;
        let describe = self.describe().await?;
        let describe = &*describe;
        let mut check = AccessCheck { account: Some(account), ..AccessCheck::default() };
        check.passed.push(format!("signed in to org {} at {}", session.org_id, session.instance_url));
        let object = self.object();
        match (describe.createable, describe.updateable) {
            (true, true) => check.passed.push(format!("{object} records can be created and edited")),
            _ => check.problems.push(format!("the integration user may not create and edit {object} records")),
        }
        for name in fields {
            match describe.field(name) {
                Some(field) if field.updateable => check.passed.push(format!("{object}.{} is writable", field.name)),
                Some(field) if field.createable => check.problems.push(format!(
                    "{object}.{} can be set only when a record is created, not updated after",
                    field.name
                )),
                Some(field) => {
                    check.problems.push(format!("{object}.{} is read-only for the integration user", field.name))
                }
                None => check.problems.push(format!("{object} has no field `{name}` the integration user can see")),
            }
        }
        if let Some(link) = self.config.link_field() {
            match describe.field(link) {
                Some(field) if field.updateable => {
                    check.passed.push(format!("{object}.{link} can point at linked items"))
                }
                _ => check.problems.push(format!("{object}.{link} (link_field) is missing or read-only")),
            }
        }
        let marker = self.config.external_id_field();
        match describe.field(marker) {
            Some(field) if field.external_id => check.passed.push(format!("{object}.{marker} is an External ID field")),
            Some(_) => check.problems.push(format!("{object}.{marker} is not marked External ID (and Unique)")),
            None => check.problems.push(format!(
                "{object} has no field `{marker}`: add a text field, External ID and Unique, for the copies' origin"
            )),
        }
        if describe.has_comments() {
            let comments = self.describe_object(COMMENT_OBJECT).await?;
            match comments.createable {
                true => check.passed.push("case comments can be added".into()),
                false => check.problems.push("the integration user may not add case comments".into()),
            }
        }
        if let Some((used, allocation)) = self.client.api_usage() {
            let share = self.config.api_share();
            let line =
                format!("API requests in the last 24 hours: {used} of {allocation} (polls hold back past {share}%)");
            match used * 100 < allocation * u64::from(share) {
                true => check.passed.push(line),
                false => check.problems.push(line),
            }
        }
        Ok(check)
    }
}

fn user_ref(row: &Value) -> UserRef {
    let field = |name: &str| row.get(name).and_then(Value::as_str).map(str::to_string);
    UserRef { id: field("Id").unwrap_or_default(), email: field("Email"), display_name: field("Name") }
}

/// A comment's body: its rich-text body when it has one, else its plain one.
fn comment_body(record: &Map<String, Value>) -> RichText {
    match record.get(RICH_COMMENT_BODY).and_then(Value::as_str).filter(|html| !html.trim().is_empty()) {
        Some(html) => RichText::Html(html.to_string()),
        None => RichText::Plain(record.get("CommentBody").and_then(Value::as_str).unwrap_or_default().to_string()),
    }
}

fn files_unsupported() -> ConnectorError {
    ConnectorError::Unsupported { system: SYSTEM, what: "files (attachments) yet".into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_comments_are_cut_at_a_character_and_say_so() {
        let long = "é".repeat(3000);
        let fitted = fit_comment(long);
        assert!(fitted.len() <= COMMENT_BODY_BYTES, "{}", fitted.len());
        assert!(fitted.ends_with(SHORTENED));
        assert_eq!(fit_comment("short".into()), "short");
    }
}
