import { BadRequestException, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { LIFECYCLE_CONFIG } from './lifecycle.internal-constants.js';
import type { LifecycleConfig } from './lifecycle.options.js';

type Rules = LifecycleConfig['passwordPolicy'];
type Checker = (password: string, userInputs: string[]) => { score: number; warning: string | null; common: boolean };

/** Why a password was refused: a machine-readable code and the sentence the client shows. */
export interface PasswordRejection {
  readonly reason: 'too_short' | 'too_long' | 'common' | 'contains_personal_data' | 'guessable' | 'not_text';
  readonly message: string;
}

/** A 400 that says why, in the validation pipe's shape: `{ statusCode: 400, message: ['password …'], error: 'Bad Request' }`. */
export class WeakPasswordException extends BadRequestException {
  constructor(readonly rejection: PasswordRejection) {
    super({ statusCode: 400, message: [rejection.message], error: 'Bad Request' });
  }
}

const DEFAULT_RULES: Rules = { minLength: 12, maxLength: 128, minScore: 3, forbiddenWords: [] };

/**
 * The password policy of NIST SP 800-63B (rev. 4, §3.1.1.2): length bounds counted in Unicode code
 * points after NFKC normalization, no composition rules (no "one digit, one symbol"), and a check
 * against common and breached-style passwords, offline: zxcvbn-ts with its common dictionaries
 * (passwords, names, words, keyboard patterns, repeats and sequences), plus the account's own
 * identifiers, so `alice@example.com` cannot choose `alice-example-2024`. Nothing leaves the process.
 */
@Injectable()
export class PasswordPolicy implements OnModuleInit {
  private checker?: Checker;
  private loading?: Promise<void>;
  private readonly rules: Rules;

  constructor(@Inject(LIFECYCLE_CONFIG) private readonly config: LifecycleConfig | false) {
    this.rules = config === false ? DEFAULT_RULES : config.passwordPolicy;
  }

  /** A policy outside Nest (scripts, tests): the module's defaults, overridden field by field. */
  static async create(rules: Partial<Rules> = {}): Promise<PasswordPolicy> {
    const policy = new PasswordPolicy({ passwordPolicy: { ...DEFAULT_RULES, ...rules } } as LifecycleConfig);
    await policy.load();
    return policy;
  }

  /**
   * With the lifecycle flows on, zxcvbn-ts is loaded at boot: registration and reset check passwords,
   * and a missing optional peer should stop the boot, not the first sign-up. With them off, nothing in
   * the module checks a password, yet every app gets this provider: its dictionaries (6.5 MB of live
   * heap for the process's life; V8 lets the old generation grow to up to 4x the live heap between
   * mark-compacts, so 15-30 MB more peak RSS under load, issue 16) are then loaded only by an app that
   * calls `load()` itself.
   */
  async onModuleInit(): Promise<void> {
    if (this.config !== false) await this.load();
  }

  /**
   * Loads zxcvbn-ts and its dictionaries (optional peer dependencies: only apps that check passwords
   * install them), once; concurrent calls share the load. Needed before `check()` only with
   * `lifecycle` off (call it in your own `onModuleInit`); `create()` and the module with `lifecycle` on
   * do it for you.
   */
  load(): Promise<void> {
    this.loading ??= this.loadChecker().catch((error: unknown) => {
      this.loading = undefined;
      throw error;
    });
    return this.loading;
  }

  private async loadChecker(): Promise<void> {
    let core: typeof import('@zxcvbn-ts/core');
    let common: typeof import('@zxcvbn-ts/language-common');
    try {
      core = await import('@zxcvbn-ts/core');
      common = await import('@zxcvbn-ts/language-common');
    } catch {
      throw new ZeroTrustConfigurationError('PasswordPolicy checks passwords with zxcvbn-ts: install @zxcvbn-ts/core and @zxcvbn-ts/language-common.');
    }
    const zxcvbn = new core.ZxcvbnFactory({ dictionary: { ...common.dictionary, forbidden: [...this.rules.forbiddenWords] }, graphs: common.adjacencyGraphs });
    this.checker = (password, userInputs) => {
      const result = zxcvbn.check(password, userInputs);
      const common = result.sequence.some((match) => match.pattern === 'dictionary' && String((match as { dictionaryName?: string }).dictionaryName).startsWith('passwords'));
      return { score: result.score, warning: result.feedback.warning, common };
    };
  }

  /** Why `password` may not be used by the account named by `identifiers` (its e-mail...), or `null`. */
  check(password: unknown, identifiers: readonly string[] = []): PasswordRejection | null {
    if (typeof password !== 'string') return { reason: 'not_text', message: 'password must be a string' };
    const normalized = password.normalize('NFKC');
    const length = [...normalized].length;
    const { minLength, maxLength, minScore } = this.rules;
    if (length < minLength) return { reason: 'too_short', message: `password must be at least ${minLength} characters long (a passphrase of a few words is easiest to remember)` };
    if (length > maxLength) return { reason: 'too_long', message: `password must be at most ${maxLength} characters long` };
    const inputs = identifiers.flatMap((identifier) => [identifier, ...identifier.split(/[^\p{L}\p{N}]+/u)]).filter((word) => [...word].length >= 3);
    const lowered = normalized.toLowerCase();
    if (inputs.some((word) => [...word].length >= 4 && lowered.includes(word.toLowerCase()))) {
      return { reason: 'contains_personal_data', message: 'password must not contain your e-mail address or name' };
    }
    if (!this.checker) {
      throw this.config === false
        ? new ZeroTrustConfigurationError('PasswordPolicy: with `lifecycle` off its dictionaries are not loaded at boot: `await policy.load()` once before checking (in your own onModuleInit), or turn `lifecycle` on.')
        : new Error('PasswordPolicy is not initialized: get it from the module, or create it with PasswordPolicy.create().');
    }
    const verdict = this.checker(normalized, inputs);
    if (verdict.common && verdict.score < minScore) {
      return { reason: 'common', message: 'password is too common: it is in the lists of passwords attackers try first; choose a few unrelated words' };
    }
    if (verdict.score < minScore) {
      return { reason: 'guessable', message: `password is too easy to guess${verdict.warning ? ` (${describeWarning(verdict.warning)})` : ''}; choose a few unrelated words` };
    }
    return null;
  }

  /**
   * Throws the 400 that says why. The password itself is hashed as given: normalizing it here but not at
   * login would lock out whoever typed a composed character.
   */
  assert(password: unknown, identifiers: readonly string[] = []): void {
    const rejection = this.check(password, identifiers);
    if (rejection) throw new WeakPasswordException(rejection);
  }
}

/** zxcvbn-ts gives translation keys; these are the sentences for the ones its matchers emit. */
function describeWarning(key: string): string {
  const sentences: Record<string, string> = {
    straightRow: 'a straight row of keys',
    keyPattern: 'a keyboard pattern',
    simpleRepeat: 'a repeated character',
    extendedRepeat: 'a repeated pattern',
    sequences: 'a common sequence such as abc or 123',
    recentYears: 'a recent year',
    dates: 'a date',
    topTen: 'one of the ten most used passwords',
    topHundred: 'one of the hundred most used passwords',
    common: 'a commonly used password',
    similarToCommon: 'close to a commonly used password',
    wordByItself: 'a single word',
    namesByThemselves: 'a name',
    commonNames: 'a common name',
    userInputs: 'your personal data',
    pwned: 'a password found in breaches',
  };
  return sentences[key] ?? 'a predictable pattern';
}
