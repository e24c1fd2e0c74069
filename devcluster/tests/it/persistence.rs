//! `--state FILE`: the store survives a restart; a corrupt file is an error, not an
//! empty cluster.

use crate::common;
use common::*;
use devcluster::{DevCluster, Options, StartError};
use kube::api::PostParams;
use kube::{Api, ResourceExt};

fn opts(path: &std::path::Path) -> Options {
    Options {
        state_file: Some(path.to_path_buf()),
        ..Default::default()
    }
}

#[tokio::test]
async fn objects_crds_and_resource_versions_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let (c, client) = start_with(opts(&path)).await;
    install_widget_crd(&client).await;
    let api: Api<Widget> = Api::namespaced(client, "default");
    let w = api
        .create(&PostParams::default(), &widget("kept", 3))
        .await
        .expect("create");
    let rv_before = c.resource_version();
    c.shutdown().await;
    // The state holds Secrets: only its owner may read it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("saved")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "state file mode {mode:o}");
    }

    let (c, client) = start_with(opts(&path)).await;
    let api: Api<Widget> = Api::namespaced(client, "default");
    let again = api
        .get("kept")
        .await
        .expect("the widget and its CRD's routes are back");
    assert_eq!((again.uid(), again.spec.size), (w.uid(), 3));
    assert_eq!(c.resource_version(), rv_before);
    let next = api
        .create(&PostParams::default(), &widget("next", 1))
        .await
        .expect("create");
    assert!(
        next.resource_version()
            .expect("rv")
            .parse::<u64>()
            .expect("numeric")
            > rv_before,
        "versions keep increasing"
    );
}

#[tokio::test]
async fn a_corrupt_state_file_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    std::fs::write(&path, b"{\"format\":1,\"resourceVersion\":").expect("write");
    match DevCluster::start(opts(&path)).await {
        Err(StartError::CorruptState { path: p, .. }) => assert!(p.ends_with("state.json")),
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("a corrupt file must not start an empty cluster"),
    }
    assert_eq!(
        std::fs::read(&path).expect("read"),
        b"{\"format\":1,\"resourceVersion\":",
        "the file is left as it was"
    );
}
