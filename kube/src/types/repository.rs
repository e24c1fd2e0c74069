use super::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A key of a Secret in Hoist's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    pub name: String,
    pub key: String,
}

// `Debug` never prints the password (a plain comment: doc comments become the CRD schema).
#[derive(Serialize, Deserialize, Clone, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BasicAuth {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_secret_ref: Option<SecretKeyRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret_ref: Option<SecretKeyRef>,
}

// `Debug` never prints the token.
#[derive(Serialize, Deserialize, Clone, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BearerAuth {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret_ref: Option<SecretKeyRef>,
}

fn redacted(v: &Option<String>) -> Option<&'static str> {
    v.as_ref().map(|_| "<redacted>")
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("username_secret_ref", &self.username_secret_ref)
            .field("password", &redacted(&self.password))
            .field("password_secret_ref", &self.password_secret_ref)
            .finish()
    }
}

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerAuth")
            .field("token", &redacted(&self.token))
            .field("token_secret_ref", &self.token_secret_ref)
            .finish()
    }
}

/// None, basic or bearer authentication.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageRepositoryAuth {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<BasicAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer: Option<BearerAuth>,
}

/// A package repository: static files under a base URL.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "packages.hoist.dev",
    version = "v1alpha1",
    kind = "PackageRepository",
    status = "PackageRepositoryStatus",
    printcolumn = r#"{"name":"URL","type":"string","jsonPath":".spec.url"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Message","type":"string","priority":1,"jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct PackageRepositorySpec {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<PackageRepositoryAuth>,
}

impl PackageRepository {
    /// Whether the default-repository annotation marks this one.
    pub fn is_default(&self) -> bool {
        self.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(super::DEFAULT_REPOSITORY_ANNOTATION))
            .is_some_and(|v| v == "true")
    }

    /// Marks this repository as the default (other repositories are not touched).
    pub fn set_default(&mut self) {
        self.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(super::DEFAULT_REPOSITORY_ANNOTATION.into(), "true".into());
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageRepositoryStatus {
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn debug_output_of_a_repository_never_shows_its_inline_credentials() {
        let auth = PackageRepositoryAuth {
            basic: Some(BasicAuth {
                username: Some("me".into()),
                password: Some("hunter2".into()),
                ..Default::default()
            }),
            bearer: Some(BearerAuth {
                token: Some("s3cret-token".into()),
                token_secret_ref: None,
            }),
        };
        let shown = format!("{auth:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cret-token"),
            "{shown}"
        );
        assert!(
            shown.contains("me") && shown.contains("<redacted>"),
            "{shown}"
        );
    }
}
