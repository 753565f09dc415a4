/**
 * Deterministic test messages. The IMAP mailbox gets a varied mix (plain, multipart/alternative,
 * attachments, sizes from ~1 KiB to ~150 KiB, many senders, dates spread over a year), with a
 * known number of messages whose Subject holds SUBJECT_NEEDLE and whose body holds BODY_NEEDLE,
 * so both servers must return the same SEARCH hits.
 */
import { prng as rng } from '../lib/prng.js';
export const SUBJECT_NEEDLE = 'Quarterly reconciliation';
export const BODY_NEEDLE = 'zebrafish';

const WORDS = (
  'meeting budget review project deadline report customer invoice schedule team update release planning draft ' +
  'contract server backup network quarterly summary agenda notes travel expense proposal feedback launch roadmap ' +
  'incident security policy migration database storage monitoring alert capacity training onboarding holiday'
).split(' ');
const NAMES = ['Alice Martin', 'Bob Keller', 'Chloé Dubois', 'Dmitri Ivanov', 'Eva Nováková', 'Farid Haddad', 'Grace Lee', 'Hiro Tanaka', 'Ines Costa', 'Jonas Berg'];
const DOMAINS = ['example.com', 'example.org', 'example.net', 'corp.example', 'mail.example'];

function sentence(r: () => number, n: number): string {
  const w: string[] = [];
  for (let i = 0; i < n; i++) w.push(WORDS[Math.floor(r() * WORDS.length)]!);
  const s = w.join(' ');
  return s.charAt(0).toUpperCase() + s.slice(1) + '.';
}

function paragraphText(r: () => number, bytes: number, needle: boolean): string {
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    const l = sentence(r, 6 + Math.floor(r() * 8));
    lines.push(l);
    size += l.length + 2;
  }
  if (needle) lines.splice(Math.floor(lines.length / 2), 0, `The ${BODY_NEEDLE} samples arrived this morning.`);
  return lines.join('\r\n');
}

function base64Lines(r: () => number, bytes: number): string {
  const raw = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) raw[i] = Math.floor(r() * 256);
  return raw.toString('base64').replace(/.{76}/g, '$&\r\n');
}

export interface VariedCounts {
  subjectHits: number;
  bodyHits: number;
}

/** `n` varied messages for one mailbox; every 40th has the Subject needle, every 25th the body needle. */
export function variedMessages(n: number, to: string): { messages: Buffer[]; counts: VariedCounts } {
  const r = rng(20261122);
  const messages: Buffer[] = [];
  let subjectHits = 0;
  let bodyHits = 0;
  const base = Date.UTC(2026, 0, 1);
  for (let i = 0; i < n; i++) {
    const name = NAMES[i % NAMES.length]!;
    const from = `${name.toLowerCase().replace(/[^a-z]/g, '.')}@${DOMAINS[i % DOMAINS.length]}`;
    const subjectNeedle = i % 40 === 7;
    const bodyNeedle = i % 25 === 3;
    if (subjectNeedle) subjectHits++;
    if (bodyNeedle) bodyHits++;
    const subject = subjectNeedle ? `${SUBJECT_NEEDLE} ${i}` : `${sentence(r, 3 + Math.floor(r() * 5)).slice(0, -1)} #${i}`;
    const date = new Date(base + Math.floor(r() * 365 * 86400_000)).toUTCString().replace('GMT', '+0000');
    const headers = [
      `From: "${name}" <${from}>`,
      `To: <${to}>`,
      ...(i % 3 === 0 ? [`Cc: "${NAMES[(i + 3) % NAMES.length]}" <cc${i % 7}@example.org>`] : []),
      `Subject: ${subject}`,
      `Date: ${date}`,
      `Message-ID: <bench-${i}@${DOMAINS[i % DOMAINS.length]}>`,
      ...(i % 5 === 1 && i > 1 ? [`In-Reply-To: <bench-${i - 1}@${DOMAINS[(i - 1) % DOMAINS.length]}>`] : []),
      'MIME-Version: 1.0',
    ];
    const textBytes = 600 + Math.floor(r() * (i % 10 === 0 ? 20_000 : 4_000));
    const text = paragraphText(r, textBytes, bodyNeedle);
    const kind = i % 6; // 0-2 plain, 3-4 alternative, 5 mixed with an attachment
    let body: string;
    if (kind <= 2) {
      headers.push('Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit');
      body = text;
    } else {
      const b = `=_bench_${i}_${Math.floor(r() * 1e9)}`;
      const html = `<html><body><p>${text.replace(/\r\n/g, '</p>\r\n<p>')}</p></body></html>`;
      const alternative = [`--${b}a`, 'Content-Type: text/plain; charset=utf-8', '', text, `--${b}a`, 'Content-Type: text/html; charset=utf-8', '', html, `--${b}a--`].join('\r\n');
      if (kind <= 4) {
        headers.push(`Content-Type: multipart/alternative; boundary="${b}a"`);
        body = alternative;
      } else {
        headers.push(`Content-Type: multipart/mixed; boundary="${b}m"`);
        const attachment = base64Lines(r, 5_000 + Math.floor(r() * 100_000));
        body = [
          `--${b}m`,
          `Content-Type: multipart/alternative; boundary="${b}a"`,
          '',
          alternative,
          `--${b}m`,
          `Content-Type: application/pdf; name="report-${i}.pdf"`,
          `Content-Disposition: attachment; filename="report-${i}.pdf"`,
          'Content-Transfer-Encoding: base64',
          '',
          attachment,
          `--${b}m--`,
        ].join('\r\n');
      }
    }
    messages.push(Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body}\r\n`, 'utf8'));
  }
  return { messages, counts: { subjectHits, bodyHits } };
}

/** A ~4 KiB submission from `from` to `to`. */
export function submissionMessage(from: string, to: string, i: number): string {
  const r = rng(i + 1);
  return [
    `From: <${from}>`,
    `To: <${to}>`,
    `Subject: Bench submission ${i}`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <sub-${i}-${Date.now()}@bench.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    paragraphText(r, 4096, false),
    '',
  ].join('\r\n');
}
