//! What the workload asked for: the model the invariants are checked against.
//!
//! Guarantees: the model changes only when the harness's own write succeeded, and it
//! is never read back from the system under test. Each slot is one namespace holding at
//! most one install of `kv-store` (a Package named `kv`), so the objects an install
//! makes are known by name: Deployment `kv-kv`, Service `kv-kv`, Secret `kv-kv-auth`.

use crate::plan::Rng;
use std::collections::BTreeMap;

/// The package every slot installs, and the versions its repository offers.
pub const PACKAGE: &str = "kv-store";
pub const VERSIONS: [&str; 3] = ["v1.2.0", "v1.4.1+2", "v2.0.0"];
/// The Package's name in each slot's namespace.
pub const INSTALL: &str = "kv";
/// The ConfigMap a `valueFrom` reads `replicas` from, in the slot's namespace.
pub const VALUES_CONFIGMAP: &str = "soak-values";
/// The Secret a `valueFrom` reads `replicas` from, in the slot's namespace.
pub const VALUES_SECRET: &str = "soak-secret-values";
/// The objects an install of kv-store makes: (resource as devcluster counts it, name).
/// A Package's objects are named `<Package>-<name>` (Glasskube's rule, so two installs
/// sit side by side; `core/src/operator/placement.rs`): `kv` + `kv-auth` → `kv-kv-auth`.
pub const OBJECTS: [(&str, &str); 3] = [
    ("deployments.apps", "kv-kv"),
    ("services", "kv-kv"),
    ("secrets", "kv-kv-auth"),
];

/// Where `replicas` comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replicas {
    Literal(u32),
    /// `valueFrom.configMapRef` to [`VALUES_CONFIGMAP`]; the number is the ConfigMap's.
    FromConfigMap,
    /// `valueFrom.secretRef` to [`VALUES_SECRET`]; the number is the Secret's.
    FromSecret,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    pub version: &'static str,
    pub replicas: Replicas,
    pub suspended: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Slot {
    pub install: Option<Install>,
    /// The value in the slot's [`VALUES_CONFIGMAP`] (it always exists).
    pub configmap_replicas: u32,
    /// The value in the slot's [`VALUES_SECRET`] (it always exists).
    pub secret_replicas: u32,
    /// Installs begun in this slot (each may create each object once).
    pub episodes: u64,
    /// When the workload last wrote something that makes the operator render this
    /// install again (its spec, or its value source). Never read by [`Model::draw`]:
    /// the only clock in the model, for the republished-manifest check.
    pub written_at: Option<std::time::Instant>,
}

impl Slot {
    /// The replicas the Deployment must end with.
    pub fn replicas(&self) -> Option<u32> {
        self.install.as_ref().map(|i| match i.replicas {
            Replicas::Literal(n) => n,
            Replicas::FromConfigMap => self.configmap_replicas,
            Replicas::FromSecret => self.secret_replicas,
        })
    }
}

/// One step the workload takes: what to write, in which slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Install {
        slot: usize,
        install: Install,
    },
    Upgrade {
        slot: usize,
        version: &'static str,
    },
    SetReplicas {
        slot: usize,
        replicas: Replicas,
    },
    EditConfigMap {
        slot: usize,
        value: u32,
    },
    EditSecret {
        slot: usize,
        value: u32,
    },
    Suspend {
        slot: usize,
        suspended: bool,
    },
    Uninstall {
        slot: usize,
    },
    /// Point the PackageRepository at the other of the two repository servers (both
    /// serve the same packages).
    SwitchRepository,
    /// `hoist cluster add member-I --kubeconfig …` (member `I`'s kubeconfig).
    AddCluster {
        member: usize,
    },
    /// `hoist cluster remove member-I --yes`.
    RemoveCluster {
        member: usize,
    },
}

impl Step {
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Install { .. } => "install",
            Step::Upgrade { .. } => "upgrade",
            Step::SetReplicas {
                replicas: Replicas::FromConfigMap,
                ..
            } => "value from ConfigMap",
            Step::SetReplicas {
                replicas: Replicas::FromSecret,
                ..
            } => "value from Secret",
            Step::SetReplicas { .. } => "value change",
            Step::EditConfigMap { .. } => "value source edited",
            Step::EditSecret { .. } => "value Secret edited",
            Step::Suspend {
                suspended: true, ..
            } => "suspend",
            Step::Suspend { .. } => "resume",
            Step::Uninstall { .. } => "uninstall",
            Step::SwitchRepository => "repository URL switch",
            Step::AddCluster { .. } => "cluster add",
            Step::RemoveCluster { .. } => "cluster remove",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Model {
    pub slots: Vec<Slot>,
    /// Which repository server the PackageRepository points at (0 or 1).
    pub repository: usize,
    /// Whether each member cluster is registered (its Cluster exists).
    pub clusters: Vec<bool>,
}

impl Model {
    pub fn new(slots: usize) -> Self {
        Self {
            slots: (0..slots)
                .map(|_| Slot {
                    configmap_replicas: 1,
                    secret_replicas: 1,
                    ..Slot::default()
                })
                .collect(),
            repository: 0,
            clusters: vec![false; crate::plan::MEMBERS],
        }
    }

    /// The Cluster's name for member `i`.
    pub fn cluster(i: usize) -> String {
        format!("member-{i}")
    }

    pub fn namespace(slot: usize) -> String {
        format!("soak-{slot}")
    }

    /// The next step, drawn from `rng` given the model alone.
    pub fn draw(&self, rng: &mut Rng) -> Step {
        let slot = rng.range(0, self.slots.len() as u64 - 1) as usize;
        let version = |rng: &mut Rng| VERSIONS[rng.range(0, VERSIONS.len() as u64 - 1) as usize];
        let replicas = |rng: &mut Rng| {
            if rng.chance(20) {
                Replicas::FromConfigMap
            } else if rng.chance(12) {
                Replicas::FromSecret
            } else {
                Replicas::Literal(rng.range(1, 5) as u32)
            }
        };
        if rng.chance(3) {
            return Step::SwitchRepository;
        }
        if rng.chance(5) {
            let member = rng.range(0, self.clusters.len() as u64 - 1) as usize;
            return if self.clusters[member] {
                Step::RemoveCluster { member }
            } else {
                Step::AddCluster { member }
            };
        }
        match &self.slots[slot].install {
            None => Step::Install {
                slot,
                install: Install {
                    version: version(rng),
                    replicas: replicas(rng),
                    suspended: false,
                },
            },
            Some(install) => {
                #[derive(Clone, Copy)]
                enum K {
                    Upgrade,
                    Values,
                    Edit,
                    Suspend,
                    Uninstall,
                }
                match rng.weighted(&[
                    (K::Upgrade, 4),
                    (K::Values, 4),
                    (K::Edit, 3),
                    (K::Suspend, 2),
                    (K::Uninstall, 3),
                ]) {
                    K::Upgrade => Step::Upgrade {
                        slot,
                        version: version(rng),
                    },
                    K::Values => Step::SetReplicas {
                        slot,
                        replicas: replicas(rng),
                    },
                    K::Edit if rng.chance(50) => Step::EditSecret {
                        slot,
                        value: rng.range(1, 5) as u32,
                    },
                    K::Edit => Step::EditConfigMap {
                        slot,
                        value: rng.range(1, 5) as u32,
                    },
                    K::Suspend => Step::Suspend {
                        slot,
                        suspended: !install.suspended,
                    },
                    K::Uninstall => Step::Uninstall { slot },
                }
            }
        }
    }

    /// Records a step whose write succeeded.
    pub fn apply(&mut self, step: &Step) {
        match step {
            Step::Install { slot, .. }
            | Step::Upgrade { slot, .. }
            | Step::SetReplicas { slot, .. }
            | Step::EditConfigMap { slot, .. }
            | Step::EditSecret { slot, .. }
            | Step::Suspend { slot, .. } => {
                self.slots[*slot].written_at = Some(std::time::Instant::now());
            }
            _ => {}
        }
        match step {
            Step::Install { slot, install } => {
                let s = &mut self.slots[*slot];
                s.install = Some(install.clone());
                s.episodes += 1;
            }
            Step::Upgrade { slot, version } => {
                if let Some(i) = &mut self.slots[*slot].install {
                    i.version = version;
                }
            }
            Step::SetReplicas { slot, replicas } => {
                if let Some(i) = &mut self.slots[*slot].install {
                    i.replicas = replicas.clone();
                }
            }
            Step::EditConfigMap { slot, value } => self.slots[*slot].configmap_replicas = *value,
            Step::EditSecret { slot, value } => self.slots[*slot].secret_replicas = *value,
            Step::Suspend { slot, suspended } => {
                if let Some(i) = &mut self.slots[*slot].install {
                    i.suspended = *suspended;
                }
            }
            Step::Uninstall { slot } => self.slots[*slot].install = None,
            Step::SwitchRepository => self.repository = 1 - self.repository,
            Step::AddCluster { member } => self.clusters[*member] = true,
            Step::RemoveCluster { member } => self.clusters[*member] = false,
        }
    }

    /// How many times each object may have come into existence: once per install
    /// begun in its slot. Keys as devcluster's creation counter names them.
    pub fn allowed_creations(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (i, slot) in self.slots.iter().enumerate() {
            for (resource, name) in OBJECTS {
                out.insert(
                    format!("{resource} {}/{name}", Self::namespace(i)),
                    slot.episodes,
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_steps_from_the_same_model() {
        let run = |seed| {
            let mut rng = Rng::new(seed);
            let mut model = Model::new(4);
            (0..200)
                .map(|_| {
                    let step = model.draw(&mut rng);
                    model.apply(&step);
                    step
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }

    #[test]
    fn an_install_begun_again_allows_its_objects_to_be_made_again() {
        let mut model = Model::new(1);
        let install = Install {
            version: VERSIONS[0],
            replicas: Replicas::Literal(2),
            suspended: false,
        };
        model.apply(&Step::Install {
            slot: 0,
            install: install.clone(),
        });
        model.apply(&Step::Uninstall { slot: 0 });
        model.apply(&Step::Install { slot: 0, install });
        assert_eq!(
            model.allowed_creations()["deployments.apps soak-0/kv-kv"],
            2
        );
    }

    #[test]
    fn replicas_from_the_configmap_follow_its_edits() {
        let mut model = Model::new(1);
        model.apply(&Step::Install {
            slot: 0,
            install: Install {
                version: VERSIONS[1],
                replicas: Replicas::FromConfigMap,
                suspended: false,
            },
        });
        model.apply(&Step::EditConfigMap { slot: 0, value: 4 });
        assert_eq!(model.slots[0].replicas(), Some(4));
    }
}
