//! How well a request's query and path parameters fit one operation: the problems to report, and
//! the ranking that picks among operations sharing a path and method (Microsoft's `x-ms-paths`
//! beside `paths`).

use std::cmp::Reverse;
use std::fmt;

use crate::operation::Operation;
use crate::parameter::misfit;
use crate::path_key::{PathKey, Unmet};
use crate::request::RecordedRequest;
use crate::route::PathMatching;

/// One way the parameters of a request depart from an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParameterProblem {
    Undeclared {
        location: String,
        name: String,
    },
    Misfit {
        location: String,
        name: String,
        reason: String,
    },
    /// A required query parameter, or one the operation's `x-ms-paths` key names, was not sent.
    Missing {
        name: String,
    },
    /// The `x-ms-paths` key of the operation asks for a fixed value.
    OtherValue {
        name: String,
        expected: String,
    },
}

impl fmt::Display for ParameterProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Undeclared { location, name } => {
                write!(f, "{location}.{name}: not a declared parameter")
            }
            Self::Misfit { location, name, reason } => write!(f, "{location}.{name}: {reason}"),
            Self::Missing { name } => write!(f, "query.{name}: required parameter is missing"),
            Self::OtherValue { name, expected } => {
                write!(f, "query.{name}: must be {expected:?} for this operation")
            }
        }
    }
}

/// The parameter problems of a request against one operation.
#[derive(Debug)]
pub(crate) struct Fit {
    pub(crate) problems: Vec<ParameterProblem>,
}

/// Ordering of candidates: first that nothing required is missing, then that nothing sent is
/// undeclared, then the fewest problems of any kind.
pub(crate) type Rank = (bool, bool, Reverse<usize>);

impl Fit {
    pub(crate) fn of(
        operation: &Operation<'_>,
        key: &PathKey,
        request: &RecordedRequest,
        path_parameters: &[(String, String)],
        matching: PathMatching,
    ) -> Self {
        let declared = operation.parameters();
        let mut problems = Vec::new();
        let sent = request
            .query
            .iter()
            .map(|(name, value)| ("query", name, value))
            .chain(path_parameters.iter().map(|(name, value)| ("path", name, value)));
        for (location, name, value) in sent {
            let parameter =
                declared.iter().find(|parameter| parameter.location == location && matching.same(parameter.name, name));
            let Some(parameter) = parameter else {
                problems.push(ParameterProblem::Undeclared { location: location.to_owned(), name: name.clone() });
                continue;
            };
            let reason = parameter.schema.and_then(|schema| misfit(operation.description, schema, value, matching));
            if let Some(reason) = reason {
                problems.push(ParameterProblem::Misfit { location: location.to_owned(), name: name.clone(), reason });
            }
        }
        let mut missing: Vec<&str> = Vec::new();
        let required = declared
            .iter()
            .filter(|parameter| parameter.required && parameter.location == "query")
            .map(|parameter| parameter.name);
        for name in required {
            let present = request.query.iter().any(|(sent, _)| matching.same(name, sent));
            if !present {
                missing.push(name);
            }
        }
        for condition in &key.discriminator {
            let already_missing = missing.iter().any(|name| matching.same(name, &condition.name));
            match condition.unmet(&request.query, matching) {
                Some(Unmet::Absent) if !already_missing => missing.push(&condition.name),
                None | Some(Unmet::Absent) => {}
                Some(Unmet::OtherValue { expected }) => {
                    problems.push(ParameterProblem::OtherValue { name: condition.name.clone(), expected });
                }
            }
        }
        problems.extend(missing.into_iter().map(|name| ParameterProblem::Missing { name: name.to_owned() }));
        Self { problems }
    }

    pub(crate) fn rank(&self) -> Rank {
        let nothing_missing = !self
            .problems
            .iter()
            .any(|problem| matches!(problem, ParameterProblem::Missing { .. } | ParameterProblem::OtherValue { .. }));
        let nothing_undeclared =
            !self.problems.iter().any(|problem| matches!(problem, ParameterProblem::Undeclared { .. }));
        (nothing_missing, nothing_undeclared, Reverse(self.problems.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit(problems: Vec<ParameterProblem>) -> Fit {
        Fit { problems }
    }

    fn missing() -> ParameterProblem {
        ParameterProblem::Missing { name: "ids".into() }
    }

    fn undeclared() -> ParameterProblem {
        ParameterProblem::Undeclared { location: "query".into(), name: "continuationToken".into() }
    }

    fn misfit() -> ParameterProblem {
        ParameterProblem::Misfit {
            location: "query".into(),
            name: "$top".into(),
            reason: "\"x\" is not of type integer".into(),
        }
    }

    #[test]
    fn a_missing_parameter_weighs_more_than_undeclared_ones() {
        assert!(fit(vec![undeclared(), undeclared()]).rank() > fit(vec![missing()]).rank());
    }

    #[test]
    fn an_undeclared_parameter_weighs_more_than_misfits() {
        assert!(fit(vec![misfit(), misfit()]).rank() > fit(vec![undeclared()]).rank());
        assert!(fit(vec![misfit()]).rank() > fit(vec![misfit(), misfit()]).rank());
        assert!(fit(Vec::new()).rank() > fit(vec![misfit()]).rank());
    }

    #[test]
    fn problems_read_as_before() {
        assert_eq!(missing().to_string(), "query.ids: required parameter is missing");
        assert_eq!(undeclared().to_string(), "query.continuationToken: not a declared parameter");
        assert_eq!(
            ParameterProblem::OtherValue { name: "comp".into(), expected: "list".into() }.to_string(),
            "query.comp: must be \"list\" for this operation"
        );
    }
}
