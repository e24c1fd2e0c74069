//! Each decoded message as the JSON the API server would accept for it.
//!
//! Every impl destructures its message whole, so a field `k8s-pb` adds is a compile
//! error here until it is converted (`put`) or refused (`refuse`, a 415 when set).

use super::field::{Message, Object};
use super::{invalid, unsupported};
use crate::error::ApiError;
use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::authentication::v1 as authentication;
use k8s_pb::api::batch::v1 as batch;
use k8s_pb::api::core::v1 as core;
use k8s_pb::api::rbac::v1 as rbac;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

/// The JSON of `raw`, a message of `kind` in `api_version`.
pub fn to_json(api_version: &str, kind: &str, raw: &[u8]) -> Result<Value, ApiError> {
    fn decode<M: prost::Message + Default + Message>(
        kind: &str,
        raw: &[u8],
    ) -> Result<Value, ApiError> {
        M::decode(raw).map_err(|e| invalid(kind, e))?.to_json()
    }
    match (api_version, kind) {
        ("v1", "Namespace") => decode::<core::Namespace>(kind, raw),
        ("v1", "ConfigMap") => decode::<core::ConfigMap>(kind, raw),
        ("v1", "Secret") => decode::<core::Secret>(kind, raw),
        ("v1", "ServiceAccount") => decode::<core::ServiceAccount>(kind, raw),
        ("v1", "Service") => decode::<core::Service>(kind, raw),
        ("apps/v1", "Deployment") => decode::<apps::Deployment>(kind, raw),
        ("batch/v1", "Job") => decode::<batch::Job>(kind, raw),
        ("batch/v1", "CronJob") => decode::<batch::CronJob>(kind, raw),
        ("rbac.authorization.k8s.io/v1", "Role") => decode::<rbac::Role>(kind, raw),
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => decode::<rbac::ClusterRole>(kind, raw),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => decode::<rbac::RoleBinding>(kind, raw),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding") => {
            decode::<rbac::ClusterRoleBinding>(kind, raw)
        }
        ("v1" | "meta.k8s.io/v1", "DeleteOptions") => decode::<meta::DeleteOptions>(kind, raw),
        ("authentication.k8s.io/v1", "TokenRequest") => {
            decode::<authentication::TokenRequest>(kind, raw)
        }
        _ => crate::auth::review::from_protobuf(api_version, kind, raw)
            .unwrap_or_else(|| Err(unsupported(format!("{kind} ({api_version})")))),
    }
}

/// The shape most kinds share: metadata, spec, status.
macro_rules! object {
    ($($ty:ty => $name:literal),* $(,)?) => {$(
        impl Message for $ty {
            fn to_json(&self) -> Result<Value, ApiError> {
                let Self { metadata, spec, status } = self;
                Ok(Object::new($name)
                    .put("metadata", metadata)?
                    .put("spec", spec)?
                    .put("status", status)?
                    .done())
            }
        }
    )*};
}

object!(
    authentication::TokenRequest => "TokenRequest",
    core::Namespace => "Namespace",
    core::Service => "Service",
    apps::Deployment => "Deployment",
    batch::Job => "Job",
    batch::CronJob => "CronJob",
);

/// The shape of the two bindings: metadata, subjects, roleRef.
macro_rules! binding {
    ($($ty:ty => $name:literal),* $(,)?) => {$(
        impl Message for $ty {
            fn to_json(&self) -> Result<Value, ApiError> {
                let Self { metadata, subjects, role_ref } = self;
                Ok(Object::new($name)
                    .put("metadata", metadata)?
                    .put("subjects", subjects)?
                    .put("roleRef", role_ref)?
                    .done())
            }
        }
    )*};
}

binding!(
    rbac::RoleBinding => "RoleBinding",
    rbac::ClusterRoleBinding => "ClusterRoleBinding",
);

// --- meta ----------------------------------------------------------------------------

impl Message for meta::ObjectMeta {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            name,
            generate_name,
            namespace,
            self_link,
            uid,
            resource_version,
            generation,
            creation_timestamp,
            deletion_timestamp,
            deletion_grace_period_seconds,
            labels,
            annotations,
            owner_references,
            finalizers,
            managed_fields,
        } = self;
        Ok(Object::new("ObjectMeta")
            .put("name", name)?
            .put("generateName", generate_name)?
            .put("namespace", namespace)?
            .put("selfLink", self_link)?
            .put("uid", uid)?
            .put("resourceVersion", resource_version)?
            .put("generation", generation)?
            .put("creationTimestamp", creation_timestamp)?
            .put("deletionTimestamp", deletion_timestamp)?
            .keep("deletionGracePeriodSeconds", deletion_grace_period_seconds)?
            .put("labels", labels)?
            .put("annotations", annotations)?
            .put("ownerReferences", owner_references)?
            .put("finalizers", finalizers)?
            // The server writes managedFields itself; what a client sends is replaced.
            .refuse("managedFields", managed_fields)?
            .done())
    }
}

/// RFC 3339 in UTC, seconds precision, as Kubernetes writes `metav1.Time`.
impl Message for meta::Time {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self { seconds, nanos: _ } = self;
        let t = chrono::DateTime::from_timestamp(seconds.unwrap_or(0), 0).ok_or_else(|| {
            ApiError::bad_request(format!("the protobuf time {seconds:?} is out of range"))
        })?;
        Ok(Value::String(
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ))
    }
}

impl Message for meta::OwnerReference {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            api_version,
            kind,
            name,
            uid,
            controller,
            block_owner_deletion,
        } = self;
        Ok(Object::new("OwnerReference")
            .put("apiVersion", api_version)?
            .put("kind", kind)?
            .put("name", name)?
            .put("uid", uid)?
            .keep("controller", controller)?
            .keep("blockOwnerDeletion", block_owner_deletion)?
            .done())
    }
}

impl Message for meta::LabelSelector {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            match_labels,
            match_expressions,
        } = self;
        Ok(Object::new("LabelSelector")
            .put("matchLabels", match_labels)?
            .put("matchExpressions", match_expressions)?
            .done())
    }
}

impl Message for meta::LabelSelectorRequirement {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            key,
            operator,
            values,
        } = self;
        Ok(Object::new("LabelSelectorRequirement")
            .put("key", key)?
            .put("operator", operator)?
            .put("values", values)?
            .done())
    }
}

/// An int or a string, whichever `type` says (0: int, 1: string).
impl Message for IntOrString {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            r#type,
            int_val,
            str_val,
        } = self;
        Ok(match r#type.unwrap_or(0) {
            1 => Value::String(str_val.clone().unwrap_or_default()),
            _ => Value::from(int_val.unwrap_or(0)),
        })
    }
}

impl Message for Quantity {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self { string } = self;
        Ok(Value::String(string.clone().unwrap_or_default()))
    }
}

// --- core/v1 -------------------------------------------------------------------------

impl Message for core::NamespaceSpec {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self { finalizers } = self;
        Ok(Object::new("NamespaceSpec")
            .put("finalizers", finalizers)?
            .done())
    }
}

impl Message for core::NamespaceStatus {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self { phase, conditions } = self;
        Ok(Object::new("NamespaceStatus")
            .put("phase", phase)?
            .refuse("conditions", conditions)?
            .done())
    }
}

impl Message for core::ConfigMap {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            metadata,
            immutable,
            data,
            binary_data,
        } = self;
        Ok(Object::new("ConfigMap")
            .put("metadata", metadata)?
            .keep("immutable", immutable)?
            .put("data", data)?
            .put("binaryData", binary_data)?
            .done())
    }
}

impl Message for core::Secret {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            metadata,
            immutable,
            data,
            string_data,
            r#type,
        } = self;
        Ok(Object::new("Secret")
            .put("metadata", metadata)?
            .keep("immutable", immutable)?
            .put("data", data)?
            .put("stringData", string_data)?
            .put("type", r#type)?
            .done())
    }
}

impl Message for core::PodTemplateSpec {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self { metadata, spec } = self;
        Ok(Object::new("PodTemplateSpec")
            .put("metadata", metadata)?
            .put("spec", spec)?
            .done())
    }
}

impl Message for core::PodSpec {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            volumes,
            init_containers,
            containers,
            ephemeral_containers,
            restart_policy,
            termination_grace_period_seconds,
            active_deadline_seconds,
            dns_policy,
            node_selector,
            service_account_name,
            service_account,
            automount_service_account_token,
            node_name,
            host_network,
            host_pid,
            host_ipc,
            share_process_namespace,
            security_context,
            image_pull_secrets,
            hostname,
            subdomain,
            affinity,
            scheduler_name,
            tolerations,
            host_aliases,
            priority_class_name,
            priority,
            dns_config,
            readiness_gates,
            runtime_class_name,
            enable_service_links,
            preemption_policy,
            overhead,
            topology_spread_constraints,
            set_hostname_as_fqdn,
            os,
            host_users,
            scheduling_gates,
            resource_claims,
            resources,
            hostname_override,
            workload_ref,
        } = self;
        Ok(Object::new("PodSpec")
            .refuse("volumes", volumes)?
            .put("initContainers", init_containers)?
            .put("containers", containers)?
            .refuse("ephemeralContainers", ephemeral_containers)?
            .put("restartPolicy", restart_policy)?
            .keep(
                "terminationGracePeriodSeconds",
                termination_grace_period_seconds,
            )?
            .keep("activeDeadlineSeconds", active_deadline_seconds)?
            .put("dnsPolicy", dns_policy)?
            .put("nodeSelector", node_selector)?
            .put("serviceAccountName", service_account_name)?
            .put("serviceAccount", service_account)?
            .keep(
                "automountServiceAccountToken",
                automount_service_account_token,
            )?
            .put("nodeName", node_name)?
            .put("hostNetwork", host_network)?
            .put("hostPID", host_pid)?
            .put("hostIPC", host_ipc)?
            .keep("shareProcessNamespace", share_process_namespace)?
            .refuse("securityContext", security_context)?
            .put("imagePullSecrets", image_pull_secrets)?
            .put("hostname", hostname)?
            .put("subdomain", subdomain)?
            .refuse("affinity", affinity)?
            .put("schedulerName", scheduler_name)?
            .refuse("tolerations", tolerations)?
            .refuse("hostAliases", host_aliases)?
            .put("priorityClassName", priority_class_name)?
            .keep("priority", priority)?
            .refuse("dnsConfig", dns_config)?
            .refuse("readinessGates", readiness_gates)?
            .put("runtimeClassName", runtime_class_name)?
            .keep("enableServiceLinks", enable_service_links)?
            .put("preemptionPolicy", preemption_policy)?
            .put("overhead", overhead)?
            .refuse("topologySpreadConstraints", topology_spread_constraints)?
            .keep("setHostnameAsFQDN", set_hostname_as_fqdn)?
            .refuse("os", os)?
            .keep("hostUsers", host_users)?
            .refuse("schedulingGates", scheduling_gates)?
            .refuse("resourceClaims", resource_claims)?
            .put("resources", resources)?
            .put("hostnameOverride", hostname_override)?
            .refuse("workloadRef", workload_ref)?
            .done())
    }
}

impl Message for core::LocalObjectReference {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self { name } = self;
        Ok(Object::new("LocalObjectReference")
            .put("name", name)?
            .done())
    }
}

impl Message for core::Container {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            name,
            image,
            command,
            args,
            working_dir,
            ports,
            env_from,
            env,
            resources,
            resize_policy,
            restart_policy,
            restart_policy_rules,
            volume_mounts,
            volume_devices,
            liveness_probe,
            readiness_probe,
            startup_probe,
            lifecycle,
            termination_message_path,
            termination_message_policy,
            image_pull_policy,
            security_context,
            stdin,
            stdin_once,
            tty,
        } = self;
        Ok(Object::new("Container")
            .put("name", name)?
            .put("image", image)?
            .put("command", command)?
            .put("args", args)?
            .put("workingDir", working_dir)?
            .put("ports", ports)?
            .refuse("envFrom", env_from)?
            .put("env", env)?
            .put("resources", resources)?
            .refuse("resizePolicy", resize_policy)?
            .put("restartPolicy", restart_policy)?
            .refuse("restartPolicyRules", restart_policy_rules)?
            .refuse("volumeMounts", volume_mounts)?
            .refuse("volumeDevices", volume_devices)?
            .refuse("livenessProbe", liveness_probe)?
            .refuse("readinessProbe", readiness_probe)?
            .refuse("startupProbe", startup_probe)?
            .refuse("lifecycle", lifecycle)?
            .put("terminationMessagePath", termination_message_path)?
            .put("terminationMessagePolicy", termination_message_policy)?
            .put("imagePullPolicy", image_pull_policy)?
            .refuse("securityContext", security_context)?
            .put("stdin", stdin)?
            .put("stdinOnce", stdin_once)?
            .put("tty", tty)?
            .done())
    }
}

impl Message for core::ContainerPort {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            name,
            host_port,
            container_port,
            protocol,
            host_ip,
        } = self;
        Ok(Object::new("ContainerPort")
            .put("name", name)?
            .put("hostPort", host_port)?
            .put("containerPort", container_port)?
            .put("protocol", protocol)?
            .put("hostIP", host_ip)?
            .done())
    }
}

impl Message for core::EnvVar {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            name,
            value,
            value_from,
        } = self;
        Ok(Object::new("EnvVar")
            .put("name", name)?
            .put("value", value)?
            .refuse("valueFrom", value_from)?
            .done())
    }
}

impl Message for core::ResourceRequirements {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            limits,
            requests,
            claims,
        } = self;
        Ok(Object::new("ResourceRequirements")
            .put("limits", limits)?
            .put("requests", requests)?
            .refuse("claims", claims)?
            .done())
    }
}

// --- apps/v1 -------------------------------------------------------------------------

impl Message for apps::DeploymentSpec {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            replicas,
            selector,
            template,
            strategy,
            min_ready_seconds,
            revision_history_limit,
            paused,
            progress_deadline_seconds,
        } = self;
        Ok(Object::new("DeploymentSpec")
            .keep("replicas", replicas)?
            .put("selector", selector)?
            .put("template", template)?
            .put("strategy", strategy)?
            .put("minReadySeconds", min_ready_seconds)?
            .keep("revisionHistoryLimit", revision_history_limit)?
            .put("paused", paused)?
            .keep("progressDeadlineSeconds", progress_deadline_seconds)?
            .done())
    }
}

impl Message for apps::DeploymentStrategy {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            r#type,
            rolling_update,
        } = self;
        Ok(Object::new("DeploymentStrategy")
            .put("type", r#type)?
            .put("rollingUpdate", rolling_update)?
            .done())
    }
}

impl Message for apps::RollingUpdateDeployment {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            max_unavailable,
            max_surge,
        } = self;
        Ok(Object::new("RollingUpdateDeployment")
            .put("maxUnavailable", max_unavailable)?
            .put("maxSurge", max_surge)?
            .done())
    }
}

/// A client's status is dropped on create anyway (the workload controller writes it);
/// it is converted so that a body carrying one is still accepted.
impl Message for apps::DeploymentStatus {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            observed_generation,
            replicas,
            updated_replicas,
            ready_replicas,
            available_replicas,
            unavailable_replicas,
            terminating_replicas,
            conditions,
            collision_count,
        } = self;
        Ok(Object::new("DeploymentStatus")
            .put("observedGeneration", observed_generation)?
            .keep("replicas", replicas)?
            .put("updatedReplicas", updated_replicas)?
            .put("readyReplicas", ready_replicas)?
            .put("availableReplicas", available_replicas)?
            .put("unavailableReplicas", unavailable_replicas)?
            .put("terminatingReplicas", terminating_replicas)?
            .refuse("conditions", conditions)?
            .keep("collisionCount", collision_count)?
            .done())
    }
}

impl Message for meta::DeleteOptions {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            grace_period_seconds,
            preconditions,
            orphan_dependents,
            propagation_policy,
            dry_run,
            ignore_store_read_error_with_cluster_breaking_potential,
        } = self;
        Ok(Object::new("DeleteOptions")
            .keep("gracePeriodSeconds", grace_period_seconds)?
            .put("preconditions", preconditions)?
            .keep("orphanDependents", orphan_dependents)?
            .put("propagationPolicy", propagation_policy)?
            .put("dryRun", dry_run)?
            .keep(
                "ignoreStoreReadErrorWithClusterBreakingPotential",
                ignore_store_read_error_with_cluster_breaking_potential,
            )?
            .done())
    }
}

impl Message for meta::Preconditions {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            uid,
            resource_version,
        } = self;
        Ok(Object::new("Preconditions")
            .keep("uid", uid)?
            .keep("resourceVersion", resource_version)?
            .done())
    }
}

impl Message for core::ServiceAccount {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            metadata,
            secrets,
            image_pull_secrets,
            automount_service_account_token,
        } = self;
        Ok(Object::new("ServiceAccount")
            .put("metadata", metadata)?
            .put("secrets", secrets)?
            .put("imagePullSecrets", image_pull_secrets)?
            .keep(
                "automountServiceAccountToken",
                automount_service_account_token,
            )?
            .done())
    }
}

impl Message for core::ObjectReference {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            kind,
            namespace,
            name,
            uid,
            api_version,
            resource_version,
            field_path,
        } = self;
        Ok(Object::new("ObjectReference")
            .put("kind", kind)?
            .put("namespace", namespace)?
            .put("name", name)?
            .put("uid", uid)?
            .put("apiVersion", api_version)?
            .put("resourceVersion", resource_version)?
            .put("fieldPath", field_path)?
            .done())
    }
}

impl Message for core::ServiceSpec {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            ports,
            selector,
            cluster_ip,
            cluster_ips,
            r#type,
            external_ips,
            session_affinity,
            load_balancer_ip,
            load_balancer_source_ranges,
            external_name,
            external_traffic_policy,
            health_check_node_port,
            publish_not_ready_addresses,
            session_affinity_config,
            ip_families,
            ip_family_policy,
            allocate_load_balancer_node_ports,
            load_balancer_class,
            internal_traffic_policy,
            traffic_distribution,
        } = self;
        Ok(Object::new("ServiceSpec")
            .put("ports", ports)?
            .put("selector", selector)?
            .put("clusterIP", cluster_ip)?
            .put("clusterIPs", cluster_ips)?
            .put("type", r#type)?
            .put("externalIPs", external_ips)?
            .put("sessionAffinity", session_affinity)?
            .put("loadBalancerIP", load_balancer_ip)?
            .put("loadBalancerSourceRanges", load_balancer_source_ranges)?
            .put("externalName", external_name)?
            .put("externalTrafficPolicy", external_traffic_policy)?
            .put("healthCheckNodePort", health_check_node_port)?
            .put("publishNotReadyAddresses", publish_not_ready_addresses)?
            .refuse("sessionAffinityConfig", session_affinity_config)?
            .put("ipFamilies", ip_families)?
            .put("ipFamilyPolicy", ip_family_policy)?
            .keep(
                "allocateLoadBalancerNodePorts",
                allocate_load_balancer_node_ports,
            )?
            .put("loadBalancerClass", load_balancer_class)?
            .put("internalTrafficPolicy", internal_traffic_policy)?
            .put("trafficDistribution", traffic_distribution)?
            .done())
    }
}

impl Message for core::ServicePort {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            name,
            protocol,
            app_protocol,
            port,
            target_port,
            node_port,
        } = self;
        Ok(Object::new("ServicePort")
            .put("name", name)?
            .put("protocol", protocol)?
            .put("appProtocol", app_protocol)?
            .keep("port", port)?
            .put("targetPort", target_port)?
            .put("nodePort", node_port)?
            .done())
    }
}

impl Message for core::ServiceStatus {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            load_balancer,
            conditions,
        } = self;
        Ok(Object::new("ServiceStatus")
            .put("loadBalancer", load_balancer)?
            .refuse("conditions", conditions)?
            .done())
    }
}

impl Message for core::LoadBalancerStatus {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self { ingress } = self;
        Ok(Object::new("LoadBalancerStatus")
            .refuse("ingress", ingress)?
            .done())
    }
}

// --- batch/v1 ------------------------------------------------------------------------

impl Message for batch::JobSpec {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            parallelism,
            completions,
            active_deadline_seconds,
            pod_failure_policy,
            success_policy,
            backoff_limit,
            backoff_limit_per_index,
            max_failed_indexes,
            selector,
            manual_selector,
            template,
            ttl_seconds_after_finished,
            completion_mode,
            suspend,
            pod_replacement_policy,
            managed_by,
        } = self;
        Ok(Object::new("JobSpec")
            .keep("parallelism", parallelism)?
            .keep("completions", completions)?
            .keep("activeDeadlineSeconds", active_deadline_seconds)?
            .refuse("podFailurePolicy", pod_failure_policy)?
            .refuse("successPolicy", success_policy)?
            .keep("backoffLimit", backoff_limit)?
            .keep("backoffLimitPerIndex", backoff_limit_per_index)?
            .keep("maxFailedIndexes", max_failed_indexes)?
            .put("selector", selector)?
            .keep("manualSelector", manual_selector)?
            .put("template", template)?
            .keep("ttlSecondsAfterFinished", ttl_seconds_after_finished)?
            .put("completionMode", completion_mode)?
            .keep("suspend", suspend)?
            .put("podReplacementPolicy", pod_replacement_policy)?
            .put("managedBy", managed_by)?
            .done())
    }
}

/// As with Deployments, a client's status is converted only so a body carrying an
/// empty one is accepted.
impl Message for batch::JobStatus {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            conditions,
            start_time,
            completion_time,
            active,
            succeeded,
            failed,
            terminating,
            completed_indexes,
            failed_indexes,
            uncounted_terminated_pods,
            ready,
        } = self;
        Ok(Object::new("JobStatus")
            .refuse("conditions", conditions)?
            .put("startTime", start_time)?
            .put("completionTime", completion_time)?
            .put("active", active)?
            .put("succeeded", succeeded)?
            .put("failed", failed)?
            .keep("terminating", terminating)?
            .put("completedIndexes", completed_indexes)?
            .keep("failedIndexes", failed_indexes)?
            .refuse("uncountedTerminatedPods", uncounted_terminated_pods)?
            .keep("ready", ready)?
            .done())
    }
}

impl Message for batch::CronJobSpec {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            schedule,
            time_zone,
            starting_deadline_seconds,
            concurrency_policy,
            suspend,
            job_template,
            successful_jobs_history_limit,
            failed_jobs_history_limit,
        } = self;
        Ok(Object::new("CronJobSpec")
            .put("schedule", schedule)?
            .put("timeZone", time_zone)?
            .keep("startingDeadlineSeconds", starting_deadline_seconds)?
            .put("concurrencyPolicy", concurrency_policy)?
            .keep("suspend", suspend)?
            .put("jobTemplate", job_template)?
            .keep("successfulJobsHistoryLimit", successful_jobs_history_limit)?
            .keep("failedJobsHistoryLimit", failed_jobs_history_limit)?
            .done())
    }
}

impl Message for batch::CronJobStatus {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            active,
            last_schedule_time,
            last_successful_time,
        } = self;
        Ok(Object::new("CronJobStatus")
            .put("active", active)?
            .put("lastScheduleTime", last_schedule_time)?
            .put("lastSuccessfulTime", last_successful_time)?
            .done())
    }
}

impl Message for batch::JobTemplateSpec {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self { metadata, spec } = self;
        Ok(Object::new("JobTemplateSpec")
            .put("metadata", metadata)?
            .put("spec", spec)?
            .done())
    }
}

// --- rbac.authorization.k8s.io/v1 ----------------------------------------------------

impl Message for rbac::Role {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self { metadata, rules } = self;
        Ok(Object::new("Role")
            .put("metadata", metadata)?
            .put("rules", rules)?
            .done())
    }
}

impl Message for rbac::ClusterRole {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            metadata,
            rules,
            aggregation_rule,
        } = self;
        Ok(Object::new("ClusterRole")
            .put("metadata", metadata)?
            .put("rules", rules)?
            .put("aggregationRule", aggregation_rule)?
            .done())
    }
}

impl Message for rbac::AggregationRule {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            cluster_role_selectors,
        } = self;
        Ok(Object::new("AggregationRule")
            .put("clusterRoleSelectors", cluster_role_selectors)?
            .done())
    }
}

impl Message for rbac::PolicyRule {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            verbs,
            api_groups,
            resources,
            resource_names,
            non_resource_ur_ls,
        } = self;
        Ok(Object::new("PolicyRule")
            .put("verbs", verbs)?
            .put("apiGroups", api_groups)?
            .put("resources", resources)?
            .put("resourceNames", resource_names)?
            .put("nonResourceURLs", non_resource_ur_ls)?
            .done())
    }
}

impl Message for rbac::Subject {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            kind,
            api_group,
            name,
            namespace,
        } = self;
        Ok(Object::new("Subject")
            .put("kind", kind)?
            .put("apiGroup", api_group)?
            .put("name", name)?
            .put("namespace", namespace)?
            .done())
    }
}

impl Message for rbac::RoleRef {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            api_group,
            kind,
            name,
        } = self;
        Ok(Object::new("RoleRef")
            .put("apiGroup", api_group)?
            .put("kind", kind)?
            .put("name", name)?
            .done())
    }
}

impl Message for authentication::TokenRequestSpec {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            audiences,
            expiration_seconds,
            bound_object_ref,
        } = self;
        Ok(Object::new("TokenRequestSpec")
            .put("audiences", audiences)?
            .put("expirationSeconds", expiration_seconds)?
            .put("boundObjectRef", bound_object_ref)?
            .done())
    }
}

impl Message for authentication::BoundObjectReference {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            kind,
            api_version,
            name,
            u_id,
        } = self;
        Ok(Object::new("BoundObjectReference")
            .put("kind", kind)?
            .put("apiVersion", api_version)?
            .put("name", name)?
            .put("uid", u_id)?
            .done())
    }
}

impl Message for authentication::TokenRequestStatus {
    fn to_json(&self) -> Result<Value, ApiError> {
        let Self {
            token,
            expiration_timestamp,
        } = self;
        Ok(Object::new("TokenRequestStatus")
            .put("token", token)?
            .put("expirationTimestamp", expiration_timestamp)?
            .done())
    }
}
