//! An integration file as it is stored in a deployed stack's registry, where no folder lies next to it:
//! the pairs of `users.map_file` move under `users.map`, after the inline ones, so the stored text means
//! what the file and its sheet meant together. Comments do not survive (the stored copy is for the
//! functions; the file stays the one people edit).

use crate::users_file::read_users_file;
use serde_yaml_ng::{Mapping, Value};
use std::collections::HashSet;
use std::path::Path;

/// The file's text ready to store, and a note for each sheet pair left out because the inline table
/// already maps one of its e-mails (the inline table wins, as it does when the file is read).
/// `Err` when the text is not YAML or the sheet cannot be read.
pub fn storable_text(yaml: &str, base_dir: &Path) -> Result<(String, Vec<String>), String> {
    let mut document: Value = serde_yaml_ng::from_str(yaml).map_err(|error| format!("not YAML: {error}"))?;
    let Some(users) = document.get_mut("users").and_then(Value::as_mapping_mut) else {
        return Ok((yaml.to_string(), Vec::new()));
    };
    let Some(relative) = users.remove("map_file") else {
        return Ok((yaml.to_string(), Vec::new()));
    };
    let relative = relative.as_str().ok_or("users.map_file is not a file name")?.to_string();
    let sheet = base_dir.join(&relative);
    let (rows, problems) =
        read_users_file(&sheet).map_err(|error| format!("cannot read {}: {error}", sheet.display()))?;
    if let Some((line, message)) = problems.first() {
        return Err(format!("{}:{line}: {message}", sheet.display()));
    }
    let map = users.entry("map".into()).or_insert_with(|| Value::Sequence(Vec::new()));
    let pairs = map.as_sequence_mut().ok_or("users.map is not a list")?;
    let mut mapped: HashSet<String> = HashSet::new();
    for pair in pairs.iter() {
        for side in ["side1", "side2"] {
            if let Some(email) = pair.get(side).and_then(Value::as_str) {
                mapped.insert(format!("{side}:{}", email.to_lowercase()));
            }
        }
    }
    let mut notes = Vec::new();
    for row in rows {
        let (side1, side2) = (row.pair.side1, row.pair.side2);
        let keys = [format!("side1:{}", side1.to_lowercase()), format!("side2:{}", side2.to_lowercase())];
        if keys.iter().any(|key| mapped.contains(key)) {
            notes.push(format!(
                "{}:{}: {side1} ↔ {side2} left out: users.map already maps one of them",
                relative, row.line
            ));
            continue;
        }
        mapped.extend(keys);
        let mut pair = Mapping::new();
        pair.insert("side1".into(), side1.into());
        pair.insert("side2".into(), side2.into());
        pairs.push(Value::Mapping(pair));
    }
    let text = serde_yaml_ng::to_string(&document).map_err(|error| format!("cannot write the YAML: {error}"))?;
    Ok((text, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sheet_moves_under_the_inline_pairs_which_win() {
        let folder = tempfile::tempdir().expect("a folder");
        std::fs::write(
            folder.path().join("users.csv"),
            "side1,side2\ngrace@a.example,grace@b.example\nada@a.example,someone@b.example\n",
        )
        .expect("the sheet");
        let yaml =
            "name: ops\nusers:\n  map_file: users.csv\n  map:\n    - { side1: ada@a.example, side2: ada@b.example }\n";
        let (stored, notes) = storable_text(yaml, folder.path()).expect("storable");
        let stored: Value = serde_yaml_ng::from_str(&stored).expect("YAML");
        assert!(stored["users"].get("map_file").is_none());
        let pairs: Vec<(&str, &str)> = stored["users"]["map"]
            .as_sequence()
            .expect("a list")
            .iter()
            .map(|pair| (pair["side1"].as_str().unwrap_or_default(), pair["side2"].as_str().unwrap_or_default()))
            .collect();
        assert_eq!(pairs, [("ada@a.example", "ada@b.example"), ("grace@a.example", "grace@b.example")]);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].starts_with("users.csv:3: ada@a.example"), "{notes:?}");
    }

    #[test]
    fn a_file_without_a_sheet_is_stored_as_written() {
        let yaml = "# comment kept\nname: ops\nusers:\n  match_by_email: true\n";
        assert_eq!(storable_text(yaml, Path::new(".")), Ok((yaml.to_string(), Vec::new())));
        assert!(storable_text("name: ops\nusers:\n  map_file: missing.csv\n", Path::new(".")).is_err());
    }
}
