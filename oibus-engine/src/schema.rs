//! Validation of user settings against a connector type's JSON Schema.

/// One problem found in a settings document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaProblem {
    /// JSON pointer to the offending value (`/port`, `/items/0/address`), empty for the root.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.message)
    }
}

/// Settings that do not match their schema.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct SchemaError {
    /// What was validated (`settings of connector "plant-1" (type "modbus")`).
    pub what: String,
    /// Every problem found.
    pub problems: Vec<SchemaProblem>,
}

/// Validates `instance` against `schema`; `what` names the document in the error.
pub fn validate(
    what: &str,
    schema: &serde_json::Value,
    instance: &serde_json::Value,
) -> Result<(), SchemaError> {
    Validators::default().validate(what, schema, instance)
}

/// Compiled validators, kept for the schemas they were made from: validating 100,000 items of
/// one connector type compiles its item schema once, not 100,000 times (seconds at start-up).
/// The schemas are borrowed for its whole life, so an address always names the same schema.
#[derive(Default)]
pub struct Validators<'s> {
    compiled: std::collections::HashMap<*const serde_json::Value, jsonschema::Validator>,
    schemas: std::marker::PhantomData<&'s serde_json::Value>,
}

impl<'s> Validators<'s> {
    /// [`validate`], compiling `schema` only the first time it is seen.
    pub fn validate(
        &mut self,
        what: &str,
        schema: &'s serde_json::Value,
        instance: &serde_json::Value,
    ) -> Result<(), SchemaError> {
        let validator = match self.compiled.entry(std::ptr::from_ref(schema)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(jsonschema::validator_for(schema).map_err(|e| SchemaError {
                    what: what.to_string(),
                    problems: vec![SchemaProblem {
                        pointer: String::new(),
                        message: format!("the plugin's schema is invalid: {e}"),
                    }],
                })?)
            }
        };
        let mut problems: Vec<SchemaProblem> = validator
            .iter_errors(instance)
            .map(|e| SchemaProblem {
                pointer: e.instance_path().to_string(),
                message: e.to_string(),
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            // The validator quotes the values it refuses; a secret among them is not repeated.
            // (Looked for once, and only when something is refused.)
            let secrets = crate::secrets::values(schema, instance);
            for p in &mut problems {
                p.message = crate::secrets::redact(&secrets, &p.message);
            }
            Err(SchemaError {
                what: what.to_string(),
                problems,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validators_compile_each_schema_once_and_tell_schemas_apart() {
        let ints = json!({"type": "object", "properties": {"n": {"type": "integer"}}});
        let strings = json!({"type": "object", "properties": {"n": {"type": "string"}}});
        let mut v = Validators::default();
        for _ in 0..3 {
            v.validate("item", &ints, &json!({"n": 1})).unwrap();
            let e = v.validate("item", &ints, &json!({"n": "x"})).unwrap_err();
            assert_eq!(e.problems[0].pointer, "/n", "{e}");
            v.validate("item", &strings, &json!({"n": "x"})).unwrap();
            assert!(v.validate("item", &strings, &json!({"n": 1})).is_err());
        }
        assert_eq!(v.compiled.len(), 2);
        let bad = json!({"type": 12});
        let e = v.validate("settings", &bad, &json!({})).unwrap_err();
        assert!(e.to_string().contains("schema is invalid"), "{e}");
    }

    #[test]
    fn names_the_bad_field() {
        let schema = json!({"type": "object", "properties": {"port": {"type": "integer"}}, "required": ["host"]});
        let e = validate("settings", &schema, &json!({"port": "x"})).unwrap_err();
        assert_eq!(e.problems.len(), 2, "{e}");
        assert!(e.problems.iter().any(|p| p.pointer == "/port"), "{e}");
        assert!(e.to_string().contains("host"), "{e}");
    }

    #[test]
    fn a_refused_value_that_holds_a_secret_is_shown_without_it() {
        let schema = json!({
            "properties": {"authentication": {"oneOf": [
                {"properties": {"type": {"const": "anonymous"}}, "required": ["type"], "additionalProperties": false},
                {"properties": {"type": {"const": "username"}, "username": {"type": "string", "minLength": 1},
                                "password": {"type": "string", "writeOnly": true}},
                 "required": ["type", "username", "password"], "additionalProperties": false}
            ]}}
        });
        let settings =
            json!({"authentication": {"type": "username", "username": "", "password": "hunter2"}});
        let e = validate("settings", &schema, &settings).unwrap_err();
        let text = e.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("\"***\""), "{text}");
    }

    #[test]
    fn valid_settings_pass() {
        let schema = json!({"type": "object", "properties": {"port": {"type": "integer"}}});
        validate("settings", &schema, &json!({"port": 502})).unwrap();
    }
}
