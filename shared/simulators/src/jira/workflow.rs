//! The simulated site's workflow, priorities and issue types: the fixed vocabulary of a new Jira Cloud
//! company-managed software project.

/// A status category, as Jira groups statuses (the colour on the board).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusCategory {
    pub id: u64,
    pub key: &'static str,
    pub name: &'static str,
    pub color_name: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub id: &'static str,
    pub name: &'static str,
    pub category: StatusCategory,
}

pub const TO_DO: Status = Status {
    id: "10000",
    name: "To Do",
    category: StatusCategory { id: 2, key: "new", name: "To Do", color_name: "blue-gray" },
};
pub const IN_PROGRESS: Status = Status {
    id: "3",
    name: "In Progress",
    category: StatusCategory { id: 4, key: "indeterminate", name: "In Progress", color_name: "yellow" },
};
pub const DONE: Status = Status {
    id: "10001",
    name: "Done",
    category: StatusCategory { id: 3, key: "done", name: "Done", color_name: "green" },
};

/// The status a new issue starts in.
pub const INITIAL_STATUS: Status = TO_DO;

/// Every status of the workflow, as `GET /status` lists them.
pub const STATUSES: [Status; 3] = [TO_DO, IN_PROGRESS, DONE];

/// The category of a status without one; Jira lists it with the others.
pub const NO_CATEGORY: StatusCategory =
    StatusCategory { id: 1, key: "undefined", name: "No Category", color_name: "medium-gray" };

/// Every status category, as `GET /statuscategory` lists them.
pub const STATUS_CATEGORIES: [StatusCategory; 4] = [NO_CATEGORY, TO_DO.category, DONE.category, IN_PROGRESS.category];

/// Finds a status by id or by name (any case), as `GET /status/{idOrName}` does.
pub fn find_status(id_or_name: &str) -> Option<Status> {
    STATUSES.into_iter().find(|status| status.id == id_or_name || status.name.eq_ignore_ascii_case(id_or_name))
}

/// Finds a status category by id or key, as `GET /statuscategory/{idOrKey}` does.
pub fn find_status_category(id_or_key: &str) -> Option<StatusCategory> {
    STATUS_CATEGORIES
        .into_iter()
        .find(|category| category.id.to_string() == id_or_key || category.key.eq_ignore_ascii_case(id_or_key))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub id: &'static str,
    pub name: &'static str,
    pub from: Status,
    pub to: Status,
}

pub const TRANSITIONS: [Transition; 5] = [
    Transition { id: "11", name: "Start progress", from: TO_DO, to: IN_PROGRESS },
    Transition { id: "21", name: "Done", from: IN_PROGRESS, to: DONE },
    Transition { id: "31", name: "Stop progress", from: IN_PROGRESS, to: TO_DO },
    Transition { id: "41", name: "Reopen", from: DONE, to: TO_DO },
    Transition { id: "51", name: "Close", from: TO_DO, to: DONE },
];

/// The transitions an issue in `status` can take.
pub fn transitions_from(status: Status) -> impl Iterator<Item = &'static Transition> {
    TRANSITIONS.iter().filter(move |transition| transition.from == status)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priority {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// The colour Jira draws the priority in.
    pub status_color: &'static str,
}

/// Jira Cloud's default priorities, with their default descriptions and colours.
pub const PRIORITIES: [Priority; 5] = [
    Priority { id: "1", name: "Highest", description: "This problem will block progress.", status_color: "#d04437" },
    Priority {
        id: "2",
        name: "High",
        description: "Serious problem that could block progress.",
        status_color: "#f15c75",
    },
    Priority { id: "3", name: "Medium", description: "Has the potential to affect progress.", status_color: "#f79232" },
    Priority { id: "4", name: "Low", description: "Minor problem or easily worked around.", status_color: "#707070" },
    Priority {
        id: "5",
        name: "Lowest",
        description: "Trivial problem with little or no impact on progress.",
        status_color: "#999999",
    },
];

/// The priority of an issue created without one.
pub const DEFAULT_PRIORITY: Priority = PRIORITIES[2];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueType {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
}

/// The issue types of the site, available in every project.
pub const ISSUE_TYPES: [IssueType; 3] = [
    IssueType { id: "10001", name: "Task", description: "A small, distinct piece of work." },
    IssueType { id: "10004", name: "Bug", description: "A problem or error." },
    IssueType { id: "10002", name: "Story", description: "Functionality or a feature expressed as a user goal." },
];

/// The project permissions the simulator knows, with Jira's ids and names.
pub const PERMISSIONS: [(&str, &str, &str); 15] = [
    ("10", "BROWSE_PROJECTS", "Browse Projects"),
    ("11", "CREATE_ISSUES", "Create Issues"),
    ("12", "EDIT_ISSUES", "Edit Issues"),
    ("13", "ASSIGN_ISSUES", "Assign Issues"),
    ("15", "ADD_COMMENTS", "Add Comments"),
    ("16", "DELETE_ISSUES", "Delete Issues"),
    ("19", "CREATE_ATTACHMENTS", "Create Attachments"),
    ("21", "LINK_ISSUES", "Link Issues"),
    ("34", "EDIT_ALL_COMMENTS", "Edit All Comments"),
    ("35", "EDIT_OWN_COMMENTS", "Edit Own Comments"),
    ("36", "DELETE_ALL_COMMENTS", "Delete All Comments"),
    ("37", "DELETE_OWN_COMMENTS", "Delete Own Comments"),
    ("38", "DELETE_ALL_ATTACHMENTS", "Delete All Attachments"),
    ("39", "DELETE_OWN_ATTACHMENTS", "Delete Own Attachments"),
    ("46", "TRANSITION_ISSUES", "Transition Issues"),
];

/// Finds a priority by `{"id": …}` or `{"name": …}` (names case-insensitively, as Jira does).
pub fn find_priority(id: Option<&str>, name: Option<&str>) -> Option<Priority> {
    PRIORITIES.into_iter().find(|priority| {
        id.is_some_and(|id| id == priority.id) || name.is_some_and(|name| name.eq_ignore_ascii_case(priority.name))
    })
}

/// Finds an issue type by `{"id": …}` or `{"name": …}`.
pub fn find_issue_type(id: Option<&str>, name: Option<&str>) -> Option<IssueType> {
    ISSUE_TYPES.into_iter().find(|kind| {
        id.is_some_and(|id| id == kind.id) || name.is_some_and(|name| name.eq_ignore_ascii_case(kind.name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_can_be_left_and_reached() {
        for status in [TO_DO, IN_PROGRESS, DONE] {
            assert!(transitions_from(status).next().is_some(), "{status:?} is a dead end");
            assert!(TRANSITIONS.iter().any(|transition| transition.to == status), "{status:?} is unreachable");
        }
    }

    #[test]
    fn look_ups_accept_ids_and_names_in_any_case() {
        assert_eq!(find_priority(None, Some("high")).map(|p| p.id), Some("2"));
        assert_eq!(find_priority(Some("5"), None).map(|p| p.name), Some("Lowest"));
        assert_eq!(find_priority(None, Some("Urgent")), None);
        assert_eq!(find_issue_type(None, Some("bug")).map(|t| t.id), Some("10004"));
        assert_eq!(find_issue_type(Some("10002"), None).map(|t| t.name), Some("Story"));
    }
}
