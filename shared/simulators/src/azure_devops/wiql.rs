//! The subset of WIQL that flat work item queries use:
//! `SELECT [a], [b] FROM WorkItems [WHERE <cond> AND <cond> …] [ORDER BY [f] [ASC|DESC], …]`,
//! where a condition is `[Field] <op> <value>` with `=`, `<>`, `<`, `<=`, `>`, `>=` and a value that is a
//! quoted string, a number, `@project` or `@me`.
//!
//! Like the service, dates compare by day unless the query runs with `timePrecision=true`, and a date with
//! a time of day is refused without it.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use std::cmp::Ordering;

use super::error::ApiError;
use super::fields::{self, FieldKind};
use super::state::WorkItem;

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub columns: Vec<String>,
    pub conditions: Vec<Condition>,
    /// Field and whether descending.
    pub order: Vec<(String, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: String,
    pub operator: Operator,
    pub operand: Operand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Text(String),
    Number(f64),
    Project,
    Me,
}

/// What `@project` and `@me` stand for, and whether dates compare to the millisecond.
pub struct Context<'a> {
    pub project: &'a str,
    pub me: &'a str,
    pub time_precision: bool,
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
    let mut conditions = Vec::new();
    if parser.keyword("WHERE") {
        loop {
            let field = parser.field()?;
            let operator = match parser.next() {
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
            };
            let operand = match parser.next() {
                Some(Token::Text(text)) => Operand::Text(text),
                Some(Token::Number(number)) => Operand::Number(number),
                Some(Token::Variable(name)) if name == "project" => Operand::Project,
                Some(Token::Variable(name)) if name == "me" => Operand::Me,
                _ => return Err(syntax(format!("Expected a value after [{field}]."))),
            };
            conditions.push(Condition { field, operator, operand });
            if !parser.keyword("AND") {
                break;
            }
        }
    }
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
    Ok(Query { columns, conditions, order })
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
    for condition in &query.conditions {
        if let (Some(FieldKind::DateTime), Operand::Text(text)) = (kind(&condition.field), &condition.operand) {
            date_operand(text, context.time_precision)?;
        }
    }
    Ok(())
}

fn kind(field: &str) -> Option<FieldKind> {
    fields::definition(field).map(|definition| definition.kind)
}

fn stored_instant(value: &Value) -> Option<DateTime<Utc>> {
    value.as_str().and_then(|text| DateTime::parse_from_rfc3339(text).ok()).map(|at| at.with_timezone(&Utc))
}

/// Whether the work item satisfies every condition. Call [`check`] first.
pub fn matches(query: &Query, item: &WorkItem, context: &Context<'_>) -> bool {
    query.conditions.iter().all(|condition| {
        let stored = item.fields.get(&condition.field);
        let ordering = match (&condition.operand, kind(&condition.field)) {
            (Operand::Text(text), Some(FieldKind::DateTime)) => {
                let (Some(value), Ok(literal)) =
                    (stored.and_then(stored_instant), date_operand(text, context.time_precision))
                else {
                    return false;
                };
                if context.time_precision {
                    value.cmp(&literal)
                } else {
                    value.date_naive().cmp(&literal.date_naive())
                }
            }
            (Operand::Number(number), _) => {
                let Some(value) = stored.and_then(Value::as_f64) else {
                    return false;
                };
                value.partial_cmp(number).unwrap_or(Ordering::Less)
            }
            (operand, _) => {
                let wanted = match operand {
                    Operand::Text(text) => text.as_str(),
                    Operand::Project => context.project,
                    Operand::Me => context.me,
                    Operand::Number(_) => return false,
                };
                let value = match stored {
                    Some(Value::String(text)) => text.to_lowercase(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                value.cmp(&wanted.to_lowercase())
            }
        };
        match condition.operator {
            Operator::Equal => ordering == Ordering::Equal,
            Operator::NotEqual => ordering != Ordering::Equal,
            Operator::Less => ordering == Ordering::Less,
            Operator::LessOrEqual => ordering != Ordering::Greater,
            Operator::Greater => ordering == Ordering::Greater,
            Operator::GreaterOrEqual => ordering != Ordering::Less,
        }
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
        assert_eq!(query.conditions.len(), 3);
        assert_eq!(query.conditions[0].operand, Operand::Project);
        assert_eq!(query.conditions[2].operator, Operator::GreaterOrEqual);
        assert_eq!(query.order, vec![("System.ChangedDate".to_string(), true)]);
    }

    #[test]
    fn a_time_of_day_needs_time_precision() {
        let query = parse(QUERY).unwrap();
        let day_precision = Context { project: "P", me: "", time_precision: false };
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
}
