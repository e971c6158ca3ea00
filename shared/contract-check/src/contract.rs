//! A vendor's API contract: routes plus schemas, and the request/response checks against it.

use std::cmp::Reverse;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde_json::Value;

use crate::description::Description;
use crate::error::ContractError;
use crate::fit::Fit;
use crate::location::contracts_dir;
use crate::operation::{covers, essence, is_json, MediaType, Operation};
use crate::path_key::{PathKey, Section};
use crate::quirks;
use crate::request::{OperationId, RecordedRequest, Violation};
use crate::route::{PathMatching, Router};
use crate::schema::SchemaCache;

/// One loaded API description, or several merged (Azure DevOps spreads its API over files).
#[derive(Debug)]
pub struct Contract {
    descriptions: Vec<Description>,
    router: Router,
    matching: PathMatching,
    schemas: SchemaCache,
    exercised: Mutex<BTreeSet<OperationId>>,
}

type Cached = OnceLock<Result<Contract, Arc<ContractError>>>;

impl Contract {
    /// Jira Cloud platform REST API v3 (`jira/platform-v3.json`), loaded once per process.
    pub fn jira() -> Result<&'static Contract, ContractError> {
        static JIRA: Cached = OnceLock::new();
        cached(&JIRA, &["jira/platform-v3.json"], PathMatching::CaseSensitive)
    }

    /// Azure DevOps work item tracking, identities and service hooks (7.1), loaded once per process.
    pub fn azure_devops() -> Result<&'static Contract, ContractError> {
        static AZURE_DEVOPS: Cached = OnceLock::new();
        cached(
            &AZURE_DEVOPS,
            &[
                "azure-devops/wit-7.1-workItemTracking.json",
                "azure-devops/ims-7.1-identities.json",
                "azure-devops/hooks-7.1-serviceHooks.json",
            ],
            PathMatching::CaseInsensitive,
        )
    }

    /// GitHub REST API (`github/api.github.com.json`), loaded once per process.
    pub fn github() -> Result<&'static Contract, ContractError> {
        static GITHUB: Cached = OnceLock::new();
        cached(&GITHUB, &["github/api.github.com.json"], PathMatching::CaseSensitive)
    }

    /// Loads and merges descriptions; when two declare the same path, the first one wins.
    pub fn load(files: &[PathBuf], matching: PathMatching) -> Result<Self, ContractError> {
        let descriptions = files
            .iter()
            .enumerate()
            .map(|(index, path)| Description::load(path, format!("https://contracts.tandem.invalid/{index}.json")))
            .collect::<Result<Vec<_>, _>>()?;
        let mut router = Router::new(matching);
        for (index, description) in descriptions.iter().enumerate() {
            let keys = Section::ALL.into_iter().flat_map(|section| {
                description
                    .document
                    .get(section.member())
                    .and_then(Value::as_object)
                    .into_iter()
                    .flat_map(|items| items.keys())
                    .map(move |key| PathKey::parse(section, key))
            });
            for key in keys {
                let invalid = |reason| ContractError::InvalidPathTemplate { path: description.path.clone(), reason };
                router.add(&key, index).map_err(invalid)?;
                for shape in quirks::shorter_shapes(description, &key) {
                    router.add_shape(&shape, &key, index).map_err(invalid)?;
                }
            }
        }
        let schemas = SchemaCache::new(&descriptions)?;
        Ok(Self { descriptions, router, matching, schemas, exercised: Mutex::new(BTreeSet::new()) })
    }

    /// Checks a request against the operation its path and method select, and returns that
    /// operation, or every way in which the request departs from the description.
    pub fn check_request(&self, request: &RecordedRequest) -> Result<OperationId, Vec<Violation>> {
        let Selected { id, operation, fit } = self.operation_for(request)?;
        let mut problems = Vec::new();
        if operation.is_deprecated() {
            problems.push(format!("{id} is deprecated by the vendor"));
        }
        problems.extend(fit.problems.iter().map(ToString::to_string));
        problems.extend(self.body_problems(&operation, request));
        self.exercised.lock().unwrap_or_else(PoisonError::into_inner).insert(id.clone());
        if problems.is_empty() {
            Ok(id)
        } else {
            Err(into_violations(request, problems))
        }
    }

    /// Checks the answer to `request`: the status must be declared (exactly, as a `2XX` range
    /// or as `default`), and a JSON body must fit the schema declared for it. Azure DevOps'
    /// files declare no errors, so there any 4xx or 5xx passes without a body schema.
    pub fn check_response(
        &self,
        request: &RecordedRequest,
        status: u16,
        body: Option<&Value>,
    ) -> Result<(), Vec<Violation>> {
        let Selected { operation, .. } = self.operation_for(request)?;
        let Some(response) = operation.response(status) else {
            return Err(into_violations(
                request,
                vec![format!(
                    "response status {status} is not declared (declared: {})",
                    operation.response_keys().join(", ")
                )],
            ));
        };
        let prefix = format!("response {status} body");
        let schema_pointer = response
            .media_types
            .iter()
            .filter(|media| is_json(&media.name))
            .find_map(|media| media.schema_pointer.clone());
        let problems = match (body, schema_pointer) {
            (Some(_), _) if status == 204 || status == 304 => {
                vec![format!("response {status} must not carry a body")]
            }
            (Some(body), Some(pointer)) => {
                self.schemas.validate(operation.description, &pointer, body, &prefix).err().unwrap_or_default()
            }
            // 204 cannot carry a body (RFC 9110), whatever a description says under it.
            (None, Some(_)) if (200..300).contains(&status) && status != 204 => vec![format!(
                "response {status} has no body, but the description (under {:?}) gives it one",
                response.key
            )],
            _ => Vec::new(),
        };
        if problems.is_empty() {
            Ok(())
        } else {
            Err(into_violations(request, problems))
        }
    }

    /// Every operation of the contract, as `METHOD /template` (an `x-ms-paths` template keeps
    /// its `?…` suffix), each once.
    pub fn operations(&self) -> Vec<OperationId> {
        const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
        let mut seen = BTreeSet::new();
        self.router
            .routes()
            .iter()
            .flat_map(|route| {
                let description = &self.descriptions[route.description];
                METHODS.iter().filter_map(move |method| {
                    Operation::find(description, &route.key, method).map(|_| operation_id(method, &route.key))
                })
            })
            .filter(|id| seen.insert(id.clone()))
            .collect()
    }

    /// The operations that requests checked so far in this process have matched.
    pub fn exercised_operations(&self) -> Vec<OperationId> {
        self.exercised.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }

    /// Number of body schemas compiled so far (each is compiled once and then reused).
    pub fn compiled_schemas(&self) -> usize {
        self.schemas.compiled()
    }

    /// The operation that the request's path and method select. Where several keys share the
    /// path (Microsoft's `x-ms-paths` beside `paths`), the one its query fits best; on a tie, the
    /// one declared first.
    fn operation_for(&self, request: &RecordedRequest) -> Result<Selected<'_>, Vec<Violation>> {
        let unknown = |message: String| vec![Violation::new(request, message)];
        let candidates = self.router.candidates(&request.path);
        let Some(first) = candidates.first() else {
            return Err(unknown("no path of the description matches".to_owned()));
        };
        let no_method =
            format!("{} does not take method {}", first.route.key.path, request.method.to_ascii_uppercase());
        candidates
            .iter()
            .filter_map(|found| {
                let description = &self.descriptions[found.route.description];
                let operation = Operation::find(description, &found.route.key, &request.method)?;
                let fit = Fit::of(&operation, &found.route.key, request, &found.parameters, self.matching);
                Some(Selected { id: operation_id(&request.method, &found.route.key), operation, fit })
            })
            .enumerate()
            .max_by_key(|(order, selected)| (selected.fit.rank(), Reverse(*order)))
            .map(|(_, selected)| selected)
            .ok_or_else(|| unknown(no_method))
    }

    fn body_problems(&self, operation: &Operation<'_>, request: &RecordedRequest) -> Vec<String> {
        let declared = operation.request_body();
        let (declared, body) = match (declared, &request.body) {
            (None, None) => return Vec::new(),
            // A body in a declared media type that is not JSON (a multipart upload) is not kept for
            // checking; that it came in an accepted type is what can be checked.
            (Some(declared), None)
                if request.content_type.as_deref().is_some_and(|sent| {
                    !essence(sent).contains("json") && pick_media_type(&declared.media_types, sent).is_some()
                }) =>
            {
                return Vec::new();
            }
            (Some(declared), None) => {
                return if declared.required {
                    vec!["body: required, but none was sent".to_owned()]
                } else {
                    Vec::new()
                };
            }
            (None, Some(_)) if operation.takes_form_data() => {
                return vec!["body: the operation takes form fields, not JSON".to_owned()];
            }
            (None, Some(_)) => return vec!["body: the operation takes no body".to_owned()],
            (Some(declared), Some(body)) => (declared, body),
        };
        let Some(content_type) = &request.content_type else {
            return vec!["body: sent without a Content-Type".to_owned()];
        };
        let Some(media) = pick_media_type(&declared.media_types, content_type) else {
            let names: Vec<&str> = declared.media_types.iter().map(|media| media.name.as_str()).collect();
            return vec![format!(
                "body: content type {:?} is not accepted (accepted: {})",
                essence(content_type),
                names.join(", ")
            )];
        };
        match &media.schema_pointer {
            Some(pointer) => {
                self.schemas.validate(operation.description, pointer, body, "body").err().unwrap_or_default()
            }
            None => Vec::new(),
        }
    }
}

/// The declared media type for what was sent, preferring an exact match over a wildcard.
fn pick_media_type<'m>(declared: &'m [MediaType], sent: &str) -> Option<&'m MediaType> {
    let sent_essence = essence(sent);
    declared
        .iter()
        .find(|media| essence(&media.name) == sent_essence)
        .or_else(|| declared.iter().find(|media| covers(&media.name, sent)))
}

fn operation_id(method: &str, key: &PathKey) -> OperationId {
    OperationId(format!("{} {}", method.to_ascii_uppercase(), key.key))
}

/// The operation a request selects, and how its parameters fit it.
struct Selected<'c> {
    id: OperationId,
    operation: Operation<'c>,
    fit: Fit,
}

fn into_violations(request: &RecordedRequest, problems: Vec<String>) -> Vec<Violation> {
    problems.into_iter().map(|problem| Violation::new(request, problem)).collect()
}

fn cached(cell: &'static Cached, files: &[&str], matching: PathMatching) -> Result<&'static Contract, ContractError> {
    let loaded = cell.get_or_init(|| {
        let dir = contracts_dir().map_err(Arc::new)?;
        let files: Vec<PathBuf> = files.iter().map(|file| dir.join(file)).collect();
        Contract::load(&files, matching).map_err(Arc::new)
    });
    loaded.as_ref().map_err(|source| ContractError::Load { source: Arc::clone(source) })
}
