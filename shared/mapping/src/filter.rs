//! Item filters: a small boolean language over one side's field ids, e.g.
//! `priority in ["High", "Highest"] and status != "Done"`. Values compare as `FieldValue::as_text()`,
//! case-sensitively; a field missing from the item is empty.

use std::fmt;
use tandem_model::{FieldMap, FieldValue};

/// A filter expression that did not parse. Never retryable: the configuration has to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct FilterError {
    /// 1-based character column inside the expression.
    pub column: usize,
    pub message: String,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    source: String,
    expression: Expression,
}

/// `and` and `or` hold flat lists, so that a long chain of tests does not make a deep tree (whose
/// recursive drop and evaluation would overflow the stack); only `not` and parentheses nest, and the
/// parser bounds them.
#[derive(Debug, Clone, PartialEq)]
enum Expression {
    And(Vec<Expression>),
    Or(Vec<Expression>),
    Not(Box<Expression>),
    Test { field: FieldName, test: Test },
}

#[derive(Debug, Clone, PartialEq)]
struct FieldName {
    id: String,
    column: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    Equals(String),
    In(Vec<String>),
    Contains(String),
    IsEmpty,
}

impl Filter {
    pub fn parse(expression: &str) -> Result<Filter, FilterError> {
        let tokens = lex(expression)?;
        let mut parser = FilterParser { tokens, position: 0, end: expression.chars().count() + 1, depth: 0 };
        if parser.tokens.is_empty() {
            return Err(FilterError { column: 1, message: "the filter is empty".into() });
        }
        let parsed = parser.or()?;
        if let Some(token) = parser.peek() {
            return Err(FilterError {
                column: token.column,
                message: format!("unexpected {}; expected `and`, `or` or the end", token.kind),
            });
        }
        Ok(Filter { source: expression.to_string(), expression: parsed })
    }

    /// Whether an item with these fields passes the filter.
    pub fn matches(&self, fields: &FieldMap) -> bool {
        self.expression.matches(fields)
    }

    /// The field ids the filter reads, each once, in order of appearance.
    pub fn fields(&self) -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for (id, _) in self.field_columns() {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }

    /// Every field id the filter names, with its 1-based column in the expression.
    pub(crate) fn field_columns(&self) -> Vec<(String, usize)> {
        let mut found = Vec::new();
        self.expression.collect_fields(&mut found);
        found
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Expression {
    fn matches(&self, fields: &FieldMap) -> bool {
        match self {
            Expression::And(all) => all.iter().all(|expression| expression.matches(fields)),
            Expression::Or(any) => any.iter().any(|expression| expression.matches(fields)),
            Expression::Not(inner) => !inner.matches(fields),
            Expression::Test { field, test } => {
                let value = fields.get(&field.id).unwrap_or(&FieldValue::Empty);
                test.matches(value)
            }
        }
    }

    fn collect_fields(&self, found: &mut Vec<(String, usize)>) {
        match self {
            Expression::And(parts) | Expression::Or(parts) => {
                parts.iter().for_each(|part| part.collect_fields(found));
            }
            Expression::Not(inner) => inner.collect_fields(found),
            Expression::Test { field, .. } => found.push((field.id.clone(), field.column)),
        }
    }
}

impl Test {
    fn matches(&self, value: &FieldValue) -> bool {
        match self {
            Test::Equals(expected) => value.as_text().as_deref() == Some(expected.as_str()),
            Test::In(options) => value.as_text().is_some_and(|text| options.contains(&text)),
            Test::Contains(part) => match value {
                FieldValue::List(items) => items.iter().any(|item| item == part),
                other => other.as_text().is_some_and(|text| text.contains(part.as_str())),
            },
            Test::IsEmpty => value.is_empty(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    /// A bare word: a field id or a keyword.
    Word(String),
    Quoted(String),
    Number(String),
    Equals,
    NotEquals,
    Open,
    Close,
    OpenList,
    CloseList,
    Comma,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenKind::Word(word) => write!(f, "`{word}`"),
            TokenKind::Quoted(text) => write!(f, "{text:?}"),
            TokenKind::Number(number) => write!(f, "`{number}`"),
            TokenKind::Equals => f.write_str("`=`"),
            TokenKind::NotEquals => f.write_str("`!=`"),
            TokenKind::Open => f.write_str("`(`"),
            TokenKind::Close => f.write_str("`)`"),
            TokenKind::OpenList => f.write_str("`[`"),
            TokenKind::CloseList => f.write_str("`]`"),
            TokenKind::Comma => f.write_str("`,`"),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: TokenKind,
    column: usize,
}

fn lex(expression: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = expression.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        let column = index + 1;
        let single = match c {
            '=' => Some(TokenKind::Equals),
            '(' => Some(TokenKind::Open),
            ')' => Some(TokenKind::Close),
            '[' => Some(TokenKind::OpenList),
            ']' => Some(TokenKind::CloseList),
            ',' => Some(TokenKind::Comma),
            _ => None,
        };
        if let Some(kind) = single {
            tokens.push(Token { kind, column });
            index += 1;
        } else if c.is_whitespace() {
            index += 1;
        } else if c == '!' {
            if chars.get(index + 1) != Some(&'=') {
                return Err(FilterError { column, message: "`!` must be followed by `=`".into() });
            }
            tokens.push(Token { kind: TokenKind::NotEquals, column });
            index += 2;
        } else if c == '"' || c == '\'' {
            let (text, next) = quoted(&chars, index)?;
            tokens.push(Token { kind: TokenKind::Quoted(text), column });
            index = next;
        } else if c.is_ascii_digit() || (c == '-' && chars.get(index + 1).is_some_and(char::is_ascii_digit)) {
            let end = run_end(&chars, index + 1, |c| c.is_ascii_digit() || c == '.');
            let literal: String = chars[index..end].iter().collect();
            let number: f64 =
                literal.parse().map_err(|_| FilterError { column, message: format!("`{literal}` is not a number") })?;
            // Written the way `FieldValue::as_text` prints numbers, so `2.0` matches a field holding 2.
            let text = FieldValue::Number(number).as_text().unwrap_or(literal);
            tokens.push(Token { kind: TokenKind::Number(text), column });
            index = end;
        } else if c.is_alphabetic() || c == '_' {
            let end = run_end(&chars, index + 1, |c| c.is_alphanumeric() || c == '_' || c == '.');
            tokens.push(Token { kind: TokenKind::Word(chars[index..end].iter().collect()), column });
            index = end;
        } else {
            return Err(FilterError { column, message: format!("unexpected character `{c}`") });
        }
    }
    Ok(tokens)
}

fn run_end(chars: &[char], from: usize, keep: impl Fn(char) -> bool) -> usize {
    chars[from..].iter().position(|c| !keep(*c)).map_or(chars.len(), |offset| from + offset)
}

/// A quoted string starting at `start`; `\` escapes the next character. Returns the text and the
/// index after the closing quote.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), FilterError> {
    let quote = chars[start];
    let mut text = String::new();
    let mut index = start + 1;
    while let Some(&c) = chars.get(index) {
        match c {
            '\\' => {
                let Some(&escaped) = chars.get(index + 1) else {
                    break;
                };
                text.push(escaped);
                index += 2;
            }
            c if c == quote => return Ok((text, index + 1)),
            c => {
                text.push(c);
                index += 1;
            }
        }
    }
    Err(FilterError { column: start + 1, message: format!("this string has no closing {quote}") })
}

struct FilterParser {
    tokens: Vec<Token>,
    position: usize,
    /// The column just past the expression, for "ended too early" errors.
    end: usize,
    /// How many `not`s and parentheses enclose the current position.
    depth: usize,
}

/// More levels of `not` and parentheses than anyone writes; parsing and evaluating recurse once per
/// level, so without a bound a hostile filter would overflow the stack.
const MAX_NESTING: usize = 64;

impl FilterParser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn peek_kind(&self, kind: &TokenKind) -> bool {
        self.peek().is_some_and(|token| token.kind == *kind)
    }

    fn expect(&mut self, kind: &TokenKind) -> Result<(), FilterError> {
        if self.peek_kind(kind) {
            self.position += 1;
            Ok(())
        } else {
            Err(self.error(&kind.to_string()))
        }
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        self.keyword_at(self.position, keyword)
    }

    fn keyword_at(&self, position: usize, keyword: &str) -> bool {
        matches!(self.tokens.get(position), Some(Token { kind: TokenKind::Word(word), .. }) if word.eq_ignore_ascii_case(keyword))
    }

    fn error(&self, expected: &str) -> FilterError {
        match self.peek() {
            Some(token) => {
                FilterError { column: token.column, message: format!("expected {expected}, found {}", token.kind) }
            }
            None => FilterError { column: self.end, message: format!("expected {expected}, but the filter ends") },
        }
    }

    fn or(&mut self) -> Result<Expression, FilterError> {
        let mut parts = vec![self.and()?];
        while self.peek_keyword("or") {
            self.position += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Expression::Or(parts) })
    }

    fn and(&mut self) -> Result<Expression, FilterError> {
        let mut parts = vec![self.unary()?];
        while self.peek_keyword("and") {
            self.position += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Expression::And(parts) })
    }

    fn unary(&mut self) -> Result<Expression, FilterError> {
        if self.peek_keyword("not") {
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expression::Not(Box::new(inner)));
        }
        if self.peek_kind(&TokenKind::Open) {
            self.enter()?;
            let inner = self.or()?;
            self.expect(&TokenKind::Close)?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.comparison()
    }

    /// Takes the `not` or `(` at the current position as one more level of nesting.
    fn enter(&mut self) -> Result<(), FilterError> {
        if self.depth == MAX_NESTING {
            let column = self.peek().map_or(self.end, |token| token.column);
            let message = format!("more than {MAX_NESTING} levels of `not` and parentheses");
            return Err(FilterError { column, message });
        }
        self.depth += 1;
        self.position += 1;
        Ok(())
    }

    fn comparison(&mut self) -> Result<Expression, FilterError> {
        let field = match self.peek().cloned() {
            Some(Token { kind: TokenKind::Word(id) | TokenKind::Quoted(id), column }) if !is_keyword(&id) => {
                self.position += 1;
                FieldName { id, column }
            }
            _ => return Err(self.error("a field id")),
        };
        let negated = self.peek_keyword("not")
            && (self.keyword_at(self.position + 1, "in") || self.keyword_at(self.position + 1, "contains"));
        self.position += usize::from(negated);
        let operator = self.peek().map(|token| token.kind.clone());
        let keyword =
            |word: &str| matches!(&operator, Some(TokenKind::Word(found)) if found.eq_ignore_ascii_case(word));
        let (test, inverted) = if operator == Some(TokenKind::Equals) && !negated {
            self.position += 1;
            (Test::Equals(self.value()?), false)
        } else if operator == Some(TokenKind::NotEquals) && !negated {
            self.position += 1;
            (Test::Equals(self.value()?), true)
        } else if keyword("in") {
            self.position += 1;
            (Test::In(self.list()?), negated)
        } else if keyword("contains") {
            self.position += 1;
            (Test::Contains(self.value()?), negated)
        } else if keyword("is") && !negated {
            self.position += 1;
            let not = self.peek_keyword("not");
            self.position += usize::from(not);
            if !self.peek_keyword("empty") {
                return Err(self.error("`empty`"));
            }
            self.position += 1;
            (Test::IsEmpty, not)
        } else {
            return Err(self.error("`=`, `!=`, `in`, `not in`, `contains` or `is`"));
        };
        let test = Expression::Test { field, test };
        Ok(if inverted { Expression::Not(Box::new(test)) } else { test })
    }

    fn value(&mut self) -> Result<String, FilterError> {
        match self.peek().cloned() {
            Some(Token { kind: TokenKind::Quoted(text) | TokenKind::Number(text), .. }) => {
                self.position += 1;
                Ok(text)
            }
            _ => Err(self.error("a quoted value or a number")),
        }
    }

    fn list(&mut self) -> Result<Vec<String>, FilterError> {
        self.expect(&TokenKind::OpenList)?;
        let mut values = Vec::new();
        if self.peek_kind(&TokenKind::CloseList) {
            self.position += 1;
            return Ok(values);
        }
        loop {
            values.push(self.value()?);
            if self.peek_kind(&TokenKind::Comma) {
                self.position += 1;
            } else if self.peek_kind(&TokenKind::CloseList) {
                self.position += 1;
                return Ok(values);
            } else {
                return Err(self.error("`,` or `]`"));
            }
        }
    }
}

fn is_keyword(word: &str) -> bool {
    ["and", "or", "not", "in", "contains", "is", "empty"].iter().any(|keyword| word.eq_ignore_ascii_case(keyword))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, FieldValue)]) -> FieldMap {
        pairs.iter().map(|(id, value)| (id.to_string(), value.clone())).collect()
    }

    fn text(value: &str) -> FieldValue {
        FieldValue::Text(value.into())
    }

    #[test]
    fn comparisons_and_boolean_operators() {
        let filter = Filter::parse(r#"priority in ["High", "Highest"] and status != "Done""#).unwrap();
        assert!(filter.matches(&item(&[("priority", text("High")), ("status", text("To Do"))])));
        assert!(!filter.matches(&item(&[("priority", text("High")), ("status", text("Done"))])));
        assert!(!filter.matches(&item(&[("priority", text("Low")), ("status", text("To Do"))])));
        assert!(!filter.matches(&item(&[])), "a missing field is empty, so not in the list");
        assert_eq!(filter.fields(), vec!["priority".to_string(), "status".to_string()]);
    }

    #[test]
    fn dotted_and_quoted_field_ids_and_numbers() {
        let filter = Filter::parse(r#"Microsoft.VSTS.Common.Priority = 2.0 or ("System.State" = 'Active')"#).unwrap();
        assert!(filter.matches(&item(&[("Microsoft.VSTS.Common.Priority", FieldValue::Number(2.0))])));
        assert!(filter.matches(&item(&[("System.State", text("Active"))])));
        assert!(!filter.matches(&item(&[("Microsoft.VSTS.Common.Priority", FieldValue::Number(3.0))])));
        assert_eq!(filter.fields(), vec!["Microsoft.VSTS.Common.Priority", "System.State"]);
    }

    #[test]
    fn not_precedence_and_negated_tests() {
        let filter = Filter::parse(r#"not status = "Done" and labels not contains "internal""#).unwrap();
        let labels = |values: &[&str]| FieldValue::List(values.iter().map(|v| v.to_string()).collect());
        assert!(filter.matches(&item(&[("status", text("Open")), ("labels", labels(&["customer"]))])));
        assert!(!filter.matches(&item(&[("status", text("Open")), ("labels", labels(&["internal"]))])));
        assert!(!filter.matches(&item(&[("status", text("Done"))])));
        let filter = Filter::parse(r#"status not in ["Done", "Closed"] or summary contains "urgent""#).unwrap();
        assert!(filter.matches(&item(&[("status", text("Done")), ("summary", text("very urgent"))])));
        assert!(!filter.matches(&item(&[("status", text("Closed")), ("summary", text("later"))])));
    }

    #[test]
    fn emptiness() {
        let filter = Filter::parse("assignee is empty").unwrap();
        assert!(filter.matches(&item(&[])));
        assert!(filter.matches(&item(&[("assignee", text(""))])));
        assert!(!filter.matches(&item(&[("assignee", text("a@x.com"))])));
        let filter = Filter::parse("labels IS NOT EMPTY").unwrap();
        assert!(!filter.matches(&item(&[("labels", FieldValue::List(vec![]))])));
        assert!(filter.matches(&item(&[("labels", FieldValue::List(vec!["x".into()]))])));
    }

    #[test]
    fn errors_name_the_column() {
        let cases = [
            ("", 1, "empty"),
            ("status = Done", 10, "quoted value"),
            (r#"status = "Done"#, 10, "closing"),
            (r#"status == "Done""#, 9, "quoted value"),
            (r#"(status = "Done""#, 17, "`)`"),
            (r#"priority in ["High" "Low"]"#, 21, "`,` or `]`"),
            (r#"status = "a" "b""#, 14, "expected `and`"),
            (r#"status ~ "a""#, 8, "unexpected character"),
            (r#"and = "a""#, 1, "a field id"),
            ("status is full", 11, "`empty`"),
            ("status", 7, "the filter ends"),
            (&format!("{}a = \"b\"", "not ".repeat(65)), 257, "more than 64 levels"),
            (&format!("{}a = \"b\"{}", "(".repeat(65), ")".repeat(65)), 65, "more than 64 levels"),
        ];
        for (expression, column, message) in cases {
            let error = Filter::parse(expression).unwrap_err();
            assert_eq!(error.column, column, "{expression}: {error}");
            assert!(error.message.contains(message), "{expression}: {error}");
        }
    }
}
