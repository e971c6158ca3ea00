//! The [`Connector`] port for one Azure DevOps project and work item type.

use async_trait::async_trait;
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;
use tandem_engine::ports::{
    AccessCheck, AccessNeeds, ChangedPage, Connector, ConnectorError, CopyOrigin, LinkedItem, PageToken,
};
use tandem_model::{
    Attachment, AttachmentContent, Comment, CommentId, Credentials, FieldMap, FieldValue, Image, ImageSource, Item,
    ItemId, ItemVersion, RelatedRecord, RichText, SystemKind, Timestamp, UserRef,
};
use url::Url;

use crate::client::{AzureDevopsClient, Payload, API_VERSION, COMMENTS_API_VERSION, CONNECTION_DATA_API_VERSION};
use crate::config::ValidAzureDevopsConfig;
use crate::convert::{self, ConvertError, CHANGED_DATE, CREATED_DATE, TITLE};
use crate::copy;
use crate::wire::{self, PatchOperation};
use tandem_http::RetryPolicy;

const SYSTEM: SystemKind = crate::AZURE_DEVOPS;
/// The service reads at most this many work items per call.
const BATCH_SIZE: usize = 200;
/// How far tandem's clock and the service's may disagree when looking for a copy by its creation time.
const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(1);
/// Results per WIQL query; the service refuses queries above 20,000 results (VS402337).
const DEFAULT_QUERY_PAGE: usize = 5_000;

/// Azure DevOps as one side of an integration.
#[derive(Debug)]
pub struct AzureDevopsConnector {
    config: ValidAzureDevopsConfig,
    pub(crate) client: AzureDevopsClient,
    query_page: usize,
    service_account: OnceLock<UserRef>,
}

/// Comment ids are numbers; ordering them as numbers keeps comments made in the same instant in order.
fn comment_number(id: &CommentId) -> u64 {
    id.0.parse().unwrap_or(u64::MAX)
}

fn invalid(error: ConvertError) -> ConnectorError {
    ConnectorError::Invalid { system: SYSTEM, message: error.to_string() }
}

fn unreadable(error: ConvertError) -> ConnectorError {
    ConnectorError::InvalidResponse { system: SYSTEM, message: error.to_string(), source: Some(Box::new(error)) }
}

/// No request body.
const EMPTY: Payload<'static, ()> = Payload::Empty;

/// Where a poll's pages of changes continue: the `ChangedDate` they have covered up to, and the work
/// items already returned at or after it.
#[derive(Debug, Clone, PartialEq)]
struct Keyset {
    boundary: Timestamp,
    returned: BTreeSet<u32>,
}

impl Keyset {
    /// Where the page after `items` (read from a query run at `as_of`) starts: the newest `ChangedDate`
    /// among items not changed since the query, which the query ordered by that very instant. Both are
    /// whole milliseconds: an item stamped in the query's own millisecond may have changed after it.
    fn after(&self, items: &[Item], as_of: Option<Timestamp>) -> Keyset {
        let settled = |item: &&Item| as_of.is_none_or(|as_of| item.updated < as_of);
        let boundary =
            items.iter().filter(settled).map(|item| item.updated).max().unwrap_or(self.boundary).max(self.boundary);
        let mut returned: BTreeSet<u32> = items
            .iter()
            .filter(|item| item.updated >= boundary)
            .filter_map(|item| item.item.id.as_str().parse().ok())
            .collect();
        if boundary == self.boundary {
            returned.extend(self.returned.iter().copied());
        }
        Keyset { boundary, returned }
    }

    fn encode(&self) -> PageToken {
        let ids: Vec<String> = self.returned.iter().map(u32::to_string).collect();
        PageToken(format!("{}|{}", self.boundary.timestamp_micros(), ids.join(",")))
    }

    fn decode(token: &PageToken) -> Result<Keyset, ConnectorError> {
        let invalid = || ConnectorError::Invalid {
            system: SYSTEM,
            message: format!("`{}` is not a page token of this connector", token.0),
        };
        let (micros, ids) = token.0.split_once('|').ok_or_else(invalid)?;
        let boundary = micros.parse().ok().and_then(Timestamp::from_timestamp_micros).ok_or_else(invalid)?;
        let returned = ids
            .split(',')
            .filter(|id| !id.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| invalid())?;
        Ok(Keyset { boundary, returned })
    }
}

impl AzureDevopsConnector {
    /// A connector authenticating with the PAT in `credentials` (which must be `AzureDevopsPat`).
    pub fn new(
        config: ValidAzureDevopsConfig,
        credentials: &Credentials,
        retry: RetryPolicy,
    ) -> Result<Self, ConnectorError> {
        let Credentials::AzureDevopsPat { pat } = credentials else {
            return Err(ConnectorError::Invalid {
                system: SYSTEM,
                message: "Azure DevOps needs `azure-devops-pat` credentials".into(),
            });
        };
        Ok(AzureDevopsConnector {
            config,
            client: AzureDevopsClient::new(pat.clone(), retry)?,
            query_page: DEFAULT_QUERY_PAGE,
            service_account: OnceLock::new(),
        })
    }

    /// Pages WIQL results by this many ids (tests use small pages to exercise paging).
    #[must_use]
    pub fn with_query_page(mut self, page: usize) -> Self {
        self.query_page = page.max(1);
        self
    }

    pub fn config(&self) -> &ValidAzureDevopsConfig {
        &self.config
    }

    pub(crate) fn project_url(&self, segments: &[&str], query: &[(&str, &str)], api_version: &str) -> Url {
        let mut all = vec![self.config.project()];
        all.extend_from_slice(segments);
        AzureDevopsClient::url(self.config.organization_url(), &all, query, api_version)
    }

    fn browse_base(&self) -> String {
        let mut url = self.config.organization_url().clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.push(self.config.project());
        }
        url.to_string()
    }

    /// A work item read by its id alone, in whichever project holds it now (ids are the organization's):
    /// one moved to another project is read, and found out of scope by its `System.TeamProject`, rather
    /// than taken for deleted.
    pub(crate) async fn read_with_relations(&self, id: &ItemId) -> Result<wire::WorkItem, ConnectorError> {
        let query = [("$expand", "relations")];
        let segments = ["_apis", "wit", "workitems", id.as_str()];
        let url = AzureDevopsClient::url(self.config.organization_url(), &segments, &query, API_VERSION);
        self.client.send(Method::GET, url, EMPTY, &format!("work item {id}")).await
    }

    fn to_item(&self, work_item: &wire::WorkItem) -> Result<Item, ConnectorError> {
        convert::item_from_wire(work_item, &self.browse_base()).map_err(unreadable)
    }

    fn quoted(text: &str) -> String {
        format!("'{}'", text.replace('\'', "''"))
    }

    /// Ids matched by a WIQL query over the configured project and type.
    async fn query(&self, condition: &str, order: &str, top: usize) -> Result<Vec<u32>, ConnectorError> {
        Ok(self.query_as_of(condition, order, top).await?.0)
    }

    /// As [`Self::query`], with the instant the service ran the query at (its own clock).
    async fn query_as_of(
        &self,
        condition: &str,
        order: &str,
        top: usize,
    ) -> Result<(Vec<u32>, Option<Timestamp>), ConnectorError> {
        let query = format!(
            "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.WorkItemType] = {}{condition} ORDER BY {order}",
            Self::quoted(self.config.work_item_type()),
        );
        let top = top.to_string();
        let url =
            self.project_url(&["_apis", "wit", "wiql"], &[("timePrecision", "true"), ("$top", &top)], API_VERSION);
        let result: wire::WorkItemQueryResult = self
            .client
            .send(
                Method::POST,
                url,
                Payload::Json(&wire::Wiql { query }),
                &format!("project {}", self.config.project()),
            )
            .await?;
        Ok((result.work_items.into_iter().map(|reference| reference.id).collect(), result.as_of))
    }

    /// Reads work items in batches of at most 200, skipping any deleted since they were queried.
    async fn read_batch(
        &self,
        ids: &[u32],
        expand: Option<wire::WorkItemExpand>,
    ) -> Result<Vec<wire::WorkItem>, ConnectorError> {
        let mut work_items = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH_SIZE) {
            let request = wire::WorkItemBatchGetRequest {
                ids: chunk.to_vec(),
                fields: None,
                expand,
                error_policy: Some("omit".into()),
            };
            let url = self.project_url(&["_apis", "wit", "workitemsbatch"], &[], API_VERSION);
            let batch: wire::Collection<Option<wire::WorkItem>> =
                self.client.send(Method::POST, url, Payload::Json(&request), "work items").await?;
            work_items.extend(batch.value.into_iter().flatten());
        }
        Ok(work_items)
    }

    /// Work items of the configured project and type that meet `condition` and whose `date_field` is at
    /// or after `since`. Pages through WIQL results by `date_field`: each page starts at the newest instant
    /// the previous one reached (inclusive), and ids already read are skipped.
    async fn read_window(
        &self,
        date_field: &str,
        since: Timestamp,
        condition: &str,
        expand: Option<wire::WorkItemExpand>,
    ) -> Result<Vec<wire::WorkItem>, ConnectorError> {
        let order = format!("[{date_field}] ASC, [System.Id] ASC");
        let mut from = since;
        let mut seen = BTreeSet::new();
        let mut work_items = Vec::new();
        loop {
            let window = format!("{condition} AND [{date_field}] >= '{}'", convert::format_instant(from));
            let ids = self.query(&window, &order, self.query_page).await?;
            let full_page = ids.len() >= self.query_page;
            let fresh: Vec<u32> = ids.into_iter().filter(|id| seen.insert(*id)).collect();
            let page = self.read_batch(&fresh, expand).await?;
            let reached = page
                .iter()
                .filter_map(|work_item| work_item.fields.get(date_field)?.as_str().and_then(convert::parse_instant))
                .max();
            work_items.extend(page);
            if !full_page {
                break;
            }
            match reached {
                Some(next) if next > from => from = next,
                _ => {
                    return Err(ConnectorError::Invalid {
                        system: SYSTEM,
                        message: format!(
                            "more than {} work items have {date_field} {}; raise the query page size",
                            self.query_page,
                            convert::format_instant(from)
                        ),
                    })
                }
            }
        }
        Ok(work_items)
    }

    async fn identities(&self, query: &[(&str, &str)]) -> Result<Vec<wire::Identity>, ConnectorError> {
        let url = AzureDevopsClient::url(self.config.identities_url(), &["_apis", "identities"], query, API_VERSION);
        let found: wire::Collection<Option<wire::Identity>> =
            self.client.send(Method::GET, url, EMPTY, "identities").await?;
        Ok(found.value.into_iter().flatten().collect())
    }

    fn comment_url(&self, item: &ItemId, comment: Option<&CommentId>, query: &[(&str, &str)]) -> Url {
        let mut segments = vec!["_apis", "wit", "workItems", item.as_str(), "comments"];
        if let Some(comment) = comment {
            segments.push(&comment.0);
        }
        self.project_url(&segments, query, COMMENTS_API_VERSION)
    }

    fn field_operations(fields: &FieldMap, clear_empty: bool) -> Result<Vec<PatchOperation>, ConnectorError> {
        let mut operations = Vec::with_capacity(fields.len());
        for (name, value) in fields {
            match convert::patch_value(name, value).map_err(invalid)? {
                Some(value) => operations.push(PatchOperation::add_field(name, value)),
                None if clear_empty => operations.push(PatchOperation::remove_field(name)),
                None => {}
            }
        }
        Ok(operations)
    }

    async fn check_steps(&self, fields: &[String], check: &mut AccessCheck) -> Result<(), ConnectorError> {
        let project = self.config.project();
        let work_item_type = self.config.work_item_type();
        let type_url = self.project_url(&["_apis", "wit", "workitemtypes", work_item_type], &[], API_VERSION);
        let described = format!("project `{project}` or its work item type `{work_item_type}`");
        match self.client.send::<wire::WorkItemType, ()>(Method::GET, type_url, EMPTY, &described).await {
            Ok(found) => {
                check.passed.push(format!("project `{project}` is readable and has work item type `{}`", found.name));
                let known: BTreeSet<String> =
                    found.fields.iter().map(|field| field.reference_name.to_ascii_lowercase()).collect();
                for field in fields {
                    if known.contains(&field.to_ascii_lowercase()) {
                        check.passed.push(format!("field `{field}` exists on `{work_item_type}`"));
                    } else {
                        check
                            .problems
                            .push(format!("field `{field}` does not exist on work item type `{work_item_type}`"));
                    }
                }
            }
            Err(ConnectorError::NotFound { .. }) => {
                check.problems.push(format!("{described} does not exist or is not visible to the service account"));
                return Ok(());
            }
            Err(error) if error.is_retryable() => return Err(error),
            Err(error) => {
                check.problems.push(format!("the work item type `{work_item_type}` could not be read: {error}"));
                return Ok(());
            }
        }
        match self.query("", "[System.ChangedDate] DESC", 1).await {
            Ok(_) => check.passed.push(format!("work items of project `{project}` can be queried (WIQL)")),
            Err(error) if error.is_retryable() => return Err(error),
            Err(error) => check.problems.push(format!("work items cannot be queried: {error}")),
        }
        let probe = vec![PatchOperation::add_field(TITLE, Value::from("tandem access check"))];
        let url = self.project_url(
            &["_apis", "wit", "workitems", &format!("${work_item_type}")],
            &[("validateOnly", "true")],
            API_VERSION,
        );
        match self.client.send::<wire::WorkItem, _>(Method::POST, url, Payload::JsonPatch(&probe), &described).await {
            Ok(_) => check.passed.push(format!("the service account may create `{work_item_type}` work items")),
            Err(ConnectorError::Unauthorized { status, .. }) => check.problems.push(format!(
                "the service account may not create or edit `{work_item_type}` work items in `{project}` (HTTP {status}): grant it \"Edit work items in this node\" on the area path"
            )),
            Err(error) if error.is_retryable() => return Err(error),
            Err(error) => check.problems.push(format!("creating a `{work_item_type}` work item would fail: {error}")),
        }
        Ok(())
    }
}

#[async_trait]
impl Connector for AzureDevopsConnector {
    fn system(&self) -> SystemKind {
        SYSTEM
    }

    async fn service_account(&self) -> Result<UserRef, ConnectorError> {
        if let Some(account) = self.service_account.get() {
            return Ok(account.clone());
        }
        let url = AzureDevopsClient::url(
            self.config.organization_url(),
            &["_apis", "connectionData"],
            &[],
            CONNECTION_DATA_API_VERSION,
        );
        let connection: wire::ConnectionData = self.client.send(Method::GET, url, EMPTY, "connection data").await?;
        let account = convert::user_from_identity(&connection.authenticated_user);
        Ok(self.service_account.get_or_init(|| account).clone())
    }

    /// Read with its relations, which hold its attachments.
    async fn get_item(&self, id: &ItemId) -> Result<Item, ConnectorError> {
        self.to_item(&self.read_with_relations(id).await?)
    }

    /// One WIQL query from the instant the last page reached, ordered by `ChangedDate`, then the work
    /// items it names. A work item changed between the query and the read comes back with a later
    /// `ChangedDate` than the query ordered it by, so the next page starts at the newest `ChangedDate`
    /// among the items that did not change after the query (`asOf`), never at a changed item's: that
    /// would skip the items between. Items already returned at or after that instant are skipped by id.
    async fn changed_page(&self, since: Timestamp, page: Option<&PageToken>) -> Result<ChangedPage, ConnectorError> {
        let from = match page {
            Some(token) => Keyset::decode(token)?,
            None => Keyset { boundary: since, returned: BTreeSet::new() },
        };
        let window = format!(" AND [{CHANGED_DATE}] >= '{}'", convert::format_instant(from.boundary));
        let order = format!("[{CHANGED_DATE}] ASC, [System.Id] ASC");
        let (ids, as_of) = self.query_as_of(&window, &order, self.query_page).await?;
        let full_page = ids.len() >= self.query_page;
        let fresh: Vec<u32> = ids.into_iter().filter(|id| !from.returned.contains(id)).collect();
        // A page is one batch read: the ids after it changed no earlier (the query ordered them), so
        // the next page's query finds them again, and a poll holds a batch, not a query's thousands.
        let batch = &fresh[..fresh.len().min(BATCH_SIZE)];
        let read_at = chrono::Utc::now();
        let mut items = self
            .read_batch(batch, Some(wire::WorkItemExpand::Relations))
            .await?
            .iter()
            .map(|work_item| self.to_item(work_item))
            .collect::<Result<Vec<_>, _>>()?;
        items.sort_by(|left, right| left.updated.cmp(&right.updated).then_with(|| left.item.id.cmp(&right.item.id)));
        let next = from.after(&items, as_of);
        let unread = fresh.len() > batch.len();
        if (full_page || unread) && next == from {
            let message = match unread {
                true => format!("work items {batch:?} were listed but could not be read; the next poll lists again"),
                false => format!(
                    "more than {} work items have {CHANGED_DATE} {}; raise the query page size",
                    self.query_page,
                    convert::format_instant(from.boundary)
                ),
            };
            return Err(ConnectorError::Invalid { system: SYSTEM, message });
        }
        let complete_before = next.boundary;
        let more = full_page || unread;
        Ok(ChangedPage { items, complete_before, next: more.then(|| next.encode()), read_at: Some(read_at) })
    }

    fn max_call_duration(&self) -> Duration {
        self.client.retry().longest_call()
    }

    async fn project_last_updated(&self) -> Result<Option<Timestamp>, ConnectorError> {
        let newest = self.query("", "[System.ChangedDate] DESC", 1).await?;
        let Some(id) = newest.first() else {
            return Ok(None);
        };
        let url =
            self.project_url(&["_apis", "wit", "workitems", &id.to_string()], &[("fields", CHANGED_DATE)], API_VERSION);
        let work_item: wire::WorkItem = self.client.send(Method::GET, url, EMPTY, &format!("work item {id}")).await?;
        Ok(Some(self.to_item(&work_item)?.updated))
    }

    /// The origin travels as a hyperlink relation in the same JSON Patch document as the fields, so the
    /// work item never exists without it.
    async fn create_item(&self, fields: &FieldMap, origin: Option<&CopyOrigin>) -> Result<Item, ConnectorError> {
        let mut operations = Self::field_operations(fields, false)?;
        operations.extend(origin.map(copy::origin_relation));
        let work_item_type = format!("${}", self.config.work_item_type());
        let url = self.project_url(&["_apis", "wit", "workitems", &work_item_type], &[], API_VERSION);
        let created: wire::WorkItem = self
            .client
            .send_unrepeatable(
                Method::POST,
                url,
                Payload::JsonPatch(&operations),
                &format!("work item type {}", self.config.work_item_type()),
            )
            .await?;
        self.to_item(&created)
    }

    /// Reads the work items the service account created in the window, with their relations, and picks
    /// the first that carries the origin's hyperlink.
    async fn find_copy(&self, origin: &CopyOrigin, created_since: Timestamp) -> Result<Option<Item>, ConnectorError> {
        // `created_since` comes from tandem's clock and `CreatedDate` from the service's; opening the window
        // a minute early keeps a copy from being missed when the two clocks disagree by seconds.
        let from = created_since.checked_sub_signed(CLOCK_SKEW).unwrap_or(created_since);
        let created = self
            .read_window(CREATED_DATE, from, " AND [System.CreatedBy] = @me", Some(wire::WorkItemExpand::Relations))
            .await?;
        created
            .iter()
            .find(|work_item| copy::carries_marker(work_item, origin))
            .map(|found| self.to_item(found))
            .transpose()
    }

    /// Writes the given fields only; `System.State` is an ordinary field in Azure DevOps. The patch
    /// begins with a `test` of the revision that was read, so the service refuses the whole write when
    /// the work item changed meanwhile (`ConnectorError::Changed`): a person's edit is never overwritten
    /// unseen.
    async fn update_item(
        &self,
        id: &ItemId,
        fields: &FieldMap,
        read: &ItemVersion,
    ) -> Result<Option<ItemVersion>, ConnectorError> {
        let writes = Self::field_operations(fields, true)?;
        if writes.is_empty() {
            return Ok(None);
        }
        let operations: Vec<PatchOperation> =
            read.revision.map(PatchOperation::test_revision).into_iter().chain(writes).collect();
        let url = self.project_url(&["_apis", "wit", "workitems", id.as_str()], &[], API_VERSION);
        let written: wire::WorkItem =
            self.client.send(Method::PATCH, url, Payload::JsonPatch(&operations), &format!("work item {id}")).await?;
        Ok(Some(self.to_item(&written)?.version()))
    }

    /// Every value is kept as written.
    fn as_stored(&self, _field: &str, value: FieldValue) -> FieldValue {
        value
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
        note: &str,
    ) -> Result<Attachment, ConnectorError> {
        self.upload(item, content, note).await
    }

    async fn delete_attachment(&self, item: &ItemId, attachment: &Attachment) -> Result<(), ConnectorError> {
        self.remove(item, attachment).await
    }

    fn image_file(&self, image: &Image, attachments: &[Attachment]) -> Option<Attachment> {
        AzureDevopsConnector::image_file(self, image, attachments)
    }

    fn image_source(&self, file: &Attachment) -> ImageSource {
        AzureDevopsConnector::image_source(self, file)
    }

    /// Pages with the service's continuation token. The first call sends no paging parameters: `$top` and
    /// `order` are only declared on the comments operation the description keeps under `x-ms-paths`.
    async fn list_comments(&self, item: &ItemId) -> Result<Vec<Comment>, ConnectorError> {
        let mut comments = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let query: Vec<(&str, &str)> = token.iter().map(|token| ("continuationToken", token.as_str())).collect();
            let url = self.comment_url(item, None, &query);
            let page: wire::CommentList =
                self.client.send(Method::GET, url, EMPTY, &format!("work item {item}")).await?;
            comments.extend(page.comments.iter().filter(|comment| !comment.is_deleted).map(convert::comment_from_wire));
            match page.continuation_token.filter(|next| !next.is_empty()) {
                Some(next) if token.as_deref() != Some(next.as_str()) => token = Some(next),
                _ => break,
            }
        }
        comments.sort_by(|left, right| {
            left.created.cmp(&right.created).then_with(|| comment_number(&left.id).cmp(&comment_number(&right.id)))
        });
        Ok(comments)
    }

    async fn add_comment(&self, item: &ItemId, body: &RichText) -> Result<Comment, ConnectorError> {
        let text = convert::comment_html(body).map_err(invalid)?;
        let url = self.comment_url(item, None, &[]);
        let created: wire::Comment = self
            .client
            .send_unrepeatable(
                Method::POST,
                url,
                Payload::Json(&wire::CommentText { text }),
                &format!("work item {item}"),
            )
            .await?;
        Ok(convert::comment_from_wire(&created))
    }

    async fn update_comment(
        &self,
        item: &ItemId,
        comment: &CommentId,
        body: &RichText,
    ) -> Result<Comment, ConnectorError> {
        let text = convert::comment_html(body).map_err(invalid)?;
        let url = self.comment_url(item, Some(comment), &[]);
        let updated: wire::Comment = self
            .client
            .send(
                Method::PATCH,
                url,
                Payload::Json(&wire::CommentText { text }),
                &format!("comment {comment} of work item {item}"),
            )
            .await?;
        Ok(convert::comment_from_wire(&updated))
    }

    async fn delete_comment(&self, item: &ItemId, comment: &CommentId) -> Result<(), ConnectorError> {
        let url = self.comment_url(item, Some(comment), &[]);
        let what = format!("comment {comment} of work item {item}");
        match self.client.send::<Value, ()>(Method::DELETE, url, EMPTY, &what).await {
            Ok(_) | Err(ConnectorError::NotFound { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRef>, ConnectorError> {
        let found = self
            .identities(&[("searchFilter", "General"), ("filterValue", email), ("queryMembership", "None")])
            .await?;
        Ok(found
            .iter()
            .find(|identity| identity.email().is_some_and(|known| known.eq_ignore_ascii_case(email)))
            .map(convert::user_from_identity))
    }

    async fn get_user(&self, id: &str) -> Result<Option<UserRef>, ConnectorError> {
        let found = self.identities(&[("identityIds", id), ("queryMembership", "None")]).await?;
        Ok(found.iter().find(|identity| identity.id.eq_ignore_ascii_case(id)).map(convert::user_from_identity))
    }

    async fn check_access(&self, needs: &AccessNeeds) -> Result<AccessCheck, ConnectorError> {
        let fields = &needs.fields;
        let mut check = AccessCheck::default();
        match self.service_account().await {
            Ok(account) => {
                check.passed.push(format!(
                    "authenticated as {}",
                    account.email.as_deref().or(account.display_name.as_deref()).unwrap_or(&account.id)
                ));
                check.account = Some(account);
            }
            Err(ConnectorError::Unauthorized { status, .. }) => {
                check.problems.push(format!(
                    "Azure DevOps rejected the personal access token (HTTP {status}): check that it is valid, not expired, and has the Work Items (Read & write) scope"
                ));
                return Ok(check);
            }
            Err(error) => return Err(error),
        }
        self.check_steps(fields, &mut check).await?;
        Ok(check)
    }

    /// A work item refers to no records a linked item would show.
    fn related_records(&self, _item: &Item) -> Vec<RelatedRecord> {
        Vec::new()
    }

    /// A work item keeps no pointer to the item linked with it (tandem's link is the pointer).
    async fn point_to_linked(&self, _item: &ItemId, _linked: &LinkedItem) -> Result<(), ConnectorError> {
        Ok(())
    }
}
