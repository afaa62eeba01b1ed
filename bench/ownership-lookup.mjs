// Cost of the ownership check (@OwnsResource: one primary-key lookup, then an owner comparison) and of
// an owner-scoped OwnedRepository.findOne, on PGlite, with 1e3 and 1e6 rows in the table.
// It must stay flat: both are indexed lookups. Run: npm run build && node bench/ownership-lookup.mjs
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { DataSource, EntitySchema } from 'typeorm';
import { PGliteDriver } from 'typeorm-pglite';
import { OwnedRepository } from '../dist/index.js';

const Note = new EntitySchema({
  name: 'Note',
  tableName: 'notes',
  columns: {
    id: { type: 'uuid', primary: true },
    ownerId: { type: 'uuid', name: 'owner_id' },
    title: { type: 'varchar', length: 200 },
  },
  indices: [{ name: 'IDX_notes_owner_id', columns: ['ownerId'] }],
});

const ITERATIONS = Number(process.env.ITERATIONS ?? 2000);

async function measure(rows) {
  const db = await new DataSource({ type: 'postgres', driver: new PGliteDriver().driver, entities: [Note], synchronize: true }).initialize();
  const owner = randomUUID();
  await db.query(
    `INSERT INTO notes (id, owner_id, title) SELECT gen_random_uuid(), (CASE WHEN n % 100 = 0 THEN $1 ELSE gen_random_uuid() END), 'n' || n FROM generate_series(1, $2) AS n`,
    [owner, rows],
  );
  await db.query('ANALYZE notes');
  const ids = (await db.query('SELECT id FROM notes WHERE owner_id = $1 LIMIT 200', [owner])).map((r) => r.id);
  const repository = db.getRepository(Note);
  const owned = new OwnedRepository(repository, owner, 'ownerId', 100);

  const time = async (fn) => {
    for (let i = 0; i < 200; i++) await fn(ids[i % ids.length]); // warm-up
    const start = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) await fn(ids[i % ids.length]);
    return Number(process.hrtime.bigint() - start) / 1e3 / ITERATIONS;
  };
  const guardLookup = await time(async (id) => {
    const note = await repository.findOne({ where: { id } });
    if (note.ownerId !== owner) throw new Error('owner mismatch');
  });
  const scopedLookup = await time((id) => owned.findOne(id));
  const plan = (await db.query(`EXPLAIN SELECT * FROM notes WHERE id = $1 AND owner_id = $2`, [ids[0], owner])).map((r) => r['QUERY PLAN']).join(' | ');
  await db.destroy();
  return { rows, guardLookup, scopedLookup, plan };
}

console.log(`ownership lookups on PGlite, ${ITERATIONS} lookups each, node ${process.version}`);
console.log('rows       @OwnsResource lookup   OwnedRepository.findOne   plan');
for (const rows of [1_000, 1_000_000]) {
  const r = await measure(rows);
  console.log(`${String(rows).padEnd(10)} ${r.guardLookup.toFixed(1).padStart(8)} us/op        ${r.scopedLookup.toFixed(1).padStart(8)} us/op          ${r.plan.split('|')[0].trim()}`);
}
