import { Sensitive } from 'nestjs-zero-trust';
import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'users' })
export class User {
  @PrimaryColumn('uuid')
  id!: string;

  /** Stored lower-cased and trimmed, so `A@x.io` and `a@x.io ` are one account. */
  @Column({ type: 'varchar', length: 254, unique: true })
  email!: string;

  /** argon2id hash. Never selected unless asked for, and stripped from any response that still holds it. */
  @Sensitive()
  @Column({ name: 'password_hash', type: 'varchar', length: 255, select: false })
  passwordHash!: string;

  /** Granted by an operator (never through the API), copied into access tokens at login. */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  scopes!: string[];

  /** TOTP shared secret (base32); set at enrollment, active once confirmed. */
  @Sensitive()
  @Column({ name: 'mfa_secret', type: 'varchar', length: 64, nullable: true, select: false })
  mfaSecret!: string | null;

  @Column({ name: 'mfa_enabled', type: 'boolean', default: false })
  mfaEnabled!: boolean;

  /** Last TOTP time step accepted: a code of this step or earlier is a replay. */
  @Sensitive()
  @Column({ name: 'mfa_last_step', type: 'bigint', nullable: true, select: false })
  mfaLastStep!: string | null;

  @Sensitive()
  @Column({ name: 'recovery_code_hashes', type: 'text', array: true, default: () => "'{}'", select: false })
  recoveryCodeHashes!: string[];

  @Column({ name: 'disabled_at', type: 'timestamptz', nullable: true })
  disabledAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
