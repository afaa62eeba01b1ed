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

  /**
   * Granted by an operator (`PUT /admin/users/:id/scopes`, never by the user), copied into access tokens
   * at login and read again at every refresh.
   */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  scopes!: string[];

  /** Second factors and recovery codes are not here: the library keeps them (encrypted) in zt_mfa_factors / zt_recovery_codes. */
  @Column({ name: 'disabled_at', type: 'timestamptz', nullable: true })
  disabledAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
