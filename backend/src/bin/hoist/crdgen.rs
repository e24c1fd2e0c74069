//! `hoist crdgen`.

/// `hoist crdgen`: the CustomResourceDefinitions as YAML.
pub fn run() -> anyhow::Result<()> {
    print!("{}", hoist::types::crds_yaml()?);
    Ok(())
}
