//! A stored record's `record` attribute: JSON text, or for the large and frequent ones (links, history
//! entries) that JSON deflated into a binary value.
//!
//! DynamoDB bills a write a unit per KB of the item written. A link's JSON repeats its field names and
//! the snapshots' type tags, so a plain link of a few fields is already over 1 KB (two units on every
//! write, and a sync writes its link twice); deflated it is a third of that. Both forms are read, so
//! records written before stay readable.

use crate::error::Item;
use crate::keys::RECORD;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::{Read, Write};
use tandem_engine::ports::StoreError;

/// The `record` attribute holding `record` as JSON text.
pub(crate) fn encode<T: Serialize>(record: &T, what: &str) -> Result<AttributeValue, StoreError> {
    json(record, what).map(|json| AttributeValue::S(String::from_utf8_lossy(&json).into_owned()))
}

/// The `record` attribute holding `record` as deflated JSON.
pub(crate) fn encode_packed<T: Serialize>(record: &T, what: &str) -> Result<AttributeValue, StoreError> {
    let json = json(record, what)?;
    let mut packer = DeflateEncoder::new(Vec::with_capacity(json.len() / 2), Compression::default());
    let packed = packer.write_all(&json).and_then(|()| packer.finish());
    packed
        .map(|bytes| AttributeValue::B(Blob::new(bytes)))
        .map_err(|error| StoreError::Corrupt { message: format!("{what} cannot be deflated: {error}") })
}

/// The record a stored item holds in its `record` attribute, in either form.
pub(crate) fn decode<T: DeserializeOwned>(item: &Item, what: &str) -> Result<T, StoreError> {
    let invalid =
        |error: &dyn std::fmt::Display| StoreError::Corrupt { message: format!("stored {what} is not valid: {error}") };
    match item.get(RECORD) {
        Some(AttributeValue::S(json)) => serde_json::from_str(json).map_err(|error| invalid(&error)),
        Some(AttributeValue::B(packed)) => {
            let mut json = Vec::with_capacity(packed.as_ref().len() * 3);
            DeflateDecoder::new(packed.as_ref()).read_to_end(&mut json).map_err(|error| invalid(&error))?;
            serde_json::from_slice(&json).map_err(|error| invalid(&error))
        }
        _ => Err(StoreError::Corrupt { message: format!("stored {what} has no `{RECORD}` attribute") }),
    }
}

fn json<T: Serialize>(record: &T, what: &str) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(record)
        .map_err(|error| StoreError::Corrupt { message: format!("{what} cannot be written as JSON: {error}") })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn item(record: AttributeValue) -> Item {
        Item::from([(RECORD.to_owned(), record)])
    }

    #[test]
    fn records_read_back_in_both_forms_and_packed_ones_are_smaller() {
        let fields: BTreeMap<String, String> =
            (0..12).map(|n| (format!("field{n}"), format!("{{\"type\":\"text\",\"value\":\"value {n}\"}}"))).collect();
        let text = encode(&fields, "link").unwrap();
        let packed = encode_packed(&fields, "link").unwrap();
        let (AttributeValue::S(json), AttributeValue::B(bytes)) = (&text, &packed) else {
            panic!("{text:?} {packed:?}")
        };
        assert!(bytes.as_ref().len() * 2 < json.len(), "{} bytes deflated from {}", bytes.as_ref().len(), json.len());
        assert_eq!(decode::<BTreeMap<String, String>>(&item(text), "link").unwrap(), fields);
        assert_eq!(decode::<BTreeMap<String, String>>(&item(packed), "link").unwrap(), fields);
    }

    #[test]
    fn records_that_cannot_be_read_are_corrupt() {
        let missing = decode::<u64>(&Item::new(), "watermark").unwrap_err();
        assert!(matches!(missing, StoreError::Corrupt { .. }));
        assert!(missing.to_string().contains("watermark"), "{missing}");
        for damaged in [AttributeValue::S("{not json".into()), AttributeValue::B(Blob::new(b"not deflated".to_vec()))] {
            let invalid = decode::<u64>(&item(damaged), "watermark").unwrap_err();
            assert!(matches!(invalid, StoreError::Corrupt { .. }), "{invalid:?}");
        }
    }
}
