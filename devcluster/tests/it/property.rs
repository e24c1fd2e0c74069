//! Random sequences of creates, updates, deletes and compactions, with a small history
//! window: a watcher that follows them (relisting on 410) always converges to the store.

use crate::common;
use common::*;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use proptest::prelude::*;
use serde_json::json;

#[derive(Debug, Clone)]
enum Op {
    Create(u8),
    Update(u8, i32),
    Delete(u8),
    Compact,
    /// Let the reflector catch up on what happened so far.
    Follow,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..8).prop_map(Op::Create),
        4 => (0u8..8, 0i32..100).prop_map(|(n, s)| Op::Update(n, s)),
        2 => (0u8..8).prop_map(Op::Delete),
        1 => Just(Op::Compact),
        2 => Just(Op::Follow),
    ]
}

async fn run(ops: Vec<Op>, streaming: bool) {
    let opts = devcluster::Options {
        history_limit: 4,
        ..Default::default()
    };
    let (c, client) = start_with(opts).await;
    install_widget_crd(&client).await;
    let api: Api<Widget> = Api::namespaced(client, "default");
    let cfg = if streaming {
        kube::runtime::watcher::Config::default().streaming_lists()
    } else {
        Default::default()
    };
    let (store, stream) = reflect(api.clone(), cfg.page_size(3));
    let mut stream = Box::pin(stream);
    converge(&store, &mut stream, &stored_widgets(&c)).await;
    for op in ops {
        match op {
            Op::Create(n) => {
                let _ = api
                    .create(&PostParams::default(), &widget(&format!("w{n}"), 0))
                    .await;
            }
            Op::Update(n, size) => {
                let _ = api
                    .patch(
                        &format!("w{n}"),
                        &PatchParams::default(),
                        &Patch::Merge(json!({"spec": {"size": size}})),
                    )
                    .await;
            }
            Op::Delete(n) => {
                let _ = api.delete(&format!("w{n}"), &Default::default()).await;
            }
            Op::Compact => c.compact(),
            Op::Follow => converge(&store, &mut stream, &stored_widgets(&c)).await,
        }
    }
    converge(&store, &mut stream, &stored_widgets(&c)).await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_listing_watcher_converges_under_random_writes_and_compactions(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(run(ops, false));
    }

    #[test]
    fn a_streaming_watcher_converges_under_random_writes_and_compactions(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(run(ops, true));
    }
}
