//! SOQL text: string literals escaped as the SOQL reference says (backslash, quotes, and the control
//! characters), so that a value never changes a query's meaning.

/// A quoted SOQL string literal.
pub(crate) fn quoted(value: &str) -> String {
    let mut literal = String::with_capacity(value.len() + 2);
    literal.push('\'');
    for c in value.chars() {
        match c {
            '\\' => literal.push_str("\\\\"),
            '\'' => literal.push_str("\\'"),
            '"' => literal.push_str("\\\""),
            '\n' => literal.push_str("\\n"),
            '\r' => literal.push_str("\\r"),
            '\t' => literal.push_str("\\t"),
            other => literal.push(other),
        }
    }
    literal.push('\'');
    literal
}

/// A list of quoted literals for `IN (…)`.
pub(crate) fn quoted_list<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    values.into_iter().map(quoted).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_backslashes_cannot_end_a_literal() {
        assert_eq!(quoted("O'Brien"), r"'O\'Brien'");
        assert_eq!(quoted(r"a\' OR Id != '"), r"'a\\\' OR Id != \''");
        assert_eq!(quoted_list(["a", "b"]), "'a', 'b'");
    }
}
