//! OpenAPI: the schemas of the served kinds, what the API server does with fields
//! those schemas do not declare (`fieldValidation`), and what custom resources' values
//! may be ([`validate`]). The documents kubectl reads to validate and explain
//! (`/openapi/v2`, `/openapi/v3` and its per-group-version documents) are made from
//! them by [`crate::verbs::openapi::document`].
//!
//! Built-in kinds are described by Kubernetes' own schemas ([`builtin`]), custom
//! resources by their CRD's `openAPIV3Schema`.

pub mod builtin;
pub mod prune;
pub mod validate;

use crate::error::ApiError;

/// What a write does with fields its schema does not declare (`fieldValidation`).
///
/// Unknown fields are always dropped from what is stored, as the API server drops
/// them; the directive decides whether the client hears of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    /// Dropped silently.
    Ignore,
    /// Dropped, each named in a `Warning` header (the API server's default).
    #[default]
    Warn,
    /// The write is refused: 400 naming every unknown field.
    Strict,
}

impl FieldValidation {
    /// From the `fieldValidation` query parameter; absent or empty is `Warn`.
    pub fn from_query(value: Option<&str>) -> Result<Self, ApiError> {
        match value {
            None | Some("") | Some("Warn") => Ok(Self::Warn),
            Some("Ignore") => Ok(Self::Ignore),
            Some("Strict") => Ok(Self::Strict),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation: Unsupported value: {other:?}: supported values: \"Ignore\", \"Strict\", \"Warn\""
            ))),
        }
    }
}

/// The 400 a `Strict` write with unknown fields gets, in the API server's words.
pub fn strict_error(kind: &str, version: &str, unknown: &[String]) -> ApiError {
    let fields: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field {f:?}"))
        .collect();
    ApiError::bad_request(format!(
        "{kind} in version {version:?} cannot be handled as a {kind}: strict decoding error: {}",
        fields.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_validation_defaults_to_warn_and_refuses_unknown_directives() {
        assert_eq!(
            FieldValidation::from_query(None).ok(),
            Some(FieldValidation::Warn)
        );
        assert_eq!(
            FieldValidation::from_query(Some("Strict")).ok(),
            Some(FieldValidation::Strict)
        );
        let e = FieldValidation::from_query(Some("strict")).expect_err("refused");
        assert_eq!(e.code, 400);
        assert!(e.message.contains("supported values"), "{}", e.message);
    }

    #[test]
    fn the_strict_error_names_every_unknown_field_as_the_api_server_does() {
        let e = strict_error(
            "Deployment",
            "v1",
            &["spec.replicass".into(), "spec.x".into()],
        );
        assert_eq!(
            e.message,
            "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.replicass\", unknown field \"spec.x\""
        );
    }
}
