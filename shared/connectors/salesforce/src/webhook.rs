//! Outbound Messages: Salesforce POSTs a SOAP `notifications` message (1 to 100 notifications, each a
//! record's chosen fields as they are when the message is sent) and sends it again until it is
//! answered `<Ack>true</Ack>`. Messages carry no signature: the endpoint's URL holds a shared token
//! (`?token=…`), compared in constant time, and the org id, when configured, must match.
//!
//! A Case's comments are CaseComment records: a message about one (an Outbound Message on CaseComment
//! that sends `ParentId`) is a notice about its Case. A message says which records changed, not who
//! changed them: its fields are as of sending, when a
//! later change (tandem's own, say) may have replaced the one that sent it. So no notice names an actor,
//! and each record is read before anything is decided.

use quick_xml::events::Event;
use quick_xml::Reader;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tandem_engine::ports::{WebhookError, WebhookReceiver, WebhookReply, WebhookRequest};
use tandem_model::{ChangeKind, ChangeNotice, Delivery, ItemId, SecretString};

use crate::convert::parse_datetime;

/// The query parameter of the endpoint URL that holds the shared token.
pub const TOKEN_PARAMETER: &str = "token";

const SOAP_XML: &str = "text/xml; charset=utf-8";

/// The acknowledgement Salesforce waits for (as in `notificationsResponse.ack.aspnet-webhooks.xml`).
const ACK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">
   <Ack>true</Ack>
  </notificationsResponse>
 </soapenv:Body>
</soapenv:Envelope>
"#;

/// One notification of a message: its id and the record's fields it carries.
#[derive(Debug, Default, Clone, PartialEq)]
struct Notification {
    id: String,
    object: String,
    record_id: String,
    /// A comment's record (`ParentId` of a CaseComment).
    parent_id: Option<String>,
    system_modstamp: Option<String>,
}

impl Notification {
    /// The record of `object` this notification is about: the record itself, or the record a comment
    /// was made on.
    fn item_of(&self, object: &str) -> Option<&str> {
        if self.object.eq_ignore_ascii_case(object) {
            return Some(&self.record_id);
        }
        let comment = self.object.eq_ignore_ascii_case(crate::describe::COMMENT_OBJECT);
        comment.then_some(self.parent_id.as_deref()).flatten()
    }
}

/// A parsed `notifications` message.
#[derive(Debug, Default, Clone, PartialEq)]
struct Message {
    organization_id: String,
    notifications: Vec<Notification>,
}

/// Verifies and reads the Outbound Messages of one org's object.
pub struct OutboundMessageReceiver {
    /// The current token, then the one being rotated out (if any): either is genuine, so the endpoint
    /// URL can change in the org and the token in the store at different moments.
    tokens: Vec<SecretString>,
    object: String,
    organization_id: Option<String>,
}

impl OutboundMessageReceiver {
    /// Messages about `object` records, whose URL carries `token`, from `organization_id` when given.
    pub fn new(token: SecretString, object: impl Into<String>, organization_id: Option<String>) -> Self {
        OutboundMessageReceiver { tokens: vec![token], object: object.into(), organization_id }
    }

    /// Accepts messages whose URL carries `previous` too (the token being rotated out).
    pub fn also_accepting(mut self, previous: Option<SecretString>) -> Self {
        self.tokens.extend(previous);
        self
    }

    fn verify(&self, request: &WebhookRequest) -> Result<(), WebhookError> {
        let given = request.query_parameter(TOKEN_PARAMETER).unwrap_or_default();
        match self.tokens.iter().any(|token| bool::from(given.as_bytes().ct_eq(token.expose().as_bytes()))) {
            true => Ok(()),
            false => Err(WebhookError::Unauthorized(format!(
                "the endpoint URL's `{TOKEN_PARAMETER}` parameter is missing or wrong"
            ))),
        }
    }
}

/// Org ids are compared on their 15 case-sensitive characters: the 18-character form adds a checksum.
fn same_org(left: &str, right: &str) -> bool {
    let short = |id: &str| id.get(..15).unwrap_or(id).to_string();
    short(left) == short(right)
}

impl WebhookReceiver for OutboundMessageReceiver {
    fn receive(&self, request: &WebhookRequest) -> Result<Delivery, WebhookError> {
        self.verify(request)?;
        let message = parse(&request.body).map_err(WebhookError::Malformed)?;
        if let Some(expected) = &self.organization_id {
            if !same_org(expected, &message.organization_id) {
                return Err(WebhookError::Unauthorized(format!(
                    "the message comes from org {}, not the configured one",
                    message.organization_id
                )));
            }
        }
        let notices: Vec<ChangeNotice> = message
            .notifications
            .iter()
            .filter_map(|notification| Some((notification, notification.item_of(&self.object)?)))
            .map(|(notification, item)| ChangeNotice {
                item: ItemId::new(item),
                kind: ChangeKind::ItemUpdated,
                actor: None,
                occurred_at: notification.system_modstamp.as_deref().and_then(parse_datetime),
            })
            .collect();
        if notices.is_empty() {
            return Err(WebhookError::Ignored(format!("the message names no {} record", self.object)));
        }
        Ok(Delivery { id: delivery_id(&message), notices })
    }

    fn reply(&self, status: u16) -> Option<WebhookReply> {
        let body = match status {
            200..=299 => ACK.to_string(),
            _ => fault(&format!("not accepted (HTTP {status}); send it again")),
        };
        Some(WebhookReply { content_type: SOAP_XML.into(), body })
    }
}

/// A resent message keeps its notification ids: their digest is the delivery id.
fn delivery_id(message: &Message) -> String {
    let mut ids: Vec<&str> = message.notifications.iter().map(|notification| notification.id.as_str()).collect();
    ids.sort_unstable();
    let digest = Sha256::digest(ids.join(",").as_bytes());
    format!("outbound:{}", hex::encode(digest))
}

/// A SOAP fault: Salesforce sends the message again later.
fn fault(message: &str) -> String {
    let escaped = quick_xml::escape::escape(message);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
 <soapenv:Body>
  <soapenv:Fault>
   <faultcode>soapenv:Client</faultcode>
   <faultstring>{escaped}</faultstring>
  </soapenv:Fault>
 </soapenv:Body>
</soapenv:Envelope>
"#
    )
}

/// Reads a `notifications` message; elements are matched by local name (prefixes vary). An element's
/// text may come in parts (entity references are their own events), so it is taken whole at its end.
fn parse(body: &[u8]) -> Result<Message, String> {
    let mut reader = Reader::from_reader(body);
    reader.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    let mut message = Message::default();
    let mut current: Option<Notification> = None;
    let mut text = String::new();
    let mut buffer = Vec::new();
    loop {
        match reader.read_event_into(&mut buffer).map_err(|error| format!("not XML: {error}"))? {
            Event::Start(element) => {
                let name = String::from_utf8_lossy(element.local_name().as_ref()).into_owned();
                match (name.as_str(), current.as_mut()) {
                    ("Notification", _) => current = Some(Notification::default()),
                    ("sObject", Some(notification)) => notification.object = object_type(&element),
                    _ => {}
                }
                path.push(name);
                text.clear();
            }
            Event::Text(part) => text.push_str(&part.decode().map_err(|error| format!("bad text: {error}"))?),
            Event::GeneralRef(reference) => {
                let name = reference.decode().map_err(|error| format!("bad reference: {error}"))?;
                let resolved = match reference.resolve_char_ref().map_err(|error| format!("bad reference: {error}"))? {
                    Some(character) => character.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("unknown entity `&{name};`"))?
                        .to_string(),
                };
                text.push_str(&resolved);
            }
            Event::End(_) => {
                let value = std::mem::take(&mut text);
                let tail: Vec<&str> = path.iter().rev().take(2).map(String::as_str).collect();
                match (tail.as_slice(), current.as_mut()) {
                    (["OrganizationId", "notifications"], _) => message.organization_id = value,
                    (["Id", "Notification"], Some(notification)) => notification.id = value,
                    (["Id", "sObject"], Some(notification)) => notification.record_id = value,
                    (["SystemModstamp", "sObject"], Some(notification)) => notification.system_modstamp = Some(value),
                    (["ParentId", "sObject"], Some(notification)) => notification.parent_id = Some(value),
                    (["Notification", ..], _) => {
                        let notification = current.take().ok_or("a Notification ended twice")?;
                        if notification.id.is_empty() || notification.record_id.is_empty() {
                            return Err("a Notification without its Id or its record's Id".into());
                        }
                        message.notifications.push(notification);
                    }
                    _ => {}
                }
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
        buffer.clear();
    }
    if message.organization_id.is_empty() || message.notifications.is_empty() {
        return Err("not an Outbound Message: no OrganizationId or no Notification".into());
    }
    Ok(message)
}

/// `Case` of `xsi:type="sf:Case"`.
fn object_type(element: &quick_xml::events::BytesStart<'_>) -> String {
    element
        .attributes()
        .flatten()
        .find(|attribute| attribute.key.local_name().as_ref() == b"type")
        .map(|attribute| {
            let value = String::from_utf8_lossy(&attribute.value).into_owned();
            value.rsplit(':').next().unwrap_or_default().to_string()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract(name: &str) -> Vec<u8> {
        let dir = tandem_contract_check::contracts_dir().expect("the contracts folder");
        let path = dir.join("salesforce/outbound-messaging").join(name);
        std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
    }

    fn request(token: &str, body: Vec<u8>) -> WebhookRequest {
        WebhookRequest::new(vec![("content-type".into(), "text/xml".into())], body)
            .with_query(vec![(TOKEN_PARAMETER.into(), token.into())])
    }

    fn receiver(object: &str, org: Option<&str>) -> OutboundMessageReceiver {
        OutboundMessageReceiver::new(SecretString::new("s3cret"), object, org.map(str::to_string))
    }

    #[test]
    fn the_case_message_names_its_record_and_is_acknowledged() {
        let receiver = receiver("Case", Some("00Dbm000000AbCd"));
        let delivery = receiver.receive(&request("s3cret", contract("notifications.Case.constructed.xml"))).unwrap();
        assert_eq!(delivery.notices.len(), 1);
        assert_eq!(delivery.notices[0].item, ItemId::new("500bm00000A1b2CAAR"));
        assert!(delivery.notices[0].actor.is_none());
        assert!(delivery.notices[0].occurred_at.is_some());
        let again = receiver.receive(&request("s3cret", contract("notifications.Case.constructed.xml"))).unwrap();
        assert_eq!(again.id, delivery.id, "a resent message is the same delivery");
        let ack = receiver.reply(200).unwrap();
        assert!(ack.body.contains("<Ack>true</Ack>"));
        assert!(!receiver.reply(503).unwrap().body.contains("<Ack>"));
    }

    #[test]
    fn during_a_rotation_the_previous_token_is_accepted_too() {
        let rotating = receiver("Case", None).also_accepting(Some(SecretString::new("old-token")));
        for token in ["s3cret", "old-token"] {
            let received = rotating.receive(&request(token, contract("notifications.Case.constructed.xml")));
            assert!(received.is_ok(), "{token}: {received:?}");
        }
        let refused = rotating.receive(&request("neither", contract("notifications.Case.constructed.xml")));
        assert!(matches!(refused, Err(WebhookError::Unauthorized(_))));
    }

    #[test]
    fn a_comment_message_is_a_notice_about_its_case() {
        let case = String::from_utf8(contract("notifications.Case.constructed.xml")).unwrap();
        let comment = case.replace("sf:Case", "sf:CaseComment").replace(
            "<sf:Id>500bm00000A1b2CAAR</sf:Id>",
            "<sf:Id>00abm00000Xy12ZAAR</sf:Id><sf:ParentId>500bm00000A1b2CAAR</sf:ParentId>",
        );
        let delivery = receiver("Case", None).receive(&request("s3cret", comment.into_bytes())).unwrap();
        assert_eq!(delivery.notices[0].item, ItemId::new("500bm00000A1b2CAAR"));
    }

    #[test]
    fn recorded_messages_of_other_objects_parse_and_are_ignored() {
        for name in ["notifications.Contact.aspnet-webhooks.xml", "notifications.Account.amp-labs.xml"] {
            let parsed = parse(&contract(name)).unwrap_or_else(|error| panic!("{name}: {error}"));
            assert!(!parsed.notifications.is_empty(), "{name}");
            let refused = receiver("Case", None).receive(&request("s3cret", contract(name)));
            assert!(matches!(refused, Err(WebhookError::Ignored(_))), "{name}: {refused:?}");
        }
    }

    #[test]
    fn a_wrong_token_or_org_is_refused_and_garbage_is_malformed() {
        let body = contract("notifications.Case.constructed.xml");
        let refused = receiver("Case", None).receive(&request("guess", body.clone()));
        assert!(matches!(refused, Err(WebhookError::Unauthorized(_))));
        let unsigned = WebhookRequest::new(Vec::new(), body.clone());
        assert!(matches!(receiver("Case", None).receive(&unsigned), Err(WebhookError::Unauthorized(_))));
        let other_org = receiver("Case", Some("00D000000000001")).receive(&request("s3cret", body));
        assert!(matches!(other_org, Err(WebhookError::Unauthorized(_))));
        let garbage = receiver("Case", None).receive(&request("s3cret", b"<notifications><Notification>".to_vec()));
        assert!(matches!(garbage, Err(WebhookError::Malformed(_))), "{garbage:?}");
    }
}
