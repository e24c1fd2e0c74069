//! `-o yaml|json`: an object printed as kubectl prints it, for a file to commit to Git
//! or a pipe to `kubectl apply -f -`.

/// How an object is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Yaml,
    Json,
}

impl std::str::FromStr for Output {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "yaml" => Ok(Self::Yaml),
            "json" => Ok(Self::Json),
            other => Err(format!("{other:?}: expected yaml or json")),
        }
    }
}

/// `object` as YAML (one document, `---` first, as kubectl's `-o yaml` of several) or
/// as indented JSON, ending in a newline.
pub fn render(object: &serde_json::Value, output: Output) -> String {
    match output {
        // A `serde_json::Value` always serialises: its keys are strings.
        Output::Yaml => serde_yaml_ng::to_string(object).unwrap_or_default(),
        Output::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(object).unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_and_json_carry_the_same_object_back() {
        let object = serde_json::json!({
            "apiVersion": "packages.hoist.dev/v1alpha1",
            "kind": "Package",
            "metadata": {"name": "web", "namespace": "team-a"},
            "spec": {"values": {"replicas": {"value": "3"}}},
        });
        let yaml = render(&object, Output::Yaml);
        let back: serde_json::Value = serde_yaml_ng::from_str(&yaml).expect("yaml");
        assert_eq!(back, object);
        let json = render(&object, Output::Json);
        assert!(json.ends_with('\n'));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&json).expect("json"),
            object
        );
        assert!("xml".parse::<Output>().is_err());
    }
}
