import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { requirePostgresUrl } from '../support/services.js';

const adminUrl = requirePostgresUrl();
process.env.ZT_AUTH_RATE_LIMIT = '10000';

/** The sample on real PostgreSQL (`DATABASE_URL`), in a database of its own that is dropped afterwards. */
describe.skipIf(!adminUrl)('sample notes API on PostgreSQL', () => {
  const database = `zt_sample_${randomBytes(6).toString('hex')}`;
  let app: INestApplication;

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const url = new URL(adminUrl!);
    url.pathname = `/${database}`;
    process.env.DATABASE_URL = url.toString();
    app = await createSampleApp('express', false);
  });

  afterAll(async () => {
    await app?.close();
    delete process.env.DATABASE_URL;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('registers, logs in and stores a note, refusing an extra ownerId', async () => {
    const http = request(app.getHttpServer());
    await http.post('/auth/register').set('Content-Type', 'application/json').send({ email: 'a@example.com', password: 'correct horse battery' }).expect(201);
    const token = (await http.post('/auth/login').set('Content-Type', 'application/json').send({ email: 'a@example.com', password: 'correct horse battery' }).expect(200)).body.accessToken;
    await http.post('/notes').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send({ title: 't', body: 'b', ownerId: 'x' }).expect(400);
    await http.post('/notes').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send({ title: 't', body: 'b' }).expect(201);
    const notes = (await http.get('/notes').set('Authorization', `Bearer ${token}`).expect(200)).body;
    expect(notes).toHaveLength(1);
  });
});
