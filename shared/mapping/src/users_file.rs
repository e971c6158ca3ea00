//! The users table's file (`users.map_file`): a CSV file, or a spreadsheet as OpsHub users keep theirs
//! (`.xlsx`, `.xlsm`, `.xlsb`, `.xls` or `.ods`; the first sheet), both with the header `side1,side2` and
//! one pair of e-mail addresses a row. A spreadsheet's problems name the sheet, the row and the column.

use crate::users::{read_csv, CsvRow};
#[cfg(feature = "sheets")]
use crate::{users::check_email, UserPair};
#[cfg(feature = "sheets")]
use calamine::{open_workbook_auto, Data, Reader};
use std::path::Path;

/// A users file's pairs, and its problems as (line or row, message).
pub(crate) type UsersFile = (Vec<CsvRow>, Vec<(usize, String)>);

/// The rows of a users file and its problems; `Err` when it cannot be read at all.
pub(crate) fn read_users_file(path: &Path) -> Result<UsersFile, String> {
    let extension = path.extension().and_then(|extension| extension.to_str()).unwrap_or_default().to_lowercase();
    if matches!(extension.as_str(), "xlsx" | "xlsm" | "xlsb" | "xls" | "ods") {
        return read_sheet(path);
    }
    let text = std::fs::read_to_string(path).map_err(|error| error.to_string())?;
    Ok(read_csv(&text))
}

/// Without the `sheets` feature (the functions, which read stored configurations whose users are
/// inline), a spreadsheet is refused with what to do instead.
#[cfg(not(feature = "sheets"))]
fn read_sheet(_path: &Path) -> Result<UsersFile, String> {
    Err("this build reads users tables from CSV files only; save the sheet as CSV, or store the \
         configuration with `tandem integrations put`, which moves the sheet's pairs inline"
        .into())
}

#[cfg(feature = "sheets")]
fn read_sheet(path: &Path) -> Result<UsersFile, String> {
    let mut workbook = open_workbook_auto(path).map_err(|error| format!("not a readable spreadsheet: {error}"))?;
    let sheet = workbook.sheet_names().first().cloned().ok_or("the workbook has no sheet")?;
    let range = workbook.worksheet_range(&sheet).map_err(|error| format!("sheet `{sheet}`: {error}"))?;
    let (first_row, first_column) = range.start().unwrap_or((0, 0));
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut header_seen = false;
    for (offset, cells) in range.rows().enumerate() {
        // Rows and columns as a spreadsheet shows them: row 1, column A.
        let row = usize::try_from(first_row).unwrap_or(0) + offset + 1;
        let column = |index: usize| column_name(usize::try_from(first_column).unwrap_or(0) + index);
        let texts: Vec<String> = cells.iter().map(cell_text).collect();
        let filled: Vec<(usize, &String)> = texts.iter().enumerate().filter(|(_, text)| !text.is_empty()).collect();
        if filled.is_empty() {
            continue;
        }
        if !header_seen {
            header_seen = true;
            let header: Vec<&str> = filled.iter().map(|(_, text)| text.as_str()).collect();
            if !header.iter().map(|text| text.to_lowercase()).eq(["side1", "side2"]) {
                problems.push((
                    row,
                    format!(
                        "sheet `{sheet}`, row {row}: the header must be `side1`, `side2`, found `{}`",
                        header.join("`, `")
                    ),
                ));
            }
            continue;
        }
        if let Some((extra, _)) = filled.iter().find(|(index, _)| *index >= 2) {
            let message = format!(
                "sheet `{sheet}`, row {row}, column {}: only two columns (side1, side2) are read",
                column(*extra)
            );
            problems.push((row, message));
            continue;
        }
        let pair = UserPair {
            side1: texts.first().cloned().unwrap_or_default(),
            side2: texts.get(1).cloned().unwrap_or_default(),
        };
        let mut valid = true;
        for (index, email) in [&pair.side1, &pair.side2].into_iter().enumerate() {
            if let Err(message) = check_email(email) {
                problems.push((row, format!("sheet `{sheet}`, row {row}, column {}: {message}", column(index))));
                valid = false;
            }
        }
        if valid {
            rows.push(CsvRow { line: row, pair });
        }
    }
    if !header_seen {
        problems.push((1, format!("sheet `{sheet}` is empty; expected the header `side1`, `side2` in its first row")));
    }
    Ok((rows, problems))
}

/// A cell as text: e-mail addresses are strings; anything else is shown as the sheet would show it.
#[cfg(feature = "sheets")]
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(text) => text.trim().to_string(),
        other => other.to_string().trim().to_string(),
    }
}

/// `A` for the first column, `Z`, `AA`, … as spreadsheets name them.
#[cfg(feature = "sheets")]
fn column_name(index: usize) -> String {
    let mut name = Vec::new();
    let mut rest = index + 1;
    while rest > 0 {
        let digit = (rest - 1) % 26;
        name.push(char::from(b'A' + u8::try_from(digit).unwrap_or(0)));
        rest = (rest - 1) / 26;
    }
    name.iter().rev().collect()
}

#[cfg(all(test, feature = "sheets"))]
mod tests {
    use super::*;
    use rust_xlsxwriter::Workbook;

    fn sheet(rows: &[&[&str]]) -> (tempfile::TempDir, std::path::PathBuf) {
        let folder = tempfile::tempdir().expect("a folder");
        let path = folder.path().join("users.xlsx");
        let mut workbook = Workbook::new();
        let worksheet = workbook.add_worksheet().set_name("People").expect("a sheet name");
        for (row, cells) in rows.iter().enumerate() {
            for (column, text) in cells.iter().enumerate() {
                let (row, column) =
                    (u32::try_from(row).expect("few rows"), u16::try_from(column).expect("few columns"));
                worksheet.write_string(row, column, *text).expect("a cell");
            }
        }
        workbook.save(&path).expect("saved");
        (folder, path)
    }

    #[test]
    fn the_first_sheet_holds_the_pairs_under_its_header() {
        let (_folder, path) = sheet(&[
            &["side1", "side2"],
            &["grace@a.example", "grace@b.example"],
            &[],
            &["alan@a.example", "alan@b.example"],
        ]);
        let (rows, problems) = read_users_file(&path).expect("readable");
        assert!(problems.is_empty(), "{problems:?}");
        let pairs: Vec<(&str, &str, usize)> =
            rows.iter().map(|row| (row.pair.side1.as_str(), row.pair.side2.as_str(), row.line)).collect();
        assert_eq!(pairs, [("grace@a.example", "grace@b.example", 2), ("alan@a.example", "alan@b.example", 4)]);
    }

    #[test]
    fn problems_name_the_sheet_row_and_column() {
        let (_folder, path) = sheet(&[
            &["side1", "side2"],
            &["grace@a.example", "not an address"],
            &["a@a.example", "b@b.example", "extra"],
        ]);
        let (rows, problems) = read_users_file(&path).expect("readable");
        assert!(rows.is_empty());
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].0, 2);
        assert!(problems[0].1.starts_with("sheet `People`, row 2, column B: `not an address`"), "{problems:?}");
        assert!(problems[1].1.contains("row 3, column C"), "{problems:?}");
        let (_folder, headless) = sheet(&[&["email", "other"]]);
        let (_, problems) = read_users_file(&headless).expect("readable");
        assert!(problems[0].1.contains("the header must be `side1`, `side2`"), "{problems:?}");
        assert_eq!(column_name(27), "AB");
    }

    #[test]
    fn a_file_that_is_not_a_spreadsheet_is_refused_with_the_reason() {
        let folder = tempfile::tempdir().expect("a folder");
        let path = folder.path().join("users.xlsx");
        std::fs::write(&path, "side1,side2\n").expect("written");
        assert!(read_users_file(&path).err().is_some_and(|reason| reason.contains("not a readable spreadsheet")));
    }
}
