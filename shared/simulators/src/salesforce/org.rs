//! The simulated org's records and what the REST API does with them: create, read, update, delete,
//! upsert by an External ID, and SOQL queries. Errors are Salesforce's: a status and a list of
//! `{message, errorCode[, fields]}`.

use super::ids;
use super::schema::{self, Field, FieldType, Object, NAME_ENTITY_FIELDS};
use super::soql::{self, Aggregate, Condition, Literal, Operator, Query, Selected};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// A failed call, as Salesforce answers it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<String>,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), fields: Vec::new() }
    }

    fn on(mut self, field: &str) -> ApiError {
        self.fields.push(field.to_string());
        self
    }

    pub(crate) fn body(&self) -> Value {
        let mut error = json!({ "message": self.message, "errorCode": self.code });
        if !self.fields.is_empty() {
            error["fields"] = json!(self.fields);
        }
        json!([error])
    }

    /// A path segment that is no record id is read as the name of an External ID field.
    fn not_found(id: &str) -> ApiError {
        ApiError::new(404, "NOT_FOUND", format!("Provided external ID field does not exist or is not accessible: {id}"))
    }

    fn no_such_record() -> ApiError {
        ApiError::new(404, "NOT_FOUND", "The requested resource does not exist")
    }

    fn deleted() -> ApiError {
        ApiError::new(404, "ENTITY_IS_DELETED", "entity is deleted")
    }
}

pub(crate) type Record = Map<String, Value>;

/// The outcome of an upsert.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Upserted {
    Created(String),
    Updated(String),
    /// Several records carry the value: their ids.
    Ambiguous(Vec<String>),
}

pub(crate) struct Org {
    pub objects: Vec<Object>,
    records: BTreeMap<&'static str, BTreeMap<String, Record>>,
    sequence: u64,
    case_number: u64,
}

/// Datetimes as Salesforce writes them in records.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

impl Org {
    pub(crate) fn new() -> Org {
        let objects = schema::objects();
        let records = objects.iter().map(|object| (object.name, BTreeMap::new())).collect();
        Org { objects, records, sequence: 0, case_number: 1000 }
    }

    /// Now, as the org records it: whole seconds (its datetimes always read `.000`), so that two
    /// changes within a second share an instant, as they do in a real org.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        chrono::SubsecRound::trunc_subsecs(Utc::now(), 0)
    }

    pub(crate) fn object(&self, name: &str) -> Result<&Object, ApiError> {
        self.objects.iter().find(|object| object.name.eq_ignore_ascii_case(name)).ok_or_else(|| {
            ApiError::new(
                404,
                "NOT_FOUND",
                format!("The requested resource does not exist: sObject type '{name}' is not supported."),
            )
        })
    }

    fn object_name(&self, name: &str) -> Result<&'static str, ApiError> {
        self.object(name).map(|object| object.name)
    }

    fn object_of_id(&self, id: &str) -> Option<&'static str> {
        self.objects.iter().find(|object| id.starts_with(object.key_prefix)).map(|object| object.name)
    }

    /// A record by id (15 or 18 characters), deleted ones left out.
    pub(crate) fn record(&self, object: &str, id: &str) -> Result<&Record, ApiError> {
        let name = self.object_name(object)?;
        let id = ids::normalise(id).ok_or_else(|| ApiError::not_found(id))?;
        match self.records[name].get(&id) {
            Some(record) if record["IsDeleted"] == json!(true) => Err(ApiError::deleted()),
            Some(record) => Ok(record),
            None => Err(ApiError::no_such_record()),
        }
    }

    fn new_id(&mut self, key_prefix: &str) -> String {
        self.sequence += 1;
        ids::new_id(key_prefix, "bm", self.sequence)
    }

    /// Seeds a record as the org would hold it (users, queues, accounts): no checks, no change recorded.
    pub(crate) fn seed(&mut self, object: &'static str, fields: Record, by: &str) -> String {
        let prefix =
            self.objects.iter().find(|candidate| candidate.name == object).map_or("000", |object| object.key_prefix);
        let id = self.new_id(prefix);
        let mut record = fields;
        self.stamp(&mut record, &id, by, true);
        self.derive(object, &mut record);
        self.records.entry(object).or_default().insert(id.clone(), record);
        id
    }

    fn stamp(&self, record: &mut Record, id: &str, by: &str, created: bool) {
        let now = json!(timestamp(self.now()));
        if created {
            record.insert("Id".into(), json!(id));
            record.insert("IsDeleted".into(), json!(false));
            record.insert("CreatedDate".into(), now.clone());
            record.insert("CreatedById".into(), json!(by));
        }
        record.insert("LastModifiedDate".into(), now.clone());
        record.insert("LastModifiedById".into(), json!(by));
        record.insert("SystemModstamp".into(), now);
    }

    /// Fields Salesforce computes: a Case is closed by its status, a Contact's name is its parts.
    fn derive(&self, object: &str, record: &mut Record) {
        match object {
            "Case" => {
                let closed = record.get("Status").and_then(Value::as_str) == Some("Closed");
                let was_closed = record.get("IsClosed").and_then(Value::as_bool).unwrap_or(false);
                record.insert("IsClosed".into(), json!(closed));
                if closed && !was_closed {
                    record.insert("ClosedDate".into(), json!(timestamp(self.now())));
                } else if !closed {
                    record.insert("ClosedDate".into(), Value::Null);
                }
            }
            "Contact" | "User" => {
                let part = |name: &str| record.get(name).and_then(Value::as_str).unwrap_or_default().to_string();
                let name = format!("{} {}", part("FirstName"), part("LastName")).trim().to_string();
                record.insert("Name".into(), json!(name));
            }
            _ => {}
        }
    }

    /// Checks the values written to `object`: known fields, writable now, of the right form.
    fn check_values(
        &self,
        object: &Object,
        values: &Map<String, Value>,
        creating: bool,
        version: &str,
    ) -> Result<Record, ApiError> {
        let mut checked = Record::new();
        let mut refused = Vec::new();
        for (name, value) in values {
            if name == "attributes" {
                continue;
            }
            let field = object.field(name).filter(|field| field.exists_in(version)).ok_or_else(|| {
                ApiError::new(
                    400,
                    "INVALID_FIELD",
                    format!("No such column '{name}' on sobject of type {}", object.name),
                )
            })?;
            if !(if creating { field.createable } else { field.updateable }) {
                refused.push(field.name);
                continue;
            }
            checked.insert(field.name.to_string(), self.checked_value(field, value)?);
        }
        if !refused.is_empty() {
            let verb = if creating { "create" } else { "update" };
            let mut error = ApiError::new(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!(
                    "Unable to {verb} fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                    refused.join(", ")
                ),
            );
            error.fields = refused.iter().map(|name| name.to_string()).collect();
            return Err(error);
        }
        Ok(checked)
    }

    fn checked_value(&self, field: &Field, value: &Value) -> Result<Value, ApiError> {
        if value.is_null() {
            return match field.nillable {
                true => Ok(Value::Null),
                false => Err(ApiError::new(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    format!("Required fields are missing: [{}]", field.name),
                )
                .on(field.name)),
            };
        }
        match field.kind {
            FieldType::Boolean => value.as_bool().map(Value::Bool).ok_or_else(|| invalid_value(field, value)),
            FieldType::Reference => self.checked_reference(field, value),
            FieldType::DateTime => value
                .as_str()
                .and_then(soql::parse_datetime)
                .map(|at| json!(timestamp(at)))
                .ok_or_else(|| invalid_value(field, value)),
            kind if kind.is_text() => {
                let text = match value {
                    Value::String(text) => text.clone(),
                    Value::Number(number) => number.to_string(),
                    Value::Bool(flag) => flag.to_string(),
                    _ => return Err(invalid_value(field, value)),
                };
                let too_long = if field.byte_length == field.length {
                    text.len() > field.length
                } else {
                    text.chars().count() > field.length
                };
                if too_long {
                    let shown: String = text.chars().take(40).collect();
                    return Err(ApiError::new(
                        400,
                        "STRING_TOO_LONG",
                        format!("{}: data value too large: {shown} (max length={})", field.label, field.length),
                    )
                    .on(field.name));
                }
                Ok(json!(text))
            }
            _ => Err(invalid_value(field, value)),
        }
    }

    fn checked_reference(&self, field: &Field, value: &Value) -> Result<Value, ApiError> {
        let text = value.as_str().unwrap_or_default();
        let id = ids::normalise(text).ok_or_else(|| {
            ApiError::new(400, "MALFORMED_ID", format!("{}: id value of incorrect type: {text}", field.label))
                .on(field.name)
        })?;
        let target = self.object_of_id(&id).filter(|object| field.reference_to.contains(object));
        let exists = target.is_some_and(|object| self.record(object, &id).is_ok());
        if !exists {
            return Err(ApiError::new(
                400,
                "INVALID_CROSS_REFERENCE_KEY",
                format!("invalid cross reference id: {}", &id[..15]),
            )
            .on(field.name));
        }
        Ok(json!(id))
    }

    fn check_required(&self, object: &Object, record: &Record) -> Result<(), ApiError> {
        let missing: Vec<&str> = object
            .fields
            .iter()
            .filter(|field| field.createable && !field.nillable && field.kind != FieldType::Boolean)
            .filter(|field| !field.filled_on_create)
            .filter(|field| record.get(field.name).is_none_or(Value::is_null))
            .map(|field| field.name)
            .collect();
        match missing.as_slice() {
            [] => Ok(()),
            names => {
                let mut error = ApiError::new(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    format!("Required fields are missing: [{}]", names.join(", ")),
                );
                error.fields = names.iter().map(|name| name.to_string()).collect();
                Err(error)
            }
        }
    }

    /// `POST /sobjects/{object}`: the new record's id.
    pub(crate) fn create(
        &mut self,
        object: &str,
        values: &Map<String, Value>,
        by: &str,
        version: &str,
    ) -> Result<String, ApiError> {
        let meta = self.object(object)?;
        let name = meta.name;
        let mut record = self.check_values(meta, values, true, version)?;
        self.check_required(meta, &record)?;
        self.check_unique(meta, &record, None)?;
        for field in &meta.fields {
            // A picklist left out (or sent empty) gets its default, as Status New and Priority Medium.
            if let Some(default) = field.default.filter(|_| record.get(field.name).is_none_or(Value::is_null)) {
                record.insert(field.name.to_string(), json!(default));
            }
            if field.kind == FieldType::Boolean && !record.contains_key(field.name) {
                record.insert(field.name.to_string(), json!(false));
            }
            if field.nillable && !record.contains_key(field.name) {
                record.insert(field.name.to_string(), Value::Null);
            }
        }
        if meta.field("OwnerId").is_some() && record.get("OwnerId").is_none_or(Value::is_null) {
            record.insert("OwnerId".into(), json!(by));
        }
        if name == "Case" {
            self.case_number += 1;
            record.insert("CaseNumber".into(), json!(format!("{:08}", self.case_number)));
        }
        let prefix = self.object(object)?.key_prefix;
        let id = self.new_id(prefix);
        self.stamp(&mut record, &id, by, true);
        self.derive(name, &mut record);
        self.records.entry(name).or_default().insert(id.clone(), record);
        Ok(id)
    }

    fn check_unique(&self, object: &Object, record: &Record, except: Option<&str>) -> Result<(), ApiError> {
        for field in object.fields.iter().filter(|field| field.unique) {
            let Some(value) = record.get(field.name).and_then(Value::as_str) else { continue };
            let taken = self.records[object.name].iter().find(|(id, other)| {
                Some(id.as_str()) != except
                    && other["IsDeleted"] != json!(true)
                    && other
                        .get(field.name)
                        .and_then(Value::as_str)
                        .is_some_and(|found| found.eq_ignore_ascii_case(value))
            });
            if let Some((id, _)) = taken {
                return Err(ApiError::new(
                    400,
                    "DUPLICATE_VALUE",
                    format!("duplicate value found: {} duplicates value on record with id: {}", field.name, &id[..15]),
                )
                .on(field.name));
            }
        }
        Ok(())
    }

    /// `PATCH /sobjects/{object}/{id}`.
    pub(crate) fn update(
        &mut self,
        object: &str,
        id: &str,
        values: &Map<String, Value>,
        by: &str,
        version: &str,
    ) -> Result<(), ApiError> {
        let name = self.object_name(object)?;
        let id = self.record(name, id)?["Id"].as_str().unwrap_or_default().to_string();
        let meta = self.object(name)?;
        let checked = self.check_values(meta, values, false, version)?;
        let mut record = self.records[name][&id].clone();
        record.extend(checked);
        self.check_unique(self.object(name)?, &record, Some(&id))?;
        self.stamp(&mut record, &id, by, false);
        self.derive(name, &mut record);
        self.records.entry(name).or_default().insert(id.clone(), record);
        Ok(())
    }

    /// `DELETE /sobjects/{object}/{id}`.
    pub(crate) fn delete(&mut self, object: &str, id: &str, by: &str) -> Result<(), ApiError> {
        let name = self.object_name(object)?;
        let id = self.record(name, id)?["Id"].as_str().unwrap_or_default().to_string();
        let mut record = self.records[name][&id].clone();
        record.insert("IsDeleted".into(), json!(true));
        self.stamp(&mut record, &id, by, false);
        self.records.entry(name).or_default().insert(id.clone(), record);
        Ok(())
    }

    /// The ids of the live records whose External ID `field` holds `value` (ignoring case).
    pub(crate) fn by_external_id(&self, object: &str, field: &str, value: &str) -> Result<Vec<String>, ApiError> {
        let meta = self.object(object)?;
        let key = external_id_field(meta, field)?;
        Ok(self.records[meta.name]
            .iter()
            .filter(|(_, record)| record["IsDeleted"] != json!(true))
            .filter(|(_, record)| {
                record.get(key.name).and_then(Value::as_str).is_some_and(|found| found.eq_ignore_ascii_case(value))
            })
            .map(|(id, _)| id.clone())
            .collect())
    }

    /// `PATCH /sobjects/{object}/{field}/{value}`: updates the record whose External ID `field` holds
    /// `value` (ignoring case), or creates one holding it; with `update_only` (`?updateOnly=true`), no
    /// record is created.
    pub(crate) fn upsert(
        &mut self,
        object: &str,
        (field, value): (&str, &str),
        values: &Map<String, Value>,
        update_only: bool,
        by: &str,
        version: &str,
    ) -> Result<Upserted, ApiError> {
        let meta = self.object(object)?;
        let name = meta.name;
        let key = external_id_field(meta, field)?;
        let key_name = key.name;
        if values.keys().any(|name| name.eq_ignore_ascii_case(key_name)) {
            return Err(ApiError::new(
                400,
                "INVALID_FIELD",
                format!("The field {key_name} is the external ID and cannot be set in the body"),
            ));
        }
        let matching: Vec<String> = self.records[name]
            .iter()
            .filter(|(_, record)| record["IsDeleted"] != json!(true))
            .filter(|(_, record)| {
                record.get(key_name).and_then(Value::as_str).is_some_and(|found| found.eq_ignore_ascii_case(value))
            })
            .map(|(id, _)| id.clone())
            .collect();
        match matching.as_slice() {
            [] if update_only => Err(ApiError::new(404, "NOT_FOUND", "The requested resource does not exist")),
            [] => {
                let mut values = values.clone();
                values.insert(key_name.to_string(), json!(value));
                self.create(name, &values, by, version).map(Upserted::Created)
            }
            [id] => {
                let id = id.clone();
                self.update(name, &id, values, by, version).map(|()| Upserted::Updated(id))
            }
            several => Ok(Upserted::Ambiguous(several.to_vec())),
        }
    }

    /// A record as the REST API gives it: `attributes`, then the asked fields (all by default).
    pub(crate) fn render(&self, object: &Object, record: &Record, fields: Option<&[String]>, version: &str) -> Value {
        let mut out = Map::new();
        out.insert("attributes".into(), attributes(object.name, record, version));
        for field in object.fields.iter().filter(|field| field.exists_in(version)) {
            if fields.is_some_and(|wanted| !wanted.iter().any(|name| name.eq_ignore_ascii_case(field.name))) {
                continue;
            }
            out.insert(field.name.to_string(), record.get(field.name).cloned().unwrap_or(Value::Null));
        }
        Value::Object(out)
    }

    /// `GET /query?q=…`: every matching row (the caller pages them).
    pub(crate) fn query(&self, text: &str, version: &str, all_rows: bool) -> Result<QueryRows, ApiError> {
        let query = soql::parse(text)
            .map_err(|error| ApiError::new(400, "MALFORMED_QUERY", soql::located(text, error.at, &error.message)))?;
        let object = self.objects.iter().find(|object| object.name.eq_ignore_ascii_case(&query.from)).ok_or_else(|| {
            ApiError::new(400, "INVALID_TYPE", soql::located(text, query.from_at, &format!("sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", query.from)))
        })?;
        if let Some(condition) = &query.filter {
            self.check_ids(object, condition, text)?;
        }
        if query.select.iter().any(|selected| matches!(selected, Selected::Aggregate { .. })) {
            let row = self.aggregate(object, &query, version, all_rows, text)?;
            return Ok(QueryRows { total: 1, rows: vec![row] });
        }
        let rows = self.select(object, &query, version, all_rows, None)?;
        let count_only = query.select == vec![Selected::Count];
        Ok(QueryRows { total: rows.len(), rows: if count_only { Vec::new() } else { rows } })
    }

    /// An id compared with an Id or lookup field must be one: Salesforce refuses the query otherwise,
    /// pointing at the value.
    fn check_ids(&self, object: &Object, condition: &Condition, text: &str) -> Result<(), ApiError> {
        let (path, values): (&[String], Vec<&Literal>) = match condition {
            Condition::And(left, right) | Condition::Or(left, right) => {
                self.check_ids(object, left, text)?;
                return self.check_ids(object, right, text);
            }
            Condition::Not(inner) => return self.check_ids(object, inner, text),
            Condition::Compare { path, value, .. } => (path, vec![value]),
            Condition::In { path, values, .. } => (path, values.iter().collect()),
            Condition::Like { .. } => return Ok(()),
        };
        let is_id =
            self.field_at(object, path).is_some_and(|field| matches!(field.kind, FieldType::Id | FieldType::Reference));
        let malformed = values.into_iter().find_map(|value| match value {
            Literal::Text(id) if is_id && !id.is_empty() && ids::normalise(id).is_none() => Some(id),
            _ => None,
        });
        let Some(id) = malformed else { return Ok(()) };
        let at = text.find(&format!("'{id}'")).map_or(0, |at| text[..at].chars().count());
        Err(ApiError::new(
            400,
            "INVALID_QUERY_FILTER_OPERATOR",
            soql::located(text, at, &format!("invalid ID field: {id}")),
        ))
    }

    /// The field a path ends at, read through single-object relationships.
    fn field_at<'a>(&'a self, object: &'a Object, path: &[String]) -> Option<&'a Field> {
        match path {
            [] => None,
            [name] => object.field(name),
            [relationship, rest @ ..] => {
                let reference = object.relationship(relationship)?;
                let [target] = reference.reference_to else { return None };
                self.field_at(self.object(target).ok()?, rest)
            }
        }
    }

    /// An aggregate query without `GROUP BY`: one row of type `AggregateResult`, each aggregate under
    /// its alias or `expr0`, `expr1`… in order.
    fn aggregate(
        &self,
        object: &Object,
        query: &Query,
        version: &str,
        all_rows: bool,
        text: &str,
    ) -> Result<Value, ApiError> {
        let records = self.matching(object, query, version, all_rows, None)?;
        let mut row = Map::new();
        row.insert("attributes".into(), json!({"type": "AggregateResult"}));
        let mut unnamed = 0;
        for selected in &query.select {
            let Selected::Aggregate { function, path, alias } = selected else {
                let name = match selected {
                    Selected::Path(path) => path.join("."),
                    _ => "COUNT()".into(),
                };
                let at = text.find(&name).map_or(0, |at| text[..at].chars().count());
                let message = format!("Field must be grouped or aggregated: {name}");
                return Err(ApiError::new(400, "MALFORMED_QUERY", soql::located(text, at, &message)));
            };
            self.resolve_meta(object, path, version)?;
            let values: Vec<Value> = records
                .iter()
                .map(|record| self.value_at(object, record, path))
                .filter(|value| !value.is_null())
                .collect();
            let value = match function {
                Aggregate::Count => json!(values.len()),
                Aggregate::CountDistinct => {
                    let distinct: std::collections::BTreeSet<String> =
                        values.iter().map(|value| value.to_string().to_lowercase()).collect();
                    json!(distinct.len())
                }
                Aggregate::Min => values.into_iter().min_by(compare_values).unwrap_or(Value::Null),
                Aggregate::Max => values.into_iter().max_by(compare_values).unwrap_or(Value::Null),
            };
            let name = alias.clone().unwrap_or_else(|| {
                unnamed += 1;
                format!("expr{}", unnamed - 1)
            });
            row.insert(name, value);
        }
        Ok(Value::Object(row))
    }

    fn select(
        &self,
        object: &Object,
        query: &Query,
        version: &str,
        all_rows: bool,
        parent: Option<(&str, &str)>,
    ) -> Result<Vec<Value>, ApiError> {
        for selected in &query.select {
            if let Selected::Path(path) = selected {
                self.resolve_meta(object, path, version)?;
            }
        }
        let matched = self.matching(object, query, version, all_rows, parent)?;
        matched.into_iter().map(|record| self.row(object, record, query, version, all_rows)).collect()
    }

    /// The records a query's `WHERE` keeps, in its order, its `OFFSET` and `LIMIT` applied.
    fn matching(
        &self,
        object: &Object,
        query: &Query,
        version: &str,
        all_rows: bool,
        parent: Option<(&str, &str)>,
    ) -> Result<Vec<&Record>, ApiError> {
        let mut matched: Vec<&Record> = Vec::new();
        for record in self.records[object.name].values() {
            if !all_rows && record["IsDeleted"] == json!(true) {
                continue;
            }
            if let Some((field, id)) = parent {
                if record.get(field).and_then(Value::as_str) != Some(id) {
                    continue;
                }
            }
            let keep = match &query.filter {
                Some(condition) => self.holds(object, record, condition, version)?,
                None => true,
            };
            if keep {
                matched.push(record);
            }
        }
        for ordering in query.order.iter().rev() {
            self.resolve_meta(object, &ordering.path, version)?;
            matched.sort_by(|left, right| {
                let (left, right) =
                    (self.value_at(object, left, &ordering.path), self.value_at(object, right, &ordering.path));
                match (left.is_null(), right.is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => {
                        if ordering.nulls_last {
                            Ordering::Greater
                        } else {
                            Ordering::Less
                        }
                    }
                    (false, true) => {
                        if ordering.nulls_last {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        }
                    }
                    (false, false) => {
                        let order = compare_values(&left, &right);
                        if ordering.descending {
                            order.reverse()
                        } else {
                            order
                        }
                    }
                }
            });
        }
        Ok(matched.into_iter().skip(query.offset).take(query.limit.unwrap_or(usize::MAX)).collect())
    }

    fn row(
        &self,
        object: &Object,
        record: &Record,
        query: &Query,
        version: &str,
        all_rows: bool,
    ) -> Result<Value, ApiError> {
        let mut out = Map::new();
        out.insert("attributes".into(), attributes(object.name, record, version));
        for selected in &query.select {
            match selected {
                Selected::Count | Selected::Aggregate { .. } => {}
                Selected::Path(path) if path.len() == 1 => {
                    let field = object.field(&path[0]).map_or(path[0].as_str(), |field| field.name);
                    out.insert(field.to_string(), record.get(field).cloned().unwrap_or(Value::Null));
                }
                Selected::Path(path) => self.insert_related(object, record, path, version, &mut out),
                Selected::Children(children) => {
                    let (child, field) = object.child(&children.from).ok_or_else(|| {
                        ApiError::new(
                            400,
                            "INVALID_TYPE",
                            format!("Didn't understand relationship '{}' in FROM part of query call.", children.from),
                        )
                    })?;
                    let child_object = self.object(child)?;
                    let id = record["Id"].as_str().unwrap_or_default();
                    let rows = self.select(child_object, children, version, all_rows, Some((field, id)))?;
                    let relationship = object.child(&children.from).map(|_| children.from.clone()).unwrap_or_default();
                    let value = if rows.is_empty() {
                        Value::Null
                    } else {
                        json!({"totalSize": rows.len(), "done": true, "records": rows})
                    };
                    let name = object
                        .children
                        .iter()
                        .find(|(name, _, _)| name.eq_ignore_ascii_case(&relationship))
                        .map_or(relationship.clone(), |(name, _, _)| name.to_string());
                    out.insert(name, value);
                }
            }
        }
        Ok(Value::Object(out))
    }

    /// Puts `Account.Name` into the row as `"Account": {"attributes": …, "Name": …}` (or `null`).
    fn insert_related(
        &self,
        object: &Object,
        record: &Record,
        path: &[String],
        version: &str,
        out: &mut Map<String, Value>,
    ) {
        let Some(reference) = object.relationship(&path[0]) else { return };
        let relationship = reference.relationship_name.unwrap_or_default().to_string();
        let target =
            record.get(reference.name).and_then(Value::as_str).and_then(|id| Some((self.object_of_id(id)?, id)));
        let Some((target_object, id)) = target.and_then(|(name, id)| Some((self.object(name).ok()?, id))) else {
            out.insert(relationship, Value::Null);
            return;
        };
        let Ok(related) = self.record(target_object.name, id) else {
            out.insert(relationship, Value::Null);
            return;
        };
        let polymorphic = reference.reference_to.len() > 1;
        let entry = out.entry(relationship).or_insert_with(|| {
            let mut attributes = attributes(target_object.name, related, version);
            if polymorphic {
                attributes["type"] = json!("Name");
            }
            json!({ "attributes": attributes })
        });
        let field_name = target_object.field(&path[1]).map_or(path[1].clone(), |field| field.name.to_string());
        let value = if path.len() > 2 {
            self.value_at(target_object, related, &path[1..])
        } else {
            related.get(&field_name).cloned().unwrap_or(Value::Null)
        };
        if let Value::Object(nested) = entry {
            nested.insert(field_name, value);
        }
    }

    /// Checks that a path names a field, reading through relationships.
    fn resolve_meta(&self, object: &Object, path: &[String], version: &str) -> Result<(), ApiError> {
        let invalid = || {
            ApiError::new(400, "INVALID_FIELD", format!(
                "No such column '{}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                path.join("."), object.name
            ))
        };
        match path {
            [] => Err(invalid()),
            [name] => object.field(name).filter(|field| field.exists_in(version)).map(|_| ()).ok_or_else(invalid),
            [relationship, rest @ ..] => {
                let reference = object.relationship(relationship).ok_or_else(invalid)?;
                if reference.reference_to.len() > 1 {
                    return match rest {
                        [name] if NAME_ENTITY_FIELDS.iter().any(|field| field.eq_ignore_ascii_case(name)) => Ok(()),
                        _ => Err(invalid()),
                    };
                }
                let target = self.object(reference.reference_to[0]).map_err(|_| invalid())?;
                self.resolve_meta(target, rest, version)
            }
        }
    }

    /// The value at a path of a record, reading through relationships; `null` where a link is empty.
    fn value_at(&self, object: &Object, record: &Record, path: &[String]) -> Value {
        match path {
            [] => Value::Null,
            [name] => object.field(name).and_then(|field| record.get(field.name)).cloned().unwrap_or(Value::Null),
            [relationship, rest @ ..] => {
                let Some(reference) = object.relationship(relationship) else { return Value::Null };
                let related = record
                    .get(reference.name)
                    .and_then(Value::as_str)
                    .and_then(|id| Some((self.object_of_id(id)?, id)))
                    .and_then(|(name, id)| Some((self.object(name).ok()?, self.record(name, id).ok()?)));
                match related {
                    Some((target, related)) => self.value_at(target, related, rest),
                    None => Value::Null,
                }
            }
        }
    }

    fn holds(&self, object: &Object, record: &Record, condition: &Condition, version: &str) -> Result<bool, ApiError> {
        Ok(match condition {
            Condition::And(left, right) => {
                self.holds(object, record, left, version)? && self.holds(object, record, right, version)?
            }
            Condition::Or(left, right) => {
                self.holds(object, record, left, version)? || self.holds(object, record, right, version)?
            }
            Condition::Not(inner) => !self.holds(object, record, inner, version)?,
            Condition::Compare { path, operator, value } => {
                self.resolve_meta(object, path, version)?;
                let found = self.value_at(object, record, path);
                compares(&found, *operator, value)
            }
            Condition::In { path, values, negated } => {
                self.resolve_meta(object, path, version)?;
                let found = self.value_at(object, record, path);
                values.iter().any(|value| compares(&found, Operator::Equal, value)) != *negated
            }
            Condition::Like { path, pattern } => {
                self.resolve_meta(object, path, version)?;
                self.value_at(object, record, path).as_str().is_some_and(|text| soql::like(text, pattern))
            }
        })
    }

    pub(crate) fn records_of(&self, object: &str) -> Vec<Record> {
        self.records.get(object).map(|records| records.values().cloned().collect()).unwrap_or_default()
    }
}

/// The rows of a query, before paging.
pub(crate) struct QueryRows {
    pub total: usize,
    pub rows: Vec<Value>,
}

fn attributes(object: &str, record: &Record, version: &str) -> Value {
    let id = record.get("Id").and_then(Value::as_str).unwrap_or_default();
    json!({ "type": object, "url": format!("/services/data/v{version}/sobjects/{object}/{id}") })
}

/// The field of `object` an address names as an External ID (or `Id`), as upserts and reads by one take it.
fn external_id_field<'a>(object: &'a Object, field: &str) -> Result<&'a Field, ApiError> {
    object
        .field(field)
        .filter(|key| key.external_id || key.kind == FieldType::Id)
        .ok_or_else(|| ApiError::not_found(field))
}

fn invalid_value(field: &Field, value: &Value) -> ApiError {
    ApiError::new(
        400,
        "JSON_PARSER_ERROR",
        format!(
            "Cannot deserialize instance of {} from {} value {value} or request may be missing a required field",
            field.kind.name(),
            kind_of(value)
        ),
    )
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn compare_values(left: &Value, right: &Value) -> Ordering {
    match (left, right) {
        (Value::String(left), Value::String(right)) => {
            match (soql::parse_datetime(left), soql::parse_datetime(right)) {
                (Some(left), Some(right)) => left.cmp(&right),
                _ => left.to_lowercase().cmp(&right.to_lowercase()),
            }
        }
        (Value::Number(left), Value::Number(right)) => {
            left.as_f64().partial_cmp(&right.as_f64()).unwrap_or(Ordering::Equal)
        }
        (Value::Bool(left), Value::Bool(right)) => left.cmp(right),
        _ => Ordering::Equal,
    }
}

/// Where an instant is against a date literal's range: `Equal` within it.
fn in_range(found: DateTime<Utc>, start: DateTime<Utc>, end: DateTime<Utc>) -> Ordering {
    if found < start {
        Ordering::Less
    } else if found >= end {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

fn compares(found: &Value, operator: Operator, literal: &Literal) -> bool {
    let order = match (found, literal) {
        (Value::Null, Literal::Null) => Some(Ordering::Equal),
        (Value::Null, _) | (_, Literal::Null) => None,
        (Value::String(text), Literal::Text(wanted)) => match (ids::normalise(text), ids::normalise(wanted)) {
            (Some(left), Some(right)) => Some(left.cmp(&right)),
            _ => Some(text.to_lowercase().cmp(&wanted.to_lowercase())),
        },
        (Value::String(text), Literal::DateTime(at)) => soql::parse_datetime(text).map(|found| found.cmp(at)),
        (Value::String(text), Literal::Date(date)) => soql::parse_datetime(text)
            .map(|found| found.date_naive().cmp(date))
            .or_else(|| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(|found| found.cmp(date))),
        (Value::Number(number), Literal::Number(wanted)) => {
            number.as_f64().and_then(|number| number.partial_cmp(wanted))
        }
        (Value::Bool(flag), Literal::Bool(wanted)) => Some(flag.cmp(wanted)),
        (Value::String(text), Literal::Range { start, end }) => soql::parse_datetime(text)
            .or_else(|| {
                let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
                Some(date.and_hms_opt(0, 0, 0)?.and_utc())
            })
            .map(|found| in_range(found, *start, *end)),
        _ => None,
    };
    match (operator, order) {
        (Operator::NotEqual, None) => !found.is_null() || !matches!(literal, Literal::Null),
        (_, None) => false,
        (Operator::Equal, Some(order)) => order == Ordering::Equal,
        (Operator::NotEqual, Some(order)) => order != Ordering::Equal,
        (Operator::Less, Some(order)) => order == Ordering::Less,
        (Operator::LessOrEqual, Some(order)) => order != Ordering::Greater,
        (Operator::Greater, Some(order)) => order == Ordering::Greater,
        (Operator::GreaterOrEqual, Some(order)) => order != Ordering::Less,
    }
}
