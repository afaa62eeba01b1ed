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

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
