/**
 * The JSON text of an answer the core shares between requests (issue 18). A kept mailbox list
 * page (appliance/core/mailboxes/list-pages.ts) is one frozen array answered to every request of
 * its query until a write ends it; serializing its 100 rows again for each request was a tenth of
 * the serving loop's time. The text is made by the route's own response serializer
 * (`reply.serialize`, the same schema and function as any answer of the route) and sent with the
 * content type fastify gives JSON, so the bytes are those of the answer serialized as usual (kept
 * as bytes: encoding the text to UTF-8 for every answer was the next cost). It
 * lives as long as the frozen answer it was made from (a WeakMap), so it ends with it.
 */
import type { FastifyReply } from 'fastify';

/** The content type fastify sets on a serialized JSON answer. */
const JSON_TYPE = 'application/json; charset=utf-8';

const texts = new WeakMap<object, Buffer>();
const answered = new WeakSet<object>();

/**
 * `answer` as the handler's return value: itself when it is not a shared (frozen) answer or on its
 * first use (serialized as usual), else its JSON text, made once from the second use on.
 */
export function keptJson<T extends object>(reply: FastifyReply, answer: T): T {
  if (!Object.isFrozen(answer)) return answer;
  let text = texts.get(answer);
  if (text === undefined) {
    if (!answered.has(answer)) {
      answered.add(answer);
      return answer;
    }
    const made = reply.serialize(answer);
    if (typeof made !== 'string') return answer;
    // kept as UTF-8 bytes: no encoding (and no length count) of the text per answer
    texts.set(answer, (text = Buffer.from(made)));
  }
  reply.header('content-type', JSON_TYPE);
  // bytes with a JSON content type are sent as they are (no serialization by fastify)
  return text as unknown as T;
}
