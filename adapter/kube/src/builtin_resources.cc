#include "adapter/kube/builtin_resources.h"

namespace adapter {

std::vector<rules::ResourceInfo> builtinResourceTable() {
  using rules::ResourceInfo;
  // Preferred groups first: a bare "ingress" means networking.k8s.io.
  std::vector<ResourceInfo> table = {
      {{"", "pods"}, "Pod", "pod", "v1", true, {"po"}},
      {{"", "services"}, "Service", "service", "v1", true, {"svc"}},
      {{"", "namespaces"}, "Namespace", "namespace", "v1", false, {"ns"}},
      {{"", "nodes"}, "Node", "node", "v1", false, {"no"}},
      {{"", "persistentvolumes"}, "PersistentVolume", "persistentvolume", "v1", false, {"pv"}},
      {{"", "persistentvolumeclaims"},
       "PersistentVolumeClaim",
       "persistentvolumeclaim",
       "v1",
       true,
       {"pvc"}},
      {{"", "endpoints"}, "Endpoints", "endpoints", "v1", true, {"ep"}},
      {{"", "configmaps"}, "ConfigMap", "configmap", "v1", true, {"cm"}},
      {{"", "replicationcontrollers"},
       "ReplicationController",
       "replicationcontroller",
       "v1",
       true,
       {"rc"}},
      {{"", "serviceaccounts"}, "ServiceAccount", "serviceaccount", "v1", true, {"sa"}},
      {{"apps", "deployments"}, "Deployment", "deployment", "v1", true, {"deploy"}},
      {{"apps", "statefulsets"}, "StatefulSet", "statefulset", "v1", true, {"sts"}},
      {{"apps", "daemonsets"}, "DaemonSet", "daemonset", "v1", true, {"ds"}},
      {{"apps", "replicasets"}, "ReplicaSet", "replicaset", "v1", true, {"rs"}},
      {{"batch", "jobs"}, "Job", "job", "v1", true, {}},
      {{"batch", "cronjobs"}, "CronJob", "cronjob", "v1", true, {"cj"}},
      {{"networking.k8s.io", "ingresses"}, "Ingress", "ingress", "v1", true, {"ing"}},
      {{"autoscaling", "horizontalpodautoscalers"},
       "HorizontalPodAutoscaler",
       "horizontalpodautoscaler",
       "v2",
       true,
       {"hpa"}},
      {{"policy", "poddisruptionbudgets"},
       "PodDisruptionBudget",
       "poddisruptionbudget",
       "v1",
       true,
       {"pdb"}},
      // Older groups that prometheus-adapter configs still name.
      {{"extensions", "ingresses"}, "Ingress", "ingress", "v1beta1", true, {}},
      {{"extensions", "deployments"}, "Deployment", "deployment", "v1beta1", true, {}},
      {{"extensions", "daemonsets"}, "DaemonSet", "daemonset", "v1beta1", true, {}},
      {{"extensions", "replicasets"}, "ReplicaSet", "replicaset", "v1beta1", true, {}},
  };
  return table;
}

std::shared_ptr<const rules::ResourceMapper> builtinResources() {
  return std::make_shared<rules::StaticResourceMapper>(builtinResourceTable());
}

}  // namespace adapter
