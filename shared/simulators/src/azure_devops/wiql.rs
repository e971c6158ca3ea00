//! The WIQL of flat work item queries, as people write them:
//! `SELECT [a], [b] FROM WorkItems [WHERE <condition>] [ORDER BY [f] [ASC|DESC], …]`, where conditions
//! join with `AND`, `OR`, `NOT` and parentheses, and each is `[Field] <op> <value>` with `=`, `<>`, `<`,
//! `<=`, `>`, `>=`, `[NOT] IN (…)`, `[NOT] CONTAINS` (a substring, as for tags) or `[NOT] CONTAINS WORDS`
//! (whole words, `log*` a prefix), and a value that is a quoted string, a number, `@project`, `@me`, or
//! `@today` with an optional `- N` / `+ N` days.
//!
//! Like the service, dates compare by day unless the query runs with `timePrecision=true`, and a date with
//! a time of day is refused without it.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use std::cmp::Ordering;

use super::error::ApiError;
use super::fields::{self, FieldKind};
use super::identity::SimIdentity;
use super::state::WorkItem;

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub columns: Vec<String>,
    pub condition: Expr,
    /// Field and whether descending.
    pub order: Vec<(String, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: String,
    pub operator: Operator,
    pub operand: Operand,
}

/// A query's condition: conditions joined by `AND` (`All`, empty when there is no `WHERE`), `OR`, `NOT`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    All(Vec<Expr>),
    Any(Vec<Expr>),
    Not(Box<Expr>),
    Condition(Condition),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operator {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    In(Vec<Operand>),
    Contains,
    ContainsWords,
    /// `NOT IN`, `NOT CONTAINS`, `NOT CONTAINS WORDS`: the operator's opposite.
    Not(Box<Operator>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Text(String),
    Number(f64),
    Project,
    Me,
    /// `@today`, moved by this many days.
    Today(i64),
}

/// What `@project` and `@me` stand for, and whether dates compare to the millisecond.
pub struct Context<'a> {
    pub project: &'a str,
    pub me: &'a str,
    pub time_precision: bool,
    /// What `@today` counts from.
    pub now: DateTime<Utc>,
    /// Who an identity field's stored id is, so `[System.AssignedTo] = 'alice@example.com'` matches.
    pub identities: &'a [SimIdentity],
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Field(String),
    Text(String),
    Number(f64),
    Variable(String),
    Symbol(String),
}

fn syntax(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(
        "WorkItemTrackingQueryResultException",
        format!("TF51006: The query statement is not valid. {}", message.into()),
    )
}

fn tokenize(text: &str) -> Result<Vec<Token>, ApiError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&next) = chars.peek() {
        match next {
            c if c.is_whitespace() || c == ',' => {
                chars.next();
            }
            '[' => {
                chars.next();
                let name: String = chars.by_ref().take_while(|c| *c != ']').collect();
                tokens.push(Token::Field(name.trim().to_string()));
            }
            '\'' | '"' => {
                let quote = next;
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some(c) if c == quote && chars.peek() == Some(&quote) => {
                            chars.next();
                            value.push(quote);
                        }
                        Some(c) if c == quote => break,
                        Some(c) => value.push(c),
                        None => return Err(syntax("A quoted value is not closed.")),
                    }
                }
                tokens.push(Token::Text(value));
            }
            '(' | ')' => {
                chars.next();
                tokens.push(Token::Symbol(next.to_string()));
            }
            '-' | '+' if chars.clone().nth(1).is_none_or(char::is_whitespace) => {
                chars.next();
                tokens.push(Token::Symbol(next.to_string()));
            }
            '<' | '>' | '=' | '!' => {
                let mut symbol = String::new();
                while let Some(&c) = chars.peek().filter(|c| matches!(c, '<' | '>' | '=' | '!')) {
                    symbol.push(c);
                    chars.next();
                }
                tokens.push(Token::Symbol(symbol));
            }
            '@' => {
                chars.next();
                let name = take_word(&mut chars);
                tokens.push(Token::Variable(name.to_ascii_lowercase()));
            }
            c if c.is_ascii_digit() || c == '-' => {
                let word = take_word(&mut chars);
                let number = word.parse().map_err(|_| syntax(format!("`{word}` is not a number.")))?;
                tokens.push(Token::Number(number));
            }
            c if c.is_alphanumeric() || c == '_' => {
                tokens.push(Token::Word(take_word(&mut chars).to_ascii_uppercase()))
            }
            other => return Err(syntax(format!("Unexpected character `{other}`."))),
        }
    }
    Ok(tokens)
}

fn take_word(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut word = String::new();
    while let Some(&c) = chars.peek().filter(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        word.push(c);
        chars.next();
    }
    word
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        token
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn keyword(&mut self, word: &str) -> bool {
        if self.peek() == Some(&Token::Word(word.to_string())) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, word: &str) -> Result<(), ApiError> {
        if self.keyword(word) {
            Ok(())
        } else {
            Err(syntax(format!("Expected {word}.")))
        }
    }

    fn field(&mut self) -> Result<String, ApiError> {
        match self.next() {
            Some(Token::Field(name)) | Some(Token::Word(name)) => known_field(&name),
            _ => Err(syntax("Expected a field name.")),
        }
    }
}

fn known_field(name: &str) -> Result<String, ApiError> {
    fields::definition(name)
        .or_else(|| fields::DEFINITIONS.iter().find(|definition| definition.name.eq_ignore_ascii_case(name)))
        .map(|definition| definition.reference_name.to_string())
        .ok_or_else(|| {
            ApiError::bad_request(
                "WorkItemTrackingQueryResultException",
                format!(
                    "TF51005: The query references a field that does not exist. The error is caused by «[{name}]»."
                ),
            )
        })
}

pub fn parse(text: &str) -> Result<Query, ApiError> {
    let mut parser = Parser { tokens: tokenize(text)?, position: 0 };
    parser.expect("SELECT")?;
    let mut columns = Vec::new();
    while !parser.keyword("FROM") {
        columns.push(parser.field()?);
    }
    if !parser.keyword("WORKITEMS") {
        return Err(syntax("Only flat queries FROM WorkItems are supported."));
    }
    let condition = if parser.keyword("WHERE") { parser.any()? } else { Expr::All(Vec::new()) };
    let mut order = Vec::new();
    if parser.keyword("ORDER") {
        parser.expect("BY")?;
        while parser.peek().is_some() {
            let field = parser.field()?;
            let descending = if parser.keyword("DESC") {
                true
            } else {
                parser.keyword("ASC");
                false
            };
            order.push((field, descending));
        }
    }
    if let Some(token) = parser.peek() {
        return Err(syntax(format!("Unexpected {token:?}.")));
    }
    Ok(Query { columns, condition, order })
}

impl Parser {
    fn symbol(&mut self, symbol: &str) -> bool {
        if self.peek() == Some(&Token::Symbol(symbol.to_string())) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn any(&mut self) -> Result<Expr, ApiError> {
        let mut alternatives = vec![self.all()?];
        while self.keyword("OR") {
            alternatives.push(self.all()?);
        }
        Ok(if alternatives.len() == 1 { alternatives.remove(0) } else { Expr::Any(alternatives) })
    }

    fn all(&mut self) -> Result<Expr, ApiError> {
        let mut parts = vec![self.unary()?];
        while self.keyword("AND") {
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Expr::All(parts) })
    }

    fn unary(&mut self) -> Result<Expr, ApiError> {
        if self.keyword("NOT") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.symbol("(") {
            let inner = self.any()?;
            if !self.symbol(")") {
                return Err(syntax("A parenthesis is not closed."));
            }
            return Ok(inner);
        }
        self.condition().map(Expr::Condition)
    }

    fn condition(&mut self) -> Result<Condition, ApiError> {
        let field = self.field()?;
        let negated = self.keyword("NOT");
        let operator = if self.keyword("IN") {
            Operator::In(self.list(&field)?)
        } else if self.keyword("CONTAINS") {
            if self.keyword("WORDS") {
                Operator::ContainsWords
            } else {
                Operator::Contains
            }
        } else if negated {
            return Err(syntax(format!("Expected IN or CONTAINS after [{field}] NOT.")));
        } else {
            match self.next() {
                Some(Token::Symbol(symbol)) => match symbol.as_str() {
                    "=" => Operator::Equal,
                    "<>" | "!=" => Operator::NotEqual,
                    "<" => Operator::Less,
                    "<=" => Operator::LessOrEqual,
                    ">" => Operator::Greater,
                    ">=" => Operator::GreaterOrEqual,
                    other => return Err(syntax(format!("Unknown operator `{other}`."))),
                },
                _ => return Err(syntax(format!("Expected an operator after [{field}]."))),
            }
        };
        let operand = match operator {
            Operator::In(_) => Operand::Text(String::new()),
            _ => self.operand(&field)?,
        };
        let operator = if negated { Operator::Not(Box::new(operator)) } else { operator };
        Ok(Condition { field, operator, operand })
    }

    fn operand(&mut self, field: &str) -> Result<Operand, ApiError> {
        match self.next() {
            Some(Token::Text(text)) => Ok(Operand::Text(text)),
            Some(Token::Number(number)) => Ok(Operand::Number(number)),
            Some(Token::Variable(name)) if name == "project" => Ok(Operand::Project),
            Some(Token::Variable(name)) if name == "me" => Ok(Operand::Me),
            Some(Token::Variable(name)) if name == "today" => {
                let sign = if self.symbol("-") {
                    -1.0
                } else if self.symbol("+") {
                    1.0
                } else {
                    return Ok(Operand::Today(0));
                };
                match self.next() {
                    #[allow(clippy::cast_possible_truncation)]
                    Some(Token::Number(days)) if days.fract() == 0.0 => Ok(Operand::Today((sign * days) as i64)),
                    _ => Err(syntax("Expected a whole number of days after @today.")),
                }
            }
            _ => Err(syntax(format!("Expected a value after [{field}]."))),
        }
    }

    fn list(&mut self, field: &str) -> Result<Vec<Operand>, ApiError> {
        if !self.symbol("(") {
            return Err(syntax(format!("Expected ( after [{field}] IN.")));
        }
        let mut values = Vec::new();
        while !self.symbol(")") {
            if self.peek().is_none() {
                return Err(syntax("A list is not closed."));
            }
            values.push(self.operand(field)?);
        }
        Ok(values)
    }
}

/// A date literal: an instant, or a day when it has no time of day.
fn date_operand(text: &str, time_precision: bool) -> Result<DateTime<Utc>, ApiError> {
    let has_time = text.contains('T') || text.contains(':');
    if has_time && !time_precision {
        return Err(ApiError::bad_request(
            "WorkItemTrackingQueryResultException",
            format!("You cannot supply a time with the date when running a query using date precision. The error is caused by «'{text}'»."),
        ));
    }
    if has_time {
        return DateTime::parse_from_rfc3339(text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| syntax(format!("`{text}` is not a date.")));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc())
        .ok_or_else(|| syntax(format!("`{text}` is not a date.")))
}

/// Checks the query's literals against the precision in force (before any item is looked at).
pub fn check(query: &Query, context: &Context<'_>) -> Result<(), ApiError> {
    fn walk(expr: &Expr, context: &Context<'_>) -> Result<(), ApiError> {
        match expr {
            Expr::All(parts) | Expr::Any(parts) => parts.iter().try_for_each(|part| walk(part, context)),
            Expr::Not(inner) => walk(inner, context),
            Expr::Condition(condition) => {
                let operands = match &condition.operator {
                    Operator::In(values) => values.iter().collect(),
                    _ => vec![&condition.operand],
                };
                for operand in operands {
                    if let (Some(FieldKind::DateTime), Operand::Text(text)) = (kind(&condition.field), operand) {
                        date_operand(text, context.time_precision)?;
                    }
                }
                Ok(())
            }
        }
    }
    walk(&query.condition, context)
}

fn kind(field: &str) -> Option<FieldKind> {
    fields::definition(field).map(|definition| definition.kind)
}

fn stored_instant(value: &Value) -> Option<DateTime<Utc>> {
    value.as_str().and_then(|text| DateTime::parse_from_rfc3339(text).ok()).map(|at| at.with_timezone(&Utc))
}

/// Whether the work item satisfies the query's condition. Call [`check`] first.
pub fn matches(query: &Query, item: &WorkItem, context: &Context<'_>) -> bool {
    expr_matches(&query.condition, item, context)
}

fn expr_matches(expr: &Expr, item: &WorkItem, context: &Context<'_>) -> bool {
    match expr {
        Expr::All(parts) => parts.iter().all(|part| expr_matches(part, item, context)),
        Expr::Any(parts) => parts.iter().any(|part| expr_matches(part, item, context)),
        Expr::Not(inner) => !expr_matches(inner, item, context),
        Expr::Condition(condition) => holds(&condition.operator, &condition.field, &condition.operand, item, context),
    }
}

fn holds(operator: &Operator, field: &str, operand: &Operand, item: &WorkItem, context: &Context<'_>) -> bool {
    let stored = item.fields.get(field);
    let text = || match stored {
        Some(Value::String(text)) => text.to_lowercase(),
        Some(Value::Object(identity)) => {
            identity.values().filter_map(Value::as_str).collect::<Vec<_>>().join(" ").to_lowercase()
        }
        Some(other) => other.to_string().to_lowercase(),
        None => String::new(),
    };
    let wanted = || match operand {
        Operand::Text(text) => text.to_lowercase(),
        Operand::Project => context.project.to_lowercase(),
        Operand::Me => context.me.to_lowercase(),
        Operand::Number(number) => number.to_string(),
        Operand::Today(_) => String::new(),
    };
    match operator {
        Operator::Not(inner) => !holds(inner, field, operand, item, context),
        Operator::In(values) => values.iter().any(|value| holds(&Operator::Equal, field, value, item, context)),
        Operator::Contains => text().contains(&wanted()),
        Operator::ContainsWords => contains_words(&text(), &wanted()),
        compared => {
            let Some(ordering) = compare(stored, field, operand, context) else { return false };
            match compared {
                Operator::Equal => ordering == Ordering::Equal,
                Operator::NotEqual => ordering != Ordering::Equal,
                Operator::Less => ordering == Ordering::Less,
                Operator::LessOrEqual => ordering != Ordering::Greater,
                Operator::Greater => ordering == Ordering::Greater,
                _ => ordering != Ordering::Less,
            }
        }
    }
}

/// How the stored value compares with the operand; `None` when they cannot be compared.
fn compare(stored: Option<&Value>, field: &str, operand: &Operand, context: &Context<'_>) -> Option<Ordering> {
    match (operand, kind(field)) {
        (Operand::Today(days), _) => {
            let value = stored.and_then(stored_instant)?;
            let day = (context.now + chrono::Duration::days(*days)).date_naive();
            Some(value.date_naive().cmp(&day))
        }
        (Operand::Text(text), Some(FieldKind::DateTime)) => {
            let (value, literal) = (stored.and_then(stored_instant)?, date_operand(text, context.time_precision).ok()?);
            Some(if context.time_precision {
                value.cmp(&literal)
            } else {
                value.date_naive().cmp(&literal.date_naive())
            })
        }
        (Operand::Number(number), _) => stored.and_then(Value::as_f64)?.partial_cmp(number),
        (Operand::Text(text), Some(FieldKind::Identity)) => {
            let id = stored.and_then(Value::as_str).unwrap_or_default();
            let named =
                context.identities.iter().any(|identity| identity.id.to_string() == id && identity.is_named_by(text));
            Some(if named || (text.is_empty() && id.is_empty()) { Ordering::Equal } else { Ordering::Less })
        }
        (operand, _) => {
            let wanted = match operand {
                Operand::Text(text) => text.as_str(),
                Operand::Project => context.project,
                _ => context.me,
            };
            let value = match stored {
                Some(Value::String(text)) => text.to_lowercase(),
                Some(Value::Object(identity)) => identity
                    .get("uniqueName")
                    .or_else(|| identity.get("displayName"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_lowercase(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            Some(value.cmp(&wanted.to_lowercase()))
        }
    }
}

/// `CONTAINS WORDS`: each word of the query is a whole word of the text (`log*`: a word starting so).
fn contains_words(text: &str, query: &str) -> bool {
    let words: Vec<&str> = text.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty()).collect();
    let terms: Vec<&str> =
        query.split(|c: char| !(c.is_alphanumeric() || c == '*')).filter(|term| !term.is_empty()).collect();
    !terms.is_empty()
        && terms.iter().all(|term| match term.strip_suffix('*') {
            Some(prefix) => words.iter().any(|word| word.starts_with(prefix)),
            None => words.contains(term),
        })
}

/// Orders items by the query's `ORDER BY` (then by id, so results are stable).
pub fn sort(query: &Query, items: &mut [&WorkItem]) {
    items.sort_by(|left, right| {
        for (field, descending) in &query.order {
            let ordering = compare_values(left.fields.get(field), right.fields.get(field));
            let ordering = if *descending { ordering.reverse() } else { ordering };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        left.id.cmp(&right.id)
    });
}

fn compare_values(left: Option<&Value>, right: Option<&Value>) -> Ordering {
    match (left, right) {
        (Some(Value::Number(left)), Some(Value::Number(right))) => {
            left.as_f64().partial_cmp(&right.as_f64()).unwrap_or(Ordering::Equal)
        }
        (Some(Value::String(left)), Some(Value::String(right))) => left.cmp(right),
        (left, right) => left.is_some().cmp(&right.is_some()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERY: &str = "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project AND [System.WorkItemType] = 'Bug' AND [System.ChangedDate] >= '2024-01-31T10:20:30.123Z' ORDER BY [System.ChangedDate] DESC";

    #[test]
    fn parses_the_subset_tandem_uses() {
        let query = parse(QUERY).unwrap();
        assert_eq!(query.columns, vec!["System.Id"]);
        let Expr::All(conditions) = &query.condition else { panic!("a conjunction: {:?}", query.condition) };
        let condition = |index: usize| match &conditions[index] {
            Expr::Condition(condition) => condition.clone(),
            other => panic!("not a condition: {other:?}"),
        };
        assert_eq!(conditions.len(), 3);
        assert_eq!(condition(0).operand, Operand::Project);
        assert_eq!(condition(2).operator, Operator::GreaterOrEqual);
        assert_eq!(query.order, vec![("System.ChangedDate".to_string(), true)]);
    }

    #[test]
    fn a_time_of_day_needs_time_precision() {
        let query = parse(QUERY).unwrap();
        let day_precision = Context { project: "P", me: "", time_precision: false, now: Utc::now(), identities: &[] };
        let refused = check(&query, &day_precision).unwrap_err();
        assert!(refused.message.contains("date precision"), "{}", refused.message);
        assert!(check(&query, &Context { time_precision: true, ..day_precision }).is_ok());
    }

    #[test]
    fn unknown_fields_and_bad_syntax_are_refused() {
        assert!(parse("SELECT [System.Id] FROM WorkItems WHERE [Custom.X] = 1")
            .unwrap_err()
            .message
            .starts_with("TF51005"));
        assert!(parse("SELECT [System.Id] WorkItems").is_err());
        assert!(parse("SELECT [System.Id] FROM WorkItems WHERE [System.Title] = 'open").is_err());
    }

    /// Work items as people file them, and the ids a query finds among them.
    fn found(query: &str) -> Vec<u32> {
        use crate::azure_devops::state::{Organization, WriteOptions};
        use crate::azure_devops::SimUser;
        let mut org = Organization::new(
            "fabrikam".into(),
            &["Fabrikam".to_string()],
            vec!["Bug".into(), "Task".into()],
            vec![SimUser::new("Alice", "alice@example.com", "pat")],
        );
        let alice = org.identities[0].clone();
        for (kind, title, state, tags, assigned) in [
            ("Bug", "Login fails on Safari", "New", "browser; login", true),
            ("Bug", "Export drops the last row", "Active", "", false),
            ("Task", "Rotate the signing keys", "Closed", "ops", true),
        ] {
            let mut operations = vec![
                serde_json::json!({"op": "add", "path": "/fields/System.Title", "value": title}),
                serde_json::json!({"op": "add", "path": "/fields/System.State", "value": state}),
            ];
            if !tags.is_empty() {
                operations.push(serde_json::json!({"op": "add", "path": "/fields/System.Tags", "value": tags}));
            }
            if assigned {
                operations.push(
                    serde_json::json!({"op": "add", "path": "/fields/System.AssignedTo", "value": "alice@example.com"}),
                );
            }
            let operations = crate::azure_devops::patch::parse(&Value::Array(operations)).unwrap();
            org.create("Fabrikam", kind, &operations, &alice, WriteOptions::default()).unwrap();
        }
        let query = parse(query).unwrap();
        let me = alice.id.to_string();
        let identities = org.identities.clone();
        let context =
            Context { project: "Fabrikam", me: &me, time_precision: false, now: Utc::now(), identities: &identities };
        check(&query, &context).unwrap();
        let mut ids: Vec<u32> =
            org.items.values().filter(|item| matches(&query, item, &context)).map(|item| item.id).collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn queries_people_write_find_what_the_service_would() {
        let select = "SELECT [System.Id] FROM WorkItems WHERE ";
        let find = |condition: &str| found(&format!("{select}{condition}"));
        assert_eq!(find("[System.Title] CONTAINS 'safari'"), [1]);
        assert_eq!(find("[System.Title] CONTAINS WORDS 'drops row'"), [2]);
        assert_eq!(find("[System.Title] CONTAINS WORDS 'rot*'"), [3]);
        assert!(find("[System.Title] CONTAINS WORDS 'drop'").is_empty(), "whole words");
        assert_eq!(find("[System.Title] NOT CONTAINS 'login'"), [2, 3]);
        assert_eq!(find("[System.State] IN ('New', 'Active')"), [1, 2]);
        assert_eq!(find("[System.State] NOT IN ('New', 'Active')"), [3]);
        assert_eq!(find("[System.Tags] CONTAINS 'browser'"), [1]);
        assert_eq!(
            find("[System.WorkItemType] = 'Task' OR ([System.State] = 'New' AND [System.TeamProject] = @project)"),
            [1, 3]
        );
        assert_eq!(find("NOT [System.WorkItemType] = 'Bug'"), [3]);
        assert_eq!(find("[System.AssignedTo] = @me"), [1, 3]);
        assert_eq!(find("[System.AssignedTo] = 'alice@example.com' AND [System.State] <> 'Closed'"), [1]);
        assert_eq!(find("[System.AssignedTo] = ''"), [2]);
        assert_eq!(find("[System.ChangedDate] >= @today - 7"), [1, 2, 3]);
        assert!(find("[System.CreatedDate] > @today + 1").is_empty());
        assert!(parse(&format!("{select}[System.State] IN 'New'")).is_err());
        assert!(parse(&format!("{select}([System.State] = 'New'")).is_err());
    }
}
