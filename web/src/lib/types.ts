/** Shapes of the /api/v1 answers the console reads (see /api/v1/openapi.json). */
export interface Person {
  name: string;
  email: string;
}
export interface Principal {
  id: string;
  tenantId: string | null;
  kind: string;
  name: string;
  email: string;
  status: string;
  role: string | null;
  permissions: string[];
  totpEnabled: boolean;
  lastLoginAt: string | null;
  createdAt: string;
}
export interface SelfMailbox {
  id: string;
  address: string;
  displayName: string | null;
  status: string;
  quotaBytes: number;
  usedBytes: number;
  messageCount: number;
  owner: Person;
  resetDestination: string;
}
export interface SessionInfo {
  kind: 'principal' | 'mailbox' | string;
  mfa: string;
  expiresAt: string;
  principal: Principal | null;
  mailbox: SelfMailbox | null;
}
export interface Tenant {
  id: string;
  name: string;
  status: string;
  quota: { poolBytes: number | null; allocatedBytes: number; usedBytes: number };
  createdAt: string;
}
export interface Domain {
  id: string;
  tenantId: string;
  name: string;
  status: string;
  verification: string;
  catchAll: string | null;
  aliasOf: string | null;
  createdAt: string;
}
export interface DnsRecord {
  type: string;
  name: string;
  value: string;
  priority?: number;
}
export interface DkimKey {
  id: string;
  domainId: string;
  selector: string;
  algorithm: string;
  status: string;
  dnsName: string;
  createdAt: string;
  retiredAt: string | null;
}
export interface Mailbox {
  id: string;
  tenantId: string;
  domainId: string;
  address: string;
  displayName: string | null;
  status: string;
  quotaBytes: number;
  usedBytes: number;
  messageCount: number;
  isRole: boolean;
  owner: Person;
  businessOwner: Person | null;
  resetDestination: string;
  createdAt: string;
  updatedAt: string;
}
export interface ActorRef {
  type: string;
  id: string | null;
}
export interface Ownership {
  mailboxId: string;
  address: string;
  status: string;
  owner: Person;
  businessOwner: Person | null;
  resetDestination: string;
  resetPaths: Array<{ path: string; description: string; heldBy: ActorRef; expiresAt?: string; whoMayTrigger?: string[]; destination?: string }>;
  lastChange: { event: string; actor: ActorRef; at: string } | null;
  rollback: Array<{ eventId: number; event: string; at: string; actor: ActorRef; description: string; restores: Record<string, unknown> }>;
}
export interface Alias {
  id: string;
  tenantId: string;
  domainId: string;
  address: string;
  targets: string[];
  status: string;
  createdAt: string;
}
export interface Forward {
  id: string;
  mailboxId: string;
  target: string;
  external: boolean;
  keepCopy: boolean;
  reason: string | null;
  status: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}
export interface SendAsGrant {
  id: string;
  mailboxId: string;
  address: string;
  createdBy: string;
  createdAt: string;
}
export interface AuditEvent {
  id: number;
  at: string;
  tenantId: string | null;
  actor: { type: string; id: string | null; tokenId: string | null };
  sourceIp: string | null;
  userAgent: string | null;
  action: string;
  target: { type: string; id: string | null };
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  reason: string | null;
  requestId: string | null;
  approvalId: string | null;
}
export interface DeleteIntent {
  intent: { id: string; expiresAt: string };
  target: { type: string; id: string; name: string };
  impact: Record<string, unknown>;
  confirm: string;
}
export interface Readiness {
  status: 'ready' | 'unavailable';
  failing: string[];
  components: Record<string, { ok: boolean; detail?: string }>;
}
export interface SetupLink {
  token: string;
  url: string;
  expiresAt: string;
}
