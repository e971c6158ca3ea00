//! The JQL the simulator understands, as people commonly write it: clauses joined with `AND`, `OR`, `NOT`
//! and parentheses; `=`, `!=`, `IN`, `NOT IN` on project, issue type, key, status, priority, labels,
//! assignee, reporter and creator (an accountId, an e-mail address or `currentUser()`); `IS [NOT] EMPTY`;
//! `>`, `>=`, `<`, `<=` on created and updated, and on key (`key > OPS-12`: the project's later issues;
//! an issue id compares ids); text search with `~` and `!~` on summary, description,
//! comment and text; and `ORDER BY`.
//!
//! Date literals behave as in Jira Cloud: minute precision (`"2024-01-31 10:20"`), read in the caller's
//! time zone; relative dates (`-15m`, `-2h`, `-1d`, `-1w`) count from now. Text search matches words
//! regardless of case and of simple English endings (`fail` finds "fails" and "failed"), every word of
//! the query somewhere in the field, `log*` any word starting so, and `"\"exact words\""` a phrase.

use super::site::{IssueRecord, Site, Timestamp};
use chrono::{Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use serde_json::Value;
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
    Contains,
    NotContains,
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
            Operator::Contains | Operator::NotContains => false,
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

/// A field compared with a list of values (`=` and `IN` hold when one matches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueField {
    Project,
    IssueType,
    Key,
    Status,
    Priority,
    Labels,
    Person(PersonField),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PersonField {
    Assignee,
    Reporter,
    Creator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextField {
    Summary,
    Description,
    Comment,
    /// Summary, description and comments together.
    All,
}

#[derive(Debug, Clone, PartialEq)]
enum Clause {
    /// `field = v`, `field IN (v, …)`; `negated` for `!=` and `NOT IN`.
    Values {
        field: ValueField,
        values: Vec<String>,
        negated: bool,
    },
    Date(DateField, Operator, DateBound),
    Text {
        field: TextField,
        query: String,
        negated: bool,
    },
    /// `field IS EMPTY` (`negated`: `IS NOT EMPTY`).
    Empty {
        field: ValueField,
        negated: bool,
    },
    DescriptionEmpty {
        negated: bool,
    },
    /// `key > OPS-12`, `id <= 10042`.
    KeyRange(Operator, KeyBound),
}

/// What a key comparison compares with.
#[derive(Debug, Clone, PartialEq)]
enum KeyBound {
    /// An issue id: ids compare as numbers.
    Id(u64),
    /// An issue key: issues of the same project compare by number; others never match.
    Key { project: String, number: u64 },
}

impl KeyBound {
    fn parse(value: &str) -> Option<KeyBound> {
        if let Ok(id) = value.parse() {
            return Some(KeyBound::Id(id));
        }
        let (project, number) = value.rsplit_once('-')?;
        Some(KeyBound::Key { project: project.to_ascii_uppercase(), number: number.parse().ok()? })
    }

    /// How the issue compares with the bound, when it can.
    fn compare(&self, issue: &IssueRecord) -> Option<Ordering> {
        match self {
            KeyBound::Id(id) => Some(issue.id.cmp(id)),
            KeyBound::Key { project, number } => {
                let (issue_project, issue_number) = issue.key.rsplit_once('-')?;
                let issue_number: u64 = issue_number.parse().ok()?;
                issue_project.eq_ignore_ascii_case(project).then(|| issue_number.cmp(number))
            }
        }
    }
}

/// A condition on issues.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    All(Vec<Expr>),
    Any(Vec<Expr>),
    Not(Box<Expr>),
    Clause(Clause),
}

/// What `currentUser()` stands for among a clause's values.
const CURRENT_USER: &str = "currentUser()";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrderField {
    Created,
    Updated,
    Key,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Jql {
    condition: Expr,
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
    Open,
    Close,
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
            ',' | '(' | ')' => {
                chars.next();
                tokens.push(match next {
                    ',' => Token::Comma,
                    '(' => Token::Open,
                    _ => Token::Close,
                });
            }
            '=' | '!' | '<' | '>' | '~' => {
                chars.next();
                let second = chars.peek().copied().filter(|c| *c == '=' || (next == '!' && *c == '~'));
                if second.is_some() {
                    chars.next();
                }
                let operator = match (next, second) {
                    ('=', None) => Operator::Equal,
                    ('!', Some('=')) => Operator::NotEqual,
                    ('!', Some('~')) => Operator::NotContains,
                    ('~', None) => Operator::Contains,
                    ('<', None) => Operator::Less,
                    ('<', Some('=')) => Operator::LessOrEqual,
                    ('>', None) => Operator::Greater,
                    ('>', Some('=')) => Operator::GreaterOrEqual,
                    _ => return Err(JqlError(format!("unexpected `{next}`"))),
                };
                tokens.push(Token::Operator(operator));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '=' | '!' | '<' | '>' | '~' | ',' | '"' | '\'' | '(' | ')') {
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

/// A recursive-descent reading of the tokens: `OR` binds looser than `AND`, `NOT` tighter.
struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        token
    }

    fn keyword(&mut self, keyword: &str) -> bool {
        let found = is_keyword(self.peek(), keyword);
        if found {
            self.position += 1;
        }
        found
    }

    fn at_end_of_condition(&self) -> bool {
        self.peek().is_none() || is_keyword(self.peek(), "order")
    }

    fn any(&mut self) -> Result<Expr, JqlError> {
        let mut alternatives = vec![self.all()?];
        while self.keyword("or") {
            alternatives.push(self.all()?);
        }
        Ok(if alternatives.len() == 1 { alternatives.remove(0) } else { Expr::Any(alternatives) })
    }

    fn all(&mut self) -> Result<Expr, JqlError> {
        let mut parts = vec![self.unary()?];
        while self.keyword("and") {
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Expr::All(parts) })
    }

    fn unary(&mut self) -> Result<Expr, JqlError> {
        if self.keyword("not") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.position += 1;
            let inner = self.any()?;
            if self.next() != Some(Token::Close) {
                return Err(JqlError("a parenthesis is not closed".into()));
            }
            return Ok(inner);
        }
        self.clause().map(Expr::Clause)
    }

    fn clause(&mut self) -> Result<Clause, JqlError> {
        let at = self.position + 1;
        let Some(Token::Word(field)) = self.next() else {
            return Err(JqlError(format!("expected a field at token {at}")));
        };
        if self.keyword("is") {
            let negated = self.keyword("not");
            if !(self.keyword("empty") || self.keyword("null")) {
                return Err(JqlError(format!("expected EMPTY after `{field} IS`")));
            }
            return empty_clause(&field, negated);
        }
        let negated_list = self.keyword("not");
        if self.keyword("in") {
            let values = self.list()?;
            return values_clause(&field, values, negated_list);
        }
        if negated_list {
            return Err(JqlError(format!("expected IN after `{field} NOT`")));
        }
        let Some(Token::Operator(operator)) = self.next() else {
            return Err(JqlError(format!("expected an operator after `{field}`")));
        };
        let value = self.value()?;
        if value.eq_ignore_ascii_case("empty") || value.eq_ignore_ascii_case("null") {
            return match operator {
                Operator::Equal | Operator::NotEqual => empty_clause(&field, operator == Operator::NotEqual),
                _ => Err(JqlError(format!("the operator is not supported with EMPTY for the field '{field}'"))),
            };
        }
        clause(&field, operator, value)
    }

    /// A value: a word, a quoted string, or a function call such as `currentUser()`.
    fn value(&mut self) -> Result<String, JqlError> {
        match self.next() {
            Some(Token::Quoted(value)) => Ok(value),
            Some(Token::Word(word)) => {
                if self.peek() == Some(&Token::Open) && self.tokens.get(self.position + 1) == Some(&Token::Close) {
                    self.position += 2;
                    return Ok(format!("{word}()"));
                }
                Ok(word)
            }
            other => Err(JqlError(format!("expected a value, found {other:?}"))),
        }
    }

    fn list(&mut self) -> Result<Vec<String>, JqlError> {
        if self.next() != Some(Token::Open) {
            return Err(JqlError("expected `(` after IN".into()));
        }
        let mut values = vec![self.value()?];
        loop {
            match self.next() {
                Some(Token::Comma) => values.push(self.value()?),
                Some(Token::Close) => return Ok(values),
                other => return Err(JqlError(format!("expected `,` or `)` in a list, found {other:?}"))),
            }
        }
    }

    fn order(&mut self) -> Result<Vec<(OrderField, bool)>, JqlError> {
        let mut order = Vec::new();
        if self.peek().is_none() {
            return Ok(order);
        }
        if !(self.keyword("order") && self.keyword("by")) {
            return Err(JqlError(format!("expected AND, OR or ORDER BY, found {:?}", self.peek())));
        }
        loop {
            let field = match self.next() {
                Some(Token::Word(word)) => match word.to_ascii_lowercase().as_str() {
                    "created" => OrderField::Created,
                    "updated" => OrderField::Updated,
                    "key" | "id" => OrderField::Key,
                    other => return Err(JqlError(format!("ordering by `{other}` is not supported"))),
                },
                other => return Err(JqlError(format!("expected a field to order by, found {other:?}"))),
            };
            let descending = self.keyword("desc");
            if !descending {
                self.keyword("asc");
            }
            order.push((field, descending));
            match self.next() {
                Some(Token::Comma) => {}
                None => return Ok(order),
                Some(other) => return Err(JqlError(format!("unexpected {other:?} after ORDER BY"))),
            }
        }
    }
}

impl Jql {
    pub fn parse(text: &str) -> Result<Jql, JqlError> {
        let mut parser = Parser { tokens: tokenize(text)?, position: 0 };
        let condition = if parser.at_end_of_condition() { Expr::All(Vec::new()) } else { parser.any()? };
        let order = parser.order()?;
        Ok(Jql { condition, order })
    }

    /// Rejects values the site does not know, as Jira does.
    pub fn check(&self, site: &Site) -> Result<(), JqlError> {
        self.condition.check(site)
    }

    pub fn matches(&self, site: &Site, issue: &IssueRecord, context: &JqlContext) -> bool {
        self.condition.matches(site, issue, context)
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

impl Expr {
    fn check(&self, site: &Site) -> Result<(), JqlError> {
        match self {
            Expr::All(parts) | Expr::Any(parts) => parts.iter().try_for_each(|part| part.check(site)),
            Expr::Not(inner) => inner.check(site),
            Expr::Clause(Clause::Values { field: ValueField::Project, values, .. }) => {
                match values.iter().find(|project| site.project(project).is_none()) {
                    Some(missing) => {
                        Err(JqlError(format!("The value '{missing}' does not exist for the field 'project'.")))
                    }
                    None => Ok(()),
                }
            }
            Expr::Clause(_) => Ok(()),
        }
    }

    fn matches(&self, site: &Site, issue: &IssueRecord, context: &JqlContext) -> bool {
        match self {
            Expr::All(parts) => parts.iter().all(|part| part.matches(site, issue, context)),
            Expr::Any(parts) => parts.iter().any(|part| part.matches(site, issue, context)),
            Expr::Not(inner) => !inner.matches(site, issue, context),
            Expr::Clause(clause) => clause.matches(site, issue, context),
        }
    }
}

impl Clause {
    fn matches(&self, site: &Site, issue: &IssueRecord, context: &JqlContext) -> bool {
        match self {
            Clause::Values { field, values, negated } => {
                let found = values.iter().any(|wanted| value_matches(*field, site, issue, context, wanted));
                found != *negated
            }
            Clause::Date(field, operator, bound) => {
                let value = match field {
                    DateField::Created => issue.created,
                    DateField::Updated => issue.updated,
                };
                operator.holds(value.cmp(&bound.instant(context)))
            }
            Clause::Text { field, query, negated } => text_matches(&text_of(*field, issue), query) != *negated,
            Clause::Empty { field, negated } => {
                let empty = match field {
                    ValueField::Labels => issue.labels.is_empty(),
                    ValueField::Person(PersonField::Assignee) => issue.assignee.is_none(),
                    ValueField::Person(PersonField::Reporter) => issue.reporter.is_none(),
                    _ => false,
                };
                empty != *negated
            }
            Clause::DescriptionEmpty { negated } => {
                text_of(TextField::Description, issue).trim().is_empty() != *negated
            }
            Clause::KeyRange(operator, bound) => bound.compare(issue).is_some_and(|ordering| operator.holds(ordering)),
        }
    }
}

/// Whether the issue's `field` holds `wanted` (names compare case-insensitively, as in Jira).
fn value_matches(field: ValueField, site: &Site, issue: &IssueRecord, context: &JqlContext, wanted: &str) -> bool {
    let same = |actual: &str| actual.eq_ignore_ascii_case(wanted);
    match field {
        ValueField::Project => site.project(wanted).is_some_and(|project| project.project.key == issue.project_key),
        ValueField::IssueType => same(issue.issue_type.name) || issue.issue_type.id == wanted,
        ValueField::Key => same(&issue.key) || issue.id.to_string() == wanted,
        ValueField::Status => same(issue.status.name) || issue.status.id == wanted,
        ValueField::Priority => same(issue.priority.name) || issue.priority.id == wanted,
        ValueField::Labels => issue.labels.iter().any(|label| same(label)),
        ValueField::Person(person) => {
            let account = match person {
                PersonField::Assignee => issue.assignee.as_deref(),
                PersonField::Reporter => issue.reporter.as_deref(),
                PersonField::Creator => Some(issue.creator.as_str()),
            };
            let Some(account) = account else { return false };
            if wanted.eq_ignore_ascii_case(CURRENT_USER) {
                return account == context.account_id;
            }
            account == wanted
                || site
                    .user(account)
                    .is_some_and(|user| user.email.eq_ignore_ascii_case(wanted) || same(&user.display_name))
        }
    }
}

/// The words a text clause searches: the summary, the description's text, the comments' text.
fn text_of(field: TextField, issue: &IssueRecord) -> String {
    let description = || issue.description.as_ref().map(plain_text).unwrap_or_default();
    let comments = || issue.comments.iter().map(|comment| plain_text(&comment.body)).collect::<Vec<_>>().join(" ");
    match field {
        TextField::Summary => issue.summary.clone(),
        TextField::Description => description(),
        TextField::Comment => comments(),
        TextField::All => format!("{} {} {}", issue.summary, description(), comments()),
    }
}

/// The text of an Atlassian document (its `text` nodes), or of a plain string.
fn plain_text(document: &Value) -> String {
    match document {
        Value::String(text) => text.clone(),
        Value::Array(nodes) => nodes.iter().map(plain_text).collect::<Vec<_>>().join(" "),
        Value::Object(node) => {
            let own = node.get("text").and_then(Value::as_str).unwrap_or_default().to_string();
            let inner = node.get("content").map(plain_text).unwrap_or_default();
            format!("{own} {inner}")
        }
        _ => String::new(),
    }
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '*'))
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// A word without the English endings Jira's search disregards (`invoices`, `invoiced`, `invoice`).
fn stem(word: &str) -> &str {
    let long_enough = |rest: &&str| rest.chars().count() >= 3;
    let word =
        ["ing", "ed", "s"].iter().find_map(|ending| word.strip_suffix(ending).filter(long_enough)).unwrap_or(word);
    word.strip_suffix('e').filter(long_enough).unwrap_or(word)
}

/// Jira's `~`: every word of the query is in the text (a phrase in inner quotes: in that order).
fn text_matches(text: &str, query: &str) -> bool {
    let text = words(text);
    let term_matches = |term: &str, word: &str| match term.strip_suffix('*') {
        Some(prefix) => word.starts_with(prefix),
        None => stem(term) == stem(word),
    };
    let terms = words(query);
    if terms.is_empty() {
        return false;
    }
    let phrase = query.trim().len() > 1 && query.trim().starts_with('"') && query.trim().ends_with('"');
    if phrase {
        return text
            .windows(terms.len())
            .any(|window| window.iter().zip(&terms).all(|(word, term)| term_matches(term, word)));
    }
    terms.iter().all(|term| text.iter().any(|word| term_matches(term, word)))
}

fn value_field(field: &str) -> Option<ValueField> {
    Some(match field.to_ascii_lowercase().as_str() {
        "project" => ValueField::Project,
        "issuetype" | "type" => ValueField::IssueType,
        "key" | "issuekey" | "id" => ValueField::Key,
        "status" => ValueField::Status,
        "priority" => ValueField::Priority,
        "labels" | "label" => ValueField::Labels,
        "assignee" => ValueField::Person(PersonField::Assignee),
        "reporter" => ValueField::Person(PersonField::Reporter),
        "creator" => ValueField::Person(PersonField::Creator),
        _ => return None,
    })
}

fn text_field(field: &str) -> Option<TextField> {
    Some(match field.to_ascii_lowercase().as_str() {
        "summary" => TextField::Summary,
        "description" => TextField::Description,
        "comment" => TextField::Comment,
        "text" => TextField::All,
        _ => return None,
    })
}

fn unknown_field(field: &str) -> JqlError {
    JqlError(format!("Field '{field}' does not exist or you do not have permission to view it."))
}

fn unsupported(operator: Operator, field: &str) -> JqlError {
    JqlError(format!("The operator '{operator:?}' is not supported by the '{field}' field."))
}

fn values_clause(field: &str, values: Vec<String>, negated: bool) -> Result<Clause, JqlError> {
    match value_field(field) {
        Some(field) => Ok(Clause::Values { field, values, negated }),
        None if text_field(field).is_some() || date_field(field).is_some() => {
            Err(JqlError(format!("The operator 'in' is not supported by the '{field}' field.")))
        }
        None => Err(unknown_field(field)),
    }
}

fn empty_clause(field: &str, negated: bool) -> Result<Clause, JqlError> {
    if field.eq_ignore_ascii_case("description") {
        return Ok(Clause::DescriptionEmpty { negated });
    }
    match value_field(field) {
        Some(field) => Ok(Clause::Empty { field, negated }),
        None if text_field(field).is_some() || date_field(field).is_some() => Ok(Clause::Values {
            // Summary, comment, created and updated are never empty.
            field: ValueField::Key,
            values: Vec::new(),
            negated,
        }),
        None => Err(unknown_field(field)),
    }
}

fn date_field(field: &str) -> Option<DateField> {
    match field.to_ascii_lowercase().as_str() {
        "created" | "createddate" => Some(DateField::Created),
        "updated" | "updateddate" => Some(DateField::Updated),
        _ => None,
    }
}

fn clause(field: &str, operator: Operator, value: String) -> Result<Clause, JqlError> {
    if let Some(date) = date_field(field) {
        return match operator {
            Operator::Contains | Operator::NotContains => Err(unsupported(operator, field)),
            _ => Ok(Clause::Date(date, operator, date_bound(&value)?)),
        };
    }
    if let Some(text) = text_field(field) {
        return match operator {
            Operator::Contains | Operator::NotContains => {
                Ok(Clause::Text { field: text, query: value, negated: operator == Operator::NotContains })
            }
            _ => Err(unsupported(operator, field)),
        };
    }
    let field_kind = value_field(field).ok_or_else(|| unknown_field(field))?;
    match operator {
        Operator::Equal | Operator::NotEqual => {
            Ok(Clause::Values { field: field_kind, values: vec![value], negated: operator == Operator::NotEqual })
        }
        Operator::Greater | Operator::GreaterOrEqual | Operator::Less | Operator::LessOrEqual
            if field_kind == ValueField::Key =>
        {
            let bound = KeyBound::parse(&value)
                .ok_or_else(|| JqlError(format!("The issue key '{value}' for field '{field}' is invalid.")))?;
            Ok(Clause::KeyRange(operator, bound))
        }
        _ => Err(unsupported(operator, field)),
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

    /// The query's clauses, in order, when it is only clauses joined by AND.
    fn clauses(jql: &str) -> Vec<Clause> {
        match Jql::parse(jql).unwrap().condition {
            Expr::Clause(clause) => vec![clause],
            Expr::All(parts) => parts
                .into_iter()
                .map(|part| match part {
                    Expr::Clause(clause) => clause,
                    other => panic!("not a clause: {other:?}"),
                })
                .collect(),
            other => panic!("not a conjunction: {other:?}"),
        }
    }

    fn bound(jql: &str) -> DateBound {
        match &clauses(jql)[0] {
            Clause::Date(_, _, bound) => bound.clone(),
            other => panic!("not a date clause: {other:?}"),
        }
    }

    #[test]
    fn parses_the_connectors_query() {
        let text = r#"project = "OPS" AND issuetype = Bug AND updated >= -16m ORDER BY updated ASC"#;
        assert_eq!(Jql::parse(text).unwrap().order, [(OrderField::Updated, false)]);
        let clauses = clauses(text);
        assert_eq!(clauses.len(), 3);
        let bug = Clause::Values { field: ValueField::IssueType, values: vec!["Bug".into()], negated: false };
        assert_eq!(clauses[1], bug);
    }

    #[test]
    fn parses_the_copy_search() {
        let copy_search = clauses(
            r#"project = "OPS" AND issuetype = "Bug" AND creator = currentUser() AND created >= -3m ORDER BY created ASC"#,
        );
        let creator = |value: &str, negated| Clause::Values {
            field: ValueField::Person(PersonField::Creator),
            values: vec![value.into()],
            negated,
        };
        assert_eq!(copy_search[2], creator(CURRENT_USER, false));
        assert_eq!(
            copy_search[3],
            Clause::Date(DateField::Created, Operator::GreaterOrEqual, DateBound::Relative(Duration::minutes(-3)))
        );
        assert_eq!(clauses("creator != 'abc'")[0], creator("abc", true));
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
            "project = OPS OR",
            "(project = OPS",
            "project = OPS ORDER BY priority",
            "summary = x",
            "status in Done",
            "created ~ x",
            "rank = 1",
        ] {
            assert!(Jql::parse(jql).is_err(), "{jql}");
        }
        assert_eq!(Jql::parse("").unwrap().condition, Expr::All(Vec::new()));
    }

    /// A site with three issues, filed as people file them, and the keys of the query's matches.
    fn found(jql: &str) -> Vec<String> {
        use crate::jira::{SimProject, SimUser};
        let (alice, bob) = (SimUser::alice(), SimUser::bob());
        let mut site = Site::new(
            "http://jira.test".into(),
            vec![SimProject::new("10000", "OPS", "Operations"), SimProject::new("10001", "WEB", "Web")],
            vec![SimUser::service_account(), alice.clone(), bob.clone()],
            |_| Ok(()),
        );
        let issues = [
            ("OPS", "Login fails on Safari", "High", Some(&alice), vec!["browser"], "The login button failed twice."),
            ("OPS", "Export drops the last row", "Low", None, vec![], ""),
            ("WEB", "Typo on the invoice page", "Medium", Some(&bob), vec!["copy", "browser"], "Says 'Invioce'."),
        ];
        for (project, summary, priority, assignee, labels, description) in issues {
            let mut fields = serde_json::json!({
                "project": { "key": project }, "issuetype": { "name": "Bug" }, "summary": summary,
                "priority": { "name": priority }, "labels": labels,
            });
            if let Some(assignee) = assignee {
                fields["assignee"] = serde_json::json!({ "accountId": assignee.account_id });
            }
            if !description.is_empty() {
                fields["description"] = serde_json::json!({ "type": "doc", "version": 1, "content": [
                    { "type": "paragraph", "content": [{ "type": "text", "text": description }] }
                ]});
            }
            site.create_issue(&alice.account_id, &serde_json::json!({ "fields": fields })).unwrap();
        }
        let query = Jql::parse(jql).unwrap();
        query.check(&site).unwrap();
        let caller = JqlContext { account_id: &alice.account_id, ..context(0) };
        let mut keys: Vec<String> = site
            .search_view()
            .filter(|issue| query.matches(&site, issue, &caller))
            .map(|issue| issue.key.clone())
            .collect();
        keys.sort();
        keys
    }

    #[test]
    fn queries_people_write_find_what_jira_would() {
        assert_eq!(found(r#"project = OPS AND summary ~ "login""#), ["OPS-1"]);
        assert_eq!(found(r#"summary ~ "fail safari""#), ["OPS-1"], "every word, any order, any ending");
        assert_eq!(found(r#"summary ~ "\"drops the last\"""#), ["OPS-2"], "a phrase");
        assert!(found(r#"summary ~ "\"last drops\"""#).is_empty());
        assert_eq!(found("summary ~ 'exp*'"), ["OPS-2"]);
        assert_eq!(found("summary ~ invoices"), ["WEB-1"]);
        assert_eq!(found(r#"text ~ "button""#), ["OPS-1"], "the description is text");
        assert_eq!(found("summary !~ login AND project = OPS"), ["OPS-2"]);
        assert_eq!(found("priority in (High, Medium)"), ["OPS-1", "WEB-1"]);
        assert_eq!(found("priority not in (High, Medium)"), ["OPS-2"]);
        assert_eq!(found("assignee = currentUser()"), ["OPS-1"]);
        assert_eq!(found("assignee = 'bob@example.com'"), ["WEB-1"]);
        assert_eq!(found("assignee is EMPTY"), ["OPS-2"]);
        assert_eq!(found("assignee IS NOT EMPTY AND labels = browser"), ["OPS-1", "WEB-1"]);
        assert_eq!(found("labels is empty or project = WEB"), ["OPS-2", "WEB-1"]);
        assert_eq!(found("project = OPS AND (priority = Low OR labels = browser)"), ["OPS-1", "OPS-2"]);
        assert_eq!(found("NOT project = OPS"), ["WEB-1"]);
        assert_eq!(found("description is empty"), ["OPS-2"]);
        assert_eq!(found("key in (OPS-2, WEB-1) ORDER BY key DESC"), ["OPS-2", "WEB-1"]);
        assert_eq!(found("key > OPS-1"), ["OPS-2"], "later issues of the same project only");
        assert_eq!(found(r#"issuekey <= "ops-2" AND project = OPS"#), ["OPS-1", "OPS-2"]);
        assert_eq!(found("id >= 10001"), ["OPS-2", "WEB-1"], "ids compare as numbers");
        assert!(Jql::parse("key > OPS").is_err() && Jql::parse("summary > x").is_err());
    }
}
