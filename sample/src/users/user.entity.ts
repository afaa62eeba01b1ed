import { Sensitive } from 'nestjs-zero-trust';
import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'users' })
export class User {
  @PrimaryColumn('uuid')
  id!: string;

  /** Stored lower-cased and trimmed, so `A@x.io` and `a@x.io ` are one account. */
  @Column({ type: 'varchar', length: 254, unique: true })
  email!: string;

  /**
   * `zp1$…`: argon2id of HMAC-SHA256(ZT_PASSWORD_PEPPER, password). The app's database role cannot read
   * it (the database compares a candidate itself) nor store one without the pepper's marker.
   */
  @Sensitive()
  @Column({ name: 'password_hash', type: 'varchar', length: 255, select: false })
  passwordHash!: string;

  /**
   * Granted by an operator (`PUT /admin/users/:id/scopes`, never by the user), copied into access tokens
   * at login and read again at every refresh. The app's database role cannot write it: the owner's
   * `zt_users_set_scopes()` does, for an operator's identity, and every change is audited.
   */
  @Column({ type: 'text', array: true, default: () => "'{}'" })
  scopes!: string[];

  /** Second factors and recovery codes are not here: the library keeps them (encrypted) in zt_mfa_factors / zt_recovery_codes. */
  @Column({ name: 'disabled_at', type: 'timestamptz', nullable: true })
  disabledAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
