//! Where a value sits in the configuration file (`fields[2].values.High`): the key that ties a problem to
//! the span index, and the text shown to the user.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct ConfigPath(Vec<Segment>);

impl ConfigPath {
    pub(crate) fn root() -> Self {
        ConfigPath::default()
    }

    pub(crate) fn key(&self, key: impl Into<String>) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.into()));
        ConfigPath(segments)
    }

    pub(crate) fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        ConfigPath(segments)
    }

    pub(crate) fn segments(&self) -> &[Segment] {
        &self.0
    }

    pub(crate) fn parent(&self) -> Option<ConfigPath> {
        let (_, rest) = self.0.split_last()?;
        Some(ConfigPath(rest.to_vec()))
    }

    pub(crate) fn starts_with(&self, prefix: &ConfigPath) -> bool {
        self.0.starts_with(&prefix.0)
    }

    pub(crate) fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Segment::Key(key)) => Some(key),
            _ => None,
        }
    }
}

/// Keys that are plain words print as `.key`; keys with dots or spaces (`System.State`, `To Do`) print
/// quoted so the path stays unambiguous.
impl fmt::Display for ConfigPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key)
                    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
                {
                    if position > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                Segment::Key(key) => write!(f, "[{key:?}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_print_like_the_file_reads() {
        let path = ConfigPath::root().key("fields").index(2).key("values").key("To Do");
        assert_eq!(path.to_string(), r#"fields[2].values["To Do"]"#);
        assert_eq!(ConfigPath::root().key("side1").key("secret").to_string(), "side1.secret");
        assert_eq!(path.parent().map(|p| p.to_string()).as_deref(), Some("fields[2].values"));
    }
}
