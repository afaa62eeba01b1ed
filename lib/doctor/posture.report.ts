import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AUTH_CONFIG } from '../auth/auth.internal-constants.js';
import type { AuthConfig } from '../auth/auth.options.js';
import { AUTH_PLAN } from '../auth/auth.plan.js';
import { AUTHZ_CONFIG } from '../authz/authz.internal-constants.js';
import type { AuthzConfig } from '../authz/authz.options.js';
import { AUTHZ_PLAN } from '../authz/authz.plan.js';
import { CORE_CONFIG, ZERO_TRUST_RAW_OPTIONS } from '../core/core.internal-constants.js';
import type { CoreConfig } from '../core/core.options.js';
import { RoutePlans } from '../core/route-plan.js';
import { HTTP_CONFIG } from '../http/http.internal-constants.js';
import type { HttpConfig } from '../http/http.options.js';
import { MemoryStore } from '../store/memory.store.js';
import { ZERO_TRUST_STORE } from '../store/store.internal-constants.js';
import type { ZeroTrustStore } from '../store/zero-trust-store.js';
import { type PostureFinding, renderPosture } from './posture-finding.js';

/** A key id that starts with a date (`2026-11`, `2026-11-23`): the usual way teams date their keys. */
const DATED_KID = /^(\d{4})-(\d{2})(?:-(\d{2}))?/;
/** Past this, a signing key is due for rotation (NIST SP 800-57 cryptoperiods are one to two years). */
const KEY_ROTATION_DAYS = 365;
const DAY = 86_400_000;
/** Boot warnings this report already gives a line of its own (the ephemeral key, the routes without a rule). */
const COVERED = /^No signing keys configured|route\(s\) declare no authorization rule/;

/**
 * The app's security posture as the module sees it once booted: routes and handlers without a rule,
 * the keys, the header policy, whose forwarded addresses are believed, where rate limits are counted,
 * production-only settings. Each line has a grade and, when not a pass, its fix. The boot checks that
 * inspect the database (privileges, row-level security drift) speak through the log; the
 * `nestjs-zero-trust doctor` command boots the app, collects those lines and hands them in as
 * `bootWarnings`. In development the same report is logged at boot.
 */
@Injectable()
export class PostureReport implements OnApplicationBootstrap {
  private readonly logger = new Logger('ZeroTrustPosture');

  constructor(
    private readonly plans: RoutePlans,
    @Inject(CORE_CONFIG) private readonly core: CoreConfig,
    @Inject(AUTHZ_CONFIG) private readonly authz: AuthzConfig,
    @Inject(AUTH_CONFIG) private readonly auth: AuthConfig,
    @Inject(HTTP_CONFIG) private readonly http: HttpConfig,
    @Inject(ZERO_TRUST_RAW_OPTIONS) private readonly raw: Record<string, unknown>,
    @Inject(ZERO_TRUST_STORE) private readonly store: ZeroTrustStore,
  ) {}

  onApplicationBootstrap(): void {
    // Development only: tests and production keep their logs to what they assert and alert on.
    if (this.core.environment === 'development') this.logger.log(`${renderPosture(this.findings())}\nThe full report, database included: npx nestjs-zero-trust doctor`);
  }

  /**
   * Every finding, the boot checks' warnings (database privileges, drift…) included when given, and the
   * refusals a report-only boot (the doctor's) recorded instead of stopping: each one fails, since the
   * app would not start.
   */
  findings(bootWarnings: readonly string[] = [], bootRefusals: readonly string[] = []): PostureFinding[] {
    return [
      ...bootRefusals.map((refusal): PostureFinding => {
        const [first, ...rest] = refusal.split('\n').map((line) => line.trim());
        const details = rest.filter(Boolean);
        return {
          area: COVERED.test(first) ? 'boot' : /database|row-level security|\brole\b|polic/i.test(first) ? 'database' : 'boot',
          level: 'fail',
          message: `the app does not start: ${first.replace(/:$/, '')}`,
          // The routes line already lists each route: only the fix is repeated here.
          fix: (COVERED.test(first) ? details.slice(-1) : details).join(' ') || undefined,
        };
      }),
      ...this.routes(),
      ...this.keys(),
      ...this.headers(),
      this.proxy(),
      this.throttling(),
      this.production(),
      ...bootWarnings.filter((warning) => !COVERED.test(warning)).map((warning): PostureFinding => ({
        area: /database|row-level security|\brole\b|polic/i.test(warning) ? 'database' : 'boot',
        level: this.core.production ? 'fail' : 'warn',
        message: warning.split('\n')[0],
        fix: warning.split('\n').slice(1).map((line) => line.trim()).filter(Boolean).join(' ') || undefined,
      })),
    ];
  }

  report(bootWarnings: readonly string[] = []): string {
    return renderPosture(this.findings(bootWarnings));
  }

  private routes(): PostureFinding[] {
    const unruled: string[] = [];
    const open: string[] = [];
    let count = 0;
    for (const { controller, handler, name, entry } of this.plans.handlers()) {
      count++;
      const plan = this.plans.plan(handler, controller);
      if (plan.get(AUTH_PLAN).isPublic) open.push(`${entry.label} (${controller.name}.${name})`);
      else if (!plan.get(AUTHZ_PLAN).hasRule) unruled.push(`${entry.label} (${controller.name}.${name})`);
    }
    const findings: PostureFinding[] = [];
    findings.push(
      unruled.length
        ? {
            area: 'routes',
            level: 'fail',
            message: `${unruled.length} of ${count} handler(s) declare no authorization rule, so any signed-in user may call them: ${unruled.join(', ')}`,
            fix: 'give each one @OwnsResource(...), @Scopes(...), @Roles(...), @Authenticated() or @Public()',
          }
        : { area: 'routes', level: 'pass', message: `every one of ${count} handler(s) declares a rule or is @Public()` },
    );
    if (open.length) findings.push({ area: 'routes', level: 'pass', message: `${open.length} public handler(s), reachable without a token: ${open.join(', ')}` });
    findings.push(
      this.authz.authorization === 'strict'
        ? { area: 'routes', level: 'pass', message: "authorization: 'strict': the app refuses to start with a handler without a rule" }
        : { area: 'routes', level: 'warn', message: "authorization: 'report': a new handler without a rule is only warned about", fix: "set authorization: 'strict' (ZT_AUTHORIZATION=strict)" },
    );
    return findings;
  }

  private keys(): PostureFinding[] {
    const ring = this.auth.keyRing;
    const findings: PostureFinding[] = [];
    const signing = ring.signingKey;
    if (signing?.kid.startsWith('ephemeral-')) {
      findings.push({
        area: 'keys',
        level: this.core.production ? 'fail' : 'warn',
        message: `tokens are signed with an ephemeral ${signing.alg} key made at boot: they die at each restart and other instances reject them`,
        fix: 'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256, then keys: [{ kid, alg: "ES256", privateKey }] from your secret manager',
      });
    }
    for (const key of ring.keys) {
      if (key.kid.startsWith('ephemeral-')) continue;
      if (key.alg === 'HS256') {
        findings.push({ area: 'keys', level: 'warn', message: `key "${key.kid}" is a shared HS256 secret: whoever can verify a token can mint one`, fix: 'use an ES256 or EdDSA key pair and publish only its public half' });
        continue;
      }
      const dated = DATED_KID.exec(key.kid);
      const age = dated ? Math.floor((this.core.clock.now() - Date.UTC(Number(dated[1]), Number(dated[2]) - 1, Number(dated[3] ?? 1))) / DAY) : undefined;
      if (age !== undefined && age > KEY_ROTATION_DAYS) {
        findings.push({ area: 'keys', level: 'warn', message: `key "${key.kid}" (${key.alg}) is ${age} days old`, fix: 'rotate it: a new key signs, the old one stays as previous public key until its tokens expire' });
      } else {
        findings.push({ area: 'keys', level: 'pass', message: `key "${key.kid}": ${key.alg}${age === undefined ? ' (age unknown: date the key id, e.g. 2026-11, to have it checked)' : `, ${age} days old`}` });
      }
    }
    return findings;
  }

  private headers(): PostureFinding[] {
    const set = new Map(this.http.headers.set.map(([name, value]) => [name.toLowerCase(), value]));
    const findings: PostureFinding[] = [];
    const csp = set.get('content-security-policy');
    if (!csp) findings.push({ area: 'headers', level: 'warn', message: 'no Content-Security-Policy on responses', fix: 'keep the default securityHeaders (default-src \'none\' for a JSON API)' });
    else if (/unsafe-inline|unsafe-eval|\*/.test(csp)) findings.push({ area: 'headers', level: 'warn', message: `Content-Security-Policy allows more than it should: ${csp}`, fix: "drop 'unsafe-inline', 'unsafe-eval' and wildcards" });
    const hsts = set.get('strict-transport-security');
    const maxAge = Number(/max-age=(\d+)/.exec(hsts ?? '')?.[1] ?? 0);
    if (!hsts || maxAge < 31_536_000) findings.push({ area: 'headers', level: 'warn', message: hsts ? `Strict-Transport-Security max-age is ${maxAge}s (under a year)` : 'no Strict-Transport-Security', fix: 'max-age=63072000; includeSubDomains (the default)' });
    if (!set.has('x-content-type-options')) findings.push({ area: 'headers', level: 'warn', message: 'no X-Content-Type-Options: nosniff', fix: 'keep the default securityHeaders' });
    if (!findings.length) findings.push({ area: 'headers', level: 'pass', message: `${set.size} security headers on every response (CSP, HSTS max-age ${maxAge}s, nosniff…)` });
    return findings;
  }

  private proxy(): PostureFinding {
    const trust = this.raw.trustProxy as number | readonly string[] | undefined;
    if (trust === undefined) return { area: 'proxy', level: 'pass', message: 'no proxy trusted: the client address is the socket peer (behind a load balancer, every client shares its address)' };
    if (Array.isArray(trust) && trust.some((entry) => /^(0\.0\.0\.0\/0|::\/0)$/.test(String(entry).trim()))) {
      return { area: 'proxy', level: 'fail', message: `trustProxy includes every address (${trust.join(', ')}): any client can pick its own address with X-Forwarded-For`, fix: "list only your proxies' addresses, or their hop count" };
    }
    return { area: 'proxy', level: 'pass', message: `X-Forwarded-For believed from ${typeof trust === 'number' ? `${trust} proxy hop(s)` : (trust as readonly string[]).join(', ')}` };
  }

  private throttling(): PostureFinding {
    if (this.store instanceof MemoryStore) {
      return {
        area: 'throttling',
        level: this.core.production ? 'warn' : 'pass',
        message: 'rate limits, lockouts and revocations are counted in this process’s memory: with several instances each counts alone, and a guesser gets one budget per instance',
        fix: 'with more than one instance, set store to a Redis URL (REDIS_URL; npm install ioredis)',
      };
    }
    return { area: 'throttling', level: 'pass', message: `rate limits, lockouts and revocations are shared through ${this.store.constructor.name}` };
  }

  private production(): PostureFinding {
    if (this.core.production) return { area: 'production', level: 'pass', message: 'production: the production-only refusals (ephemeral key, excess database privileges, RLS drift…) stop the boot' };
    return {
      area: 'production',
      level: 'warn',
      message: `environment "${this.core.environment}": the production-only refusals (ephemeral key, excess database privileges, RLS drift…) are warnings here`,
      fix: 'run production with NODE_ENV=production',
    };
  }
}
