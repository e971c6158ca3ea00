//! `tandem users template`: a users sheet to start from, as OpsHub users keep theirs. It lists the
//! people seen on each side (assignees, reporters, whoever created or last changed an item, in the
//! items changed since a given time), pairs those whose e-mail the other side knows too (seen there,
//! or found by a look-up), and leaves the others' partner cell empty for a person to fill. Each cell
//! carries the person's name as a note. `users.map_file` reads the sheet once it is filled; until
//! then its empty cells are reported by sheet, row and column.

use anyhow::{bail, Context, Result};
use rust_xlsxwriter::{Format, Note, Workbook};
use std::collections::BTreeMap;
use std::path::Path;
use tandem_engine::Engine;
use tandem_model::{FieldValue, Side, Timestamp, UserRef};

/// One row of the sheet: a person on side 1, their counterpart on side 2, either possibly unknown.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateRow {
    pub side1: Option<UserRef>,
    pub side2: Option<UserRef>,
}

/// The sheet's rows (pairs first, then side 1's unpaired, then side 2's, each by e-mail), and the
/// people left out because their system shows no e-mail address.
#[derive(Debug, Default)]
pub struct Template {
    pub rows: Vec<TemplateRow>,
    pub without_email: Vec<(Side, UserRef)>,
}

/// People with an e-mail address, by lower-cased address.
type People = BTreeMap<String, UserRef>;

/// Reads who appears in each side's items changed since `since`, and pairs them.
pub async fn build(engine: &Engine, since: Timestamp) -> Result<Template> {
    let mut template = Template::default();
    let mut seen: [People; 2] = [People::new(), People::new()];
    for side in Side::BOTH {
        let service = engine.connector(side).service_account().await.ok();
        for item in engine.connector(side).changed_since(since).await? {
            let users = item.fields.values().filter_map(|value| match value {
                FieldValue::User(user) => Some(user),
                _ => None,
            });
            for user in users.chain(item.created_by.iter()).chain(item.updated_by.iter()) {
                if service.as_ref().is_some_and(|service| service.id == user.id) {
                    continue;
                }
                match &user.email {
                    Some(email) => {
                        seen[index(side)].entry(email.to_lowercase()).or_insert_with(|| user.clone());
                    }
                    None if !template.without_email.iter().any(|(_, known)| known.id == user.id) => {
                        template.without_email.push((side, user.clone()));
                    }
                    None => {}
                }
            }
        }
    }
    let [mut ones, mut twos] = seen;
    // Pairs by e-mail: seen on both sides, or seen on one and found on the other.
    let mut unpaired = [Vec::new(), Vec::new()];
    for (email, one) in std::mem::take(&mut ones) {
        let two = match twos.remove(&email) {
            Some(two) => Some(two),
            None => engine.connector(Side::Two).find_user_by_email(&email).await.ok().flatten(),
        };
        match two {
            Some(two) => template.rows.push(TemplateRow { side1: Some(one), side2: Some(two) }),
            None => unpaired[0].push(TemplateRow { side1: Some(one), side2: None }),
        }
    }
    for (email, two) in twos {
        match engine.connector(Side::One).find_user_by_email(&email).await.ok().flatten() {
            Some(one) => template.rows.push(TemplateRow { side1: Some(one), side2: Some(two) }),
            None => unpaired[1].push(TemplateRow { side1: None, side2: Some(two) }),
        }
    }
    template.rows.extend(unpaired.into_iter().flatten());
    Ok(template)
}

fn index(side: Side) -> usize {
    usize::from(side.number() - 1)
}

/// Writes the sheet: `.xlsx` (names as cell notes, empty cells marked to fill) or `.csv`.
pub fn write(template: &Template, path: &Path) -> Result<()> {
    let extension = path.extension().and_then(|extension| extension.to_str()).unwrap_or_default().to_lowercase();
    match extension.as_str() {
        "xlsx" => write_xlsx(template, path),
        "csv" => write_csv(template, path),
        other => bail!("{}: write the template as .xlsx or .csv, not `.{other}`", path.display()),
    }
}

fn email(user: Option<&UserRef>) -> &str {
    user.and_then(|user| user.email.as_deref()).unwrap_or_default()
}

fn write_csv(template: &Template, path: &Path) -> Result<()> {
    let mut writer = csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    writer.write_record(["side1", "side2"])?;
    for row in &template.rows {
        writer.write_record([email(row.side1.as_ref()), email(row.side2.as_ref())])?;
    }
    writer.flush()?;
    Ok(())
}

fn write_xlsx(template: &Template, path: &Path) -> Result<()> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet().set_name("Users")?;
    let header = Format::new().set_bold();
    let to_fill = Format::new().set_background_color("#FFF2CC");
    sheet.write_string_with_format(0, 0, "side1", &header)?;
    sheet.write_string_with_format(0, 1, "side2", &header)?;
    sheet.set_column_width(0, 36)?;
    sheet.set_column_width(1, 36)?;
    for (number, row) in template.rows.iter().enumerate() {
        let line = u32::try_from(number + 1)?;
        for (column, user) in [(0u16, row.side1.as_ref()), (1u16, row.side2.as_ref())] {
            match user {
                Some(user) => {
                    sheet.write_string(line, column, email(Some(user)))?;
                    if let Some(name) = &user.display_name {
                        sheet.insert_note(line, column, &Note::new(name).set_author("tandem"))?;
                    }
                }
                None => {
                    sheet.write_blank(line, column, &to_fill)?;
                }
            }
        }
    }
    workbook.save(path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

impl std::fmt::Display for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let paired = self.rows.iter().filter(|row| row.side1.is_some() && row.side2.is_some()).count();
        write!(f, "{} people: {paired} paired by e-mail, {} to fill in", self.rows.len(), self.rows.len() - paired)?;
        if !self.without_email.is_empty() {
            let names: Vec<String> = self
                .without_email
                .iter()
                .map(|(side, user)| format!("side {side} {}", user.display_name.as_deref().unwrap_or(&user.id)))
                .collect();
            write!(
                f,
                "\n{} more show no e-mail address (their system hides it), so the sheet cannot name them: {}",
                names.len(),
                names.join(", ")
            )?;
        }
        Ok(())
    }
}
