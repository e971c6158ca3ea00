//! The JQL subset the simulator understands: `AND`-joined comparisons on project, issue type, key, status,
//! creator (an accountId or `currentUser()`), created and updated, and `ORDER BY`.
//!
//! Date literals behave as in Jira Cloud: minute precision (`"2024-01-31 10:20"`), read in the caller's
//! time zone; relative dates (`-15m`, `-2h`, `-1d`, `-1w`) count from now.

use super::site::{IssueRecord, Site, Timestamp};
use chrono::{Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("Error in the JQL Query: {0}")]
pub struct JqlError(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Equal,
    NotEqual,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

impl Operator {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Operator::Equal => ordering == Ordering::Equal,
            Operator::NotEqual => ordering != Ordering::Equal,
            Operator::Greater => ordering == Ordering::Greater,
            Operator::GreaterOrEqual => ordering != Ordering::Less,
            Operator::Less => ordering == Ordering::Less,
            Operator::LessOrEqual => ordering != Ordering::Greater,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateField {
    Created,
    Updated,
}

#[derive(Debug, Clone, PartialEq)]
enum DateBound {
    /// A local date-time (minute precision), read in the caller's time zone.
    Local(NaiveDateTime),
    /// An offset from now.
    Relative(Duration),
}

#[derive(Debug, Clone, PartialEq)]
enum Clause {
    Project(Operator, String),
    IssueType(Operator, String),
    Key(Operator, String),
    Status(Operator, String),
    Creator(Operator, Account),
    Date(DateField, Operator, DateBound),
}

/// A user named in a query.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Account {
    /// `currentUser()`: whoever runs the query.
    Caller,
    Id(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrderField {
    Created,
    Updated,
    Key,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Jql {
    clauses: Vec<Clause>,
    order: Vec<(OrderField, bool)>,
}

/// Where and when a query runs: "now" and the caller's UTC offset, for date literals; the caller's
/// accountId, for `currentUser()`.
#[derive(Debug, Clone, Copy)]
pub struct JqlContext<'a> {
    pub now: Timestamp,
    pub offset: FixedOffset,
    pub account_id: &'a str,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Operator(Operator),
    Comma,
}

fn tokenize(text: &str) -> Result<Vec<Token>, JqlError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&next) = chars.peek() {
        match next {
            c if c.is_whitespace() => {
                chars.next();
            }
            '"' | '\'' => {
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some(c) if c == next => break,
                        Some('\\') => value.extend(chars.next()),
                        Some(c) => value.push(c),
                        None => return Err(JqlError(format!("the quoted value `{value}` is not closed"))),
                    }
                }
                tokens.push(Token::Quoted(value));
            }
            ',' => {
                chars.next();
                tokens.push(Token::Comma);
            }
            '=' | '!' | '<' | '>' => {
                chars.next();
                let with_equals = chars.peek() == Some(&'=');
                if with_equals {
                    chars.next();
                }
                let operator = match (next, with_equals) {
                    ('=', false) => Operator::Equal,
                    ('!', true) => Operator::NotEqual,
                    ('<', false) => Operator::Less,
                    ('<', true) => Operator::LessOrEqual,
                    ('>', false) => Operator::Greater,
                    ('>', true) => Operator::GreaterOrEqual,
                    _ => return Err(JqlError(format!("unexpected `{next}`"))),
                };
                tokens.push(Token::Operator(operator));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '=' | '!' | '<' | '>' | ',' | '"' | '\'') {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

fn is_keyword(token: Option<&Token>, keyword: &str) -> bool {
    matches!(token, Some(Token::Word(word)) if word.eq_ignore_ascii_case(keyword))
}

impl Jql {
    pub fn parse(text: &str) -> Result<Jql, JqlError> {
        let tokens = tokenize(text)?;
        let mut position = 0;
        let mut clauses = Vec::new();
        while position < tokens.len() && !is_keyword(tokens.get(position), "order") {
            if !clauses.is_empty() {
                if !is_keyword(tokens.get(position), "and") {
                    return Err(JqlError(format!("expected AND or ORDER BY, found {:?}", tokens[position])));
                }
                position += 1;
            }
            let (
                Some(Token::Word(field)),
                Some(Token::Operator(operator)),
                Some(Token::Word(value) | Token::Quoted(value)),
            ) = (tokens.get(position), tokens.get(position + 1), tokens.get(position + 2))
            else {
                return Err(JqlError(format!("expected `field operator value` at token {}", position + 1)));
            };
            clauses.push(clause(field, *operator, value)?);
            position += 3;
        }
        let mut order = Vec::new();
        if position < tokens.len() {
            if !is_keyword(tokens.get(position + 1), "by") {
                return Err(JqlError("expected BY after ORDER".into()));
            }
            position += 2;
            loop {
                let field = match tokens.get(position) {
                    Some(Token::Word(word)) => match word.to_ascii_lowercase().as_str() {
                        "created" => OrderField::Created,
                        "updated" => OrderField::Updated,
                        "key" | "id" => OrderField::Key,
                        other => return Err(JqlError(format!("ordering by `{other}` is not supported"))),
                    },
                    other => return Err(JqlError(format!("expected a field to order by, found {other:?}"))),
                };
                position += 1;
                let descending = if is_keyword(tokens.get(position), "desc") {
                    position += 1;
                    true
                } else {
                    if is_keyword(tokens.get(position), "asc") {
                        position += 1;
                    }
                    false
                };
                order.push((field, descending));
                match tokens.get(position) {
                    Some(Token::Comma) => position += 1,
                    None => break,
                    Some(other) => return Err(JqlError(format!("unexpected {other:?} after ORDER BY"))),
                }
            }
        }
        Ok(Jql { clauses, order })
    }

    /// Rejects values the site does not know, as Jira does.
    pub fn check(&self, site: &Site) -> Result<(), JqlError> {
        for clause in &self.clauses {
            if let Clause::Project(_, project) = clause {
                if site.project(project).is_none() {
                    return Err(JqlError(format!("The value '{project}' does not exist for the field 'project'.")));
                }
            }
        }
        Ok(())
    }

    pub fn matches(&self, site: &Site, issue: &IssueRecord, context: &JqlContext) -> bool {
        self.clauses.iter().all(|clause| match clause {
            Clause::Project(operator, wanted) => {
                let same = site.project(wanted).is_some_and(|project| project.project.key == issue.project_key);
                operator.holds(if same { Ordering::Equal } else { Ordering::Less })
            }
            Clause::IssueType(operator, wanted) => text_holds(*operator, issue.issue_type.name, wanted),
            Clause::Status(operator, wanted) => text_holds(*operator, issue.status.name, wanted),
            Clause::Creator(operator, wanted) => {
                let account = match wanted {
                    Account::Caller => context.account_id,
                    Account::Id(id) => id,
                };
                operator.holds(if issue.creator == account { Ordering::Equal } else { Ordering::Less })
            }
            Clause::Key(operator, wanted) => {
                let same = issue.key.eq_ignore_ascii_case(wanted) || issue.id.to_string() == *wanted;
                operator.holds(if same { Ordering::Equal } else { Ordering::Less })
            }
            Clause::Date(field, operator, bound) => {
                let value = match field {
                    DateField::Created => issue.created,
                    DateField::Updated => issue.updated,
                };
                operator.holds(value.cmp(&bound.instant(context)))
            }
        })
    }

    /// Orders issues as the query asks; by creation, newest first, when it does not say.
    pub fn compare(&self, left: &IssueRecord, right: &IssueRecord) -> Ordering {
        let order: &[(OrderField, bool)] =
            if self.order.is_empty() { &[(OrderField::Created, true)] } else { &self.order };
        order
            .iter()
            .map(|(field, descending)| {
                let ordering = match field {
                    OrderField::Created => left.created.cmp(&right.created),
                    OrderField::Updated => left.updated.cmp(&right.updated),
                    OrderField::Key => left.id.cmp(&right.id),
                };
                if *descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            })
            .find(|ordering| ordering.is_ne())
            .unwrap_or_else(|| left.id.cmp(&right.id))
    }
}

fn text_holds(operator: Operator, actual: &str, wanted: &str) -> bool {
    let same = actual.eq_ignore_ascii_case(wanted);
    match operator {
        Operator::Equal => same,
        Operator::NotEqual => !same,
        _ => false,
    }
}

fn clause(field: &str, operator: Operator, value: &str) -> Result<Clause, JqlError> {
    let equality = |clause: fn(Operator, String) -> Clause| match operator {
        Operator::Equal | Operator::NotEqual => Ok(clause(operator, value.to_string())),
        _ => Err(JqlError(format!("the operator is not supported for the field '{field}'"))),
    };
    match field.to_ascii_lowercase().as_str() {
        "project" => equality(Clause::Project),
        "issuetype" | "type" => equality(Clause::IssueType),
        "key" | "issuekey" | "id" => equality(Clause::Key),
        "status" => equality(Clause::Status),
        "creator" => {
            let account =
                if value.eq_ignore_ascii_case("currentUser()") { Account::Caller } else { Account::Id(value.into()) };
            match operator {
                Operator::Equal | Operator::NotEqual => Ok(Clause::Creator(operator, account)),
                _ => Err(JqlError(format!("the operator is not supported for the field '{field}'"))),
            }
        }
        "created" | "createddate" => Ok(Clause::Date(DateField::Created, operator, date_bound(value)?)),
        "updated" | "updateddate" => Ok(Clause::Date(DateField::Updated, operator, date_bound(value)?)),
        other => Err(JqlError(format!("Field '{other}' does not exist or you do not have permission to view it."))),
    }
}

fn date_bound(value: &str) -> Result<DateBound, JqlError> {
    if let Some(offset) = relative(value) {
        return Ok(DateBound::Relative(offset));
    }
    for format in ["%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(value, format) {
            return Ok(DateBound::Local(at));
        }
    }
    for format in ["%Y-%m-%d", "%Y/%m/%d"] {
        if let Ok(day) = NaiveDate::parse_from_str(value, format) {
            return Ok(DateBound::Local(day.and_time(chrono::NaiveTime::MIN)));
        }
    }
    Err(JqlError(format!(
        "Date value '{value}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
    )))
}

/// `-15m`, `2h`, `-1d`, `-1w`.
fn relative(value: &str) -> Option<Duration> {
    let (sign, rest) = match value.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, value.strip_prefix('+').unwrap_or(value)),
    };
    let unit = rest.chars().last()?;
    let amount: i64 = rest[..rest.len() - unit.len_utf8()].parse().ok()?;
    let minutes = match unit {
        'm' => amount,
        'h' => amount.checked_mul(60)?,
        'd' => amount.checked_mul(60 * 24)?,
        'w' => amount.checked_mul(60 * 24 * 7)?,
        _ => return None,
    };
    Duration::try_minutes(minutes.checked_mul(sign)?)
}

impl DateBound {
    fn instant(&self, context: &JqlContext) -> Timestamp {
        match self {
            DateBound::Relative(offset) => context.now + *offset,
            DateBound::Local(local) => context
                .offset
                .from_local_datetime(local)
                .single()
                .map_or_else(|| local.and_utc(), |at| at.with_timezone(&chrono::Utc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn context(offset_hours: i32) -> JqlContext<'static> {
        JqlContext {
            now: Utc.with_ymd_and_hms(2024, 1, 31, 10, 20, 30).unwrap(),
            offset: FixedOffset::east_opt(offset_hours * 3600).unwrap(),
            account_id: "caller",
        }
    }

    fn bound(jql: &str) -> DateBound {
        match &Jql::parse(jql).unwrap().clauses[0] {
            Clause::Date(_, _, bound) => bound.clone(),
            other => panic!("not a date clause: {other:?}"),
        }
    }

    #[test]
    fn parses_the_connectors_query() {
        let jql =
            Jql::parse(r#"project = "OPS" AND issuetype = Bug AND updated >= -16m ORDER BY updated ASC"#).unwrap();
        assert_eq!(jql.clauses.len(), 3);
        assert_eq!(jql.order, [(OrderField::Updated, false)]);
        assert_eq!(jql.clauses[1], Clause::IssueType(Operator::Equal, "Bug".into()));
    }

    #[test]
    fn parses_the_copy_search() {
        let jql = Jql::parse(
            r#"project = "OPS" AND issuetype = "Bug" AND creator = currentUser() AND created >= -3m ORDER BY created ASC"#,
        )
        .unwrap();
        assert_eq!(jql.clauses[2], Clause::Creator(Operator::Equal, Account::Caller));
        assert_eq!(
            jql.clauses[3],
            Clause::Date(DateField::Created, Operator::GreaterOrEqual, DateBound::Relative(Duration::minutes(-3)))
        );
        assert_eq!(
            Jql::parse("creator != 'abc'").unwrap().clauses[0],
            Clause::Creator(Operator::NotEqual, Account::Id("abc".into()))
        );
        assert!(Jql::parse("creator > currentUser()").is_err());
    }

    #[test]
    fn creator_matches_the_account_that_created_the_issue() {
        use crate::jira::{SimProject, SimUser};
        let (service, alice) = (SimUser::service_account(), SimUser::alice());
        let users = vec![service.clone(), alice.clone()];
        let mut site = Site::new(
            "http://jira.test".into(),
            vec![SimProject::new("10000", "OPS", "Operations")],
            users,
            |_| Ok(()),
        );
        let body =
            serde_json::json!({"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Bug"}, "summary": "x"}});
        let (id, _) = site.create_issue(&alice.account_id, &body).unwrap();
        let issue = site.issue(&id.to_string()).unwrap();
        let as_caller = |account_id| JqlContext { account_id, ..context(0) };
        let mine = Jql::parse("creator = currentUser()").unwrap();
        assert!(mine.matches(&site, issue, &as_caller(&alice.account_id)));
        assert!(!mine.matches(&site, issue, &as_caller(&service.account_id)));
        let named = Jql::parse(&format!("creator = \"{}\"", alice.account_id)).unwrap();
        assert!(named.matches(&site, issue, &as_caller(&service.account_id)));
    }

    #[test]
    fn date_literals_have_minute_precision_in_the_callers_zone() {
        let local = bound(r#"updated >= "2024-01-31 10:20""#);
        assert_eq!(local.instant(&context(0)), Utc.with_ymd_and_hms(2024, 1, 31, 10, 20, 0).unwrap());
        assert_eq!(local.instant(&context(2)), Utc.with_ymd_and_hms(2024, 1, 31, 8, 20, 0).unwrap());
        assert!(Jql::parse(r#"updated >= "2024-01-31 10:20:30""#).is_err());
    }

    #[test]
    fn relative_dates_count_from_now() {
        let earlier = bound("updated >= -15m").instant(&context(5));
        assert_eq!(earlier, Utc.with_ymd_and_hms(2024, 1, 31, 10, 5, 30).unwrap());
        assert_eq!(bound("updated > '-1w'").instant(&context(0)), context(0).now - Duration::weeks(1));
    }

    #[test]
    fn rejects_what_it_does_not_understand() {
        for jql in [
            "project",
            "project = OPS OR project = X",
            "assignee = me",
            "project = OPS ORDER BY priority",
            "summary ~ x",
        ] {
            assert!(Jql::parse(jql).is_err(), "{jql}");
        }
        assert_eq!(Jql::parse("").unwrap().clauses.len(), 0);
    }
}
