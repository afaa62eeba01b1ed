import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

@Entity('notes')
export class Note {
  @PrimaryColumn('uuid') id!: string;
  @Index() @Column('uuid') ownerId!: string;
  @Column('varchar') title!: string;
  @Column('text') body!: string;
}
