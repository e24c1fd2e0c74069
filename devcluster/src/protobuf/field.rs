//! How one protobuf field becomes JSON, and an object builder that places or refuses
//! each field by name.

use super::unsupported;
use crate::error::ApiError;
use base64::Engine;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A message devcluster converts to JSON.
pub trait Message {
    fn to_json(&self) -> Result<Value, ApiError>;
}

/// A field value: its JSON, or `None` when it is left out.
///
/// Go's protobuf encoding writes every non-pointer field, zero or not, and its JSON
/// leaves zero values out (`omitempty`), so a zero scalar is left out unless
/// `keep_zero` says the Go field is a pointer, where zero is a value (`replicas: 0`).
pub trait Field {
    fn json(&self, keep_zero: bool) -> Result<Option<Value>, ApiError>;
}

/// Whether a field is set (a refused field is only an error when it is).
pub trait IsSet {
    fn is_set(&self) -> bool;
}

impl<T> IsSet for Option<T> {
    fn is_set(&self) -> bool {
        self.is_some()
    }
}

impl<T> IsSet for Vec<T> {
    fn is_set(&self) -> bool {
        !self.is_empty()
    }
}

impl<K, V> IsSet for BTreeMap<K, V> {
    fn is_set(&self) -> bool {
        !self.is_empty()
    }
}

impl Field for Option<String> {
    fn json(&self, keep_zero: bool) -> Result<Option<Value>, ApiError> {
        Ok(self
            .clone()
            .filter(|s| keep_zero || !s.is_empty())
            .map(Value::String))
    }
}

macro_rules! scalar {
    ($($t:ty),*) => {$(
        impl Field for Option<$t> {
            fn json(&self, keep_zero: bool) -> Result<Option<Value>, ApiError> {
                Ok(self
                    .filter(|v| keep_zero || *v != <$t>::default())
                    .map(Value::from))
            }
        }
    )*};
}
scalar!(i32, i64, bool);

impl Field for Vec<String> {
    fn json(&self, _keep_zero: bool) -> Result<Option<Value>, ApiError> {
        Ok((!self.is_empty()).then(|| Value::from(self.clone())))
    }
}

impl Field for BTreeMap<String, String> {
    fn json(&self, _keep_zero: bool) -> Result<Option<Value>, ApiError> {
        Ok((!self.is_empty()).then(|| {
            Value::Object(
                self.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            )
        }))
    }
}

/// Bytes values (a Secret's `data`, a ConfigMap's `binaryData`) are base64 in JSON.
impl Field for BTreeMap<String, Vec<u8>> {
    fn json(&self, _keep_zero: bool) -> Result<Option<Value>, ApiError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        Ok((!self.is_empty()).then(|| {
            Value::Object(
                self.iter()
                    .map(|(k, v)| (k.clone(), Value::String(b64.encode(v))))
                    .collect(),
            )
        }))
    }
}

impl<T: Message> Field for Option<T> {
    fn json(&self, _keep_zero: bool) -> Result<Option<Value>, ApiError> {
        self.as_ref().map(Message::to_json).transpose()
    }
}

impl<T: Message> Field for Vec<T> {
    fn json(&self, _keep_zero: bool) -> Result<Option<Value>, ApiError> {
        if self.is_empty() {
            return Ok(None);
        }
        let items = self
            .iter()
            .map(Message::to_json)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Value::Array(items)))
    }
}

impl<T: Message> Field for BTreeMap<String, T> {
    fn json(&self, _keep_zero: bool) -> Result<Option<Value>, ApiError> {
        if self.is_empty() {
            return Ok(None);
        }
        let mut m = Map::new();
        for (k, v) in self {
            m.insert(k.clone(), v.to_json()?);
        }
        Ok(Some(Value::Object(m)))
    }
}

/// Builds one message's JSON object.
pub struct Object {
    /// The message's name, for errors (`PodSpec`).
    message: &'static str,
    map: Map<String, Value>,
}

impl Object {
    pub fn new(message: &'static str) -> Self {
        Self {
            message,
            map: Map::new(),
        }
    }

    /// Places a field under its JSON name; a zero scalar is left out (`omitempty`).
    pub fn put(mut self, name: &str, field: &impl Field) -> Result<Self, ApiError> {
        if let Some(v) = field.json(false)? {
            self.map.insert(name.into(), v);
        }
        Ok(self)
    }

    /// Places a field whose Go type is a pointer: set means present, zero included.
    pub fn keep(mut self, name: &str, field: &impl Field) -> Result<Self, ApiError> {
        if let Some(v) = field.json(true)? {
            self.map.insert(name.into(), v);
        }
        Ok(self)
    }

    /// A field devcluster does not convert: a 415 naming it when it is set.
    pub fn refuse(self, name: &str, field: &impl IsSet) -> Result<Self, ApiError> {
        if field.is_set() {
            return Err(unsupported(format!("the field {}.{name}", self.message)));
        }
        Ok(self)
    }

    pub fn done(self) -> Value {
        Value::Object(self.map)
    }
}
