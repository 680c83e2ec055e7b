package adminauth

import (
	"strings"

	adminv1 "github.com/tollgate-gw/tollgate/gen/tollgate/admin/v1"
)

// adminService is the full name prefix of AdminService's methods.
const adminService = "/tollgate.admin.v1.AdminService/"

// Roles, in increasing power: each may do what the ones before it may.
const (
	viewer   = adminv1.AdminToken_ROLE_VIEWER
	operator = adminv1.AdminToken_ROLE_OPERATOR
	admin    = adminv1.AdminToken_ROLE_ADMIN
)

// MethodRoles is the one table of who may call what: the least role that
// may call each AdminService method, by method name. The same table holds
// for gRPC and REST, since REST calls reach the same gRPC server. A method
// missing from it is refused to every role but admin (a test checks that
// every method of the service is listed).
var MethodRoles = roleTable(map[adminv1.AdminToken_Role][]string{
	// Reading configuration and usage. No method returns a secret.
	viewer: {
		"GetApi", "ListApis", "GetRoute", "ListRoutes", "GetAuthorizer", "ListAuthorizers",
		"GetDeployment", "ListDeployments", "ExportDeployment", "GetStage", "ListStages", "GetApiKey", "ListApiKeys",
		"GetUsagePlan", "ListUsagePlans", "GetUsagePlanKey", "ListUsagePlanKeys",
		"GetDomainMapping", "ListDomainMappings", "GetAccountSettings", "GetUsage",
		"GetCertificate", "ListCertificates", // never the private key
		"GetStageHealth",
	},
	// Operating what exists: deploying, keys and plans, quotas, caches.
	operator: {
		"CreateDeployment", "DeleteDeployment", "CreateStage", "UpdateStage", "DeleteStage",
		"CreateApiKey", "UpdateApiKey", "DeleteApiKey",
		"CreateUsagePlan", "UpdateUsagePlan", "DeleteUsagePlan", "CreateUsagePlanKey", "DeleteUsagePlanKey",
		"AdjustQuota", "FlushStageCache", "FlushStageAuthorizersCache",
	},
	// Defining APIs and the gateway itself, and access to the admin API.
	admin: {
		"CreateApi", "UpdateApi", "DeleteApi", "CreateRoute", "UpdateRoute", "DeleteRoute",
		"CreateAuthorizer", "UpdateAuthorizer", "DeleteAuthorizer",
		"CreateDomainMapping", "UpdateDomainMapping", "DeleteDomainMapping", "UpdateAccountSettings",
		"CreateCertificate", "UpdateCertificate", "DeleteCertificate",
		"CreateAdminToken", "GetAdminToken", "ListAdminTokens", "DeleteAdminToken", "ListAuditEvents",
	},
})

// roleTable turns lists of methods by role into MethodRoles.
func roleTable(byRole map[adminv1.AdminToken_Role][]string) map[string]adminv1.AdminToken_Role {
	out := map[string]adminv1.AdminToken_Role{}
	for role, methods := range byRole {
		for _, m := range methods {
			out[m] = role
		}
	}
	return out
}

// Allowed reports whether role may call fullMethod. Methods outside
// AdminService (server reflection) are open to every role: they describe
// the API, not its configuration.
func Allowed(role adminv1.AdminToken_Role, fullMethod string) bool {
	if role == admin {
		return true
	}
	name, ok := strings.CutPrefix(fullMethod, adminService)
	if !ok {
		return role >= viewer
	}
	need, ok := MethodRoles[name]
	return ok && role >= need
}

// IsWrite reports whether an AdminService method changes something (every
// method but Get and List), which the audit log records.
func IsWrite(fullMethod string) bool {
	name, ok := strings.CutPrefix(fullMethod, adminService)
	if !ok {
		return false
	}
	return !strings.HasPrefix(name, "Get") && !strings.HasPrefix(name, "List")
}

// RoleName returns "viewer", "operator" or "admin".
func RoleName(r adminv1.AdminToken_Role) string {
	switch r {
	case viewer:
		return "viewer"
	case operator:
		return "operator"
	case admin:
		return "admin"
	}
	return "unknown"
}
