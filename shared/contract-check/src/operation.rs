//! One operation of a description, read the same way whether it is OpenAPI 3 or Swagger 2.

use serde_json::Value;

use crate::description::{escape, Description, Dialect};
use crate::path_key::PathKey;

/// `paths[template][method]` (or `x-ms-paths[…][method]`) of one description.
#[derive(Debug)]
pub(crate) struct Operation<'d> {
    pub(crate) description: &'d Description,
    pointer: String,
    path_item_pointer: String,
    operation: &'d Value,
}

/// A parameter after `$ref`s are followed.
#[derive(Debug)]
pub(crate) struct Parameter<'d> {
    pub(crate) name: &'d str,
    pub(crate) location: &'d str,
    pub(crate) required: bool,
    /// What values look like: OpenAPI 3's `schema`, or for Swagger 2 the parameter itself (it
    /// carries `type`, `enum`, `items` inline).
    pub(crate) schema: Option<&'d Value>,
}

/// A media type an operation accepts or answers with, and where its schema sits, if anywhere.
#[derive(Debug, Clone)]
pub(crate) struct MediaType {
    pub(crate) name: String,
    pub(crate) schema_pointer: Option<String>,
}

/// What an operation says about its request body.
#[derive(Debug)]
pub(crate) struct RequestBody {
    pub(crate) required: bool,
    pub(crate) media_types: Vec<MediaType>,
}

/// The response an operation declares for a status, found under `key` (`200`, `2XX`, `default`).
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) key: String,
    pub(crate) media_types: Vec<MediaType>,
}

/// Swagger 2's default when neither the operation nor the document says `consumes`/`produces`.
const JSON: &str = "application/json";

impl<'d> Operation<'d> {
    pub(crate) fn find(description: &'d Description, key: &PathKey, method: &str) -> Option<Self> {
        let path_item_pointer = key.item_pointer();
        let pointer = format!("{path_item_pointer}/{}", method.to_ascii_lowercase());
        let (pointer, operation) = description.follow(&pointer)?;
        operation.is_object().then_some(Self { description, pointer, path_item_pointer, operation })
    }

    pub(crate) fn is_deprecated(&self) -> bool {
        self.operation.get("deprecated") == Some(&Value::Bool(true))
    }

    /// Operation-level parameters, then those of the path item that the operation does not
    /// redefine (same name and location).
    pub(crate) fn parameters(&self) -> Vec<Parameter<'d>> {
        let own = self.parameters_at(&format!("{}/parameters", self.pointer));
        let shared = self.parameters_at(&format!("{}/parameters", self.path_item_pointer));
        let inherited: Vec<Parameter<'d>> = shared
            .into_iter()
            .filter(|shared| !own.iter().any(|own| own.name == shared.name && own.location == shared.location))
            .collect();
        own.into_iter().chain(inherited).collect()
    }

    fn parameters_at(&self, pointer: &str) -> Vec<Parameter<'d>> {
        let count = self.description.document.pointer(pointer).and_then(Value::as_array).map_or(0, Vec::len);
        (0..count)
            .filter_map(|index| self.description.follow(&format!("{pointer}/{index}")))
            .filter_map(|(_, parameter)| {
                let name = parameter.get("name")?.as_str()?;
                let location = parameter.get("in")?.as_str()?;
                let schema = match self.description.dialect {
                    Dialect::OpenApi3 => parameter.get("schema"),
                    Dialect::Swagger2 => Some(parameter),
                };
                Some(Parameter {
                    name,
                    location,
                    // Path parameters are always required, whatever the file says.
                    required: location == "path" || parameter.get("required") == Some(&Value::Bool(true)),
                    schema,
                })
            })
            .collect()
    }

    /// What the operation says about a request body; `None` when it takes none.
    pub(crate) fn request_body(&self) -> Option<RequestBody> {
        match self.description.dialect {
            Dialect::OpenApi3 => {
                let (pointer, body) = self.description.follow(&format!("{}/requestBody", self.pointer))?;
                Some(RequestBody {
                    required: body.get("required") == Some(&Value::Bool(true)),
                    media_types: self.content(&pointer, body),
                })
            }
            Dialect::Swagger2 => {
                let body = self.parameters().into_iter().find(|parameter| parameter.location == "body")?;
                let schema_pointer = self.body_parameter_schema_pointer();
                let media_types = self
                    .media_type_list("consumes")
                    .into_iter()
                    .map(|name| MediaType { name, schema_pointer: schema_pointer.clone() })
                    .collect();
                Some(RequestBody { required: body.required, media_types })
            }
        }
    }

    /// Whether the operation takes form fields (Swagger 2 `formData`), which a JSON body is not.
    pub(crate) fn takes_form_data(&self) -> bool {
        self.parameters().iter().any(|parameter| parameter.location == "formData")
    }

    fn body_parameter_schema_pointer(&self) -> Option<String> {
        [&self.pointer, &self.path_item_pointer].into_iter().find_map(|owner| {
            let list = format!("{owner}/parameters");
            let count = self.description.document.pointer(&list).and_then(Value::as_array).map_or(0, Vec::len);
            (0..count).find_map(|index| {
                let (pointer, parameter) = self.description.follow(&format!("{list}/{index}"))?;
                (parameter.get("in").and_then(Value::as_str) == Some("body")).then(|| format!("{pointer}/schema"))
            })
        })
    }

    /// The declared response for `status`: exact code, then `2XX`-style range, then `default`.
    pub(crate) fn response(&self, status: u16) -> Option<Response> {
        let responses = self.operation.get("responses")?.as_object()?;
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        let key = responses
            .keys()
            .find(|key| **key == exact)
            .or_else(|| responses.keys().find(|key| key.eq_ignore_ascii_case(&range)))
            .or_else(|| responses.keys().find(|key| *key == "default"))?;
        let (pointer, response) = self.description.follow(&format!("{}/responses/{}", self.pointer, escape(key)))?;
        let media_types = match self.description.dialect {
            Dialect::OpenApi3 => self.content(&pointer, response),
            Dialect::Swagger2 => {
                let schema_pointer = response.get("schema").map(|_| format!("{pointer}/schema"));
                self.media_type_list("produces")
                    .into_iter()
                    .map(|name| MediaType { name, schema_pointer: schema_pointer.clone() })
                    .collect()
            }
        };
        Some(Response { key: key.clone(), media_types })
    }

    /// The status keys the operation declares, for messages.
    pub(crate) fn response_keys(&self) -> Vec<&'d str> {
        self.operation
            .get("responses")
            .and_then(Value::as_object)
            .map(|responses| responses.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// OpenAPI 3 `content` of a request body or response.
    fn content(&self, owner_pointer: &str, owner: &Value) -> Vec<MediaType> {
        owner
            .get("content")
            .and_then(Value::as_object)
            .map(|content| {
                content
                    .iter()
                    .map(|(name, media)| MediaType {
                        name: name.clone(),
                        schema_pointer: media
                            .get("schema")
                            .map(|_| format!("{owner_pointer}/content/{}/schema", escape(name))),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Swagger 2 `consumes`/`produces`, from the operation or else the document.
    fn media_type_list(&self, key: &str) -> Vec<String> {
        let listed = self
            .operation
            .get(key)
            .or_else(|| self.description.document.get(key))
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).map(str::to_owned).collect::<Vec<_>>())
            .unwrap_or_default();
        if listed.is_empty() {
            vec![JSON.to_owned()]
        } else {
            listed
        }
    }
}

/// `application/json; charset=utf-8` → `application/json`.
pub(crate) fn essence(media_type: &str) -> String {
    media_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Whether a declared media type (maybe `*/*` or `application/*`) covers a sent one.
pub(crate) fn covers(declared: &str, sent: &str) -> bool {
    let declared = essence(declared);
    let sent = essence(sent);
    if declared == sent || declared == "*/*" {
        return true;
    }
    match declared.strip_suffix("/*") {
        Some(kind) => sent.split('/').next() == Some(kind),
        None => false,
    }
}

/// Whether a media type carries JSON (`application/json`, `…+json`, `*/*`).
pub(crate) fn is_json(media_type: &str) -> bool {
    let essence = essence(media_type);
    essence == "*/*" || essence.ends_with("/json") || essence.ends_with("+json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_compare_by_essence_and_wildcards() {
        assert!(covers("application/json", "application/json; charset=UTF-8"));
        assert!(covers("*/*", "application/json-patch+json"));
        assert!(covers("application/*", "application/json"));
        assert!(!covers("application/json", "application/json-patch+json"));
        assert!(!covers("text/*", "application/json"));
    }

    #[test]
    fn json_media_types_are_recognised() {
        assert!(is_json("application/json-patch+json"));
        assert!(is_json("application/json;charset=UTF-8"));
        assert!(!is_json("multipart/form-data"));
    }
}
