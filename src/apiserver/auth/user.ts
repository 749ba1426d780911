/**
 * Who made a request, as kube-apiserver's authenticators describe a user: a name, a uid, groups.
 * The authorizer (authorizer.ts) and the audit log (audit.ts) take this, never a token.
 */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: readonly string[];
  extra?: Record<string, string[]>;
}

export const AUTHENTICATED = 'system:authenticated';
/** Members are allowed everything, before any rule is read (kube-apiserver's superuser group). */
export const MASTERS = 'system:masters';
export const SERVICE_ACCOUNTS = 'system:serviceaccounts';

/** The holder of the admin token (the kubeconfig `hikube up` writes). */
export const ADMIN_USER: UserInfo = { username: 'hikube-admin', groups: [MASTERS, AUTHENTICATED] };

export function serviceAccountUserInfo(namespace: string, name: string, uid: string): UserInfo {
  return {
    username: `system:serviceaccount:${namespace}:${name}`,
    uid,
    groups: [SERVICE_ACCOUNTS, `${SERVICE_ACCOUNTS}:${namespace}`, AUTHENTICATED],
  };
}
