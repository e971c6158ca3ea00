//! The SOQL the simulated org answers: `SELECT` fields, parent relationship paths (`Account.Name`,
//! `Owner.Email`), child subqueries (`(SELECT Id FROM CaseComments)`) and `COUNT()`, `FROM` one object,
//! `WHERE` with `AND`/`OR`/`NOT`, parentheses, `= != <> < <= > >=`, `IN`/`NOT IN`, `LIKE`, and literals
//! (quoted strings, numbers, `true`/`false`/`null`, unquoted dates and datetimes, date literals such as
//! `TODAY` and `LAST_N_DAYS:7`), `ORDER BY` with `ASC`/`DESC` and `NULLS FIRST`/`LAST`, `LIMIT` and
//! `OFFSET`; aggregate functions (`COUNT(Id)`, `COUNT_DISTINCT`, `MIN`, `MAX`) without `GROUP BY`.
//! Keywords are case-insensitive.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    pub select: Vec<Selected>,
    pub from: String,
    /// Where the object's name starts in the query text (characters).
    pub from_at: usize,
    pub filter: Option<Condition>,
    pub order: Vec<Ordering>,
    pub limit: Option<usize>,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Selected {
    /// `Subject`, `Account.Name`: the path's segments.
    Path(Vec<String>),
    Count,
    /// `COUNT(Id)`, `MAX(SystemModstamp) latest`: one value over the matching rows, under its alias
    /// or `expr0`, `expr1`… by position among the aggregates.
    Aggregate {
        function: Aggregate,
        path: Vec<String>,
        alias: Option<String>,
    },
    /// A child relationship's records.
    Children(Box<Query>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Aggregate {
    Count,
    CountDistinct,
    Min,
    Max,
}

impl Aggregate {
    fn named(name: &str) -> Option<Aggregate> {
        match name.to_ascii_uppercase().as_str() {
            "COUNT" => Some(Aggregate::Count),
            "COUNT_DISTINCT" => Some(Aggregate::CountDistinct),
            "MIN" => Some(Aggregate::Min),
            "MAX" => Some(Aggregate::Max),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ordering {
    pub path: Vec<String>,
    pub descending: bool,
    pub nulls_last: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Condition {
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
    Compare { path: Vec<String>, operator: Operator, value: Literal },
    In { path: Vec<String>, values: Vec<Literal>, negated: bool },
    Like { path: Vec<String>, pattern: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operator {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
    Null,
    DateTime(DateTime<Utc>),
    Date(NaiveDate),
    /// A date literal (`TODAY`, `LAST_N_DAYS:7`): the instants from `start` up to, not including, `end`.
    /// `=` is within it, `<` before its start, `>` after its end.
    Range {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
}

/// Why a query cannot be read: Salesforce's `MALFORMED_QUERY`, with where it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub message: String,
    /// Where reading stopped in the query text (characters).
    pub at: usize,
}

impl SyntaxError {
    fn new(message: impl Into<String>, at: usize) -> SyntaxError {
        SyntaxError { message: message.into(), at }
    }
}

/// Where a character offset of `text` is, as Salesforce reports it: the line it is on, then
/// `ERROR at Row:r:Column:c` (from 1) with a caret under it.
pub(crate) fn located(text: &str, at: usize, message: &str) -> String {
    let before: String = text.chars().take(at).collect();
    let row = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |line| line.chars().count()) + 1;
    let line = text.lines().nth(row - 1).unwrap_or(text);
    let caret = format!("{}^", " ".repeat(column - 1));
    format!("\n{line}\n{caret}\nERROR at Row:{row}:Column:{column}\n{message}")
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Symbol(&'static str),
}

/// The tokens of a query, each with where it starts (characters).
fn tokens(text: &str) -> Result<Vec<(Token, usize)>, SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let c = chars[at];
        if c.is_whitespace() {
            at += 1;
        } else if c == '\'' {
            let start = at;
            let mut value = String::new();
            at += 1;
            loop {
                match chars.get(at) {
                    None => return Err(SyntaxError::new("unterminated string literal", start)),
                    Some('\\') => {
                        let escaped = chars.get(at + 1).copied().unwrap_or('\\');
                        value.push(match escaped {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                        at += 2;
                    }
                    Some('\'') => {
                        at += 1;
                        break;
                    }
                    Some(other) => {
                        value.push(*other);
                        at += 1;
                    }
                }
            }
            found.push((Token::Text(value), start));
        } else if let Some(symbol) = ["<=", ">=", "!=", "<>", "=", "<", ">", "(", ")", ",", "."]
            .into_iter()
            .find(|symbol| chars[at..].starts_with(&symbol.chars().collect::<Vec<_>>()))
        {
            // A dot inside a number or a datetime belongs to the word.
            found.push((Token::Symbol(symbol), at));
            at += symbol.len();
        } else if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '+' {
            let start = at;
            let numeric = c.is_ascii_digit() || c == '-' || c == '+';
            while at < chars.len() {
                let next = chars[at];
                let continues =
                    next.is_ascii_alphanumeric() || next == '_' || (numeric && matches!(next, ':' | '.' | '-' | '+'));
                if !continues {
                    break;
                }
                at += 1;
            }
            // `LAST_N_DAYS:7`: a date literal's number belongs to it.
            let numbered = chars.get(at) == Some(&':') && chars.get(at + 1).is_some_and(char::is_ascii_digit);
            if numbered && !numeric {
                at += 1;
                while chars.get(at).is_some_and(char::is_ascii_digit) {
                    at += 1;
                }
            }
            found.push((Token::Word(chars[start..at].iter().collect()), start));
        } else {
            return Err(SyntaxError::new(format!("unexpected character: '{c}'"), at));
        }
    }
    Ok(found)
}

/// Words that are never a name.
const RESERVED: [&str; 14] =
    ["SELECT", "FROM", "WHERE", "ORDER", "BY", "LIMIT", "OFFSET", "AND", "OR", "NOT", "IN", "LIKE", "NULLS", "NULL"];

struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
    /// The query text's length: where `<EOF>` is.
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(token, _)| token)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.peek().cloned();
        self.at += 1;
        token
    }

    /// Where the current token starts in the text.
    fn position(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |(_, at)| *at)
    }

    fn unexpected(&self) -> SyntaxError {
        let found = match self.peek() {
            Some(Token::Word(word)) => word.clone(),
            Some(Token::Text(text)) => format!("'{text}'"),
            Some(Token::Symbol(symbol)) => (*symbol).to_string(),
            None => "<EOF>".into(),
        };
        SyntaxError::new(format!("unexpected token: '{found}'"), self.position())
    }

    fn keyword(&mut self, keyword: &str) -> bool {
        match self.peek() {
            Some(Token::Word(word)) if word.eq_ignore_ascii_case(keyword) => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    fn expect_keyword(&mut self, keyword: &str) -> Result<(), SyntaxError> {
        if self.keyword(keyword) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn symbol(&mut self, symbol: &str) -> bool {
        match self.peek() {
            Some(Token::Symbol(found)) if *found == symbol => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    fn expect_symbol(&mut self, symbol: &str) -> Result<(), SyntaxError> {
        if self.symbol(symbol) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn name(&mut self) -> Result<String, SyntaxError> {
        match self.peek() {
            Some(Token::Word(word))
                if word.starts_with(|c: char| c.is_ascii_alphabetic())
                    && !RESERVED.iter().any(|reserved| reserved.eq_ignore_ascii_case(word)) =>
            {
                let word = word.clone();
                self.at += 1;
                Ok(word)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn path(&mut self) -> Result<Vec<String>, SyntaxError> {
        let mut path = vec![self.name()?];
        while self.symbol(".") {
            path.push(self.name()?);
        }
        Ok(path)
    }

    fn query(&mut self) -> Result<Query, SyntaxError> {
        self.expect_keyword("SELECT")?;
        let mut select = vec![self.selected()?];
        while self.symbol(",") {
            select.push(self.selected()?);
        }
        self.expect_keyword("FROM")?;
        let from_at = self.position();
        let from = self.name()?;
        let filter = if self.keyword("WHERE") { Some(self.or()?) } else { None };
        let mut order = Vec::new();
        if self.keyword("ORDER") {
            self.expect_keyword("BY")?;
            loop {
                order.push(self.ordering()?);
                if !self.symbol(",") {
                    break;
                }
            }
        }
        let limit = if self.keyword("LIMIT") { Some(self.count()?) } else { None };
        let offset = if self.keyword("OFFSET") { self.count()? } else { 0 };
        Ok(Query { select, from, from_at, filter, order, limit, offset })
    }

    fn selected(&mut self) -> Result<Selected, SyntaxError> {
        if self.symbol("(") {
            let children = self.query()?;
            self.expect_symbol(")")?;
            return Ok(Selected::Children(Box::new(children)));
        }
        let path = self.path()?;
        let function = match path.as_slice() {
            [name] => Aggregate::named(name),
            _ => None,
        };
        let Some(function) = function.filter(|_| self.symbol("(")) else { return Ok(Selected::Path(path)) };
        if function == Aggregate::Count && self.symbol(")") {
            return Ok(Selected::Count);
        }
        let path = self.path()?;
        self.expect_symbol(")")?;
        let alias = match self.peek() {
            Some(Token::Word(word)) if !word.eq_ignore_ascii_case("FROM") => Some(self.name()?),
            _ => None,
        };
        Ok(Selected::Aggregate { function, path, alias })
    }

    fn ordering(&mut self) -> Result<Ordering, SyntaxError> {
        let path = self.path()?;
        let descending = if self.keyword("DESC") {
            true
        } else {
            self.keyword("ASC");
            false
        };
        let mut nulls_last = descending;
        if self.keyword("NULLS") {
            nulls_last = if self.keyword("LAST") {
                true
            } else {
                self.expect_keyword("FIRST")?;
                false
            };
        }
        Ok(Ordering { path, descending, nulls_last })
    }

    fn count(&mut self) -> Result<usize, SyntaxError> {
        match self.next() {
            Some(Token::Word(word)) => word.parse().map_err(|_| {
                self.at -= 1;
                self.unexpected()
            }),
            _ => {
                self.at -= 1;
                Err(self.unexpected())
            }
        }
    }

    fn or(&mut self) -> Result<Condition, SyntaxError> {
        let mut condition = self.and()?;
        while self.keyword("OR") {
            condition = Condition::Or(Box::new(condition), Box::new(self.and()?));
        }
        Ok(condition)
    }

    fn and(&mut self) -> Result<Condition, SyntaxError> {
        let mut condition = self.not()?;
        while self.keyword("AND") {
            condition = Condition::And(Box::new(condition), Box::new(self.not()?));
        }
        Ok(condition)
    }

    fn not(&mut self) -> Result<Condition, SyntaxError> {
        if self.keyword("NOT") {
            return Ok(Condition::Not(Box::new(self.not()?)));
        }
        if self.symbol("(") {
            let inner = self.or()?;
            self.expect_symbol(")")?;
            return Ok(inner);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Condition, SyntaxError> {
        let path = self.path()?;
        if self.keyword("LIKE") {
            return match self.literal()? {
                Literal::Text(pattern) => Ok(Condition::Like { path, pattern }),
                _ => {
                    self.at -= 1;
                    Err(self.unexpected())
                }
            };
        }
        let negated = self.keyword("NOT");
        if self.keyword("IN") {
            self.expect_symbol("(")?;
            let mut values = vec![self.literal()?];
            while self.symbol(",") {
                values.push(self.literal()?);
            }
            self.expect_symbol(")")?;
            return Ok(Condition::In { path, values, negated });
        }
        if negated {
            return Err(self.unexpected());
        }
        let operator = match self.next() {
            Some(Token::Symbol("=")) => Operator::Equal,
            Some(Token::Symbol("!=" | "<>")) => Operator::NotEqual,
            Some(Token::Symbol("<")) => Operator::Less,
            Some(Token::Symbol("<=")) => Operator::LessOrEqual,
            Some(Token::Symbol(">")) => Operator::Greater,
            Some(Token::Symbol(">=")) => Operator::GreaterOrEqual,
            _ => {
                self.at -= 1;
                return Err(self.unexpected());
            }
        };
        Ok(Condition::Compare { path, operator, value: self.literal()? })
    }

    fn literal(&mut self) -> Result<Literal, SyntaxError> {
        match self.next() {
            Some(Token::Text(text)) => Ok(Literal::Text(text)),
            Some(Token::Word(word)) => literal_word(&word, Utc::now()).ok_or_else(|| {
                self.at -= 1;
                self.unexpected()
            }),
            _ => {
                self.at -= 1;
                Err(self.unexpected())
            }
        }
    }
}

fn literal_word(word: &str, now: DateTime<Utc>) -> Option<Literal> {
    match word.to_ascii_lowercase().as_str() {
        "true" => return Some(Literal::Bool(true)),
        "false" => return Some(Literal::Bool(false)),
        "null" => return Some(Literal::Null),
        _ => {}
    }
    if let Some((start, end)) = date_literal(word, now) {
        return Some(Literal::Range { start, end });
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(word) {
        return Some(Literal::DateTime(at.with_timezone(&Utc)));
    }
    if let Some(at) = parse_datetime(word) {
        return Some(Literal::DateTime(at));
    }
    if let Ok(date) = NaiveDate::parse_from_str(word, "%Y-%m-%d") {
        return Some(Literal::Date(date));
    }
    word.parse::<f64>().ok().map(Literal::Number)
}

/// The range a date literal names, in the org's time zone (GMT) and locale (weeks start on Sunday):
/// `TODAY`, `YESTERDAY`, `TOMORROW`, `LAST_WEEK`, `THIS_WEEK`, `NEXT_WEEK`, the same for `MONTH` and
/// `YEAR`, `LAST_90_DAYS`, `NEXT_90_DAYS`, and `LAST_N_DAYS:n` (today and the n days before),
/// `NEXT_N_DAYS:n` (the n days after today), `N_DAYS_AGO:n` (that one day), `LAST_N_WEEKS:n`,
/// `NEXT_N_WEEKS:n`, `LAST_N_MONTHS:n`, `NEXT_N_MONTHS:n`.
fn date_literal(word: &str, now: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let today = now.date_naive();
    let midnight = |date: NaiveDate| Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default());
    let days =
        |from: i64, to: i64| Some((midnight(today) + Duration::days(from), midnight(today) + Duration::days(to)));
    let week = i64::from(today.weekday().num_days_from_sunday());
    let month_start = |months: i32| {
        let index = today.year() * 12 + today.month0() as i32 + months;
        NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1).map(midnight)
    };
    let months = |from: i32, to: i32| Some((month_start(from)?, month_start(to)?));
    let year_start = |years: i32| NaiveDate::from_ymd_opt(today.year() + years, 1, 1).map(midnight);
    let upper = word.to_ascii_uppercase();
    let (name, n) = match upper.split_once(':') {
        Some((name, n)) => (name, Some(n.parse::<i64>().ok()?)),
        None => (upper.as_str(), None),
    };
    let n32 = |n: i64| i32::try_from(n).ok();
    match (name, n) {
        ("TODAY", None) => days(0, 1),
        ("YESTERDAY", None) => days(-1, 0),
        ("TOMORROW", None) => days(1, 2),
        ("LAST_WEEK", None) => days(-week - 7, -week),
        ("THIS_WEEK", None) => days(-week, 7 - week),
        ("NEXT_WEEK", None) => days(7 - week, 14 - week),
        ("LAST_MONTH", None) => months(-1, 0),
        ("THIS_MONTH", None) => months(0, 1),
        ("NEXT_MONTH", None) => months(1, 2),
        ("LAST_YEAR", None) => Some((year_start(-1)?, year_start(0)?)),
        ("THIS_YEAR", None) => Some((year_start(0)?, year_start(1)?)),
        ("NEXT_YEAR", None) => Some((year_start(1)?, year_start(2)?)),
        ("LAST_90_DAYS", None) => days(-90, 1),
        ("NEXT_90_DAYS", None) => days(1, 91),
        ("LAST_N_DAYS", Some(n)) => days(-n, 1),
        ("NEXT_N_DAYS", Some(n)) => days(1, n + 1),
        ("N_DAYS_AGO", Some(n)) => days(-n, -n + 1),
        ("LAST_N_WEEKS", Some(n)) => days(-week - 7 * n, -week),
        ("NEXT_N_WEEKS", Some(n)) => days(7 - week, 7 - week + 7 * n),
        ("LAST_N_MONTHS", Some(n)) => months(-n32(n)?, 0),
        ("NEXT_N_MONTHS", Some(n)) => months(1, n32(n)? + 1),
        _ => None,
    }
}

/// A datetime as Salesforce writes it in records (`2024-01-01T00:00:00.000+0000`) or in SOQL.
pub(crate) fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// Reads a query; the error is Salesforce's `MALFORMED_QUERY` message.
pub(crate) fn parse(text: &str) -> Result<Query, SyntaxError> {
    let mut parser = Parser { tokens: tokens(text)?, at: 0, end: text.chars().count() };
    let query = parser.query()?;
    if parser.peek().is_some() {
        return Err(parser.unexpected());
    }
    Ok(query)
}

/// Whether `text` matches a `LIKE` pattern (`%` any run, `_` one character), ignoring case.
pub(crate) fn like(text: &str, pattern: &str) -> bool {
    fn matches(text: &[char], pattern: &[char]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some(('%', rest)) => (0..=text.len()).any(|skip| matches(&text[skip..], rest)),
            Some(('_', rest)) => !text.is_empty() && matches(&text[1..], rest),
            Some((c, rest)) => text.first().is_some_and(|first| first == c) && matches(&text[1..], rest),
        }
    }
    let text: Vec<char> = text.to_lowercase().chars().collect();
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    matches(&text, &pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_polling_query_reads_whole() {
        let query = parse(
            "SELECT Id, Subject, Account.Name, Owner.Email, (SELECT Id, CommentBody FROM CaseComments) FROM Case \
             WHERE SystemModstamp >= 2024-01-01T00:00:00Z AND (Status != 'Closed' OR IsEscalated = true) \
             ORDER BY SystemModstamp ASC, Id LIMIT 200",
        )
        .unwrap();
        assert_eq!(query.from, "Case");
        assert_eq!(query.select[2], Selected::Path(vec!["Account".into(), "Name".into()]));
        assert!(matches!(&query.select[4], Selected::Children(children) if children.from == "CaseComments"));
        assert_eq!(query.limit, Some(200));
        assert_eq!(query.order.len(), 2);
        let Some(Condition::And(left, _)) = query.filter else { panic!("an AND") };
        assert!(matches!(
            *left,
            Condition::Compare { operator: Operator::GreaterOrEqual, value: Literal::DateTime(_), .. }
        ));
    }

    #[test]
    fn literals_of_every_kind() {
        let query = parse(
            "select count() from CaseComment where ParentId in ('500bm00000A1b2CAAR', '500bm00000A1b2D') \
             and CreatedDate > 2026-05-08T09:15:02.000+0000 and CommentBody like '%it\\'s%' and IsPublished = FALSE",
        )
        .unwrap();
        assert_eq!(query.select, vec![Selected::Count]);
        assert!(like("It's done", "%it's%") && !like("done", "%it's%") && like("abc", "a_c"));
    }

    #[test]
    fn errors_say_where_reading_stopped() {
        assert_eq!(parse("SELECT Id, FROM Case").unwrap_err().message, "unexpected token: 'FROM'");
        assert_eq!(parse("SELECT Id FROM Case WHERE").unwrap_err().message, "unexpected token: '<EOF>'");
        assert!(parse("SELECT Id FROM Case WHERE Subject = 'open").is_err());
        assert!(parse("SELECT Id FROM Case LIMIT 10 junk").is_err());
    }
}
