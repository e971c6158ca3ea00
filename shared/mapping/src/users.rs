//! User mapping: which user on the target side stands for a user on the source side.
//!
//! The rule: the explicit table first (inline `map`, then `map_file`; e-mails compare
//! case-insensitively), then the source user's own e-mail when `match_by_email` is on. When the
//! source has no user, or no target user is found, the target side's default user is written.

use crate::field::index;
use tandem_model::{Side, UserRef};

/// One person's e-mail on each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPair {
    pub side1: String,
    pub side2: String,
}

impl UserPair {
    fn email(&self, side: Side) -> &str {
        match side {
            Side::One => &self.side1,
            Side::Two => &self.side2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserMapping {
    pub(crate) match_by_email: bool,
    /// Inline pairs first, then the CSV's, so that the inline table overrides the file.
    pub(crate) table: Vec<UserPair>,
    pub(crate) defaults: [Option<String>; 2],
}

impl Default for UserMapping {
    fn default() -> Self {
        UserMapping { match_by_email: true, table: Vec::new(), defaults: [None, None] }
    }
}

impl UserMapping {
    /// The e-mail of the user to look up on the other side for `source`, a user read on `from`; `None`
    /// when neither the table nor e-mail matching gives one (then the default user applies).
    pub fn target_email(&self, from: Side, source: &UserRef) -> Option<String> {
        let email = source.email.as_deref()?;
        self.table
            .iter()
            .find(|pair| pair.email(from).eq_ignore_ascii_case(email))
            .map(|pair| pair.email(from.other()).to_string())
            .or_else(|| self.match_by_email.then(|| email.to_string()))
    }

    /// The e-mail of the user written on `target` when the source has no user or no matching target
    /// user is found.
    pub fn default_user(&self, target: Side) -> Option<&str> {
        self.defaults[index(target)].as_deref()
    }

    pub fn match_by_email(&self) -> bool {
        self.match_by_email
    }

    /// The explicit table, inline pairs first.
    pub fn pairs(&self) -> &[UserPair] {
        &self.table
    }
}

/// A row of the users CSV, with its line for problems.
pub(crate) struct CsvRow {
    pub line: usize,
    pub pair: UserPair,
}

/// Reads the users CSV (`side1,side2` header, one pair of e-mails a row). Problems come back as
/// (line, message).
pub(crate) fn read_csv(text: &str) -> (Vec<CsvRow>, Vec<(usize, String)>) {
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut header_seen = false;
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(1, |position| line_at(text, position));
                problems.push((line, format!("unreadable row: {error}")));
                continue;
            }
        };
        let line = record.position().map_or(1, |position| line_at(text, position));
        if record.iter().all(str::is_empty) {
            continue;
        }
        if !header_seen {
            header_seen = true;
            let header: Vec<&str> = record.iter().collect();
            if header != ["side1", "side2"] {
                problems.push((line, format!("the header must be `side1,side2`, found `{}`", header.join(","))));
            }
            continue;
        }
        if record.len() != 2 {
            problems.push((line, format!("expected 2 columns (side1,side2), found {}", record.len())));
            continue;
        }
        let pair = UserPair { side1: record[0].to_string(), side2: record[1].to_string() };
        for email in [&pair.side1, &pair.side2] {
            if let Err(message) = check_email(email) {
                problems.push((line, message));
            }
        }
        rows.push(CsvRow { line, pair });
    }
    if !header_seen {
        problems.push((1, "the file is empty; expected the header `side1,side2`".into()));
    }
    (rows, problems)
}

/// The 1-based line of a record. The reader's own line count and offset include the blank lines and
/// comment lines it skipped before the record, so the count starts at the record's first character.
fn line_at(text: &str, position: &csv::Position) -> usize {
    let bytes = text.as_bytes();
    let mut offset = usize::try_from(position.byte()).unwrap_or(usize::MAX).min(bytes.len());
    loop {
        match bytes.get(offset) {
            Some(b'\n' | b'\r') => offset += 1,
            Some(b'#') => {
                offset = bytes[offset..].iter().position(|byte| *byte == b'\n').map_or(bytes.len(), |end| offset + end)
            }
            _ => break,
        }
    }
    bytes[..offset].iter().filter(|byte| **byte == b'\n').count() + 1
}

/// The only check an e-mail gets here: the systems decide whether the user exists.
pub(crate) fn check_email(email: &str) -> Result<(), String> {
    let valid = email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'))
        && !email.contains(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err(format!("`{email}` is not an e-mail address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(email: Option<&str>) -> UserRef {
        UserRef { id: "id-1".into(), email: email.map(str::to_string), display_name: Some("Someone".into()) }
    }

    fn mapping(match_by_email: bool) -> UserMapping {
        UserMapping {
            match_by_email,
            table: vec![UserPair { side1: "Ada@Fabrikam.com".into(), side2: "ada.lovelace@contoso.com".into() }],
            defaults: [Some("svc-jira@fabrikam.com".into()), None],
        }
    }

    #[test]
    fn table_first_case_insensitive_then_same_email() {
        let users = mapping(true);
        assert_eq!(
            users.target_email(Side::One, &user(Some("ada@fabrikam.com"))).as_deref(),
            Some("ada.lovelace@contoso.com")
        );
        assert_eq!(
            users.target_email(Side::Two, &user(Some("ADA.LOVELACE@contoso.com"))).as_deref(),
            Some("Ada@Fabrikam.com")
        );
        assert_eq!(users.target_email(Side::One, &user(Some("bob@fabrikam.com"))).as_deref(), Some("bob@fabrikam.com"));
        assert_eq!(users.target_email(Side::One, &user(None)), None);
    }

    #[test]
    fn without_email_matching_only_the_table_maps() {
        let users = mapping(false);
        assert_eq!(users.target_email(Side::One, &user(Some("bob@fabrikam.com"))), None);
        assert!(users.target_email(Side::One, &user(Some("ada@fabrikam.com"))).is_some());
        assert_eq!(users.default_user(Side::One), Some("svc-jira@fabrikam.com"));
        assert_eq!(users.default_user(Side::Two), None);
    }

    #[test]
    fn csv_rows_and_problems_carry_line_numbers() {
        let (rows, problems) = read_csv("side1,side2\na@x.com, b@y.com\n\nc@x.com\nd@x.com,not-an-email\n");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].pair.side2, "b@y.com");
        assert_eq!(rows[0].line, 2);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].0, 4);
        assert!(problems[0].1.contains("found 1"));
        assert_eq!(problems[1].0, 5);
        let (_, problems) = read_csv("side1,side2\n# a note\n\n# another\nnot-an-email,b@y.com\n");
        assert_eq!(problems, vec![(5, "`not-an-email` is not an e-mail address".to_string())], "comments skipped");
        let (_, problems) = read_csv("email,other\n");
        assert!(problems[0].1.contains("header"));
        let (_, problems) = read_csv("");
        assert!(problems[0].1.contains("empty"));
    }
}
