//! Matching a sent URL path to one of the description's path templates.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use regex::{Regex, RegexBuilder};

use crate::path_key::PathKey;

/// Whether path literals (and parameter names) must match in case.
///
/// Jira's and GitHub's routes are case-sensitive; Azure DevOps' are not (its own examples send
/// `WorkItems` where the description says `workitems`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathMatching {
    CaseSensitive,
    CaseInsensitive,
}

impl PathMatching {
    pub(crate) fn same(self, left: &str, right: &str) -> bool {
        match self {
            Self::CaseSensitive => left == right,
            Self::CaseInsensitive => left.eq_ignore_ascii_case(right),
        }
    }
}

/// A path template such as `/{organization}/{project}/_apis/wit/workitems/${type}`.
#[derive(Debug)]
pub(crate) struct Route {
    /// The key in the description that operations are looked up by.
    pub(crate) key: PathKey,
    /// Index of the description the template comes from (contracts may merge several).
    pub(crate) description: usize,
    segments: Vec<Segment>,
}

#[derive(Debug)]
enum Segment {
    Literal(String),
    /// A segment holding one or more `{param}`s, maybe with literal text around them.
    Template {
        pattern: Regex,
        names: Vec<String>,
        /// The segment is nothing but one `{param}`.
        bare: bool,
    },
}

impl Segment {
    /// How specific the segment is: a literal beats `$`-prefixed template beats a bare parameter.
    fn rank(&self) -> u8 {
        match self {
            Self::Literal(_) => 2,
            Self::Template { bare: false, .. } => 1,
            Self::Template { bare: true, .. } => 0,
        }
    }
}

/// A matched route with the decoded values of its path parameters.
#[derive(Debug)]
pub(crate) struct RouteMatch<'r> {
    pub(crate) route: &'r Route,
    pub(crate) parameters: Vec<(String, String)>,
}

/// All path templates of a contract.
#[derive(Debug)]
pub(crate) struct Router {
    routes: Vec<Route>,
    matching: PathMatching,
}

impl Router {
    pub(crate) fn new(matching: PathMatching) -> Self {
        Self { routes: Vec::new(), matching }
    }

    /// Adds a key's template; a template whose braces do not pair is reported back.
    pub(crate) fn add(&mut self, key: &PathKey, description: usize) -> Result<(), String> {
        self.add_shape(&key.path, key, description)
    }

    /// Adds `shape` as another way to reach `key` (a form with optional segments left out).
    pub(crate) fn add_shape(&mut self, shape: &str, key: &PathKey, description: usize) -> Result<(), String> {
        let segments =
            split(shape).map(|segment| parse_segment(segment, self.matching)).collect::<Result<Vec<_>, _>>()?;
        self.routes.push(Route { key: key.clone(), description, segments });
        Ok(())
    }

    pub(crate) fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The most specific templates that match `path` (comparing segments left to right), in the
    /// order they were added: several when keys differ only in their query discriminator.
    pub(crate) fn candidates(&self, path: &str) -> Vec<RouteMatch<'_>> {
        let sent: Vec<Cow<'_, str>> =
            split(path).map(|segment| percent_decode_str(segment).decode_utf8_lossy()).collect();
        let matches: Vec<RouteMatch<'_>> = self
            .routes
            .iter()
            .filter_map(|route| self.bind(route, &sent).map(|parameters| RouteMatch { route, parameters }))
            .collect();
        let Some(best) = matches.iter().map(|found| rank(found.route)).max() else {
            return Vec::new();
        };
        matches.into_iter().filter(|found| rank(found.route) == best).collect()
    }

    fn bind(&self, route: &Route, sent: &[Cow<'_, str>]) -> Option<Vec<(String, String)>> {
        if route.segments.len() != sent.len() {
            return None;
        }
        let mut parameters = Vec::new();
        for (segment, value) in route.segments.iter().zip(sent) {
            match segment {
                Segment::Literal(literal) => {
                    if !self.matching.same(literal, value) {
                        return None;
                    }
                }
                Segment::Template { pattern, names, .. } => {
                    let captures = pattern.captures(value)?;
                    for (index, name) in names.iter().enumerate() {
                        let captured = captures.get(index + 1)?.as_str();
                        parameters.push((name.clone(), captured.to_owned()));
                    }
                }
            }
        }
        Some(parameters)
    }
}

fn rank(route: &Route) -> Vec<u8> {
    route.segments.iter().map(Segment::rank).collect()
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.strip_prefix('/').unwrap_or(path).split('/')
}

fn parse_segment(segment: &str, matching: PathMatching) -> Result<Segment, String> {
    if !segment.contains('{') {
        return Ok(Segment::Literal(segment.to_owned()));
    }
    let mut pattern = String::from("^");
    let mut names = Vec::new();
    let mut rest = segment;
    while let Some(open) = rest.find('{') {
        pattern.push_str(&regex::escape(&rest[..open]));
        let close = rest[open..]
            .find('}')
            .map(|offset| open + offset)
            .ok_or_else(|| format!("unclosed `{{` in path segment {segment:?}"))?;
        names.push(rest[open + 1..close].to_owned());
        pattern.push_str("(.+)");
        rest = &rest[close + 1..];
    }
    pattern.push_str(&regex::escape(rest));
    pattern.push('$');
    let pattern = RegexBuilder::new(&pattern)
        .case_insensitive(matching == PathMatching::CaseInsensitive)
        .build()
        .map_err(|error| format!("path segment {segment:?} gives no pattern: {error}"))?;
    let bare = names.len() == 1 && segment.len() == names[0].len() + 2;
    Ok(Segment::Template { pattern, names, bare })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path_key::Section;

    fn router(matching: PathMatching, templates: &[&str]) -> Router {
        let mut router = Router::new(matching);
        for template in templates {
            let section = if template.contains('?') { Section::XMsPaths } else { Section::Paths };
            router.add(&PathKey::parse(section, template), 0).expect("valid template");
        }
        router
    }

    /// The single best template for `path`, if exactly one is best.
    fn find<'r>(router: &'r Router, path: &str) -> Option<RouteMatch<'r>> {
        let mut candidates = router.candidates(path);
        assert!(candidates.len() <= 1, "{candidates:?}");
        candidates.pop()
    }

    #[test]
    fn a_literal_segment_beats_a_parameter() {
        let router =
            router(PathMatching::CaseSensitive, &["/rest/api/3/issue/{issueIdOrKey}", "/rest/api/3/issue/bulk"]);
        let found = find(&router, "/rest/api/3/issue/bulk").expect("matches");
        assert_eq!(found.route.key.key, "/rest/api/3/issue/bulk");
        let found = find(&router, "/rest/api/3/issue/PROJ-1").expect("matches");
        assert_eq!(found.route.key.key, "/rest/api/3/issue/{issueIdOrKey}");
        assert_eq!(found.parameters, vec![("issueIdOrKey".into(), "PROJ-1".into())]);
    }

    #[test]
    fn a_dollar_prefixed_segment_binds_the_rest_and_decodes() {
        let router = router(
            PathMatching::CaseInsensitive,
            &[
                "/{organization}/{project}/_apis/wit/workitems/${type}",
                "/{organization}/{project}/_apis/wit/workitems/{id}",
            ],
        );
        let found = find(&router, "/fabrikam/Fabrikam%20Fiber/_apis/wit/WorkItems/%24User%20Story").expect("matches");
        assert_eq!(found.route.key.key, "/{organization}/{project}/_apis/wit/workitems/${type}");
        assert_eq!(found.parameters[1], ("project".into(), "Fabrikam Fiber".into()));
        assert_eq!(found.parameters[2], ("type".into(), "User Story".into()));
    }

    #[test]
    fn case_matters_only_when_asked() {
        let templates = ["/rest/api/3/myself"];
        let sensitive = router(PathMatching::CaseSensitive, &templates);
        assert!(find(&sensitive, "/rest/api/3/Myself").is_none());
        let insensitive = router(PathMatching::CaseInsensitive, &templates);
        assert!(find(&insensitive, "/rest/api/3/Myself").is_some());
    }

    #[test]
    fn keys_differing_only_in_their_query_are_all_candidates_in_order() {
        let router = router(
            PathMatching::CaseInsensitive,
            &[
                "/{organization}/_apis/wit/workItems/{id}/comments",
                "/{organization}/_apis/wit/workItems/{id}/comments?",
                "/{organization}/_apis/wit/workItems/{id}/{area}",
            ],
        );
        let keys: Vec<&str> = router
            .candidates("/fabrikam/_apis/wit/workitems/42/comments")
            .iter()
            .map(|found| found.route.key.key.as_str())
            .collect();
        assert_eq!(
            keys,
            ["/{organization}/_apis/wit/workItems/{id}/comments", "/{organization}/_apis/wit/workItems/{id}/comments?",]
        );
    }

    #[test]
    fn extra_or_missing_segments_do_not_match() {
        let router = router(PathMatching::CaseSensitive, &["/a/{b}"]);
        assert!(find(&router, "/a").is_none());
        assert!(find(&router, "/a/b/c").is_none());
        assert!(find(&router, "/a/").is_none());
    }

    #[test]
    fn an_unclosed_brace_is_refused() {
        let mut router = Router::new(PathMatching::CaseSensitive);
        assert!(router.add(&PathKey::parse(Section::Paths, "/a/{b"), 0).is_err());
    }
}
