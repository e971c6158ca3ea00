//! Deserialisation that reports every structural problem (unknown keys, wrong types, unknown enum
//! values), not just the first: after each error the offending node is taken out of the YAML value and
//! deserialisation runs again. Every key of the file types is optional, so taking a node out never
//! creates a new error; sequence items are replaced by an empty mapping instead, which keeps the
//! indices of the items after them.

use crate::path::{ConfigPath, Segment};
use crate::problems::Problems;
use serde::de::DeserializeOwned;
use serde_yaml_ng::{Mapping, Value};

/// More passes than any real file has nodes; guards against a value that keeps failing in place.
const MAX_PASSES: usize = 10_000;

pub(crate) fn deserialize_all<T: DeserializeOwned>(mut value: Value, problems: &mut Problems) -> Option<T> {
    for _ in 0..MAX_PASSES {
        let error = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(parsed) => return Some(parsed),
            Err(error) => error,
        };
        let mut path = to_config_path(error.path());
        let message = error.inner().to_string();
        let unknown_key = unknown_field(&message);
        if let Some(key) = unknown_key {
            // serde reports an unknown key at the mapping that holds it.
            if path.last_key() != Some(key) {
                path = path.key(key);
            }
            problems.key(&path, message.replacen("unknown field", "unknown key", 1));
        } else {
            problems.value(&path, message.clone());
        }
        if path.segments().is_empty() || problems.is_rejected(&path) || !take_out(&mut value, &path) {
            return None;
        }
        problems.reject(&path);
    }
    None
}

fn to_config_path(path: &serde_path_to_error::Path) -> ConfigPath {
    path.iter().fold(ConfigPath::root(), |path, segment| match segment {
        serde_path_to_error::Segment::Seq { index } => path.index(*index),
        serde_path_to_error::Segment::Map { key } => path.key(key.clone()),
        serde_path_to_error::Segment::Enum { variant } => path.key(variant.clone()),
        serde_path_to_error::Segment::Unknown => path.key("?"),
    })
}

/// The key named by serde's "unknown field `x`, expected …" message.
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(&rest[..rest.find('`')?])
}

/// Removes the node at `path`; false when there is no such node.
fn take_out(root: &mut Value, path: &ConfigPath) -> bool {
    let Some((last, parents)) = path.segments().split_last() else {
        return false;
    };
    let mut node = root;
    for segment in parents {
        let next = match (segment, node) {
            (Segment::Key(key), Value::Mapping(mapping)) => find_key(mapping, key),
            (Segment::Index(index), Value::Sequence(items)) => items.get_mut(*index),
            _ => None,
        };
        match next {
            Some(next) => node = next,
            None => return false,
        }
    }
    match (last, node) {
        (Segment::Key(key), Value::Mapping(mapping)) => {
            let found = mapping.keys().find(|candidate| key_text(candidate).as_deref() == Some(key.as_str())).cloned();
            found.is_some_and(|found| mapping.remove(&found).is_some())
        }
        (Segment::Index(index), Value::Sequence(items)) => match items.get_mut(*index) {
            Some(item) => {
                *item = Value::Mapping(Mapping::new());
                true
            }
            None => false,
        },
        _ => false,
    }
}

fn find_key<'v>(mapping: &'v mut Mapping, key: &str) -> Option<&'v mut Value> {
    mapping.iter_mut().find(|(candidate, _)| key_text(candidate).as_deref() == Some(key)).map(|(_, value)| value)
}

/// A mapping key as serde_path_to_error prints it.
fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}
