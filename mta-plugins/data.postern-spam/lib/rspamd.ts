/**
 * rspamd's HTTP protocol (/checkv2) as the plugin uses it: one POST per message with the
 * envelope in headers (IP, Helo, From, Rcpt, Queue-Id, User for authenticated senders,
 * Deliver-To naming the tenant whose statistics apply, Settings with the tenant's thresholds).
 */
import { request } from 'node:http';

export interface CheckRequest {
  port: number;
  timeoutMs: number;
  message: Buffer;
  ip: string;
  helo?: string;
  hostname?: string;
  from: string;
  rcpts: string[];
  queueId: string;
  /** Authenticated sender (submission). */
  user?: string;
  /** The statistics owner: `tenant:<id>` (per-tenant Bayes). */
  deliverTo: string;
  settings: Record<string, unknown>;
}

export interface CheckResult {
  score: number;
  requiredScore: number;
  action: string;
  symbols: Array<{ name: string; score: number }>;
  smtpMessage: string | null;
}

export class ScannerUnavailable extends Error {}

export function checkv2(req: CheckRequest): Promise<CheckResult> {
  const headers: Record<string, string | string[]> = {
    'Content-Length': String(req.message.length),
    IP: req.ip,
    From: req.from || '<>',
    Rcpt: req.rcpts,
    'Queue-Id': req.queueId,
    'Deliver-To': req.deliverTo,
    Settings: JSON.stringify(req.settings),
  };
  if (req.helo) headers.Helo = req.helo;
  if (req.hostname) headers.Hostname = req.hostname;
  if (req.user) headers.User = req.user;
  return new Promise((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port: req.port, path: '/checkv2', method: 'POST', headers, timeout: req.timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => reject(new ScannerUnavailable(err.message)));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new ScannerUnavailable(`rspamd answered HTTP ${res.statusCode}`));
        try {
          const j = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            score?: number;
            required_score?: number;
            action?: string;
            symbols?: Record<string, { name: string; score?: number }>;
            messages?: { smtp_message?: string };
          };
          resolve({
            score: Number(j.score ?? 0),
            requiredScore: Number(j.required_score ?? 0),
            action: String(j.action ?? 'no action'),
            symbols: Object.values(j.symbols ?? {}).map((s) => ({ name: s.name, score: Number(s.score ?? 0) })),
            smtpMessage: j.messages?.smtp_message ?? null,
          });
        } catch (err) {
          reject(new ScannerUnavailable(`unreadable rspamd answer: ${(err as Error).message}`));
        }
      });
    });
    r.on('timeout', () => r.destroy(new ScannerUnavailable(`rspamd did not answer within ${req.timeoutMs} ms`)));
    r.on('error', (err) => reject(err instanceof ScannerUnavailable ? err : new ScannerUnavailable(err.message)));
    r.end(req.message);
  });
}
