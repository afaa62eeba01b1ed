import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'users' })
export class User {
  @PrimaryColumn('uuid')
  id!: string;

  /** Stored lower-cased and trimmed, so `A@x.io` and `a@x.io ` are one account. */
  @Column({ type: 'varchar', length: 254, unique: true })
  email!: string;

  /** argon2id hash. Never selected unless asked for, so it cannot leak into a response by accident. */
  @Column({ name: 'password_hash', type: 'varchar', length: 255, select: false })
  passwordHash!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
