//! People of the simulated organization: who they are, how they authenticate, how the API shows them.

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

/// A person (or the service account) as configured for the simulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimUser {
    pub display_name: String,
    /// Also the identity's `uniqueName`.
    pub email: String,
    /// The personal access token this user authenticates with.
    pub pat: String,
    /// A user who may read but not save work items (for access checks).
    #[serde(default)]
    pub read_only: bool,
}

impl SimUser {
    pub fn new(display_name: impl Into<String>, email: impl Into<String>, pat: impl Into<String>) -> Self {
        SimUser { display_name: display_name.into(), email: email.into(), pat: pat.into(), read_only: false }
    }
}

/// A user known to the organization, with the identity id Azure DevOps gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimIdentity {
    pub id: Uuid,
    pub display_name: String,
    pub email: String,
    #[serde(skip)]
    pub pat: String,
    pub read_only: bool,
}

impl SimIdentity {
    pub fn new(user: SimUser) -> Self {
        SimIdentity {
            id: Uuid::new_v4(),
            display_name: user.display_name,
            email: user.email,
            pat: user.pat,
            read_only: user.read_only,
        }
    }

    /// The subject descriptor Azure DevOps shows for an Entra ID user (`aad.` + base64 of an id).
    pub fn descriptor(&self) -> String {
        format!("aad.{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(self.id.as_bytes()))
    }

    /// `Name <e-mail>`: how work item fields such as `ActivatedBy` spell a person.
    pub fn display_with_email(&self) -> String {
        format!("{} <{}>", self.display_name, self.email)
    }

    /// The `IdentityRef` that work item fields and comments carry.
    pub fn identity_ref(&self, organization_url: &str) -> Value {
        json!({
            "displayName": self.display_name,
            "url": format!("{organization_url}/_apis/Identities/{}", self.id),
            "_links": {"avatar": {"href": format!("{organization_url}/_apis/GraphProfile/MemberAvatars/{}", self.descriptor())}},
            "id": self.id.to_string(),
            "uniqueName": self.email,
            "imageUrl": format!("{organization_url}/_api/_common/identityImage?id={}", self.id),
            "descriptor": self.descriptor(),
        })
    }

    /// The `Identity` of the identities API (vssps), with the e-mail in `properties.Mail`.
    pub fn ims_identity(&self) -> Value {
        let string = |value: &str| json!({"$type": "System.String", "$value": value});
        json!({
            "id": self.id.to_string(),
            "descriptor": {
                "identityType": "Microsoft.IdentityModel.Claims.ClaimsIdentity",
                "identifier": format!("{}\\{}", self.id, self.email),
            },
            "subjectDescriptor": self.descriptor(),
            "providerDisplayName": self.display_name,
            "isActive": true,
            "isContainer": false,
            "members": [],
            "memberOf": [],
            "memberIds": [],
            "properties": {
                "SchemaClassName": string("User"),
                "Description": string(""),
                "Domain": string("AzureDirectory"),
                "Account": string(&self.email),
                "Mail": string(&self.email),
            },
            "resourceVersion": 2,
            "metaTypeId": 0,
        })
    }

    /// Whether `text` names this identity the way Azure DevOps accepts in an identity field: the e-mail,
    /// `Name <e-mail>`, the display name, or the id.
    pub fn is_named_by(&self, text: &str) -> bool {
        let text = text.trim();
        let email = match (text.rfind('<'), text.ends_with('>')) {
            (Some(start), true) => &text[start + 1..text.len() - 1],
            _ => text,
        };
        email.eq_ignore_ascii_case(&self.email)
            || text.eq_ignore_ascii_case(&self.display_name)
            || text.eq_ignore_ascii_case(&self.id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_is_named_by_email_display_form_or_id() {
        let identity = SimIdentity::new(SimUser::new("Alice Doe", "alice@fabrikam.example", "pat"));
        assert!(identity.is_named_by("alice@fabrikam.example"));
        assert!(identity.is_named_by("ALICE@fabrikam.example"));
        assert!(identity.is_named_by("Alice Doe <alice@fabrikam.example>"));
        assert!(identity.is_named_by("Alice Doe"));
        assert!(identity.is_named_by(&identity.id.to_string()));
        assert!(!identity.is_named_by("bob@fabrikam.example"));
        assert!(!identity.is_named_by("Bob <alice@other.example>"));
    }
}
