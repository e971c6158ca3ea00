//! Comment visibility: a comment restricted to a project role or a group is seen only by its members.
//! The site's roles and groups are the defaults every user starts with plus any a configured user has.

use super::error::ApiError;
use super::SimUser;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// The project roles every simulated user has unless configured otherwise.
pub const DEFAULT_PROJECT_ROLES: [&str; 3] = ["Administrators", "Developers", "Users"];

/// The groups every simulated user is in unless configured otherwise.
pub const DEFAULT_GROUPS: [&str; 2] = ["jira-administrators", "jira-software-users"];

/// Jira reports visibility problems under this key of `errors`.
const ERROR_KEY: &str = "commentLevel";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restriction {
    Role,
    Group,
}

impl Restriction {
    /// The roles or the groups `user` has.
    fn held_by(self, user: &SimUser) -> &BTreeSet<String> {
        match self {
            Restriction::Role => &user.project_roles,
            Restriction::Group => &user.groups,
        }
    }
}

/// Who may see a comment: the members of one project role or one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visibility {
    pub restriction: Restriction,
    /// The role's or the group's name.
    pub name: String,
}

impl Visibility {
    /// Reads `{"type": "role"|"group", "value": name, "identifier": …}`; `null` or `{}` is no restriction
    /// (Atlassian's schema types the field as an object, so `{}` is the form it accepts). The role or
    /// group must exist and `actor` must belong to it, as Jira requires of a comment's author.
    pub fn parse(value: &Value, users: &[SimUser], actor: &SimUser) -> Result<Option<Visibility>, ApiError> {
        if value.is_null() || value.as_object().is_some_and(serde_json::Map::is_empty) {
            return Ok(None);
        }
        let restriction = match value.get("type").and_then(Value::as_str) {
            Some("role") => Restriction::Role,
            Some("group") => Restriction::Group,
            _ => return Err(refusal("The visibility type must be 'group' or 'role'.")),
        };
        let known = known_names(users, restriction);
        let named = value.get("value").or_else(|| value.get("identifier")).and_then(Value::as_str);
        let name = named
            .and_then(|named| known.iter().find(|known| names(restriction, known, named)))
            .ok_or_else(|| refusal(unknown(restriction, named.unwrap_or_default())))?;
        let visibility = Visibility { restriction, name: name.clone() };
        if !visibility.allows(actor) {
            return Err(refusal(match restriction {
                Restriction::Role => format!("You are currently not a member of the project role: {name}."),
                Restriction::Group => format!("You are currently not a member of the group: {name}."),
            }));
        }
        Ok(Some(visibility))
    }

    pub fn allows(&self, user: &SimUser) -> bool {
        self.restriction.held_by(user).contains(&self.name)
    }

    /// As Jira shows it: a role is identified by its name, a group by its id.
    pub fn to_json(&self) -> Value {
        match self.restriction {
            Restriction::Role => json!({ "type": "role", "value": self.name, "identifier": self.name }),
            Restriction::Group => json!({ "type": "group", "value": self.name, "identifier": group_id(&self.name) }),
        }
    }
}

/// Whether a comment with this visibility (none: everyone) may be seen by `user`.
pub fn can_see(visibility: Option<&Visibility>, user: Option<&SimUser>) -> bool {
    match (visibility, user) {
        (None, _) => true,
        (Some(visibility), Some(user)) => visibility.allows(user),
        (Some(_), None) => false,
    }
}

/// A stable id for a group name, shaped like the UUIDs Jira Cloud gives groups.
pub fn group_id(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Uuid::from_bytes(bytes).to_string()
}

fn known_names(users: &[SimUser], restriction: Restriction) -> BTreeSet<String> {
    let defaults: &[&str] = match restriction {
        Restriction::Role => &DEFAULT_PROJECT_ROLES,
        Restriction::Group => &DEFAULT_GROUPS,
    };
    let held = users.iter().flat_map(|user| restriction.held_by(user)).cloned();
    defaults.iter().map(|name| name.to_string()).chain(held).collect()
}

/// Roles are named in any case; a group may be named by its id too.
fn names(restriction: Restriction, known: &str, named: &str) -> bool {
    known.eq_ignore_ascii_case(named) || (restriction == Restriction::Group && group_id(known) == named)
}

fn unknown(restriction: Restriction, named: &str) -> String {
    match restriction {
        Restriction::Role => format!("Project role: {named} does not exist."),
        Restriction::Group => format!("Group: {named} does not exist."),
    }
}

fn refusal(message: impl Into<String>) -> ApiError {
    ApiError::field(ERROR_KEY, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_groups_must_exist_and_include_the_author() {
        let outsider = SimUser::bob().with_project_roles(["Users"]).with_groups(["support"]);
        let users = vec![SimUser::alice(), outsider.clone()];
        let alice = &users[0];
        let role = Visibility::parse(&json!({"type": "role", "value": "developers"}), &users, alice).unwrap().unwrap();
        assert_eq!(role.to_json(), json!({"type": "role", "value": "Developers", "identifier": "Developers"}));
        assert!(!role.allows(&outsider));
        let by_id = json!({"type": "group", "identifier": group_id("support")});
        assert_eq!(Visibility::parse(&by_id, &users, &outsider).unwrap().unwrap().name, "support");
        assert_eq!(Visibility::parse(&Value::Null, &users, alice).unwrap(), None);
        assert_eq!(Visibility::parse(&json!({}), &users, alice).unwrap(), None);

        let unknown = Visibility::parse(&json!({"type": "role", "value": "Wizards"}), &users, alice).unwrap_err();
        assert_eq!(unknown.errors[ERROR_KEY], "Project role: Wizards does not exist.");
        let not_member = Visibility::parse(&json!({"type": "group", "value": "support"}), &users, alice).unwrap_err();
        assert!(not_member.errors[ERROR_KEY].contains("not a member"), "{not_member:?}");
        assert!(Visibility::parse(&json!({"type": "team", "value": "x"}), &users, alice).is_err());
    }
}
