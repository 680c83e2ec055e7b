// The Tollgate SDK: the admin API (tollgate.admin.v1) and the data APIs
// (tollgate.data.v1), each as a namespace. Import a subpath instead
// ("@tollgate-gw/sdk/admin/v1") to take only what you use.
export * as adminv1 from "./admin.js";
export * as datav1 from "./data.js";
