//! kubectl and the official Python client against the `devcluster serve` binary, using
//! the kubeconfig it writes. Both must be installed (`cargo xtask test` installs them);
//! a missing one fails the test with what to install.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A `devcluster serve` child process, killed on drop.
struct Served {
    child: Child,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve() -> Served {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_devcluster"))
        .args(["serve", "--listen", "127.0.0.1:0", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("devcluster starts");
    let mut first = String::new();
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout);
    lines.read_line(&mut first).expect("first line");
    let addr: std::net::SocketAddr = first
        .trim()
        .parse()
        .expect("the first line is the bound address");
    assert!(addr.ip().is_loopback());
    // The kubeconfig is written right after the address line; wait for the log line that follows it.
    let stderr = child.stderr.take().expect("stderr");
    for line in BufReader::new(stderr).lines() {
        if line.expect("log").contains("devcluster serving") {
            break;
        }
    }
    Served {
        child,
        kubeconfig,
        _dir: dir,
    }
}

fn require(tool: &str, install: &str) {
    if Command::new(tool)
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_err()
    {
        panic!("{tool} is not installed: {install} (cargo xtask test does this)");
    }
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("kubectl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `kubectl apply` of the Gadget CRD, then `kubectl wait` until it is Established.
fn install_gadgets(kubeconfig: &Path) {
    let (ok, out) = kubectl(kubeconfig, &["apply", "-f", &manifest("widgets.yaml")]);
    assert!(ok, "apply CRD: {out}");
    let (ok, out) = kubectl(
        kubeconfig,
        &[
            "wait",
            "--for=condition=Established",
            "crd/gadgets.test.hoist.dev",
            "--timeout=30s",
        ],
    );
    assert!(ok, "CRD established: {out}");
}

fn manifest(name: &str) -> String {
    format!("{}/tests/clients/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn kubectl_applies_gets_watches_and_deletes_custom_objects() {
    require("kubectl", "apt-get install -y kubernetes-client");
    let s = serve();
    let k = |args: &[&str]| kubectl(&s.kubeconfig, args);

    install_gadgets(&s.kubeconfig);
    let (ok, out) = k(&["apply", "-f", &manifest("gadget-a.yaml")]);
    assert!(ok && out.contains("created"), "apply object: {out}");
    let (ok, out) = k(&["apply", "-f", &manifest("gadget-a.yaml")]);
    assert!(
        ok && out.contains("unchanged"),
        "re-apply is a no-op: {out}"
    );

    let (ok, out) = k(&["get", "gadgets", "-o", "name"]);
    assert!(ok && out.contains("gadget.test.hoist.dev/a"), "get: {out}");
    let (ok, out) = k(&["get", "gd", "a", "-o", "jsonpath={.spec.size}"]);
    assert!(ok && out.trim() == "1", "short name and jsonpath: {out}");

    // get -w sees a change made while it watches.
    let mut watch = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&s.kubeconfig)
        .args([
            "get",
            "gadgets",
            "-w",
            "-o",
            "custom-columns=NAME:.metadata.name,SIZE:.spec.size",
            "--no-headers",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl get -w");
    let (tx, rx) = mpsc::channel();
    let stdout = watch.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("initial row");
    assert!(first.starts_with('a'), "{first}");
    let (ok, out) = k(&[
        "patch",
        "gadget",
        "a",
        "--type=merge",
        "-p",
        r#"{"spec":{"size":5}}"#,
    ]);
    assert!(ok, "patch: {out}");
    let changed = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("a row for the change");
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(
        changed.split_whitespace().collect::<Vec<_>>() == ["a", "5"],
        "{changed}"
    );

    let (ok, out) = k(&["delete", "gadget", "a"]);
    assert!(ok && out.contains("deleted"), "delete: {out}");
    let (ok, out) = k(&["get", "gadget", "a"]);
    assert!(!ok && out.contains("NotFound"), "get after delete: {out}");
}

#[test]
fn kubectl_get_prints_a_custom_kind_s_printer_columns_as_the_api_server_does() {
    require("kubectl", "apt-get install -y kubernetes-client");
    let s = serve();
    let k = |args: &[&str]| kubectl(&s.kubeconfig, args);
    install_gadgets(&s.kubeconfig);
    for f in ["gadget-a.yaml", "gadget-b.yaml"] {
        let (ok, out) = k(&["apply", "-f", &manifest(f)]);
        assert!(ok, "apply {f}: {out}");
    }
    let rows = |out: &str| -> Vec<Vec<String>> {
        out.lines()
            .map(|l| l.split_whitespace().map(str::to_string).collect())
            .collect()
    };

    // The CRD's columns after NAME, a filter's match, a blank where nothing matches (a
    // null cell), and the age in Kubernetes' words; the priority-1 column only with
    // -o wide.
    let (ok, out) = k(&["get", "gadgets"]);
    assert!(ok, "{out}");
    let table = rows(&out);
    assert_eq!(table[0], ["NAME", "SIZE", "COLOR", "AGE"], "{out}");
    assert_eq!(table[1].len(), 3, "no color for a: {out}");
    assert_eq!(table[1][..2], ["a", "1"], "{out}");
    assert_eq!(table[2][..3], ["b", "2", "red"], "{out}");
    assert!(table[2][3].ends_with('s'), "an age in seconds: {out}");

    let (ok, out) = k(&["get", "gadget", "b", "-o", "wide"]);
    assert!(ok, "{out}");
    let table = rows(&out);
    assert_eq!(table[0], ["NAME", "SIZE", "COLOR", "AGE", "NOTE"], "{out}");
    assert_eq!(table[1][4], "shiny", "{out}");

    // kubectl adds NAMESPACE from each row's object metadata.
    let (ok, out) = k(&["get", "gd", "-A", "--show-labels"]);
    assert!(ok, "{out}");
    let table = rows(&out);
    assert_eq!(table[0][0], "NAMESPACE", "{out}");
    assert_eq!(table[1][..2], ["default", "a"], "{out}");

    // Output formats other than the table still read whole objects.
    let (ok, out) = k(&[
        "get",
        "gadget",
        "b",
        "-o",
        "jsonpath={.spec.parts[1].color}",
    ]);
    assert!(ok && out.trim() == "red", "{out}");
}

#[test]
fn the_official_python_client_works_unchanged() {
    // `cargo xtask test` installs the client into a virtualenv and names its python here.
    let python = std::env::var("DEVCLUSTER_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_client = Command::new(&python)
        .args(["-c", "import kubernetes"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has_client,
        "the Python client is not installed: pip install kubernetes (cargo xtask test does this)"
    );
    let s = serve();
    let (ok, out) = kubectl(&s.kubeconfig, &["apply", "-f", &manifest("widgets.yaml")]);
    assert!(ok, "{out}");
    let out = Command::new(&python)
        .arg(manifest("python_client.py"))
        .arg(&s.kubeconfig)
        .output()
        .expect("python runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("python client: ok"),
        "{text}"
    );
}

#[test]
fn kubectl_server_side_dry_runs_store_nothing() {
    require("kubectl", "apt-get install -y kubernetes-client");
    let s = serve();
    let k = |args: &[&str]| kubectl(&s.kubeconfig, args);
    install_gadgets(&s.kubeconfig);

    let (ok, out) = k(&[
        "apply",
        "--dry-run=server",
        "-f",
        &manifest("gadget-a.yaml"),
    ]);
    assert!(ok && out.contains("(server dry run)"), "dry apply: {out}");
    let (ok, out) = k(&["get", "gadgets", "-o", "name"]);
    assert!(
        ok && !out.contains("gadget.test.hoist.dev/a"),
        "nothing stored: {out}"
    );

    let (ok, out) = k(&["apply", "-f", &manifest("gadget-a.yaml")]);
    assert!(ok && out.contains("created"), "apply: {out}");
    let (ok, out) = k(&["delete", "gadget", "a", "--dry-run=server"]);
    assert!(ok && out.contains("(server dry run)"), "dry delete: {out}");
    let (ok, out) = k(&["get", "gadget", "a", "-o", "name"]);
    assert!(
        ok && out.contains("gadget.test.hoist.dev/a"),
        "still there: {out}"
    );
}

#[test]
fn kubectl_rollout_status_sees_a_deployment_become_available_and_scale() {
    require("kubectl", "apt-get install -y kubernetes-client");
    let s = serve();
    let k = |args: &[&str]| kubectl(&s.kubeconfig, args);
    let (ok, out) = k(&["apply", "-f", &manifest("web-deployment.yaml")]);
    assert!(ok, "apply: {out}");
    let (ok, out) = k(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    assert!(
        ok && out.contains("successfully rolled out"),
        "rollout: {out}"
    );
    let (ok, out) = k(&["scale", "deployment/web", "--replicas=3"]);
    assert!(ok && out.contains("scaled"), "scale: {out}");
    let (ok, out) = k(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    assert!(
        ok && out.contains("successfully rolled out"),
        "rollout after scale: {out}"
    );
    let (ok, out) = k(&[
        "get",
        "deployment/web",
        "-o",
        "jsonpath={.status.availableReplicas}",
    ]);
    assert!(ok && out.trim() == "3", "available after scale: {out}");

    // label, annotate, and diff (a server-side dry run of the change) as users run them.
    let (ok, out) = k(&["label", "deployment/web", "tier=front"]);
    assert!(ok && out.contains("labeled"), "label: {out}");
    let (ok, out) = k(&["annotate", "deployment/web", "note=hi"]);
    assert!(ok && out.contains("annotated"), "annotate: {out}");
    let changed = std::env::temp_dir().join(format!("web-{}.yaml", std::process::id()));
    let text = std::fs::read_to_string(manifest("web-deployment.yaml")).expect("manifest");
    std::fs::write(&changed, text.replace("replicas: 2", "replicas: 7")).expect("write");
    let changed = changed.display().to_string();
    let (_, out) = k(&["diff", "-f", &changed]);
    assert!(
        out.contains("+  replicas: 7"),
        "diff shows the change: {out}"
    );
    let (ok, out) = k(&[
        "get",
        "deployment/web",
        "-o",
        "jsonpath={.spec.replicas} {.metadata.labels.tier} {.metadata.annotations.note}",
    ]);
    assert!(
        ok && out.trim() == "3 front hi",
        "diff changed nothing: {out}"
    );

    // kubectl get prints the API server's Deployment columns (a Table), as on a real
    // cluster, and -o wide adds the containers, images and selector.
    let (ok, out) = k(&["get", "deployment", "web", "-o", "wide"]);
    assert!(ok, "{out}");
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0],
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ],
        "{out}"
    );
    assert_eq!(lines[1][..4], ["web", "3/3", "3", "3"], "{out}");
    assert_eq!(lines[1][5..], ["web", "nginx:1.27", "app=web"], "{out}");
}

#[test]
fn kubectl_get_events_and_kubectl_events_read_an_events_k8s_io_event() {
    require("kubectl", "apt-get install -y kubernetes-client");
    let s = serve();
    let k = |args: &[&str]| kubectl(&s.kubeconfig, args);
    let (ok, out) = k(&["apply", "-f", &manifest("event.yaml")]);
    assert!(ok, "apply: {out}");
    // devcluster answers lists, not server-side Tables, so read fields, not columns.
    let (ok, out) = k(&[
        "get",
        "events",
        "-o",
        "jsonpath={.items[0].reason}/{.items[0].message}/{.items[0].involvedObject.name}",
    ]);
    assert!(
        ok && out.trim() == "Installed/every object applied/settings",
        "the v1 view: {out}"
    );
    let (ok, out) = k(&["events"]);
    assert!(ok && out.contains("Installed"), "kubectl events: {out}");
}

#[test]
fn kubectl_server_side_apply_by_two_managers_conflicts_and_force_conflicts_wins() {
    require("kubectl", "apt-get install -y kubernetes-client");
    let s = serve();
    let k = |args: &[&str]| kubectl(&s.kubeconfig, args);
    let web = manifest("web-deployment.yaml");
    let (ok, out) = k(&[
        "apply",
        "--server-side",
        "--field-manager=alice",
        "-f",
        &web,
    ]);
    assert!(ok && out.contains("serverside-applied"), "alice: {out}");
    let text = std::fs::read_to_string(&web).expect("manifest");
    let bobs = std::env::temp_dir().join(format!("web-bob-{}.yaml", std::process::id()));
    std::fs::write(&bobs, text.replace("replicas: 2", "replicas: 5")).expect("write");
    let bobs = bobs.display().to_string();
    let (ok, out) = k(&["apply", "--server-side", "--field-manager=bob", "-f", &bobs]);
    assert!(
        !ok && out.contains("conflict") && out.contains("alice") && out.contains(".spec.replicas"),
        "bob conflicts: {out}"
    );
    let (ok, out) = k(&[
        "apply",
        "--server-side",
        "--field-manager=bob",
        "--force-conflicts",
        "-f",
        &bobs,
    ]);
    assert!(ok, "bob forces: {out}");
    let (ok, out) = k(&["get", "deployment/web", "-o", "jsonpath={.spec.replicas}"]);
    assert!(ok && out.trim() == "5", "bob's value: {out}");
    // kubectl label records its own manager, named from its user agent.
    let (ok, out) = k(&["label", "deployment/web", "tier=front"]);
    assert!(ok, "label: {out}");
    let (ok, out) = k(&[
        "get",
        "deployment/web",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields[*].manager}",
    ]);
    assert!(
        ok && out.contains("alice") && out.contains("bob") && out.contains("kubectl-label"),
        "managers: {out}"
    );
}

#[test]
fn kubectl_validates_on_the_server_by_default_and_explains_built_in_and_custom_kinds() {
    require("kubectl", "apt-get install -y kubernetes-client");
    let s = serve();
    let k = |args: &[&str]| kubectl(&s.kubeconfig, args);
    let text = std::fs::read_to_string(manifest("web-deployment.yaml")).expect("manifest");
    let typo = std::env::temp_dir().join(format!("typo-{}.yaml", std::process::id()));
    std::fs::write(&typo, text.replace("replicas: 2", "replicass: 2")).expect("write");
    let typo = typo.display().to_string();

    // Default validation (Strict, left to the server once /openapi/v3 says it can).
    let (ok, out) = k(&["apply", "-f", &typo]);
    assert!(
        !ok && out.contains(r#"strict decoding error: unknown field "spec.replicass""#),
        "a misspelled field is refused: {out}"
    );
    let (ok, out) = k(&["get", "deployments", "-o", "name"]);
    assert!(ok && out.trim().is_empty(), "nothing was stored: {out}");
    let (ok, out) = k(&["apply", "--validate=warn", "-f", &typo]);
    assert!(
        ok && out.contains(r#"Warning: unknown field "spec.replicass""#),
        "warn applies and says what it dropped: {out}"
    );
    let (ok, out) = k(&["apply", "-f", &manifest("web-deployment.yaml")]);
    assert!(ok && out.contains("configured"), "valid apply: {out}");

    let (ok, out) = k(&["explain", "deployment.spec.replicas"]);
    assert!(
        ok && out.contains("replicas <integer>") && out.contains("Number of desired pods"),
        "explain a built-in field: {out}"
    );
    install_gadgets(&s.kubeconfig);
    let (ok, out) = k(&["explain", "gadgets"]);
    assert!(
        ok && out.contains("Gadget") && out.contains("metadata\t<ObjectMeta>"),
        "explain a custom kind: {out}"
    );
}

#[test]
fn kubectl_create_subcommands_send_protobuf_and_what_they_create_reads_back_as_json() {
    require("kubectl", "apt-get install -y kubernetes-client");
    let s = serve();
    let k = |args: &[&str]| kubectl(&s.kubeconfig, args);
    for args in [
        &["create", "namespace", "team"][..],
        &[
            "create",
            "configmap",
            "c",
            "-n",
            "team",
            "--from-literal=a=1",
        ],
        &[
            "create",
            "secret",
            "generic",
            "s",
            "-n",
            "team",
            "--from-literal=password=hunter2",
        ],
        &[
            "create",
            "deployment",
            "web",
            "-n",
            "team",
            "--image=nginx",
            "--port=80",
            "--replicas=2",
        ],
        &["create", "serviceaccount", "robot", "-n", "team"],
        &[
            "create",
            "role",
            "reader",
            "-n",
            "team",
            "--verb=get",
            "--resource=pods",
        ],
        &[
            "create",
            "rolebinding",
            "robot-reads",
            "-n",
            "team",
            "--role=reader",
            "--serviceaccount=team:robot",
        ],
        &[
            "create",
            "job",
            "once",
            "-n",
            "team",
            "--image=busybox",
            "--",
            "true",
        ],
    ] {
        let (ok, out) = k(args);
        assert!(ok && out.contains("created"), "{args:?}: {out}");
    }
    let get = |what: &str, path: &str| {
        let (ok, out) = k(&["get", what, "-n", "team", "-o", &format!("jsonpath={path}")]);
        assert!(ok, "get {what}: {out}");
        out
    };
    assert_eq!(get("configmap/c", "{.data.a}"), "1");
    assert_eq!(get("secret/s", "{.data.password}"), "aHVudGVyMg==");
    assert_eq!(
        get(
            "deployment/web",
            "{.spec.replicas} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].ports[0].containerPort}"
        ),
        "2 nginx 80"
    );
    assert_eq!(
        get(
            "rolebinding/robot-reads",
            "{.roleRef.name} {.subjects[0].name}"
        ),
        "reader robot"
    );
    let (ok, out) = k(&[
        "rollout",
        "status",
        "deployment/web",
        "-n",
        "team",
        "--timeout=30s",
    ]);
    assert!(ok && out.contains("successfully rolled out"), "{out}");
    let (ok, out) = k(&[
        "wait",
        "--for=condition=complete",
        "job/once",
        "-n",
        "team",
        "--timeout=30s",
    ]);
    assert!(ok, "job completes: {out}");

    // A kind devcluster does not decode from protobuf says so and stores nothing.
    let (ok, out) = k(&[
        "create",
        "pdb",
        "p",
        "-n",
        "team",
        "--selector=app=web",
        "--min-available=1",
    ]);
    assert!(
        !ok && out.contains("does not decode PodDisruptionBudget"),
        "{out}"
    );
    let (ok, out) = k(&["delete", "namespace", "team"]);
    assert!(ok && out.contains("deleted"), "{out}");
    let (ok, out) = k(&["get", "configmaps", "-n", "team", "-o", "name"]);
    assert!(
        ok && out.trim().is_empty(),
        "the namespace took its objects: {out}"
    );
}

#[test]
fn kubectl_edit_and_set_send_strategic_patches_that_merge_containers_by_name() {
    require("kubectl", "apt-get install -y kubernetes-client");
    let s = serve();
    let k = |args: &[&str]| kubectl(&s.kubeconfig, args);
    let (ok, out) = k(&[
        "create",
        "deployment",
        "web",
        "--image=nginx:1.27",
        "--port=80",
    ]);
    assert!(ok, "{out}");
    let (ok, out) = k(&["set", "env", "deployment/web", "MODE=fast"]);
    assert!(ok, "set env: {out}");
    // kubectl edit, with a non-interactive editor that changes the image.
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&s.kubeconfig)
        .args(["edit", "deployment/web"])
        .env("KUBE_EDITOR", "sed -i s/nginx:1.27/nginx:1.28/")
        .output()
        .expect("kubectl edit runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("edited"),
        "edit: {text}"
    );
    let (ok, out) = k(&[
        "get",
        "deployment/web",
        "-o",
        "jsonpath={.spec.template.spec.containers[*].name} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].ports[0].containerPort} {.spec.template.spec.containers[0].env[0].value}",
    ]);
    assert!(
        ok && out.trim() == "nginx nginx:1.28 80 fast",
        "the edit changed the image and kept the port and env: {out}"
    );
    let (ok, out) = k(&["rollout", "status", "deployment/web", "--timeout=30s"]);
    assert!(ok && out.contains("successfully rolled out"), "{out}");
}
