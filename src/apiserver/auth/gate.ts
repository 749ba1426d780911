/**
 * The API server's door: who sent a request (authenticate.ts), whether RBAC lets them do it
 * (authorizer.ts), and a line in the audit log once it is answered. Every path but the public
 * health and version ones passes here, REST, watch and WebSocket upgrades alike, before routing.
 */
import { ApiError } from '../errors.js';
import type { ApiRequest, ApiResponse } from '../http.js';
import type { Registry } from '../registry.js';
import { forbiddenMessage, requestAttributes, type RequestAttributes } from './attributes.js';
import { audited, auditEvent, createdName, type AuditLog } from './audit.js';
import { Authenticator } from './authenticate.js';
import { Authorizer } from './authorizer.js';
import { PolicyIndex } from './policy-index.js';
import type { UserInfo } from './user.js';

export interface GateOptions {
  registry: Registry;
  adminTokens: readonly string[];
  scrapeTokens: readonly string[];
  signingKey?: Buffer;
  audit?: AuditLog;
  now: () => Date;
}

export interface Admitted {
  user: UserInfo;
  attrs: RequestAttributes;
}

export class Gate {
  readonly index: PolicyIndex;
  readonly authorizer: Authorizer;
  private readonly authenticator: Authenticator;

  constructor(private readonly options: GateOptions) {
    this.index = new PolicyIndex(options.registry.store);
    this.authorizer = new Authorizer(this.index);
    this.authenticator = new Authenticator({
      adminTokens: options.adminTokens,
      scrapeTokens: options.scrapeTokens,
      ...(options.signingKey !== undefined ? { signingKey: options.signingKey } : {}),
      index: this.index,
      now: options.now,
    });
  }

  close(): void {
    this.index.close();
  }

  /**
   * Authenticates and authorizes; throws the 401 or 403 to answer. `res`, when given, is watched
   * so the request is audited once answered (an upgrade has no response object: audited here).
   */
  admit(req: ApiRequest, res: ApiResponse | undefined, path: string, query: URLSearchParams): Admitted {
    const received = this.options.now();
    const attrs = requestAttributes(req.method ?? 'GET', path, query);
    const audit = (user: UserInfo | undefined, code: number, decision?: string): void => {
      if (this.options.audit === undefined || !audited(attrs.verb, code)) return;
      const created = res === undefined ? undefined : createdName(res);
      this.options.audit.record(
        auditEvent(req, attrs, user, code, received, this.options.now(), decision, created),
      );
    };
    const who = this.authenticator.authenticate(req);
    if (who === undefined) {
      audit(undefined, 401);
      throw new ApiError('Unauthorized', 'Unauthorized');
    }
    if (who.kind === 'scraper') {
      if (path === '/metrics' && (req.method === 'GET' || req.method === 'HEAD'))
        return { user: { username: 'system:hikube:metrics-scraper', groups: [] }, attrs };
      throw new ApiError(
        'Forbidden',
        `the scrape token may only GET /metrics, not ${req.method ?? ''} ${path}`,
      );
    }
    const a = { ...attrs, user: who.user };
    const decision = this.authorizer.authorize(a);
    if (!decision.allowed) {
      audit(who.user, 403, 'forbid');
      throw new ApiError('Forbidden', forbiddenMessage(a), {
        ...(attrs.name !== '' ? { name: attrs.name } : {}),
        ...(attrs.resourceRequest ? { group: attrs.apiGroup, kind: attrs.resource } : {}),
      });
    }
    if (res === undefined) audit(who.user, 101, 'allow');
    else if (this.options.audit !== undefined && audited(attrs.verb, 0))
      res.once('close', () => audit(who.user, res.statusCode, 'allow'));
    return { user: who.user, attrs };
  }
}
