//! Where a path template is declared: under `paths`, or under Microsoft's `x-ms-paths`, whose
//! keys add a query string (`/…/comments?format={format}`) to tell apart operations that share
//! a path and method.

use crate::description::escape;
use crate::route::PathMatching;

/// The member of the description that holds path items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Paths,
    /// AutoRest's extension for operations whose path is already taken in `paths`.
    XMsPaths,
}

impl Section {
    pub(crate) const ALL: [Section; 2] = [Section::Paths, Section::XMsPaths];

    pub(crate) fn member(self) -> &'static str {
        match self {
            Self::Paths => "paths",
            Self::XMsPaths => "x-ms-paths",
        }
    }
}

/// One key of `paths` or `x-ms-paths`.
#[derive(Debug, Clone)]
pub(crate) struct PathKey {
    pub(crate) section: Section,
    /// The key as written, query suffix included: it names the operation in reports.
    pub(crate) key: String,
    /// The path template alone, which URL paths are matched against.
    pub(crate) path: String,
    /// What the query must hold for this key's operations to be the ones meant.
    pub(crate) discriminator: Vec<QueryCondition>,
}

/// `name={placeholder}` asks only that `name` be sent; `name=value` asks for that value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryCondition {
    pub(crate) name: String,
    pub(crate) value: Option<String>,
}

/// How a sent query falls short of a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unmet {
    Absent,
    OtherValue { expected: String },
}

impl PathKey {
    pub(crate) fn parse(section: Section, key: &str) -> Self {
        let (path, query) = key.split_once('?').unwrap_or((key, ""));
        let discriminator = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let placeholder = value.is_empty() || value.starts_with('{');
                QueryCondition { name: name.to_owned(), value: (!placeholder).then(|| value.to_owned()) }
            })
            .collect();
        Self { section, key: key.to_owned(), path: path.to_owned(), discriminator }
    }

    /// JSON pointer of the path item (`/x-ms-paths/~1a~1b?c`).
    pub(crate) fn item_pointer(&self) -> String {
        format!("/{}/{}", self.section.member(), escape(&self.key))
    }
}

impl QueryCondition {
    /// Why the sent query does not meet the condition, or `None` when it does.
    pub(crate) fn unmet(&self, query: &[(String, String)], matching: PathMatching) -> Option<Unmet> {
        let mut values = query.iter().filter(|(name, _)| matching.same(name, &self.name)).map(|(_, value)| value);
        let first = values.next();
        match (&self.value, first) {
            (_, None) => Some(Unmet::Absent),
            (None, Some(_)) => None,
            (Some(expected), Some(first)) => {
                let matches = std::iter::once(first).chain(values).any(|value| matching.same(value, expected));
                (!matches).then(|| Unmet::OtherValue { expected: expected.clone() })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn a_plain_key_has_no_discriminator() {
        let key = PathKey::parse(Section::Paths, "/{organization}/_apis/wit/wiql");
        assert_eq!(key.path, "/{organization}/_apis/wit/wiql");
        assert!(key.discriminator.is_empty());
        assert_eq!(key.item_pointer(), "/paths/~1{organization}~1_apis~1wit~1wiql");
    }

    #[test]
    fn an_empty_query_suffix_keeps_the_key_but_not_the_question_mark() {
        let key = PathKey::parse(Section::XMsPaths, "/a/{id}/comments?");
        assert_eq!(key.path, "/a/{id}/comments");
        assert_eq!(key.key, "/a/{id}/comments?");
        assert!(key.discriminator.is_empty());
        assert_eq!(key.item_pointer(), "/x-ms-paths/~1a~1{id}~1comments?");
    }

    #[test]
    fn placeholders_ask_for_presence_and_literals_for_a_value() {
        let key = PathKey::parse(Section::XMsPaths, "/a?format={format}&comp=list");
        assert_eq!(
            key.discriminator,
            vec![
                QueryCondition { name: "format".into(), value: None },
                QueryCondition { name: "comp".into(), value: Some("list".into()) },
            ]
        );
        let [format, comp] = &key.discriminator[..] else {
            panic!("two conditions");
        };
        let matching = PathMatching::CaseInsensitive;
        assert_eq!(format.unmet(&query(&[("Format", "html")]), matching), None);
        assert_eq!(format.unmet(&query(&[]), matching), Some(Unmet::Absent));
        assert_eq!(comp.unmet(&query(&[("comp", "LIST")]), matching), None);
        assert_eq!(
            comp.unmet(&query(&[("comp", "tree")]), matching),
            Some(Unmet::OtherValue { expected: "list".into() })
        );
    }
}
