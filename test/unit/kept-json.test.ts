/**
 * The JSON text of a shared (frozen) answer is made once by the route's own serializer and sent
 * again after (control/plugins/kept-json.ts, issue 18): the same bytes and content type as the
 * answer serialized as usual, and an answer that is not frozen is serialized every time.
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { keptJson } from '../../control/plugins/kept-json.js';

const schema = {
  response: {
    200: {
      type: 'array',
      items: { type: 'object', properties: { id: { type: 'string' }, n: { type: 'integer' }, owner: { type: 'object', properties: { name: { type: 'string' } } } } },
    },
  },
};

async function appWith(answer: () => object) {
  let serialized = 0;
  const app = Fastify();
  app.setSerializerCompiler(() => (data) => {
    serialized++;
    return JSON.stringify(data);
  });
  app.get('/kept', { schema }, async (_req, reply) => keptJson(reply, answer()));
  await app.ready();
  return { app, serialized: () => serialized };
}

describe('keptJson', () => {
  it('serializes a frozen answer at its first two uses, then sends its text, byte for byte', async () => {
    const page = Object.freeze([Object.freeze({ id: 'mbx_1', n: 3, owner: Object.freeze({ name: 'Zoë "A" Lovelace' }), hidden: 'not in the schema' })]);
    const { app, serialized } = await appWith(() => page);
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await app.inject({ method: 'GET', url: '/kept' }));
    expect(serialized()).toBe(2);
    for (const r of answers) {
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toBe(answers[0]!.headers['content-type']);
      expect(r.headers['content-length']).toBe(answers[0]!.headers['content-length']);
      expect(r.body).toBe(answers[0]!.body);
    }
    expect(answers[0]!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(answers[0]!.body)).toEqual([{ id: 'mbx_1', n: 3, owner: { name: 'Zoë "A" Lovelace' }, hidden: 'not in the schema' }]);
    await app.close();
  });

  it('serializes an answer that is not frozen every time', async () => {
    const { app, serialized } = await appWith(() => [{ id: 'mbx_2', n: 1, owner: { name: 'B' } }]);
    for (let i = 0; i < 3; i++) expect((await app.inject({ method: 'GET', url: '/kept' })).body).toBe('[{"id":"mbx_2","n":1,"owner":{"name":"B"}}]');
    expect(serialized()).toBe(3);
    await app.close();
  });
});
